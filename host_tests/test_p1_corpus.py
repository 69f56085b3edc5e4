"""Every P1 telegram of the shared corpus against its manifest entry."""
import json
from decimal import Decimal

import pytest

from testkit import corpus
import hanport
from encoders.p1 import canonical

# manifest key -> canonical field
FIELD = {
    "energy_import": "energy_import_kwh",
    "energy_export": "energy_export_kwh",
    "reactive_import": "reactive_energy_import_kvarh",
    "reactive_export": "reactive_energy_export_kvarh",
    "active_power_import": "power_import_w",
    "active_power_export": "power_export_w",
}
for t in ("t1", "t2"):
    FIELD["energy_import_" + t] = "energy_import_%s_kwh" % t
    FIELD["energy_export_" + t] = "energy_export_%s_kwh" % t
for n in (1, 2, 3):
    FIELD["power_import_l%d" % n] = "power_import_l%d_w" % n
    FIELD["power_export_l%d" % n] = "power_export_l%d_w" % n
    FIELD["voltage_l%d" % n] = "voltage_l%d_v" % n
    FIELD["current_l%d" % n] = "current_l%d_a" % n

# Where we name a value differently from the manifest, on purpose:
# - p1_be_fluvius: the manifest calls 0-2:24.2.1 "gas_ch2" (dsmr-parser's
#   naming), but that channel's device type 0-2:24.1.0 is 007, water
#   (EN 13757-3); we report water_m3 and keep gas_m3 for channel 1 (003).
# - p1_nl_warmtelink: "gas_ch1" in GJ is a heat meter (device type 004):
#   heat_gj.
MBUS_FIELD = {("p1_be_fluvius_sagemcom_01.txt", "gas_ch2"): "water_m3"}


def decode_all(data, chunk=None):
    d = hanport.Decoder()
    if chunk is None:
        return d.feed(data), d
    out = []
    for i in range(0, len(data), chunk):
        out += d.feed(data[i:i + chunk])
    return out, d


def expected_values(row):
    exp = corpus.expected(row)
    values, meta = {}, {}
    for key, text in exp.items():
        if key in FIELD:
            num, unit = corpus.number_unit(text)
            values[FIELD[key]] = canonical(str(num), unit)
        elif key == "timestamp":
            meta["timestamp"] = text
        elif key == "dsmr_version":
            meta["version"] = text
        elif key.startswith("gas_ch"):
            if key.endswith("_m3"):            # DSMR 2.2 continuation-line form
                values["gas_m3"] = Decimal(text.split()[0])
                continue
            ts, value = text.split("@")
            num, unit = corpus.number_unit(value)
            if not unit:                       # empty M-Bus slot, no reading
                continue
            name = {"m3": "gas_m3", "GJ": "heat_gj"}[unit]
            values[MBUS_FIELD.get((row["file"], key), name)] = num
    return values, meta


def iso_of(ts):
    """Manifest timestamp text -> (ISO time, dst flag)."""
    if " " in ts:   # NES: 20240111 09:35:00
        d, t = ts.split()
        return "%s-%s-%sT%s" % (d[:4], d[4:6], d[6:], t), None
    iso = "20%s-%s-%sT%s:%s:%s" % (ts[0:2], ts[2:4], ts[4:6], ts[6:8], ts[8:10], ts[10:12])
    return iso, {"S": True, "W": False}.get(ts[12:13])


