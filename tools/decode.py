"""Decode smart-meter data with hanport: capture files, stdin or a live
serial port, one JSON reading per line on stdout.

Files: FILE.hex is hex text (whitespace and a UTF-8 BOM ignored), any other
file raw bytes, "-" raw bytes from stdin. A file whose bytes are a bare
DLMS APDU (starting 0F, or E6 E7 00 then 0F or DB: a capture whose HDLC
layer was already stripped) goes through Decoder.decode_apdu, which has no
link check, instead of Decoder.feed. Each file gets a decoder of its own
(different files may be different meters).

Exit status: 0 when at least one reading was decoded; 1 otherwise, with one
line on stderr saying why (encrypted and no key, wrong key, CRC errors,
unknown content, a truncated frame, or no frames at all); 2 for bad
arguments (missing file, bad hex, bad key).

Examples:
  decode.py capture.hex
  decode.py --key 36C66639E48A8CA4D6BC8B282A793BBB frames.hex
  decode.py --serial /dev/ttyUSB0 --baud 2400 --parity E --record dump.bin
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import hanport  # noqa: E402
from hanport.decoder import COUNTERS  # noqa: E402
from encoders.stream import CaptureError, load  # noqa: E402

CHUNK = 4096
EXIT_NO_READING = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


def is_bare_apdu(data: bytes) -> bool:
    """A data-notification (0F) or an LLC PDU (E6 E7 00) carrying one or a
    ciphered APDU: what loggers write after stripping HDLC."""
    if data[:1] == b"\x0f":
        return True
    return data[:3] == b"\xe6\xe7\x00" and data[3:4] in (b"\x0f", b"\xdb")


def pending_bytes(decoder) -> int:
    """Bytes of a frame the decoder is still waiting to complete when the
    input ends (a truncated capture)."""
    return decoder.pending()


class Run:
    """Decoders, counters and output of one invocation."""

    def __init__(self, args, out=sys.stdout):
        self.args = args
        self.out = out
        self.readings = 0
        self.bytes_read = 0
        self.pending = 0          # bytes left in incomplete frames at the end
        self.last_error = None
        self.totals = dict.fromkeys(COUNTERS, 0)
        self.record = None
        if args.record:
            try:
                self.record = open(args.record, "wb")
            except OSError as e:
                raise UsageError("cannot write --record file: %s" % e.strerror) from None

    def decoder(self):
        try:
            return hanport.Decoder(self.args.key, self.args.auth_key, self.args.multipliers)
        except ValueError as e:
            raise UsageError(str(e)) from None

    def got(self, data: bytes):
        """Raw bytes read: counted and recorded before decoding, so a
        recording holds everything even when decoding fails."""
        self.bytes_read += len(data)
        if self.record is not None:
            self.record.write(data)
            self.record.flush()

    def emit(self, readings):
        for r in readings:
            self.out.write(r.to_json() + "\n")
            self.readings += 1
        if readings:
            self.out.flush()

    def finish(self, decoder):
        """Add a decoder's counters to the totals once its input is done."""
        self.pending += pending_bytes(decoder)
        for k, v in decoder.stats().items():
            self.totals[k] += v
        self.last_error = decoder.last_error or self.last_error     # (made when read: read once)

    def close(self):
        if self.record is not None:
            self.record.close()

    # --- inputs -----------------------------------------------------------

    def decode_bytes(self, data: bytes):
        dec = self.decoder()
        self.got(data)
        if is_bare_apdu(data):
            self.emit(dec.decode_apdu(data))
        else:
            self.emit(dec.feed(data))
        self.finish(dec)

    def decode_file(self, path):
        try:
            data = load(path)
        except FileNotFoundError:
            raise UsageError("%s: no such file" % path) from None
        except IsADirectoryError:
            raise UsageError("%s: is a directory" % path) from None
        except OSError as e:
            raise UsageError("%s: %s" % (path, e.strerror)) from None
        except CaptureError as e:
            raise UsageError("%s: %s" % (path, e)) from None
        self.decode_bytes(data)

    def decode_stdin(self):
        """Raw bytes from stdin, decoded as they arrive (a pipe from a
        serial port works); a bare APDU is read whole first."""
        stdin = sys.stdin.buffer
        first = stdin.read1(CHUNK) if hasattr(stdin, "read1") else stdin.read(CHUNK)
        if is_bare_apdu(first):
            self.decode_bytes(first + stdin.read())
            return
        dec = self.decoder()
        data = first
        while data:
            self.got(data)
            self.emit(dec.feed(data))
            data = stdin.read1(CHUNK) if hasattr(stdin, "read1") else stdin.read(CHUNK)
        self.finish(dec)

    def decode_serial(self):
        import serial   # pyserial: only needed here
        a = self.args
        parity = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN,
                  "O": serial.PARITY_ODD}[a.parity]
        dec = self.decoder()
        try:
            port = serial.Serial(a.serial, baudrate=a.baud, bytesize=a.bits, parity=parity,
                                 stopbits=serial.STOPBITS_ONE, timeout=0.2)
        except (serial.SerialException, OSError, ValueError) as e:
            raise UsageError("cannot open serial port %s: %s" % (a.serial, e)) from None
        end = None if a.seconds is None else time.monotonic() + a.seconds
        try:
            while end is None or time.monotonic() < end:
                data = port.read(port.in_waiting or 1)
                if data:
                    self.got(data)
                    self.emit(dec.feed(data))
        except KeyboardInterrupt:
            pass                          # Ctrl-C ends a live session normally
        except serial.SerialException as e:
            self.last_error = "serial port: %s" % e
        finally:
            port.close()
            self.finish(dec)

    # --- the verdict --------------------------------------------------------

    def reason(self) -> str:
        """Why no reading came out, from the counters (most telling first)."""
        t = self.totals
        crc = t["crc_errors"] + t["fcs_errors"] + t["mbus_errors"]
        if t["key_required"]:
            return "encrypted frames: give --key (and --auth-key)"
        if t["auth_failures"]:
            return "wrong key: %d frames failed authentication" % t["auth_failures"]
        if crc:
            return "%d frames failed their CRC/FCS check: line noise or wrong serial settings" % crc
        if t["unknown"]:
            return "%d frames with content not understood: %s" % (t["unknown"], self.last_error)
        if t["malformed"] or t["oversized"]:
            return "%d malformed frames: %s" % (t["malformed"] + t["oversized"], self.last_error)
        if self.pending:
            return "input ended inside a frame (%d bytes of it): truncated capture?" % self.pending
        return "no frames found: is this meter data? (%d bytes read)" % self.bytes_read

    def summary(self) -> str:
        counts = " ".join("%s=%d" % (k, v) for k, v in self.totals.items())
        return "stats: readings=%d bytes=%d %s" % (self.readings, self.bytes_read, counts)


