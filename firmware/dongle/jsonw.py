# JSON for the dongle's own documents (status, energy): json.dumps with
# sorted keys, plus exact decimals (objects with .text()) as JSON numbers.
# Written in 128-byte pieces of its own (hanport.jsonout.JsonPieces), so a
# document is never one block of its size; the same output on MicroPython
# and CPython.
from hanport import jsonout


class Members:
    """An object whose members are made as they are written: keys, in
    the order written, each named label(key), and get(key), each value
    made for its turn and garbage after it (a dict of them all need never
    be in RAM)."""

    def __init__(self, keys, get, label=str):
        self.keys = keys
        self.get = get
        self.label = label


class Written:
    """JSON written already (a document's pieces), put into another
    document as it is."""

    def __init__(self, pieces):
        self.pieces = pieces


def write(out, obj):
    if obj is None:
        out.raw(b"null")
    elif obj is True:
        out.raw(b"true")
    elif obj is False:
        out.raw(b"false")
    elif isinstance(obj, int):
        out.int(obj)
    elif isinstance(obj, str):
        out.text(obj)
    elif isinstance(obj, (dict, Members)):
        if isinstance(obj, dict):
            obj = Members(sorted(obj), obj.get)
        out.raw(b"{")
        first = True
        for k in obj.keys:
            if not first:
                out.raw(b", ")
            out.text(obj.label(k))
            out.raw(b": ")
            write(out, obj.get(k))
            first = False
        out.raw(b"}")
    elif isinstance(obj, (list, tuple)) or callable(obj):
        # (a function: a list made as it is written, item by item, from
        # the same state, since nothing else runs meanwhile)
        out.raw(b"[")
        first = True
        for x in (obj() if callable(obj) else obj):
            if not first:
                out.raw(b", ")
            write(out, x)
            first = False
        out.raw(b"]")
    elif isinstance(obj, Written):
        for piece in obj.pieces:
            out.raw(piece)
    elif hasattr(obj, "text"):
        out.raw(obj.text().encode())
    else:
        raise TypeError("not JSON: %r" % (obj,))
    return out


def document(obj):
    """obj's JSON as a tuple of bytes pieces of its own: what is sent
    cannot change under a slow client, whatever is written meanwhile."""
    return write(jsonout.JsonPieces(), obj).pieces()


def dumps(obj):
    return str(b"".join(document(obj)), "utf-8")
