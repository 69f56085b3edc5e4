"""Random P1 telegrams with known contents, from our own encoder.

random_telegram(rng) -> Telegram(data, values, meta, other): the bytes on the
wire and what a correct decoder must report. Driven by a random.Random so
hypothesis (st.randoms) and plain seeded loops can both use it."""
from datetime import datetime, timedelta
from decimal import Decimal

from encoders.p1 import fixed, telegram, timestamp

IDENTS = (
    ("ELL5\\253833635_A", "ELL", "53833635_A"),
    ("ADN9 6534", "ADN", "6534"),
    ("KAM5", "KAM", None),
    ("LGF5E360", "LGF", "E360"),
    ("ISK5\\2M550T-1012", "ISK", "M550T-1012"),
    ("KFM5KAIFA-METER", "KFM", "KAIFA-METER"),
    ("ISk5\\2MT382-1003", "ISK", "MT382-1003"),
    ("NES5:83335-3E", "NES", "83335-3E"),
    ("EST5\\253710000_A", "EST", "53710000_A"),
)

# (OBIS C.D.E, field, int digits, decimals, unit family)
ENERGY = (("1.8.0", "energy_import_kwh"), ("2.8.0", "energy_export_kwh"))
REACTIVE_ENERGY = (("3.8.0", "reactive_energy_import_kvarh"), ("4.8.0", "reactive_energy_export_kvarh"))
TARIFF = (("1.8.1", "energy_import_t1_kwh"), ("1.8.2", "energy_import_t2_kwh"),
          ("2.8.1", "energy_export_t1_kwh"), ("2.8.2", "energy_export_t2_kwh"))
POWER = (("1.7.0", "power_import_w"), ("2.7.0", "power_export_w"))
REACTIVE = (("3.7.0", "reactive_power_import_var"), ("4.7.0", "reactive_power_export_var"))
PHASE_POWER = [("%d.7.0" % (20 * n + 1), "power_import_l%d_w" % n) for n in (1, 2, 3)] + \
              [("%d.7.0" % (20 * n + 2), "power_export_l%d_w" % n) for n in (1, 2, 3)]
PHASE_REACTIVE = [("%d.7.0" % (20 * n + 3), "reactive_power_import_l%d_var" % n) for n in (1, 2, 3)] + \
                 [("%d.7.0" % (20 * n + 4), "reactive_power_export_l%d_var" % n) for n in (1, 2, 3)]
VOLTAGE = [("%d.7.0" % (20 * n + 12), "voltage_l%d_v" % n) for n in (1, 2, 3)]
CURRENT = [("%d.7.0" % (20 * n + 11), "current_l%d_a" % n) for n in (1, 2, 3)]

UNKNOWN = (
    ("0-0:96.13.0", "()", ""),
    ("0-0:96.7.21", "(00005)", "00005"),
    ("1-0:32.32.0", "(00001)", "00001"),
    ("0-0:96.3.10", "(1)", "1"),
    ("1-0:99.97.0", "(1)(0-0:96.7.19)(190326095015W)(0000002014*s)",
     "(1)(0-0:96.7.19)(190326095015W)(0000002014*s)"),
    ("0-0:17.0.0", "(999.9*kW)", "999.9*kW"),
)


class Telegram:
    def __init__(self, data, values, meta, other):
        self.data = data        # bytes on the wire
        self.values = values    # {field: Decimal}
        self.meta = meta        # manufacturer, model, id, time, dst, version
        self.other = other      # {obis: raw text}


def _case(rng, unit):
    """Meters spell units in many ways; decoders must not care."""
    return rng.choice((unit, unit.lower(), unit.upper()))


