# The checks before an update or a backup (update.py, backup.py), loaded
# for them and let go before the bundle streams in: the admin password
# (with the setup form's lockout) and a bundle's header.
import os
import sys
import time

from micropython import const

from . import log
from .http import error_body

JSON = "application/json"
SLOT = "slot.json"
# sys.implementation._mpy: the .mpy version in its low byte, the native
# code's architecture from bit 10 up
_MPY_VERSION = const(0xFF)
_MPY_ARCH_SHIFT = const(10)


def read_slot():
    import json
    try:
        with open(SLOT) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def write_slot(s, step=None):
    import json

    from .updatestep import hold
    with open(SLOT + ".tmp", "w") as f:
        f.write(json.dumps(s))
    if step:
        hold(step)
    try:
        os.rename(SLOT + ".tmp", SLOT)
    except OSError:                 # FAT: no rename over a file
        os.remove(SLOT)
        os.rename(SLOT + ".tmp", SLOT)


def before(web, req, busy):
    """(refusal or None, running slot, slot to write)."""
    s = read_slot()
    running = s.get("run", "") if s else ""
    target = "b" if running == "a" else "a"
    if req.length is None:
        return (411, JSON, error_body(411, "send the bundle with a Content-Length"), None), running, target
    denied = admin(web, req)
    if not denied and busy:
        denied = 409, JSON, error_body(409, "an update is already being received: try again when it ends"), None
    if not denied and s and s.get("run") != s.get("good"):
        denied = 409, JSON, error_body(409, "the running version is still on trial: try again when it is "
                                       "healthy (see update in /api/status)"), None
    return denied, running, target


async def refused(src, why):
    status, message = why
    log.log("update: refused: %s" % message)
    src.buf = bytearray(512)
    src.mv = memoryview(src.buf)
    await src.drain()
    return status, JSON, error_body(status, message), None


def switch(app, head, running, target):
    """slot.json to the new slot (one rename), and a reboot soon."""
    import json

    from . import slotinfo, unload
    from .updatestep import hold
    new = head["version"] + ("+" + head["build"] if head.get("build") else "")
    age = app.state.age_s()
    u = app.cfg["update"]
    nxt = {"run": target, "good": running, "boots": 0, "limit": u["boots"], "window_s": u["window_s"],
           "meter": age is not None and age < 120, "version": new, "from": slotinfo.version()}
    unload("slotinfo")
    write_slot(nxt, "pointer")
    log.log("update: %s written to slot %s and switched to; %s stays in %s until it proves itself" % (
        new, target, nxt["from"], "slot " + running if running else "lib"))
    hold("switched")
    app.reboot_soon()
    return 200, JSON, json.dumps({"installed": new, "slot": target, "previous": nxt["from"],
                                  "rebooting": True, "window_s": u["window_s"], "boots": u["boots"]}), None


def admin(web, req):
    """None when the request carries the admin password (X-Admin-Password),
    else the answer. Wrong ones count towards the setup form's lockout."""
    app = web.app
    if not app.cfg["admin_password"]:
        return 403, JSON, error_body(403, "no admin_password is set: set one (setup page or make config) "
                                     "before updating over the network"), None
    given = req.headers.get("x-admin-password")
    if given is None:
        return 401, JSON, error_body(401, "the admin password is needed (header X-Admin-Password)"), None
    # pages.may_change's check and lockout (web.fails, web.locked_until:
    # shared with the setup form), here: pages.py beside this module would
    # not fit a plain ESP32's heap
    now = time.time()
    if now < web.locked_until:
        return 429, JSON, error_body(429, "too many wrong passwords: try again in %d s" % (web.locked_until - now)), None
    a, b = given.encode(), app.cfg["admin_password"].encode()
    diff = len(a) ^ len(b)
    for i in range(max(len(a), len(b))):          # constant time
        diff |= (a[i] if i < len(a) else 0) ^ (b[i] if i < len(b) else 0)
    if not diff:
        web.fails = 0
        return None
    web.fails += 1
    web.locked_until = now + min(2 ** web.fails, 60)
    log.log("update: wrong admin password (%d in a row)" % web.fails)
    return 401, JSON, error_body(401, "wrong admin password"), None


def header(app, head):
    """Refused unless the bundle is for this dongle's chip, board and
    MicroPython."""
    from .updatestep import Refused
    chip = app.chip
    if head.get("chip") != chip:
        raise Refused(400, "bundle for chip %s; this dongle is %s: refused (build it with the BOARD of this "
                      "dongle)" % (head.get("chip"), chip))
    if app.cfg["board"] not in head.get("boards", "").split():
        raise Refused(400, "bundle for board %s does not list this dongle's board %s: refused" % (
            head.get("board"), app.cfg["board"]))
    try:
        ver, arch = [int(x) for x in head.get("mpy", "").split()]
    except ValueError:
        raise Refused(400, "bundle has no mpy line: refused")
    mine = sys.implementation._mpy
    if ver != mine & _MPY_VERSION or (arch and arch != mine >> _MPY_ARCH_SHIFT):
        raise Refused(400, "bundle's code (mpy %d, arch %d) does not run on this MicroPython (mpy %d, arch %d)"
                      % (ver, arch, mine & _MPY_VERSION, mine >> _MPY_ARCH_SHIFT))
    if not head.get("version"):
        raise Refused(400, "bundle has no version: refused")
