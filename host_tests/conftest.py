import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
for p in (ROOT / "lib", ROOT / "tools", ROOT / "host_tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
