"""The soak's command line (python tools/soak.py)."""
import argparse
import json
import os
import sys

from testkit import rig
from testkit.constants import HEAP

from . import __doc__ as USAGE
from .clients import ALLOWED, BURST, PATHS
from .model import RATE
from .run import Soak


def main(argv=None):
    ap = argparse.ArgumentParser(description=USAGE.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meter", choices=sorted(HEAP), default="p1")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated meter hours (default 24)")
    ap.add_argument("--speed", type=float, default=None,
                    help="meter time / wall time (default: %d messages a second: P1 %gx)" % (RATE, RATE * 10))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--event-every", type=float, default=30.0, metavar="S",
                    help="a broker restart, line cut or reboot every S wall seconds (default 30)")
    ap.add_argument("--reboot-every", type=int, default=8, metavar="N",
                    help="every Nth event is a deliberate reboot (0: none; default 8)")
    ap.add_argument("--burst-every", type=float, default=20.0, metavar="S",
                    help="%d HTTP connections at once every S wall seconds (0: none)" % BURST)
    ap.add_argument("--heap", type=int, metavar="BYTES",
                    help="the firmware's heap (default: the budget, P1 %d, DLMS %d)" % (HEAP["p1"], HEAP["aidon"]))
    ap.add_argument("--clients", default=",".join(ALLOWED), metavar="KINDS",
                    help="HTTP clients to run (default all: %(default)s)")
    ap.add_argument("--paths", default=",".join(PATHS), help="what the %d at once ask for" % BURST)
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, flash)")
    args = ap.parse_args(argv)
    if args.hours <= 0 or (args.speed is not None and args.speed <= 0):
        ap.error("--hours and --speed must be positive")
    if rig.mosquitto() is None:
        print("soak: mosquitto is needed (apt-get install mosquitto)", file=sys.stderr)
        return 2
    s = Soak(args.meter, args.hours, args.speed, args.seed, args.event_every, args.reboot_every,
             args.burst_every, workdir=args.keep, out=lambda m: print(m, flush=True), heap=args.heap,
             clients=args.clients.split(","), paths=args.paths.split(","))
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    print("soak: %s meter, %g simulated hours at %gx: about %.0f s wall" % (
        s.make, s.hours, s.speed, s.duration), flush=True)
    s.run()
    if not hasattr(s, "got"):
        print("RESULT: FAIL\n  " + "\n  ".join(s.failures))
        return 1
    print(s.table())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s.figures(), f, indent=1, default=str)
    return 1 if s.failures else 0


if __name__ == "__main__":
    sys.exit(main())
