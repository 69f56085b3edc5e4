"""Heap budgets under MicroPython's unix port (64-bit build), deterministic
figures only (speed is `make bench`'s business):

- bytes allocated per message by Decoder.feed + to_json (goal: 3 KB);
- a long mixed stream with junk leaves the heap where it was after its
  first percent (no growth, no leak);
- the whole firmware, from make build's .mpy bundle as a board runs it,
  through an accelerated session inside a fixed heap: see
  test_firmware_session_fits_its_heap."""
import json
import random
import threading
from datetime import datetime

import pytest

import hanport
from testkit import heapfill, mpy
from testkit import rig
from testkit.config import dongle_config
from testkit.book import year_of_energy
from testkit.constants import BOOK32, FEATURES32, HEAP, HEAP32, METER_KEY
from encoders import axdr, dlms, mbus
import mp_measure
from meter_sim import SimMeter
from scenarios import sim_messages, utc

ROOT = mpy.ROOT
ALLOC_BUDGET = 3072       # bytes per message, issue 6's goal on this 64-bit build



def longest(make):
    """The longest message a simulated meter sends in its first hour
    (list 3 where the make has one)."""
    return max((d for d, _ in sim_messages(make, 400)), key=len)


def run_mp(tmp_path, mode, msgs, n, timeout=600, bits=64):
    path = tmp_path / "messages.bin"
    mp_measure.write(path, msgs)
    res = mpy.run([str(ROOT / "tools" / "mp_measure.py"), mode, str(path), str(n)], timeout=timeout, bits=bits)
    assert res.returncode == 0, res.stderr.decode() + res.stdout.decode()
    return dict(kv.split("=") for kv in res.stdout.decode().split())


@pytest.mark.parametrize("bits", [64, 32])
@pytest.mark.parametrize("make", ["p1", "aidon", "kaifa", "kamstrup"])
def test_allocation_per_message_within_budget(tmp_path, make, bits):
    """3 KB a message on both builds (on 32 bits objects are smaller, but
    11-digit registers are long ints, heap objects)."""
    data = sim_messages("p1", 1)[0][0] if make == "p1" else longest(make)
    got = run_mp(tmp_path, "frame", [data], 200, bits=bits)
    assert int(got["frames_ok"]) > 0 and int(got["readings"]) == 200     # it decoded, every time
    per = int(got["bytes_per_message"])
    print("%s (%d-bit): %d bytes allocated per message (budget %d)" % (make, bits, per, ALLOC_BUDGET))
    assert 0 < per <= ALLOC_BUDGET


def mixed_round():
    """One round of a mixed line: every simulated make's messages (lists
    1-3), an M-Bus-segmented message, a damaged P1 telegram, a damaged
    HDLC frame, an encrypted frame without its key, and junk."""
    rng = random.Random(5)
    parts = []
    for make in ("p1", "aidon", "kaifa", "kamstrup"):
        parts += [d for d, _ in sim_messages(make, 6)]
    parts.append(longest("aidon"))
    body = axdr.structure([axdr.octet_string(b"\x01\x00\x01\x07\x00\xff"), axdr.double_long_unsigned(1234)])
    parts += mbus.segments(dlms.data_notification(body), size=20)
    bad = bytearray(sim_messages("p1", 1)[0][0])
    bad[40] ^= 0x04
    parts.append(bytes(bad))
    bad = bytearray(longest("kaifa"))
    bad[30] ^= 0x10
    parts.append(bytes(bad))
    parts += [d for d, _ in sim_messages("kaifa", 2, key=METER_KEY)]
    parts.append(bytes(rng.randrange(256) for _ in range(300)).replace(b"\x7e", b"~~").replace(b"/", b"?"))
    parts.append(sim_messages("aidon", 1)[0][0])        # resynchronised after the junk
    return b"".join(parts)


