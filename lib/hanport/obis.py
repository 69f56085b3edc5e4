# The one OBIS table. P1 text lines ("1-0:1.7.0") and DLMS octet-strings
# (01 00 01 07 00 FF) are both reduced to the same integer key, so a code is
# listed once and serves every protocol.
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
# sub-meter channels 1..4. One text block, not a tuple of strings: on the
# dongle every string constant stays in RAM, this block does not.
TABLE = """
0-0:1.0.0    CLOCK
0-1:1.0.0    CLOCK                          # Kamstrup's clock
0-0:96.1.0   METER_ID
0-0:96.1.1   METER_ID                       # DSMR equipment identifier
1-0:0.0.5    METER_ID                       # Kamstrup meter number
1-0:0.0.1    METER_ID                       # Danish Kamstrup long list
0-0:96.1.7   METER_TYPE
1-0:96.1.1   METER_TYPE                     # Kamstrup meter type
1-0:0.2.129  LIST_ID
1-3:0.2.8    VERSION
0-0:96.1.4   VERSION
1-0:0.9.1    TIME_HMS
1-0:0.9.2    DATE_YMD
0-n:24.1.0   MBUS_TYPE
0-n:24.2.1   MBUS_VALUE
0-n:24.2.3   MBUS_VALUE                     # Fluvius gas, not temperature-corrected
0-n:24.3.0   MBUS_OLD
0-0:25.9.0   IGNORE
0-0:96.14.0  tariff
1-0:1.7.0    power_import_w
1-0:2.7.0    power_export_w
1-0:3.7.0    reactive_power_import_var
1-0:4.7.0    reactive_power_export_var
1-0:9.7.0    apparent_power_import_va
1-0:10.7.0   apparent_power_export_va
1-0:21.7.0   power_import_l1_w
1-0:41.7.0   power_import_l2_w
1-0:61.7.0   power_import_l3_w
1-0:22.7.0   power_export_l1_w
1-0:42.7.0   power_export_l2_w
1-0:62.7.0   power_export_l3_w
1-0:23.7.0   reactive_power_import_l1_var
1-0:43.7.0   reactive_power_import_l2_var
1-0:63.7.0   reactive_power_import_l3_var
1-0:24.7.0   reactive_power_export_l1_var
1-0:44.7.0   reactive_power_export_l2_var
1-0:64.7.0   reactive_power_export_l3_var
1-0:32.7.0   voltage_l1_v
1-0:52.7.0   voltage_l2_v
1-0:72.7.0   voltage_l3_v
1-0:31.7.0   current_l1_a
1-0:51.7.0   current_l2_a
1-0:71.7.0   current_l3_a
1-0:91.7.0   current_n_a
1-0:1.8.0    energy_import_kwh
1-0:2.8.0    energy_export_kwh
1-0:3.8.0    reactive_energy_import_kvarh
1-0:4.8.0    reactive_energy_export_kvarh
1-0:1.8.1    energy_import_t1_kwh
1-0:1.8.2    energy_import_t2_kwh
1-0:2.8.1    energy_export_t1_kwh
1-0:2.8.2    energy_export_t2_kwh
1-0:21.8.0   energy_import_l1_kwh
1-0:41.8.0   energy_import_l2_kwh
1-0:61.8.0   energy_import_l3_kwh
1-0:22.8.0   energy_export_l1_kwh
1-0:42.8.0   energy_export_l2_kwh
1-0:62.8.0   energy_export_l3_kwh
1-0:1.4.0    power_import_avg_w
1-0:1.6.0    power_import_month_peak_w
1-0:13.7.0   power_factor
1-0:33.7.0   power_factor_l1
1-0:53.7.0   power_factor_l2
1-0:73.7.0   power_factor_l3
1-0:14.7.0   frequency_hz
"""


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
        t = specials[target] if target in specials else fields.INDEX[target]
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


# key -> field index (>= 0) or one of the negative targets above
LOOKUP = _build()


def target(k):
    """What an OBIS key means: a field index, a special target, or None.
    For electricity (A=1), B only numbers the measuring channel: 1-0:1.8.0
    and Kamstrup's 1-1:1.8.0 are the same register."""
    t = LOOKUP.get(k)
    if t is None and k >> 27 == 1:
        t = LOOKUP.get(k & ~(7 << 24))
    return t


if sys.implementation.name == "micropython":
    del TABLE     # built into LOOKUP

