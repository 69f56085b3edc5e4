# config.json: every key with its default, checked on load, saved atomically.
# A missing or broken file never stops the dongle: defaults are used and
# status says what was wrong.
import json
import os

from .serialcfg import NAMES as SERIAL_NAMES

PATH = "config.json"

DEFAULTS = {
    "board": "esp32-devkitc",      # a file name in boards/ (without .json)
    "name": "",                    # shown in Home Assistant; "" = "HAN <id>"
    "hostname": "",                # its name on the network; "" = "hanport-<last 6 of the id>"
    "mdns": True,                  # announce the page (and the HomeWizard API) over mDNS
    "admin_password": "",          # needed to change settings over the network
    "wifi": {"ssid": "", "password": ""},
    "setup": {
        "ap": "auto",              # "auto": only while unconfigured/unreachable; "on"; "off"
        "ap_password": "",         # WPA2 password of the setup network
    },
    "http": {
        "port": 80,
        "hosts": [],               # more names it answers to (besides IP addresses and hostname[.domain])
    },
    "mqtt": {
        "host": "",                # "" = no MQTT
        "port": 0,                 # 0 = 1883, or 8883 with tls
        "user": "",
        "password": "",
        "tls": False,
        "ca": "",                  # CA certificate file (PEM) for tls
        "base_topic": "",          # "" = "han/<id>"
        "client_id": "",           # "" = "hanport-<id>"
        "min_interval_s": 0,       # publish at most this often (0: every reading)
        "keepalive_s": 60,
        "discovery": True,         # Home Assistant MQTT discovery
        "discovery_prefix": "homeassistant",
    },
    "meter": {
        "serial": "auto",          # "auto" or one of serialcfg.NAMES
        "invert": "auto",          # "auto", true or false (RX line inversion)
        "port": "",                # unix platform: "tcp://host:port" or a tty path
        "key": "",                 # decryption key, 32 hex digits
        "auth_key": "",            # authentication key, 32 hex digits
        "multipliers": {},         # {"energy": "0.1", ...} see README
        "detected": "",            # written by auto-detection: "2400-8E1" or "115200-8N1-inv"
    },
    "homewizard": False,           # HomeWizard-compatible local API v1 (/api, /api/v1/data, /api/v1/telegram)
    "telegram_server": 0,          # TCP port giving every good frame as the meter sent it; 0 = off
    "ntp": {"host": "pool.ntp.org"},
    "energy": {
        "zone": "CET",             # the meter's local time: CET (SE, NO, DK...), EET (FI), WET, UTC
        "top_n": 3,                # daily maximum hours averaged for the capacity tariff
        "steps_kw": [2, 5, 10, 15, 20, 25, 50, 75, 100],   # capacity step upper bounds
        "save_s": 300,             # write energy.json at most this often (flash wear)
        "max_power_kw": 50,        # the most the connection can draw (fuse): bounds plausible registers
    },
    "update": {                    # updates over Wi-Fi (make ota): the new version must prove itself
        "window_s": 300,           # healthy (HTTP answers, the meter read again) within this long
        "boots": 3,                # and within this many boots, or the previous version comes back
    },
}

# never served, published or logged
SECRETS = (("wifi", "password"), ("mqtt", "password"), ("meter", "key"),
           ("meter", "auth_key"), ("admin_password",), ("setup", "ap_password"))


def _copy(d):
    return {k: (_copy(v) if isinstance(v, dict) else v) for k, v in d.items()}


def _is_hex_key(s):
    if len(s) != 32:
        return False
    try:
        bytes.fromhex(s)
    except ValueError:
        return False
    return True


def _is_label(s):
    return len(s) <= 63 and s[0] != "-" and all(ch.isalpha() or ch.isdigit() or ch == "-" for ch in s)


