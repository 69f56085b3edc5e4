"""Wired M-Bus long frames (EN 13757-2) as Austrian and Polish meters push
DLMS on their customer port:

    68 L L 68 | C A CI | data | CS 16

L counts C through the end of data; CS is the byte sum of C..data mod 256.
An APDU longer than one frame is cut into segments (as in the Netz NÖ /
EVN example): C = 0x53, A = 0xFF, CI = sequence number in the low nibble
plus 0x10 on the final segment, then STSAP 0x01 and DTSAP 0x67 in every
segment before its slice of the APDU.
"""

START = 0x68
STOP = 0x16
FINAL = 0x10  # CI bit: last segment
MAX_L = 0xFF
SEGMENT_HEADER = 5  # C, A, CI, STSAP, DTSAP
DEFAULT_SEGMENT = 245  # APDU bytes per full segment in every corpus capture


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def long_frame(c: int, a: int, ci: int, data: bytes = b"") -> bytes:
    """68 L L 68 C A CI data CS 16."""
    body = bytes((c, a, ci)) + data
    if len(body) > MAX_L:
        raise ValueError("M-Bus frame body of %d bytes exceeds L=255" % len(body))
    n = len(body)
    return bytes((START, n, n, START)) + body + bytes((checksum(body), STOP))


def segments(apdu: bytes, size=DEFAULT_SEGMENT, c=0x53, a=0xFF,
             stsap=0x01, dtsap=0x67) -> list:
    """apdu cut into long frames of at most size APDU bytes each (at most
    250, so that L fits a byte). Join the result for the byte stream."""
    if not 0 < size <= MAX_L - SEGMENT_HEADER:
        raise ValueError("segment size must be 1..%d" % (MAX_L - SEGMENT_HEADER))
    chunks = [apdu[i:i + size] for i in range(0, len(apdu), size)] or [b""]
    last = len(chunks) - 1
    return [long_frame(c, a, (seq & 0x0F) | (FINAL if seq == last else 0),
                       bytes((stsap, dtsap)) + chunk)
            for seq, chunk in enumerate(chunks)]
