"""A new user's first hour (issue 18): what the dongle says when something
is wrong, on the virtual dongle (the firmware on MicroPython's unix port)
against a meter on its virtual UART; what the page shows in Chromium; the
discovery configs against Home Assistant's documented schema; the make
targets and tools a new user runs."""
import json
import subprocess
import sys
import time
from decimal import Decimal

import pytest

import ha_schema
from encoders import dlms, hdlc, meters
from rig import ROOT, Dongle, Meter, wait_until

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
TITLE = b"KAM\x00\x01\x02\x03\x04"


def encrypted_kamstrup(counter):
    """A Kamstrup list 1 in an HDLC frame, its APDU ciphered and
    authenticated (security control 0x30), as a Danish meter sends it."""
    values = {f: Decimal(0) for f in ("power_import_w", "power_export_w", "reactive_power_import_var",
                                       "reactive_power_export_var", "current_l1_a", "current_l2_a",
                                       "current_l3_a", "voltage_l1_v", "voltage_l2_v", "voltage_l3_v")}
    values["power_import_w"] = Decimal(1500)
    body = meters.kamstrup(1, 3, values, meter_id="5706567274389702", meter_type="6841131BN243101040")
    h = meters.HEADER["kamstrup"]
    plain = dlms.data_notification(body, h["invoke_id"], None, "none")
    ciphered = dlms.glo_cipher(plain, KEY, TITLE, counter, 0x30, AUTH)
    return hdlc.frame(hdlc.llc(ciphered), h["dst"], h["src"], h["control"])


def dongle(tmp_path, meter, **meter_cfg):
    c = {"board": "unix", "admin_password": "admin-Secret-789",
         "wifi": {"ssid": "home", "password": "wifi-Secret-123"},
         "meter": dict({"port": "tcp://127.0.0.1:%d" % meter.port}, **meter_cfg)}
    d = Dongle(tmp_path, c)
    wait_until(meter.connected, 15, what="the dongle to connect to the meter")
    return d


def feed(meter, make, seconds, period=0.5):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        meter.send(make(n))
        n += 1
        time.sleep(period)


def hint(d):
    status, body = d.json("/api/reading")
    assert status == 503
    return body["hint"]


# --- 2: an encrypted meter without its key, or with a wrong one -----------------

def test_encrypted_meter_without_key_stops_the_search_and_says_so(tmp_path):
    """Auto-detection starts at 115200-8N1-inv; the meter (an encrypted
    Kamstrup) is at 2400-8N1-inv. Its frames pass their FCS there though
    they cannot be read: the search stops on that setting, and the status,
    the hint and the stored setting say so, steadily."""
    meter = Meter("2400-8N1-inv")
    d = dongle(tmp_path, meter, serial="auto", invert="auto")
    try:
        def found():
            meter.send(encrypted_kamstrup(int(time.time())))
            s = d.status()
            return s if not s["serial"]["searching"] else None
        s = wait_until(found, 90, step=0.5, what="the search to stop")
        assert s["serial"]["setting"] == "2400-8N1-inv"
        for _ in range(4):                     # steadily: past a whole dwell of the old search
            feed(meter, lambda n: encrypted_kamstrup(1000 + n), 4)
            s = d.status()
            assert s["serial"]["searching"] is False and s["serial"]["setting"] == "2400-8N1-inv"
            assert s["last_error"].startswith("encrypted: set the key"), s["last_error"]
            assert hint(d).startswith("encrypted: set the key")
            assert s["frames"]["key_required"] > 0 and s["frames"]["frames_ok"] == 0
        assert json.loads((d.dir / "config.json").read_text())["meter"]["detected"] == "2400-8N1-inv"
        assert "meter: frames recognised at 2400-8N1-inv" in d.log()
    finally:
        d.stop()
        meter.close()


def test_wrong_key_is_named(tmp_path):
    meter = Meter()
    d = dongle(tmp_path, meter, serial="2400-8N1", invert=False,
               key="ff" * 16, auth_key=AUTH.hex())
    try:
        feed(meter, lambda n: encrypted_kamstrup(n + 1), 2)
        s = wait_until(lambda: (lambda s: s if s["frames"]["auth_failures"] else None)(d.status()),
                       what="refused frames")
        assert s["last_error"].startswith("wrong key"), s["last_error"]
        assert hint(d).startswith("wrong key")
    finally:
        d.stop()
        meter.close()


