# A small HTTP/1.0 server on asyncio, made for a microcontroller next to a
# meter: bounded request size and time, a few clients at once (more wait in
# the listen queue, costing no heap), one response per connection. A slow or
# hostile client only ever holds its own connection, and at most
# _MAX_PER_PEER of them from one address.
import asyncio
import json
import time

from . import KB, room, spare, unload
from micropython import const

MAX_CLIENTS = 4          # connections being read or answered at once; more wait to be accepted
_MAX_PER_PEER = const(3)         # of those, one address may hold (more are told 503 at once)
_HEAD_MAX = const(2048)          # request line + headers
_LINE_MAX = const(512)           # request line
_BODY_MAX = const(2048)
TIMEOUT_S = 5            # the whole request, from its first byte; the answer gets twice that
# bodies the handler reads itself, as they come (update.py): req.reader and
# req.length, req.body what came with the headers; the handler's answer is
# awaited
STREAMED = ("/api/update", "/api/restore")
# Heap left free beside any request, beyond the meter's and MQTT's spare
# block (spare.py): a request starts only with this much free and the block
# held (waiting up to _ROOM_WAIT_MS for other responses to end; a stranded
# block: the block's size free too, and no other request), otherwise it
# is told 503. A request that still runs out is told 503 too, and counted.
RESERVE = 4 * KB
_ROOM_WAIT_MS = const(500)

# on every response: no framing by other sites, no content sniffing, no
# address of ours in other sites' logs
_SAFE = b"X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
# headers a request may carry once only (two lengths: which one is the body?)
_ONCE = ("content-length", "host", "origin", "referer", "transfer-encoding")


# what a bad request is told, by index in httpwhy.py's texts (loaded to
# answer one: the texts take no RAM while requests are good)
_ENDED = const(0)
_LINE_LONG = const(1)
_HEAD_LONG = const(2)
_BAD_LINE = const(3)
_BAD_HEADER = const(4)
_NOT_TEXT = const(5)
_TWICE = const(6)
_CHUNKED = const(7)
_BAD_LENGTH = const(8)
_BODY_LONG = const(9)
_BODY_SHORT = const(10)
_SLOW = const(11)
_BUG = const(12)


class HttpError(Exception):
    def __init__(self, status, why, value=None):
        self.status = status
        self.why = why          # its text's index (_ENDED...), and what the text takes
        self.value = value

    def body(self):
        """The JSON answer, its text from httpwhy.py, loaded for it."""
        from . import httpwhy
        try:
            return error_body(self.status, httpwhy.text(self.why, self.value))
        finally:
            unload("httpwhy")


class Request:
    reader = length = None      # a STREAMED request's stream and Content-Length

    def __init__(self, method, path, query, headers, body, peer):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers      # lower-case names
        self.body = body
        self.peer = peer


def error_body(status, message, **extra):
    d = {"error": message, "status": status}
    d.update(extra)
    return json.dumps(d)


# whole responses, made once (httpwhy.py), and BUSY, a handler's answer
# saying so (web.py's, update.py's)
from . import httpwhy  # noqa: E402
_LOW, _BUSY, _CROWDED = httpwhy.busy(_MAX_PER_PEER)
BUSY = 503, "application/json", _LOW, {"Retry-After": "2"}
del httpwhy, _LOW
unload("httpwhy")
_SINK = bytearray(256)      # what a refused client still sends, read and dropped


def _refuse(sock, answer=_BUSY):
    """Answer (a whole static response: _BUSY, _CROWDED) on the socket,
    read and drop what the client sent already, close: no heap, no waiting
    (on a short heap even the task that waits for a slow client may not
    fit). The answer is small enough for any socket's send buffer."""
    try:
        sock.write(answer)
        for _ in range(64):
            if not sock.readinto(_SINK):
                break
    except OSError:
        pass
    sock.close()


