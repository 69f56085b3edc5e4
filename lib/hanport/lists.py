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
# with. A layout names element i's meaning: (field name or special, shift:
# raw * 10**shift is canonical). Specials: "list", "id", "type", "clock",
# None (ignored). A list matching no row still gives its identity and
# clock, and its shape in last_error (cosem.py).
_KFM_3P = (("list", 0), ("id", 0), ("type", 0),
           ("power_import_w", 0), ("power_export_w", 0),
           ("reactive_power_import_var", 0), ("reactive_power_export_var", 0),
           ("current_l1_a", -3), ("current_l2_a", -3), ("current_l3_a", -3),
           ("voltage_l1_v", -1), ("voltage_l2_v", -1), ("voltage_l3_v", -1))
_KFM_1P = (("list", 0), ("id", 0), ("type", 0),
           ("power_import_w", 0), ("power_export_w", 0),
           ("reactive_power_import_var", 0), ("reactive_power_export_var", 0),
           ("current_l1_a", -3), ("voltage_l1_v", -1))
_KFM_ENERGY = (("clock", 0),
               ("energy_import_kwh", -3), ("energy_export_kwh", -3),
               ("reactive_energy_import_kvarh", -3), ("reactive_energy_export_kvarh", -3))
_PQ = (("power_import_w", 0), ("power_export_w", 0),
       ("reactive_power_import_var", 0), ("reactive_power_export_var", 0))
_U3 = (("voltage_l1_v", -1), ("voltage_l2_v", -1), ("voltage_l3_v", -1))
_I3 = (("current_l1_a", -2), ("current_l2_a", -2), ("current_l3_a", -2))

POSITIONAL = (
    (13, 0x09, ("KFM_001",), _KFM_3P),                 # Kaifa list 2, 3-phase
    (18, 0x09, ("KFM_001",), _KFM_3P + _KFM_ENERGY),   # Kaifa list 3, 3-phase
    (9, 0x09, ("KFM_001",), _KFM_1P),                  # Kaifa list 2, 1-phase
    (14, 0x09, ("KFM_001",), _KFM_1P + _KFM_ENERGY),   # Kaifa list 3, 1-phase
    (1, 0x06, None, (("power_import_w", 0),)),         # Kaifa list 1: P+ alone
    # Iskra AM550, Elektro Ljubljana, list 16820005 (every 5 s): 0-0:42.0.0,
    # list id, 1.7.0-4.7.0, U1-3 (0.1 V), I1-3 (0.01 A), 21/41/61.7.0,
    # 22/42/62.7.0 (W)
    (18, 0x09, ("ISK", "1682"), (("id", 0), ("list", 0)) + _PQ + _U3 + _I3 + (
        ("power_import_l1_w", 0), ("power_import_l2_w", 0), ("power_import_l3_w", 0),
        ("power_export_l1_w", 0), ("power_export_l2_w", 0), ("power_export_l3_w", 0))),
    # its list 16820006 (every 15 min): disconnect state, tariff (octet
    # string), 1.8.0-1.8.2, 2.8.0-2.8.2, 3.8.0, 4.8.0 (Wh, varh)
    (12, 0x09, ("ISK", "1682"), (("id", 0), ("list", 0), (None, 0), (None, 0),
                                 ("energy_import_kwh", -3), ("energy_import_t1_kwh", -3),
                                 ("energy_import_t2_kwh", -3), ("energy_export_kwh", -3),
                                 ("energy_export_t1_kwh", -3), ("energy_export_t2_kwh", -3),
                                 ("reactive_energy_import_kvarh", -3),
                                 ("reactive_energy_export_kvarh", -3))),
    # Iskra AM550, Elektro Celje, list UP_3f: U1-3, I1-3, 1.7.0-4.7.0
    (12, 0x09, ("ISK", "UP_"), (("id", 0), ("list", 0)) + _U3 + _I3 + _PQ),
    # Landis+Gyr E450, Netz Burgenland: U1-3, I1-3, P+, P-, A+, A-, 3 unknown, id
    (14, 0x12, None, (("voltage_l1_v", 0), ("voltage_l2_v", 0), ("voltage_l3_v", 0),
                      ("current_l1_a", -2), ("current_l2_a", -2), ("current_l3_a", -2),
                      ("power_import_w", 0), ("power_export_w", 0),
                      ("energy_import_kwh", -3), ("energy_export_kwh", -3),
                      (None, 0), (None, 0), (None, 0), ("id", 0))),
)

# FLAG manufacturer ids from list ids and device ids
MAKER = (("AIDON", "ADN"), ("KFM", "KFM"), ("Kamstrup", "KAM"), ("ISK", "ISK"))
