"""Property tests for binary meters: random values through our own encoders
(every make, list and wrapping, encryption with random keys) decode to
exactly those values, in any chunking, with noise between frames and P1
telegrams mixed in; damage never raises and never decodes."""
import os
import random
from decimal import Decimal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings, strategies as st

from testkit import bingen
import hanport
from testkit import p1gen
from hanport.gcm import GCM


def check(r, m):
    got = {k: Decimal(v) for k, v in r.values().items()}
    assert got == m.values
    if "p1" in m.meta:
        assert r.protocol == "p1"
        return
    assert r.protocol == "dlms"
    for attr, want in (("meter_id", "meter_id"), ("model", "model"), ("list_id", "list_id")):
        assert getattr(r, attr) == m.meta[want], attr
    assert (r.time or None) == m.meta["time"]


def decoder(keys):
    return hanport.Decoder(keys.ek, keys.ak)


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_generated_frames_decode_exactly(rng):
    keys = bingen.Keys(rng)
    msgs = [bingen.random_message(rng, keys) for _ in range(rng.randint(1, 4))]
    stream = b"".join(bingen.junk(rng) + m.data for m in msgs)
    dec = decoder(keys)
    out = []
    for c in p1gen.chunks(rng, stream):
        out += dec.feed(c)
    assert len(out) == len(msgs), (dec.stats(), dec.last_error)
    for r, m in zip(out, msgs):
        check(r, m)


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False))
def test_p1_and_binary_mixed_in_one_stream(rng):
    keys = bingen.Keys(rng)
    items = []
    for _ in range(rng.randint(2, 6)):
        if rng.random() < 0.4:
            t = p1gen.random_telegram(rng)
            items.append(bingen.Message(t.data, t.values, {"p1": t}))
        else:
            items.append(bingen.random_message(rng, keys))
    stream = b"".join(m.data + b"\r\n" for m in items)
    dec = decoder(keys)
    out = []
    for c in p1gen.chunks(rng, stream):
        out += dec.feed(c)
    assert len(out) == len(items), (dec.stats(), dec.last_error)
    for r, m in zip(out, items):
        check(r, m)
    # the same through one reused read buffer, as the dongle reads the
    # UART: feed(buf, n) looks at the first n bytes only (stale ones after)
    dec = decoder(keys)
    buf = bytearray(rng.choice((7, 64, 512)))
    again = []
    for i in range(0, len(stream), len(buf)):
        piece = stream[i:i + len(buf)]
        buf[:len(piece)] = piece
        again += dec.feed(buf, len(piece))
    assert [r.to_json() for r in again] == [r.to_json() for r in out]


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_damaged_frame_is_never_decoded(rng):
    """good, damaged, good: both good ones come through; the damaged one
    never yields a reading (one mutation; every link check catches one).
    One meter per stream: HDLC/M-Bus, or Luxembourg's bare ciphered P1 (a
    bare ciphered frame is not looked for inside a damaged HDLC frame)."""
    keys = bingen.Keys(rng)
    lux = rng.random() < 0.2
    a, b, c = (bingen.random_message(rng, keys, lux) for _ in range(3))
    bad = p1gen.mutate(rng, b.data)
    dec = decoder(keys)
    out = []
    for chunk in p1gen.chunks(rng, a.data + bad + c.data):
        out += dec.feed(chunk)
    ref_b = decoder(keys).feed(b.data)[0].to_json()
    got = [r.to_json() for r in out]
    assert got[0] == decoder(keys).feed(a.data)[0].to_json()
    assert got[-1] == decoder(keys).feed(c.data)[0].to_json()
    # the middle one only if the damage missed it (a flip in a trailing flag)
    assert len(got) == 2 or (len(got) == 3 and got[1] == ref_b)


