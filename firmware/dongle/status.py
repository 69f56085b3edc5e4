# /api/status: loaded for the request and let go after it (web.py). The
# energy summary in the status is made before this module loads, by
# energynow.py, and let go with it (web.py): the two are never in RAM at
# once.
import gc

from . import VERSION, jsonw, log, platform, spare


def document(web, energy):
    """/api/status's JSON, in pieces: of web (web.Web) and its App; energy:
    the energy summary, written already (jsonw.Written). (The parts'
    counters are read here, not by methods of theirs: this module is in RAM
    only while it answers.)"""
    app = web.app
    dec = app.meter.decoder
    wdt = app.wdt
    meter, mqtt, http = app.meter, app.mqtt, app.http
    return jsonw.document({
        "firmware": VERSION,
        "platform": platform.NAME,
        "device_id": app.device_id,
        "name": app.name,
        "hostname": app.hostname,
        "board": app.cfg["board"],
        "uptime_s": app.uptime_s(),
        "free_mem": gc.mem_free(),
        "heap": {"used": app.heap_used, "peak": app.heap_peak, "free": gc.mem_free(),
                 "spare": {"bytes": spare.SIZE if spare.block is not None else 0, "spent": spare.spent}},
        "reset_cause": platform.reset_cause(),
        "config": {"ok": not app.problems, "problems": app.problems,
                   "configured": bool(app.cfg["wifi"]["ssid"])},
        "serial": {"setting": meter.setting(), "searching": meter.searching, "auto": meter.auto,
                   "bytes": meter.bytes, "out_of_memory": meter.out_of_memory},
        "frames": dec.stats(),
        "last_error": diagnosis(app) or dec.last_error,
        "last_frame_age_s": app.state.age_s(),
        "wifi": {"connected": app.wifi.connected(), "rssi": app.wifi.rssi(),
                 "ip": app.wifi.ip(), "setup_ap": app.wifi.ap_active()},
        "mqtt": {"enabled": mqtt.enabled, "broker": mqtt.cfg["host"] or None, "connected": mqtt.connected,
                 "published": mqtt.published, "failed": mqtt.failed, "connects": mqtt.connects,
                 "last_error": mqtt.last_error, "base_topic": mqtt.base,
                 "short_of_memory": mqtt.short, "discovery_short_of_memory": mqtt.announce_short},
        "http": {"served": http.served, "refused": http.refused, "errors": http.errors, "active": http.active,
                 "short_of_memory": http.short, "misdirected": web.misdirected,
                 "cross_site": web.cross_site},
        "homewizard": {"on": app.cfg["homewizard"], "served": web.hw_served,
                       "refused": web.hw_refused},
        "telegram_server": app.telegrams.status() if app.telegrams else {"port": 0},
        "ntp": app.ntp_ok,
        "mdns": mdns_status(app.mdns),
        "watchdog": {"timeout_ms": app.WDT_TIMEOUT_MS, "feeds": wdt.feeds if wdt else 0},
        "led": {"on": app.led.on, "changes": app.led.changes},
        "task_restarts": app.restarts,
        "energy": energy,
        "log": log.recent(),
        "update": _update(app),
    })


def diagnosis(app):
    """hints.diagnosis, loaded only while no frame has decoded."""
    if app.meter.decoder.frames_ok or not app.meter.bytes:
        return None
    from . import hints, unload
    try:
        return hints.diagnosis(app)
    finally:
        unload("hints")


def _update(app):
    """The running version, its slot, the last update's fate (slotinfo.py),
    and the chip a bundle must be built for."""
    from . import slotinfo, unload
    try:
        return dict(slotinfo.status(), chip=app.board.get("chip"))
    finally:
        unload("slotinfo")


def mdns_status(mdns):
    """The responder's counters (mdns: app.mdns); None when config mdns is
    off, or why it does not run."""
    if mdns is None or isinstance(mdns, str):
        return mdns and {"error": mdns}
    return {"name": mdns.host, "services": mdns.types, "queries": mdns.queries, "answered": mdns.answered,
            "malformed": mdns.malformed, "ignored": mdns.ignored, "send_errors": mdns.send_errors,
            "short_of_memory": mdns.short_of_memory}
