# The binary framings other than HDLC: M-Bus long frames (segments of a
# DLMS message) and bare general-glo-ciphering frames (Luxembourg P1), with
# the P1 text these carry. Functions of a Decoder, as binary.py's, which
# turns away a stray start byte by its first bytes: this module loads for a
# frame whose header checks out, so an HDLC meter's dongle never holds it.
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

# decoder.py's frame limit, framing states and start bytes, as in binary.py
# (test_pick checks they agree)
_CAP = const(4096)
_IDLE = const(0)
_MBUS = const(4)
_DB = const(0xDB)
# security control: encrypted; and what a meter's frame never has
# (compressed, a broadcast key, a suite above 1)
_SC_ENCRYPTED = const(0x20)
_SC_NEVER = const(0xCE)
# faults, by their text's index in why.py
_W_MBUS_SUM = const(17)
_W_MBUS_CI = const(18)
_W_MBUS_SEQ = const(19)
_W_CIPHER_LONG = const(20)
_W_CIPHER_CUT = const(21)


def mbus_frame(d):
    """A whole M-Bus long frame in d's buffer (binary.mbus_step checked
    its header): checksum, CI, the message's segments in order."""
    buf = d._buf
    length = buf[1]
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
    if not d._binary.assemble(d, _MBUS, buf, 9, 4 + length):
        return
    d._asm_seq = (seq + 1) & 0x0F
    if last:
        n = d._asm_n
        d._asm_drop()
        d._binary.apdu(d, d._asm, 0, n)


def cipher_frame(d):
    """DB 08 title(8) BER-length ...: the length decides the end
    (binary.cipher_step checked the title's length and the length's form)."""
    buf, n = d._buf, d._n
    form = buf[10]
    extra = 0 if form < 0x80 else form & 0x7F
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
    if sc & _SC_NEVER or not sc & _SC_ENCRYPTED:
        return d._reject(None, None)
    d._state = _IDLE
    # a shortened frame swallowed the next one's start: the same
    # meter's next frame begins with the same 10 bytes (DB 08 title).
    # Looked for before the tag check, and before decryption in place
    # garbles the bytes: headers a few bytes apart would otherwise
    # cost a tag check of up to CAP bytes each.
    k = buf.find(buf[0:10], 1, n)
    if k > 0:
        return d._reject("malformed", _W_CIPHER_CUT, False, k)
    # or only the first bytes of that header, at the very end
    tail = None
    for k in range(max(1, n - 9), n):
        if buf[k] == _DB and buf[k:n] == buf[0:n - k]:
            tail = bytes(buf[k:n])
            break
    raw = bytes(buf[0:n]) if d.on_raw is not None else None    # (decryption is in place)
    if d._binary.apdu(d, buf, 0, n, True):
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
