"""Fuzzing hanport.Decoder.feed: a million mutated meter streams (make fuzz).

    python tools/fuzz.py [--inputs N] [--seed S] [--quiet] [--replay I]

Seeds: the shared corpus of real frames (../shared/corpus, read in place as
tools/testkit/corpus.py reads it; skipped with a note when missing) and frames
of our own encoders: P1 telegrams (tools/testkit/p1gen.py), the simulated
Aidon/Kaifa/Kamstrup/P1 meters (tools/meter_sim.py), and DLMS messages of
every make wrapped every way (one HDLC frame, HDLC segments, General Block
Transfer, M-Bus segments, AES-GCM ciphered inside those or bare).

Input i is built from its own random.Random(seed, i), so any input replays
alone (--replay I). It is: 0-2 unmutated seed messages sharing the keys,
then one mutated message, sometimes another unmutated one, fed in random
chunks. Mutations:
  bytes     bit flips, truncation, insertion, deletion, duplication and
            splicing of pieces of the same or another seed, HDLC 11-bit
            length / M-Bus L / BER lengths set to extremes (0x7FF, 0xFF,
            84 FF FF FF FF...), with or without the header check redone:
            the frame's own checks are NOT fixed, so it must be rejected.
  fixed     the content mutated and the checks recomputed (CRC, HCS/FCS,
            M-Bus sum, GCM tag), so the inner parsers see it: P1 lines
            garbled, made huge or multiplied; A-XDR lengths and element
            counts at extremes (0, 0x7F, 82 FF FF, 84 FF FF FF FF...),
            values nested 9 to 10,000 deep, counts of 0xFFFF, unknown type
            tags, bytes flipped; DLMS block numbers, block and cipher
            lengths; the message re-wrapped in another link layer.
  badtag    an authenticated ciphered APDU damaged after its tag was made,
            wrapped in frames whose link checks pass.

Checks per input (any failure exits 1 with a replay command):
  - feed() raises nothing;
  - the decoder's buffers stay within decoder.CAP (4096): the frame buffer,
    the multi-frame reassembly one, the block transfer one, and the same in
    the inner decoder of decrypted P1 text;
  - the oracle (below) accepts every reading;
  - the CPU time of the input stays under 250 ms + 50 ms per KB. CPU time
    of this process, not wall time: other programs on a shared 2-CPU VM
    only delay us, they do not add to it. The decoder needs well under
    1 ms per KB, so the bound only trips on super-linear work; an input
    over it is timed twice more and fails on the fastest of the three
    (a page fault or a collector pass is not a blow-up);
  - every 8th input: the same readings and counters when fed in one piece
    (the README promises any chunking).
Plus adversarial streams (64 KB of '/', of 0x7E, of 0x68, a P1 line
without '!', A-XDR counts of 0xFFFF, values nested 10,000 deep, HDLC and
cipher headers that each swallow the next frames...): the time for 4n
bytes must stay under 8 times the time for n (16 for quadratic work).
And every 1000th input, and each adversarial stream, runs through
MicroPython's unix port as well (tools/testkit/mp_driver.py): no exception,
the same readings and counters as CPython.

The oracle. This tool frames and checks on its own (CRC-16/ARC and
CRC-16/X.25 by its own tables, the M-Bus sum, GCM tags through the
`cryptography` package): it finds every frame of the input whose checks
pass, left to right at any offset, skipping the inside of a good frame as
a decoder must; feeds only those frames, back to back, to a fresh Decoder
with the same keys; and the readings of the fuzzed input must be a
sub-multiset of the readings of that clean stream (as to_json() text).
  - A frame whose check fails never reaches the clean stream, so a reading
    made from it is one too many. That holds for a reading equal to a
    seed's too: a damaged copy adds one more than the clean stream has.
  - Frames that legitimately pass are in both streams: the unmutated seeds,
    a mutation that touched only bytes outside checked spans (a trailing
    flag, noise between frames), fixed-up frames, and the damaged frame
    whose check happens to hold again (1 in 65,536 for a CRC; 1 in 256 for
    an M-Bus frame without a GCM tag, which only has an 8-bit sum: the
    meters' weakness, not the decoder's).
  - P1 telegrams without a CRC (accepted by design until the meter has
    sent one with a CRC) are decoded each by a fresh decoder: whether one
    is accepted depends on the telegrams before it, which is policy, not a
    check.
  - A bare ciphered frame (Luxembourg) has no link check: our GCM check of
    its tag vouches for it, or, without the authentication key, only the
    CRC of the P1 telegram inside it (what goes into the clean stream is
    then that telegram).
  - badtag inputs: the damaged message's frames (good link checks, bad
    tag) are left out of the clean stream: with the authentication key
    set, the message must not produce a reading.
The clean stream shares the decoder's code for everything after the
checks (reassembly, parsing, mapping), so the oracle tests the checks,
the framing and the resynchronisation, not the parsing: crashes, time and
memory do that. Limit: the decoder rescans the bytes of a rejected frame
at most three levels deep; a good frame hidden deeper reaches the clean
stream only, which in theory could change what a multi-frame message
around it gives (never seen).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from random import Random

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (os.path.join(ROOT, "lib"), HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

import hanport  # noqa: E402
from hanport import decoder as hdec  # noqa: E402
from encoders import dlms, hdlc, mbus  # noqa: E402
from encoders import meters as enc_meters  # noqa: E402

CAP = hdec.CAP
TIME_BASE = 0.25          # s of CPU per input, plus
TIME_PER_KB = 0.05        # s of CPU per KB of input
LINEAR_RATIO = 8.0        # time(4n) / time(n) must stay under this
MP_EVERY = 1000           # every Nth input also runs on MicroPython
CHUNKED_EVERY = 8         # every Nth input is also fed in one piece

# --- our own checks (independent of hanport's CRC code) --------------------


def _table(poly):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_ARC, _X25 = _table(0xA001), _table(0x8408)


def crc_arc(data):
    crc = 0
    t = _ARC
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


def crc_x25(data):
    crc = 0xFFFF
    t = _X25
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


def _ctr(key, iv, data):
    """GCM's keystream (counter 2 on): decrypt without the tag."""
    dec = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
    return dec.update(data) + dec.finalize()


