# Board pin maps: boards/<name>.json on the filesystem (deployed with the
# firmware). A missing or broken file falls back to the generic ESP32.
import json

from .serialcfg import NAMES as SERIAL_NAMES

FALLBACK = {
    "name": "generic ESP32 (fallback)", "chip": "esp32", "uart": 2, "rx": 25, "tx": 26,
    "invert": True, "serial": "115200-8N1", "request_pin": None, "led": None,
    "led_active_low": False, "wiring": "",
}


def load(name, folder="boards"):
    """(board, problem or None)."""
    try:
        with open("%s/%s.json" % (folder, name)) as f:
            board = json.loads(f.read())
    except (OSError, ValueError):
        return dict(FALLBACK), "board file %s/%s.json missing or broken: generic ESP32 pins used" % (folder, name)
    for key, default in FALLBACK.items():
        board.setdefault(key, default)
    if board["uart"] == 0:
        return dict(FALLBACK), "board %s uses UART0, which carries the REPL: generic ESP32 pins used" % name
    if board["serial"] not in SERIAL_NAMES:
        board["serial"] = FALLBACK["serial"]
    return board, None