def test_long_mixed_stream_does_not_grow_the_heap(tmp_path):
    one = mixed_round()
    dec1, dec2 = hanport.Decoder(), hanport.Decoder()
    dec1.feed(one)
    dec2.feed(one + one)
    s1, s2 = dec1.stats(), dec2.stats()
    assert s2 == {k: 2 * v for k, v in s1.items()}, "a round must leave the decoder as it found it"
    assert s1["crc_errors"] == 1 and s1["fcs_errors"] >= 1
    per_round = s1["frames_ok"] + s1["crc_errors"] + s1["fcs_errors"]
    rounds = -(-100_000 // per_round)
    got = run_mp(tmp_path, "stream", [one], rounds, timeout=900)
    for k, v in s1.items():
        assert int(got[k]) == v * rounds, k          # every frame, every rejection, counted
    first, end = int(got["heap_first"]), int(got["heap_end"])
    print("%d frames in %d rounds: heap %d bytes after 1%%, %d at the end" % (
        per_round * rounds, rounds, first, end))
    assert end <= first


# The firmware's heap budgets (HEAP on this 64-bit build, HEAP32 on the
# 32-bit one: the board's figures) are testkit.constants'; the sessions
# below hold the firmware to them.
SESSION_S = 40


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return rig.bundle(tmp_path_factory.mktemp("bundle"))


@pytest.mark.parametrize("make", ["p1", "aidon"])
def test_firmware_session_fits_its_heap(tmp_path, bundle, make):
    """A message every 100 ms, /api/reading ten times a second, MQTT
    publishing every reading: no MemoryError, no task restart, every
    message decoded and published, every poll answered."""
    lib, _ = bundle
    broker = rig.Broker(tmp_path)
    meter = rig.Meter()
    d = rig.Dongle(tmp_path, dongle_config(meter, make, broker), heapsize=HEAP[make], lib=lib)
    sub = rig.Subscriber(broker.port, "han/#")
    try:
        rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        s = rig.Session(d, meter, SimMeter(make, start=datetime(2026, 1, 15, 16, 59)))
        st = s.run(SESSION_S)
        log = d.log()
        print("%s: %d messages, heap peak %d bytes of %d (live after a collection), %d polls" % (
            make, s.sent, st["heap"]["peak"], HEAP[make], sum(s.poll_status.values())))
        assert "MemoryError" not in log and "Traceback" not in log, log[-3000:]
        assert st["task_restarts"] == {} and st["uptime_s"] >= SESSION_S
        assert st["frames"]["frames_ok"] == s.sent
        assert set(st["frames"].values()) <= {0, s.sent}            # nothing rejected
        assert not s.poll_failures and set(s.poll_status) <= {200, 503}
        assert s.poll_status.get(200, 0) >= SESSION_S * 5
        assert st["http"]["errors"] == s.before["http"]["errors"]     # the rig's connect probe: before
        # MQTT sends the latest state: two readings within one publishing
        # round (100 ms) go out as one
        assert s.sent * 0.9 <= st["mqtt"]["published"] <= s.sent
        rig.wait_until(lambda: len(sub.on("han/%s/state" % d.device_id[-6:])) >= st["mqtt"]["published"], 10,
                       what="every reading at the broker")
    finally:
        sub.close()
        d.stop()
        meter.close()
        broker.stop()


# The same sessions on the 32-bit build (the ESP32's object sizes), from a
# bundle compiled for it, with a burst of hostile clients half way, in
# HEAP32 (FEATURES32 more with issue 14's features on).
BURST_OUTCOMES = {"200", "400", "404", "408", "414", "431", "503"}


def hostile_burst(port, outcomes):
    """20 clients at once from another address: complete requests for the
    heavier documents, random bytes, an oversized header, slow senders."""
    from soak.clients import HOSTILE, exchange
    rng = random.Random(3)
    asks = [b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET /api/energy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
            b"GET /api/reading HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n",
            bytes(rng.getrandbits(8) for _ in range(700)) + b"\r\n\r\n",
            b"GET /api/reading HTTP/1.1\r\nX-Slow: "]
    lock = threading.Lock()

    def one(data):
        got = exchange(port, data, timeout=12, source=HOSTILE)
        with lock:
            outcomes.append(got)
    threads = [threading.Thread(target=one, args=(asks[i % len(asks)],), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)


@pytest.mark.parametrize("make", ["p1", "aidon", "kamstrup-gcm"])
def test_firmware_session_fits_its_heap_on_32_bits(tmp_path, bundle32, make):
    """As test_firmware_session_fits_its_heap, on the 32-bit build, an
    encrypted meter too, and 20 hostile clients at once half way: every
    message decoded and published, polls answered (503 under the burst is
    counted, not a failure), no MemoryError, no task restarted."""
    session32(tmp_path, bundle32, make)


@pytest.mark.parametrize("make", ["p1", "aidon"])
def test_session_with_homewizard_and_telegram_port_on_32_bits(tmp_path, bundle32, make):
    """The same with issue 14's features on: the HomeWizard API polled
    twice a second (/api/v1/data, and /api/v1/telegram for P1) and a
    client on the raw telegram port that gets every frame, byte for byte."""
    session32(tmp_path, bundle32, make, features=True)


@pytest.mark.parametrize("make", ["p1"])
def test_session_with_a_years_energy_accounts_on_32_bits(tmp_path, bundle32, make):
    """The same, the dongle a year old: energy.json with twelve closed
    months, two months of days and a day of hours (about 7 KB in RAM on
    32 bits), saved every 10 s: every save done, the accounts go on from
    the file."""
    session32(tmp_path, bundle32, make, book=True)


def session32(tmp_path, bundle32, make, features=False, book=False):
    lib, _ = bundle32
    broker = rig.Broker(tmp_path)
    meter = rig.Meter()
    sim_make, kw, cipher = make, {}, {}
    if make == "kamstrup-gcm":
        sim_make, kw, cipher = "kamstrup", {"key": METER_KEY}, {"key": METER_KEY}
    cfg = dongle_config(meter, sim_make, broker, meter=cipher)
    if book:
        (tmp_path / "flash").mkdir()
        # the simulated meter starts at 15:59 UTC, its import register at 12,345,678 Wh
        year_of_energy(tmp_path / "flash" / "energy.json", utc(2026, 1, 15, 15, 0, 0), 12340000)
        cfg["energy"] = {"save_s": 10}
    if features:
        cfg.update(homewizard=True, telegram_server=rig.free_port())
    else:
        # on the board the firmware's own mDNS responder holds UDP 5353
        # and ours lets go at start (README, Hardware-only notes): off here
        cfg["mdns"] = False
    heap = HEAP32[make] + (FEATURES32 if features else 0) + (BOOK32 if book else 0)
    d = rig.Dongle(tmp_path, cfg, heapsize=heap, lib=lib, bits=32)
    sub = rig.Subscriber(broker.port, "han/#")
    outcomes = []
    extra = Issue14Clients(d, cfg["telegram_server"], make) if features else None
    burst = threading.Timer(SESSION_S / 2, hostile_burst, (d.http_port, outcomes))
    try:
        rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        s = rig.Session(d, meter, SimMeter(sim_make, start=datetime(2026, 1, 15, 16, 59), **kw))
        if extra:
            extra.start(meter)
        burst.start()
        st = s.run(SESSION_S)
        burst.join(30)
        log = d.log()
        print("%s (32-bit%s): %d messages, heap peak %d bytes of %d, polls %s, burst %s" % (
            make, ", homewizard and telegram port on" if features else "", s.sent, st["heap"]["peak"],
            heap, s.poll_status, {k: outcomes.count(k) for k in set(outcomes)}))
        if extra:
            extra.check(st)
        assert "MemoryError" not in log and "Traceback" not in log, log[-3000:]
        assert st["task_restarts"] == {} and st["uptime_s"] >= SESSION_S
        assert st["frames"]["frames_ok"] == s.sent
        assert set(st["frames"].values()) <= {0, s.sent}
        assert len(outcomes) == 20 and set(outcomes) <= BURST_OUTCOMES, outcomes
        assert not s.poll_failures and set(s.poll_status) <= {200, 503}
        assert s.poll_status.get(200, 0) >= SESSION_S * 5
        assert s.sent * 0.9 <= st["mqtt"]["published"] <= s.sent
        rig.wait_until(lambda: len(sub.on("han/%s/state" % d.device_id[-6:])) >= st["mqtt"]["published"], 10,
                       what="every reading at the broker")
        if book:
            energy = rig.wait_until(lambda: (lambda r: r[1] if r[0] == 200 else None)(d.json("/api/energy")), 10,
                                    what="/api/energy (503 while the heap is short)")
            assert energy["problems"] == [] and len(energy["months"]) == 12, energy
            assert energy["month"]["days"] == 15 and st["energy"]["saves"] >= 2, st["energy"]
            assert "energy: cannot save" not in log
    finally:
        burst.cancel()
        if extra:
            extra.stop()
        sub.close()
        d.stop()
        meter.close()
        broker.stop()


class Issue14Clients:
    """During a session: HomeWizard API polls and a raw telegram port
    client recording what it gets, and what the meter sent (wrapping the
    rig's meter)."""

    def __init__(self, d, port, make):
        self.d, self.port, self.make = d, port, make
        self.hw = {}
        self.got = []
        self.sent = []
        self._stop = threading.Event()
        self.threads = []

    def start(self, meter):
        self.sock = rig.wait_until(lambda: _connect(self.port), 10, what="the telegram port")
        rig.wait_until(lambda: self.d.status()["telegram_server"]["clients"] == 1, 5, what="the client accepted")
        send = meter.send

        def recording(data):
            self.sent.append(data)
            return send(data)
        meter.send = recording
        self.threads = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._poll, daemon=True)]
        for t in self.threads:
            t.start()

    def _read(self):
        self.sock.settimeout(1)
        while not self._stop.is_set():
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                continue
            if not chunk:
                return
            self.got.append(chunk)

    def _poll(self):
        paths = ["/api/v1/data"] + (["/api/v1/telegram"] if self.make == "p1" else [])
        while not self._stop.is_set():
            for path in paths:
                try:
                    code = self.d.get(path)[0]
                except OSError:
                    code = "error"
                self.hw[code] = self.hw.get(code, 0) + 1
            self._stop.wait(0.5)

    def check(self, st):
        rig.wait_until(lambda: len(b"".join(self.got)) >= sum(map(len, self.sent)), 10,
                       what="every frame at the telegram client")
        assert b"".join(self.got) == b"".join(self.sent)
        ts = st["telegram_server"]
        assert ts["dropped"] == 0 and ts["clients"] == 1
        print("  homewizard polls %s, telegram port %s" % (self.hw, ts))
        assert set(self.hw) <= {200, 503} and self.hw.get(200, 0) >= SESSION_S

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(5)
        try:
            self.sock.close()
        except (OSError, AttributeError):
            pass


