#!/usr/bin/env python3
"""The virtual dongle: an ESP32 board made of MicroPython's unix port, with
a serial port (a pty) that real mpremote works on as it does on a board.

    python tools/vdongle.py --dir FOLDER [--link PATH] [--http-port N]
                            [--device-id ID] [--heapsize SIZE] [--host-dev]
                            [--frozen DIRS] [--echo]

FOLDER is the board's flash filesystem: the device's "/" (its /lib is
FOLDER/lib, on sys.path as on a board). The first stdout line is
"pty: /dev/pts/N"; --link PATH also makes PATH a symlink to it. Then:

    mpremote connect /dev/pts/N fs cp -r build/lib :
    mpremote connect /dev/pts/N fs cp build/main.py : + reset
    mpremote connect /dev/pts/N          (the REPL; Ctrl-C stops main.py)

Like a board it boots on start and after every reset: boot.py, then
main.py (main.py only when the REPL is in friendly mode: a soft reset in
the raw REPL, as mpremote does before each command, runs boot.py only).
Soft reset (Ctrl-D at ">>> ", mpremote soft-reset, sys.exit() at the REPL)
and hard reset (mpremote reset, machine.reset(), the firmware's
platform.reset(), i.e. SystemExit(75)) both start a new MicroPython
process, with HANPORT_RESET_CAUSE "soft" or "hard" ("power_on" at start).
main.py ending in an exception or another exit status, or MicroPython
dying, is reported on the port and rebooted 2 s later with
HANPORT_RESET_CAUSE "watchdog", as a board's watchdog would.

How: this process owns the pty and speaks the REPL (friendly REPL with line
editing, raw REPL, raw-paste with flow control) byte for byte as
MicroPython's pyexec does; code runs in tools/vdongle_agent.py, a
MicroPython process whose namespace persists between inputs until the next
reset. Ctrl-C reaches running code as SIGINT (KeyboardInterrupt); code that
ignores it for 3 s gets its MicroPython restarted, without main.py.
Console output goes to the port only while something has the pty open
(output with no USB host attached is lost, as on a board).

Ctrl-C or SIGTERM stops the agent, removes the --link symlink and exits 0.

Not like a board: no `mpremote mount` (programs cannot read the console:
input() sees end of file); no machine.Pin/UART/WDT (the firmware's unix
platform stands in: dongle/platform/unix.py); `df` shows the PC's disk; a
reset is instant and prints no ROM bootloader text; no tab completion.
"""
import argparse
import fcntl
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
AGENT = os.path.join(HERE, "vdongle_agent.py")
MACHINE_DIR = os.path.join(HERE, "vdongle_machine")

RESET_EXIT = 75             # dongle.platform.unix: exit status meaning "reboot me"
CRASH_REBOOT_S = 2.0        # the watchdog's reboot after a crash
INTERRUPT_GRACE_S = 3.0     # Ctrl-C ignored this long: restart MicroPython
TXQ_HIGH = 4096             # port output not yet read: the program waits, as on a UART
PIPE_SIZE = 4096            # the agent's stdout pipe: a small buffer, as on a board
PASTE_BUFFER = 256          # MICROPY_REPL_STDIN_BUFFER_MAX: raw-paste window is half
HISTORY = 8                 # MICROPY_READLINE_HISTORY_SIZE
SOFT_REBOOT = b"MPY: soft reboot\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PS1, PS2 = b">>> ", b"... "

FRIENDLY, RAW = "friendly", "raw"
STARTING, RUNNING, IDLE, CRASHED = "starting", "running", "idle", "crashed"


class Stop(Exception):
    pass


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
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def default_device_id(folder):
    """What dongle.platform.unix.unique_id() gives a process in FOLDER."""
    h = 5381
    for c in os.path.realpath(folder):
        h = (h * 33 + ord(c)) & 0xFFFFFFFFFFFF
    return "%012x" % h


