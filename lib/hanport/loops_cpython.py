# CPython versions of the loops of crc.py and p1scan.py, built on C-level
# builtins (big-integer bit counts, binascii, regular expressions, int(),
# dict lookups): the decoder's speed on a PC. Same answers as the
# reference; pick.py chooses them.
import binascii
import re

from . import crc, obistable, p1scan

# CRC-16/ARC (P1; init 0, no final xor) is linear in the message bits,
# and a bit's share of the CRC depends only on its distance from the end
# (leading zero bytes leave an init-0 CRC unchanged). Read the message as
# one big integer: CRC bit j is the parity of the bits at the positions
# that flip bit j, so 16 ANDs and bit counts in C replace a loop over the
# bytes (about 5 against 26 us per Swedish telegram).
_ARC_TABLE = [crc.crc16(bytes((i,)), 0, 1, 0, crc.ARC_POLY) for i in range(256)]   # each byte's CRC
_arc_masks = []    # per CRC bit: the positions, from the end, that flip it
_arc_len = 0       # bytes the masks cover; grown when a longer text comes


def _grow_arc(n):
    global _arc_masks, _arc_len
    size = max(n, 2 * _arc_len, 1024)
    t = _ARC_TABLE
    cols = [bytearray(size) for _ in range(16)]
    shares = [t[1 << b] for b in range(8)]     # CRC of each single bit, last byte
    for i in range(size - 1, -1, -1):           # byte i of the mask, from the end
        for b, c in enumerate(shares):
            while c:
                low = c & -c
                cols[low.bit_length() - 1][i] |= 1 << b
                c ^= low
        shares = [(c >> 8) ^ t[c & 0xFF] for c in shares]   # one zero byte after
    _arc_masks = [int.from_bytes(col, "big") for col in cols]
    _arc_len = size


def crc_arc(buf, start, end):
    if end - start < 32:                   # short texts: the byte loop
        return crc.crc_arc(buf, start, end)
    if end - start > _arc_len:
        _grow_arc(end - start)
    msg = int.from_bytes(memoryview(buf)[start:end], "big")
    value = 0
    j = 1
    for mask in _arc_masks:
        if (msg & mask).bit_count() & 1:
            value |= j
        j <<= 1
    return value


# CRC-16/X.25 (HDLC) is CRC-CCITT (binascii.crc_hqx, in C) with every bit
# order reversed: reverse the bits of each byte, run crc_hqx from 0xFFFF,
# reverse the 16-bit result, invert
_REV = bytes(int("{:08b}".format(i)[::-1], 2) for i in range(256))


def crc_x25(buf, start, end):
    c = binascii.crc_hqx(bytes(memoryview(buf)[start:end]).translate(_REV), 0xFFFF)
    return ((_REV[c & 0xFF] << 8) | _REV[c >> 8]) ^ 0xFFFF


_TEXT_END = re.compile(rb"[/!\x00-\x08\x0b\x0c\x0e-\x1f\x7e-\xff]")


def text_end(data, i, n):
    m = _TEXT_END.search(data, i, n)
    return m.start() if m else n


# "1-0:1.8.0" as sent -> key, for every code in the table and the forms
# meters use (B = 0 or 1); anything else goes the long way
OBIS_KEYS = {}
for _code, _ in obistable.rows():
    _a, _b, _c, _d, _e = obistable.parse_text(_code)
    for _bb in ((1, 2, 3, 4) if _b == "n" else (0, 1) if _a == 1 else (int(_b),)):
        _text = ("%d-%d:%d.%d.%d" % (_a, _bb, _c, _d, _e)).encode()
        OBIS_KEYS[_text] = p1scan.obis_key(_text, 0, len(_text))


def obis_key(buf, s, e):
    k = OBIS_KEYS.get(bytes(buf[s:e]))
    return k if k is not None else p1scan.obis_key(buf, s, e)


_NUMBER = re.compile(rb"(-?)(\d*)(?:\.(\d+))?(\*|\Z)")


def number(buf, s, e, out):
    m = _NUMBER.match(buf, s, e)
    if m is None:
        return None
    whole, frac = m.group(2), m.group(3)
    if not whole and not frac:
        return None
    v = int(whole + frac) if frac else int(whole)
    out[0] = len(frac) if frac else 0
    out[1] = m.end() if m.group(4) else -1
    return -v if m.group(1) else v


_UNIT = {}     # unit text as sent -> code (meters use a handful)


def unit_code(buf, s, e):
    text = bytes(buf[s:e])
    code = _UNIT.get(text)
    if code is None:
        code = p1scan.unit_code(text, 0, len(text))
        if len(_UNIT) < 64:
            _UNIT[text] = code
    return code
