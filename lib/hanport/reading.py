# One decoded frame or telegram: meter identity, meter time and values.
from . import fields
from . import jsonout
from .fmt import decimal
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

_OTHER_MAX = const(16)      # unknown OBIS entries kept per reading
_OTHER_TEXT_MAX = const(96)  # characters kept of each


class Reading:
    """Values are exact: mantissa m[i] (int) and decimals d[i], indexed like
    fields.py's; m[i] is None where the meter did not send field i."""

    # identity defaults live on the class: an instance stores only what its
    # meter sent (MicroPython keeps instance attributes in a dict)
    manufacturer = None   # FLAG id, e.g. "ELL"
    meter_id = None
    model = None
    list_id = None        # DLMS list version, e.g. "AIDON_V0001"
    version = None        # P1 protocol version line, e.g. "50"
    time = None           # meter clock, ISO 8601
    dst = None            # True/False when the meter says
    other = None          # {"0-0:96.13.0": "raw text"}

    def __init__(self, protocol):
        self.protocol = protocol   # "p1" or "dlms"
        self.m = [None] * fields.COUNT
        self.d = bytearray(fields.COUNT)

    def set(self, i, m, d):
        """Field i = m * 10**-d, kept without trailing fractional zeros
        (inline, not fmt.normalize: no tuple per value on the dongle)."""
        if d < 0:
            m = m * 10 ** (-d)
            d = 0
        while d and m % 10 == 0:
            m //= 10
            d -= 1
        self.m[i] = m
        self.d[i] = d

    def add_other(self, code, text):
        if self.other is None:
            self.other = {}
        if len(self.other) < _OTHER_MAX and code not in self.other:
            self.other[code] = text[:_OTHER_TEXT_MAX]

    def get(self, name):
        """(mantissa, decimals) of a field, or None."""
        i = fields.index(name)
        m = self.m[i]
        return None if m is None else (m, self.d[i])

    def text(self, name):
        """Decimal text of a field, e.g. "231.9", or None."""
        i = fields.index(name)
        m = self.m[i]
        return None if m is None else decimal(m, self.d[i])

    def values(self):
        """{field name: decimal text} of the fields present."""
        out = {}
        for i in range(fields.COUNT):
            if self.m[i] is not None:
                out[fields.name(i)] = decimal(self.m[i], self.d[i])
        return out

    def write_json(self, out, close=True):
        """Write this reading's JSON into a jsonout.JsonOut. close=False
        leaves the object open for the caller's further members."""
        out.raw(b'{"meter": {"protocol": ')
        out.text(self.protocol)
        out.raw(b', "manufacturer": ')
        out.text(self.manufacturer)
        out.raw(b', "id": ')
        out.text(self.meter_id)
        out.raw(b', "model": ')
        out.text(self.model)
        out.raw(b', "list": ')
        out.text(self.list_id)
        out.raw(b', "version": ')
        out.text(self.version)
        out.raw(b'}, "time": ')
        out.text(self.time)
        out.raw(b', "dst": ')
        out.raw(b"null" if self.dst is None else b"true" if self.dst else b"false")
        out.raw(b', "values": {')
        m, d = self.m, self.d
        names, starts = fields.NAMES, fields.STARTS
        first = True
        for i in range(fields.COUNT):
            if m[i] is not None:
                out.name(names, starts[i], starts[i + 1] - 1, first)
                out.dec(m[i], d[i])
                first = False
        out.raw(b'}, "other": {')
        if self.other:
            first = True
            for k in sorted(self.other):
                if not first:
                    out.raw(b", ")
                out.text(k)
                out.raw(b": ")
                out.text(self.other[k])
                first = False
        out.raw(b"}")
        if close:
            out.raw(b"}")
        return out

    def to_json(self):
        return self.write_json(jsonout.shared()).str()
