"""Adversarial streams: 64 KB of '/', of 0x7E, of 0x68, a P1 line without
'!', A-XDR counts of 0xFFFF, values nested 10,000 deep, HDLC and cipher
headers that each swallow the next frames... The time for 4n bytes must
stay under 8 times the time for n (16 for quadratic work)."""
import gc
import time

import hanport
from encoders import hdlc, mbus

from .cases import Case
from .oracle import crc_x25
from .runner import CAP, buffers, limit

LINEAR_RATIO = 8.0        # time(4n) / time(n) must stay under this
CLOCK_NOISE = 0.005       # s: below this, a ratio says nothing
TEST_KEYS = (bytes(16), bytes(16))
CHUNK = 1024              # feed() calls of the adversarial cases


def _hdlc_payload_frames(apdu, total):
    one = hdlc.frame(hdlc.llc(apdu))
    return one * max(1, total // len(one))


def _deep_message(depth):
    """A data-notification nested depth structures deep, in M-Bus segments."""
    apdu = b"\x0f\x40\x00\x00\x00\x00" + b"\x02\x01" * depth + b"\x11\x00"
    return b"".join(mbus.segments(apdu, 245))


def _slide_headers(n):
    """HDLC headers every 9 bytes, each with a good HCS claiming 2047
    bytes: every one swallows the next 2 KB and fails its FCS."""
    header = b"\xa7\xff\x41\x08\x83\x13"
    unit = hdlc.FLAG + header + crc_x25(header).to_bytes(2, "little")
    return (unit * (n // len(unit) + 1))[:n]


def _cipher_headers(n):
    """Bare cipher headers claiming 4080 bytes, one after another."""
    unit = b"\xdb\x08KFM12345\x82\x0f\xf0\x30"
    return (unit * (n // len(unit) + 1))[:n]


def _cipher_titles(n):
    """The same with a new system title in every header (other meters)."""
    out = bytearray()
    k = 0
    while len(out) < n:
        out += b"\xdb\x08KFM" + k.to_bytes(5, "big") + b"\x82\x0f\xf0\x30"
        k += 1
    return bytes(out[:n])


def _cipher_mixed(n):
    """Headers of false starts (bad security byte) and of frames of other
    meters, of every length, interleaved."""
    out = bytearray()
    k = 0
    while len(out) < n:
        size = (k * 997) % 4000 + 5
        sc = 0x30 if k % 3 else 0x00
        out += b"\xdb\x08KFM" + k.to_bytes(5, "big") + b"\x82" + size.to_bytes(2, "big") + bytes((sc,))
        k += 1
    return bytes(out[:n])


def _p1_max(n):
    """P1 telegrams just under CAP with a wrong CRC, back to back."""
    body = b"/ELL5\\253833635_A\r\n\r\n" + b"0-0:96.13.0(" + b"7" * (CAP - 60) + b")\r\n!"
    telegram = body + b"0000\r\n"
    return (telegram * (n // len(telegram) + 1))[:n]


ADVERSARIAL = {
    "slashes": lambda n: b"/" * n,
    "flags": lambda n: b"\x7e" * n,
    "mbus-starts": lambda n: b"\x68" * n,
    "p1-no-bang": lambda n: b"/ELL5\r\n\r\n" + b"1-0:1.8.0(00001.000*kWh)" * (n // 24),
    "p1-lines-no-bang": lambda n: b"/ELL5\r\n\r\n" + b"1-0:1.8.0(1*kWh)\r\n" * (n // 18),
    "p1-cap-bad-crc": _p1_max,
    "axdr-count-ffff": lambda n: _hdlc_payload_frames(
        b"\x0f\x40\x00\x00\x00\x00\x01\x82\xff\xff" + b"\x11\x00" * 100, n),
    "axdr-84ffffffff": lambda n: _hdlc_payload_frames(
        b"\x0f\x40\x00\x00\x00\x00\x01\x84\xff\xff\xff\xff" + b"\x11\x00" * 100, n),
    "nested-1000": lambda n: _hdlc_payload_frames(
        b"\x0f\x40\x00\x00\x00\x00" + b"\x02\x01" * 900 + b"\x11\x00", n),
    "nested-deep": lambda n: _deep_message(n // 2),   # 32,000 deep at 64 KB
    "hdlc-slide": _slide_headers,
    "cipher-headers": _cipher_headers,
    "cipher-titles": _cipher_titles,
    "cipher-mixed": _cipher_mixed,
    "zeros": lambda n: bytes(n),
}


def adversarial_cases(n=16384):
    """The adversarial streams as cases (for the MicroPython comparison)."""
    out = []
    for k, (name, make) in enumerate(ADVERSARIAL.items()):
        data = make(n)
        chunks = [data[i:i + CHUNK] for i in range(0, n, CHUNK)]
        out.append(Case(-1 - k, data, chunks, TEST_KEYS, "adversarial:" + name))
    return out


def _cpu(data, keys, repeat):
    """The least CPU time of repeat feeds of data to a fresh decoder, with
    CPython's cyclic collector kept out of it: a pass of it over a test
    process full of other tests' objects is time the decoder did not
    spend (one loaded CI run measured 3.3 ms for n bytes, 26.4 for 4n)."""
    best = None
    for _ in range(repeat):
        dec = hanport.Decoder(*keys)
        gc.collect()
        gc.disable()
        try:
            t = time.process_time()
            dec.feed(data)
            buffers(dec)
            dt = time.process_time() - t
        finally:
            gc.enable()
        best = dt if best is None else min(best, dt)
    return best


def linearity(n=16384, repeat=3, names=None):
    """[(name, cpu n, cpu 4n, ratio, failure or None)]: the decoder must do
    about 4 times the work for 4 times the bytes."""
    out = []
    for name, make in ADVERSARIAL.items():
        if names and name not in names:
            continue
        small, big = make(n), make(4 * n)
        _cpu(small, TEST_KEYS, 1)                  # warm: imports, tables
        t1, t4 = _cpu(small, TEST_KEYS, repeat), _cpu(big, TEST_KEYS, repeat)
        ratio = t4 / max(t1, 1e-4)
        fail = None
        if t4 > limit(len(big)):
            fail = "%s: %.0f ms of CPU for %d bytes (limit %.0f ms)" % (
                name, 1000 * t4, len(big), 1000 * limit(len(big)))
        elif ratio >= LINEAR_RATIO and t4 > CLOCK_NOISE:
            fail = "%s: time grows %.1f times for 4 times the input (%.1f ms -> %.1f ms)" % (
                name, ratio, 1000 * t1, 1000 * t4)
        out.append((name, t1, t4, ratio, fail))
    return out
