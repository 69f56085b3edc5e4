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
#  - _finalize (energyclose.py) is the one place that decides what is
#    final: an hour once the registers (or power, without them) cover its
#    end, then its day's maximum, then a month once its last hour is final.
#  - Readings whose clock is not after the last register reading are not
#    used for registers (stale repeats); the next later one covers them.
#  - Hours are local clock hours (EU summer time rule, localtime.py): days
#    have 23 or 25 hours at the switches.
from . import localtime, unload
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

SHORT_GAP_S = 900       # no frame for longer than this: a gap
_INTEGRATE_MAX_S = const(900)   # integrate power over at most this between samples
_NO_REGISTERS_S = const(7200)   # no register for this long: account from power alone
_OFTEN_S = const(60)            # registers this often (P1): energyclose.py stays loaded

# Capacity tariff steps in kW (upper bounds), a typical Norwegian grid company's
STEPS_KW = (2, 5, 10, 15, 20, 25, 50, 75, 100)


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
        self.filled_hour = None   # the hour number of the last energyclose.from_power
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

    @staticmethod
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
                for h, sec in self.hours_between(last[0], t):
                    acc = self.prov.get(h)
                    if acc is None:
                        acc = self.prov[h] = [0, 0]
                    acc[0] += last[1] * sec
                    acc[1] += last[2] * sec
        self.last = [t, p_imp, p_exp or 0]
        # (energyclose.py is loaded after the sample is taken: a heap too
        # short for it loses this register only, which the next one covers)
        if r_imp is not None:
            often = self.reg_t is not None and 0 < t - self.reg_t <= _OFTEN_S
            from . import energyclose
            energyclose.register(self, t, r_imp, r_exp)
            if not often:
                unload("energyclose")
        elif (self.reg_t is None or t - self.reg_t > _NO_REGISTERS_S) and t // 3600 != self.filled_hour:
            # (once an hour is enough: within one, nothing new ends)
            from . import energyclose
            energyclose.from_power(self, t)
            self.filled_hour = t // 3600
            unload("energyclose")

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
