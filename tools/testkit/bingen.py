"""Random binary meter frames with known contents, from our own encoders
(tools/encoders): every make and list, wrapped every way meters send them
(single HDLC frame, segmented HDLC, General Block Transfer, M-Bus segments,
encrypted with random keys, Luxembourg's encrypted P1).

random_message(rng, keys) -> Message(data, values, meta)."""
from datetime import datetime, timedelta
from decimal import Decimal

from encoders import axdr, dlms, hdlc, mbus, meters

from . import p1gen

RANGE = {axdr.double_long_unsigned: (0, 2 ** 32 - 1), axdr.long: (-32768, 32767),
         axdr.long_unsigned: (0, 65535)}
SPECIAL = ("list_id", "meter_id", "meter_type", "clock", "meter_number")


class Message:
    def __init__(self, data, values, meta):
        self.data = data        # bytes on the wire
        self.values = values    # {field: Decimal}
        self.meta = meta        # meter_id, model, list_id, time


class Keys:
    """One stream's keys (a meter has one pair)."""

    def __init__(self, rng):
        self.ek = bytes(rng.randrange(256) for _ in range(16))
        self.ak = bytes(rng.randrange(256) for _ in range(16))
        self.title = b"KFM" + bytes(rng.randrange(256) for _ in range(5))
        self.counter = rng.randrange(2 ** 31)


def _values(rng, rows, phases, omit=()):
    values = {}
    for r in rows:
        if r.field in SPECIAL or r.field in omit or meters._phase(r.field) > phases:
            continue
        lo, hi = RANGE[r.encode]
        raw = rng.choice((lo, hi, 0, rng.randint(lo, hi), rng.randint(max(lo, 0), min(hi, 5000))))
        v = Decimal(raw).scaleb(r.scaler)
        if r.field.endswith(("_kwh", "_kvarh")):
            v = v.scaleb(-3)
        values[r.field] = v
    return values


def _clock(rng):
    return datetime(2015, 1, 1) + timedelta(seconds=rng.randrange(20 * 365 * 86400))


def random_body(rng):
    """(make for meters.HEADER, body bytes, values, meta, when)."""
    make = rng.choice(("aidon", "aidon_6525", "aidon_se", "kaifa", "kaifa_se_obis", "kamstrup"))
    phases = rng.choice((1, 3))
    when = _clock(rng)
    iso = when.strftime("%Y-%m-%dT%H:%M:%S")
    mid = "%016d" % rng.randrange(10 ** 16)
    meta = {"meter_id": None, "model": None, "list_id": None, "time": None}
    if make in ("aidon", "aidon_6525"):
        lst = rng.choice((1, 2, 3))
        omit = meters.AIDON_6525_OMIT if make == "aidon_6525" else ()
        phases = 3 if make == "aidon_6525" else phases
        values = _values(rng, meters.AIDON_LISTS[lst], phases, omit)
        body = meters.aidon(lst, phases, values, meter_id=mid, meter_type="6525", clock=when,
                            deviation=None, omit=omit)
        if lst > 1:
            meta.update(meter_id=mid, model="6525", list_id="AIDON_V0001")
        if lst == 3:
            meta["time"] = iso
        return "aidon", body, values, meta, None
    if make == "aidon_se":
        values = _values(rng, meters.AIDON_SE, phases)
        meta["time"] = iso
        return "aidon", meters.aidon_se(values, when, phases), values, meta, None
    if make in ("kaifa", "kaifa_se_obis"):
        lst = rng.choice((1, 2, 3))
        values = _values(rng, meters.KAIFA_LISTS[lst], phases)
        fn = meters.kaifa if make == "kaifa" else meters.kaifa_se_obis
        if make == "kaifa_se_obis" and lst == 1:
            lst = 2
            values = _values(rng, meters.KAIFA_LISTS[lst], phases)
        body = fn(lst, phases, values, meter_id=mid, meter_type="MA304H4", clock=when)
        if lst > 1:
            meta.update(meter_id=mid, model="MA304H4", list_id="KFM_001")
        if make == "kaifa_se_obis":   # no date-time in its notification header
            meta["time"] = iso if lst == 3 else None
            return make, body, values, meta, None
        meta["time"] = iso
        return "kaifa", body, values, meta, when
    lst = rng.choice((1, 2))
    values = _values(rng, meters.KAMSTRUP_LISTS[lst], phases)
    body = meters.kamstrup(lst, phases, values, meter_id=mid, meter_type="6841121BN243101040",
                           clock=when)
    meta.update(meter_id=mid, model="6841121BN243101040", list_id="Kamstrup_V0001", time=iso)
    return "kamstrup", body, values, meta, when


WRAPS = ("hdlc", "hdlc", "segmented", "gbt", "hdlc_enc", "mbus", "mbus_enc")


def random_message(rng, keys, lux=None):
    """One message, wrapped at random; lux: True for Luxembourg's bare
    ciphered P1 only, False for HDLC/M-Bus only, None for any."""
    wrap = "lux" if lux else rng.choice(WRAPS + (() if lux is False else ("lux",)))
    if wrap == "lux":
        t = p1gen.random_telegram(rng)
        while b"!\r\n" in t.data or b"!\n" in t.data:   # Luxembourg telegrams carry a CRC
            t = p1gen.random_telegram(rng)
        frame = dlms.glo_cipher(t.data, keys.ek, keys.title, keys.counter, 0x30, keys.ak)
        meta = {"p1": t, "weak": False}
        return Message(frame, t.values, meta)
    make, body, values, meta, when = random_body(rng)
    h = meters.HEADER[make]
    apdu = dlms.data_notification(body, h["invoke_id"], meters._clock(when, None, 0), h["dt_form"])
    addr = dict(dst=h["dst"], src=h["src"], control=h["control"])
    if wrap == "hdlc":
        data = hdlc.frame(hdlc.llc(apdu), **addr)
    elif wrap == "segmented":
        data = b"".join(hdlc.frames(hdlc.llc(apdu), max_info=rng.randint(16, 120), **addr))
    elif wrap == "gbt":
        n = rng.randint(2, 4)
        blocks = dlms.general_block_transfer(apdu, blocks=n) if len(apdu) >= n else [apdu]
        data = b"".join(hdlc.frame((hdlc.llc(b) if i == 0 else b), **addr)
                        for i, b in enumerate(blocks))
    elif wrap == "hdlc_enc":
        sc = rng.choice((0x30, 0x20, 0x21))
        ct = dlms.glo_cipher(apdu, keys.ek, keys.title, keys.counter, sc, keys.ak if sc == 0x30 else None)
        data = hdlc.frame(hdlc.llc(ct), **addr)
    elif wrap == "mbus":
        data = b"".join(mbus.segments(apdu, size=rng.randint(20, 245)))
    else:
        sc = rng.choice((0x30, 0x20, 0x21))
        ct = dlms.glo_cipher(apdu, keys.ek, keys.title, keys.counter, sc, keys.ak if sc == 0x30 else None)
        data = b"".join(mbus.segments(ct, size=rng.randint(20, 245)))
    keys.counter += 1
    # only a sum-checksum (M-Bus) and no GCM tag: 8 bits guard this message
    meta["weak"] = wrap == "mbus" or (wrap == "mbus_enc" and sc != 0x30)
    if when is not None:
        meta["time"] = when.strftime("%Y-%m-%dT%H:%M:%S")
    return Message(data, values, meta)


def junk(rng, n_max=12):
    return bytes(rng.randrange(256) for _ in range(rng.randrange(n_max)))
