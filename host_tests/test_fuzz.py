"""The fuzzer of tools/fuzz.py, short (make fuzz runs a million inputs):
mutated streams never raise, never outgrow the buffers, never take
super-linear time, and never give a reading that no frame with good checks
gives (the oracle is described in tools/fuzzer/oracle.py). The oracle is shown to
catch decoders that skip a check, and MicroPython agrees with CPython on
fuzz inputs."""
import random

import pytest

import hanport
from encoders import hdlc, p1
from fuzzer import adversarial, cases, mpcheck, oracle, runner, seeds as fuzz_seeds
from testkit import mpy
from hanport import decoder as hdec
from hanport import gcm

SEED = 7


@pytest.fixture(scope="module")
def seeds():
    return fuzz_seeds.seed_pool(SEED)[0]


def failures_text(summary):
    return "\n".join("input #%d (%s): %s" % (i, kind, text[:600]) for i, kind, text, _ in summary.failures)


def test_oracle_crcs_are_the_encoders():
    """The oracle's table CRCs, built from the encoders' bitwise ones, give
    the same values, and the catalogue's check values."""
    rng = random.Random(SEED)
    for n in (0, 1, 2, 7, 300):
        data = bytes(rng.getrandbits(8) for _ in range(n))
        assert oracle.crc_arc(data) == p1.crc16_arc(data)
        assert oracle.crc_x25(data) == hdlc.crc16_x25(data)
    assert oracle.crc_arc(b"123456789") == 0xBB3D
    assert oracle.crc_x25(b"123456789") == 0x906E


def test_fuzz_inputs_pass_every_check(seeds):
    summary = runner.run(20000, SEED, seeds, mp_every=0)
    assert not summary.failures, failures_text(summary)
    assert summary.inputs == 20000
    assert summary.readings > 10000            # the streams really decode
    assert summary.max_held <= hdec.CAP and hdec.START <= summary.max_alloc <= hdec.CAP
    # the mutations reach every check of the decoder
    for counter in ("crc_errors", "fcs_errors", "mbus_errors", "auth_failures", "unknown",
                    "malformed", "oversized", "unchecked", "key_required"):
        assert summary.counters[counter] > 0, counter


def test_adversarial_streams_take_linear_time():
    slow = [fail for _, _, _, _, fail in adversarial.linearity(n=8192) if fail]
    assert not slow, slow


def test_bare_cipher_headers_do_not_each_cost_a_tag_check(monkeypatch):
    """Regression (found by the fuzzer): bare ciphered-frame headers a few
    bytes apart, each claiming ~4 KB, cost one GCM tag check of ~4 KB per
    header (6.5 s of CPU for 64 KB, ~290 times the bytes). Now the next
    header inside a frame is looked for first, and a frame failing its tag
    is not rescanned for other bare frames: tag checks cover each byte
    about once."""
    checked = [0]
    real_check, real_decrypt = gcm.GCM.check, gcm.GCM.decrypt

    def check(self, iv, aad, buf, s, e, tag, ts):
        checked[0] += e - s
        return real_check(self, iv, aad, buf, s, e, tag, ts)

    def decrypt(self, iv, buf, s, e):
        checked[0] += e - s
        return real_decrypt(self, iv, buf, s, e)

    monkeypatch.setattr(gcm.GCM, "check", check)
    monkeypatch.setattr(gcm.GCM, "decrypt", decrypt)
    for name in ("cipher-headers", "cipher-titles", "cipher-mixed"):
        data = adversarial.ADVERSARIAL[name](65536)
        for keys in ((bytes(16), bytes(16)), (bytes(16), None)):
            checked[0] = 0
            assert hanport.Decoder(*keys).feed(data) == []
            assert checked[0] <= 2 * len(data), (name, keys[1] is not None, checked[0])


