"""The firmware on the virtual dongle (MicroPython unix port), against a
meter on its UART (TCP), a real mosquitto and real HTTP/MQTT clients."""
import json
import re
import time
from datetime import datetime
from decimal import Decimal

import pytest

import ha_schema
from testkit.config import dongle_config, merge
from testkit.rawhttp import connect, exchange, status_of
from testkit.rig import Broker, Dongle, Meter, Subscriber, wait_until
from encoders import meters
from encoders.household import Household
from encoders.p1 import swedish_telegram

SECRETS = {"wifi": "wifi-Secret-123", "mqtt": "mqtt-Secret-456",
           "key": "0123456789abcdef0123456789abcdef", "auth": "fedcba9876543210fedcba9876543210",
           "admin": "admin-Secret-789"}


def cfg(wire, broker=None, **extra):
    """A P1 dongle with every secret set, publishing to broker (or to no
    one); extra merged in (testkit.config.merge)."""
    mqtt = {} if broker else {"host": "", "port": 0}
    c = dongle_config(wire, "p1", broker, wifi=SECRETS["wifi"], admin_password=SECRETS["admin"],
                      meter={"key": SECRETS["key"], "auth_key": SECRETS["auth"]},
                      mqtt=dict(mqtt, password=SECRETS["mqtt"], user="u"))
    return merge(c, extra)


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(broker=False, meter_setting=None, **extra):
        b = Broker(tmp_path) if broker else None
        m = Meter(meter_setting)
        d = Dongle(tmp_path, cfg(m, b, **extra))
        made.append((d, m, b))
        wait_until(m.connected, 15, what="the dongle to connect to the meter")
        return d, m, b
    yield make
    for d, m, b in made:
        d.stop()
        m.close()
        if b:
            b.stop()


def household():
    return Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)


def no_secrets(*texts):
    for t in texts:
        t = t if isinstance(t, str) else t.decode("utf-8", "replace")
        for s in SECRETS.values():
            assert s not in t


def test_p1_reading_over_http_and_mqtt_with_discovery(rig):
    d, meter, broker = rig(broker=True)
    sub = Subscriber(broker.port)
    try:
        h = household()
        base = "han/" + d.device_id[-6:]
        wait_until(lambda: sub.on(base + "/status") and sub.on(base + "/status")[-1][1] == b"online",
                   what="online status")
        assert sub.on(base + "/status")[-1][2]           # retained
        meter.send(swedish_telegram(h))
        status, reading = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(d.json("/api/reading")),
                                     what="a reading")
        v = reading["values"]
        assert Decimal(str(v["energy_import_kwh"])) == Decimal(h.import_wh).scaleb(-3)
        assert v["power_import_w"] == h.power_import_w
        assert Decimal(str(v["voltage_l1_v"])) == Decimal(h.voltage_dv[0]).scaleb(-1)
        assert reading["meter"]["protocol"] == "p1" and reading["age_s"] <= 2

        def in_order(pairs):                # every name once, in order, at every level (as jsonw writes)
            names = [k for k, _ in pairs]
            assert names == sorted(set(names)), names
            return dict(pairs)
        st = json.loads(d.get("/api/status")[2], object_pairs_hook=in_order)
        assert st["frames"]["frames_ok"] == 1 and st["last_error"] is None and st["mqtt"]["connected"] is True
        assert len(st) == 28 and st["hostname"] == "hanport-" + d.device_id[-6:]
        state = wait_until(lambda: sub.last_json(base + "/state"), what="MQTT state")
        assert state["values"] == v
        # discovery: one retained config per field sent, Energy-dashboard ready
        prefix = "homeassistant/sensor/%s/" % d.device_id[-6:]
        wait_until(lambda: len([m for m in sub.messages if m[0].startswith(prefix)]) >= len(v),
                   what="discovery configs")
        configs = {m[0][len(prefix):-len("/config")]: (json.loads(m[1]), m[2])
                   for m in sub.messages if m[0].startswith(prefix)}
        energy_keys = {"hour_estimate_kwh", "today_import_kwh", "month_import_kwh", "month_peak_kwh",
                       "top_average_kw", "warning"}
        assert set(configs) == set(v) | energy_keys
        # every config as Home Assistant of today takes it (its documented schema)
        for key, (c, _) in configs.items():
            assert ha_schema.check(c) == [], (key, c)
            assert c["def_ent_id"] == "sensor.hanport_%s_%s" % (d.device_id[-6:], key)
            assert c["o"] == {"name": "hanport", "sw": c["dev"]["sw"],
                              "url": "http://hanport-%s.local:%d/" % (d.device_id[-6:], d.http_port)}
            assert c["exp_aft"] == (180 if key in energy_keys else 60)
        assert configs["month_import_kwh"][0]["stat_t"] == base + "/energy"
        summary = wait_until(lambda: sub.last_json(base + "/energy"), what="the energy summary")
        assert summary["ready"] is True
        assert {"month_peak_hour", "capacity_step", "top_n"} <= set(summary)
        e = configs["energy_import_kwh"][0]
        late = Subscriber(broker.port, prefix + "#")     # retained: a late subscriber gets them
        wait_until(lambda: len(late.messages) >= len(v), what="retained configs")
        assert all(m[2] for m in late.messages)
        late.close()
        assert (e["dev_cla"], e["stat_cla"], e["unit_of_meas"]) == ("energy", "total_increasing", "kWh")
        assert e["stat_t"] == base + "/state" and e["avty_t"] == base + "/status"
        assert e["val_tpl"] == "{{ value_json['values']['energy_import_kwh'] }}"
        assert e["dev"]["ids"] == ["hanport_" + d.device_id[-6:]] and e["dev"]["sw"]
        assert configs["power_import_w"][0]["dev_cla"] == "power"
        assert configs["voltage_l1_v"][0]["unit_of_meas"] == "V"
        assert configs["current_l2_a"][0]["dev_cla"] == "current"
        assert configs["reactive_energy_export_kvarh"][0]["unit_of_meas"] == "kvarh"
        # Home Assistant restarts: configs are sent again
        n = len(sub.on(prefix + "power_import_w/config"))
        sub.publish("homeassistant/status", "online")
        wait_until(lambda: len(sub.on(prefix + "power_import_w/config")) > n, what="re-announce")
        no_secrets(*[m[1] for m in sub.messages])
    finally:
        sub.close()


