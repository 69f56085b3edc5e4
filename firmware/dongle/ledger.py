# Energy accounting in the running dongle: readings in (meter clock, power,
# registers), the state kept on flash (energy.json) at most every few
# minutes and at a clean shutdown, written atomically and checksummed so a
# power cut leaves the old file or the new one, never a torn one.
#
# energy.json: a header line "HANE1 <crc16 hex> <length>" then the JSON.
import time

from hanport import fields

from . import energy, localtime, log, spare, unload
from micropython import const

PATH = "energy.json"
_RETRY_S = const(60)            # after a save that failed
# the fields the accounting reads, by index (looked up once)
_IMP = fields.index("energy_import_kwh")
_IMP1 = fields.index("energy_import_t1_kwh")
_IMP2 = fields.index("energy_import_t2_kwh")
_EXP = fields.index("energy_export_kwh")
_EXP1 = fields.index("energy_export_t1_kwh")
_EXP2 = fields.index("energy_export_t2_kwh")
_P_IMP = fields.index("power_import_w")
_P_EXP = fields.index("power_export_w")


def _milli(r, i):
    """Field i in thousandths of its unit, as an int: W -> mW, kWh -> Wh."""
    m = r.m[i]
    if m is None:
        return None
    d = r.d[i]
    return m * 1000 // 10 ** d if d <= 3 else m // 10 ** (d - 3)


def registers(r):
    """(import Wh, export Wh) from a reading: the totals, or DSMR's two
    tariff registers added up; (None, None) when the frame has none."""
    imp = _milli(r, _IMP)
    if imp is None:
        t1, t2 = _milli(r, _IMP1), _milli(r, _IMP2)
        if t1 is not None and t2 is not None:
            imp = t1 + t2
    exp = _milli(r, _EXP)
    if exp is None:
        t1, t2 = _milli(r, _EXP1), _milli(r, _EXP2)
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
        self.book = self.new_book()
        self.problem = None
        self.clock = localtime.Clock()   # unknown until the meter sends its time (not the saved one)
        self.ticks = time.ticks_ms()
        self.ms = 0
        self.dirty = False
        self.saved_ms = time.ticks_ms()
        self.saves = 0
        self.short = 0                  # frames whose settling waited for a later one (reading)
        self.failed_ms = None           # when a save last failed
        self._load()

    def _load(self):
        from . import energyview
        try:
            energyview.load_file(self)
        finally:
            unload("energyview", "hanport.crc")

    def new_book(self):
        return energy.Energy(self.zone, self.top_n, self.steps_kw, self.max_kw)

    def save(self):
        from . import energyview
        try:
            energyview.save_file(self)
        finally:
            unload("energyview", "jsonw", "hanport.crc")

    def tick(self):
        """Save when there is something new and save_s have passed; after
        a failed save (flash, or heap short), again _RETRY_S later."""
        now = time.ticks_ms()
        if self.dirty and time.ticks_diff(now, self.saved_ms) >= self.save_s * 1000 and (
                self.failed_ms is None or time.ticks_diff(now, self.failed_ms) >= _RETRY_S * 1000):
            try:
                self.save()
                self.failed_ms = None
            except (OSError, MemoryError) as e:
                self.failed_ms = now
                log.log("energy: cannot save: %s: %s; trying again in %d s" % (type(e).__name__, e, _RETRY_S))

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
        try:
            self.book.sample(t, _milli(r, _P_IMP), _milli(r, _P_EXP), imp, exp)
        except MemoryError:
            # (most often energyclose.py, which could not load) the sample
            # is taken, Energy.sample's first step: what it settles waits
            # for a later frame, with the spare block let go for it (the
            # heap had room, in pieces too small)
            self.short += 1
            spare.let_go()
        self.dirty = True

    def report(self):
        """/api/energy's document."""
        from . import energyview
        try:
            return energyview.ledger_report(self)
        finally:
            unload("energyview", "energynow")

    def summary(self):
        """The light part: /api/status's energy and MQTT's <base>/energy."""
        from . import energynow
        try:
            return energynow.ledger_summary(self)
        finally:
            unload("energynow")
