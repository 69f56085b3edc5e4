# Energy accounting that matches the electricity bill: energy per hour, day
# and month from the meter's own registers, the month's peak hour, the top-N
# daily maximum hours (capacity tariffs) and a live estimate of this hour.
#
# The rules, in one place:
#  - Registers are the truth. The import/export difference between two
#    register readings is spread over the hours between them in proportion to
#    time (exact integers: the parts always sum to the difference). So energy
#    is never lost or counted twice: a gap (dongle off, meter silent, reboot)
#    is filled by the next difference; hours in a gap longer than GAP_S are
#    marked estimated and left out of peaks.
#  - Between registers (meters that send them hourly), integrating power
#    gives the running estimate of the current hour, replaced by the register
#    share when it comes. Meters without registers are accounted from power.
#  - Hours are local clock hours (EU summer time rule, localtime.py): days
#    have 23 or 25 hours at the switches. A meter clock going backwards does
#    not undo energy: its difference goes to the hour it reports.
from . import localtime

GAP_S = 3900            # a register interval longer than this: hours estimated
INTEGRATE_MAX_S = 900   # integrate power over at most this between samples
NO_REGISTERS_S = 7200   # no register for this long: account from power alone
KEEP_HOURS = 26        # what /api/energy lists; days keep the rest
KEEP_MONTHS = 13
MWS_PER_WH = 3600000    # milliwatt-seconds in a watt-hour

# Capacity tariff steps in kW (upper bounds), a typical Norwegian grid company's
STEPS_KW = (2, 5, 10, 15, 20, 25, 50, 75, 100)


def split(total, weights):
    """total (int) in parts proportional to weights (ints, sum > 0), exact:
    floors, then the remainder one by one to the largest fractional parts
    (earlier first on ties)."""
    s = sum(weights)
    parts = [total * w // s for w in weights]
    rest = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % s), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def hours_between(t0, t1):
    """[(hour start, seconds of (t0, t1] in that hour)], t0 < t1, UTC."""
    out = []
    h = t0 - t0 % 3600
    t = t0
    while t < t1:
        end = min(h + 3600, t1)
        out.append((h, end - t))
        t = end
        h += 3600
    return out


