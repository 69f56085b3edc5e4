# The documents asked for now and then: /api/status, /api/config, /metrics,
# /api/energy and the hint while no frame decodes. Loaded for the request
# and let go after it (web.py): on a board this code would otherwise sit in
# RAM between requests. Each document is made from one moment's state: a
# JSON body is copied out whole before the first byte is sent, /metrics is
# streamed from a copy of the values taken when the request came.
import gc
import json

from hanport import fields
from hanport.fmt import decimal

from . import VERSION, jsonw, log, platform, spare

JSON = "application/json"
PROM = "text/plain; version=0.0.4"


def diagnosis(app):
    """What keeps the meter's frames from readings, steadily (not the
    last error of the moment), or None: an encrypted meter without its key
    or with a wrong one, or bytes that frame at no setting."""
    meter = app.meter
    d = meter.decoder
    if d.frames_ok or not meter.bytes:
        return None
    if d.auth_failures:
        return ("wrong key: the meter's frames are encrypted and meter.key or meter.auth_key "
                "does not open them (%d frames refused)" % d.auth_failures)
    if d.key_required:
        return ("encrypted: set the key: the meter encrypts its frames; put the key from the grid "
                "company in meter.key (setup page or make config)")
    if d.unknown and app.cfg["meter"]["key"]:
        return ("wrong key: frames arrive whole but decrypt to nothing known; check meter.key "
                "(and set meter.auth_key if the grid company gave one)")
    if meter.searching or meter.recognised():
        return None
    import time
    from .meter import DWELL_S
    if time.ticks_diff(time.ticks_ms(), meter.since_ms) < DWELL_S * 1000:
        return None
    return ("bytes arrive but nothing frames at %s: likely a wrong inversion (meter.invert) "
            "or speed (meter.serial); or set both to auto" % meter.setting())


def waiting_hint(app):
    meter = app.meter
    if meter.bytes == 0:
        return ("no bytes from the meter: is the HAN port activated by the grid company, "
                "the cable in, the board powered, the RX pin right?")
    d = diagnosis(app)
    if d:
        return d
    if meter.searching:
        return "bytes arrive but do not decode yet: trying serial settings (%s)" % meter.setting()
    return "bytes arrive but no frame decodes: see frames in /api/status (%s)" % (
        meter.decoder.last_error or "no error yet")


def status(app):
    dec = app.meter.decoder
    wdt = app.wdt
    return {
        "firmware": VERSION,
        "platform": platform.NAME,
        "device_id": app.device_id,
        "name": app.name,
        "hostname": app.hostname,
        "board": app.cfg["board"],
        "uptime_s": app.uptime_s(),
        "free_mem": gc.mem_free(),
        "heap": {"used": app.heap_used, "peak": app.heap_peak, "free": gc.mem_free(),
                 "spare": spare.status()},
        "reset_cause": platform.reset_cause(),
        "config": {"ok": not app.problems, "problems": app.problems,
                   "configured": not app.unconfigured()},
        "serial": app.meter.status(),
        "frames": dec.stats(),
        "last_error": diagnosis(app) or dec.last_error,
        "last_frame_age_s": app.state.age_s(),
        "wifi": {"connected": app.wifi.connected(), "rssi": app.wifi.rssi(),
                 "ip": app.wifi.ip(), "setup_ap": app.wifi.ap_active()},
        "mqtt": app.mqtt.status(),
        "http": dict(app.http.status(), misdirected=app.web.misdirected, cross_site=app.web.cross_site),
        "homewizard": {"on": app.cfg["homewizard"], "served": app.web.hw_served,
                       "refused": app.web.hw_refused},
        "telegram_server": app.telegrams.status() if app.telegrams else {"port": 0},
        "ntp": app.ntp_ok,
        "mdns": mdns_status(app.mdns),
        "watchdog": {"timeout_ms": app.WDT_TIMEOUT_MS, "feeds": wdt.feeds if wdt else 0},
        "led": {"on": app.led.on, "changes": app.led.changes},
        "task_restarts": app.restarts,
        "energy": app.ledger.summary(),
        "log": log.recent(),
        "update": _update(app),
    }


