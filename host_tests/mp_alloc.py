# Runs under MicroPython: heap figures of the decoder.
#   mp_alloc.py frame FILE N      bytes allocated per message: FILE holds
#                                 one message (P1 telegram or binary frames);
#                                 it is fed N times through one Decoder with
#                                 to_json() of each reading, after a warm-up,
#                                 with the collector off.
#   mp_alloc.py stream FILE N     FILE's bytes fed N times in 256-byte reads;
#                                 prints the heap in use (after a collection)
#                                 after the first N/100 rounds and at the end.
# Prints one line "key=value ...".
import gc
import sys

import hanport


def read(path):
    with open(path, "rb") as f:
        return f.read()


def frame(data, n):
    dec = hanport.Decoder()
    for _ in range(3):                    # loads the protocol stack, sizes buffers
        for r in dec.feed(data):
            r.to_json()
    readings = 0
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(n):
        for r in dec.feed(data):
            r.to_json()
            readings += 1
    b = gc.mem_alloc()
    gc.enable()
    print("bytes_per_message=%d readings=%d frames_ok=%d" % ((b - a) // n, readings, dec.frames_ok))


def _rounds(dec, data, k):
    buf = memoryview(data)
    readings = 0
    for _ in range(k):
        for i in range(0, len(data), 256):
            for r in dec.feed(bytes(buf[i:i + 256])):
                r.to_json()
                readings += 1
    return readings


def _heap():
    gc.collect()
    return gc.mem_alloc()


def stream(data, n):
    dec = hanport.Decoder()
    first_k = max(1, n // 100)
    # both measurements from the same call site: the collector scans the
    # stack conservatively, and stale words there would differ otherwise
    readings = 0
    marks = []
    for k in (first_k, n - first_k):
        readings += _rounds(dec, data, k)
        marks.append(_heap())
    s = dec.stats()
    print("heap_first=%d heap_end=%d readings=%d %s" % (
        marks[0], marks[1], readings, " ".join("%s=%d" % (k, s[k]) for k in sorted(s))))


{"frame": frame, "stream": stream}[sys.argv[1]](read(sys.argv[2]), int(sys.argv[3]))
