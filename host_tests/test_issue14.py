"""Issue 14 on the virtual dongle: the HomeWizard-compatible local API v1
read by python-homewizard-energy (the client library of Home Assistant's
HomeWizard integration), and the raw telegram port read by dsmr_parser's
TCP reader (Home Assistant's DSMR integration) and amshan's HDLC reader.
Real firmware, real client libraries, loopback only."""
import asyncio
import json
import socket
import threading
import time
from datetime import datetime
from decimal import Decimal

import pytest

from testkit import rig
from testkit.config import dongle_config
from meter_sim import SimMeter
from peers import FIELD as AMSHAN_FIELD
from peers import DSMR_FIELD, UNIT_SHIFT

START = datetime(2026, 1, 15, 16, 59, 50)

# HomeWizard's name -> ours, same units
SAME = {"total_power_import_t1_kwh": "energy_import_t1_kwh", "total_power_import_t2_kwh": "energy_import_t2_kwh",
        "total_power_export_t1_kwh": "energy_export_t1_kwh", "total_power_export_t2_kwh": "energy_export_t2_kwh",
        "active_frequency_hz": "frequency_hz", "active_power_average_w": "power_import_avg_w",
        "montly_power_peak_w": "power_import_month_peak_w", "total_gas_m3": "gas_m3"}
for _n in (1, 2, 3):
    SAME["active_voltage_l%d_v" % _n] = "voltage_l%d_v" % _n
    SAME["active_current_l%d_a" % _n] = "current_l%d_a" % _n
# the client's attribute for each of HomeWizard's names (models.Data.from_dict)
CLIENT_ATTR = {k: k for k in SAME}
CLIENT_ATTR.update({k: k.replace("total_power_", "total_energy_") for k in SAME if k.startswith("total_power_")})
CLIENT_ATTR.update({"montly_power_peak_w": "monthly_power_peak_w", "total_power_import_kwh": "total_energy_import_kwh",
                    "total_power_export_kwh": "total_energy_export_kwh", "active_power_w": "active_power_w"})
for _n in (1, 2, 3):
    CLIENT_ATTR["active_power_l%d_w" % _n] = "active_power_l%d_w" % _n


class Setup:
    def __init__(self, tmp_path, make, **extra):
        self.make = make
        self.meter = rig.Meter()
        self.d = rig.Dongle(tmp_path, dongle_config(self.meter, make, **extra))
        self.sim = SimMeter(make, start=START)
        self.sent = []
        rig.wait_until(self.meter.connected, 15, what="the dongle to connect to the meter")

    def send(self, n, pause=0.05):
        for _ in range(n):
            f = self.sim.next_frame().data
            self.sent.append(f)
            self.meter.send(f)
            time.sleep(pause)

    def frames_ok(self):
        return self.d.status()["frames"]["frames_ok"]

    def settle(self):
        want = len(self.sent)
        rig.wait_until(lambda: self.frames_ok() >= want, 10, what="every frame decoded")

    def values(self):
        status, _, body = self.d.get("/api/reading")
        assert status == 200
        return json.loads(body, parse_float=Decimal, parse_int=Decimal)

    def close(self):
        self.d.stop()
        self.meter.close()


@pytest.fixture
def setup(tmp_path):
    made = []

    def make(kind, **extra):
        s = Setup(tmp_path / str(len(made)), kind, **extra)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def expected_homewizard(values):
    """/api/reading's values in HomeWizard's names and units (the same
    units; power signed import minus export)."""
    want = {hw: values[ours] for hw, ours in SAME.items() if ours in values}
    for way in ("import", "export"):
        if "energy_%s_kwh" % way in values:
            want["total_power_%s_kwh" % way] = values["energy_%s_kwh" % way]
        elif "energy_%s_t1_kwh" % way in values and "energy_%s_t2_kwh" % way in values:
            want["total_power_%s_kwh" % way] = values["energy_%s_t1_kwh" % way] + values["energy_%s_t2_kwh" % way]
    for hw, imp, exp in [("active_power_w", "power_import_w", "power_export_w")] + [
            ("active_power_l%d_w" % n, "power_import_l%d_w" % n, "power_export_l%d_w" % n) for n in (1, 2, 3)]:
        if imp in values or exp in values:
            want[hw] = values.get(imp, Decimal(0)) - values.get(exp, Decimal(0))
    return want


