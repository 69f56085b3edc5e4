# DLMS application layer: what an HDLC or M-Bus frame carries once its link
# checks passed. LLC header, general-glo-ciphering (DB), general block
# transfer (E0) and data-notification (0F), each unwrapped in turn.
from . import axdr, cosem
from .reading import Reading
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

DATA_NOTIFICATION = 0x0F
_GLO_CIPHERING = const(0xDB)
_BLOCK_TRANSFER = const(0xE0)
# faults, by their text's index in why.py
_W_EMPTY = const(30)
_W_APDU_TAG = const(31)
_W_NOTIFY_SHORT = const(32)
_W_NOTIFY_TIME = const(33)
_W_NOTIFY_AFTER = const(34)
_W_NOTIFY_EMPTY = const(35)
_W_BLOCK_SHORT = const(36)
_W_BLOCK_LENGTH = const(37)
_W_BLOCK_SEQ = const(38)
_W_BLOCK_LONG = const(39)
_W_CIPHER_HEAD = const(40)
_W_CIPHER_LENGTH = const(41)
_W_KEY = const(42)


class KeyRequired(ValueError):
    """args as axdr.DlmsError's: a fault's index in why.py, its value."""


AuthFailed = axdr.AuthFailed
Unknown = axdr.UnknownType   # frames this decoder does not understand


class Session:
    """Per-decoder DLMS state: keys, the GBT reassembly buffer, the mapper.
    on_p1(buf, s, e) receives decrypted P1 text (Luxembourg)."""

    def __init__(self, key, auth_key, cap, on_p1):
        self.key = key
        self.auth_key = auth_key
        self.cap = cap
        self.on_p1 = on_p1
        self.mapper = cosem.Mapper()
        self.gcm = None        # gcm.GCM, an encrypted meter's, on its first frame
        self._gbt = None
        self._gbt_n = 0
        self._gbt_next = 0     # block number expected next, 0: none pending
        self.note = None       # what the decoder should report of the last frame

    def apdu(self, buf, s, e, bare=False):
        """Handle one APDU at buf[s:e] (buf is writable: decryption is in
        place). Returns a Reading, or None when more blocks must come.
        bare: a ciphered frame with no link layer (and no link check)."""
        if e - s >= 3 and buf[s] == 0xE6 and buf[s + 1] in (0xE6, 0xE7) and buf[s + 2] == 0:
            s += 3
        if s >= e:
            raise axdr.DlmsError(_W_EMPTY)
        tag = buf[s]
        if tag == DATA_NOTIFICATION:
            return self.notification(buf, s, e, None)
        if tag == _GLO_CIPHERING:
            return self._ciphered(buf, s, e, bare)
        if tag == _BLOCK_TRANSFER:
            return self._block(buf, s, e)
        if tag == 0x2F:   # '/': a P1 telegram (decrypted Luxembourg frame)
            self.on_p1(buf, s, e)
            return None
        raise Unknown(_W_APDU_TAG, tag)

    def notification(self, buf, s, e, maker):
        """0F, long-invoke-id (4), date-time (00 | 0C+12 | 09 0C+12), body."""
        pos = s + 5
        if pos >= e:
            raise axdr.DlmsError(_W_NOTIFY_SHORT)
        dt = -1
        form = buf[pos]
        if form == 0x00:
            pos += 1
        elif form == 0x0C:
            dt, pos = pos + 1, pos + 13
        elif form == 0x09 and pos + 1 < e and buf[pos + 1] == 0x0C:
            dt, pos = pos + 2, pos + 14
        else:
            raise axdr.DlmsError(_W_NOTIFY_TIME)
        if self.mapper.tok.parse(buf, pos, e) != e:
            raise axdr.DlmsError(_W_NOTIFY_AFTER)
        r = Reading("dlms")
        r.manufacturer = maker
        if self.mapper.tok.n == 0:
            raise Unknown(_W_NOTIFY_EMPTY)
        if not self.mapper.map(buf, r):
            # no OBIS codes, no known layout: its identity and clock, and
            # its shape in the decoder's last_error (counted as unknown)
            r = Reading("dlms")
            r.manufacturer = maker
            self.note = self.mapper.unknown(r)
        self.mapper.r = self.mapper.buf = None    # not kept until the next frame
        if dt >= 0:
            t, dst = cosem.date_time(buf, dt, r.list_id != "AIDON_V0001")
            if t is not None:
                r.time, r.dst = t, dst
        return r

    def _block(self, buf, s, e):
        """General block transfer: E0, control, number (2), ack (2), BER
        length, data. Blocks are collected until the last (bit 7)."""
        if e - s < 7:
            raise axdr.DlmsError(_W_BLOCK_SHORT)
        last = buf[s + 1] & 0x80
        num = (buf[s + 2] << 8) | buf[s + 3]
        n, pos = axdr.ber_length(buf, s + 6, e)
        if pos + n != e:
            raise axdr.DlmsError(_W_BLOCK_LENGTH)
        if num == 1:
            self._gbt_n = 0
        elif num != self._gbt_next:
            self._gbt_next = 0
            raise axdr.DlmsError(_W_BLOCK_SEQ, num)
        if self._gbt is None:
            self._gbt = bytearray(self.cap)
        if self._gbt_n + n > self.cap:
            self._gbt_next = 0
            raise axdr.DlmsError(_W_BLOCK_LONG, self.cap)
        self._gbt[self._gbt_n:self._gbt_n + n] = buf[pos:e]
        self._gbt_n += n
        self._gbt_next = num + 1
        if not last:
            return None
        self._gbt_next = 0
        return self.apdu(self._gbt, 0, self._gbt_n)

    def _ciphered(self, buf, s, e, bare):
        """DB, 08, system title (8), BER length, then what gcm.py reads:
        SC, frame counter (4), ciphertext, [tag (12)]. Only an encrypted
        meter's dongle loads gcm.py (on its first frame)."""
        if e - s < 11 or buf[s + 1] != 8:
            raise axdr.DlmsError(_W_CIPHER_HEAD)
        title = s + 2
        n, pos = axdr.ber_length(buf, s + 10, e)
        if pos + n != e or n < 5:
            raise axdr.DlmsError(_W_CIPHER_LENGTH)
        maker = None
        if 65 <= buf[title] <= 90 and 65 <= buf[title + 1] <= 90 and 65 <= buf[title + 2] <= 90:
            maker = bytes(buf[title:title + 3]).decode()
        if self.key is None:
            raise KeyRequired(_W_KEY, maker or "meter")
        from . import gcm
        return gcm.ciphered(self, buf, title, pos, e, bare, maker)
