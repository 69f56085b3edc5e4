"""The soak's command (make soak); the code is the package soak/ next to
this file (Python imports the package, not this script, as soak):

    .venv/bin/python tools/soak.py --hours 2 --meter aidon
    .venv/bin/python tools/soak.py --help
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))

from soak.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
