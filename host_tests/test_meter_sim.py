"""tools/meter_sim.py: the simulated meters' frames decode (hanport) to
exactly the values the simulator says it sent; cadence and energy
registers behave like the real meters; speed, faults, TCP (with the
dongle's SERIAL announcement), pty, encryption and capture playback."""
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest

from testkit import corpus
from testkit.rig import wait_until
import hanport
import meter_sim
from encoders import meters

ROOT = corpus.ROOT
SIM = ROOT / "tools" / "meter_sim.py"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() \
    else sys.executable
START = datetime(2026, 1, 15, 16, 58, 0)
KEY = "000102030405060708090A0B0C0D0E0F"
AUTH = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def frames(meter, n, **kw):
    kw.setdefault("start", START)
    sim = meter_sim.SimMeter(meter, **kw)
    return [sim.next_frame() for _ in range(n)]


def feed_in_chunks(dec, data, seed=1):
    """Bytes into a decoder in random chunks, as a UART delivers them."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 200)
        out += dec.feed(data[i:i + n])
        i += n
    return out


# --- values ----------------------------------------------------------------------------

@pytest.mark.parametrize("phases", [3, 1])
@pytest.mark.parametrize("meter", meter_sim.METERS)
def test_frames_decode_to_the_values_reported(meter, phases):
    got = frames(meter, 400, phases=phases, seed=11)
    dec = hanport.Decoder()
    readings = feed_in_chunks(dec, b"".join(f.data for f in got))
    assert len(readings) == len(got), (dec.stats(), dec.last_error)
    for f, r in zip(got, readings):
        assert r.values() == f.values, (f.kind, f.time)
    assert dec.frames_ok == len(got) and sum(dec.stats().values()) == len(got)
    kinds = {f.kind for f in got}
    assert kinds == ({"telegram"} if meter == "p1" else
                     {"list1", "list2"} | ({"list3"} if meter in ("aidon", "kaifa") else set()))


def test_values_are_the_households_truncated_to_each_wire():
    """One household behind every list: Kaifa (mA, Wh) shows what Aidon
    (0.1 A, 10 Wh) and Kamstrup (0.01 A, whole volts) show, truncated."""
    start = datetime(2026, 1, 15, 17, 0, 10)
    aidon, kaifa, kamstrup = (meter_sim.SimMeter(m, start=start, seed=4).next_frame()
                              for m in ("aidon", "kaifa", "kamstrup"))
    assert (aidon.kind, kaifa.kind) == ("list3", "list3")
    e = Decimal(kaifa.values["energy_import_kwh"])
    assert Decimal(aidon.values["energy_import_kwh"]) == e.quantize(Decimal("0.01"), ROUND_DOWN)
    i = Decimal(kaifa.values["current_l1_a"])
    assert Decimal(aidon.values["current_l1_a"]) == i.quantize(Decimal("0.1"), ROUND_DOWN)
    assert aidon.values["voltage_l2_v"] == kaifa.values["voltage_l2_v"]
    assert aidon.values["power_import_w"] == kaifa.values["power_import_w"]
    # Kamstrup's slot is 5 s earlier (hh:00:05): same household seed, its own clock
    assert kamstrup.kind == "list1" and kamstrup.time == datetime(2026, 1, 15, 17, 0, 15)


def test_frames_are_what_meters_push_builds():
    """The simulator frames bodies exactly as encoders.meters.push does."""
    for meter in ("aidon", "kaifa", "kamstrup"):
        sim = meter_sim.SimMeter(meter, start=START, seed=2)
        for _ in range(30):
            f = sim.next_frame()
            no = int(f.kind[-1])
            vals = {k: Decimal(v) for k, v in f.values.items()}
            mid, mtype = meter_sim.IDENTITY[meter]
            clock = f.time.replace(microsecond=0)
            body = getattr(meters, meter)(no, 3, vals, meter_id=mid, meter_type=mtype,
                                          clock=clock if no > 1 else None)
            when = None if meter == "aidon" else clock
            assert f.data == meters.push(meter, body, when=when)


# --- cadence and registers ----------------------------------------------------------------

def _sec(t):
    return int(t.timestamp())


def _check_energy(got, res_wh):
    """Energy registers of consecutive lists carrying them increase by the
    integral of the power the frames in between reported (each power holds
    from its frame's whole second to the next frame's)."""
    marks = [i for i, f in enumerate(got) if "energy_import_kwh" in f.values]
    assert len(marks) >= 2
    for a, b in zip(marks, marks[1:]):
        ws = sum(int(got[k].values["power_import_w"]) * (_sec(got[k + 1].time) - _sec(got[k].time))
                 for k in range(a, b))
        de = (Decimal(got[b].values["energy_import_kwh"])
              - Decimal(got[a].values["energy_import_kwh"])) * 1000
        assert abs(de - Decimal(ws) / 3600) <= res_wh + 1, (got[a].time, got[b].time)
        assert de > 0


def test_aidon_cadence_and_hourly_list3():
    got = frames("aidon", 2 * 1440 + 100)
    steps = {f2.time - f1.time for f1, f2 in zip(got, got[1:])}
    assert steps == {timedelta(seconds=2.5)}
    for f in got:
        if f.time.minute == 0 and f.time.second == 10 and f.time.microsecond == 0:
            assert f.kind == "list3"
        elif f.time.second % 10 == 0 and f.time.microsecond == 0:
            assert f.kind == "list2"
        else:
            assert f.kind == "list1"
    list3 = [f.time for f in got if f.kind == "list3"]
    assert list3 == [datetime(2026, 1, 15, h, 0, 10) for h in (17, 18, 19)]
    _check_energy(got, 10)


def test_kaifa_cadence():
    got = frames("kaifa", 1900)
    assert {f2.time - f1.time for f1, f2 in zip(got, got[1:])} == {timedelta(seconds=2)}
    assert [f.time for f in got if f.kind == "list3"] == [datetime(2026, 1, 15, 17, 0, 10),
                                                          datetime(2026, 1, 15, 18, 0, 10)]
    assert all(f.kind == "list2" for f in got if f.time.second % 10 == 0 and f.kind != "list3")


def test_kamstrup_cadence_and_hourly_list2():
    got = frames("kamstrup", 3 * 360 + 20)
    assert {f2.time - f1.time for f1, f2 in zip(got, got[1:])} == {timedelta(seconds=10)}
    assert all(f.time.second % 10 == 5 for f in got)
    assert [f.time for f in got if f.kind == "list2"] == [
        datetime(2026, 1, 15, h, 0, 5) for h in (17, 18, 19, 20)]
    _check_energy(got, 10)


def test_p1_cadence_and_registers():
    got = frames("p1", 200)
    assert {f2.time - f1.time for f1, f2 in zip(got, got[1:])} == {timedelta(seconds=10)}
    assert got[0].time == START and all(f.kind == "telegram" for f in got)
    _check_energy(got, 0)
    # the telegram's clock is the meter time
    r = hanport.Decoder().feed(got[5].data)[0]
    assert r.time == got[5].time.isoformat() and r.dst is False


def test_first_slot_and_pause():
    sim = meter_sim.SimMeter("aidon", start=datetime(2026, 1, 15, 16, 59, 58, 700000))
    assert sim.next_frame().time == datetime(2026, 1, 15, 17, 0, 0)
    sim.pause(60)
    assert sim.next_frame().time == datetime(2026, 1, 15, 17, 1, 0)


# --- the command line ------------------------------------------------------------------------

def sim_cli(*args, timeout=60):
    return subprocess.run([PYTHON, str(SIM)] + [str(a) for a in args], capture_output=True,
                          timeout=timeout)


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def decode_file(path, **kw):
    dec = hanport.Decoder(**kw)
    return dec.feed(path.read_bytes()), dec


def test_cli_save_and_log_agree(tmp_path):
    log, wire = tmp_path / "log.jsonl", tmp_path / "wire.bin"
    proc = sim_cli("kamstrup", "--speed", "0", "--count", "40", "--start", "2026-01-15T16:55:00",
                   "--save", wire, "--log-json", log)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode().splitlines()
    assert len(out) == 40 and out[0].startswith("sent kamstrup list1 ")
    assert "sent kamstrup list2 " in "\n".join(out)
    recs = read_log(log)
    assert [r["n"] for r in recs] == list(range(1, 41))
    assert sum(r["bytes"] for r in recs) == wire.stat().st_size
    readings, _ = decode_file(wire)
    assert [r.values() for r in readings] == [r["values"] for r in recs]


def _timed_lines(proc, n, timeout=20):
    """(monotonic time, line) of the first n stdout lines as they arrive."""
    out, end = [], time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        out.append((time.monotonic(), line.decode()))
    return out


def test_speed_and_pause_in_real_time():
    """--speed 25: Aidon's 2.5 s are 0.1 s; a 25 s pause is 1 s."""
    proc = subprocess.Popen([PYTHON, str(SIM), "aidon", "--speed", "25", "--count", "6",
                             "--start", "2026-01-15T17:00:00", "--pause-every", "3",
                             "--pause-s", "25"], stdout=subprocess.PIPE)
    try:
        got = _timed_lines(proc, 6)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(got) == 6
    t = [g[0] for g in got]
    quick = [t[1] - t[0], t[2] - t[1], t[4] - t[3], t[5] - t[4]]
    assert all(0.05 <= d <= 0.6 for d in quick), quick     # 0.1 s each
    assert 0.8 <= t[3] - t[2] <= 2.5, t[3] - t[2]          # 25 s / 25 = 1 s gap
    assert "17:00:05" in got[2][1] and "17:00:30" in got[3][1]


