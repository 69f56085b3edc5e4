# JSON text written into one reusable buffer: numbers digit by digit from
# their exact (mantissa, decimals), no float and no per-value strings. The
# dongle serves and publishes the bytes as they are (memoryview).
import sys

from .fmt import decimal

MICROPYTHON = sys.implementation.name == "micropython"


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

    def text(self, s):
        """A JSON string (or null). Readings hold printable ASCII only
        (hanport.fmt.ascii_text); anything else is escaped anyway."""
        if s is None:
            self.raw(b"null")
            return
        for ch in s:
            if ch < " " or ch > "~" or ch == '"' or ch == "\\":
                s = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "\\u%04x" % ord(ch) for ch in s)
                break
        self.raw(b'"')
        self.raw(s.encode())
        self.raw(b'"')

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


class JsonParts:
    """CPython: the same interface over a list of parts (str() and join
    are C there, a digit loop is not; allocation costs nothing)."""

    def __init__(self):
        self.parts = []

    def reset(self):
        self.parts = []
        return self

    def raw(self, b):
        self.parts.append(b)

    def text(self, s):
        if s is None:
            self.parts.append(b"null")
        elif s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
            self.parts.append(b'"' + s.encode() + b'"')
        else:
            JsonOut.text(self, s)

    def int(self, v):
        self.parts.append(b"%d" % v)

    def dec(self, m, d):
        self.parts.append(decimal(m, d).encode())

    def view(self):
        return memoryview(b"".join(self.parts))

    def str(self):
        return b"".join(self.parts).decode()


# The decoder is single-threaded on the dongle: one buffer serves every
# to_json(); its size settles at the longest reading's.
SHARED = JsonOut() if MICROPYTHON else JsonParts()
