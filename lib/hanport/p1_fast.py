# CPython only: P1 telegrams whose every line is plain "OBIS(value*unit)"
# or "OBIS(YYMMDDhhmmssX)" (every Swedish telegram), read by layout. A
# meter repeats its telegram's layout every time; only digits change. The
# first telegram of a layout is read with one regular expression and leaves
# a plan: where each OBIS code, number and clock sits and what it means.
# Later telegrams with the same layout (the same bytes with every digit
# read as 0) are checked against the plan's codes and read with two C-level
# slicing calls. Anything else returns False and p1.Parser does the work.
# Tests check both give the same readings on every corpus and generated
# telegram; on MicroPython only p1.Parser runs.
import operator
import re

from . import fields, obis, units
from .loops_cpython import OBIS_KEYS

# one line: OBIS code, then a number with its unit, or any text
_LINE = re.compile(rb"^([0-9.:*-]+)\((?:(-?)(\d*)(?:\.(\d+))?(?:\*([A-Za-z0-9]{1,5}))?|([^()\r\n]*))\)\r?$",
                   re.M)
_FAMILY = fields.FAMILY
# OBIS text as sent -> target (one lookup per line)
_TARGET = {code: obis.target(k) for code, k in OBIS_KEYS.items() if obis.target(k) is not None}
# unit spellings meters use, straight to (family, shift); others are folded
_UNITS = dict(units.TEXT)
for _u in (b"kWh", b"kW", b"Wh", b"W", b"kVArh", b"kVAr", b"kvarh", b"kvar", b"VArh",
           b"VAr", b"varh", b"var", b"V", b"A", b"Hz", b"m3", b"GJ", b"kVAh", b"kVA", b"VA"):
    _UNITS[_u] = units.TEXT[_u.lower()]
_UNITLESS = (fields.NONE, 0)
_CLOCK = obis.CLOCK


_MASK = bytes.maketrans(b"0123456789", b"0000000000")
_PLANS = {}        # layout (telegram with digits as 0) -> _Plan, or False
_KEEP = 16


def _getter(slices):
    """One call returning the tuple of body[sl] for every slice."""
    if len(slices) == 1:
        sl = slices[0]
        return lambda body: (body[sl],)
    return operator.itemgetter(*slices)


class _Plan:
    def __init__(self, body):
        """From the first telegram of a layout; ValueError when a line
        needs the general parser."""
        if body.count(b"\n") != len(_LINE.findall(body)):
            raise ValueError("a line that is not plain OBIS(...)")
        codes, digits, clocks, ops = [], [], [], []
        for mt in _LINE.finditer(body):
            code, sign, whole, frac, unit, text = mt.groups(b"")
            codes.append(slice(*mt.span(1)))
            target = _TARGET.get(code)
            if target is None or target < 0:
                if target == _CLOCK and text:
                    clocks.append(slice(*mt.span(6)))
                    continue
                raise ValueError("ids, M-Bus, unknown codes, texts: general path")
            if text or not (whole or frac):
                raise ValueError("not a number")
            u = _UNITS.get(unit) or _UNITS.get(unit.lower()) if unit else _UNITLESS
            if u is None or u[0] != _FAMILY[target]:
                raise ValueError("unit")
            d = len(frac) - u[1]
            digits += [slice(*mt.span(3)) if whole else slice(0, 0),
                       slice(*mt.span(4)) if frac else slice(0, 0)]
            ops.append((target, 10 ** -d if d < 0 else 1, max(d, 0), bool(sign)))
        self.codes = tuple(body[sl] for sl in codes)
        self.code_at = _getter(codes)
        self.digits = _getter(digits) if digits else lambda body: ()
        self.clocks = clocks
        self.ops = ops


def _plan(layout, body):
    plan = _PLANS.get(layout)
    if plan is None or (plan and plan.code_at(body) != plan.codes):
        try:
            plan = _Plan(body)
        except ValueError:
            plan = False
        if len(_PLANS) >= _KEEP:
            _PLANS.clear()
        _PLANS[layout] = plan
    return plan


def values(r, buf, s, last, clock):
    """Fill Reading r from the data lines at buf[s:last]. False when the
    telegram needs the general parser (which then starts afresh).
    clock(r, buf, s, e): p1's reader of a clock value into r."""
    body = bytes(buf[s:last]).lstrip(b"\r\n")
    if not body.endswith(b"\n"):
        return False
    plan = _plan(body.translate(_MASK), body)
    if not plan:
        return False
    for sl in plan.clocks:
        text = body[sl]
        if not clock(r, text, 0, len(text)):
            return False
    m, ds = r.m, r.d
    pairs = iter(plan.digits(body))      # whole, fraction, whole, fraction, ...
    for (target, mult, d, neg), v in zip(plan.ops, map(int, map(bytes.__add__, pairs, pairs))):
        if mult != 1:
            v *= mult
        while d and v % 10 == 0:           # Reading.set's normalization, inline
            v //= 10
            d -= 1
        m[target] = -v if neg else v
        ds[target] = d
    return True
