"""The mutators: one damaged message from a seed, and what was done to it.
  bytes     bit flips, truncation, insertion, deletion, duplication and
            splicing of pieces of the same or another seed, HDLC 11-bit
            length / M-Bus L / BER lengths set to extremes (0x7FF, 0xFF,
            84 FF FF FF FF...), with or without the header check redone:
            the frame's own checks are NOT fixed, so it must be rejected.
  fixed     the content mutated and the checks recomputed (CRC, HCS/FCS,
            M-Bus sum, GCM tag), so the inner parsers see it: P1 lines
            garbled, made huge or multiplied; A-XDR lengths and element
            counts at extremes (0, 0x7F, 82 FF FF, 84 FF FF FF FF...),
            values nested 9 to 10,000 deep, counts of 0xFFFF, unknown type
            tags, bytes flipped; DLMS block numbers, block and cipher
            lengths; the message re-wrapped in another link layer.
  badtag    an authenticated ciphered APDU damaged after its tag was made,
            wrapped in frames whose link checks pass.
Each takes its random choices from the rng it is given, so an input
replays from its number alone."""
import re

from encoders import dlms, hdlc, mbus

from .oracle import ber, cipher_parts, crc_arc, crc_x25, tag_ok
from .seeds import GBT_HEADER, HDLC_FRAME_DATA, Message, cipher_apdu, gbt_blocks, gbt_frames, wrap_message

CIPHER_LENGTH_AT = 10       # DB 08 and the 8-byte system title come first
SPECIAL = (b"\x7e", b"\x7e\x7e", b"\x68", b"\xdb\x08", b"/", b"!", b"\r\n", b"\n",
           b"\x7e\xa0", b"\x7e\xa7\xff", b"\x68\xff\xff\x68", b"\x00", b"\xff", b"!0000\r\n",
           b"\xe6\xe7\x00", b"\x0f\x40\x00\x00\x00\x00")
# BER lengths at their extremes, and unusual forms of small ones
LENGTHS = (b"\x00", b"\x01", b"\x7f", b"\x80", b"\x81\x00", b"\x81\xff", b"\x82\xff\xff",
           b"\x82\x00\x02", b"\x83\xff\xff\xff", b"\x84\xff\xff\xff\xff", b"\x84\x00\x00\x00\x01",
           b"\x85\x01\x00\x00\x00\x00", b"\xff", b"\xfe")


def random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def _hcs_fix(data, start):
    """Recompute the HCS of the HDLC frame whose flag is at start, if its
    header parses (the length field was changed on purpose)."""
    pos = start + 3                  # flag, two format bytes
    for _ in range(2):               # destination, source address
        steps = 0
        while pos < len(data) and not data[pos] & 1 and steps < 3:
            pos += 1
            steps += 1
        pos += 1
    hcs = pos + 1                    # after the control byte
    if hcs + 2 <= len(data):
        data[hcs:hcs + 2] = crc_x25(data[start + 1:hcs]).to_bytes(2, "little")


def mutate_bytes(rng, seed, seeds):
    """One damage to the bytes as sent; checks are not fixed."""
    data = bytearray(seed.data)
    if not data:
        return b"", "bytes:empty"
    kind = rng.choice(("flip", "flip", "truncate", "insert", "delete", "duplicate", "splice",
                       "length", "length"))
    n = len(data)
    i = rng.randrange(n)
    if kind == "flip":
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        data = data[:i] if rng.random() < 0.7 else data[i:]
    elif kind == "insert":
        r = rng.random()
        piece = rng.choice(SPECIAL) if r < 0.5 else random_bytes(rng, rng.randint(1, 16))
        data[i:i] = piece
    elif kind == "delete":
        del data[i:i + rng.choice((1, 1, 2, 4, 16, 100))]
    elif kind == "duplicate":
        j = min(n, i + rng.choice((1, 2, 8, 40, 300, n)))
        at = rng.randrange(n + 1)
        data[at:at] = data[i:j]
    elif kind == "splice":
        other = rng.choice(seeds).data
        if other:
            start = rng.randrange(len(other))
            end = min(len(other), start + rng.choice((4, 30, 200, len(other))))
            if rng.random() < 0.5:
                data = data[:i] + other[start:end]
            else:
                data[i:i] = other[start:end]
    else:
        kind = _mutate_length(rng, data, seed)
    return bytes(data), "bytes:" + kind


