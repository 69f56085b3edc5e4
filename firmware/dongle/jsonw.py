# JSON for the dongle's own documents (status, energy): json.dumps with
# sorted keys, plus exact decimals (objects with .text()) as JSON numbers.
# Written into the shared reusable buffer (hanport.jsonout), so a document
# costs no string of its own size; the same output on MicroPython and CPython.
from hanport import jsonout


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
            if not first:
                out.raw(b", ")
            out.text(str(k))
            out.raw(b": ")
            write(out, obj[k])
            first = False
        out.raw(b"}")
    elif isinstance(obj, (list, tuple)):
        out.raw(b"[")
        first = True
        for x in obj:
            if not first:
                out.raw(b", ")
            write(out, x)
            first = False
        out.raw(b"]")
    elif hasattr(obj, "text"):
        out.raw(obj.text().encode())
    else:
        raise TypeError("not JSON: %r" % (obj,))
    return out


class Pieces(jsonout.JsonOut):
    """JSON written in pieces of PIECE bytes, each kept as bytes of its
    own: a document of any size costs its size in small blocks, never one
    block of it (or, growing, of twice it) that a fragmented heap may not
    have."""
    PIECE = 256

    def __init__(self):
        jsonout.JsonOut.__init__(self, self.PIECE)
        self.parts = []

    def _room(self, k):
        if self.n + k > len(self.buf):
            self._flush()
            if k > len(self.buf):
                self.buf = bytearray(k)

    def _flush(self):
        if self.n:
            self.parts.append(bytes(memoryview(self.buf)[:self.n]))
            self.n = 0

    def pieces(self):
        """The whole document, as a tuple of bytes (http.py sends these)."""
        self._flush()
        return tuple(self.parts)


def document(obj):
    """obj's JSON as a tuple of bytes pieces of its own: what is sent
    cannot change under a slow client, whatever is written meanwhile."""
    return write(Pieces(), obj).pieces()


def view(obj):
    """obj's JSON as a view of the shared buffer: send or copy it before
    the next JSON is written."""
    return write(jsonout.shared(), obj).view()


def dumps(obj):
    return str(view(obj), "utf-8")
