# Canonical reading fields: names, order and units.
#
# A reading stores its values in a list indexed like FIELDS, so every
# protocol, the JSON output and the firmware agree on one order and one unit
# per field whatever the meter sends.

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

# (name, family), in JSON order.
_TABLE = (
    ("power_import_w", W),
    ("power_export_w", W),
    ("reactive_power_import_var", VAR),
    ("reactive_power_export_var", VAR),
    ("apparent_power_import_va", VA),
    ("apparent_power_export_va", VA),
    ("power_import_l1_w", W),
    ("power_import_l2_w", W),
    ("power_import_l3_w", W),
    ("power_export_l1_w", W),
    ("power_export_l2_w", W),
    ("power_export_l3_w", W),
    ("reactive_power_import_l1_var", VAR),
    ("reactive_power_import_l2_var", VAR),
    ("reactive_power_import_l3_var", VAR),
    ("reactive_power_export_l1_var", VAR),
    ("reactive_power_export_l2_var", VAR),
    ("reactive_power_export_l3_var", VAR),
    ("voltage_l1_v", V),
    ("voltage_l2_v", V),
    ("voltage_l3_v", V),
    ("current_l1_a", A),
    ("current_l2_a", A),
    ("current_l3_a", A),
    ("current_n_a", A),
    ("energy_import_kwh", KWH),
    ("energy_export_kwh", KWH),
    ("reactive_energy_import_kvarh", KVARH),
    ("reactive_energy_export_kvarh", KVARH),
    ("energy_import_t1_kwh", KWH),
    ("energy_import_t2_kwh", KWH),
    ("energy_export_t1_kwh", KWH),
    ("energy_export_t2_kwh", KWH),
    ("energy_import_l1_kwh", KWH),
    ("energy_import_l2_kwh", KWH),
    ("energy_import_l3_kwh", KWH),
    ("energy_export_l1_kwh", KWH),
    ("energy_export_l2_kwh", KWH),
    ("energy_export_l3_kwh", KWH),
    ("power_import_avg_w", W),         # Belgian 1-0:1.4.0, current 15-min demand
    ("power_import_month_peak_w", W),  # Belgian 1-0:1.6.0, this month's peak
    ("power_factor", NONE),
    ("power_factor_l1", NONE),
    ("power_factor_l2", NONE),
    ("power_factor_l3", NONE),
    ("frequency_hz", HZ),
    ("tariff", NONE),                  # DSMR 0-0:96.14.0, tariff in use
    ("gas_m3", M3),
    ("water_m3", M3),
    ("heat_gj", GJ),
)

FIELDS = tuple(row[0] for row in _TABLE)
FAMILY = bytes(row[1] for row in _TABLE)
COUNT = len(FIELDS)
del _TABLE
# (a field's index: FIELDS.index(name), looked up where it is not per frame;
# a dict of them would sit in RAM on the dongle)
