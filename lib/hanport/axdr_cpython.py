# CPython only: A-XDR tokens from a remembered layout. A meter sends the
# same list with the same structure every few seconds; only the values
# change. After a normal parse, the layout is kept: where every type tag,
# element count and string length sits, and one struct format that reads
# one value per token. The next body of the same size is checked against
# the layout (every structural byte compared in C) and read with one
# unpack. Any difference: the normal parse. Tests check both give the same
# tokens; MicroPython only ever runs axdr.Tokens.parse.
import operator
import struct

from . import axdr

_INT_FORMAT = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
               (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_COUNTED = (axdr.OCTET_STRING, axdr.VISIBLE_STRING, axdr.UTF8_STRING, axdr.BIT_STRING)
KEEP = 8          # layouts remembered per decoder


class Layout:
    def __init__(self, tok, buf, pos, end):
        """From tokens just parsed out of buf[pos:end]; raises ValueError
        for bodies it cannot describe (long-form lengths)."""
        n = tok.n
        fmt = [">"]
        where = []           # positions of structural bytes
        at = pos
        for k in range(n):
            tag, s, e = tok.tag[k], tok.s[k], tok.e[k]
            if tag == axdr.ARRAY or tag == axdr.STRUCTURE or tag in _COUNTED:
                if s != at + 2:
                    raise ValueError("long-form length")
                where += [at, at + 1]
                fmt.append("xB%dx" % (e - s) if tag in _COUNTED else "xB")
            elif tag == axdr.NULL:
                where.append(at)
                fmt.append("B")              # the tag itself: 0, as parse() gives
            else:
                if s != at + 1:
                    raise ValueError("unexpected layout")
                where.append(at)
                spec = axdr.INT_SPEC.get(tag)
                fmt.append("x" + _INT_FORMAT[spec] if spec else "xB%dx" % (e - s - 1))
            at = e
        if at != end:
            raise ValueError("body not fully described")
        self.struct = struct.Struct("".join(fmt))
        self.pick = operator.itemgetter(*where) if len(where) > 1 else None
        self.expect = tuple(buf[i] for i in where)
        self.n = n
        self.tag, self.depth = list(tok.tag[:n]), list(tok.depth[:n])
        self.s, self.e = list(tok.s[:n]), list(tok.e[:n])

    def matches(self, buf):
        return self.pick is not None and self.pick(buf) == self.expect


class Tokens(axdr.Tokens):
    """axdr.Tokens with remembered layouts."""

    def __init__(self):
        axdr.Tokens.__init__(self)
        self._own = (self.tag, self.depth, self.val, self.s, self.e)
        self._layouts = {}

    def parse(self, buf, pos, end):
        key = (end - pos) << 16 | pos
        lay = self._layouts.get(key)
        if lay is not None and lay.matches(buf):
            self.tag, self.depth, self.s, self.e = lay.tag, lay.depth, lay.s, lay.e
            self.val = lay.struct.unpack_from(buf, pos)
            self.n = lay.n
            return end
        self.tag, self.depth, self.val, self.s, self.e = self._own
        after = axdr.Tokens.parse(self, buf, pos, end)
        if after == end:
            try:
                lay = Layout(self, buf, pos, end)
            except (ValueError, KeyError):
                return after
            if len(self._layouts) >= KEEP:
                self._layouts.clear()
            self._layouts[key] = lay
        return after
