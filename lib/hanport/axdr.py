# A-XDR (DLMS/COSEM Data): one value read from a buffer into flat tokens
# (Tokens.parse), without building a tree and without heap allocation.
import array

from .pick import MICROPYTHON
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

NULL = 0x00
ARRAY = 0x01
STRUCTURE = 0x02
BOOLEAN = 0x03
BIT_STRING = 0x04
DOUBLE_LONG = 0x05
DOUBLE_LONG_UNSIGNED = 0x06
OCTET_STRING = 0x09
VISIBLE_STRING = 0x0A
UTF8_STRING = 0x0C
BCD = 0x0D
INTEGER = 0x0F
LONG = 0x10
UNSIGNED = 0x11
LONG_UNSIGNED = 0x12
LONG64 = 0x14
LONG64_UNSIGNED = 0x15
ENUM = 0x16
FLOAT32 = 0x17
FLOAT64 = 0x18
DATE_TIME = 0x19
DATE = 0x1A
TIME = 0x1B

_MAX_DEPTH = const(8)   # meters nest 3 deep; deeper input is an attack or damage
# faults, by their text's index in why.py
_W_LENGTH_END = const(22)
_W_LENGTH_RANGE = const(23)
_W_VALUE_END = const(24)
_W_ELEMENTS = const(25)
_W_NESTED = const(26)
_W_CONTAINER = const(27)
_W_STRING = const(28)
_W_TYPE = const(29)

# tag -> (size in bytes, signed) for fixed-size integers
INT_SPEC = {
    BOOLEAN: (1, False), DOUBLE_LONG: (4, True), DOUBLE_LONG_UNSIGNED: (4, False),
    BCD: (1, False), INTEGER: (1, True), LONG: (2, True), UNSIGNED: (1, False),
    LONG_UNSIGNED: (2, False), LONG64: (8, True), LONG64_UNSIGNED: (8, False),
    ENUM: (1, False),
}
# tag -> size of fixed-size byte values
_FIXED = {FLOAT32: 4, FLOAT64: 8, DATE_TIME: 12, DATE: 5, TIME: 4}
_STRINGS = (OCTET_STRING, VISIBLE_STRING, UTF8_STRING)


class DlmsError(ValueError):
    """Damaged or truncated A-XDR data. args: the fault's index in why.py
    and what its text takes, if anything (Decoder.last_error makes the
    text)."""


class UnknownType(DlmsError):
    """A type tag this walker does not know."""


class AuthFailed(ValueError):
    """A ciphered APDU's GCM tag did not check out (gcm.py), or one with no
    check at all was not P1 text. args as DlmsError's."""


def ber_length(buf, pos, end):
    """BER length at buf[pos] -> (length, next position)."""
    if pos >= end:
        raise DlmsError(_W_LENGTH_END)
    n = buf[pos]
    if n < 0x80:
        return n, pos + 1
    k = n & 0x7F
    if k == 0 or k > 3 or pos + 1 + k > end:
        raise DlmsError(_W_LENGTH_RANGE)
    n = 0
    for i in range(pos + 1, pos + 1 + k):
        n = (n << 8) | buf[i]
    return n, pos + 1 + k


def read_int(buf, s, size, signed):
    v = 0
    for i in range(s, s + size):
        v = (v << 8) | buf[i]
    if signed and v >> (8 * size - 1):
        v -= 1 << (8 * size)
    return v


_MAX_TOKENS = const(256)
# MicroPython: room for this many tokens at first, and as many more each
# time a body needs it (up to _MAX_TOKENS): the arrays settle at about the
# meter's longest list (~10 bytes a token) instead of _MAX_TOKENS
_STEP = const(32)


class Tokens:
    """One Data value flattened: per token its tag, depth, int value (the
    element count for arrays and structures; unused for strings and other
    byte values) and byte range in the buffer. Arrays allocated once per
    size; parse() fills them without allocating (meter lists nest 3 deep
    and hold ~100 tokens)."""

    def __init__(self, size=_STEP if MICROPYTHON else _MAX_TOKENS):
        self.tag = bytearray(size)
        self.depth = bytearray(size)
        self.val = [0] * size
        if MICROPYTHON:           # byte ranges: 2 bytes per entry instead of a word
            self.s = array.array("H", bytes(2 * size))
            self.e = array.array("H", bytes(2 * size))
        else:                     # lists index faster on CPython
            self.s = [0] * size
            self.e = [0] * size
        self.n = 0
        self._left = [0] * _MAX_DEPTH   # elements still to come per open container

    def parse(self, buf, pos, end):
        """Flatten the Data value at buf[pos:end]; returns the position
        after it. Raises DlmsError (UnknownType for unknown type tags)."""
        left = self._left
        tags, depths, vals, ss, es = self.tag, self.depth, self.val, self.s, self.e
        depth = 0
        n = 0
        start = pos
        cap = len(tags)
        while True:
            if pos >= end:
                raise DlmsError(_W_VALUE_END)
            if n == cap:
                if cap >= _MAX_TOKENS:
                    raise DlmsError(_W_ELEMENTS, _MAX_TOKENS)
                # more room, and the body again from its start (once per size)
                Tokens.__init__(self, min(_MAX_TOKENS, cap + _STEP))
                return self.parse(buf, start, end)
            tag = buf[pos]
            pos += 1
            tags[n] = tag
            depths[n] = depth
            if tag == ARRAY or tag == STRUCTURE:
                if pos < end and buf[pos] < 0x80:     # short form, inline: no tuple
                    count = buf[pos]
                    pos += 1
                else:
                    count, pos = ber_length(buf, pos, end)
                if depth == _MAX_DEPTH:
                    raise DlmsError(_W_NESTED, _MAX_DEPTH)
                if count > end - pos:   # every element takes at least one byte
                    raise DlmsError(_W_CONTAINER)
                vals[n] = count
                ss[n] = es[n] = pos
                n += 1
                if count:
                    left[depth] = count
                    depth += 1
                    continue
            else:
                spec = INT_SPEC.get(tag)
                if spec is not None:
                    size, signed = spec
                    if pos + size > end:
                        raise DlmsError(_W_VALUE_END)
                    if size == 4:
                        v = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
                    elif size == 2:
                        v = (buf[pos] << 8) | buf[pos + 1]
                    elif size == 1:
                        v = buf[pos]
                    else:
                        v = 0
                        for i in range(pos, pos + size):
                            v = (v << 8) | buf[i]
                    if signed and buf[pos] & 0x80:
                        v -= 1 << (8 * size)
                    vals[n] = v
                elif tag in _STRINGS or tag == BIT_STRING:
                    if pos < end and buf[pos] < 0x80:
                        size = buf[pos]
                        pos += 1
                    else:
                        size, pos = ber_length(buf, pos, end)
                    if tag == BIT_STRING:
                        size = (size + 7) >> 3
                    if pos + size > end:
                        raise DlmsError(_W_STRING)
                    vals[n] = 0
                elif tag in _FIXED:
                    size = _FIXED[tag]
                    if pos + size > end:
                        raise DlmsError(_W_VALUE_END)
                    vals[n] = 0
                elif tag == NULL:
                    size = 0
                    vals[n] = 0
                else:
                    raise UnknownType(_W_TYPE, tag)
                ss[n] = pos
                pos += size
                es[n] = pos
                n += 1
            # close every container this value completed
            while depth:
                left[depth - 1] -= 1
                if left[depth - 1]:
                    break
                depth -= 1
            if depth == 0:
                self.n = n
                return pos