def _connect(port):
    import socket
    try:
        return socket.create_connection(("127.0.0.1", port), 1)
    except OSError:
        return None


# MicroPython interns every name and short string of the code it loads in
# pools that are never freed and that double in size: on the 32-bit build
# the 7th pool (about 9 KB in one block) opens at the 1261st qstr. Every
# module the board can load, all loaded at once (each is loaded for its
# feature and let go after, but its names stay), must leave room below
# that for the names made at run time and the ESP32 platform's few more.
QSTR_CEILING = 1200
QSTR_POOL7 = 1260


def test_every_module_loaded_stays_below_the_next_qstr_pool(tmp_path, bundle32):
    lib, _ = bundle32
    names = []
    for path in sorted(lib.rglob("*.mpy")):
        name = ".".join(path.relative_to(lib).with_suffix("").parts)
        # (CPython-only variants, and the ESP32 platform, which needs machine)
        if name.endswith(("_cpython", "p1_fast", "__init__", "platform.esp32")):
            continue
        names.append(name)
    assert "dongle.app" in names and "hanport.dlms" in names and "dongle.mdns" in names
    script = tmp_path / "qstrs.py"
    script.write_text("import micropython\nfor n in %r:\n    __import__(n)\nmicropython.qstr_info()\n" % names)
    res = mpy.run([str(script)], bits=32, cwd=str(tmp_path), path=lib)
    out = res.stdout.decode()
    assert res.returncode == 0, out + res.stderr.decode()
    n_qstr = int(out.split("n_qstr=")[1].split(",")[0])
    print("%d modules: %d qstrs (ceiling %d, the next pool opens at %d)" % (len(names), n_qstr, QSTR_CEILING, QSTR_POOL7))
    assert n_qstr <= QSTR_CEILING


