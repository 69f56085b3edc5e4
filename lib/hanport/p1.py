# P1 / DSMR / IEC 62056-21 mode D telegram -> Reading.
#
# Parser.parse() gets one whole telegram, '/' through '!', already framed
# (and its CRC checked) by the Decoder. Lines are read in place in the
# buffer: a line costs no heap allocation unless it lands in "other".
from . import fields, obis, pick, units
from .fmt import TextCache, ascii_text
from .reading import Reading

try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

_LP = const(40)         # '('
_CR = const(13)
_LF = const(10)
_MAX_GROUPS = const(32)
_NO_UNIT = const(-3)
# faults, by their text's index in why.py
_W_IDENT_SHORT = const(6)
_W_IDENT_MAKER = const(7)
_W_NO_IDENT = const(8)
_W_IDENT_CONTROL = const(9)
_W_AFTER_BREAK = const(10)
_W_NOT_OBIS = const(11)

# the scanners of P1 text this Python runs (pick.py)
obis_key, number, unit_code = pick.p1_scanners()
# unit code (unit_code() of the unit's text: no bytes objects while
# parsing) -> (family, power of ten); units.py goes
_UNITS = {}
for _name, _u in units.TEXT.items():
    _UNITS[unit_code(_name, 0, len(_name))] = _u
del units, _name, _u
pick.forget("units")

# M-Bus device types (EN 13757-3) -> field for the channel's reading
_MBUS_FIELD = {3: fields.index("gas_m3"), 7: fields.index("water_m3"), 6: fields.index("water_m3"),
               4: fields.index("heat_gj"), 12: fields.index("heat_gj")}
_GAS_OR_HEAT = (_MBUS_FIELD[3], _MBUS_FIELD[4])   # type not sent: whichever the unit fits


class Malformed(ValueError):
    """args: the fault's index in why.py, and what its text takes."""


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
    if y < 0 or mo < 0 or dd < 0 or h < 0 or mi < 0 or sec < 0:
        return None
    if not (1 <= mo <= 12 and 1 <= dd <= 31 and h <= 23 and mi <= 59 and sec <= 60):
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, dd, h, mi, sec)


def _clock(r, buf, s, e):
    """YYMMDDhhmmss[W|S] or the NES form "YYYYMMDD hh:mm:ss"."""
    n = e - s
    if n == 12 or n == 13:
        t = _iso(2000 + _digits(buf, s, 2), _digits(buf, s + 2, 2), _digits(buf, s + 4, 2),
                 _digits(buf, s + 6, 2), _digits(buf, s + 8, 2), _digits(buf, s + 10, 2))
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
        t = _iso(_digits(buf, s, 4), _digits(buf, s + 4, 2), _digits(buf, s + 6, 2),
                 _digits(buf, s + 9, 2), _digits(buf, s + 12, 2), _digits(buf, s + 15, 2))
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
            return raw.decode().strip()     # DSMR 2.2 Kamstrup: " ZABF..."
    return ascii_text(buf[s:e]).strip()


def _ident_line(r, buf, e, text):
    """"/XXXZ<model>": XXX manufacturer (FLAG id), Z baud character.
    text(s, e) makes strings (cached: they repeat every telegram)."""
    if e < 4:
        raise Malformed(_W_IDENT_SHORT)
    for i in (1, 2, 3):
        c = buf[i] | 32
        if c < 97 or c > 122:
            raise Malformed(_W_IDENT_MAKER)
    r.manufacturer = text(buf, 1, 4, 1)
    s = 5
    while True:   # "\2" style enhanced-id markers, separators, control bytes
        if s + 1 < e and buf[s] == 92:
            s += 2
        elif s < e and (buf[s] in (32, 58) or buf[s] < 32):
            s += 1
        else:
            break
    while e > s and buf[e - 1] == 32:
        e -= 1
    if e > s:
        r.model = text(buf, s, e)


_MAKE = (lambda b, s, e: ascii_text(b[s:e]),
         lambda b, s, e: ascii_text(b[s:e]).upper(),
         _ident_text)


if pick.CPYTHON:
    from . import p1_fast as _fast
else:
    _fast = None


