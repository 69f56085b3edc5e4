"""Security (issue 9) on the virtual dongle, against a real meter stream,
a real mosquitto and real HTTP/MQTT clients:

  secrets      never in any HTTP response, MQTT message or log line, not even
               in part (every endpoint of web.py's route table is asked)
  admin        changes need the admin password; without one the dongle is
               read-only; wrong passwords are rate-limited
  setup AP     WPA2 with a random stored password, up only while
               unconfigured, asked for, or out of reach of the Wi-Fi
  MQTT TLS     the broker's certificate is verified against the CA in the
               config (and its name against the host): no fallback
"""
import ast
import json
import os
import re
import shutil
import socket
import subprocess
import time
from datetime import datetime
from urllib.parse import quote

import pytest

from encoders.household import Household
from encoders.p1 import swedish_telegram
from meter_sim import SimMeter
from testkit.mpy import ROOT
from testkit.config import dongle_config, merge
from testkit.constants import RESET_EXIT
from testkit.rawhttp import exchange, status_of
from testkit.rig import Broker, Dongle, Meter, Subscriber, wait_until
from testkit.rawhttp import routes, setup_request

# Distinctive values, of characters no encoding (JSON, HTML, URL) changes, so
# a leak through any of them would still show as the plain text.
WIFI_PW = "wQ7zK2pL9vXe"
MQTT_PW = "mV4tR8nX1cYb"
ADMIN_PW = "aD3hJ6sF0qUw"
AP_PW = "aP5gB9yN2eKr"
KEY = "3c9e1a7f5b2d8e4096f1a3c5e7092b4d"
AUTH_KEY = "b7d4f2e9c1a6083d5e7f9a2c4b6d8e0f"
PASSWORDS = (WIFI_PW, MQTT_PW, ADMIN_PW, AP_PW)
KEYS = (KEY, AUTH_KEY)
WINDOW = 8         # no run of this many characters of a secret may show


# --- what must never show ---------------------------------------------------

def needles():
    """(label, text) pairs to look for: each secret, and every run of WINDOW
    characters of it; keys in lower and upper case hex."""
    out = []
    for s in PASSWORDS:
        out += [(s, s[i:i + WINDOW]) for i in range(len(s) - WINDOW + 1)]
    for k in KEYS:
        for v in (k.lower(), k.upper()):
            out += [(k, v[i:i + WINDOW]) for i in range(len(v) - WINDOW + 1)]
    return out


def byte_needles():
    """The keys as raw bytes (a binary body), and their first 8 bytes."""
    out = []
    for k in KEYS:
        raw = bytes.fromhex(k)
        out += [(k, raw), (k, raw[:8]), (k, raw[-8:])]
    return out


def leaks(data):
    """The secrets that show in data (str or bytes), with what showed."""
    text = data.decode("latin-1") if isinstance(data, (bytes, bytearray)) else data
    raw = data if isinstance(data, (bytes, bytearray)) else data.encode("utf-8", "replace")
    hits = []
    for label, n in needles():
        if n in text:
            hits.append((label, n))
    for label, n in byte_needles():
        if n in raw:
            hits.append((label, n))
    return hits


def assert_no_secrets(where, data):
    hits = leaks(data)
    assert not hits, "secret in %s: %s" % (where, hits[:3])


def test_the_leak_check_itself_finds_leaks():
    """The checker must be able to fail: a whole secret, a part of one, a
    key in upper case or as bytes are all found; clean text is clean."""
    assert leaks("x" + WIFI_PW + "y")
    assert leaks("pass=" + ADMIN_PW[2:2 + WINDOW])
    assert leaks(json.dumps({"k": KEY.upper()[10:18]}))
    assert leaks(b"\x00" + bytes.fromhex(AUTH_KEY)[:8] + b"\x01")
    assert not leaks('{"admin_password": "(set)", "meter": {"key": "(set)"}}')


# --- the route table --------------------------------------------------------


def test_route_table_is_found():
    r = routes()
    assert {"/", "/api/reading", "/api/status", "/api/config", "/api/energy", "/metrics", "/setup"} <= set(r)
    assert r["/setup"] == ("GET", "POST")



def post_setup(port, form):
    return exchange(port, setup_request(form), finish=True)[0]


def household():
    return Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)