class Energy:
    def __init__(self, zone="CET", top_n=3, steps_kw=STEPS_KW):
        self.zone = zone
        self.top_n = top_n
        self.steps_wh = [int(round(s * 1000)) for s in steps_kw]
        self.anchor = None        # [t, import Wh, export Wh] of the last register reading
        self.last = None          # [t, import mW, export mW] of the last sample
        self.reg_t = None         # when a register last came
        self.prov = {}            # hour start -> [import mWs, export mWs] since the anchor
        self.hours = {}           # hour start -> [import Wh, export Wh, estimated 0/1, final 0/1]
        self.days = {}            # "YYYY-MM-DD" -> [import Wh, export Wh, max hour Wh, max hour start]
        self.months = {}          # closed months "YYYY-MM" -> summary dict
        self.problems = []
        self.samples = 0

    # --- labels ---------------------------------------------------------

    def _day(self, h):
        y, mo, d = localtime.local(h, self.zone)[:3]
        return "%04d-%02d-%02d" % (y, mo, d)

    def label(self, h):
        """Hour start -> "2025-10-26T02:00+02:00" (local, with offset)."""
        y, mo, d, hh = localtime.local(h, self.zone)[:4]
        off = localtime.offset(h, self.zone) // 60
        return "%04d-%02d-%02dT%02d:00%s%02d:%02d" % (y, mo, d, hh, "+" if off >= 0 else "-",
                                                     abs(off) // 60, abs(off) % 60)

    # --- input ------------------------------------------------------------

    def sample(self, t, p_imp, p_exp, r_imp, r_exp):
        """One reading: t UTC seconds (meter clock); powers in mW and
        registers in Wh, each None when this frame lacks it."""
        self.samples += 1
        last = self.last
        if p_imp is None and last is not None:
            p_imp, p_exp = last[1], last[2]       # list 3 / hourly lists: keep the last power
        if last is not None and p_imp is not None and 0 < t - last[0] <= INTEGRATE_MAX_S:
            for h, sec in hours_between(last[0], t):
                acc = self.prov.get(h)
                if acc is None:
                    acc = self.prov[h] = [0, 0]
                acc[0] += last[1] * sec
                acc[1] += (last[2] or 0) * sec
        if r_imp is not None:
            self._register(t, r_imp, r_exp or 0)
        elif self.reg_t is None or t - self.reg_t > NO_REGISTERS_S:
            self._from_power(t)
        if p_imp is not None:
            self.last = [t, p_imp, p_exp or 0]
        elif last is not None:
            last[0] = t

    def _register(self, t, r_imp, r_exp):
        a = self.anchor
        self.reg_t = t
        if a is not None:
            d_imp, d_exp = r_imp - a[1], r_exp - a[2]
            if d_imp < 0 or d_exp < 0:
                self.problems.append("register went down at %s (meter replaced or multiplier changed): "
                                     "accounting restarted there" % self.label(t - t % 3600))
                self.problems = self.problems[-5:]
            elif t > a[0]:
                spans = hours_between(a[0], t)
                est = 1 if t - a[0] > GAP_S else 0
                weights = [sec for _, sec in spans]
                for (h, _), wi, we in zip(spans, split(d_imp, weights), split(d_exp, weights)):
                    self._add(h, wi, we, est)
            elif d_imp == 0 and d_exp == 0:
                return                        # a stale repeat (Aidon's list 3 can be): nothing new
            else:                             # the clock went back: to the hour it says now,
                self._add(t - t % 3600, d_imp, d_exp, 0)
                t = a[0]                      # and the anchor stays put (no re-spreading)
        self.anchor = [t, r_imp, r_exp]
        for h in list(self.prov):
            if h + 3600 <= t:
                del self.prov[h]
            else:
                self.prov[h] = [0, 0]          # the register covered up to t
        self._finalize(t)

    def _from_power(self, t):
        """No registers: hours from integrated power, final when they end."""
        for h in list(self.prov):
            if h + 3600 <= t:
                mws = self.prov.pop(h)
                self._add(h, mws[0] // MWS_PER_WH, mws[1] // MWS_PER_WH, 0)
        self._finalize(t)

    def _add(self, h, wh_imp, wh_exp, est):
        hour = self.hours.get(h)
        if hour is None:
            hour = self.hours[h] = [0, 0, 0, 0]
        hour[0] += wh_imp
        hour[1] += wh_exp
        hour[2] |= est
        key = self._day(h)
        day = self.days.get(key)
        if day is None:
            day = self.days[key] = [0, 0, 0, None]
            self._close_months(key[:7])
        day[0] += wh_imp
        day[1] += wh_exp
        if hour[3] and not hour[2] and hour[0] > day[2]:   # a complete hour grew
            day[2], day[3] = hour[0], h

    def _finalize(self, t):
        """Hours that ended before t are complete: they may set their
        day's maximum now. Old hours are forgotten (their days keep them)."""
        for h in sorted(self.hours):
            hour = self.hours[h]
            if h + 3600 <= t and not hour[3]:
                hour[3] = 1
                day = self.days.get(self._day(h))
                if day is not None and not hour[2] and (day[3] is None or hour[0] > day[2]):
                    day[2], day[3] = hour[0], h
        if len(self.hours) > KEEP_HOURS:
            for h in sorted(self.hours)[:len(self.hours) - KEEP_HOURS]:
                del self.hours[h]

    def _close_months(self, current):
        """A new month: summarize the ones before it, keep their days one
        month longer (for the page), then drop them."""
        for key in sorted(set(k[:7] for k in self.days)):
            if key < current and key not in self.months:
                self.months[key] = self._month(key)
        for k in [k for k in self.days if k[:7] < current and self._older(k[:7], current)]:
            del self.days[k]
        for k in sorted(self.months)[:max(0, len(self.months) - KEEP_MONTHS)]:
            del self.months[k]

    @staticmethod
    def _older(month, current):
        y, m = int(month[:4]), int(month[5:7])
        cy, cm = int(current[:4]), int(current[5:7])
        return (cy * 12 + cm) - (y * 12 + m) > 1

    # --- output -----------------------------------------------------------

    def _month(self, key):
        """Raw summary of a month from its days (kept as is for closed months)."""
        days = [(k, v) for k, v in self.days.items() if k[:7] == key]
        maxima = sorted(((v[2], v[3]) for k, v in days if v[3] is not None), reverse=True)
        return {"imp": sum(v[0] for _, v in days), "exp": sum(v[1] for _, v in days),
                "top": [list(x) for x in maxima[:self.top_n]], "days": len(days)}

    def _view(self, raw):
        top = raw["top"]
        avg = sum(x[0] for x in top) // len(top) if top else 0
        step = 1
        for limit in self.steps_wh:
            if avg > limit:
                step += 1
        return {
            "import_kwh": _kwh(raw["imp"]), "export_kwh": _kwh(raw["exp"]),
            "peak_kwh": _kwh(top[0][0]) if top else None,
            "peak_hour": self.label(top[0][1]) if top else None,
            "top_hours": [{"hour": self.label(h), "kwh": _kwh(wh)} for wh, h in top],
            "top_average_kw": _kwh(avg) if top else None,
            "capacity_step": step if top else None,
            "days": raw["days"],
        }

    def estimate(self, t):
        """(Wh so far in t's hour, Wh estimated at its end)."""
        h = t - t % 3600
        hour = self.hours.get(h)
        so_far = hour[0] if hour else 0
        prov = self.prov.get(h)
        if prov is not None:
            so_far += prov[0] // MWS_PER_WH
        p = self.last[1] if self.last else 0
        return so_far, so_far + p * (h + 3600 - t) // MWS_PER_WH

    def current(self, t):
        """This hour, today and this month at meter time t (UTC): the light
        part of the report, cheap enough for every /api/status poll."""
        if t is None:
            return {"ready": False, "problems": self.problems}
        h = t - t % 3600
        today = self._day(h)
        month = today[:7]
        cur = self._view(self._month(month))
        so_far, est = self.estimate(t)
        peak_wh = _wh(cur["peak_kwh"])
        topn = [_wh(x["kwh"]) for x in cur["top_hours"]]
        day = self.days.get(today)
        if peak_wh is not None and est > peak_wh:
            warning = "new_peak"
        elif len(topn) >= self.top_n and est > topn[-1] and (day is None or day[3] is None or est > day[2]):
            warning = "raises_top_average"
        else:
            warning = "ok"
        start = self.label(h)
        return {
            "ready": True,
            "time": "%s%02d:%02d%s" % (start[:14], t % 3600 // 60, t % 60, start[16:]),
            "zone": self.zone,
            "hour": {"start": start, "import_kwh": _kwh(so_far), "estimate_kwh": _kwh(est),
                     "warning": warning},
            "today": {"date": today, "import_kwh": _kwh(day[0] if day else 0),
                      "export_kwh": _kwh(day[1] if day else 0),
                      "max_hour_kwh": _kwh(day[2]) if day and day[3] is not None else None},
            "month": dict(cur, month=month, top_n=self.top_n),
            "problems": self.problems,
        }

    def report(self, t):
        """Everything /api/energy shows, at meter time t (UTC)."""
        rep = self.current(t)
        if not rep["ready"]:
            return rep
        month = rep["month"]["month"]
        rep["hours"] = [{"hour": self.label(hh), "import_kwh": _kwh(v[0]), "export_kwh": _kwh(v[1]),
                         "estimated": bool(v[2]), "complete": bool(v[3])}
                        for hh, v in sorted(self.hours.items())[-26:]]
        rep["days"] = [{"date": k, "import_kwh": _kwh(v[0]), "export_kwh": _kwh(v[1]),
                        "max_hour_kwh": _kwh(v[2]) if v[3] is not None else None}
                       for k, v in sorted(self.days.items()) if k[:7] == month]
        rep["months"] = [dict(self._view(v), month=k) for k, v in sorted(self.months.items())]
        return rep

    # --- persistence ------------------------------------------------------

    def dump(self):
        return {"v": 1, "zone": self.zone, "anchor": self.anchor, "last": self.last,
                "reg_t": self.reg_t, "prov": [[h, v[0], v[1]] for h, v in self.prov.items()],
                "hours": [[h] + v for h, v in self.hours.items()],
                "days": self.days, "months": self.months, "problems": self.problems}

    def load(self, d):
        if d.get("v") != 1 or d.get("zone") != self.zone:
            raise ValueError("energy state of another version or zone")
        self.anchor = d["anchor"]
        self.last = d["last"]
        self.reg_t = d["reg_t"]
        self.prov = {x[0]: [x[1], x[2]] for x in d["prov"]}
        self.hours = {x[0]: x[1:5] for x in d["hours"]}
        self.days = d["days"]
        self.months = d["months"]
        self.problems = d.get("problems", [])


def _kwh(wh):
    """Wh (int) -> exact kWh text-number for JSON ("1.234" as a number)."""
    if wh is None:
        return None
    return Kwh(wh)


def _wh(k):
    return None if k is None else k.wh


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
