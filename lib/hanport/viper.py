# Viper (native code) versions of the per-byte loops for MicroPython: the
# CRCs bit by bit (crc.py) and the P1 text scan (p1scan.text_end), the same
# answers as the reference, without heap allocation or tables. The per-line
# ones (obis_key, number, unit_code) have none and stay plain Python on
# MicroPython: native code sits in RAM on a board, and those run a few
# dozen times a telegram. Imported by pick.py only on MicroPython; mpy-cross
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
                crc = (crc >> 1) ^ 0xA001     # crc.ARC_POLY
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
                crc = (crc >> 1) ^ 0x8408     # crc.X25_POLY
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