@pytest.fixture
def made():
    """Everything a test starts, stopped at its end (dongles first)."""
    things = []
    yield things
    for t in reversed(things):
        if isinstance(t, Dongle):
            t.stop()
    for t in reversed(things):
        if isinstance(t, Subscriber):
            t.close()
        elif isinstance(t, (Meter,)):
            t.close()
        elif isinstance(t, Broker):
            t.stop()


def full_config(meter, broker, **extra):
    """Every secret set: Wi-Fi, MQTT, the admin password, the setup AP's,
    and the meter's keys (its line set as an Aidon's, 2400-8E1)."""
    c = dongle_config(meter, "aidon", broker, wifi=WIFI_PW, admin_password=ADMIN_PW,
                      setup={"ap": "on", "ap_password": AP_PW}, mqtt={"user": "meter", "password": MQTT_PW},
                      meter={"key": KEY, "auth_key": AUTH_KEY})
    return merge(c, extra)


# --- 1. secrets never leave the device --------------------------------------

def test_no_secret_in_any_endpoint_mqtt_message_or_log_line(tmp_path, made):
    broker = Broker(tmp_path)
    made.append(broker)
    sub = Subscriber(broker.port)               # everything, from before the dongle starts
    made.append(sub)
    meter = Meter()
    made.append(meter)
    d = Dongle(tmp_path, full_config(meter, broker))
    made.append(d)
    base = "han/" + d.device_id[-6:]
    wait_until(meter.connected, 15, what="the dongle to connect to the meter")
    wait_until(lambda: d.status()["mqtt"]["connected"], what="MQTT")

    # encrypted and authenticated frames: the keys are really in use
    sim = SimMeter("kamstrup", start=datetime(2026, 1, 15, 16, 59, 30), key=KEY, auth_key=AUTH_KEY)
    frames = [sim.next_frame() for _ in range(5)]
    for f in frames:
        meter.send(f.data)
        time.sleep(0.2)
    wait_until(lambda: d.status()["frames"]["frames_ok"] == len(frames), what="the encrypted frames")
    last = frames[-1]
    reading = d.json("/api/reading")[1]
    assert str(reading["values"]["power_import_w"]) == last.values["power_import_w"]
    # frames the keys do not fit: a wrong key, and the right key with a
    # wrong authentication key (error paths that handle keys)
    wrong = SimMeter("kamstrup", start=datetime(2026, 1, 15, 17, 0, 30), key="11" * 16, auth_key="22" * 16)
    meter.send(wrong.next_frame().data)
    bad_auth = SimMeter("kamstrup", start=datetime(2026, 1, 15, 17, 0, 30), key=KEY, auth_key="33" * 16)
    meter.send(bad_auth.next_frame().data)
    wait_until(lambda: sum(d.status()["frames"].values()) >= len(frames) + 2, what="the refused frames")
    frames_status = d.status()["frames"]
    assert frames_status["frames_ok"] == len(frames) and frames_status["auth_failures"] >= 1, frames_status

    wait_until(lambda: sub.last_json(base + "/state"), what="the MQTT state")
    wait_until(lambda: sub.last_json(base + "/energy"), what="the MQTT energy summary")
    prefix = "homeassistant/sensor/%s/" % d.device_id[-6:]
    wait_until(lambda: [m for m in sub.messages if m[0].startswith(prefix)], what="discovery")
    n = len([m for m in sub.messages if m[0].startswith(prefix)])
    sub.publish("homeassistant/status", "online")       # Home Assistant restarted: announced again
    wait_until(lambda: len([m for m in sub.messages if m[0].startswith(prefix)]) >= 2 * n, what="re-announce")

    # every endpoint, every method it takes and some it does not
    port = d.http_port
    answers = []                                      # (what was asked, raw response)

    def ask(label, data):
        resp = exchange(port, data, finish=True)[0]
        assert resp.startswith(b"HTTP/1.0 "), (label, resp[:100])
        answers.append((label, resp))
        return status_of(resp)

    table = routes()
    for path, methods in table.items():
        if "GET" in methods:
            # (an admin route, /api/backup: refused without the password,
            # and what it gives with it searched for secrets too)
            pw = b"X-Admin-Password: %s\r\n" % ADMIN_PW.encode() if path == "/api/backup" else b""
            if pw:
                assert ask("GET no password " + path, b"GET %s HTTP/1.1\r\n\r\n" % path.encode()) == 401
            assert ask("GET " + path, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (path.encode(), pw)) == 200, path
            assert ask("GET gzip " + path, b"GET %s?x=1 HTTP/1.1\r\nAccept-Encoding: gzip\r\n%s\r\n"
                       % (path.encode(), pw)) == 200, path
        for m in methods:
            if m != "GET":          # whatever it takes besides GET, asked with nothing in it
                assert ask("%s empty %s" % (m, path), b"%s %s HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                           % (m.encode(), path.encode())) < 500, (m, path)
        for m in ("DELETE", "PUT", "HEAD", "OPTIONS", "POST"):
            if m not in methods:
                assert ask(m + " " + path, b"%s %s HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                           % (m.encode(), path.encode())) == 405, (m, path)
    # POST /setup: the right password but a broken form, a form of another
    # type, then wrong passwords (a near miss of the real one among them)
    assert ask("POST bad form", setup_request("current_password=%s&mqtt_port=abc" % ADMIN_PW)) == 400
    assert ask("POST json", b"POST /setup HTTP/1.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\n\r\n{}") == 400
    near = ADMIN_PW[:-1] + "x"
    assert ask("POST wrong password", setup_request("current_password=%s&wifi_ssid=evil" % near)) == 401
    assert ask("POST locked", setup_request("current_password=%s&wifi_ssid=evil" % near)) == 429
    # paths that are not there, the flash's own files among them
    for path in ("/nope", "/api", "/api/", "/api/config/", "/config.json", "/config.json.tmp",
                 "/../config.json", "/www/../config.json", "/boards/unix.json", "/energy.json",
                 "/setup/", "/SETUP", "/%2e%2e/config.json"):
        assert ask("GET " + path, b"GET %s HTTP/1.1\r\n\r\n" % path.encode()) == 404, path
    # bad requests
    for data, want in [
        (b"\x00\xff\x13garbage\r\n\r\n", 400),
        (b"GET /api/reading HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /api/status HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Content-Length: 999999\r\n\r\n", 413),
        (b"GET api/status HTTP/1.1\r\n\r\n", 400),
        (b"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         b"Content-Length: 10\r\n\r\n\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", 400),
    ]:
        assert ask(repr(data[:30]), data) == want, data[:40]
    # what was read: the config shows secrets as set, never as themselves
    cfg = json.loads(d.get("/api/config")[2])
    assert cfg["admin_password"] == cfg["wifi"]["password"] == cfg["mqtt"]["password"] == "(set)"
    assert cfg["meter"]["key"] == cfg["meter"]["auth_key"] == cfg["setup"]["ap_password"] == "(set)"
    assert d.status()["wifi"]["setup_ap"] is True        # the AP is up with its password in use

    late = Subscriber(broker.port)                       # retained messages, as a newcomer gets them
    made.append(late)
    wait_until(lambda: any(m[2] for m in late.messages), what="retained messages")
    time.sleep(0.5)
    d.stop()
    log = d.log()

    # everything collected: nothing of a secret anywhere
    assert len(answers) > 3 * len(table)
    for label, resp in answers:
        assert_no_secrets("HTTP " + label, resp)
    topics = {m[0] for m in sub.messages}
    assert {base + "/status", base + "/state", base + "/energy"} <= topics
    assert any(t.startswith(prefix) for t in topics)
    for topic, payload, retained in sub.messages + late.messages:
        assert_no_secrets("MQTT topic", topic)
        assert_no_secrets("MQTT %s" % topic, payload)
    assert "setup: wrong admin password" in log and "mqtt: connected" in log
    assert "setup network HAN-setup-" in log
    assert_no_secrets("the log", log)
    assert near not in log and near not in b"".join(r for _, r in answers).decode("latin-1")


def test_rejected_secret_values_are_not_echoed(tmp_path, made):
    """Values a config check refuses are not adopted, so log scrubbing does
    not know them: the problems must name the setting, never the value."""
    meter = Meter()
    made.append(meter)
    bad_key = "zz" + KEY[2:]                    # not hex
    short_ap = AP_PW[:7]                        # too short for WPA2
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW, setup={"ap": "on", "ap_password": short_ap},
                      meter={"port": "tcp://127.0.0.1:%d" % meter.port, "key": bad_key, "auth_key": AUTH_KEY[:30]})
    d = Dongle(tmp_path, c)
    made.append(d)
    s = d.status()
    problems = " | ".join(s["config"]["problems"])
    assert "meter.key: must be 32 hex digits" in problems and "setup.ap_password: must be at least 8" in problems
    wait_until(lambda: d.status()["wifi"]["setup_ap"], what="the setup AP")
    texts = [d.get(p)[2].decode("latin-1") for p in ("/api/status", "/api/config", "/setup", "/metrics")]
    d.stop()
    texts.append(d.log())
    for t in texts:
        assert bad_key not in t and bad_key[2:10] not in t and AUTH_KEY[:30][:WINDOW] not in t
        assert short_ap not in t


# --- 2. changes need the admin password -------------------------------------

def setup_form(**fields):
    return "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in fields.items())


def test_without_admin_password_the_dongle_is_read_only(tmp_path, made):
    """Configured (it has a Wi-Fi network) but no admin password: nothing
    can be changed over the network, not even over the setup AP."""
    c = dongle_config(wifi=WIFI_PW, setup={"ap": "on", "ap_password": AP_PW})
    d = Dongle(tmp_path, c)
    made.append(d)
    before = (d.dir / "config.json").read_bytes()
    assert d.status()["config"]["configured"]
    for form in (setup_form(wifi_ssid="evil", wifi_password="x" * 10, admin_password="new-admin-pw"),
                 setup_form(current_password="", admin_password="new-admin-pw", mqtt_host="10.6.6.6"),
                 setup_form(current_password=ADMIN_PW, admin_password=ADMIN_PW)):
        resp = post_setup(d.http_port, form)
        assert status_of(resp) == 403, resp[:200]
        assert b"read-only" in resp and b"admin_password" in resp
    time.sleep(1.5)                        # a change would reboot within a second
    assert d.proc.poll() is None
    assert (d.dir / "config.json").read_bytes() == before
    assert d.get("/setup")[0] == 200       # the form is still there to read


def test_wrong_admin_password_is_refused_and_rate_limited(tmp_path, made):
    """401 for a wrong password, then a lockout that doubles with each
    failure in a row (2 s, 4 s, ... web.LOCKOUT_MAX_S): while it lasts every
    attempt gets 429, the right password too. After it, the right password
    changes the setting and the dongle reboots."""
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW, mqtt={"password": MQTT_PW}, meter={"key": KEY})
    d = Dongle(tmp_path, c)
    made.append(d)
    path = d.dir / "config.json"
    before = path.read_bytes()
    change = dict(mqtt_host="10.9.8.7", mqtt_port="1883")
    right = setup_form(current_password=ADMIN_PW, **change)
    tried = (ADMIN_PW[:-1], ADMIN_PW + "x", ADMIN_PW.upper())

    def post(form):
        resp = post_setup(d.http_port, form)
        return status_of(resp), resp

    status, resp = post(setup_form(current_password=tried[1], **change))   # one character more
    assert status == 401 and b"wrong admin password" in resp, resp[:200]
    t1 = time.time()
    assert post(right)[0] == 429                                        # locked: even the right one
    wait_until(lambda: time.time() > t1 + 2.3, 5, step=0.05, what="the first lock (2 s) to end")
    assert post(setup_form(current_password=tried[0], **change))[0] == 401   # a prefix of it
    t2 = time.time()
    status, resp = post(setup_form(current_password=tried[2], **change))
    assert status == 429 and re.search(rb"try again in [1-4] s", resp), resp[:200]
    assert path.read_bytes() == before and d.proc.poll() is None
    # the second lock is longer than the first: 2.5 s on, still locked
    wait_until(lambda: time.time() > t2 + 2.5, 5, step=0.05, what="2.5 s")
    assert post(right)[0] == 429
    assert path.read_bytes() == before and d.proc.poll() is None
    # once it has expired, the right password changes the setting and reboots
    wait_until(lambda: time.time() > t2 + 4.3, 5, step=0.05, what="the second lock (4 s) to end")
    status, resp = post(right)
    assert status == 200, resp[:300]
    d.proc.wait(10)
    assert d.proc.returncode == RESET_EXIT          # "reboot me" to the runner
    saved = json.loads(path.read_text())
    assert saved["mqtt"]["host"] == "10.9.8.7"
    # secrets left empty in the form are kept
    assert saved["wifi"]["password"] == WIFI_PW and saved["mqtt"]["password"] == MQTT_PW
    assert saved["meter"]["key"] == KEY and saved["admin_password"] == ADMIN_PW
    log = d.log()
    assert "wrong admin password (2 in a row)" in log
    for t in tried:
        assert t not in log
    # after the reboot: the new setting is in use, the failure count is gone
    d.start()
    assert d.json("/api/config")[1]["mqtt"]["host"] == "10.9.8.7"
    assert post(setup_form(current_password="nope-nope", **change))[0] == 401


def test_the_admin_password_alone_reboots_without_saving(tmp_path, made):
    """POST /setup with nothing but the admin password: a reboot (the
    light way to restart a dongle, and what tools/soak.py uses under load),
    config.json untouched byte for byte; a wrong password reboots nothing."""
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW)
    d = Dongle(tmp_path, c)
    made.append(d)
    path = d.dir / "config.json"
    before = path.read_bytes()
    resp = post_setup(d.http_port, setup_form(current_password=ADMIN_PW + "x"))
    assert status_of(resp) == 401
    time.sleep(1.5)
    assert d.proc.poll() is None
    time.sleep(2.5)                          # (the lock after a wrong password: 2 s)
    resp = post_setup(d.http_port, setup_form(current_password=ADMIN_PW))
    assert status_of(resp) == 200 and b"reboots" in resp and b"new settings" not in resp, resp[:300]
    d.proc.wait(10)
    assert d.proc.returncode == RESET_EXIT          # "reboot me" to the runner
    assert path.read_bytes() == before
    assert "setup: reboot asked for" in d.log()
    d.start()
    assert d.status()["uptime_s"] < 5


