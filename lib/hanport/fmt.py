# Text output without floats: the dongle's MicroPython has 32-bit floats, so
# meter values stay scaled integers (mantissa, decimals) until they are text.


def normalize(m, d):
    """(mantissa, decimals) with trailing fractional zeros removed.

    d may be negative (a scaler of +1 is d = -1); the result has d >= 0.
    """
    if d < 0:
        return m * 10 ** (-d), 0
    while d and m % 10 == 0:
        m //= 10
        d -= 1
    return m, d


def decimal(m, d):
    """Decimal text of m * 10**-d, e.g. (1023, 3) -> "1.023"."""
    if d <= 0:
        return str(m * 10 ** (-d))
    s = str(-m if m < 0 else m)
    if len(s) <= d:
        s = "0" * (d + 1 - len(s)) + s
    s = s[:-d] + "." + s[-d:]
    return "-" + s if m < 0 else s


_HEX = "0123456789abcdef"


def ascii_text(b):
    """Bytes from a meter -> str. Printable ASCII is kept; anything else
    becomes \\xNN, so no input can break the output or the JSON."""
    for c in b:
        if c < 32 or c > 126:
            break
    else:
        return bytes(b).decode()
    out = []
    for c in b:
        if 32 <= c <= 126:
            out.append(chr(c))
        else:
            out.append("\\x" + _HEX[c >> 4] + _HEX[c & 15])
    return "".join(out)


def json_escape(ch):
    """One character as JSON string text: itself when printable ASCII other
    than '"' and '\\', else its \\u escape."""
    if " " <= ch <= "~" and ch != '"' and ch != "\\":
        return ch
    c = ord(ch)
    if c > 0xFFFF:                  # outside the BMP: a UTF-16 surrogate pair
        c -= 0x10000
        return "\\u%04x\\u%04x" % (0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF))
    return "\\u%04x" % c


class TextCache:
    """Strings made from meter bytes, kept while the bytes repeat (a meter
    sends its id, type and list name in every frame): the same str object
    instead of a new one per frame. Keyed by the bytes themselves, or (crc
    given: MicroPython, no bytes object per lookup) by checksum, length
    and kind, with the bytes kept beside the string and compared on a hit:
    two texts with the same checksum never share a string."""

    def __init__(self, crc, size=8):
        self._crc = crc          # None: key by the bytes themselves (CPython)
        self._size = size        # entries kept: all are dropped when full
        self._d = {}

    def get(self, buf, s, e, make, kind=0):
        """make(buf, s, e) -> str, called only for bytes not seen lately."""
        d = self._d
        if self._crc is None:
            key = (bytes(buf[s:e]), kind)
            t = d.get(key)
        else:
            key = (self._crc(buf, s, e) << 12) | ((e - s) << 2) | kind
            t = d.get(key)
            if t is not None:
                raw = t[0]
                if len(raw) == e - s:
                    i = s
                    for c in raw:      # (no slice of buf: nothing allocated)
                        if buf[i] != c:
                            break
                        i += 1
                    if i == e:
                        return t[1]
                t = None               # another text with that checksum
        if t is None:
            t = make(buf, s, e)
            if len(d) >= self._size:
                d.clear()
            d[key] = t if self._crc is None else (bytes(buf[s:e]), t)
        return t
