"""Real captures published by other projects (public_captures.py), decoded
on CPython and under MicroPython: every reading compared whole with the
values written from the frame (identity, time, every value, "other"), and
the counters. Also the issue-17 items one by one, so each names what it
checks."""
import json
import subprocess
import sys
from decimal import Decimal

import pytest

import hanport
from testkit import mpy
from public_captures import CAPTURES, CONTROL_BYTE_NO_CRC, KAMSTRUP_CH, UNKNOWN_LIST

DRIVER = str(mpy.ROOT / "tools" / "testkit" / "mp_driver.py")
LIB = str(mpy.ROOT / "lib")
BY_NAME = {c["name"]: c for c in CAPTURES}


def case_lines():
    lines = []
    for c in CAPTURES:
        lines.append("CASE %s %s" % (c["key"] or "-", c["auth"] or "-"))
        lines.append(("APDU " if c["kind"] == "apdu" else "CHUNK ") + c["data"].hex())
    return lines


def split_cases(out):
    """Driver output -> one (readings, counters) per capture, in order."""
    cases, readings = [], []
    for line in out.splitlines():
        if line.startswith("{"):
            readings.append(json.loads(line, parse_float=Decimal))
        elif line.startswith("STATS "):
            counters = dict((k, int(v)) for k, v in (p.split("=") for p in line[6:].split()))
            cases.append((readings, counters))
            readings = []
    return cases


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    path = tmp_path_factory.mktemp("captures") / "cases.txt"
    path.write_text("\n".join(case_lines()) + "\n")
    got = {}
    cpy = subprocess.run([sys.executable, DRIVER, LIB, str(path)], capture_output=True, timeout=300)
    assert cpy.returncode == 0, cpy.stderr.decode()
    got["cpython"] = split_cases(cpy.stdout.decode())
    mp = mpy.run([DRIVER, LIB, str(path)], timeout=300)
    assert mp.returncode == 0, mp.stderr.decode()
    got["micropython"] = split_cases(mp.stdout.decode())
    if mpy.MP32.exists():               # the 32-bit build: the ESP32's small-int range
        mp = mpy.run([DRIVER, LIB, str(path)], timeout=300, bits=32)
        assert mp.returncode == 0, mp.stderr.decode()
        got["micropython32"] = split_cases(mp.stdout.decode())
    return got


def _decimal_values(reading):
    if reading is None:
        return None
    out = dict(reading)
    out["values"] = dict((k, Decimal(v)) for k, v in reading["values"].items())
    return out


@pytest.mark.parametrize("impl", ["cpython", "micropython", "micropython32"])
@pytest.mark.parametrize("index", range(len(CAPTURES)), ids=[c["name"] for c in CAPTURES])
def test_capture_decodes_to_the_values_in_the_frame(outputs, impl, index):
    if impl not in outputs:
        mpy.micropython32()             # skips, saying why (fails under HANPORT_REQUIRE_MP32)
    c = CAPTURES[index]
    readings, counters = outputs[impl][index]
    expect = _decimal_values(c["expect"])
    assert readings == ([expect] if expect is not None else []), c["source"]
    assert dict((k, v) for k, v in counters.items() if v) == c["counters"]


def test_public_set_covers_the_makes_and_countries():
    real = [c["name"] for c in CAPTURES if not c["derived"]]
    for word in ("aidon", "kaifa", "kamstrup", "landisgyr", "sagemcom", "easymeter", "iskra",
                 "_at_", "_dk_", "_ch_", "_si_", "_no_", "_nl_", "encrypted"):
        assert any(word in n for n in real), word


# --- issue 17, one test per item ------------------------------------------------

def _one(data, apdu=False, **kw):
    dec = hanport.Decoder(**kw)
    out = dec.decode_apdu(data) if apdu else dec.feed(data)
    return dec, out


def test_kamstrup_power_factor_is_in_hundredths():
    # 13.7.0 = 99 on the wire: 0.99, not 99 (issue 17, decoded values 1)
    _, (r,) = _one(KAMSTRUP_CH, apdu=True)
    assert (r.text("power_factor"), r.text("power_factor_l1"), r.text("power_factor_l2"),
            r.text("power_factor_l3")) == ("0.99", "0.9", "0.53", "0.89")


def test_iskra_18_item_list_has_reactive_and_per_phase_powers():
    # issue 17, decoded values 2: Q+/Q- and 21/41/61, 22/42/62.7.0 were dropped
    _, (r,) = _one(BY_NAME["iskra_si_ljubljana_18"]["data"])
    v = r.values()
    assert v["reactive_power_export_var"] == "286"
    assert (v["power_import_l1_w"], v["power_import_l2_w"], v["power_import_l3_w"]) == ("216", "19", "10")


@pytest.mark.parametrize("name", ["iskra_si_ljubljana_12_energy", "iskra_si_celje_12"])
def test_iskra_12_item_lists_are_recognised(name):
    dec, out = _one(BY_NAME[name]["data"])
    assert dec.unknown == 0 and len(out) == 1 and out[0].values()


