# The decoder's binary framing: HDLC (length field, HCS/FCS, segmentation),
# M-Bus long frames and their DLMS segments, bare general-glo-ciphering
# frames (Luxembourg), and the APDUs they carry handed to dlms.py. Functions
# of a Decoder, loaded on its first binary frame: a P1 meter never loads
# them (heap on a dongle).
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

from .pick import crc_x25

# decoder.py's frame limit, framing states and start bytes. const() is per
# module, so both files name them (no import of decoder.py, which loads this
# module on its first binary frame); test_pick checks the two agree.
_CAP = const(4096)
_IDLE = const(0)
_HDLC = const(3)
_MBUS = const(4)
_CIPHER = const(5)
_MBUS_START = const(0x68)
_DB = const(0xDB)
# faults, by their text's index in why.py
_W_HCS = const(12)
_W_FCS = const(13)
_W_SEGMENTS = const(14)
_W_NO_START = const(15)
_W_MESSAGE_LONG = const(16)
_W_MBUS_SUM = const(17)
_W_MBUS_CI = const(18)
_W_MBUS_SEQ = const(19)
_W_CIPHER_LONG = const(20)
_W_CIPHER_CUT = const(21)
_W_APDU_LONG = const(5)


# --- HDLC -----------------------------------------------------------

def hdlc_step(d):
    """Called whenever _need bytes are in: format, header, whole frame."""
    d._cand = _HDLC
    buf, n = d._buf, d._n
    if n == 2:
        length = ((buf[0] & 0x07) << 8) | buf[1]
        if buf[0] & 0xF0 != 0xA0 or length < 7:
            return d._reject(None, None)
        d._need = min(length, 13)
        d._hlen = 0
        return
    length = ((buf[0] & 0x07) << 8) | buf[1]
    if d._hlen == 0:
        # addresses end with a byte whose low bit is set (1..4 bytes each)
        p = 2
        for _ in range(2):
            k = 0
            while p < n and not buf[p] & 1 and k < 3:
                p += 1
                k += 1
            if p >= n or not buf[p] & 1:
                return d._reject(None, None)
            p += 1
        hlen = p + 1           # + control
        if hlen + 2 > length:
            return d._reject(None, None)
        hcs = buf[hlen] | (buf[hlen + 1] << 8) if hlen + 2 <= n else -1
        if hcs < 0:
            return d._reject(None, None)
        if crc_x25(buf, 0, hlen) != hcs:
            d._asm_drop()     # it may have been the next segment
            return d._reject("fcs_errors", _W_HCS)
        d._hlen = hlen
        if length == hlen + 2:   # no information field: nothing to read
            d._state = _IDLE
            return
        if n < length:
            d._need = length
            return
    fcs = buf[length - 2] | (buf[length - 1] << 8)
    if crc_x25(buf, 0, length - 2) != fcs:
        d._asm_drop()         # a damaged frame breaks its message
        return d._reject("fcs_errors", _W_FCS, True)
    d._state = _IDLE
    if d.on_raw is not None:
        d.raw(b"\x7e", buf, 0, length, b"\x7e")
    s, e = d._hlen + 2, length - 2
    # only a message's first segment starts with the LLC header
    first = e - s >= 3 and buf[s] == 0xE6 and buf[s + 1] in (0xE6, 0xE7) and buf[s + 2] == 0
    going = d._asm_kind == _HDLC
    if first and going:
        d._asm_drop()
        d._count("malformed", _W_SEGMENTS)
        going = False
    if buf[0] & 0x08:            # segmented: more frames follow
        if first or going:
            assemble(d, _HDLC, buf, s, e)
        else:
            d._count("malformed", _W_NO_START)
    elif going:                  # the last segment
        if assemble(d, _HDLC, buf, s, e):
            apdu(d, d._asm, 0, d._asm_n)
        d._asm_drop()
    else:
        apdu(d, buf, s, e)


def assemble(d, kind, buf, s, e):
    """Append buf[s:e] to the message being reassembled from several
    frames (HDLC segments or M-Bus segments)."""
    if d._asm is None:
        d._asm = bytearray(_CAP)
    if d._asm_kind != kind:
        d._asm_kind = kind
        d._asm_n = 0
    k = d._asm_n
    if k + e - s > _CAP:
        d._asm_drop()
        d._count("oversized", _W_MESSAGE_LONG, _CAP)
        return False
    d._asm[k:k + e - s] = buf[s:e]
    d._asm_n = k + e - s
    return True


# --- M-Bus ----------------------------------------------------------

