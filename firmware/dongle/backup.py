# GET /api/backup and POST /api/restore (admin password, as /api/update):
# one JSON file with the config and the energy history (hours, days,
# months, peaks), to keep or to move to another dongle. Secrets (Wi-Fi,
# MQTT and setup-network passwords, meter keys, the admin password) are
# left out ("(set)" in their place) unless the request asks for them with
# ?secrets=1. A restore is checked whole first, with make config's checks
# (config.from_dict) and the energy state loaded into a new ledger; a bad
# file changes nothing and says why. A secret left out keeps the dongle's
# own value, and so do its board and (virtual dongle) meter port: they are
# the hardware, not settings. Loaded for the request and let go after it
# (web.py).
import json
import os

from . import VERSION, log, unload
from .http import error_body

JSON = "application/json"
MAGIC = "hanport_backup"
RESTORE_MAX = 256 * 1024
TMP = "restore.tmp"


def _energy_text(app):
    """The energy state as JSON text, straight from energy.json (saved
    first: the file is the state as of now), in pieces."""
    app.ledger.save()
    with open(app.ledger.path) as f:
        f.readline()                        # "HANE1 <crc> <length>"
        while True:
            piece = f.read(512)
            if not piece:
                return
            yield piece


def backup(app, secrets):
    from . import config
    cfg = app.cfg if secrets else config.public(app.cfg)
    unload("config")
    head = json.dumps({MAGIC: 1, "version": VERSION, "device_id": app.device_id, "secrets": secrets,
                       "config": cfg})
    yield head[:-1] + ', "energy": '
    yield from _energy_text(app)
    yield "}\n"


async def handle(web, req):
    from .update import Source
    from .updatecheck import admin
    app = web.app
    try:
        if req.method == "GET":
            denied = admin(web, req)
            if denied:
                return denied
            secrets = "secrets=1" in req.query
            log.log("backup: taken%s" % (" with secrets" if secrets else ""))
            name = "hanport-%s-backup.json" % app.short_id
            return 200, JSON, backup(app, secrets), {"Content-Disposition": 'attachment; filename="%s"' % name}
        if req.length is None:
            return 411, JSON, error_body(411, "send the backup with a Content-Length"), None
        src = Source(req)
        denied = admin(web, req)
        if not denied and req.length > RESTORE_MAX:
            denied = 413, JSON, error_body(413, "a backup is at most %d bytes" % RESTORE_MAX), None
        if denied:
            await src.drain()
            return denied
        try:
            with open(TMP, "wb") as f:
                await src.copy(req.length, f, _Nothing())
            why = restore(app)
        except Exception as e:           # (updatestep.Refused: cut or stalled)
            why = getattr(e, "message", None) or "%s: %s" % (type(e).__name__, e)
        finally:
            try:
                os.remove(TMP)
            except OSError:
                pass
        if why:
            log.log("restore: refused: %s" % why)
            return 400, JSON, error_body(400, "nothing restored: " + why), None
        log.log("restore: config and energy history restored, rebooting")
        app.reboot_soon()
        return 200, JSON, json.dumps({"restored": True, "rebooting": True}), None
    except MemoryError:             # (answered, not raised: see update.py)
        return 503, JSON, '{"error": "busy: low on memory, try again", "status": 503}', {"Retry-After": "2"}
    finally:
        unload("backup", "update", "updatestep", "updatecheck", "config", "energyview", "energynow")


class _Nothing:
    def update(self, b):
        pass


def restore(app):
    """None once the file in TMP is applied, else why it was not (nothing
    changed then)."""
    from . import config, energy, energyview
    try:
        with open(TMP) as f:
            d = json.loads(f.read())
    except (ValueError, UnicodeError, MemoryError):
        return "not a JSON file (damaged or cut short?)"
    if not isinstance(d, dict) or d.get(MAGIC) != 1:
        return "not a hanport backup (GET /api/backup makes one)"
    given = d.get("config")
    if not isinstance(given, dict) or not isinstance(d.get("energy"), dict):
        return "the backup has no config or no energy history"
    # a secret left out ("(set)" or empty) keeps this dongle's own value
    for path in config.SECRETS:
        g, mine = given, app.cfg
        for k in path[:-1]:
            g = g.get(k) if isinstance(g, dict) else None
            mine = mine[k]
        if isinstance(g, dict) and g.get(path[-1]) in (None, "", "(set)"):
            g[path[-1]] = mine[path[-1]]
    # the hardware stays this dongle's: its board and (virtual dongle) meter port
    given["board"] = app.cfg["board"]
    if isinstance(given.get("meter"), dict):
        given["meter"]["port"] = app.cfg["meter"]["port"]
    cfg, problems = config.from_dict(given)
    if problems:
        return "config: " + "; ".join(problems)
    e = cfg["energy"]
    book = energy.Energy(e["zone"], e["top_n"], e["steps_kw"], e["max_power_kw"])
    try:
        energyview.load(book, d["energy"])
        energyview.report(book, book.last[0] if book.last else None)   # it can be read back
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as x:
        return "energy history: %s" % (x or type(x).__name__)
    d = None
    led = app.ledger
    led.book = book                         # saved now, and again at the reboot
    led.zone, led.top_n, led.steps_kw, led.max_kw = e["zone"], e["top_n"], e["steps_kw"], e["max_power_kw"]
    led.save()
    config.save(cfg)
    return None
