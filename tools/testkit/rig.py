"""Test rig for the firmware on the virtual dongle: the real firmware under
MicroPython's unix port, a meter at the other end of its "UART" (a TCP
connection), a real mosquitto broker and real HTTP and MQTT clients."""
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from . import mpy
from build import write_www
from meter_sim.transports import MeterLine as Meter  # noqa: F401  (the meter end of the virtual UART)

ROOT = mpy.ROOT
MPLIB = ROOT / ".venv" / "mplib"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=20, step=0.05, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Broker:
    """A real mosquitto on a free port. Skips the test where mosquitto is
    not installed (CI installs it, and sets HANPORT_REQUIRE_BROKER=1)."""

    def __init__(self, tmp, tls=None):
        """tls: (certfile, keyfile) pairs, one more listener with TLS each,
        on the ports in tls_ports; the plain listener stays at port."""
        exe = mosquitto()
        if exe is None:
            if os.environ.get("HANPORT_REQUIRE_BROKER"):
                raise RuntimeError("mosquitto is required but not installed")
            pytest.skip("mosquitto not installed (apt-get install mosquitto): MQTT tests skipped")
        self.exe = exe
        self.port = free_port()
        self.conf = pathlib.Path(tmp) / "mosquitto.conf"
        text = "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port
        self.tls_ports = []
        for cert, key in tls or ():
            self.tls_ports.append(free_port())
            text += "listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n" % (self.tls_ports[-1], cert, key)
        if tls and hasattr(os, "geteuid") and os.geteuid() == 0:
            # as root mosquitto would switch to its own user, which cannot
            # read the key files in the test's private folder
            text = "user root\n" + text
        self.conf.write_text(text)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(self._up, 10, what="mosquitto to listen")

    def _up(self):
        try:
            for port in [self.port] + self.tls_ports:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def mosquitto():
    """The mosquitto command, None where it is not installed."""
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


class Subscriber:
    """A real MQTT client (paho) recording everything published, and when
    it arrived (times[i], time.perf_counter() of messages[i])."""
    made = 0

    def __init__(self, port, topic="#"):
        import paho.mqtt.client as mqtt
        self.messages = []
        self.times = []
        self._lock = threading.Lock()
        Subscriber.made += 1
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id="test-%d-%d" % (os.getpid(), Subscriber.made))
        self.c.on_message = self._on
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, msg.payload, msg.retain))
            self.times.append(time.perf_counter())

    def on(self, topic):
        with self._lock:
            return [m for m in self.messages if m[0] == topic]

    def last_json(self, topic):
        got = self.on(topic)
        return json.loads(got[-1][1]) if got else None

    def publish(self, topic, payload, retain=False):
        self.c.publish(topic, payload, retain=retain).wait_for_publish(5)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


