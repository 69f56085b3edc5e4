# The energy accounting's full report and its saved form: /api/energy and
# energy.json (the light part, this hour, today and this month, for
# /api/status and MQTT is energynow.py). Functions of an energy.Energy,
# loaded when one is asked for and let go after (ledger.py): on a board
# this code would otherwise sit in RAM between reports.
import json
import os
import time

def report(e, t):
    """Everything /api/energy shows, at meter time t (UTC)."""
    from .energynow import current, kwh, view
    rep = current(e, t)
    if not rep["ready"]:
        return rep
    month = rep["month"]["month"]
    rep["hours"] = [{"hour": e.label(hh), "import_kwh": kwh(v[0]), "export_kwh": kwh(v[1]),
                     "estimated": bool(v[2]), "complete": bool(v[3])}
                    for hh, v in sorted(e.hours.items())[-26:]]
    rep["days"] = [{"date": k, "import_kwh": kwh(v[0]), "export_kwh": kwh(v[1]),
                    "max_hour_kwh": kwh(v[2]) if v[3] is not None else None}
                   for k, v in sorted(e.days.items()) if k[:7] == month]
    rep["months"] = [dict(view(e, v), month=k) for k, v in sorted(e.months.items())]
    return rep


def dump(e):
    return {"v": 1, "zone": e.zone, "anchor": e.anchor, "last": e.last,
            "reg_t": e.reg_t, "prov": [[h, v[0], v[1]] for h, v in e.prov.items()],
            "hours": [[h] + v for h, v in e.hours.items()],
            "days": e.days, "months": e.months, "problems": e.problems,
            "rejected": e.rejected}


def load(e, d):
    if d.get("v") != 1 or d.get("zone") != e.zone:
        raise ValueError("energy state of another version or zone")
    a = d["anchor"]
    e.anchor = a and (a + [0])[:4]     # version 1 files had no flags
    e.last = d["last"]
    e.reg_t = d["reg_t"]
    e.prov = {x[0]: [x[1], x[2]] for x in d["prov"]}
    e.hours = {x[0]: x[1:5] for x in d["hours"]}
    e.days = d["days"]
    e.months = d["months"]
    e.problems = d.get("problems", [])
    e.rejected = d.get("rejected", [0, ""])


# --- the ledger's file and documents ---------------------------------------

def load_file(ledger):
    from hanport.pick import crc_x25

    from . import log
    try:
        with open(ledger.path) as f:
            head = f.readline()
            text = f.read()
    except OSError:
        return                                  # first start
    try:
        magic, crc, n = head.split()
        raw = text.encode()
        if magic != "HANE1" or int(n) != len(raw) or int(crc, 16) != crc_x25(raw, 0, len(raw)):
            raise ValueError("checksum")
        load(ledger.book, json.loads(text))
        log.log("energy: state loaded (anchor %s)" % (ledger.book.anchor and ledger.book.anchor[0]))
    except (ValueError, KeyError, TypeError, IndexError):
        ledger.problem = "%s was damaged: not trusted, kept as %s.bad, accounting started over" % (
            ledger.path, ledger.path)
        log.log("energy: " + ledger.problem)
        try:
            os.rename(ledger.path, ledger.path + ".bad")
        except OSError:
            pass
        ledger.book = ledger.new_book()


def write(e, path):
    """e in energy.json's form at path: a temporary file, then a rename."""
    from hanport.pick import crc_x25
    text = json.dumps(dump(e))
    raw = text.encode()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("HANE1 %04x %d\n" % (crc_x25(raw, 0, len(raw)), len(raw)))
        f.write(text)
    try:
        os.rename(tmp, path)
    except OSError:                             # FAT: no rename over a file
        os.remove(path)
        os.rename(tmp, path)


def save_file(ledger):
    write(ledger.book, ledger.path)
    ledger.dirty = False
    ledger.saved_ms = time.ticks_ms()
    ledger.saves += 1


def ledger_report(ledger):
    rep = report(ledger.book, ledger.now())
    rep["saved_s_ago"] = time.ticks_diff(time.ticks_ms(), ledger.saved_ms) // 1000 if ledger.saves else None
    if ledger.problem:
        rep["problems"] = [ledger.problem] + rep["problems"]
    return rep
