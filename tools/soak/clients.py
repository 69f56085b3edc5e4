"""The soak's HTTP clients: a legitimate one polling, hostile ones (slow,
oversized, random bytes, bursts), each exchange recorded."""
import random
import socket
import threading
import time

from testkit.rawhttp import exchange as raw_exchange, status_of

HTTP_TIMEOUT_S = 12        # the firmware answers anything within 5 s (http.py)
SLOW_HOLD_S = 20           # a slow client not answered by then holds the server
BURST = 50
PATHS = ("/api/reading", "/api/status", "/metrics", "/", "/api/energy", "/api/config")
# what each kind of HTTP client may get (besides refusals during reboots)
ALLOWED = {
    "poll": {"200", "503"},
    "burst": {"200", "503"},
    "slowloris": {"408", "503"},
    "oversized": {"431", "503", "reset", "closed"},
    "random": {"400", "404", "405", "408", "413", "414", "431", "503", "reset", "closed"},
}
IN_REBOOT = {"refused", "reset", "closed"}

def answered(response):
    """A response's status as an outcome ("200"), None when there is none."""
    code = status_of(response)
    return None if code is None else "%d" % code


# hostile clients come from another address than the legitimate poller, as
# on a LAN (the dongle caps connections per address)
HOSTILE = ("127.0.0.2", 0)


def exchange(port, data, timeout=HTTP_TIMEOUT_S, source=None):
    """Send data on a new connection (from source, an (address, port)),
    read until the server closes: the response's status ("200"), or
    "refused", "reset", "closed" (no response), "timeout"."""
    try:
        response, ending = raw_exchange(port, data, timeout, source)
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError:
        return "refused"
    if ending == "timeout":
        return "timeout"
    return answered(response) or ending


class Clients:
    """Hostile and legitimate HTTP clients in threads; every exchange is
    recorded as (kind, outcome, started, ended)."""

    def __init__(self, port, seed, stop, burst_every, kinds=None, paths=PATHS):
        self.port = port
        self.kinds = kinds or ("poll", "slowloris", "oversized", "random", "burst")
        self.paths = paths
        self.rng = random.Random("http-%s" % seed)
        self.stop = stop
        self.burst_every = burst_every
        self.records = []
        self.slow_answer_s = []        # how long the server let a slow client hold on
        self._lock = threading.Lock()
        self.threads = []
        self.calm = threading.Event()   # set: the hostile ones hold off (an admin request)

    def _wait_calm(self):
        while self.calm.is_set() and not self.stop.is_set():
            self.stop.wait(0.1)

    def record(self, kind, outcome, t0):
        with self._lock:
            self.records.append((kind, outcome, t0, time.monotonic()))

    def start(self):
        for kind, fn in (("poll", self._poller), ("slowloris", self._slowloris), ("slowloris", self._slowloris),
                         ("oversized", self._oversized), ("random", self._random), ("burst", self._bursts)):
            if kind not in self.kinds:
                continue
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        for t in self.threads:
            t.join(HTTP_TIMEOUT_S + SLOW_HOLD_S + 5)

    def _poller(self):
        """A legitimate client: /api/reading five times a second."""
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.record("poll", exchange(self.port, b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), t0)
            self.stop.wait(0.2)

    def _slowloris(self):
        """Starts a request and sends one byte of a header now and then,
        never finishing it."""
        while not self.stop.is_set():
            self._wait_calm()
            t0 = time.monotonic()
            try:
                s = socket.create_connection(("127.0.0.1", self.port), HTTP_TIMEOUT_S, source_address=HOSTILE)
            except OSError:
                self.record("slowloris", "refused", t0)
                self.stop.wait(0.5)
                continue
            outcome = "held"
            try:
                s.sendall(b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                s.settimeout(0.7)
                out = b""
                while time.monotonic() - t0 < SLOW_HOLD_S:
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        try:
                            s.send(b"z")
                        except OSError:
                            pass
                        continue
                    if not chunk:
                        outcome = answered(out) or "closed"
                        break
                    out += chunk
                if outcome != "held" and answered(out) == "408":
                    with self._lock:
                        self.slow_answer_s.append(time.monotonic() - t0)
            except ConnectionResetError:
                outcome = "reset"
            except OSError:
                outcome = "reset"
            finally:
                s.close()
            self.record("slowloris", outcome, t0)

    def _oversized(self):
        head = b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
        while not self.stop.wait(3.0):
            self._wait_calm()
            t0 = time.monotonic()
            self.record("oversized", exchange(self.port, head, source=HOSTILE), t0)

    def _random(self):
        rng = random.Random(self.rng.random())
        while not self.stop.wait(1.5):
            self._wait_calm()
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
            r = rng.random()
            if r < 0.3:
                data += b"\r\n\r\n"
            elif r < 0.5:
                data = b"GET /" + data[:300] + b" HTTP/1.1\r\n\r\n"
            t0 = time.monotonic()
            self.record("random", exchange(self.port, data, source=HOSTILE), t0)

    def burst(self):
        """BURST clients connecting at once, each a complete request."""
        barrier = threading.Barrier(BURST)
        rng = random.Random(self.rng.random())
        paths = [rng.choice(self.paths) for _ in range(BURST)]

        def one(path):
            try:
                barrier.wait(10)
            except threading.BrokenBarrierError:
                pass
            t0 = time.monotonic()
            self.record("burst", exchange(self.port, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode(),
                                          source=HOSTILE), t0)
        ts = [threading.Thread(target=one, args=(p,), daemon=True) for p in paths]
        for t in ts:
            t.start()
        return ts

    def _bursts(self):
        if not self.burst_every:
            return
        if self.stop.wait(self.burst_every / 2):
            return
        while True:
            self._wait_calm()
            for t in self.burst():
                t.join(HTTP_TIMEOUT_S + 15)
            if self.stop.wait(self.burst_every):
                return

