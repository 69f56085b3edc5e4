"""Issue 17, energy accounting: one test per bug (1, 2, 3, 6, 7 here; 4
and 5, the live clock, in test_energy_clock.py), each against its own
reference (energy_ref.py, written from the README's rules, exact fractions
and zoneinfo) or the exact truth of the simulated power, never against the
module under test. The same frames also go through dongle.energy on both
MicroPython builds (same_on_micropython)."""
import json
import subprocess
import sys
from fractions import Fraction

import pytest

import energy_ref as ref
from testkit import mpy
from testkit.mpy import ROOT
from scenarios import simulate, utc

sys.path.insert(0, str(ROOT / "firmware"))
from dongle import energy, jsonw  # noqa: E402



def local_hour(t):
    """(date, hour, utc offset) of UTC second t, local, by zoneinfo."""
    lt = ref.local(t)
    return lt.strftime("%Y-%m-%d"), lt.hour, int(lt.utcoffset().total_seconds())



def feed(frames, e=None):
    e = e or energy.Energy("CET", 3)          # energy.max_power_kw 50 (the default)
    for t, p, ri, re in frames:
        e.sample(t, p, 0, ri, re)
    return e


MP_DRIVER = """
import sys, json
sys.path[:0] = [sys.argv[1], sys.argv[3]]
from dongle import energy, jsonw
e = energy.Energy("CET", 3)
for line in open(sys.argv[2]):
    t, p, ri, re = json.loads(line)
    e.sample(t, p, 0, ri, re)
print(jsonw.dumps(e.dump()))
"""


def _normal(d):
    d = dict(d)
    d["hours"], d["prov"] = sorted(d["hours"]), sorted(d["prov"])
    return d


def same_on_micropython(frames, e, tmp_path):
    """The same frames through dongle.energy on both MicroPython builds
    (64 and 32 bit) leave the same state as here on CPython (checked
    against the reference above)."""
    (tmp_path / "frames.jsonl").write_text("".join(json.dumps(f) + "\n" for f in frames))
    (tmp_path / "drv.py").write_text(MP_DRIVER)
    want = _normal(json.loads(jsonw.dumps(e.dump())))
    for exe in (mpy.micropython(), mpy.micropython() + "32"):
        res = subprocess.run([exe, str(tmp_path / "drv.py"), str(ROOT / "firmware"), str(tmp_path / "frames.jsonl"),
                              str(ROOT / "lib")],
                             capture_output=True, timeout=600)
        assert res.returncode == 0, res.stderr.decode()[-2000:]
        assert _normal(json.loads(res.stdout)) == want, exe


def txt(k):
    return None if k is None else k.text()


def by_label(e):
    return {e.label(h * 3600): v for h, v in e.hours.items()}     # (hours kept by number)


# 1 -----------------------------------------------------------------------

def test_closed_month_keeps_its_last_hour(tmp_path):
    """Aidon-style registers at hh:00:10: October 2026's last hour (23:00
    local, 9 kW, 1 kW otherwise) is its peak, also once November has begun."""
    def watts(t):
        d, h, _ = local_hour(t)
        return 9000 if (d, h) == ("2026-10-31", 23) else 1000
    frames, _ = simulate(utc(2026, 10, 30, 0, 0, 0), utc(2026, 11, 1, 3, 0, 0), watts, reg_at=10)
    e = feed(frames)
    anchors = [(t, ri, re) for t, _, ri, re in frames if ri is not None]
    hours = ref.account(anchors, [f[0] for f in frames])
    days = ref.days_of(hours, anchors[-1][0])
    want = ref.month(days, "2026-10")
    assert ref.local(days["2026-10-31"][3]).hour == 23 and want["peak_kwh"] == "8.955"
    rep = e.report(frames[-1][0])
    october = [m for m in rep["months"] if m["month"] == "2026-10"][0]
    assert txt(october["peak_kwh"]) == want["peak_kwh"]
    assert october["peak_hour"] == "2026-10-31T23:00+01:00"
    assert [txt(x["kwh"]) for x in october["top_hours"]] == want["top_hours"]
    assert txt(october["import_kwh"]) == want["import_kwh"]
    assert txt(october["top_average_kw"]) == want["top_average_kw"]
    same_on_micropython(frames, e, tmp_path)


# 2 -----------------------------------------------------------------------

