# The energy accounting's full report and its saved form: /api/energy and
# energy.json (the light part, this hour, today and this month, for
# /api/status and MQTT is energynow.py). Functions of an energy.Energy,
# loaded when one is asked for and let go after (ledger.py): on a board
# this code would otherwise sit in RAM between reports.
import json
import os
import time

from hanport.jsonout import JsonPieces


def report(e, t, lists=True):
    """Everything /api/energy shows, at meter time t (UTC). Not lists: its
    hours, days and months as functions that make them item by item
    (jsonw writes them so: a year's months are never all in RAM at once,
    18 KB of them on 32 bits)."""
    from .energynow import current, kwh, view
    rep = current(e, t)
    if not rep["ready"]:
        return rep
    this_month = e.date_key(t - t % 3600) // 100      # rep's month, y * 100 + m (e.days's keys // 100)

    def hours():
        for hh, v in sorted(e.hours.items())[-26:]:
            yield {"hour": e.label(hh * 3600), "import_kwh": kwh(v[0]), "export_kwh": kwh(v[1]),
                   "estimated": bool(v[2]), "complete": bool(v[3])}

    def days():
        for k, v in sorted(e.days.items()):
            if k // 100 == this_month:
                yield {"date": e.date_text(k), "import_kwh": kwh(v[0]), "export_kwh": kwh(v[1]),
                       "max_hour_kwh": kwh(v[2]) if v[3] is not None else None}

    def months():
        for k, v in sorted(e.months.items()):
            yield dict(view(e, v), month=k)
    for name, items in (("hours", hours), ("days", days), ("months", months)):
        rep[name] = list(items()) if lists else items
    return rep


def dump(e):
    """e as energy.json's JSON holds it (jsonw writes it): version 1,
    hour starts in UTC seconds and dates "YYYY-MM-DD", where e keeps hours
    by number and days by date_key (energy.py).
    Each item converted as it is written (jsonw: a function's list made
    item by item, Members an object's members), never a converted copy of
    the whole book: a save may come when the heap is short."""
    from .jsonw import Members

    def prov():
        for h, v in e.prov.items():
            yield [h * 3600, v[0], v[1]]

    def hours():
        for h, v in e.hours.items():
            yield [h * 3600] + v

    def day(k):
        v = e.days[k]
        return v if v[3] is None else v[:3] + [v[3] * 3600]

    def month(k):
        m = e.months[k]         # (in the file as a dict, as version 1 has it)
        return {"imp": m[0], "exp": m[1], "top": [list(x) for x in e.top_hours(m)], "days": m[2]}
    return {"v": 1, "zone": e.zone, "anchor": e.anchor, "last": e.last,
            "reg_t": e.reg_t, "prov": prov, "hours": hours,
            "days": Members(sorted(e.days), day, e.date_text), "months": Members(sorted(e.months), month),
            "problems": e.problems, "rejected": e.rejected}


def load(e, d):
    """e from d, energy.json's parsed document (a backup's), which this
    takes apart as it goes."""
    apply(e, (d.popitem() for _ in range(len(d))))