async def _put(sock, data, deadline):
    """All of data onto the non-blocking socket by deadline (ticks_ms), else
    OSError. Polls rather than waiting through asyncio.wait_for: that makes a
    task per wait, heap that a crowd of clients does not leave."""
    mv = memoryview(data)
    off = 0
    while off < len(mv):
        k = sock.write(mv[off:])
        if k:
            off += k
        elif time.ticks_diff(deadline, time.ticks_ms()) <= 0:
            raise OSError(110)          # ETIMEDOUT: the client does not read
        else:
            await asyncio.sleep_ms(20)


def readable(sock):
    # (a generator, awaited: MicroPython's asyncio streams wait for a socket
    # this way, on the scheduler's I/O queue)
    yield asyncio.core._io_queue.queue_read(sock)  # type: ignore[attr-defined]  # (asyncio.core: no stub)


async def _read_head(reader):
    """Request line and headers (and whatever came after them), kept in
    pieces until complete: growing one string to _HEAD_MAX asks a fragmented
    heap for blocks of up to that size, once per piece. A piece is read only
    while RESERVE is free: a few clients sending long heads at once would
    otherwise take the heap the meter needs (MemoryError: this client is
    refused, as one that runs out)."""
    parts = []
    n = 0                 # bytes read
    line_end = -1
    prev = b""            # the last bytes before this piece (a CRLF may straddle)
    while True:
        if not room(RESERVE):
            raise MemoryError
        chunk = await reader.read(256)
        if not chunk:
            raise HttpError(400, _ENDED)
        seam = prev + chunk
        if line_end < 0:
            k = seam.find(b"\r\n")
            if k >= 0:
                line_end = n - len(prev) + k
        n += len(chunk)
        parts.append(chunk)
        if (line_end < 0 and n > _LINE_MAX) or line_end > _LINE_MAX:
            raise HttpError(414, _LINE_LONG, _LINE_MAX)
        if n > _HEAD_MAX:
            raise HttpError(431, _HEAD_LONG, _HEAD_MAX)
        if b"\r\n\r\n" in seam:
            return b"".join(parts)
        prev = seam[-3:]


def _parse(head):
    text, _, rest = head.partition(b"\r\n\r\n")
    lines = text.split(b"\r\n")
    try:
        method, target, version = lines[0].decode().split(" ")
    except (ValueError, UnicodeError):
        raise HttpError(400, _BAD_LINE)
    if not version.startswith("HTTP/") or not target.startswith("/"):
        raise HttpError(400, _BAD_LINE)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise HttpError(400, _BAD_HEADER)
        try:
            name = name.decode().strip().lower()
            value = value.decode().strip()
        except UnicodeError:
            raise HttpError(400, _NOT_TEXT)
        if name in headers and name in _ONCE:
            raise HttpError(400, _TWICE, name)
        headers[name] = value
    if "transfer-encoding" in headers:
        raise HttpError(411, _CHUNKED)
    path, _, query = target.partition("?")
    return method, path, query, headers, rest


class FileBody:
    """A response body streamed from a file in small chunks (the web page),
    so serving it allocates one 512-byte buffer, not the file's size."""

    def __init__(self, path):
        self.path = path

    def size(self):
        import os
        return os.stat(self.path)[6]


