"""The fuzzer's seeds and how messages are wrapped.

Seeds: the shared corpus of real frames (../shared/corpus, read in place as
tools/testkit/corpus.py reads it; skipped with a note when missing) and frames
of our own encoders: P1 telegrams (tools/testkit/p1gen.py), the simulated
Aidon/Kaifa/Kamstrup/P1 meters (tools/meter_sim.py), and DLMS messages of
every make wrapped every way (one HDLC frame, HDLC segments, General Block
Transfer, M-Bus segments, AES-GCM ciphered inside those or bare). A binary
seed keeps its DLMS message as plain APDU, so that the mutators can change
the content and wrap it again with every check right."""
from datetime import datetime
from random import Random

from encoders import dlms, hdlc, mbus, meters

from .oracle import NO_KEYS, ber, checked_frames, cipher_parts

ADDRESSES = ((b"\x41", b"\x08\x83"), (b"\x2b", b"\x21"), (b"\x41", b"\x00\x01"),
             (b"\x03", b"\x01"), (b"\x00\x02\x00\x23", b"\x41"), (b"\xce\xff", b"\x03"))
GBT_HEADER = 6              # E0, control, block number 2, acknowledged block 2
MBUS_HEADER = 4 + mbus.SEGMENT_HEADER       # 68 L L 68, then C A CI STSAP DTSAP
MBUS_TRAILER = 2            # CS 16
HDLC_FRAME_DATA = 1900      # APDU bytes per block that fit one HDLC frame


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


def _hdlc_apdu(frames):
    """(APDU, (dst, src) of the last frame, when a usable address) of
    HDLC frames, or None: the information fields joined, the LLC header
    dropped, General Block Transfer blocks unpacked."""
    addr = None
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
    if infos[0][:len(hdlc.LLC)] != hdlc.LLC:
        return None
    infos[0] = infos[0][len(hdlc.LLC):]
    gbt = bytes((dlms.GENERAL_BLOCK_TRANSFER,))
    if infos[0][:1] == gbt and len(infos) > 1 and all(i[:1] == gbt for i in infos):
        blocks = []
        for i in infos:
            length = ber(i, GBT_HEADER)
            if length is None:
                return None
            blocks.append(i[length[1]:length[1] + length[0]])
        return b"".join(blocks), addr
    return b"".join(infos), addr


def unwrap(seed):
    """The DLMS message of a binary seed (decrypted when its keys are
    known), from its checked frames; None if there is none to find."""
    frames = [f for f in seed.frames if f.wire]
    if not frames:
        return None
    kinds = {f.kind for f in frames}
    addr = None
    if kinds == {"hdlc"}:
        found = _hdlc_apdu(frames)
        if found is None:
            return None
        apdu, addr = found
    elif kinds == {"mbus"}:
        apdu = b"".join(f.wire[MBUS_HEADER:-MBUS_TRAILER] for f in frames)
    elif kinds == {"cipher"}:
        apdu = frames[0].wire
    else:
        return None
    cipher = None
    parts = cipher_parts(apdu)
    if apdu[:1] == bytes((dlms.GENERAL_GLO_CIPHERING,)):
        ek = seed.keys[0]
        if parts is None or ek is None:
            return None
        title, sc, fc, ct, tag = parts
        apdu = dlms.decrypt_unchecked(ek, title + fc, ct)
        cipher = (title, int.from_bytes(fc, "big"), sc)
    return Message(apdu, cipher, "lux" if kinds == {"cipher"} else "hdlc", addr or ADDRESSES[0])


def corpus_seeds():
    """The shared corpus, read in place (never copied here). [] and a note
    when it is missing."""
    from testkit import corpus
    if not corpus.available():
        return [], corpus.MISSING
    out = []
    for row in corpus.rows():
        data = corpus.data(row)
        keys = tuple(bytes.fromhex(key) if key else None for key in corpus.keys(row))
        if row["format"] == "dlms-raw":        # no link layer: give it one
            info = data if data[:len(hdlc.LLC)] == hdlc.LLC else hdlc.llc(data)
            data = hdlc.frame(info)
        out.append(Seed(row["file"], data, keys))
    return out, "%d corpus files" % len(out)


