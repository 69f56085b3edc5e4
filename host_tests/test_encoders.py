"""tools/encoders against real frames: each corpus frame below is encoded
again from the values in MANIFEST.tsv (plus header fields that are not
values: HDLC addresses, invoke ids, system titles, frame counters, block
sizes, read off the capture once and written here) and must come out
byte-identical. Unit tests of the building blocks follow."""
import datetime as dt
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from testkit import corpus
from encoders import axdr, dlms, hdlc, mbus, meters

# --- manifest values -> canonical fields --------------------------------------

# canonical field -> manifest keys naming it (hand-derived and source styles)
ALIASES = {
    "power_import_w": ("active_power_import_W", "power_active_import"),
    "power_export_w": ("active_power_export_W", "power_active_export"),
    "reactive_power_import_var": ("reactive_power_import_var", "power_reactive_import"),
    "reactive_power_export_var": ("reactive_power_export_var", "power_reactive_export"),
    "energy_import_kwh": ("energy_import_Wh", "energy_active_cum_import"),
    "energy_export_kwh": ("energy_export_Wh", "energy_active_cum_export"),
    "reactive_energy_import_kvarh": ("reactive_energy_import_varh", "energy_reactive_cum_import"),
    "reactive_energy_export_kvarh": ("reactive_energy_export_varh", "energy_reactive_cum_export"),
    "power_factor": ("power_factor",),
}
for _p in (1, 2, 3):
    ALIASES["current_l%d_a" % _p] = ("current_l%d_A" % _p, "phase_current_l%d" % _p)
    ALIASES["voltage_l%d_v" % _p] = ("voltage_l%d_V" % _p, "phase_voltage_l%d" % _p)
    ALIASES["power_import_l%d_w" % _p] = ("power_import_l%d_W" % _p,)
    ALIASES["power_export_l%d_w" % _p] = ("power_export_l%d_W" % _p,)
    ALIASES["reactive_power_import_l%d_var" % _p] = ("reactive_import_l%d_var" % _p,)
    ALIASES["reactive_power_export_l%d_var" % _p] = ("reactive_export_l%d_var" % _p,)
FIELD = {alias: field for field, names in ALIASES.items() for alias in names}
MILLI = ("wh", "varh")  # manifest units that are 1/1000 of the canonical kWh/kvarh


def manifest(row):
    """(canonical values, every entry as text) of a manifest row."""
    # a prose prefix such as "derived (...): " sticks to the first key
    texts = {key.rsplit(":", 1)[-1].strip(): text
             for key, text in corpus.expected(row).items()}
    values = {}
    for key, text in texts.items():
        if key in FIELD:  # "4272440 (raw 427244 x10, ...)" -> 4272440
            number, unit = corpus.number_unit(text.split()[0])
            unit = unit or key.rsplit("_", 1)[-1]
            values[FIELD[key]] = number.scaleb(-3) if unit.lower() in MILLI else number
    return values, texts


def when(text):
    """A manifest time: "2024-09-21T19:00:00", "2021-09-27T09:47:15+02:00"
    (aware) or "2019-06-12 18:00:00,255 +60 (0)"."""
    return dt.datetime.fromisoformat(text.split()[0] if "T" in text else text[:19])


def keys(row):
    """The manifest's encryption_key column: {"EK": bytes[, "AK": bytes]}."""
    text = row["encryption_key"]
    if "=" not in text:
        return {"EK": bytes.fromhex(text)}
    return {k: bytes.fromhex(v) for k, v in (item.split("=") for item in text.split(";"))}


def ids(m):
    return {"meter_id": m["meter_id"], "meter_type": m["meter_type"]}


def header_stamp(data):
    """The 12 date-time bytes after 0F + invoke id + 09 0C (only for
    frames whose manifest does not state the notification time)."""
    at = data.index(b"\xE6\xE7\x00\x0F") + 8
    assert data[at:at + 2] == b"\x09\x0C"
    return data[at + 2:at + 14]


# --- one builder per corpus frame -------------------------------------------------

