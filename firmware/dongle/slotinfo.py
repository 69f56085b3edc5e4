# Which version runs, from which slot, and what became of the last update
# (slot.json, main.py): for /api/status, /metrics, MQTT and the log.
# Loaded when asked and let go after.
import json

from . import BUILD, SLOT, VERSION


def version():
    """The running version with its build id: "0.1.0+20261207.ab12cd3"."""
    return VERSION + ("+" + BUILD if BUILD else "")


def status():
    try:
        with open("slot.json") as f:
            s = json.loads(f.read())
    except (OSError, ValueError):
        s = {}
    run = s.get("run", "")
    out = {"version": VERSION, "build": BUILD, "slot": SLOT[6:-1] or "lib",
           "state": "trial" if run != s.get("good", "") else "good"}
    if out["state"] == "trial":
        out.update(boot=s.get("boots"), boots=s.get("limit"), window_s=s.get("window_s"),
                   fallback=s.get("from"))
    if s.get("why"):
        out["rollback"] = {"version": s.get("bad_version"), "why": s["why"]}
    return out
