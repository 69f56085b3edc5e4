"""The decoder under MicroPython's unix port gives byte-identical output to
CPython: every P1 corpus file and a few hundred generated, chunked and
damaged streams, through the same driver script."""
import random
import subprocess
import sys

import corpus
import mpy
import p1gen

DRIVER = str(mpy.ROOT / "host_tests" / "mp_driver.py")
LIB = str(mpy.ROOT / "lib")


def case_file(tmp_path):
    rng = random.Random(11)
    lines = []

    def case(chunks, key="-", auth="-"):
        lines.append("CASE %s %s" % (key, auth))
        lines.extend("CHUNK " + c.hex() for c in chunks if c)

    for row in corpus.rows("p1"):
        data = corpus.data(row)
        case([data])
        case([data[i:i + 7] for i in range(0, len(data), 7)])
    for _ in range(150):
        tels = [p1gen.random_telegram(rng) for _ in range(rng.randint(1, 3))]
        stream = b"".join(p1gen.junk(rng) + t.data for t in tels)
        case(p1gen.chunks(rng, stream))
    for _ in range(150):
        t = p1gen.random_telegram(rng)
        case(p1gen.chunks(rng, p1gen.mutate(rng, t.data) + t.data))
    path = tmp_path / "cases.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_micropython_output_identical(tmp_path):
    cases = case_file(tmp_path)
    cpy = subprocess.run([sys.executable, DRIVER, LIB, str(cases)], capture_output=True, timeout=600)
    assert cpy.returncode == 0, cpy.stderr.decode()
    mp = mpy.run([DRIVER, LIB, str(cases)])
    assert mp.returncode == 0, mp.stderr.decode()
    out_c, out_m = cpy.stdout.decode().splitlines(), mp.stdout.decode().splitlines()
    readings = [line for line in out_c if line.startswith("{")]
    assert len(readings) > 400          # the cases really decode
    assert len(out_m) == len(out_c)
    for a, b in zip(out_c, out_m):
        assert a == b
