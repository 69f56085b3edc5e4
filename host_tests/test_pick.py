"""pick.py is the one place that chooses how the decoder runs, and
HANPORT_PURE=1 forces the plain reference everywhere: the decoder gives
the same readings, counters and errors both ways, on CPython (the corpus
and generated P1 and binary frames) and on MicroPython (viper against the
reference). And lib/hanport's modules use no other module's private names
and set no name in another module (import loops: test_layers.py)."""
import ast
import json
import os
import pathlib
import random
import re
import subprocess
import sys

import pytest

from hanport import axdr, axdr_cpython, cosem, crc, jsonout, jsonout_cpython, p1, p1_fast, p1scan, pick
from testkit import corpus, mpy, p1gen
from testkit.mixed import frames, readings

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "hanport"
# the decoder's tests, run again under HANPORT_PURE=1 by
# test_pure_run_of_the_decoder_tests (those of the fast paths skip there)
DECODER_TESTS = ("test_p1_corpus.py", "test_p1_differential.py", "test_p1_property.py",
                 "test_binary_corpus.py", "test_binary_differential.py", "test_binary_property.py",
                 "test_hot_paths.py", "test_plausible.py", "test_dlms_units.py", "test_encoders.py",
                 "test_public_captures.py", "test_decode_cli.py", "test_text_cache.py",
                 "test_micropython_decoder.py")



def test_cpython_picks_the_cpython_variants():
    if pick.PURE:
        assert pick.crc_arc is crc.crc_arc and pick.p1_scanners()[1] is p1scan.number and p1._fast is None
        assert cosem._Tokens is axdr.Tokens and type(jsonout.shared()) is jsonout.JsonOut
        return
    assert not pick.MICROPYTHON and pick.CPYTHON
    assert pick.crc_x25.__module__ == pick.text_end.__module__ == "hanport.loops_cpython"
    assert p1._fast is p1_fast and cosem._Tokens is axdr_cpython.Tokens
    assert type(jsonout.shared()) is jsonout_cpython.JsonParts


def test_pure_gives_the_same_readings():
    """The reference paths (a second CPython with HANPORT_PURE=1) and the
    picked ones read every frame the same."""
    code = ("import json, sys; sys.path[:0] = %r\n"
            "from hanport import crc, pick\n"
            "assert pick.PURE and pick.crc_arc is crc.crc_arc\n"
            "from testkit import mixed; print(json.dumps(mixed.readings()))"
            % [str(ROOT / "lib"), str(ROOT / "tools")])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600,
                         env=dict(os.environ, HANPORT_PURE="1"))
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    pure = json.loads(res.stdout)
    here = readings()
    assert len(here) == len(pure) >= 600
    assert sum(len(got) for got, _, _ in here) > 400        # frames that gave readings
    for n, (a, b) in enumerate(zip(here, pure)):
        assert a == b, (n, frames()[n][2][:120])


def test_pure_run_of_the_decoder_tests():
    """The decoder's tests pass under HANPORT_PURE=1 too."""
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + list(DECODER_TESTS),
                         cwd=str(ROOT / "host_tests"), capture_output=True, timeout=1200,
                         env=dict(os.environ, HANPORT_PURE="1"))
    out = res.stdout.decode()
    assert res.returncode == 0, out[-3000:] + res.stderr.decode()[-2000:]
    assert "HANPORT_PURE=1: no bulk path" in out, out[-500:]    # (it ran pure: that test skipped)


MP_SCRIPT = """
import sys
from hanport import crc, pick
import hanport
print("viper" if pick.crc_arc is not crc.crc_arc else "reference")
with open(sys.argv[1], "rb") as f:
    data = f.read()
i = 0
while i + 2 <= len(data):
    n = (data[i] << 8) | data[i + 1]
    dec = hanport.Decoder()
    for r in dec.feed(data[i + 2:i + 2 + n]):
        print(r.to_json())
    print(sorted(dec.stats().items()))
    i += 2 + n
"""


