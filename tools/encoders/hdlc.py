"""HDLC frames as meters push them on the HAN port (IEC 62056-46, frame
format type 3):

    7E | A0 LL | dst | src | control | HCS | information | FCS | 7E

- Format field: 0xA000 | S bit (0x0800, more segments follow) | 11-bit
  length = octets between the two flags.
- HCS covers format..control, FCS covers format..end of information; both
  CRC-16/X.25 sent least significant byte first. A frame without an
  information field has no HCS (its FCS then covers the header alone).
- No byte stuffing: a reader must trust the length field, because 0x7E
  turns up inside payloads and checksums of real frames.
- The information field of the first (or only) frame starts with the LLC
  header E6 E7 00; continuation segments carry none.
"""

FLAG = b"\x7E"
LLC = b"\xE6\xE7\x00"  # dest LSAP, source LSAP (response), quality
FORMAT_TYPE_3 = 0xA000
SEGMENTED = 0x0800
MAX_LENGTH = 0x7FF  # 11-bit length field
DEFAULT_MAX_INFO = 128  # IEC 62056-46 default maximum information field


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25: poly 0x1021 reflected (0x8408), init 0xFFFF, final XOR
    0xFFFF. Bitwise on purpose: hanport has the table version."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def _check(data: bytes) -> bytes:
    """HCS/FCS as sent: least significant byte first."""
    return crc16_x25(data).to_bytes(2, "little")


def _address(addr: bytes) -> bytes:
    """An HDLC address: 1, 2 or 4 bytes, extension bit (LSB) set on the
    last byte only."""
    ends = [byte & 1 for byte in addr]
    if len(addr) not in (1, 2, 4) or ends != [0] * (len(addr) - 1) + [1]:
        raise ValueError("not an HDLC address: %s" % addr.hex())
    return bytes(addr)


def llc(apdu: bytes) -> bytes:
    """LLC header + APDU: the information field of a single frame, or of
    the first segment."""
    return LLC + apdu


def frame(info: bytes, dst=b"\x41", src=b"\x08\x83", control=0x13,
          segmented=False) -> bytes:
    """One complete frame, both flags included. Defaults are Aidon's
    addresses and the UI control field with P/F set (0x13)."""
    header_len = 2 + len(dst) + len(src) + 1
    length = header_len + (2 + len(info) if info else 0) + 2
    if length > MAX_LENGTH:
        raise ValueError("frame of %d bytes exceeds the 11-bit length" % length)
    fmt = FORMAT_TYPE_3 | (SEGMENTED if segmented else 0) | length
    header = fmt.to_bytes(2, "big") + _address(dst) + _address(src) + bytes([control])
    body = header + _check(header) + info if info else header
    return FLAG + body + _check(body) + FLAG


def frames(info: bytes, max_info=DEFAULT_MAX_INFO, **addressing) -> list:
    """info (LLC header + APDU) cut into frames of at most max_info
    information bytes; all but the last have the S bit set. Join the result
    to get the byte stream."""
    if max_info < 1:
        raise ValueError("max_info must be positive")
    chunks = [info[i:i + max_info] for i in range(0, len(info), max_info)] or [b""]
    last = len(chunks) - 1
    return [frame(chunk, segmented=i < last, **addressing)
            for i, chunk in enumerate(chunks)]
