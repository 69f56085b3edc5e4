"""make soak: a simulated day of meter time on the virtual dongle, with faults.

    python tools/soak.py [--hours 24] [--meter p1|aidon|kaifa|kamstrup]
                         [--speed N] [--seed N] [--event-every S] ...

The real firmware (make build's .mpy bundle, as a board runs it) under
MicroPython's unix port, inside the heap budget of host_tests/test_memory.py
(-X heapsize), reads a simulated meter (tools/meter_sim.py) played --speed
times faster than real time (default: ten messages a wall second, so a P1
day of 8640 telegrams takes about 15 minutes), while everything around it
goes wrong:

  broker    a real mosquitto, killed (SIGKILL) and restarted on a schedule;
            after each restart a fresh subscriber must receive a state
            message from the dongle (publishing resumed)
  meter     the line cut (the dongle's TCP "UART" dropped and refused for a
            few seconds), between frames or in the middle of one; frames
            with a flipped bit, with bytes dropped, cut short; bursts of
            line noise (up to 8 KB) between frames
  HTTP      slow clients that never finish a request, 64 KB headers, random
            bytes, 50 connections at once, and a legitimate client polling
            /api/reading throughout
  reboots   deliberate ones through the network (POST /setup with the admin
            password: the dongle saves, exits with "reboot me", the runner
            starts it again), with clients hammering it meanwhile

Every fault is of a kind whose outcome is fixed, and is counted when sent
(a P1 telegram with a flipped bit or dropped bytes fails its CRC, one cut
short is malformed; a binary frame damaged any way fails its FCS), and
line noise never holds a frame-start byte, so it must cost nothing. A
CPython hanport.Decoder fed exactly the bytes delivered checks the
bookkeeping. The dongle's counters are summed over its boots.

Pass: every valid frame delivered decoded (frames_ok equal), /api/status's
rejection counters equal to the faults sent, publishing resumed after every
broker restart, heap peak within the budget and no MemoryError, no exit or
task restart but the deliberate reboots, every HTTP client answered as it
deserves (or refused while the dongle reboots), and at the end /api/reading
and MQTT carry the last frame's values. Prints the figures; exit status 1
on failure (with the reasons), 2 when it cannot run (no mosquitto).

host_tests/test_soak.py runs a short one (two simulated hours) in make test.
"""
import argparse
import http.client
import json
import os
import pathlib
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (ROOT / "lib", HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import hanport  # noqa: E402
from testkit import rig  # noqa: E402
from encoders import stream  # noqa: E402
from hanport.decoder import COUNTERS  # noqa: E402
from meter_sim import SimMeter, drop_bytes, flip_bit  # noqa: E402

START = datetime(2026, 1, 15, 0, 0)       # a winter weekday from midnight
# The firmware's heap budget on this 64-bit build: host_tests/test_memory.py
# (HEAP), P1 alone and with the DLMS stack.
HEAP = {"p1": 196 * 1024, "aidon": 224 * 1024, "kaifa": 224 * 1024, "kamstrup": 224 * 1024}
PERIOD_S = {"p1": 10.0, "aidon": 2.5, "kaifa": 2.0, "kamstrup": 10.0}   # shortest cadence
RATE = 10                  # default: messages per wall second
ADMIN = "soak-admin-pass"
RESET_EXIT = 75            # the virtual dongle's "reboot me" (platform/unix.py)
RESUME_LIMIT_S = 75        # publishing must be back by then (mqtt.py backs off to 60 s)
HTTP_TIMEOUT_S = 12        # the firmware answers anything within 5 s (http.py)
SLOW_HOLD_S = 20           # a slow client not answered by then holds the server
BURST = 50

# Line noise: no byte that starts a frame ('/', 0x7E, 0x68, 0xDB), ends P1
# text ('!'), or could be an HDLC format byte (0xAx) after a closing flag.
NOISE = bytes(b for b in range(256) if b not in (0x2F, 0x21, 0x7E, 0x68, 0xDB) and not 0xA0 <= b <= 0xAF)
PATHS = ("/api/reading", "/api/status", "/metrics", "/", "/api/energy", "/api/config")
# what each kind of HTTP client may get (besides refusals during reboots)
ALLOWED = {
    "poll": {"200", "503"},
    "burst": {"200", "503"},
    "slowloris": {"408", "503"},
    "oversized": {"431", "503", "reset", "closed"},
    "random": {"400", "404", "405", "408", "413", "414", "431", "503", "reset", "closed"},
}
IN_REBOOT = {"refused", "reset", "closed"}


# --- the meter's end of the line ----------------------------------------------------

class Line:
    """The meter end of the virtual dongle's UART (a TCP server it connects
    to). cut() drops the connection and stops listening, as if the cable
    were pulled: the dongle's reconnects are refused until restore()."""

    def __init__(self):
        self.port = rig.free_port()
        self.conn = None
        self.setting = None
        self.connections = 0
        self._lock = threading.Lock()
        self._srv = None
        self.restore()

    def restore(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(2)
        self._srv = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv):
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with self._lock:
                if self.conn is not None:
                    _close(self.conn)
                self.conn, self.setting = conn, None
                self.connections += 1
            threading.Thread(target=self._listen, args=(conn,), daemon=True).start()

    def _listen(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(256)
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    if self.conn is conn:
                        self.conn = None
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"SERIAL "):
                    self.setting = line[7:].decode()

    def connected(self):
        return self.conn is not None and self.setting is not None

    def send(self, data):
        with self._lock:
            conn = self.conn
        if conn is None:
            return False
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False

    def cut(self):
        if self._srv is not None:
            _close(self._srv)
            self._srv = None
        with self._lock:
            if self.conn is not None:
                _close(self.conn)
                self.conn = None

    def close(self):
        self.cut()


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# --- faults with a known outcome --------------------------------------------------------

FAULTS = ("bitflip", "dropped", "truncated")


def rejected_as(make, fault):
    """The decoder counter a fault of this kind must land in."""
    if make == "p1":
        return "crc_errors" if fault in ("bitflip", "dropped") else "malformed"
    return "fcs_errors"


def damage(make, fault, data, rng):
    """data with the fault applied. P1: bit flip or 1-8 bytes dropped in the
    body (the CRC no longer fits), or the telegram cut before its '!' (the
    next one's '/' finds it unfinished). Binary (one HDLC frame): the bit
    flip or dropped bytes in the information field (the FCS no longer fits;
    a shortened frame takes the next one's first bytes and fails its FCS),
    or the frame cut after its header, before its FCS."""
    if fault == "bitflip":
        return flip_bit(data, rng)
    if make == "p1":
        if fault == "dropped":
            return drop_bytes(data, rng)
        return data[:rng.randint(1, data.index(b"!"))]
    s, e = stream.checked_span(data, inner=True)        # information field .. FCS
    if fault == "dropped":
        k = rng.randint(1, min(8, e - 2 - s))
        gone = set(rng.sample(range(s, e - 2), k))
        return bytes(b for i, b in enumerate(data) if i not in gone)
    return data[:rng.randint(s + 1, len(data) - 4)]


# --- HTTP clients -------------------------------------------------------------------------

def status_of(resp):
    if resp.startswith(b"HTTP/1.") and len(resp) >= 12:
        return resp[9:12].decode("ascii", "replace")
    return None


# hostile clients come from another address than the legitimate poller, as
# on a LAN (the dongle caps connections per address)
HOSTILE = ("127.0.0.2", 0)


def exchange(port, data, timeout=HTTP_TIMEOUT_S, source=None):
    """Send data on a new connection (from source, an (address, port)),
    read until the server closes: the response's status ("200"), or
    "refused", "reset", "closed" (no response), "timeout"."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout, source_address=source)
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError:
        return "refused"
    try:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                 # refused to read it all: its answer may be there
        except socket.timeout:
            return "timeout"
        out = b""
        reset = False
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except ConnectionResetError:
            reset = True
        except socket.timeout:
            return "timeout"
        return status_of(out) or ("reset" if reset else "closed")
    finally:
        s.close()


class Clients:
    """Hostile and legitimate HTTP clients in threads; every exchange is
    recorded as (kind, outcome, started, ended)."""

    def __init__(self, port, seed, stop, burst_every, kinds=None, paths=PATHS):
        self.port = port
        self.kinds = kinds or ("poll", "slowloris", "oversized", "random", "burst")
        self.paths = paths
        self.rng = random.Random("http-%s" % seed)
        self.stop = stop
        self.burst_every = burst_every
        self.records = []
        self.slow_answer_s = []        # how long the server let a slow client hold on
        self._lock = threading.Lock()
        self.threads = []
        self.calm = threading.Event()   # set: the hostile ones hold off (an admin request)

    def _wait_calm(self):
        while self.calm.is_set() and not self.stop.is_set():
            self.stop.wait(0.1)

    def record(self, kind, outcome, t0):
        with self._lock:
            self.records.append((kind, outcome, t0, time.monotonic()))

    def start(self):
        for kind, fn in (("poll", self._poller), ("slowloris", self._slowloris), ("slowloris", self._slowloris),
                         ("oversized", self._oversized), ("random", self._random), ("burst", self._bursts)):
            if kind not in self.kinds:
                continue
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        for t in self.threads:
            t.join(HTTP_TIMEOUT_S + SLOW_HOLD_S + 5)

    def _poller(self):
        """A legitimate client: /api/reading five times a second."""
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.record("poll", exchange(self.port, b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), t0)
            self.stop.wait(0.2)

    def _slowloris(self):
        """Starts a request and sends one byte of a header now and then,
        never finishing it."""
        while not self.stop.is_set():
            self._wait_calm()
            t0 = time.monotonic()
            try:
                s = socket.create_connection(("127.0.0.1", self.port), HTTP_TIMEOUT_S, source_address=HOSTILE)
            except OSError:
                self.record("slowloris", "refused", t0)
                self.stop.wait(0.5)
                continue
            outcome = "held"
            try:
                s.sendall(b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                s.settimeout(0.7)
                out = b""
                while time.monotonic() - t0 < SLOW_HOLD_S:
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        try:
                            s.send(b"z")
                        except OSError:
                            pass
                        continue
                    if not chunk:
                        outcome = status_of(out) or "closed"
                        break
                    out += chunk
                if outcome != "held" and status_of(out) == "408":
                    with self._lock:
                        self.slow_answer_s.append(time.monotonic() - t0)
            except ConnectionResetError:
                outcome = "reset"
            except OSError:
                outcome = "reset"
            finally:
                s.close()
            self.record("slowloris", outcome, t0)

    def _oversized(self):
        head = b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
        while not self.stop.wait(3.0):
            self._wait_calm()
            t0 = time.monotonic()
            self.record("oversized", exchange(self.port, head, source=HOSTILE), t0)

    def _random(self):
        rng = random.Random(self.rng.random())
        while not self.stop.wait(1.5):
            self._wait_calm()
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
            r = rng.random()
            if r < 0.3:
                data += b"\r\n\r\n"
            elif r < 0.5:
                data = b"GET /" + data[:300] + b" HTTP/1.1\r\n\r\n"
            t0 = time.monotonic()
            self.record("random", exchange(self.port, data, source=HOSTILE), t0)

    def burst(self):
        """BURST clients connecting at once, each a complete request."""
        barrier = threading.Barrier(BURST)
        rng = random.Random(self.rng.random())
        paths = [rng.choice(self.paths) for _ in range(BURST)]

        def one(path):
            try:
                barrier.wait(10)
            except threading.BrokenBarrierError:
                pass
            t0 = time.monotonic()
            self.record("burst", exchange(self.port, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode(),
                                          source=HOSTILE), t0)
        ts = [threading.Thread(target=one, args=(p,), daemon=True) for p in paths]
        for t in ts:
            t.start()
        return ts

    def _bursts(self):
        if not self.burst_every:
            return
        if self.stop.wait(self.burst_every / 2):
            return
        while True:
            self._wait_calm()
            for t in self.burst():
                t.join(HTTP_TIMEOUT_S + 15)
            if self.stop.wait(self.burst_every):
                return


# --- the soak --------------------------------------------------------------------------

class Failed(Exception):
    pass


class Soak:
    def __init__(self, make="p1", hours=24.0, speed=None, seed=1, event_every=30.0, reboot_every=8,
                 burst_every=20.0, faults=(0.02, 0.01, 0.01), garbage=0.03, workdir=None,
                 lib=None, out=print, progress_s=30.0, heap=None, clients=None, paths=PATHS):
        if make not in HEAP:
            raise ValueError("unknown meter %r (one of %s)" % (make, ", ".join(HEAP)))
        self.make = make
        self.hours = hours
        self.speed = speed or PERIOD_S[make] * RATE
        self.duration = hours * 3600 / self.speed
        self.seed = seed
        self.event_every = event_every
        self.reboot_every = reboot_every
        self.burst_every = burst_every
        self.p_fault = dict(zip(FAULTS, faults))
        self.p_garbage = garbage
        self.workdir = workdir
        self.lib = lib
        self.out = out
        self.progress_s = progress_s
        self.rng = random.Random("soak-%s" % seed)
        self.heap = heap or HEAP[make]
        self.client_kinds, self.paths = clients, paths
        self.failures = []
        self._stop = threading.Event()

    def fail(self, why):
        if why not in self.failures:
            self.failures.append(why)
            self.out("FAIL: " + why)

    # --- set-up ---------------------------------------------------------------------------

    def _setup(self, tmp):
        tmp = pathlib.Path(tmp)
        if self.lib is None:
            shutil.rmtree(tmp / "bundle", ignore_errors=True)
            self.lib, _ = rig.bundle(tmp / "bundle")
        self.broker = rig.Broker(tmp)
        self.line = Line()
        wire = {"serial": "115200-8N1", "invert": True} if self.make == "p1" else \
            {"serial": "2400-8E1", "invert": False}
        cfg = {"board": "unix", "admin_password": ADMIN, "wifi": {"ssid": "home", "password": "soak-wifi-pass"},
               "meter": dict(wire, port="tcp://127.0.0.1:%d" % self.line.port),
               "mqtt": {"host": "127.0.0.1", "port": self.broker.port}}
        self.dongle = rig.Dongle(tmp / "dongle", cfg, heapsize=self.heap, lib=self.lib)
        self.base = "han/" + self.dongle.device_id[-6:]
        self.sub = rig.Subscriber(self.broker.port, self.base + "/#")
        rig.wait_until(self.line.connected, 15, what="the dongle to connect to the meter")

    # --- status -----------------------------------------------------------------------------

    def status(self, timeout=20):
        """/api/status, retried while the server is busy (503)."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.dongle.http_port, timeout=HTTP_TIMEOUT_S)
                c.request("GET", "/api/status")
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200:
                    st = json.loads(body)
                    self._watch(st)
                    return st
                last = r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.1)
        raise Failed("/api/status not answered within %d s (%s)" % (timeout, last))

    def _watch(self, st):
        """Figures from any status seen: heap, uptime order, task restarts."""
        with self._watch_lock:
            if st["uptime_s"] < self._uptime:
                self.fail("uptime went back without a deliberate reboot")
            self._uptime = st["uptime_s"]
            self.heap_peak = max(self.heap_peak, st["heap"]["peak"])
            self.heap_free_min = min(self.heap_free_min, st["heap"]["free"])
            if st["task_restarts"]:
                self.task_restarts = st["task_restarts"]
            self.last_status = st

    def _monitor(self):
        """Once a second: the process is alive (outside deliberate
        reboots), and a status for the figures."""
        while not self._stop.wait(1.0):
            if self.rebooting:
                continue
            p = self.dongle.proc
            if p is not None and p.poll() is not None and not self.rebooting:
                self.self_exits += 1
                self.fail("the firmware exited by itself (status %s)" % p.returncode)
                self._stop.set()
                return
            try:
                self.status(5)
            except Exception:
                pass

    def wait_consumed(self):
        """Until the dongle has read every byte delivered this boot; its
        status then."""
        end = time.monotonic() + 30
        while time.monotonic() < end:
            st = self.status()
            if st["serial"]["bytes"] == self.boot_bytes:
                return st
            if st["serial"]["bytes"] > self.boot_bytes:
                raise Failed("the dongle read %d bytes, %d were sent" % (st["serial"]["bytes"], self.boot_bytes))
            time.sleep(0.05)
        raise Failed("the dongle did not read the bytes sent (%d of %d)" % (
            st["serial"]["bytes"], self.boot_bytes))

    # --- the meter ---------------------------------------------------------------------------

    def deliver(self, data):
        if not self.line.send(data):
            raise Failed("the meter line broke while up (dongle closed it?)")
        self.boot_bytes += len(data)
        self.bytes_sent += len(data)
        self.ref.feed(data)

    def frame(self, f, allow_faults):
        """One message of the meter, maybe with noise before it and maybe
        damaged."""
        rng = self.rng
        if not self.incomplete and rng.random() < self.p_garbage:
            n = rng.randint(2000, 8000) if rng.random() < 0.1 else rng.randint(5, 400)
            self.deliver(bytes(rng.choice(NOISE) for _ in range(n)))
            self.garbage_bursts += 1
            self.garbage_bytes += n
        fault = None
        if allow_faults:
            r = rng.random()
            for kind in FAULTS:
                if r < self.p_fault[kind]:
                    fault = kind
                    break
                r -= self.p_fault[kind]
        if fault is None:
            self.deliver(f.data)
            self.expected["frames_ok"] += 1
            self.valid_sent += 1
            self.clean_run += 1
            self.incomplete = False
            self.last_valid = f
            return
        self.deliver(damage(self.make, fault, f.data, rng))
        self.sent_faults[fault] += 1
        self.expected[rejected_as(self.make, fault)] += 1
        self.clean_run = 0
        # a frame cut short, or a binary one shortened, waits for the next
        # bytes to fail: no noise may come next (long printable noise would
        # make a P1 telegram oversized instead)
        self.incomplete = fault == "truncated" or (fault == "dropped" and self.make != "p1")

    def cut(self, mid_frame, seconds):
        """Pull the cable: between frames, or in the middle of one (its
        first part delivered, the rest lost)."""
        if mid_frame:
            f = self.sim.next_frame()
            self.generated += 1
            part = damage(self.make, "truncated", f.data, self.rng)
            self.deliver(part)
            self.expected[rejected_as(self.make, "truncated")] += 1
            self.sent_faults["cut mid-frame"] += 1
            self.clean_run = 0
            self.incomplete = True
        self.wait_consumed()
        self.line.cut()
        self.cuts.append({"mid_frame": mid_frame, "s": seconds})
        self.hold_until = time.monotonic() + seconds
        self.line_down = True

    def reconnect(self):
        self.line.restore()
        rig.wait_until(self.line.connected, 20, what="the dongle to reconnect to the meter")
        self.line_down = False
        self.hold_until = time.monotonic()

    def reboot(self):
        """A deliberate reboot over the network: POST /setup with the admin
        password and nothing changed; the dongle saves and exits with
        RESET_EXIT, and its runner starts it again, as a board's ROM would."""
        st = self.wait_consumed()
        self.line.cut()
        self.line_down = True
        self.rebooting = True
        self.boots.append(self._boot_figures(st))
        # the admin password alone asks for a reboot and loads nothing, but
        # beside a flood of hostile clients the dongle may still answer 503
        # (busy), so the admin waits for a calm moment; the crowd comes
        # back for the reboot
        if self.clients:
            self.clients.calm.set()
        answered, tries = None, 0
        while tries < 100:             # busy (503), or a reset under the crowd: again
            tries += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.dongle.http_port, timeout=HTTP_TIMEOUT_S)
                c.request("POST", "/setup", "current_password=" + ADMIN,
                          {"Content-Type": "application/x-www-form-urlencoded"})
                r = c.getresponse()
                r.read()
                c.close()
                answered = r.status
            except (OSError, http.client.HTTPException) as e:
                answered = repr(e)
            if answered == 200 or answered in (400, 401, 403, 429):
                break
            time.sleep(0.2)
        if answered != 200:
            raise Failed("the reboot request was answered %s" % answered)
        t0 = time.monotonic()
        self.reboot_tries.append(tries)
        if self.clients:
            self.clients.calm.clear()
        burst = self.clients.burst() if self.clients else []   # a crowd while it goes down and boots
        proc = self.dongle.proc
        try:
            code = proc.wait(15)
        except Exception:
            raise Failed("the dongle did not reboot within 15 s of being asked")
        if code != RESET_EXIT:
            raise Failed("the dongle exited with %s on a reboot, not %d" % (code, RESET_EXIT))
        self.logs.append(self.dongle.log())
        time.sleep(0.5)                   # down for a moment, clients knocking
        self.dongle.start()
        with self._watch_lock:
            self._uptime = -1
        self.boot_bytes = 0
        self.ref_totals.update(self.ref.stats())
        self.ref = hanport.Decoder()
        t_up = time.monotonic()
        self.rebooting = False
        self.reboot_windows.append((t0, t_up + 1.0))
        self.reboots.append({"down_s": t_up - t0})
        self.reconnect()
        for t in burst:
            t.join(HTTP_TIMEOUT_S + 15)

    def _boot_figures(self, st):
        return {"frames": st["frames"], "published": st["mqtt"]["published"],
                "connects": st["mqtt"]["connects"], "failed": st["mqtt"]["failed"],
                "uptime_s": st["uptime_s"], "http": st["http"], "peak": st["heap"]["peak"],
                "spare_spent": st["heap"].get("spare", {}).get("spent", 0)}

    # --- the broker -------------------------------------------------------------------------------

    def broker_restart(self, down):
        rec = {"down_s": down, "resume_s": None}
        self.broker_cycles.append(rec)
        old, self.sub = self.sub, None
        old.close()
        self.broker.stop()                       # SIGKILL
        if self._stop.wait(down):
            return
        self.broker.start()
        t_up = time.perf_counter()
        sub = rig.Subscriber(self.broker.port, self.base + "/#")
        self.sub = sub
        topic = self.base + "/state"
        end = t_up + RESUME_LIMIT_S
        while time.perf_counter() < end and not self._stop.is_set():
            with sub._lock:
                got = [t for m, t in zip(sub.messages, sub.times) if m[0] == topic]
            if got:
                rec["resume_s"] = got[0] - t_up
                return
            time.sleep(0.05)
        if not self._stop.is_set():
            self.fail("MQTT publishing did not resume within %d s of broker restart %d" % (
                RESUME_LIMIT_S, len(self.broker_cycles)))

    # --- the run ----------------------------------------------------------------------------------

    def schedule(self):
        """(wall offset, kind) of every event: broker restarts and line cuts
        in turn, every event_every seconds, every reboot_every-th a reboot."""
        out = []
        t = self.event_every / 2
        i = k = 0
        while self.event_every and t < self.duration - 5:
            i += 1
            if self.reboot_every and i % self.reboot_every == 0:
                out.append((t, "reboot"))
            else:
                out.append((t, "broker" if k % 2 == 0 else ("cut" if k % 4 == 1 else "cut mid-frame")))
                k += 1
            t += self.event_every
        return out

    def run(self):
        """The whole soak; self.failures says how it went."""
        tmp = self.workdir or tempfile.mkdtemp(prefix="soak-")
        self.logs = []
        try:
            try:
                self._setup(tmp)
                self._run()
            except Failed as e:
                self.fail(str(e))
                log = self.dongle.log()
                self.out("the dongle's log, last lines:\n" + "\n".join(log.splitlines()[-40:]))
            finally:
                self._stop.set()
                if getattr(self, "clients", None):
                    self.clients.join()
                if self.workdir is not None and getattr(self, "dongle", None):
                    logs = self.logs if getattr(self, "got", None) else self.logs + [self.dongle.log()]
                    for i, log in enumerate(logs):
                        (pathlib.Path(tmp) / ("dongle-%d.log" % (i + 1))).write_text(log)
                self._teardown()
        finally:
            if self.workdir is None:
                shutil.rmtree(tmp, ignore_errors=True)
        return self

    def _teardown(self):
        for name, method in (("sub", "close"), ("dongle", "stop"), ("line", "close"), ("broker", "stop")):
            obj = getattr(self, name, None)
            if obj is not None:
                try:
                    getattr(obj, method)()
                except Exception:
                    pass

    def _run(self):
        self.sim = SimMeter(self.make, start=START, seed=self.seed)
        self.ref = hanport.Decoder()
        self.ref_totals = Counter()
        self.expected = Counter({c: 0 for c in COUNTERS})
        self.sent_faults = Counter()
        self.generated = self.valid_sent = self.lost = self.bytes_sent = self.boot_bytes = 0
        self.garbage_bursts = self.garbage_bytes = 0
        self.clean_run = 0
        self.incomplete = False
        self.last_valid = None
        self.line_down = False
        self.rebooting = False
        self.hold_until = 0
        self.cuts, self.reboots, self.broker_cycles, self.boots, self.logs = [], [], [], [], []
        self.reboot_windows = []
        self.reboot_tries = []
        self._watch_lock = threading.Lock()
        self._uptime = -1
        self.heap_peak = 0
        self.heap_free_min = 1 << 30
        self.last_status = None
        self.clients = None
        self.self_exits = 0
        self.task_restarts = {}
        first = self.status()
        self.http_before = first["http"]
        m0 = self.sim.next_time
        self.t0 = t0 = time.monotonic()
        self.clients = Clients(self.dongle.http_port, self.seed, self._stop, self.burst_every,
                               self.client_kinds, self.paths)
        self.clients.start()
        threading.Thread(target=self._monitor, daemon=True).start()
        events = self.schedule()
        broker_thread = None
        quiet_tail = self.duration - max(3.0, 20 * PERIOD_S[self.make] / self.speed)
        next_progress = t0 + self.progress_s
        while not self._stop.is_set():
            due = t0 + (self.sim.next_time - m0).total_seconds() / self.speed
            if due - t0 >= self.duration:
                break
            now = time.monotonic()
            if self.line_down and not self.rebooting and now >= self.hold_until:
                self.reconnect()
                continue
            # events: a cut or a reboot waits for the broker to be back and
            # for the last damaged frame to have met the next good ones
            if events and now - t0 > self.duration - 5:
                events = []                   # too late: the last damaged frame must meet good ones
            if events and now - t0 >= events[0][0] and not self.line_down:
                kind = events[0][1]
                if kind == "broker" and (broker_thread is None or not broker_thread.is_alive()):
                    events.pop(0)
                    broker_thread = threading.Thread(target=self.broker_restart,
                                                     args=(round(self.rng.uniform(2, 6), 1),), daemon=True)
                    broker_thread.start()
                elif kind != "broker" and (broker_thread is None or not broker_thread.is_alive()) \
                        and self.clean_run >= 2:
                    events.pop(0)
                    if kind == "reboot":
                        self.reboot()
                    else:
                        self.cut(kind == "cut mid-frame", round(self.rng.uniform(1.5, 5), 1))
                    continue
            if due > now:
                time.sleep(min(due - now, 0.2))
                if time.monotonic() < due:
                    continue
            f = self.sim.next_frame()
            self.generated += 1
            if self.line_down or due < self.hold_until:
                self.lost += 1                  # the meter talks to a pulled cable
                continue
            self.frame(f, due - t0 < quiet_tail)
            if time.monotonic() >= next_progress:
                next_progress += self.progress_s
                st = self.last_status or {}
                self.out("  %5.0f s  meter %s  %d frames sent, %d decoded this boot, heap peak %s, "
                         "%d broker restarts, %d cuts, %d reboots" % (
                             time.monotonic() - t0, f.time.strftime("%d %H:%M"), self.valid_sent,
                             st.get("frames", {}).get("frames_ok", 0), self.heap_peak,
                             len(self.broker_cycles), len(self.cuts), len(self.reboots)))
        if self._stop.is_set():
            raise Failed("stopped early")
        if broker_thread is not None:
            broker_thread.join(RESUME_LIMIT_S + 10)
        if self.line_down:
            self.reconnect()
        self.wall = time.monotonic() - t0
        self._stop.set()                        # the HTTP clients wind down
        self.clients.join()
        self._final()

    # --- verdict ------------------------------------------------------------------------------------

    def _final(self):
        st = self.wait_consumed()
        time.sleep(1.5)                        # a heap figure after the last frame
        st = self.status()
        self.logs.append(self.dongle.log())
        self.boots.append(self._boot_figures(st))
        self.ref_totals.update(self.ref.stats())
        got = Counter()
        for b in self.boots:
            got.update(b["frames"])
        self.got = got
        for c in COUNTERS:
            if got[c] != self.expected[c]:
                self.fail("%s: the dongle counted %d, %d expected" % (c, got[c], self.expected[c]))
            if self.ref_totals[c] != self.expected[c]:
                self.fail("%s: the reference decoder counted %d, %d expected (harness)" % (
                    c, self.ref_totals[c], self.expected[c]))
        if self.ref.pending():
            self.fail("a partial frame was left at the end (harness)")
        # MQTT
        for i, rec in enumerate(self.broker_cycles):
            if rec["resume_s"] is None:
                self.fail("publishing did not resume after broker restart %d" % (i + 1))
        want = {k: Decimal(v) for k, v in self.last_valid.values.items()}

        def matches(values):
            return values is not None and all(
                k in values and Decimal(str(values[k])) == v for k, v in want.items())

        def mqtt_last():
            got = self.sub.on(self.base + "/state") if self.sub else []
            return json.loads(got[-1][1], parse_float=Decimal)["values"] if got else None
        try:
            rig.wait_until(lambda: matches(mqtt_last()), 10, what="the last reading over MQTT")
        except AssertionError:
            self.fail("MQTT's last state is not the last frame's values")
        # HTTP at the end
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.dongle.http_port, timeout=HTTP_TIMEOUT_S)
            c.request("GET", "/api/reading")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status != 200 or not matches(json.loads(body, parse_float=Decimal)["values"]):
                self.fail("/api/reading at the end: %s, not the last frame's values" % r.status)
            for path in ("/metrics", "/", "/api/energy"):
                if self.dongle.get(path)[0] != 200:
                    self.fail("%s at the end is not 200" % path)
        except (OSError, http.client.HTTPException) as e:
            self.fail("HTTP at the end: %r" % e)
        # heap, restarts
        budget = self.heap
        if self.heap_peak > budget:
            self.fail("heap peak %d bytes over the budget %d" % (self.heap_peak, budget))
        for i, log in enumerate(self.logs):
            for bad in ("MemoryError", "Traceback", "failed:"):
                if bad in log:
                    line = log[:log.index(bad)].rpartition("\n")[2] + log[log.index(bad):].partition("\n")[0]
                    self.fail("boot %d's log has %r: %s" % (i + 1, bad, line.strip()[:300]))
        if self.dongle.proc is None or self.dongle.proc.poll() is not None:
            self.fail("the firmware is not running at the end")
        if self.task_restarts:
            self.fail("firmware tasks restarted: %s" % self.task_restarts)
        if self.generated != self.valid_sent + sum(self.sent_faults.values()) + self.lost:
            self.fail("messages generated do not add up (harness)")
        # HTTP clients
        self._http_verdict()

    def _in_reboot(self, t0, t1):
        return any(t0 <= e and t1 >= s for s, e in self.reboot_windows)

    def _http_verdict(self):
        by_kind = {}
        bad = Counter()
        for kind, outcome, t0, t1 in self.clients.records:
            rb = self._in_reboot(t0, t1)
            by_kind.setdefault(kind, Counter())[outcome + (" (rebooting)" if rb and outcome in IN_REBOOT else "")] += 1
            if outcome in ALLOWED[kind] or (rb and outcome in IN_REBOOT):
                continue
            bad[(kind, outcome)] += 1
        for (kind, outcome), n in sorted(bad.items()):
            self.fail("HTTP %s clients: %d times %s" % (kind, n, outcome))
        self.http_by_kind = by_kind
        polls = by_kind.get("poll", Counter())
        if not polls.get("200"):
            self.fail("the polling client never got a reading")

    # --- figures ------------------------------------------------------------------------------------

    def table(self):
        g = self.got
        lines = []

        def row(what, figure):
            lines.append("  %-34s %s" % (what, figure))
        budget = self.heap
        lines.append("soak: %s meter, %.1f simulated hours at %gx (%d s wall), seed %s" % (
            self.make, self.hours, self.speed, self.duration, self.seed))
        row("wall time", "%.0f s (%.1f min)" % (self.wall, self.wall / 60))
        row("meter time", "%s -> %s" % (START.strftime("%Y-%m-%d %H:%M"),
                                        self.sim.next_time.strftime("%Y-%m-%d %H:%M")))
        row("messages generated", "%d (%d lost while the line was cut or the dongle rebooting)" % (
            self.generated, self.lost))
        row("valid frames delivered / decoded", "%d / %d (frames_ok, summed over %d boots)" % (
            self.valid_sent, g["frames_ok"], len(self.boots)))
        row("damaged frames sent", ", ".join("%s %d" % kv for kv in sorted(self.sent_faults.items())) or "0")
        rejected = ["%s %d (expected %d, reference decoder %d)" % (c, g[c], self.expected[c], self.ref_totals[c])
                    for c in COUNTERS if c != "frames_ok" and (g[c] or self.expected[c] or self.ref_totals[c])]
        row("rejected by kind (/api/status)", ("\n" + " " * 37).join(rejected) or "none")
        row("line noise bursts", "%d, %d bytes (no frame-start bytes: cost nothing)" % (
            self.garbage_bursts, self.garbage_bytes))
        row("bytes sent to the dongle", "%d" % self.bytes_sent)
        row("line cuts", "%d (%d mid-frame), %d connections from the dongle" % (
            len(self.cuts), sum(c["mid_frame"] for c in self.cuts), self.line.connections))
        res = [r["resume_s"] for r in self.broker_cycles if r["resume_s"] is not None]
        downs = [r["down_s"] for r in self.broker_cycles] or [0]
        row("broker kills/restarts", "%d (down %g-%g s each); publishing resumed after %d of them" % (
            len(self.broker_cycles), min(downs), max(downs), len(res)))
        if res:
            row("time to resume publishing", "max %.1f s, mean %.1f s (broker up -> state at a subscriber)" % (
                max(res), sum(res) / len(res)))
        row("MQTT published / connects", "%d / %d (failed sessions or attempts %d)" % (
            sum(b["published"] for b in self.boots), sum(b["connects"] for b in self.boots),
            sum(b["failed"] for b in self.boots)))
        row("deliberate reboots", "%d (POST /setup, exit %d each; down %s s; requests to get one in: %s)" % (
            len(self.reboots), RESET_EXIT, ", ".join("%.1f" % r["down_s"] for r in self.reboots) or "-",
            ", ".join(str(t) for t in self.reboot_tries) or "-"))
        hk = self.http_by_kind
        hostile = sum(sum(hk.get(k, Counter()).values()) for k in ("slowloris", "oversized", "random", "burst"))
        row("hostile HTTP connections", "%d" % hostile)
        for kind in ("slowloris", "oversized", "random", "burst", "poll"):
            c = hk.get(kind, Counter())
            row("  " + kind + (" (legitimate)" if kind == "poll" else ""),
                "%d: %s" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))
        if self.clients.slow_answer_s:
            row("  slow clients cut off after", "%.1f-%.1f s" % (min(self.clients.slow_answer_s),
                                                              max(self.clients.slow_answer_s)))
        row("HTTP served / refused (503) / errors", "%d / %d / %d (over all boots)" % (
            sum(b["http"]["served"] for b in self.boots), sum(b["http"]["refused"] for b in self.boots),
            sum(b["http"]["errors"] for b in self.boots)))
        row("  of the 503s: heap short", "%d (a request refused to keep the reserve for the meter and MQTT)" % (
            sum(b["http"].get("short_of_memory", 0) for b in self.boots)))
        row("spare block let go", "%d times (the meter or MQTT on a full heap, decoding on)" % (
            sum(b.get("spare_spent", 0) for b in self.boots)))
        row("heap peak (live, /api/status)", "%d bytes of %d budget (%.0f%%), lowest free %d" % (
            self.heap_peak, budget, 100.0 * self.heap_peak / budget, self.heap_free_min))
        row("restarts by itself", "%d exits, task restarts %s" % (self.self_exits, self.task_restarts))
        lines.append("RESULT: " + ("PASS" if not self.failures else "FAIL\n  " + "\n  ".join(self.failures)))
        return "\n".join(lines)

    def figures(self):
        res = [r["resume_s"] for r in self.broker_cycles if r["resume_s"] is not None]
        return {"make": self.make, "hours": self.hours, "speed": self.speed, "wall_s": round(self.wall, 1),
                "generated": self.generated, "lost": self.lost, "valid_sent": self.valid_sent,
                "decoded": self.got["frames_ok"], "faults": dict(self.sent_faults),
                "counters": dict(self.got), "expected": dict(self.expected),
                "reference": {c: self.ref_totals[c] for c in COUNTERS},
                "garbage_bursts": self.garbage_bursts, "cuts": len(self.cuts),
                "broker_restarts": len(self.broker_cycles), "resume_max_s": max(res) if res else None,
                "reboots": len(self.reboots), "heap_peak": self.heap_peak, "heap_budget": self.heap,
                "spare_spent": sum(b.get("spare_spent", 0) for b in self.boots),
                "http": {k: dict(v) for k, v in self.http_by_kind.items()}, "failures": self.failures}


