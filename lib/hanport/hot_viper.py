# Viper (native code) versions of hot.py's per-byte loops for MicroPython
# (CRCs bit by bit, the P1 text scan): the same answers as the reference,
# without heap allocation or tables. The per-line ones (obis_key, unit_code) stay plain Python on
# MicroPython: native code sits in RAM on a board, and those run a few
# dozen times a telegram. Imported by hot.py only on MicroPython; mpy-cross
# needs -march for this file (make build).
import micropython


@micropython.viper
def crc_arc(buf, start: int, end: int) -> int:
    p = ptr8(buf)
    crc = 0
    i = start
    while i < end:
        crc ^= p[i]
        k = 0
        while k < 8:
            if crc & 1:
                crc = (crc >> 1) ^ 0xA001     # hot.ARC_POLY
            else:
                crc = crc >> 1
            k += 1
        i += 1
    return crc


@micropython.viper
def crc_x25(buf, start: int, end: int) -> int:
    p = ptr8(buf)
    crc = 0xFFFF
    i = start
    while i < end:
        crc ^= p[i]
        k = 0
        while k < 8:
            if crc & 1:
                crc = (crc >> 1) ^ 0x8408     # hot.X25_POLY
            else:
                crc = crc >> 1
            k += 1
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
