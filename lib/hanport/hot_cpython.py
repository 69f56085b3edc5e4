# CPython versions of hot.py's loops, built on C-level builtins (regular
# expressions, int(), dict lookups, 16-bit CRC tables): the decoder's speed
# on a PC. Same answers as the reference in hot.py.
import re
import struct

from . import hot, obis

_T16 = {}


def _table16(t8, name):
    """CRC tables over 16 bits: one lookup per two bytes (reflected CRCs
    of width 16 absorb two bytes whole). Built on first use."""
    t = _T16.get(name)
    if t is None:
        t = [0] * 65536
        for w in range(65536):
            c = w
            c = (c >> 8) ^ t8[c & 0xFF]
            c = (c >> 8) ^ t8[c & 0xFF]
            t[w] = c
        _T16[name] = t
    return t


_WORDS = {}    # struct per word count (frames come in a few sizes)


def _crc16(buf, start, end, crc, name, t8):
    if end - start < 32:                  # headers: the byte loop is quicker
        for i in range(start, end):
            crc = (crc >> 8) ^ t8[(crc ^ buf[i]) & 0xFF]
        return crc
    t = _T16.get(name) or _table16(t8, name)
    n = (end - start) // 2
    words = _WORDS.get(n)
    if words is None:
        words = struct.Struct("<%dH" % n)
        if len(_WORDS) < 64:
            _WORDS[n] = words
    for w in words.unpack_from(buf, start):
        crc = t[crc ^ w]
    if (end - start) & 1:
        crc = (crc >> 8) ^ t8[(crc ^ buf[end - 1]) & 0xFF]
    return crc


def crc_arc(buf, start, end):
    return _crc16(buf, start, end, 0, "arc", hot.ARC_TABLE)


def crc_x25(buf, start, end):
    return _crc16(buf, start, end, 0xFFFF, "x25", hot.X25_TABLE) ^ 0xFFFF


_TEXT_END = re.compile(rb"[/!\x00-\x08\x0b\x0c\x0e-\x1f\x7e-\xff]")


def text_end(data, i, n):
    m = _TEXT_END.search(data, i, n)
    return m.start() if m else n


# "1-0:1.8.0" as sent -> key, for every code in the table and the forms
# meters use (B = 0 or 1); anything else goes the long way
_KEYS = {}
for _code, _ in obis.rows():
    _a, _b, _c, _d, _e = obis.parse_text(_code)
    for _bb in ((1, 2, 3, 4) if _b == "n" else (0, 1) if _a == 1 else (int(_b),)):
        _KEYS[("%d-%d:%d.%d.%d" % (_a, _bb, _c, _d, _e)).encode()] = obis.key(_a, _bb, _c, _d, _e)


def obis_key(buf, s, e):
    k = _KEYS.get(bytes(buf[s:e]))
    return k if k is not None else hot.REFERENCE["obis_key"](buf, s, e)


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
        code = hot.REFERENCE["unit_code"](text, 0, len(text))
        if len(_UNIT) < 64:
            _UNIT[text] = code
    return code
