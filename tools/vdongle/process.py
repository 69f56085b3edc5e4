"""The host's end of one MicroPython process (one boot of the board): it
starts agent.py under the unix port, sends it commands and splits its stdout
into the program's output and the agent's frames (the protocol is described
at the top of agent.py)."""
import fcntl
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AGENT = os.path.join(HERE, "agent.py")
MODULES_DIR = os.path.join(HERE, "modules")

# The protocol (agent.py): the commands (run a file, exec a block, one
# single-mode REPL input), the frames and the statuses of a run.
RUN_FILE = b"f"
RUN_KIND = {"exec": b"x", "single": b"s"}
READY, DONE, MACHINE_RESET = b"R", b"D", b"H"
OK, ERROR, INTERRUPTED, EXITED, NO_FILE = b"0", b"E", b"K", b"X", b"M"
LENGTH_DIGITS = 8           # a frame's or a command's length, in hex

PIPE_SIZE = 4096            # the agent's stdout pipe: a small buffer, as on a board
PR_SET_PDEATHSIG = 1        # prctl(2)


def micropython_exe():
    for exe in (os.path.join(os.path.dirname(sys.executable), "micropython"),
                os.path.join(ROOT, ".venv", "bin", "micropython")):
        if os.path.exists(exe):
            return exe
    exe = shutil.which("micropython")
    if exe is None:
        sys.exit("vdongle: micropython (unix port) not found: run `make venv`")
    return exe


def die_with_parent():
    """In the agent, before exec: SIGKILL when vdongle dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class Agent:
    def __init__(self, exe, folder, env, frozen, host_dev, heapsize):
        self.token = ("\x1evdongle%s\x1f" % secrets.token_hex(8)).encode()
        cmd_r, self.cmd_w = os.pipe()
        cmd = [exe]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        cmd += [AGENT, folder, str(cmd_r), self.token.decode(), MODULES_DIR, frozen,
                "1" if host_dev else "0"]
        self.proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=(cmd_r,), start_new_session=True, bufsize=0,
                                     preexec_fn=die_with_parent)
        os.close(cmd_r)
        self.out = self.proc.stdout.fileno()
        self.err = self.proc.stderr.fileno()
        for fd in (self.out, self.err):
            os.set_blocking(fd, False)
            try:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except (OSError, AttributeError):
                pass
        self.buf = b""
        self.out_open = self.err_open = True
        self.sigint_at = None

    def send(self, kind, body=b""):
        data = kind + b"%0*x\n" % (LENGTH_DIGITS, len(body)) + body
        try:
            while data:
                n = os.write(self.cmd_w, data)
                data = data[n:]
        except OSError:
            pass             # it died: its stdout EOF says so

    def parse(self, data):
        """Split stdout into ("out", bytes) and ("frame", kind, payload)."""
        self.buf += data
        events = []
        token = self.token
        while self.buf:
            i = self.buf.find(token)
            if i < 0:
                keep = 0     # the end may be the start of a token
                for k in range(min(len(token) - 1, len(self.buf)), 0, -1):
                    if self.buf.endswith(token[:k]):
                        keep = k
                        break
                if len(self.buf) > keep:
                    events.append(("out", self.buf[:len(self.buf) - keep]))
                    self.buf = self.buf[len(self.buf) - keep:]
                break
            if i:
                events.append(("out", self.buf[:i]))
                self.buf = self.buf[i:]
            head = len(token) + 1 + LENGTH_DIGITS
            if len(self.buf) < head:
                break
            n = int(self.buf[len(token) + 1:head], 16)
            if len(self.buf) < head + n:
                break
            events.append(("frame", self.buf[len(token):len(token) + 1], self.buf[head:head + n]))
            self.buf = self.buf[head + n:]
        return events

    def interrupt(self):
        if self.sigint_at is None:
            self.sigint_at = time.monotonic()
            try:
                self.proc.send_signal(signal.SIGINT)
            except OSError:
                pass

    def kill(self):
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        try:
            os.close(self.cmd_w)
        except OSError:
            pass
