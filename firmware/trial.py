# A new slot on trial (main.py loads this only then; like main.py it sits
# in the filesystem's root and an update never replaces it). The slot must
# prove itself within slot.json's window_s: its main loop runs (this task
# runs in it), its HTTP server answers a request made here, and when the
# meter was being read before the update, /api/reading has a reading
# again. Then slot.json marks it good (the slot it replaced stays as it
# is, for the next update to overwrite). Otherwise the energy state is
# saved and slot.json goes back to the good slot, with why, and the dongle
# reboots into it.
import asyncio
import json
import os
import time

ok = False          # proven: main.py lets a later crash be the slot's own


def watch(app):
    """Called by dongle.app.main() with the App, before its loop runs."""
    asyncio.create_task(_watch(app))


def _put(s):
    with open("slot.json.tmp", "w") as f:
        f.write(json.dumps(s))
    try:
        os.rename("slot.json.tmp", "slot.json")
    except OSError:                 # FAT: no rename over a file
        os.remove("slot.json")
        os.rename("slot.json.tmp", "slot.json")


async def _answer(host, port, path):
    """The status code of GET path at host:port, or None."""
    try:
        r, w = await asyncio.open_connection(host, port)
    except OSError:
        return None
    try:
        w.write(b"GET " + path + b" HTTP/1.0\r\n\r\n")
        await w.drain()
        line = await r.read(12)             # "HTTP/1.0 200"
        return int(line[9:12]) if line[:5] == b"HTTP/" else None
    except (OSError, ValueError):
        return None
    finally:
        w.close()


async def _watch(app):
    global ok
    from dongle import log
    with open("slot.json") as f:
        s = json.loads(f.read())
    window = s.get("window_s", 300)
    want = 200 if s.get("meter") else 0
    start = time.ticks_ms()
    log.log("update: %s on trial in slot %s (boot %d of %d): healthy within %d s%s, or back to %s" % (
        s.get("version"), s["run"], s.get("boots", 1), s.get("limit", 3), window,
        " with a meter reading" if want else "", s.get("from")))
    while True:
        await asyncio.sleep(2)
        up = time.ticks_diff(time.ticks_ms(), start) // 1000
        code = await _answer("127.0.0.1", app.http_port, b"/api/reading")
        if code is None and app.wifi.ip():
            code = await _answer(app.wifi.ip(), app.http_port, b"/api/reading")
        if code is not None and (not want or code == want):
            s["good"], s["boots"], s["healthy_s"] = s["run"], 0, up
            s.pop("why", None)
            _put(s)
            ok = True
            log.log("update: %s healthy after %d s: kept (slot %s; the previous one stays as it was)" % (
                s.get("version"), up, s["run"]))
            return
        if up >= window:
            why = "not healthy within %d s (%s)" % (window, "HTTP did not answer" if code is None else
                                                    "no meter reading (HTTP %d)" % code)
            log.log("update: %s %s: rolling back to %s" % (s.get("version"), why, s.get("from")))
            app.shutdown()                      # the energy state, saved
            s["bad"], s["bad_version"] = s["run"], s.get("version")
            s["run"], s["why"], s["version"] = s["good"], why, s.get("from")
            _put(s)
            from dongle import platform
            platform.reset()
