# One decoded frame or telegram: meter identity, meter time and values.
from . import fields
from .fmt import decimal, json_str, normalize

OTHER_MAX = 16      # unknown OBIS entries kept per reading
OTHER_TEXT_MAX = 96  # characters kept of each


class Reading:
    """Values are exact: mantissa m[i] (int) and decimals d[i], indexed like
    fields.FIELDS; m[i] is None where the meter did not send field i."""

    def __init__(self, protocol):
        self.protocol = protocol   # "p1" or "dlms"
        self.manufacturer = None   # FLAG id, e.g. "ELL"
        self.meter_id = None
        self.model = None
        self.list_id = None        # DLMS list version, e.g. "AIDON_V0001"
        self.version = None        # P1 protocol version line, e.g. "50"
        self.time = None           # meter clock, ISO 8601
        self.dst = None            # True/False when the meter says
        self.m = [None] * fields.COUNT
        self.d = bytearray(fields.COUNT)
        self.other = None          # {"0-0:96.13.0": "raw text"}

    def set(self, i, m, d):
        m, d = normalize(m, d)
        self.m[i] = m
        self.d[i] = d

    def add_other(self, code, text):
        if self.other is None:
            self.other = {}
        if len(self.other) < OTHER_MAX and code not in self.other:
            self.other[code] = text[:OTHER_TEXT_MAX]

    def get(self, name):
        """(mantissa, decimals) of a field, or None."""
        i = fields.INDEX[name]
        m = self.m[i]
        return None if m is None else (m, self.d[i])

    def text(self, name):
        """Decimal text of a field, e.g. "231.9", or None."""
        i = fields.INDEX[name]
        m = self.m[i]
        return None if m is None else decimal(m, self.d[i])

    def values(self):
        """{field name: decimal text} of the fields present."""
        out = {}
        for i in range(fields.COUNT):
            if self.m[i] is not None:
                out[fields.FIELDS[i]] = decimal(self.m[i], self.d[i])
        return out

    def to_json(self):
        parts = [
            '{"meter": {"protocol": ', json_str(self.protocol),
            ', "manufacturer": ', json_str(self.manufacturer),
            ', "id": ', json_str(self.meter_id),
            ', "model": ', json_str(self.model),
            ', "list": ', json_str(self.list_id),
            ', "version": ', json_str(self.version),
            '}, "time": ', json_str(self.time),
            ', "dst": ', "null" if self.dst is None else
            ("true" if self.dst else "false"),
            ', "values": {',
        ]
        sep = ""
        m, d, names = self.m, self.d, fields.FIELDS
        for i in range(fields.COUNT):
            if m[i] is not None:
                parts.append(sep)
                parts.append('"')
                parts.append(names[i])
                parts.append('": ')
                parts.append(decimal(m[i], d[i]))
                sep = ", "
        parts.append('}, "other": {')
        if self.other:
            sep = ""
            for k in sorted(self.other):
                parts.append(sep)
                parts.append(json_str(k))
                parts.append(": ")
                parts.append(json_str(self.other[k]))
                sep = ", "
        parts.append("}}")
        return "".join(parts)
