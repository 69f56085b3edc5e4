# The dongle's HTTP endpoints: JSON API, Prometheus metrics, setup page.
# Read-only for everyone on the network; changing settings needs the admin
# password (or, while unconfigured, the setup access point's WPA2 key).
import json
import sys
import time

from hanport import fields
from hanport.fmt import decimal

from . import jsonw, log, room, unload
from .http import FileBody, error_body, form

JSON = "application/json"
HTML = "text/html; charset=utf-8"
PROM = "text/plain; version=0.0.4"
LOCKOUT_MAX_S = 60
# free heap /api/config and a setup form sent need: the config module is
# read into RAM for the request (17-19 KB in all on the 64-bit virtual
# dongle, about half on a 32-bit board)
MODULE_ROOM = 19 * 1024 if sys.maxsize > 1 << 32 else 10 * 1024

# (here, not in pages.py: a bare reboot loads no module)
REBOOTING = ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
             'content="width=device-width,initial-scale=1"><title>Rebooting</title></head>'
             '<body style="font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em">'
             '<h1>Rebooting</h1><p>The dongle reboots; it is back within a minute.</p></body></html>')


def equal(a, b):
    """Constant-time comparison: the time taken says nothing of where the
    strings differ (only their lengths' maximum)."""
    a, b = a.encode(), b.encode()
    n = max(len(a), len(b))
    diff = len(a) ^ len(b)
    for i in range(n):
        diff |= (a[i] if i < len(a) else 0) ^ (b[i] if i < len(b) else 0)
    return diff == 0