def _mutate_length(rng, data, seed):
    """A frame's length field at an extreme, its header check optionally
    redone (so the decoder believes the length), its frame check not."""
    spans = [f for f in seed.frames if f.kind != "p1"]
    if not spans:
        del data[rng.randrange(len(data)):]
        return "length-none"
    f = rng.choice(spans)
    p = f.start
    if f.kind == "hdlc":
        # the extremes, the shortest frames, about the true length, any
        length = rng.choice((hdlc.MAX_LENGTH, 0, 7, 8, 9, (f.end - p) - 2, f.end - p, f.end - p + 40,
                             rng.randrange(hdlc.MAX_LENGTH + 1)))
        data[p + 1] = (data[p + 1] & 0xF8) | (length >> 8 & 7)
        data[p + 2] = length & 0xFF
        if rng.random() < 0.7:
            _hcs_fix(data, p)
        return "hdlc-length"
    if f.kind == "mbus":
        length = rng.choice((0, 1, 3, mbus.MAX_L, data[p + 1] - 1, data[p + 1] + 1, rng.randrange(256))) & 0xFF
        data[p + 1] = length
        if rng.random() < 0.7:
            data[p + 2] = length
        return "mbus-length"
    _set_length(rng, data, p + CIPHER_LENGTH_AT)
    return "cipher-length"


def _set_length(rng, data, at):
    """The BER length at data[at] replaced by one of LENGTHS."""
    length = ber(data, at)
    data[at:length[1] if length else at + 1] = rng.choice(LENGTHS)


A_XDR_SIZES = {3: 1, 5: 4, 6: 4, 13: 1, 15: 1, 16: 2, 17: 1, 18: 2, 20: 8, 21: 8, 22: 1,
               23: 4, 24: 8, 25: 12, 26: 5, 27: 4, 0: 0}     # type tag -> value bytes
A_XDR_COUNTED = (1, 2)                  # array, structure: element count
A_XDR_SIZED = (9, 10, 12, 4)            # octet, visible string, UTF-8, bit string (4: in bits)


def axdr_spots(apdu):
    """(length positions, value positions) in a data-notification's body,
    by our own walk of the A-XDR (short forms only; stops at anything
    else)."""
    lens, vals = [], []
    if len(apdu) < 6 or apdu[0] != dlms.DATA_NOTIFICATION:
        return lens, vals
    pos = 5
    if apdu[pos] == 0x0C:               # bare date-time
        pos += 13
    elif apdu[pos] == 0x09:             # tagged date-time
        pos += 14
    else:
        pos += 1
    while pos < len(apdu) and len(vals) < 400:
        vals.append(pos)
        tag = apdu[pos]
        if tag in A_XDR_COUNTED:
            if pos + 1 >= len(apdu) or apdu[pos + 1] >= 0x80:
                break
            lens.append(pos + 1)
            pos += 2
        elif tag in A_XDR_SIZED:
            if pos + 1 >= len(apdu) or apdu[pos + 1] >= 0x80:
                break
            lens.append(pos + 1)
            size = apdu[pos + 1]
            pos += 2 + ((size + 7) >> 3 if tag == 4 else size)
        elif tag in A_XDR_SIZES:
            pos += 1 + A_XDR_SIZES[tag]
        else:
            break
    return lens, vals


