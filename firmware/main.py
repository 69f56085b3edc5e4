# The dongle application. On a board this file sits in the filesystem's
# root next to config.json and slotpick.py, which picks the code to run (/lib,
# or a slot an update over Wi-Fi wrote) and is let go before the
# application starts: what this file keeps while the application runs is
# small. Neither file is ever replaced by an update.
import sys

import slotpick

s, trial = slotpick.choose()
del slotpick
sys.modules.pop("slotpick", None)   # (needed again only to roll back)
try:
    import dongle.app
    if s and s["run"]:
        dongle.SLOT = "slots/%s/" % s["run"]
    if s and s.get("why") and not trial:
        dongle.log.log("update: %s was rolled back: %s; %s runs" % (s.get("bad_version"), s["why"], s.get("version")))
    if trial:
        import trial as t
        dongle.app.main(t.watch)
    else:
        dongle.app.main()
except Exception as e:              # (not SystemExit: a reset)
    if not trial or getattr(sys.modules.get("trial"), "ok", False):    # (proven: its own bug, not the update's)
        raise
    import slotpick
    slotpick.back(s, "%s at start: %s" % (type(e).__name__, e))