async def _client(port):
    from homewizard_energy import HomeWizardEnergy
    async with HomeWizardEnergy("127.0.0.1:%d" % port) as hw:
        device = await hw.device()
        data = await hw.data()
        await hw._session.close()
    return device, data


def test_homewizard_api_is_off_by_default(setup):
    s = setup("p1")
    s.send(2)
    s.settle()
    for path in ("/api", "/api/v1/data", "/api/v1/telegram"):
        assert s.d.get(path)[0] == 404
    st = s.d.status()
    assert st["homewizard"] == {"on": False, "served": 0, "refused": 0}
    assert st["telegram_server"] == {"port": 0}


@pytest.mark.parametrize("make", ["p1", "aidon"])
def test_homewizard_client_reads_the_readings_values(setup, make):
    """python-homewizard-energy reads /api and /api/v1/data: every value it
    returns equals /api/reading's in HomeWizard's units; the JSON has
    exact decimals and no nulls."""
    s = setup(make, homewizard=True)
    s.send(12 if make == "aidon" else 3)
    s.settle()
    reading = s.values()
    values = reading["values"]
    device, data = asyncio.run(_client(s.d.http_port))
    assert (device.product_type, device.api_version, device.serial) == ("HWE-P1", "v1", s.d.device_id)
    assert device.firmware_version and device.product_name

    status, headers, body = s.d.get("/api/v1/data")
    assert status == 200 and headers["Content-Type"] == "application/json"
    raw = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    assert None not in raw.values()
    want = expected_homewizard(values)
    assert len(want) >= 8
    numbers = {k: v for k, v in raw.items() if k in CLIENT_ATTR}
    assert numbers == want                            # exact: Decimal from the JSON text
    for hw, v in want.items():
        assert getattr(data, CLIENT_ATTR[hw]) == float(v), hw
    for hw, ours in SAME.items():                     # the very digits /api/reading has
        if ours in values:
            token = json.dumps(json.loads(s.d.get("/api/reading")[2])["values"][ours])
            assert ('"%s": %s' % (hw, token)).encode() in body
    assert data.wifi_ssid == "home" and data.meter_model == reading["meter"]["model"]
    assert data.unique_meter_id == reading["meter"]["id"]
    if make == "p1":
        assert data.smr_version is None or data.smr_version == int(reading["meter"]["version"])
    else:
        assert data.smr_version is None
    assert data.wifi_strength is None                 # the virtual dongle has no radio: left out
    assert s.d.status()["homewizard"]["served"] == 3


def test_homewizard_telegram_is_the_last_p1_telegram_as_sent(setup):
    s = setup("p1", homewizard=True)
    assert s.d.get("/api/v1/telegram")[0] == 503        # none yet
    s.send(3)
    s.settle()
    status, headers, body = s.d.get("/api/v1/telegram")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body == s.sent[-1] and body.startswith(b"/") and body.endswith(b"\r\n")

    async def text():
        from homewizard_energy import HomeWizardEnergy
        async with HomeWizardEnergy("127.0.0.1:%d" % s.d.http_port) as hw:
            t = await hw.request("api/v1/telegram")
            await hw._session.close()
            return t
    assert asyncio.run(text()) == s.sent[-1].decode()


def test_homewizard_telegram_of_a_binary_meter_is_404(setup):
    s = setup("aidon", homewizard=True)
    s.send(2)
    s.settle()
    status, _, body = s.d.get("/api/v1/telegram")
    assert status == 404 and "no P1 telegram" in json.loads(body)["error"]


