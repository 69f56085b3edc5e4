# JSON for the dongle's own documents (status, energy): json.dumps with
# sorted keys, plus exact decimals (objects with .text()) as JSON numbers.
# Written into the shared reusable buffer (hanport.jsonout), so a document
# costs no string of its own size; the same output on MicroPython and CPython.
from hanport import jsonout

PIECE = 512                 # bytes: a streamed document is sent in pieces of about this


class Rows:
    """A JSON array made one row at a time as it is written (fn(*args) is a
    generator of rows): a month of days as dicts at once is over 20 KB of
    heap on the 64-bit virtual dongle; one at a time, a few hundred bytes."""

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __iter__(self):
        return self.fn(*self.args)


_ARRAYS = (list, tuple, Rows)      # (one tuple: written in place, each call would make one)


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
    elif isinstance(obj, dict):
        out.raw(b"{")
        first = True
        for k in sorted(obj):
            out.name(k, first)       # (our names: plain ASCII, nothing to escape)
            write(out, obj[k])
            first = False
        out.raw(b"}")
    elif isinstance(obj, _ARRAYS):
        out.raw(b"[")
        first = True
        for x in obj:
            if not first:
                out.raw(b", ")
            write(out, x)
            first = False
        out.raw(b"]")
    elif hasattr(obj, "wh"):             # energy.Kwh: exact kWh from integer Wh
        out.dec(obj.wh, 3)
    elif hasattr(obj, "text"):
        out.raw(obj.text().encode())
    else:
        raise TypeError("not JSON: %r" % (obj,))
    return out


def view(obj):
    """obj's JSON as a view of the shared buffer: send or copy it before
    the next JSON is written."""
    return write(jsonout.shared(), obj).view()


def pieces(doc):
    """The JSON of doc (a dict) in pieces of about PIECE bytes, for a
    response sent piece by piece: views of a small buffer of its own (not
    the shared one, which others use between pieces), each valid until the
    next is asked for. Its arrays go row by row (jsonw.Rows are made as
    they go), so the document is never in RAM whole, nor its rows."""
    out = jsonout.JsonOut(PIECE + 256)
    out.raw(b"{")
    first = True
    for k in sorted(doc):
        out.name(k, first)
        first = False
        v = doc[k]
        if isinstance(v, _ARRAYS):
            yield from _rows(out, v)
        else:
            write(out, v)
    out.raw(b"}")
    yield out.view()


def _rows(out, rows):
    sep = b"["
    for x in rows:
        out.raw(sep)
        sep = b", "
        write(out, x)
        if out.n >= PIECE:
            yield out.view()
            out.reset()
    out.raw(b"[]" if sep == b"[" else b"]")


def dumps(obj):
    return str(view(obj), "utf-8")