def test_pause_in_meter_time(tmp_path):
    log = tmp_path / "log.jsonl"
    proc = sim_cli("p1", "--speed", "0", "--count", "9", "--start", "2026-01-15T17:00:00",
                   "--pause-every", "3", "--pause-s", "120", "--log-json", log, "--quiet")
    assert proc.returncode == 0 and proc.stdout == b""
    times = [datetime.fromisoformat(r["time"]) for r in read_log(log)]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert gaps == [10, 10, 120, 10, 10, 120, 10, 10]


@pytest.mark.parametrize("meter,counter", [("kaifa", "fcs_errors"), ("p1", "crc_errors")])
def test_corrupt_every_frame_fails_its_check(tmp_path, meter, counter):
    log, wire = tmp_path / "log.jsonl", tmp_path / "wire.bin"
    proc = sim_cli(meter, "--speed", "0", "--count", "60", "--corrupt", "1", "--seed", "3",
                   "--save", wire, "--log-json", log, "--quiet")
    assert proc.returncode == 0, proc.stderr
    readings, dec = decode_file(wire)
    assert readings == []
    assert dec.stats()[counter] == 60, dec.stats()
    assert all(r["fault"] == "corrupt" and r["values"] is None for r in read_log(log))


@pytest.mark.parametrize("meter", ["aidon", "p1"])
def test_drop_makes_frames_fail(tmp_path, meter):
    common = [meter, "--speed", "0", "--count", "40", "--seed", "5", "--quiet"]
    clean, dropped, wire = tmp_path / "clean.jsonl", tmp_path / "drop.jsonl", tmp_path / "wire.bin"
    assert sim_cli(*common, "--log-json", clean).returncode == 0
    assert sim_cli(*common, "--drop", "1", "--save", wire, "--log-json", dropped).returncode == 0
    assert decode_file(wire)[0] == []
    for c, d in zip(read_log(clean), read_log(dropped)):
        assert d["fault"] == "drop" and d["values"] is None
        assert 1 <= c["bytes"] - d["bytes"] <= 8


