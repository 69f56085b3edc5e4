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
#
# A good file is applied all or nothing, whenever the power goes: it comes
# into the folder restore/ (one restore at a time), the new config.json and
# energy.json are written there, then restore/go, naming the renames that
# put them in place, is written whole (a rename: from here on the restore
# happens), then the renames, then the folder goes. startup.py looks for
# the folder at start, before either file is read, and calls boot() to do
# what a power cut left undone.
import json
import os

from micropython import const

from . import VERSION, log, unload
from .http import error_body

JSON = "application/json"
MAGIC = "hanport_backup"
RESTORE_MAX = 256 * 1024
# (const: no interned names; startup.py knows the folder's)
_DIR = const("restore")
_GO = const("restore/go")
TMP = _DIR + "/upload.json"


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
        if not denied:
            try:
                os.mkdir(_DIR)
            except OSError:
                denied = 409, JSON, error_body(409, "a restore is already being received"), None
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
            complete()
        if why:
            log.log("restore: refused: %s" % why)
            return 400, JSON, error_body(400, "nothing restored: " + why), None
        log.log("restore: config and energy history restored, rebooting")
        app.reboot_soon()
        return 200, JSON, json.dumps({"restored": True, "rebooting": True}), None
    except MemoryError:             # (answered, not raised: see update.py)
        return 503, JSON, '{"error": "busy: low on memory, try again", "status": 503}', {"Retry-After": "2"}
    finally:
        unload("backup", "update", "updatestep", "updatecheck", "config", "energyview", "energynow", "jsonw", "hanport.crc")


class _Nothing:
    def update(self, b):
        pass


def restore(app):
    """None once the backup in TMP is committed (restore/go written:
    complete() puts its files in place), else why not (nothing changed
    then)."""
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
    from .updatestep import hold
    led = app.ledger
    energyview.write(book, _DIR + "/energy.json")
    hold("restore-energy")
    config.save(cfg, _DIR + "/config.json")
    hold("restore-written")
    with open(_GO + ".tmp", "w") as f:
        f.write(json.dumps([[_DIR + "/config.json", config.PATH], [_DIR + "/energy.json", led.path]]))
    os.rename(_GO + ".tmp", _GO)            # from here on the restore happens
    hold("restore-committed")
    led.book = book                         # (what energy.json will hold; saved again at the reboot)
    led.zone, led.top_n, led.steps_kw, led.max_kw = e["zone"], e["top_n"], e["steps_kw"], e["max_power_kw"]
    return None


def boot():
    """startup.py, finding restore/ at start, before config.json and
    energy.json are read."""
    log.log("restore: completed after a power cut" if complete() else
            "restore: dropped after a power cut (nothing changed)")
    unload("backup", "update", "updatestep")


def complete():
    """What a restore began, done: with restore/go there, its renames not
    yet done (each one is done or not, whenever the power went); without
    it (refused, or the power went before it was written), nothing. Then
    restore/ goes. Whether restore/go was there."""
    from .update import rmtree
    from .updatestep import hold
    try:
        with open(_GO) as f:
            moves = json.loads(f.read())
    except OSError:
        moves = ()
    for i, (new, old) in enumerate(moves):
        try:
            os.rename(new, old)
        except OSError:
            try:
                os.stat(new)
            except OSError:
                continue                    # renamed before the power went
            os.remove(old)                  # FAT: no rename over a file
            os.rename(new, old)
        hold("restore-moved%d" % (i + 1))
    rmtree(_DIR)
    return bool(moves)
