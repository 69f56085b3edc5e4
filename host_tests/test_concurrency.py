"""Issue 16 on the virtual dongle (the firmware on MicroPython's unix port,
listening on 127.0.0.1 with a board-sized send buffer, SO_SNDBUF 2304):

- a slow reader of /api/energy (month-end size), /api/status and /metrics
  while frames arrive at 10/s, MQTT publishes and another client polls:
  every body valid, internally consistent and equal to the document as it
  was when its request was answered;
- Chromium on a page of another origin (a second local web server) posting
  to /setup: nothing changes, the owner is not locked out; Host names not
  the dongle's are refused on every route;
- slowloris from 127.0.0.2 while a poller on 127.0.0.1 keeps its share;
  chunked and duplicate-length POSTs are not password tries; an
  unconfigured dongle saves nothing without an admin password; board names
  only from the boards folder."""
import http.server
import json
import os
import re
import select
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import quote

from testkit import feed
from testkit.mpy import ROOT, micropython
from testkit.config import dongle_config
from testkit.rawhttp import exchange
from testkit.rig import MPLIB, Broker, Dongle, Meter, Subscriber, wait_until
from scenarios import p1_telegram
from testkit.rawhttp import routes, setup_request

ADMIN = "admin-Secret-789"


def config(meter, broker=None):
    """A P1 dongle, publishing to broker if one is given."""
    return dongle_config(meter, "p1", broker, wifi="", admin_password=ADMIN, energy={"save_s": 3600})


# --- a month of energy accounting, written by the firmware's own ledger -------

