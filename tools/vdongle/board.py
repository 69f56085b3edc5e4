"""The virtual dongle's board: the serial port (a pty), the boots and resets,
the MicroPython process of each boot (process.Agent) and the watchdog. What
comes in on the port goes to the REPL (repl.Repl), and the board does what
the REPL's actions ask."""
import os
import select
import subprocess
import sys
import time
import tty

from .process import (DONE, ERROR, EXITED, INTERRUPTED, MACHINE_RESET, NO_FILE, OK, READY, ROOT,
                      RUN_FILE, RUN_KIND, Agent, micropython_exe)
from .repl import (FRIENDLY, INTERRUPT, OUTPUT, RUN, SEND, SOFT_RESET,
                   Repl, cook)

if os.path.join(ROOT, "firmware") not in sys.path:     # the virtual dongle's own platform module
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
from dongle.platform.unix import RESET_EXIT, device_id_of  # noqa: E402  (RESET_EXIT: exit status "reboot me")

CRASH_REBOOT_S = 2.0        # the watchdog's reboot after a crash
INTERRUPT_GRACE_S = 3.0     # Ctrl-C ignored this long: restart MicroPython
SECOND_CTRL_C_S = 0.5       # a Ctrl-C this long after the first one restarts at once
TXQ_HIGH = 4096             # port output not yet read: the program waits, as on a UART
POLL_S = 0.5
HOSTLESS_POLL_S = 0.05      # no one has the port open: watch for someone opening it
CHUNK = 65536               # the most read from the agent or written to the port at once
PORT_READ = 4096

STARTING, RUNNING, IDLE, CRASHED = "starting", "running", "idle", "crashed"
BOOT_PY, MAIN_PY = "boot.py", "main.py"


class Stop(Exception):
    """Raised (by a signal handler) to stop the board."""


def default_device_id(folder):
    """What dongle.platform.unix.unique_id() gives a process in FOLDER."""
    return device_id_of(os.path.realpath(folder))


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

        self.repl = Repl()
        self.agent = None
        self.phase = STARTING
        self.job = None              # what runs: BOOT_PY, MAIN_PY or the REPL's name
        self.steps = []              # the files this boot still runs
        self.interrupted = False     # Ctrl-C during this boot: no main.py
        self.reboot_at = None
        self.prev_cr = {"out": False, "err": False}

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
                n = os.write(self.master, self.txq[:CHUNK])
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
        self.repl.reset(hard)
        self.interrupted = interrupted
        self.reboot_at = None
        self.steps = [BOOT_PY] + ([MAIN_PY] if self.repl.mode == FRIENDLY else [])
        self.phase = STARTING
        self.job = None
        if cause != "soft":      # (mpremote soft-resets before every command)
            self.log("boot (%s)" % cause)
        self.agent = Agent(self.exe, self.folder, self.agent_env(cause), self.frozen,
                           self.host_dev, self.heapsize)

    def hard_reset(self):
        self.boot("hard", hard=True)

    def crash(self, why):
        self.stop_agent()
        self.repl.reset(hard=False)  # (gone with its MicroPython; the watchdog's boot is hard)
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
            self.run_job(name, RUN_FILE, name.encode())
        else:
            self.phase = IDLE
            self.job = None
            self.perform(self.repl.enter())

    def run_job(self, job, kind, body):
        self.phase = RUNNING
        self.job = job
        self.agent.send(kind, body)

    def perform(self, actions):
        """Do what the REPL asks (repl.py lists the actions)."""
        for action in actions:
            what = action[0]
            if what == SEND:
                self.tx(action[1])
            elif what == OUTPUT:
                self.device_out(action[1])
            elif what == RUN:
                _, name, mode, source = action
                self.run_job(name, RUN_KIND[mode], source)
            elif what == SOFT_RESET:
                self.boot("soft", hard=False)
            elif what == INTERRUPT:
                self.interrupt()

    # --- what the agent says --------------------------------------------

    def on_frame(self, kind, payload):
        if kind == READY:
            self.repl.banner = payload
            self.next_step()
        elif kind == MACHINE_RESET:
            self.log("machine.reset()")
            self.hard_reset()
        elif kind == DONE and self.phase == RUNNING:
            self.agent.sigint_at = None
            self.on_done(payload[:1], payload[1:])

    def on_done(self, status, text):
        job = self.job
        code = text.decode("utf-8", "replace") if status == EXITED else None
        if code == str(RESET_EXIT):
            self.log("%s: exit status %d: reboot" % (job, RESET_EXIT))
            self.tx(self.repl.abandon())
            self.hard_reset()
            return
        if job in (BOOT_PY, MAIN_PY):
            if status in (ERROR, INTERRUPTED):
                self.device_out(text)
            if job == MAIN_PY and status == ERROR:
                self.crash("main.py ended with an uncaught exception")
            elif job == MAIN_PY and status == EXITED and code not in ("None", "0"):
                self.crash("main.py exited with status %s" % code)
            else:
                if status not in (OK, NO_FILE):
                    self.steps = []  # boot.py failed: no main.py, as on a board
                self.next_step()
            return
        if status == EXITED:             # sys.exit() at the REPL: soft reboot
            self.perform(self.repl.exited())
            return
        self.phase = IDLE
        self.job = None
        self.perform(self.repl.finished(text if status in (ERROR, INTERRUPTED) else b""))

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
        # A byte at a time: a Ctrl-C may reboot the board, and the bytes
        # after it are the new boot's input.
        for i in range(len(data)):
            self.perform(self.repl.receive(data[i:i + 1]))

    def interrupt(self):
        """Ctrl-C while code runs (or the board boots)."""
        self.interrupted = True
        if self.phase == CRASHED:
            self.boot("watchdog", hard=True, interrupted=True)
        elif self.phase == RUNNING:
            self.txq.clear()         # the backlog of a chatty program: skip it
            if (self.agent.sigint_at is not None
                    and time.monotonic() - self.agent.sigint_at > SECOND_CTRL_C_S):
                self.force_restart()
            else:
                self.agent.interrupt()

    def force_restart(self):
        self.log("Ctrl-C ignored by the running program: restarting MicroPython")
        self.device_out(b"\nvdongle: Ctrl-C ignored; MicroPython restarted without main.py\n")
        self.boot("soft", hard=False, interrupted=True)

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
        timeout = POLL_S
        if self.reboot_at is not None:
            timeout = min(timeout, max(0.0, self.reboot_at - now))
        agent = self.agent
        if agent is not None and agent.sigint_at is not None:
            timeout = min(timeout, max(0.0, agent.sigint_at + INTERRUPT_GRACE_S - now))
        p = select.poll()
        if self.connected():
            p.register(self.master, select.POLLIN | (select.POLLOUT if self.txq else 0))
        else:
            self.txq.clear()
            timeout = min(timeout, HOSTLESS_POLL_S)
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
            return os.read(fd, CHUNK)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def read_port(self):
        while True:
            try:
                data = os.read(self.master, PORT_READ)
            except BlockingIOError:
                return
            except OSError:          # EIO: the other end closed the port
                self.txq.clear()
                return
            if not data:
                return
            self.on_input(data)