CASES = {}


def case(*names):
    def register(build):
        for name in names:
            CASES[name] = build
        return build
    return register


@case("hdlc_no_aidon6525_list1_01.hex")
def _aidon_list1(v, m, row, data):
    return meters.push("aidon", meters.aidon(1, 3, v))


@case("hdlc_no_aidon6525_list2_01.hex", "hdlc_no_aidon6525_list2_inner7e_01.hex")
def _aidon6525_list2(v, m, row, data):
    return meters.push("aidon", meters.aidon_6525(2, v, **ids(m)))


@case("hdlc_no_aidon6525_list3_01.hex")
def _aidon6525_list3(v, m, row, data):
    # clock deviation +60 min, status 00 (manifest: "+60 (0)")
    body = meters.aidon_6525(3, v, clock=when(m["meter_timestamp"]), deviation=60, **ids(m))
    return meters.push("aidon", body)


@case("hdlc_no_aidon6515_list2_negcurrent_01.hex")
def _aidon6515_list2(v, m, row, data):
    return meters.push("aidon", meters.aidon(2, 1, v, **ids(m)))


@case("hdlc_no_aidon6534_list3_01.hex", "hdlc_no_aidon6534_list3_staleclock_01.hex")
def _aidon6534_list3(v, m, row, data):
    body = meters.aidon(3, 3, v, clock=when(m["clock"]), deviation=0, **ids(m))
    return meters.push("aidon", body)


@case("hdlc_se_aidon_rj12_list_01.hex")
def _aidon_se(v, m, row, data):
    # the manifest lists only the non-zero per-phase powers; the frame has all 12
    v = dict({f: Decimal(0) for f in meters.PHASE_POWER_FIELDS}, **v)
    return meters.push("aidon", meters.aidon_se(v, clock=when(m["meter_datetime"])))


# Norwegian Kaifa: file -> (list, phases); APDU date-time 09 0C-tagged
KAIFA_NO = {
    "hdlc_no_kaifa_ma304h3e_list1_01.hex": (1, 3),
    "hdlc_no_kaifa_ma304h3e_list2_01.hex": (2, 3),
    "hdlc_no_kaifa_ma304h4_list3_01.hex": (3, 3),
    "hdlc_no_kaifa_ma304t4_list3_01.hex": (3, 3),
    "hdlc_no_kaifa_ma304t4_list2_01.hex": (2, 3),
}


@case(*KAIFA_NO)
def _kaifa_no(v, m, row, data):
    list_no, phases = KAIFA_NO[row["file"]]
    stamp = m.get("meter_datetime") or m.get("meter_timestamp")
    t = when(stamp) if stamp else header_stamp(data)
    clock = when(m.get("clock") or stamp) if list_no == 3 else None
    more = ids(m) if list_no > 1 else {}
    return meters.push("kaifa", meters.kaifa(list_no, phases, v, clock=clock, **more), t)


@case("dlms_no_kaifa_ma304h3e_list3_01.hex")
def _kaifa_no_raw(v, m, row, data):
    t = when(m["meter_datetime"])
    body = meters.kaifa(3, 3, v, clock=when(m["clock"]), **ids(m))
    return hdlc.llc(dlms.data_notification(body, b"\x40\x00\x00\x00", axdr.date_time(t), "tagged"))


@case("hdlc_se_kaifa_ma105h2e_list3_01.hex")
def _kaifa_se_1p(v, m, row, data):
    body = meters.kaifa(3, 1, v, clock=when(m["clock"]), **ids(m))
    return meters.push("kaifa_se", body, when(m["meter_datetime"]))


@case("hdlc_se_kaifa_ma304h4_list3_obis_01.hex")
def _kaifa_se_obis(v, m, row, data):
    # clock deviation FFC4 (-60 min), status 00
    body = meters.kaifa_se_obis(3, 3, v, clock=when(m["clock"]), deviation=-60, **ids(m))
    return meters.push("kaifa_se_obis", body)


