"""Per-OBIS plausibility of every value decoded from every real frame: the
shared corpus and the public captures. A value whose scale is implied by
the list rather than sent (Kamstrup, Kaifa KFM_001, Iskra, L+G E450) can be
off by a power of ten and still look like a number; these bounds and
cross-checks catch that. Exact values are tested elsewhere; here only what
physics allows.

Meters whose scale depends on their configuration get the multipliers a
user sets (README): the checks then hold for the configured reading, and
are shown to fail without it."""
from decimal import Decimal

import pytest

from testkit import corpus
import hanport
from public_captures import CAPTURES

# Scaling the bytes don't carry, as a user sets it (README, multipliers)
MULTIPLIERS = {
    "dlms_dk_kamstrup_omnipower_decrypted_01.hex": {"voltage": "0.01"},
    "hdlc_se_kamstrup_6841_list2_01.hex": {"energy": "0.1", "reactive_energy": "0.1"},
}

# Disagreements that are on the wire, not in the decoding
AS_SENT = {
    # dsmr_parser's TELEGRAM_V4_2 example: 21/41/61.7.0 = 0.170 + 1.247 +
    # 0.209 kW, 1.7.0 = 2.027 kW in the same telegram (CRC valid)
    "p1_nl_kaifa_dsmr42_01.txt": ["power: phases net 1626 != total net 2027"],
}

RANGES = (
    # field prefix, low, high (inclusive); voltage 0 is a phase not present
    # (IT networks measure two of three); 138 V is the Norwegian 230 V IT
    # phase-to-"ground" of a MA304T4 in the corpus
    ("power_factor", Decimal(-1), Decimal(1)),
    ("frequency_hz", Decimal(45), Decimal(65)),
    ("voltage_", Decimal(100), Decimal(300)),
    ("current_", Decimal(-1000), Decimal(1000)),
    ("power_", Decimal(0), Decimal(1000000)),       # import/export: directional
    ("reactive_power_", Decimal(0), Decimal(1000000)),
    ("apparent_power_", Decimal(0), Decimal(1000000)),
    ("energy_", Decimal(0), Decimal(100000000)),
    ("reactive_energy_", Decimal(0), Decimal(100000000)),
    ("tariff", Decimal(0), Decimal(9)),
    ("gas_m3", Decimal(0), Decimal(100000000)),
    ("heat_gj", Decimal(0), Decimal(100000000)),
)


def problems(v):
    """What is implausible in {field: Decimal} of one reading."""
    out = []
    for name, x in v.items():
        for prefix, lo, hi in RANGES:
            if name.startswith(prefix):
                if not lo <= x <= hi and not (prefix == "voltage_" and x == 0):
                    out.append("%s=%s outside %s..%s" % (name, x, lo, hi))
                break
    # apparent power covers active and reactive: S <= sum(U*|I|)
    ui = [(v.get("voltage_l%d_v" % n), v.get("current_l%d_a" % n)) for n in (1, 2, 3)]
    ui = [(u, i) for u, i in ui if u is not None and i is not None]
    p = v.get("power_import_w", 0) + v.get("power_export_w", 0)
    q = v.get("reactive_power_import_var", 0) + v.get("reactive_power_export_var", 0)
    if ui and ("current_l1_a" in v):
        s_max = sum(u * abs(i) for u, i in ui)
        if (p * p + q * q) > (s_max * Decimal("1.1") + 50) ** 2:
            out.append("P=%s Q=%s exceed U*I=%s" % (p, q, s_max))
    # per-phase powers add up to the total: net, since a meter may import
    # on one phase and export on another (each rounded to the meter's step)
    parts = [v.get("power_%s_l%d_w" % (d, n)) for d in ("import", "export") for n in (1, 2, 3)]
    if "power_import_w" in v and "power_export_w" in v and None not in parts:
        net = v["power_import_w"] - v["power_export_w"]
        by_phase = sum(parts[:3]) - sum(parts[3:])
        if abs(by_phase - net) > 3 + abs(net) / 100:
            out.append("power: phases net %s != total net %s" % (by_phase, net))
    # tariff registers add up to the total register
    for d in ("import", "export"):
        t = [v.get("energy_%s_t%d_kwh" % (d, n)) for n in (1, 2)]
        total = v.get("energy_%s_kwh" % d)
        if total is not None and None not in t and abs(sum(t) - total) > Decimal("0.01"):
            out.append("energy_%s: tariffs %s != total %s" % (d, sum(t), total))
    # the power factor of active and reactive power
    pf = v.get("power_factor")
    if pf is not None and "reactive_power_import_var" in v and p * p + q * q > 10000:
        s = (p * p + q * q).sqrt()
        if abs(abs(pf) - p / s) > Decimal("0.05"):
            out.append("power_factor %s, but P/S = %.3f" % (pf, p / s))
    return out


def values(readings):
    return [dict((k, Decimal(t)) for k, t in r.values().items()) for r in readings]


def corpus_readings(row, multipliers=True):
    ek, ak = corpus.keys(row)
    mult = MULTIPLIERS.get(row["file"]) if multipliers else None
    dec = hanport.Decoder(ek, ak, mult)
    data = corpus.data(row)
    return dec.decode_apdu(data) if row["format"] == "dlms-raw" else dec.feed(data)


@pytest.mark.parametrize("row", corpus.params())
def test_corpus_values_are_plausible(row):
    for v in values(corpus_readings(row)):
        assert problems(v) == AS_SENT.get(row["file"], [])


@pytest.mark.parametrize("c", CAPTURES, ids=[c["name"] for c in CAPTURES])
def test_public_capture_values_are_plausible(c):
    dec = hanport.Decoder(c["key"], c["auth"])
    out = dec.decode_apdu(c["data"]) if c["kind"] == "apdu" else dec.feed(c["data"])
    for v in values(out):
        assert problems(v) == []


def test_checks_catch_a_wrong_scale():
    # the Danish 5-digit voltages without the multiplier a user sets
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    row = [r for r in corpus.rows() if r["file"] == "dlms_dk_kamstrup_omnipower_decrypted_01.hex"][0]
    (v,) = values(corpus_readings(row, multipliers=False))
    assert "voltage_l1_v=22199 outside 100..300" in problems(v)
    # a Kamstrup power factor read as whole numbers (the bug of issue 17)
    assert problems({"power_factor": Decimal(99)}) == ["power_factor=99 outside -1..1"]
    # current 100 times too small for the power
    assert problems({"power_import_w": Decimal(2000), "voltage_l1_v": Decimal(230),
                     "current_l1_a": Decimal("0.09")}) == ["P=2000 Q=0 exceed U*I=20.70"]