def test_homewizard_routes_refuse_bodies_and_other_methods(setup):
    """4xx, counted; nothing else disturbed: the reading, the meter, the
    other routes."""
    s = setup("p1", homewizard=True)
    s.send(2)
    s.settle()
    before = s.d.status()

    def ask(*args, **kw):
        # one at a time: a refused request's connection lingers a moment
        # (http.py reads what the client still sends), and one address may
        # hold 3 at once
        rig.wait_until(lambda: s.d.status()["http"]["active"] == 1, 5, what="no other request")
        return s.d.get(*args, **kw)
    assert ask("/api/v1/data", "POST", body=b'{"a": 1}', headers={"Content-Type": "application/json"})[0] == 405
    assert ask("/api/v1/data", "PUT", body=b"{}")[0] == 405
    assert ask("/api", "DELETE")[0] == 405
    got = ask("/api/v1/data", "GET", body=b"xyz")
    assert got[0] == 400 and b"no body" in got[2]
    assert ask("/api/v1/state")[0] == 404                       # not an energy socket
    assert ask("/api/v1/identify", "PUT")[0] == 404
    st = s.d.status()
    assert st["homewizard"]["refused"] == before["homewizard"]["refused"] + 6
    assert st["task_restarts"] == {} and st["http"]["errors"] == before["http"]["errors"]
    s.send(1)
    rig.wait_until(lambda: s.frames_ok() == 3, 5, what="the next frame")
    assert s.d.get("/api/v1/data")[0] == 200 and s.d.get("/api/reading")[0] == 200


def test_config_rejects_a_bad_telegram_port(tmp_path):
    meter = rig.Meter()
    d = rig.Dongle(tmp_path, {"board": "unix", "meter": {"port": "tcp://127.0.0.1:%d" % meter.port},
                              "telegram_server": 70000, "homewizard": "yes"})
    try:
        problems = d.status()["config"]["problems"]
        assert any(p.startswith("telegram_server: must be a port number") for p in problems)
        assert any(p.startswith("homewizard: wrong type") for p in problems)
        assert d.status()["telegram_server"] == {"port": 0}
    finally:
        d.stop()
        meter.close()


# --- the raw telegram port --------------------------------------------------

def _connect(port):
    return rig.wait_until(lambda: _try_connect(port), 10, what="the telegram port")


def _try_connect(port):
    try:
        return socket.create_connection(("127.0.0.1", port), 1)
    except OSError:
        return None


def receive(sock, size):
    """size bytes from sock, each read within 5 s; it must not close before."""
    sock.settimeout(5)
    data = b""
    while len(data) < size:
        chunk = sock.recv(65536)
        assert chunk
        data += chunk
    return data


def test_dsmr_parser_reads_the_telegram_port(setup):
    """dsmr_parser's TCP reader (create_tcp_dsmr_reader, "5S"), as Home
    Assistant's DSMR integration runs it: every telegram sent, the values
    equal /api/reading's; each client gets the meter's bytes exactly."""
    tport = rig.free_port()
    s = setup("p1", telegram_server=tport)
    raw = _connect(tport)
    rig.wait_until(lambda: s.d.status()["telegram_server"]["clients"] == 1, 5, what="the raw client accepted")
    got = []

    async def read():
        from dsmr_parser.clients.protocol import create_tcp_dsmr_reader
        loop = asyncio.get_running_loop()
        transport, protocol = await create_tcp_dsmr_reader("127.0.0.1", tport, "5S", got.append, loop=loop)
        await asyncio.sleep(0.5)            # (accepted within the firmware's 100 ms poll)
        await asyncio.get_running_loop().run_in_executor(None, s.send, 5, 0.1)
        for _ in range(100):
            if len(got) >= 5:
                break
            await asyncio.sleep(0.1)
        transport.close()
    asyncio.run(read())
    assert len(got) == 5
    values = s.values()["values"]
    last = {}
    for name, obj in got[-1]:
        if name in DSMR_FIELD and getattr(obj, "value", None) is not None:
            last[DSMR_FIELD[name]] = Decimal(obj.value).scaleb(UNIT_SHIFT.get((obj.unit or "").lower(), 0))
    assert len(last) >= 10
    assert {k: values[k] for k in last} == last
    want = b"".join(s.sent)
    assert receive(raw, len(want)) == want          # byte for byte, CRC and CRLF included
    raw.close()
    st = s.d.status()["telegram_server"]
    assert st["accepted"] == 2 and st["dropped"] == 0 and st["frames"] >= 10


