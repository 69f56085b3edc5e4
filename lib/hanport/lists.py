# What the bytes don't say, per meter list: positional layouts (lists that
# send values without OBIS codes) and the scaling of values sent without a
# {scaler, unit} structure. Data, not code: a new meter is a new row.
from . import fields as F

# Values sent without a {scaler, unit} structure: raw * 10**shift gives
# the canonical unit (W, var, V, A, kWh, kvarh), per unit family and list id.
# Families not listed: shift 0.
IMPLICIT = {
    # Kamstrup HAN-NVE: current 0.01 A, voltage 1 V, energy 10 Wh, power
    # factor 0.01 (1-1:13.7.0 and 33/53/73.7.0 of Danish and Swiss lists,
    # the only dimensionless value Kamstrup sends). These are Norway's units:
    # Swedish firmware sends Wh (multiplier "energy" 0.1), some Danish
    # firmware 0.01 V (multiplier "voltage" 0.01), CT meters as configured.
    "Kamstrup_V0001": {F.A: -2, F.KWH: -2, F.KVARH: -2, F.NONE: -2},
    "KFM_001": {F.A: -3, F.V: -1, F.KWH: -3, F.KVARH: -3},   # mA, 0.1 V, Wh
    None: {F.A: -2, F.KWH: -3, F.KVARH: -3},         # L+G E450 pushes: 0.01 A, Wh
}

# Positional lists: (element count, type tag of element 0, text prefixes,
# layout). Text prefixes: None, or a tuple of texts elements 0, 1... start
# with. A layout names element i's meaning, one word each: an electricity
# OBIS code "C.D.E" (obis.py says which field) with "eN" when raw * 10**N
# is canonical ("31.7.0e-3": mA), or a special: "list", "id", "type",
# "clock", "-" (ignored). A layout is one text, not a tuple of tuples: on
# the dongle every constant stays in RAM (cosem.py reads a row's layout
# when a frame first matches it). A list matching no row still gives its
# identity and clock, and its shape in last_error (cosem.py).
_KFM_3P = ("list id type 1.7.0 2.7.0 3.7.0 4.7.0 31.7.0e-3 51.7.0e-3 71.7.0e-3"
           " 32.7.0e-1 52.7.0e-1 72.7.0e-1")
_KFM_1P = "list id type 1.7.0 2.7.0 3.7.0 4.7.0 31.7.0e-3 32.7.0e-1"
_KFM_ENERGY = " clock 1.8.0e-3 2.8.0e-3 3.8.0e-3 4.8.0e-3"

POSITIONAL = (
    (13, 0x09, ("KFM_001",), _KFM_3P),                 # Kaifa list 2, 3-phase
    (18, 0x09, ("KFM_001",), _KFM_3P + _KFM_ENERGY),   # Kaifa list 3, 3-phase
    (9, 0x09, ("KFM_001",), _KFM_1P),                  # Kaifa list 2, 1-phase
    (14, 0x09, ("KFM_001",), _KFM_1P + _KFM_ENERGY),   # Kaifa list 3, 1-phase
    (1, 0x06, None, "1.7.0"),                          # Kaifa list 1: P+ alone
    # Iskra AM550, Elektro Ljubljana, list 16820005 (every 5 s): 0-0:42.0.0,
    # list id, 1.7.0-4.7.0, U1-3 (0.1 V), I1-3 (0.01 A), 21/41/61.7.0,
    # 22/42/62.7.0 (W)
    (18, 0x09, ("ISK", "1682"), "id list 1.7.0 2.7.0 3.7.0 4.7.0 32.7.0e-1 52.7.0e-1 72.7.0e-1"
                                " 31.7.0e-2 51.7.0e-2 71.7.0e-2 21.7.0 41.7.0 61.7.0 22.7.0 42.7.0 62.7.0"),
    # its list 16820006 (every 15 min): disconnect state, tariff (octet
    # string), 1.8.0-1.8.2, 2.8.0-2.8.2, 3.8.0, 4.8.0 (Wh, varh)
    (12, 0x09, ("ISK", "1682"), "id list - - 1.8.0e-3 1.8.1e-3 1.8.2e-3 2.8.0e-3 2.8.1e-3"
                                " 2.8.2e-3 3.8.0e-3 4.8.0e-3"),
    # Iskra AM550, Elektro Celje, list UP_3f: U1-3, I1-3, 1.7.0-4.7.0
    (12, 0x09, ("ISK", "UP_"), "id list 32.7.0e-1 52.7.0e-1 72.7.0e-1 31.7.0e-2 51.7.0e-2"
                               " 71.7.0e-2 1.7.0 2.7.0 3.7.0 4.7.0"),
    # Landis+Gyr E450, Netz Burgenland: U1-3, I1-3, P+, P-, A+, A-, 3 unknown, id
    (14, 0x12, None, "32.7.0 52.7.0 72.7.0 31.7.0e-2 51.7.0e-2 71.7.0e-2 1.7.0 2.7.0"
                     " 1.8.0e-3 2.8.0e-3 - - - id"),
)

# FLAG manufacturer ids from list ids and device ids
MAKER = (("AIDON", "ADN"), ("KFM", "KFM"), ("Kamstrup", "KAM"), ("ISK", "ISK"))
