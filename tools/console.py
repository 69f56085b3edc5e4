"""make restart: restart the dongle's firmware while attached to its console,
show how it starts (version, board, HTTP port, the serial setting it tries,
config problems, a setup-network password it makes), then detach and leave
it running. `make deploy` ends with this.

Any mpremote command (fs ls, exec, cp ...) enters the raw REPL, which stops
the running firmware until the next reset: this is how MicroPython works.
`make restart PORT=...` (or `mpremote connect PORT reset`) starts it again."""
import argparse
import sys
import time

DONE = b"http: listening on port"


def restart_and_show(port, seconds=12.0, out=None):
    """Ctrl-C (stop what runs), then a soft reset at the friendly prompt:
    boot.py and main.py run, and their first lines are printed. Returns
    what was shown."""
    from mpremote.transport_serial import SerialTransport
    out = out or sys.stdout
    t = SerialTransport(port, baudrate=115200)
    seen = b""
    try:
        t.enter_raw_repl(soft_reset=False)    # interrupts the firmware (Ctrl-C)
        t.exit_raw_repl()                     # the friendly REPL: a soft reset there runs main.py
        t.serial.write(b"\x04")
        end = time.time() + seconds
        done_at = None
        while time.time() < end and (done_at is None or time.time() < done_at):
            n = t.serial.in_waiting
            data = t.serial.read(n or 1) if n or t.serial.timeout else b""
            if not data:
                time.sleep(0.05)
                continue
            seen += data
            if done_at is None and DONE in seen:
                done_at = time.time() + 2.0        # a moment more: Wi-Fi, setup network
        text = seen.decode("utf-8", "replace").replace("\r\n", "\n")
        text = text.partition("soft reboot\n")[2] or text    # not the REPL's banner
        for line in text.splitlines():
            if line.strip() and not line.startswith(">>>"):
                print("  | " + line, file=out)
    finally:
        t.close()
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True)
    ap.add_argument("--seconds", type=float, default=12.0, help="show the start for at most this long")
    args = ap.parse_args()
    print("restart: soft reset on %s; its start:" % args.port)
    seen = restart_and_show(args.port, args.seconds)
    if DONE not in seen:
        print("restart: no \"http: listening\" line within %g s; `make monitor PORT=%s` shows more"
              % (args.seconds, args.port))
    print("restart: the firmware runs; `make monitor PORT=%s` attaches to its console" % args.port)


if __name__ == "__main__":
    main()