def test_unknown_positional_list_gives_identity_and_its_shape():
    dec, (r,) = _one(UNKNOWN_LIST, apdu=True)
    assert (r.meter_id, r.list_id, r.time) == ("ISK1030789014731", "ZZ_9z", "2023-11-01T12:12:18+01:00")
    assert r.values() == {}
    assert dec.unknown == 1 and dec.frames_ok == 1
    assert dec.last_error == (
        "DLMS list not recognised, please report it: 12 elements ['ISK1030789014731', 'ZZ_9z', "
        "12:2314, 12:2303, 12:2348, 12:451, 12:525, 12:88, 06:2399, 06:0, 06:4, 06:264]")


def test_dsmr22_meter_id_is_trimmed():
    # issue 17, decoded values 3: " ZABF00151772711"
    _, (r,) = _one(BY_NAME["kamstrup_nl_dsmr22"]["data"])
    assert r.meter_id == "ZABF00151772711"


def test_p1_control_byte_in_ident_line_taken_with_a_valid_crc():
    # issue 17, decoded values 4: was dropped as "P1 telegram cut short"
    dec, out = _one(BY_NAME["p1_control_byte_in_ident_derived"]["data"])
    assert dec.stats()["frames_ok"] == 1 and dec.unchecked == 0
    assert (out[0].manufacturer, out[0].model) == ("KMP", "ZABF001551772711")


def test_p1_control_byte_without_crc_is_still_damage():
    dec, out = _one(CONTROL_BYTE_NO_CRC)
    assert out == [] and dec.malformed == 1
    assert dec.last_error == "P1 ident line has a control byte and no CRC"


# --- the peers on the same captures ---------------------------------------------
#
# Disagreements, each asserted to be exactly what it says:
#
# AMSHAN_ISKRA      amshan raises on Elektro Ljubljana's 18-item list
#                   (AttributeError) and Elektro Celje's (IndexError), and
#                   reads Ljubljana's 12-item energy list as a Kamstrup list
#                   holding only a clock; we decode all three (rows in lists.py).
# AMSHAN_NO_CIPHER  amshan's AutoDecoder gives nothing for the encrypted L+G
#                   E450 frame (it has no keys); we decrypt and authenticate.
# DSMR_PARSER_HEX_ID dsmr_parser gives the DSMR 2.2 equipment id as sent,
#                   hex "205A41..."; we decode it and trim the leading space
#                   ("ZABF00151772711"), as dsmr-tools decodes it.
# Everything else both report agrees (compared below).

from peers import FIELD as AMSHAN_FIELD, IDENT as AMSHAN_IDENT, amshan  # noqa: E402
from peers import DSMR_FIELD, UNIT_SHIFT  # noqa: E402

AMSHAN_KNOWN = {
    "iskra_si_ljubljana_18": (AttributeError, None),
    "iskra_si_celje_12": (IndexError, None),
    "iskra_si_ljubljana_12_energy": (None, [{"meter_manufacturer": "Kamstrup"}]),
    "landisgyr_at_encrypted": (None, [None]),
}
HDLC_CAPTURES = [c for c in CAPTURES if c["kind"] == "feed" and c["data"][:1] == b"\x7e"]


@pytest.mark.parametrize("c", HDLC_CAPTURES, ids=[c["name"] for c in HDLC_CAPTURES])
def test_agrees_with_amshan(c):
    _, ours = _one(c["data"], key=c["key"], auth_key=c["auth"])
    raises, gives = AMSHAN_KNOWN.get(c["name"], (None, None))
    if raises:                                                      # AMSHAN_ISKRA
        with pytest.raises(raises):
            amshan(c["data"])
        assert len(ours) == 1 and ours[0].values()
        return
    theirs = amshan(c["data"])
    if gives is not None:                                # AMSHAN_ISKRA, AMSHAN_NO_CIPHER
        assert [d if d is None else {"meter_manufacturer": d["meter_manufacturer"]}
                for d in theirs] == gives
        return
    (d,), (r,) = theirs, ours
    compared = 0
    for key, value in d.items():
        if key in AMSHAN_FIELD:
            field, shift = AMSHAN_FIELD[key]
            assert Decimal(r.text(field)) == Decimal(str(value)).scaleb(shift), field
            compared += 1
        elif key in AMSHAN_IDENT:
            assert getattr(r, AMSHAN_IDENT[key]) == value
    assert compared >= 8


def test_agrees_with_dsmr_parser():
    from dsmr_parser import telegram_specifications as specs
    from dsmr_parser.parsers import TelegramParser

    for name, spec, crc in (("kamstrup_nl_dsmr22", specs.V2_2, False),
                            ("easymeter_de_q3d", specs.Q3D, False),
                            ("p1_control_byte_in_ident_derived", specs.V2_2, True)):
        data = BY_NAME[name]["data"]
        (r,) = hanport.Decoder().feed(data)
        t = TelegramParser(spec, apply_checksum_validation=crc).parse(data.decode("latin-1"))
        compared = ids = 0
        for key, obj in t:
            value = getattr(obj, "value", None)
            if key in DSMR_FIELD and value is not None:
                unit = (obj.unit or "").lower()
                expect = Decimal(value).scaleb(UNIT_SHIFT.get(unit, 0))
                assert Decimal(r.text(DSMR_FIELD[key])) == expect, (name, key)
                compared += 1
            elif key == "EQUIPMENT_IDENTIFIER":                     # DSMR_PARSER_HEX_ID
                assert value == "205A4142463030313531373732373131"
                assert r.meter_id == bytes.fromhex(value).decode().strip()
                ids += 1
        assert compared >= 5 and ids == (spec is specs.V2_2), name
