"""The soak's meter: its pace, and faults whose outcome is fixed."""
from datetime import datetime

from encoders import stream
from meter_sim import drop_bytes, flip_bit

START = datetime(2026, 1, 15, 0, 0)       # a winter weekday from midnight
PERIOD_S = {"p1": 10.0, "aidon": 2.5, "kaifa": 2.0, "kamstrup": 10.0}   # shortest cadence
RATE = 10                  # default: messages per wall second


# Line noise: no byte that starts a frame ('/', 0x7E, 0x68, 0xDB), ends P1
# text ('!'), or could be an HDLC format byte (0xAx) after a closing flag.
NOISE = bytes(b for b in range(256) if b not in (0x2F, 0x21, 0x7E, 0x68, 0xDB) and not 0xA0 <= b <= 0xAF)

FAULTS = ("bitflip", "dropped", "truncated")


def rejected_as(make, fault):
    """The decoder counter a fault of this kind must land in."""
    if make == "p1":
        return "crc_errors" if fault in ("bitflip", "dropped") else "malformed"
    return "fcs_errors"


def damage(make, fault, data, rng):
    """data with the fault applied. P1: bit flip or 1-8 bytes dropped in the
    body (the CRC no longer fits), or the telegram cut before its '!' (the
    next one's '/' finds it unfinished). Binary (one HDLC frame): the bit
    flip or dropped bytes in the information field (the FCS no longer fits;
    a shortened frame takes the next one's first bytes and fails its FCS),
    or the frame cut after its header, before its FCS."""
    if fault == "bitflip":
        return flip_bit(data, rng)
    if make == "p1":
        if fault == "dropped":
            return drop_bytes(data, rng)
        return data[:rng.randint(1, data.index(b"!"))]
    s, e = stream.checked_span(data, inner=True)        # information field .. FCS
    if fault == "dropped":
        k = rng.randint(1, min(8, e - 2 - s))
        gone = set(rng.sample(range(s, e - 2), k))
        return bytes(b for i, b in enumerate(data) if i not in gone)
    return data[:rng.randint(s + 1, len(data) - 4)]

