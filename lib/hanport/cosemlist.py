# The two DLMS/COSEM mappings without an OBIS code beside each value
# (cosem.py maps the OBIS pairs most meters send): an object list, whose
# element 0 lists {class, OBIS, attribute, index} for the elements that
# follow (Landis+Gyr E450 pushes), and positional lists, values only,
# meaning by position (Kaifa KFM_001, Iskra, Netz Burgenland), from
# lists.POSITIONAL; and the shape of a list neither knows. Functions of a
# cosem.Mapper, loaded only for a body that may be one of these (Mapper.map
# checks its first tokens), so a meter sending OBIS codes never loads them.
from . import axdr, lists, obis

try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

# (as cosem.py's)
_STRINGS = (axdr.OCTET_STRING, axdr.VISIBLE_STRING, axdr.UTF8_STRING)
_INTS = (axdr.DOUBLE_LONG, axdr.DOUBLE_LONG_UNSIGNED, axdr.INTEGER, axdr.LONG,
         axdr.UNSIGNED, axdr.LONG_UNSIGNED, axdr.LONG64, axdr.LONG64_UNSIGNED,
         axdr.ENUM, axdr.BCD)
# the specials of a lists.POSITIONAL layout, coded after the field indices
_WORDS = ("list", "id", "type", "clock", "-")
_LIST = const(251)
_ID = const(252)
_TYPE = const(253)
_CLOCK = const(254)


def map(m):
    """Map m's body as an object list or a positional row: True, or None
    when it is neither."""
    if _object_list(m):
        return True
    layout = _positional(m)
    if layout is None:
        return None
    _by_position(m, layout)
    return True


def _layout(text):
    """A lists.POSITIONAL layout text -> bytes, two per element: the
    target (a field index, or 251 + the special's place in _WORDS) and
    the shift + 128."""
    out = bytearray()
    for word in text.split():
        if word in _WORDS:
            target, shift = 251 + _WORDS.index(word), 0
        else:
            code, _, shift = word.partition("e")
            c, d, e = code.split(".")
            target = obis.target(obis.key(1, 0, int(c), int(d), int(e)))
            if target is None or target < 0:
                raise ValueError("lists.py: %r is not a value's OBIS code" % word)
            shift = int(shift or 0)
        out.append(target)
        out.append(shift + 128)
    return bytes(out)


def _children(m, i):
    """Token indices of the direct children of container token i."""
    t = m.tok
    d = t.depth[i] + 1
    out = []
    j = i + 1
    while j < t.n and t.depth[j] >= d:
        if t.depth[j] == d:
            out.append(j)
        j += 1
    return out


def _object_list(m):
    """Element 0 is an array of {class, OBIS, attribute, index}."""
    t = m.tok
    if t.n < 3 or t.tag[0] != axdr.STRUCTURE or t.tag[1] != axdr.ARRAY:
        return False
    top = _children(m, 0)
    if len(top) < 2:
        return False
    entries = _children(m, top[0])
    if len(entries) != len(top):
        return False
    codes = []
    for j in entries:
        c = _children(m, j)
        if len(c) != 4 or t.tag[j] != axdr.STRUCTURE or t.tag[c[1]] != axdr.OCTET_STRING \
                or t.e[c[1]] - t.s[c[1]] != 6:
            return False
        codes.append(c[1])
    for k in range(1, len(top)):
        if t.tag[top[k]] != axdr.NULL:
            m._pair(codes[k], top[k], None, None)
    return True


def _positional(m):
    """The layout (bytes, see _layout) of the lists.POSITIONAL row this
    body matches, or None."""
    t = m.tok
    count = t.val[0]
    if t.tag[0] != axdr.STRUCTURE or count == 0 or t.depth[1] != 1:
        return None
    top = None
    row = 0
    for n, tag, prefixes, layout in lists.POSITIONAL:
        if n == count and tag == t.tag[1]:
            if top is None:
                top = _children(m, 0)
            if _starts(m, top, prefixes):
                got = m._layouts.get(row)
                if got is None:           # read once per row, kept
                    got = m._layouts[row] = _layout(layout)
                return got
        row += 1
    return None


def _starts(m, top, prefixes):
    """Elements 0, 1... are texts starting with prefixes 0, 1..."""
    if prefixes is None:
        return True
    for k in range(len(prefixes)):
        if k >= len(top) or m.tok.tag[top[k]] not in _STRINGS or \
                not m._text(top[k]).startswith(prefixes[k]):
            return False
    return True


def _by_position(m, layout):
    top = _children(m, 0)
    for k in range(min(len(top), len(layout) >> 1)):
        i = top[k]
        target = layout[2 * k]
        if target == _LIST:
            m._set_list(m._text(i))
        elif target == _ID:
            m._store(obis.METER_ID, i)
        elif target == _TYPE:
            m._store(obis.METER_TYPE, i)
        elif target == _CLOCK:
            m._store(obis.CLOCK, i)
        elif target < _LIST:
            m._store(target, i, layout[2 * k + 1] - 128)


def unknown(m, r):
    """A list with no OBIS codes that no row describes, into a fresh
    Reading r: what can be known without a layout (a text with "_" as
    the list id, AIDON_V0001-like; another text as the meter id; a
    date-time), and its shape for last_error, so a user can send it in."""
    t = m.tok
    m.r = r
    top = _children(m, 0) if t.tag[0] in (axdr.ARRAY, axdr.STRUCTURE) else [0]
    shape = []
    for i in top:
        tag = t.tag[i]
        if tag in _STRINGS:
            if t.e[i] - t.s[i] == 12 and m._store(obis.CLOCK, i):
                shape.append("clock")
                continue
            text = m._text(i)
            if "\\x" not in text:
                if "_" in text and r.list_id is None:
                    m._set_list(text)
                elif "_" not in text and r.meter_id is None:
                    m._store(obis.METER_ID, i)
            shape.append(repr(text))
        elif tag in _INTS:
            shape.append("%02X:%d" % (tag, t.val[i]))
        else:
            shape.append("%02X" % tag)
    return ("DLMS list not recognised, please report it: %d elements [%s]" % (
        len(top), ", ".join(shape)))[:400]
