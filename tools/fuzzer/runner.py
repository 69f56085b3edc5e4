"""The run: every input through every check, summed up.

Checks per input (any failure exits 1 with a replay command):
  - feed() raises nothing;
  - the decoder's buffers stay within decoder.CAP (4096): the frame buffer,
    the multi-frame reassembly one, the block transfer one, and the same in
    the inner decoder of decrypted P1 text;
  - the oracle (oracle.py) accepts every reading;
  - the CPU time of the input stays under 250 ms + 50 ms per KB. CPU time
    of this process, not wall time: other programs on a shared 2-CPU VM
    only delay us, they do not add to it. The decoder needs well under
    1 ms per KB, so the bound only trips on super-linear work; an input
    over it is timed twice more and fails on the fastest of the three
    (a page fault or a collector pass is not a blow-up);
  - every 8th input: the same readings and counters when fed in one piece
    (the README promises any chunking)."""
import time
import traceback
from collections import Counter

import hanport
from hanport import decoder as hdec

from .cases import Case, make_case, peers
from .oracle import NO_KEYS, allowed_readings, crc_arc
from .seeds import seed_pool

CAP = hdec.CAP
TIME_BASE = 0.25          # s of CPU per input, plus
TIME_PER_KB = 0.05        # s of CPU per KB of input
MP_EVERY = 1000           # every Nth input also runs on MicroPython
CHUNKED_EVERY = 8         # every Nth input is also fed in one piece
MAX_FAILURES = 10         # a run stops at this many


def buffers(dec):
    """(largest buffer allocated, most bytes held) of a decoder and its
    inner decoder; raises AssertionError past CAP."""
    alloc, held = len(dec._buf), dec._n
    assert alloc <= CAP, "frame buffer is %d bytes, more than CAP=%d" % (alloc, CAP)
    assert 0 <= dec._n <= CAP, "frame buffer holds %d bytes > CAP" % dec._n
    if dec._asm is not None:
        assert len(dec._asm) <= CAP, "reassembly buffer is %d bytes" % len(dec._asm)
        assert dec._asm_n <= CAP, "reassembly buffer holds %d bytes" % dec._asm_n
        alloc, held = max(alloc, len(dec._asm)), max(held, dec._asm_n)
    session = dec._dlms
    if session is not None and session._gbt is not None:
        assert len(session._gbt) <= CAP and session._gbt_n <= CAP, "block transfer buffer %d/%d" % (
            session._gbt_n, len(session._gbt))
        alloc, held = max(alloc, len(session._gbt)), max(held, session._gbt_n)
    if dec._inner is not None:
        inner_alloc, inner_held = buffers(dec._inner)
        alloc, held = max(alloc, inner_alloc), max(held, inner_held)
    return alloc, held


def decode(case):
    """Feed the case in its chunks -> (readings JSON list, stats, cpu s,
    buffers (alloc, held))."""
    dec = hanport.Decoder(*case.keys)
    out = []
    alloc = held = 0
    t = time.process_time()
    for chunk in case.chunks:
        out += dec.feed(chunk)
        chunk_alloc, chunk_held = buffers(dec)
        alloc, held = max(alloc, chunk_alloc), max(held, chunk_held)
    cpu = time.process_time() - t
    out = [r.to_json() for r in out]
    return out, dec.stats(), cpu, (alloc, held)


def limit(size):
    """The CPU seconds an input of size bytes may take."""
    return TIME_BASE + TIME_PER_KB * size / 1024


def check(case, chunk_check=False):
    """Run one case through every check -> (result dict, failure text or
    None)."""
    try:
        out, stats, cpu, buf = decode(case)
    except AssertionError as e:
        return None, "buffer: %s" % e
    except Exception as e:                       # noqa: BLE001 - any escape is the bug
        return None, "exception: %s\n%s" % (e, traceback.format_exc())
    res = {"readings": out, "stats": stats, "cpu": cpu, "buf": buf}
    if cpu > limit(len(case.data)):
        best = min(cpu, *(decode(case)[2] for _ in range(2)))
        res["cpu"] = best
        if best > limit(len(case.data)):
            return res, "slow: %.0f ms of CPU for %d bytes (limit %.0f ms)" % (
                1000 * best, len(case.data), 1000 * limit(len(case.data)))
    if out:
        allowed = allowed_readings(case.data, case.keys, case.skip)
        extra = Counter(out) - allowed
        if extra:
            reading = next(iter(extra))
            return res, "oracle: a reading no checked frame gives (%d extra): %s" % (
                sum(extra.values()), reading[:300])
    if chunk_check and len(case.chunks) > 1:
        whole = Case(case.index, case.data, [case.data], case.keys, case.kind, case.skip)
        w_out, w_stats, _, _ = decode(whole)
        if w_out != out or w_stats != stats:
            return res, "chunking: fed whole, the decoder gives %d readings %s, in chunks %d %s" % (
                len(w_out), w_stats, len(out), stats)
    return res, None


class Summary:
    def __init__(self):
        self.inputs = 0
        self.bytes = 0
        self.readings = 0
        self.counters = Counter()
        self.kinds = Counter()
        self.slowest = (0.0, 0, -1, "")      # cpu s, size, index, kind
        self.max_alloc = 0
        self.max_held = 0
        self.failures = []                   # (index, kind, text, data)
        self.mp_cases = []
        self.seconds = 0.0


def warm_up(seeds):
    """First use loads parsers, builds CRC and GCM tables: not the
    decoder's per-input cost, so not timed against the bound."""
    body = b"/ELL5\r\n\r\n0-0:96.13.0(" + b"7" * (CAP - 40) + b")\r\n!"
    for keys, data in [(s.keys, s.data) for s in seeds] + [(NO_KEYS, body + b"%04X\r\n" % crc_arc(body))]:
        try:
            hanport.Decoder(*keys).feed(data)
        except Exception:      # noqa: BLE001 - the inputs will show it
            pass


def run(inputs, seed=1, seeds=None, mp_every=MP_EVERY, progress=None, max_failures=MAX_FAILURES):
    """Fuzz `inputs` inputs -> Summary (stops at max_failures)."""
    if seeds is None:
        seeds, _ = seed_pool(seed)
    by_keys = peers(seeds)
    warm_up(seeds)
    summary = Summary()
    t0 = time.perf_counter()
    last = t0
    for i in range(inputs):
        case = make_case(seed, i, seeds, by_keys)
        res, fail = check(case, chunk_check=i % CHUNKED_EVERY == 0)
        summary.inputs += 1
        summary.bytes += len(case.data)
        summary.kinds[case.kind.split("+")[0]] += 1
        if res is not None:
            summary.readings += len(res["readings"])
            summary.counters.update(res["stats"])
            if res["cpu"] > summary.slowest[0]:
                summary.slowest = (res["cpu"], len(case.data), i, case.kind)
            summary.max_alloc = max(summary.max_alloc, res["buf"][0])
            summary.max_held = max(summary.max_held, res["buf"][1])
        if fail:
            summary.failures.append((i, case.kind, fail, case.data))
            if len(summary.failures) >= max_failures:
                break
        if mp_every and i % mp_every == 0:
            summary.mp_cases.append(case)
        if progress and time.perf_counter() - last > 10:
            last = time.perf_counter()
            progress(summary, last - t0)
    summary.seconds = time.perf_counter() - t0
    return summary
