"""Pure parts of the firmware (no I/O), checked on CPython: serial setting
order for detection, config validation, form parsing, discovery payloads.
The whole firmware runs under MicroPython in test_firmware.py."""
import json
import sys

from testkit.mpy import ROOT

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
    i = fields.index("energy_export_kwh")
    dev = ha.device("abc123", "HAN abc123", None, "0.1.0")
    topic, payload = ha.sensor(i, "abc123", "han/abc123", "homeassistant", dev)
    assert topic == "homeassistant/sensor/abc123/energy_export_kwh/config"
    p = json.loads("".join(payload))
    assert p["name"] == "Energy export" and p["unit_of_meas"] == "kWh"
    assert p["dev_cla"] == "energy" and p["stat_cla"] == "total_increasing"
    assert ha.title(fields.index("power_import_l1_w")) == "Power import L1"
    assert p["def_ent_id"] == "sensor.hanport_abc123_energy_export_kwh" and "obj_id" not in p


def test_form_decoding():
    """pages.py's form decoding, under MicroPython (where it runs)."""
    from testkit import mpy
    cases = [("a+b%21", "a b!"), ("%C3%A5r", "år"), ("100%", "100%"), ("%zz", "%zz")]
    code = ("import sys; sys.path.append(%r)\nfrom dongle import pages\n" % str(mpy.ROOT / "firmware") +
            "for t in %r:\n    print(pages.unquote(t), pages.form(('k=' + t).encode())['k'])\n"
            % [t for t, _ in cases])
    res = mpy.run(["-c", code])
    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode("utf-8").splitlines()
    assert lines == ["%s %s" % (want, want) for _, want in cases]
