# The decoder's CRCs bit by bit, the reference: no 256-entry tables, which
# would sit in a board's RAM (loops_cpython.py builds the one it needs on
# a PC). pick.py chooses the version that runs.
ARC_POLY = 0xA001     # CRC-16/ARC, P1: poly 0x8005 reflected, init 0
X25_POLY = 0x8408     # CRC-16/X.25, HDLC: poly 0x1021 reflected, init/xor 0xFFFF


def crc16(buf, start, end, crc, poly):
    """CRC-16 of buf[start:end] bit by bit, low bit first (poly reflected),
    starting from crc; no final xor."""
    for i in range(start, end):
        crc ^= buf[i]
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def crc_arc(buf, start, end):
    """CRC-16/ARC of buf[start:end]."""
    return crc16(buf, start, end, 0, ARC_POLY)


def crc_x25(buf, start, end):
    """CRC-16/X.25 of buf[start:end] (HDLC sends it low byte first)."""
    return crc16(buf, start, end, 0xFFFF, X25_POLY) ^ 0xFFFF
