# HTML pages: a short index and the setup form, and the form's answer.
# Loaded for the request only (web.py). Secrets are never put in a page:
# their fields stay empty, and empty means "keep what is set".
import time

from . import log, serialcfg
from .http import error_body

JSON = "application/json"
HTML = "text/html; charset=utf-8"
LOCKOUT_MAX_S = 60


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_HEAD = ('<!doctype html><html><head><meta charset="utf-8">'
         '<meta name="viewport" content="width=device-width,initial-scale=1">'
         '<title>%s</title><style>body{font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em}'
         'label{display:block;margin:.6em 0 .1em}input,select{width:100%%;padding:.3em}'
         'fieldset{margin:1em 0}</style></head><body>')


def index(app):
    return (_HEAD % "HAN dongle" + "<h1>" + esc(app.name) + "</h1><ul>"
            '<li><a href="/api/reading">/api/reading</a>: the latest reading (JSON)</li>'
            '<li><a href="/api/status">/api/status</a>: dongle status (JSON)</li>'
            '<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>'
            '<li><a href="/setup">/setup</a>: settings</li></ul></body></html>')


def _field(label, name, value="", kind="text", note=""):
    return '<label for="%s">%s</label><input id="%s" name="%s" type="%s" value="%s">%s' % (
        name, label, name, name, kind, esc(value), ("<small>%s</small>" % note) if note else "")


def _secret(label, name, is_set):
    return _field(label, name, "", "password", "set; leave empty to keep" if is_set else "")


def _select(label, name, options, current):
    opts = "".join('<option value="%s"%s>%s</option>' % (esc(v), " selected" if v == current else "", esc(t))
                   for v, t in options)
    return '<label for="%s">%s</label><select id="%s" name="%s">%s</select>' % (name, label, name, name, opts)


def setup(cfg):
    meter, mqtt = cfg["meter"], cfg["mqtt"]
    serial = [("auto", "auto-detect")] + [(s[0], "%s (%s)" % (s[0], s[5])) for s in serialcfg.SETTINGS]
    boards = [(b, b) for b in board_names(cfg["board"])]
    parts = [_HEAD % "HAN dongle setup", "<h1>Setup</h1>", '<form method="post" action="/setup">']
    if cfg["admin_password"]:
        parts.append("<fieldset><legend>Admin</legend>%s</fieldset>" %
                     _field("Current admin password", "current_password", "", "password"))
    parts.append("<fieldset><legend>Wi-Fi</legend>%s%s</fieldset>" % (
        _field("Network name (SSID)", "wifi_ssid", cfg["wifi"]["ssid"]),
        _secret("Password", "wifi_password", bool(cfg["wifi"]["password"]))))
    parts.append("<fieldset><legend>MQTT</legend>%s%s%s%s%s%s</fieldset>" % (
        _field("Broker host (empty: no MQTT)", "mqtt_host", mqtt["host"]),
        _field("Port (0: 1883, or 8883 with TLS)", "mqtt_port", mqtt["port"], "number"),
        _field("User", "mqtt_user", mqtt["user"]),
        _secret("Password", "mqtt_password", bool(mqtt["password"])),
        _field("Base topic (empty: han/&lt;id&gt;)", "mqtt_base_topic", mqtt["base_topic"]),
        _select("Home Assistant discovery", "mqtt_discovery", (("1", "on"), ("0", "off")),
                "1" if mqtt["discovery"] else "0")))
    parts.append("<fieldset><legend>HomeWizard-compatible API</legend>%s</fieldset>" % _select(
        "Local API v1 (/api/v1/data), for what reads a HomeWizard P1 meter", "homewizard",
        (("0", "off"), ("1", "on")), "1" if cfg["homewizard"] else "0"))
    parts.append("<fieldset><legend>Meter</legend>%s%s%s%s</fieldset>" % (
        _select("Board", "board", boards, cfg["board"]),
        _select("Serial settings", "meter_serial", serial, meter["serial"]),
        _secret("Decryption key (32 hex digits, encrypted meters only)", "meter_key", bool(meter["key"])),
        _secret("Authentication key (32 hex digits)", "meter_auth_key", bool(meter["auth_key"]))))
    parts.append("<fieldset><legend>Admin password</legend>%s</fieldset>" % _field(
        "New admin password (needed to change settings later; at least 8 characters)",
        "admin_password", "", "password", "set; leave empty to keep" if cfg["admin_password"] else "required"))
    parts.append('<button type="submit">Save and reboot</button></form>')
    if cfg["admin_password"]:
        from . import BUILD, VERSION
        parts.append(_UPDATE % esc(VERSION + ("+" + BUILD if BUILD else "")))
    parts.append('</body></html>')
    return parts      # sent piece by piece (http.py): no string of the whole page


