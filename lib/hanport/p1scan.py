# Reading P1 text byte by byte, the reference: where the text ends, OBIS
# codes, numbers and unit names. pick.py chooses the version that runs
# (viper's text_end on MicroPython, loops_cpython.py's on CPython); tests
# check all give the same answers.


def text_end(data, i, n):
    """Index of the first byte in data[i:n] that ends P1 text: '/', '!', or
    a byte no telegram contains (binary data, another protocol); n if none."""
    while i < n:
        c = data[i]
        if c == 47 or c == 33 or c > 125 or (c < 32 and c != 13 and c != 10 and c != 9):
            return i
        i += 1
    return n


def obis_key(buf, s, e):
    """"A-B:C.D.E" (optionally ".F" or "*F") at buf[s:e] -> the integer key
    of obis.key(); -1 out of range, -2 not an OBIS code at all."""
    g = 0          # group being read: A B C D E F
    v = digits = 0
    a = b = c = d = ee = 0
    for i in range(s, e):
        ch = buf[i]
        if 48 <= ch <= 57:
            v = v * 10 + ch - 48
            digits += 1
            if digits > 3:
                return -2
            continue
        if not digits or not ((g == 0 and ch == 45) or (g == 1 and ch == 58) or
                              ((g == 2 or g == 3) and ch == 46) or
                              (g == 4 and (ch == 46 or ch == 42))):
            return -2
        if g == 0:
            a = v
        elif g == 1:
            b = v
        elif g == 2:
            c = v
        elif g == 3:
            d = v
        else:
            ee = v
        g += 1
        v = digits = 0
    if not digits or g < 4:
        return -2
    if g == 4:
        ee = v
    if a > 7 or b > 7 or c > 255 or d > 255 or ee > 255:
        return -1
    return (a << 27) | (b << 24) | (c << 16) | (d << 8) | ee


def number(buf, s, e, out):
    """"[-]digits[.digits]" at buf[s:e], up to a '*' -> mantissa, or None if
    it is not a number. out[0] = decimals, out[1] = index after '*' or -1."""
    i = s
    neg = i < e and buf[i] == 45
    if neg:
        i += 1
    m = 0
    d = -1
    nd = 0
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            m = m * 10 + c - 48
            nd += 1
            if d >= 0:
                d += 1
        elif c == 46 and d < 0:
            d = 0
        elif c == 42:
            break
        else:
            return None
        i += 1
    if nd == 0 or d == 0:
        return None
    out[0] = d if d > 0 else 0
    out[1] = i + 1 if i < e else -1
    return -m if neg else m


def unit_code(buf, s, e):
    """A unit name, case folded, as an integer: 6 bits per character
    (a-z, 0-9), at most 5 characters, so the code is exact (no two names
    share one) and stays a small int on 32-bit MicroPython. -1 if not
    such a name."""
    if e - s > 5 or e <= s:
        return -1
    code = 0
    for i in range(s, e):
        c = buf[i] | 32
        if 97 <= c <= 122:
            c -= 96            # a-z -> 1..26
        elif 48 <= c <= 57:
            c -= 21            # 0-9 -> 27..36
        else:
            return -1
        code = (code << 6) | c
    return code