def test_setup_form_never_shows_a_password(tmp_path, made):
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW, mqtt={"host": "127.0.0.1", "password": MQTT_PW},
                      meter={"key": KEY, "auth_key": AUTH_KEY}, setup={"ap_password": AP_PW})
    d = Dongle(tmp_path, c)
    made.append(d)
    status, _, page = d.get("/setup")
    page = page.decode()
    assert status == 200
    assert_no_secrets("the setup form", page)
    inputs = re.findall(r"<input [^>]*>", page)
    secret_inputs = {re.search(r'name="([^"]+)"', i).group(1): i for i in inputs if 'type="password"' in i}
    assert set(secret_inputs) == {"current_password", "wifi_password", "mqtt_password", "meter_key",
                                  "meter_auth_key", "admin_password"}
    for name, tag in secret_inputs.items():
        assert 'value=""' in tag, tag
    for name in ("wifi_password", "mqtt_password", "meter_key", "meter_auth_key", "admin_password"):
        after = page.split('name="%s"' % name, 1)[1]
        assert after.split("<label", 1)[0].count("set; leave empty to keep") == 1, name


def run_micropython(code):
    from testkit import mpy
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (ROOT / "lib", ROOT / "firmware"))
    r = subprocess.run([mpy.micropython(), "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_password_comparison_is_constant_time():
    """pages.equal gives the right answers (under MicroPython), walks the
    longer string whole whatever differs, and is what may_change uses:
    the password is compared nowhere with ==."""
    out = run_micropython(
        "from dongle.pages import equal\n"
        "cases = [('abcdefgh','abcdefgh'),('abcdefgh','abcdefgx'),('abcdefgh','xbcdefgh'),"
        "('abcdefgh','abcdefg'),('abcdefg','abcdefgh'),('',''),('','a'),('a',''),('\u00e5r','\u00e5r'),"
        "('\u00e5r','ar'),('abcdefgh\\x00','abcdefgh')]\n"
        "print([equal(a, b) == (a == b) for a, b in cases])\n")
    assert out.strip() == "[" + ", ".join(["True"] * 11) + "]"
    tree = ast.parse((ROOT / "firmware" / "dongle" / "pages.py").read_text())
    fns = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    eq = fns["equal"]
    # one loop over the longer length, no early exit
    loops = [n for n in ast.walk(eq) if isinstance(n, (ast.For, ast.While))]
    assert len(loops) == 1 and not [n for n in ast.walk(eq) if isinstance(n, (ast.Return, ast.Break))
                                    and n not in eq.body]
    may = fns["may_change"]
    calls = [n.func.id for n in ast.walk(may) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert "equal" in calls
    for c in ast.walk(may):
        if isinstance(c, ast.Compare):
            names = {n.id for n in ast.walk(c) if isinstance(n, ast.Name)}
            assert not ({"pw", "given"} & names and any(isinstance(o, (ast.Eq, ast.NotEq)) for o in c.ops))


# --- 3. the setup access point ----------------------------------------------

AP_LINE = re.compile(r"setup network password: (\S+)")


def test_unconfigured_dongle_opens_a_wpa2_setup_ap_with_a_random_password(tmp_path, made):
    broker = Broker(tmp_path)
    made.append(broker)
    sub = Subscriber(broker.port)
    made.append(sub)
    # unconfigured (no Wi-Fi network), but publishing: the AP password must not go out
    c = dongle_config(broker=broker, wifi=None)
    d = Dongle(tmp_path, c)
    made.append(d)
    wait_until(lambda: d.status()["wifi"]["setup_ap"], what="the setup AP")
    wait_until(lambda: AP_LINE.search(d.log()), what="the AP password on the console")
    pw = AP_LINE.search(d.log()).group(1)
    assert 8 <= len(pw) <= 63 and re.fullmatch(r"[a-z2-9]+", pw)
    assert "setup network HAN-setup-%s open (WPA2)" % d.device_id[-6:] in d.log()
    saved = json.loads((d.dir / "config.json").read_text())
    assert saved.get("setup", {}).get("ap_password") == pw     # kept for the next boot
    assert saved["mqtt"]["host"] == "127.0.0.1"                # the rest of the file untouched
    base = "han/" + d.device_id[-6:]
    wait_until(lambda: sub.on(base + "/status"), what="MQTT")
    s = d.status()
    assert s["config"]["configured"] is False
    texts = [d.get(p)[2] for p, m in routes().items() if "GET" in m]
    texts.append(json.dumps(s["log"]).encode())
    texts += [m[0].encode() + m[1] for m in sub.messages]
    for t in texts:
        assert pw.encode() not in t and pw[:WINDOW].encode() not in t
    # console line apart, the log does not carry it either
    log_without_console = AP_LINE.sub("", d.log())
    assert pw[:WINDOW] not in log_without_console
    assert d.json("/api/config")[1]["setup"]["ap_password"] == "(set)"
    # a second boot keeps the same password, and does not print it again
    d.stop()
    d.start()
    wait_until(lambda: d.status()["wifi"]["setup_ap"], what="the setup AP again")
    time.sleep(0.5)
    assert json.loads((d.dir / "config.json").read_text())["setup"]["ap_password"] == pw
    assert len(AP_LINE.findall(d.log())) == 0


def test_another_dongle_gets_another_ap_password(tmp_path):
    pws = []
    for i in range(2):
        d = Dongle(tmp_path / str(i), {"board": "unix"})
        try:
            wait_until(lambda: AP_LINE.search(d.log()), what="the AP password")
            pws.append(AP_LINE.search(d.log()).group(1))
        finally:
            d.stop()
    assert pws[0] != pws[1]


def test_setup_closes_the_ap(tmp_path, made):
    """First set-up over the AP (no admin password yet), then the reboot:
    the station connects and the AP stays closed."""
    d = Dongle(tmp_path, {"board": "unix"})
    made.append(d)
    wait_until(lambda: d.status()["wifi"]["setup_ap"], what="the setup AP")
    resp = post_setup(d.http_port, setup_form(wifi_ssid="home", wifi_password=WIFI_PW, board="unix",
                                              admin_password=ADMIN_PW))
    assert status_of(resp) == 200, resp[:300]
    d.proc.wait(10)
    assert d.proc.returncode == RESET_EXIT
    d.start()
    s = d.status()
    assert s["config"]["configured"] and s["wifi"]["connected"]
    for _ in range(3):                      # the Wi-Fi task looks every 2 s
        time.sleep(1.5)
        assert d.status()["wifi"]["setup_ap"] is False
    assert "setup network" not in d.log()
    # and changes now need the password that was set
    assert status_of(post_setup(d.http_port, setup_form(wifi_ssid="evil"))) == 401


@pytest.mark.parametrize("configured", [False, True])
def test_setup_ap_off_is_never_up(tmp_path, made, configured):
    c = dongle_config(wifi=WIFI_PW if configured else None, setup={"ap": "off"})
    d = Dongle(tmp_path, c)
    made.append(d)
    for _ in range(3):
        time.sleep(1.5)
        assert d.status()["wifi"]["setup_ap"] is False
    assert "setup network" not in d.log()


def test_setup_ap_on_stays_up_when_configured(tmp_path, made):
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW, setup={"ap": "on", "ap_password": AP_PW})
    d = Dongle(tmp_path, c)
    made.append(d)
    wait_until(lambda: d.status()["wifi"]["setup_ap"], what="the setup AP")
    time.sleep(2.5)
    assert d.status()["wifi"]["setup_ap"] is True and d.status()["wifi"]["connected"]
    assert AP_LINE.search(d.log()) is None          # its own password: not generated, not printed


def test_ap_opens_when_wifi_is_out_of_reach_and_closes_when_it_connects(tmp_path, made, monkeypatch):
    """A configured dongle whose network is away at boot opens the AP after
    the grace period, and closes it as soon as the station connects. The
    virtual station is held down HANPORT_WIFI_DOWN_S seconds after boot;
    HANPORT_WIFI_GRACE_S shortens the 300 s grace (unix platform only)."""
    monkeypatch.setenv("HANPORT_WIFI_DOWN_S", "9")
    monkeypatch.setenv("HANPORT_WIFI_GRACE_S", "3")
    c = dongle_config(wifi=WIFI_PW, admin_password=ADMIN_PW, setup={"ap_password": AP_PW})
    d = Dongle(tmp_path, c)
    made.append(d)
    s = d.status()
    assert s["wifi"]["connected"] is False and s["wifi"]["ip"] is None
    assert s["uptime_s"] > 3 or s["wifi"]["setup_ap"] is False           # within the grace: closed
    wait_until(lambda: d.status()["wifi"]["setup_ap"], 12, what="the AP after the grace period")
    assert d.status()["wifi"]["connected"] is False
    wait_until(lambda: d.status()["wifi"]["connected"], 15, what="the station")
    wait_until(lambda: not d.status()["wifi"]["setup_ap"], 5, what="the AP to close")
    log = d.log()
    assert log.index("setup network HAN-setup-") < log.index("setup network closed")
    assert "wifi: connecting to home" in log
    # by the log's own clock (seconds since boot): opened after the grace, closed once connected
    opened = float(re.search(r"^ *([0-9.]+) wifi: setup network HAN-setup-", log, re.M).group(1))
    closed = float(re.search(r"^ *([0-9.]+) wifi: setup network closed", log, re.M).group(1))
    assert 3 < opened < 9 <= closed < 12, (opened, closed)


# --- 4. MQTT over TLS, the broker verified ----------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(folder):
    """A throwaway CA, a broker certificate it signs for 127.0.0.1 and
    localhost, one it signs for another name, and an unrelated CA."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "other"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".pem",
                "-days", "2", "-subj", "/CN=Test %s" % ca, cwd=folder)
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("elsewhere", "DNS:mqtt.example.net")):
        (folder / (name + ".ext")).write_text("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                                              "extendedKeyUsage=serverAuth\n" % san)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=%s" % san.split(",")[0].split(":")[1], cwd=folder)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=folder)
    openssl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der", cwd=folder)
    (folder / "bundle.pem").write_text((folder / "other.pem").read_text() + (folder / "ca.pem").read_text())
    return folder


def test_ca_file_read_as_der_certificates(tmp_path):
    """MicroPython's ssl takes a CA as DER, one certificate at a time (the
    unix port's mbedtls cannot read PEM): dongle/pem.py makes them from PEM
    (several certificates, CRLF or not) or takes DER as it is."""
    import sys
    pki = make_pki(tmp_path / "pki")
    sys.path.insert(0, str(ROOT / "firmware"))
    try:
        from dongle.pem import certificates
    finally:
        sys.path.remove(str(ROOT / "firmware"))
    der = (pki / "ca.der").read_bytes()
    assert certificates(str(pki / "ca.pem")) == [der]
    assert certificates(str(pki / "ca.der")) == [der]
    (pki / "crlf.pem").write_bytes((pki / "bundle.pem").read_bytes().replace(b"\n", b"\r\n"))
    other = subprocess.run(["openssl", "x509", "-in", str(pki / "other.pem"), "-outform", "DER"],
                           capture_output=True, check=True).stdout
    assert certificates(str(pki / "crlf.pem")) == [other, der]
    (pki / "key.pem").write_bytes((pki / "ca.key").read_bytes())
    for path, words in (("", "mqtt.ca"), (str(pki / "missing.pem"), "cannot read"),
                        (str(pki / "key.pem"), "no certificate")):
        with pytest.raises(ValueError, match=words):
            certificates(path)


def tls_dongle(tmp, made, broker_port, ca_file, ca_name, device_id):
    meter = Meter()
    made.append(meter)
    c = dongle_config(meter, "p1", wifi=WIFI_PW, admin_password=ADMIN_PW,
                      mqtt={"host": "127.0.0.1", "port": broker_port, "tls": True, "ca": ca_name,
                            "user": "meter", "password": MQTT_PW})
    flash = tmp / device_id / "flash"               # the dongle's flash folder (rig.Dongle's dir)
    flash.mkdir(parents=True)
    if ca_file is not None:
        shutil.copy(ca_file, flash / ca_name)
    d = Dongle(tmp / device_id, c, device_id=device_id)
    made.append(d)
    assert d.dir == flash
    return d, meter


def test_mqtt_tls_verifies_the_broker(tmp_path, made):
    pki = make_pki(tmp_path / "pki")
    broker = Broker(tmp_path, tls=[(pki / "server.pem", pki / "server.key"),
                                   (pki / "elsewhere.pem", pki / "elsewhere.key")])
    made.append(broker)
    good_port, elsewhere_port = broker.tls_ports
    # the port speaks TLS only: a plain MQTT CONNECT gets no CONNACK
    s = socket.create_connection(("127.0.0.1", good_port), 5)
    s.settimeout(3)
    s.sendall(b"\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd")
    try:
        got = s.recv(4)
    except (socket.timeout, ConnectionResetError):
        got = b""
    s.close()
    assert not got.startswith(b"\x20")
    sub = Subscriber(broker.port)           # the plain listener of the same broker
    made.append(sub)
    cases = {   # device id: (CA file, its name in flash, the port, what must happen)
        "00000000aa01": (pki / "ca.pem", "ca.pem", good_port, "ok"),
        "00000000aa02": (pki / "bundle.pem", "ca-bundle.pem", good_port, "ok"),
        "00000000aa03": (pki / "ca.der", "ca.der", good_port, "ok"),
        "00000000bb01": (pki / "other.pem", "ca.pem", good_port, "not correctly signed by the trusted CA"),
        "00000000bb02": (pki / "ca.pem", "ca.pem", elsewhere_port, "does not match"),
        "00000000bb03": (None, "ca.pem", good_port, "ca.pem"),
    }
    dongles = {}
    for dev, (ca_file, name, port, _) in cases.items():
        dongles[dev] = tls_dongle(tmp_path, made, port, ca_file, name, dev)
    for dev, (d, meter) in dongles.items():
        wait_until(meter.connected, 15, what="meter of " + dev)
    h = household()
    for _ in range(3):
        h.advance(10)
        for d, meter in dongles.values():
            meter.send(swedish_telegram(h))
        time.sleep(0.3)
    for dev, (d, meter) in dongles.items():
        want = cases[dev][3]
        base = "han/" + dev[-6:]
        if want == "ok":
            wait_until(lambda: (sub.last_json(base + "/state") or {"values": {}})["values"].get(
                "power_import_w") == h.power_import_w, 30, what="the last state over TLS from " + dev)
            st = d.status()["mqtt"]
            assert st["connected"] and st["connects"] == 1 and st["last_error"] is None, st
            assert sub.on(base + "/status")[-1][1] == b"online"
    # the refusals: no connection, the reason in words, nothing published
    time.sleep(2)
    for dev, (d, meter) in dongles.items():
        want = cases[dev][3]
        if want == "ok":
            continue
        st = wait_until(lambda: (lambda m: m if m["failed"] >= 2 else None)(d.status()["mqtt"]), 30,
                        what="refusals by " + dev)
        assert not st["connected"] and st["connects"] == 0, st
        assert want in st["last_error"], st
        assert "\n" not in st["last_error"]
        assert "mqtt: cannot connect to 127.0.0.1" in d.log() and want in d.log()
        assert not [m for m in sub.messages if m[0].startswith("han/" + dev[-6:])]
        assert not [m for m in sub.messages if "/" + dev[-6:] + "/" in m[0]]
        assert d.status()["frames"]["frames_ok"] == 3           # reading goes on
    # a wrong CA is in words a person understands
    assert "certificate" in dongles["00000000bb01"][0].status()["mqtt"]["last_error"]
    assert "CA" in dongles["00000000bb03"][0].status()["mqtt"]["last_error"]
    for d, _ in dongles.values():
        d.stop()
        assert_no_secrets("the log", d.log())