def readings(start, end, step=900, fine=None):
    """(t, import mW, import Wh, export Wh) every step s of meter time
    (every 3600 s before `fine`)."""
    import random
    rng = random.Random(16)
    out, r_imp, r_exp, acc = [], 7_000_000, 200_000, 0
    t = int(start.timestamp())
    while t < int(end.timestamp()):
        hour = (t // 3600 + 1) % 24
        p = (400 + 2500 * (17 <= hour <= 21) + rng.randint(0, 800)) * 1000
        acc += p * step
        r_imp += acc // 3_600_000
        acc %= 3_600_000
        if 11 <= hour <= 13:
            r_exp += rng.randint(0, 30)
        out.append((t, p, r_imp, r_exp))
        t += step if fine is None or t >= fine.timestamp() else 3600
    return out


LEDGER = """
import json
from dongle.ledger import Ledger
led = Ledger({"energy": {"zone": "CET", "top_n": 3, "steps_kw": [2, 5, 10, 15, 20, 25, 50, 75, 100],
                         "save_s": 3600, "max_power_kw": 50}})
with open("readings.json") as f:
    for line in f:
        t, p, ri, re = json.loads(line)
        led.book.sample(t, p, 0, ri, re)
led.save()
"""


def month_end_energy(flash, rs):
    """energy.json as the firmware writes it after these readings: the
    firmware's ledger itself, on MicroPython, fed them and saved."""
    flash.mkdir(parents=True, exist_ok=True)
    (flash / "readings.json").write_text("".join(json.dumps(r) + "\n" for r in rs))
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s:%s" % (ROOT / "lib", ROOT / "firmware", MPLIB))
    subprocess.run([micropython(), "-c", LEDGER], cwd=flash, env=env, check=True, timeout=300)
    (flash / "readings.json").unlink()
    assert (flash / "energy.json").read_text().startswith("HANE1 ")


class Feed(feed.Feed):
    """The meter: P1 telegrams `per_s` a second, each 10 s of meter time on
    from the last, power and registers changing in every one."""

    def __init__(self, meter, last, per_s=10):
        super().__init__(meter, 1 / per_s)
        self.t, self.p, self.r_imp, self.r_exp = last

    def frame(self):
        self.t += 10
        self.p = 500_000 + (self.sent * 7919) % 3_000_000
        self.r_imp += self.p * 10 // 3_600_000 + 1
        return p1_telegram(self.t, self.p, self.r_imp, self.r_exp)


class Poller(threading.Thread):
    """Another client: /api/reading and /api/status in turn, as fast as
    answered; every body must be JSON."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.done = threading.Event()
        self.answers = 0
        self.bad = []

    def run(self):
        import http.client
        k = 0
        while not self.done.is_set():
            path = ("/api/reading", "/api/status")[k % 2]
            k += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200:
                    json.loads(body)
                    self.answers += 1
            except (OSError, ValueError) as e:
                self.bad.append("%s: %r" % (path, e))
            self.done.wait(0.05)


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def ask(port, data, timeout=8):
    """Raw bytes asked on a connection of their own: (status, head, body)."""
    return split_response(exchange(port, data, timeout, finish=True)[0])


def fast_get(port, path):
    status, head, body = ask(port, b"GET %s HTTP/1.0\r\n\r\n" % path.encode(), timeout=10)
    assert status == 200, (path, head, body[:200])
    return body


class SlowReader:
    """A client with a small receive buffer that sends its request, reads
    the first bytes of the answer, and then reads 256 bytes every 50 ms."""

    def __init__(self, port, path):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        self.s.settimeout(20)
        self.s.connect(("127.0.0.1", port))
        self.s.sendall(b"GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path.encode(), port))
        self.got = self.s.recv(64)          # answered: the document is fixed from here
        assert self.got.startswith(b"HTTP/1.0 200"), self.got
        self.started = time.time()

    def finish(self):
        while True:
            time.sleep(0.05)
            chunk = self.s.recv(256)
            if not chunk:
                break
            self.got += chunk
        self.s.close()
        self.seconds = time.time() - self.started
        return split_response(self.got)[2]


VOLATILE_STATUS = ("uptime_s", "free_mem", "heap", "http", "last_frame_age_s", "watchdog", "log")
VOLATILE_METRICS = ("hanport_uptime_seconds", "hanport_free_memory_bytes", "hanport_last_frame_age_seconds")


def comparable(path, body):
    """The part of a document that depends on the meter's frames and the
    accounting (not on the clock or on requests being counted)."""
    if path == "/metrics":
        return prometheus(body, skip=VOLATILE_METRICS)
    doc = json.loads(body, parse_float=Decimal)
    if path == "/api/status":
        for k in VOLATILE_STATUS:
            doc.pop(k)
    return doc


PROM_LINE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9]+(\.[0-9]+)?$')


def prometheus(body, skip=()):
    """Valid Prometheus text (every sample with its HELP and TYPE) -> {name: value}."""
    text = body.decode()
    assert text.endswith("\n")
    typed, out = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line.startswith("# HELP "):
            continue
        else:
            assert PROM_LINE.match(line), line
            name, value = line.rsplit(" ", 1)
            assert name.partition("{")[0] in typed, line
            assert name not in out, "twice: " + line
            if name.partition("{")[0] not in skip:
                out[name] = value
    return out


def states(sub):
    with sub._lock:
        return [m[1] for m in sub.messages if m[0].endswith("/state") and m[0].startswith("han/")]


def check_energy(doc):
    """An energy report's totals are the sums of its rows."""
    month, days = doc["month"], doc["days"]
    assert month["import_kwh"] == sum(d["import_kwh"] for d in days)
    assert month["export_kwh"] == sum(d["export_kwh"] for d in days)
    assert month["days"] == len(days)
    maxima = sorted((d["max_hour_kwh"] for d in days if d["max_hour_kwh"] is not None), reverse=True)
    assert month["peak_kwh"] == maxima[0]
    assert [h["kwh"] for h in month["top_hours"]] == maxima[:3]
    today = [d for d in days if d["date"] == doc["today"]["date"]][0]
    assert today["import_kwh"] == doc["today"]["import_kwh"]
    assert doc["hours"][-1]["hour"] == doc["hour"]["start"]


def test_slow_readers_get_one_moments_document(tmp_path, capsys):
    # a year and a month to Oct 30 22:40 (CET): twelve closed months, 30
    # days, 26 hours: as large as /api/energy gets
    rs = readings(datetime(2024, 9, 1, 0, 0, tzinfo=timezone.utc),
                  datetime(2025, 10, 30, 21, 40, tzinfo=timezone.utc), fine=datetime(2025, 9, 30, tzinfo=timezone.utc))
    month_end_energy(tmp_path / "flash", rs)
    broker = Broker(tmp_path)
    meter = Meter()
    d = Dongle(tmp_path, config(meter, broker))
    sub = Subscriber(broker.port, "han/#")
    feed = Feed(meter, rs[-1])
    poller = Poller(d.http_port)
    try:
        wait_until(meter.connected, what="the meter link")
        feed.start()
        wait_until(lambda: d.status()["energy"]["ready"], 20, what="the energy accounts")
        wait_until(lambda: states(sub), 20, what="MQTT")
        http0 = d.status()["http"]             # (the rig's connect-and-close at start is one error)
        poller.start()
        report = []
        for path in ("/api/energy", "/api/status", "/metrics") * 2:
            for _ in range(5):
                feed.pause()
                time.sleep(0.3)                         # the last frame decoded
                before = comparable(path, fast_get(d.http_port, path))
                slow = SlowReader(d.http_port, path)
                after = comparable(path, fast_get(d.http_port, path))
                if before == after:
                    break
                slow.s.close()                          # a second went by: again
                feed.resume()
            else:
                raise AssertionError("no quiet moment for " + path)
            sent = feed.sent
            feed.resume()
            body = slow.finish()
            frames = feed.sent - sent
            assert frames >= 5, "frames arrived while %s was read: %d" % (path, frames)
            if path == "/metrics":
                prometheus(body)
            else:
                doc = json.loads(body, parse_float=Decimal)
                if path == "/api/energy":
                    check_energy(doc)
            assert comparable(path, body) == before
            report.append((path, len(body), round(slow.seconds, 1), frames))
        poller.done.set()
        poller.join(15)
        assert not poller.bad, poller.bad[:5]
        assert poller.answers > 20
        energy = [r for r in report if r[0] == "/api/energy"]
        assert min(r[1] for r in energy) > 8000, energy      # a month end's size
        got = states(sub)
        for payload in got:
            json.loads(payload)
        assert len(got) > 20
        s = d.status()
        assert s["http"]["errors"] == http0["errors"] and s["http"]["short_of_memory"] == 0, (s["http"], d.log())
        with capsys.disabled():
            print("\nslow readers (path, bytes, seconds, frames meanwhile): %s; MQTT states %d, "
                  "polls answered %d, heap peak %d" % (report, len(got), poller.answers, s["heap"]["peak"]))
    finally:
        feed.done.set()
        poller.done.set()
        sub.close()
        d.stop()
        meter.close()
        broker.stop()


# --- another origin, another name --------------------------------------------

class Foreign:
    """A web site on another origin (127.0.0.1, another port) with pages
    aimed at the dongle."""

    def __init__(self, pages):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_another_site_changes_nothing_and_locks_nobody_out(tmp_path, browser):  # noqa: F811
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    target = "http://127.0.0.1:%d/setup" % d.http_port
    site = Foreign({
        "/submit.html": ('<form id="f" method="post" action="%s">'
                         '<input name="current_password" value="%s"><input name="mqtt_host" value="10.6.6.6">'
                         '</form><script>document.getElementById("f").submit()</script>' % (target, ADMIN)),
        # one after the other (at once, more than 3 would be refused 503 for
        # the per-address cap before any check)
        "/fetch.html": ('<script>(async () => { for (let i = 0; i < 8; i++) { try { await fetch("%s",'
                        ' {method: "POST", mode: "no-cors", body: new URLSearchParams('
                        '{current_password: "guess" + i, mqtt_host: "10.6.6.6"})}); document.title += "s" }'
                        ' catch (e) { document.title += "f" }'
                        ' await new Promise(r => setTimeout(r, 200)) } })()</script>' % target),
    })
    try:
        before = (d.dir / "config.json").read_bytes()
        browser.get(site.url + "/submit.html")
        wait_until(lambda: d.status()["http"]["cross_site"] >= 1, 15, what="the cross-site form post")
        time.sleep(1)
        c1 = d.status()["http"]["cross_site"]
        browser.get(site.url + "/fetch.html")
        wait_until(lambda: len(browser.title) == 8, 30, step=0.2, what="the no-cors fetches")
        # (Chromium's own idle connections may take the address's 3 places,
        # and a fetch is then refused 503 before any check: no try either)
        assert d.status()["http"]["cross_site"] - c1 >= 4
        time.sleep(1.5)                        # a change would reboot within a second
        assert d.proc.poll() is None
        assert (d.dir / "config.json").read_bytes() == before
        assert "wrong admin password" not in d.log()
        # the owner, from the dongle's own page, is not locked out
        body = "current_password=%s&mqtt_host=192.168.1.9" % quote(ADMIN)
        status, _, page = d.get("/setup", "POST", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:%d" % d.http_port})
        assert status == 200 and b"Saved" in page
        assert json.loads((d.dir / "config.json").read_text())["mqtt"]["host"] == "192.168.1.9"
    finally:
        site.close()
        d.stop()
        meter.close()


def test_names_not_ours_are_refused_on_every_route(tmp_path):
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    try:
        for path, methods in routes().items():
            for method in methods:
                body = "current_password=%s" % ADMIN if method == "POST" else ""
                for host in ("evil.example", "evil.example:%d" % d.http_port, "dongle.evil.example"):
                    req = (b"%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (method.encode(), path.encode(), host.encode(),
                                                               len(body), body.encode()))
                    status, _, answer = ask(d.http_port, req)
                    assert status == 421, (method, path, host, answer)
                    assert b"answers to" in answer
        assert d.proc.poll() is None
        assert d.get("/api/status", headers={"Host": "127.0.0.1:%d" % d.http_port})[0] == 200
    finally:
        d.stop()
        meter.close()


# --- slow clients, strict parsing ---------------------------------------------

def slowloris(port, done, counts):
    """One attacker connection from 127.0.0.2: a header byte a second,
    reconnecting whenever the dongle closes it."""
    req = b"GET /api/reading HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    while not done.is_set():
        s = socket.socket()
        try:
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            counts["connects"] += 1
            for b in req:
                s.send(bytes([b]))
                r, _, _ = select.select([s], [], [], 1.0)
                if r or done.is_set():
                    break                     # answered (408, 503) or closed
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.05)


