# Bytes in, readings out. The Decoder frames a byte stream of any chunking
# into telegrams and frames, checks them and hands each to its parser.
from . import p1
from .crc import arc
from .fmt import ascii_text

# Largest telegram or frame held, in bytes. The only buffer that grows with
# input is this one and it is allocated once: junk never grows memory, and a
# longer telegram is dropped and counted as oversized. Swedish P1 telegrams
# are ~700 bytes, Dutch DSMR 5 with text messages up to ~2.5 KB.
CAP = 4096

_IDLE = 0
_P1 = 1        # inside a P1 telegram, before '!'
_P1_CRC = 2    # after '!', reading up to four hex digits

_SLASH, _BANG, _CR, _LF = 47, 33, 13, 10


def _text_end(data, i, n):
    """Index of the first byte in data[i:n] that ends P1 text: '/', '!' or a
    byte no telegram contains (binary data, another protocol). n if none."""
    while i < n:
        c = data[i]
        if c == _SLASH or c == _BANG or c > 125 or (c < 32 and c != _CR
                                                   and c != _LF and c != 9):
            return i
        i += 1
    return n


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 32
    if 97 <= c <= 102:
        return c - 87
    return -1


def _key(k):
    if k is None or k == "" or k == b"":
        return None
    if isinstance(k, str):
        try:
            k = bytes.fromhex(k.replace(" ", "").replace(":", ""))
        except ValueError:
            raise ValueError("key is not hex: expected 32 hex digits")
    if len(k) != 16:
        raise ValueError("key must be 16 bytes (32 hex digits), got %d bytes" % len(k))
    return bytes(k)


class Decoder:
    """feed(bytes) -> list of Reading. Keeps partial frames between calls."""

    def __init__(self, key=None, auth_key=None):
        self.key = _key(key)
        self.auth_key = _key(auth_key)
        self._buf = bytearray(CAP)
        self._n = 0
        self._state = _IDLE
        self._crc = 0
        self._crc_digits = 0
        self._p1_crc_seen = False
        # counters, for the firmware's status page
        self.frames_ok = 0
        self.crc_errors = 0
        self.malformed = 0
        self.oversized = 0
        self.unchecked = 0    # P1 telegrams accepted without a CRC
        self.last_error = None

    def stats(self):
        return {
            "frames_ok": self.frames_ok,
            "crc_errors": self.crc_errors,
            "malformed": self.malformed,
            "oversized": self.oversized,
            "unchecked": self.unchecked,
        }

    def _fail(self, counter, msg):
        setattr(self, counter, getattr(self, counter) + 1)
        self.last_error = msg
        self._state = _IDLE

    def feed(self, data):
        out = []
        n = len(data)
        i = 0
        buf = self._buf
        while i < n:
            st = self._state
            if st == _IDLE:
                i = data.find(b"/", i)
                if i < 0:
                    break
                buf[0] = _SLASH
                self._n = 1
                self._state = _P1
                i += 1
            elif st == _P1:
                j = _text_end(data, i, n)
                k = self._n
                if k + (j - i) > CAP - 1:
                    self._fail("oversized", "P1 telegram longer than %d bytes" % CAP)
                    i = j
                    continue
                buf[k:k + j - i] = data[i:j]
                self._n = k + j - i
                i = j
                if j == n:
                    break
                c = data[j]
                if c == _BANG:
                    buf[self._n] = _BANG
                    self._n += 1
                    self._state = _P1_CRC
                    self._crc = 0
                    self._crc_digits = 0
                    i += 1
                else:   # '/' or binary: this telegram was cut short
                    self._fail("malformed", "P1 telegram cut short")
            else:  # _P1_CRC
                c = data[i]
                h = _hexval(c)
                if h >= 0:
                    self._crc = (self._crc << 4) | h
                    self._crc_digits += 1
                    i += 1
                    if self._crc_digits == 4:
                        self._p1_done(out, True)
                elif c == _CR or c == _LF:
                    self._p1_done(out, self._crc_digits > 0)
                else:
                    self._fail("malformed", "P1 telegram: bad character after '!'")
        return out

    def _p1_done(self, out, has_crc):
        self._state = _IDLE
        buf, n = self._buf, self._n
        if has_crc:
            if arc(buf, 0, n) != self._crc:
                self._fail("crc_errors", "P1 CRC mismatch")
                return
            self._p1_crc_seen = True
        elif self._p1_crc_seen:
            # this meter sends CRCs: a telegram without one is damaged
            self._fail("malformed", "P1 telegram without CRC from a meter that sends CRCs")
            return
        try:
            r = p1.parse(buf, n, has_crc)
        except ValueError as e:
            self._fail("malformed", str(e))
            return
        if not has_crc:
            self.unchecked += 1
        self.frames_ok += 1
        out.append(r)