# Kamstrup: file -> (list, phases, energy scaler, APDU date-time form)
KAMSTRUP = {
    "hdlc_no_kamstrup_6841_list1_01.hex": (1, 3, 1, "bare"),
    "hdlc_no_kamstrup_6841_list1_fcs7e_01.hex": (1, 3, 1, "tagged"),  # 2017 firmware
    "hdlc_no_kamstrup_6841_list2_01.hex": (2, 3, 1, "tagged"),
    "hdlc_no_kamstrup_1p_list1_01.hex": (1, 1, 1, "bare"),
    "hdlc_no_kamstrup_1p_list2_01.hex": (2, 1, 1, "bare"),
    "hdlc_se_kamstrup_6841_list1_01.hex": (1, 3, 0, "bare"),
    "hdlc_se_kamstrup_6841_list2_01.hex": (2, 3, 0, "bare"),  # Swedish: Wh
    "hdlc_dk_kamstrup_6841_list1_plain_01.hex": (1, 3, 1, "bare"),
}


@case(*KAMSTRUP)
def _kamstrup(v, m, row, data):
    list_no, phases, scaler, form = KAMSTRUP[row["file"]]
    clock = when(m["clock"]) if list_no == 2 else None
    body = meters.kamstrup(list_no, phases, v, clock=clock, energy_scaler=scaler, **ids(m))
    return meters.push("kamstrup", body, when(m["meter_datetime"]), dt_form=form)


@case("mbus_at_kaifa_ma309_enc_netznoe_01.hex")
def _netz_noe(v, m, row, data):
    t = when(m["meter_datetime"])  # +02:00: deviation -120 by UTC = local + deviation
    body = meters.kaifa_at_evn(v, clock=t, meter_number=m["meter_number"], clock_status=0x80)
    stamp = axdr.date_time(t, status=0x80, hundredths=0)
    plain = dlms.data_notification(body, bytes.fromhex("8006870E"), stamp)
    # the manifest quotes the decrypted APDU's start and end
    head, tail = m["decrypted_apdu"].split()[0].split("...")
    assert plain.hex().upper().startswith(head) and plain.hex().upper().endswith(tail)
    apdu = dlms.glo_cipher(plain, keys(row)["EK"], b"KFMgP\x00\x00\x09", 0x23,
                           security_control=0x20)
    return b"".join(mbus.segments(apdu))


# Austrian/Polish Kaifa, suite 1 encryption only: clock as bare OBIS + value,
# {OBIS, id} pairs, then {OBIS, value, {scaler, unit}} registers.
AT_KAIFA = {  # file -> (phases, invoke id, system title, frame counter)
    "mbus_at_kaifa_1p_enc_tinetz_01.hex": (1, "0029B2DC", "4B464D1010000023", 0x00295B9A),
    "mbus_pl_kaifa_ma309_enc_01.hex": (3, "000018CF", "4B464D1020029802", 0x00000A28),
}


def _register(obis, raw, encode, scaler, unit):
    return axdr.structure([axdr.octet_string(axdr.obis(*obis)), encode(raw),
                           axdr.scaler_unit(scaler, axdr.UNIT[unit])])


def wire(value, exponent):
    """value * 10**exponent, which must be whole."""
    n = value.scaleb(exponent)
    assert n == n.to_integral_value()
    return int(n)