def tag_ok(ek, ak, sc, iv, ct, tag):
    """A 12-byte GCM tag over SC || AK and the ciphertext."""
    try:
        dec = Cipher(algorithms.AES(ek), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
        dec.authenticate_additional_data(bytes((sc,)) + ak)
        dec.update(ct)
        dec.finalize()
        return True
    except (InvalidTag, ValueError):
        return False


def ber(data, pos):
    """BER length at data[pos] -> (length, next) or None."""
    if pos >= len(data):
        return None
    n = data[pos]
    if n < 0x80:
        return n, pos + 1
    k = n & 0x7F
    if k == 0 or k > 2 or pos + 1 + k > len(data):
        return None
    return int.from_bytes(data[pos + 1:pos + 1 + k], "big"), pos + 1 + k


def cipher_parts(apdu):
    """DB 08 title BER-length SC FC ciphertext [tag] ->
    (title, sc, fc bytes, ciphertext, tag or b"") or None."""
    if len(apdu) < 11 or apdu[0] != 0xDB or apdu[1] != 8:
        return None
    r = ber(apdu, 10)
    if r is None or r[0] < 5 or r[1] + r[0] != len(apdu):
        return None
    pos = r[1]
    sc = apdu[pos]
    body = apdu[pos + 5:]
    if sc & 0x10:
        if len(body) < 12:
            return None
        return apdu[2:10], sc, apdu[pos + 1:pos + 5], body[:-12], body[-12:]
    return apdu[2:10], sc, apdu[pos + 1:pos + 5], body, b""


class Frame:
    """A span of the input whose own checks pass. wire: the bytes to feed
    for it alone; unchecked: a P1 telegram without a CRC."""
    __slots__ = ("start", "end", "kind", "wire", "unchecked")

    def __init__(self, start, end, kind, wire, unchecked=False):
        self.start, self.end, self.kind, self.wire, self.unchecked = start, end, kind, wire, unchecked


# P1 text: what may stand between '/' and '!' (no '/', '!', DEL or
# binary bytes; TAB, CR, LF are the only control characters)
_P1_TEXT = re.compile(rb"/[\t\n\r\x20\x22-\x2e\x30-\x7d]*!")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _p1_at(data, p):
    m = _P1_TEXT.match(data, p)
    if m is None:
        return None
    e = m.end()
    k = 0
    while k < 4 and e + k < len(data) and data[e + k] in _HEX:
        k += 1
    if k < 4 and (e + k >= len(data) or data[e + k] not in (10, 13)):
        return None              # cut short, or a bad character after '!'
    if k and crc_arc(data[p:e]) != int(data[e:e + k], 16):
        return None
    return Frame(p, e + k, "p1", data[p:e + k] + b"\r\n", k == 0)


def _hdlc_at(data, p):
    q = p + 1
    if q + 2 > len(data) or data[q] & 0xF0 != 0xA0:
        return None
    length = ((data[q] & 7) << 8) | data[q + 1]
    if length < 7 or q + length > len(data):
        return None
    f = data[q:q + length]
    a = 2
    for _ in range(2):           # two addresses, 1-4 bytes, last byte odd
        k = a
        while k < length and not f[k] & 1 and k - a < 3:
            k += 1
        if k >= length or not f[k] & 1:
            return None
        a = k + 1
    hlen = a + 1
    if hlen + 2 > length:
        return None
    if length == hlen + 2:       # no information field: nothing to feed
        ok = crc_x25(f[:hlen]) == f[hlen] | f[hlen + 1] << 8
        return Frame(p, q + length, "hdlc", b"") if ok else None
    if crc_x25(f[:hlen]) != f[hlen] | f[hlen + 1] << 8:
        return None
    if crc_x25(f[:-2]) != f[-2] | f[-1] << 8:
        return None
    return Frame(p, q + length, "hdlc", b"\x7e" + f)


def _mbus_at(data, p):
    if p + 4 > len(data):
        return None
    n = data[p + 1]
    if data[p + 2] != n or data[p + 3] != 0x68 or n < 3 or p + 6 + n > len(data):
        return None
    if sum(data[p + 4:p + 4 + n]) & 0xFF != data[p + 4 + n] or data[p + 5 + n] != 0x16:
        return None
    return Frame(p, p + 6 + n, "mbus", data[p:p + 6 + n])


def _cipher_at(data, p, keys):
    """A bare general-glo-ciphering frame -> [Frame]: the frame itself when
    its GCM tag holds; without the authentication key, the P1 telegrams
    inside it whose CRC holds (the only thing that vouches for them)."""
    ek, ak = keys
    if ek is None or p + 11 > len(data) or data[p + 1] != 8:
        return None
    r = ber(data, p + 10)
    if r is None or r[0] < 5 or r[1] + r[0] > len(data):
        return None
    apdu = data[p:r[1] + r[0]]
    parts = cipher_parts(apdu)
    if parts is None:
        return None
    title, sc, fc, ct, tag = parts
    if sc & 0xCE or not sc & 0x20:
        return None
    end = p + len(apdu)
    if sc & 0x10 and ak is not None:
        return [Frame(p, end, "cipher", apdu)] if tag_ok(ek, ak, sc, title + fc, ct, tag) else None
    plain = _ctr(ek, title + fc, ct)
    if plain[:1] != b"/":
        return None
    inner = [f for f in checked_frames(plain + b"\r\n") if f.kind == "p1"]
    for f in inner:
        f.start, f.end = p, end
    return inner or None


_STARTS = (b"/", b"\x7e", b"\x68", b"\xdb")


def checked_frames(data, keys=(None, None)):
    """Every frame in data whose checks pass, left to right; the inside of
    a good frame is not searched (a decoder takes the frame whole)."""
    out = []
    i, n = 0, len(data)
    nxt = [data.find(s) for s in _STARTS]
    while True:
        p = min((j for j in nxt if j >= 0), default=-1)
        if p < 0:
            return out
        c = data[p]
        if c == 0x2F:
            f = _p1_at(data, p)
        elif c == 0x7E:
            f = _hdlc_at(data, p)
        elif c == 0x68:
            f = _mbus_at(data, p)
        else:
            f = _cipher_at(data, p, keys)
            if f is not None:
                out.extend(f)
                f = f[0]
        if f is not None and c != 0xDB:
            out.append(f)
        i = f.end if f is not None else p + 1
        if i >= n:
            return out
        for k, s in enumerate(_STARTS):
            if nxt[k] < i and nxt[k] >= 0:
                nxt[k] = data.find(s, i)


def allowed_readings(data, keys, skip=None):
    """The oracle: readings (to_json -> count) of a fresh decoder fed only
    the frames of data that pass our own checks. skip: (start, end) of a
    message whose frames must not count (bad GCM tag)."""
    frames = checked_frames(data, keys)
    if skip is not None:
        frames = [f for f in frames if f.end <= skip[0] or f.start >= skip[1]]
    out = Counter()
    dec = hanport.Decoder(*keys)
    for r in dec.feed(b"".join(f.wire for f in frames if not f.unchecked)):
        out[r.to_json()] += 1
    for f in frames:
        if f.unchecked:
            for r in hanport.Decoder(*keys).feed(f.wire):
                out[r.to_json()] += 1
    return out


# --- seeds -------------------------------------------------------------------

NO_KEYS = (None, None)
ADDRESSES = ((b"\x41", b"\x08\x83"), (b"\x2b", b"\x21"), (b"\x41", b"\x00\x01"),
             (b"\x03", b"\x01"), (b"\x00\x02\x00\x23", b"\x41"), (b"\xce\xff", b"\x03"))


class Message:
    """A DLMS message as plain APDU, for mutations under valid checks.
    cipher: (title, frame counter, security control) or None."""
    __slots__ = ("plain", "cipher", "wrap", "addr")

    def __init__(self, plain, cipher, wrap, addr):
        self.plain, self.cipher, self.wrap, self.addr = plain, cipher, wrap, addr


class Seed:
    """data: bytes on the wire; keys: (ek, ak); frames: its checked spans;
    text: '/'..'!' of its first P1 telegram; msg: its DLMS message."""
    __slots__ = ("name", "data", "keys", "frames", "text", "msg")

    def __init__(self, name, data, keys=NO_KEYS, msg=None):
        self.name, self.data, self.keys, self.msg = name, bytes(data), keys, msg
        self.frames = checked_frames(self.data, keys)
        self.text = None
        for f in self.frames:
            if f.kind == "p1":
                self.text = f.wire[:f.wire.index(b"!") + 1]
                break
        if self.msg is None and self.frames and self.text is None:
            self.msg = unwrap(self)


def unwrap(seed):
    """The DLMS message of a binary seed (decrypted when its keys are
    known), from its checked frames; None if there is none to find."""
    frames = [f for f in seed.frames if f.wire]
    if not frames:
        return None
    kinds = {f.kind for f in frames}
    addr = ADDRESSES[0]
    if kinds == {"hdlc"}:
        infos = []
        for f in frames:
            w = f.wire[1:]               # format .. FCS
            ends = []
            a = 2
            for _ in range(2):
                while not w[a] & 1:
                    a += 1
                a += 1
                ends.append(a)
            infos.append(w[a + 3:-2])    # after control and HCS
        dst, src = w[2:ends[0]], w[ends[0]:ends[1]]
        if len(dst) in (1, 2, 4) and len(src) in (1, 2, 4):
            addr = (dst, src)
        if infos[0][:3] != hdlc.LLC:
            return None
        infos[0] = infos[0][3:]
        if infos[0][:1] == b"\xe0" and len(infos) > 1 and all(i[:1] == b"\xe0" for i in infos):
            blocks = []
            for i in infos:
                r = ber(i, 6)
                if r is None:
                    return None
                blocks.append(i[r[1]:r[1] + r[0]])
            apdu = b"".join(blocks)
        else:
            apdu = b"".join(infos)
    elif kinds == {"mbus"}:
        apdu = b"".join(f.wire[9:-2] for f in frames)
    elif kinds == {"cipher"}:
        apdu = frames[0].wire
    else:
        return None
    cipher = None
    parts = cipher_parts(apdu)
    if apdu[:1] == b"\xdb":
        ek = seed.keys[0]
        if parts is None or ek is None:
            return None
        title, sc, fc, ct, tag = parts
        apdu = _ctr(ek, title + fc, ct)
        cipher = (title, int.from_bytes(fc, "big"), sc)
    return Message(apdu, cipher, "lux" if kinds == {"cipher"} else "hdlc", addr)


def _keys_of(row):
    k = row["encryption_key"]
    if k.startswith("EK="):
        parts = dict(p.split("=", 1) for p in k.split(";"))
        return bytes.fromhex(parts["EK"]), bytes.fromhex(parts["AK"])
    if k != "-":
        return bytes.fromhex(k), None
    return NO_KEYS


def corpus_seeds():
    """The shared corpus, read in place (never copied here). [] and a note
    when it is missing."""
    from testkit import corpus
    if not corpus.available():
        return [], corpus.MISSING
    out = []
    for row in corpus.rows():
        data = corpus.data(row)
        keys = _keys_of(row)
        if row["format"] == "dlms-raw":        # no link layer: give it one
            info = data if data[:3] == hdlc.LLC else hdlc.llc(data)
            data = hdlc.frame(info)
        out.append(Seed(row["file"], data, keys))
    return out, "%d corpus files" % len(out)


def generated_seeds(rng):
    """Our encoders' frames: P1 telegrams, simulated meters, DLMS messages
    of every make and wrap, with three key sets."""
    from testkit import bingen
    import meter_sim
    from testkit import p1gen
    out = []
    for _ in range(120):
        out.append(Seed("p1gen", p1gen.random_telegram(rng).data))
    sim_keys = (bytes(range(16)), bytes(range(16, 32)))
    for make in meter_sim.METERS:
        for keys in (NO_KEYS, sim_keys) if make != "p1" else (NO_KEYS,):
            m = meter_sim.SimMeter(make, start=datetime(2026, 3, 29, 0, 59, 30), seed=rng.randrange(99),
                                   phases=rng.choice((1, 3)), key=keys[0], auth_key=keys[1])
            for _ in range(16):
                out.append(Seed("sim-" + make, m.next_frame().data, keys))
    key_sets = [bingen.Keys(rng) for _ in range(3)]
    for _ in range(150):
        keys = rng.choice(key_sets)
        out.append(message_seed(rng, keys))
    return out


def message_seed(rng, keys):
    """A DLMS message of bingen's makes, wrapped at random (bingen's wraps)."""
    from testkit import bingen
    from testkit import p1gen
    ka = (keys.ek, keys.ak)
    wrap = rng.choice(bingen.WRAPS + ("lux",))
    if wrap == "lux":
        t = p1gen.random_telegram(rng)
        while b"!\r\n" in t.data or b"!\n" in t.data:
            t = p1gen.random_telegram(rng)
        msg = Message(t.data, (keys.title, keys.counter, 0x30), "lux", ADDRESSES[0])
    else:
        make, body, values, meta, when = bingen.random_body(rng)
        h = enc_meters.HEADER[make]
        apdu = dlms.data_notification(body, h["invoke_id"], enc_meters._clock(when, None, 0), h["dt_form"])
        cipher = None
        if wrap.endswith("_enc"):
            cipher = (keys.title, keys.counter, rng.choice((0x30, 0x20, 0x21)))
            wrap = wrap[:-4]
        msg = Message(apdu, cipher, wrap, (h["dst"], h["src"]))
    keys.counter += 1
    return Seed("gen-" + msg.wrap, wrap_message(rng, msg, ka, msg.wrap), ka, msg)


def seed_pool(seed):
    rng = Random(seed)
    seeds, note = corpus_seeds()
    seeds += generated_seeds(rng)
    return seeds, note


# --- wrapping messages (checks always right) ---------------------------------

def cipher_apdu(msg, keys):
    """The message's APDU as sent: ciphered with its own parameters."""
    if msg.cipher is None:
        return msg.plain
    title, fc, sc = msg.cipher
    ek, ak = keys
    if sc & 0x10 and ak is None:
        sc &= ~0x10
    return dlms.glo_cipher(msg.plain, ek, title, fc, sc, ak if sc & 0x10 else None)


def wrap_message(rng, msg, keys, wrap=None, apdu=None):
    """Frames carrying the message: one HDLC frame, HDLC segments, General
    Block Transfer in HDLC frames, M-Bus segments, or bare (ciphered only)."""
    if apdu is None:
        apdu = cipher_apdu(msg, keys)
    if wrap is None:
        wrap = msg.wrap if rng.random() < 0.5 else rng.choice(("hdlc", "segmented", "gbt", "mbus", "lux"))
    if wrap == "lux" and apdu[:1] != b"\xdb":
        wrap = "hdlc"
    dst, src = msg.addr if rng.random() < 0.8 else rng.choice(ADDRESSES)
    if wrap == "hdlc" and len(apdu) > 2000:
        wrap = "segmented"
    if wrap == "hdlc":
        return hdlc.frame(hdlc.llc(apdu), dst, src)
    if wrap == "segmented":
        return b"".join(hdlc.frames(hdlc.llc(apdu), max_info=rng.randint(16, 600), dst=dst, src=src))
    if wrap == "gbt":
        blocks = gbt_blocks(apdu, rng.randint(2, 5 + len(apdu) // 500))
        return b"".join(hdlc.frame(hdlc.llc(b) if i == 0 else b, dst, src) for i, b in enumerate(blocks))
    if wrap == "mbus":
        return b"".join(mbus.segments(apdu, size=rng.randint(20, 245)))
    return apdu      # lux: bare


# --- mutations ---------------------------------------------------------------

SPECIAL = (b"\x7e", b"\x7e\x7e", b"\x68", b"\xdb\x08", b"/", b"!", b"\r\n", b"\n",
           b"\x7e\xa0", b"\x7e\xa7\xff", b"\x68\xff\xff\x68", b"\x00", b"\xff", b"!0000\r\n",
           b"\xe6\xe7\x00", b"\x0f\x40\x00\x00\x00\x00")
# BER lengths at their extremes, and unusual forms of small ones
LENGTHS = (b"\x00", b"\x01", b"\x7f", b"\x80", b"\x81\x00", b"\x81\xff", b"\x82\xff\xff",
           b"\x82\x00\x02", b"\x83\xff\xff\xff", b"\x84\xff\xff\xff\xff", b"\x84\x00\x00\x00\x01",
           b"\x85\x01\x00\x00\x00\x00", b"\xff", b"\xfe")


def _bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def _hcs_fix(d, p):
    """Recompute the HCS of the HDLC frame whose flag is at p, if its
    header parses (the length field was changed on purpose)."""
    a = p + 3
    for _ in range(2):
        k = 0
        while a < len(d) and not d[a] & 1 and k < 3:
            a += 1
            k += 1
        a += 1
    h = a + 1
    if h + 2 <= len(d):
        c = crc_x25(d[p + 1:h])
        d[h], d[h + 1] = c & 0xFF, c >> 8


def mutate_bytes(rng, seed, seeds):
    """One damage to the bytes as sent; checks are not fixed."""
    d = bytearray(seed.data)
    if not d:
        return b"", "bytes:empty"
    kind = rng.choice(("flip", "flip", "truncate", "insert", "delete", "duplicate", "splice",
                       "length", "length"))
    n = len(d)
    i = rng.randrange(n)
    if kind == "flip":
        for _ in range(rng.choice((1, 1, 2, 3, 8))):
            d[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        d = d[:i] if rng.random() < 0.7 else d[i:]
    elif kind == "insert":
        r = rng.random()
        piece = rng.choice(SPECIAL) if r < 0.5 else _bytes(rng, rng.randint(1, 16))
        d[i:i] = piece
    elif kind == "delete":
        del d[i:i + rng.choice((1, 1, 2, 4, 16, 100))]
    elif kind == "duplicate":
        j = min(n, i + rng.choice((1, 2, 8, 40, 300, n)))
        at = rng.randrange(n + 1)
        d[at:at] = d[i:j]
    elif kind == "splice":
        other = rng.choice(seeds).data
        if other:
            a = rng.randrange(len(other))
            b = min(len(other), a + rng.choice((4, 30, 200, len(other))))
            if rng.random() < 0.5:
                d = d[:i] + other[a:b]
            else:
                d[i:i] = other[a:b]
    else:
        kind = _mutate_length(rng, d, seed)
    return bytes(d), "bytes:" + kind


def _mutate_length(rng, d, seed):
    """A frame's length field at an extreme, its header check optionally
    redone (so the decoder believes the length), its frame check not."""
    spans = [f for f in seed.frames if f.kind != "p1"]
    if not spans:
        del d[rng.randrange(len(d)):]
        return "length-none"
    f = rng.choice(spans)
    p = f.start
    if f.kind == "hdlc":
        length = rng.choice((0x7FF, 0, 7, 8, 9, (f.end - p) - 2, f.end - p, f.end - p + 40,
                             rng.randrange(0x800)))
        d[p + 1] = (d[p + 1] & 0xF8) | (length >> 8 & 7)
        d[p + 2] = length & 0xFF
        if rng.random() < 0.7:
            _hcs_fix(d, p)
        return "hdlc-length"
    if f.kind == "mbus":
        n = rng.choice((0, 1, 3, 0xFF, d[p + 1] - 1, d[p + 1] + 1, rng.randrange(256))) & 0xFF
        d[p + 1] = n
        if rng.random() < 0.7:
            d[p + 2] = n
        return "mbus-length"
    r = ber(d, p + 10)
    end = r[1] if r else p + 11
    d[p + 10:end] = rng.choice(LENGTHS)
    return "cipher-length"


def axdr_spots(apdu):
    """(length positions, value positions) in a data-notification's body,
    by our own walk of the A-XDR (short forms only; stops at anything
    else)."""
    lens, vals = [], []
    if len(apdu) < 6 or apdu[0] != 0x0F:
        return lens, vals
    pos = 5
    if apdu[pos] == 0x0C:
        pos += 13
    elif apdu[pos] == 0x09:
        pos += 14
    else:
        pos += 1
    fixed = {3: 1, 5: 4, 6: 4, 13: 1, 15: 1, 16: 2, 17: 1, 18: 2, 20: 8, 21: 8, 22: 1,
             23: 4, 24: 8, 25: 12, 26: 5, 27: 4, 0: 0}
    while pos < len(apdu) and len(vals) < 400:
        vals.append(pos)
        tag = apdu[pos]
        if tag in (1, 2):
            if pos + 1 >= len(apdu) or apdu[pos + 1] >= 0x80:
                break
            lens.append(pos + 1)
            pos += 2
        elif tag in (9, 10, 12, 4):
            if pos + 1 >= len(apdu) or apdu[pos + 1] >= 0x80:
                break
            lens.append(pos + 1)
            size = apdu[pos + 1]
            pos += 2 + ((size + 7) >> 3 if tag == 4 else size)
        elif tag in fixed:
            pos += 1 + fixed[tag]
        else:
            break
    return lens, vals


def mutate_apdu(rng, plain):
    """Damage a plain APDU where the link checks will not see it."""
    a = bytearray(plain)
    lens, vals = axdr_spots(plain)
    kind = rng.choice(("axdr-length", "axdr-length", "nest", "count-ffff", "tag", "flip",
                       "truncate", "insert", "head"))
    if kind == "axdr-length" and lens:
        p = rng.choice(lens)
        a[p:p + 1] = rng.choice(LENGTHS)
    elif kind == "nest" and vals:
        p = rng.choice(vals)
        depth = rng.choice((9, 9, 50, 300, 1000, 2100, 10000))
        a[p:p] = rng.choice((b"\x02\x01", b"\x01\x01")) * depth
    elif kind == "count-ffff" and vals:
        p = rng.choice(vals)
        a[p:p] = rng.choice((b"\x01\x82\xff\xff", b"\x02\x82\xff\xff", b"\x01\x84\xff\xff\xff\xff",
                             b"\x09\x82\xff\xff", b"\x01\x81\xff", b"\x02\x7f"))
    elif kind == "tag" and vals:
        p = rng.choice(vals)
        a[p] = rng.choice((rng.randrange(256), 0x00, 0x01, 0x02, 0x13, 0x1C, 0xFF, 0x19, 0x04))
    elif kind == "head" and a:
        # the APDU's own header: tag, invoke id, date-time form
        p = rng.randrange(min(len(a), 8))
        a[p] = rng.choice((rng.randrange(256), 0x0F, 0xDB, 0xE0, 0x09, 0x0C, 0x00))
    elif kind == "truncate" and a:
        del a[rng.randrange(len(a)):]
    elif kind == "insert":
        p = rng.randrange(len(a) + 1)
        a[p:p] = _bytes(rng, rng.randint(1, 8))
    else:
        kind = "flip"
        for _ in range(rng.choice((1, 2, 4))):
            if a:
                a[rng.randrange(len(a))] ^= 1 << rng.randrange(8)
    return bytes(a), kind


P1_VALUES = (b"", b"(", b")", b"-", b".", b"*", b"1e5", b"9" * 60, b"-0.0", b"0" * 30 + b"1.1*kWh",
             b"1.2.3*kW", b"12*", b"*kWh", b"230101000000X", b"999999999999S", b"0101010101W",
             b"123456789012345678901234S", b"1.5*W*W", b"7*KWH", b"7*m3", b"7*GJ", b"\t7\r*kW",
             b"00000.1*kvarh", b"-9999999999.999999*kWh")
P1_OBIS = (b"1-0:1.8.0.255", b"255-255:255.255.255", b"1-0:", b":", b"0-0:1.0.0*255", b"99999-1:1.8.0",
           b"1-0:1..8.0", b"8-8:1.8.0", b"1-0:1.8.0", b"0-1:24.2.1", b"0-0:96.1.1", b"1-3:0.2.8")


def mutate_text(rng, text):
    """A P1 telegram ('/' .. '!') damaged inside; the caller redoes its CRC."""
    t = bytearray(text[:-1])
    kind = rng.choice(("value", "value", "obis", "long-line", "many-lines", "ident", "eol",
                       "bytes", "bytes"))
    lines = [m.start() for m in re.finditer(rb"\n", t)]
    at = rng.choice(lines) + 1 if lines else len(t)
    if kind == "value":
        opens = [m.start() for m in re.finditer(rb"\(", t)]
        if opens:
            s = rng.choice(opens) + 1
            e = t.find(b")", s)
            t[s:e if e >= 0 else s] = rng.choice(P1_VALUES)
    elif kind == "obis":
        m = list(re.finditer(rb"\d+-\d+:[\d.*]+", t))
        if m:
            x = rng.choice(m)
            t[x.start():x.end()] = rng.choice(P1_OBIS)
    elif kind == "long-line":
        t[at:at] = b"1-0:1.8.0(" + b"9" * rng.choice((20, 100, 1000, 5000)) + b"*kWh)\r\n"
    elif kind == "many-lines":
        t[at:at] = b"".join(b"0-0:96.13.%d(%s)\r\n" % (k, b"7" * rng.randrange(120))
                            for k in range(rng.choice((17, 40, 200))))
    elif kind == "ident":
        e = t.find(b"\n")
        t[0:e if e >= 0 else 1] = b"/" + bytes(rng.randrange(32, 126) for _ in range(rng.choice((0, 3, 5, 200))))
    elif kind == "eol":
        t = bytearray(t.replace(b"\r\n", rng.choice((b"\n", b"\r", b"\r\r\n", b"\n\r"))))
    else:
        for _ in range(rng.choice((1, 2, 5))):
            if t:
                p = rng.randrange(1, len(t) + 1)
                t[p:p] = bytes([rng.randrange(256)]) if rng.random() < 0.5 else b""
                if rng.random() < 0.5 and p < len(t):
                    t[p] = rng.randrange(32, 126)
    t = t.replace(b"!", b"?")
    t[0:0] = b"" if t[:1] == b"/" else b"/"
    return bytes(t) + b"!", "text:" + kind


def p1_with_crc(rng, text):
    crc = crc_arc(text)
    form = rng.choice((b"%04X", b"%04X", b"%04x", b"%X"))
    return text + form % crc + rng.choice((b"\r\n", b"\r\n", b"\n"))


def mutate_fixed(rng, seed, keys):
    """Damage the content, then make every check right again."""
    if seed.text is not None:
        text, kind = mutate_text(rng, seed.text)
        return p1_with_crc(rng, text), kind
    msg = seed.msg
    if msg is None:
        return None, None
    if msg.wrap == "lux" and msg.cipher and msg.plain[:1] == b"/":
        # Luxembourg: P1 inside the cipher
        text = msg.plain[:msg.plain.index(b"!") + 1] if b"!" in msg.plain else msg.plain
        text, kind = mutate_text(rng, text)
        m2 = Message(p1_with_crc(rng, text), msg.cipher, "lux", msg.addr)
        return wrap_message(rng, m2, keys, "lux"), "lux-" + kind
    r = rng.random()
    if r < 0.12 and msg.cipher:
        # the cipher header's length at an extreme (the tag cannot hold then)
        apdu = bytearray(cipher_apdu(msg, keys))
        x = ber(apdu, 10)
        apdu[10:x[1] if x else 11] = rng.choice(LENGTHS)
        return wrap_message(rng, msg, keys, rng.choice(("hdlc", "mbus", "lux")), bytes(apdu)), "fixed:cipher-length"
    if r < 0.24:
        return _gbt_mutant(rng, msg, keys), "fixed:gbt"
    plain, kind = mutate_apdu(rng, msg.plain)
    m2 = Message(plain, msg.cipher, msg.wrap, msg.addr)
    return wrap_message(rng, m2, keys), "fixed:" + kind


def gbt_blocks(apdu, n, nums=None):
    """apdu cut into at most n General Block Transfer blocks (numbered
    1.. unless nums says otherwise), the last one flagged."""
    n = max(n, -(-len(apdu) // 1900))        # each block fits an HDLC frame
    step = -(-len(apdu) // n) or 1
    parts = [apdu[k:k + step] for k in range(0, len(apdu), step)] or [b""]
    nums = nums or range(1, len(parts) + 1)
    return [dlms.gbt_block(num, part, last=k == len(parts) - 1)
            for k, (num, part) in enumerate(zip(nums, parts))]


def _gbt_mutant(rng, msg, keys):
    """General Block Transfer with odd numbers, flags or block lengths."""
    apdu = cipher_apdu(msg, keys)
    n = max(rng.randint(1, 4), -(-len(apdu) // 1900))
    nums = list(range(1, n + 1))
    how = rng.choice(("numbers", "last", "length", "repeat"))
    if how == "numbers":
        nums[rng.randrange(n)] = rng.choice((0, 2, 0xFFFF, 0x8000, n + 1))
    blocks = [bytearray(b) for b in gbt_blocks(apdu, n, nums)]
    b = rng.choice(blocks)
    if how == "last":
        b[1] ^= 0x80
    elif how == "length":
        x = ber(b, 6)
        b[6:x[1] if x else 7] = rng.choice(LENGTHS)
    elif how == "repeat":
        blocks.insert(rng.randrange(len(blocks) + 1), b)
    dst, src = msg.addr
    return b"".join(hdlc.frame(hdlc.llc(bytes(x)) if k == 0 else bytes(x), dst, src)
                    for k, x in enumerate(blocks))


def mutate_badtag(rng, seed, keys):
    """An authenticated ciphered APDU damaged after its tag was computed,
    in frames whose link checks pass. None when the seed has no such APDU."""
    msg = seed.msg
    ek, ak = keys
    if msg is None or msg.cipher is None or not msg.cipher[2] & 0x10 or ak is None:
        return None
    apdu = bytearray(cipher_apdu(msg, keys))
    x = ber(apdu, 10)
    sc_at = x[1]
    # anything the tag covers: system title, frame counter, ciphertext;
    # or the tag itself (then the content still decrypts to a good reading)
    spots = list(range(2, 10)) + list(range(sc_at + 1, len(apdu) - 12))
    tag = range(len(apdu) - 12, len(apdu))
    for _ in range(rng.choice((1, 1, 2))):
        apdu[rng.choice(tag if rng.random() < 0.4 else spots)] ^= 1 << rng.randrange(8)
    title, sc, fc, ct, tag = cipher_parts(bytes(apdu))
    if tag_ok(ek, ak, sc, title + fc, ct, tag):
        return None            # two flips undid each other
    return wrap_message(rng, msg, keys, None, bytes(apdu))


# --- one input ---------------------------------------------------------------

class Case:
    """One fuzz input: data, how it is cut into feed() calls, the keys,
    what was done to it, and the span of a message that must not decode."""
    __slots__ = ("index", "data", "chunks", "keys", "kind", "skip")


def make_case(seed, index, seeds, by_keys):
    rng = Random(seed * 1000003 + index)
    main = rng.choice(seeds)
    keys = main.keys
    if keys[0] is not None and rng.random() < 0.05:
        keys = rng.choice((NO_KEYS, (keys[0], None), (bytes(16), bytes(16))))
    peers = by_keys[main.keys]
    parts = [rng.choice(peers).data for _ in range(rng.choice((0, 0, 1, 1, 2)))]
    if parts and rng.random() < 0.3:
        parts.insert(rng.randrange(len(parts) + 1), _bytes(rng, rng.randrange(20)))
    r = rng.random()
    skip = None
    mutant = None
    # the meter encrypts with its own keys, whatever the decoder was given
    if r < 0.08 and keys == main.keys:
        mutant = mutate_badtag(rng, main, keys)
        kind = "badtag"
    if mutant is None and r < 0.45:
        mutant, kind = mutate_fixed(rng, main, main.keys)
    if mutant is None:
        mutant, kind = mutate_bytes(rng, main, seeds)
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            tmp = Seed(main.name, mutant, main.keys) if rng.random() < 0.3 else None
            mutant, k2 = mutate_bytes(rng, tmp or _Raw(mutant, main.frames), seeds)
            kind += "+" + k2.split(":")[1]
    start = sum(map(len, parts))
    if kind == "badtag":
        skip = (start, start + len(mutant))
    parts.append(mutant)
    if rng.random() < 0.2:
        parts.append(rng.choice(peers).data)
    data = b"".join(parts)
    c = Case()
    c.index, c.data, c.keys, c.kind, c.skip = index, data, keys, kind, skip
    c.chunks = chunking(rng, data)
    return c


class _Raw:
    """Bytes with a seed's frame list (positions may be stale: the length
    mutator tolerates that)."""
    __slots__ = ("data", "frames")

    def __init__(self, data, frames):
        self.data = data
        self.frames = [f for f in frames if f.end <= len(data)]


def chunking(rng, data):
    how = rng.random()
    n = len(data)
    if how < 0.3:
        return [data]
    if how < 0.6:
        size = rng.choice((1, 2, 3, 7, 64, 255)) if n < 3000 else rng.choice((64, 255, 1024))
        return [data[k:k + size] for k in range(0, n, size)]
    out, k = [], 0
    while k < n:
        step = rng.randint(1, 300)
        out.append(data[k:k + step])
        k += step
    return out


# --- checks ------------------------------------------------------------------

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
    s = dec._dlms
    if s is not None and s._gbt is not None:
        assert len(s._gbt) <= CAP and s._gbt_n <= CAP, "block transfer buffer %d/%d" % (s._gbt_n, len(s._gbt))
        alloc, held = max(alloc, len(s._gbt)), max(held, s._gbt_n)
    if dec._inner is not None:
        a, h = buffers(dec._inner)
        alloc, held = max(alloc, a), max(held, h)
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
        a, h = buffers(dec)
        alloc, held = max(alloc, a), max(held, h)
    cpu = time.process_time() - t
    out = [r.to_json() for r in out]
    return out, dec.stats(), cpu, (alloc, held)


def limit(size):
    return TIME_BASE + TIME_PER_KB * size / 1024


def check(case, chunk_check=False):
    """Run one case through every check -> (result dict, failure text or
    None)."""
    try:
        out, stats, cpu, buf = decode(case)
    except AssertionError as e:
        return None, "buffer: %s" % e
    except Exception as e:                       # noqa: BLE001 - any escape is the bug
        import traceback
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
            r = next(iter(extra))
            return res, "oracle: a reading no checked frame gives (%d extra): %s" % (
                sum(extra.values()), r[:300])
    if chunk_check and len(case.chunks) > 1:
        whole = Case()
        whole.data, whole.keys, whole.chunks = case.data, case.keys, [case.data]
        w_out, w_stats, _, _ = decode(whole)
        if w_out != out or w_stats != stats:
            return res, "chunking: fed whole, the decoder gives %d readings %s, in chunks %d %s" % (
                len(w_out), w_stats, len(out), stats)
    return res, None


# --- adversarial streams -------------------------------------------------------

def _hdlc_payload_frames(apdu, total):
    f = hdlc.frame(hdlc.llc(apdu))
    return f * max(1, total // len(f))


def _deep_message(depth):
    """A data-notification nested depth structures deep, in M-Bus segments."""
    apdu = b"\x0f\x40\x00\x00\x00\x00" + b"\x02\x01" * depth + b"\x11\x00"
    return b"".join(mbus.segments(apdu, 245))


def _slide_headers(n):
    """HDLC headers every 9 bytes, each with a good HCS claiming 2047
    bytes: every one swallows the next 2 KB and fails its FCS."""
    h = bytearray(b"\xa7\xff\x41\x08\x83\x13")
    c = crc_x25(h)
    unit = b"\x7e" + bytes(h) + bytes((c & 0xFF, c >> 8))
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
    t = body + b"0000\r\n"
    return (t * (n // len(t) + 1))[:n]


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
        c = Case()
        c.index, c.kind, c.data, c.skip = -1 - k, "adversarial:" + name, make(n), None
        c.keys = (bytes(16), bytes(16))
        c.chunks = [c.data[i:i + 1024] for i in range(0, n, 1024)]
        out.append(c)
    return out


def _cpu(data, keys, repeat):
    best = None
    for _ in range(repeat):
        dec = hanport.Decoder(*keys)
        t = time.process_time()
        dec.feed(data)
        buffers(dec)
        dt = time.process_time() - t
        best = dt if best is None else min(best, dt)
    return best


def linearity(n=16384, repeat=3, names=None):
    """[(name, cpu n, cpu 4n, ratio, failure or None)]: the decoder must do
    about 4 times the work for 4 times the bytes."""
    keys = (bytes(16), bytes(16))
    out = []
    for name, make in ADVERSARIAL.items():
        if names and name not in names:
            continue
        small, big = make(n), make(4 * n)
        _cpu(small, keys, 1)                       # warm: imports, tables
        t1, t4 = _cpu(small, keys, repeat), _cpu(big, keys, repeat)
        ratio = t4 / max(t1, 1e-4)
        fail = None
        if t4 > limit(len(big)):
            fail = "%s: %.0f ms of CPU for %d bytes (limit %.0f ms)" % (
                name, 1000 * t4, len(big), 1000 * limit(len(big)))
        elif ratio >= LINEAR_RATIO and t4 > 0.005:   # below 5 ms: clock noise
            fail = "%s: time grows %.1f times for 4 times the input (%.1f ms -> %.1f ms)" % (
                name, ratio, 1000 * t1, 1000 * t4)
        out.append((name, t1, t4, ratio, fail))
    return out


# --- MicroPython ------------------------------------------------------------------

def mp_compare(cases, workdir=None, bits=64):
    """Run cases through tools/testkit/mp_driver.py on CPython and on
    MicroPython's unix port (64-bit, or the 32-bit build) -> failure text
    or None."""
    from testkit import mpy
    driver = os.path.join(HERE, "testkit", "mp_driver.py")
    lib = os.path.join(ROOT, "lib")
    lines = []
    for c in cases:
        ek, ak = c.keys
        lines.append("CASE %s %s" % (ek.hex() if ek else "-", ak.hex() if ak else "-"))
        lines.extend("CHUNK " + ch.hex() for ch in c.chunks if ch)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = os.path.join(tmp, "cases.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        cpy = subprocess.run([sys.executable, driver, lib, path], capture_output=True, timeout=3600)
        if cpy.returncode:
            return "CPython driver failed: %s" % cpy.stderr.decode()[-2000:]
        mp = mpy.run([driver, lib, path], timeout=3600, bits=bits)
    a, b = cpy.stdout.decode().splitlines(), mp.stdout.decode().splitlines()
    if mp.returncode:       # the driver prints STATS after each case it finished
        c = cases[min(len(cases) - 1, sum(x.startswith("STATS") for x in b))]
        return "MicroPython raised on input #%d (%s): %s" % (c.index, c.kind, mp.stderr.decode()[-2000:])
    case_no = 0
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            c = cases[case_no]
            return ("MicroPython differs from CPython on input #%d (%s), line %d:\n  CPython:     %s\n"
                    "  MicroPython: %s" % (c.index, c.kind, k, x[:300], y[:300]))
        case_no += x.startswith("STATS")
    if len(a) != len(b):
        return "MicroPython printed %d lines, CPython %d" % (len(b), len(a))
    return None


# --- the run -------------------------------------------------------------------

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


def peers(seeds):
    """{keys: seeds that may share a stream with a seed of those keys}:
    the same keys (one meter), or none (plain P1 and DLMS)."""
    by_keys = {}
    for s in seeds:
        by_keys.setdefault(s.keys, []).append(s)
    for k in by_keys:
        if k != NO_KEYS:
            by_keys[k] = by_keys[k] + by_keys.get(NO_KEYS, [])
    return by_keys


def warm_up(seeds):
    """First use loads parsers, builds CRC and GCM tables: not the
    decoder's per-input cost, so not timed against the bound."""
    body = b"/ELL5\r\n\r\n0-0:96.13.0(" + b"7" * (CAP - 40) + b")\r\n!"
    for keys, data in [(s.keys, s.data) for s in seeds] + [(NO_KEYS, body + b"%04X\r\n" % crc_arc(body))]:
        try:
            hanport.Decoder(*keys).feed(data)
        except Exception:      # noqa: BLE001 - the inputs will show it
            pass


def run(inputs, seed=1, seeds=None, mp_every=MP_EVERY, progress=None, max_failures=10):
    """Fuzz `inputs` inputs -> Summary (stops at max_failures)."""
    if seeds is None:
        seeds, _ = seed_pool(seed)
    by_keys = peers(seeds)
    warm_up(seeds)
    sm = Summary()
    t0 = time.perf_counter()
    last = t0
    for i in range(inputs):
        case = make_case(seed, i, seeds, by_keys)
        res, fail = check(case, chunk_check=i % CHUNKED_EVERY == 0)
        sm.inputs += 1
        sm.bytes += len(case.data)
        sm.kinds[case.kind.split("+")[0]] += 1
        if res is not None:
            sm.readings += len(res["readings"])
            sm.counters.update(res["stats"])
            if res["cpu"] > sm.slowest[0]:
                sm.slowest = (res["cpu"], len(case.data), i, case.kind)
            sm.max_alloc = max(sm.max_alloc, res["buf"][0])
            sm.max_held = max(sm.max_held, res["buf"][1])
        if fail:
            sm.failures.append((i, case.kind, fail, case.data))
            if len(sm.failures) >= max_failures:
                break
        if mp_every and i % mp_every == 0:
            sm.mp_cases.append(case)
        if progress and time.perf_counter() - last > 10:
            last = time.perf_counter()
            progress(sm, last - t0)
    sm.seconds = time.perf_counter() - t0
    return sm


def report(sm, seed):
    rate = sm.inputs / sm.seconds if sm.seconds else 0
    cpu, size, idx, kind = sm.slowest
    lines = [
        "inputs      %d (%.1f MB) in %.0f s: %.0f inputs/s" % (sm.inputs, sm.bytes / 1e6, sm.seconds, rate),
        "readings    %d accepted" % sm.readings,
        "counters    " + ", ".join("%s=%d" % (k, sm.counters[k]) for k in hdec.COUNTERS),
        "slowest     %.1f ms of CPU, %d bytes (input #%d, %s; limit %.0f ms)" % (
            1000 * cpu, size, idx, kind, 1000 * limit(size)),
        "buffers     at most %d bytes held, largest buffer %d bytes (CAP %d)" % (
            sm.max_held, sm.max_alloc, CAP),
        "mutations   " + ", ".join("%s=%d" % kv for kv in sorted(sm.kinds.items())),
    ]
    return "\n".join(lines)


def replay(seed, index):
    seeds, note = seed_pool(seed)
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

    def progress(sm, dt):
        say("  %8d inputs  %5.0f/s  readings %d  failures %d" % (
            sm.inputs, sm.inputs / dt, sm.readings, len(sm.failures)), flush=True)

    sm = run(args.inputs, args.seed, seeds, progress=progress,
             mp_every=0 if args.no_micropython else MP_EVERY)
    problems = ["input #%d (%s): %s\n  replay: python tools/fuzz.py --seed %d --replay %d\n  hex: %s" % (
        i, kind, text, args.seed, i, data[:600].hex() + ("..." if len(data) > 600 else ""))
        for i, kind, text, data in sm.failures]
    say("adversarial streams (CPU for 16 KB -> 64 KB):")
    for name, t1, t4, ratio, fail in linearity():
        say("  %-18s %7.1f ms %8.1f ms  x%.1f" % (name, 1000 * t1, 1000 * t4, ratio))
        if fail:
            problems.append("linearity: " + fail)
    if sm.mp_cases and not sm.failures:
        cases = sm.mp_cases + adversarial_cases()
        say("MicroPython: %d sample inputs and the adversarial streams..." % len(sm.mp_cases), flush=True)
        fail = mp_compare(cases)
        if fail:
            problems.append("micropython: " + fail)
        else:
            print("micropython %d inputs (every %dth, and the %d adversarial streams of 16 KB): "
                  "same readings and counters as CPython, no exception" % (
                      len(sm.mp_cases), MP_EVERY, len(ADVERSARIAL)))
    print(report(sm, args.seed))
    if problems:
        print("\nFUZZ FAILED (%d):" % len(problems), file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print("fuzz: no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
