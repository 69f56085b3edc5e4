"""The decoder under MicroPython's unix port gives byte-identical output to
CPython: every corpus file (P1, HDLC, M-Bus, raw DLMS, encrypted ones with
their keys) and hundreds of generated, chunked and damaged streams of every
format, through the same driver script. MicroPython decrypts with cryptolib,
CPython with the cryptography package: the same GCM code on both."""
import random
import subprocess
import sys

import pytest

from testkit import corpus
from testkit import mpy
from testkit import bingen
from testkit import p1gen

DRIVER = str(mpy.ROOT / "tools" / "testkit" / "mp_driver.py")
LIB = str(mpy.ROOT / "lib")


def case_file(tmp_path):
    rng = random.Random(11)
    lines = []

    def case(chunks, key="-", auth="-"):
        lines.append("CASE %s %s" % (key, auth))
        lines.extend("CHUNK " + c.hex() for c in chunks if c)

    for row in corpus.rows():
        data = corpus.data(row)
        ek, ak = (k or "-" for k in corpus.keys(row))
        if row["format"] == "dlms-raw":
            lines.append("CASE %s %s voltage=0.01" % (ek, ak))
            lines.append("APDU " + data.hex())
            continue
        case([data], ek, ak)
        case([data[i:i + 7] for i in range(0, len(data), 7)], ek, ak)
    for _ in range(150):
        tels = [p1gen.random_telegram(rng) for _ in range(rng.randint(1, 3))]
        stream = b"".join(p1gen.junk(rng) + t.data for t in tels)
        case(p1gen.chunks(rng, stream))
    for _ in range(150):
        t = p1gen.random_telegram(rng)
        case(p1gen.chunks(rng, p1gen.mutate(rng, t.data) + t.data))
    for _ in range(200):
        keys = bingen.Keys(rng)
        msgs = [bingen.random_message(rng, keys) for _ in range(rng.randint(1, 3))]
        stream = b"".join(bingen.junk(rng) + m.data for m in msgs)
        case(p1gen.chunks(rng, stream), keys.ek.hex(), keys.ak.hex())
        m = bingen.random_message(rng, keys, lux=False)
        case(p1gen.chunks(rng, p1gen.mutate(rng, m.data) + m.data), keys.ek.hex(), keys.ak.hex())
    path = tmp_path / "cases.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("bits", [64, 32])
def test_micropython_output_identical(tmp_path, bits):
    """Byte-identical JSON from CPython and from MicroPython, on the 64-bit
    unix port and on the 32-bit build (the ESP32's small-int range: 11-digit
    Wh registers become long ints there)."""
    cases = case_file(tmp_path)
    cpy = subprocess.run([sys.executable, DRIVER, LIB, str(cases)], capture_output=True, timeout=600)
    assert cpy.returncode == 0, cpy.stderr.decode()
    mp = mpy.run([DRIVER, LIB, str(cases)], bits=bits)
    assert mp.returncode == 0, mp.stderr.decode()
    out_c, out_m = cpy.stdout.decode().splitlines(), mp.stdout.decode().splitlines()
    readings = [line for line in out_c if line.startswith("{")]
    assert len(readings) > 900          # the cases really decode
    assert len(out_m) == len(out_c)
    for a, b in zip(out_c, out_m):
        assert a == b


# Each name ends in its family's unit (a dimensionless field's does not):
# NAMES and FAMILY are two parallel lists in fields.py, and this holds them
# in step.
UNIT_OF_FAMILY = {"W": "w", "VAR": "var", "VA": "va", "V": "v", "A": "a", "KWH": "kwh", "KVARH": "kvarh",
                  "KVAH": "kvah", "HZ": "hz", "M3": "m3", "GJ": "gj"}
FIELDS_SCRIPT = """
from hanport import fields
names = [fields.name(i) for i in range(fields.COUNT)]
print(" ".join(names))
print(all(fields.index(n) == i for i, n in enumerate(names)))
for wrong in ("power", "import_w", "power_import_w ", "", "gas_m"):
    try:
        print("FOUND", repr(wrong), fields.index(wrong))
    except ValueError:
        pass
"""


@pytest.mark.parametrize("bits", [64, 32])
def test_field_names_from_one_bytes_object(tmp_path, bits):
    from hanport import fields
    script = tmp_path / "fields.py"
    script.write_text(FIELDS_SCRIPT)
    res = mpy.run([str(script)], bits=bits)
    out = res.stdout.decode().splitlines()
    assert res.returncode == 0, res.stderr.decode()
    names = out[0].split()
    assert names == fields.NAMES.decode().split() and len(names) == fields.COUNT == len(set(names)) == 50
    assert out[1:] == ["True"]
    families = {getattr(fields, k): unit for k, unit in UNIT_OF_FAMILY.items()}
    for i, name in enumerate(names):
        family = fields.FAMILY[i]
        if family == fields.NONE:
            assert name in ("power_factor", "power_factor_l1", "power_factor_l2", "power_factor_l3", "tariff")
        else:
            assert name.rsplit("_", 1)[1] == families[family], (name, family)
