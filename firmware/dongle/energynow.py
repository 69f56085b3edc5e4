# The light part of the energy accounting's reports: this hour, today and
# this month, for /api/status's energy summary and MQTT's <base>/energy
# (energyview.py, the full report and the saved form, builds on it).
# Functions of an energy.Energy, loaded when asked for and let go after
# (ledger.py): smaller than energyview.py, so a status request's peak is.
try:
    from micropython import const
except ImportError:           # CPython (the tests' reference runs)
    const = int

_MWS_PER_WH = const(3600000)    # milliwatt-seconds in a watt-hour, energy.py's unit of integration


def view(e, raw):
    top = e.top_hours(raw)
    n = len(top)
    s = sum(x[0] for x in top)
    return {
        "import_kwh": kwh(raw[0]), "export_kwh": kwh(raw[1]),
        "peak_kwh": kwh(top[0][0]) if top else None,
        "peak_hour": e.label(top[0][1]) if top else None,
        "top_hours": [{"hour": e.label(h), "kwh": kwh(wh)} for wh, h in top],
        "top_average_kw": kwh(s // n) if top else None,
        # exact: the average exceeds a bound when the sum exceeds bound * n
        "capacity_step": 1 + len([b for b in e.steps_wh if s > b * n]) if top else None,
        "days": raw[2],
    }


def estimate(e, t):
    """(Wh so far in t's hour, Wh estimated at its end)."""
    h = t // 3600                     # (the hour's number, e.hours's key)
    hour = e.hours.get(h)
    so_far = hour[0] if hour else 0
    prov = e.prov.get(h)
    if prov is not None:
        so_far += prov[0] // _MWS_PER_WH
    p = e.last[1] or 0 if e.last else 0
    return so_far, so_far + p * (3600 - t % 3600) // _MWS_PER_WH


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
    today = e.date_key(h)
    date = e.date_text(today)
    month = date[:7]
    raw = e.month_summary(today // 100)
    cur = view(e, raw)
    so_far, est = estimate(e, t)
    topn = [x[0] for x in e.top_hours(raw)]
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
        "hour": {"start": start, "import_kwh": kwh(so_far), "estimate_kwh": kwh(est),
                 "warning": warning},
        "today": {"date": date, "import_kwh": kwh(day[0] if day else 0),
                  "export_kwh": kwh(day[1] if day else 0),
                  "max_hour_kwh": kwh(day[2]) if day and day[3] is not None else None},
        "month": dict(cur, month=month, top_n=e.top_n),
        "problems": problems(e),
    }


def kwh(wh):
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


def ledger_summary(ledger):
    rep = current(ledger.book, ledger.now())
    if not rep["ready"]:
        return {"ready": False, "problems": ([ledger.problem] if ledger.problem else []) + rep["problems"]}
    return {"ready": True, "hour_estimate_kwh": rep["hour"]["estimate_kwh"],
            "warning": rep["hour"]["warning"], "today_import_kwh": rep["today"]["import_kwh"],
            "month_import_kwh": rep["month"]["import_kwh"], "month_peak_kwh": rep["month"]["peak_kwh"],
            "month_peak_hour": rep["month"]["peak_hour"], "top_average_kw": rep["month"]["top_average_kw"],
            "top_n": rep["month"]["top_n"], "capacity_step": rep["month"]["capacity_step"],
            "saves": ledger.saves, "short_of_memory": ledger.short,
            "problems": ([ledger.problem] if ledger.problem else []) + rep["problems"]}
