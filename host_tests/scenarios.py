"""What several tests feed the dongle or the decoder: a simulated meter's
messages, energy scenarios (a month of Swedish P1 readings, power curves
integrated exactly) and the P1 telegram they come in."""
import random
from datetime import datetime, timezone
from fractions import Fraction

import energy_ref as ref
from encoders.p1 import fixed, telegram
from meter_sim import SimMeter


def sim_messages(make, n, start=datetime(2026, 1, 15, 16, 59, 50), **kw):
    """n successive messages (frame bytes, kind) of a simulated meter."""
    m = SimMeter(make, start=start, **kw)
    return [(f.data, f.kind) for f in (m.next_frame() for _ in range(n))]


START = datetime(2025, 10, 10, 0, 0, 7, tzinfo=timezone.utc)


def month_of_readings(seed=1, step=300, gap=(12 * 86400, 26 * 3600), jumps=((20 * 86400, 7200),)):
    """(t, p_imp mW, r_imp Wh, r_exp Wh) every `step` s of meter time for
    31 days: power from a daily curve, registers integrating it; a silent
    gap, and meter clock jumps forward (t, seconds)."""
    rng = random.Random(seed)
    t0 = int(START.timestamp())
    r_imp, r_exp, acc = 5_000_000, 100_000, 0
    out = []
    jump = 0
    t = t0
    while t < t0 + 31 * 86400:
        hour = ref.local(t).hour
        p = int((400 + 2500 * (17 <= hour <= 21) + rng.randint(0, 800)) * 1000)
        acc += p * step
        r_imp += acc // 3_600_000
        acc %= 3_600_000
        if hour in (11, 12, 13):
            r_exp += rng.randint(0, 30)
        for at, by in jumps:
            if t - t0 >= at and jump < by:
                jump = by
        if not gap[0] <= t - t0 < gap[0] + gap[1]:
            out.append((t + jump, p, r_imp, r_exp))
        t += step
    return out


def utc(*a):
    return int(datetime(*a, tzinfo=timezone.utc).timestamp())


def simulate(start, end, watts, step=10, reg_at=None, lost=(), resolution=1, gaps=()):
    """Frames every `step` s from start to end: (t, power mW, import Wh or
    None, export Wh or None). watts(t): the power over [t, t+step). Registers
    are the exact integral floored to `resolution` Wh, in every frame or
    (reg_at) only where t % 3600 == reg_at, except at times in `lost`. No
    frame inside any (a, b) of gaps. -> (frames, exact Wh integral at each t)."""
    frames, truth = [], {}
    acc = Fraction(0)
    t = start
    while t <= end:
        truth[t] = acc
        if not any(a < t < b for a, b in gaps):
            reg = int(acc) // resolution * resolution
            has = (reg_at is None or t % 3600 == reg_at) and t not in lost
            frames.append((t, watts(t) * 1000, reg if has else None, 0 if has else None))
        acc += Fraction(watts(t) * step, 3600)
        t += step
    return frames, truth


def p1_telegram(t, p_mw, r_imp, r_exp):
    lt = ref.local(t)
    stamp = lt.strftime("%y%m%d%H%M%S") + ("S" if lt.dst() else "W")
    return telegram("ELL5\\253833635_A", [
        "0-0:1.0.0(%s)" % stamp,
        "1-0:1.8.0(%s*kWh)" % fixed(r_imp, 3, 8),
        "1-0:2.8.0(%s*kWh)" % fixed(r_exp, 3, 8),
        "1-0:1.7.0(%s*kW)" % fixed(p_mw // 1000, 3, 4),
        "1-0:2.7.0(0000.000*kW)",
    ])

