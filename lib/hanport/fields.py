# Canonical reading fields: names, order and units.
#
# A reading stores its values in a list indexed by field (0 to COUNT - 1, in
# the order of NAMES), so every protocol, the JSON output and the firmware
# agree on one order and one unit per field whatever the meter sends.
import array

# Unit families. A value's unit on the wire must belong to its field's family.
NONE = 0  # dimensionless (power factor, tariff number)
W = 1
VAR = 2
VA = 3
V = 4
A = 5
KWH = 6
KVARH = 7
KVAH = 8
HZ = 9
M3 = 10
GJ = 11

# The names, in JSON order, each followed by a space, in one bytes object:
# on the dongle a tuple of 50 strings takes 2.3 KB of heap, these bytes
# 1 KB. JSON is written from them (Reading.write_json); name(i) makes a
# string when asked. A name ends in its unit, but a dimensionless field's.
NAMES = (
    b"power_import_w power_export_w "
    b"reactive_power_import_var reactive_power_export_var "
    b"apparent_power_import_va apparent_power_export_va "
    b"power_import_l1_w power_import_l2_w power_import_l3_w "
    b"power_export_l1_w power_export_l2_w power_export_l3_w "
    b"reactive_power_import_l1_var reactive_power_import_l2_var reactive_power_import_l3_var "
    b"reactive_power_export_l1_var reactive_power_export_l2_var reactive_power_export_l3_var "
    b"voltage_l1_v voltage_l2_v voltage_l3_v "
    b"current_l1_a current_l2_a current_l3_a current_n_a "
    b"energy_import_kwh energy_export_kwh "
    b"reactive_energy_import_kvarh reactive_energy_export_kvarh "
    b"energy_import_t1_kwh energy_import_t2_kwh energy_export_t1_kwh energy_export_t2_kwh "
    b"energy_import_l1_kwh energy_import_l2_kwh energy_import_l3_kwh "
    b"energy_export_l1_kwh energy_export_l2_kwh energy_export_l3_kwh "
    b"power_import_avg_w "          # Belgian 1-0:1.4.0, current 15-min demand
    b"power_import_month_peak_w "   # Belgian 1-0:1.6.0, this month's peak
    b"power_factor power_factor_l1 power_factor_l2 power_factor_l3 "
    b"frequency_hz "
    b"tariff "                      # DSMR 0-0:96.14.0, tariff in use
    b"gas_m3 water_m3 heat_gj "
)
# each one's unit family, line by line as NAMES
FAMILY = bytes((
    W, W,
    VAR, VAR,
    VA, VA,
    W, W, W,
    W, W, W,
    VAR, VAR, VAR,
    VAR, VAR, VAR,
    V, V, V,
    A, A, A, A,
    KWH, KWH,
    KVARH, KVARH,
    KWH, KWH, KWH, KWH,
    KWH, KWH, KWH,
    KWH, KWH, KWH,
    W,
    W,
    NONE, NONE, NONE, NONE,
    HZ,
    NONE,
    M3, M3, GJ,
))
COUNT = len(FAMILY)
# where each name starts in NAMES, and (last) NAMES' length: name i is
# NAMES[STARTS[i]:STARTS[i + 1] - 1]
STARTS = array.array("H", bytes(2 * COUNT + 2))
STARTS[COUNT] = len(NAMES)
for row in range(1, COUNT):
    STARTS[row] = NAMES.find(b" ", STARTS[row - 1]) + 1
del row


def name(i):
    """Field i's name ("power_import_w")."""
    return NAMES[STARTS[i]:STARTS[i + 1] - 1].decode()


def index(text):
    """The field called text; ValueError if none is. (Looked up where it
    is not per frame: a dict of the names would sit in RAM on the dongle.)"""
    key = text.encode() + b" "
    at = NAMES.find(key)
    while at > 0 and NAMES[at - 1] != 32:        # the end of a longer name
        at = NAMES.find(key, at + 1)
    for i in range(COUNT):
        if STARTS[i] == at:
            return i
    raise ValueError(text)