class Server:
    """handler(request) -> (status, content type, body, extra headers dict
    or None); body: str, bytes, a tuple of bytes pieces, a FileBody, or a
    generator of str pieces. A body the handler gives must not change while
    it is sent (a slow client reads it for seconds)."""

    def __init__(self, handler, log):
        self.handler = handler
        self.log = log
        self.active = 0
        self.served = 0
        self.refused = 0
        self.errors = 0
        self.short = 0          # requests refused for want of heap
        self._open = 0          # connections accepted and not yet closed
        self.pending = 0        # requests past _room() and not yet answered
        self._peers = {}        # address -> connections it holds

    async def start(self, port, host, sndbuf=None):
        """sndbuf: the accepted sockets' send buffer in bytes (the virtual
        dongle sets a board's few KB, so a slow client fills it as on lwIP)."""
        import socket
        ai = socket.getaddrinfo(host, port)[0]
        s = socket.socket(ai[0])
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sndbuf:
            s.setsockopt(socket.SOL_SOCKET, 7, sndbuf)     # SO_SNDBUF (Linux), inherited
        s.bind(ai[-1])
        s.listen(MAX_CLIENTS + 2)
        asyncio.create_task(self._serve(s))

    async def _serve(self, s):
        """Accept a connection only while there is room for it; more wait in
        the listen queue, costing no heap. (asyncio.start_server accepts
        every connection at once: 50 of them filled the heap, and the
        MemoryError ended its accept task, and the server, for good.)
        Nothing but cancellation ends this task."""
        while True:
            if self._open >= MAX_CLIENTS:
                await asyncio.sleep_ms(20)
                continue
            await readable(s)
            try:
                sock, addr = s.accept()
            except OSError:
                continue
            sock.setblocking(False)
            if not room(RESERVE):
                self.refused += 1       # (no heap for it: told so with none)
                self.short += 1
                _refuse(sock)
                continue
            try:
                peer = addr_host(addr)
                held = self._peers.get(peer, 0)
                if held >= _MAX_PER_PEER:
                    self.refused += 1
                    _refuse(sock, _CROWDED)    # (Retry-After: 2)
                    continue
                self._peers[peer] = held + 1
                self._open += 1
                asyncio.create_task(self._client(asyncio.StreamReader(sock), peer))
            except MemoryError:
                self.errors += 1
                _refuse(sock)

    async def _client(self, stream, peer):
        sock = stream.s
        self.active += 1
        admitted = False
        try:
            busy = False
            bad = None                  # an HttpError to answer
            unread = True               # the request may not all be read: a 4xx drains it first
            try:
                req = await asyncio.wait_for(self._request(stream, peer), TIMEOUT_S)
                unread = False
                if await self._room():
                    admitted = True
                    self.pending += 1
                    r = self.handler(req)
                    if not isinstance(r, tuple):
                        # (rebound: a finished coroutine still holds its
                        # module, which must be let go)
                        r = await r
                    status, ctype, body, extra = r
                else:
                    busy = True
            except HttpError as e:
                bad = e
            except asyncio.TimeoutError:
                bad = HttpError(408, _SLOW, TIMEOUT_S)
            except MemoryError:
                # the heap ran out while this request was read or answered:
                # it alone is refused
                busy = True
            except Exception as e:      # a bug in a handler: 500, keep serving
                self.log("http: %s: %s" % (type(e).__name__, e))
                bad = HttpError(500, _BUG)
            if bad is not None:
                self.errors += 1
                try:
                    status, ctype, body, extra = bad.status, "application/json", bad.body(), None
                except MemoryError:
                    busy = True
            if busy or not await self._send(sock, status, ctype, body, extra, unread):
                _refuse(sock)           # (not through _send: calling it takes heap)
                self.refused += 1
                self.short += 1
            else:
                self.served += 1
        except Exception:               # MemoryError while answering: this client only
            self.errors += 1
            sock.close()
        finally:
            self.active -= 1
            self._open -= 1
            if admitted:
                self.pending -= 1
            held = self._peers.get(peer, 1) - 1
            if held:
                self._peers[peer] = held
            else:
                self._peers.pop(peer, None)

    async def _room(self):
        """RESERVE free and the spare block held, waiting up to
        _ROOM_WAIT_MS for it: other clients' responses end and free theirs.
        With the block stranded (spare.py): no other request being answered,
        and the block's size free beside RESERVE."""
        for i in range(_ROOM_WAIT_MS // 100 + 1):
            if room(RESERVE) and (spare.held() or spare.stranded() and not self.pending
                                  and room(RESERVE + spare.SIZE)):
                return True
            if i < _ROOM_WAIT_MS // 100:
                await asyncio.sleep_ms(100)
        return False

    async def _request(self, reader, peer):
        head = await _read_head(reader)
        method, path, query, headers, body = _parse(head)
        n = headers.get("content-length")
        if path in STREAMED and method == "POST":
            req = Request(method, path, query, headers, body, peer)
            req.reader, req.length = reader, int(n) if n is not None and n.isdigit() else None
            return req
        if n is not None:
            if not n.isdigit():
                raise HttpError(400, _BAD_LENGTH)
            n = int(n)
            if n > _BODY_MAX:
                raise HttpError(413, _BODY_LONG, _BODY_MAX)
            while len(body) < n:
                chunk = await reader.read(min(256, n - len(body)))
                if not chunk:
                    raise HttpError(400, _BODY_SHORT)
                body += chunk
            body = body[:n]
        else:
            body = b""
        return Request(method, path, query, headers, body, peer)

    async def _send(self, sock, status, ctype, body, extra, unread=False):
        """The response; False when the heap had no room for it before its
        first byte (the caller sends the static 503 instead)."""
        f = None
        try:
            if isinstance(body, str):
                body = body.encode()
            if isinstance(body, FileBody):
                length = body.size()
                # opened, with its buffer, before the first byte goes out:
                # no room for them is still a clean 503
                f = open(body.path, "rb")
                buf = bytearray(512)
            elif isinstance(body, (bytes, bytearray, memoryview)):
                length = len(body)
                body = (body,)
            elif isinstance(body, tuple):   # pieces of bytes, sent one after the other
                length = 0
                for part in body:
                    length += len(part)
            else:
                length = None       # text pieces as they are made (a generator): ends with the connection
            if status == 200 or status == 503:
                line = "200 OK" if status == 200 else "503 Service Unavailable"
            else:                           # (rare: the other status lines are in httpwhy.py)
                from . import httpwhy
                try:
                    line = httpwhy.status(status)
                finally:
                    unload("httpwhy")
            head = "HTTP/1.0 %s\r\nContent-Type: %s\r\nConnection: close\r\n" % (line, ctype)
            if length is not None:
                head += "Content-Length: %d\r\n" % length
            if not extra or "Cache-Control" not in extra:
                head += "Cache-Control: no-store\r\n"
            if extra:
                for k in extra:
                    head += "%s: %s\r\n" % (k, extra[k])
            head = head.encode() + _SAFE + b"\r\n"
        except MemoryError:
            if f is not None:
                f.close()
            return False
        try:
            deadline = time.ticks_add(time.ticks_ms(), 2 * TIMEOUT_S * 1000)
            await _put(sock, head, deadline)
            if f is not None:
                mv = memoryview(buf)
                while True:
                    n = f.readinto(buf)
                    if not n:
                        break
                    await _put(sock, mv[:n], deadline)
            elif length is None:
                for part in body:
                    await _put(sock, part.encode(), deadline)
            else:
                for part in body:
                    await _put(sock, part, deadline)
            if unread:
                # a refused request may still be arriving: closing on unread
                # bytes resets the connection before the client reads why
                await self._discard(sock, time.ticks_add(time.ticks_ms(), 500))
        except OSError:
            pass
        finally:
            if f is not None:
                f.close()
            sock.close()
        return True

    async def _discard(self, sock, deadline):
        # (into one shared scrap buffer: what is dropped costs no heap)
        for _ in range(64):               # at most 16 KB
            n = sock.readinto(_SINK)
            if n is None:                 # nothing yet
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    return
                await asyncio.sleep_ms(20)
                continue
            if not n or n >= 4 and _SINK[n - 4] == 13 and _SINK[n - 3] == 10 and _SINK[n - 1] == 10:
                return                    # closed, or a request without a body all read


def addr_host(addr):
    """The host part of an accepted socket's address: a (host, port) tuple
    on the ESP32, a sockaddr bytes object on the unix port."""
    if isinstance(addr, tuple):
        return addr[0]
    if len(addr) >= 8 and addr[0] == 2:           # AF_INET sockaddr: family, port, 4 bytes
        return "%d.%d.%d.%d" % (addr[4], addr[5], addr[6], addr[7])
    return bytes(addr[8:24])
