"""Code that runs only on the board, checked on the PC.

mypy (pinned in requirements.txt) checks the modules a board imports
(mypy.ini: firmware/dongle with platform/esp32.py, lib/hanport less its
CPython-only modules) against micropython-esp32-stubs, MicroPython 1.28's
ESP32 API: a wrong name or argument of machine, network, esp32 or ntptime
fails here instead of on a dongle. The check is shown to bite on a snippet
with such mistakes. No board code assumes the RTC's epoch."""
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from testkit.mpy import ROOT

STUBS = ("micropython-stdlib-stubs", "micropython-esp32-stubs")


@pytest.fixture(scope="module")
def typeshed(tmp_path_factory):
    """The stubs laid out as a typeshed (--custom-typeshed-dir): stdlib/ is
    micropython-stdlib-stubs' MicroPython standard library, and the ESP32
    modules (machine, network, esp32, ntptime, time...) join it, listed in
    stdlib/VERSIONS. mypy then checks against MicroPython's library, not
    CPython's, and reports no errors inside the stubs themselves."""
    root = tmp_path_factory.mktemp("typeshed")
    added = set()
    for name in STUBS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail("%s is not installed: run `make test` (requirements.txt pins it)" % name)
        for f in dist.files:
            if "__pycache__" in f.parts or f.parts[0].endswith(".dist-info"):
                continue
            if f.suffix not in (".pyi", ".py") and f.name != "VERSIONS":
                continue
            parts = f.parts
            if parts[0] not in ("stdlib", "stubs"):     # a module of the board's
                parts = ("stdlib",) + parts
                added.add(parts[1].split(".")[0])
            target = root.joinpath(*parts)
            if target.suffix == ".py":                  # (_mpy_shed has a few)
                target = target.with_suffix(".pyi")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.locate(), target)
    versions = root / "stdlib" / "VERSIONS"
    assert versions.exists(), "micropython-stdlib-stubs has no stdlib/VERSIONS"
    listed = {line.split(":")[0].strip() for line in versions.read_text().splitlines() if ":" in line}
    with versions.open("a") as f:
        for name in sorted(added - listed):
            f.write("%s: 3.0-\n" % name)
    assert {"machine", "network", "esp32", "ntptime", "time"} <= added
    return root


def mypy(typeshed, tmp_path, *files):
    """mypy with mypy.ini and the stubs; returns (exit code, output)."""
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini"),
           "--custom-typeshed-dir", str(typeshed), "--cache-dir", str(tmp_path / "cache"),
           "--no-color-output", "--no-error-summary", "--show-error-codes"]
    env = dict(os.environ)
    env.pop("MYPYPATH", None)
    p = subprocess.run(cmd + [str(f) for f in files], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def test_board_modules_type_check(typeshed, tmp_path):
    code, out = mypy(typeshed, tmp_path)
    assert code == 0 and "error" not in out, "mypy over the board's modules (mypy.ini):\n" + out


BAD = '''\
import esp32
import machine
import network
import ntptime


def meter(invert):                                  # untyped, as the firmware is
    machine.UART(2, baudrate=2400, bits=8, parity=0, stop=1, tx=17, rx=16, rxbuf=2048,
                 timeout=0, timeout_char=0, invert=machine.UART.INV_RX if invert else 0)
    machine.UART(1, baudrate=9600, invert=machine.UART.INV_NOPE)         # BAD
    machine.UART(1, baudrate=9600, rxbuff=2048)                          # BAD
    u = machine.UART(1, baudrate=9600, tx=17, rx=16)
    u.init(baudrate=2400, partiy=0)                                      # BAD
    machine.Pin(5, machine.Pin.OUT, value=1)
    machine.Pin(5, machine.Pin.OUTPUT)                                   # BAD
    machine.WDT(timeout=30000).feed()
    machine.WDT(timeout_ms=30000)                                        # BAD
    return machine.reset_causes()                                        # BAD


def wifi():
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    sta.connect("ssid", "password")
    network.WLAN(network.STA_IF).connectt()                              # BAD
    ap = network.WLAN(network.AP_IF)
    ap.config(essid="x", password="12345678", authmode=network.AUTH_WPA2_PSK)
    ap.config(authmode=network.AUTH_WPA9)                                # BAD
    ntptime.host = "pool.ntp.org"
    ntptime.settime()
    ntptime.settime("pool.ntp.org")                                      # BAD
    esp32.raw_temperature_c()                                            # BAD
'''


def test_check_catches_wrong_board_api(typeshed, tmp_path):
    """The same configuration reports every wrong use of machine, network,
    ntptime and esp32 in a function without annotations, and nothing on the
    right ones: the check above is not vacuous."""
    src = tmp_path / "bad_board.py"
    src.write_text(BAD)
    code, out = mypy(typeshed, tmp_path, src)
    assert code == 1, out
    flagged = {int(m) for m in re.findall(r"bad_board\.py:(\d+): error:", out)}
    bad = {i for i, line in enumerate(BAD.splitlines(), 1) if line.endswith("# BAD")}
    assert len(bad) == 10
    assert flagged == bad, "mypy flagged lines %s, the wrong ones are %s:\n%s" % (
        sorted(flagged), sorted(bad), out)


def test_no_epoch_constant_in_board_code():
    """Nothing that runs on the board assumes the epoch (2000-01-01 is
    946684800 s after 1970-01-01)."""
    found = []
    for folder in (ROOT / "firmware", ROOT / "lib"):
        for path in folder.rglob("*.py"):
            if "946684800" in path.read_text():
                found.append(str(path.relative_to(ROOT)))
    assert found == []


def test_mypy_ini_names_the_board_modules():
    """mypy.ini's files and exclusions cover what the bundle gives a board
    (tools/build.py compiles every .py of lib/hanport and firmware/dongle):
    only CPython-only modules and the unix platform are left out."""
    ini = (ROOT / "mypy.ini").read_text()
    exclude = re.search(r"^exclude = (.+)$", ini, re.M).group(1)
    left_out = sorted(str(p.relative_to(ROOT)) for d in ("firmware/dongle", "lib/hanport")
                      for p in (ROOT / d).rglob("*.py") if re.search(exclude, p.as_posix()))
    assert left_out == ["firmware/dongle/platform/unix.py", "lib/hanport/aes_cpython.py",
                        "lib/hanport/axdr_cpython.py", "lib/hanport/jsonout_cpython.py", "lib/hanport/loops_cpython.py",
                        "lib/hanport/p1_fast.py"], textwrap.shorten(str(left_out), 300)
