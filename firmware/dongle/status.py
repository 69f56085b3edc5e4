# /api/status: loaded for the request and let go after it (web.py). The
# energy summary in the status is made before this module loads, by
# energynow.py, and let go with it (web.py): the two are never in RAM at
# once.
import gc

from . import VERSION, jsonw, log, platform, spare


def document(web, energy):
    """/api/status's JSON, in pieces: of web (web.Web) and its App; energy:
    the energy summary, written already (jsonw.Written). Made member by
    member as it is written, each garbage after it: the whole as dicts
    would be a KB more at the peak (nothing else runs meanwhile, so the
    members are of one state). (The parts' counters are read here, not by
    methods of theirs: this module is in RAM only while it answers.)"""
    # its members, in the order written (sorted, as json.dumps(sort_keys=True))
    keys = ("board", "config", "device_id", "energy", "firmware", "frames", "free_mem", "heap", "homewizard",
            "hostname", "http", "last_error", "last_frame_age_s", "led", "log", "mdns", "mqtt", "name", "ntp",
            "platform", "reset_cause", "serial", "task_restarts", "telegram_server", "update", "uptime_s",
            "watchdog", "wifi")
    return jsonw.document(jsonw.Members(keys, lambda key: _member(key, web, energy)))


def _member(key, web, energy):
    """The member key: a value, or one of the parts' counters (section). (Two
    functions, not one: loading this module asks for a block the size of
    each, and a long-running heap has many small holes, few big ones.)"""
    app = web.app
    if key == "board":
        return app.cfg["board"]
    if key == "device_id":
        return app.device_id
    if key == "energy":
        return energy
    if key == "firmware":
        return VERSION
    if key == "frames":
        return app.meter.decoder.stats()
    if key == "free_mem":
        return gc.mem_free()
    if key == "hostname":
        return app.hostname
    if key == "last_error":
        return diagnosis(app) or app.meter.decoder.last_error
    if key == "last_frame_age_s":
        return app.state.age_s()
    if key == "log":
        return log.recent()
    if key == "mdns":
        return mdns_status(app.mdns)
    if key == "name":
        return app.name
    if key == "ntp":
        return app.ntp_ok
    if key == "platform":
        return platform.NAME
    if key == "reset_cause":
        return platform.reset_cause()
    if key == "task_restarts":
        return app.restarts
    if key == "telegram_server":
        return app.telegrams.status() if app.telegrams else {"port": 0}
    if key == "update":
        return _update(app)
    if key == "uptime_s":
        return app.uptime_s()
    return section(key, web)


def section(key, web):
    """The member key, one of the parts' counters."""
    app = web.app
    if key == "config":
        return {"ok": not app.problems, "problems": app.problems, "configured": bool(app.cfg["wifi"]["ssid"])}
    if key == "heap":
        return {"used": app.heap_used, "peak": app.heap_peak, "free": gc.mem_free(),
                "spare": {"bytes": spare.SIZE if spare.block is not None else 0, "spent": spare.spent}}
    if key == "homewizard":
        return {"on": app.cfg["homewizard"], "served": web.hw_served, "refused": web.hw_refused}
    if key == "http":
        http = app.http
        return {"served": http.served, "refused": http.refused, "errors": http.errors, "active": http.active,
                "short_of_memory": http.short, "misdirected": web.misdirected, "cross_site": web.cross_site}
    if key == "led":
        return {"on": app.led.on, "changes": app.led.changes}
    if key == "mqtt":
        mqtt = app.mqtt
        return {"enabled": mqtt.enabled, "broker": mqtt.cfg["host"] or None, "connected": mqtt.connected,
                "published": mqtt.published, "failed": mqtt.failed, "connects": mqtt.connects,
                "last_error": mqtt.last_error, "base_topic": mqtt.base, "short_of_memory": mqtt.short,
                "discovery_short_of_memory": mqtt.announce_short}
    if key == "serial":
        meter = app.meter
        return {"setting": meter.setting(), "searching": meter.searching, "auto": meter.auto,
                "bytes": meter.bytes, "out_of_memory": meter.out_of_memory}
    if key == "watchdog":
        return {"timeout_ms": app.WDT_TIMEOUT_MS, "feeds": app.wdt.feeds if app.wdt else 0}
    wifi = app.wifi                    # ("wifi", the last)
    return {"connected": wifi.connected(), "rssi": wifi.rssi(), "ip": wifi.ip(), "setup_ap": wifi.ap_active()}


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
        return dict(slotinfo.status(), chip=app.chip)
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
