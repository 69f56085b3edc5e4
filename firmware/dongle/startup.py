# The App's parts, built once at start: the config (config.json, checked)
# and the board's file, then the meter, the energy ledger, MQTT and HTTP.
# Loaded by App() and let go after it: start-up code need not stay in RAM.
import gc
import os

import hanport

from . import KB, VERSION, log, platform, unload
from .http import Server
from .ledger import Ledger
from .meter import Meter
from .mqtt import Mqtt
from .state import State
from .web import Web


def build(app):
    """(cfg, problems, chip, device_id, name, hostname, state, wifi, led,
    meter, ledger, http_port, mqtt, http, telegrams), wired to app's
    handlers (frame, raw_frame). chip: the board file's, which update
    checks a bundle against (the rest of the board file is not kept)."""
    # a collection after every 2 KB allocated (4 KB on 64 bits): short-lived
    # objects then reuse the same holes low in the heap instead of spreading
    # through it, and what is kept lands among them, not across the free
    # room. An Aidon dongle in 96 KB after 100 frames, measured on the 32-bit
    # build (micropython.mem_info()): the largest free run 3.2 to 3.7 KB;
    # after every 8 KB it was 0.5 to 0.9 KB, every 1 KB no better than 2.
    gc.threshold(4 * KB)
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
    meter = _meter(cfg, board, state, problems)
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
    return (cfg, problems, board.get("chip"), device_id, name, hostname, state, wifi, led, meter, ledger, port, mqtt,
            http, telegrams)


def _meter(cfg, board, state, problems):
    """The Meter: its decoder, its UART and the serial settings to try."""
    mc = cfg["meter"]
    try:
        decoder = hanport.Decoder(mc["key"] or None, mc["auth_key"] or None, mc["multipliers"] or None)
    except ValueError as e:
        problems.append("meter.multipliers: %s; ignored" % e)
        decoder = hanport.Decoder(mc["key"] or None, mc["auth_key"] or None)
    finally:
        unload("hanport.options")   # (read the options, if any were given)
    serial = platform.Serial(board, mc["port"])
    platform.request_pin(board["request_pin"])
    invert = board["invert"] if mc["invert"] == "auto" else mc["invert"]
    from . import serialcfg
    first = serialcfg.parse_label(mc["detected"]) if mc["detected"] else None
    if first is None:
        first = (board["serial"], board["invert"])
    # (the table goes: the setup page loads it)
    candidates = []
    for name, inv in serialcfg.candidates(first, invert, mc["serial"], mc["invert"]):
        candidates.append((serialcfg.label(name, inv),) + serialcfg.get(name)[1:5] + (inv,))
    unload("serialcfg")
    if mc["detected"] or len(candidates) == 1:
        # a known setting: its protocol's parser loaded now, not by the
        # first frame, where it would compete for the heap with whatever
        # HTTP holds then (the spare block is for a frame)
        decoder.prepare("dlms" if candidates[0][1] == 2400 else "p1")
    return Meter(cfg, state, decoder, serial, candidates)
