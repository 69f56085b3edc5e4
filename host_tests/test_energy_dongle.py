"""A simulated month through the virtual dongle (the real firmware on
MicroPython's unix port): Swedish P1 telegrams every 5 minutes of meter
time across the autumn DST switch, a power cut mid-hour (kill -9) with a
half-written energy.json.tmp left behind, a day-long silence and a meter
clock jump. /api/energy must equal the reference computed here from the
same telegrams (energy_ref.py); a damaged energy.json is reported, never
trusted."""
import json
import os
import signal
import time
from decimal import Decimal

import energy_ref as ref
from testkit.config import dongle_config
from testkit.rig import Dongle, Meter, wait_until
from scenarios import month_of_readings, p1_telegram


def config(meter):
    return dongle_config(meter, "p1", wifi="", admin_password="x" * 8, energy={"save_s": 1})



def send_all(d, meter, readings, start_ok):
    for k in range(0, len(readings), 200):
        meter.send(b"".join(p1_telegram(*r) for r in readings[k:k + 200]))
        n = start_ok + min(k + 200, len(readings))
        wait_until(lambda: d.status()["frames"]["frames_ok"] >= n, 60, step=0.1,
                   what="%d telegrams decoded" % n)
    return start_ok + len(readings)


def saved_anchor(path):
    with open(path) as f:
        f.readline()
        return json.loads(f.read())["anchor"][0]


def test_a_month_through_the_dongle(tmp_path):
    readings = month_of_readings(seed=4)
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    try:
        wait_until(meter.connected, what="the meter link")
        cut = len(readings) // 3 + 5            # mid-hour
        ok = send_all(d, meter, readings[:cut], 0)
        time.sleep(1.5)                          # a save happens (save_s 1)
        ok = send_all(d, meter, readings[cut:cut + 4], ok)
        os.kill(d.proc.pid, signal.SIGKILL)      # power cut
        d.proc.wait()
        flash = d.dir
        anchor = saved_anchor(flash / "energy.json")
        # a write cut short leaves a torn temporary file: it must not matter
        (flash / "energy.json.tmp").write_text("HANE1 1234 99999\n{\"v\": 1, \"anch")
        meter.drop()
        d.start()
        wait_until(meter.connected, what="the meter link again")
        status = d.status()
        # the saved accounts are trusted, the saved time is not: the live
        # clock is unknown until the meter sends its time again
        assert not status["energy"]["ready"] and not status["energy"]["problems"]
        send_all(d, meter, readings[cut + 4:], 0)
        assert d.status()["energy"]["ready"]
        used = [r for r in readings if r[0] <= anchor or r[0] > readings[cut + 3][0]]
        anchors = [(t, ri, re) for t, _, ri, re in used]
        hours = ref.account(anchors)
        days = ref.days_of(hours, anchors[-1][0])
        rep = json.loads(d.get("/api/energy")[2], parse_float=Decimal)
        assert rep["ready"] and rep["zone"] == "CET"
        want = ref.month(days, rep["month"]["month"])
        got = rep["month"]

        def txt(x):
            return None if x is None else "%.3f" % x
        assert txt(got["import_kwh"]) == want["import_kwh"]
        assert txt(got["export_kwh"]) == want["export_kwh"]
        assert txt(got["peak_kwh"]) == want["peak_kwh"]
        assert txt(got["top_average_kw"]) == want["top_average_kw"]
        assert [txt(x["kwh"]) for x in got["top_hours"]] == want["top_hours"]
        october = [m for m in rep["months"] if m["month"] == "2025-10"][0]
        w10 = ref.month(days, "2025-10")
        assert txt(october["import_kwh"]) == w10["import_kwh"] and txt(october["peak_kwh"]) == w10["peak_kwh"]
        for day in rep["days"]:
            assert txt(day["import_kwh"]) == ref.kwh(days[day["date"]][0])
        # every Wh between the first and last register is in a day
        first_month = sum(v[0] for k, v in days.items() if k.startswith("2025-10"))
        assert Decimal(october["import_kwh"]) * 1000 == first_month
        # the 25-hour day: both 02:00 hours of Oct 26 were accounted
        assert len([h for h in hours if ref.local(h).strftime("%Y-%m-%d") == "2025-10-26"]) == 25
        # the live estimate and its place in /api/status
        assert rep["hour"]["warning"] in ("ok", "new_peak", "raises_top_average")
        assert d.status()["energy"]["month_peak_kwh"] == float(got["peak_kwh"])
    finally:
        d.stop()
        meter.close()


def test_damaged_energy_file_is_reported_not_trusted(tmp_path):
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    try:
        wait_until(meter.connected, what="the meter link")
        send_all(d, meter, month_of_readings(seed=5)[:40], 0)
        wait_until(lambda: (d.dir / "energy.json").exists(), 5, what="a save")
        time.sleep(1.2)
        d.stop()
        raw = bytearray((d.dir / "energy.json").read_bytes())
        raw[len(raw) // 2] ^= 0x04                       # one bit, in the middle of the JSON
        (d.dir / "energy.json").write_bytes(bytes(raw))
        meter.drop()
        d.start()
        s = d.status()["energy"]
        assert any("damaged" in p and "not trusted" in p for p in s["problems"]), s
        assert (d.dir / "energy.json.bad").exists()
        assert not s["ready"] or s["month_import_kwh"] == 0
    finally:
        d.stop()
        meter.close()
