"""Fuzzing hanport.Decoder.feed: a million mutated meter streams (make fuzz).

    python tools/fuzz.py [--inputs N] [--seed S] [--quiet] [--replay I]
                         [--no-micropython]

Seeds from the shared corpus and our own encoders (tools/fuzzer/seeds.py),
each input one or more of them with one mutated (mutators.py, cases.py),
fed in random chunks; every input must pass every check (runner.py): no
exception, buffers within the cap, no reading the oracle (oracle.py) does
not allow, bounded CPU time, the same result fed whole. Then adversarial
streams must take linear time (adversarial.py), and a sample of the inputs
must give the same on MicroPython (mpcheck.py). Input i is built from its
own random.Random(seed, i), so any input replays alone (--replay I); a
failure exits 1 with the replay command.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (os.path.join(ROOT, "lib"), HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from hanport import decoder as hdec  # noqa: E402
from fuzzer.adversarial import ADVERSARIAL, adversarial_cases, linearity  # noqa: E402
from fuzzer.cases import make_case, peers  # noqa: E402
from fuzzer.mpcheck import mp_compare  # noqa: E402
from fuzzer.oracle import checked_frames  # noqa: E402
from fuzzer.runner import CAP, MP_EVERY, check, limit, run, warm_up  # noqa: E402
from fuzzer.seeds import seed_pool  # noqa: E402


def report(summary):
    """The run in six lines: inputs, readings, counters, slowest, buffers, mutations."""
    rate = summary.inputs / summary.seconds if summary.seconds else 0
    cpu, size, idx, kind = summary.slowest
    lines = [
        "inputs      %d (%.1f MB) in %.0f s: %.0f inputs/s" % (
            summary.inputs, summary.bytes / 1e6, summary.seconds, rate),
        "readings    %d accepted" % summary.readings,
        "counters    " + ", ".join("%s=%d" % (k, summary.counters[k]) for k in hdec.COUNTERS),
        "slowest     %.1f ms of CPU, %d bytes (input #%d, %s; limit %.0f ms)" % (
            1000 * cpu, size, idx, kind, 1000 * limit(size)),
        "buffers     at most %d bytes held, largest buffer %d bytes (CAP %d)" % (
            summary.max_held, summary.max_alloc, CAP),
        "mutations   " + ", ".join("%s=%d" % kv for kv in sorted(summary.kinds.items())),
    ]
    return "\n".join(lines)


def replay(seed, index):
    """Input index of the run with this seed, alone and verbosely -> exit status."""
    seeds, _ = seed_pool(seed)
    by_keys = peers(seeds)
    warm_up(seeds)
    case = make_case(seed, index, seeds, by_keys)
    print("input #%d: %s, %d bytes in %d chunks, keys %s" % (
        index, case.kind, len(case.data), len(case.chunks), [k.hex() if k else None for k in case.keys]))
    print("hex:", case.data.hex())
    res, fail = check(case, chunk_check=True)
    if res:
        for r in res["readings"]:
            print("reading:", r)
        print("stats:", res["stats"], "cpu %.1f ms" % (1000 * res["cpu"]))
    for f in checked_frames(case.data, case.keys):
        print("checked frame: %s %d..%d%s" % (f.kind, f.start, f.end, " (no CRC)" if f.unchecked else ""))
    print("FAIL: " + fail if fail else "ok")
    return 1 if fail else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--replay", type=int, default=None, help="run input I alone, verbosely")
    ap.add_argument("--no-micropython", action="store_true")
    args = ap.parse_args(argv)
    if args.replay is not None:
        return replay(args.seed, args.replay)
    say = (lambda *a, **k: None) if args.quiet else print
    seeds, note = seed_pool(args.seed)
    say("seeds: %d (%s)" % (len(seeds), note))

    def progress(summary, dt):
        say("  %8d inputs  %5.0f/s  readings %d  failures %d" % (
            summary.inputs, summary.inputs / dt, summary.readings, len(summary.failures)), flush=True)

    summary = run(args.inputs, args.seed, seeds, progress=progress,
             mp_every=0 if args.no_micropython else MP_EVERY)
    problems = ["input #%d (%s): %s\n  replay: python tools/fuzz.py --seed %d --replay %d\n  hex: %s" % (
        i, kind, text, args.seed, i, data[:600].hex() + ("..." if len(data) > 600 else ""))
        for i, kind, text, data in summary.failures]
    say("adversarial streams (CPU for 16 KB -> 64 KB):")
    for name, t1, t4, ratio, fail in linearity():
        say("  %-18s %7.1f ms %8.1f ms  x%.1f" % (name, 1000 * t1, 1000 * t4, ratio))
        if fail:
            problems.append("linearity: " + fail)
    if summary.mp_cases and not summary.failures:
        cases = summary.mp_cases + adversarial_cases()
        say("MicroPython: %d sample inputs and the adversarial streams..." % len(summary.mp_cases), flush=True)
        fail = mp_compare(cases)
        if fail:
            problems.append("micropython: " + fail)
        else:
            print("micropython %d inputs (every %dth, and the %d adversarial streams of 16 KB): "
                  "same readings and counters as CPython, no exception" % (
                      len(summary.mp_cases), MP_EVERY, len(ADVERSARIAL)))
    print(report(summary))
    if problems:
        print("\nFUZZ FAILED (%d):" % len(problems), file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print("fuzz: no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