# A year-old dongle reads its energy accounts at start, beside everything
# else start-up has loaded. Under the 32-bit build: the file loaded with
# YEAR_ROOM bytes of heap left (heapfill), which json.load of the whole file
# alone does not fit in (the file's form parsed whole is 11 KB of objects,
# its long ints and date strings), and the accounts the same as the book
# that wrote it; a new dongle's file, with no day yet, loads too.
YEAR_ROOM = 10752
YEAR_LOAD = heapfill.CODE + r"""
import json
from dongle import energy, energyview


class Ledger:                         # (what load_file reads and sets of one)
    path = "energy.json"
    problem = None

    def __init__(self):
        self.book = energy.Energy("CET", 3)

    def new_book(self):
        return energy.Energy("CET", 3)


ledger = Ledger()
fill(ROOM)
try:
    energyview.load_file(ledger)
    loaded = ledger.problem or "ok"
except MemoryError:
    loaded = "MemoryError"
empty()
fill(ROOM)
try:
    f = open("energy.json", "rb")
    f.readline()
    whole = json.load(f)
    parsed = "ok"
except MemoryError:
    parsed = "MemoryError"
whole = None
empty()
# and a new dongle's file: no day, no hour, no closed month yet
energyview.write(energy.Energy("CET", 3), "new.json")
new = Ledger()
new.path = "new.json"
energyview.load_file(new)
e = ledger.book
print("RESULT " + json.dumps({"loaded": loaded, "parsed": parsed, "new": new.problem, "days": sorted(e.days.items()),
                              "months": sorted((k, list(v)) for k, v in e.months.items()),
                              "hours": sorted(e.hours.items()), "prov": sorted(e.prov.items()),
                              "anchor": e.anchor, "last": e.last, "reg_t": e.reg_t}))
"""


