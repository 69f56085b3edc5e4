"""Energy accounting (firmware/dongle/energy.py) against the reference in
energy_ref.py: a simulated month of Swedish P1 readings with the autumn DST
switch, a day-long gap, clock jumps, a restart from saved state; plus
hourly-register meters (Aidon style) and meters without registers."""
import json
import sys
from datetime import datetime, timezone
from re import fullmatch

import pytest

import energy_ref as ref
from testkit import heapfill
from testkit.mpy import ROOT
from scenarios import month_of_readings, utc

sys.path.insert(0, str(ROOT / "firmware"))
from dongle import energy, jsonw  # noqa: E402


def run(readings, e=None):
    e = e or energy.Energy("CET", 3)
    for t, p, ri, re in readings:
        e.sample(t, p, 0, ri, re)
    return e


def as_text(x):
    return None if x is None else x.text()


def day_key(date):
    """e.days's key of a date: "2025-10-26" -> 20251026 (y * 10000 + m * 100 + d)."""
    return int(date.replace("-", ""))


def check(e, anchors):
    hours = ref.account(anchors)
    last_t = anchors[-1][0]
    for h, v in e.hours.items():                  # (an hour kept by its number: start // 3600)
        start = h * 3600
        assert [v[0], v[1], bool(v[2])] == [hours[start][0], hours[start][1], hours[start][2]], ref.local(start)
    days = ref.days_of(hours, last_t)
    by_key = {day_key(k): w for k, w in days.items()}
    for k, v in e.days.items():
        # (a day's maximum hour kept by its number: start // 3600)
        assert v[:3] == [by_key[k][0], by_key[k][1], by_key[k][2] or 0] and v[3] == (
            None if by_key[k][3] is None else by_key[k][3] // 3600), k
    rep = e.report(last_t)
    want = ref.month(days, rep["today"]["date"][:7])
    got = rep["month"]
    assert as_text(got["import_kwh"]) == want["import_kwh"]
    assert as_text(got["export_kwh"]) == want["export_kwh"]
    assert as_text(got["peak_kwh"]) == want["peak_kwh"]
    assert as_text(got["top_average_kw"]) == want["top_average_kw"]
    assert [as_text(x["kwh"]) for x in got["top_hours"]] == want["top_hours"]
    for m in rep["months"]:
        w = ref.month(days, m["month"])
        assert as_text(m["import_kwh"]) == w["import_kwh"] and as_text(m["peak_kwh"]) == w["peak_kwh"]
    return rep


def test_a_month_with_dst_gap_and_clock_jump():
    rs = month_of_readings()
    e = run(rs)
    rep = check(e, [(t, ri, re) for t, _, ri, re in rs])
    # the autumn switch: Oct 26 has 25 hours, and both 02:00 hours exist
    labels = [h["hour"] for h in rep["hours"]]
    assert rep["month"]["month"] == "2025-11"
    # (hours kept by number: start // 3600)
    oct26 = [h for h in e.hours if ref.local(h * 3600).strftime("%Y-%m-%d") == "2025-10-26"]
    assert not oct26 or len(oct26) <= 25
    assert len(rep["months"]) == 1 and rep["months"][0]["month"] == "2025-10"
    # every Wh of the registers is accounted once
    total = sum(d[0] for d in e.days.values())
    assert total == rs[-1][2] - rs[0][2]
    assert labels


def test_dst_day_has_25_hours_and_spring_23():
    """1 kW all day long on the switch days: 25 and 23 hours of 1 kWh."""
    for start, day, n in ((datetime(2025, 10, 25, 22, tzinfo=timezone.utc), "2025-10-26", 25),
                          (datetime(2025, 3, 29, 23, tzinfo=timezone.utc), "2025-03-30", 23)):
        t0 = int(start.timestamp())
        e = energy.Energy("CET", 3)
        for k in range(0, n * 3600 + 60, 60):
            e.sample(t0 + k, 1000_000, 0, 1000 + k * 1000 // 3600, 0)
        # (hours kept by number: start // 3600)
        hours = [h for h in e.hours if ref.local(h * 3600).strftime("%Y-%m-%d") == day]
        assert len(hours) == n
        assert len(set(e.label(h * 3600) for h in hours)) == n     # the repeated 02:00 has its own offset
        assert all(e.hours[h][0] == 1000 for h in hours)
        assert e.days[day_key(day)][0] == n * 1000


def test_restart_from_saved_state_loses_nothing():
    rs = month_of_readings(seed=2, gap=(0, 0), jumps=())
    cut = len(rs) // 2
    e = run(rs[:cut])
    saved = json.loads(jsonw.dumps(e.dump()))     # what energy.json holds
    # version 1's form, which an older version rolled back to reads: hours
    # (and maximum hours) as UTC seconds of their start, days by "YYYY-MM-DD"
    # (kept by hour number and by y * 10000 + m * 100 + d in RAM)
    maxima = [(k, v[3]) for k, v in saved["days"].items() if v[3] is not None]
    assert saved["v"] == 1 and maxima and all(h == e.days[day_key(k)][3] * 3600 > 1.7e9 for k, h in maxima)
    assert all(fullmatch(r"20\d\d-\d\d-\d\d", k) for k in saved["days"])
    assert sorted(day_key(k) for k in saved["days"]) == sorted(e.days)
    assert all(v[:3] == e.days[day_key(k)][:3] for k, v in saved["days"].items())
    assert len(saved["hours"]) == len(e.hours) > 0 and len(saved["prov"]) == len(e.prov) > 0
    assert all(x[0] > 1.7e9 and x[1:] == e.hours[x[0] // 3600] and x[0] % 3600 == 0 for x in saved["hours"])
    assert all(x[0] > 1.7e9 and x[1:] == e.prov[x[0] // 3600] and x[0] % 3600 == 0 for x in saved["prov"])
    lost = rs[cut:cut + 7]                        # processed after the save, then power lost
    e2 = energy.Energy("CET", 3)
    e2.load(saved)
    run(rs[cut + 7:], e2)
    anchors = [(t, ri, re) for t, _, ri, re in rs[:cut] + rs[cut + 7:]]
    check(e2, anchors)
    assert sum(d[0] for d in e2.days.values()) == rs[-1][2] - rs[0][2]
    assert lost


def test_hourly_registers_and_live_estimate():
    """Aidon-style: power every 10 s, registers once an hour at hh:00:10.
    Until the register comes, the hour is integrated power."""
    t0 = int(datetime(2025, 1, 6, 0, 0, 0, tzinfo=timezone.utc).timestamp())
    e = energy.Energy("CET", 3)
    reg, acc = 10_000_000, 0
    for k in range(0, 4 * 3600 + 1800 + 10, 10):        # to 04:30:00
        t = t0 + k
        p = 2_000_000 if (k // 3600) != 2 else 6_000_000      # 2 kW, 6 kW in hour 2
        if k % 3600 == 10:
            e.sample(t, p, 0, reg, 0)
        else:
            e.sample(t, p, 0, None, None)
        acc += p * 10
        reg, acc = reg + acc // 3_600_000, acc % 3_600_000
    so_far, est = e.estimate(t)
    assert 990 <= so_far <= 1010 and 1990 <= est <= 2010          # half of a 2 kW hour
    hour2 = t0 // 3600 + 2                                         # (e.hours's key: start // 3600)
    assert 5900 <= e.hours[hour2][0] <= 6100                       # the register's share
    rep = e.report(t)
    assert rep["month"]["peak_kwh"].wh == e.hours[hour2][0]
    assert rep["hour"]["warning"] == "ok" and rep["hour"]["estimate_kwh"].wh == est
    # t is 04:30:00 UTC in winter: 05:30:00 local
    assert rep["time"] == "2025-01-06T05:30:00+01:00" and rep["hour"]["start"] == "2025-01-06T05:00+01:00"
    assert e.report(t + 1234)["time"] == "2025-01-06T05:50:34+01:00"
    # the light view is the report without its lists
    light = e.current(t)
    assert set(rep) - set(light) == {"hours", "days", "months"}
    assert all(light[k] == rep[k] for k in light)


def test_meter_without_registers_counts_power():
    t0 = int(datetime(2025, 1, 6, tzinfo=timezone.utc).timestamp())
    e = energy.Energy("CET", 3)
    for k in range(0, 3 * 3600 + 20, 10):
        e.sample(t0 + k, 1_500_000, 0, None, None)
    # (e.hours's key: the hour's number, start // 3600)
    assert [e.hours[t0 // 3600 + h][0] for h in range(3)] == [1500, 1500, 1500]


def test_stale_repeat_and_clock_going_back():
    t0 = int(datetime(2025, 1, 6, 10, tzinfo=timezone.utc).timestamp())
    e = energy.Energy("CET", 3)
    e.sample(t0, None, None, 1000, 0)
    e.sample(t0 + 3600, None, None, 2000, 0)
    e.sample(t0, None, None, 2000, 0)                 # stale list 3: old clock, same registers
    assert e.anchor[0] == t0 + 3600
    e.sample(t0 + 1800, None, None, 2300, 0)          # clock back, new energy: not used...
    assert e.anchor[:3] == [t0 + 3600, 2000, 0]
    e.sample(t0 + 7200, None, None, 3300, 0)          # ...the next later reading covers it
    # (e.hours's key: the hour's number, start // 3600)
    assert e.hours[t0 // 3600][0] == 1000 and e.hours[t0 // 3600 + 1][0] == 1300
    assert sum(d[0] for d in e.days.values()) == 2300


def test_register_reset_is_reported_not_counted():
    t0 = int(datetime(2025, 1, 6, 10, tzinfo=timezone.utc).timestamp())
    e = energy.Energy("CET", 3)
    e.sample(t0, None, None, 5000, 0)
    e.sample(t0 + 60, None, None, 10, 0)
    e.sample(t0 + 120, None, None, 20, 0)
    assert sum(d[0] for d in e.days.values()) == 10
    assert "register went from 5000 to 10 Wh" in e.report(t0 + 120)["problems"][0]


@pytest.mark.parametrize("steps,avg_wh,step", [((2, 5, 10), 4000, 2), ((2, 5, 10), 12000, 4), ((5,), 1000, 1)])
def test_capacity_step(steps, avg_wh, step):
    e = energy.Energy("CET", 1, steps)
    t0 = int(datetime(2025, 1, 6, 10, tzinfo=timezone.utc).timestamp())
    e.sample(t0, None, None, 0, 0)
    e.sample(t0 + 3600, None, None, avg_wh, 0)
    e.sample(t0 + 7200, None, None, avg_wh, 0)
    assert e.report(t0 + 7200)["month"]["capacity_step"] == step


def test_the_report_made_item_by_item_is_the_same_document(tmp_path):
    """/api/energy's report with its hours, days and months made as they
    are written (not lists: what the dongle serves) is byte for byte the
    report with them as lists, for a year of accounts."""
    from dongle import energyview, jsonw
    from testkit.book import year_of_energy
    book = year_of_energy(tmp_path / "energy.json", utc(2026, 1, 15, 15, 0, 0), 12340000)
    t = book.last[0]
    lists = energyview.report(book, t)
    assert len(lists["months"]) == 12 and len(lists["hours"]) == 26 and len(lists["days"]) == 15
    lazy = energyview.report(book, t, lists=False)
    assert callable(lazy["months"])
    assert jsonw.dumps(lazy) == jsonw.dumps(lists)


ENERGYCLOSE_RUN = """
import json, sys
sys.path.append(%r)
from dongle import energy
for readings in json.loads(sys.stdin.read()):
    e = energy.Energy("CET", 3)
    loaded = []
    for t, p, r in readings:
        e.sample(t, p, 0, r, None if r is None else 0)
        loaded.append("dongle.energyclose" in sys.modules)
    print(json.dumps({"loaded": loaded, "hours": sorted(e.hours.items()), "days": sorted(e.days.items())}))
"""


@pytest.mark.parametrize("bits", [64, 32])
def test_energyclose_stays_loaded_only_while_registers_come_every_frame(bits):
    """What a register reading settles (energyclose.py) is loaded for it:
    a P1 meter's registers every 10 s keep it loaded from the second frame
    on; a meter that sends power every 10 s and its registers once an hour
    (Aidon) has it let go after every use, so it is not loaded between
    frames. Under MicroPython, where letting it go frees its RAM, the
    accounts are those CPython makes of the same readings."""
    from testkit import mpy
    t0 = int(datetime(2025, 1, 6, 0, 0, 0, tzinfo=timezone.utc).timestamp())
    p1 = [(t0 + k, 2_000_000, 10_000_000 + k * 2000 // 3600) for k in range(0, 2 * 3600, 10)]
    aidon = [(t0 + k, 2_000_000, 10_000_000 + k * 2000 // 3600 if k % 3600 == 10 else None)
             for k in range(0, 3 * 3600, 10)]
    res = mpy.run(["-c", ENERGYCLOSE_RUN % str(ROOT / "firmware")], input=json.dumps([p1, aidon]).encode(), bits=bits)
    assert res.returncode == 0, res.stderr.decode()
    got = [json.loads(line) for line in res.stdout.decode().splitlines()]
    assert got[0]["loaded"] == [False] + [True] * (len(p1) - 1)
    assert got[1]["loaded"] == [False] * len(aidon)
    for readings, mine in zip((p1, aidon), got):
        e = run([(t, p, r, None if r is None else 0) for t, p, r in readings])
        assert mine["hours"] == [[h, v] for h, v in sorted(e.hours.items())]
        assert mine["days"] == [[d, v] for d, v in sorted(e.days.items())]
        assert len(e.hours) >= 2 and all(v[3] for h, v in sorted(e.hours.items())[:-1])   # hours made final


SHORT_HEAP_RUN = """
import json, sys
sys.path.append(%r)
from dongle import energy
%s
for readings, cut in json.loads(sys.stdin.read()):
    e = energy.Energy("CET", 3)
    lost = 0
    for i, (t, p, r) in enumerate(readings):
        if i == cut:
            fill(1024)                       # too little for energyclose.py to load
            try:
                e.sample(t, p, 0, r, None if r is None else 0)
            except MemoryError:
                lost += 1
            empty()
        else:
            e.sample(t, p, 0, r, None if r is None else 0)
    print(json.dumps({"lost": lost, "hours": sorted(e.hours.items()), "days": sorted(e.days.items()),
                      "anchor": e.anchor, "last": e.last}))
"""


@pytest.mark.parametrize("bits", [64, 32])
def test_a_heap_too_short_for_energyclose_loses_nothing_the_next_frame_cannot_cover(bits):
    """energyclose.py loads on the frame that needs it; when the heap is
    too short for it, that frame's sample is taken all the same (its power
    is integrated once, not again by the next frame) and what it would have
    settled is settled by the next: a meter without registers whose hour
    could not be filled ends with the same accounts as one never cut; an
    hourly register lost is covered by the next one (the day's energy the
    same)."""
    from testkit import mpy
    t0 = int(datetime(2025, 1, 6, 0, 0, 0, tzinfo=timezone.utc).timestamp())
    power = [(t0 + k, 1_500_000, None) for k in range(0, 3 * 3600 + 20, 10)]
    hourly = [(t0 + k, 2_000_000, 10_000_000 + k * 2000 // 3600 if k % 3600 == 10 else None)
              for k in range(0, 3 * 3600 + 20, 10)]
    first_of_hour_1 = 360                       # (power[360] is 01:00:00: hour 0 filled then)
    register_of_hour_1 = 361                    # (hourly[361] is 01:00:10: the register)
    runs = [[power, -1], [power, first_of_hour_1], [hourly, -1], [hourly, register_of_hour_1]]
    res = mpy.run(["-c", SHORT_HEAP_RUN % (str(ROOT / "firmware"), heapfill.CODE)], input=json.dumps(runs).encode(),
                  bits=bits)
    assert res.returncode == 0, res.stderr.decode()
    whole_p, cut_p, whole_h, cut_h = [json.loads(line) for line in res.stdout.decode().splitlines()]
    assert [whole_p["lost"], cut_p["lost"], whole_h["lost"], cut_h["lost"]] == [0, 1, 0, 1]
    assert [v[0] for _, v in whole_p["hours"]] == [1500, 1500, 1500]
    assert cut_p == dict(whole_p, lost=1)
    # the day's energy the same; the hours the next register's interval
    # spans (0, 1 and 2's first 10 s) shared by time, estimated (an
    # interval over GAP_S), so the day has no maximum hour yet
    assert [[d, v[:2]] for d, v in cut_h["days"]] == [[d, v[:2]] for d, v in whole_h["days"]]
    assert cut_h["anchor"] == whole_h["anchor"] and cut_h["last"] == whole_h["last"]
    assert [v[2] for _, v in cut_h["hours"]] == [1, 1, 1, 0] and [v[2] for _, v in whole_h["hours"]] == [0, 0, 0, 0]


FRAGMENTED_RUN = heapfill.CODE + """
import binascii, gc, json, sys
import hanport
from dongle import spare
from dongle.ledger import Ledger
from dongle.meter import Meter
from dongle.state import State

def energy_of(ledger):
    e = ledger.book
    return {"hours": sorted(e.hours.items()), "days": sorted(e.days.items()), "last": e.last, "anchor": e.anchor}


job = json.loads(sys.stdin.read())
frames = [binascii.unhexlify(f) for f in job["frames"]]
cut = job["cut"]
steps = []
if job["part"] == "ledger":
    # readings decoded first; the heap cut up at the frame that loads
    # energyclose.py, and left so for the next frame
    readings = [hanport.Decoder().feed(f)[0] for f in frames]
    ledger = Ledger({"energy": {"zone": "CET", "top_n": 3, "steps_kw": [2, 5, 10], "save_s": 3600,
                                "max_power_kw": 50}})
    for i, r in enumerate(readings):
        if i == cut:
            fragment(240)
        ledger.reading(r)
        steps.append([ledger.short, spare.block is not None, spare.spent, "dongle.energyclose" in sys.modules])
        if i == cut + 1:
            empty()
    out = dict(energy_of(ledger), steps=steps, held=spare.held(),
               summary=ledger.summary().get("short_of_memory"))
else:
    # the meter's own path, the heap cut up in runs too short for a reading
    state = State()
    meter = Meter({}, state, hanport.Decoder(), None, [("x",)])
    buf = bytearray(512)                     # (the read task's, made once)
    for i, f in enumerate(frames):
        if i == cut:
            fragment(8)
        buf[:len(f)] = f
        meter._feed(buf, len(f))
        steps.append([meter.out_of_memory, meter.decoder.frames_ok, spare.block is not None, spare.spent])
        if i == cut + 1:
            empty()
    out = {"steps": steps, "held": spare.held(), "frames": state.frames}
print(json.dumps(out))
"""


def test_a_heap_in_pieces_lets_the_spare_block_go_and_the_next_frame_goes_through(bundle32, tmp_path):
    """On the 32-bit build with the firmware's .mpy files (the board's
    code, loaded into the heap): a heap with room in all but only in short
    runs (a long-running dongle's): the spare block stays held
    (spare.ensure sees room), and what then runs out lets it go, so the
    next frame, on the same heap, has its run; the block is taken back once
    the heap has one for it. energyclose.py that cannot load costs that
    frame's settling only, counted (the energy summary's short_of_memory),
    not a lost frame; a reading that cannot be made loses that frame only.
    Before, every frame after it ran out the same way, for as long as the
    heap stayed so."""
    import binascii
    from scenarios import p1_telegram
    from testkit import mpy
    t0 = int(datetime(2025, 1, 6, 12, 0, 0, tzinfo=timezone.utc).timestamp())
    frames = [binascii.hexlify(p1_telegram(t0 + 10 * k, 1_500_000 + 1000 * k, 12_345_678 + 5 * k, 0)).decode()
              for k in range(6)]

    def run(part, cut):
        res = mpy.run(["-c", FRAGMENTED_RUN], input=json.dumps({"part": part, "cut": cut, "frames": frames}).encode(),
                      bits=32, heapsize="96K", cwd=tmp_path, path=bundle32[0])
        assert res.returncode == 0, res.stderr.decode() + res.stdout.decode()
        *logged, last = res.stdout.decode().splitlines()      # (the firmware's log, then the result)
        return dict(json.loads(last), logged=logged)

    whole, cut = run("ledger", -1), run("ledger", 1)
    # frame 1 found no run for energyclose.py: counted, the block let go;
    # frame 2, on the same heap, loaded it (a P1 meter keeps it)
    assert [s[:3] for s in cut["steps"][:3]] == [[0, True, 0], [1, False, 1], [1, False, 1]]
    assert cut["steps"][2][3] and cut["held"] and cut["summary"] == 1
    assert whole["steps"][1] == [0, True, 0, True] and whole["summary"] == 0
    # frame 2's register covered frame 1's: the same accounts
    assert {k: cut[k] for k in ("hours", "days", "last", "anchor")} == \
        {k: whole[k] for k in ("hours", "days", "last", "anchor")}
    assert whole["hours"] and whole["days"]

    meter = run("meter", 2)
    # frame 2 lost (no run for its reading) and the block let go; frame 3
    # decoded on the same heap, and every one after
    assert meter["steps"][1:4] == [[0, 2, True, 0], [1, 2, False, 1], [1, 3, False, 1]], meter["steps"]
    assert meter["steps"][-1][:2] == [1, 5] and meter["frames"] == 5 and meter["held"]
    assert [line.split(None, 1)[1] for line in meter["logged"]] == ["meter: a frame lost: MemoryError"]
    assert cut["logged"] == whole["logged"] == []
