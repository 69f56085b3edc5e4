# Viper (native code) versions of hot.py's loops for MicroPython: the same
# answers as the reference, without heap allocation. Imported by hot.py
# only on MicroPython; mpy-cross needs -march for this file (make build).
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


@micropython.viper
def obis_key(buf, s: int, e: int) -> int:
    p = ptr8(buf)
    g = 0
    v = 0
    digits = 0
    a = 0
    b = 0
    c = 0
    d = 0
    ee = 0
    i = s
    while i < e:
        ch = p[i]
        i += 1
        if ch >= 48 and ch <= 57:
            v = v * 10 + ch - 48
            digits += 1
            if digits > 3:
                return -2
            continue
        ok = False
        if digits:
            if g == 0:
                ok = ch == 45
            elif g == 1:
                ok = ch == 58
            elif g == 2 or g == 3:
                ok = ch == 46
            elif g == 4:
                ok = ch == 46 or ch == 42
        if not ok:
            return -2
        if g == 0:
            a = v
        elif g == 1:
            b = v
        elif g == 2:
            c = v
        elif g == 3:
            d = v
        else:
            ee = v
        g += 1
        v = 0
        digits = 0
    if digits == 0 or g < 4:
        return -2
    if g == 4:
        ee = v
    if a > 7 or b > 7 or c > 255 or d > 255 or ee > 255:
        return -1
    return (a << 27) | (b << 24) | (c << 16) | (d << 8) | ee


@micropython.viper
def unit_code(buf, s: int, e: int) -> int:
    if e - s > 5 or e <= s:
        return -1
    p = ptr8(buf)
    code = 0
    i = s
    while i < e:
        c = p[i] | 32
        if c >= 97 and c <= 122:
            c -= 96
        elif c >= 48 and c <= 57:
            c -= 21
        else:
            return -1
        code = (code << 6) | c
        i += 1
    return code
