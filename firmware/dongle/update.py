# POST /api/update: a bundle (tools/build.py, `make ota`) streamed from the
# socket into the slot that is not running, 1 KB at a time (a bundle is
# larger than the free heap: it is never held whole), every file's SHA-256
# and the whole bundle's checked, then slot.json pointed at the new slot by
# one rename, and a reboot. main.py and trial.py take it from there: the
# new slot runs on trial and the old one is kept until it proves itself.
# Loaded for the request and let go after it (web.py); the admin password
# and its lockout are pages.py's.
#
# The bundle: text lines, then files, then a last line:
#   HANPORT-BUNDLE 1
#   version 0.1.0 / build <id> / board <name> / boards <names> / chip <chip>
#   mpy <mpy version> <native arch number, 0: bytecode only>
#   (a blank line)
#   F <size> <sha256 hex> <path>      then <size> bytes; one per file
#   END <files> <sha256 hex of every byte before this line>
import asyncio
import hashlib
import os
import sys
import time

from . import VERSION, log, unload
from .http import error_body

JSON = "application/json"
CHUNK = 1024
IDLE_MS = 15000           # the client sends nothing this long: the upload is abandoned
DRAIN_MAX = 2 << 20       # what a refused upload may still send, read and dropped
SLOT = "slot.json"


class Refused(Exception):
    def __init__(self, status, message):
        self.status = status
        self.message = message


def _hold(step):
    """The virtual dongle's tests cut the power here (HANPORT_OTA_HOLD=step):
    everything stops, as a board whose supply went away."""
    get = getattr(os, "getenv", None)
    if get and get("HANPORT_OTA_HOLD") == step:
        print("update: holding at " + step)
        while True:
            time.sleep(1)


def read_slot():
    import json
    try:
        with open(SLOT) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def write_slot(s, step=None):
    import json
    with open(SLOT + ".tmp", "w") as f:
        f.write(json.dumps(s))
    if step:
        _hold(step)
    try:
        os.rename(SLOT + ".tmp", SLOT)
    except OSError:                 # FAT: no rename over a file
        os.remove(SLOT)
        os.rename(SLOT + ".tmp", SLOT)


def rmtree(path):
    try:
        entries = [e for e in os.ilistdir(path)]
    except OSError:
        return
    for e in entries:
        p = path + "/" + e[0]
        if e[1] == 0x4000:
            rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


def makedirs(path):
    k = 0
    while True:
        k = path.find("/", k + 1)
        if k < 0:
            return
        try:
            os.mkdir(path[:k])
        except OSError:
            pass


class Source:
    """The request body: what came with the headers, then the socket, up to
    Content-Length, through one CHUNK buffer. Every byte taken is added to
    the whole bundle's hash."""

    def __init__(self, req):
        self.sock = req.reader.s
        self.left = req.length - len(req.body)   # still on the socket
        self.buf = bytearray(CHUNK)
        self.mv = memoryview(self.buf)
        n = min(len(req.body), CHUNK)
        self.buf[:n] = req.body[:n]
        self.pos, self.end = 0, n
        self.got = n
        self.total = req.length
        self.sha = hashlib.sha256()

    async def fill(self):
        """More bytes into the buffer (which the caller has emptied or
        compacted)."""
        if self.left <= 0:
            raise Refused(400, "the bundle ends early (%d bytes): upload cut or file truncated" % self.got)
        want = min(CHUNK - self.end, self.left)
        deadline = time.ticks_add(time.ticks_ms(), IDLE_MS)
        while True:
            try:
                n = self.sock.readinto(self.mv[self.end:self.end + want])
            except OSError:
                n = 0
            if n:
                break
            if n == 0:
                raise Refused(400, "upload cut after %d of %d bytes" % (self.got, self.total))
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                raise Refused(408, "upload stalled after %d of %d bytes" % (self.got, self.total))
            await asyncio.sleep_ms(5)
        self.end += n
        self.left -= n
        self.got += n

    async def line(self):
        """The next line (bytes, without its newline), at most 300 bytes."""
        while True:
            k = bytes(self.mv[self.pos:self.end]).find(b"\n")
            if k >= 0:
                k += self.pos
                out = bytes(self.mv[self.pos:k])
                if out[:4] != b"END ":          # (the hash it carries is of what came before)
                    self.sha.update(self.mv[self.pos:k + 1])
                self.pos = k + 1
                return out
            if self.end - self.pos > 300:
                raise Refused(400, "not a hanport bundle (a line too long)")
            n = self.end - self.pos
            self.buf[:n] = self.mv[self.pos:self.end]
            self.pos, self.end = 0, n
            await self.fill()

    async def copy(self, size, f, h):
        """size bytes into file f and hash h."""
        while size:
            if self.pos == self.end:
                self.pos = self.end = 0
                await self.fill()
            n = min(size, self.end - self.pos)
            piece = self.mv[self.pos:self.pos + n]
            f.write(piece)
            h.update(piece)
            self.sha.update(piece)
            self.pos += n
            size -= n
            await asyncio.sleep_ms(0)          # the meter's turn

    async def drain(self):
        """Read and drop what the client still sends (bounded), so that it
        reads the answer rather than a reset connection."""
        left = min(self.left, DRAIN_MAX)
        deadline = time.ticks_add(time.ticks_ms(), 10000)
        while left > 0 and time.ticks_diff(deadline, time.ticks_ms()) > 0:
            try:
                n = self.sock.readinto(self.mv)
            except OSError:
                return
            if n == 0:
                return
            if n:
                left -= n
            else:
                await asyncio.sleep_ms(5)


