# What the decoder says went wrong (Decoder.last_error), by number. A
# module that finds a fault names it by index (its _W_... consts, each
# listed here beside its text; test_pick.test_faults_name_their_texts
# checks they agree) and what the text takes; the text is made only when
# last_error is read. Loaded for that and, on MicroPython, let go after
# (Decoder.last_error): a dongle keeps none of these texts in RAM.


def text(why, value=None):
    """The text of fault why (an index), with value put in where it
    takes one."""
    t = (
        "P1 telegram: bad character after '!'",                                # 0 _W_BANG
        "P1 telegram longer than %d bytes",                                    # 1 _W_P1_LONG
        "P1 telegram cut short",                                               # 2 _W_P1_CUT
        "P1 CRC mismatch",                                                     # 3 _W_P1_CRC
        "P1 telegram without CRC from a meter that sends CRCs",                # 4 _W_P1_NO_CRC
        "APDU longer than %d bytes",                                           # 5 _W_APDU_LONG
        "P1 ident line too short",                                             # 6 _W_IDENT_SHORT
        "P1 ident line has no manufacturer id",                                # 7 _W_IDENT_MAKER
        "P1 telegram has no ident line",                                       # 8 _W_NO_IDENT
        "P1 ident line has a control byte and no CRC",                         # 9 _W_IDENT_CONTROL
        "P1 text after the last line break",                                   # 10 _W_AFTER_BREAK
        "P1 line is not OBIS(value): %s",                                      # 11 _W_NOT_OBIS
        "HDLC header check (HCS) failed",                                      # 12 _W_HCS
        "HDLC frame check (FCS) failed",                                       # 13 _W_FCS
        "HDLC segmented message incomplete",                                   # 14 _W_SEGMENTS
        "HDLC segment without the start of its message",                       # 15 _W_NO_START
        "DLMS message longer than %d bytes",                                   # 16 _W_MESSAGE_LONG
        "M-Bus checksum failed",                                               # 17 _W_MBUS_SUM
        "M-Bus frame with CI 0x%02X is not DLMS",                              # 18 _W_MBUS_CI
        "M-Bus segment %d out of sequence",                                    # 19 _W_MBUS_SEQ
        "ciphered frame longer than %d bytes",                                 # 20 _W_CIPHER_LONG
        "ciphered frame cut short by the next one",                            # 21 _W_CIPHER_CUT
        "DLMS data ends inside a length",                                      # 22 _W_LENGTH_END
        "DLMS length field out of range",                                      # 23 _W_LENGTH_RANGE
        "DLMS data ends inside a value",                                       # 24 _W_VALUE_END
        "DLMS body has more than %d elements",                                 # 25 _W_ELEMENTS
        "DLMS data nested deeper than %d",                                     # 26 _W_NESTED
        "DLMS container longer than its frame",                                # 27 _W_CONTAINER
        "DLMS string longer than its frame",                                   # 28 _W_STRING
        "unknown DLMS data type 0x%02X",                                       # 29 _W_TYPE
        "empty DLMS frame",                                                    # 30 _W_EMPTY
        "unknown DLMS APDU tag 0x%02X",                                        # 31 _W_APDU_TAG
        "DLMS data-notification too short",                                    # 32 _W_NOTIFY_SHORT
        "DLMS data-notification: bad date-time field",                         # 33 _W_NOTIFY_TIME
        "DLMS data-notification: bytes after the body",                        # 34 _W_NOTIFY_AFTER
        "DLMS data-notification without a body",                               # 35 _W_NOTIFY_EMPTY
        "DLMS block transfer header too short",                                # 36 _W_BLOCK_SHORT
        "DLMS block length does not match its frame",                          # 37 _W_BLOCK_LENGTH
        "DLMS block %d out of sequence",                                       # 38 _W_BLOCK_SEQ
        "DLMS block transfer longer than %d bytes",                            # 39 _W_BLOCK_LONG
        "DLMS ciphered frame header damaged",                                  # 40 _W_CIPHER_HEAD
        "DLMS ciphered length does not match its frame",                       # 41 _W_CIPHER_LENGTH
        "encrypted frame from %s: set the decryption key (key=...)",           # 42 _W_KEY
        "DLMS security 0x%02X (compressed or not encrypted) not supported",    # 43 _W_SECURITY
        "DLMS ciphered frame shorter than its tag",                            # 44 _W_TAG_SHORT
        "authentication failed: wrong keys or damaged frame",                  # 45 _W_AUTH
        "unauthenticated ciphered frame: set the authentication key",          # 46 _W_AUTH_KEY
    )[why]
    return t if value is None else t % value
