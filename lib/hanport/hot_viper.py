# Viper (native code) versions of hot.py's per-byte loops for MicroPython
# (CRCs, the P1 text scan): the same answers as the reference, without heap
# allocation. The per-line ones (obis_key, unit_code) stay plain Python on
# MicroPython: native code sits in RAM on a board, and those run a few
# dozen times a telegram. Imported by hot.py only on MicroPython; mpy-cross
# needs -march for this file (make build).
import micropython

from .hot import ARC_TABLE as _ARC, X25_TABLE as _X25


@micropython.viper
def crc_arc(buf, start: int, end: int) -> int:
    p = ptr8(buf)
    t = ptr16(_ARC)
    crc = 0
    i = start
    while i < end:
        crc = (crc >> 8) ^ t[(crc ^ p[i]) & 0xFF]
        i += 1
    return crc


@micropython.viper
def crc_x25(buf, start: int, end: int) -> int:
    p = ptr8(buf)
    t = ptr16(_X25)
    crc = 0xFFFF
    i = start
    while i < end:
        crc = (crc >> 8) ^ t[(crc ^ p[i]) & 0xFF]
        i += 1
    return crc ^ 0xFFFF


@micropython.viper
def text_end(data, i: int, n: int) -> int:
    p = ptr8(data)
    while i < n:
        c = p[i]
        if c == 47 or c == 33 or c > 125 or (c < 32 and c != 13 and c != 10 and c != 9):
            return i
        i += 1
    return n
