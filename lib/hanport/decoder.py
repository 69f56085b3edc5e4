# Bytes in, readings out. The Decoder frames a byte stream of any chunking
# into P1 telegrams, HDLC frames, M-Bus frames and bare ciphered frames,
# checks each (CRC, HCS/FCS, checksum, GCM tag) and hands the contents on:
# P1 text to p1.py, DLMS APDUs to dlms.py.
from . import fields
from .hot import crc_arc, crc_x25, text_end

# Largest telegram or frame held, in bytes: a longer telegram is dropped and
# counted as oversized. The frame buffer starts at START and doubles when a
# frame needs it, up to CAP, and never shrinks: it settles at about the
# meter's longest frame (Swedish P1 telegrams are ~700 bytes, Dutch DSMR 5
# ones up to ~2.5 KB, HDLC frames at most 2047 bytes by their length field),
# and junk never grows it past CAP. The DLMS reassembly buffer is allocated
# on the first multi-frame message.
CAP = 4096
START = 1024

_IDLE = 0
_P1 = 1        # inside a P1 telegram, before '!'
_P1_CRC = 2    # after '!', reading up to four hex digits
_HDLC = 3      # after a 0x7E flag: format, addresses, HCS, info, FCS
_MBUS = 4      # after 0x68: L L 68 C A CI data CS 16
_CIPHER = 5    # a bare general-glo-ciphering frame (Luxembourg P1)

_SLASH, _BANG, _CR, _LF = 47, 33, 13, 10
_FLAG, _MBUS_START, _DB = 0x7E, 0x68, 0xDB
_STARTS = (b"/", b"\x7e", b"\x68", b"\xdb")
# looked for in the bytes of a damaged HDLC/M-Bus frame: not P1 text, and not
# the bare ciphered frames of Luxembourg meters (which never use HDLC/M-Bus;
# an encrypted APDU inside the damaged frame would look like one)
_BINARY_STARTS = (b"\x7e", b"\x68")
_MAX_RESCAN_DEPTH = 3

COUNTERS = ("frames_ok", "crc_errors", "fcs_errors", "mbus_errors", "auth_failures",
            "key_required", "unknown", "malformed", "oversized", "unchecked")


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 32
    if 97 <= c <= 102:
        return c - 87
    return -1


def _key(k):
    if not k:
        return None
    if isinstance(k, str):
        try:
            k = bytes.fromhex(k.replace(" ", "").replace(":", ""))
        except ValueError:
            raise ValueError("key is not hex: expected 32 hex digits")
    if len(k) != 16:
        raise ValueError("key must be 16 bytes (32 hex digits), got %d bytes" % len(k))
    return bytes(k)


def _decimal(v):
    """A multiplier (int, or decimal text like "0.01") -> (mantissa, decimals)."""
    s = str(v).strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, _, frac = s.partition(".")
    if not (whole + frac).isdigit():
        raise ValueError("multiplier %r is not a decimal number" % (v,))
    m = int(whole + frac)
    return (-m if neg else m), len(frac)


def _multipliers(spec):
    """{"energy": "0.1", "voltage_l1_v": 60} -> {field index: (m, d)}.
    A name matches a field or every field it is a prefix of ("voltage")."""
    if not spec:
        return None
    out = {}
    for name, value in spec.items():
        hits = [i for i, f in enumerate(fields.FIELDS) if f == name or f.startswith(name + "_")]
        if not hits:
            raise ValueError("unknown multiplier field %r" % (name,))
        for i in hits:
            out[i] = _decimal(value)
    return out