def _check(path, value):
    """'' if value is acceptable at path, else a reason."""
    if path == "meter.serial" and value != "auto" and value not in SERIAL_NAMES:
        return "must be auto or one of " + ", ".join(SERIAL_NAMES)
    if path == "meter.invert" and value not in ("auto", True, False):
        return "must be auto, true or false"
    if path in ("meter.key", "meter.auth_key") and value and not _is_hex_key(value):
        return "must be 32 hex digits"
    if path == "setup.ap" and value not in ("auto", "on", "off"):
        return "must be auto, on or off"
    if path == "setup.ap_password" and value and len(value) < 8:
        return "must be at least 8 characters (WPA2)"
    if path in ("http.port", "mqtt.port", "telegram_server") and not 0 <= value <= 65535:
        return "must be a port number (0 to 65535)"
    if path == "hostname" and value and not _is_label(value):
        return "must be letters, digits and '-', at most 63"
    if path == "http.hosts" and any(not isinstance(h, str) or not h for h in value):
        return "must be a list of host names"
    if path == "energy.zone" and value not in ("CET", "EET", "WET", "UTC"):
        return "must be CET, EET, WET or UTC"
    if path == "energy.top_n" and not 1 <= value <= 10:
        return "must be 1 to 10"
    if path == "update.window_s" and not 5 <= value <= 3600:
        return "must be 5 to 3600"
    if path == "update.boots" and not 1 <= value <= 10:
        return "must be 1 to 10"
    if path in ("energy.save_s", "energy.max_power_kw") and value < 1:
        return "must be at least 1"
    if path == "energy.steps_kw":
        if not value or any(not isinstance(x, (int, float)) for x in value) or sorted(value) != value:
            return "must be increasing numbers (kW)"
    if path == "meter.multipliers":
        for k, v in value.items():
            if not isinstance(v, (str, int)):
                return "value of %s must be a number or decimal text" % k
    return ""


def _merge(defaults, given, prefix, out, problems):
    for key, default in defaults.items():
        path = prefix + key
        if key not in given:
            out[key] = _copy(default) if isinstance(default, dict) else default
            continue
        value = given[key]
        if path == "meter.multipliers" or path == "meter.invert":
            ok = isinstance(value, dict) if path == "meter.multipliers" else True
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                problems.append("%s: must be an object; default used" % path)
                out[key] = _copy(default)
                continue
            out[key] = {}
            _merge(default, value, path + ".", out[key], problems)
            continue
        else:
            ok = type(value) is type(default)
        why = _check(path, value) if ok else "wrong type"
        if why:
            problems.append("%s: %s; default used" % (path, why))
            out[key] = default
        else:
            out[key] = value
    for key in given:
        if key not in defaults:
            problems.append("%s%s: unknown key, ignored" % (prefix, key))


def from_dict(given):
    """(config, problems): given merged onto the defaults, key by key."""
    out, problems = {}, []
    _merge(DEFAULTS, given if isinstance(given, dict) else {}, "", out, problems)
    return out, problems


def load(path=PATH):
    """(config, problems). Never raises: a missing or broken file gives the
    defaults and a problem saying so."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return from_dict({})[0], ["%s missing: defaults used, setup needed" % path]
    try:
        given = json.loads(text)
    except ValueError:
        return from_dict({})[0], ["%s is not valid JSON: defaults used, setup needed" % path]
    if not isinstance(given, dict):
        return from_dict({})[0], ["%s is not a JSON object: defaults used" % path]
    return from_dict(given)


def save(cfg, path=PATH):
    """Write atomically: a temporary file, then rename over the old one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(cfg))
    try:
        os.rename(tmp, path)
    except OSError:        # FAT cannot rename over a file
        try:
            os.remove(path)
        except OSError:
            pass
        os.rename(tmp, path)


def update(cfg, section, key, value):
    """cfg[section][key] = value, and the same in the file, whose other
    values stay as they were: for what the dongle finds or makes itself
    (the serial setting detected, the setup network's password). Raises
    OSError when the file cannot be written (cfg has the value all the
    same)."""
    cfg[section][key] = value
    saved, _ = load()
    saved[section][key] = value
    save(saved)


def public(cfg):
    """A copy with every secret replaced by whether it is set."""
    out = _copy(cfg)
    for path in SECRETS:
        d = out
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = "(set)" if d[path[-1]] else ""
    return out


def secrets(cfg):
    """The secret values that are set (for tests and log scrubbing)."""
    out = []
    for path in SECRETS:
        d = cfg
        for k in path:
            d = d[k]
        if d:
            out.append(d)
    return out


def new_ap_password(cfg):
    """A random WPA2 password for the setup network, kept in config.json
    (and in cfg) and shown on the USB console, never in the status log or
    online. `make deploy` sets one and prints it; this is for boards set up
    by hand."""
    from . import log
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    pw = "".join(alphabet[b % len(alphabet)] for b in os.urandom(12))
    try:
        update(cfg, "setup", "ap_password", pw)
    except OSError:
        pass
    log.set_secrets(secrets(cfg))
    print("setup network password: " + pw)
    return pw
