"""The simulated meters and capture playback: frames in meter time, with
the values a correct decoder must report for each. SimMeter does no I/O;
CapturePlayer reads its files once, when made."""
import os
from collections import namedtuple
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_DOWN, Decimal

from encoders import axdr, dlms, hdlc, meters, stream
from encoders.household import Household
from encoders.p1 import swedish_telegram

METERS = ("p1", "aidon", "kaifa", "kamstrup")
WIRE_SETTING = {"p1": "115200-8N1-inv", "aidon": "2400-8E1", "kaifa": "2400-8E1",
                "kamstrup": "2400-8N1"}

# One frame as sent: meter time, the bytes, what a decoder must report
# ({field: decimal text}, None when unknown) and the kind ("list2", ...).
Frame = namedtuple("Frame", "time data values kind")

_HOUR_MS = 3_600_000

# Cadence per meter: (period, offset of the slots, hourly list's slot
# within the hour, period of list 2 or None), all in ms.
CADENCE = {
    "p1": (10_000, 0, None, None),
    "aidon": (2_500, 0, 10_000, 10_000),
    "kaifa": (2_000, 0, 10_000, 10_000),
    "kamstrup": (10_000, 5_000, 5_000, None),
}

# Decimals each make keeps on the wire, in the canonical unit (kWh, W, V,
# A): Aidon energies in 10 Wh, currents 0.1 A; Kaifa Wh and mA; Kamstrup
# 10 Wh, whole volts and 0.01 A. The household's own registers are Wh,
# 0.1 V and 0.01 A; values are truncated to these, never rounded.
RESOLUTION = {
    "p1": {"energy": 3, "power": 0, "voltage": 1, "current": 1},
    "aidon": {"energy": 2, "power": 0, "voltage": 1, "current": 1},
    "kaifa": {"energy": 3, "power": 0, "voltage": 1, "current": 3},
    "kamstrup": {"energy": 2, "power": 0, "voltage": 0, "current": 2},
}

_INSTANT = meters.POWER_FIELDS + meters.CURRENT_FIELDS + meters.VOLTAGE_FIELDS
_P1_FIELDS = (meters.ENERGY_FIELDS + meters.POWER_FIELDS + meters.PHASE_POWER_FIELDS
              + meters.VOLTAGE_FIELDS + meters.CURRENT_FIELDS)
# The fields each list carries (before dropping absent phases)
LIST_FIELDS = {
    ("p1", "telegram"): _P1_FIELDS,
    ("aidon", "list1"): ("power_import_w",),
    ("aidon", "list2"): _INSTANT,
    ("aidon", "list3"): _INSTANT + meters.ENERGY_FIELDS,
    ("kaifa", "list1"): ("power_import_w",),
    ("kaifa", "list2"): _INSTANT,
    ("kaifa", "list3"): _INSTANT + meters.ENERGY_FIELDS,
    ("kamstrup", "list1"): _INSTANT,
    ("kamstrup", "list2"): _INSTANT + meters.ENERGY_FIELDS,
}

# Identity of the simulated binary meters (list id, meter id, type) and the
# system titles they cipher with: the first three letters name the maker.
IDENTITY = {
    "aidon": ("7359992908032516", "6525"),
    "kaifa": ("6970631401753985", "MA304H3E"),
    "kamstrup": ("5706567274389702", "6841121BN243101040"),
}
SYSTEM_TITLE = {
    "aidon": b"ADN" + bytes.fromhex("0001020304"),
    "kaifa": b"KFM" + bytes.fromhex("1001020304"),
    "kamstrup": b"KAM" + bytes.fromhex("2001020304"),
}


