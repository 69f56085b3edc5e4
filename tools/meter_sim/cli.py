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
import signal
import sys
import threading
import time
from datetime import datetime

from encoders import stream

from .faults import Faults
from .model import METERS, WIRE_SETTING, CapturePlayer, SimMeter
from .transports import FileOutput, MeterLine, PtyOutput, SerialOutput, parse_setting


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
        for output in self.outputs:
            ok = output.send(data) or ok
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
        pty_output = PtyOutput()
        outputs.append(pty_output)
        out.write("pty: %s\n" % pty_output.path)
        out.flush()
    if args.serial:
        baud, bits, parity, stopbits = parse_setting(setting or WIRE_SETTING["p1"])
        outputs.append(SerialOutput(args.serial, args.baud or baud, bits,
                                    args.parity or parity, stopbits))
    if args.save:
        outputs.append(FileOutput(args.save))
    if args.tcp is not None:
        line = MeterLine(setting, args.tcp, args.host)
        outputs.append(line)
        out.write("tcp: %s:%d\n" % (args.host, line.port))
        out.flush()
        if not args.no_wait:
            while not stop.is_set() and not line.wait(timeout=0.2, announced=False):
                pass
            # a dongle says its setting right after connecting; give it a moment
            if not stop.is_set():
                line.wait(timeout=2.0)
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
        for output in outputs:
            output.close()
        if log is not None:
            log.close()
    return 0

