# The dongle's HTTP endpoints. What is asked for often stays loaded: the
# reading (the latest frame's document, made once per frame) and the page
# (a file streamed from flash). Everything else loads for its request and
# is let go after it: status.py (/api/status), api.py (energy, config,
# metrics), pages.py (setup form and its answer). Read-only for everyone on the network;
# changing settings needs the admin password (pages.py).
from . import KB, room, unload
from .http import BUSY, FileBody, HttpError, error_body
from micropython import const

JSON = "application/json"
HTML = "text/html; charset=utf-8"
# free heap a request that loads a module needs first, so that the meter's
# and MQTT's share is left beside it (the spare block, spare.py, is held
# apart from this; if the request runs out all the same, it alone is
# answered 503). On the 32-bit build, where bytecode is no smaller than on
# 64 bits: /api/status 6 to 6.5 KB at its peak (status.py 2 KB, jsonw.py
# 1 KB and the document; before them energynow.py, 2 KB, for the energy
# summary), measured by filling the heap to a given free size; /metrics
# less; the LARGE ones more: the
# energy report (energyview.py and energynow.py, a year's report made
# item by item), /api/config and the setup page (config.py 5.6 KB;
# pages.py 9.2 KB), an update (update.py 4.9 KB and its stream,
# updatecheck.py), a backup or a restore.
MODULE_ROOM = 16 * KB
LARGE_ROOM = 28 * KB
LARGE = ("/setup", "/", "/api/energy", "/api/config", "/api/update", "/api/backup", "/api/restore")

ROUTES = {"/": ("GET",), "/api/reading": ("GET",), "/api/status": ("GET",), "/api/config": ("GET",),
          "/api/energy": ("GET",), "/metrics": ("GET",), "/setup": ("GET", "POST"),
          "/api/update": ("POST",), "/api/backup": ("GET",), "/api/restore": ("POST",)}

# what a request from elsewhere is told, by index in httpwhy.py's texts
_ELSEWHERE = const(13)
_CROSS_SITE = const(14)


class Web:
    """The routes (handle(), http.Server's handler) and their counters.
    app: the App, which the modules that answer read (status.py every part
    of it) and whose reboot_soon() the setup form, an update and a restore
    call; the App keeps no reference to the Web (the Server holds handle)."""

    def __init__(self, app, hostname, hosts):
        self.app = app
        self.hostname = hostname.lower()
        self.hosts = []
        for h in hosts:
            self.hosts.append(h.lower())
        self.fails = 0             # wrong admin passwords in a row (pages.py)
        self.locked_until = 0
        self.misdirected = 0       # requests for a name that is not ours (DNS rebinding)
        self.cross_site = 0        # changes sent from another site's page
        self.hw_served = self.hw_refused = 0   # HomeWizard API requests (homewizard.py)

    def handle(self, req):
        host = req.headers.get("host")
        if host is not None and not self.ours(host):
            self.misdirected += 1
            return 421, JSON, HttpError(421, _ELSEWHERE, (self.hostname, self.hostname, ", " if self.hosts else "",
                                                          ", ".join(self.hosts))).body(), None
        if req.method != "GET" and not same_origin(req.headers, host):
            self.cross_site += 1
            return 403, JSON, HttpError(403, _CROSS_SITE).body(), None
        if self.app.cfg["homewizard"] and (req.path == "/api" or req.path.startswith("/api/v1/")):
            return self.homewizard(req)
        methods = ROUTES.get(req.path)
        if methods is None:
            return 404, JSON, error_body(404, "not found", path=req.path[:100]), None
        if req.method not in methods:
            return 405, JSON, error_body(405, "method not allowed"), {"Allow": ", ".join(methods)}
        if req.path == "/api/reading":
            return self.reading()
        if req.path == "/":
            page = self.index(req)
            if page:
                return page
        if not room(LARGE_ROOM if req.path in LARGE else MODULE_ROOM):
            return BUSY
        if req.path in ("/api/update", "/api/backup", "/api/restore"):
            # (update.py, backup.py: their answers are awaited, and they
            # let themselves go when done)
            try:
                if req.path == "/api/update":
                    from . import update
                    return update.handle(self, req)
                from . import backup
                return backup.handle(self, req)
            except MemoryError:         # (half loaded: let go)
                unload("update", "updatestep", "backup")
                return BUSY
        try:
            if req.path == "/api/status":
                # the energy summary first, written out, its module let
                # go: then the status module (never both in RAM at once)
                from . import jsonw
                energy = jsonw.Written(jsonw.document(self.app.ledger.summary()))
                from . import status
                return 200, JSON, status.document(self, energy), None
            if req.path in ("/setup", "/"):
                from . import pages
                return pages.handle(self, req)
            from . import api
            return api.handle(self.app, req.path)
        finally:
            unload("api", "status", "pages", "config", "jsonw")

    def homewizard(self, req):
        """The HomeWizard-compatible API (config homewizard): homewizard.py,
        loaded for the request."""
        if not room(MODULE_ROOM):
            return BUSY
        try:
            from . import homewizard
            return homewizard.handle(self, req)
        finally:
            unload("homewizard")

    def ours(self, host):
        """Whether a Host header names this dongle: an IP address, its
        hostname bare or under any domain (.local, .lan, the router's), or
        a configured name; a port may follow. A DNS-rebinding site's name is
        none of these, so its scripts read nothing from here."""
        if host.startswith("["):                    # an IPv6 address
            return True
        name = host.partition(":")[0].lower().rstrip(".")
        parts = name.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return True
        return parts[0] == self.hostname or name in self.hosts

    def reading(self):
        doc = self.app.state.document()
        if doc is None:
            from . import hints
            hint = hints.waiting_hint(self.app)
            unload("hints")
            return 503, JSON, error_body(503, "no reading yet", hint=hint), {"Retry-After": "10"}
        return 200, JSON, doc, None

    def index(self, req):
        """The page (www/index.html, gzip-compressed when the browser takes
        it); None when it is not installed (pages.py lists the endpoints)."""
        from . import SLOT
        gz = "gzip" in req.headers.get("accept-encoding", "")
        for path in (SLOT + "www/index.html.gz", SLOT + "www/index.html"):
            if path.endswith(".gz") and not gz:
                continue
            try:
                body = FileBody(path)
                body.size()
            except OSError:
                continue
            extra = {"Vary": "Accept-Encoding", "Cache-Control": "max-age=3600"}
            if path.endswith(".gz"):
                extra["Content-Encoding"] = "gzip"
            return 200, HTML, body, extra
        return None


def same_origin(headers, host):
    """A request that changes something came from the dongle's own page:
    its Origin (or, without one, its Referer) is this very host. A request
    with neither is not a browser's (curl, make): taken. Checked before the
    password, so another site's page can neither change settings nor run
    the owner into the lockout."""
    origin = headers.get("origin")
    if origin is None:
        ref = headers.get("referer")
        if ref is None:
            return True
        origin = ref
    return host is not None and (origin == "http://" + host or origin.startswith("http://" + host + "/"))
