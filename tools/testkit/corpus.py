"""The shared corpus of real meter frames (../shared/corpus), read in place.

Never copied into this repository; where it is missing, corpus tests skip
with a visible reason."""
import os
import pathlib
from decimal import Decimal

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = pathlib.Path(os.environ.get("HANPORT_CORPUS", ROOT.parent / "shared" / "corpus"))
MISSING = "shared corpus not found at %s: corpus tests skipped" % CORPUS


def available():
    return (CORPUS / "MANIFEST.tsv").is_file()


def rows(fmt=None):
    if not available():
        return []
    lines = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    out = [dict(zip(head, line.split("\t"))) for line in lines[1:] if line.strip()]
    return [r for r in out if fmt is None or r["format"] == fmt]


def params(fmt=None, broken=None):
    """pytest parameters, one per corpus file (a skip when there is none)."""
    sel = [r for r in rows(fmt) if broken is None or ("_broken_" in r["file"]) == broken]
    if not available():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-corpus")]
    return [pytest.param(r, id=r["file"]) for r in sel]


def keys(row):
    """(key, auth key) as hex, each None when absent, from the manifest's
    encryption_key column ("-", a key, or "EK=...;AK=...")."""
    k = row["encryption_key"]
    if k == "-":
        return None, None
    if k.startswith("EK="):
        parts = dict(p.split("=", 1) for p in k.split(";"))
        return parts["EK"], parts.get("AK")
    return k, None


def data(row):
    raw = (CORPUS / row["file"]).read_bytes()
    if row["file"].endswith(".hex"):
        return bytes.fromhex(raw.decode("ascii").replace("\ufeff", ""))
    return raw


def expected(row):
    """The manifest's expected_values as {key: text}, prefix removed."""
    text = row["expected_values"]
    for prefix in ("text:", "src:", "derived:", "src(log plaintext):"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    out = {}
    for item in text.split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def number_unit(text):
    """"00031157.405_kWh" -> (Decimal("31157.405"), "kWh")."""
    if "_" in text:
        num, unit = text.rsplit("_", 1)
    else:
        num, unit = text, ""
    return Decimal(num), unit