def test_slowloris_leaves_polls_their_share(tmp_path, capsys):
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    feed = Feed(meter, (int(datetime(2026, 1, 15, 12, tzinfo=timezone.utc).timestamp()), 1_000_000,
                        9_000_000, 0), per_s=1)
    done = threading.Event()
    counts = {"connects": 0}
    try:
        wait_until(meter.connected, what="the meter link")
        feed.start()
        wait_until(lambda: d.get("/api/reading")[0] == 200, 10, what="a reading")
        attackers = [threading.Thread(target=slowloris, args=(d.http_port, done, counts), daemon=True)
                     for _ in range(8)]
        for a in attackers:
            a.start()
        time.sleep(2)                          # all of them at it
        statuses = []
        end = time.time() + 20
        while time.time() < end:
            try:
                statuses.append(d.get("/api/reading")[0])
            except OSError as e:
                statuses.append(repr(e))
            time.sleep(0.5)
        done.set()
        share = statuses.count(200) / len(statuses)
        with capsys.disabled():
            print("\nslowloris x8: %d of %d polls answered 200 (%.1f %%), %d attacker connections"
                  % (statuses.count(200), len(statuses), 100 * share, counts["connects"]))
        assert share >= 0.95, statuses
        for a in attackers:
            a.join(5)
    finally:
        done.set()
        feed.done.set()
        d.stop()
        meter.close()


