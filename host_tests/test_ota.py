"""Updates over Wi-Fi (issue 15), on the virtual dongle with real HTTP
clients: POST /api/update with make build's bundle, the slot picker
(firmware/main.py) and the trial (firmware/trial.py), rollbacks, power cuts
(SIGKILL) at each step of writing and switching, and backup/restore.

The dongle here reboots as a board does: platform.reset() (exit status 75)
starts it again, and so does a crash, as the watchdog would."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from testkit import mpy
from testkit import rig
from testkit.config import dongle_config
from testkit.constants import HEAP32, RESET_EXIT
from meter_sim import SimMeter

ROOT = mpy.ROOT
sys.path.insert(0, str(ROOT / "tools"))
import build  # noqa: E402

PASSWORD = "correct horse 1"
START = datetime(2026, 1, 15, 16, 59)


class Board(rig.Dongle):
    """rig.Dongle that comes back after a reset or a crash, and whose power
    can be cut (SIGKILL)."""

    def __init__(self, *a, **kw):
        self.auto = True
        self.boots = 0
        self.history = []
        self._lock = threading.Lock()
        super().__init__(*a, **kw)
        threading.Thread(target=self._keeper, daemon=True).start()

    def start(self, port=None):
        for _ in range(8):
            self.boots += 1
            try:
                return super().start(port)
            except AssertionError:          # exited before it listened (a rollback's reset)
                self.history.append(self.log())
                if self.proc.returncode is None:
                    raise
        raise AssertionError("the dongle does not come up:\n" + self.all_log()[-4000:])

    def _keeper(self):
        while True:
            time.sleep(0.1)
            with self._lock:
                p = self.proc
                if self.auto and p is not None and p.poll() is not None:
                    self.history.append(self.log())
                    try:
                        self.start()
                    except AssertionError:
                        pass

    def all_log(self):
        return "".join(self.history) + self.log()

    def power_cut(self):
        with self._lock:
            self.auto = False
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.history.append(self.log())

    def power_on(self):
        with self._lock:
            self.start()
            self.auto = True

    def stop(self):
        with self._lock:
            self.auto = False
            super().stop()


class Feeder:
    """The meter: a message every `period` s from a SimMeter, in a thread,
    through every reboot of the dongle."""

    def __init__(self, meter, period=0.2):
        self.meter = meter
        self.sim = SimMeter("p1", start=START)
        self.sent = 0
        self.period = period
        self._stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop.is_set():
            if self.meter.connected() and self.meter.send(self.sim.next_frame().data):
                self.sent += 1
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self.t.join(2)


def cfg(meter, window=8, boots=3, broker=None):
    """A P1 dongle publishing to broker, or to no one (no MQTT host)."""
    return dongle_config(meter, "p1", broker, wifi="wifi-secret", admin_password=PASSWORD,
                         mqtt={} if broker else {"host": ""},
                         update={"window_s": window, "boots": boots}, energy={"save_s": 5})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """make build's output for the virtual dongle, once: (build folder,
    bundle bytes)."""
    out = tmp_path_factory.mktemp("ota") / "build"
    os.environ["BUILD_ID"] = "testnew"
    try:
        build.build("unix", str(out), "x64")
    finally:
        del os.environ["BUILD_ID"]
    return out, (out / "hanport.bundle").read_bytes()


def variant(built, tmp_path, name, change=None, version="0.9.0", build_id="testnew"):
    """A copy of the build with firmware/dongle/<module> changed
    (change(source) -> source), bundled again: bundle bytes."""
    out = tmp_path / ("build-" + name)
    shutil.copytree(built[0], out)
    # (its version, and its build id as make build writes it: tools/build.py)
    changes = [("__init__", lambda s: s.replace('VERSION = "0.1.0"', 'VERSION = "%s"' % version)
                .replace('\nBUILD = ""', '\nBUILD = %r' % build_id))]
    for module, fn in changes + ([change] if change else []):
        src = (ROOT / "firmware" / "dongle" / (module + ".py")).read_text()
        changed = fn(src)
        assert changed != src
        p = tmp_path / (module + ".py")
        p.write_text(changed)
        subprocess.run([build.mpy_cross(), "-O3", "-march=x64", "-o", str(out / "lib" / "dongle" / (module + ".mpy")),
                        str(p)], check=True)
    build.write_bundle(str(out), "unix", ["unix"], "unix", build_id, ver_text=version)
    return (out / "hanport.bundle").read_bytes()


def post(d, data, password=PASSWORD, path="/api/update", timeout=60):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=timeout)
    c.request("POST", path, body=data, headers={"X-Admin-Password": password} if password else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body[:1] == b"{" else body


def post_until_taken(d, data, tries=15):
    """As make ota does: again after a 503 (the heap short for the moment).
    (status, answer, 503s seen)."""
    for i in range(tries):
        code, ans = post(d, data)
        if code != 503:
            return code, ans, i
        time.sleep(2)
    return code, ans, tries


def upd(d):
    code, st = d.json("/api/status")
    assert code == 200
    return st["update"]


def settled(d, version, timeout=60):
    """Wait until the dongle runs version and it is marked good; its
    /api/status update section."""
    def ok():
        try:
            u = upd(d)
        except (OSError, AssertionError, ValueError):
            return None
        return u if u["version"] + ("+" + u["build"] if u["build"] else "") == version and u["state"] == "good" \
            else None
    return rig.wait_until(ok, timeout, 0.3, what="the dongle to run %s, healthy" % version)


def reading_ok(d):
    try:
        return d.get("/api/reading")[0] == 200
    except OSError:
        return False


@pytest.fixture
def setup(tmp_path):
    meter = rig.Meter()
    d = Board(tmp_path, cfg(meter))
    feeder = Feeder(meter)
    rig.wait_until(lambda: reading_ok(d), 20, what="a first reading")
    yield d, meter, feeder
    feeder.stop()
    d.stop()
    meter.close()


def flash_files(d):
    """Everything on the dongle's flash but the slots, as {name: bytes}."""
    out = {}
    for p in d.dir.rglob("*"):
        rel = p.relative_to(d.dir).as_posix()
        if p.is_file() and not rel.startswith("slots/"):
            out[rel] = p.read_bytes()
    return out


