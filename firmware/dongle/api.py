# The documents asked for now and then: /api/config, /metrics and
# /api/energy (/api/status is status.py's). Loaded for the request and let
# go after it (web.py): on a board this code would otherwise sit in RAM
# between requests. Each document is made from one moment's state: a JSON
# body is copied out whole before the first byte is sent, /metrics is
# streamed from a copy of the values taken when the request came.
import gc
import json

from hanport import fields
from hanport.fmt import decimal

from . import BUILD, VERSION, jsonw

JSON = "application/json"
PROM = "text/plain; version=0.0.4"


def handle(app, path):
    """(status, content type, body, extra headers) of a GET of path."""
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
        name = fields.name(i)
        kind = "counter" if fields.FAMILY[i] in counted else "gauge"
        yield _metric(name, kind, "Meter value %s." % name, decimal(m, d))