@case(*AT_KAIFA)
def _at_kaifa(v, m, row, data):
    phases, invoke, title, counter = AT_KAIFA[row["file"]]
    t = when(m["meter_datetime"])
    stamp = axdr.date_time(t, deviation=-120, status=0x80, hundredths=0)
    items = [axdr.octet_string(axdr.obis(0, 0, 1, 0, 0)), axdr.octet_string(stamp)]
    for obis, text in (((0, 0, 96, 1, 0), m["meter_id"]), ((0, 0, 42, 0, 0), m["device_name"])):
        items.append(axdr.structure([axdr.octet_string(axdr.obis(*obis)),
                                     axdr.octet_string(text.encode())]))
    for p in range(1, phases + 1):
        items.append(_register((1, 0, 12 + 20 * p, 7, 0), wire(v["voltage_l%d_v" % p], 1),
                               axdr.long_unsigned, -1, "V"))
    for p in range(1, phases + 1):
        items.append(_register((1, 0, 11 + 20 * p, 7, 0), wire(v["current_l%d_a" % p], 2),
                               axdr.long_unsigned, -2, "A"))
    for c, field, unit, exp in ((1, "power_import_w", "W", 0), (2, "power_export_w", "W", 0)):
        items.append(_register((1, 0, c, 7, 0), wire(v[field], exp), axdr.double_long_unsigned, 0, unit))
    for c, field in enumerate(meters.ENERGY_FIELDS, 1):
        unit = "Wh" if c < 3 else "varh"
        items.append(_register((1, 0, c, 8, 0), wire(v[field], 3), axdr.double_long_unsigned, 0, unit))
    plain = dlms.data_notification(axdr.structure(items), bytes.fromhex(invoke), stamp)
    apdu = dlms.glo_cipher(plain, keys(row)["EK"], bytes.fromhex(title), counter,
                           security_control=0x21)
    return b"".join(mbus.segments(apdu))


@case("hdlc_at_landisgyr_e450_enc_01.hex")
def _landisgyr_at(v, m, row, data):
    # Netz Burgenland: 14 values by position, no OBIS
    items = [axdr.long_unsigned(wire(v["voltage_l%d_v" % p], 0)) for p in (1, 2, 3)]
    items += [axdr.long_unsigned(wire(v["current_l%d_a" % p], 2)) for p in (1, 2, 3)]
    items += [axdr.double_long_unsigned(wire(v[f], 0)) for f in ("power_import_w", "power_export_w")]
    items += [axdr.double_long_unsigned(wire(v[f], 3)) for f in ("energy_import_kwh", "energy_export_kwh")]
    items += [axdr.long_unsigned(int(n)) for n in m["unknown_u16"].strip("[]").split(",")]
    items.append(axdr.octet_string(m["meter_id"].encode()))
    stamp = axdr.date_time(when(m["meter_datetime"]))
    plain = dlms.data_notification(axdr.structure(items), bytes.fromhex("002180FC"), stamp)
    assert plain.hex().upper() == m["plaintext"]
    k = keys(row)
    apdu = dlms.glo_cipher(plain, k["EK"], bytes.fromhex("4C475A6772A9A111"), 0x002180F6,
                           security_control=0x30, auth_key=k["AK"])
    return hdlc.frame(hdlc.llc(apdu), dst=b"\xCE\xFF", src=b"\x03", control=0x13)


# Swiss L+G E450: object list (class, OBIS, attribute, data index 0) then values
GBT_OBJECTS = (
    (40, (0, 8, 25, 9, 0), 2), (40, (0, 8, 25, 9, 0), 1), (1, (0, 0, 96, 1, 0), 2),
    (3, (1, 0, 1, 7, 0), 2), (3, (1, 0, 2, 7, 0), 2),
    (3, (1, 1, 1, 8, 0), 2), (3, (1, 1, 2, 8, 0), 2), (3, (1, 1, 5, 8, 0), 2),
    (3, (1, 1, 6, 8, 0), 2), (3, (1, 1, 7, 8, 0), 2), (3, (1, 1, 8, 8, 0), 2),
    (3, (1, 0, 31, 7, 0), 2), (3, (1, 0, 51, 7, 0), 2), (3, (1, 0, 71, 7, 0), 2),
)