class Parser:
    """One per Decoder: the scratch space lines are parsed with."""

    def __init__(self):
        self.pos = [0] * (2 * _MAX_GROUPS)   # start, end of each "(...)" group
        self.groups = 0
        self.num = [0, 0]                    # number()'s side results
        self.mbus = [0] * 8                  # M-Bus device type per channel
        self._texts = TextCache(pick.crc_arc if pick.MICROPYTHON else None)

    def _text(self, buf, s, e, kind=0):
        """Text of buf[s:e]: 0 as sent, 1 upper case, 2 equipment id."""
        return self._texts.get(buf, s, e, _MAKE[kind], kind)

    def _split(self, buf, s, e):
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
        self.groups = n
        return n > 0

    def _value(self, r, idx, buf, s, e, unit=_NO_UNIT):
        """Store group text buf[s:e] as field idx. False if it is not a
        number in a unit of that field's family. unit: the unit's code when
        it comes from elsewhere (DSMR 2.2 gas)."""
        m = number(buf, s, e, self.num)
        if m is None:
            return False
        d, us = self.num[0], self.num[1]
        if us >= 0:
            if unit != _NO_UNIT:
                return False
            unit = unit_code(buf, us, e)
        if unit == _NO_UNIT:
            fam, shift = fields.NONE, 0
        else:
            u = _UNITS.get(unit)
            if u is None:
                return False
            fam, shift = u
        if fam != fields.FAMILY[idx]:
            return False
        r.set(idx, m, d - shift)
        return True

    def parse(self, buf, n, checked):
        """Telegram buf[0:n] ('/' .. '!') -> Reading.

        checked: the CRC was present and correct. Without it every line must
        parse, or the telegram is rejected: a damaged telegram without CRC
        is otherwise indistinguishable from a good one.
        """
        r = Reading("p1")
        e = buf.find(b"\n", 0, n)
        if e < 0:
            raise Malformed(_W_NO_IDENT)
        if not checked:
            # control bytes in the first line are taken only with a CRC
            for i in range(e - 1):
                if buf[i] < 32:
                    raise Malformed(_W_IDENT_CONTROL)
        _ident_line(r, buf, e - 1 if buf[e - 1] == _CR else e, self._text)
        if _fast is not None:
            if _fast.values(r, buf, e + 1, n - 1, _clock):
                return r
            r = Reading("p1")             # start afresh on the general path
            _ident_line(r, buf, e - 1 if buf[e - 1] == _CR else e, self._text)
        pos = self.pos
        mbus = self.mbus
        for i in range(8):
            mbus[i] = 0
        hms = ymd = -1
        last = n - 1  # the '!'
        s = e + 1
        while s < last:
            e = buf.find(b"\n", s, last)
            if e < 0:
                raise Malformed(_W_AFTER_BREAK)
            # DSMR 2.2: a line starting with '(' continues the previous line
            while e + 1 < last and buf[e + 1] == _LP:
                nxt = buf.find(b"\n", e + 1, last)
                if nxt < 0:
                    raise Malformed(_W_AFTER_BREAK)
                e = nxt
            le = e - 1 if e > s and buf[e - 1] == _CR else e
            ls = s
            s = e + 1
            if le == ls:
                continue
            p = buf.find(b"(", ls, le)
            k = obis_key(buf, ls, p) if p > ls else -2
            if k == -2 or not self._split(buf, p, le):
                if not checked:
                    raise Malformed(_W_NOT_OBIS, ascii_text(buf[ls:le])[:40])
                continue
            target = obis.target(k) if k >= 0 else None
            g = self.groups
            gs, ge = pos[2 * g - 2], pos[2 * g - 1]   # the last group
            ok = True
            if target is None:
                ok = False
            elif target >= 0:
                ok = self._value(r, target, buf, gs, ge)
            elif target == obis.CLOCK:
                ok = g == 1 and _clock(r, buf, gs, ge)
            elif target == obis.METER_ID:
                if r.meter_id is None and ge > gs:
                    r.meter_id = self._text(buf, gs, ge, 2)
            elif target == obis.METER_TYPE:
                r.model = self._text(buf, gs, ge)
            elif target == obis.VERSION:
                r.version = self._text(buf, gs, ge)
            elif target == obis.TIME_HMS:
                hms = _digits(buf, gs, 6) if ge - gs == 6 else -1
                ok = hms >= 0
            elif target == obis.DATE_YMD:
                ymd = _digits(buf, gs, 6) if ge - gs == 6 else -1
                ok = ymd >= 0
            elif target == obis.MBUS_TYPE:
                mbus[(k >> 24) & 7] = _digits(buf, gs, ge - gs) if ge > gs else -1
            elif target == obis.MBUS_VALUE or target == obis.MBUS_OLD:
                ok = self._mbus(r, target, k, buf, gs, ge)
            else:
                ok = False
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

    def _mbus(self, r, target, k, buf, gs, ge):
        """A DSMR M-Bus channel's reading: gas, water or heat by the
        channel's device type (or the unit, when no type came)."""
        unit = _NO_UNIT
        if target == obis.MBUS_OLD:   # (ts)(..)(..)(..)(obis)(unit) + (value)
            g = self.groups
            if g < 3:
                return False
            unit = unit_code(buf, self.pos[2 * g - 4], self.pos[2 * g - 3])
        idx = _MBUS_FIELD.get(self.mbus[(k >> 24) & 7])
        for idx in ((idx,) if idx is not None else _GAS_OR_HEAT):
            if r.m[idx] is None and self._value(r, idx, buf, gs, ge, unit):
                return True
        return False
