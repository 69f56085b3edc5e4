"""python tools/soak: the command line (cli.py)."""
import pathlib
import sys

TOOLS = pathlib.Path(__file__).resolve().parents[1]
for _p in (TOOLS.parent / "lib", TOOLS):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from soak.cli import main  # noqa: E402

sys.exit(main())