@case("hdlc_ch_landisgyr_e450_gbt_3frames_01.hex")
def _landisgyr_ch(v, m, row, data):
    objects = axdr.array(axdr.structure([axdr.long_unsigned(cls), axdr.octet_string(axdr.obis(*o)),
                                         axdr.integer(attr), axdr.long_unsigned(0)])
                         for cls, o, attr in GBT_OBJECTS)
    values = [axdr.octet_string(axdr.obis(0, 8, 25, 9, 0)), axdr.octet_string(m["meter_id"].encode())]
    values += [axdr.double_long_unsigned(wire(v[f], e))
               for f, e in (("power_import_w", 0), ("power_export_w", 0),
                            ("energy_import_kwh", 3), ("energy_export_kwh", 3))]
    values += [axdr.double_long_unsigned(int(m["energy_%d.8.0_varh" % c])) for c in (5, 6, 7, 8)]
    values += [axdr.long_unsigned(wire(v["current_l%d_a" % p], 2)) for p in (1, 2, 3)]
    stamp = axdr.date_time(when(m["meter_datetime"]))
    apdu = dlms.data_notification(axdr.structure([objects] + values), bytes.fromhex("0021A433"), stamp)
    blocks = dlms.general_block_transfer(apdu, sizes=(112, 108, 121))  # as the meter cut it
    infos = [hdlc.llc(blocks[0])] + blocks[1:]
    return b"".join(hdlc.frame(info, dst=b"\xCE\xFF", src=b"\x03") for info in infos)


# --- corpus tests ---------------------------------------------------------------

MUST = (  # frames the brief names; CASES holds more
    "hdlc_no_aidon6525_list3_01.hex", "hdlc_no_aidon6534_list3_01.hex",
    "hdlc_no_kaifa_ma304h3e_list2_01.hex", "hdlc_no_kaifa_ma304h4_list3_01.hex",
    "hdlc_no_kamstrup_6841_list1_01.hex", "hdlc_no_kamstrup_6841_list2_01.hex",
    "hdlc_no_kamstrup_1p_list1_01.hex", "hdlc_se_aidon_rj12_list_01.hex",
    "hdlc_se_kaifa_ma304h4_list3_obis_01.hex", "mbus_at_kaifa_ma309_enc_netznoe_01.hex",
    "hdlc_at_landisgyr_e450_enc_01.hex",
)


def load(name):
    """(manifest row, bytes) of a corpus file, or a skip without corpus."""
    if not corpus.available():
        pytest.skip(corpus.MISSING)
    rows = {r["file"]: r for r in corpus.rows()}
    assert name in rows, "corpus lost %s" % name
    return rows[name], corpus.data(rows[name])


def test_cases_cover_the_required_frames():
    assert set(MUST) <= set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reencoded_frame_is_byte_identical(name):
    row, data = load(name)
    values, texts = manifest(row)
    out = CASES[name](values, texts, row, data)
    assert out.hex() == data.hex()


def hdlc_frame_checks(frame):
    """What a reader relies on, recomputed without a parser: flags, the
    11-bit length, HCS and FCS; returns the information field."""
    assert frame[0] == 0x7E and frame[-1] == 0x7E
    fmt = int.from_bytes(frame[1:3], "big")
    assert fmt & 0xF000 == 0xA000
    assert fmt & 0x7FF == len(frame) - 2
    end = 3
    for _ in range(2):  # destination, then source address
        while not frame[end] & 1:
            end += 1
        end += 1
    header = frame[1:end + 1]  # format .. control
    assert frame[end + 1:end + 3] == hdlc.crc16_x25(header).to_bytes(2, "little")
    assert frame[-3:-1] == hdlc.crc16_x25(frame[1:-3]).to_bytes(2, "little")
    return frame[end + 3:-3]


@pytest.mark.parametrize("name, where", [
    ("hdlc_no_aidon6525_list2_inner7e_01.hex", "info"),
    ("hdlc_no_kamstrup_6841_list1_fcs7e_01.hex", "fcs"),
])
def test_frames_with_inner_7e(name, where):
    row, data = load(name)
    values, texts = manifest(row)
    out = CASES[name](values, texts, row, data)
    assert out == data
    info = hdlc_frame_checks(out)
    inside = info if where == "info" else out[-3:-1]
    assert 0x7E in inside  # unescaped: no byte stuffing
    assert info[:3] == hdlc.LLC


# --- HDLC -------------------------------------------------------------------------

