# DLMS/COSEM data-notification body -> Reading values.
#
# The body is first flattened into tokens (axdr.Tokens, reused per frame),
# then mapped in one of three ways:
#   - OBIS pairs: {OBIS, value[, {scaler, unit}]} in any nesting (Aidon,
#     Kamstrup, Swedish Kaifa, Austrian/Polish Kaifa, L+G EMBRIQ), here;
#   - object list: element 0 lists {class, OBIS, attribute, index} for the
#     elements that follow (Landis+Gyr E450 pushes), cosemlist.py;
#   - positional: values only, meaning by position (Kaifa KFM_001, Iskra,
#     Netz Burgenland), from lists.POSITIONAL, cosemlist.py.
from . import axdr, fields, lists, obis, pick, units
from .fmt import TextCache, ascii_text, normalize

if pick.CPYTHON:                    # remembers list layouts (axdr_cpython.py)
    from .axdr_cpython import Tokens as _Tokens
else:
    _Tokens = axdr.Tokens

# DLMS unit enumeration -> (family, power of ten); units.py goes
_UNITS = units.DLMS
del units
pick.forget("units")
# what this module reads of lists.py (cosemlist.py reads the rest, loading
# it again): the scaling per list id, the manufacturer per list-id prefix,
# and each positional row's element count and first type, as count << 8 |
# type (POSITIONAL: lists.POSITIONAL's rows, that much of them); lists.py
# goes, its layouts with it
IMPLICIT = lists.IMPLICIT
MAKER = lists.MAKER
POSITIONAL = tuple(row[0] << 8 | row[1] for row in lists.POSITIONAL)
del lists
pick.forget("lists")

_OS = axdr.OCTET_STRING
_STRINGS = (axdr.OCTET_STRING, axdr.VISIBLE_STRING, axdr.UTF8_STRING)
_MBUS = (obis.MBUS_TYPE, obis.MBUS_VALUE, obis.MBUS_OLD)   # P1 only
_INTS = (axdr.DOUBLE_LONG, axdr.DOUBLE_LONG_UNSIGNED, axdr.INTEGER, axdr.LONG,
         axdr.UNSIGNED, axdr.LONG_UNSIGNED, axdr.LONG64, axdr.LONG64_UNSIGNED,
         axdr.ENUM, axdr.BCD)


def ieee_decimal(bits, exp_bits, man_bits, digits):
    """An IEEE 754 number's bits -> (mantissa, decimals) rounded to `digits`
    significant digits, with integer arithmetic only (a float32 meter value
    must not meet the dongle's own 32-bit floats). None for inf/NaN."""
    top = (1 << exp_bits) - 1
    e = (bits >> man_bits) & top
    m = bits & ((1 << man_bits) - 1)
    if e == top:
        return None
    if e:
        m |= 1 << man_bits
    else:
        e = 1                      # subnormal
    e -= (top >> 1) + man_bits
    if e >= 0:
        v, d = m << e, 0
    else:                          # m / 2**k == m * 5**k / 10**k
        v, d = m * 5 ** (-e), -e
    n = len(str(v))
    if n > digits:
        drop = n - digits
        q, r = divmod(v, 10 ** drop)
        half = 5 * 10 ** (drop - 1)
        if r > half or (r == half and q & 1):
            q += 1
        v, d = q, d - drop
    if bits >> (exp_bits + man_bits):
        v = -v
    return normalize(v, d)


def date_time(buf, s, trust_deviation=True):
    """12-byte COSEM date-time at buf[s:] -> (ISO 8601 text or None, dst).

    The offset is added when the meter gives a deviation. Meters in the field
    send UTC = local + deviation (Kaifa SE: -60 in winter, Kaifa AT: -120 in
    summer), so the ISO offset is -deviation."""
    y = (buf[s] << 8) | buf[s + 1]
    mo, d, h, mi, sec = buf[s + 2], buf[s + 3], buf[s + 5], buf[s + 6], buf[s + 7]
    if sec == 0xFF:
        sec = 0
    if y == 0xFFFF or not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and sec <= 59):
        return None, None
    dev = axdr.read_int(buf, s + 9, 2, True)
    if trust_deviation and dev != -0x8000 and -720 <= dev <= 720:
        off = -dev         # one format call: one string, no pieces to join
        t = "%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d" % (
            y, mo, d, h, mi, sec, "+" if off >= 0 else "-", abs(off) // 60, abs(off) % 60)
    else:
        t = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, h, mi, sec)
    status = buf[s + 11]
    return t, (None if status == 0xFF else bool(status & 0x80))


def _ascii(buf, s, e):
    return ascii_text(buf[s:e])


def obis_key(buf, s):
    return obis.key(buf[s], buf[s + 1], buf[s + 2], buf[s + 3], buf[s + 4])


