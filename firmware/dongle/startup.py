# The App's parts, built once at start: the config (config.json, checked)
# and the board's file, then the meter, the energy ledger, MQTT and HTTP.
# Loaded by App() and let go after it: start-up code need not stay in RAM.
import gc
import time

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
    app.boot_ms = time.ticks_ms()
    gc.threshold(_GC_EVERY)
    from . import boards, config
    app.cfg, app.problems = config.load()
    log.set_secrets(config.secrets(app.cfg))
    app.board, problem = boards.load(app.cfg["board"])
    if problem:
        app.problems.append(problem)
    unload("boards", "config")
    app.device_id = platform.unique_id()
    app.short_id = app.device_id[-6:]
    app.name = app.cfg["name"] or "HAN " + app.short_id
    app.state = State()
    app.hostname = app.cfg["hostname"] or "hanport-" + app.short_id
    platform.set_hostname(app.hostname)      # before Wi-Fi: DHCP and mDNS use it
    app.wifi = platform.Wifi()
    app.led = platform.Led(app.board["led"], app.board["led_active_low"])
    app.wdt = None
    app.restarts = {}
    app.meter = Meter(app.cfg, app.board, app.state, app.problems)
    app.meter.on_frame = app.frame
    app.ledger = Ledger(app.cfg)
    port = app.http_port = platform.http_port(app.cfg["http"]["port"])
    page = "http://%s.local%s/" % (app.hostname, ":%d" % port if port != 80 else "")
    from . import BUILD
    app.mqtt = Mqtt(app.cfg["mqtt"], app.short_id, app.name, VERSION + ("+" + BUILD if BUILD else ""),
                    page, app.state, app.wifi, app.ledger)
    app.http = Server(Web(app, app.hostname, app.cfg["http"]["hosts"]).handle, log.log)
    # issue 14, each off by default: the last P1 telegram for the
    # HomeWizard API, every good frame for the telegram port (telegram.py)
    app.p1_raw = None
    app.telegrams = None
    if app.cfg["telegram_server"]:
        from .telegram import Telegrams
        app.telegrams = Telegrams(app.cfg["telegram_server"], log.log)
    if app.cfg["homewizard"] or app.telegrams:
        app.meter.decoder.on_raw = app.raw_frame
    app.ntp_ok = False
    app.mdns = None            # mdns.py's responder while it runs, or why it does not
    app.reboot_at = None         # ticks_ms of a reboot asked for (reboot_soon)
    app.heap_used = app.heap_peak = 0     # live heap after a collection
    for p in app.problems:
        log.log("config: " + p)