def test_many_mutations_never_raise():
    """Up to six damages per frame, then the frame intact: no exception, no
    reading that differs from the original, and the intact copy comes
    through (but for rare chains of false starts in random ciphertext).

    The exception is the meters' own weakness: an M-Bus frame without a GCM
    tag is guarded by an 8-bit sum only, so two compensating damages pass
    (about 1 in 256 damaged frames). Such frames are counted, not excused."""
    rng = random.Random(21)
    keys = bingen.Keys(rng)
    recovered = runs = weak_runs = weak_passed = 0
    for _ in range(1500):
        m = bingen.random_message(rng, keys)
        want = decoder(keys).feed(m.data)[0].to_json()
        data = m.data
        for _ in range(rng.randint(1, 6)):
            data = p1gen.mutate(rng, data)
        dec = decoder(keys)
        got = []
        for chunk in p1gen.chunks(rng, data + m.data):
            got += [r.to_json() for r in dec.feed(chunk)]
        wrong = [g for g in got if g != want]
        if m.meta["weak"]:
            weak_runs += 1
            weak_passed += bool(wrong)
        else:
            assert not wrong, (dec.stats(), wrong)
        runs += 1
        recovered += want in got
    assert recovered >= runs * 0.99, (recovered, runs)
    assert weak_passed <= max(2, weak_runs // 100), (weak_passed, weak_runs)


def test_gcm_matches_cryptography():
    rng = random.Random(5)
    for _ in range(300):
        key, iv = os.urandom(16), os.urandom(12)
        aad = os.urandom(rng.randint(0, 40))
        pt = os.urandom(rng.randint(0, 700))
        ct = AESGCM(key).encrypt(iv, pt, aad)
        body, tag = bytearray(ct[:-16]), ct[-16:]
        g = GCM(key)
        assert g.tag(iv, aad, body, 0, len(body)) == int.from_bytes(tag, "big")
        assert g.check(iv, aad, body, 0, len(body), tag, 0)
        bad = bytearray(tag)
        bad[rng.randrange(12)] ^= 1 << rng.randrange(8)
        assert not g.check(iv, aad, body, 0, len(body), bad, 0)
        g.decrypt(iv, body, 0, len(body))
        assert bytes(body) == pt


def test_encrypted_without_key_and_with_wrong_key():
    rng = random.Random(9)
    keys = bingen.Keys(rng)
    from encoders import dlms, hdlc, meters
    body = meters.aidon(1, 3, {"power_import_w": Decimal(1234)})
    apdu = dlms.data_notification(body)
    frame = hdlc.frame(hdlc.llc(dlms.glo_cipher(apdu, keys.ek, keys.title, 7, 0x30, keys.ak)))
    dec = hanport.Decoder()
    assert dec.feed(frame) == [] and dec.key_required == 1
    assert "KFM" in dec.last_error
    dec = hanport.Decoder(bytes(16), keys.ak)
    assert dec.feed(frame) == [] and dec.auth_failures == 1
    dec = hanport.Decoder(keys.ek, keys.ak)
    (r,) = dec.feed(frame)
    assert r.text("power_import_w") == "1234" and r.manufacturer == "KFM"
    # no AK given: decrypted, not authenticated (documented), still exact
    (r,) = hanport.Decoder(keys.ek).feed(frame)
    assert r.text("power_import_w") == "1234"


def test_multipliers():
    from encoders import hdlc, meters
    values = {"power_import_w": Decimal(100), "power_export_w": Decimal(0),
              "reactive_power_import_var": Decimal(0), "reactive_power_export_var": Decimal(0),
              "current_l1_a": Decimal("1.23"), "voltage_l1_v": Decimal(23001),
              "energy_import_kwh": Decimal("1234.56"), "energy_export_kwh": Decimal(0),
              "reactive_energy_import_kvarh": Decimal(0), "reactive_energy_export_kvarh": Decimal(0)}
    body = meters.kamstrup(2, 1, values, meter_id="1", meter_type="x",
                           clock=bingen._clock(random.Random(1)))
    frame = meters.push("kamstrup", body, when=bingen._clock(random.Random(2)))
    (r,) = hanport.Decoder(multipliers={"voltage": "0.01", "energy": "0.1",
                                        "power_import_w": 60}).feed(frame)
    assert r.text("voltage_l1_v") == "230.01"
    assert r.text("energy_import_kwh") == "123.456"
    assert r.text("power_import_w") == "6000"
    assert r.text("current_l1_a") == "1.23"
    import pytest
    with pytest.raises(ValueError):
        hanport.Decoder(multipliers={"volts": 1})
    with pytest.raises(ValueError):
        hanport.Decoder(multipliers={"voltage": "1e3"})
    assert hdlc  # encoders import check