def mutate_apdu(rng, plain):
    """Damage a plain APDU where the link checks will not see it."""
    apdu = bytearray(plain)
    lens, vals = axdr_spots(plain)
    kind = rng.choice(("axdr-length", "axdr-length", "nest", "count-ffff", "tag", "flip",
                       "truncate", "insert", "head"))
    if kind == "axdr-length" and lens:
        p = rng.choice(lens)
        apdu[p:p + 1] = rng.choice(LENGTHS)
    elif kind == "nest" and vals:
        p = rng.choice(vals)
        depth = rng.choice((9, 9, 50, 300, 1000, 2100, 10000))
        apdu[p:p] = rng.choice((b"\x02\x01", b"\x01\x01")) * depth
    elif kind == "count-ffff" and vals:
        p = rng.choice(vals)
        apdu[p:p] = rng.choice((b"\x01\x82\xff\xff", b"\x02\x82\xff\xff", b"\x01\x84\xff\xff\xff\xff",
                                b"\x09\x82\xff\xff", b"\x01\x81\xff", b"\x02\x7f"))
    elif kind == "tag" and vals:
        p = rng.choice(vals)
        apdu[p] = rng.choice((rng.randrange(256), 0x00, 0x01, 0x02, 0x13, 0x1C, 0xFF, 0x19, 0x04))
    elif kind == "head" and apdu:
        # the APDU's own header: tag, invoke id, date-time form
        p = rng.randrange(min(len(apdu), 8))
        apdu[p] = rng.choice((rng.randrange(256), 0x0F, 0xDB, 0xE0, 0x09, 0x0C, 0x00))
    elif kind == "truncate" and apdu:
        del apdu[rng.randrange(len(apdu)):]
    elif kind == "insert":
        p = rng.randrange(len(apdu) + 1)
        apdu[p:p] = random_bytes(rng, rng.randint(1, 8))
    else:
        kind = "flip"
        for _ in range(rng.choice((1, 2, 4))):
            if apdu:
                apdu[rng.randrange(len(apdu))] ^= 1 << rng.randrange(8)
    return bytes(apdu), kind


P1_VALUES = (b"", b"(", b")", b"-", b".", b"*", b"1e5", b"9" * 60, b"-0.0", b"0" * 30 + b"1.1*kWh",
             b"1.2.3*kW", b"12*", b"*kWh", b"230101000000X", b"999999999999S", b"0101010101W",
             b"123456789012345678901234S", b"1.5*W*W", b"7*KWH", b"7*m3", b"7*GJ", b"\t7\r*kW",
             b"00000.1*kvarh", b"-9999999999.999999*kWh")
P1_OBIS = (b"1-0:1.8.0.255", b"255-255:255.255.255", b"1-0:", b":", b"0-0:1.0.0*255", b"99999-1:1.8.0",
           b"1-0:1..8.0", b"8-8:1.8.0", b"1-0:1.8.0", b"0-1:24.2.1", b"0-0:96.1.1", b"1-3:0.2.8")


def mutate_text(rng, text):
    """A P1 telegram ('/' .. '!') damaged inside; the caller redoes its CRC."""
    t = bytearray(text[:-1])
    kind = rng.choice(("value", "value", "obis", "long-line", "many-lines", "ident", "eol",
                       "bytes", "bytes"))
    lines = [newline.start() for newline in re.finditer(rb"\n", t)]
    at = rng.choice(lines) + 1 if lines else len(t)
    if kind == "value":
        opens = [paren.start() for paren in re.finditer(rb"\(", t)]
        if opens:
            s = rng.choice(opens) + 1
            e = t.find(b")", s)
            t[s:e if e >= 0 else s] = rng.choice(P1_VALUES)
    elif kind == "obis":
        codes = list(re.finditer(rb"\d+-\d+:[\d.*]+", t))
        if codes:
            code = rng.choice(codes)
            t[code.start():code.end()] = rng.choice(P1_OBIS)
    elif kind == "long-line":
        t[at:at] = b"1-0:1.8.0(" + b"9" * rng.choice((20, 100, 1000, 5000)) + b"*kWh)\r\n"
    elif kind == "many-lines":
        t[at:at] = b"".join(b"0-0:96.13.%d(%s)\r\n" % (k, b"7" * rng.randrange(120))
                            for k in range(rng.choice((17, 40, 200))))
    elif kind == "ident":
        e = t.find(b"\n")
        t[0:e if e >= 0 else 1] = b"/" + bytes(rng.randrange(32, 126) for _ in range(rng.choice((0, 3, 5, 200))))
    elif kind == "eol":
        t = bytearray(t.replace(b"\r\n", rng.choice((b"\n", b"\r", b"\r\r\n", b"\n\r"))))
    else:
        for _ in range(rng.choice((1, 2, 5))):
            if t:
                p = rng.randrange(1, len(t) + 1)
                t[p:p] = bytes([rng.randrange(256)]) if rng.random() < 0.5 else b""
                if rng.random() < 0.5 and p < len(t):
                    t[p] = rng.randrange(32, 126)
    t = t.replace(b"!", b"?")
    t[0:0] = b"" if t[:1] == b"/" else b"/"
    return bytes(t) + b"!", "text:" + kind


