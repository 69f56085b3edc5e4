# Units as meters send them -> (unit family, power of ten to the canonical
# unit). "kW" is W shifted by 3; "Wh" is kWh shifted by -3. Read when p1.py
# and cosem.py load: each keeps its table and lets this module go, so its
# texts and the other protocol's table take no RAM on the dongle.
from . import fields as F

# P1 unit text, lower-cased (meters write kvarh, kVArh, kVAr, VArh...).
# Ambiguous after lower-casing (MW/mW, MWh/mWh) or never seen: left out,
# such values land in "other" rather than being guessed.
TEXT = {
    b"w": (F.W, 0),
    b"kw": (F.W, 3),
    b"var": (F.VAR, 0),
    b"kvar": (F.VAR, 3),
    b"va": (F.VA, 0),
    b"kva": (F.VA, 3),
    b"v": (F.V, 0),
    b"a": (F.A, 0),
    b"wh": (F.KWH, -3),
    b"kwh": (F.KWH, 0),
    b"varh": (F.KVARH, -3),
    b"kvarh": (F.KVARH, 0),
    b"vah": (F.KVAH, -3),
    b"kvah": (F.KVAH, 0),
    b"hz": (F.HZ, 0),
    b"m3": (F.M3, 0),
    b"gj": (F.GJ, 0),
}

# DLMS/COSEM unit enumeration (Blue Book) -> same form.
DLMS = {
    27: (F.W, 0),
    28: (F.VA, 0),
    29: (F.VAR, 0),
    30: (F.KWH, -3),
    31: (F.KVAH, -3),
    32: (F.KVARH, -3),
    33: (F.A, 0),
    35: (F.V, 0),
    44: (F.HZ, 0),
    13: (F.M3, 0),
    255: (F.NONE, 0),
}
