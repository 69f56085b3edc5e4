# POST /api/update: a bundle (tools/build.py, `make ota`) streamed from the
# socket into the slot that is not running, 512 bytes at a time (a bundle is
# larger than the free heap: it is never held whole), every file's SHA-256
# and the whole bundle's checked, then slot.json pointed at the new slot by
# one rename, and a reboot. main.py and trial.py take it from there: the
# new slot runs on trial and the old one is kept until it proves itself.
# Loaded for the request and let go after it (web.py); the checks of the
# password and the bundle's header are updatecheck.py's, loaded for them.
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
import time

from micropython import const

from . import KB, room, unload
from .updatestep import Refused, hold
from .http import BUSY

JSON = "application/json"
CHUNK = 512
# heap left beside the upload, for the meter, MQTT and other clients: it
# starts only with START free (this module loaded) and gives up (503, make
# ota tries again) when less than LOW stays free; it is never the meter or
# MQTT that runs out for it
START = 16 * KB
LOW = 12 * KB
IDLE_MS = 15000           # the client sends nothing this long: the upload is abandoned
DRAIN_MAX = 2 << 20       # what a refused upload may still send, read and dropped
_DIR = const(0x4000)      # os.ilistdir's type of a folder


def rmtree(path):
    try:
        entries = [e for e in os.ilistdir(path)]
    except OSError:
        return
    for e in entries:
        p = path + "/" + e[0]
        if e[1] == _DIR:
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
            if not room(LOW):
                raise MemoryError

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


def _safe(path):
    return (path.startswith("lib/") or path.startswith("www/")) and ".." not in path and "//" not in path \
        and all(ch.isalpha() or ch.isdigit() or ch in "/._-" for ch in path)


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
    from . import updatecheck
    try:
        updatecheck.header(app, head)
    finally:
        unload("updatecheck")
    hold("header")
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
        hold("file%d" % files)
    if src.left or src.pos != src.end:
        raise Refused(400, "bundle damaged: bytes after its end")
    with open(root + "/bundle.txt", "w") as f:
        f.write("version %s\nbuild %s\nfiles %d\n" % (head["version"], head.get("build", ""), files))
    return head


async def handle(web, req):
    """POST /api/update. (status, type, body, headers). What is done
    before and after the bundle streams in is updatecheck.py's: only the
    streaming is in RAM while it streams."""
    app = web.app
    busy = getattr(web, "updating", False)
    try:
        try:
            from . import updatecheck
            denied, running, target = updatecheck.before(web, req, busy)
        finally:
            unload("updatecheck")
        src = Source(req) if req.length is not None else None
        if denied:
            if src:
                await src.drain()
            return denied
        if not room(START):
            return BUSY
        web.updating = True
        why = head = None
        try:
            head = await receive(app, req, src, target)
        except Refused as e:
            why = e.status, e.message
        except MemoryError:
            why = 503, "busy: low on memory, try again"
        except OSError as e:
            why = 507, "could not write the bundle to flash (%s): nothing changed" % e
        finally:
            web.updating = False
        src.buf = src.mv = None
        if why is None:
            hold("written")
        try:
            from . import updatecheck
            if why:
                rmtree("slots/" + target)
                return await updatecheck.refused(src, why)
            return updatecheck.switch(app, head, running, target)
        finally:
            unload("updatecheck")
    except MemoryError:
        # answered here, not raised: the coroutine ends, and with it what
        # it holds of this module (http.py lets it go)
        return BUSY
    finally:
        if not getattr(web, "updating", False):
            unload("update", "updatestep")