def test_good_update_runs_keeps_config_and_energy_and_the_old_slot(setup, built, tmp_path):
    d, meter, feeder = setup
    before = upd(d)
    assert before["slot"] == "lib" and before["state"] == "good" and before["chip"] == "unix"
    rig.wait_until(lambda: (d.dir / "energy.json").exists(), 20, what="energy.json saved")
    config_before = (d.dir / "config.json").read_bytes()
    sent_before = d.status()["frames"]["frames_ok"]
    bundle = variant(built, tmp_path, "good", version="0.9.0")
    t0 = time.time()
    code, ans = post(d, bundle)
    took = time.time() - t0
    assert code == 200, ans
    assert ans["installed"] == "0.9.0+testnew" and ans["slot"] == "a" and ans["previous"] == "0.1.0"
    print("upload of %d bytes: %.2f s" % (len(bundle), took))
    # every file of the bundle on flash, byte for byte
    for p in (tmp_path / "build-good" / "lib").rglob("*.mpy"):
        rel = p.relative_to(tmp_path / "build-good").as_posix()
        assert (d.dir / "slots" / "a" / rel).read_bytes() == p.read_bytes(), rel
    u = settled(d, "0.9.0+testnew")
    assert u["slot"] == "a" and "rollback" not in u
    assert (d.dir / "config.json").read_bytes() == config_before
    e = d.json("/api/energy")[1]
    assert e.get("ready") is not False
    s = json.loads((d.dir / "slot.json").read_text())
    assert s["run"] == s["good"] == "a"
    log = d.all_log()
    assert "healthy after" in log and "Traceback" not in log, log[-3000:]
    # the page comes from the new slot; version and build in status and metrics
    assert d.get("/")[0] == 200
    assert 'hanport_build_info{version="0.9.0+testnew"} 1' in d.get("/metrics")[2].decode()
    rig.wait_until(lambda: d.status()["frames"]["frames_ok"] > 5, 20, what="frames after the update")
    # a second update goes to slot b; a is kept until b proves itself
    bundle2 = variant(built, tmp_path, "good2", version="0.9.1")
    code, ans = post(d, bundle2)
    assert code == 200 and ans["slot"] == "b", ans
    s = json.loads((d.dir / "slot.json").read_text())
    assert s["run"] == "b" and s["good"] == "a"
    assert (d.dir / "slots" / "a" / "lib" / "dongle" / "app.mpy").exists()
    settled(d, "0.9.1+testnew")
    assert sent_before >= 0


def rolled_back(d, bad, timeout=60):
    def ok():
        try:
            u = upd(d)
        except (OSError, AssertionError, ValueError):
            return None
        r = u.get("rollback")
        return u if r and r["version"] == bad and u["state"] == "good" else None
    return rig.wait_until(ok, timeout, 0.3, what="a rollback of %s" % bad)