@pytest.mark.parametrize("meter", ["aidon", "kamstrup", "p1"])
def test_some_frames_dropped_the_others_decode(tmp_path, meter):
    log, wire = tmp_path / "log.jsonl", tmp_path / "wire.bin"
    assert sim_cli(meter, "--speed", "0", "--count", "60", "--drop", "0.3", "--seed", "5",
                   "--save", wire, "--log-json", log, "--quiet").returncode == 0
    recs = read_log(log)
    faulted = [r for r in recs if r["fault"]]
    assert 5 <= len(faulted) <= 40
    readings, _ = decode_file(wire)
    assert [r.values() for r in readings] == [r["values"] for r in recs if not r["fault"]]


@pytest.mark.parametrize("meter", meter_sim.METERS)
def test_garbage_between_frames_loses_nothing(tmp_path, meter):
    log, wire = tmp_path / "log.jsonl", tmp_path / "wire.bin"
    assert sim_cli(meter, "--speed", "0", "--count", "80", "--garbage", "0.5", "--seed", "9",
                   "--save", wire, "--log-json", log, "--quiet").returncode == 0
    recs = read_log(log)
    junk = sum(r["garbage"] for r in recs)
    assert junk > 0
    assert wire.stat().st_size == junk + sum(r["bytes"] for r in recs)
    readings, _ = decode_file(wire)
    assert [r.values() for r in readings] == [r["values"] for r in recs]