def test_crc16_x25_check_value():
    assert hdlc.crc16_x25(b"123456789") == 0x906E
    # the good-frame residue: CRC over data + its own FCS
    data = b"\x01\x02\x7E"
    assert hdlc.crc16_x25(data + hdlc.crc16_x25(data).to_bytes(2, "little")) == 0x0F47


def test_frame_with_7e_in_payload_and_fcs_is_not_stuffed():
    for n in range(2000):
        info = hdlc.llc(b"\x0F\x7E" + n.to_bytes(2, "big"))
        out = hdlc.frame(info)
        if 0x7E in out[-3:-1]:
            break
    else:
        pytest.fail("no FCS with 0x7E found")
    assert hdlc_frame_checks(out) == info
    assert len(out) == 2 + 2 + 1 + 2 + 1 + 2 + len(info) + 2


def test_frame_without_information_has_no_hcs():
    out = hdlc.frame(b"", dst=b"\x03", src=b"\x21", control=0x93)
    assert out[1:3] == b"\xA0\x07" and len(out) == 9
    assert out[-3:-1] == hdlc.crc16_x25(out[1:-3]).to_bytes(2, "little")


def test_segmented_frames():
    info = hdlc.llc(bytes(range(256)) * 2)
    parts = hdlc.frames(info, max_info=200, dst=b"\x2B", src=b"\x21")
    assert len(parts) == 3
    assert [p[1] & 0x08 for p in parts] == [0x08, 0x08, 0x00]
    assert b"".join(hdlc_frame_checks(p) for p in parts) == info
    assert hdlc_frame_checks(parts[1])[:3] != hdlc.LLC


def test_bad_addresses_and_oversize():
    with pytest.raises(ValueError):
        hdlc.frame(b"x", dst=b"\x40")
    with pytest.raises(ValueError):
        hdlc.frame(b"x", src=b"\x01\x01")
    with pytest.raises(ValueError):
        hdlc.frame(bytes(2040))


# --- M-Bus ------------------------------------------------------------------------

def test_mbus_segments():
    apdu = bytes(range(256)) * 3
    frames = mbus.segments(apdu, size=250)
    assert [f[6] for f in frames] == [0x00, 0x01, 0x02, 0x13]
    joined = b""
    for f in frames:
        n = f[1]
        assert f[0] == f[3] == 0x68 and f[2] == n and f[-1] == 0x16 and len(f) == n + 6
        assert f[-2] == sum(f[4:-2]) & 0xFF
        assert f[4:6] == b"\x53\xFF" and f[7:9] == b"\x01\x67"
        joined += f[9:-2]
    assert joined == apdu
    assert mbus.segments(b"\xDB")[0][6] == 0x10  # single segment: final at once
    with pytest.raises(ValueError):
        mbus.segments(apdu, size=251)


# --- GCM ----------------------------------------------------------------------------

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = b"KAM\x01\x02\x03\x04\x05"
PLAIN = bytes.fromhex("0F00000000") + b"\x00" + axdr.structure([axdr.null()] * 100)


def split_glo(apdu):
    """(SC + FC, ciphertext + tag) with the BER length checked."""
    assert apdu[:2] == b"\xDB\x08" and apdu[2:10] == TITLE
    at = 11 if apdu[10] < 0x80 else 11 + (apdu[10] & 0x7F)
    assert int.from_bytes(apdu[11:at], "big") if at > 11 else apdu[10] == len(apdu) - at
    return apdu[at:at + 5], apdu[at + 5:]


def test_glo_cipher_equals_aesgcm():
    apdu = dlms.glo_cipher(PLAIN, EK, TITLE, 0x01020304, 0x30, AK)
    head, rest = split_glo(apdu)
    assert head == b"\x30\x01\x02\x03\x04"
    sealed = AESGCM(EK).encrypt(TITLE + b"\x01\x02\x03\x04", PLAIN, b"\x30" + AK)
    assert rest == sealed[:-4]  # ciphertext + tag cut to 12 bytes
    # and the 12-byte tag verifies as a truncated GCM tag
    dec = Cipher(algorithms.AES(EK), modes.GCM(TITLE + b"\x01\x02\x03\x04", rest[-12:],
                                               min_tag_length=12)).decryptor()
    dec.authenticate_additional_data(b"\x30" + AK)
    assert dec.update(rest[:-12]) + dec.finalize() == PLAIN


