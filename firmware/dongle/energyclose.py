# What a register reading settles in the energy accounts (energy.py's
# rules): the difference since the last one spread over its hours, the
# hours filled from power when registers stay away, and what is final
# (hours, their days' maxima, closed months). Loaded by Energy.sample when
# a register comes or an hour ends; kept while registers come every frame
# (P1), let go after each use when they come once an hour (DLMS list 3).
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

GAP_S = 3900            # a register interval longer than this: hours estimated
SLACK_WH = 20           # register resolution allowed beyond the maximum power
_KEEP_HOURS = const(26)        # what /api/energy lists; days keep the rest
_KEEP_MONTHS = const(13)
MWS_PER_WH = 3600000    # milliwatt-seconds in a watt-hour


def register(e, t, r_imp, r_exp):
    """A register reading at t (import and export Wh; export None when
    the frame has none): the difference since the anchor to its hours."""
    a = e.anchor
    if a is not None:
        if t <= a[0]:
            return                        # a stale repeat or a clock set back: the next one covers it
        d = _diff(e, a, t, r_imp, r_exp)
        if d is None:
            c, e.cand = e.cand, [t, r_imp, r_exp]
            if c is None or not a[0] <= c[0] < t or _diff(e, c + [0], t, r_imp, r_exp) is None:
                e.rejected = [e.rejected[0] + 1, "%s: %s, %s Wh after %s, %s" % (
                    e.label(t), r_imp, r_exp, a[1], a[2])]
                e.reg_t = t            # registers come: not a time to fill hours from power
                return
            e.note("register went from %d to %d Wh at %s (meter replaced?): accounts restarted "
                   "there" % (a[1], c[1], e.label(c[0])))
            a = c + [0]
            d = _diff(e, a, t, r_imp, r_exp)
        e.cand = None
        dt = t - a[0]
        spans = e.hours_between(a[0], t)
        weights = []
        for _, sec in spans:
            weights.append(sec)
        for (h, sec), wi, we in zip(spans, split(d[0], weights), split(d[1], weights)):
            # a share of a difference over a gap is an estimate, unless the
            # difference is more than the meter could use outside this hour
            _add(e, h, wi, we, dt > GAP_S or (a[3] & 1 and wi > d[0] + e.max_w * (sec - dt) // 3600))
    e.reg_t = t
    e.anchor = [t, r_imp, r_exp, 0]
    t_hour = t // 3600                # t's hour (its number)
    for h in list(e.prov):
        if h < t_hour:                    # ended by t
            del e.prov[h]
        else:
            e.prov[h] = [0, 0]          # the register covered up to t
    _finalize(e, t)


def _diff(e, a, t, r_imp, r_exp):
    """[import Wh, export Wh] since anchor a, or None if implausible."""
    if r_exp is None:
        if a[2] is not None:
            return None                   # the export register missing from this frame
        r_exp = 0
    d = [r_imp - a[1], 0 if a[2] is None else r_exp - a[2]]
    back = [min(0, d[0]), min(0, d[1])]
    h = e.hours.get(a[0] // 3600 - 1) if a[3] & 2 else None
    if h is not None and -back[0] <= h[0] and -back[1] <= h[1]:
        d = [d[0] - back[0], d[1] - back[1]]      # power overshot the registers in the hours it
    else:                                         # filled: the excess comes off the last of them
        back = [0, 0]
    top = e.max_w * (t - a[0]) // 3600 + SLACK_WH
    if not (0 <= d[0] <= top and 0 <= d[1] <= top):
        return None
    if back != [0, 0]:
        _add(e, a[0] // 3600 - 1, back[0], back[1], 1)
    return d


def from_power(e, t):
    """No registers for a while: hours from integrated power, final when
    they end. The anchor moves on by what they got (no hole skipped)."""
    a = e.anchor
    t_hour = t // 3600                # t's hour (its number)
    for h in sorted(e.prov):
        if h >= t_hour or a is not None and h > a[0] // 3600:
            break
        mws = e.prov.pop(h)
        wi, we = mws[0] // MWS_PER_WH, mws[1] // MWS_PER_WH
        _add(e, h, wi, we, a[3] & 1 if a else 0)
        if a is not None:
            a[0], a[1], a[3] = (h + 1) * 3600, a[1] + wi, a[3] | 2
            if a[2] is not None:
                a[2] += we
    _finalize(e, t)


def _add(e, h, wh_imp, wh_exp, est):
    """Energy to hour number h and its day."""
    hour = e.hours.get(h)
    if hour is None:
        hour = e.hours[h] = [0, 0, 0, 0]
    hour[0] += wh_imp
    hour[1] += wh_exp
    hour[2] |= 1 if est else 0
    hour[3] = 0                           # changed: final again in _finalize
    key = e.date_key(h * 3600)
    day = e.days.get(key)
    if day is None:
        day = e.days[key] = [0, 0, 0, None]
    day[0] += wh_imp
    day[1] += wh_exp


def _finalize(e, t):
    """The one place that decides what is final: hours that ended by t,
    then their days' maxima (complete, non-estimated hours), then the
    months that ended by t are closed (again, if a late change came)."""
    t_hour = t // 3600                # t's hour (its number)
    redo = set()
    for h, hour in e.hours.items():
        if h < t_hour and not hour[3]:    # ended by t
            hour[3] = 1
            redo.add(e.date_key(h * 3600))
    for key in redo:
        day = e.days[key]
        # the largest kept hour; one no longer kept cannot have changed
        best = day[2:] if day[3] is not None and day[3] not in e.hours else [-1, None]
        for h in sorted(e.hours):
            v = e.hours[h]
            if v[3] and not v[2] and v[0] > best[0] and e.date_key(h * 3600) == key:
                best = [v[0], h]
        day[2], day[3] = max(0, best[0]), best[1]
    cur = e.date_key(t - t % 3600) // 100         # this month, y * 100 + m
    if cur != e.open or redo and min(redo) // 100 < cur:
        e.open = cur
        closed = set()
        for k in e.days:
            if k // 100 < cur:
                closed.add(k // 100)
        for m in closed:
            e.months["%04d-%02d" % (m // 100, m % 100)] = e.month_summary(m)
        prev = cur - 1 if cur % 100 > 1 else cur - 89   # the month before (January's: December)
        for k in list(e.days):
            if k // 100 < prev:
                del e.days[k]              # a closed month's days stay one month (for the page)
        for k in sorted(e.months)[:max(0, len(e.months) - _KEEP_MONTHS)]:
            del e.months[k]
    if len(e.hours) > _KEEP_HOURS:
        for h in sorted(e.hours)[:len(e.hours) - _KEEP_HOURS]:
            del e.hours[h]


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
