"""Unit-level checks of the DLMS pieces: A-XDR types, float values without
floats, COSEM date-times, limits on hostile nesting and lengths."""
import struct
from decimal import Decimal

import pytest

import hanport
from encoders import axdr as enc, dlms, hdlc
from hanport import axdr
from hanport.cosem import date_time
from hanport.cosem import ieee_decimal


@pytest.mark.parametrize("value,text", [
    (230.1, "230.1"), (0.0, "0"), (-1.5, "-1.5"), (49.99, "49.99"), (1e-3, "0.001"),
    (16777216.0, "16777220"), (0.95, "0.95"), (123456.7, "123456.7"),
])
def test_float32_to_decimal(value, text):
    bits = struct.unpack(">I", struct.pack(">f", value))[0]
    m, d = ieee_decimal(bits, 8, 23, 7)
    assert hanport.fmt.decimal(m, d) == text


def test_float32_nan_and_inf():
    assert ieee_decimal(0x7FC00000, 8, 23, 7) is None
    assert ieee_decimal(0x7F800000, 8, 23, 7) is None


def O(*code):
    return enc.octet_string(enc.obis(*code))


def frame(body):
    return hdlc.frame(hdlc.llc(dlms.data_notification(body)))


def test_all_meter_types_walk():
    body = enc.structure([
        O(1, 0, 14, 7, 0), enc.float32(49.98),
        O(1, 0, 13, 7, 0), enc.long_unsigned(998), enc.scaler_unit(-3, 255),
        O(1, 0, 1, 7, 0), enc.long64_unsigned(1500),
        O(1, 0, 2, 7, 0), enc.double_long(-7),
        O(0, 0, 96, 1, 0), enc.utf8_string("Mätare 7"),
        O(0, 0, 96, 3, 10), enc.boolean(True),
        O(0, 0, 96, 5, 0), enc.bit_string("1010000000001"),
        O(0, 0, 96, 14, 0), enc.enum(2),
        O(1, 0, 32, 7, 0), enc.unsigned(231),
        O(1, 0, 31, 7, 0), enc.integer(-5), enc.scaler_unit(-1, 33),
        O(1, 0, 1, 8, 0), enc.long64(123456789012), enc.scaler_unit(0, 30),
        O(0, 0, 1, 0, 0), b"\x19" + enc.date_time(__import__("datetime").datetime(2024, 5, 6, 7, 8, 9)),
        enc.null(),
    ])
    (r,) = hanport.Decoder().feed(frame(body))
    v = r.values()
    assert v["frequency_hz"] == "49.98"
    assert v["power_factor"] == "0.998"
    assert v["power_import_w"] == "1500" and v["power_export_w"] == "-7"
    assert v["voltage_l1_v"] == "231" and v["current_l1_a"] == "-0.5"
    assert v["energy_import_kwh"] == "123456789.012"
    assert v["tariff"] == "2"
    assert r.meter_id == "M\\xc3\\xa4tare 7"      # non-ASCII kept visible, never breaks JSON
    assert r.time == "2024-05-06T07:08:09"


@pytest.mark.parametrize("raw,counter", [
    (enc.structure([O(1, 0, 1, 7, 0), b"\x42\x00"]), "unknown"),        # unknown type
    (b"\x02\x05" + O(1, 0, 1, 7, 0), "malformed"),                        # truncated
    (b"\x01" * 40 + b"\x00", "malformed"),                                        # nested too deep
    (b"\x09\x82\xff\xff", "malformed"),                                           # huge length
    (b"\x02\x82\x10\x00", "malformed"),                                           # huge count
    (enc.structure([O(1, 0, 1, 7, 0), enc.long_unsigned(1)]) + b"\x00", "malformed"),
])
def test_hostile_bodies_are_counted_not_raised(raw, counter):
    dec = hanport.Decoder()
    assert dec.feed(frame(raw)) == []
    assert dec.stats()[counter] == 1, dec.stats()
    assert dec.last_error


def test_date_time_forms():
    dt = enc.date_time(__import__("datetime").datetime(2021, 9, 27, 9, 47, 15), -120, 0x80)
    assert date_time(dt, 0) == ("2021-09-27T09:47:15+02:00", True)
    dt = enc.date_time(__import__("datetime").datetime(2021, 1, 27, 9, 47, 15), None, 0xFF)
    assert date_time(dt, 0) == ("2021-01-27T09:47:15", None)
    dt = enc.date_time(__import__("datetime").datetime(2021, 1, 27, 9, 47, 15), -60, 0x00)
    assert date_time(dt, 0) == ("2021-01-27T09:47:15+01:00", False)
    assert date_time(b"\xff" * 12, 0) == (None, None)
    assert axdr.ber_length(b"\x82\x01\x09", 0, 3) == (265, 3)
    assert Decimal("1") == 1


def test_decode_apdu_longer_than_the_cap_is_refused():
    body = dlms.data_notification(enc.structure([enc.octet_string(b"x" * (hanport.CAP + 10))]))
    dec = hanport.Decoder()
    assert dec.decode_apdu(body) == []
    assert dec.oversized == 1 and "longer than" in dec.last_error