def test_chunked_and_duplicate_length_posts_are_no_password_tries(tmp_path):
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    try:
        before = (d.dir / "config.json").read_bytes()
        form = ("current_password=%s&mqtt_host=10.6.6.6" % quote(ADMIN)).encode()
        chunked = (b"POST /setup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(form), form))
        wrong = form.replace(ADMIN.encode(), b"not-the-password")
        twice = (b"POST /setup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: %d\r\nContent-Length: 3\r\n\r\n%s" % (len(wrong), wrong))
        for _ in range(6):
            status, _, body = ask(d.http_port, chunked)
            assert status == 411 and b"Content-Length" in body, body
            status, _, body = ask(d.http_port, twice)
            assert status == 400 and b"twice" in body, body
        assert (d.dir / "config.json").read_bytes() == before
        assert "wrong admin password" not in d.log()
        # not locked out: the same form with a Content-Length is taken
        status, _, body = ask(d.http_port, setup_request(form.decode()))
        assert status == 200, body
        assert json.loads((d.dir / "config.json").read_text())["mqtt"]["host"] == "10.6.6.6"
    finally:
        d.stop()
        meter.close()


def test_unconfigured_dongle_saves_nothing_without_an_admin_password(tmp_path):
    d = Dongle(tmp_path)                       # no config.json: unconfigured
    try:
        assert not d.status()["config"]["configured"]
        # (it keeps its setup network's password there)
        before = (d.dir / "config.json").read_bytes() if (d.dir / "config.json").exists() else None
        for form in ("", "wifi_ssid=home", "wifi_ssid=home&wifi_password=12345678&admin_password=short"):
            status, _, body = ask(d.http_port, setup_request(form))
            assert status == 400 and b"admin_password" in body, (form, body)
        time.sleep(1.5)
        assert d.proc.poll() is None
        assert ((d.dir / "config.json").read_bytes() if (d.dir / "config.json").exists() else None) == before
        assert not d.status()["config"]["configured"]
    finally:
        d.stop()


def test_board_names_only_from_the_boards_folder(tmp_path):
    meter = Meter()
    d = Dongle(tmp_path, config(meter))
    try:
        before = (d.dir / "config.json").read_bytes()
        for board in ("../config", "..%2Fconfig", "/etc/passwd", "unix/../../config"):
            form = "current_password=%s&board=%s" % (quote(ADMIN), board)
            status, _, body = ask(d.http_port, setup_request(form))
            assert status == 400 and b"no board file" in body, (board, body)
        time.sleep(1.5)
        assert d.proc.poll() is None
        assert (d.dir / "config.json").read_bytes() == before
    finally:
        d.stop()
        meter.close()


# --- MQTT on the reading's arrival ---------------------------------------------

def test_every_reading_is_published_once_as_it_arrives(tmp_path, capsys):
    """Frames 40 ms apart (closer than any poll of the state would see
    them): each is published exactly once, in order, within milliseconds."""
    broker = Broker(tmp_path)
    meter = Meter()
    d = Dongle(tmp_path, config(meter, broker))
    sub = Subscriber(broker.port, "han/+/state")
    feed = Feed(meter, (int(datetime(2026, 1, 15, 12, tzinfo=timezone.utc).timestamp()), 1_000_000,
                        9_000_000, 0))
    try:
        wait_until(meter.connected, what="the meter link")
        meter.send(feed.frame())
        wait_until(lambda: states(sub), 20, what="the first MQTT message")
        time.sleep(0.5)
        first = len(states(sub))
        sent, delays = [], []
        for _ in range(60):
            frame = feed.frame()
            n = len(sub.times)
            meter.send(frame)
            t0 = time.perf_counter()
            sent.append(re.search(rb"0-0:1\.0\.0\((\d{12})", frame).group(1).decode())
            try:
                wait_until(lambda: len(sub.times) > n, 2, step=0.0005, what="the message")
                delays.append((sub.times[n] - t0) * 1000)
            except AssertionError:
                pass                        # counted below
            time.sleep(0.04)
        for _ in range(40):                 # without waiting for them
            frame = feed.frame()
            meter.send(frame)
            sent.append(re.search(rb"0-0:1\.0\.0\((\d{12})", frame).group(1).decode())
            time.sleep(0.04)
        time.sleep(1)
        got = states(sub)[first:]
        times = [json.loads(p)["time"] for p in got]
        want = ["20%s-%s-%sT%s:%s:%s" % (s[:2], s[2:4], s[4:6], s[6:8], s[8:10], s[10:12]) for s in sent]
        assert times == want
        delays.sort()
        with capsys.disabled():
            print("\nMQTT: %d readings, %d messages; frame sent -> message delivered p50 %.1f ms, max %.1f ms"
                  % (len(sent), len(got), delays[len(delays) // 2], delays[-1]))
        assert delays[len(delays) // 2] < 20
    finally:
        sub.close()
        d.stop()
        meter.close()
        broker.stop()