def test_two_lost_register_frames_count_once(tmp_path):
    """2 kW all day, 5 kW from 10:00 to 11:00 local; registers hourly at
    hh:00:10 but those of 10:00:10 and 11:00:10 local lost: the hours are
    filled from power and the next register difference covers only the
    rest. The day is 51.000 kWh (the exact integral), its peak the real one."""
    day = "2026-01-14"

    def watts(t):
        d, h, _ = local_hour(t)
        return 5000 if (d, h) == (day, 10) else 2000
    lost = {utc(2026, 1, 14, 9, 0, 10), utc(2026, 1, 14, 10, 0, 10)}
    frames, truth = simulate(utc(2026, 1, 13, 21, 0, 0), utc(2026, 1, 15, 1, 0, 0), watts, reg_at=10, lost=lost)
    e = feed(frames)
    regs = [(t, ri) for t, _, ri, _ in frames if ri is not None]
    # nothing counted twice or lost: all hours add up to the register difference
    assert sum(v[0] for v in e.days.values()) == regs[-1][1] - regs[0][1]
    assert e.days[int(day.replace("-", ""))][0] == 51000        # (e.days's key: 20260114)
    # each hour of the day within 1 Wh of the exact energy of that hour
    for h, v in e.hours.items():
        start = h * 3600                                  # (an hour kept by its number)
        if local_hour(start)[0] == day:
            exact = truth[start + 3600] - truth[start]
            assert abs(v[0] - exact) <= 1, (ref.local(start), v, exact)
    rep = e.report(frames[-1][0])
    assert rep["month"]["peak_hour"] == "2026-01-14T10:00+01:00"
    assert txt(rep["month"]["peak_kwh"]) == "5.000"
    same_on_micropython(frames, e, tmp_path)


# 3 -----------------------------------------------------------------------

@pytest.mark.parametrize("maxima", [(2001, 2000, 2000), (2000, 2000, 2000), (5001, 5000, 5000),
                                    (1999, 2000, 2002)])
def test_capacity_step_compares_the_exact_average(maxima):
    """Daily maxima of three days: the step is 1 plus the bounds their exact
    average exceeds (README)."""
    e = energy.Energy("CET", 3)
    for k, wh in enumerate(maxima):
        t = utc(2026, 1, 5 + k, 10, 0, 0)
        base = 100000 * k
        e.sample(t, None, None, base, 0)
        e.sample(t + 3600, None, None, base + wh, 0)
        e.sample(t + 7200, None, None, base + wh, 0)
    avg = Fraction(sum(maxima), len(maxima))
    want = 1 + len([b for b in (2, 5, 10, 15, 20, 25, 50, 75, 100) if avg > b * 1000])
    month = e.report(utc(2026, 1, 8, 0, 0, 0))["month"]
    assert sorted(_.wh for _ in [x["kwh"] for x in month["top_hours"]]) == sorted(maxima)
    assert month["capacity_step"] == want


# 6 -----------------------------------------------------------------------

def _p1_day():
    """P1 frames every 10 s at 1 kW, the import register from 5,000 kWh."""
    frames = simulate(utc(2026, 2, 10, 9, 0, 0), utc(2026, 2, 10, 13, 0, 0), lambda t: 1000)[0]
    return [(t, p, ri + 5000000, re) for t, p, ri, re in frames]


def _glitch(frames, at, f):
    return [f(x) if x[0] == at else x for x in frames]


AT = utc(2026, 2, 10, 10, 30, 0)


