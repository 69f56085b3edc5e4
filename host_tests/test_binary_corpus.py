"""Every binary corpus file (HDLC, M-Bus, raw DLMS) against its manifest
entry: values, identity, time; broken files rejected with the right count."""
import json
from decimal import Decimal

import pytest

from testkit import corpus
import hanport

# manifest key -> (field, power of ten from the manifest's unit to ours)
KEYS = {
    "active_power_import_W": ("power_import_w", 0),
    "active_power_export_W": ("power_export_w", 0),
    "reactive_power_import_var": ("reactive_power_import_var", 0),
    "reactive_power_export_var": ("reactive_power_export_var", 0),
    "energy_import_Wh": ("energy_import_kwh", -3),
    "energy_export_Wh": ("energy_export_kwh", -3),
    "reactive_energy_import_varh": ("reactive_energy_import_kvarh", -3),
    "reactive_energy_export_varh": ("reactive_energy_export_kvarh", -3),
    "power_factor": ("power_factor", 0),
    # robinsmidsrod/ams-han-decoder names ("src:" entries), value_unit text
    "power_active_import": ("power_import_w", None),
    "power_active_export": ("power_export_w", None),
    "power_reactive_import": ("reactive_power_import_var", None),
    "power_reactive_export": ("reactive_power_export_var", None),
    "energy_active_cum_import": ("energy_import_kwh", None),
    "energy_active_cum_export": ("energy_export_kwh", None),
    "energy_reactive_cum_import": ("reactive_energy_import_kvarh", None),
    "energy_reactive_cum_export": ("reactive_energy_export_kvarh", None),
}
for _n in (1, 2, 3):
    KEYS["current_l%d_A" % _n] = ("current_l%d_a" % _n, 0)
    KEYS["voltage_l%d_V" % _n] = ("voltage_l%d_v" % _n, 0)
    KEYS["voltage_raw_l%d" % _n] = ("voltage_l%d_v" % _n, -2)   # Danish 5-digit: 0.01 V
    KEYS["phase_current_l%d" % _n] = ("current_l%d_a" % _n, None)
    KEYS["phase_voltage_l%d" % _n] = ("voltage_l%d_v" % _n, None)
    KEYS["power_import_l%d_W" % _n] = ("power_import_l%d_w" % _n, 0)
    KEYS["reactive_export_l%d_var" % _n] = ("reactive_power_export_l%d_var" % _n, 0)
    KEYS["reactive_import_l%d_var" % _n] = ("reactive_power_import_l%d_var" % _n, 0)
UNIT_SHIFT = {"W": 0, "VAr": 0, "A": 0, "V": 0, "Wh": -3, "VArh": -3, "kWh": 0, "kVArh": 0}
IDENTITY = {"meter_id": "meter_id", "device_id": "meter_id", "meter_number": "meter_id",
            "meter_type": "model", "list_ver": "list_id", "obis_version": "list_id",
            "list_id": "list_id"}

# Scaling the bytes don't carry, set as a user would in config:
MULTIPLIERS = {
    # Danish Kamstrup: voltages as 5 digits in 0.01 V
    "dlms_dk_kamstrup_omnipower_decrypted_01.hex": {"voltage": "0.01"},
    # Swedish Kamstrup firmware: energies in Wh, not the Norwegian 10 Wh
    "hdlc_se_kamstrup_6841_list2_01.hex": {"energy": "0.1", "reactive_energy": "0.1"},
}


def decode(row, chunk=None):
    key, auth = corpus.keys(row)
    dec = hanport.Decoder(key, auth, MULTIPLIERS.get(row["file"]))
    data = corpus.data(row)
    if row["format"] == "dlms-raw":
        return dec.decode_apdu(data), dec
    if chunk is None:
        return dec.feed(data), dec
    out = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i:i + chunk])
    return out, dec


def expected(row):
    values, ident, times = {}, {}, []
    for key, text in corpus.expected(row).items():
        text = text.split(" (")[0].strip()
        if key in KEYS:
            field, shift = KEYS[key]
            if shift is None:
                num, unit = corpus.number_unit(text)
                values[field] = num.scaleb(UNIT_SHIFT[unit])
            else:
                values[field] = Decimal(text).scaleb(shift)
        elif key in IDENTITY:
            ident[IDENTITY[key]] = text
        elif key in ("meter_datetime", "clock"):
            times.append(text)
        elif key.count(".") == 5 and key.endswith(".255"):
            # a bare OBIS code with the raw number (Danish CT list): the
            # field it maps to, scaled as Kamstrup lists are without config
            a, b, c, d, e, _ = (int(x) for x in key.split("."))
            if (c, d, e) == (0, 0, 1):
                ident["meter_id"] = text
            elif (c, d, e) == (1, 0, 0):
                times.append(text)
            elif c not in (13, 33, 53, 73):       # power factors: no known scale
                field = KAMSTRUP_FIELD[(c, d)]
                shift = {7: 0, 8: -2}[d] if c not in (31, 51, 71) else -2
                values[field] = Decimal(text).scaleb(shift)
    return values, ident, times