def test_bad_arguments_exit_2():
    for args in (["p1", "--key", KEY], [], ["nosuch"], ["aidon", "--key", "12"],
                 ["aidon", "--corrupt", "2"], ["aidon", "--wire-setting", "fast"],
                 ["--file", "/nonexistent/x.hex"]):
        proc = sim_cli(*args)
        assert proc.returncode == 2, args
        assert b"Traceback" not in proc.stderr


# --- encryption ----------------------------------------------------------------------------

@pytest.mark.parametrize("meter", ["aidon", "kaifa", "kamstrup"])
def test_encrypted_frames(meter):
    got = frames(meter, 60, key=KEY, auth_key=AUTH)
    data = b"".join(f.data for f in got)
    dec = hanport.Decoder(KEY, AUTH)
    assert [r.values() for r in feed_in_chunks(dec, data)] == [f.values for f in got]
    wrong = hanport.Decoder(KEY, "FF" * 16)
    assert wrong.feed(data) == [] and wrong.auth_failures == 60
    nokey = hanport.Decoder()
    assert nokey.feed(data) == [] and nokey.key_required == 60
    # encryption only (security 0x20): the key alone decodes
    plain_auth = frames(meter, 20, key=KEY)
    assert [r.values() for r in hanport.Decoder(KEY).feed(b"".join(f.data for f in plain_auth))] \
        == [f.values for f in plain_auth]


def test_encrypted_cli_to_decode_cli(tmp_path):
    """The two tools together: meter_sim --key writes, decode.py --key reads."""
    wire = tmp_path / "wire.bin"
    assert sim_cli("kaifa", "--speed", "0", "--count", "12", "--key", KEY, "--auth-key", AUTH,
                   "--save", wire, "--quiet").returncode == 0
    dec = subprocess.run([PYTHON, str(ROOT / "tools" / "decode.py"), "--key", KEY,
                          "--auth-key", AUTH, wire], capture_output=True, timeout=30)
    assert dec.returncode == 0 and len(dec.stdout.splitlines()) == 12
    bad = subprocess.run([PYTHON, str(ROOT / "tools" / "decode.py"), wire],
                         capture_output=True, timeout=30)
    assert bad.returncode == 1 and b"give --key" in bad.stderr


# --- TCP line and pty ---------------------------------------------------------------------

def _recv_all(sock, timeout=20):
    sock.settimeout(timeout)
    buf = b""
    while True:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        buf += data
    return buf


