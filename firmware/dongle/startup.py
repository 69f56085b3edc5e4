# The App's parts, built once at start: the config (config.json, checked)
# and the board's file, then the meter, the energy ledger, MQTT and HTTP.
# Loaded by App() and let go after it: start-up code need not stay in RAM.
import gc
import os

from . import VERSION, log, platform, unload
from .http import Server
from .ledger import Ledger
from .meter import Meter
from .mqtt import Mqtt
from .state import State
from .web import Web
from micropython import const

# collect after this many bytes: garbage stays packed low in the heap, so
# long-lived objects are not scattered among it (fragmentation)
_GC_EVERY = const(8192)


def build(app):
    """(cfg, problems, board, device_id, name, hostname, state, wifi, led,
    meter, ledger, http_port, mqtt, http, telegrams), wired to app's
    handlers (frame, raw_frame)."""
    gc.threshold(_GC_EVERY)
    try:
        os.stat("restore")              # a restore the power cut short: done first
    except OSError:
        pass
    else:
        from . import backup
        backup.boot()
    from . import boards, config
    cfg, problems = config.load()
    log.set_secrets(config.secrets(cfg))
    board, problem = boards.load(cfg["board"])
    if problem:
        problems.append(problem)
    unload("boards", "config")
    device_id = platform.unique_id()
    short_id = device_id[-6:]
    name = cfg["name"] or "HAN " + short_id
    state = State()
    hostname = cfg["hostname"] or "hanport-" + short_id
    platform.set_hostname(hostname)      # before Wi-Fi: DHCP and mDNS use it
    wifi = platform.Wifi()
    led = platform.Led(board["led"], board["led_active_low"])
    meter = Meter(cfg, board, state, problems)
    meter.on_frame = app.frame
    ledger = Ledger(cfg)
    port = platform.http_port(cfg["http"]["port"])
    page = "http://%s.local%s/" % (hostname, ":%d" % port if port != 80 else "")
    from . import BUILD
    mqtt = Mqtt(cfg["mqtt"], short_id, name, VERSION + ("+" + BUILD if BUILD else ""), page, state, wifi, ledger)
    http = Server(Web(app, hostname, cfg["http"]["hosts"]).handle, log.log)
    # issue 14, each off by default: the last P1 telegram for the
    # HomeWizard API, every good frame for the telegram port (telegram.py)
    telegrams = None
    if cfg["telegram_server"]:
        from .telegram import Telegrams
        telegrams = Telegrams(cfg["telegram_server"], log.log)
    if cfg["homewizard"] or telegrams:
        meter.decoder.on_raw = app.raw_frame
    for p in problems:
        log.log("config: " + p)
    return (cfg, problems, board, device_id, name, hostname, state, wifi, led, meter, ledger, port, mqtt, http,
            telegrams)