def test_right_key_reads_and_no_old_error_stays(tmp_path):
    meter = Meter()
    d = dongle(tmp_path, meter, serial="2400-8N1", invert=False, key=KEY.hex(), auth_key=AUTH.hex())
    try:
        meter.send(b"\x7e\xa0\x10garbage-before\x7e" * 3)      # a damaged start: an error first
        wait_until(lambda: d.status()["last_error"], what="the first error")

        def read():
            meter.send(encrypted_kamstrup(int(time.time())))
            return d.get("/api/reading")[0] == 200
        wait_until(read, what="a reading")
        assert d.json("/api/reading")[1]["values"]["power_import_w"] == 1500
        assert d.status()["last_error"] is None          # cleared once the meter decodes
    finally:
        d.stop()
        meter.close()


# --- 3: a wrong fixed inversion -------------------------------------------------

def test_bytes_that_never_frame_point_at_inversion_and_speed(tmp_path):
    """invert: false against an inverted P1 line: bytes arrive, nothing
    frames. After a dwell the status and the hint name the likely causes."""
    from encoders.household import Household
    from encoders.p1 import swedish_telegram
    from datetime import datetime
    meter = Meter("115200-8N1-inv")
    d = dongle(tmp_path, meter, serial="115200-8N1", invert=False)
    h = Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)
    try:
        meter.send(swedish_telegram(h))
        wait_until(lambda: d.status()["serial"]["bytes"] > 0, what="bytes")
        assert "no error yet" in hint(d) or "likely" not in hint(d)     # not before a dwell
        feed(meter, lambda n: swedish_telegram(h), 13, period=1)
        s = d.status()
        assert s["frames"]["frames_ok"] == 0
        for text in (s["last_error"], hint(d)):
            assert "nothing frames at 115200-8N1" in text, text
            assert "inversion (meter.invert)" in text and "speed (meter.serial)" in text
    finally:
        d.stop()
        meter.close()


# --- 1 and 11: discovery as Home Assistant takes it today -----------------------

def test_every_discovery_config_meets_the_documented_schema():
    sys.path.insert(0, str(ROOT / "firmware"))
    try:
        from dongle import ha
        from hanport import fields
    finally:
        sys.path.pop(0)
    dev = ha.device("abc123", "HAN abc123", None, "0.1.0", "http://hanport-abc123.local/")
    docs = [json.loads(ha.sensor(i, "abc123", "han/abc123", "homeassistant", dev)[1])
            for i in range(fields.COUNT)]
    docs += [json.loads(ha.energy_sensor(row, "abc123", "han/abc123", "homeassistant", dev)[1])
             for row in ha.ENERGY]
    for doc in docs:
        assert ha_schema.check(doc) == [], doc
        assert doc["o"]["name"] == "hanport" and doc["o"]["sw"] == "0.1.0"
    # the schema catches what Core 2026.4 refuses
    old = dict(docs[0], obj_id=docs[0]["uniq_id"])
    assert any("obj_id" in p for p in ha_schema.check(old))
    assert ha_schema.check({"name": "x"}) == ["state_topic: required"]


# --- 10: the page shows only what belongs to the state of now -------------------

def test_page_says_encrypted_and_shows_no_old_estimate(tmp_path, browser):
    from selenium.webdriver.common.by import By
    meter = Meter()
    d = dongle(tmp_path, meter, serial="2400-8N1", invert=False)
    try:
        feed(meter, lambda n: encrypted_kamstrup(n + 1), 2)
        wait_until(lambda: d.status()["frames"]["key_required"], what="encrypted frames")
        drv = browser
        drv.get("http://127.0.0.1:%d/" % d.http_port)

        def shown():
            meter.send(encrypted_kamstrup(int(time.time())))
            t = drv.find_element(By.ID, "hint").text
            return t if t.startswith("encrypted: set the key") else None
        wait_until(shown, 20, step=0.5, what="the hint on the page")
        body = drv.find_element(By.TAG_NAME, "body").text
        assert "Waiting for the first frame" in body
        energy = drv.find_element(By.ID, "en").text
        assert "estimated" not in energy and "the hour and month figures come back with the first one" in energy
    finally:
        d.stop()
        meter.close()


from test_webpage import browser  # noqa: E402,F401  (the Chromium fixture)
