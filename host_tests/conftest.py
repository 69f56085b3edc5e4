import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
for p in (ROOT / "lib", ROOT / "tools", ROOT / "host_tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# Property tests run the same examples every time (CI must not flake);
# HYPOTHESIS_PROFILE=explore searches afresh.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
