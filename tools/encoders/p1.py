"""P1 / DSMR telegram encoder."""
from decimal import Decimal


def crc16_arc(data: bytes) -> int:
    """Bitwise CRC-16/ARC (the lookup-table version lives in hanport)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def fixed(value: int, decimals: int, int_digits: int) -> str:
    """Zero-padded fixed-point text of value * 10**-decimals: (1023, 3, 4)
    -> "0001.023"."""
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(int_digits + decimals, "0")
    if decimals:
        return sign + digits[:-decimals] + "." + digits[-decimals:]
    return sign + digits


def timestamp(t, dst=None) -> str:
    """datetime -> YYMMDDhhmmssX (X = S in summer time, W otherwise)."""
    flag = "" if dst is None else ("S" if dst else "W")
    return t.strftime("%y%m%d%H%M%S") + flag


def telegram(ident: str, lines, crc=True, eol="\r\n", crc_pad=True) -> bytes:
    """'/ident', blank line, data lines, '!' and CRC-16/ARC in hex."""
    body = ("/" + ident + eol + eol + "".join(line + eol for line in lines) + "!").encode("latin-1")
    if crc is True:
        value = "%04X" % crc16_arc(body) if crc_pad else "%X" % crc16_arc(body)
    elif crc is False or crc is None:
        value = ""
    else:
        value = crc  # a given (possibly wrong) CRC text
    return body + value.encode() + eol.encode()


# Swedish HAN-P1 data set (Energiföretagen v2.0): OBIS, canonical field,
# integer digits, decimals, unit on the wire.
SWEDISH = (
    ("1-0:1.8.0", "energy_import_kwh", 8, 3, "kWh"),
    ("1-0:2.8.0", "energy_export_kwh", 8, 3, "kWh"),
    ("1-0:3.8.0", "reactive_energy_import_kvarh", 8, 3, "kvarh"),
    ("1-0:4.8.0", "reactive_energy_export_kvarh", 8, 3, "kvarh"),
    ("1-0:1.7.0", "power_import_w", 4, 3, "kW"),
    ("1-0:2.7.0", "power_export_w", 4, 3, "kW"),
    ("1-0:3.7.0", "reactive_power_import_var", 4, 3, "kvar"),
    ("1-0:4.7.0", "reactive_power_export_var", 4, 3, "kvar"),
    ("1-0:21.7.0", "power_import_l1_w", 4, 3, "kW"),
    ("1-0:41.7.0", "power_import_l2_w", 4, 3, "kW"),
    ("1-0:61.7.0", "power_import_l3_w", 4, 3, "kW"),
    ("1-0:22.7.0", "power_export_l1_w", 4, 3, "kW"),
    ("1-0:42.7.0", "power_export_l2_w", 4, 3, "kW"),
    ("1-0:62.7.0", "power_export_l3_w", 4, 3, "kW"),
    ("1-0:23.7.0", "reactive_power_import_l1_var", 4, 3, "kvar"),
    ("1-0:43.7.0", "reactive_power_import_l2_var", 4, 3, "kvar"),
    ("1-0:63.7.0", "reactive_power_import_l3_var", 4, 3, "kvar"),
    ("1-0:24.7.0", "reactive_power_export_l1_var", 4, 3, "kvar"),
    ("1-0:44.7.0", "reactive_power_export_l2_var", 4, 3, "kvar"),
    ("1-0:64.7.0", "reactive_power_export_l3_var", 4, 3, "kvar"),
    ("1-0:32.7.0", "voltage_l1_v", 3, 1, "V"),
    ("1-0:52.7.0", "voltage_l2_v", 3, 1, "V"),
    ("1-0:72.7.0", "voltage_l3_v", 3, 1, "V"),
    ("1-0:31.7.0", "current_l1_a", 3, 1, "A"),
    ("1-0:51.7.0", "current_l2_a", 3, 1, "A"),
    ("1-0:71.7.0", "current_l3_a", 3, 1, "A"),
)

# Dutch DSMR 5 extras (tariff registers instead of totals, integer currents)
DUTCH = (
    ("1-0:1.8.1", "energy_import_t1_kwh", 6, 3, "kWh"),
    ("1-0:1.8.2", "energy_import_t2_kwh", 6, 3, "kWh"),
    ("1-0:2.8.1", "energy_export_t1_kwh", 6, 3, "kWh"),
    ("1-0:2.8.2", "energy_export_t2_kwh", 6, 3, "kWh"),
    ("1-0:1.7.0", "power_import_w", 2, 3, "kW"),
    ("1-0:2.7.0", "power_export_w", 2, 3, "kW"),
    ("1-0:32.7.0", "voltage_l1_v", 3, 1, "V"),
    ("1-0:31.7.0", "current_l1_a", 3, 0, "A"),
    ("1-0:21.7.0", "power_import_l1_w", 2, 3, "kW"),
    ("1-0:22.7.0", "power_export_l1_w", 2, 3, "kW"),
)

# Power of ten from a wire unit to the canonical unit of its field
UNIT_SHIFT = {"kwh": 0, "wh": -3, "kvarh": 0, "varh": -3, "kw": 3, "w": 0,
              "kvar": 3, "var": 0, "v": 0, "a": 0, "m3": 0, "gj": 0}


def canonical(text: str, unit: str) -> Decimal:
    """What a decoder must report for a wire value in its field's unit."""
    return Decimal(text).scaleb(UNIT_SHIFT[unit.lower()])