def decimal_text(value: Decimal) -> str:
    """Decimal text as hanport prints it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _family(field: str) -> str:
    for fam in ("energy", "power", "voltage", "current"):
        if field.startswith(fam) or field.startswith("reactive_" + fam):
            return fam
    raise ValueError("no resolution for %s" % field)


def _phase_ok(field: str, phases: int) -> bool:
    return not any("_l%d_" % p in field for p in range(phases + 1, 4))


def eu_summer_time(t: datetime) -> bool:
    """Central European summer time on a naive local time: from the last
    Sunday of March 02:00 to the last Sunday of October 03:00."""
    def last_sunday(month):
        d = date(t.year, month, 31)          # March and October have 31 days
        return d - timedelta(days=(d.weekday() + 1) % 7)
    return (datetime.combine(last_sunday(3), clock_time(2))
            <= t < datetime.combine(last_sunday(10), clock_time(3)))


def household_values(h: Household) -> dict:
    """The household's present state as {canonical field: Decimal} at its
    own resolution (Wh, W, var, 0.1 V, 0.01 A)."""
    v = {
        "energy_import_kwh": Decimal(h.import_wh).scaleb(-3),
        "energy_export_kwh": Decimal(h.export_wh).scaleb(-3),
        "reactive_energy_import_kvarh": Decimal(h.r_import_varh).scaleb(-3),
        "reactive_energy_export_kvarh": Decimal(h.r_export_varh).scaleb(-3),
        "power_import_w": Decimal(h.power_import_w),
        "power_export_w": Decimal(h.power_export_w),
        "reactive_power_import_var": Decimal(h.reactive_import_var),
        "reactive_power_export_var": Decimal(h.reactive_export_var),
    }
    for i in range(h.phases):
        n = i + 1
        p, q = h.phase_w[i], h.phase_var[i]
        # per-phase registers are unsigned: a phase exports or imports
        v["power_import_l%d_w" % n] = Decimal(max(p, 0))
        v["power_export_l%d_w" % n] = Decimal(max(-p, 0))
        v["reactive_power_import_l%d_var" % n] = Decimal(max(q, 0))
        v["reactive_power_export_l%d_var" % n] = Decimal(max(-q, 0))
        v["voltage_l%d_v" % n] = Decimal(h.voltage_dv[i]).scaleb(-1)
        v["current_l%d_a" % n] = Decimal(h.current_ca[i]).scaleb(-2)
    return v


class SimMeter:
    """A simulated meter producing its frames in meter time, without I/O.

    meter: "p1", "aidon", "kaifa" or "kamstrup". start: naive local
    datetime (default now); the first frame is in the first slot at or
    after it. key/auth_key (bytes or hex): send binary meters' APDUs as
    general-glo-ciphering (security 0x30 with auth_key, else 0x20).

        m = SimMeter("aidon", start=datetime(2026, 1, 15, 16, 59))
        t, data, values, kind = m.next_frame()
    """

    def __init__(self, meter, start=None, seed=0, phases=3, key=None, auth_key=None,
                 solar_w=0):
        if meter not in METERS:
            raise ValueError("unknown meter %r (one of %s)" % (meter, ", ".join(METERS)))
        if phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        self.meter = meter
        self.name = meter
        self.phases = phases
        self.key = _key(key)
        self.auth_key = _key(auth_key)
        if self.auth_key and not self.key:
            raise ValueError("an auth key needs the encryption key too")
        if self.key and meter == "p1":
            raise ValueError("P1 telegrams are sent in clear: --key is for binary meters")
        self.frame_counter = 1
        start = start or datetime.now()
        self.origin = start
        self._base = datetime.combine(start.date(), clock_time(0))
        self._period, self._offset, self._hourly, self._list2 = CADENCE[meter]
        since = (start - self._base) // timedelta(milliseconds=1)
        self._ms = self._slot_at_or_after(since)
        self._last_ms = None
        sec = self._ms // 1000
        self._h_sec = sec
        self.household = Household(self._base + timedelta(seconds=sec), phases=phases,
                                   seed=seed, solar_w=solar_w)

    # --- time -----------------------------------------------------------------

    def _slot_at_or_after(self, ms: int) -> int:
        k = -(-(ms - self._offset) // self._period)      # ceiling division
        return self._offset + k * self._period

    def _time(self, ms: int) -> datetime:
        return self._base + timedelta(milliseconds=ms)

    @property
    def next_time(self) -> datetime:
        """Meter time of the next frame."""
        return self._time(self._ms)

    def pause(self, seconds: float):
        """Go silent: the next frame comes at the first slot at least
        `seconds` after the last one (the household keeps consuming)."""
        ref = self._ms if self._last_ms is None else self._last_ms
        self._ms = max(self._ms, self._slot_at_or_after(ref + int(seconds * 1000)))

    def _kind(self, ms: int) -> str:
        if self.meter == "p1":
            return "telegram"
        if self._hourly is not None and ms % _HOUR_MS == self._hourly:
            return "list3" if self.meter in ("aidon", "kaifa") else "list2"
        if self._list2 is not None and ms % self._list2 == 0:
            return "list2"
        return "list1"

    # --- frames -----------------------------------------------------------------

    def next_frame(self) -> Frame:
        """(meter_time, bytes, expected values, kind) of the next frame."""
        ms = self._ms
        sec = ms // 1000
        if sec > self._h_sec:              # whole seconds: Household integrates exactly
            self.household.advance(sec - self._h_sec)
            self._h_sec = sec
        when = self._time(ms)
        kind = self._kind(ms)
        values = self.values(kind)
        data = self.encode(kind, values, when)
        self._last_ms = ms
        self._ms = ms + self._period
        return Frame(when, data, {f: decimal_text(v) for f, v in values.items()}, kind)

    def values(self, kind) -> dict:
        """{field: Decimal} a list of this kind carries now, truncated to
        the make's wire resolution."""
        res = RESOLUTION[self.meter]
        now = household_values(self.household)
        out = {}
        for f in LIST_FIELDS[(self.meter, kind)]:
            if _phase_ok(f, self.phases):
                q = Decimal(1).scaleb(-res[_family(f)])
                out[f] = now[f].quantize(q, rounding=ROUND_DOWN)
        return out

    def encode(self, kind, values, when) -> bytes:
        summer = eu_summer_time(when)
        if self.meter == "p1":
            return swedish_telegram(self.household, dst=summer)
        list_no = int(kind[-1])
        meter_id, meter_type = IDENTITY[self.meter]
        status = 0x80 if summer else 0x00
        clock = when.replace(microsecond=0)
        make = getattr(meters, self.meter)
        body = make(list_no, self.phases, values, meter_id=meter_id, meter_type=meter_type,
                    clock=clock if list_no > 1 else None, clock_status=status)
        return self.frame(body, clock, status)

    def frame(self, body: bytes, when: datetime, status: int) -> bytes:
        """body in the make's data-notification and HDLC frame, as
        meters.push builds it, ciphered in between when a key is set."""
        h = meters.HEADER[self.meter]
        stamp = None if h["dt_form"] == "none" else axdr.date_time(when, None, status)
        apdu = dlms.data_notification(body, h["invoke_id"], stamp, h["dt_form"])
        if self.key:
            sc = 0x30 if self.auth_key else 0x20
            apdu = dlms.glo_cipher(apdu, self.key, SYSTEM_TITLE[self.meter],
                                   self.frame_counter, sc, self.auth_key)
            self.frame_counter += 1
        return hdlc.frame(hdlc.llc(apdu), h["dst"], h["src"], h["control"])