def test_encryption_only_is_the_gcm_keystream():
    for sc in (0x20, 0x21):
        head, rest = split_glo(dlms.glo_cipher(PLAIN, EK, TITLE, 7, sc))
        assert head[0] == sc and len(rest) == len(PLAIN)  # no tag
        sealed = AESGCM(EK).encrypt(TITLE + (7).to_bytes(4, "big"), PLAIN, None)
        assert rest == sealed[:-16]


def test_authentication_only_and_refusals():
    head, rest = split_glo(dlms.glo_cipher(PLAIN, EK, TITLE, 9, 0x10, AK))
    assert rest[:-12] == PLAIN
    iv = TITLE + (9).to_bytes(4, "big")
    assert rest[-12:] == AESGCM(EK).encrypt(iv, b"", b"\x10" + AK + PLAIN)[:12]
    for sc, ak in ((0x30, None), (0x00, None), (0xB0, AK)):
        with pytest.raises(ValueError):
            dlms.glo_cipher(PLAIN, EK, TITLE, 9, sc, ak)


# --- DLMS ---------------------------------------------------------------------------

STAMP = axdr.date_time(dt.datetime(2024, 10, 1, 19, 0, 10))


def test_data_notification_forms():
    body = axdr.structure([])
    assert dlms.data_notification(body) == bytes.fromhex("0F40000000000200")
    assert dlms.data_notification(body, 0, STAMP) == b"\x0F\0\0\0\0\x0C" + STAMP + body
    assert dlms.data_notification(body, datetime=STAMP, dt_form="tagged")[5:7] == b"\x09\x0C"
    with pytest.raises(ValueError):
        dlms.data_notification(body, dt_form="bare")
    with pytest.raises(ValueError):
        dlms.data_notification(body, datetime=STAMP, dt_form="none")


def test_general_block_transfer():
    apdu = bytes(range(250))
    blocks = dlms.general_block_transfer(apdu, blocks=3)
    assert [b[1] for b in blocks] == [0x40, 0x40, 0xC0]
    assert [int.from_bytes(b[2:4], "big") for b in blocks] == [1, 2, 3]
    assert blocks[0][4:7] == b"\x00\x00\x54"  # ack 0, length 84
    assert b"".join(b[7:] for b in blocks) == apdu
    big = dlms.general_block_transfer(bytes(300), blocks=2)
    assert big[0][6:8] == b"\x81\x96" and len(big[0]) == 8 + 150
    one = dlms.general_block_transfer(b"\x0F", blocks=1, control=0)
    assert one == [bytes.fromhex("E08000010000010F")]
    with pytest.raises(ValueError):
        dlms.general_block_transfer(apdu, sizes=(100, 100))


# --- A-XDR --------------------------------------------------------------------------

def test_ber_length():
    assert [axdr.ber_length(n) for n in (0, 0x7F, 0x80, 0xF8, 0x100, 0x1D0)] == [
        b"\x00", b"\x7F", b"\x81\x80", b"\x81\xF8", b"\x82\x01\x00", b"\x82\x01\xD0"]


