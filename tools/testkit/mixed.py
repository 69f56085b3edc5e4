"""A mixed set of frames, and what the decoder makes of them: every
implementation pick.py can choose must read them the same (test_pick
compares this process's readings with a HANPORT_PURE=1 one's)."""
import random

import hanport

from . import bingen, corpus, p1gen


def frames():
    """(key, auth key, data, apdu) for every corpus file (when
    ../shared/corpus is there) and 300 generated P1 telegrams (some
    damaged) and 300 binary messages."""
    out = []
    for row in corpus.rows():
        key, auth = corpus.keys(row)
        out.append((key, auth, corpus.data(row), row["format"] == "dlms-raw"))
    rng = random.Random(19)
    for i in range(300):
        t = p1gen.random_telegram(rng)
        out.append((None, None, t.data if i % 3 else p1gen.mutate(rng, t.data), False))
    keys = bingen.Keys(rng)
    for i in range(300):
        m = bingen.random_message(rng, keys)
        out.append((keys.ek.hex(), keys.ak.hex(), m.data, False))
    return out


def readings():
    """What the decoder makes of frames(): per frame, its readings' JSON,
    its counters and its last error."""
    out = []
    for key, auth, data, apdu in frames():
        dec = hanport.Decoder(key, auth)
        got = dec.decode_apdu(data) if apdu else dec.feed(data)
        out.append([[r.to_json() for r in got], dec.stats(), dec.last_error])
    return out