# an update over Wi-Fi (update.py): the bundle make build makes, sent as it is;
# the password goes as UTF-8 bytes (a header's text is read as UTF-8, and
# fetch sends each character as one byte, refusing those above U+00FF)
_UPDATE = ('<fieldset><legend>Update</legend><p>Running %s. Choose a bundle (make build writes '
           'build/hanport.bundle) and give the current admin password above; if the new version does not '
           'prove itself, the dongle goes back to this one by itself.</p><input type="file" id="ub">'
           '<button type="button" onclick="ota()">Update</button><p id="ur"></p>'
           '</fieldset><script>function ota(){var f=document.getElementById("ub").files[0],'
           'r=document.getElementById("ur");if(!f)return;r.textContent="sending...";'
           'fetch("/api/update",{method:"POST",headers:{"X-Admin-Password":unescape(encodeURIComponent('
           'document.getElementById("current_password").value))},'
           'body:f}).then(function(x){return x.json()}).then(function(j){r.textContent=j.error||("installed "+'
           'j.installed+": rebooting; it has "+j.window_s+" s to prove itself")}).catch(function(e){'
           'r.textContent="failed: "+e})}</script>')


# form field -> (config path, kind); secrets: empty keeps the current value
FORM = (
    ("wifi_ssid", ("wifi", "ssid"), "text"),
    ("wifi_password", ("wifi", "password"), "secret"),
    ("mqtt_host", ("mqtt", "host"), "text"),
    ("mqtt_port", ("mqtt", "port"), "int"),
    ("mqtt_user", ("mqtt", "user"), "text"),
    ("mqtt_password", ("mqtt", "password"), "secret"),
    ("mqtt_base_topic", ("mqtt", "base_topic"), "text"),
    ("mqtt_discovery", ("mqtt", "discovery"), "bool"),
    ("homewizard", ("homewizard",), "bool"),
    ("board", ("board",), "text"),
    ("meter_serial", ("meter", "serial"), "text"),
    ("meter_key", ("meter", "key"), "secret"),
    ("meter_auth_key", ("meter", "auth_key"), "secret"),
    ("admin_password", ("admin_password",), "secret"),
)


def apply_form(cfg, f):
    """(new config, problems) from the submitted form."""
    from . import config              # (the caller unloads it)
    given, _ = config.load()
    problems = []
    for name, path, kind in FORM:
        if name not in f:
            continue
        v = f[name].strip() if kind != "secret" else f[name]
        if kind == "secret" and v == "":
            continue
        if kind == "int":
            try:
                v = int(v or "0")
            except ValueError:
                problems.append("%s: not a number" % name)
                continue
        elif kind == "bool":
            v = v == "1"
        d = given
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = v
    if not given["admin_password"] or len(given["admin_password"]) < 8:
        problems.append("admin_password: set one of at least 8 characters")
    if given["board"] != cfg["board"] and given["board"] not in board_names():
        problems.append("board: no board file %r" % given["board"])
    new, bad = config.from_dict(given)
    return new, problems + bad


def saved(host):
    host = esc(host) + ".local"
    return (_HEAD % "Saved" + "<h1>Saved</h1><p>The dongle reboots with the new settings. "
            "It joins your Wi-Fi within a minute; find it there at "
            '<a href="http://%s/">http://%s/</a> (or by its address in your router\'s list), '
            "or on its setup network again if it cannot connect.</p></body></html>" % (host, host))