class Mapper:
    """Stores token values into a Reading. One per Decoder."""

    def __init__(self):
        self.tok = _Tokens()
        self._texts = TextCache(pick.crc_x25 if pick.MICROPYTHON else None)
        self._layouts = {}       # lists.POSITIONAL row -> its layout, once read (cosemlist.py)

    def map(self, buf, r):
        """Map the tokens of one body into Reading r. Returns False when the
        body holds nothing this decoder understands."""
        t = self.tok
        if t.n == 0:
            return False
        self.buf = buf
        self.r = r
        self.implicit = IMPLICIT[None]
        # an object list or a lists.POSITIONAL row (cosemlist.py maps
        # them) told by the first tokens: a meter that sends OBIS codes
        # never loads that code
        listed = False
        if t.tag[0] == axdr.STRUCTURE:
            if t.n >= 3 and t.tag[1] == axdr.ARRAY:
                listed = True           # element 0 an array: an object list's
            elif t.val[0] and t.depth[1] == 1:
                # a row's element count and first type
                listed = (t.val[0] << 8 | t.tag[1]) in POSITIONAL
        if listed:
            from . import cosemlist
            if cosemlist.map(self):
                return True
        return self._obis_pairs()

    def unknown(self, r):
        """cosemlist.unknown: what a list no row describes holds, and its
        shape."""
        from . import cosemlist
        return cosemlist.unknown(self, r)

    # --- helpers --------------------------------------------------------

    def _text(self, i):
        t = self.tok
        s, e = t.s[i], t.e[i]
        if t.tag[i] in _INTS:
            return str(t.val[i])
        if t.tag[i] in _STRINGS:
            while e > s and self.buf[e - 1] in (0, 32):   # NUL-padded ids (EMBRIQ)
                e -= 1
            while e > s and self.buf[s] == 32:
                s += 1
        return self._texts.get(self.buf, s, e, _ascii)

    def _set_list(self, text):
        r = self.r
        r.list_id = text
        self.implicit = IMPLICIT.get(text, IMPLICIT[None])
        for prefix, flag in MAKER:
            if text.startswith(prefix) and r.manufacturer is None:
                r.manufacturer = flag

    def _store(self, target, i, shift=None, scaler=None, unit=None):
        """Store token i as target (field index or obis special).
        shift: raw * 10**shift is canonical (positional/implicit lists);
        scaler/unit: from the meter's {scaler, unit} structure."""
        t, r = self.tok, self.r
        tag = t.tag[i]
        if target < 0:
            return self._special(target, i, tag)
        if tag in _INTS:
            m, d = t.val[i], 0
        elif tag == axdr.FLOAT32 or tag == axdr.FLOAT64:
            wide = tag == axdr.FLOAT64
            num = ieee_decimal(axdr.read_int(self.buf, t.s[i], 8 if wide else 4, False),
                               11 if wide else 8, 52 if wide else 23, 15 if wide else 7)
            if num is None:
                return False
            m, d = num
        else:
            return False
        fam = fields.FAMILY[target]
        if unit is not None:
            u = _UNITS.get(unit)
            if u is None or u[0] != fam:
                return False
            shift = scaler + u[1]
        elif shift is None:
            shift = self.implicit.get(fam, 0)
        r.set(target, m, d - shift)
        return True

    def _special(self, target, i, tag):
        """Targets that are not values: clock, identity, list id."""
        t, r = self.tok, self.r
        if target == obis.CLOCK:
            if (tag == _OS and t.e[i] - t.s[i] == 12) or tag == axdr.DATE_TIME:
                tm, dst = date_time(self.buf, t.s[i], r.list_id != "AIDON_V0001")
                if tm is not None:
                    r.time, r.dst = tm, dst
                    return True
            return False
        if target == obis.METER_ID:
            r.meter_id = self._text(i)
            if r.manufacturer is None and r.meter_id[:3] == "ISK":
                r.manufacturer = "ISK"
            return True
        if target == obis.METER_TYPE:
            r.model = self._text(i)
            return True
        if target == obis.LIST_ID:
            self._set_list(self._text(i))
            return True
        return target == obis.IGNORE

    def _other(self, oi, i):
        b, s = self.buf, self.tok.s[oi]
        code = "%d-%d:%d.%d.%d" % (b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4])
        self.r.add_other(code, self._text(i))

    # --- the three mappings ------------------------------------------------

    def _obis_pairs(self):
        t = self.tok
        key = -1          # OBIS code waiting for its value
        val = -1          # token index of that value
        found = False
        i = 0
        while i < t.n:
            tag = t.tag[i]
            if val >= 0:
                if tag == axdr.STRUCTURE and t.val[i] == 2 and i + 2 < t.n \
                        and t.tag[i + 1] == axdr.INTEGER and t.tag[i + 2] == axdr.ENUM:
                    self._pair(key, val, t.val[i + 1], t.val[i + 2])   # {scaler, unit}
                    key = val = -1
                    i += 3
                    continue
                self._pair(key, val, None, None)
                key = val = -1
            if tag == axdr.ARRAY or tag == axdr.STRUCTURE:
                pass                      # grouping only
            elif key >= 0:
                val = i
            elif tag == _OS and t.e[i] - t.s[i] == 6:
                key = i
                found = True
            elif tag in _STRINGS:
                self._bare(i, found)
            i += 1
        if val >= 0:
            self._pair(key, val, None, None)
        return found

    def _bare(self, i, after_obis):
        """A string without an OBIS code: Kamstrup's list id comes first;
        Austrian Kaifa lists start with a bare date-time and end with the
        meter number."""
        t, r = self.tok, self.r
        if t.e[i] - t.s[i] == 12 and not after_obis and self._store(obis.CLOCK, i):
            return
        text = self._text(i)
        if "\\x" in text:
            return
        if not after_obis and r.list_id is None:
            self._set_list(text)
        elif after_obis and r.meter_id is None:
            r.meter_id = text

    def _pair(self, oi, i, scaler, unit):
        """OBIS code at token oi, its value at token i."""
        if self.tok.tag[i] == axdr.NULL:
            return
        target = self._target(oi)
        if target is None or target in _MBUS or not self._store(target, i, None, scaler, unit):
            self._other(oi, i)

    def _target(self, oi):
        buf, s = self.buf, self.tok.s[oi]
        a, b = buf[s], buf[s + 1]
        if a > 7 or b > 7:
            return None
        if a == 0 and buf[s + 2] == 25 and buf[s + 3] == 9:
            return obis.IGNORE       # a push setup object's own name
        return obis.target((a << 27) | (b << 24) | (buf[s + 2] << 16) | (buf[s + 3] << 8) | buf[s + 4])