def test_micropython_pure_gives_the_same_readings(tmp_path):
    """The unix port reads os.getenv: viper by default, the reference with
    HANPORT_PURE=1, and the same readings from both."""
    rng = random.Random(7)
    msgs = [p1gen.random_telegram(rng).data for _ in range(60)]
    msgs += [corpus.data(row) for row in corpus.rows() if row["encryption_key"] == "-"
             and row["format"] != "dlms-raw"]
    blob = bytearray()
    for m in msgs:
        blob += len(m).to_bytes(2, "big") + m
    (tmp_path / "msgs.bin").write_bytes(blob)
    (tmp_path / "read.py").write_text(MP_SCRIPT)
    outs = {}
    for pure in ("0", "1"):
        env = dict(os.environ, HANPORT_PURE=pure, MICROPYPATH=".frozen:" + str(ROOT / "lib"))
        res = subprocess.run([mpy.micropython(), "read.py", "msgs.bin"], cwd=str(tmp_path),
                             capture_output=True, timeout=600, env=env)
        assert res.returncode == 0, res.stderr.decode()
        outs[pure] = res.stdout.decode().splitlines()
    assert outs["0"][0] == "viper" and outs["1"][0] == "reference"
    assert outs["0"][1:] == outs["1"][1:]
    assert sum(line.startswith("{") for line in outs["0"]) >= 60


# --- lib/hanport's modules (import loops: test_layers.py) ---------------------

def consts(module):
    """{name: value} of a module's NAME = const(value) lines."""
    out = {}
    for node in ast.parse((LIB / (module + ".py")).read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", None) == "const":
            out[node.targets[0].id] = ast.literal_eval(node.value.args[0])
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            out[node.targets[0].id] = node.value.value
    return out


@pytest.mark.parametrize("module,names", [
    ("binary", ["_CAP", "_CIPHER", "_HDLC", "_IDLE", "_MBUS", "_MBUS_START"]),
    ("otherframes", ["_CAP", "_DB", "_IDLE", "_MBUS"])])
def test_binary_framing_and_decoder_agree_on_framing_numbers(module, names):
    """binary.py and otherframes.py name decoder.py's framing states, frame
    limit and start bytes themselves (const() is per module, and importing
    decoder.py from them would be a loop): the same numbers."""
    ours, theirs = consts(module), consts("decoder")
    shared = [name for name in ours if name.startswith("_") and name[1:] in theirs]
    assert sorted(shared) == names
    assert {name: ours[name] for name in shared} == {name: theirs[name[1:]] for name in shared}


def test_no_private_names_across_modules():
    """No `from .x import _name`, no `x._name` of a hanport module, no
    `x.name = ...` into one."""
    found = []
    for path in sorted(LIB.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                for alias in node.names:
                    if node.module and alias.name.startswith("_"):
                        found.append("%s imports %s.%s" % (path.stem, node.module, alias.name))
                    if not node.module:
                        modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                if node.attr.startswith("_") and not node.attr.startswith("__"):
                    found.append("%s reads %s.%s" % (path.stem, node.value.id, node.attr))
                if isinstance(node.ctx, ast.Store):
                    found.append("%s sets %s.%s" % (path.stem, node.value.id, node.attr))
    assert found == []


def test_faults_name_their_texts():
    """A module names a fault by its text's index in why.py (its _W_...
    consts, each listed in why.py beside its text): every index agrees,
    every text is named by some module, and texts are made as listed."""
    from hanport import why
    listed = {}                        # name -> index, from why.py's comments
    for index, name in re.findall(r'^ +".*", +# (\d+) (_W_\w+)$', (LIB / "why.py").read_text(), re.M):
        listed[name] = int(index)
    assert sorted(listed.values()) == list(range(len(listed)))
    named = {}
    for path in sorted(LIB.glob("*.py")):
        for name, value in consts(path.stem).items():
            if name.startswith("_W_"):
                assert listed.get(name) == value, (path.stem, name, value)
                named[name] = value
    assert named == listed
    assert why.text(listed["_W_P1_CRC"]) == "P1 CRC mismatch"
    assert why.text(listed["_W_MBUS_CI"], 0x72) == "M-Bus frame with CI 0x72 is not DLMS"
