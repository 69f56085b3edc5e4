"""fmt.TextCache (the meter id, model and list name kept as one str while
they repeat) finds an entry by CRC-16 and length, and must take it only
when the bytes are the same: two meter ids with the same CRC-16/ARC and
length give two strings, on CPython and on MicroPython."""
import subprocess

from hanport.crc import crc_arc
from hanport.fmt import TextCache, ascii_text
from testkit.mpy import ROOT, micropython


def collision():
    """Two different meter ids of one length with the same CRC-16/ARC."""
    seen = {}
    i = 0
    while True:
        b = b"ELL5\\%012d" % i
        c = crc_arc(b, 0, len(b))
        if c in seen:
            return seen[c], b
        seen[c] = b
        i += 1


def make(buf, s, e):
    return ascii_text(buf[s:e])


def test_a_crc_collision_gives_two_strings():
    a, b = collision()
    assert a != b and len(a) == len(b) and crc_arc(a, 0, len(a)) == crc_arc(b, 0, len(b))
    for crc in (crc_arc, None):
        cache = TextCache(crc)
        frame_a, frame_b = b"xx" + a + b"yy", b"zzz" + b + b"w"
        ta = cache.get(frame_a, 2, 2 + len(a), make)
        tb = cache.get(frame_b, 3, 3 + len(b), make)
        assert (ta, tb) == (a.decode(), b.decode())
        # and the same bytes again: the same object, not a new one
        assert cache.get(frame_b, 3, 3 + len(b), make) is tb
        assert cache.get(bytearray(frame_b), 3, 3 + len(b), make) == b.decode()


def test_a_crc_collision_on_micropython():
    a, b = collision()
    code = """
from hanport.pick import crc_arc
from hanport.fmt import TextCache, ascii_text
make = lambda buf, s, e: ascii_text(buf[s:e])
c = TextCache(crc_arc)
a, b = %r, %r
ta = c.get(bytearray(a), 0, len(a), make)
tb = c.get(bytearray(b), 0, len(b), make)
print(ta, tb, c.get(bytearray(b), 0, len(b), make) is tb, c.get(a, 0, len(a), make))
""" % (a, b)
    env = {"MICROPYPATH": ".frozen:%s" % (ROOT / "lib")}
    out = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [a.decode(), b.decode(), "True", a.decode()]
