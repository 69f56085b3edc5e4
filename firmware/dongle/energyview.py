# The energy accounting's reports and its saved form: /api/energy, the
# status summary, MQTT's <base>/energy and energy.json. Functions of an
# energy.Energy, loaded when one is asked for and let go after (ledger.py):
# on a board this code would otherwise sit in RAM between reports.
import json
import os
import time

_MWS_PER_WH = 3600000    # milliwatt-seconds in a watt-hour, energy.py's unit of integration


def view(e, raw):
    top = raw["top"]
    n = len(top)
    s = sum(x[0] for x in top)
    return {
        "import_kwh": _kwh(raw["imp"]), "export_kwh": _kwh(raw["exp"]),
        "peak_kwh": _kwh(top[0][0]) if top else None,
        "peak_hour": e.label(top[0][1]) if top else None,
        "top_hours": [{"hour": e.label(h), "kwh": _kwh(wh)} for wh, h in top],
        "top_average_kw": _kwh(s // n) if top else None,
        # exact: the average exceeds a bound when the sum exceeds bound * n
        "capacity_step": 1 + len([b for b in e.steps_wh if s > b * n]) if top else None,
        "days": raw["days"],
    }


def estimate(e, t):
    """(Wh so far in t's hour, Wh estimated at its end)."""
    h = t - t % 3600
    hour = e.hours.get(h)
    so_far = hour[0] if hour else 0
    prov = e.prov.get(h)
    if prov is not None:
        so_far += prov[0] // _MWS_PER_WH
    p = e.last[1] or 0 if e.last else 0
    return so_far, so_far + p * (h + 3600 - t) // _MWS_PER_WH


def problems(e):
    n, why = e.rejected
    return e.problems + (["%d register readings rejected as implausible, the last at %s"
                          % (n, why)] if n else [])


def current(e, t):
    """This hour, today and this month at meter time t (UTC): the light
    part of the report, cheap enough for every /api/status poll."""
    if t is None:
        return {"ready": False, "problems": problems(e)}
    h = t - t % 3600
    today = e.day_label(h)
    month = today[:7]
    raw = e.month_summary(month)
    cur = view(e, raw)
    so_far, est = estimate(e, t)
    topn = [x[0] for x in raw["top"]]
    peak_wh = topn[0] if topn else None
    day = e.days.get(today)
    if peak_wh is not None and est > peak_wh:
        warning = "new_peak"
    elif len(topn) >= e.top_n and est > topn[-1] and (day is None or day[3] is None or est > day[2]):
        warning = "raises_top_average"
    else:
        warning = "ok"
    start = e.label(h)
    return {
        "ready": True,
        "time": "%s%02d:%02d%s" % (start[:14], t % 3600 // 60, t % 60, start[16:]),
        "zone": e.zone,
        "hour": {"start": start, "import_kwh": _kwh(so_far), "estimate_kwh": _kwh(est),
                 "warning": warning},
        "today": {"date": today, "import_kwh": _kwh(day[0] if day else 0),
                  "export_kwh": _kwh(day[1] if day else 0),
                  "max_hour_kwh": _kwh(day[2]) if day and day[3] is not None else None},
        "month": dict(cur, month=month, top_n=e.top_n),
        "problems": problems(e),
    }


def report(e, t):
    """Everything /api/energy shows, at meter time t (UTC)."""
    rep = current(e, t)
    if not rep["ready"]:
        return rep
    month = rep["month"]["month"]
    rep["hours"] = [{"hour": e.label(hh), "import_kwh": _kwh(v[0]), "export_kwh": _kwh(v[1]),
                     "estimated": bool(v[2]), "complete": bool(v[3])}
                    for hh, v in sorted(e.hours.items())[-26:]]
    rep["days"] = [{"date": k, "import_kwh": _kwh(v[0]), "export_kwh": _kwh(v[1]),
                    "max_hour_kwh": _kwh(v[2]) if v[3] is not None else None}
                   for k, v in sorted(e.days.items()) if k[:7] == month]
    rep["months"] = [dict(view(e, v), month=k) for k, v in sorted(e.months.items())]
    return rep


def dump(e):
    return {"v": 1, "zone": e.zone, "anchor": e.anchor, "last": e.last,
            "reg_t": e.reg_t, "prov": [[h, v[0], v[1]] for h, v in e.prov.items()],
            "hours": [[h] + v for h, v in e.hours.items()],
            "days": e.days, "months": e.months, "problems": e.problems,
            "rejected": e.rejected}


def load(e, d):
    if d.get("v") != 1 or d.get("zone") != e.zone:
        raise ValueError("energy state of another version or zone")
    a = d["anchor"]
    e.anchor = a and (a + [0])[:4]     # version 1 files had no flags
    e.last = d["last"]
    e.reg_t = d["reg_t"]
    e.prov = {x[0]: [x[1], x[2]] for x in d["prov"]}
    e.hours = {x[0]: x[1:5] for x in d["hours"]}
    e.days = d["days"]
    e.months = d["months"]
    e.problems = d.get("problems", [])
    e.rejected = d.get("rejected", [0, ""])


def _kwh(wh):
    """Wh (int) -> exact kWh text-number for JSON ("1.234" as a number)."""
    if wh is None:
        return None
    return Kwh(wh)


class Kwh:
    """An exact kWh amount (integer Wh) that serializes as a JSON number."""

    def __init__(self, wh):
        self.wh = wh

    def __eq__(self, other):
        return isinstance(other, Kwh) and other.wh == self.wh

    def text(self):
        wh = self.wh
        sign = "-" if wh < 0 else ""
        wh = abs(wh)
        return "%s%d.%03d" % (sign, wh // 1000, wh % 1000)


# --- the ledger's file and documents ---------------------------------------

def load_file(ledger):
    from hanport.pick import crc_x25

    from . import log
    try:
        with open(ledger.path) as f:
            head = f.readline()
            text = f.read()
    except OSError:
        return                                  # first start
    try:
        magic, crc, n = head.split()
        raw = text.encode()
        if magic != "HANE1" or int(n) != len(raw) or int(crc, 16) != crc_x25(raw, 0, len(raw)):
            raise ValueError("checksum")
        load(ledger.book, json.loads(text))
        log.log("energy: state loaded (anchor %s)" % (ledger.book.anchor and ledger.book.anchor[0]))
    except (ValueError, KeyError, TypeError, IndexError):
        ledger.problem = "%s was damaged: not trusted, kept as %s.bad, accounting started over" % (
            ledger.path, ledger.path)
        log.log("energy: " + ledger.problem)
        try:
            os.rename(ledger.path, ledger.path + ".bad")
        except OSError:
            pass
        ledger.book = ledger.new_book()


def write(e, path):
    """e in energy.json's form at path: a temporary file, then a rename."""
    from hanport.pick import crc_x25
    text = json.dumps(dump(e))
    raw = text.encode()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("HANE1 %04x %d\n" % (crc_x25(raw, 0, len(raw)), len(raw)))
        f.write(text)
    try:
        os.rename(tmp, path)
    except OSError:                             # FAT: no rename over a file
        os.remove(path)
        os.rename(tmp, path)


def save_file(ledger):
    write(ledger.book, ledger.path)
    ledger.dirty = False
    ledger.saved_ms = time.ticks_ms()
    ledger.saves += 1


def ledger_report(ledger):
    rep = report(ledger.book, ledger.now())
    rep["saved_s_ago"] = time.ticks_diff(time.ticks_ms(), ledger.saved_ms) // 1000 if ledger.saves else None
    if ledger.problem:
        rep["problems"] = [ledger.problem] + rep["problems"]
    return rep


def ledger_summary(ledger):
    rep = current(ledger.book, ledger.now())
    if not rep["ready"]:
        return {"ready": False, "problems": ([ledger.problem] if ledger.problem else []) + rep["problems"]}
    return {"ready": True, "hour_estimate_kwh": rep["hour"]["estimate_kwh"],
            "warning": rep["hour"]["warning"], "today_import_kwh": rep["today"]["import_kwh"],
            "month_import_kwh": rep["month"]["import_kwh"], "month_peak_kwh": rep["month"]["peak_kwh"],
            "month_peak_hour": rep["month"]["peak_hour"], "top_average_kw": rep["month"]["top_average_kw"],
            "top_n": rep["month"]["top_n"], "capacity_step": rep["month"]["capacity_step"],
            "saves": ledger.saves,
            "problems": ([ledger.problem] if ledger.problem else []) + rep["problems"]}
