# Runs under MicroPython (and CPython): the decoder's heap and speed figures
# for tools/bench.py and host_tests/test_memory.py.
#   mp_measure.py frame FILE N    bytes allocated per message: FILE's first
#                                 message fed N times through one Decoder,
#                                 to_json() of each reading, after a warm-up,
#                                 with the collector off
#   mp_measure.py speed FILE N    microseconds per message: every message of
#                                 FILE through one Decoder (feed + to_json),
#                                 N rounds; the median round
#   mp_measure.py stream FILE N   all of FILE fed N times in 256-byte reads;
#                                 the heap in use (after a collection) at its
#                                 highest over the last 10 of the first N/100
#                                 rounds, and over the last 10 rounds
# FILE: messages, each preceded by its length (2 bytes, big-endian).
# Prints one line "key=value ...".
import gc
import sys
import time

import hanport


def messages(path):
    with open(path, "rb") as f:
        data = f.read()
    out = []
    i = 0
    while i + 2 <= len(data):
        n = (data[i] << 8) | data[i + 1]
        out.append(data[i + 2:i + 2 + n])
        i += 2 + n
    return out


def frame(msgs, n):
    data = msgs[0]
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


def speed(msgs, n):
    dec = hanport.Decoder()
    for data in msgs:                     # warm-up
        for r in dec.feed(data):
            r.to_json()
    rounds = []
    for _ in range(n):
        gc.collect()
        t = time.ticks_us()
        for data in msgs:
            for r in dec.feed(data):
                r.to_json()
        rounds.append(time.ticks_diff(time.ticks_us(), t))
    rounds.sort()
    print("us_per_message=%d messages=%d frames_ok=%d" % (
        rounds[len(rounds) // 2] // len(msgs), len(msgs), dec.frames_ok))


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


def _phase(dec, data, k, marks=10):
    """k rounds; the highest heap after each of the last `marks` rounds
    (bounded caches fill and empty in cycles: compare peaks, not moments)."""
    readings = _rounds(dec, data, k - marks)
    high = 0
    for _ in range(marks):
        readings += _rounds(dec, data, 1)
        high = max(high, _heap())
    return readings, high


def stream(msgs, n):
    data = b"".join(msgs)
    dec = hanport.Decoder()
    first_k = max(10, n // 100)
    # both figures from the same call site: the collector scans the stack
    # conservatively, and stale words there would differ otherwise
    readings = 0
    highs = []
    for k in (first_k, n - first_k):
        got, high = _phase(dec, data, k)
        readings += got
        highs.append(high)
    s = dec.stats()
    print("heap_first=%d heap_end=%d readings=%d %s" % (
        highs[0], highs[1], readings, " ".join("%s=%d" % (k, s[k]) for k in sorted(s))))


def write(path, msgs):
    """For the host side: FILE from a list of byte strings."""
    with open(path, "wb") as f:
        for m in msgs:
            if len(m) > 0xFFFF:
                raise ValueError("a message longer than 65535 bytes")
            f.write(bytes(((len(m) >> 8) & 0xFF, len(m) & 0xFF)) + m)


if __name__ == "__main__":
    {"frame": frame, "speed": speed, "stream": stream}[sys.argv[1]](messages(sys.argv[2]), int(sys.argv[3]))