def generated_seeds(rng):
    """Our encoders' frames: P1 telegrams, simulated meters, DLMS messages
    of every make and wrap, with three key sets."""
    from testkit import bingen, p1gen
    import meter_sim
    out = []
    for _ in range(120):
        out.append(Seed("p1gen", p1gen.random_telegram(rng).data))
    sim_keys = (bytes(range(16)), bytes(range(16, 32)))
    for make in meter_sim.METERS:
        for keys in (NO_KEYS, sim_keys) if make != "p1" else (NO_KEYS,):
            meter = meter_sim.SimMeter(make, start=datetime(2026, 3, 29, 0, 59, 30), seed=rng.randrange(99),
                                       phases=rng.choice((1, 3)), key=keys[0], auth_key=keys[1])
            for _ in range(16):
                out.append(Seed("sim-" + make, meter.next_frame().data, keys))
    key_sets = [bingen.Keys(rng) for _ in range(3)]
    for _ in range(150):
        keys = rng.choice(key_sets)
        out.append(message_seed(rng, keys))
    return out


def message_seed(rng, keys):
    """A DLMS message of bingen's makes, wrapped at random (bingen's wraps)."""
    from testkit import bingen, p1gen
    ka = (keys.ek, keys.ak)
    wrap = rng.choice(bingen.WRAPS + ("lux",))
    if wrap == "lux":
        telegram = p1gen.random_telegram(rng)
        while b"!\r\n" in telegram.data or b"!\n" in telegram.data:     # Luxembourg telegrams carry a CRC
            telegram = p1gen.random_telegram(rng)
        msg = Message(telegram.data, (keys.title, keys.counter, 0x30), "lux", ADDRESSES[0])
    else:
        make, body, values, meta, when = bingen.random_body(rng)
        header = meters.HEADER[make]
        apdu = meters.notification(make, body, when)
        cipher = None
        if wrap.endswith("_enc"):
            cipher = (keys.title, keys.counter, rng.choice((0x30, 0x20, 0x21)))
            wrap = wrap[:-len("_enc")]
        msg = Message(apdu, cipher, wrap, (header["dst"], header["src"]))
    keys.counter += 1
    return Seed("gen-" + msg.wrap, wrap_message(rng, msg, ka, msg.wrap), ka, msg)


def seed_pool(seed):
    """(seeds, a note on the corpus) for a run with this seed."""
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
    if sc & dlms.AUTHENTICATED and ak is None:
        sc &= ~dlms.AUTHENTICATED
    return dlms.glo_cipher(msg.plain, ek, title, fc, sc, ak if sc & dlms.AUTHENTICATED else None)


def wrap_message(rng, msg, keys, wrap=None, apdu=None):
    """Frames carrying the message: one HDLC frame, HDLC segments, General
    Block Transfer in HDLC frames, M-Bus segments, or bare (ciphered only)."""
    if apdu is None:
        apdu = cipher_apdu(msg, keys)
    if wrap is None:
        wrap = msg.wrap if rng.random() < 0.5 else rng.choice(("hdlc", "segmented", "gbt", "mbus", "lux"))
    if wrap == "lux" and apdu[:1] != bytes((dlms.GENERAL_GLO_CIPHERING,)):
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
        return gbt_frames(blocks, dst, src)
    if wrap == "mbus":
        return b"".join(mbus.segments(apdu, size=rng.randint(20, 245)))
    return apdu      # lux: bare


def gbt_blocks(apdu, n, numbers=None):
    """apdu cut into at most n General Block Transfer blocks (numbered
    1.. unless numbers says otherwise), the last one flagged."""
    n = max(n, -(-len(apdu) // HDLC_FRAME_DATA))        # each block fits an HDLC frame
    step = -(-len(apdu) // n) or 1
    parts = [apdu[k:k + step] for k in range(0, len(apdu), step)] or [b""]
    numbers = numbers or range(1, len(parts) + 1)
    return [dlms.gbt_block(number, part, last=k == len(parts) - 1)
            for k, (number, part) in enumerate(zip(numbers, parts))]


def gbt_frames(blocks, dst, src):
    """Blocks in one HDLC frame each, the LLC header in the first."""
    return b"".join(hdlc.frame(hdlc.llc(bytes(block)) if k == 0 else bytes(block), dst, src)
                    for k, block in enumerate(blocks))
