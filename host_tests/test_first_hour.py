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

import ha_schema
from encoders import dlms, hdlc, meters
from testkit.config import dongle_config
from testkit.rig import ROOT, Dongle, Meter, wait_until

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
    docs = [json.loads("".join(ha.sensor(i, "abc123", "han/abc123", "homeassistant", dev)[1]))
            for i in range(fields.COUNT)]
    docs += [json.loads("".join(ha.energy_sensor(row, "abc123", "han/abc123", "homeassistant", dev)[1]))
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


# --- 4, 5, 6, 7, 8, 12: the make targets and tools -------------------------------

def make(*args, **kw):
    r = subprocess.run(["make", "--no-print-directory"] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300, **kw)
    return r.returncode, r.stdout


def http_up(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def test_config_deploy_restart_as_the_readme_says(tmp_path):
    """The README's virtual-dongle example as written: vdongle.py makes its
    --dir; make config asks for meter.port, states the port range and
    clears an answer with "-"; make deploy shows the start and keeps the
    setup-network password in the config file; mpremote fs ls stops the
    firmware and make restart starts it again; a BOARD that differs from
    the dongle's config is warned about."""
    from testkit.rig import free_port
    meter = Meter()
    flash, pty = tmp_path / "flash", tmp_path / "dongle.pty"      # flash: not made beforehand
    http_port = free_port()
    vd = subprocess.Popen([sys.executable, "tools/vdongle.py", "--dir", str(flash), "--link", str(pty),
                           "--http-port", str(http_port), "--device-id", "0badc0ffee18"], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(pty.exists, 20, what="the virtual dongle's pty")
        cfg = tmp_path / "config-unix.json"
        answers = ["unix", "home", "wifi-pass-1", "127.0.0.1", "99999", "1883", "",
                   "tcp://127.0.0.1:%d" % meter.port, "2400-8E1", "", "admin-pass-1"]
        rc, text = make("config", "CONFIG=%s" % cfg, input="\n".join(answers) + "\n")
        assert rc == 0, text
        assert "from 0 to 65535" in text and "Meter port" in text
        c = json.loads(cfg.read_text())
        assert c["mqtt"]["host"] == "127.0.0.1" and c["meter"]["port"] == "tcp://127.0.0.1:%d" % meter.port
        rc, text = make("config", "CONFIG=%s" % cfg, input="\n\n\n-\n" + "\n" * 8)   # "-": no MQTT
        assert rc == 0, text
        assert "- clears" in text
        c = json.loads(cfg.read_text())
        assert c["mqtt"]["host"] == "" and c["meter"]["port"] == "tcp://127.0.0.1:%d" % meter.port

        rc, out = make("build", "BOARD=unix")
        assert rc == 0, out
        rc, out = make("deploy", "PORT=%s" % pty, "BOARD=unix", "CONFIG=%s" % cfg)
        assert rc == 0, out
        assert "hanport 0.1.0 on unix, board unix" in out and "http: listening on port %d" % http_port in out, out
        pw = json.loads(cfg.read_text())["setup"]["ap_password"]
        assert len(pw) == 12 and "setup network password (WPA2): %s" % pw in out
        assert "kept in %s" % cfg in out
        assert http_up(http_port)
        rc, out = make("deploy", "PORT=%s" % pty, "BOARD=unix", "CONFIG=%s" % cfg)
        assert rc == 0, out
        assert "setup network password (WPA2): %s (from" % pw in out          # the same one
        assert json.loads((flash / "config.json").read_text())["setup"]["ap_password"] == pw

        # mpremote fs ls stops the firmware (raw REPL); make restart starts it again
        mpremote = str(ROOT / ".venv" / "bin" / "mpremote")
        r = subprocess.run([mpremote, "connect", str(pty), "fs", "ls"], capture_output=True, text=True,
                           timeout=60)
        assert "main.py" in r.stdout
        wait_until(lambda: not http_up(http_port), 10, what="the firmware to stop")
        rc, out = make("restart", "PORT=%s" % pty)
        assert rc == 0, out
        assert "http: listening on port" in out and "the firmware runs" in out
        wait_until(lambda: http_up(http_port), 10, what="the firmware to run again")

        # another BOARD without CONFIG: the dongle's config is kept, and deploy says so
        r = subprocess.run([sys.executable, "tools/deploy.py", "--port", str(pty), "--board", "esp32-devkitc"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "WARNING: the dongle's config.json says board unix and is kept" in r.stdout
        assert json.loads((flash / "config.json").read_text())["board"] == "unix"
    finally:
        vd.terminate()
        vd.wait(10)
        meter.close()


def test_flash_names_a_real_readme_section_and_refuses_another_chips_image():
    rc, text = make("flash", "PORT=/dev/ttyUSB7", "CHIP=esp32")
    assert rc != 0
    section = text.split("see README: ")[1].split(",")[0]
    assert "## " + section in (ROOT / "README.md").read_text()
    rc, text = make("flash", "PORT=/dev/ttyUSB7", "CHIP=esp32c3", "FIRMWARE=ESP32_GENERIC-v1.23.0.bin",
                    "DRY_RUN=1")
    assert rc != 0 and "is the esp32 image, not one for CHIP=esp32c3" in text
    rc, text = make("flash", "PORT=/dev/ttyUSB7", "CHIP=esp32c3", "FIRMWARE=ESP32_GENERIC_C3-v1.23.0.bin",
                    "DRY_RUN=1")
    assert rc == 0, text


def test_build_ships_the_boards_of_its_chip_family():
    rc, out = make("build", "BOARD=esp32-devkitc")
    try:
        assert rc == 0, out
        shipped = sorted(p.name for p in (ROOT / "build" / "boards").iterdir())
        assert "esp32-devkitc.json" in shipped and "esp32s3-devkitc.json" in shipped
        assert "esp32c3-supermini.json" not in shipped and "unix.json" not in shipped
    finally:
        make("build", "BOARD=unix")


# --- 9: the setup form answers a browser with a page ------------------------------

def test_setup_form_errors_are_a_page_for_a_browser_and_nothing_is_used(tmp_path):
    meter = Meter()
    d = dongle(tmp_path, meter)
    try:
        before = (d.dir / "config.json").read_bytes()
        html = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html,*/*;q=0.8"}
        form = "current_password=admin-Secret-789&mqtt_port=x&meter_key=abc"
        status, headers, body = d.get("/setup", "POST", form, html)
        text = body.decode()
        assert status == 400 and headers["Content-Type"].startswith("text/html"), text
        assert "<h1>Not saved</h1>" in text and "nothing saved" in text and "mqtt_port: not a number" in text
        assert "meter.key: must be 32 hex" in text and "default used" not in text
        assert '<a href="/setup">' in text
        # a script gets JSON, as before
        status, headers, body = d.get("/setup", "POST", form,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 400 and json.loads(body)["error"].startswith("nothing saved")
        # no password field is not a wrong password: no lockout follows
        status, _, body = d.get("/setup", "POST", "mqtt_host=x", html)
        assert status == 401 and b"admin password is needed" in body
        status, _, _ = d.get("/setup", "POST", "current_password=wrong-one", html)
        assert status == 401                                   # not 429: nothing locked before
        assert (d.dir / "config.json").read_bytes() == before
    finally:
        d.stop()
        meter.close()


# --- 11: a Norwegian meter's energy comes with the hourly list --------------------

def test_discovery_announces_energy_only_once_the_meter_sent_it(tmp_path):
    """Aidon (Norway): list 1 every 2 s carries only P+; the registers come
    with list 3 once an hour. Until then no energy_import_kwh config is
    announced (Home Assistant would show a sensor with no value); with
    list 3 it is, and it meets the schema."""
    from datetime import datetime
    from testkit.rig import Broker, Subscriber
    broker = Broker(tmp_path)
    meter = Meter()
    d = None
    sub = Subscriber(broker.port)
    try:
        d = Dongle(tmp_path, dongle_config(meter, "aidon", broker, wifi="wifi-Secret-123",
                                           admin_password="admin-Secret-789"))
        wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        prefix = "homeassistant/sensor/%s/" % d.device_id[-6:]
        list1 = meters.push("aidon", meters.aidon(1, 3, {"power_import_w": Decimal(1234)}))

        def announced(key):
            return sub.on(prefix + key + "/config")
        wait_until(lambda: meter.send(list1) and announced("power_import_w"), what="list 1's config")
        for _ in range(3):
            meter.send(list1)
            time.sleep(0.5)
        assert not announced("energy_import_kwh")
        values = {f: Decimal(1) for f in meters.POWER_FIELDS + meters.CURRENT_FIELDS + meters.VOLTAGE_FIELDS}
        values.update(energy_import_kwh=Decimal("12345.67"), energy_export_kwh=Decimal(0),
                      reactive_energy_import_kvarh=Decimal(1), reactive_energy_export_kvarh=Decimal(0))
        list3 = meters.push("aidon", meters.aidon(3, 3, values, meter_id="7359992890497997", meter_type="6534",
                                                  clock=datetime(2026, 1, 15, 18, 0, 0)))
        wait_until(lambda: meter.send(list3) and announced("energy_import_kwh"), what="the energy config")
        cfg = json.loads(announced("energy_import_kwh")[-1][1])
        assert ha_schema.check(cfg) == [] and cfg["dev_cla"] == "energy"
    finally:
        sub.close()
        if d:
            d.stop()
        meter.close()
        broker.stop()
