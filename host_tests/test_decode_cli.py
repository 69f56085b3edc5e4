"""tools/decode.py, run as users run it (subprocesses of the venv's
python): corpus files decode exactly as hanport does in-process, failures
are explained in one line chosen from the decoder's counters, bad input
exits 2 without a traceback, stdin, --record and --serial (on a pty)."""
import os
import random
import subprocess
import sys
import time
import tty
from datetime import datetime
from decimal import Decimal

import pytest

from testkit import corpus
import hanport
from encoders import dlms, meters
from encoders.household import Household
from encoders.p1 import swedish_telegram

ROOT = corpus.ROOT
DECODE = ROOT / "tools" / "decode.py"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() \
    else sys.executable

# Scaling the bytes don't carry (as in test_binary_corpus): what a user
# of these meters configures
MULTIPLIERS = {
    "dlms_dk_kamstrup_omnipower_decrypted_01.hex": {"voltage": "0.01"},
    "hdlc_se_kamstrup_6841_list2_01.hex": {"energy": "0.1", "reactive_energy": "0.1"},
}
NO_PUBLIC_KEY = "hdlc_dk_kamstrup_omnipower_enc_01.hex"

KEY_MSG = "encrypted frames: give --key (and --auth-key)"
CRC_MSG = "failed their CRC/FCS check: line noise or wrong serial settings"
TRUNCATED_MSG = "input ended inside a frame"
# "broken" files whose damage the decoder must skip: readings expected
RESYNC = {"p1_se_mixed_broken_resync_01.txt": 1}
# reason expected for each broken corpus file
BROKEN = {
    "hdlc_at_landisgyr_e450_enc_broken_badtag_01.hex": "wrong key: 1 frames failed authentication",
    "hdlc_no_aidon6525_list2_broken_droppedbytes_01.hex": CRC_MSG,
    "hdlc_no_aidon6525_list3_broken_truncated_01.hex": TRUNCATED_MSG,
    "hdlc_no_aidon6534_list1_broken_truncated_01.hex": TRUNCATED_MSG,
    "hdlc_no_kaifa_ma304h3e_list2_broken_badfcs_01.hex": CRC_MSG,
    "hdlc_se_kamstrup_6841_list1_broken_badhcs_01.hex": CRC_MSG,
    "mbus_at_kaifa_ma309_enc_netznoe_broken_badcs_01.hex": CRC_MSG,
    "p1_dk_kamstrup_omnia_broken_droppedbytes_01.txt": CRC_MSG,
    "p1_se_aidon6534_broken_truncated_01.txt": TRUNCATED_MSG,
    "p1_se_landisgyr_e360_broken_badcrc_01.txt": CRC_MSG,
}


def run(*args, stdin=None, timeout=30):
    return subprocess.run([PYTHON, str(DECODE)] + [str(a) for a in args], input=stdin,
                          capture_output=True, timeout=timeout)


def cli_args(row):
    key, auth = corpus.keys(row)
    args = []
    if key:
        args += ["--key", key]
    if auth:
        args += ["--auth-key", auth]
    for name, value in MULTIPLIERS.get(row["file"], {}).items():
        args += ["--multiplier", "%s=%s" % (name, value)]
    return args + [corpus.CORPUS / row["file"]]


def in_process(row):
    key, auth = corpus.keys(row)
    dec = hanport.Decoder(key, auth, MULTIPLIERS.get(row["file"]))
    data = corpus.data(row)
    readings = dec.decode_apdu(data) if row["format"] == "dlms-raw" else dec.feed(data)
    return [r.to_json() for r in readings]


def lines(proc):
    return proc.stdout.decode().splitlines()


def err_lines(proc):
    return proc.stderr.decode().splitlines()


@pytest.mark.parametrize("row", corpus.params(broken=False))
def test_corpus_file_decodes_like_the_library(row):
    proc = run(*cli_args(row))
    if row["file"] == NO_PUBLIC_KEY:
        assert proc.returncode != 0 and lines(proc) == []
        assert err_lines(proc) == [KEY_MSG]
        return
    assert proc.returncode == 0, proc.stderr
    want = in_process(row)
    assert want, "the library decodes nothing from " + row["file"]
    assert lines(proc) == want
    assert proc.stderr == b""


