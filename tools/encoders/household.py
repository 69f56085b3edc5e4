"""A simulated household behind a meter: power that follows a daily curve,
energy registers that integrate it exactly, voltages around 230 V.

All quantities are integers (W, var, Wh, varh, 0.1 V, 0.01 A) so encoders
can print them in any meter's format without rounding surprises.
"""
import math
import random
from datetime import timedelta


def _daily_curve(hour: float) -> float:
    """Typical Nordic household load in W at an hour of the day."""
    base = 350.0
    morning = 1400.0 * math.exp(-((hour - 7.5) ** 2) / 1.5)
    evening = 2200.0 * math.exp(-((hour - 18.5) ** 2) / 4.0)
    night_heat = 600.0 if hour < 5 or hour > 22 else 0.0
    return base + morning + evening + night_heat


class Household:
    def __init__(self, start, phases=3, seed=0, import_wh=12_345_678,
                 export_wh=0, solar_w=0):
        self.t = start
        self.phases = phases
        self.rng = random.Random(seed)
        self.solar_w = solar_w                 # peak PV output, 0 for none
        self.import_wh = import_wh
        self.export_wh = export_wh
        self.r_import_varh = import_wh // 20
        self.r_export_varh = import_wh // 9
        self._ws = [0, 0, 0, 0]                # sub-Wh remainders in W*s
        self._volt = [2300 + self.rng.randint(-30, 30) for _ in range(3)]
        self._appliance = 0.0
        self._update()

    def _update(self):
        rng = self.rng
        hour = self.t.hour + self.t.minute / 60 + self.t.second / 3600
        if rng.random() < 0.05:                # kettle, oven, sauna...
            self._appliance = rng.choice((0.0, 0.0, 1800.0, 2500.0, 6000.0))
        load = _daily_curve(hour) * rng.uniform(0.85, 1.15) + self._appliance
        pv = 0.0
        if self.solar_w and 6 <= hour <= 20:
            pv = self.solar_w * math.sin(math.pi * (hour - 6) / 14) * rng.uniform(0.7, 1.0)
        net = load - pv
        n = self.phases
        split = [rng.uniform(0.6, 1.4) for _ in range(n)]
        total = sum(split)
        self.phase_w = [int(round(net * s / total)) for s in split]
        self.power_import_w = sum(p for p in self.phase_w if p > 0)
        self.power_export_w = -sum(p for p in self.phase_w if p < 0)
        q = [int(abs(p) * rng.uniform(0.05, 0.25)) for p in self.phase_w]
        self.phase_var = [qq if i % 2 == 0 else -qq for i, qq in enumerate(q)]
        self.reactive_import_var = sum(v for v in self.phase_var if v > 0)
        self.reactive_export_var = -sum(v for v in self.phase_var if v < 0)
        for i in range(3):
            self._volt[i] = min(2450, max(2150, self._volt[i] + rng.randint(-8, 8)))
        self.voltage_dv = self._volt[:n]
        # I = P / U, in 0.01 A
        self.current_ca = [abs(p) * 1000 // max(u, 1) for p, u in zip(self.phase_w, self.voltage_dv)]

    def advance(self, seconds: int):
        """Integrate the present power over `seconds`, then move on."""
        acc = (self.power_import_w, self.power_export_w,
               self.reactive_import_var, self.reactive_export_var)
        for i, p in enumerate(acc):
            self._ws[i] += p * seconds
        wh = [ws // 3600 for ws in self._ws]
        self._ws = [ws % 3600 for ws in self._ws]
        self.import_wh += wh[0]
        self.export_wh += wh[1]
        self.r_import_varh += wh[2]
        self.r_export_varh += wh[3]
        self.t += timedelta(seconds=seconds)
        self._update()