class Dongle:
    """The firmware on the MicroPython unix port, in a folder of its own
    (its flash filesystem): config.json, boards/."""

    def __init__(self, tmp, config=None, raw_config=None, device_id="a1b2c3d4e5f6", heapsize=None,
                 lib=None, romfs=None, bits=64):
        """lib: a folder of .mpy modules (make build's lib/) run instead of
        the sources; romfs: a ROMFS image of them run in place (romboot.py)."""
        self.dir = pathlib.Path(tmp) / "flash"
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "boards", self.dir / "boards", dirs_exist_ok=True)
        write_www(str(self.dir))
        self.http_port = free_port()
        if raw_config is not None:
            (self.dir / "config.json").write_text(raw_config)
        elif config is not None:
            config = json.loads(json.dumps(config))
            config.setdefault("board", "unix")
            config.setdefault("http", {})["port"] = self.http_port
            (self.dir / "config.json").write_text(json.dumps(config))
        self.device_id = device_id
        self.heapsize = heapsize
        self.lib, self.romfs = lib, romfs
        self.bits = bits
        self.proc = None
        self.output = b""
        self.start()

    def start(self, port=None):
        if port is not None:
            self.http_port = port
        path = ".frozen:%s:%s:%s" % (ROOT / "lib", ROOT / "firmware", MPLIB)
        main = ROOT / "firmware" / "main.py"
        if self.lib or self.romfs:
            shutil.copy(main, self.dir / "main.py")
            shutil.copy(ROOT / "firmware" / "slotpick.py", self.dir / "slotpick.py")
            main = self.dir / "main.py"
            if self.lib:        # in the flash folder's lib/, as on a board (each module's __file__ is interned)
                shutil.copytree(self.lib, self.dir / "lib", dirs_exist_ok=True)
            path = ".frozen:lib"
        env = dict(os.environ, MICROPYPATH=path,
                   HANPORT_DEVICE_ID=self.device_id, HANPORT_HTTP_PORT=str(self.http_port))
        cmd = [mpy.micropython(self.bits)]
        if self.heapsize:
            cmd += ["-X", "heapsize=%s" % self.heapsize]
        if self.romfs:
            env["HANPORT_ROMFS"] = str(self.romfs)
            main = pathlib.Path(__file__).parent / "romboot.py"
        self.proc = subprocess.Popen(cmd + [str(main)], cwd=self.dir, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._out = []
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        wait_until(self._listening, 15, what="the dongle's HTTP server")

    def _drain(self, proc):
        for line in proc.stdout:
            self._out.append(line)

    def log(self):
        return b"".join(self._out).decode("utf-8", "replace")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("firmware exited (%s):\n%s" % (self.proc.returncode, self.log()))
        try:
            socket.create_connection(("127.0.0.1", self.http_port), 0.2).close()
            return True
        except OSError:
            return False

    def get(self, path, method="GET", body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def json(self, path):
        status, _, data = self.get(path)
        return status, json.loads(data)

    def status(self):
        return self.json("/api/status")[1]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def bundle(out, arch="x64"):
    """make build's output for the virtual dongle (native code for arch:
    x64, or x86 for the 32-bit build) in out/build, with umqtt.simple
    compiled next to it for x64 (loaded into the heap like our own modules;
    the 32-bit build has it frozen, as stock ESP32 firmware has), and
    out/rom.img: its lib/ as a ROMFS image made by mpremote. Returns (lib
    folder, image path)."""
    import build
    out = pathlib.Path(out)
    dst = out / "build"
    build.build("unix", str(dst), arch)
    if arch != "x86":       # (the 32-bit build freezes it, as stock ESP32 firmware does)
        (dst / "lib" / "umqtt").mkdir(exist_ok=True)
        subprocess.run([build.mpy_cross(), "-O3", "-march=" + arch, "-o", str(dst / "lib" / "umqtt" / "simple.mpy"),
                        str(MPLIB / "umqtt" / "simple.py")], check=True)
    shutil.copytree(dst / "lib", out / "rom" / "lib")
    img = out / "rom.img"
    mpremote = pathlib.Path(mpy.micropython()).parent / "mpremote"
    subprocess.run([str(mpremote), "romfs", "-o", str(img), "build", str(out / "rom")], check=True,
                   stdout=subprocess.DEVNULL)
    return dst / "lib", img


class Demo:
    """`make demo` as a user runs it, in a process group of its own as a
    terminal gives it, with DEMO_* variables (Demo(DEMO_METER="p1", ...)):
    started and its banner read up to its "Logs:" line (.text); stop() is
    Ctrl-C, then a kill if it has not ended in 30 s (raising then)."""

    def __init__(self, **variables):
        self.proc = subprocess.Popen(["make", "--no-print-directory", "demo"] +
                                     ["%s=%s" % kv for kv in variables.items()],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        lines = []
        try:
            for line in self.proc.stdout:
                lines.append(line)
                if line.startswith("Logs:"):
                    break
        except BaseException:
            self.stop()
            raise
        self.text = "".join(lines)

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)     # Ctrl-C in the terminal reaches make and the demo
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise


class Session:
    """An accelerated session against a running dongle: the meter sends a
    message every `period` s (from a meter_sim.SimMeter), a client polls
    /api/reading `polls` times a second, /api/status every 5 s. Threads;
    run() returns when `seconds` have passed."""

    def __init__(self, dongle, meter, sim, period=0.1, polls=10):
        self.d, self.meter, self.sim = dongle, meter, sim
        self.period, self.polls = period, polls
        self.sent = 0
        self.poll_status = {}           # HTTP status -> count
        self.poll_failures = []
        self.peak = 0                   # highest heap.peak seen in /api/status
        self._stop = threading.Event()

    def _poller(self):
        while not self._stop.is_set():
            try:
                status = self.d.get("/api/reading")[0]
                self.poll_status[status] = self.poll_status.get(status, 0) + 1
            except OSError as e:
                self.poll_failures.append(repr(e))
            self._stop.wait(1 / self.polls)

    def run(self, seconds):
        self.before = self.d.status()
        t = threading.Thread(target=self._poller, daemon=True)
        t.start()
        start = time.time()
        next_status = start + 5
        try:
            while time.time() - start < seconds:
                self.meter.send(self.sim.next_frame().data)
                self.sent += 1
                if time.time() >= next_status:
                    code, st = self.d.json("/api/status")
                    if code == 200:             # (503 when the heap is short: no figure then)
                        self.peak = max(self.peak, st["heap"]["peak"])
                    next_status += 5
                time.sleep(self.period)
        finally:
            self._stop.set()
            t.join(5)
        time.sleep(1.5)                 # the last frame decoded, a heap figure after it
        for _ in range(20):             # (503 while the heap is short: asked again)
            code, st = self.d.json("/api/status")
            if code == 200:
                return st
            time.sleep(0.5)
        raise AssertionError("/api/status answered %d for 10 s: %s\nthe dongle's log:\n%s"
                             % (code, st, self.d.log()[-3000:]))
