"""Pure parts of the firmware (no I/O), checked on CPython: serial setting
order for detection, config validation, form parsing, discovery payloads.
The whole firmware runs under MicroPython in test_firmware.py."""
import json
import sys

import pytest

from mpy import ROOT

sys.path.insert(0, str(ROOT / "firmware"))
from dongle import config, ha, serialcfg  # noqa: E402


def test_detection_order():
    c = serialcfg.candidates(("2400-8E1", False), True)
    assert c[0] == ("2400-8E1", False)
    assert len(c) == 8 and len(set(c)) == 8                  # every setting, both inversions
    assert c[1:5] == [(n, True) for n in serialcfg.NAMES]     # the board's inversion first
    assert serialcfg.candidates(None, True, "2400-8N1", False) == [("2400-8N1", False)]
    assert serialcfg.candidates(None, False, "auto", True) == [(n, True) for n in serialcfg.NAMES]
    assert serialcfg.parse_label("115200-8N1-inv") == ("115200-8N1", True)
    assert serialcfg.parse_label("300-5N1") is None


def test_config_defaults_and_problems():
    cfg, problems = config.from_dict({"mqtt": {"port": "x", "host": "b"}, "meter": {"key": "abc"},
                                      "setup": {"ap_password": "short"}, "zzz": 1})
    assert cfg["mqtt"]["port"] == 0 and cfg["mqtt"]["host"] == "b"
    assert cfg["meter"]["key"] == ""
    assert any(p.startswith("meter.key: must be 32 hex") for p in problems)
    assert any(p.startswith("setup.ap_password: must be at least 8") for p in problems)
    assert any(p.startswith("zzz: unknown key") for p in problems)
    cfg, problems = config.from_dict({})
    assert problems == [] and cfg == config.DEFAULTS


def test_config_ranges_and_tls_without_ca():
    cfg, problems = config.from_dict({"http": {"port": 0}, "mqtt": {"keepalive_s": 70000, "min_interval_s": -1,
                                                                    "port": 8883, "tls": True}})
    assert cfg["http"]["port"] == 80 and cfg["mqtt"]["keepalive_s"] == 60 and cfg["mqtt"]["min_interval_s"] == 0
    assert cfg["mqtt"]["port"] == 8883 and cfg["mqtt"]["tls"] is True
    for start in ("http.port: must be a port", "mqtt.keepalive_s: must be 0 to 65535",
                  "mqtt.min_interval_s: must be 0 to 86400", "mqtt.ca: tls needs"):
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert config.from_dict({"mqtt": {"tls": True, "ca": "ca.pem", "keepalive_s": 0}})[1] == []


def test_public_config_hides_every_secret():
    cfg, _ = config.from_dict({"wifi": {"password": "w1"}, "mqtt": {"password": "m1"},
                               "meter": {"key": "00" * 16, "auth_key": "11" * 16},
                               "admin_password": "a1", "setup": {"ap_password": "p1234567"}})
    text = json.dumps(config.public(cfg))
    for s in config.secrets(cfg):
        assert s not in text
    assert len(config.secrets(cfg)) == 6


def test_discovery_payload():
    from hanport import fields
    i = fields.INDEX["energy_export_kwh"]
    topic, payload = ha.sensor(i, "abc123", "han/abc123", "homeassistant", {"ids": ["x"]})
    assert topic == "homeassistant/sensor/abc123/energy_export_kwh/config"
    p = json.loads(payload)
    assert p["name"] == "Energy export" and p["unit_of_meas"] == "kWh"
    assert p["dev_cla"] == "energy" and p["stat_cla"] == "total_increasing"
    assert ha.title("power_import_l1_w") == "Power import L1"


@pytest.mark.parametrize("text,want", [("a+b%21", "a b!"), ("%C3%A5r", "år"), ("100%", "100%"),
                                       ("%zz", "%zz")])
def test_form_decoding(text, want):
    from dongle import http
    assert http.unquote(text) == want
    assert http.form(("k=" + text).encode()) == {"k": want}


# --- the dongle's own JSON (status, energy) ------------------------------------------

JSONW_SCRIPT = r'''
import gc, sys
sys.path.insert(0, sys.argv[1])
from dongle import jsonw
from dongle.energy import Kwh

def rows(n):
    for i in range(n):
        yield {"date": "2026-01-%02d" % (i + 1), "import_kwh": Kwh(i * 1234 - 5), "max_hour_kwh": None}

def doc(n):
    return {"zone": "CET", "ready": True, "warning": 'say "hi"\\ok', "list": [1, -2, None, False],
            "month": {"import_kwh": Kwh(-5), "top_hours": [{"hour": "x", "kwh": Kwh(1023)}]},
            "days": jsonw.Rows(rows, n), "empty": jsonw.Rows(rows, 0), "n": n}

for n in (0, 3, 40):
    whole = bytes(jsonw.view(doc(n)))
    parts = [bytes(p) for p in jsonw.pieces(doc(n))]
    assert b"".join(parts) == whole, n
    assert max(len(p) for p in parts) <= jsonw.PIECE + 256
    print(whole.decode())
    print(len(parts))
# a status-like document written: what it allocates besides its values
status = {"k%02d" % i: ({"a": i, "b": "text %d" % i, "c": None} if i % 3 == 0 else "v%d" % i)
          for i in range(30)}
jsonw.view(status)
if hasattr(gc, "mem_alloc"):
    gc.collect(); gc.disable()
    a = gc.mem_alloc()
    jsonw.view(status)
    print(gc.mem_alloc() - a)
'''


def test_jsonw_pieces_equal_the_whole_document_on_both_interpreters(tmp_path):
    """/api/energy is sent in pieces (jsonw.pieces, rows made one at a
    time): joined, they are the document jsonw writes whole, byte for byte,
    on CPython and MicroPython; and writing the dongle's documents costs
    little besides sorting keys: the document below took 6,144 bytes on
    the 64-bit unix port before (a str(k) copy per key, a bytes copy per
    string, a tuple per value), 1,440 now."""
    import subprocess
    script = tmp_path / "jw.py"
    script.write_text(JSONW_SCRIPT)
    fw = str(ROOT / "firmware")
    cp = subprocess.run([sys.executable, str(script), fw], capture_output=True, text=True,
                        env={"PYTHONPATH": str(ROOT / "lib")})
    assert cp.returncode == 0, cp.stderr
    import mpy
    r = mpy.run([str(script), fw])
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    mp_lines = r.stdout.decode().splitlines()
    cp_lines = cp.stdout.splitlines()
    assert mp_lines[:-1] == cp_lines                 # the documents and piece counts
    docs = [json.loads(line) for line in cp_lines[0:6:2]]
    assert docs[2]["days"][39] == {"date": "2026-01-40", "import_kwh": 48.121, "max_hour_kwh": None}
    assert docs[0]["days"] == [] and docs[1]["month"]["import_kwh"] == -0.005
    assert docs[1]["warning"] == 'say "hi"\\ok'
    assert int(cp_lines[5]) > 3                     # 40 rows: several pieces
    assert int(mp_lines[-1]) <= 2048, "writing a 30-key status-like document allocated %s bytes" % mp_lines[-1]
