# P1 / DSMR / IEC 62056-21 mode D telegram -> Reading.
#
# parse() gets one whole telegram, '/' through '!', already framed (and its
# CRC checked) by the Decoder. Lines are read straight from the buffer.
from . import obis, fields, units
from .fmt import ascii_text
from .reading import Reading

_LP, _RP, _STAR, _CR, _LF = 40, 41, 42, 13, 10
_MAX_GROUPS = 32

# M-Bus device types (EN 13757-3) -> field for the channel's reading
_MBUS_FIELD = {3: "gas_m3", 7: "water_m3", 6: "water_m3", 4: "heat_gj", 12: "heat_gj"}


class Malformed(ValueError):
    pass


def _obis_key(buf, s, e):
    """Parse "A-B:C.D.E" (optionally ".F" or "*F") in buf[s:e] -> key.
    Returns -2 when it is not an OBIS code at all, -1 when out of range."""
    v = [0, 0, 0, 0, 0, 0]
    seps = b"-:..*"
    k = 0
    digits = 0
    for i in range(s, e):
        c = buf[i]
        if 48 <= c <= 57:
            v[k] = v[k] * 10 + c - 48
            digits += 1
            if digits > 3:
                return -2
        elif k < 5 and digits and (c == seps[k] or (k == 4 and c == 46)):
            k += 1
            digits = 0
        else:
            return -2
    if k < 4 or not digits:
        return -2
    return obis.key(v[0], v[1], v[2], v[3], v[4])


def _number(buf, s, e):
    """buf[s:e] is "[-]digits[.digits][*unit]" -> (m, d, unit_start or -1).
    None if it is not a number."""
    i = s
    neg = False
    if i < e and buf[i] == 45:
        neg = True
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
        elif c == _STAR:
            break
        else:
            return None
        i += 1
    if nd == 0 or d == 0:
        return None
    if d < 0:
        d = 0
    if neg:
        m = -m
    if i < e:  # at '*'
        return m, d, i + 1
    return m, d, -1


def _digits(buf, s, n):
    """Value of n decimal digits at buf[s:], or -1."""
    v = 0
    for i in range(s, s + n):
        c = buf[i] - 48
        if c < 0 or c > 9:
            return -1
        v = v * 10 + c
    return v


def _iso(y, mo, dd, h, mi, sec):
    if not (1 <= mo <= 12 and 1 <= dd <= 31 and h <= 23 and mi <= 59
            and sec <= 60):
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, dd, h, mi, sec)


def _clock(r, buf, s, e):
    """YYMMDDhhmmss[W|S] or the NES form "YYYYMMDD hh:mm:ss"."""
    n = e - s
    if n in (12, 13):
        v = [_digits(buf, s + 2 * k, 2) for k in range(6)]
        if min(v) < 0:
            return False
        t = _iso(2000 + v[0], v[1], v[2], v[3], v[4], v[5])
        if t is None:
            return False
        if n == 13:
            x = buf[e - 1]
            if x == 83:      # 'S': summer time
                r.dst = True
            elif x == 87:    # 'W': winter (normal) time
                r.dst = False
            else:
                return False
        r.time = t
        return True
    if n == 17 and buf[s + 8] == 32 and buf[s + 11] == 58 and buf[s + 14] == 58:
        y = _digits(buf, s, 4)
        v = [_digits(buf, s + 4, 2), _digits(buf, s + 6, 2), _digits(buf, s + 9, 2),
             _digits(buf, s + 12, 2), _digits(buf, s + 15, 2)]
        if y < 0 or min(v) < 0:
            return False
        t = _iso(y, v[0], v[1], v[2], v[3], v[4])
        r.time = t
        return t is not None
    return False


def _ident_text(buf, s, e):
    """DSMR sends the equipment id as hex-encoded ASCII; decode it when it
    is, keep it as sent when it is not."""
    n = e - s
    if n and n % 2 == 0:
        try:
            raw = bytes.fromhex(bytes(buf[s:e]).decode())
        except ValueError:
            raw = None
        if raw and min(raw) >= 32 and max(raw) <= 126:
            return raw.decode()
    return ascii_text(buf[s:e])


def _ident_line(r, buf, e):
    """"/XXXZ<model>": XXX manufacturer (FLAG id), Z baud character."""
    if e < 4:
        raise Malformed("P1 ident line too short")
    for i in (1, 2, 3):
        c = buf[i] | 32
        if c < 97 or c > 122:
            raise Malformed("P1 ident line has no manufacturer id")
    r.manufacturer = bytes(buf[1:4]).decode().upper()
    s = 5
    while True:   # "\2" style enhanced-id markers, separators
        if s + 1 < e and buf[s] == 92:
            s += 2
        elif s < e and buf[s] in (32, 58):
            s += 1
        else:
            break
    while e > s and buf[e - 1] == 32:
        e -= 1
    if e > s:
        r.model = ascii_text(buf[s:e])


