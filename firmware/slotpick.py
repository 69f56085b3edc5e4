# Which code runs (main.py asks once at boot, then lets this module go;
# not named "slots": a module of that name would be the slots/ folder).
# The modules live in /lib (hanport, dongle), or in slots/a/lib or
# slots/b/lib after an update over Wi-Fi (update.py). Like main.py this
# file sits in the filesystem's root and an update never replaces it.
#
# slot.json names the slot to run ("run") and the one known to work
# ("good"; "" is /lib). While they differ the new slot is on trial: each
# boot is counted, and past "boots" boots, or when the slot fails to
# start, slot.json goes back to the good one. Every change of slot.json is
# one rename of a whole new file, so a power cut leaves the old pointer or
# the new one.
import json
import os
import sys

P = "slot.json"


def put(s):
    with open(P + ".tmp", "w") as f:
        f.write(json.dumps(s))
    try:
        os.rename(P + ".tmp", P)
    except OSError:                 # FAT: no rename over a file
        os.remove(P)
        os.rename(P + ".tmp", P)


def back(s, why):
    """Roll back to the good slot, saying why, and reboot."""
    s["bad"], s["bad_version"] = s["run"], s.get("version")
    s["run"], s["why"], s["version"] = s["good"], why, s.get("from")
    put(s)
    print("update: rolled back to %s: %s" % (s["run"] or "lib", why))
    if sys.platform == "esp32":
        import machine
        machine.reset()
    sys.exit(75)                    # the virtual dongle's "reboot me"


def choose():
    """(slot.json's state or None, whether the slot runs on trial), with
    the slot's lib first on sys.path and a trial's boot counted; a trial
    past its boots, or a slot not wholly written, rolled back first."""
    try:
        with open(P) as f:
            s = json.loads(f.read())
        trial = s["run"] != s["good"]
    except (OSError, ValueError, KeyError, TypeError):
        s, trial = None, False
    if s and s["run"]:
        try:                            # written last, once every file was checked
            os.stat("slots/%s/bundle.txt" % s["run"])
        except OSError:
            if trial:
                back(s, "slot %s is incomplete" % s["run"])
            print("update: slot %s is incomplete: running lib" % s["run"])
            s, trial = None, False
    if trial:
        s["boots"] = s.get("boots", 0) + 1
        if s["boots"] > s.get("limit", 3):
            back(s, "not healthy within %d boots" % s.get("limit", 3))
        put(s)
    if s and s["run"]:
        sys.path.insert(0, "slots/%s/lib" % s["run"])
    return s, trial