class Web:
    def __init__(self, app):
        self.app = app
        self._fails = 0
        self._locked_until = 0

    def handle(self, req):
        routes = {
            "/": (("GET",), self.index),
            "/api/reading": (("GET",), self.reading),
            "/api/status": (("GET",), self.status),
            "/api/config": (("GET",), self.config),
            "/api/energy": (("GET",), self.energy),
            "/metrics": (("GET",), self.metrics),
            "/setup": (("GET", "POST"), self.setup),
        }
        route = routes.get(req.path)
        if route is None:
            return 404, JSON, error_body(404, "not found", path=req.path[:100]), None
        methods, fn = route
        if req.method not in methods:
            return 405, JSON, error_body(405, "method not allowed"), {"Allow": ", ".join(methods)}
        return fn(req)

    def index(self, req):
        """The page (www/index.html, gzip-compressed when the browser takes
        it), or a list of the endpoints when the page is not installed."""
        gz = "gzip" in req.headers.get("accept-encoding", "")
        for path, extra in (("www/index.html.gz", {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}),
                            ("www/index.html", {"Vary": "Accept-Encoding"})):
            if path.endswith(".gz") and not gz:
                continue
            try:
                body = FileBody(path)
                body.size()
            except OSError:
                continue
            extra["Cache-Control"] = "max-age=3600"
            return 200, HTML, body, extra
        from . import pages
        html = pages.index(self.app)
        unload("pages")
        return 200, HTML, html, None

    def reading(self, req):
        st = self.app.state
        if st.reading is None:
            return 503, JSON, error_body(503, "no reading yet", hint=self.app.waiting_hint()), \
                {"Retry-After": "10"}
        return 200, JSON, st.json(), None

    def status(self, req):
        return 200, JSON, jsonw.view(self.app.status()), None

    def energy(self, req):
        return 200, JSON, jsonw.view(self.app.ledger.report()), None

    def _no_room(self):
        """A 503 when the heap has no room for the config module now (a
        crowd of clients at once): busy, rather than a MemoryError part way
        through, or the meter or MQTT being the ones to run out."""
        if room(MODULE_ROOM):
            return None
        return 503, JSON, error_body(503, "busy: low on memory, try again"), {"Retry-After": "2"}

    def config(self, req):
        busy = self._no_room()
        if busy:
            return busy
        from . import config
        text = json.dumps(config.public(self.app.cfg))
        unload("config")
        return 200, JSON, text, None

    def metrics(self, req):
        # sent a few lines at a time (a generator): the whole text as one
        # string (5 KB for a P1 meter) needs a block of its size, which a
        # fragmented heap does not always have
        s = self.app.status()
        return 200, PROM, self._metrics(s["uptime_s"], s["free_mem"], s["frames"], s["last_frame_age_s"],
                                        s["serial"]["searching"], s["wifi"], s["mqtt"]), None

    def _metrics(self, uptime, free, frames, age, searching, wifi, mqtt):
        # (the facts it needs, not the whole status: a few clients at once
        # would each hold one)
        def metric(name, kind, help_, value, labels=""):
            return "# HELP hanport_%s %s\n# TYPE hanport_%s %s\nhanport_%s%s %s\n" % (
                name, help_, name, kind, name, labels, value)

        yield metric("uptime_seconds", "gauge", "Seconds since boot.", uptime)
        yield metric("free_memory_bytes", "gauge", "Free heap.", free)
        yield "# HELP hanport_frames_total Frames by result.\n# TYPE hanport_frames_total counter\n"
        for k, v in frames.items():
            yield 'hanport_frames_total{result="%s"} %d\n' % (k, v)
        if age is not None:
            yield metric("last_frame_age_seconds", "gauge", "Seconds since the last good frame.", age)
        yield metric("serial_searching", "gauge", "1 while serial settings are being detected.",
                     1 if searching else 0)
        yield metric("wifi_connected", "gauge", "1 when Wi-Fi is up.", 1 if wifi["connected"] else 0)
        if wifi["rssi"] is not None:
            yield metric("wifi_rssi_dbm", "gauge", "Wi-Fi signal.", wifi["rssi"])
        yield metric("mqtt_connected", "gauge", "1 when connected to the broker.", 1 if mqtt["connected"] else 0)
        yield metric("mqtt_published_total", "counter", "Readings published.", mqtt["published"])
        yield metric("mqtt_failed_total", "counter", "Failed connections or sessions.", mqtt["failed"])
        r = self.app.state.reading
        if r is not None:
            for i in range(fields.COUNT):
                if r.m[i] is not None:
                    name = fields.FIELDS[i]
                    kind = "counter" if fields.FAMILY[i] in (fields.KWH, fields.KVARH, fields.M3, fields.GJ) else "gauge"
                    yield metric(name, kind, "Meter value %s." % name, decimal(r.m[i], r.d[i]))

    # --- setup ----------------------------------------------------------

    def _may_change(self, given):
        """None when the change is allowed, else (status, message)."""
        cfg = self.app.cfg
        pw = cfg["admin_password"]
        if not pw:
            if self.app.unconfigured():
                return None        # first set-up, over the WPA2 setup network
            return 403, "read-only: no admin_password is set (set one in config.json over USB)"
        now = time.time()
        if now < self._locked_until:
            return 429, "too many wrong passwords: try again in %d s" % (self._locked_until - now)
        if equal(given, pw):
            self._fails = 0
            return None
        self._fails += 1
        self._locked_until = now + min(2 ** self._fails, LOCKOUT_MAX_S)
        log.log("setup: wrong admin password (%d in a row)" % self._fails)
        return 401, "wrong admin password"

    def setup(self, req):
        """The setup form (GET) and its answer (POST). Its modules load
        for the request only."""
        try:
            return self._setup(req)
        finally:
            unload("pages", "config")

    def _setup(self, req):
        app = self.app
        if req.method == "GET":
            from . import pages           # (the form needs no config module)
            return 200, HTML, pages.setup(app), None
        if "application/x-www-form-urlencoded" not in req.headers.get("content-type", ""):
            return 400, JSON, error_body(400, "send the setup form (application/x-www-form-urlencoded)"), None
        try:
            f = form(req.body)
        except (UnicodeError, ValueError):
            return 400, JSON, error_body(400, "form is not valid text"), None
        denied = self._may_change(f.get("current_password", ""))
        if denied:
            return denied[0], JSON, error_body(denied[0], denied[1]), None
        if all(k == "current_password" for k in f):     # the password alone: reboot, nothing to save
            log.log("setup: reboot asked for")
            app.reboot_soon()
            return 200, HTML, REBOOTING, None
        busy = self._no_room()
        if busy:
            return busy
        from . import config, pages       # (after the password: a guesser loads nothing)
        new, problems = pages.apply_form(app.cfg, f)
        if problems:
            return 400, JSON, error_body(400, "; ".join(problems)), None
        config.save(new)
        log.log("setup: new configuration saved, rebooting")
        app.reboot_soon()
        return 200, HTML, pages.saved(), None
