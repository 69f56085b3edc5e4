# The MicroPython half of the virtual dongle (process.py runs this under
# the unix port, one process per boot). It is the board's
# interpreter: it runs boot.py, main.py and every REPL input in one
# namespace, the way pyexec does on an ESP32. The host owns the serial port
# (a pty, board.py) and the REPL protocol (repl.py); this side only executes.
#
#   argv: FOLDER CMD_FD TOKEN MODULES_DIR FROZEN_DIRS HOST_DEV
#   FOLDER becomes "/" (a VfsPosix mount), so sys.path is the board's
#   ['', '.frozen', '/lib'] and "/main.py" is FOLDER/main.py.
#
# Host -> agent, on CMD_FD: kind (1 byte) + body length (8 hex digits) +
# "\n" + body. Kinds: "x" exec a file-mode block (raw REPL), "s" one
# single-mode input (friendly REPL: expressions print), "f" run the file
# named by the body (boot.py, main.py) if it exists.
#
# Agent -> host, in band on stdout (program output goes there unchanged):
# TOKEN + kind + length (8 hex) + payload. "R" ready (payload: the banner),
# "D" done (payload: status byte + text), "H" machine.reset() was called.
# Status: "0" ok, "E" exception (text: traceback), "K" KeyboardInterrupt
# (traceback), "X" SystemExit (text: the exit code), "M" no such file.
import io
import sys

AGENT = sys.argv[0]
FOLDER, CMD_FD, TOKEN, MODULES_DIR, FROZEN, HOST_DEV = sys.argv[1:7]
TOKEN = TOKEN.encode()
out = sys.stdout.buffer


def frame(kind, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    out.write(TOKEN + kind + ("%08x" % len(payload)).encode() + payload)


def hard_reset():
    # machine.reset(): the host kills this process and boots a new one.
    frame(b"H")
    import time
    while True:
        time.sleep(1)


# The board's `machine` (the unix port's plus reset() and friends) and `os`
# (ilistdir with file sizes, as littlefs gives): modules/, next to this file.
sys.path.insert(0, MODULES_DIR)
import os  # noqa: E402
import machine  # noqa: E402
machine._vdongle_reset = hard_reset
sys.path.pop(0)

# What a stock ESP32 image has frozen in (umqtt.simple): imported now,
# from the host, so it stays importable from sys.modules like a frozen
# module, with no file on the dongle's filesystem.
for d in FROZEN.split(":"):
    if not d:
        continue
    sys.path.insert(0, d)
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = os.listdir(d + "/" + rel if rel else d)
        except OSError:
            continue
        for name in sorted(entries):
            path = (rel + "/" + name) if rel else name
            if name.endswith(".py") or name.endswith(".mpy"):
                mod = path.rsplit(".", 1)[0].replace("/", ".")
                if mod.endswith(".__init__"):
                    mod = mod[:-9]
                try:
                    __import__(mod)
                except Exception as e:  # noqa: BLE001
                    sys.stderr.write("vdongle: frozen %s: %r\n" % (mod, e))
            elif "." not in name:
                stack.append(path)
    sys.path.pop(0)

# The flash filesystem: FOLDER is "/".
os.umount("/")
os.mount(os.VfsPosix(FOLDER), "/")
if HOST_DEV == "1":
    os.mount(os.VfsPosix("/dev"), "/dev", readonly=True)
os.chdir("/")
sys.path[:] = ["", ".frozen", "/lib"]

cmd_in = open(int(CMD_FD), "rb")
ns = {"__name__": "__main__"}


def traceback_text(e):
    s = io.StringIO()
    sys.print_exception(e, s)
    # Drop this file's frames: a board's traceback starts at the user's code.
    key = '  File "%s"' % AGENT
    return "".join(line + "\n" for line in s.getvalue().split("\n")
                   if line and not line.startswith(key))


def execute(kind, body):
    try:
        if kind == b"f":
            name = body.decode()
            try:
                with open(name) as f:
                    src = f.read()
            except OSError:
                return b"M"
            ns["__file__"] = name
            exec(compile(src, name, "exec"), ns)
        elif b"class RemoteCommand" in body:
            # `mpremote mount`: its RemoteFS talks over the console's stdin,
            # which runs through the host's REPL here, not to the program.
            raise OSError("mpremote mount is not supported by the virtual dongle; "
                          "copy files with mpremote fs cp")
        else:
            ns["__file__"] = "<stdin>"
            exec(compile(body, "<stdin>", "single" if kind == b"s" else "exec"), ns)
        return b"0"
    except KeyboardInterrupt as e:
        return b"K" + traceback_text(e).encode()
    except SystemExit as e:
        code = e.args[0] if e.args else None
        return b"X" + repr(code).encode()
    except BaseException as e:  # noqa: BLE001
        return b"E" + traceback_text(e).encode()


def settle():
    # Raise (and so clear) a KeyboardInterrupt still pending from a Ctrl-C
    # that came as the last input finished: the VM checks at jumps.
    i = 0
    while i < 2:
        i += 1


def read_command():
    head = cmd_in.read(10)
    if len(head) < 10:
        sys.exit(0)          # the host went away
    n = int(head[1:9], 16)
    return head[0:1], cmd_in.read(n) if n else b""


_v = sys.implementation.version
_built = sys.version.rsplit(" on ", 1)[-1] if " on " in sys.version else "?"
frame(b"R", "MicroPython v%d.%d.%d%s on %s; virtual dongle (MicroPython unix port)" % (
    _v[0], _v[1], _v[2], "-" + _v[3] if len(_v) > 3 and _v[3] else "", _built))

while True:
    try:
        kind, body = read_command()
        try:
            settle()
        except KeyboardInterrupt:
            pass
    except KeyboardInterrupt:
        continue             # a stray Ctrl-C between inputs
    if kind not in (b"x", b"s", b"f"):
        sys.stderr.write("vdongle agent: bad command %r\n" % kind)
        sys.exit(3)
    result = execute(kind, body)
    try:
        frame(b"D", result)
    except KeyboardInterrupt:
        pass