def random_telegram(rng):
    ident, manufacturer, model = rng.choice(IDENTS)
    phases = rng.choice((1, 3))
    flavor = rng.choice(("se", "nl", "at"))
    lines, values, other = [], {}, {}
    meta = {"manufacturer": manufacturer, "model": model, "id": None, "time": None,
            "dst": None, "version": None}

    def add(code, field, int_digits, decimals, unit, shift):
        # value in wire units with `decimals` decimals; shift: wire -> canonical
        v = rng.randrange(10 ** (int_digits + decimals))
        lines.append("1-0:%s(%s*%s)" % (code, fixed(v, decimals, int_digits), _case(rng, unit)))
        values[field] = Decimal(v).scaleb(shift - decimals)

    if flavor == "nl":
        version = rng.choice(("42", "50"))
        lines.append("1-3:0.2.8(%s)" % version)
        meta["version"] = version
    if rng.random() < 0.9:
        t = datetime(2000, 1, 1) + timedelta(seconds=rng.randrange(100 * 365 * 86400))
        dst = rng.choice((True, False))
        lines.append("0-0:1.0.0(%s)" % timestamp(t, dst))
        meta["time"] = t.strftime("%Y-%m-%dT%H:%M:%S")
        meta["dst"] = dst
    if flavor == "nl":
        ident_text = "E%016d" % rng.randrange(10 ** 16)
        lines.append("0-0:96.1.1(%s)" % ident_text.encode().hex().upper())
        meta["id"] = ident_text
        for code, field in TARIFF:
            add(code, field, 6, 3, "kWh", 0)
        tariff = rng.choice((1, 2))
        lines.append("0-0:96.14.0(%04d)" % tariff)
        values["tariff"] = Decimal(tariff)
        for code, field in POWER:
            add(code, field, 2, 3, "kW", 3)
    elif flavor == "at":   # integers in Wh, W, varh, var
        for code, field in ENERGY:
            add(code, field, 9, 0, "Wh", -3)
        for code, field in REACTIVE_ENERGY:
            add(code, field, 9, 0, "varh", -3)
        for code, field in POWER:
            add(code, field, 9, 0, "W", 0)
        for code, field in REACTIVE:
            add(code, field, 9, 0, "var", 0)
    else:                  # Swedish: 8.3 energies, 4.3 powers
        for code, field in ENERGY:
            add(code, field, 8, 3, "kWh", 0)
        for code, field in REACTIVE_ENERGY:
            add(code, field, 8, 3, rng.choice(("kvarh", "kVArh")), 0)
        for code, field in POWER:
            add(code, field, 4, 3, "kW", 3)
        for code, field in REACTIVE:
            add(code, field, 4, 3, rng.choice(("kvar", "kVAr")), 3)
    phase = [p for p in PHASE_POWER if int(p[1][-3]) <= phases]
    for code, field in phase:
        add(code, field, 4 if flavor == "se" else 2, 3, "kW", 3)
    if flavor == "se":
        for code, field in [p for p in PHASE_REACTIVE if int(p[1][-5]) <= phases]:
            add(code, field, 4, 3, "kvar", 3)
    for code, field in VOLTAGE[:phases]:
        add(code, field, 3, 1, "V", 0)
    for code, field in CURRENT[:phases]:
        add(code, field, 3, 1 if flavor == "se" else 0, "A", 0)
    if flavor == "nl" and rng.random() < 0.7:
        ch = rng.randint(1, 4)
        gas = rng.randrange(10 ** 8)
        lines.append("0-%d:24.1.0(003)" % ch)
        lines.append("0-%d:24.2.1(%s)(%s*m3)" % (ch, timestamp(datetime(2020, 1, 1), False), fixed(gas, 3, 5)))
        values["gas_m3"] = Decimal(gas).scaleb(-3)
    for code, raw, text in rng.sample(UNKNOWN, rng.randint(0, 3)):
        lines.append(code + raw)
        other[code] = text
    rng.shuffle(lines)
    eol = "\r\n" if rng.random() < 0.95 else "\n"
    data = telegram(ident, lines, eol=eol, crc_pad=rng.random() < 0.9)
    if rng.random() < 0.1:   # some meters print the CRC in lower case
        data = data[:-len(eol) - 4] + data[-len(eol) - 4:].lower()
    return Telegram(data, values, meta, other)


def junk(rng, n_max=40):
    """Line noise between telegrams: anything but a '/' (which would start a
    telegram) or a hex digit right after a short CRC (never happens: meters
    end the CRC line with CR LF)."""
    out = bytearray()
    for _ in range(rng.randrange(n_max)):
        c = rng.randrange(256)
        out.append(c if c != 0x2F else 0x2E)
    return bytes(out)


def mutate(rng, data):
    """One random damage: bit flip, deletion, insertion or duplication."""
    data = bytearray(data)
    kind = rng.choice(("flip", "delete", "insert", "duplicate"))
    i = rng.randrange(len(data))
    if kind == "flip":
        data[i] ^= 1 << rng.randrange(8)
    elif kind == "delete":
        del data[i:i + rng.randint(1, 8)]
    elif kind == "insert":
        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    else:
        j = min(len(data), i + rng.randint(1, 40))
        data[j:j] = data[i:j]
    return bytes(data)


def chunks(rng, data):
    out, i = [], 0
    while i < len(data):
        n = rng.choice((1, 2, 3, 17, 64, 255, 1024))
        out.append(data[i:i + n])
        i += n
    return out
