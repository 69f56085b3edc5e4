# The two CRCs of the meter world, table-driven.
#   P1 telegrams:   CRC-16/ARC   (poly 0x8005 reflected, init 0, no final xor)
#   HDLC HCS/FCS:   CRC-16/X.25  (poly 0x1021 reflected, init 0xFFFF, xor 0xFFFF)


def _table(poly):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return tuple(t)


_ARC = _table(0xA001)
_X25 = _table(0x8408)


def arc(buf, start, end):
    """CRC-16/ARC of buf[start:end]."""
    t = _ARC
    crc = 0
    for i in range(start, end):
        crc = (crc >> 8) ^ t[(crc ^ buf[i]) & 0xFF]
    return crc


def x25(buf, start, end):
    """CRC-16/X.25 of buf[start:end] (HDLC sends it low byte first)."""
    t = _X25
    crc = 0xFFFF
    for i in range(start, end):
        crc = (crc >> 8) ^ t[(crc ^ buf[i]) & 0xFF]
    return crc ^ 0xFFFF
