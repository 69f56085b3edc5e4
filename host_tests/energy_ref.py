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


def account(anchors):
    """anchors: (t UTC, import Wh, export Wh) register readings in the
    order the dongle took them. -> {hour start: [imp, exp, estimated]}"""
    hours = defaultdict(lambda: [0, 0, False])
    a = None
    for t, ri, re in anchors:
        if a is None:
            a = (t, ri, re)
            continue
        di, de = ri - a[1], re - a[2]
        if di < 0 or de < 0:
            a = (t, ri, re)
        elif t > a[0]:
            spans = []
            x = a[0]
            while x < t:
                end = min(x - x % 3600 + 3600, t)
                spans.append((x - x % 3600, end - x))
                x = end
            w = [s for _, s in spans]
            for (h, _), pi, pe in zip(spans, spread(di, w), spread(de, w)):
                hours[h][0] += pi
                hours[h][1] += pe
                hours[h][2] |= t - a[0] > GAP_S
            a = (t, ri, re)
        elif di or de:
            h = t - t % 3600
            hours[h][0] += di
            hours[h][1] += de
            a = (a[0], ri, re)
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
