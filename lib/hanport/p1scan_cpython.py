# CPython versions of p1scan.py's loops, built on C-level builtins (regular
# expressions, int(), dict lookups): the decoder's speed on a PC. Same
# answers as the reference; pick.py chooses them.
import re

from . import obis, p1scan

_TEXT_END = re.compile(rb"[/!\x00-\x08\x0b\x0c\x0e-\x1f\x7e-\xff]")


def text_end(data, i, n):
    m = _TEXT_END.search(data, i, n)
    return m.start() if m else n


# "1-0:1.8.0" as sent -> key, for every code in the table and the forms
# meters use (B = 0 or 1); anything else goes the long way
OBIS_KEYS = {}
for _code, _ in obis.rows():
    _a, _b, _c, _d, _e = obis.parse_text(_code)
    for _bb in ((1, 2, 3, 4) if _b == "n" else (0, 1) if _a == 1 else (int(_b),)):
        OBIS_KEYS[("%d-%d:%d.%d.%d" % (_a, _bb, _c, _d, _e)).encode()] = obis.key(_a, _bb, _c, _d, _e)


def obis_key(buf, s, e):
    k = OBIS_KEYS.get(bytes(buf[s:e]))
    return k if k is not None else p1scan.obis_key(buf, s, e)


_NUMBER = re.compile(rb"(-?)(\d*)(?:\.(\d+))?(\*|\Z)")


def number(buf, s, e, out):
    m = _NUMBER.match(buf, s, e)
    if m is None:
        return None
    whole, frac = m.group(2), m.group(3)
    if not whole and not frac:
        return None
    v = int(whole + frac) if frac else int(whole)
    out[0] = len(frac) if frac else 0
    out[1] = m.end() if m.group(4) else -1
    return -v if m.group(1) else v


_UNIT = {}     # unit text as sent -> code (meters use a handful)


def unit_code(buf, s, e):
    text = bytes(buf[s:e])
    code = _UNIT.get(text)
    if code is None:
        code = p1scan.unit_code(text, 0, len(text))
        if len(_UNIT) < 64:
            _UNIT[text] = code
    return code