PROM_LINE = re.compile(r'^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"\})? -?[0-9.]+)$')


def test_binary_aidon_frames_merge_and_metrics(rig):
    d, meter, _ = rig(meter={"serial": "2400-8E1", "invert": False})
    list1 = meters.push("aidon", meters.aidon(1, 3, {"power_import_w": Decimal(1234)}))
    values = {"power_import_w": Decimal(2000), "power_export_w": Decimal(0),
              "reactive_power_import_var": Decimal(10), "reactive_power_export_var": Decimal(0),
              "current_l1_a": Decimal("-5.1"), "current_l2_a": Decimal("1.2"), "current_l3_a": Decimal(3),
              "voltage_l1_v": Decimal("231.2"), "voltage_l2_v": Decimal("230.0"), "voltage_l3_v": Decimal("229.9")}
    list2 = meters.push("aidon", meters.aidon(2, 3, values, meter_id="7359992890497997", meter_type="6534"))
    meter.send(list2)
    wait_until(lambda: d.get("/api/reading")[0] == 200, what="list 2")
    meter.send(list1)
    wait_until(lambda: d.json("/api/reading")[1]["values"]["power_import_w"] == 1234, what="list 1")
    r = d.json("/api/reading")[1]
    # list 1 replaced P+, list 2's other values stay
    assert r["values"]["current_l1_a"] == -5.1 and r["values"]["voltage_l1_v"] == 231.2
    assert r["meter"] == {"protocol": "dlms", "manufacturer": "ADN", "id": "7359992890497997",
                          "model": "6534", "list": "AIDON_V0001", "version": None}
    status, headers, text = d.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = text.decode().strip().split("\n")
    assert all(PROM_LINE.match(line) for line in lines), [x for x in lines if not PROM_LINE.match(x)]
    metrics = dict(line.rsplit(" ", 1) for line in lines if not line.startswith("#"))
    assert metrics["hanport_power_import_w"] == "1234"
    assert metrics["hanport_current_l1_a"] == "-5.1"
    assert metrics['hanport_frames_total{result="frames_ok"}'] == "2"
    no_secrets(text)