BAD = {
    "import": ("app", lambda s: "import no_such_module_at_all\n" + s, "ImportError at start"),
    "memory": ("app", lambda s: s.replace("        self.boot_ms = time.ticks_ms()\n",
                                          "        self.boot_ms = time.ticks_ms()\n        bytearray(1 << 40)\n"),
               "MemoryError at start"),
    "no-meter": ("app", lambda s: s.replace('asyncio.create_task(self.supervise("meter", self.meter.read_task)),',
                                            ""), "not healthy within 8 s (no meter reading"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_version_rolls_back_by_itself(setup, built, tmp_path, kind):
    d, meter, feeder = setup
    module, fn, why = BAD[kind]
    energy_before = d.json("/api/energy")[1]
    config_before = (d.dir / "config.json").read_bytes()
    bundle = variant(built, tmp_path, kind, (module, fn), version="0.6.6")
    code, ans = post(d, bundle)
    assert code == 200, ans
    u = rolled_back(d, "0.6.6+testnew")
    assert u["slot"] == "lib" and u["version"] == "0.1.0"
    assert u["rollback"]["why"].startswith(why), u
    assert (d.dir / "config.json").read_bytes() == config_before
    rig.wait_until(lambda: reading_ok(d), 20, what="readings again")
    e = d.json("/api/energy")[1]
    if energy_before.get("ready"):
        assert e["month"]["month"] == energy_before["month"]["month"]
    st = d.status()
    assert any("rolled back" in line for line in st["log"]), st["log"]
    # the dongle takes the next (good) update
    code, ans = post(d, variant(built, tmp_path, "fixed", version="0.6.7"))
    assert code == 200 and ans["slot"] == "a", ans
    u = settled(d, "0.6.7+testnew")
    assert "rollback" not in u


def test_refused_bundles_change_nothing(setup, built, tmp_path):
    d, meter, feeder = setup
    good = variant(built, tmp_path, "g", version="0.7.0")
    before = flash_files(d)
    # a wrong hash: one byte of one file changed
    k = good.index(b"\nF ", 200) + 200
    bad = bytearray(good)
    bad[k] ^= 0x55
    cases = {"hash": bytes(bad)}
    # another chip: a bundle made for an ESP32
    other = tmp_path / "esp32"
    build.build("esp32-devkitc", str(other))
    cases["chip"] = (other / "hanport.bundle").read_bytes()
    cases["garbage"] = b"GIF89a" + bytes(3000)
    for offset in (10, 300, len(good) // 3, len(good) - 70, len(good) - 1):
        cases["cut%d" % offset] = good[:offset]
    for name, data in cases.items():
        code, ans = post(d, data)
        assert code == 400, (name, code, ans)
        assert ans["status"] == 400 and ans["error"], name
        print(name, ans["error"])
        assert upd(d)["slot"] == "lib"
    assert "chip esp32" in post(d, cases["chip"])[1]["error"]
    assert not (d.dir / "slot.json").exists()
    assert not (d.dir / "slots" / "a").exists()         # the partial slot is gone
    after = flash_files(d)
    for name in ("config.json", "main.py"):
        assert after.get(name) == before.get(name)
    assert reading_ok(d)
    # the same bundle whole: taken
    code, ans = post(d, good)
    assert code == 200, ans
    settled(d, "0.7.0+testnew")


def test_connection_cut_mid_upload(setup, built, tmp_path):
    """The client goes away at several points of the body: the dongle
    keeps its version and serves; nothing switches."""
    import socket
    d, meter, feeder = setup
    good = variant(built, tmp_path, "g", version="0.7.1")
    for offset in (0, 5000, len(good) // 2, len(good) - 10):
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(b"POST /api/update HTTP/1.0\r\nX-Admin-Password: %s\r\nContent-Length: %d\r\n\r\n"
                  % (PASSWORD.encode(), len(good)) + good[:offset])
        s.close()
        time.sleep(0.5)
        assert reading_ok(d)
    rig.wait_until(lambda: "upload cut" in d.log(), 10, what="the cut noticed")
    assert not (d.dir / "slot.json").exists() and upd(d)["slot"] == "lib"
    code, ans = post(d, good)
    assert code == 200, ans


def test_wrong_password_and_a_second_update_at_once(setup, built, tmp_path):
    import socket
    d, meter, feeder = setup
    good = variant(built, tmp_path, "g", version="0.7.2")
    code, ans = post(d, good, password=None)
    assert code == 401 and "X-Admin-Password" in ans["error"]
    code, ans = post(d, good, password="wrong password")
    assert code == 401 and ans["error"] == "wrong admin password"
    code, ans = post(d, good, password="wrong again")
    assert code in (401, 429)
    code, ans = post(d, good)                         # locked out for a while, even with the right one
    assert code == 429 and "too many wrong passwords" in ans["error"]
    rig.wait_until(lambda: post(d, b"x", password=PASSWORD)[0] != 429, 10, step=0.5, what="the lockout to end")
    # a slow first upload, a second one meanwhile: 409, the first goes on
    s = socket.create_connection(("127.0.0.1", d.http_port))
    s.sendall(b"POST /api/update HTTP/1.0\r\nX-Admin-Password: %s\r\nContent-Length: %d\r\n\r\n"
              % (PASSWORD.encode(), len(good)) + good[:20000])
    rig.wait_until(lambda: (d.dir / "slots" / "a").exists(), 10, what="the first upload to start")
    code, ans = post(d, good)
    assert code == 409 and "already" in ans["error"], ans
    s.sendall(good[20000:])
    s.settimeout(30)
    answer = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    assert answer.startswith(b"HTTP/1.0 200"), answer[:300]
    settled(d, "0.7.2+testnew")


STEPS = ["header", "file1", "file20", "written", "pointer", "switched"]


@pytest.mark.parametrize("step", STEPS)
def test_power_cut_while_writing_and_switching(setup, built, tmp_path, monkeypatch, step):
    """SIGKILL at each step of an update: the dongle comes back on a
    version that works (the old one before the switch, the new one after),
    config and energy there, and takes the update again."""
    d, meter, feeder = setup
    rig.wait_until(lambda: (d.dir / "energy.json").exists(), 20, what="energy.json saved")
    good = variant(built, tmp_path, "g", version="0.8.0")
    config_before = (d.dir / "config.json").read_bytes()
    d.auto = False
    d.stop()
    monkeypatch.setenv("HANPORT_OTA_HOLD", step)
    d.power_on()
    import socket
    s = socket.create_connection(("127.0.0.1", d.http_port))
    s.sendall(b"POST /api/update HTTP/1.0\r\nX-Admin-Password: %s\r\nContent-Length: %d\r\n\r\n"
              % (PASSWORD.encode(), len(good)))
    threading.Thread(target=lambda: s.sendall(good), daemon=True).start()
    rig.wait_until(lambda: "holding at " + step in d.log(), 30, what="the update to reach " + step)
    d.power_cut()
    s.close()
    monkeypatch.delenv("HANPORT_OTA_HOLD")
    d.power_on()
    switched = step == "switched"
    if switched:
        settled(d, "0.8.0+testnew")
    else:
        u = upd(d)
        assert u["slot"] == "lib" and u["state"] == "good"
    assert (d.dir / "config.json").read_bytes() == config_before
    assert json.loads((d.dir / "energy.json").read_text().split("\n", 1)[1])["v"] == 1
    rig.wait_until(lambda: reading_ok(d), 20, what="readings again")
    if not switched:
        code, ans = post(d, good)
        assert code == 200, ans
        settled(d, "0.8.0+testnew")


def test_power_cuts_during_the_trial_roll_back_after_n_boots(setup, built, tmp_path):
    """A new version that never gets to health (power cut, or a watchdog
    reset, every time before it does): back to the old one after
    update.boots boots, saying why."""
    d, meter, feeder = setup
    code, ans = post(d, variant(built, tmp_path, "g", version="0.8.1"))
    assert code == 200
    for boot in range(1, 4):
        rig.wait_until(lambda: json.loads((d.dir / "slot.json").read_text()).get("boots") == boot, 20,
                       what="trial boot %d" % boot)
        d.power_cut()
        d.power_on()
    u = rolled_back(d, "0.8.1+testnew")
    assert u["rollback"]["why"] == "not healthy within 3 boots" and u["slot"] == "lib"


def test_version_and_a_past_rollback_over_mqtt(tmp_path):
    """<base>/firmware (retained): the running version, its slot, and a
    rollback as main.py records it in slot.json."""
    broker = rig.Broker(tmp_path)
    meter = rig.Meter()
    c = cfg(meter, broker=broker)
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "slot.json").write_text(json.dumps({"run": "", "good": "", "boots": 0, "bad": "a",
                                                 "bad_version": "0.6.6+x", "why": "ImportError at start: boom",
                                                 "version": "0.1.0"}))
    d = rig.Dongle(tmp_path, c)
    sub = rig.Subscriber(broker.port, "han/#")
    try:
        topic = "han/%s/firmware" % d.device_id[-6:]
        got = rig.wait_until(lambda: sub.last_json(topic), 15, what=topic)
        assert got["version"] == "0.1.0" and got["slot"] == "lib" and got["state"] == "good"
        assert got["rollback"] == {"version": "0.6.6+x", "why": "ImportError at start: boom"}
        late = rig.Subscriber(broker.port, topic)                   # retained: a later client gets it too
        try:
            rig.wait_until(lambda: late.on(topic) and late.on(topic)[-1][2], 10, what="the retained message")
        finally:
            late.close()
        assert "update: 0.6.6+x was rolled back: ImportError at start: boom; 0.1.0 runs" in d.log()
    finally:
        sub.close()
        d.stop()
        meter.close()
        broker.stop()


def test_backup_and_restore_onto_a_fresh_dongle(tmp_path):
    meter = rig.Meter()
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    d = rig.Dongle(tmp_path / "one", cfg(meter))
    d2 = None
    try:
        rig.wait_until(meter.connected, 15, what="the meter connection")
        sim = SimMeter("p1", start=START)
        for _ in range(800):                       # more than two hours of meter time
            meter.send(sim.next_frame().data)
            time.sleep(0.02)
        rig.wait_until(lambda: d.json("/api/energy")[1].get("ready"), 10, what="energy ready")
        e1 = d.json("/api/energy")[1]
        assert e1["month"]["top_hours"], e1
        code, _, data = d.get("/api/backup")
        assert code == 401
        code, headers, data = d.get("/api/backup", headers={"X-Admin-Password": PASSWORD})
        assert code == 200, data
        doc = json.loads(data)
        assert doc["hanport_backup"] == 1 and doc["config"]["wifi"]["password"] == "(set)"
        assert PASSWORD.encode() not in data and b"wifi-secret" not in data
        code, headers, full = d.get("/api/backup?secrets=1", headers={"X-Admin-Password": PASSWORD})
        assert json.loads(full)["config"]["wifi"]["password"] == "wifi-secret"
        # a fresh dongle, another admin password, no energy yet
        meter2 = rig.Meter()
        c2 = cfg(meter2)
        c2["admin_password"] = "second dongle pw"
        c2["name"] = "new one"
        d2 = rig.Dongle(tmp_path / "two", c2)
        cfg2_before = (d2.dir / "config.json").read_bytes()
        for bad, why in ((b'{"hello": 1}', "not a hanport backup"), (data[:len(data) // 2], "not a JSON file"),
                         (data.replace(b'"zone": "CET"', b'"zone": "XYZ"', 1), "config: energy.zone")):
            code, ans = post(d2, bad, password="second dongle pw", path="/api/restore")
            assert code == 400 and why in ans["error"], ans
        assert (d2.dir / "config.json").read_bytes() == cfg2_before
        code, ans = post(d2, data, password="second dongle pw", path="/api/restore")
        assert code == 200, ans
        rig.wait_until(lambda: d2.proc.poll() is not None, 10, what="the reboot")
        d2.start()
        # the meter, moved to the new dongle, goes on (its clock is what the report needs)
        rig.wait_until(meter2.connected, 15, what="the meter connection")
        rig.wait_until(lambda: meter2.send(sim.next_frame().data) and d2.json("/api/energy")[1].get("ready"),
                       15, step=0.5, what="energy ready")
        e2 = d2.json("/api/energy")[1]
        assert e2["months"] == e1["months"]
        assert e2["month"]["top_hours"] == e1["month"]["top_hours"]
        new_cfg = json.loads((d2.dir / "config.json").read_text())
        assert new_cfg["name"] == "" and new_cfg["admin_password"] == "second dongle pw"   # secret kept
        assert new_cfg["meter"]["port"] == c2["meter"]["port"]
        page = d2.get("/")
        assert page[0] == 200
        meter2.close()
    finally:
        d.stop()
        if d2:
            d2.stop()
        meter.close()


def fed(tmp, name, topic, start):
    """A dongle called name (MQTT base topic topic) fed more than two hours
    of a P1 meter's frames from start, then stopped: a dict of name, topic,
    its /api/energy, the last frame it got (sent again, it gives the meter's
    clock and changes nothing), its backup, and its energy.json as the
    backup left it (saved first)."""
    meter = rig.Meter()
    c = cfg(meter)
    c["name"] = name
    c["mqtt"]["base_topic"] = topic
    d = rig.Dongle(tmp, c)
    try:
        rig.wait_until(meter.connected, 15, what="the meter connection")
        sim = SimMeter("p1", start=start)
        for _ in range(800):
            frame = sim.next_frame().data
            meter.send(frame)
            time.sleep(0.02)
        rig.wait_until(lambda: d.status()["frames"]["frames_ok"] == 800, 10, what="every frame decoded")
        energy = d.json("/api/energy")[1]
        assert energy["month"]["top_hours"], energy
        code, _, backup = d.get("/api/backup", headers={"X-Admin-Password": PASSWORD})
        assert code == 200, backup
        return {"name": name, "topic": topic, "energy": energy, "frame": frame, "backup": backup,
                "energy.json": (d.dir / "energy.json").read_bytes()}
    finally:
        d.stop()
        meter.close()


@pytest.fixture(scope="module")
def two_histories(tmp_path_factory):
    """(a dongle's own config and energy, a backup's), in different
    months: fed()'s dicts."""
    tmp = tmp_path_factory.mktemp("histories")
    return (fed(tmp / "own", "own name", "own/topic", datetime(2026, 2, 10, 6, 59)),
            fed(tmp / "backup", "restored name", "restored/topic", START))


def config_and_energy(d, meter, frame):
    """(name, base topic) of config.json and /api/status, /api/energy's
    months, month and days, once frame (the last one of the history
    expected) gave the dongle its meter clock."""
    def energy():
        meter.send(frame)
        e = d.json("/api/energy")[1]
        return e if e.get("ready") else None
    rig.wait_until(meter.connected, 15, what="the meter connection")
    e = rig.wait_until(energy, 15, step=0.5, what="energy ready")
    c = json.loads((d.dir / "config.json").read_text())
    assert d.status()["name"] == c["name"]
    return (c["name"], c["mqtt"]["base_topic"]), {k: e[k] for k in ("months", "month", "days")}


def serving(d):
    try:
        return d.get("/")[0] == 200
    except OSError:
        return False


def expected(h):
    return (h["name"], h["topic"]), {k: h["energy"][k] for k in ("months", "month", "days")}


# the upload half sent, then each hold of backup.py
RESTORE_STEPS = ["upload", "restore-energy", "restore-written", "restore-committed", "restore-moved1",
                 "restore-moved2"]


@pytest.mark.parametrize("step", RESTORE_STEPS)
def test_power_cut_while_restoring(tmp_path, monkeypatch, two_histories, step):
    """SIGKILL at each step of a restore (half the backup received, the
    new energy.json written, the new config.json too, restore/go written,
    one file renamed, both), then power on: config and energy are both the
    dongle's own until restore/go is written and both the backup's from
    then on, never one of each; the restore's folder is gone and the dongle
    serves. Cut before, it takes the backup again."""
    own, restored = two_histories
    meter = rig.Meter()
    (tmp_path / "flash").mkdir()
    (tmp_path / "flash" / "energy.json").write_bytes(own["energy.json"])
    c = cfg(meter)
    c["name"], c["mqtt"]["base_topic"] = own["name"], own["topic"]
    monkeypatch.setenv("HANPORT_OTA_HOLD", step)
    d = Board(tmp_path, c)
    try:
        assert config_and_energy(d, meter, own["frame"]) == expected(own)
        import socket
        body = restored["backup"]
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(b"POST /api/restore HTTP/1.0\r\nX-Admin-Password: %s\r\nContent-Length: %d\r\n\r\n"
                  % (PASSWORD.encode(), len(body)))
        if step == "upload":
            s.sendall(body[:len(body) // 2])
            upload = d.dir / "restore" / "upload.json"
            rig.wait_until(lambda: upload.exists() and upload.stat().st_size >= len(body) // 4, 10,
                           what="the upload to start")
            code, ans = post(d, body, path="/api/restore")          # one restore at a time
            assert code == 409 and ans["error"] == "a restore is already being received", ans
        else:
            threading.Thread(target=lambda: s.sendall(body), daemon=True).start()
            rig.wait_until(lambda: "holding at " + step in d.log(), 30, what="the restore to reach " + step)
        d.power_cut()
        s.close()
        assert (d.dir / "restore").is_dir()
        monkeypatch.delenv("HANPORT_OTA_HOLD")
        d.power_on()
        committed = RESTORE_STEPS.index(step) >= RESTORE_STEPS.index("restore-committed")
        after = own if not committed else restored
        assert config_and_energy(d, meter, after["frame"]) == expected(after)
        assert ("restore: completed after a power cut" if committed else
                "restore: dropped after a power cut (nothing changed)") in d.log(), d.log()
        assert not (d.dir / "restore").exists()
        assert sorted(p.name for p in d.dir.iterdir() if p.is_file()) == ["config.json", "energy.json"]
        assert d.get("/")[0] == 200 and reading_ok(d)
        if not committed:
            boots = d.boots
            code, ans = post(d, restored["backup"], path="/api/restore")
            assert code == 200, ans
            rig.wait_until(lambda: d.boots > boots and serving(d), 20, what="the reboot")
            assert config_and_energy(d, meter, restored["frame"]) == expected(restored)
        assert "Traceback" not in d.all_log(), d.all_log()[-3000:]
    finally:
        d.stop()
        meter.close()


# The P1 budget of test_memory with this much more: what an upload needs
# beside a busy session today. An upload starts only with 14 KB free on
# the 32-bit build (web.LARGE_ROOM: update.py, its stream, and the meter's
# and MQTT's share beside them), and a 32-bit heap gives about 94 % of its
# size to objects (the rest is the collector's tables).
UPLOAD_EXTRA32 = int(os.environ.get("HANPORT_UPLOAD_EXTRA32", 24 * 1024))


@pytest.mark.parametrize("extra,period", [(UPLOAD_EXTRA32, 0.1), (UPLOAD_EXTRA32, 1.0)])
def test_upload_on_32_bits_beside_the_p1_budget_with_no_frame_lost(tmp_path, extra, period):
    """The 32-bit build (the ESP32's object sizes), code loaded into the
    heap, test_memory's P1 heap and UPLOAD_EXTRA32 more: a bundle streamed
    in while the meter sends ten messages a second (or one, a DSMR 5
    meter's pace), MQTT publishes them and a client polls: every message
    decoded, no MemoryError, every upload taken, then a whole good one
    installs. (In the P1 heap itself the dongle has too little room
    beside an upload: the heap issue, README "Performance".)"""
    mpy.micropython32()
    lib, _ = rig.bundle(tmp_path / "b32", "x86")
    good = (tmp_path / "b32" / "build" / "hanport.bundle").read_bytes()
    broken = good[:good.rindex(b"END ")] + b"END 56 " + b"0" * 64 + b"\n"     # all of it streamed, then refused
    broker = rig.Broker(tmp_path)
    meter = rig.Meter()
    c = cfg(meter, broker=broker)
    heap = HEAP32["p1"] + extra
    d = rig.Dongle(tmp_path, c, heapsize=heap, lib=lib, bits=32)
    answers = []
    t = None
    try:
        rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        s = rig.Session(d, meter, SimMeter("p1", start=START), period=period, polls=2)

        def uploads():
            time.sleep(3)
            for _ in range(3):
                t0 = time.time()
                try:
                    answers.append(post_until_taken(d, broken) + (time.time() - t0,))
                except OSError as e:            # (the dongle stopped: the test failed already)
                    answers.append((None, repr(e), 0, 0))
                    return
                time.sleep(1)
        t = threading.Thread(target=uploads, daemon=True)
        t.start()
        try:
            st = s.run(30)
        except AssertionError:
            print(d.log()[-3000:])
            raise
        t.join(60)
        log = d.log()
        print("32-bit: %d messages, heap peak %d bytes of %d; uploads %s" % (
            s.sent, st["heap"]["peak"], heap, [(a[0], "503 x %d" % a[2], "%.2f s" % a[3]) for a in answers]))
        assert "MemoryError" not in log and "Traceback" not in log, log[-3000:]
        assert len(answers) == 3
        for code, ans, _, _ in answers:
            assert code == 400 and "checksum" in ans["error"], ans
        assert st["frames"]["frames_ok"] == s.sent                  # no frame lost
        assert st["task_restarts"] == {}
        assert st["heap"]["peak"] <= heap
        assert st["mqtt"]["published"] >= s.sent * 0.9
        code, ans, _ = post_until_taken(d, good)
        assert code == 200 and ans["slot"] == "a", ans
        assert json.loads((d.dir / "slot.json").read_text())["run"] == "a"
        rig.wait_until(lambda: d.proc.poll() is not None, 10, what="the reboot")
        assert d.proc.returncode == RESET_EXIT
    finally:
        d.stop()
        meter.close()
        broker.stop()
        if t:
            t.join(60)


def test_make_ota_and_make_backup_on_the_demo_dongle(tmp_path):
    """The user's path: make demo (the virtual dongle, deployed with real
    mpremote) prints its admin password; make ota BUNDLE=... updates it and
    follows it until the new version is healthy; make backup saves its
    config and energy."""
    import re
    out = tmp_path / "b"
    os.environ["BUILD_ID"] = "otademo"
    try:
        build.build("unix", str(out), "x64")
    finally:
        del os.environ["BUILD_ID"]
    http_port = rig.free_port()
    home = tmp_path / "demo"
    demo = rig.Demo(DEMO_METER="p1", DEMO_HTTP_PORT=http_port, DEMO_MQTT="off", DEMO_SPEED=5,
                    DEMO_ARGS="--dir %s" % home)
    try:
        text = demo.text
        m = re.search(r"admin password  (\S+) ", text)
        assert m, text
        pw = m.group(1)
        host = "127.0.0.1:%d" % http_port

        def reading():
            try:
                return rig.wait_until(lambda: urlget(http_port, "/api/reading")[0] == 200, 30, 0.3, "a reading")
            except OSError:
                return False
        reading()
        t0 = time.time()
        r = subprocess.run(["make", "--no-print-directory", "ota", "HOST=" + host, "PASSWORD=" + pw,
                            "BUNDLE=%s" % (out / "hanport.bundle")], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600)
        print(r.stdout)
        print("make ota: %.1f s in all (upload, reboot, health)" % (time.time() - t0))
        assert r.returncode == 0, r.stdout
        assert "0.1.0+otademo runs and is healthy (slot a)" in r.stdout
        st = json.loads(urlget(http_port, "/api/status")[1])
        assert st["update"]["build"] == "otademo" and st["update"]["slot"] == "a"
        assert (home / "flash" / "slots" / "a" / "lib" / "dongle" / "app.mpy").exists()
        reading()
        f = tmp_path / "backup.json"
        r = subprocess.run(["make", "--no-print-directory", "backup", "HOST=" + host, "PASSWORD=" + pw,
                            "FILE=%s" % f], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout
        doc = json.loads(f.read_text())
        assert doc["hanport_backup"] == 1 and doc["config"]["admin_password"] == "(set)"
        r = subprocess.run(["make", "--no-print-directory", "ota", "HOST=" + host, "PASSWORD=wrong-one",
                            "BUNDLE=%s" % (out / "hanport.bundle")], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        assert r.returncode != 0 and "answered 401: wrong admin password" in r.stdout, r.stdout
        # a bundle for an ESP32: make ota refuses it before sending anything
        esp = tmp_path / "esp32"
        build.build("esp32-devkitc", str(esp))
        r = subprocess.run(["make", "--no-print-directory", "ota", "HOST=" + host, "PASSWORD=" + pw,
                            "BUNDLE=%s" % (esp / "hanport.bundle")], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        assert r.returncode != 0 and "built for board esp32-devkitc (chip esp32); the dongle is board unix (chip unix)" \
            in r.stdout, r.stdout
        # make restore: the backup back, and the dongle reboots with it
        time.sleep(61)                                  # (the wrong password's lockout)
        r = subprocess.run(["make", "--no-print-directory", "restore", "HOST=" + host, "PASSWORD=" + pw,
                            "FILE=%s" % f], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        assert r.returncode == 0 and "took it" in r.stdout, r.stdout
        time.sleep(3)
        reading()
    finally:
        demo.stop()


def urlget(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_an_incomplete_slot_is_never_run(tmp_path):
    """slot.json naming a slot whose files did not all arrive (no
    bundle.txt, written last): on trial it is rolled back at once; as the
    good slot, lib runs instead."""
    meter = rig.Meter()
    flash = tmp_path / "flash"
    (flash / "slots" / "a" / "lib" / "dongle").mkdir(parents=True)
    (flash / "slots" / "a" / "lib" / "dongle" / "__init__.py").write_text("raise ImportError('half a slot')\n")
    (flash / "slot.json").write_text(json.dumps({"run": "a", "good": "", "boots": 0, "limit": 3,
                                                 "version": "0.5.0", "from": "0.1.0"}))
    d = Board(tmp_path, cfg(meter))
    try:
        u = rolled_back(d, "0.5.0")
        assert u["slot"] == "lib" and u["rollback"]["why"] == "slot a is incomplete"
        d.stop()
        (flash / "slot.json").write_text(json.dumps({"run": "a", "good": "a"}))
        d.power_on()
        u = upd(d)
        assert u["slot"] == "lib" and u["state"] == "good"
        assert "update: slot a is incomplete: running lib" in d.all_log()
    finally:
        d.stop()
        meter.close()