def test_shortened_bare_frame_without_auth_key_keeps_the_next():
    """Regression: without the authentication key a bare frame is decrypted
    in place before it is refused, which garbled the next frame's header
    it had swallowed: the next frame was lost as well."""
    from testkit import bingen
    rng = random.Random(3)
    keys = bingen.Keys(rng)
    for _ in range(20):
        a, b = (bingen.random_message(rng, keys, True) for _ in range(2))
        cut = a.data[:-rng.randint(13, 60)]         # into the ciphertext, not just the tag
        want = [r.to_json() for r in hanport.Decoder(keys.ek).feed(b.data)]
        for k in (keys.ek, keys.ak), (keys.ek, None):
            assert [r.to_json() for r in hanport.Decoder(*k).feed(cut + b.data)] == want


@pytest.mark.parametrize("bits", [64, 32])
def test_micropython_agrees_on_fuzz_inputs(seeds, bits):
    """On both unix ports: the 32-bit one has the ESP32's small-int range
    (11-digit Wh registers are long ints there)."""
    if bits == 32:
        mpy.micropython32()         # skips, saying why, where it is not built
    by_keys = cases.peers(seeds)
    sample = [cases.make_case(SEED, i, seeds, by_keys) for i in range(300)]
    assert mpcheck.mp_compare(sample + adversarial.adversarial_cases(8192), bits=bits) is None


# --- the checks can fail -------------------------------------------------------

def oracle_failures(seeds, inputs=4000):
    summary = runner.run(inputs, SEED, seeds, mp_every=0, max_failures=1)
    return [f for f in summary.failures if "oracle" in f[2]]


def test_oracle_catches_a_decoder_that_accepts_bad_p1_crcs(monkeypatch, seeds):
    real = hdec.Decoder._p1_done

    def lax(self, has_crc):
        if has_crc:      # whatever the telegram says, its CRC "matches"
            self._crc = hdec.crc_arc(self._buf, 0, self._n)
        real(self, has_crc)

    monkeypatch.setattr(hdec.Decoder, "_p1_done", lax)
    assert oracle_failures([s for s in seeds if s.text is not None])


def test_oracle_catches_a_decoder_that_accepts_bad_hdlc_checks(monkeypatch, seeds):
    # HCS and FCS compare to the two bytes after the span: always equal
    from hanport import binary
    monkeypatch.setattr(binary, "crc_x25", lambda buf, s, e: buf[e] | buf[e + 1] << 8)
    assert oracle_failures([s for s in seeds if s.frames and s.frames[0].kind == "hdlc"])


def test_oracle_catches_a_decoder_that_accepts_bad_gcm_tags(monkeypatch, seeds):
    monkeypatch.setattr(gcm.GCM, "check", lambda *args: True)
    ciphered = [s for s in seeds if s.msg and s.msg.cipher and s.msg.cipher[2] & 0x10 and s.keys[1]]
    assert oracle_failures(ciphered)


def test_engine_reports_exceptions_buffers_and_slowness(monkeypatch, seeds):
    from hanport import p1

    def boom(self, buf, n, has_crc):
        raise ZeroDivisionError("boom")

    with monkeypatch.context() as m:
        m.setattr(p1.Parser, "parse", boom)
        summary = runner.run(300, SEED, seeds, mp_every=0, max_failures=1)
        assert summary.failures and summary.failures[0][2].startswith("exception: boom")

    real_init = hdec.Decoder.__init__

    def big(self, *a, **k):
        real_init(self, *a, **k)
        self._buf = bytearray(2 * hdec.CAP)

    with monkeypatch.context() as m:
        m.setattr(hdec.Decoder, "__init__", big)
        summary = runner.run(10, SEED, seeds, mp_every=0, max_failures=1)
        assert summary.failures and summary.failures[0][2].startswith("buffer")

    with monkeypatch.context() as m:
        m.setattr(runner, "TIME_BASE", 0.0)
        m.setattr(runner, "TIME_PER_KB", 0.0)
        summary = runner.run(10, SEED, seeds, mp_every=0, max_failures=1)
        assert summary.failures and summary.failures[0][2].startswith("slow")