def _hex(h):
    return "".join("%02x" % b for b in h.digest())


def _check_header(app, head):
    """Refused unless the bundle is for this dongle's chip, board and
    MicroPython."""
    chip = app.board.get("chip")
    if head.get("chip") != chip:
        raise Refused(400, "bundle for chip %s; this dongle is %s: refused (build it with the BOARD of this "
                      "dongle)" % (head.get("chip"), chip))
    if app.cfg["board"] not in head.get("boards", "").split():
        raise Refused(400, "bundle for board %s does not list this dongle's board %s: refused" % (
            head.get("board"), app.cfg["board"]))
    try:
        ver, arch = [int(x) for x in head.get("mpy", "").split()]
    except ValueError:
        raise Refused(400, "bundle has no mpy line: refused")
    mine = sys.implementation._mpy      # type: ignore[attr-defined]
    if ver != mine & 0xFF or (arch and arch != mine >> 10):
        raise Refused(400, "bundle's code (mpy %d, arch %d) does not run on this MicroPython (mpy %d, arch %d)"
                      % (ver, arch, mine & 0xFF, mine >> 10))
    if not head.get("version"):
        raise Refused(400, "bundle has no version: refused")


def _safe(path):
    return (path.startswith("lib/") or path.startswith("www/")) and ".." not in path and "//" not in path \
        and all(c.isalpha() or c.isdigit() or c in "/._-" for c in path)


async def receive(app, req, src, target):
    """Check the header, write every file into slots/<target>/, check the
    hashes. Returns the header (dict)."""
    if await src.line() != b"HANPORT-BUNDLE 1":
        raise Refused(400, "not a hanport bundle (make build writes build/hanport.bundle)")
    head = {}
    while True:
        line = (await src.line()).decode()
        if not line:
            break
        k, _, v = line.partition(" ")
        head[k] = v
        if len(head) > 20:
            raise Refused(400, "not a hanport bundle (header too long)")
    _check_header(app, head)
    _hold("header")
    root = "slots/" + target
    try:
        os.mkdir("slots")
    except OSError:
        pass
    rmtree(root)                                # a failed attempt's, or the version before last
    os.mkdir(root)
    files = 0
    while True:
        try:
            parts = (await src.line()).decode().split(" ")
        except UnicodeError:
            raise Refused(400, "bundle damaged (a record is not text)")
        if parts[0] == "END" and len(parts) == 3:
            whole = _hex(src.sha)
            if int(parts[1]) != files or parts[2] != whole:
                raise Refused(400, "bundle damaged: its checksum does not match (%d files)" % files)
            break
        if parts[0] != "F" or len(parts) != 4 or not parts[1].isdigit() or len(parts[2]) != 64:
            raise Refused(400, "bundle damaged (a bad record after %d files)" % files)
        size, sha, path = int(parts[1]), parts[2], parts[3]
        if not _safe(path):
            raise Refused(400, "bundle names a file outside lib/ and www/: %s" % path[:80])
        dst = root + "/" + path
        makedirs(dst)
        h = hashlib.sha256()
        with open(dst, "wb") as f:
            await src.copy(size, f, h)
        if _hex(h) != sha:
            raise Refused(400, "bundle damaged: %s does not match its SHA-256" % path)
        files += 1
        _hold("file%d" % files)
    if src.left or src.pos != src.end:
        raise Refused(400, "bundle damaged: bytes after its end")
    with open(root + "/bundle.txt", "w") as f:
        f.write("version %s\nbuild %s\nfiles %d\n" % (head["version"], head.get("build", ""), files))
    return head


