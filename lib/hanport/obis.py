# The one OBIS table. P1 text lines ("1-0:1.7.0") and DLMS octet-strings
# (01 00 01 07 00 FF) are both reduced to the same integer key, so a code is
# listed once (obistable.py) and serves every protocol.
import array
import sys

from . import fields
from .pick import MICROPYTHON

# Targets that are not reading values.
CLOCK = -1       # meter date-time
METER_ID = -2    # meter serial / equipment identifier
METER_TYPE = -3  # meter type / model
LIST_ID = -4     # DLMS list version identifier (AIDON_V0001, KFM_001...)
VERSION = -5     # P1 protocol version (DSMR 1-3:0.2.8, Fluvius 0-0:96.1.4)
TIME_HMS = -6    # Iskra: time of day hhmmss
DATE_YMD = -7    # Iskra: date yymmdd
MBUS_TYPE = -8   # DSMR M-Bus channel device type (003 gas, 007 water...)
MBUS_VALUE = -9  # DSMR M-Bus channel reading (timestamp)(value*unit)
MBUS_OLD = -10   # DSMR 2.2/3 M-Bus profile line, value on a continuation line
IGNORE = -11     # carries no reading (a push setup's own name)


def key(a, b, c, d, e):
    """Integer key of an OBIS code (group F ignored); -1 if out of range.

    Fits in 30 bits, so it stays a small int on a 32-bit MicroPython.
    """
    if a > 7 or b > 7 or c > 255 or d > 255 or e > 255:
        return -1
    return (a << 27) | (b << 24) | (c << 16) | (d << 8) | e


def _build():
    from . import obistable
    here = globals()
    table = {}
    for code, name in obistable.rows():
        t = here[name] if name[0] < "a" else fields.index(name)   # CLOCK...: the targets above
        a, b, c, d, e = obistable.parse_text(code)
        for b in ((1, 2, 3, 4) if b == "n" else (int(b),)):
            table[key(a, b, c, d, e)] = t
    # read once: let its text go (the package holds it as an attribute too)
    del sys.modules[obistable.__name__]
    delattr(sys.modules[__name__.rsplit(".", 1)[0]], "obistable")
    return table


# key -> field index (>= 0) or one of the negative targets above. On
# MicroPython, where a dict of ~80 entries costs ~1 KB of heap, the keys
# sorted in an array and their targets in bytes, looked up by bisection.
LOOKUP = _build()
del _build
if MICROPYTHON:
    _KEYS = array.array("I", sorted(LOOKUP))
    _TARGETS = bytes(LOOKUP[k] & 0xFF for k in _KEYS)
    del LOOKUP

    def _get(k):
        keys = _KEYS
        lo, hi = 0, len(keys)
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid] < k:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(keys) or keys[lo] != k:
            return None
        t = _TARGETS[lo]
        return t - 256 if t > 127 else t
else:
    _get = LOOKUP.get


def target(k):
    """What an OBIS key means: a field index, a special target, or None.
    For electricity (A=1), B only numbers the measuring channel: 1-0:1.8.0
    and Kamstrup's 1-1:1.8.0 are the same register."""
    t = _get(k)
    if t is None and k >> 27 == 1:
        t = _get(k & ~(7 << 24))
    return t
