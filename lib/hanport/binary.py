# The decoder's binary framing: HDLC (length field, HCS/FCS, segmentation),
# the first bytes of M-Bus long frames and of bare general-glo-ciphering
# frames (Luxembourg), whose rest is otherframes.py's, and the APDUs they
# all carry handed to dlms.py. Functions of a Decoder, loaded on its first
# binary frame: a P1 meter never loads them (heap on a dongle).
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
# faults, by their text's index in why.py
_W_HCS = const(12)
_W_FCS = const(13)
_W_SEGMENTS = const(14)
_W_NO_START = const(15)
_W_MESSAGE_LONG = const(16)
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


# --- M-Bus and bare ciphered frames: otherframes.py --------------------

def mbus_step(d):
    """68 L L 68 | C A CI data (L bytes) | checksum 16. A stray 0x68 is
    turned away by its first four bytes here: otherframes.py loads only
    for a frame whose header checks out."""
    d._cand = _MBUS
    buf = d._buf
    if d._n == 4:
        length = buf[1]
        if buf[2] != length or buf[3] != _MBUS_START or length < 3:
            return d._reject(None, None)
        d._need = length + 6
        return
    from . import otherframes
    otherframes.mbus_frame(d)


def cipher_step(d):
    """DB 08 title(8) BER-length ... (Luxembourg): a stray 0xDB is turned
    away by its title length and length form here, as in mbus_step."""
    d._cand = _CIPHER
    buf = d._buf
    if buf[1] != 8 or buf[10] == 0x80 or buf[10] > 0x82:
        return d._reject(None, None)
    from . import otherframes
    otherframes.cipher_frame(d)


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
    """Decrypted P1 text (Luxembourg): otherframes.py frames it."""
    from . import otherframes
    otherframes.p1_text(d, buf, s, e)


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