def test_scalar_types():
    assert axdr.long(-51) == b"\x10\xFF\xCD"
    assert axdr.integer(-1) == b"\x0F\xFF"
    assert axdr.double_long(-2) == b"\x05\xFF\xFF\xFF\xFE"
    assert axdr.double_long_unsigned(Decimal("2204")) == b"\x06\x00\x00\x08\x9C"
    assert axdr.long64_unsigned(1) == b"\x15" + bytes(7) + b"\x01"
    assert axdr.long64(-1) == b"\x14" + b"\xFF" * 8
    assert axdr.unsigned(255) == b"\x11\xFF"
    assert axdr.enum(27) == b"\x16\x1B"
    assert axdr.boolean(True) == b"\x03\x01" and axdr.boolean(False) == b"\x03\x00"
    assert axdr.float32(1.0) == b"\x17\x3F\x80\x00\x00"
    assert axdr.bit_string("1011") == b"\x04\x04\xB0"
    assert axdr.bit_string("101100001") == b"\x04\x09\xB0\x80"
    assert axdr.visible_string("KFM_001") == b"\x0A\x07KFM_001"
    assert axdr.utf8_string("NÖ") == b"\x0C\x03N\xC3\x96"
    assert axdr.obis(1, 0, 1, 7, 0) == bytes.fromhex("0100010700FF")
    assert axdr.array([axdr.null()] * 200)[:3] == b"\x01\x81\xC8"
    for bad in (lambda: axdr.long_unsigned(-1), lambda: axdr.integer(128),
                lambda: axdr.double_long_unsigned(Decimal("1.5"))):
        with pytest.raises(ValueError):
            bad()


def test_date_time():
    t = dt.datetime(2021, 3, 23, 18, 50, 0)
    assert axdr.date_time(t, -60).hex() == "07e5031702123200ffffc400"
    assert axdr.date_time(t).hex() == "07e5031702123200ff800000"
    summer = dt.datetime(2021, 9, 27, 9, 47, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert axdr.date_time(summer, status=0x80, hundredths=0).hex() == "07e5091b01092f0f00ff8880"
    sunday = dt.datetime(2025, 12, 14, 17, 0, 0)
    assert axdr.date_time(sunday)[4] == 7 and axdr.date_time(sunday, sunday=0)[4] == 0
    assert axdr.date_time(t, weekday=False, status=0xFF)[4] == 0xFF


# --- list encoders ------------------------------------------------------------------

FULL = {f: Decimal(0) for f in meters.POWER_FIELDS + meters.CURRENT_FIELDS
        + meters.VOLTAGE_FIELDS + meters.ENERGY_FIELDS}
CLOCK = dt.datetime(2024, 1, 1, 0, 0, 10)


@pytest.mark.parametrize("list_no, phases, count", [
    (1, 3, 1), (2, 3, 13), (3, 3, 18), (2, 1, 9), (3, 1, 14)])
def test_kaifa_element_counts(list_no, phases, count):
    body = meters.kaifa(list_no, phases, FULL, meter_id="1", meter_type="T", clock=CLOCK)
    assert body[:2] == bytes([0x02, count])
    obis = meters.kaifa_se_obis(list_no, phases, FULL, meter_id="1", meter_type="T", clock=CLOCK)
    assert obis[:2] == bytes([0x02, 2 * count])


@pytest.mark.parametrize("list_no, phases, count", [
    (1, 3, 1), (2, 3, 13), (3, 3, 18), (2, 1, 9), (3, 1, 14)])
def test_aidon_element_counts(list_no, phases, count):
    body = meters.aidon(list_no, phases, FULL, meter_id="1", meter_type="6534", clock=CLOCK)
    assert body[:2] == bytes([0x01, count])


@pytest.mark.parametrize("list_no, count", [(1, 25), (2, 35)])
def test_kamstrup_keeps_its_count_at_one_phase(list_no, count):
    three = meters.kamstrup(list_no, 3, FULL, meter_id="1", meter_type="T", clock=CLOCK)
    one = meters.kamstrup(list_no, 1, FULL, meter_id="1", meter_type="T", clock=CLOCK)
    assert three[:2] == one[:2] == bytes([0x02, count])
    assert one.count(b"\x00\x00\x00\x00") >= 2


def test_values_must_fit_the_wire():
    with pytest.raises(ValueError):  # 0.05 A is not a whole number of 0.1 A
        meters.aidon(2, 1, dict(FULL, current_l1_a=Decimal("0.05")), meter_id="1", meter_type="1")
    with pytest.raises(ValueError):  # list 2 needs a meter id
        meters.kaifa(2, 3, FULL, meter_type="T")
    with pytest.raises(KeyError):
        meters.kaifa(1, 3, {})