def test_a_years_energy_file_loads_a_day_and_a_month_at_a_time(tmp_path, bundle32):
    lib, _ = bundle32
    book = year_of_energy(tmp_path / "energy.json", utc(2026, 1, 15, 15, 0, 0), 12340000)
    res = mpy.run(["-c", YEAR_LOAD.replace("ROOM", str(YEAR_ROOM))], heapsize="96K", bits=32,
                  cwd=str(tmp_path), path=lib)
    out = res.stdout.decode()
    assert res.returncode == 0, out + res.stderr.decode()
    got = json.loads([line for line in out.splitlines() if line.startswith("RESULT ")][0][7:])
    assert got["parsed"] == "MemoryError" and got["loaded"] == "ok", got
    assert got["new"] is None
    assert len(got["days"]) == len(book.days) >= 40 and len(got["months"]) == 12
    assert got["days"] == [[k, v] for k, v in sorted(book.days.items())]
    assert got["months"] == [[k, list(v)] for k, v in sorted(book.months.items())]
    assert got["hours"] == [[k, v] for k, v in sorted(book.hours.items())]
    assert got["prov"] == [[k, v] for k, v in sorted(book.prov.items())]
    assert [got["anchor"], got["last"], got["reg_t"]] == [book.anchor, book.last, book.reg_t]
