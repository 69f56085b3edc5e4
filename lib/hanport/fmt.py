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


def ieee_decimal(bits, exp_bits, man_bits, digits):
    """An IEEE 754 number's bits -> (mantissa, decimals) rounded to `digits`
    significant digits, with integer arithmetic only (a float32 meter value
    must not meet the dongle's own 32-bit floats). None for inf/NaN."""
    top = (1 << exp_bits) - 1
    e = (bits >> man_bits) & top
    m = bits & ((1 << man_bits) - 1)
    if e == top:
        return None
    if e:
        m |= 1 << man_bits
    else:
        e = 1                      # subnormal
    e -= (top >> 1) + man_bits
    if e >= 0:
        v, d = m << e, 0
    else:                          # m / 2**k == m * 5**k / 10**k
        v, d = m * 5 ** (-e), -e
    n = len(str(v))
    if n > digits:
        drop = n - digits
        q, r = divmod(v, 10 ** drop)
        half = 5 * 10 ** (drop - 1)
        if r > half or (r == half and q & 1):
            q += 1
        v, d = q, d - drop
    if bits >> (exp_bits + man_bits):
        v = -v
    return normalize(v, d)


class TextCache:
    """Strings made from meter bytes, kept while the bytes repeat (a meter
    sends its id, type and list name in every frame): the same str object
    instead of a new one per frame. Found by checksum and length, taken
    only when the bytes are the same (a checksum collision makes a new
    string)."""

    def __init__(self, crc, size=8):
        self._crc = crc          # None: key by the bytes themselves (CPython)
        self._size = size
        self._d = {}

    def get(self, buf, s, e, make, kind=0):
        """make(buf, s, e) -> str, called only for bytes not seen lately."""
        if self._crc is None:
            key = (bytes(buf[s:e]), kind)
            t = self._d.get(key)
            if t is None:
                t = make(buf, s, e)
                self._put(key, t)
            return t
        key = (self._crc(buf, s, e) << 12) | ((e - s) << 2) | kind
        hit = self._d.get(key)
        if hit is not None and len(hit[0]) == e - s and _same(hit[0], buf, s):
            return hit[1]
        t = make(buf, s, e)
        self._put(key, (bytes(buf[s:e]), t))
        return t

    def _put(self, key, v):
        if len(self._d) >= self._size and key not in self._d:
            self._d.clear()
        self._d[key] = v


def _same(raw, buf, s):
    """raw == buf[s:s + len(raw)], without a slice of buf."""
    for i in range(len(raw)):
        if raw[i] != buf[s + i]:
            return False
    return True