def _tcp_run(announce, tmp_path):
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen([PYTHON, str(SIM), "kaifa", "--tcp", "0", "--speed", "0",
                             "--count", "30", "--log-json", log, "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline().decode()
        assert first.startswith("tcp: 127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            s.sendall(b"SERIAL " + announce + b"\n")
            data = _recv_all(s)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    return data, read_log(log)


def test_tcp_right_setting_gets_frames(tmp_path):
    data, recs = _tcp_run(b"2400-8E1", tmp_path)
    readings = hanport.Decoder().feed(data)
    assert [r.values() for r in readings] == [r["values"] for r in recs]
    assert len(readings) == 30


def test_tcp_wrong_setting_gets_garbage(tmp_path):
    data, recs = _tcp_run(b"115200-8N1-inv", tmp_path)
    assert data and len(data) < sum(r["bytes"] for r in recs)
    assert hanport.Decoder().feed(data) == []


def _dongle_link(line, announce=b"2400-8E1"):
    """A dongle's end of the line: connected, its SERIAL line said."""
    sock = socket.create_connection(("127.0.0.1", line.port), 5)
    sock.sendall(b"SERIAL " + announce + b"\n")
    assert line.wait(5)
    return sock


def test_meter_line_reconnects_and_follows_the_setting():
    """MeterLine, as tests use it in-process (rig.Meter): a dongle
    connects, announces, reconnects; its setting decides between frames
    and garbage."""
    frame = frames("aidon", 1)[0].data
    line = meter_sim.MeterLine("2400-8E1")
    try:
        assert not line.connected() and not line.send(frame)
        for announce, readable in ((b"2400-8E1", True), (b"2400-8N1", False)):
            with _dongle_link(line, announce) as s:
                assert line.dongle_setting == announce.decode() and line.connected()
                assert line.send(frame)
                line.drop()
                got = _recv_all(s, 5)
            assert (got == frame) is readable
            assert (hanport.Decoder().feed(got) != []) is readable
        assert line.connections == 2 and not line.connected()
    finally:
        line.close()


def test_meter_line_new_link_replaces_the_old_and_a_closed_one_is_gone():
    """A reconnecting dongle's new link replaces the old one, which is
    closed, and announces afresh; a dongle that goes away leaves the line
    unconnected, so send says the bytes were lost."""
    frame = frames("kaifa", 1)[0].data
    line = meter_sim.MeterLine()
    try:
        first = _dongle_link(line, b"115200-8N1-inv")
        second = socket.create_connection(("127.0.0.1", line.port), 5)
        wait_until(lambda: line.connections == 2, 5, what="the second link")
        assert _recv_all(first, 5) == b""               # closed by the line
        assert line.dongle_setting is None and not line.connected()
        second.sendall(b"SERIAL 2400-8E1\n")
        assert line.wait(5) and line.dongle_setting == "2400-8E1"
        assert line.send(frame)                         # setting None: never garbled
        assert second.recv(len(frame), socket.MSG_WAITALL) == frame
        second.close()
        first.close()
        wait_until(lambda: not line.connected(), 5, what="the line to see the dongle go")
        assert not line.send(frame)
    finally:
        line.close()


def test_meter_line_cut_refuses_the_dongle_until_restored():
    """cut() is the cable pulled: the link closes and reconnects are
    refused; restore() listens again on the same port."""
    frame = frames("aidon", 1)[0].data
    line = meter_sim.MeterLine("2400-8E1")
    try:
        port = line.port
        with _dongle_link(line) as s:
            line.cut()
            assert _recv_all(s, 5) == b""
        assert not line.connected() and not line.send(frame)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), 5)
        line.restore()
        assert line.port == port
        with _dongle_link(line) as s:
            assert line.send(frame)
            line.drop()
            assert _recv_all(s, 5) == frame
        assert line.connections == 2
    finally:
        line.close()
    assert not line.wait(0.1)                           # closed: nothing to wait for


def test_pty_output():
    proc = subprocess.Popen([PYTHON, str(SIM), "p1", "--pty", "--speed", "20", "--count", "4",
                             "--start", "2026-01-15T17:00:00"], stdout=subprocess.PIPE)
    fd = None
    try:
        first = proc.stdout.readline().decode().strip()
        assert first.startswith("pty: /dev/")
        # the simulator keeps the pty raw: no termios here (setting it
        # would flush what the meter already sent)
        fd = os.open(first[5:], os.O_RDONLY | os.O_NOCTTY)
        dec, readings = hanport.Decoder(), []
        end = time.monotonic() + 15
        while len(readings) < 4 and time.monotonic() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    data = os.read(fd, 4096)
                except OSError:          # the simulator closed the pty
                    break
                if not data:
                    break
                readings += dec.feed(data)
        sent = [line for line in proc.stdout.read().decode().splitlines()]
        assert proc.wait(10) == 0
    finally:
        if fd is not None:
            os.close(fd)
        if proc.poll() is None:
            proc.kill()
    assert len(readings) == 4 and len(sent) == 4
    assert readings[0].time == "2026-01-15T17:00:00"


def test_serial_output_on_a_pty():
    """--serial writes through pyserial (a pty's slave end stands in for a
    USB-serial adapter); the master end reads the meter's frames."""
    master, slave = os.openpty()
    try:
        proc = sim_cli("kamstrup", "--serial", os.ttyname(slave), "--speed", "0",
                       "--count", "5", "--quiet")
        assert proc.returncode == 0, proc.stderr
        os.set_blocking(master, False)
        data = b""
        while select.select([master], [], [], 0.5)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
        os.close(slave)
    assert len(hanport.Decoder().feed(data)) == 5


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly(tmp_path, sig):
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen([PYTHON, str(SIM), "aidon", "--tcp", "0", "--pty", "--speed", "5",
                             "--log-json", log], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()            # pty line: running, waiting for a dongle
    assert first.startswith(b"pty: ")
    port = int(proc.stdout.readline().decode().rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(b"SERIAL 2400-8E1\n")
        time.sleep(0.8)
        proc.send_signal(sig)
        assert proc.wait(5) == 0
        assert _recv_all(s, 5) is not None    # the connection was closed, not left hanging
    assert b"Traceback" not in proc.stderr.read()
    assert log.exists()


# --- capture playback -------------------------------------------------------------------------

PLAYBACK = ["p1_se_sagemcom_s211_ellevio_02.txt", "hdlc_no_aidon6525_list2_01.hex",
            "hdlc_ch_landisgyr_e450_gbt_3frames_01.hex", "mbus_at_kaifa_ma309_enc_netznoe_01.hex",
            "p1_se_kamstrup_omnipower_01.txt"]
NETZNOE_KEY = "36C66639E48A8CA4D6BC8B282A793BBB"


def test_capture_playback_decodes_like_the_files(tmp_path):
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    files = [corpus.CORPUS / name for name in PLAYBACK]
    want = []
    for f in files:
        want += [r.to_json() for r in hanport.Decoder(NETZNOE_KEY).feed(corpus.data(
            {"file": f.name}))]
    assert len(want) == len(files)
    wire, log = tmp_path / "wire.bin", tmp_path / "log.jsonl"
    args = []
    for f in files:
        args += ["--file", f]
    proc = sim_cli(*args, "--speed", "0", "--count", 2 * len(files), "--save", wire,
                   "--log-json", log)
    assert proc.returncode == 0, proc.stderr
    readings, dec = decode_file(wire, key=NETZNOE_KEY)
    assert [r.to_json() for r in readings] == want * 2, dec.stats()
    recs = read_log(log)
    assert [r["kind"] for r in recs[:len(files)]] == PLAYBACK
    assert all(r["meter"] == "file" and r["values"] is None for r in recs)
    times = [datetime.fromisoformat(r["time"]) for r in recs]
    assert {(b - a).total_seconds() for a, b in zip(times, times[1:])} == {10}


def test_capture_playback_faults_hit_segmented_messages(tmp_path):
    """A corrupted multi-frame message (GBT over three HDLC frames) fails."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    wire = tmp_path / "wire.bin"
    assert sim_cli("--file", corpus.CORPUS / "hdlc_ch_landisgyr_e450_gbt_3frames_01.hex",
                   "--speed", "0", "--count", "10", "--corrupt", "1", "--save", wire,
                   "--quiet").returncode == 0
    readings, dec = decode_file(wire)
    assert readings == [] and dec.fcs_errors == 10