def swedish_telegram(h, ident="ELL5\\253833635_A", dst=False) -> bytes:
    """A Swedish HAN-P1 telegram of a Household's present state."""
    def kw(w):
        return fixed(w, 3, 4)

    n = h.phases
    ph = h.phase_w + [0] * (3 - n)
    var = h.phase_var + [0] * (3 - n)
    lines = [
        "0-0:1.0.0(%s)" % timestamp(h.t, dst),
        "1-0:1.8.0(%s*kWh)" % fixed(h.import_wh, 3, 8),
        "1-0:2.8.0(%s*kWh)" % fixed(h.export_wh, 3, 8),
        "1-0:3.8.0(%s*kvarh)" % fixed(h.r_import_varh, 3, 8),
        "1-0:4.8.0(%s*kvarh)" % fixed(h.r_export_varh, 3, 8),
        "1-0:1.7.0(%s*kW)" % kw(h.power_import_w),
        "1-0:2.7.0(%s*kW)" % kw(h.power_export_w),
        "1-0:3.7.0(%s*kvar)" % kw(h.reactive_import_var),
        "1-0:4.7.0(%s*kvar)" % kw(h.reactive_export_var),
    ]
    for i, c in enumerate((21, 41, 61)[:n]):
        lines.append("1-0:%d.7.0(%s*kW)" % (c, kw(max(ph[i], 0))))
    for i, c in enumerate((22, 42, 62)[:n]):
        lines.append("1-0:%d.7.0(%s*kW)" % (c, kw(max(-ph[i], 0))))
    for i, c in enumerate((23, 43, 63)[:n]):
        lines.append("1-0:%d.7.0(%s*kvar)" % (c, kw(max(var[i], 0))))
    for i, c in enumerate((24, 44, 64)[:n]):
        lines.append("1-0:%d.7.0(%s*kvar)" % (c, kw(max(-var[i], 0))))
    for i, c in enumerate((32, 52, 72)[:n]):
        lines.append("1-0:%d.7.0(%s*V)" % (c, fixed(h.voltage_dv[i], 1, 3)))
    for i, c in enumerate((31, 51, 71)[:n]):
        lines.append("1-0:%d.7.0(%s*A)" % (c, fixed(h.current_ca[i] // 10, 1, 3)))
    return telegram(ident, lines)