class _Line:
    """Group positions of the current line: the "(...)" parts."""

    def __init__(self):
        self.pos = [0] * (2 * _MAX_GROUPS)
        self.n = 0

    def split(self, buf, s, e):
        """Find the groups in buf[s:e] (s at the first '('). Groups may be
        separated by a line break (DSMR 2.2 continuation). False if the
        text is not a sequence of groups."""
        pos = self.pos
        n = 0
        i = s
        while i < e:
            c = buf[i]
            if c == _LP:
                j = buf.find(b")", i + 1, e)
                if j < 0 or n == _MAX_GROUPS:
                    return False
                pos[2 * n] = i + 1
                pos[2 * n + 1] = j
                n += 1
                i = j + 1
            elif c == _CR or c == _LF:
                i += 1
            else:
                return False
        self.n = n
        return n > 0


def _set_value(r, idx, buf, s, e, unit=None):
    """Store group text buf[s:e] as field idx. False if it is not a value
    in a unit of that field's family."""
    num = _number(buf, s, e)
    if num is None:
        return False
    m, d, us = num
    if us >= 0:
        if unit is not None:
            return False
        unit = bytes(buf[us:e]).lower()
    if unit is None:
        fam, shift = 0, 0
    else:
        u = units.TEXT.get(unit)
        if u is None:
            return False
        fam, shift = u
    if fam != fields.FAMILY[idx]:
        return False
    r.set(idx, m, d - shift)
    return True


def parse(buf, n, checked):
    """Telegram buf[0:n] ('/' .. '!') -> Reading.

    checked: the CRC was present and correct. Without it every line must
    parse, or the telegram is rejected: a damaged telegram without CRC is
    otherwise indistinguishable from a good one.
    """
    r = Reading("p1")
    e = buf.find(b"\n", 0, n)
    if e < 0:
        raise Malformed("P1 telegram has no ident line")
    _ident_line(r, buf, e - 1 if buf[e - 1] == _CR else e)
    line = _Line()
    pos_ = line.pos
    mbus = [0] * 8
    hms = ymd = -1
    last = n - 1  # the '!'
    s = e + 1
    while s < last:
        e = buf.find(b"\n", s, last)
        if e < 0:
            raise Malformed("P1 text after the last line break")
        # DSMR 2.2: a line starting with '(' continues the previous line
        while e + 1 < last and buf[e + 1] == _LP:
            nxt = buf.find(b"\n", e + 1, last)
            if nxt < 0:
                raise Malformed("P1 text after the last line break")
            e = nxt
        le = e - 1 if e > s and buf[e - 1] == _CR else e
        ls = s
        s = e + 1
        if le == ls:
            continue
        p = buf.find(b"(", ls, le)
        k = _obis_key(buf, ls, p) if p > ls else -2
        if k == -2 or not line.split(buf, p, le):
            if not checked:
                raise Malformed("P1 line is not OBIS(value): " +
                                ascii_text(buf[ls:le])[:40])
            continue
        target = obis.LOOKUP.get(k, None) if k >= 0 else None
        g = line.n
        gs, ge = pos_[2 * g - 2], pos_[2 * g - 1]   # last group
        ok = True
        if target is None:
            ok = False
        elif target >= 0:
            ok = _set_value(r, target, buf, gs, ge)
        elif target == obis.CLOCK:
            ok = g == 1 and _clock(r, buf, gs, ge)
        elif target == obis.METER_ID:
            if r.meter_id is None and ge > gs:
                r.meter_id = _ident_text(buf, gs, ge)
        elif target == obis.METER_TYPE:
            r.model = ascii_text(buf[gs:ge])
        elif target == obis.VERSION:
            r.version = ascii_text(buf[gs:ge])
        elif target == obis.TIME_HMS:
            hms = _digits(buf, gs, 6) if ge - gs == 6 else -1
            ok = hms >= 0
        elif target == obis.DATE_YMD:
            ymd = _digits(buf, gs, 6) if ge - gs == 6 else -1
            ok = ymd >= 0
        elif target == obis.MBUS_TYPE:
            t = _digits(buf, gs, ge - gs) if ge > gs else -1
            mbus[(k >> 24) & 7] = t
        elif target in (obis.MBUS_VALUE, obis.MBUS_OLD):
            unit = None
            if target == obis.MBUS_OLD:   # (ts)(..)(..)(..)(obis)(unit) + (value)
                if g < 3:
                    ok = False
                else:
                    unit = bytes(buf[pos_[2 * g - 4]:pos_[2 * g - 3]]).lower()
            name = _MBUS_FIELD.get(mbus[(k >> 24) & 7])
            # type not sent or unknown: whichever family the unit fits
            names = (name,) if name else ("gas_m3", "heat_gj")
            if ok:
                ok = False
                for name in names:
                    idx = fields.INDEX[name]
                    if r.m[idx] is None and _set_value(r, idx, buf, gs, ge, unit):
                        ok = True
                        break
        if not ok:
            if g == 1:
                raw = ascii_text(buf[gs:ge])
            else:
                raw = ascii_text(buf[p:le]).replace("\\x0d\\x0a", "")
            r.add_other(ascii_text(buf[ls:p]), raw)
    if ymd >= 0 and hms >= 0 and r.time is None:
        r.time = _iso(2000 + ymd // 10000, ymd // 100 % 100, ymd % 100,
                      hms // 10000, hms // 100 % 100, hms % 100)
    return r