def cook(data, prev_cr):
    """A board's console sends "\\r\\n" for "\\n" (mp_hal_stdout_tx_strn_cooked)."""
    res = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if prev_cr and data.startswith(b"\n"):
        res = res[1:]
    return res, data.endswith(b"\r")


def continue_with_input(text):
    """py/repl.c mp_repl_continue_with_input: does the REPL want more lines?"""
    if not text:
        return False
    head = text.split("\n", 1)[0]
    word = ""
    for ch in head:
        if not (ch.isalnum() or ch == "_"):
            break
        word += ch
    compound = text[0] == "@" or word in ("if", "while", "for", "try", "with", "def", "class", "async")
    paren = brack = brace = 0
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            if quote in (None, ch * 3) and text[i + 1:i + 3] == ch * 2:
                i += 2
                quote = None if quote else ch * 3
            elif quote in (None, ch):
                quote = None if quote else ch
        elif ch == "\\" and text[i + 1:i + 2] in ("'", '"', "\\"):
            if quote:
                i += 1
        elif quote is None:
            if ch == "(":
                paren += 1
            elif ch == ")":
                paren -= 1
            elif ch == "[":
                brack += 1
            elif ch == "]":
                brack -= 1
            elif ch == "{":
                brace += 1
            elif ch == "}":
                brace -= 1
        i += 1
    if quote in ("'''", '"""'):
        return True
    if (paren > 0 or brack > 0 or brace > 0) and quote is None:
        return True
    if text.endswith("\\"):
        return True
    return compound and not text.endswith("\n")


class Agent:
    """One MicroPython process: one boot of the board."""

    def __init__(self, exe, folder, env, frozen, host_dev, heapsize):
        self.token = "\x1evdongle%s\x1f" % secrets.token_hex(8)
        tok = self.token.encode()
        self.tok = tok
        r, self.cmd_w = os.pipe()
        cmd = [exe]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        cmd += [AGENT, folder, str(r), self.token, MACHINE_DIR, frozen, "1" if host_dev else "0"]
        self.proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=(r,), start_new_session=True, bufsize=0,
                                     preexec_fn=die_with_parent)
        os.close(r)
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
        data = kind + b"%08x\n" % len(body) + body
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
        tok = self.tok
        while self.buf:
            i = self.buf.find(tok)
            if i < 0:
                keep = 0
                for k in range(min(len(tok) - 1, len(self.buf)), 0, -1):
                    if self.buf.endswith(tok[:k]):
                        keep = k
                        break
                if len(self.buf) > keep:
                    events.append(("out", self.buf[:len(self.buf) - keep]))
                    self.buf = self.buf[len(self.buf) - keep:]
                break
            if i:
                events.append(("out", self.buf[:i]))
                self.buf = self.buf[i:]
            head = len(tok) + 9
            if len(self.buf) < head:
                break
            n = int(self.buf[len(tok) + 1:head], 16)
            if len(self.buf) < head + n:
                break
            events.append(("frame", self.buf[len(tok):len(tok) + 1], self.buf[head:head + n]))
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


