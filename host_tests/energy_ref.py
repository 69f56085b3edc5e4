"""Reference energy accounting, written from the rules in
firmware/dongle/energy.py's header, independently of it: local time from
Python's zoneinfo (Europe/Stockholm), the proportional split with
fractions. Tests compare the dongle's figures with these."""
from collections import defaultdict
from datetime import datetime, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Stockholm")
GAP_S = 3900
SHORT_GAP_S = 900
SLACK_WH = 20


def local(t):
    return datetime.fromtimestamp(t, timezone.utc).astimezone(ZONE)


def spread(total, weights):
    """Proportional parts summing to total: floors, then the remainder to
    the largest fractional parts, earlier first on ties."""
    s = sum(weights)
    exact = [Fraction(total * w, s) for w in weights]
    parts = [int(x) for x in exact]          # total >= 0: int() floors
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:total - sum(parts)]:
        parts[i] += 1
    return parts


def account(anchors, frames=(), max_w=50000):
    """anchors: (t UTC, import Wh, export Wh or None) register readings in
    the order the dongle took them; frames: the times of all frames (for
    gaps); max_w: energy.max_power_kw in W. -> {hour start: [imp, exp,
    estimated]}. The README's rules: a reading not after the last used one
    is not used; one whose difference is negative or more than max_w allows
    (plus SLACK_WH) is rejected, unless it follows a rejected one that it is
    plausible from (a new meter: accounting restarts from that one); the
    difference is spread in proportion to time; an interval over GAP_S
    makes its hours estimated, and one with a gap in frames over
    SHORT_GAP_S too, except an hour whose share is at most the difference
    less the most max_w allows outside the hour."""
    hours = defaultdict(lambda: [0, 0, False])
    a = cand = None

    def plausible(b, t, ri, re):
        if re is None and b[2] is not None:
            return None
        d = (ri - b[1], 0 if b[2] is None else re - b[2])
        top = Fraction(max_w * (t - b[0]), 3600) + SLACK_WH
        return d if all(0 <= x <= top for x in d) else None

    for t, ri, re in anchors:
        if a is None:
            a = (t, ri, re)
            continue
        if t <= a[0]:
            continue
        d = plausible(a, t, ri, re)
        if d is None:
            c, cand = cand, (t, ri, re)
            if c is None or t <= c[0] or plausible(c, t, ri, re) is None:
                continue
            a = c
            d = plausible(a, t, ri, re)
        cand = None
        dt = t - a[0]
        gap = any(f - p > SHORT_GAP_S for p, f in zip(frames, frames[1:]) if a[0] < f <= t)
        spans = []
        x = a[0]
        while x < t:
            end = min(x - x % 3600 + 3600, t)
            spans.append((x - x % 3600, end - x))
            x = end
        w = [s for _, s in spans]
        for (h, s), pi, pe in zip(spans, spread(d[0], w), spread(d[1], w)):
            hours[h][0] += pi
            hours[h][1] += pe
            hours[h][2] |= dt > GAP_S or (gap and pi > d[0] - Fraction(max_w * (dt - s), 3600))
        a = (t, ri, re)
    return dict(hours)


def days_of(hours, complete_before):
    """{date: [imp, exp, max hour Wh or None, max hour start]} (the max
    only over complete, non-estimated hours)."""
    days = {}
    for h in sorted(hours):
        imp, exp, est = hours[h]
        key = local(h).strftime("%Y-%m-%d")
        d = days.setdefault(key, [0, 0, None, None])
        d[0] += imp
        d[1] += exp
        if not est and h + 3600 <= complete_before and (d[2] is None or imp > d[2]):
            d[2], d[3] = imp, h
    return days


def kwh(wh):
    return None if wh is None else "%d.%03d" % (wh // 1000, wh % 1000)


def month(days, key, top_n=3):
    ds = {k: v for k, v in days.items() if k.startswith(key)}
    maxima = sorted(((v[2], v[3]) for v in ds.values() if v[2] is not None), reverse=True)
    top = maxima[:top_n]
    return {"import_kwh": kwh(sum(v[0] for v in ds.values())),
            "export_kwh": kwh(sum(v[1] for v in ds.values())),
            "peak_kwh": kwh(top[0][0]) if top else None,
            "top_average_kw": kwh(sum(x[0] for x in top) // len(top)) if top else None,
            "top_hours": [kwh(x[0]) for x in top]}
