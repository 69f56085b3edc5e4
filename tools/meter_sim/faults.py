"""Seeded line faults: a bit flipped or bytes deleted where a frame's check
must catch it, and garbage between frames."""
import random

from encoders import stream


class Faults:
    """Seeded line faults: a random generator of its own, so faults never
    change the household's values."""

    def __init__(self, seed=0, corrupt=0.0, drop=0.0, garbage=0.0):
        self.rng = random.Random("faults-%s" % seed)
        self.corrupt_p, self.drop_p, self.garbage_p = corrupt, drop, garbage

    def garbage(self) -> bytes:
        if self.garbage_p and self.rng.random() < self.garbage_p:
            return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(5, 100)))
        return b""

    def apply(self, data: bytes):
        """(bytes to send, fault name or None). A frame gets at most one
        fault: corruption is decided first, then dropping."""
        if self.corrupt_p and self.rng.random() < self.corrupt_p:
            return flip_bit(data, self.rng), "corrupt"
        if self.drop_p and self.rng.random() < self.drop_p:
            return drop_bytes(data, self.rng), "drop"
        return data, None


def _pick_frame(data: bytes, rng):
    """(offset, frame bytes) of one frame of a message, chosen at random."""
    spans = stream.frame_spans(data) or [(0, len(data))]
    a, b = rng.choice(spans)
    return a, data[a:b]


def _is_text(frame: bytes) -> bool:
    return frame[:1] not in (b"\x7e", b"\x68") and b"/" in frame


def flip_bit(data: bytes, rng) -> bytes:
    """One bit flipped where the frame's check must catch it: an HDLC
    frame's information field or FCS, M-Bus C..checksum, a P1 body. In P1
    the flipped byte stays printable text other than '/' and '!' (no CR or
    LF touched), as line noise mostly leaves it, so the telegram reaches
    its CRC and fails there instead of being cut short."""
    off, frame = _pick_frame(data, rng)
    s, e = stream.checked_span(frame, inner=True)
    text = _is_text(frame)
    out = bytearray(data)
    for _ in range(1000):
        pos = rng.randrange(s, e)
        new = frame[pos] ^ (1 << rng.randrange(8))
        if text and (frame[pos] in (10, 13) or not 32 <= new <= 125 or new in (0x21, 0x2F)):
            continue
        out[off + pos] = new
        return bytes(out)
    out[off + s] ^= 0x01                     # (a body of CR/LF only: never seen)
    return bytes(out)


def drop_bytes(data: bytes, rng) -> bytes:
    """1-8 bytes deleted at random places inside one frame's checked span
    (between the HDLC flags, after a P1 telegram's '/' and before its '!'):
    deleting only a flag or the CRLF after a CRC would hurt nothing."""
    off, frame = _pick_frame(data, rng)
    s, e = stream.checked_span(frame)
    k = min(rng.randint(1, 8), e - s)
    gone = {off + p for p in rng.sample(range(s, e), k)}
    return bytes(b for i, b in enumerate(data) if i not in gone)
