"""Meter simulator: plays a smart meter's HAN port for the dongle (the
virtual one over TCP or a pty, a real one through a USB-serial adapter).

Meters, all driven by one simulated household (encoders.household), so
every list agrees with the others and energy registers integrate power:
  p1        Swedish HAN-P1 telegram every 10 s
  aidon     list 1 every 2.5 s, list 2 every 10 s, list 3 at hh:00:10
  kaifa     list 1 every 2 s, list 2 every 10 s, list 3 at hh:00:10
  kamstrup  list 1 every 10 s (at :05, :15 ...), list 2 at hh:00:05
A list due in the same slot as a smaller one replaces it, as the meters do.
Or --file: frames from capture files (P1 .txt split into telegrams, .hex
hex text, .bin raw; binary files cut into HDLC/M-Bus messages by their
length fields, anything else sent whole), cycling, every --interval s.

Meter time starts at --start (default: now, local) and advances with the
cadence; --speed N plays N times faster than real time (0: no waiting).

Outputs (any number, or none for a dry run): --tcp PORT (the virtual
dongle's "tcp://" UART; it announces its serial setting as "SERIAL
2400-8E1\\n" and gets garbage while that differs from the meter's
--wire-setting), --pty (prints "pty: /dev/pts/N" first), --serial DEV
(pyserial, real baud and parity), --save FILE (the byte stream).

Faults (seeded by --seed): --corrupt P flips one bit of a frame, --drop P
deletes 1-8 bytes of one, --garbage P sends 5-100 random bytes before a
frame, --pause-every N --pause-s S goes silent for S s of meter time.

--log-json FILE appends per frame {"n", "meter", "kind", "time", "bytes",
"fault", "garbage", "values"}: values is what a correct decoder reports for
the frame ({canonical field: decimal text}), null for faulted frames and
captures.

Examples:
  meter_sim.py aidon --tcp 7000 --speed 10
  meter_sim.py p1 --pty --corrupt 0.05 --log-json sent.jsonl
  meter_sim.py kaifa --speed 0 --count 500 --save stream.bin --quiet
  meter_sim.py --file capture.hex --serial /dev/ttyUSB0 --wire-setting 2400-8E1
"""
import argparse
import json
import os
import random
import signal
import socket
import sys
import threading
import time
from collections import namedtuple
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_DOWN, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from encoders import axdr, dlms, hdlc, meters, stream  # noqa: E402
from encoders.household import Household  # noqa: E402
from encoders.p1 import swedish_telegram  # noqa: E402

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


# --- line faults ------------------------------------------------------------------

class Faults:
    """Seeded line faults: a random generator of its own, so faults never
    change the household's values."""

    def __init__(self, seed=0, corrupt=0.0, drop=0.0, garbage=0.0):
        self.rng = random.Random("faults-%s" % seed)
        self.corrupt_p, self.drop_p, self.garbage_p = corrupt, drop, garbage

    def garbage(self) -> bytes:
        if self.garbage_p and self.rng.random() < self.garbage_p:
            return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(5, 100)))
        return b""

    def apply(self, data: bytes):
        """(bytes to send, fault name or None). A frame gets at most one
        fault: corruption is decided first, then dropping."""
        if self.corrupt_p and self.rng.random() < self.corrupt_p:
            return flip_bit(data, self.rng), "corrupt"
        if self.drop_p and self.rng.random() < self.drop_p:
            return drop_bytes(data, self.rng), "drop"
        return data, None


def _pick_frame(data: bytes, rng):
    """(offset, frame bytes) of one frame of a message, chosen at random."""
    spans = stream.frame_spans(data) or [(0, len(data))]
    a, b = rng.choice(spans)
    return a, data[a:b]


def _is_text(frame: bytes) -> bool:
    return frame[:1] not in (b"\x7e", b"\x68") and b"/" in frame


def flip_bit(data: bytes, rng) -> bytes:
    """One bit flipped where the frame's check must catch it: an HDLC
    frame's information field or FCS, M-Bus C..checksum, a P1 body. In P1
    the flipped byte stays printable text other than '/' and '!' (no CR or
    LF touched), as line noise mostly leaves it, so the telegram reaches
    its CRC and fails there instead of being cut short."""
    off, frame = _pick_frame(data, rng)
    s, e = stream.checked_span(frame, inner=True)
    text = _is_text(frame)
    out = bytearray(data)
    for _ in range(1000):
        pos = rng.randrange(s, e)
        new = frame[pos] ^ (1 << rng.randrange(8))
        if text and (frame[pos] in (10, 13) or not 32 <= new <= 125 or new in (0x21, 0x2F)):
            continue
        out[off + pos] = new
        return bytes(out)
    out[off + s] ^= 0x01                     # (a body of CR/LF only: never seen)
    return bytes(out)


