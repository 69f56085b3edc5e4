"""Capture files and byte streams, shared by tools/decode.py and
tools/meter_sim.py: reading .hex/raw captures, and cutting a capture into
the messages a meter sends one at a time (P1 telegrams, HDLC frames, M-Bus
frames), with the spans of each frame that its check covers (so simulated
line faults land where a decoder must notice them).

No hanport import: like the encoders, this parses the framing on its own.
"""

HDLC_FLAG = 0x7E
MBUS_START = 0x68
_BOM = "\ufeff"


class CaptureError(ValueError):
    """A capture file that cannot be read as its name says (bad hex)."""


def parse_hex(text: str) -> bytes:
    """Hex text -> bytes. Whitespace (line breaks, spaces, tabs) and a UTF-8
    byte order mark carry no meaning; anything else that is not hex is an
    error naming the first offending character."""
    text = text.replace(_BOM, "")
    digits = "".join(text.split())
    try:
        return bytes.fromhex(digits)
    except ValueError:
        for i, ch in enumerate(digits):
            if ch not in "0123456789abcdefABCDEF":
                raise CaptureError("not hex: %r at hex digit %d" % (ch, i)) from None
        raise CaptureError("odd number of hex digits (%d)" % len(digits)) from None


def load(path) -> bytes:
    """A capture's bytes: .hex files are hex text, anything else raw bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    if str(path).lower().endswith(".hex"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CaptureError("hex file is not text") from None
        return parse_hex(text)
    return raw


# --- frames -------------------------------------------------------------------

def _hdlc_length(data: bytes, i: int) -> int:
    """Length of the HDLC frame whose opening flag is at i, flags included;
    0 when data[i:] does not start a complete frame."""
    if i + 3 > len(data) or data[i] != HDLC_FLAG or data[i + 1] & 0xF0 != 0xA0:
        return 0
    n = ((data[i + 1] & 0x07) << 8 | data[i + 2]) + 2
    if n < 9 or i + n > len(data) or data[i + n - 1] != HDLC_FLAG:
        return 0
    return n


def _mbus_length(data: bytes, i: int) -> int:
    """Length of the M-Bus long frame at i (68 L L 68 ... CS 16), 0 if none."""
    if i + 4 > len(data) or data[i] != MBUS_START or data[i + 3] != MBUS_START \
            or data[i + 1] != data[i + 2]:
        return 0
    n = data[i + 1] + 6
    if i + n > len(data) or data[i + n - 1] != 0x16:
        return 0
    return n


def frame_spans(data: bytes):
    """(start, end) of each HDLC and M-Bus frame in data, found by their
    length fields, or None when some byte does not belong to a complete
    frame (a truncated capture, a bare APDU). A flag shared by two frames
    ("7E .. 7E .. 7E") is in both spans."""
    out, i = [], 0
    while i < len(data):
        if data[i] == HDLC_FLAG and i + 1 < len(data) and data[i + 1] == HDLC_FLAG:
            i += 1                       # doubled flag between frames
            continue
        n = _hdlc_length(data, i) or _mbus_length(data, i)
        if not n:
            return None
        out.append((i, i + n))
        i += n
        if data[i - 1] == HDLC_FLAG and i < len(data) and data[i] & 0xF0 == 0xA0:
            i -= 1                       # shared flag: it opens the next frame too
    return out or None


def binary_frames(data: bytes):
    """data cut into its HDLC and M-Bus frames (see frame_spans), or None.
    A shared flag is given to both frames, which a reader takes as the
    doubled flags meters also send."""
    spans = frame_spans(data)
    return None if spans is None else [data[a:b] for a, b in spans]


def _more_follows(frame: bytes) -> bool:
    """True when the frame is not the last of its message: an HDLC segment
    (S bit), a general-block-transfer block that is not the last, or an
    M-Bus DLMS segment without the final bit."""
    if frame[0] == HDLC_FLAG:
        if frame[1] & 0x08:
            return True
        info = hdlc_info_start(frame)
        if info is None:
            return False
        if frame[info:info + 3] == b"\xE6\xE7\x00":
            info += 3                    # only a message's first frame has LLC
        # E0 control ...: bit 7 of the block control marks the last block
        return frame[info] == 0xE0 and not frame[info + 1] & 0x80
    if frame[0] == MBUS_START:
        ci = frame[6]
        return not ci & 0xE0 and not ci & 0x10
    return False


def p1_telegrams(data: bytes) -> list:
    """P1 text cut before every '/' that starts a line; bytes before the
    first telegram stay with it (a capture that starts mid-line)."""
    starts = [i for i in range(1, len(data))
              if data[i] == 0x2F and data[i - 1] in (0x0A, 0x0D)]
    if starts and b"/" not in data[:starts[0]]:
        starts = starts[1:]              # only junk before the first '/'
    cuts = [0] + starts + [len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def messages(data: bytes, text=None) -> list:
    """A capture cut into what a meter sends in one go, each a list of its
    frames: P1 telegrams (text=True), or HDLC/M-Bus messages (a segmented
    message's frames together, as meters send them back to back). Anything
    that does not cut cleanly is one message of one "frame", sent whole."""
    if not data:
        return []
    if text is None:
        text = data.lstrip(b"\r\n\t ")[:1] == b"/"
    if text:
        return [[t] for t in p1_telegrams(data)]
    frames = binary_frames(data)
    if frames is None:
        return [[data]]
    out, cur = [], []
    for f in frames:
        cur.append(f)
        if not _more_follows(f):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


# --- checked spans ----------------------------------------------------------------

def hdlc_info_start(frame: bytes):
    """Index of the information field of an HDLC frame (after the HCS), or
    None for a frame without one or with unreadable addresses."""
    p = 3                                # flag, two format bytes
    for _ in range(2):                   # destination, source address
        k = 0
        while p < len(frame) and not frame[p] & 1 and k < 3:
            p += 1
            k += 1
        if p >= len(frame) or not frame[p] & 1:
            return None
        p += 1
    p += 1 + 2                           # control, HCS
    return p if p < len(frame) - 3 else None


def checked_span(frame: bytes, inner=False):
    """(start, end) of the bytes a frame's check covers, where damage must
    be noticed: HDLC between the flags (inner=True: only the information
    field and FCS, where a flipped bit always fails the FCS rather than
    making the frame unrecognisable), M-Bus from L to the checksum (inner:
    C..checksum), P1 from after '/' to before '!' (the CRC itself stays, so
    a damaged body meets a CRC that no longer fits). Else the whole frame."""
    n = len(frame)
    if n >= 9 and frame[0] == HDLC_FLAG and frame[-1] == HDLC_FLAG:
        info = hdlc_info_start(frame) if inner else None
        return (info if info is not None else 1), n - 1
    if n >= 6 and frame[0] == MBUS_START and frame[-1] == 0x16:
        return (4 if inner else 1), n - 1
    bang = frame.rfind(b"!")
    slash = frame.find(b"/")
    if 0 <= slash < bang:
        return slash + 1, bang
    return 0, n
