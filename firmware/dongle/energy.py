# Energy accounting that matches the electricity bill: energy per hour, day
# and month from the meter's own registers, the month's peak hour, the top-N
# daily maximum hours (capacity tariffs) and a live estimate of this hour.
#
# The rules, in one place (README "Energy accounting" says the same):
#  - Registers are the truth. The import/export difference between two
#    register readings is spread over the hours between them in proportion to
#    time (exact integers: the parts always sum to the difference). So energy
#    is never lost or counted twice.
#  - A reading is plausible when neither register went down nor rose by more
#    than the maximum power (energy.max_power_kw) allows in the time since the
#    last one. An implausible one is not used and counted (`problems`); if the
#    next reading follows it rather than the old one, the meter was replaced
#    or reset: accounting restarts from it, the energy between is not counted.
#  - A register interval over GAP_S makes its hours estimated; one with a gap
#    in frames (over SHORT_GAP_S) too, except an hour whose share the
#    difference proves (more than the meter could use outside that hour).
#    Estimated hours are left out of daily maxima, peaks and top-N.
#  - Between registers (meters that send them hourly), integrating power
#    gives the running estimate of the current hour, replaced by the register
#    share when it comes. After _NO_REGISTERS_S without registers the hours
#    are filled from power, and the register anchor moves on by what filled
#    them, so the next difference covers only the rest.
#  - _finalize is the one place that decides what is final: an hour once the
#    registers (or power, without them) cover its end, then its day's maximum,
#    then a month once its last hour is final.
#  - Readings whose clock is not after the last register reading are not
#    used for registers (stale repeats); the next later one covers them.
#  - Hours are local clock hours (EU summer time rule, localtime.py): days
#    have 23 or 25 hours at the switches.
from . import localtime
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

GAP_S = 3900            # a register interval longer than this: hours estimated
SHORT_GAP_S = 900       # no frame for longer than this: a gap
_INTEGRATE_MAX_S = const(900)   # integrate power over at most this between samples
_NO_REGISTERS_S = const(7200)   # no register for this long: account from power alone
SLACK_WH = 20           # register resolution allowed beyond the maximum power
_KEEP_HOURS = const(26)        # what /api/energy lists; days keep the rest
_KEEP_MONTHS = const(13)
MWS_PER_WH = 3600000    # milliwatt-seconds in a watt-hour

# Capacity tariff steps in kW (upper bounds), a typical Norwegian grid company's
STEPS_KW = (2, 5, 10, 15, 20, 25, 50, 75, 100)