class VDongle:
    def __init__(self, args):
        self.folder = os.path.realpath(args.dir)
        if not os.path.exists(self.folder):
            os.makedirs(self.folder)         # a new board: an empty flash
        if not os.path.isdir(self.folder):
            sys.exit("vdongle: --dir %s is not a folder" % args.dir)
        self.link = args.link
        self.device_id = args.device_id or default_device_id(self.folder)
        self.http_port = args.http_port
        self.heapsize = args.heapsize
        self.host_dev = args.host_dev
        self.frozen = args.frozen
        self.echo = args.echo
        self.exe = micropython_exe()

        self.master, slave = os.openpty()
        tty.setraw(slave)            # no echo, no signals, no newline mangling
        self.pty_name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.txq = bytearray()
        self.was_connected = False

        self.agent = None
        self.phase = STARTING
        self.mode = FRIENDLY
        self.job = None
        self.steps = []
        self.interrupted = False
        self.reboot_at = None
        self.cause = "power_on"
        self.banner = b"MicroPython; virtual dongle"
        self.inbuf = bytearray()
        self.prev_cr = {"out": False, "err": False}
        # raw REPL
        self.raw_line = bytearray()
        self.paste = None            # [buffer, window_remain] in raw-paste mode
        # friendly REPL (shared/readline/readline.c, pyexec.c)
        self.line = bytearray()
        self.orig = 0
        self.cursor = 0
        self.esc = 0
        self.esc_digit = 0
        self.hist = []
        self.hist_i = -1
        self.cont = False
        self.fpaste = False

    # --- the serial port --------------------------------------------------

    def connected(self):
        p = select.poll()
        p.register(self.master, select.POLLIN)
        return not any(ev & select.POLLHUP for _, ev in p.poll(0))

    def tx(self, data):
        if not data:
            return
        if not self.connected():
            self.txq.clear()         # no USB host: the bytes are lost
            return
        self.txq += data
        self.flush_tx()

    def flush_tx(self):
        while self.txq:
            try:
                n = os.write(self.master, self.txq[:65536])
            except BlockingIOError:
                return
            except OSError:
                self.txq.clear()
                return
            del self.txq[:n]

    def device_out(self, data, stream="out"):
        """Output of the program on the board (cooked like a board's)."""
        data, self.prev_cr[stream] = cook(data, self.prev_cr[stream])
        self.tx(data)
        if self.echo:
            sys.stdout.buffer.write(data.replace(b"\r\n", b"\n"))
            sys.stdout.flush()

    def log(self, msg):
        sys.stderr.write("vdongle: %s\n" % msg)
        sys.stderr.flush()

    # --- boots and resets -----------------------------------------------

    def agent_env(self, cause):
        env = dict(os.environ)
        env["MICROPYPATH"] = ".frozen"
        env["HANPORT_DEVICE_ID"] = self.device_id
        env["HANPORT_RESET_CAUSE"] = cause
        if self.http_port:
            env["HANPORT_HTTP_PORT"] = str(self.http_port)
        return env

    def stop_agent(self):
        if self.agent is not None:
            self.agent.kill()
            self.agent = None

    def boot(self, cause, hard, interrupted=False):
        """Start a new MicroPython and run boot.py (and main.py)."""
        self.stop_agent()
        if hard:
            self.mode = FRIENDLY
            self.inbuf.clear()
        self.reset_repl_state()
        self.cause = cause
        self.interrupted = interrupted
        self.reboot_at = None
        self.steps = ["boot.py"] + (["main.py"] if self.mode == FRIENDLY else [])
        self.phase = STARTING
        self.job = None
        if cause != "soft":      # (mpremote soft-resets before every command)
            self.log("boot (%s)" % cause)
        self.agent = Agent(self.exe, self.folder, self.agent_env(cause), self.frozen,
                           self.host_dev, self.heapsize)

    def soft_reset(self):
        self.tx(SOFT_REBOOT)
        self.boot("soft", hard=False)

    def hard_reset(self):
        self.boot("hard", hard=True)

    def crash(self, why):
        self.stop_agent()
        self.log(why + "; rebooting in %g s" % CRASH_REBOOT_S)
        self.device_out(b"\nvdongle: %s; rebooting in %g s (watchdog)\n" % (why.encode(), CRASH_REBOOT_S))
        self.phase = CRASHED
        self.job = None
        self.reboot_at = time.monotonic() + CRASH_REBOOT_S

    def next_step(self):
        if self.interrupted:
            self.steps = []
        if self.steps:
            name = self.steps.pop(0)
            self.run_job(name, b"f", name.encode())
        else:
            self.enter_repl()

    def enter_repl(self):
        self.phase = IDLE
        self.job = None
        if self.mode == RAW:
            self.tx(RAW_BANNER + b">")
        else:
            self.tx(self.banner + b"\r\nType \"help()\" for more information.\r\n")
            self.input_restart()
        self.process_input()

    def run_job(self, job, kind, body):
        self.phase = RUNNING
        self.job = job
        self.agent.send(kind, body)

    # --- what the agent says --------------------------------------------

    def on_frame(self, kind, payload):
        if kind == b"R":
            self.banner = payload
            self.next_step()
        elif kind == b"H":
            self.log("machine.reset()")
            self.hard_reset()
        elif kind == b"D" and self.phase == RUNNING:
            self.agent.sigint_at = None
            self.on_done(payload[:1], payload[1:])

    def on_done(self, status, text):
        job = self.job
        code = text.decode("utf-8", "replace") if status == b"X" else None
        if code == str(RESET_EXIT):
            self.log("%s: exit status %d: reboot" % (job, RESET_EXIT))
            if job in ("raw", "paste"):
                self.tx(b"\x04\x04")
            self.hard_reset()
            return
        if job in ("boot.py", "main.py"):
            if status in (b"E", b"K"):
                self.device_out(text)
            if job == "main.py" and status == b"E":
                self.crash("main.py ended with an uncaught exception")
            elif job == "main.py" and status == b"X" and code not in ("None", "0"):
                self.crash("main.py exited with status %s" % code)
            else:
                if status not in (b"0", b"M"):
                    self.steps = []  # boot.py failed: no main.py, as on a board
                self.next_step()
            return
        if status == b"X":               # sys.exit() at the REPL: soft reboot
            if job in ("raw", "paste"):
                self.tx(b"\x04\x04")
            self.soft_reset()
            return
        self.phase = IDLE
        self.job = None
        if job in ("raw", "paste"):
            err = cook(text, False)[0] if status in (b"E", b"K") else b""
            self.tx(b"\x04" + err + b"\x04>")
        else:
            if status in (b"E", b"K"):
                self.device_out(text)
            self.input_restart()
        self.process_input()

    def on_agent_exit(self):
        agent = self.agent
        try:
            rc = agent.proc.wait(2)
        except subprocess.TimeoutExpired:
            agent.proc.kill()
            rc = agent.proc.wait()
        self.agent = None
        agent.kill()
        if rc == RESET_EXIT:
            self.hard_reset()
        elif rc < 0:
            self.crash("MicroPython died of signal %d" % -rc)
        else:
            self.crash("MicroPython exited with status %d" % rc)

    # --- what comes in on the port ----------------------------------------

    def on_input(self, data):
        for b in data:
            if b == 3 and self.phase != IDLE:
                self.interrupt()
            else:
                self.inbuf.append(b)
                if self.phase == IDLE:
                    self.process_input()

    def interrupt(self):
        """Ctrl-C while code runs (or the board boots)."""
        self.interrupted = True
        if self.phase == CRASHED:
            self.boot("watchdog", hard=True, interrupted=True)
        elif self.phase == RUNNING:
            self.txq.clear()         # the backlog of a chatty program: skip it
            if self.agent.sigint_at is not None and time.monotonic() - self.agent.sigint_at > 0.5:
                self.force_restart()
            else:
                self.agent.interrupt()

    def force_restart(self):
        self.log("Ctrl-C ignored by the running program: restarting MicroPython")
        self.device_out(b"\nvdongle: Ctrl-C ignored; MicroPython restarted without main.py\n")
        self.boot("soft", hard=False, interrupted=True)

    def process_input(self):
        buf = self.inbuf
        i = 0
        while i < len(buf) and self.phase == IDLE:
            c = buf[i]
            i += 1
            if self.mode == RAW:
                self.raw_char(c)
            else:
                self.friendly_char(c)
        del buf[:i]                  # (a hard reset may have emptied it already)

    # --- raw REPL (pyexec_raw_repl) ---------------------------------------

    def raw_char(self, c):
        if self.paste is not None:
            buf = self.paste[0]
            if c == 4:
                self.paste = None
                self.tx(b"\x04")
                self.run_job("paste", b"x", bytes(buf))
            elif c == 3:
                self.paste = None
                self.tx(b"\x04\x04KeyboardInterrupt: \r\n\x04>")
            else:
                buf.append(c)
                self.paste[1] -= 1
                if self.paste[1] == 0:
                    self.paste[1] = PASTE_BUFFER // 2
                    self.tx(b"\x01")
            return
        line = self.raw_line
        if c == 1:
            if len(line) == 2 and line[0] == 5:
                self.raw_line = bytearray()
                if line[1] == ord("A"):
                    window = PASTE_BUFFER // 2
                    self.tx(b"R\x01" + bytes((window & 0xFF, window >> 8, 1)))
                    self.paste = [bytearray(), window]
                else:
                    self.tx(b"R\x00>")
                return
            self.raw_line = bytearray()
            self.tx(RAW_BANNER + b">")
        elif c == 2:
            self.raw_line = bytearray()
            self.mode = FRIENDLY
            self.tx(b"\r\n" + self.banner + b"\r\nType \"help()\" for more information.\r\n")
            self.input_restart()
        elif c == 3:
            self.raw_line = bytearray()
        elif c == 4:
            self.tx(b"OK")
            self.raw_line = bytearray()
            if not line:
                self.tx(b"\r\n")
                self.soft_reset()
            else:
                self.run_job("raw", b"x", bytes(line))
        else:
            line.append(c)

    # --- friendly REPL (pyexec_friendly_repl + readline) -------------------

    def input_restart(self):
        self.line = bytearray()
        self.cont = False
        self.fpaste = False
        self.readline_init(PS1)

    def reset_repl_state(self):
        self.raw_line = bytearray()
        self.paste = None
        self.line = bytearray()
        self.cont = False
        self.fpaste = False
        self.esc = 0

    def readline_init(self, prompt):
        self.orig = self.cursor = len(self.line)
        self.esc = 0
        self.hist_i = -1
        self.tx(prompt)

    def note_newline(self, prompt):
        self.readline_init(prompt)
        self.auto_indent()

    def auto_indent(self):
        line = self.line
        if len(line) > 1 and line[-1] == 10:
            i = len(line) - 1
            while i > 0 and line[i - 1] != 10:
                i -= 1
            j = i
            while j < len(line) and line[j] == 32:
                j += 1
            if i > 0 and j + 1 == len(line):
                k = i - 1
                while k > 0:
                    if line[k - 1] == 10:
                        return       # the last 2 lines are blank: no indent
                    if line[k - 1] != 32:
                        break
                    k -= 1
            n = (j - i) // 4
            if line[-2] == ord(":"):
                n += 1
            if n > 0:
                self.insert(b"    " * n)

    def insert(self, s):
        tail = bytes(self.line[self.cursor:])
        self.line[self.cursor:self.cursor] = s
        self.cursor += len(s)
        self.tx(bytes(s) + tail + b"\b" * len(tail))

    def backspace(self, n):
        tail = bytes(self.line[self.cursor:])
        del self.line[self.cursor - n:self.cursor]
        self.cursor -= n
        self.tx(b"\b" * n + tail + b" " * n + b"\b" * (len(tail) + n))

    def delete(self):
        if self.cursor < len(self.line):
            del self.line[self.cursor]
            tail = bytes(self.line[self.cursor:])
            self.tx(tail + b" " + b"\b" * (len(tail) + 1))

    def move_to(self, pos):
        if pos < self.cursor:
            self.tx(b"\b" * (self.cursor - pos))
        elif pos > self.cursor:
            self.tx(bytes(self.line[self.cursor:pos]))
        self.cursor = pos

    def history(self, step):
        i = self.hist_i + step
        if i < -1 or i >= len(self.hist):
            return
        self.hist_i = i
        new = self.hist[i] if i >= 0 else b""
        self.move_to(self.orig)
        old = len(self.line) - self.orig
        del self.line[self.orig:]
        self.line += new
        self.cursor = len(self.line)
        pad = max(0, old - len(new))
        self.tx(new + b" " * pad + b"\b" * pad)

    def readline_char(self, c):
        """shared/readline: None while editing, else 0 (Enter) or a control key."""
        if self.esc == 1:
            self.esc = 2 if c == ord("[") else 3 if c == ord("O") else 0
            return None
        if self.esc == 2:
            self.esc = 0
            if ord("0") <= c <= ord("9"):
                self.esc_digit = c
                self.esc = 4
            elif c == ord("A"):
                self.history(1)
            elif c == ord("B"):
                self.history(-1)
            elif c == ord("C"):
                self.move_to(min(self.cursor + 1, len(self.line)))
            elif c == ord("D"):
                self.move_to(max(self.cursor - 1, self.orig))
            elif c == ord("H"):
                self.move_to(self.orig)
            elif c == ord("F"):
                self.move_to(len(self.line))
            return None
        if self.esc == 3:
            self.esc = 0
            if c == ord("H"):
                self.move_to(self.orig)
            elif c == ord("F"):
                self.move_to(len(self.line))
            return None
        if self.esc == 4:
            self.esc = 0
            if c == ord("~"):
                if self.esc_digit in (ord("1"), ord("7")):
                    self.move_to(self.orig)
                elif self.esc_digit in (ord("4"), ord("8")):
                    self.move_to(len(self.line))
                elif self.esc_digit == ord("3"):
                    self.delete()
            return None
        if 1 <= c <= 5 and len(self.line) == self.orig:
            return c
        if c == 1:
            self.move_to(self.orig)
        elif c == 2:
            self.move_to(max(self.cursor - 1, self.orig))
        elif c == 3:
            return 3
        elif c == 4:
            self.delete()
        elif c == 5:
            self.move_to(len(self.line))
        elif c == 13:
            self.tx(b"\r\n")
            entry = bytes(self.line[self.orig:])
            if entry.strip() and (not self.hist or self.hist[0] != entry):
                self.hist.insert(0, entry)
                del self.hist[HISTORY:]
            return 0
        elif c == 27:
            self.esc = 1
        elif c in (8, 127):
            if self.cursor > self.orig:
                before = self.line[self.orig:self.cursor]
                n = 4 if len(before) >= 4 and before.count(b" ") == len(before) else 1
                self.backspace(n)
        elif c == 9:
            if self.cursor > 0 and self.line[self.cursor - 1] in b" \n":
                self.insert(b"    ")   # indent; no completion of names here
        elif c >= 32:
            self.insert(bytes((c,)))
        return None

    def friendly_char(self, c):
        if self.fpaste:
            if c == 3:
                self.tx(b"\r\n")
                self.input_restart()
            elif c == 4:
                self.tx(b"\r\n")
                src = bytes(self.line).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                self.fpaste = False
                self.run_job("friendly", b"x", src)
            else:
                self.line.append(c)
                self.tx(b"\r\n=== " if c == 13 else bytes((c,)))
            return
        ret = self.readline_char(c)
        if ret is None:
            return
        if not self.cont:
            if ret == 1:
                self.mode = RAW
                self.tx(b"\r\n" + RAW_BANNER + b">")
                self.raw_line = bytearray()
                return
            if ret == 2:
                self.tx(b"\r\n" + self.banner + b"\r\nType \"help()\" for more information.\r\n")
                self.input_restart()
                return
            if ret == 3:
                self.tx(b"\r\n")
                self.input_restart()
                return
            if ret == 4:
                self.tx(b"\r\n")
                self.soft_reset()
                return
            if ret == 5:
                self.tx(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
                self.line = bytearray()
                self.fpaste = True
                return
            if not self.line:
                self.input_restart()
                return
            if continue_with_input(self.line.decode("utf-8", "replace")):
                self.line.append(10)
                self.cont = True
                self.note_newline(PS2)
                return
        else:
            if ret == 3:
                self.tx(b"\r\n")
                self.input_restart()
                return
            if ret != 4:
                if ret != 0:
                    return
                if continue_with_input(self.line.decode("utf-8", "replace")):
                    self.line.append(10)
                    self.note_newline(PS2)
                    return
        src = bytes(self.line)
        self.line = bytearray()
        self.cont = False
        self.run_job("friendly", b"s", src)

    # --- the loop -------------------------------------------------------

    def run(self):
        if self.link:
            if os.path.islink(self.link):
                os.unlink(self.link)
            elif os.path.exists(self.link):
                sys.exit("vdongle: --link %s exists and is not a symlink" % self.link)
            os.symlink(self.pty_name, self.link)
        sys.stdout.write("pty: %s\n" % self.pty_name)
        sys.stdout.flush()
        self.log("%s: folder %s, device id %s%s" % (
            self.pty_name, self.folder, self.device_id,
            ", link " + self.link if self.link else ""))
        try:
            self.boot("power_on", hard=True)
            while True:
                self.step()
        except Stop:
            pass
        finally:
            self.stop_agent()
            if self.link and os.path.islink(self.link) and os.readlink(self.link) == self.pty_name:
                os.unlink(self.link)
            os.close(self.master)

    def step(self):
        now = time.monotonic()
        timeout = 0.5
        if self.reboot_at is not None:
            timeout = min(timeout, max(0.0, self.reboot_at - now))
        agent = self.agent
        if agent is not None and agent.sigint_at is not None:
            timeout = min(timeout, max(0.0, agent.sigint_at + INTERRUPT_GRACE_S - now))
        p = select.poll()
        up = self.connected()
        if up:
            p.register(self.master, select.POLLIN | (select.POLLOUT if self.txq else 0))
        else:
            self.txq.clear()
            timeout = min(timeout, 0.05)     # watch for someone opening the port
        if agent is not None and len(self.txq) < TXQ_HIGH:
            if agent.out_open:
                p.register(agent.out, select.POLLIN)
            if agent.err_open:
                p.register(agent.err, select.POLLIN)
        events = p.poll(timeout * 1000)
        for fd, ev in events:
            if fd == self.master:
                if ev & select.POLLOUT:
                    self.flush_tx()
                if ev & (select.POLLIN | select.POLLHUP):
                    self.read_port()
        for fd, ev in events:
            if agent is None or agent is not self.agent:
                break
            if fd == agent.err:
                data = self.read_fd(fd)
                if data:
                    self.device_out(data, "err")
                elif data is not None:
                    agent.err_open = False
            elif fd == agent.out:
                data = self.read_fd(fd)
                if data:
                    for event in agent.parse(data):
                        if agent is not self.agent:
                            break
                        if event[0] == "out":
                            self.device_out(event[1])
                        else:
                            self.on_frame(event[1], event[2])
                elif data is not None:
                    agent.out_open = False
                    self.on_agent_exit()
        now = time.monotonic()
        if self.reboot_at is not None and now >= self.reboot_at:
            self.boot("watchdog", hard=True)
        agent = self.agent
        if (agent is not None and agent.sigint_at is not None and self.phase == RUNNING
                and now - agent.sigint_at >= INTERRUPT_GRACE_S):
            self.force_restart()

    def read_fd(self, fd):
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def read_port(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                return
            except OSError:          # EIO: the other end closed the port
                self.txq.clear()
                return
            if not data:
                return
            self.on_input(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="the board's flash filesystem (the device's /)")
    ap.add_argument("--link", help="make this path a symlink to the pty (removed on exit)")
    ap.add_argument("--http-port", type=int, help="HANPORT_HTTP_PORT for the firmware")
    ap.add_argument("--device-id", help="HANPORT_DEVICE_ID (default: derived from the folder path)")
    ap.add_argument("--heapsize", help="MicroPython heap size, e.g. 200k (default: the unix port's)")
    ap.add_argument("--host-dev", action="store_true",
                    help="mount the host's /dev read-only at /dev (a meter on a real serial port)")
    ap.add_argument("--frozen", default=os.path.join(ROOT, ".venv", "mplib"),
                    help="':'-separated folders of modules the board's firmware has built in "
                         "(default: .venv/mplib, umqtt.simple as in stock ESP32 firmware)")
    ap.add_argument("--echo", action="store_true", help="also copy the console output to stdout")
    args = ap.parse_args(argv)

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    VDongle(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