@pytest.mark.parametrize("case", ["zero", "spike", "no_export", "replaced_higher", "replaced_lower"])
def test_implausible_registers_are_not_counted(case, tmp_path):
    """1 kW, P1 registers every 10 s, export register 100 kWh standing
    still; at 10:30 UTC one bad frame, or a new meter from then on."""
    frames = [(t, p, ri, 100000) for t, p, ri, _ in _p1_day()]
    if case == "zero":
        frames = _glitch(frames, AT, lambda x: (x[0], x[1], 0, x[3]))
    elif case == "spike":
        frames = _glitch(frames, AT, lambda x: (x[0], x[1], x[2] + 1000000000, x[3]))
    elif case == "no_export":
        frames = _glitch(frames, AT, lambda x: (x[0], x[1], x[2], None))
    else:
        r_at = [ri for t, _, ri, _ in frames if t == AT][0]
        jump = 15000000 if case == "replaced_higher" else 7 - r_at      # the new meter starts at 7 Wh
        frames = [(t, p, ri + jump if t >= AT else ri, re) for t, p, ri, re in frames]
    e = feed(frames)
    anchors = [(t, ri, re) for t, _, ri, re in frames]
    hours = ref.account(anchors, [f[0] for f in frames], 50000)
    # (e.hours kept by hour number, start // 3600; the reference's by start)
    assert {h * 3600: [v[0], v[1], bool(v[2])] for h, v in e.hours.items()} == \
        {h: [v[0], v[1], v[2]] for h, v in hours.items() if h // 3600 in e.hours}
    # no hour above the 1 kW that flowed, no export at all
    assert all(v[0] <= 1000 and v[1] == 0 for v in e.hours.values())
    rep = e.report(frames[-1][0])
    assert txt(rep["month"]["peak_kwh"]) == "1.000" and txt(rep["month"]["export_kwh"]) == "0.000"
    problems = " | ".join(rep["problems"])
    if case.startswith("replaced"):
        assert "(meter replaced?)" in problems and "2026-02-10T11:00+01:00" in problems
        before = [ri for t, _, ri, _ in frames if t < AT]
        after = [ri for t, _, ri, _ in frames if t >= AT]
        assert sum(v[0] for v in e.days.values()) == (before[-1] - before[0]) + (after[-1] - after[0])
    else:
        assert problems.startswith("1 register readings rejected as implausible")
        assert sum(v[0] for v in e.days.values()) == frames[-1][2] - frames[0][2]
    same_on_micropython(frames, e, tmp_path)


# 7 -----------------------------------------------------------------------

def test_short_gap_hour_is_estimated_unless_proven(tmp_path):
    """P1 registers every 10 s, 1 kW; 10:00-10:30 local 8 kW, 11:00-11:30
    8 kW, 0 in between and after (real hours 10 and 11: 4 kWh each); no
    frame from 10:30 to 11:30 (a gap under GAP_S). At 14:00 3 kW with a
    20-minute gap inside the hour: its difference proves it."""
    def watts(t):
        _, h, _ = local_hour(t)
        m = ref.local(t).minute
        if h == 10:
            return 8000 if m < 30 else 0
        if h == 11:
            return 8000 if m < 30 else 0
        return 3000 if h == 14 else 1000
    gaps = ((utc(2026, 2, 11, 9, 30, 0), utc(2026, 2, 11, 10, 30, 0)),
            (utc(2026, 2, 11, 13, 20, 0), utc(2026, 2, 11, 13, 40, 0)))
    frames, truth = simulate(utc(2026, 2, 11, 6, 0, 0), utc(2026, 2, 11, 16, 0, 0), watts, gaps=gaps)
    e = feed(frames)
    anchors = [(t, ri, re) for t, _, ri, re in frames]
    hours = ref.account(anchors, [f[0] for f in frames])
    # (e.hours kept by hour number, start // 3600; the reference's by start)
    assert {h * 3600: [v[0], v[1], bool(v[2])] for h, v in e.hours.items()} == \
        {h: v for h, v in hours.items() if h // 3600 in e.hours}
    ten, eleven, two = (utc(2026, 2, 11, h, 0, 0) // 3600 for h in (9, 10, 13))    # (hour numbers)
    real = max(truth[h + 3600] - truth[h] for h in range(utc(2026, 2, 11, 6, 0, 0), utc(2026, 2, 11, 15, 0, 0), 3600))
    assert real == 4000 and e.hours[ten][0] > real               # the spread hour exceeds any real one...
    assert e.hours[ten][2] and e.hours[eleven][2]                 # ...so it is estimated
    assert not e.hours[two][2] and e.hours[two][0] == 3000        # the gap inside one hour is proven
    days = ref.days_of(hours, frames[-1][0])
    rep = e.report(frames[-1][0])
    assert txt(rep["month"]["peak_kwh"]) == ref.month(days, "2026-02")["peak_kwh"] == "3.000"
    assert rep["month"]["peak_hour"] == "2026-02-11T14:00+01:00"
    same_on_micropython(frames, e, tmp_path)


def test_new_meter_while_registers_are_lost(tmp_path):
    """Bugs 2 and 6 together: hourly registers (hh:00:10), 2 kW; the new
    meter (15,000 kWh higher) sends its first register at 09:00:10 UTC, the
    one of 10:00:10 is lost. Rejected registers still say registers come,
    so no hour is filled from power and none is counted twice: every hour
    at most its exact 2000 Wh, within 10 Wh of it except 08:00 UTC, whose
    energy lay between the old meter's last reading and the new one's first
    (not counted, README)."""
    start = utc(2026, 3, 2, 6, 0, 0)
    frames, truth = simulate(start, utc(2026, 3, 2, 14, 0, 0), lambda t: 2000, reg_at=10,
                             lost={utc(2026, 3, 2, 10, 0, 10)})
    new = utc(2026, 3, 2, 9, 0, 10)
    frames = [(t, p, ri + 15000000 if ri is not None and t >= new else ri, re) for t, p, ri, re in frames]
    e = feed(frames)
    for h in range(utc(2026, 3, 2, 7, 0, 0), utc(2026, 3, 2, 13, 0, 0), 3600):
        exact = truth[h + 3600] - truth[h]
        got = e.hours[h // 3600]                          # (kept by hour number)
        assert got[0] <= exact and (h == utc(2026, 3, 2, 8) or exact - 10 <= got[0]), (ref.local(h), got)
    regs = [(t, ri) for t, _, ri, _ in frames if ri is not None]
    old = [ri for t, ri in regs if t < new]
    after = [ri for t, ri in regs if t >= new]
    assert sum(v[0] for v in e.days.values()) == (old[-1] - old[0]) + (after[-1] - after[0])
    assert "register went from %d to %d Wh" % (old[-1], after[0]) in " ".join(e.report(frames[-1][0])["problems"])
    same_on_micropython(frames, e, tmp_path)
