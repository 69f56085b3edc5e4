# The one OBIS table. P1 text lines ("1-0:1.7.0") and DLMS octet-strings
# (01 00 01 07 00 FF) are both reduced to the same integer key, so a code is
# listed once and serves every protocol.
import array
import sys

from . import fields

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

# Code, then a field name (fields.py) or one of the targets above. For
# electricity (A=1) any B matches (target()); "0-n" rows are the M-Bus
# sub-meter channels 1..4. One text block (the lines are joined when the
# module is compiled), not a tuple of strings, and no comments inside: on
# the dongle every constant of a module stays in RAM, byte for byte.
TABLE = (
    "0-0:1.0.0 CLOCK\n"
    "0-1:1.0.0 CLOCK\n"                     # Kamstrup's clock
    "0-0:96.1.0 METER_ID\n"
    "0-0:96.1.1 METER_ID\n"                 # DSMR equipment identifier
    "1-0:0.0.5 METER_ID\n"                  # Kamstrup meter number
    "1-0:0.0.1 METER_ID\n"                  # Danish Kamstrup long list
    "0-0:96.1.7 METER_TYPE\n"
    "1-0:96.1.1 METER_TYPE\n"               # Kamstrup meter type
    "1-0:0.2.129 LIST_ID\n"
    "1-3:0.2.8 VERSION\n"
    "0-0:96.1.4 VERSION\n"
    "1-0:0.9.1 TIME_HMS\n"
    "1-0:0.9.2 DATE_YMD\n"
    "0-n:24.1.0 MBUS_TYPE\n"
    "0-n:24.2.1 MBUS_VALUE\n"
    "0-n:24.2.3 MBUS_VALUE\n"               # Fluvius gas, not temperature-corrected
    "0-n:24.3.0 MBUS_OLD\n"
    "0-0:25.9.0 IGNORE\n"
    "0-0:96.14.0 tariff\n"
    "1-0:1.7.0 power_import_w\n"
    "1-0:2.7.0 power_export_w\n"
    "1-0:3.7.0 reactive_power_import_var\n"
    "1-0:4.7.0 reactive_power_export_var\n"
    "1-0:9.7.0 apparent_power_import_va\n"
    "1-0:10.7.0 apparent_power_export_va\n"
    "1-0:21.7.0 power_import_l1_w\n"
    "1-0:41.7.0 power_import_l2_w\n"
    "1-0:61.7.0 power_import_l3_w\n"
    "1-0:22.7.0 power_export_l1_w\n"
    "1-0:42.7.0 power_export_l2_w\n"
    "1-0:62.7.0 power_export_l3_w\n"
    "1-0:23.7.0 reactive_power_import_l1_var\n"
    "1-0:43.7.0 reactive_power_import_l2_var\n"
    "1-0:63.7.0 reactive_power_import_l3_var\n"
    "1-0:24.7.0 reactive_power_export_l1_var\n"
    "1-0:44.7.0 reactive_power_export_l2_var\n"
    "1-0:64.7.0 reactive_power_export_l3_var\n"
    "1-0:32.7.0 voltage_l1_v\n"
    "1-0:52.7.0 voltage_l2_v\n"
    "1-0:72.7.0 voltage_l3_v\n"
    "1-0:31.7.0 current_l1_a\n"
    "1-0:51.7.0 current_l2_a\n"
    "1-0:71.7.0 current_l3_a\n"
    "1-0:91.7.0 current_n_a\n"
    "1-0:1.8.0 energy_import_kwh\n"
    "1-0:2.8.0 energy_export_kwh\n"
    "1-0:3.8.0 reactive_energy_import_kvarh\n"
    "1-0:4.8.0 reactive_energy_export_kvarh\n"
    "1-0:1.8.1 energy_import_t1_kwh\n"
    "1-0:1.8.2 energy_import_t2_kwh\n"
    "1-0:2.8.1 energy_export_t1_kwh\n"
    "1-0:2.8.2 energy_export_t2_kwh\n"
    "1-0:21.8.0 energy_import_l1_kwh\n"
    "1-0:41.8.0 energy_import_l2_kwh\n"
    "1-0:61.8.0 energy_import_l3_kwh\n"
    "1-0:22.8.0 energy_export_l1_kwh\n"
    "1-0:42.8.0 energy_export_l2_kwh\n"
    "1-0:62.8.0 energy_export_l3_kwh\n"
    "1-0:1.4.0 power_import_avg_w\n"
    "1-0:1.6.0 power_import_month_peak_w\n"
    "1-0:13.7.0 power_factor\n"
    "1-0:33.7.0 power_factor_l1\n"
    "1-0:53.7.0 power_factor_l2\n"
    "1-0:73.7.0 power_factor_l3\n"
    "1-0:14.7.0 frequency_hz\n"
)


def key(a, b, c, d, e):
    """Integer key of an OBIS code (group F ignored); -1 if out of range.

    Fits in 30 bits, so it stays a small int on a 32-bit MicroPython.
    """
    if a > 7 or b > 7 or c > 255 or d > 255 or e > 255:
        return -1
    return (a << 27) | (b << 24) | (c << 16) | (d << 8) | e


def parse_text(s):
    """"A-B:C.D.E" -> (a, b, c, d, e). Used on the table, not on the wire."""
    ab, cde = s.split(":")
    a, b = ab.split("-")
    c, d, e = cde.split(".")
    return int(a), b, int(c), int(d), int(e)


def _build():
    specials = {"CLOCK": CLOCK, "METER_ID": METER_ID, "METER_TYPE": METER_TYPE,
                "LIST_ID": LIST_ID, "VERSION": VERSION, "TIME_HMS": TIME_HMS,
                "DATE_YMD": DATE_YMD, "MBUS_TYPE": MBUS_TYPE, "MBUS_VALUE": MBUS_VALUE,
                "MBUS_OLD": MBUS_OLD, "IGNORE": IGNORE}
    table = {}
    for code, target in rows():
        t = specials[target] if target in specials else fields.FIELDS.index(target)
        a, b, c, d, e = parse_text(code)
        for b in ((1, 2, 3, 4) if b == "n" else (int(b),)):
            table[key(a, b, c, d, e)] = t
    return table


def rows():
    """(code text, target name) of every TABLE line."""
    for line in TABLE.split("\n"):
        parts = line.split("#")[0].split()
        if parts:
            yield parts[0], parts[1]


# key -> field index (>= 0) or one of the negative targets above. On
# MicroPython, where a dict of ~80 entries costs ~1 KB of heap, the keys
# sorted in an array and their targets in bytes, looked up by bisection.
LOOKUP = _build()
if sys.implementation.name == "micropython":
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