def apply(e, members):
    """e from energy.json's members, (key, value) each in version 1's form,
    each converted into e's (hours by number, days by date_key: energy.py)
    and let go; "days" and "months" may come a day or a month at a time,
    each a member of its own (a dict of one)."""
    seen = []
    for key, value in members:
        if key == "v" or key == "zone":
            if value != (1 if key == "v" else e.zone):
                raise ValueError("energy state of another version or zone")
        elif key == "anchor":
            e.anchor = value and (value + [0])[:4]     # version 1 files had no flags
        elif key in ("last", "reg_t", "problems", "rejected"):
            setattr(e, key, value)
        elif key == "prov":
            e.prov = {x[0] // 3600: [x[1], x[2]] for x in value}
        elif key == "hours":
            e.hours = {x[0] // 3600: x[1:5] for x in value}
        elif key == "days":
            while value:
                k, v = value.popitem()
                if v[3] is not None:
                    v[3] //= 3600               # (its hour number)
                e.days[int(k[:4]) * 10000 + int(k[5:7]) * 100 + int(k[8:])] = v
        elif key == "months":
            while value:
                k, m = value.popitem()
                packed = [m["imp"], m["exp"], m["days"]]
                for wh, h in m["top"]:
                    packed.append(wh)
                    packed.append(h // 3600)
                e.months[k] = tuple(packed)     # (energy.month_summary's form)
        if key not in seen:
            seen.append(key)
    for key in ("anchor", "days", "hours", "last", "months", "prov", "reg_t", "v", "zone"):
        if key not in seen:
            raise KeyError(key)


def _parse(f, start, end):
    """The members of energy.json's JSON, in file f between offsets start
    and end, as apply() takes them, each parsed alone, and "days" and
    "months" a day and a month at a time: parsed whole, a year's file is
    11 KB of objects on 32 bits, at start, where the heap the rest of the
    firmware leaves may not have them."""
    for first, last in _split(f, start, end):
        f.seek(first)
        head = f.read(min(24, last - first))            # ' "days": {...': the key
        q = head.find(b'"') + 1
        key = str(head[q:head.find(b'"', q)], "ascii")
        inner = key == "days" or key == "months"
        spans = _split(f, first, last) if inner else ((first, last),)
        if not spans:
            yield key, {}                           # (no day yet, no closed month)
        for first, last in spans:
            f.seek(first)
            text = bytearray(last - first + 2)      # '{' member '}'
            text[0] = 123
            f.readinto(memoryview(text)[1:-1])
            text[-1] = 125
            member = json.loads(text)  # type: ignore[type-var]  # (MicroPython's and CPython's take a bytearray)
            if len(member) != 1:
                raise ValueError("not one member")
            yield (key, member) if inner else member.popitem()


def _split(f, start, end):
    """[(first, last)] offsets of each member ('"key": value') of the first
    JSON object in file f between offsets start and end, found by a scan
    of the text in pieces (quotes, escapes, nesting)."""
    spans = []
    buf = bytearray(JsonPieces.PIECE)
    f.seek(start)
    pos = start
    depth = 0
    quoted = escaped = False
    first = -1
    filled = False                  # the member has a byte other than white space
    while pos < end:
        k = f.readinto(buf)
        if not k:
            break
        for i in range(min(k, end - pos)):
            c = buf[i]
            if quoted:
                if escaped:
                    escaped = False
                elif c == 92:       # backslash
                    escaped = True
                elif c == 34:
                    quoted = False
            elif c == 34:
                quoted = filled = True
            elif c == 123 or c == 91:           # { [
                depth += 1
                if depth == 1:
                    first = pos + i + 1
                    filled = False
                else:
                    filled = True
            elif c == 125 or c == 93:           # } ]
                depth -= 1
                if depth == 0:
                    if filled:                  # ("{}": no member)
                        spans.append((first, pos + i))
                    return spans
            elif c == 44 and depth == 1:        # a comma between members
                spans.append((first, pos + i))
                first = pos + i + 1
                filled = False
            elif depth and c > 32:              # a number, true, a colon...
                filled = True
        pos += k
    raise ValueError("JSON object not closed")


# --- the ledger's file and documents ---------------------------------------

def load_file(ledger):
    from . import log
    try:
        f = open(ledger.path, "rb")
    except OSError:
        return                                  # first start
    try:
        with f:
            magic, crc, n = f.readline().split()
            start = f.tell()
            # (the file read and checked in pieces, never whole: a year's
            # state is about 5 KB of text, which a full heap may not have
            # in one block)
            buf = bytearray(JsonPieces.PIECE)
            state = [0xFFFF, 0]
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                _check(memoryview(buf)[:k], state)
            if magic != b"HANE1" or state[1] != int(n) or state[0] ^ 0xFFFF != int(crc, 16):
                raise ValueError("checksum")
            buf = None
            apply(ledger.book, _parse(f, start, start + state[1]))
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


def _check(data, state):
    """state ([CRC-16/X.25 register, bytes]) carried over data."""
    from hanport.crc import X25_POLY, crc16
    state[0] = crc16(data, 0, len(data), state[0], X25_POLY)
    state[1] += len(data)


class _Handed(JsonPieces):
    """JSON written in pieces, each handed to out (a memoryview of it,
    valid until the next piece) rather than kept."""

    def __init__(self, out):
        JsonPieces.__init__(self)
        self.out = out

    def _flush(self):
        if self.n:
            self.out(memoryview(self.buf)[:self.n])
            self.n = 0

    def write(self, doc):
        """doc's JSON (jsonw's: sorted keys), handed out piece by piece."""
        from . import jsonw
        jsonw.write(self, doc)._flush()


def write(e, path):
    """e in energy.json's form at path: a temporary file, then a rename.
    The text is made twice, piece by piece, from the same state (nothing
    runs between): once for its CRC and length (the header), once into the
    file; it is never whole in RAM."""
    doc = dump(e)
    state = [0xFFFF, 0]
    _Handed(lambda data: _check(data, state)).write(doc)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"HANE1 %04x %d\n" % (state[0] ^ 0xFFFF, state[1]))
        _Handed(f.write).write(doc)
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
    rep = report(ledger.book, ledger.now(), lists=False)
    rep["saved_s_ago"] = time.ticks_diff(time.ticks_ms(), ledger.saved_ms) // 1000 if ledger.saves else None
    if ledger.problem:
        rep["problems"] = [ledger.problem] + rep["problems"]
    return rep