@pytest.mark.parametrize("row", corpus.params("p1", broken=False))
def test_p1_corpus_decodes(row):
    data = corpus.data(row)
    readings, dec = decode_all(data)
    assert len(readings) == 1, (dec.stats(), dec.last_error)
    r = readings[0]
    values, meta = expected_values(row)
    assert values, "manifest lists no values for %s" % row["file"]
    for field, value in values.items():
        assert r.text(field) is not None, "%s missing" % field
        assert Decimal(r.text(field)) == value, field
    if "timestamp" in meta:
        iso, dst = iso_of(meta["timestamp"])
        assert r.time == iso
        assert r.dst == dst
    if "version" in meta:
        assert r.version == meta["version"]
    # the JSON is valid and carries the same values
    doc = json.loads(r.to_json(), parse_float=Decimal)
    assert doc["meter"]["protocol"] == "p1"
    for field, value in values.items():
        assert Decimal(str(doc["values"][field])) == value
    # any chunking gives the same reading
    for chunk in (1, 7, 64):
        again, _ = decode_all(data, chunk)
        assert [x.to_json() for x in again] == [r.to_json()]
    assert dec.crc_errors == dec.malformed == dec.oversized == 0


# (the one "_broken_" stream that does hold a good telegram: test_p1_resync)
@pytest.mark.parametrize("row", [p for p in corpus.params("p1", broken=True)
                                 if p.values[0] is None or p.values[0]["crc_ok_expected"] != "yes"])
def test_p1_corpus_broken_rejected(row):
    data = corpus.data(row)
    for chunk in (None, 1, 13):
        readings, dec = decode_all(data, chunk)
        assert readings == []
        if "badcrc" in row["file"] or "droppedbytes" in row["file"]:
            assert dec.crc_errors == 1
            assert dec.last_error == "P1 CRC mismatch"
        else:   # truncated: no '!', still waiting for the rest
            assert dec.frames_ok == dec.crc_errors == dec.malformed == 0


def test_p1_identity_fields():
    """Manufacturer, model, id and the other map on a few known telegrams."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    by_name = {r["file"]: r for r in corpus.rows("p1")}

    def one(name):
        (r,), _ = decode_all(corpus.data(by_name[name]))
        return r
    r = one("p1_se_sagemcom_s211_ellevio_02.txt")
    assert (r.manufacturer, r.model, r.meter_id) == ("ELL", "53833635_A", None)
    assert r.text("power_import_l1_w") == "1023"     # amshan says 1022
    r = one("p1_nl_iskra_am550_dsmr5_01.txt")
    assert (r.manufacturer, r.model, r.meter_id) == ("ISK", "M550T-1012", "E0044007382246019")
    assert r.other["0-1:24.2.1"] == "(700101010000W)(00000000)"   # empty slot kept raw
    r = one("p1_se_aidon6534_01.txt")
    assert (r.manufacturer, r.model) == ("ADN", "6534")
    r = one("p1_dk_nes_83335_01.txt")
    assert (r.manufacturer, r.model, r.time, r.dst) == ("NES", "83335-3E", "2024-01-11T09:35:00", None)
    r = one("p1_si_iskra_am550_nocrc_01.txt")
    assert r.time == "2025-10-02T22:25:53"          # from 1-0:0.9.2 + 1-0:0.9.1
    assert r.other == {"0-0:97.97.0": "00000000"}
    r = one("p1_be_fluvius_sagemcom_01.txt")
    assert r.meter_id == "1SAG3101021605"
    assert (r.text("gas_m3"), r.text("water_m3")) == ("112.384", "872.234")
    assert r.text("power_import_month_peak_w") == "2589"
    r = one("p1_nl_warmtelink_unpaddedcrc_01.txt")
    assert r.text("heat_gj") == "240.86"
    r = one("p1_nl_iskra_mt382_dsmr22_lf_01.txt")
    assert r.text("gas_m3") == "13376.292" and r.time is None


def test_p1_resync():
    """A stream that starts mid-telegram (its tail even ends in a valid-looking
    "!1D66") yields exactly the one complete telegram after it."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    by_name = {r["file"]: r for r in corpus.rows("p1")}
    good, _ = decode_all(corpus.data(by_name["p1_se_landisgyr_e360_01.txt"]))
    for chunk in (None, 1, 5):
        readings, dec = decode_all(corpus.data(by_name["p1_se_mixed_broken_resync_01.txt"]), chunk)
        assert [r.to_json() for r in readings] == [good[0].to_json()]
        assert dec.crc_errors == dec.malformed == 0