def _kamstrup_fields():
    out = {(1, 8): "energy_import_kwh", (2, 8): "energy_export_kwh",
           (3, 8): "reactive_energy_import_kvarh", (4, 8): "reactive_energy_export_kvarh",
           (1, 7): "power_import_w", (2, 7): "power_export_w",
           (3, 7): "reactive_power_import_var", (4, 7): "reactive_power_export_var"}
    for n, base in ((1, 20), (2, 40), (3, 60)):
        out[(base + 1, 7)] = "power_import_l%d_w" % n
        out[(base + 2, 7)] = "power_export_l%d_w" % n
        out[(base + 1, 8)] = "energy_import_l%d_kwh" % n
        out[(base + 2, 8)] = "energy_export_l%d_kwh" % n
        out[(base + 11, 7)] = "current_l%d_a" % n
        out[(base + 12, 7)] = "voltage_l%d_v" % n
    return out


KAMSTRUP_FIELD = _kamstrup_fields()


BINARY = [p for p in corpus.params() if p.values[0] is None or p.values[0]["format"] != "p1"]


@pytest.mark.parametrize("row", [p for p in BINARY if p.values[0] is None or (
    "_broken_" not in p.values[0]["file"] and p.values[0]["file"] != "hdlc_dk_kamstrup_omnipower_enc_01.hex")])
def test_binary_corpus_decodes(row):
    readings, dec = decode(row)
    assert len(readings) == 1, (dec.stats(), dec.last_error)
    r = readings[0]
    values, ident, times = expected(row)
    assert values, "no values for " + row["file"]
    for field, value in values.items():
        assert r.text(field) is not None, field
        assert Decimal(r.text(field)) == value, field
    for attr, value in ident.items():
        got = getattr(r, attr)
        assert got == value, attr
    if times:
        # the meter clock as sent; an offset is added when the meter gives one
        assert r.time[:19] == times[-1].replace(" ", "T")[:19]
    assert r.protocol == "dlms"
    json.loads(r.to_json())
    if row["format"] != "dlms-raw":
        for chunk in (1, 5, 64):
            again, _ = decode(row, chunk)
            assert [x.to_json() for x in again] == [r.to_json()]
    counts = dec.stats()
    assert counts["frames_ok"] == 1 and sum(counts.values()) == 1


BROKEN = {
    # file: counter that must count it (None: incomplete, still waiting)
    "hdlc_at_landisgyr_e450_enc_broken_badtag_01.hex": "auth_failures",
    "hdlc_no_aidon6525_list2_broken_droppedbytes_01.hex": "fcs_errors",
    "hdlc_no_aidon6525_list3_broken_truncated_01.hex": None,
    "hdlc_no_aidon6534_list1_broken_truncated_01.hex": None,
    "hdlc_no_kaifa_ma304h3e_list2_broken_badfcs_01.hex": "fcs_errors",
    "hdlc_se_kamstrup_6841_list1_broken_badhcs_01.hex": "fcs_errors",
    "mbus_at_kaifa_ma309_enc_netznoe_broken_badcs_01.hex": "mbus_errors",
}


@pytest.mark.parametrize("row", [p for p in BINARY if p.values[0] is None or "_broken_" in p.values[0]["file"]])
def test_binary_corpus_broken_rejected(row):
    for chunk in (None, 1, 7):
        readings, dec = decode(row, chunk)
        assert readings == []
        counter = BROKEN[row["file"]]
        if counter is None:
            assert sum(dec.stats().values()) == 0
        else:
            assert dec.stats()[counter] == 1, dec.stats()


def test_encrypted_without_key_says_key_required():
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    row = [r for r in corpus.rows() if r["file"] == "hdlc_dk_kamstrup_omnipower_enc_01.hex"][0]
    readings, dec = decode(row)
    assert readings == []
    assert dec.key_required == 1 and dec.unknown == 0 and dec.malformed == 0
    assert "decryption key" in dec.last_error and "KAM" in dec.last_error


def test_wrong_key_is_an_auth_failure_not_garbage():
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    row = [r for r in corpus.rows() if r["file"] == "hdlc_at_landisgyr_e450_enc_01.hex"][0]
    key, auth = corpus.keys(row)
    dec = hanport.Decoder("00" * 16, auth)
    assert dec.feed(corpus.data(row)) == [] and dec.auth_failures == 1


def test_mixed_stream_of_every_corpus_format():
    """All good frames of the corpus in one stream (P1 and binary, keys
    per meter would differ, so only unencrypted ones), with noise between:
    every one comes out, in order."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    stream, want = b"", []
    for row in corpus.rows():
        if row["format"] in ("dlms-raw",) or "_broken_" in row["file"] or row["encryption_key"] != "-" \
                or row["file"] in MULTIPLIERS or row["file"] == "hdlc_dk_kamstrup_omnipower_enc_01.hex" \
                or "nocrc" in row["file"] or "dsmr22" in row["file"]:
            continue
        readings, _ = decode(row)
        want += [r.to_json() for r in readings]
        stream += b"\x00\xff junk \r\n" + corpus.data(row)
    dec = hanport.Decoder()
    got = []
    for i in range(0, len(stream), 97):
        got += [r.to_json() for r in dec.feed(stream[i:i + 97])]
    assert got == want
    assert len(got) > 40
