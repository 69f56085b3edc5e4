# The OBIS table's text and its reader, apart from obis.py: obis.py reads
# them once into a compact lookup and lets this module go, so on the
# dongle the text does not stay in RAM (every constant of a module does,
# while any of its functions is alive).

# Code, then a field name (fields.py) or one of the targets above. For
# electricity (A=1) any B matches (target()); "0-n" rows are the M-Bus
# sub-meter channels 1..4. One text block (the lines are joined when the
# module is compiled), not a tuple of strings, and no comments inside.
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


def parse_text(s):
    """"A-B:C.D.E" -> (a, b, c, d, e). Used on the table, not on the wire."""
    ab, cde = s.split(":")
    a, b = ab.split("-")
    c, d, e = cde.split(".")
    return int(a), b, int(c), int(d), int(e)


def rows():
    """(code text, target name) of every TABLE line."""
    for line in TABLE.split("\n"):
        parts = line.split("#")[0].split()
        if parts:
            yield parts[0], parts[1]