def unquote(s):
    """application/x-www-form-urlencoded value -> text."""
    s = s.replace("+", " ")
    if "%" not in s:
        return s
    out = bytearray()
    i = 0
    b = s.encode()
    while i < len(b):
        if b[i] == 37 and i + 2 < len(b):
            try:
                out.append(int(b[i + 1:i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(b[i])
        i += 1
    return out.decode()


def form(body):
    out = {}
    for part in body.decode().split("&"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[unquote(k)] = unquote(v)
    return out


def board_names(current=None):
    """The boards/ folder's board files by name; without the folder, the
    board in use (current) alone."""
    import os
    try:
        return sorted(n[:-5] for n in os.listdir("boards") if n.endswith(".json"))
    except OSError:
        return [current] if current else []


def rebooting():
    return (_HEAD % "Rebooting" + "<h1>Rebooting</h1><p>The dongle reboots; it is back within a minute.</p>"
            "</body></html>")


def equal(a, b):
    """Constant-time comparison: the time taken says nothing of where the
    strings differ (only their lengths' maximum)."""
    a, b = a.encode(), b.encode()
    n = max(len(a), len(b))
    diff = len(a) ^ len(b)
    for i in range(n):
        diff |= (a[i] if i < len(a) else 0) ^ (b[i] if i < len(b) else 0)
    return diff == 0


def may_change(web, given, peer):
    """None when the change is allowed, else (status, message). Wrong
    passwords lock changes out for a doubling time (web keeps the count);
    no password given is not a wrong one."""
    app = web.app
    pw = app.cfg["admin_password"]
    if not pw:
        if app.cfg["wifi"]["ssid"]:        # configured
            return 403, "read-only: no admin_password is set (set one in config.json over USB)"
        from . import platform
        if platform.on_setup_network(peer):
            return None        # first set-up, over the WPA2 setup network
        return 403, "not configured: set the dongle up from its setup network (HAN-setup-...)"
    if given is None:
        return 401, "the admin password is needed (current_password)"
    now = time.time()
    if now < web.locked_until:
        return 429, "too many wrong passwords: try again in %d s" % (web.locked_until - now)
    if equal(given, pw):
        web.fails = 0
        return None
    web.fails += 1
    web.locked_until = now + min(2 ** web.fails, LOCKOUT_MAX_S)
    log.log("setup: wrong admin password (%d in a row)" % web.fails)
    return 401, "wrong admin password"


def _refused(req, status, message):
    """An error answer to the form: a page for a browser (Accept:
    text/html), JSON for scripts."""
    if "text/html" in req.headers.get("accept", ""):
        return status, HTML, (_HEAD % "Not saved" + "<h1>Not saved</h1><p>" + esc(message) +
                              '</p><p><a href="/setup">Back to the settings</a></p></body></html>'), None
    return status, JSON, error_body(status, message), None


def handle(web, req):
    """GET / (when the page is not installed), GET /setup (the form), POST
    /setup (its answer)."""
    app = web.app
    if req.path == "/":
        return 200, HTML, index(app), None
    if req.method == "GET":
        return 200, HTML, setup(app.cfg), None
    if "application/x-www-form-urlencoded" not in req.headers.get("content-type", ""):
        return _refused(req, 400, "send the setup form (application/x-www-form-urlencoded)")
    try:
        f = form(req.body)
    except (UnicodeError, ValueError):
        return _refused(req, 400, "form is not valid text")
    denied = may_change(web, f.get("current_password"), req.peer)
    if denied:
        return _refused(req, denied[0], denied[1])
    if app.cfg["admin_password"] and list(f) == ["current_password"]:   # the password alone: reboot, nothing to save
        log.log("setup: reboot asked for")
        app.reboot_soon()
        return 200, HTML, rebooting(), None
    from . import config              # (after the password: a guesser loads nothing more)
    new, problems = apply_form(app.cfg, f)
    if problems:
        # nothing is saved: no default is "used" either
        return _refused(req, 400, "nothing saved: " + "; ".join(p.replace("; default used", "") for p in problems))
    config.save(new)
    log.log("setup: new configuration saved, rebooting")
    app.reboot_soon()
    return 200, HTML, saved(new["hostname"] or "hanport-" + app.short_id), None
