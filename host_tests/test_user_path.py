"""The user's path on a PC, with the real commands: make build, make deploy
(real mpremote) to the virtual dongle's pty, the meter simulator on its
UART, then HTTP and MQTT; make demo starting and stopping everything;
make config from answers; make flash's esptool commands."""
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal

import pytest

from testkit import mpy
from testkit.rig import Broker, Demo, Subscriber, free_port, wait_until

ROOT = mpy.ROOT
PY = sys.executable


def http_json(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, json.loads(r.read(), parse_float=Decimal)
    finally:
        c.close()


def reading_or_none(port):
    try:
        status, body = http_json(port, "/api/reading")
    except OSError:
        return None
    return body if status == 200 else None


def with_list(reading):
    return reading if reading and reading["meter"]["list"] else None


def logged_values(path, kind):
    """meter_sim --log-json: the values of every frame of this kind sent."""
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    e = json.loads(line)
                    if e["values"] and e["kind"] == kind:
                        out.append(e["values"])
    return out


def sent_as(got, path, kind):
    """The frame whose every value (as the simulator says it sent it) the
    reading shows exactly; None when none does. Power changes from frame to
    frame, so a whole list of equal values is that frame."""
    if not got:
        return None
    for sent in logged_values(path, kind):
        if all(f in got and Decimal(str(got[f])) == Decimal(t) for f, t in sent.items()):
            return sent
    return None


def alive(pattern):
    """PIDs of processes whose command line contains pattern."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if pattern.encode() in f.read():
                        pids.append(int(pid))
            except OSError:
                pass
    return pids


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, cwd=ROOT, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.stop()


def make(*args, **kw):
    r = subprocess.run(["make", "--no-print-directory"] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300, **kw)
    return r.returncode, r.stdout


def test_build_deploy_reset_and_read_over_http_and_mqtt(tmp_path, procs):
    """The README's path, on the virtual dongle instead of a board."""
    broker = Broker(tmp_path)
    sub = Subscriber(broker.port)
    try:
        flash, pty = tmp_path / "flash", tmp_path / "dongle.pty"
        flash.mkdir()
        http_port, meter_port = free_port(), free_port()
        procs.start([PY, "tools/vdongle.py", "--dir", str(flash), "--link", str(pty),
                     "--http-port", str(http_port), "--device-id", "0badc0ffee42"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(pty.exists, 20, what="the virtual dongle's pty")
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps({
            "board": "unix", "wifi": {"ssid": "home", "password": "wifi-pass-1"},
            "admin_password": "admin-pass-1",
            "meter": {"port": "tcp://127.0.0.1:%d" % meter_port, "serial": "2400-8E1", "invert": False},
            "mqtt": {"host": "127.0.0.1", "port": broker.port}}))

        rc, out = make("build", "BOARD=unix")
        assert rc == 0, out
        assert "build:" in out and "arch x64" in out
        rc, out = make("deploy", "PORT=%s" % pty, "BOARD=unix", "CONFIG=%s" % cfg)
        assert rc == 0, out
        assert "deploy: done" in out
        # what mpremote put on the dongle's flash is the build, byte for byte
        for rel in ("main.py", "boot.py", "lib/hanport/decoder.mpy", "lib/dongle/app.mpy", "boards/unix.json"):
            assert (flash / rel).read_bytes() == (ROOT / "build" / rel).read_bytes(), rel
        installed = json.loads((flash / "config.json").read_text())
        assert installed["meter"]["port"] == "tcp://127.0.0.1:%d" % meter_port

        log = tmp_path / "sent.jsonl"
        procs.start([PY, "tools/meter_sim.py", "aidon", "--tcp", str(meter_port), "--speed", "4",
                     "--log-json", str(log), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # list 2 (every 10 s of meter time) carries voltages and currents too
        def reading():
            r = reading_or_none(http_port)
            return r if r and sent_as(r["values"], log, "list2") else None
        r = wait_until(reading, 60, 0.2, "a reading over HTTP equal to a list 2 the meter sent")
        assert r["meter"]["protocol"] == "dlms" and r["meter"]["list"] == "AIDON_V0001"
        assert {"voltage_l1_v", "current_l3_a", "power_import_w"} <= set(sent_as(r["values"], log, "list2"))

        base = "han/" + "0badc0ffee42"[-6:]

        def state():
            got = [json.loads(m[1], parse_float=Decimal) for m in sub.on(base + "/state")]
            return any(sent_as(m["values"], log, "list2") for m in got)
        wait_until(state, 30, 0.2, "<base>/state at the broker equal to a list 2 the meter sent")
        status = http_json(http_port, "/api/status")[1]
        assert status["frames"]["crc_errors"] == 0 and status["frames"]["fcs_errors"] == 0
    finally:
        sub.close()
        broker.stop()


def test_make_demo_prints_urls_serves_publishes_and_stops_on_ctrl_c(tmp_path):
    broker = Broker(tmp_path)
    sub = Subscriber(broker.port)
    http_port = free_port()
    home = tmp_path / "demo"
    demo = Demo(DEMO_METER="kaifa", DEMO_HTTP_PORT=http_port, DEMO_MQTT="127.0.0.1:%d" % broker.port,
                DEMO_SPEED=5, DEMO_ARGS="--dir %s" % home)
    try:
        text = demo.text
        assert "page        http://127.0.0.1:%d/" % http_port in text, text
        assert "MQTT        127.0.0.1:%d" % broker.port in text, text
        assert "mDNS name   http://hanport-%s.local:%d/" % ("demo0a1b2c3d"[-6:], http_port) in text, text
        # a Kaifa list 1 frame carries power only: the list id comes with the
        # first list 2 frame (every 2 s at DEMO_SPEED=5), whichever came first
        reading = wait_until(lambda: with_list(reading_or_none(http_port)), 60, 0.2,
                             "the demo's first reading with a list id")
        assert reading["meter"]["list"].startswith("KFM")
        assert reading["values"]["power_import_w"] >= 0
        wait_until(lambda: any(t.endswith("/state") for t, _, _ in sub.messages), 30, what="MQTT state")
        assert alive(str(home)), "the dongle and the meter run from the demo's folder"
    finally:
        try:
            demo.stop()
        except subprocess.TimeoutExpired:
            for pid in alive(str(home)):
                os.kill(pid, signal.SIGKILL)
            raise
        finally:
            sub.close()
            broker.stop()
    wait_until(lambda: not alive(str(home)), 15, what="everything the demo started to stop")
    assert "demo: stopping" in demo.proc.stdout.read()


def test_demo_says_when_no_broker_answers(tmp_path):
    http_port = free_port()
    r = subprocess.run([PY, "tools/demo.py", "--http-port", str(http_port), "--mqtt", "127.0.0.1:%d" % free_port(),
                        "--seconds", "3", "--dir", str(tmp_path / "demo")],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    assert "no broker answers" in r.stdout and "publishing is off" in r.stdout
    assert not alive(str(tmp_path / "demo"))


def test_demo_refuses_a_busy_port(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([PY, "tools/demo.py", "--http-port", str(port), "--dir", str(tmp_path / "d")],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode != 0
    assert "port %d is in use" % port in r.stdout and "DEMO_HTTP_PORT" in r.stdout


def test_make_config_from_piped_answers(tmp_path):
    out = tmp_path / "config.json"
    answers = "\n".join([
        "no-such-board", "esp32c3-supermini",    # a wrong board is asked again
        "home-wifi", "wifi-password",
        "192.168.1.10", "1883", "ha", "mqtt-password",
        "9600-8N1", "2400-8E1",                   # a setting that doesn't exist, then a real one
        "nothex", "00112233445566778899aabbccddeeff",
        "",                                       # no authentication key
        "short", "long-enough-admin",
    ]) + "\n"
    rc, text = make("config", "CONFIG=%s" % out, input=answers)
    assert rc == 0, text
    assert "one of:" in text and "32 hex digits" in text and "at least 8 characters" in text
    c = json.loads(out.read_text())
    assert c["board"] == "esp32c3-supermini"
    assert c["wifi"] == {"ssid": "home-wifi", "password": "wifi-password"}
    assert (c["mqtt"]["host"], c["mqtt"]["port"], c["mqtt"]["user"], c["mqtt"]["password"]) == (
        "192.168.1.10", 1883, "ha", "mqtt-password")
    assert c["meter"]["serial"] == "2400-8E1" and c["meter"]["key"] == "00112233445566778899aabbccddeeff"
    assert c["admin_password"] == "long-enough-admin"
    # a second run offers the file's values: Enter keeps them all
    rc, text = make("config", "CONFIG=%s" % out, input="\n" * 12)
    assert rc == 0, text
    assert json.loads(out.read_text()) == c


def test_make_config_stops_when_input_ends(tmp_path):
    out = tmp_path / "config.json"
    rc, text = make("config", "CONFIG=%s" % out, input="esp32-devkitc\n")
    assert rc != 0 and "input ended; nothing written" in text
    assert not out.exists()


@pytest.mark.parametrize("chip,offset", [("esp32", "0x1000"), ("esp32c3", "0x0"), ("esp32s3", "0x0")])
def test_make_flash_dry_run_shows_esptool_commands(chip, offset):
    rc, text = make("flash", "PORT=/dev/ttyUSB7", "CHIP=%s" % chip, "FIRMWARE=mp.bin", "DRY_RUN=1")
    assert rc == 0, text
    cmds = [line[2:].split() for line in text.splitlines() if line.startswith("$ ")]
    assert len(cmds) == 2
    assert cmds[0][1:] == ["--chip", chip, "--port", "/dev/ttyUSB7", "erase-flash"]
    assert cmds[1][-2:] == [offset, "mp.bin"] and "write-flash" in cmds[1]


def test_make_flash_and_deploy_need_a_port():
    rc, text = make("flash", "CHIP=esp32", "FIRMWARE=x.bin")
    assert rc != 0 and "set PORT" in text
    rc, text = make("flash", "PORT=/dev/null", "CHIP=esp32", "FIRMWARE=/nonexistent.bin")
    assert rc != 0 and "not found" in text
