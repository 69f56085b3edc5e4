"""The soak: the dongle, the meter, the broker and the clients set up,
the day played with its events, the dongle watched throughout."""
import http.client
import json
import pathlib
import random
import shutil
import tempfile
import threading
import time
from collections import Counter

import hanport
from hanport.decoder import COUNTERS
from meter_sim import MeterLine, SimMeter
from testkit import rig
from testkit.config import dongle_config
from testkit.constants import HEAP, RESET_EXIT

from .clients import HTTP_TIMEOUT_S, PATHS, Clients
from .model import FAULTS, NOISE, PERIOD_S, RATE, START, damage, rejected_as
from .report import Report

ADMIN = "soak-admin-pass"
RESUME_LIMIT_S = 75        # publishing must be back by then (mqtt.py backs off to 60 s)


class Failed(Exception):
    pass


class Soak(Report):
    """A simulated day on the virtual dongle, with faults: run(), then
    failures, table() and figures()."""

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
        self.line = MeterLine()
        cfg = dongle_config(self.line, self.make, self.broker, wifi="soak-wifi-pass", admin_password=ADMIN)
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
                code, _, body = self.dongle.get("/api/status", timeout=HTTP_TIMEOUT_S)
                if code == 200:
                    st = json.loads(body)
                    self._watch(st)
                    return st
                last = code
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
                answered = self.dongle.get("/setup", "POST", "current_password=" + ADMIN,
                                           {"Content-Type": "application/x-www-form-urlencoded"},
                                           timeout=HTTP_TIMEOUT_S)[0]
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
