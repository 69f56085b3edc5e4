# CPython only: P1 telegrams whose every line is plain "OBIS(value*unit)",
# "OBIS(YYMMDDhhmmssX)" or "OBIS(text)" (every Swedish telegram) parsed
# with one regular expression instead of line by line. Any other telegram
# returns None and p1.Parser does the work. Tests check both give the same
# readings on every corpus and generated telegram; on MicroPython only
# p1.Parser runs.
import re

from . import fields, obis, units
from .hot_cpython import _KEYS

# one line: OBIS code, then a number with its unit, or any text
_LINE = re.compile(rb"^([0-9.:*-]+)\((?:(-?)(\d*)(?:\.(\d+))?(?:\*([A-Za-z0-9]{1,5}))?|([^()\r\n]*))\)\r?$",
                   re.M)
_FAMILY = fields.FAMILY
# OBIS text as sent -> target (one lookup per line)
_TARGET = {code: obis.target(k) for code, k in _KEYS.items() if obis.target(k) is not None}
# unit spellings meters use, straight to (family, shift); others are folded
_UNITS = dict(units.TEXT)
for _u in (b"kWh", b"kW", b"Wh", b"W", b"kVArh", b"kVAr", b"kvarh", b"kvar", b"VArh",
           b"VAr", b"varh", b"var", b"V", b"A", b"Hz", b"m3", b"GJ", b"kVAh", b"kVA", b"VA"):
    _UNITS[_u] = units.TEXT[_u.lower()]
_UNITLESS = (fields.NONE, 0)
_CLOCK = obis.CLOCK
clock = None   # p1._clock, set by p1 (it imports this module)


def values(r, buf, s, last):
    """Fill Reading r from the data lines at buf[s:last]. False when the
    telegram needs the general parser (which then starts afresh)."""
    body = bytes(buf[s:last]).lstrip(b"\r\n")
    if not body.endswith(b"\n"):
        return False
    lines = _LINE.findall(body)
    if len(lines) != body.count(b"\n"):
        return False                      # a line that is not plain OBIS(...)
    m, ds = r.m, r.d
    for code, sign, whole, frac, unit, text in lines:
        target = _TARGET.get(code)
        if target is None or target < 0:
            if target == _CLOCK and (text or whole) and clock(r, text or whole, 0, len(text or whole)):
                continue
            return False                  # ids, M-Bus, unknown codes, texts: general path
        if text or not (whole or frac):
            return False
        v = int(whole + frac) if frac else int(whole)
        if unit:
            u = _UNITS.get(unit) or _UNITS.get(unit.lower())
            if u is None:
                return False
        else:
            u = _UNITLESS
        if u[0] != _FAMILY[target]:
            return False
        d = len(frac) - u[1]
        if d < 0:
            v *= 10 ** -d
            d = 0
        while d and v % 10 == 0:           # Reading.set's normalization, inline
            v //= 10
            d -= 1
        m[target] = -v if sign else v
        ds[target] = d
    return True