def _key(k):
    if k is None or isinstance(k, (bytes, bytearray)):
        key = k
    else:
        try:
            key = bytes.fromhex(str(k).replace(" ", "").replace(":", ""))
        except ValueError:
            raise ValueError("key is not hex: expected 32 hex digits") from None
    if key is not None and len(key) != 16:
        raise ValueError("key must be 32 hex digits (16 bytes), got %d bytes" % len(key))
    return key


class CapturePlayer:
    """Frames from capture files, cycling, one message every `interval`
    seconds of meter time. Same next_frame()/pause() as SimMeter; values
    are None (a capture's meaning is what the decoder says)."""

    def __init__(self, paths, interval=10.0, start=None):
        if interval <= 0:
            raise ValueError("--interval must be positive")
        self.name = "file"
        self.interval = interval
        self.items = []
        for path in paths:
            base = os.path.basename(path)
            low = base.lower()
            # .txt is P1 text, .hex/.bin binary; other names: by content
            text = {".txt": True, ".hex": False, ".bin": False}.get(os.path.splitext(low)[1])
            msgs = stream.messages(stream.load(path), text)
            for k, parts in enumerate(msgs):
                kind = base if len(msgs) == 1 else "%s#%d" % (base, k + 1)
                self.items.append((kind, b"".join(parts)))
        if not self.items:
            raise ValueError("the capture files hold no bytes")
        self.origin = start or datetime.now()
        self._t = self.origin
        self._i = 0

    @property
    def next_time(self) -> datetime:
        return self._t

    def pause(self, seconds: float):
        self._t += timedelta(seconds=seconds)

    def next_frame(self) -> Frame:
        kind, data = self.items[self._i % len(self.items)]
        self._i += 1
        when = self._t
        self._t += timedelta(seconds=self.interval)
        return Frame(when, data, None, kind)