def _update(app):
    """The running version, its slot, the last update's fate (slotinfo.py),
    and the chip a bundle must be built for."""
    from . import slotinfo, unload
    try:
        return dict(slotinfo.status(), chip=app.board.get("chip"))
    finally:
        unload("slotinfo")


def mdns_status(m):
    """The responder's counters; None when config mdns is off, or why it
    does not run."""
    if m is None or isinstance(m, str):
        return m and {"error": m}
    return {"name": m.host, "services": m.types, "queries": m.queries, "answered": m.answered,
            "malformed": m.malformed, "ignored": m.ignored, "send_errors": m.send_errors}


def handle(app, path):
    """(status, content type, body, extra headers) of a GET of path."""
    if path == "/api/status":
        return 200, JSON, jsonw.document(status(app)), None
    if path == "/api/energy":
        return 200, JSON, jsonw.document(app.ledger.report()), None
    if path == "/api/config":
        from . import config, unload
        text = json.dumps(config.public(app.cfg))
        unload("config")
        return 200, JSON, text, None
    return 200, PROM, metrics(app), None


def metrics(app):
    """The Prometheus text, a few lines at a time (the whole of it, 5 KB for
    a P1 meter, would need one block of its size), from the values as they
    are now: counters copied and the reading's values taken before the
    first line."""
    meter = app.meter
    mqtt = app.mqtt
    wifi = app.wifi
    frames = meter.decoder.stats()
    reading = app.state.reading
    values = []
    if reading is not None:
        for i in range(fields.COUNT):
            if reading.m[i] is not None:
                values.append((i, reading.m[i], reading.d[i]))
    facts = (app.uptime_s(), gc.mem_free(), app.state.age_s(), meter.searching, wifi.connected(),
             wifi.rssi(), mqtt.connected, mqtt.published, mqtt.failed)
    return _lines(facts, frames, values)


def _metric(name, kind, help_, value, labels=""):
    return "# HELP hanport_%s %s\n# TYPE hanport_%s %s\nhanport_%s%s %s\n" % (
        name, help_, name, kind, name, labels, value)


def _lines(facts, frames, values):
    uptime, free, age, searching, wifi_up, rssi, mqtt_up, published, failed = facts
    from . import BUILD
    yield _metric("build_info", "gauge", "The running firmware: version+build.", 1,
                  '{version="%s%s"}' % (VERSION, "+" + BUILD if BUILD else ""))
    yield _metric("uptime_seconds", "gauge", "Seconds since boot.", uptime)
    yield _metric("free_memory_bytes", "gauge", "Free heap.", free)
    yield "# HELP hanport_frames_total Frames by result.\n# TYPE hanport_frames_total counter\n"
    for k in frames:
        yield 'hanport_frames_total{result="%s"} %d\n' % (k, frames[k])
    if age is not None:
        yield _metric("last_frame_age_seconds", "gauge", "Seconds since the last good frame.", age)
    yield _metric("serial_searching", "gauge", "1 while serial settings are being detected.",
                  1 if searching else 0)
    yield _metric("wifi_connected", "gauge", "1 when Wi-Fi is up.", 1 if wifi_up else 0)
    if rssi is not None:
        yield _metric("wifi_rssi_dbm", "gauge", "Wi-Fi signal.", rssi)
    yield _metric("mqtt_connected", "gauge", "1 when connected to the broker.", 1 if mqtt_up else 0)
    yield _metric("mqtt_published_total", "counter", "Readings published.", published)
    yield _metric("mqtt_failed_total", "counter", "Failed connections or sessions.", failed)
    counted = (fields.KWH, fields.KVARH, fields.M3, fields.GJ)
    for i, m, d in values:
        name = fields.FIELDS[i]
        kind = "counter" if fields.FAMILY[i] in counted else "gauge"
        yield _metric(name, kind, "Meter value %s." % name, decimal(m, d))
