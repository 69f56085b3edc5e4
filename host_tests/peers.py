"""How the peer decoders (amshan, dsmr_parser) name what we name: the
field maps of the differential tests, and amshan run over a byte stream."""
from han import autodecoder, hdlc


# amshan key -> (our field, power of ten from amshan's unit to ours)
FIELD = {
    "active_power_import": ("power_import_w", 0),
    "active_power_export": ("power_export_w", 0),
    "reactive_power_import": ("reactive_power_import_var", 0),
    "reactive_power_export": ("reactive_power_export_var", 0),
    "active_power_import_total": ("energy_import_kwh", -3),
    "active_power_export_total": ("energy_export_kwh", -3),
    "reactive_power_import_total": ("reactive_energy_import_kvarh", -3),
    "reactive_power_export_total": ("reactive_energy_export_kvarh", -3),
}
# (here, not added by a test module at import: a test run alone sees them too)
for n in (1, 2, 3):
    FIELD["current_l%d" % n] = ("current_l%d_a" % n, 0)
    FIELD["voltage_l%d" % n] = ("voltage_l%d_v" % n, 0)
    FIELD["active_power_import_l%d" % n] = ("power_import_l%d_w" % n, 0)
    FIELD["active_power_export_l%d" % n] = ("power_export_l%d_w" % n, 0)
    FIELD["reactive_power_import_l%d" % n] = ("reactive_power_import_l%d_var" % n, 0)
    FIELD["reactive_power_export_l%d" % n] = ("reactive_power_export_l%d_var" % n, 0)


IDENT = {"meter_id": "meter_id", "meter_type": "model", "list_ver_id": "list_id"}


def amshan(data):
    """Every decoded dict amshan produces from a byte stream (None for a
    frame it reads but cannot decode)."""
    out = []
    dec = autodecoder.AutoDecoder()
    for frame in hdlc.HdlcFrameReader(False).read(data):
        if frame.is_good_ffc and frame.is_expected_length:
            out.append(dec.decode_message(frame))
    return out


UNIT_SHIFT = {"kwh": 0, "wh": -3, "kvarh": 0, "varh": -3, "kw": 3, "w": 0,
              "kvar": 3, "var": 0, "v": 0, "a": 0, "m3": 0}


DSMR_FIELD = {
    "ELECTRICITY_IMPORTED_TOTAL": "energy_import_kwh",
    "ELECTRICITY_EXPORTED_TOTAL": "energy_export_kwh",
    "ELECTRICITY_REACTIVE_IMPORTED_TOTAL": "reactive_energy_import_kvarh",
    "ELECTRICITY_REACTIVE_EXPORTED_TOTAL": "reactive_energy_export_kvarh",
    "ELECTRICITY_USED_TARIFF_1": "energy_import_t1_kwh",
    "ELECTRICITY_USED_TARIFF_2": "energy_import_t2_kwh",
    "ELECTRICITY_DELIVERED_TARIFF_1": "energy_export_t1_kwh",
    "ELECTRICITY_DELIVERED_TARIFF_2": "energy_export_t2_kwh",
    "CURRENT_ELECTRICITY_USAGE": "power_import_w",
    "CURRENT_ELECTRICITY_DELIVERY": "power_export_w",
    "BELGIUM_CURRENT_AVERAGE_DEMAND": "power_import_avg_w",
    "BELGIUM_MAXIMUM_DEMAND_MONTH": "power_import_month_peak_w",
    "ELECTRICITY_ACTIVE_TARIFF": "tariff",
}
# (here, not added by a test module at import: a test run alone sees them too)
for n in (1, 2, 3):
    DSMR_FIELD["INSTANTANEOUS_ACTIVE_POWER_L%d_POSITIVE" % n] = "power_import_l%d_w" % n
    DSMR_FIELD["INSTANTANEOUS_ACTIVE_POWER_L%d_NEGATIVE" % n] = "power_export_l%d_w" % n
    DSMR_FIELD["INSTANTANEOUS_REACTIVE_POWER_L%d_POSITIVE" % n] = "reactive_power_import_l%d_var" % n
    DSMR_FIELD["INSTANTANEOUS_REACTIVE_POWER_L%d_NEGATIVE" % n] = "reactive_power_export_l%d_var" % n
    DSMR_FIELD["INSTANTANEOUS_VOLTAGE_L%d" % n] = "voltage_l%d_v" % n
    DSMR_FIELD["INSTANTANEOUS_CURRENT_L%d" % n] = "current_l%d_a" % n