class Decoder:
    """feed(bytes) -> list of Reading. Keeps partial frames between calls.

    key, auth_key: AES-128 keys (bytes or hex) for encrypted meters.
    multipliers: {field or field prefix: decimal} applied to every value,
    for meters whose scaling the bytes don't tell (see README)."""

    # two of the COUNTERS, set by name in __init__, that are counted directly
    # (annotations only: no class attributes, for mypy)
    frames_ok: int
    unchecked: int

    def __init__(self, key=None, auth_key=None, multipliers=None):
        self.key = _key(key)
        self.auth_key = _key(auth_key)
        self.multipliers = _multipliers(multipliers)
        self._buf = bytearray(START)
        self._n = 0
        self._need = 0
        self._state = _IDLE
        self._crc = 0
        self._crc_digits = 0
        self._p1_crc_seen = False
        self._hlen = 0           # HDLC header length (format..control)
        self._asm = None         # multi-frame APDU reassembly (HDLC S bit, M-Bus)
        self._asm_kind = None    # _HDLC or _MBUS while a message is being assembled
        self._asm_n = 0
        self._asm_seq = 0
        self._mbus_broken = False    # the message being received lost a segment
        self._depth = 0          # rescans in progress (see _reject)
        self._binary_only = False
        self._cand = _IDLE       # kind of the binary candidate in the buffer
        self._out = None
        self._inner = None       # P1 decoder for decrypted Luxembourg text
        # the parsers load on the first frame that needs them: a P1 meter
        # never loads the DLMS stack, and the other way round (heap on a dongle)
        self._p1 = None
        self._dlms = None
        for c in COUNTERS:
            setattr(self, c, 0)
        self.last_error = None

    def _hold(self, size):
        """The frame buffer has room for size bytes (size <= CAP), keeping
        what it holds; returns it."""
        buf = self._buf
        if len(buf) < size:
            grown = bytearray(min(CAP, max(size, 2 * len(buf))))
            grown[:self._n] = memoryview(buf)[:self._n]
            self._buf = buf = grown
        return buf

    def reset(self):
        """Forget any partial frame (the line changed: new serial settings,
        a reconnect). Counters and keys stay."""
        self._state = _IDLE
        self._n = 0
        self._asm_drop()

    def pending(self):
        """Bytes held of a frame or message not yet complete (0: none)."""
        n = self._n if self._state != _IDLE else 0
        if self._asm_kind is not None:
            n += self._asm_n
        return n

    def stats(self):
        return {c: getattr(self, c) for c in COUNTERS}

    def _count(self, counter, msg):
        setattr(self, counter, getattr(self, counter) + 1)
        self.last_error = msg

    def _fail(self, counter, msg):
        self._count(counter, msg)
        self._state = _IDLE

    # --- the stream -----------------------------------------------------

    def feed(self, data, n=None):
        """Readings completed by data (bytes-like; n: only its first n
        bytes, so a reused read buffer needs no copy)."""
        out = []
        self._out = out
        self._scan(data, len(data) if n is None else n)
        self._out = None
        return out

    def _scan(self, data, n):
        mv = memoryview(data)          # copies into the buffer without slices
        i = 0
        while i < n:
            st = self._state
            if st == _IDLE:
                i = self._next_start(data, i, n)
                if i < 0:
                    break
                c = data[i]
                i += 1
                self._n = 0
                buf = self._buf
                if c == _SLASH:
                    buf[0] = _SLASH
                    self._n = 1
                    self._state = _P1
                elif c == _FLAG:
                    self._state = _HDLC
                    self._need = 2
                elif c == _MBUS_START:
                    buf[0] = c
                    self._n = 1
                    self._state = _MBUS
                    self._need = 4
                else:
                    buf[0] = c
                    self._n = 1
                    self._state = _CIPHER
                    self._need = 11
            elif st == _P1:
                i = self._p1_text_part(data, mv, i, n)
            elif st == _P1_CRC:
                c = data[i]
                h = _hexval(c)
                if h >= 0:
                    self._crc = (self._crc << 4) | h
                    self._crc_digits += 1
                    i += 1
                    if self._crc_digits == 4:
                        self._p1_done(True)
                elif c == _CR or c == _LF:
                    self._p1_done(self._crc_digits > 0)
                else:
                    self._fail("malformed", "P1 telegram: bad character after '!'")
            else:
                if st == _HDLC and self._n == 0 and data[i] == _FLAG:
                    i += 1          # shared or doubled flags: "7E 7E"
                    continue
                k = self._n
                take = min(self._need - k, n - i)
                buf = self._hold(self._need)
                buf[k:k + take] = mv[i:i + take]
                self._n = k + take
                i += take
                if self._n == self._need:
                    if st == _HDLC:
                        self._hdlc_step()
                    elif st == _MBUS:
                        self._mbus_step()
                    else:
                        self._cipher_step()

    def _next_start(self, data, i, n):
        best = -1
        for s in (_BINARY_STARTS if self._binary_only else _STARTS):
            j = data.find(s, i, n if best < 0 else best)
            if j >= 0:
                best = j
        return best

    def _reject(self, counter, msg, binary_only=False, skip=1):
        """A binary candidate failed a check: count it (counter None for a
        false start), then look for a frame start inside its bytes: a frame
        shortened on the wire swallows the start of the next. Bytes of a
        rejected frame are rescanned at most three levels deep, so
        adversarial input stays linear. binary_only: the bytes were a real frame (its header checked
        out), so P1 text inside them is not looked for."""
        if counter is not None:
            self._count(counter, msg)
        self._state = _IDLE
        n = self._n
        if self._depth == _MAX_RESCAN_DEPTH:
            return
        # an HDLC candidate's flag is not in the buffer; others' start byte is
        back = bytes(self._buf[0 if self._cand == _HDLC else skip:n])
        if back:
            was_bin = self._binary_only
            self._depth += 1
            self._binary_only = binary_only or was_bin
            self._scan(back, len(back))
            self._depth -= 1
            self._binary_only = was_bin

    # --- P1 -------------------------------------------------------------

    def _p1_text_part(self, data, mv, i, n):
        j = text_end(data, i, n)
        k = self._n
        if k + (j - i) > CAP - 1:
            self._fail("oversized", "P1 telegram longer than %d bytes" % CAP)
            return j
        buf = self._hold(k + j - i + 1)      # (and the '!')
        buf[k:k + j - i] = mv[i:j]
        self._n = k + j - i
        if j == n:
            return n
        if data[j] < 32 and buf.find(b"\n", 0, self._n) < 0:
            # a control byte in the identification line: kept, the CRC
            # decides (p1.py takes it only with one), as dsmr_parser does
            buf[self._n] = data[j]
            self._n += 1
            return j + 1
        if data[j] == _BANG:
            buf[self._n] = _BANG
            self._n += 1
            self._state = _P1_CRC
            self._crc = 0
            self._crc_digits = 0
            return j + 1
        # '/' or binary: this telegram was cut short. Before binary data,
        # its bytes may hide a binary frame's start (0x68 is 'h').
        if data[j] == _SLASH:
            self._fail("malformed", "P1 telegram cut short")
        else:
            self._cand = _P1
            self._reject("malformed", "P1 telegram cut short", True)
        return j

    def _p1_done(self, has_crc):
        self._state = _IDLE
        buf, n = self._buf, self._n
        if has_crc:
            if crc_arc(buf, 0, n) != self._crc:
                self._count("crc_errors", "P1 CRC mismatch")
                return
            self._p1_crc_seen = True
        elif self._p1_crc_seen:
            # this meter sends CRCs: a telegram without one is damaged
            self._count("malformed", "P1 telegram without CRC from a meter that sends CRCs")
            return
        if self._p1 is None:
            from .p1 import Parser
            self._p1 = Parser()
        try:
            r = self._p1.parse(buf, n, has_crc)
        except ValueError as e:
            self._count("malformed", str(e))
            return
        if not has_crc:
            self.unchecked += 1
        self._emit(r)

    def _p1_text(self, buf, s, e):
        """Decrypted P1 text (Luxembourg): framed and CRC-checked by an
        inner decoder of its own, since our buffer holds the frame."""
        if self._inner is None:
            self._inner = Decoder()
        inner = self._inner
        before = inner.stats()
        for r in inner.feed(bytes(buf[s:e]) + b"\r\n"):
            self._emit(r)
        after = inner.stats()
        for c in COUNTERS:
            if c not in ("frames_ok", "unchecked") and after[c] > before[c]:
                self._count(c, inner.last_error)

    # --- HDLC -----------------------------------------------------------

    def _hdlc_step(self):
        """Called whenever _need bytes are in: format, header, whole frame."""
        self._cand = _HDLC
        buf, n = self._buf, self._n
        if n == 2:
            length = ((buf[0] & 0x07) << 8) | buf[1]
            if buf[0] & 0xF0 != 0xA0 or length < 7:
                return self._reject(None, None)
            self._need = min(length, 13)
            self._hlen = 0
            return
        length = ((buf[0] & 0x07) << 8) | buf[1]
        if self._hlen == 0:
            # addresses end with a byte whose low bit is set (1..4 bytes each)
            p = 2
            for _ in range(2):
                k = 0
                while p < n and not buf[p] & 1 and k < 3:
                    p += 1
                    k += 1
                if p >= n or not buf[p] & 1:
                    return self._reject(None, None)
                p += 1
            hlen = p + 1           # + control
            if hlen + 2 > length:
                return self._reject(None, None)
            hcs = buf[hlen] | (buf[hlen + 1] << 8) if hlen + 2 <= n else -1
            if hcs < 0:
                return self._reject(None, None)
            if crc_x25(buf, 0, hlen) != hcs:
                self._asm_drop()     # it may have been the next segment
                return self._reject("fcs_errors", "HDLC header check (HCS) failed")
            self._hlen = hlen
            if length == hlen + 2:   # no information field: nothing to read
                self._state = _IDLE
                return
            if n < length:
                self._need = length
                return
        fcs = buf[length - 2] | (buf[length - 1] << 8)
        if crc_x25(buf, 0, length - 2) != fcs:
            self._asm_drop()         # a damaged frame breaks its message
            return self._reject("fcs_errors", "HDLC frame check (FCS) failed", True)
        self._state = _IDLE
        s, e = self._hlen + 2, length - 2
        # only a message's first segment starts with the LLC header
        first = e - s >= 3 and buf[s] == 0xE6 and buf[s + 1] in (0xE6, 0xE7) and buf[s + 2] == 0
        going = self._asm_kind == _HDLC
        if first and going:
            self._asm_drop()
            self._count("malformed", "HDLC segmented message incomplete")
            going = False
        if buf[0] & 0x08:            # segmented: more frames follow
            if first or going:
                self._assemble(_HDLC, buf, s, e)
            else:
                self._count("malformed", "HDLC segment without the start of its message")
        elif going:                  # the last segment
            if self._assemble(_HDLC, buf, s, e):
                self._apdu(self._asm, 0, self._asm_n)
            self._asm_drop()
        else:
            self._apdu(buf, s, e)

    def _assemble(self, kind, buf, s, e):
        """Append buf[s:e] to the message being reassembled from several
        frames (HDLC segments or M-Bus segments)."""
        if self._asm is None:
            self._asm = bytearray(CAP)
        if self._asm_kind != kind:
            self._asm_kind = kind
            self._asm_n = 0
        k = self._asm_n
        if k + e - s > CAP:
            self._asm_drop()
            self._count("oversized", "DLMS message longer than %d bytes" % CAP)
            return False
        self._asm[k:k + e - s] = buf[s:e]
        self._asm_n = k + e - s
        return True

    def _asm_drop(self):
        self._asm_kind = None
        self._asm_n = 0

    # --- M-Bus ----------------------------------------------------------

    def _mbus_step(self):
        """68 L L 68 | C A CI data (L bytes) | checksum 16."""
        self._cand = _MBUS
        buf, n = self._buf, self._n
        length = buf[1]
        if n == 4:
            if buf[2] != length or buf[3] != _MBUS_START or length < 3:
                return self._reject(None, None)
            self._need = length + 6
            return
        if sum(buf[4:4 + length]) & 0xFF != buf[4 + length] or buf[5 + length] != 0x16:
            self._asm_drop()
            self._mbus_broken = True     # its later segments: already counted
            return self._reject("mbus_errors", "M-Bus checksum failed", True)
        self._state = _IDLE
        ci = buf[6]
        if ci & 0xE0:
            self._count("unknown", "M-Bus frame with CI 0x%02X is not DLMS" % ci)
            return
        # DLMS segments: CI low nibble = sequence, bit 4 = last; then STSAP, DTSAP
        seq, last = ci & 0x0F, ci & 0x10
        # (the sequence counts modulo 16: long messages wrap around to 0)
        if self._asm_kind == _MBUS and seq == self._asm_seq:
            pass
        elif seq == 0:
            self._asm_drop()
        else:
            self._asm_drop()
            if not self._mbus_broken:
                self._count("malformed", "M-Bus segment %d out of sequence" % seq)
            return
        self._mbus_broken = False
        if not self._assemble(_MBUS, buf, 9, 4 + length):
            return
        self._asm_seq = (seq + 1) & 0x0F
        if last:
            n = self._asm_n
            self._asm_drop()
            self._apdu(self._asm, 0, n)

    # --- bare general-glo-ciphering (Luxembourg P1) -------------------------

    def _cipher_step(self):
        """DB 08 title(8) BER-length ...: the length decides the end."""
        self._cand = _CIPHER
        buf, n = self._buf, self._n
        form = buf[10]
        extra = 0 if form < 0x80 else form & 0x7F
        if buf[1] != 8 or extra > 2 or form == 0x80:
            return self._reject(None, None)
        if n < 11 + extra:
            self._need = 11 + extra
            return
        if n == 11 + extra:
            size = buf[10] if not extra else (buf[11] if extra == 1 else (buf[11] << 8) | buf[12])
            pos = 11 + extra
            if size < 5:
                return self._reject(None, None)
            if pos + size > CAP:
                return self._reject("oversized", "ciphered frame longer than %d bytes" % CAP)
            self._need = pos + size
            return
        # security control: encrypted, suite 0 or 1, not compressed;
        # anything else is a stray 0xDB in other data
        sc = buf[11 + extra]
        if sc & 0xCE or not sc & 0x20:
            return self._reject(None, None)
        self._state = _IDLE
        # a shortened frame swallowed the next one's start: the same
        # meter's next frame begins with the same 10 bytes (DB 08 title).
        # Looked for before the tag check, and before decryption in place
        # garbles the bytes: headers a few bytes apart would otherwise
        # cost a tag check of up to CAP bytes each.
        k = buf.find(buf[0:10], 1, n)
        if k > 0:
            return self._reject("malformed", "ciphered frame cut short by the next one",
                                False, k)
        # or only the first bytes of that header, at the very end
        tail = None
        for k in range(max(1, n - 9), n):
            if buf[k] == _DB and buf[k:n] == buf[0:n - k]:
                tail = bytes(buf[k:n])
                break
        if not self._apdu(buf, 0, n, True):
            # a frame starting in the tail reaches past this one's end, so
            # failing tag checks overlap by 9 bytes at most; no other bare
            # frame is looked for inside (one meter per port)
            if tail:
                buf[k:n] = tail
                return self._reject(None, None, False, k)
            self._reject(None, None, True)

    # --- DLMS -----------------------------------------------------------

    def _apdu(self, buf, s, e, bare=False):
        """Run one APDU through dlms.Session, counting what goes wrong.
        True when it was accepted (or is a block waiting for the rest).
        bare: a ciphered frame with no link layer around it."""
        if self._dlms is None:
            from . import dlms
            self._dlms = dlms.Session(self.key, self.auth_key, CAP, self._p1_text)
        dlms = self._dlms.module          # type: ignore[union-attr]  # its exceptions, without an import per frame (dlms.py)
        try:
            r = self._dlms.apdu(buf, s, e, bare)
        except dlms.KeyRequired as x:
            self._count("key_required", str(x))
            return False
        except dlms.AuthFailed as x:
            self._count("auth_failures", str(x))
            return False
        except dlms.Unknown as x:
            self._count("unknown", str(x))
            return False
        except ValueError as x:
            self._count("malformed", str(x))
            return False
        if self._dlms.note:          # a list not recognised: decoded in part
            self._count("unknown", self._dlms.note)
            self._dlms.note = None
        if r is not None:
            self._emit(r)
        return True

    def decode_apdu(self, data):
        """Readings from one bare APDU, for captures whose HDLC layer was
        already stripped ("E6 E7 00 ..." or "0F ..."). No link check exists
        for such bytes: use feed() for anything from a wire."""
        out = []
        if len(data) > CAP:
            self._count("oversized", "APDU longer than %d bytes" % CAP)
            return out
        self._out = out
        self._apdu(bytearray(data), 0, len(data))
        self._out = None
        return out

    def _emit(self, r):
        mult = self.multipliers
        if mult:
            for i, (mm, md) in mult.items():
                if r.m[i] is not None:
                    r.set(i, r.m[i] * mm, r.d[i] + md)
        self.frames_ok += 1
        self._out.append(r)