def mbus_step(d):
    """68 L L 68 | C A CI data (L bytes) | checksum 16."""
    d._cand = _MBUS
    buf, n = d._buf, d._n
    length = buf[1]
    if n == 4:
        if buf[2] != length or buf[3] != _MBUS_START or length < 3:
            return d._reject(None, None)
        d._need = length + 6
        return
    if sum(buf[4:4 + length]) & 0xFF != buf[4 + length] or buf[5 + length] != 0x16:
        d._asm_drop()
        d._mbus_broken = True     # its later segments: already counted
        return d._reject("mbus_errors", _W_MBUS_SUM, True)
    d._state = _IDLE
    if d.on_raw is not None:
        d.raw(b"", buf, 0, length + 6, b"")
    ci = buf[6]
    if ci & 0xE0:
        d._count("unknown", _W_MBUS_CI, ci)
        return
    # DLMS segments: CI low nibble = sequence, bit 4 = last; then STSAP, DTSAP
    seq, last = ci & 0x0F, ci & 0x10
    # (the sequence counts modulo 16: long messages wrap around to 0)
    if d._asm_kind == _MBUS and seq == d._asm_seq:
        pass
    elif seq == 0:
        d._asm_drop()
    else:
        d._asm_drop()
        if not d._mbus_broken:
            d._count("malformed", _W_MBUS_SEQ, seq)
        return
    d._mbus_broken = False
    if not assemble(d, _MBUS, buf, 9, 4 + length):
        return
    d._asm_seq = (seq + 1) & 0x0F
    if last:
        n = d._asm_n
        d._asm_drop()
        apdu(d, d._asm, 0, n)


# --- bare general-glo-ciphering (Luxembourg P1) -------------------------

def cipher_step(d):
    """DB 08 title(8) BER-length ...: the length decides the end."""
    d._cand = _CIPHER
    buf, n = d._buf, d._n
    form = buf[10]
    extra = 0 if form < 0x80 else form & 0x7F
    if buf[1] != 8 or extra > 2 or form == 0x80:
        return d._reject(None, None)
    if n < 11 + extra:
        d._need = 11 + extra
        return
    if n == 11 + extra:
        size = buf[10] if not extra else (buf[11] if extra == 1 else (buf[11] << 8) | buf[12])
        pos = 11 + extra
        if size < 5:
            return d._reject(None, None)
        if pos + size > _CAP:
            d._count("oversized", _W_CIPHER_LONG, _CAP)
            return d._reject(None, None)
        d._need = pos + size
        return
    # security control: encrypted, suite 0 or 1, not compressed;
    # anything else is a stray 0xDB in other data
    sc = buf[11 + extra]
    if sc & 0xCE or not sc & 0x20:
        return d._reject(None, None)
    d._state = _IDLE
    # a shortened frame swallowed the next one's start: the same
    # meter's next frame begins with the same 10 bytes (DB 08 title).
    # Looked for before the tag check, and before decryption in place
    # garbles the bytes: headers a few bytes apart would otherwise
    # cost a tag check of up to CAP bytes each.
    k = buf.find(buf[0:10], 1, n)
    if k > 0:
        return d._reject("malformed", _W_CIPHER_CUT,
                            False, k)
    # or only the first bytes of that header, at the very end
    tail = None
    for k in range(max(1, n - 9), n):
        if buf[k] == _DB and buf[k:n] == buf[0:n - k]:
            tail = bytes(buf[k:n])
            break
    raw = bytes(buf[0:n]) if d.on_raw is not None else None    # (decryption is in place)
    if apdu(d, buf, 0, n, True):
        if raw is not None:
            d.on_raw(raw)
    else:
        # a frame starting in the tail reaches past this one's end, so
        # failing tag checks overlap by 9 bytes at most; no other bare
        # frame is looked for inside (one meter per port)
        if tail:
            buf[k:n] = tail
            return d._reject(None, None, False, k)
        d._reject(None, None, True)


# --- DLMS -----------------------------------------------------------

def apdu(d, buf, s, e, bare=False):
    """Run one APDU through dlms.Session, counting what goes wrong.
    True when it was accepted (or is a block waiting for the rest).
    bare: a ciphered frame with no link layer around it."""
    try:
        r = session(d).apdu(buf, s, e, bare)
    except ValueError as x:
        from . import dlms       # (loaded already: a failed frame looks it up)
        if isinstance(x, dlms.KeyRequired):
            d._count("key_required", *x.args)
        elif isinstance(x, dlms.AuthFailed):
            d._count("auth_failures", *x.args)
        elif isinstance(x, dlms.Unknown):
            d._count("unknown", *x.args)
        else:
            d._count("malformed", *(x.args or ("DLMS frame not understood",)))
        return False
    if d._dlms.note:          # a list not recognised: decoded in part
        d._count("unknown", d._dlms.note)
        d._dlms.note = None
    if r is not None:
        d._emit(r)
    return True


def p1_text(d, buf, s, e):
    """Decrypted P1 text (Luxembourg): framed and CRC-checked by an inner
    decoder of its own, since d's buffer holds the frame."""
    if d._inner is None:
        d._inner = type(d)()
    inner = d._inner
    before = inner.stats()
    for r in inner.feed(bytes(buf[s:e]) + b"\r\n"):
        d._emit(r)
    after = inner.stats()
    for c in before:
        if c not in ("frames_ok", "unchecked") and after[c] > before[c]:
            d._count(c, inner._why, inner._why_value)


def decode_apdu(d, data):
    """Decoder.decode_apdu: readings from one bare APDU."""
    out = []
    if len(data) > _CAP:
        d._count("oversized", _W_APDU_LONG, _CAP)
        return out
    d._out = out
    apdu(d, bytearray(data), 0, len(data))
    d._out = None
    return out


def session(d):
    """d's dlms.Session (the DLMS stack), made on first use."""
    if d._dlms is None:
        from . import dlms
        d._dlms = dlms.Session(d.key, d.auth_key, _CAP, lambda buf, s, e: p1_text(d, buf, s, e))
    return d._dlms