def split(total, weights):
    """total (int) in parts proportional to weights (ints, sum > 0), exact:
    floors, then the remainder one by one to the largest fractional parts
    (earlier first on ties)."""
    s = sum(weights)
    parts = []
    order = []                # (minus the fractional part, index)
    for i, w in enumerate(weights):
        parts.append(total * w // s)
        order.append((-(total * w % s), i))
    order.sort()
    for _, i in order[:total - sum(parts)]:
        parts[i] += 1
    return parts


def hours_between(t0, t1):
    """[(hour number, seconds of (t0, t1] in that hour)], t0 < t1, UTC; an
    hour's number is its start // 3600."""
    out = []
    h = t0 // 3600
    t = t0
    while t < t1:
        end = min((h + 1) * 3600, t1)
        out.append((h, end - t))
        t = end
        h += 1
    return out


class Energy:
    def __init__(self, zone="CET", top_n=3, steps_kw=STEPS_KW, max_kw=50):
        self.zone = zone
        self.top_n = top_n
        self.steps_wh = []
        for s in steps_kw:
            self.steps_wh.append(int(round(s * 1000)))
        self.max_w = int(max_kw * 1000)
        self.anchor = None        # [t, import Wh, export Wh or None, flags] of the last register
                                  # reading (flags: 1 a gap since, 2 moved on by hours filled from power)
        self.cand = None          # [t, import, export] of a rejected reading: a glitch or a new meter
        self.last = None          # [t, import mW or None, export mW] of the last sample
        self.reg_t = None         # when a register last came
        # Hours are kept by number, start // 3600 (the keys of prov and
        # hours, a day's and a month's max hour), days by date_key: small
        # ints on 32 bits, where a start in UTC seconds is a long int and
        # "YYYY-MM-DD" a str (32 bytes more each)
        self.prov = {}            # hour number -> [import mWs, export mWs] since the anchor
        self.hours = {}           # hour number -> [import Wh, export Wh, estimated 0/1, final 0/1]
        self.days = {}            # date_key -> [import Wh, export Wh, max hour Wh, max hour number]
        self.months = {}          # closed months "YYYY-MM" -> summary (month_summary)
        self.open = None          # the month not closed yet, y * 100 + m
        self.problems = []
        self.rejected = [0, ""]   # implausible readings: how many, the last one
        self.samples = 0

    # --- labels ---------------------------------------------------------

    def date_key(self, h):
        """Hour (any second in it) -> its local day as days keeps it,
        y * 10000 + m * 100 + d (20251026); its month is key // 100."""
        y, mo, d = localtime.local(h, self.zone)[:3]
        return y * 10000 + mo * 100 + d

    @staticmethod
    def date_text(key):
        """A date_key -> "2025-10-26"."""
        return "%04d-%02d-%02d" % (key // 10000, key // 100 % 100, key % 100)

    def label(self, h):
        """Hour (start, or any second in it) -> "2025-10-26T02:00+02:00"
        (local, with offset)."""
        y, mo, d, hh = localtime.local(h, self.zone)[:4]
        off = localtime.offset(h, self.zone) // 60
        return "%04d-%02d-%02dT%02d:00%s%02d:%02d" % (y, mo, d, hh, "+" if off >= 0 else "-",
                                                     abs(off) // 60, abs(off) % 60)

    def note(self, text):
        self.problems = (self.problems + [text])[-5:]

    # --- input ------------------------------------------------------------

    def sample(self, t, p_imp, p_exp, r_imp, r_exp):
        """One reading: t UTC seconds (meter clock); powers in mW and
        registers in Wh, each None when this frame lacks it."""
        self.samples += 1
        last = self.last
        if last is not None:
            if p_imp is None:
                p_imp, p_exp = last[1], last[2]   # list 3 / hourly lists: keep the last power
            if t - last[0] > SHORT_GAP_S and self.anchor:
                self.anchor[3] |= 1
            if last[1] is not None and 0 < t - last[0] <= _INTEGRATE_MAX_S:
                for h, sec in hours_between(last[0], t):
                    acc = self.prov.get(h)
                    if acc is None:
                        acc = self.prov[h] = [0, 0]
                    acc[0] += last[1] * sec
                    acc[1] += last[2] * sec
        if r_imp is not None:
            self._register(t, r_imp, r_exp)
        elif self.reg_t is None or t - self.reg_t > _NO_REGISTERS_S:
            self._from_power(t)
        self.last = [t, p_imp, p_exp or 0]

    def _register(self, t, r_imp, r_exp):
        a = self.anchor
        if a is not None:
            if t <= a[0]:
                return                        # a stale repeat or a clock set back: the next one covers it
            d = self._diff(a, t, r_imp, r_exp)
            if d is None:
                c, self.cand = self.cand, [t, r_imp, r_exp]
                if c is None or not a[0] <= c[0] < t or self._diff(c + [0], t, r_imp, r_exp) is None:
                    self.rejected = [self.rejected[0] + 1, "%s: %s, %s Wh after %s, %s" % (  # type: ignore[operator]
                        self.label(t), r_imp, r_exp, a[1], a[2])]
                    self.reg_t = t            # registers come: not a time to fill hours from power
                    return
                self.note("register went from %d to %d Wh at %s (meter replaced?): accounts restarted "
                          "there" % (a[1], c[1], self.label(c[0])))
                a = c + [0]
                d = self._diff(a, t, r_imp, r_exp)
            self.cand = None
            dt = t - a[0]
            spans = hours_between(a[0], t)
            weights = []
            for _, sec in spans:
                weights.append(sec)
            for (h, sec), wi, we in zip(spans, split(d[0], weights), split(d[1], weights)):
                # a share of a difference over a gap is an estimate, unless the
                # difference is more than the meter could use outside this hour
                self._add(h, wi, we, dt > GAP_S or (a[3] & 1 and wi > d[0] + self.max_w * (sec - dt) // 3600))
        self.reg_t = t
        self.anchor = [t, r_imp, r_exp, 0]
        t_hour = t // 3600                # t's hour (its number)
        for h in list(self.prov):
            if h < t_hour:                    # ended by t
                del self.prov[h]
            else:
                self.prov[h] = [0, 0]          # the register covered up to t
        self._finalize(t)

    def _diff(self, a, t, r_imp, r_exp):
        """[import Wh, export Wh] since anchor a, or None if implausible."""
        if r_exp is None:
            if a[2] is not None:
                return None                   # the export register missing from this frame
            r_exp = 0
        d = [r_imp - a[1], 0 if a[2] is None else r_exp - a[2]]
        back = [min(0, d[0]), min(0, d[1])]
        h = self.hours.get(a[0] // 3600 - 1) if a[3] & 2 else None
        if h is not None and -back[0] <= h[0] and -back[1] <= h[1]:
            d = [d[0] - back[0], d[1] - back[1]]      # power overshot the registers in the hours it
        else:                                         # filled: the excess comes off the last of them
            back = [0, 0]
        top = self.max_w * (t - a[0]) // 3600 + SLACK_WH
        if not (0 <= d[0] <= top and 0 <= d[1] <= top):
            return None
        if back != [0, 0]:
            self._add(a[0] // 3600 - 1, back[0], back[1], 1)
        return d

    def _from_power(self, t):
        """No registers for a while: hours from integrated power, final when
        they end. The anchor moves on by what they got (no hole skipped)."""
        a = self.anchor
        t_hour = t // 3600                # t's hour (its number)
        for h in sorted(self.prov):
            if h >= t_hour or a is not None and h > a[0] // 3600:
                break
            mws = self.prov.pop(h)
            wi, we = mws[0] // MWS_PER_WH, mws[1] // MWS_PER_WH
            self._add(h, wi, we, a[3] & 1 if a else 0)
            if a is not None:
                a[0], a[1], a[3] = (h + 1) * 3600, a[1] + wi, a[3] | 2
                if a[2] is not None:
                    a[2] += we
        self._finalize(t)

    def _add(self, h, wh_imp, wh_exp, est):
        """Energy to hour number h and its day."""
        hour = self.hours.get(h)
        if hour is None:
            hour = self.hours[h] = [0, 0, 0, 0]
        hour[0] += wh_imp
        hour[1] += wh_exp
        hour[2] |= 1 if est else 0
        hour[3] = 0                           # changed: final again in _finalize
        key = self.date_key(h * 3600)
        day = self.days.get(key)
        if day is None:
            day = self.days[key] = [0, 0, 0, None]
        day[0] += wh_imp
        day[1] += wh_exp

    def _finalize(self, t):
        """The one place that decides what is final: hours that ended by t,
        then their days' maxima (complete, non-estimated hours), then the
        months that ended by t are closed (again, if a late change came)."""
        t_hour = t // 3600                # t's hour (its number)
        redo = set()
        for h, hour in self.hours.items():
            if h < t_hour and not hour[3]:    # ended by t
                hour[3] = 1
                redo.add(self.date_key(h * 3600))
        for key in redo:
            day = self.days[key]
            # the largest kept hour; one no longer kept cannot have changed
            best = day[2:] if day[3] is not None and day[3] not in self.hours else [-1, None]
            for h in sorted(self.hours):
                v = self.hours[h]
                if v[3] and not v[2] and v[0] > best[0] and self.date_key(h * 3600) == key:
                    best = [v[0], h]
            day[2], day[3] = max(0, best[0]), best[1]
        cur = self.date_key(t - t % 3600) // 100         # this month, y * 100 + m
        if cur != self.open or redo and min(redo) // 100 < cur:
            self.open = cur
            closed = set()
            for k in self.days:
                if k // 100 < cur:
                    closed.add(k // 100)
            for m in closed:
                self.months["%04d-%02d" % (m // 100, m % 100)] = self.month_summary(m)
            prev = cur - 1 if cur % 100 > 1 else cur - 89   # the month before (January's: December)
            for k in list(self.days):
                if k // 100 < prev:
                    del self.days[k]              # a closed month's days stay one month (for the page)
            for k in sorted(self.months)[:max(0, len(self.months) - _KEEP_MONTHS)]:
                del self.months[k]
        if len(self.hours) > _KEEP_HOURS:
            for h in sorted(self.hours)[:len(self.hours) - _KEEP_HOURS]:
                del self.hours[h]

    # --- output -----------------------------------------------------------

    def month_summary(self, month):
        """A month's (y * 100 + m) summary from its days (kept as is for
        closed months), one tuple: (import Wh, export Wh, days, then the
        top_n largest daily maximum hours, largest first, each its Wh and
        its hour number). On 32 bits a closed month kept so takes about a
        third of the RAM of a dict of lists with starts in seconds."""
        imp = exp = n = 0
        maxima = []               # (max hour Wh, its hour number) of each day that has one
        for k, v in self.days.items():
            if k // 100 == month:
                imp += v[0]
                exp += v[1]
                n += 1
                if v[3] is not None:
                    maxima.append((v[2], v[3]))
        maxima.sort(reverse=True)
        out = [imp, exp, n]
        for wh, h in maxima[:self.top_n]:
            out.append(wh)
            out.append(h)
        return tuple(out)

    @staticmethod
    def top_hours(summary):
        """[(Wh, start in UTC seconds)] of a month summary's top hours
        (month_summary)."""
        return [(summary[i], summary[i + 1] * 3600) for i in range(3, len(summary), 2)]

    # --- reports and the saved form (energynow.py and energyview.py,
    # loaded for them) ----------------------------------------------------

    def estimate(self, t):
        from . import energynow
        return energynow.estimate(self, t)

    def current(self, t):
        from . import energynow
        return energynow.current(self, t)

    def report(self, t):
        from . import energyview
        return energyview.report(self, t)

    def dump(self):
        from . import energyview
        return energyview.dump(self)

    def load(self, d):
        from . import energyview
        energyview.load(self, d)