def have_broker():
    return bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meter", choices=sorted(HEAP), default="p1")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated meter hours (default 24)")
    ap.add_argument("--speed", type=float, default=None,
                    help="meter time / wall time (default: %d messages a second: P1 %gx)" % (RATE, RATE * 10))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--event-every", type=float, default=30.0, metavar="S",
                    help="a broker restart, line cut or reboot every S wall seconds (default 30)")
    ap.add_argument("--reboot-every", type=int, default=8, metavar="N",
                    help="every Nth event is a deliberate reboot (0: none; default 8)")
    ap.add_argument("--burst-every", type=float, default=20.0, metavar="S",
                    help="%d HTTP connections at once every S wall seconds (0: none)" % BURST)
    ap.add_argument("--heap", type=int, metavar="BYTES",
                    help="the firmware's heap (default: the budget, P1 %d, DLMS %d)" % (HEAP["p1"], HEAP["aidon"]))
    ap.add_argument("--clients", default=",".join(ALLOWED), metavar="KINDS",
                    help="HTTP clients to run (default all: %(default)s)")
    ap.add_argument("--paths", default=",".join(PATHS), help="what the %d at once ask for" % BURST)
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, flash)")
    args = ap.parse_args(argv)
    if args.hours <= 0 or (args.speed is not None and args.speed <= 0):
        ap.error("--hours and --speed must be positive")
    if not have_broker():
        print("soak: mosquitto is needed (apt-get install mosquitto)", file=sys.stderr)
        return 2
    s = Soak(args.meter, args.hours, args.speed, args.seed, args.event_every, args.reboot_every,
             args.burst_every, workdir=args.keep, out=lambda m: print(m, flush=True), heap=args.heap,
             clients=args.clients.split(","), paths=args.paths.split(","))
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    print("soak: %s meter, %g simulated hours at %gx: about %.0f s wall" % (
        s.make, s.hours, s.speed, s.duration), flush=True)
    s.run()
    if not hasattr(s, "got"):
        print("RESULT: FAIL\n  " + "\n  ".join(s.failures))
        return 1
    print(s.table())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s.figures(), f, indent=1, default=str)
    return 1 if s.failures else 0


if __name__ == "__main__":
    sys.exit(main())
