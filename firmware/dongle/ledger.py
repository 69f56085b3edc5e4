# Energy accounting in the running dongle: readings in (meter clock, power,
# registers), the state kept on flash (energy.json) at most every few
# minutes and at a clean shutdown, written atomically and checksummed so a
# power cut leaves the old file or the new one, never a torn one.
#
# energy.json: a header line "HANE1 <crc16 hex> <length>" then the JSON.
import json
import os
import time

from hanport import fields
from hanport.hot import crc_x25

from . import energy, localtime, log

PATH = "energy.json"
_I = fields.INDEX


def _milli(r, name):
    """A value in thousandths of its unit, as an int: W -> mW, kWh -> Wh."""
    i = _I[name]
    m = r.m[i]
    if m is None:
        return None
    d = r.d[i]
    return m * 1000 // 10 ** d if d <= 3 else m // 10 ** (d - 3)


def registers(r):
    """(import Wh, export Wh) from a reading: the totals, or DSMR's two
    tariff registers added up; (None, None) when the frame has none."""
    imp = _milli(r, "energy_import_kwh")
    if imp is None:
        t1, t2 = _milli(r, "energy_import_t1_kwh"), _milli(r, "energy_import_t2_kwh")
        if t1 is not None and t2 is not None:
            imp = t1 + t2
    exp = _milli(r, "energy_export_kwh")
    if exp is None:
        t1, t2 = _milli(r, "energy_export_t1_kwh"), _milli(r, "energy_export_t2_kwh")
        if t1 is not None and t2 is not None:
            exp = t1 + t2
    return imp, exp


class Ledger:
    def __init__(self, cfg, path=PATH):
        e = cfg["energy"]
        self.path = path
        self.save_s = e["save_s"]
        self.zone = e["zone"]
        self.steps_kw = e["steps_kw"]
        self.max_kw = e["max_power_kw"]
        self.top_n = e["top_n"]
        self.book = self._new()
        self.problem = None
        self.clock = localtime.Clock()   # unknown until the meter sends its time (not the saved one)
        self.ticks = time.ticks_ms()
        self.ms = 0
        self.dirty = False
        self.saved_ms = time.ticks_ms()
        self.saves = 0
        self._load()

    def _load(self):
        try:
            with open(self.path) as f:
                head = f.readline()
                text = f.read()
        except OSError:
            return                                  # first start
        try:
            magic, crc, n = head.split()
            raw = text.encode()
            if magic != "HANE1" or int(n) != len(raw) or int(crc, 16) != crc_x25(raw, 0, len(raw)):
                raise ValueError("checksum")
            self.book.load(json.loads(text))
            log.log("energy: state loaded (anchor %s)" % (self.book.anchor and self.book.anchor[0]))
        except (ValueError, KeyError, TypeError, IndexError):
            self.problem = "%s was damaged: not trusted, kept as %s.bad, accounting started over" % (
                self.path, self.path)
            log.log("energy: " + self.problem)
            try:
                os.rename(self.path, self.path + ".bad")
            except OSError:
                pass
            self.book = self._new()

    def _new(self):
        return energy.Energy(self.zone, self.top_n, self.steps_kw, self.max_kw)

    def save(self):
        text = json.dumps(self.book.dump())
        raw = text.encode()
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("HANE1 %04x %d\n" % (crc_x25(raw, 0, len(raw)), len(raw)))
            f.write(text)
        try:
            os.rename(tmp, self.path)
        except OSError:                             # FAT: no rename over a file
            os.remove(self.path)
            os.rename(tmp, self.path)
        self.dirty = False
        self.saved_ms = time.ticks_ms()
        self.saves += 1

    def tick(self):
        """Save when there is something new and save_s have passed."""
        if self.dirty and time.ticks_diff(time.ticks_ms(), self.saved_ms) >= self.save_s * 1000:
            try:
                self.save()
            except OSError as e:
                log.log("energy: cannot save: %s" % e)

    def _ms(self):
        """Milliseconds since start that never wrap (ticks do)."""
        t = time.ticks_ms()
        self.ms += time.ticks_diff(t, self.ticks)
        self.ticks = t
        return self.ms

    def now(self):
        """The meter clock now (UTC s), from its last time and our ticks."""
        return self.clock.now(self._ms())

    def reading(self, r, ms=None):
        """One decoded frame; ms: when (default: now, see _ms)."""
        ms = self._ms() if ms is None else ms
        t = None
        if r.time is not None:
            t = localtime.meter_time(r.time, self.zone, r.dst, self.clock.now(ms))
        t, back = self.clock.stamp(t, ms)
        if t is None:
            return                              # no clock yet: nothing to account
        if back:
            self.book.note("meter clock %+d s at %s: %s" % (
                -back, self.book.label(t), "stale, not followed" if back > 0 else "set back twice, followed"))
        imp, exp = registers(r)
        self.book.sample(t, _milli(r, "power_import_w"), _milli(r, "power_export_w"), imp, exp)
        self.dirty = True

    def report(self):
        rep = self.book.report(self.now())
        rep["saved_s_ago"] = time.ticks_diff(time.ticks_ms(), self.saved_ms) // 1000 if self.saves else None
        if self.problem:
            rep["problems"] = [self.problem] + rep["problems"]
        return rep

    def summary(self):
        rep = self.book.current(self.now())
        if not rep["ready"]:
            return {"ready": False, "problems": ([self.problem] if self.problem else []) + rep["problems"]}
        return {"ready": True, "hour_estimate_kwh": rep["hour"]["estimate_kwh"],
                "warning": rep["hour"]["warning"], "today_import_kwh": rep["today"]["import_kwh"],
                "month_import_kwh": rep["month"]["import_kwh"], "month_peak_kwh": rep["month"]["peak_kwh"],
                "month_peak_hour": rep["month"]["peak_hour"], "top_average_kw": rep["month"]["top_average_kw"],
                "top_n": rep["month"]["top_n"], "capacity_step": rep["month"]["capacity_step"],
                "saves": self.saves,
                "problems": ([self.problem] if self.problem else []) + rep["problems"]}