def parse_multiplier(text):
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError("expected NAME=VALUE, e.g. voltage=0.01")
    return name.strip(), value.strip()


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line and exit 2, like every other bad input."""
        self.exit(EXIT_USAGE, "%s: %s\n" % (self.prog, message))


def parser():
    ap = Parser(prog="decode.py", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", metavar="FILE",
                    help=".hex (hex text) or raw capture files, - for stdin; "
                         "a bare DLMS APDU (0F.. or E6 E7 00 0F/DB..) is decoded with decode_apdu")
    ap.add_argument("--key", help="encryption key (GUEK), 32 hex digits")
    ap.add_argument("--auth-key", help="authentication key (GAK), 32 hex digits")
    ap.add_argument("--multiplier", action="append", type=parse_multiplier, default=[],
                    metavar="NAME=VALUE",
                    help="scale a field or field prefix, e.g. voltage=0.01 (repeatable)")
    ap.add_argument("--serial", metavar="PORT", help="read a live serial port instead of files")
    ap.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")
    ap.add_argument("--parity", choices="NEO", default="N", help="serial parity (default N)")
    ap.add_argument("--bits", type=int, choices=(7, 8), default=8,
                    help="serial data bits (default 8)")
    ap.add_argument("--seconds", type=float, help="stop reading the serial port after S seconds")
    ap.add_argument("--record", metavar="FILE",
                    help="save every raw byte read to FILE (hex files: the bytes they spell)")
    ap.add_argument("--stats", action="store_true", help="print the decoder counters on stderr")
    return ap


def run(argv=None) -> int:
    args = parser().parse_args(argv)
    args.multipliers = dict(args.multiplier) or None
    if bool(args.serial) == bool(args.files):
        raise UsageError("give capture files (or -) or --serial PORT, not both or neither")
    r = Run(args)
    try:
        r.decoder()                       # check keys and multipliers up front
        if args.serial:
            r.decode_serial()
        for path in args.files:
            if path == "-":
                r.decode_stdin()
            else:
                r.decode_file(path)
    finally:
        r.close()
    if r.readings == 0:
        print(r.reason(), file=sys.stderr)
    if args.stats:
        print(r.summary(), file=sys.stderr)
    return 0 if r.readings else EXIT_NO_READING


def main(argv=None):
    try:
        status = run(argv)
    except UsageError as e:
        print("decode.py: %s" % e, file=sys.stderr)
        status = EXIT_USAGE
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # `decode.py ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main()