@pytest.mark.parametrize("row", corpus.params(broken=True))
def test_broken_corpus_file_says_why(row):
    proc = run(*cli_args(row))
    if row["file"] in RESYNC:
        # damage before a good telegram: exactly that one comes out
        assert proc.returncode == 0, proc.stderr
        assert lines(proc) == in_process(row) and len(lines(proc)) == RESYNC[row["file"]]
        return
    assert proc.returncode == 1
    assert lines(proc) == []
    err = err_lines(proc)
    assert len(err) == 1, err
    if row["file"] in BROKEN:
        assert BROKEN[row["file"]] in err[0]


def test_wrong_key_is_named():
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    row = [r for r in corpus.rows() if r["file"] == "hdlc_at_landisgyr_e450_enc_01.hex"][0]
    _, auth = corpus.keys(row)
    proc = run("--key", "00" * 16, "--auth-key", auth, corpus.CORPUS / row["file"])
    assert proc.returncode == 1
    assert err_lines(proc) == ["wrong key: 1 frames failed authentication"]


def test_several_files_and_stats():
    """Files are decoded one after the other (a decoder each); --stats adds
    one summary line with the summed counters."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    names = ["p1_se_aidon6534_01.txt", "hdlc_no_kaifa_ma304h3e_list2_broken_badfcs_01.hex",
             "hdlc_no_aidon6525_list2_01.hex"]
    proc = run("--stats", *[corpus.CORPUS / n for n in names])
    assert proc.returncode == 0
    rows = {r["file"]: r for r in corpus.rows()}
    assert lines(proc) == in_process(rows[names[0]]) + in_process(rows[names[2]])
    err = err_lines(proc)
    assert len(err) == 1 and err[0].startswith("stats: readings=2 ")
    assert "frames_ok=2" in err[0] and "fcs_errors=1" in err[0]


def _telegram(seconds=0):
    h = Household(datetime(2026, 1, 15, 17, 0, 0), seed=5)
    if seconds:
        h.advance(seconds)
    return swedish_telegram(h)


def _aidon_list1(watts):
    return meters.push("aidon", meters.aidon(1, 3, {"power_import_w": Decimal(watts)}))


def _library(data):
    return [r.to_json() for r in hanport.Decoder().feed(data)]


def test_stdin_and_record(tmp_path):
    data = b"\r\n" + _telegram() + _telegram(10)
    rec = tmp_path / "rec.bin"
    proc = run("--record", rec, "-", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert lines(proc) == _library(data) and len(lines(proc)) == 2
    assert rec.read_bytes() == data


def test_record_of_files_holds_their_bytes(tmp_path):
    """Raw files are recorded as they are, hex files as the bytes they
    spell: a recording replays as one raw capture."""
    raw = _telegram()
    (tmp_path / "a.txt").write_bytes(raw)
    frame = _aidon_list1(1709)
    (tmp_path / "b.hex").write_text("\ufeff" + " ".join("%02x" % b for b in frame) + "\n")
    rec = tmp_path / "rec.bin"
    proc = run("--record", rec, tmp_path / "a.txt", tmp_path / "b.hex")
    assert rec.read_bytes() == raw + frame
    assert proc.returncode == 0
    assert lines(proc) == _library(raw)[:1] + [r.to_json() for r in hanport.Decoder().feed(frame)]


def test_random_bytes_are_no_frames(tmp_path):
    rng = random.Random(7)
    # no byte that starts a frame: noise that could never be meter data
    junk = bytes(b for b in (rng.getrandbits(8) for _ in range(5000))
                 if b not in (0x2F, 0x7E, 0x68, 0xDB))
    f = tmp_path / "noise.bin"
    f.write_bytes(junk)
    proc = run(f)
    assert proc.returncode == 1
    assert err_lines(proc) == ["no frames found: is this meter data? (%d bytes read)" % len(junk)]


def test_empty_stdin_is_no_frames():
    proc = run("-", stdin=b"")
    assert proc.returncode == 1
    assert err_lines(proc) == ["no frames found: is this meter data? (0 bytes read)"]


@pytest.mark.parametrize("args,content", [
    (["{missing}"], None),
    (["{file}"], "7E A0 zz"),
    (["{file}"], "7E A"),
    (["--key", "1234", "{file}"], "0F"),
    (["--key", "00" * 16, "--auth-key", "nothex" * 6, "{file}"], "0F"),
    (["--multiplier", "nosuchfield=2", "{file}"], "0F"),
    (["--multiplier", "voltage", "{file}"], "0F"),
    ([], None),
    (["--serial", "/dev/null", "{file}"], "0F"),
])
def test_bad_input_exits_2_in_one_line(tmp_path, args, content):
    f = tmp_path / "x.hex"
    if content is not None:
        f.write_text(content)
    argv = [a.format(missing=tmp_path / "nope.hex", file=f) for a in args]
    proc = run(*argv)
    assert proc.returncode == 2
    err = err_lines(proc)
    assert len(err) == 1, err
    assert "Traceback" not in proc.stderr.decode()


def test_bare_apdu_goes_through_decode_apdu(tmp_path):
    """A file holding only an APDU (link layer stripped) is decoded with
    decode_apdu; feed() would find no frame in it."""
    apdu = dlms.data_notification(meters.aidon(1, 3, {"power_import_w": Decimal(1709)}))
    f = tmp_path / "apdu.hex"
    f.write_text(apdu.hex())
    proc = run(f)
    assert proc.returncode == 0, proc.stderr
    assert lines(proc) == [r.to_json() for r in hanport.Decoder().decode_apdu(apdu)]
    assert '"power_import_w": 1709' in lines(proc)[0]
    llc = tmp_path / "llc.bin"
    llc.write_bytes(b"\xe6\xe7\x00" + apdu)
    assert lines(run(llc)) == lines(proc)
    # LLC + general-glo-ciphering: decrypted with the keys given
    key, auth = bytes(range(16)), bytes(range(16, 32))
    ciphered = b"\xe6\xe7\x00" + dlms.glo_cipher(apdu, key, b"ADN\x00\x01\x02\x03\x04", 5,
                                                 0x30, auth)
    llc.write_bytes(ciphered)
    got = lines(run("--key", key.hex(), "--auth-key", auth.hex(), llc))
    assert got == [r.to_json() for r in hanport.Decoder(key, auth).decode_apdu(ciphered)]
    assert '"manufacturer": "ADN"' in got[0] and '"power_import_w": 1709' in got[0]
    assert err_lines(run(llc)) == [KEY_MSG]


def test_help_mentions_decode_apdu():
    proc = run("--help")
    assert proc.returncode == 0
    assert b"decode_apdu" in proc.stdout


def test_serial_port_on_a_pty(tmp_path):
    """--serial reads a live port: a pty pair stands in for the meter's
    wire, a P1 telegram written to the master comes out as a reading."""
    master, slave = os.openpty()
    tty.setraw(slave)                   # bytes pass unchanged (CR stays CR)
    path = os.ttyname(slave)
    telegram = _telegram()
    rec = tmp_path / "wire.bin"
    proc = subprocess.Popen([PYTHON, str(DECODE), "--serial", path, "--baud", "115200",
                             "--parity", "N", "--seconds", "1.5", "--record", rec],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.time() + 20
        while proc.poll() is None and time.time() < end:
            os.write(master, telegram)
            time.sleep(0.25)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    got = out.decode().splitlines()
    assert got and set(got) == set(_library(telegram))
    # the recording holds what was read: it decodes to the same readings
    assert _library(rec.read_bytes()) == got


def test_first_segment_alone_is_a_truncated_message(tmp_path):
    """One M-Bus segment of a two-segment message: checked fine, but the
    message never completes. Said so, not "no frames found"."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    name = "mbus_at_kaifa_ma309_enc_netznoe_01.hex"
    first = (corpus.CORPUS / name).read_text().strip().splitlines()[0]
    f = tmp_path / "seg1.hex"
    f.write_text(first)
    row = [r for r in corpus.rows() if r["file"] == name][0]
    proc = run("--key", corpus.keys(row)[0], f)
    assert proc.returncode == 1
    assert len(err_lines(proc)) == 1 and TRUNCATED_MSG in err_lines(proc)[0]