def test_amshan_reads_an_aidon_meters_frames_from_the_port(setup):
    tport = rig.free_port()
    s = setup("aidon", telegram_server=tport)
    c = _connect(tport)
    rig.wait_until(lambda: s.d.status()["telegram_server"]["clients"] == 1, 5, what="the client accepted")
    s.send(12)
    s.settle()
    want = b"".join(s.sent)
    data = receive(c, len(want))
    c.close()
    assert data == want             # each HDLC frame as sent, with its two flags
    from han import autodecoder, hdlc
    dec = autodecoder.AutoDecoder()
    decoded = []
    for frame in hdlc.HdlcFrameReader(False).read(data):
        assert frame.is_good_ffc and frame.is_expected_length
        decoded.append(dec.decode_message(frame))
    assert len(decoded) == len(s.sent)
    merged = {}
    for d in decoded:
        merged.update(d)
    values = s.values()["values"]
    compared = 0
    for key, v in merged.items():
        if key in AMSHAN_FIELD:
            field, shift = AMSHAN_FIELD[key]
            assert values[field] == Decimal(str(v)).scaleb(shift), field
            compared += 1
    assert compared >= 10


def test_a_client_that_stops_reading_is_dropped_and_delays_nothing(setup):
    """A client with a tiny receive window that never reads (its window and
    the dongle's send buffer fill within a few frames: what a minute of a
    stuck client comes to) is dropped; a reading client gets every frame,
    /api/reading answers promptly throughout; a client sending bytes has
    them read, counted and ignored; a 4th client is refused."""
    tport = rig.free_port()
    s = setup("p1", telegram_server=tport)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    stuck.connect(("127.0.0.1", tport))
    good = _connect(tport)
    talker = _connect(tport)
    rig.wait_until(lambda: s.d.status()["telegram_server"]["clients"] == 3, 5, what="three clients")
    fourth = _connect(tport)
    rig.wait_until(lambda: s.d.status()["telegram_server"]["refused"] == 1, 5, what="the 4th refused")
    fourth.settimeout(5)
    assert fourth.recv(100) == b""
    fourth.close()
    talker.sendall(b"hello dongle\r\n" * 100)
    received = []

    def reader():
        good.settimeout(10)
        while True:
            try:
                chunk = good.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            received.append(chunk)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    worst = 0.0
    for _ in range(40):
        s.send(1, 0)
        t0 = time.perf_counter()
        assert s.d.get("/api/reading")[0] == 200
        worst = max(worst, time.perf_counter() - t0)
        time.sleep(0.05)
    s.settle()
    st = s.d.status()
    ts = st["telegram_server"]
    assert ts["dropped"] == 1 and ts["clients"] == 2
    assert ts["ignored_bytes"] == 1400
    assert worst < 0.5, worst
    assert st["frames"]["frames_ok"] == 40 and st["task_restarts"] == {}
    rig.wait_until(lambda: len(b"".join(received)) >= sum(map(len, s.sent)), 5, what="every frame at the reader")
    assert b"".join(received) == b"".join(s.sent)
    assert "telegram port: a client dropped: does not read" in s.d.log()
    stuck.close()
    good.close()
    talker.close()


# --- the decoder's hook ----------------------------------------------------

