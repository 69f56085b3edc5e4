# The raw telegram port (config telegram_server: a TCP port, 0 = off): each
# client gets every frame that passed its CRC/FCS check exactly as the
# meter sent it (P1 text with its CRC, HDLC frames with their flags), as
# ser2net or ESPHome's stream server give it: Home Assistant's DSMR
# integration, dsmr-reader and amshan read it. Read-only, no password,
# off until turned on. Loaded only when on.
#
# The meter never waits for a client: a frame is written at once, without
# blocking, to each; what a socket does not take is queued, up to BACKLOG
# bytes a client (the queued frames are shared between clients, not
# copied); a client whose queue would grow past that is dropped. Bytes
# clients send are read and dropped (counted).
import asyncio
import socket

from micropython import const

from . import platform

MAX_CLIENTS = 3
BACKLOG = 4096           # bytes queued a client, beyond its socket's buffer: a longest frame (decoder.CAP)
POLL_MS = 100            # accepting, draining queues, reading what clients send
_SINK = bytearray(64)
# a client: [socket, queued frames, offset into the first, bytes queued]
_SOCK = const(0)
_QUEUE = const(1)
_OFFSET = const(2)
_QUEUED = const(3)


class Telegrams:
    def __init__(self, port, log):
        self.port = port
        self.log = log
        self.clients = []        # each a list: _SOCK, _QUEUE, _OFFSET, _QUEUED
        self.accepted = self.refused = self.dropped = 0
        self.frames = 0          # frames given to clients
        self.ignored = 0         # bytes clients sent (read and dropped)

    def status(self):
        return {"port": self.port, "clients": len(self.clients), "accepted": self.accepted,
                "refused": self.refused, "dropped": self.dropped, "frames": self.frames,
                "ignored_bytes": self.ignored}

    def send(self, frame):
        """A good frame from the decoder (bytes never changed after): to
        every client, never waiting."""
        for client in self.clients[:]:
            try:
                if client[_QUEUED] + len(frame) > BACKLOG:
                    self._drop(client, "does not read")
                    continue
                client[_QUEUE].append(frame)
                client[_QUEUED] += len(frame)
                self._flush(client)
            except MemoryError:
                self._drop(client, "no room for its queue")

    def _flush(self, client):
        sock, queue = client[_SOCK], client[_QUEUE]
        try:
            while queue:
                mv = memoryview(queue[0])[client[_OFFSET]:]
                k = sock.write(mv)
                if not k:
                    return
                client[_QUEUED] -= k
                if k < len(mv):
                    client[_OFFSET] += k
                    return
                queue.pop(0)
                client[_OFFSET] = 0
                self.frames += 1
        except OSError:
            self._drop(client, None)

    def _drop(self, client, why):
        if client in self.clients:
            self.clients.remove(client)
            if why:
                self.dropped += 1
                self.log("telegram port: a client dropped: %s" % why)
        try:
            client[_SOCK].close()
        except OSError:
            pass

    async def run(self):
        ai = socket.getaddrinfo(platform.HTTP_BIND, self.port)[0]
        s = socket.socket(ai[0])
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if platform.SNDBUF:
            s.setsockopt(socket.SOL_SOCKET, 7, platform.SNDBUF)     # SO_SNDBUF, as http.py's
        s.bind(ai[-1])
        s.listen(1)
        self.log("telegram port: listening on port %d" % self.port)
        try:
            while True:
                await asyncio.sleep_ms(POLL_MS)
                self._accept(s)
                for client in self.clients[:]:
                    self._read(client)
                    if client in self.clients and client[_QUEUE]:
                        self._flush(client)
        finally:
            s.close()
            for client in self.clients[:]:
                self._drop(client, None)

    def _accept(self, s):
        try:
            sock, _ = s.accept()
        except OSError:
            return                  # none waiting
        sock.setblocking(False)
        if len(self.clients) >= MAX_CLIENTS:
            self.refused += 1
            sock.close()
            return
        self.accepted += 1
        self.clients.append([sock, [], 0, 0])

    def _read(self, client):
        """Drop what the client sent; notice it has gone."""
        try:
            for _ in range(16):
                n = client[_SOCK].readinto(_SINK)
                if n is None:
                    return
                if not n:
                    self._drop(client, None)         # it closed
                    return
                self.ignored += n
        except OSError:
            self._drop(client, None)
