#!/usr/bin/env python3
"""The virtual dongle: an ESP32 board made of MicroPython's unix port, with
a serial port (a pty) that real mpremote works on as it does on a board.

    python tools/vdongle.py --dir FOLDER [--link PATH] [--http-port N]
                            [--device-id ID] [--heapsize SIZE] [--host-dev]
                            [--frozen DIRS] [--echo]

FOLDER is the board's flash filesystem: the device's "/" (its /lib is
FOLDER/lib, on sys.path as on a board). The first stdout line is
"pty: /dev/pts/N"; --link PATH also makes PATH a symlink to it. Then:

    mpremote connect /dev/pts/N fs cp -r build/lib :
    mpremote connect /dev/pts/N fs cp build/main.py : + reset
    mpremote connect /dev/pts/N          (the REPL; Ctrl-C stops main.py)

Like a board it boots on start and after every reset: boot.py, then
main.py (main.py only when the REPL is in friendly mode: a soft reset in
the raw REPL, as mpremote does before each command, runs boot.py only).
Soft reset (Ctrl-D at ">>> ", mpremote soft-reset, sys.exit() at the REPL)
and hard reset (mpremote reset, machine.reset(), the firmware's
platform.reset(), i.e. SystemExit(75)) both start a new MicroPython
process, with HANPORT_RESET_CAUSE "soft" or "hard" ("power_on" at start).
main.py ending in an exception or another exit status, or MicroPython
dying, is reported on the port and rebooted 2 s later with
HANPORT_RESET_CAUSE "watchdog", as a board's watchdog would.

How: this process owns the pty and speaks the REPL (friendly REPL with line
editing, raw REPL, raw-paste with flow control) byte for byte as
MicroPython's pyexec does; code runs in tools/vdongle/agent.py, a
MicroPython process whose namespace persists between inputs until the next
reset. Ctrl-C reaches running code as SIGINT (KeyboardInterrupt); code that
ignores it for 3 s gets its MicroPython restarted, without main.py.
Console output goes to the port only while something has the pty open
(output with no USB host attached is lost, as on a board).

The parts, in tools/vdongle/: repl.py and readline.py (the REPL, a state
machine with no process and no port), board.py (the pty, the boots and
resets, the watchdog), process.py (one MicroPython process), agent.py and
modules/ (what runs under MicroPython).

Ctrl-C or SIGTERM stops the agent, removes the --link symlink and exits 0.

Not like a board: no `mpremote mount` (programs cannot read the console:
input() sees end of file); no machine.Pin/UART/WDT (the firmware's unix
platform stands in: dongle/platform/unix.py); `df` shows the PC's disk; a
reset is instant and prints no ROM bootloader text; no tab completion.
"""
import argparse
import os
import signal
import sys

# tools/ is sys.path[0]: `vdongle` is the package tools/vdongle/ (a folder
# with an __init__.py comes before this file of the same name).
from vdongle.board import Stop, VDongle
from vdongle.process import ROOT


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="the board's flash filesystem (the device's /)")
    ap.add_argument("--link", help="make this path a symlink to the pty (removed on exit)")
    ap.add_argument("--http-port", type=int, help="HANPORT_HTTP_PORT for the firmware")
    ap.add_argument("--device-id", help="HANPORT_DEVICE_ID (default: derived from the folder path)")
    ap.add_argument("--heapsize", help="MicroPython heap size, e.g. 200k (default: the unix port's)")
    ap.add_argument("--host-dev", action="store_true",
                    help="mount the host's /dev read-only at /dev (a meter on a real serial port)")
    ap.add_argument("--frozen", default=os.path.join(ROOT, ".venv", "mplib"),
                    help="':'-separated folders of modules the board's firmware has built in "
                         "(default: .venv/mplib, umqtt.simple as in stock ESP32 firmware)")
    ap.add_argument("--echo", action="store_true", help="also copy the console output to stdout")
    args = ap.parse_args(argv)

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    VDongle(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
