"""The oracle: which readings an input may give. It frames and checks on
its own, with the encoders' checks (CRC-16/ARC of tools/encoders/p1.py,
CRC-16/X.25 of tools/encoders/hdlc.py, the M-Bus sum of
tools/encoders/mbus.py) and GCM tags through the `cryptography` package,
never with hanport's: it finds every frame of the input whose checks pass,
left to right at any offset, skipping the inside of a good frame as a
decoder must; feeds only those frames, back to back, to a fresh Decoder
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
around it gives (never seen)."""
import re
from collections import Counter

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import hanport
from encoders import dlms, hdlc, mbus, p1

NO_KEYS = (None, None)
HDLC_FORMAT = hdlc.FORMAT_TYPE_3 >> 8      # type 3 (0xA) in the first byte's high nibble
# security control bits the decoder refuses: compression, the broadcast
# key, security suites above 1
SC_REFUSED = 0xCE
P1_CRC_DIGITS = 4
HDLC_SHORTEST = 7       # format 2, addresses 1 + 1, control 1, FCS 2


def _byte_table(bitwise_crc16):
    """What each byte does to the register of a reflected CRC-16, from the
    encoders' bitwise function (a CRC is linear in its input, so a byte's
    share is its CRC xor that of a zero byte): the same CRC, a table
    lookup per byte instead of eight steps."""
    zero = bitwise_crc16(b"\x00")
    return [bitwise_crc16(bytes((byte,))) ^ zero for byte in range(256)]


_ARC, _X25 = _byte_table(p1.crc16_arc), _byte_table(hdlc.crc16_x25)


def _crc(table, crc, data):
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc_arc(data):
    """p1.crc16_arc: init 0, no final xor."""
    return _crc(_ARC, 0, data)


def crc_x25(data):
    """hdlc.crc16_x25: init and final xor 0xFFFF."""
    return _crc(_X25, 0xFFFF, data) ^ 0xFFFF


def x25_holds(data, end):
    """The CRC-16/X.25 of data[:end] is the two bytes after it (least
    significant first, as HDLC sends its HCS and FCS)."""
    return crc_x25(data[:end]) == data[end] | data[end + 1] << 8


def tag_ok(ek, ak, sc, iv, ct, tag):
    """A 12-byte GCM tag over SC || AK and the ciphertext."""
    try:
        dec = Cipher(algorithms.AES(ek), modes.GCM(iv, tag, min_tag_length=dlms.TAG_LENGTH)).decryptor()
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
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 2 or pos + 1 + size > len(data):
        return None
    return int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def cipher_parts(apdu):
    """DB 08 title BER-length SC FC ciphertext [tag] ->
    (title, sc, fc bytes, ciphertext, tag or b"") or None."""
    if len(apdu) < 11 or apdu[0] != dlms.GENERAL_GLO_CIPHERING or apdu[1] != 8:
        return None
    length = ber(apdu, 10)
    if length is None or length[0] < 5 or length[1] + length[0] != len(apdu):
        return None
    pos = length[1]
    sc = apdu[pos]
    body = apdu[pos + 5:]
    if sc & dlms.AUTHENTICATED:
        if len(body) < dlms.TAG_LENGTH:
            return None
        return apdu[2:10], sc, apdu[pos + 1:pos + 5], body[:-dlms.TAG_LENGTH], body[-dlms.TAG_LENGTH:]
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
    text = _P1_TEXT.match(data, p)
    if text is None:
        return None
    e = text.end()
    digits = 0
    while digits < P1_CRC_DIGITS and e + digits < len(data) and data[e + digits] in _HEX:
        digits += 1
    if digits < P1_CRC_DIGITS and (e + digits >= len(data) or data[e + digits] not in (10, 13)):
        return None              # cut short, or a bad character after '!'
    if digits and crc_arc(data[p:e]) != int(data[e:e + digits], 16):
        return None
    return Frame(p, e + digits, "p1", data[p:e + digits] + b"\r\n", digits == 0)


def _hdlc_at(data, p):
    q = p + 1
    if q + 2 > len(data) or data[q] & 0xF0 != HDLC_FORMAT:
        return None
    length = int.from_bytes(data[q:q + 2], "big") & hdlc.MAX_LENGTH
    if length < HDLC_SHORTEST or q + length > len(data):
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
        return Frame(p, q + length, "hdlc", b"") if x25_holds(f, hlen) else None
    if not x25_holds(f, hlen) or not x25_holds(f, length - 2):
        return None
    return Frame(p, q + length, "hdlc", hdlc.FLAG + f)


def _mbus_at(data, p):
    if p + 4 > len(data):
        return None
    n = data[p + 1]
    if data[p + 2] != n or data[p + 3] != mbus.START or n < 3 or p + 6 + n > len(data):
        return None
    if mbus.checksum(data[p + 4:p + 4 + n]) != data[p + 4 + n] or data[p + 5 + n] != mbus.STOP:
        return None
    return Frame(p, p + 6 + n, "mbus", data[p:p + 6 + n])


def _cipher_at(data, p, keys):
    """A bare general-glo-ciphering frame -> [Frame]: the frame itself when
    its GCM tag holds; without the authentication key, the P1 telegrams
    inside it whose CRC holds (the only thing that vouches for them)."""
    ek, ak = keys
    if ek is None or p + 11 > len(data) or data[p + 1] != 8:
        return None
    length = ber(data, p + 10)
    if length is None or length[0] < 5 or length[1] + length[0] > len(data):
        return None
    apdu = data[p:length[1] + length[0]]
    parts = cipher_parts(apdu)
    if parts is None:
        return None
    title, sc, fc, ct, tag = parts
    if sc & SC_REFUSED or not sc & dlms.ENCRYPTED:
        return None
    end = p + len(apdu)
    if sc & dlms.AUTHENTICATED and ak is not None:
        return [Frame(p, end, "cipher", apdu)] if tag_ok(ek, ak, sc, title + fc, ct, tag) else None
    plain = dlms.decrypt_unchecked(ek, title + fc, ct)
    if plain[:1] != b"/":
        return None
    inner = [f for f in checked_frames(plain + b"\r\n") if f.kind == "p1"]
    for f in inner:
        f.start, f.end = p, end
    return inner or None


P1_START, HDLC_FLAG = b"/"[0], hdlc.FLAG[0]
_STARTS = tuple(bytes((first,)) for first in (P1_START, HDLC_FLAG, mbus.START, dlms.GENERAL_GLO_CIPHERING))


def checked_frames(data, keys=NO_KEYS):
    """Every frame in data whose checks pass, left to right; the inside of
    a good frame is not searched (a decoder takes the frame whole)."""
    out = []
    i, n = 0, len(data)
    nxt = [data.find(s) for s in _STARTS]
    while True:
        p = min((j for j in nxt if j >= 0), default=-1)
        if p < 0:
            return out
        first = data[p]
        if first == P1_START:
            f = _p1_at(data, p)
        elif first == HDLC_FLAG:
            f = _hdlc_at(data, p)
        elif first == mbus.START:
            f = _mbus_at(data, p)
        else:
            f = _cipher_at(data, p, keys)
            if f is not None:
                out.extend(f)
                f = f[0]
        if f is not None and first != dlms.GENERAL_GLO_CIPHERING:
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
