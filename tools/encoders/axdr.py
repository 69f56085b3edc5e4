"""A-XDR encoding of COSEM Data values (IEC 61334-6 / DLMS Blue Book).

Every function returns the complete encoding of one value, type tag
included, so values compose by concatenation:

    structure([octet_string(obis(1, 0, 1, 7, 0)), double_long_unsigned(1696),
               scaler_unit(0, UNIT["W"])])

Integers must be whole: an int, or a Decimal/float with no fraction. A value
out of its type's range raises ValueError instead of being wrapped, so a test
value that does not fit a meter's wire type is noticed, not mangled.
"""
import struct

# Type tags (Blue Book "Data" CHOICE)
NULL = 0x00
ARRAY = 0x01
STRUCTURE = 0x02
BOOLEAN = 0x03
BIT_STRING = 0x04
DOUBLE_LONG = 0x05
DOUBLE_LONG_UNSIGNED = 0x06
OCTET_STRING = 0x09
VISIBLE_STRING = 0x0A
UTF8_STRING = 0x0C
INTEGER = 0x0F
LONG = 0x10
UNSIGNED = 0x11
LONG_UNSIGNED = 0x12
LONG64 = 0x14
LONG64_UNSIGNED = 0x15
ENUM = 0x16
FLOAT32 = 0x17
FLOAT64 = 0x18

# Unit enum of the Register scaler_unit (Blue Book table "enum unit")
UNIT = {"W": 27, "VA": 28, "var": 29, "Wh": 30, "VAh": 31, "varh": 32,
        "A": 33, "V": 35, "Hz": 44, "": 255}

# Date-time deviation meaning "not specified" (int16 0x8000)
UNSPECIFIED = -0x8000


def ber_length(n: int) -> bytes:
    """BER length: one byte below 0x80, else 0x80|k followed by k bytes
    (0x81 nn, 0x82 nn nn, ...)."""
    if n < 0:
        raise ValueError("negative length %d" % n)
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def _whole(value) -> int:
    """value as an int, refusing fractions (no silent truncation)."""
    n = int(value)
    if n != value:
        raise ValueError("A-XDR integer with a fraction: %r" % (value,))
    return n


def _integer(tag: int, size: int, signed: bool, value) -> bytes:
    n = _whole(value)
    try:
        return bytes([tag]) + n.to_bytes(size, "big", signed=signed)
    except OverflowError:
        raise ValueError("%d does not fit type 0x%02X" % (n, tag)) from None


def _counted(tag: int, data: bytes) -> bytes:
    return bytes([tag]) + ber_length(len(data)) + bytes(data)


def null() -> bytes:
    return bytes([NULL])


def array(items) -> bytes:
    """Array of already encoded values."""
    items = list(items)
    return bytes([ARRAY]) + ber_length(len(items)) + b"".join(items)


def structure(items) -> bytes:
    """Structure of already encoded values."""
    items = list(items)
    return bytes([STRUCTURE]) + ber_length(len(items)) + b"".join(items)


def boolean(value) -> bytes:
    # Decoders take any non-zero octet as TRUE; 0x01 is what DLMS stacks send.
    return bytes([BOOLEAN, 0x01 if value else 0x00])


def bit_string(bits: str) -> bytes:
    """bits as text, first bit first: "1011" -> 04 04 B0 (count in bits,
    packed MSB first, zero padded)."""
    if bits.strip("01"):
        raise ValueError("bit string text must be 0s and 1s: %r" % bits)
    padded = bits + "0" * (-len(bits) % 8)
    packed = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
    return bytes([BIT_STRING]) + ber_length(len(bits)) + packed


def double_long(value) -> bytes:
    return _integer(DOUBLE_LONG, 4, True, value)


def double_long_unsigned(value) -> bytes:
    return _integer(DOUBLE_LONG_UNSIGNED, 4, False, value)


def octet_string(data: bytes) -> bytes:
    return _counted(OCTET_STRING, data)


def visible_string(text) -> bytes:
    """ASCII text (str, or bytes sent as they are)."""
    data = text.encode("ascii") if isinstance(text, str) else text
    return _counted(VISIBLE_STRING, data)


def utf8_string(text: str) -> bytes:
    return _counted(UTF8_STRING, text.encode("utf-8"))


def integer(value) -> bytes:
    """int8"""
    return _integer(INTEGER, 1, True, value)


def long(value) -> bytes:
    """int16"""
    return _integer(LONG, 2, True, value)


def unsigned(value) -> bytes:
    """uint8"""
    return _integer(UNSIGNED, 1, False, value)


def long_unsigned(value) -> bytes:
    """uint16"""
    return _integer(LONG_UNSIGNED, 2, False, value)


def long64(value) -> bytes:
    return _integer(LONG64, 8, True, value)


def long64_unsigned(value) -> bytes:
    return _integer(LONG64_UNSIGNED, 8, False, value)


def enum(value) -> bytes:
    return _integer(ENUM, 1, False, value)


def float32(value) -> bytes:
    return bytes([FLOAT32]) + struct.pack(">f", value)


def float64(value) -> bytes:
    return bytes([FLOAT64]) + struct.pack(">d", value)


def obis(a: int, b: int, c: int, d: int, e: int, f: int = 255) -> bytes:
    """The 6-byte logical name A.B.C.D.E.F (wrap in octet_string to send)."""
    return bytes((a, b, c, d, e, f))


def scaler_unit(scaler: int, unit: int) -> bytes:
    """A Register's attribute 3: structure {integer scaler, enum unit}."""
    return structure([integer(scaler), enum(unit)])


def date_time(when, deviation=None, status=0x00, hundredths=None,
              weekday=True, sunday=7) -> bytes:
    """The 12-byte COSEM date-time (no type tag: wrap it in octet_string,
    or hand it to dlms.data_notification).

    year (2 bytes BE), month, day, day of week (1 = Monday ... 7 = Sunday,
    0xFF when weekday is False; sunday=0 for meters that count Sunday as
    0, as an Aidon 6534 capture does), hour, minute, second, hundredths
    (0xFF = not specified, the default), deviation (int16 minutes), clock
    status.

    deviation: minutes, or UNSPECIFIED (sent as 0x8000). None derives it
    from an aware datetime by the field convention UTC = local + deviation
    (CET summer time -> -120), and means UNSPECIFIED for a naive one.
    status: clock status byte (0x80 = daylight saving active, 0xFF = none).
    """
    if deviation is None:
        offset = when.utcoffset()
        deviation = UNSPECIFIED if offset is None else -int(offset.total_seconds()) // 60
    day = when.isoweekday()
    if day == 7:
        day = sunday
    return (when.year.to_bytes(2, "big")
            + bytes((when.month, when.day,
                     day if weekday else 0xFF,
                     when.hour, when.minute, when.second,
                     0xFF if hundredths is None else hundredths))
            + _whole(deviation).to_bytes(2, "big", signed=True)
            + bytes([status]))