def test_decoder_on_raw_gives_each_checked_frame_as_sent():
    """on_raw: every frame that passed its link check, byte for byte (P1
    with its CRC and CRLF, HDLC with its flags, M-Bus segments, a bare
    ciphered frame); damaged frames and junk never; off costs nothing."""
    import hanport
    from encoders import axdr, dlms, mbus
    p1 = [SimMeter("p1", start=START).next_frame().data for _ in range(2)]
    hdlc = [f.data for f in (lambda m: [m.next_frame() for _ in range(3)])(SimMeter("aidon", start=START))]
    body = axdr.structure([axdr.octet_string(b"\x01\x00\x01\x07\x00\xff"), axdr.double_long_unsigned(1234)])
    segs = mbus.segments(dlms.data_notification(body), size=20)
    bad = bytearray(p1[0])
    bad[40] ^= 0x04
    lower = p1[1][:-6] + p1[1][-6:-2].lower() + b"\r\n"      # CRC digits in lower case: kept as sent
    got = []
    d = hanport.Decoder()
    d.on_raw = got.append
    stream = [p1[0], b"junk\x00\x7e", bytes(bad), hdlc[0], lower] + segs + hdlc[1:]
    readings = []
    for part in stream:
        for i in range(0, len(part), 7):                   # any chunking
            readings += d.feed(part[i:i + 7])
    assert [bytes(g) for g in got] == [p1[0], hdlc[0], lower] + segs + hdlc[1:]
    assert len(readings) == 1 + 1 + 1 + 1 + 2 and d.crc_errors == 1
    plain = hanport.Decoder()
    assert len(plain.feed(b"".join(stream))) == len(readings)


def test_decoder_on_raw_gives_the_longest_telegram_whole():
    """A telegram of exactly CAP bytes with its CRC is held, decoded and
    given to on_raw whole (its four CRC digits too); a byte longer is
    oversized and given to nobody."""
    import hanport
    from hanport.crc import crc_arc

    def telegram(size):
        head = b"/ELL5\\253833635_A\r\n\r\n1-0:1.8.0(00001234.567*kWh)\r\n0-0:96.13.0("
        tail = b")\r\n!"
        text = head + b"41" * ((size - len(head) - len(tail) - 4) // 2) + tail
        assert len(text) + 4 == size
        return text + b"%04X\r\n" % crc_arc(text, 0, len(text))

    longest, over = telegram(hanport.CAP), telegram(hanport.CAP + 2)
    got = []
    d = hanport.Decoder()
    d.on_raw = got.append
    readings = d.feed(longest) + d.feed(over) + d.feed(longest)
    assert len(readings) == 2 and d.oversized == 1
    assert [bytes(g) for g in got] == [longest, longest]


def test_decoder_on_raw_gives_a_bare_ciphered_frame_as_sent():
    """Luxembourg's bare general-glo-ciphered P1: the frame as sent (still
    encrypted, copied before decryption in place), only once its tag
    checks; with a wrong key, nothing."""
    import random

    from testkit import bingen
    import hanport
    rng = random.Random(14)
    keys = bingen.Keys(rng)
    msgs = [bingen.random_message(rng, keys, lux=True) for _ in range(2)]
    got = []
    d = hanport.Decoder(keys.ek, keys.ak)
    d.on_raw = got.append
    assert len(d.feed(msgs[0].data + msgs[1].data)) == 2
    assert [bytes(g) for g in got] == [msgs[0].data, msgs[1].data]
    wrong = []
    d = hanport.Decoder(bytes(16), keys.ak)
    d.on_raw = wrong.append
    assert d.feed(msgs[0].data) == [] and wrong == []


def test_setup_form_has_the_homewizard_switch(tmp_path):
    """One switch on the setup page: off by default, on after the form
    says so, and the API answers after the reboot."""
    d = rig.Dongle(tmp_path, raw_config=None)
    try:
        page = d.get("/setup")[2].decode()
        assert '<select id="homewizard" name="homewizard"><option value="0" selected>off</option>' in page
        form = "wifi_ssid=home&board=unix&meter_serial=auto&admin_password=admin-pass-1&homewizard=1"
        status, _, body = d.get("/setup", "POST", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        d.proc.wait(10)
        assert json.loads((d.dir / "config.json").read_text())["homewizard"] is True
        d.start()
        assert '<option value="1" selected>on</option>' in d.get("/setup")[2].decode()
        assert d.json("/api")[1]["product_type"] == "HWE-P1"
    finally:
        d.stop()