def p1_with_crc(rng, text):
    crc = crc_arc(text)
    form = rng.choice((b"%04X", b"%04X", b"%04x", b"%X"))
    return text + form % crc + rng.choice((b"\r\n", b"\r\n", b"\n"))


def mutate_fixed(rng, seed, keys):
    """Damage the content, then make every check right again."""
    if seed.text is not None:
        text, kind = mutate_text(rng, seed.text)
        return p1_with_crc(rng, text), kind
    msg = seed.msg
    if msg is None:
        return None, None
    if msg.wrap == "lux" and msg.cipher and msg.plain[:1] == b"/":
        # Luxembourg: P1 inside the cipher
        text = msg.plain[:msg.plain.index(b"!") + 1] if b"!" in msg.plain else msg.plain
        text, kind = mutate_text(rng, text)
        mutant = Message(p1_with_crc(rng, text), msg.cipher, "lux", msg.addr)
        return wrap_message(rng, mutant, keys, "lux"), "lux-" + kind
    r = rng.random()
    if r < 0.12 and msg.cipher:
        # the cipher header's length at an extreme (the tag cannot hold then)
        apdu = bytearray(cipher_apdu(msg, keys))
        _set_length(rng, apdu, CIPHER_LENGTH_AT)
        return wrap_message(rng, msg, keys, rng.choice(("hdlc", "mbus", "lux")), bytes(apdu)), "fixed:cipher-length"
    if r < 0.24:
        return _gbt_mutant(rng, msg, keys), "fixed:gbt"
    plain, kind = mutate_apdu(rng, msg.plain)
    mutant = Message(plain, msg.cipher, msg.wrap, msg.addr)
    return wrap_message(rng, mutant, keys), "fixed:" + kind


def _gbt_mutant(rng, msg, keys):
    """General Block Transfer with odd numbers, flags or block lengths."""
    apdu = cipher_apdu(msg, keys)
    n = max(rng.randint(1, 4), -(-len(apdu) // HDLC_FRAME_DATA))
    numbers = list(range(1, n + 1))
    how = rng.choice(("numbers", "last", "length", "repeat"))
    if how == "numbers":
        numbers[rng.randrange(n)] = rng.choice((0, 2, 0xFFFF, 0x8000, n + 1))
    blocks = [bytearray(b) for b in gbt_blocks(apdu, n, numbers)]
    block = rng.choice(blocks)
    if how == "last":
        block[1] ^= dlms.LAST_BLOCK
    elif how == "length":
        _set_length(rng, block, GBT_HEADER)
    elif how == "repeat":
        blocks.insert(rng.randrange(len(blocks) + 1), block)
    dst, src = msg.addr
    return gbt_frames(blocks, dst, src)


def mutate_badtag(rng, seed, keys):
    """An authenticated ciphered APDU damaged after its tag was computed,
    in frames whose link checks pass. None when the seed has no such APDU."""
    msg = seed.msg
    ek, ak = keys
    if msg is None or msg.cipher is None or not msg.cipher[2] & dlms.AUTHENTICATED or ak is None:
        return None
    apdu = bytearray(cipher_apdu(msg, keys))
    sc_at = ber(apdu, CIPHER_LENGTH_AT)[1]
    # anything the tag covers: system title, frame counter, ciphertext;
    # or the tag itself (then the content still decrypts to a good reading)
    spots = list(range(2, CIPHER_LENGTH_AT)) + list(range(sc_at + 1, len(apdu) - dlms.TAG_LENGTH))
    tag_spots = range(len(apdu) - dlms.TAG_LENGTH, len(apdu))
    for _ in range(rng.choice((1, 1, 2))):
        apdu[rng.choice(tag_spots if rng.random() < 0.4 else spots)] ^= 1 << rng.randrange(8)
    title, sc, fc, ct, tag = cipher_parts(bytes(apdu))
    if tag_ok(ek, ak, sc, title + fc, ct, tag):
        return None            # two flips undid each other
    return wrap_message(rng, msg, keys, None, bytes(apdu))
