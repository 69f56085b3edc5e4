"""The decoder's fast paths give the reference's answers: the loops
pick.py chooses (CPython builtins here, viper under MicroPython) against
the plain ones of crc.py and p1scan.py, and the CPython bulk P1 path
against the line-by-line parser."""
import random

import pytest

from testkit import corpus
import hanport
from testkit import mpy
from testkit import p1gen
from hanport import crc, p1, p1scan, pick

ALPHABET = b"0123456789-:.*/!abcKkWwhVvAaRr\r\n()~\x80\x00 "


def samples(n, seed=1):
    rng = random.Random(seed)
    for _ in range(n):
        b = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, 18)))
        s = rng.randint(0, len(b))
        yield b, s, rng.randint(s, len(b))


def reference(name):
    return getattr(crc if name.startswith("crc") else p1scan, name)


def picked(name):
    """pick.py's choice of name: its own, or one of p1_scanners()."""
    scanners = dict(zip(("obis_key", "number", "unit_code"), pick.p1_scanners()))
    return scanners[name] if name in scanners else getattr(pick, name)


@pytest.mark.skipif(pick.PURE, reason="HANPORT_PURE=1: the reference is what runs")
def test_cpython_fast_functions_equal_reference():
    assert pick.crc_arc.__module__ == "hanport.loops_cpython"
    assert picked("obis_key").__module__ == "hanport.loops_cpython"
    for b, s, e in samples(100000):
        for name in ("crc_arc", "crc_x25", "text_end", "obis_key", "unit_code"):
            assert picked(name)(b, s, e) == reference(name)(b, s, e), (name, b, s, e)
        o1, o2 = [7, 7], [7, 7]
        r1, r2 = picked("number")(b, s, e, o1), p1scan.number(b, s, e, o2)
        assert r1 == r2 and (r1 is None or o1 == o2), b[s:e]
    big = bytes(random.Random(3).randrange(256) for _ in range(5000))
    # every length around the big-integer CRC's mask sizes, both parities
    for s, e in [(0, 5000), (1, 4999), (3, 4)] + [(7, 7 + n) for n in range(20, 2100, 7)]:
        assert pick.crc_arc(big, s, e) == crc.crc_arc(big, s, e)
        assert pick.crc_x25(big, s, e) == crc.crc_x25(big, s, e)


@pytest.mark.skipif(pick.PURE, reason="HANPORT_PURE=1: the reference is what runs")
def test_viper_functions_equal_reference(tmp_path):
    """Under MicroPython the viper versions are in use, and agree."""
    script = tmp_path / "hotcheck.py"
    script.write_text('''
import random
from hanport import crc, p1scan, pick
assert pick.crc_arc is not crc.crc_arc, "viper versions not in use"
assert pick.text_end is not p1scan.text_end, "viper versions not in use"
picked = dict(zip(("obis_key", "number", "unit_code"), pick.p1_scanners()))
A = b"0123456789-:.*/!abcKkWwhVvAaRr\\r\\n()~\\x80\\x00 "
random.seed(5)
n = 0
for _ in range(20000):
    b = bytes(A[random.getrandbits(6) % len(A)] for _ in range(random.getrandbits(5) % 19))
    s = random.getrandbits(5) % (len(b) + 1)
    e = s + random.getrandbits(5) % (len(b) - s + 1)
    for name in ("crc_arc", "crc_x25", "text_end", "obis_key", "unit_code"):
        a, r = picked.get(name, getattr(pick, name, None))(b, s, e), getattr(crc if name.startswith("crc") else p1scan, name)(b, s, e)
        if a != r:
            print("MISMATCH", name, b, s, e, a, r)
    n += 1
print("checked", n, type(pick.crc_arc).__name__)
''')
    res = mpy.run([str(script)])
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode() + out
    assert "MISMATCH" not in out and "checked 20000" in out


def general(data):
    saved = p1._fast
    p1._fast = None
    try:
        return [r.to_json() for r in hanport.Decoder().feed(data)]
    finally:
        p1._fast = saved


@pytest.mark.skipif(pick.PURE, reason="HANPORT_PURE=1: no bulk path")
def test_bulk_p1_path_equals_line_parser():
    assert p1._fast is not None
    cases = [corpus.data(r) for r in corpus.rows("p1")]
    rng = random.Random(8)
    for i in range(2500):
        t = p1gen.random_telegram(rng)
        cases.append(t.data if i % 3 else p1gen.mutate(rng, t.data))
        if i % 50 == 0:      # the no-CRC form, damaged: the bulk path must not be laxer
            body = t.data[:t.data.index(b"!") + 1] + b"\r\n"
            cases.append(p1gen.mutate(rng, body))
    used = 0
    for data in cases:
        fast = [r.to_json() for r in hanport.Decoder().feed(data)]
        assert fast == general(data), data[:200]
        used += bool(fast)
    assert used > 1500
