# The dongle's HTTP endpoints: JSON API, Prometheus metrics, setup page.
# Read-only for everyone on the network; changing settings needs the admin
# password (or, while unconfigured, the setup access point's WPA2 key).
import json
import time

from hanport import fields
from hanport.fmt import decimal

from . import jsonw, log, unload
from .http import FileBody, error_body, form

JSON = "application/json"
HTML = "text/html; charset=utf-8"
PROM = "text/plain; version=0.0.4"
LOCKOUT_MAX_S = 60


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

    def config(self, req):
        from . import config
        text = json.dumps(config.public(self.app.cfg))
        unload("config")
        return 200, JSON, text, None

    def metrics(self, req):
        app = self.app
        s = app.status()
        out = []

        def metric(name, kind, help_, value, labels=""):
            out.append("# HELP hanport_%s %s\n# TYPE hanport_%s %s\n" % (name, help_, name, kind))
            out.append("hanport_%s%s %s\n" % (name, labels, value))

        metric("uptime_seconds", "gauge", "Seconds since boot.", s["uptime_s"])
        metric("free_memory_bytes", "gauge", "Free heap.", s["free_mem"])
        out.append("# HELP hanport_frames_total Frames by result.\n# TYPE hanport_frames_total counter\n")
        for k, v in s["frames"].items():
            out.append('hanport_frames_total{result="%s"} %d\n' % (k, v))
        if s["last_frame_age_s"] is not None:
            metric("last_frame_age_seconds", "gauge", "Seconds since the last good frame.", s["last_frame_age_s"])
        metric("serial_searching", "gauge", "1 while serial settings are being detected.",
               1 if s["serial"]["searching"] else 0)
        metric("wifi_connected", "gauge", "1 when Wi-Fi is up.", 1 if s["wifi"]["connected"] else 0)
        if s["wifi"]["rssi"] is not None:
            metric("wifi_rssi_dbm", "gauge", "Wi-Fi signal.", s["wifi"]["rssi"])
        metric("mqtt_connected", "gauge", "1 when connected to the broker.", 1 if s["mqtt"]["connected"] else 0)
        metric("mqtt_published_total", "counter", "Readings published.", s["mqtt"]["published"])
        metric("mqtt_failed_total", "counter", "Failed connections or sessions.", s["mqtt"]["failed"])
        r = app.state.reading
        if r is not None:
            for i in range(fields.COUNT):
                if r.m[i] is not None:
                    name = fields.FIELDS[i]
                    kind = "counter" if fields.FAMILY[i] in (fields.KWH, fields.KVARH, fields.M3, fields.GJ) else "gauge"
                    metric(name, kind, "Meter value %s." % name, decimal(r.m[i], r.d[i]))
        return 200, PROM, "".join(out), None

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
        from . import config, pages
        app = self.app
        if req.method == "GET":
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
        new, problems = pages.apply_form(app.cfg, f)
        if problems:
            return 400, JSON, error_body(400, "; ".join(problems)), None
        config.save(new)
        log.log("setup: new configuration saved, rebooting")
        app.reboot_soon()
        return 200, HTML, pages.saved(), None