def test_broken_frame_counted_previous_reading_kept(rig):
    d, meter, _ = rig()
    h = household()
    good = swedish_telegram(h)
    meter.send(good)
    wait_until(lambda: d.get("/api/reading")[0] == 200, what="a reading")
    first = d.json("/api/reading")[1]["values"]
    bad = bytearray(swedish_telegram(h))
    bad[40] ^= 0x01                       # one bit: CRC mismatch
    meter.send(bytes(bad))
    wait_until(lambda: d.status()["frames"]["crc_errors"] == 1, what="the CRC error")
    s = d.status()
    assert s["frames"]["frames_ok"] == 1 and s["last_error"] == "P1 CRC mismatch"
    assert d.json("/api/reading")[1]["values"] == first


def test_broker_restart_publishing_resumes(rig):
    d, meter, broker = rig(broker=True)
    sub = Subscriber(broker.port)
    h = household()
    base = "han/" + d.device_id[-6:]
    sent = 0
    try:
        wait_until(lambda: d.status()["mqtt"]["connected"], what="MQTT")
        for _ in range(3):
            meter.send(swedish_telegram(h))
            h.advance(10)
            sent += 1
            time.sleep(0.3)
        sub.close()
        broker.stop()
        for _ in range(5):                    # the meter goes on while the broker is away
            meter.send(swedish_telegram(h))
            h.advance(10)
            sent += 1
            time.sleep(0.3)
        wait_until(lambda: d.status()["frames"]["frames_ok"] == sent, what="all frames decoded")
        st = d.status()
        assert not st["mqtt"]["connected"] and st["mqtt"]["last_error"]
        broker.start()
        sub = Subscriber(broker.port)
        wait_until(lambda: d.status()["mqtt"]["connected"], 90, what="reconnect")
        meter.send(swedish_telegram(h))
        sent += 1
        want = h.import_wh
        state = wait_until(lambda: (lambda s: s if s and Decimal(str(s["values"]["energy_import_kwh"]))
                                    == Decimal(want).scaleb(-3) else None)(sub.last_json(base + "/state")),
                           what="publishing after the restart")
        assert state["meter"]["protocol"] == "p1"
        wait_until(lambda: sub.on(base + "/status") and sub.on(base + "/status")[-1][1] == b"online",
                   what="online again")
        assert d.status()["frames"]["frames_ok"] == sent
        assert d.status()["mqtt"]["connects"] == 2
    finally:
        sub.close()


def test_auto_detect_finds_the_meters_setting(rig):
    """The dongle starts at 115200-8N1-inv (board default); the meter is an
    M-Bus meter behind an inverting adapter, 2400 8E1: frames only decode
    once the dongle gets there. Then it keeps the setting in config.json."""
    d, meter, _ = rig(meter_setting="2400-8E1-inv", meter={"serial": "auto", "invert": "auto"})
    frame = meters.push("aidon", meters.aidon(1, 3, {"power_import_w": Decimal(777)}))
    assert d.status()["serial"]["searching"]

    def found():
        meter.send(frame)
        return d.get("/api/reading")[0] == 200
    wait_until(found, 150, step=1, what="detection")
    wait_until(lambda: meter.send(frame) and not d.status()["serial"]["searching"], 20, step=1,
               what="the search to end")
    s = d.status()
    assert s["serial"] == {"setting": "2400-8E1-inv", "searching": False, "auto": True, "bytes": s["serial"]["bytes"],
                           "out_of_memory": 0}
    saved = json.loads((d.dir / "config.json").read_text())
    assert saved["meter"]["detected"] == "2400-8E1-inv" and saved["meter"]["serial"] == "auto"
    assert d.json("/api/reading")[1]["values"]["power_import_w"] == 777
    # a reboot starts at the stored setting
    d.stop()
    meter.drop()
    d.start()
    wait_until(lambda: meter.dongle_setting == "2400-8E1-inv", 10, what="the stored setting first")


# what a bad request is told (http.py's texts, loaded to answer one: httpwhy.py)
WHY = {400: "malformed request line", 431: "request headers longer than 2048 bytes",
       414: "request line longer than 512 bytes", 413: "request body longer than 2048 bytes"}


