# JSON text written into one reusable buffer: numbers digit by digit from
# their exact (mantissa, decimals), no float and no per-value strings. The
# dongle serves and publishes the bytes as they are (memoryview).
from . import pick
from .fmt import json_escape


class JsonOut:
    def __init__(self, size=1024):
        self.buf = bytearray(size)
        self.n = 0

    def reset(self):
        self.n = 0
        return self

    def _room(self, k):
        if self.n + k > len(self.buf):
            self.buf.extend(bytearray(max(k, len(self.buf))))

    def raw(self, b):
        """ASCII bytes as they are."""
        k = len(b)
        self._room(k)
        self.buf[self.n:self.n + k] = b
        self.n += k

    def name(self, text, s, e, first):
        """', "name": ' (or '"name": ' first) for a member name of plain
        ASCII, text[s:e] of a bytes object (fields.NAMES), written byte by
        byte: no object per name."""
        self._room(e - s + 6)
        buf, n = self.buf, self.n
        if not first:
            buf[n] = 44
            buf[n + 1] = 32
            n += 2
        buf[n] = 34
        n += 1
        for k in range(s, e):
            buf[n] = text[k]
            n += 1
        buf[n] = 34
        buf[n + 1] = 58
        buf[n + 2] = 32
        self.n = n + 3

    def text(self, s):
        """A JSON string (or null). Readings hold printable ASCII only
        (hanport.fmt.ascii_text); anything else is escaped anyway."""
        if s is None:
            self.raw(b"null")
            return
        for ch in s:
            if ch < " " or ch > "~" or ch == '"' or ch == "\\":
                s = "".join(json_escape(ch) for ch in s)
                break
        self._room(len(s) + 2)
        self._quoted(s)

    def _quoted(self, s):
        # '"s"' for s of plain ASCII, character by character (no bytes
        # object of it); the caller made room
        buf, n = self.buf, self.n
        buf[n] = 34
        n += 1
        for ch in s:
            buf[n] = ord(ch)
            n += 1
        buf[n] = 34
        self.n = n + 1

    def int(self, v):
        self.dec(v, 0)

    def dec(self, m, d):
        """The decimal text of m * 10**-d (d >= 0), e.g. (1023, 3): 1.023."""
        if m < 0:
            self.raw(b"-")
            m = -m
        nd = 1
        t = m
        while t >= 10:
            t //= 10
            nd += 1
        width = (nd if nd > d else d + 1) + (1 if d else 0)
        self._room(width)
        buf = self.buf
        pos = self.n + width - 1
        for _ in range(d):
            buf[pos] = 48 + m % 10
            m //= 10
            pos -= 1
        if d:
            buf[pos] = 46
            pos -= 1
        while pos >= self.n:
            buf[pos] = 48 + m % 10
            m //= 10
            pos -= 1
        self.n += width

    def view(self):
        return memoryview(self.buf)[:self.n]

    def str(self):
        return str(self.view(), "utf-8")


class JsonPieces(JsonOut):
    """JSON written in pieces of PIECE bytes, each kept as bytes of its
    own: a document of any size costs its size in small blocks, never one
    block of it (or, growing, of twice it) that a fragmented heap may not
    have. Small ones: on a 32-bit board in 96 KB, /api/status in 256-byte
    pieces failed for want of a 17-block hole with 3 KB free in smaller
    ones."""
    PIECE = 128

    def __init__(self):
        JsonOut.__init__(self, self.PIECE)
        self.parts = []

    def _room(self, k):
        if self.n + k > len(self.buf):
            self._flush()
            if k > len(self.buf):
                self.buf = bytearray(k)

    def _flush(self):
        if self.n:
            self.parts.append(bytes(memoryview(self.buf)[:self.n]))
            self.n = 0

    def pieces(self):
        """The whole document, as a tuple of bytes (http.py sends these)."""
        self._flush()
        return tuple(self.parts)


_shared = None


def shared():
    """The buffer every to_json() writes into, made on first use. The
    decoder is single-threaded on the dongle; the size settles at the
    longest reading's."""
    global _shared
    if _shared is None:
        if pick.CPYTHON:
            from .jsonout_cpython import JsonParts
            _shared = JsonParts()
        else:
            _shared = JsonOut()
    return _shared.reset()