async def handle(web, req):
    """POST /api/update. (status, type, body, headers)."""
    app = web.app
    src = None
    busy = getattr(web, "updating", False)
    try:
        if req.length is None:
            return 411, JSON, error_body(411, "send the bundle with a Content-Length"), None
        src = Source(req)
        denied = admin(web, req)
        if denied:
            await src.drain()
            return denied
        if busy:
            await src.drain()
            return 409, JSON, error_body(409, "an update is already being received: try again when it ends"), None
        s = read_slot()
        if s and s.get("run") != s.get("good"):
            await src.drain()
            return 409, JSON, error_body(409, "the running version is still on trial: try again when it is "
                                         "healthy (see update in /api/status)"), None
        running = s.get("run", "") if s else ""
        target = "b" if running == "a" else "a"
        web.updating = True
        try:
            head = await receive(app, req, src, target)
        except Refused as e:
            log.log("update: refused: %s" % e.message)
            rmtree("slots/" + target)
            await src.drain()
            return e.status, JSON, error_body(e.status, e.message), None
        except OSError as e:
            log.log("update: flash: %s" % e)
            rmtree("slots/" + target)
            await src.drain()
            return 507, JSON, error_body(507, "could not write the bundle to flash (%s): nothing changed" % e), None
        finally:
            web.updating = False
        _hold("written")
        from . import slotinfo
        new = head["version"] + ("+" + head["build"] if head.get("build") else "")
        age = app.state.age_s()
        u = app.cfg["update"]
        nxt = {"run": target, "good": running, "boots": 0, "limit": u["boots"], "window_s": u["window_s"],
               "meter": age is not None and age < 120, "version": new, "from": slotinfo.version()}
        write_slot(nxt, "pointer")
        unload("slotinfo")
        log.log("update: %s written to slot %s and switched to; %s stays in %s until it proves itself" % (
            new, target, nxt["from"], "slot " + running if running else "lib"))
        _hold("switched")
        app.reboot_soon()
        import json
        return 200, JSON, json.dumps({"installed": new, "slot": target, "previous": nxt["from"],
                                      "rebooting": True, "window_s": u["window_s"], "boots": u["boots"]}), None
    finally:
        if not getattr(web, "updating", False):
            unload("update")


def admin(web, req):
    """None when the request carries the admin password (X-Admin-Password),
    else the answer. Wrong ones count towards the setup form's lockout."""
    app = web.app
    if not app.cfg["admin_password"]:
        return 403, JSON, error_body(403, "no admin_password is set: set one (setup page or make config) "
                                     "before updating over the network"), None
    given = req.headers.get("x-admin-password")
    if given is None:
        return 401, JSON, error_body(401, "the admin password is needed (header X-Admin-Password)"), None
    # pages.may_change's check and lockout (web.fails, web.locked_until:
    # shared with the setup form), here: pages.py beside this module would
    # not fit a plain ESP32's heap
    now = time.time()
    if now < web.locked_until:
        return 429, JSON, error_body(429, "too many wrong passwords: try again in %d s" % (web.locked_until - now)), None
    a, b = given.encode(), app.cfg["admin_password"].encode()
    diff = len(a) ^ len(b)
    for i in range(max(len(a), len(b))):          # constant time
        diff |= (a[i] if i < len(a) else 0) ^ (b[i] if i < len(b) else 0)
    if not diff:
        web.fails = 0
        return None
    web.fails += 1
    web.locked_until = now + min(2 ** web.fails, 60)
    log.log("update: wrong admin password (%d in a row)" % web.fails)
    return 401, JSON, error_body(401, "wrong admin password"), None