def test_bad_http_requests(rig):
    d, meter, _ = rig()
    meter.send(swedish_telegram(household()))
    wait_until(lambda: d.get("/api/reading")[0] == 200, what="a reading")
    p = d.http_port
    # a client that never finishes holds only its own connection
    slow = connect(p, b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    cases = [
        (b"\x00\xff\x13garbage\r\n\r\n", 400),
        (b"GET /api/reading HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /nope HTTP/1.1\r\n\r\n", 404),
        (b"DELETE /api/reading HTTP/1.1\r\n\r\n", 405),
        (b"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Content-Length: 999999\r\n\r\n", 413),
        (b"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Content-Length: 26\r\n\r\ncurrent_password=wrong1234", 401),
    ]
    bodies = []
    for req, want in cases:
        resp, _ = exchange(p, req)
        assert status_of(resp) == want, (req[:40], resp[:200])
        body = json.loads(resp.split(b"\r\n\r\n", 1)[1])
        assert body["status"] == want and body["error"] == WHY.get(want, body["error"]), body
        bodies.append(resp)
    # the endpoints a user reads are served meanwhile
    assert d.get("/api/reading")[0] == 200
    for path in ("/", "/api/status", "/api/config", "/metrics", "/setup", "/api/reading"):
        status, _, body = d.get(path)
        assert status == 200
        bodies.append(body)
    no_secrets(*bodies)
    assert json.loads(d.get("/api/config")[2])["meter"]["key"] == "(set)"
    # the slow client gets a timeout, not the server's attention forever
    slow.settimeout(10)
    resp = b""
    while True:                 # (to the end: the head and the body may come apart)
        chunk = slow.recv(4096)
        if not chunk:
            break
        resp += chunk
    assert b" 408 " in resp.split(b"\r\n")[0] and b'"request not complete within 5 s"' in resp
    slow.close()
    assert d.status()["frames"]["frames_ok"] == 1


def test_too_many_connections_refused_cleanly(rig):
    d, meter, _ = rig()
    held = [connect(d.http_port, b"GET / HTTP/1.1\r\n") for _ in range(4)]
    time.sleep(0.3)
    resp, _ = exchange(d.http_port, b"GET /api/status HTTP/1.1\r\n\r\n")
    assert b" 503 " in resp.split(b"\r\n")[0] and b"Retry-After" in resp
    for s in held:
        s.close()
    wait_until(lambda: d.get("/api/status")[0] == 200, what="service after the flood")


@pytest.mark.parametrize("raw,problem", [
    (None, "config.json missing"),
    ("{not json", "not valid JSON"),
    ('{"wifi": "x", "mqtt": {"port": "high"}, "meter": {"serial": "300-5N2"}, "bogus": 1}', "wifi: must be an object"),
])
def test_missing_or_corrupt_config_starts_with_defaults(tmp_path, raw, problem):
    d = Dongle(tmp_path, raw_config=raw)
    try:
        s = d.status()
        assert not s["config"]["ok"]
        assert any(problem in p for p in s["config"]["problems"]), s["config"]["problems"]
        assert s["wifi"]["setup_ap"] is True          # unconfigured: setup network open
        assert s["mqtt"]["enabled"] is False and s["serial"]["searching"] is True
        if raw and "bogus" in raw:
            ps = " | ".join(s["config"]["problems"])
            assert "mqtt.port: wrong type" in ps and "meter.serial: must be auto" in ps and "bogus: unknown" in ps
        assert d.get("/setup")[0] == 200
    finally:
        d.stop()


def test_setup_form_writes_config_and_reboots(tmp_path):
    d = Dongle(tmp_path, raw_config=None)
    try:
        form = ("wifi_ssid=My+Home&wifi_password=%s&mqtt_host=10.0.0.2&mqtt_port=1883&board=unix"
                "&meter_serial=auto&admin_password=%s&meter_key=%s" % (
                    SECRETS["wifi"], SECRETS["admin"], SECRETS["key"]))
        status, _, body = d.get("/setup", "POST", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        d.proc.wait(10)
        assert d.proc.returncode == 75                 # "reboot me" to the runner
        saved = json.loads((d.dir / "config.json").read_text())
        assert saved["wifi"] == {"ssid": "My Home", "password": SECRETS["wifi"]}
        assert saved["mqtt"]["host"] == "10.0.0.2" and saved["admin_password"] == SECRETS["admin"]
        assert saved["meter"]["key"] == SECRETS["key"]
        d.start()
        s = d.status()
        assert s["config"]["configured"] and s["wifi"]["setup_ap"] is False
        # now configured: changes need the admin password
        status, _, body = d.get("/setup", "POST", "wifi_ssid=evil&admin_password=x2345678",
                                {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 401
        no_secrets(body, d.get("/setup")[2], d.get("/api/status")[2], d.log())
    finally:
        d.stop()