def drop_bytes(data: bytes, rng) -> bytes:
    """1-8 bytes deleted at random places inside one frame's checked span
    (between the HDLC flags, after a P1 telegram's '/' and before its '!'):
    deleting only a flag or the CRLF after a CRC would hurt nothing."""
    off, frame = _pick_frame(data, rng)
    s, e = stream.checked_span(frame)
    k = min(rng.randint(1, 8), e - s)
    gone = {off + p for p in rng.sample(range(s, e), k)}
    return bytes(b for i, b in enumerate(data) if i not in gone)


# --- outputs --------------------------------------------------------------------------

def garble(data: bytes) -> bytes:
    """What a UART set to the wrong speed/format makes of data: the same
    transformation as testkit/rig.py's Meter.send."""
    return bytes((b * 37 + 11) & 0xFF for b in data)[: len(data) // 3]


class Wire:
    """The meter end of the virtual dongle's UART: a TCP server the dongle
    connects to (again and again: a new connection replaces the old). The
    dongle announces its serial setting ("SERIAL 2400-8E1\\n"); like a meter
    behind a wrongly set UART, frames arrive as garbage unless it matches
    `setting` (None: always matches). port=0 picks a free port (.port)."""

    def __init__(self, setting=None, port=0, host="127.0.0.1"):
        self.setting = setting
        self.dongle_setting = None
        self.conn = None
        self.connections = 0
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind((host, port))
        self._srv.listen(2)
        self.port = self._srv.getsockname()[1]
        self._stop = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            with self._lock:
                old = self.conn
                self.conn = conn
                self.dongle_setting = None      # a new link announces afresh
                self.connections += 1
                self._changed.notify_all()
            if old is not None:
                _close_quietly(old)
            threading.Thread(target=self._listen, args=(conn,), daemon=True).start()

    def _listen(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(256)
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    if self.conn is conn:       # the dongle went away
                        self.conn = None
                        self.dongle_setting = None
                        self._changed.notify_all()
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"SERIAL "):
                    with self._lock:
                        if self.conn is conn:
                            self.dongle_setting = line[7:].decode("ascii", "replace").strip()
                            self._changed.notify_all()

    def connected(self) -> bool:
        """A dongle is connected and has said its serial setting."""
        return self.conn is not None and self.dongle_setting is not None

    def matches(self) -> bool:
        return self.setting is None or self.setting == self.dongle_setting

    def wait(self, timeout=None, announced=True) -> bool:
        """Wait for a connection (announced: and its SERIAL line)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._stop:
                if self.conn is not None and (self.dongle_setting is not None or not announced):
                    return True
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(0.2 if left is None else min(left, 0.2))
        return False

    def send(self, data: bytes) -> bool:
        """Send bytes as the meter would: garbage when the UART is wrong.
        False when no dongle is connected (the bytes are lost, as on a wire)."""
        if not self.matches():
            data = garble(data)
        with self._lock:
            conn = self.conn
        if conn is None:
            return False
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False

    def drop(self):
        """Cut the connection (the dongle is expected to reconnect)."""
        with self._lock:
            conn, self.conn, self.dongle_setting = self.conn, None, None
        if conn is not None:
            _close_quietly(conn)

    def close(self):
        self._stop = True
        self.drop()
        _close_quietly(self._srv)


def _close_quietly(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class PtyOutput:
    """A pseudo-terminal pair: frames go into the master, a reader (the
    virtual dongle's tty UART, decode.py --serial) opens .path. The slave
    is kept open and raw, so CR/LF pass unchanged and the pair outlives
    readers; when nobody reads and the buffer is full, bytes are lost
    rather than blocking the meter."""

    def __init__(self):
        import tty
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)

    def send(self, data: bytes) -> bool:
        try:
            while data:
                n = os.write(self.master, data)
                data = data[n:]
            return True
        except (BlockingIOError, OSError):
            return False

    def close(self, linger=1.0):
        """Close the pair, first giving a reader up to `linger` seconds to
        take what was sent: closing the master discards unread bytes."""
        import fcntl
        import struct
        import termios
        time.sleep(0.05)                 # bytes written reach the slave's queue
        end = time.monotonic() + linger
        while time.monotonic() < end:
            try:
                queued = struct.unpack("i", fcntl.ioctl(self._slave, termios.FIONREAD,
                                                        b"\0\0\0\0"))[0]
            except OSError:
                break
            if not queued:
                break
            time.sleep(0.02)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


def parse_setting(text):
    """"2400-8E1" or "115200-8N1-inv" -> (baud, bits, parity, stop bits)."""
    try:
        baud, frame = text.split("-")[:2]
        return int(baud), int(frame[0]), frame[1].upper(), int(frame[2])
    except (ValueError, IndexError):
        raise ValueError("wire setting %r is not like 2400-8E1" % text) from None


class SerialOutput:
    """A real serial port (pyserial), e.g. a USB-serial adapter wired to a
    dongle's meter input. Signal inversion is the adapter's business."""

    def __init__(self, device, baud, bits=8, parity="N", stop=1):
        import serial
        self.port = serial.Serial(device, baudrate=baud, bytesize=bits, parity=parity,
                                  stopbits=stop, write_timeout=10)

    def send(self, data: bytes) -> bool:
        try:
            self.port.write(data)
            return True
        except Exception:                       # pyserial raises its own types
            return False

    def close(self):
        self.port.close()


class FileOutput:
    """The byte stream as sent, into a file (a capture of the simulated line)."""

    def __init__(self, path):
        self.f = open(path, "wb")

    def send(self, data: bytes) -> bool:
        self.f.write(data)
        self.f.flush()
        return True

    def close(self):
        self.f.close()


# --- the run ------------------------------------------------------------------------

class Runner:
    """Plays a source (SimMeter or CapturePlayer) to outputs in (scaled)
    real time, with faults, printing and logging each frame."""

    def __init__(self, source, outputs=(), speed=1.0, count=None, faults=None,
                 pause_every=0, pause_s=0.0, quiet=False, log=None, out=sys.stdout,
                 stop=None):
        self.source = source
        self.outputs = list(outputs)
        self.speed = speed
        self.count = count
        self.faults = faults or Faults()
        self.pause_every = pause_every
        self.pause_s = pause_s
        self.quiet = quiet
        self.log = log
        self.out = out
        self.stop = stop or threading.Event()
        self.sent = 0

    def _wait_until(self, real_t0, meter_t):
        """Sleep until the real time of meter_t at this speed (interruptible)."""
        if self.speed <= 0:
            return
        due = real_t0 + (meter_t - self.source.origin).total_seconds() / self.speed
        left = due - time.monotonic()
        if left > 0:
            self.stop.wait(left)

    def _send(self, data: bytes) -> bool:
        ok = False
        for o in self.outputs:
            ok = o.send(data) or ok
        return ok

    def run(self):
        real_t0 = time.monotonic()
        n = 0
        while not self.stop.is_set() and (self.count is None or n < self.count):
            self._wait_until(real_t0, self.source.next_time)
            if self.stop.is_set():
                break
            frame = self.source.next_frame()
            n += 1
            junk = self.faults.garbage()
            if junk:
                self._send(junk)
            data, fault = self.faults.apply(frame.data)
            delivered = self._send(data) if self.outputs else True
            self.sent = n
            self._report(n, frame, data, fault, len(junk), delivered)
            if self.pause_every and n % self.pause_every == 0:
                self.source.pause(self.pause_s)
        return n

    def _report(self, n, frame, data, fault, junk, delivered):
        if not self.quiet:
            line = "sent %s %s %d bytes at %s" % (self.source.name, frame.kind, len(data),
                                                  _iso(frame.time))
            if fault:
                line += " [%s]" % fault
            if junk:
                line += " [+%d garbage bytes before]" % junk
            if not delivered:
                line += " [no one listening]"
            self.out.write(line + "\n")
            self.out.flush()
        if self.log is not None:
            rec = {"n": n, "meter": self.source.name, "kind": frame.kind,
                   "time": _iso(frame.time), "bytes": len(data), "fault": fault,
                   "garbage": junk, "values": None if fault else frame.values}
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")


# --- command line ------------------------------------------------------------------

def _probability(text):
    p = float(text)
    if not 0 <= p <= 1:
        raise argparse.ArgumentTypeError("a probability is 0..1")
    return p


def _start(text):
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an ISO time like 2026-01-15T17:00:00") from None


def parser():
    ap = argparse.ArgumentParser(prog="meter_sim.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("meter", nargs="?", choices=METERS, help="meter to simulate (or --file)")
    ap.add_argument("--file", action="append", default=[], metavar="F",
                    help="play frames from a capture file instead (repeatable)")
    ap.add_argument("--interval", type=float, default=10.0,
                    help="seconds between capture messages (default 10)")
    ap.add_argument("--start", type=_start, help="meter time to start at (default: now, local)")
    ap.add_argument("--speed", type=float, default=1.0,
                    help="times faster than real time (0: as fast as possible)")
    ap.add_argument("--count", type=int, help="stop after N frames")
    ap.add_argument("--phases", type=int, choices=(1, 3), default=3)
    ap.add_argument("--solar-w", type=int, default=0, help="peak solar power (export), W")
    ap.add_argument("--seed", type=int, default=0, help="household and fault randomness")
    ap.add_argument("--key", help="encrypt binary meters' APDUs with this key (32 hex digits)")
    ap.add_argument("--auth-key", help="authentication key: security 0x30 instead of 0x20")
    ap.add_argument("--tcp", type=int, metavar="PORT",
                    help="serve the virtual dongle on this TCP port (0: pick one)")
    ap.add_argument("--host", default="127.0.0.1", help="address for --tcp (default 127.0.0.1)")
    ap.add_argument("--no-wait", action="store_true",
                    help="with --tcp, start at once instead of waiting for a dongle")
    ap.add_argument("--pty", action="store_true",
                    help="write to a new pty; its path is printed first")
    ap.add_argument("--serial", metavar="DEV", help="write to a serial port (pyserial)")
    ap.add_argument("--baud", type=int, help="serial baud rate (default: the meter's)")
    ap.add_argument("--parity", choices="NEO", help="serial parity (default: the meter's)")
    ap.add_argument("--save", metavar="FILE", help="also write the byte stream to FILE")
    ap.add_argument("--wire-setting", help="the meter's serial setting, e.g. 2400-8E1 ('any': "
                                           "never garble); default by meter type")
    ap.add_argument("--corrupt", type=_probability, default=0.0, metavar="P",
                    help="probability per frame of flipping one random bit")
    ap.add_argument("--drop", type=_probability, default=0.0, metavar="P",
                    help="probability per frame of deleting 1-8 random bytes")
    ap.add_argument("--garbage", type=_probability, default=0.0, metavar="P",
                    help="probability of 5-100 random bytes before a frame")
    ap.add_argument("--pause-every", type=int, default=0, metavar="N",
                    help="go silent after every N frames ...")
    ap.add_argument("--pause-s", type=float, default=0.0, metavar="S",
                    help="... for S seconds of meter time")
    ap.add_argument("--quiet", action="store_true", help="no line per frame on stdout")
    ap.add_argument("--log-json", metavar="FILE", help="append one JSON object per frame")
    return ap


def _source(args):
    if args.file:
        if args.meter:
            raise ValueError("give a meter or --file, not both")
        if args.key:
            raise ValueError("--key applies to simulated meters; captures are played as they are")
        return CapturePlayer(args.file, args.interval, args.start)
    if not args.meter:
        raise ValueError("give a meter (%s) or --file" % ", ".join(METERS))
    return SimMeter(args.meter, args.start, args.seed, args.phases, args.key,
                    args.auth_key, args.solar_w)


def _wire_setting(args):
    if args.wire_setting:
        return None if args.wire_setting == "any" else args.wire_setting
    if args.meter:
        return WIRE_SETTING[args.meter]
    # captures: P1 text at the Swedish setting, binary at Aidon/Kaifa's
    texts = all(f.lower().endswith(".txt") for f in args.file)
    return WIRE_SETTING["p1" if texts else "aidon"]


def _outputs(args, setting, stop, out):
    """Open every output asked for (announcing the pty and tcp ones)."""
    outputs = []
    if args.pty:
        p = PtyOutput()
        outputs.append(p)
        out.write("pty: %s\n" % p.path)
        out.flush()
    if args.serial:
        baud, bits, parity, stopbits = parse_setting(setting or WIRE_SETTING["p1"])
        outputs.append(SerialOutput(args.serial, args.baud or baud, bits,
                                    args.parity or parity, stopbits))
    if args.save:
        outputs.append(FileOutput(args.save))
    if args.tcp is not None:
        w = Wire(setting, args.tcp, args.host)
        outputs.append(w)
        out.write("tcp: %s:%d\n" % (args.host, w.port))
        out.flush()
        if not args.no_wait:
            while not stop.is_set() and not w.wait(timeout=0.2, announced=False):
                pass
            # a dongle says its setting right after connecting; give it a moment
            if not stop.is_set():
                w.wait(timeout=2.0)
    return outputs


def main(argv=None):
    args = parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    outputs, log = [], None
    try:
        setting = _wire_setting(args)
        if setting:
            parse_setting(setting)
        if args.pause_every < 0 or args.pause_s < 0 or (args.count is not None and args.count < 0):
            raise ValueError("counts and pauses cannot be negative")
        source = _source(args)
        log = open(args.log_json, "a") if args.log_json else None
        outputs = _outputs(args, setting, stop, sys.stdout)
        if stop.is_set():
            return 0
        if args.start is None and args.file == [] and args.tcp is not None:
            # waiting for the dongle took real time: start the meter now
            source = _source(args)
        faults = Faults(args.seed, args.corrupt, args.drop, args.garbage)
        Runner(source, outputs, args.speed, args.count, faults, args.pause_every,
               args.pause_s, args.quiet, log, sys.stdout, stop).run()
    except (ValueError, OSError, stream.CaptureError) as e:
        print("meter_sim.py: %s" % e, file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    finally:
        for o in outputs:
            o.close()
        if log is not None:
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
