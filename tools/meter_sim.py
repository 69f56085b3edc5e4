"""The meter simulator's command; the code is the package meter_sim/ next
to this file (Python imports the package, not this script, as meter_sim):

    .venv/bin/python tools/meter_sim.py aidon --tcp 7000 --speed 10
    .venv/bin/python tools/meter_sim.py --help
"""
import sys

from meter_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
