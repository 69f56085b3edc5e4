# A-XDR (DLMS/COSEM Data) walker. Reads one Data value from a buffer and
# reports it to a sink without building a tree (allocation-light):
#   sink.enter(tag, count)           array (1) or structure (2) begins
#   sink.leave()                     ...and ends
#   sink.leaf(tag, value, s, e)      any other value; value is an int for
#                                    integer types, None for byte strings
#                                    (bytes at buf[s:e]) and date-time.

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

MAX_DEPTH = 8   # meters nest 3 deep; deeper input is an attack or damage

# tag -> (size in bytes, signed) for fixed-size integers
_INT = {
    BOOLEAN: (1, False), DOUBLE_LONG: (4, True), DOUBLE_LONG_UNSIGNED: (4, False),
    BCD: (1, False), INTEGER: (1, True), LONG: (2, True), UNSIGNED: (1, False),
    LONG_UNSIGNED: (2, False), LONG64: (8, True), LONG64_UNSIGNED: (8, False),
    ENUM: (1, False),
}
# tag -> size of fixed-size byte values
_FIXED = {FLOAT32: 4, FLOAT64: 8, DATE_TIME: 12, DATE: 5, TIME: 4}
_STRINGS = (OCTET_STRING, VISIBLE_STRING, UTF8_STRING)


class DlmsError(ValueError):
    """Damaged or truncated A-XDR data."""


class UnknownType(DlmsError):
    """A type tag this walker does not know."""


def ber_length(buf, pos, end):
    """BER length at buf[pos] -> (length, next position)."""
    if pos >= end:
        raise DlmsError("DLMS data ends inside a length")
    n = buf[pos]
    if n < 0x80:
        return n, pos + 1
    k = n & 0x7F
    if k == 0 or k > 3 or pos + 1 + k > end:
        raise DlmsError("DLMS length field out of range")
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


def walk(buf, pos, end, sink):
    """Walk one Data value at buf[pos:end]; returns the position after it."""
    left = sink.left         # elements still to come per open container
    depth = 0
    while True:
        if pos >= end:
            raise DlmsError("DLMS data ends inside a value")
        tag = buf[pos]
        pos += 1
        if tag == ARRAY or tag == STRUCTURE:
            if pos < end and buf[pos] < 0x80:     # short form, inline: no tuple
                n = buf[pos]
                pos += 1
            else:
                n, pos = ber_length(buf, pos, end)
            if depth == MAX_DEPTH:
                raise DlmsError("DLMS data nested deeper than %d" % MAX_DEPTH)
            if n > end - pos:   # every element takes at least one byte
                raise DlmsError("DLMS container longer than its frame")
            sink.enter(tag, n)
            if n:
                left[depth] = n
                depth += 1
                continue
            sink.leave()
        elif tag in _INT:
            size, signed = _INT[tag]
            if pos + size > end:
                raise DlmsError("DLMS data ends inside a value")
            sink.leaf(tag, read_int(buf, pos, size, signed), pos, pos + size)
            pos += size
        elif tag in _STRINGS:
            if pos < end and buf[pos] < 0x80:
                n = buf[pos]
                pos += 1
            else:
                n, pos = ber_length(buf, pos, end)
            if pos + n > end:
                raise DlmsError("DLMS string longer than its frame")
            sink.leaf(tag, None, pos, pos + n)
            pos += n
        elif tag in _FIXED:
            size = _FIXED[tag]
            if pos + size > end:
                raise DlmsError("DLMS data ends inside a value")
            sink.leaf(tag, None, pos, pos + size)
            pos += size
        elif tag == NULL:
            sink.leaf(tag, None, pos, pos)
        elif tag == BIT_STRING:
            bits, pos = ber_length(buf, pos, end)
            n = (bits + 7) >> 3
            if pos + n > end:
                raise DlmsError("DLMS bit-string longer than its frame")
            sink.leaf(tag, None, pos, pos + n)
            pos += n
        else:
            raise UnknownType("unknown DLMS data type 0x%02X" % tag)
        # close every container this value completed
        while depth:
            left[depth - 1] -= 1
            if left[depth - 1]:
                break
            depth -= 1
            sink.leave()
        if depth == 0:
            return pos
