# Bytes in, readings out. The Decoder frames a byte stream of any chunking
# into P1 telegrams, HDLC frames, M-Bus frames and bare ciphered frames,
# checks each (CRC, HCS/FCS, checksum, GCM tag) and hands the contents on:
# P1 text to p1.py, DLMS APDUs to dlms.py.
from . import pick
from .pick import crc_arc, text_end

try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int

# Largest telegram or frame held, in bytes: a longer telegram is dropped and
# counted as oversized. The frame buffer starts at START and doubles when a
# frame needs it, up to CAP, and never shrinks: it settles at about the
# meter's longest frame (Norwegian Aidon and Kamstrup HDLC frames are up to
# ~400 bytes, Swedish P1 telegrams ~700, Dutch DSMR 5 ones up to ~2.5 KB,
# HDLC frames at most 2047 bytes by their length field), and junk never
# grows it past CAP. The DLMS reassembly buffer is allocated on the first
# multi-frame message.
CAP = 4096
START = 512

# what the bytes being read are: the framing state (binary.py moves
# through HDLC, MBUS and CIPHER)
IDLE = const(0)
_P1 = const(1)        # inside a P1 telegram, before '!'
_P1_CRC = const(2)    # after '!', reading up to four hex digits
HDLC = const(3)       # after a 0x7E flag: format, addresses, HCS, info, FCS
MBUS = const(4)       # after 0x68: L L 68 C A CI data CS 16
CIPHER = const(5)     # a bare general-glo-ciphering frame (Luxembourg P1)

_SLASH = const(47)
_BANG = const(33)
_CR = const(13)
_LF = const(10)
_FLAG = const(0x7E)
MBUS_START = const(0x68)
DB = const(0xDB)      # general-glo-ciphering tag
_STARTS = (b"/", b"\x7e", b"\x68", b"\xdb")
# looked for in the bytes of a damaged HDLC/M-Bus frame: not P1 text, and not
# the bare ciphered frames of Luxembourg meters (which never use HDLC/M-Bus;
# an encrypted APDU inside the damaged frame would look like one)
_BINARY_STARTS = (b"\x7e", b"\x68")
_MAX_RESCAN_DEPTH = const(3)
# faults, by their text's index in why.py
_W_BANG = const(0)
_W_P1_LONG = const(1)
_W_P1_CUT = const(2)
_W_P1_CRC = const(3)
_W_P1_NO_CRC = const(4)

COUNTERS = ("frames_ok", "crc_errors", "fcs_errors", "mbus_errors", "auth_failures",
            "key_required", "unknown", "malformed", "oversized", "unchecked")


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 32
    if 97 <= c <= 102:
        return c - 87
    return -1


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
        self.key = self.auth_key = self.multipliers = None
        if key or auth_key or multipliers:
            from . import options
            self.key = options.aes_key(key)
            self.auth_key = options.aes_key(auth_key)
            self.multipliers = options.multipliers(multipliers)
        self._buf = bytearray(START)
        self._n = 0
        self._need = 0
        self._state = IDLE
        self._crc = 0
        self._crc_digits = 0
        self._p1_crc_seen = False
        self._hlen = 0           # HDLC header length (format..control)
        self._asm = None         # multi-frame APDU reassembly (HDLC S bit, M-Bus)
        self._asm_kind = None    # HDLC or MBUS while a message is being assembled
        self._asm_n = 0
        self._asm_seq = 0
        self._mbus_broken = False    # the message being received lost a segment
        self._depth = 0          # rescans in progress (see _reject)
        self._binary_only = False
        self._cand = IDLE       # kind of the binary candidate in the buffer
        self._out = None
        self._inner = None       # P1 decoder for decrypted Luxembourg text (binary.p1_text)
        # the parsers load on the first frame that needs them: a P1 meter
        # never loads the DLMS stack, and the other way round (heap on a dongle)
        self._p1 = None
        self._dlms = None
        self._binary = None      # binary.py, on the first binary frame
        for c in COUNTERS:
            setattr(self, c, 0)
        self._why = None         # the last fault: its text's index in why.py, or a text
        self._why_value = None   # what that text takes
        # None, or a callable given each frame that passed its link check
        # (P1 CRC, HDLC FCS, M-Bus checksum, a bare frame's GCM tag), as
        # bytes exactly as the meter sent it (an HDLC frame with its two
        # flags), before it is parsed: the dongle's raw telegram port
        self.on_raw = None

    def prepare(self, protocol):
        """Load the parser of protocol ("p1", or "dlms": the DLMS stack)
        now, not on its first frame: for a caller that knows its meter,
        so that the parser's heap is taken at start rather than while
        other work holds some."""
        if protocol == "p1":
            if self._p1 is None:
                from .p1 import Parser
                self._p1 = Parser()
        else:
            from . import binary
            self._binary = binary
            binary.session(self)

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
        self._state = IDLE
        self._n = 0
        self._asm_drop()

    def pending(self):
        """Bytes held of a frame or message not yet complete (0: none)."""
        n = self._n if self._state != IDLE else 0
        if self._asm_kind is not None:
            n += self._asm_n
        return n

    def stats(self):
        out = {}
        for c in COUNTERS:
            out[c] = getattr(self, c)
        return out

    @property
    def last_error(self):
        """What went wrong last, as text, or None. Made when asked from
        why.py, which on MicroPython is let go again: its texts take no
        RAM between."""
        why = self._why
        if why is None or isinstance(why, str):
            return why
        from . import why as faults
        text = faults.text(why, self._why_value)
        if pick.MICROPYTHON:
            pick.forget("why")
        return text

    @last_error.setter
    def last_error(self, text):
        self._why = text
        self._why_value = None

    def _count(self, counter, why, value=None):
        """One more of counter; why (why.py's index, or a text) and value:
        what last_error says."""
        setattr(self, counter, getattr(self, counter) + 1)
        self._why = why
        self._why_value = value

    def _fail(self, counter, why, value=None):
        self._count(counter, why, value)
        self._state = IDLE

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
            if st == IDLE:
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
                    self._state = HDLC
                    self._need = 2
                elif c == MBUS_START:
                    buf[0] = c
                    self._n = 1
                    self._state = MBUS
                    self._need = 4
                else:
                    buf[0] = c
                    self._n = 1
                    self._state = CIPHER
                    self._need = 11
            elif st == _P1:
                i = self._p1_text_part(data, mv, i, n)
            elif st == _P1_CRC:
                c = data[i]
                h = _hexval(c)
                if h >= 0:
                    self._crc = (self._crc << 4) | h
                    k = self._n + self._crc_digits
                    if k < len(self._buf):
                        self._buf[k] = c    # (after the text: on_raw's copy)
                    self._crc_digits += 1
                    i += 1
                    if self._crc_digits == 4:
                        self._p1_done(True)
                elif c == _CR or c == _LF:
                    self._p1_done(self._crc_digits > 0)
                else:
                    self._fail("malformed", _W_BANG)
            else:
                if st == HDLC and self._n == 0 and data[i] == _FLAG:
                    i += 1          # shared or doubled flags: "7E 7E"
                    continue
                k = self._n
                take = min(self._need - k, n - i)
                buf = self._hold(self._need)
                buf[k:k + take] = mv[i:i + take]
                self._n = k + take
                i += take
                if self._n == self._need:
                    binary = self._binary
                    if binary is None:
                        from . import binary
                        self._binary = binary
                    if st == HDLC:
                        binary.hdlc_step(self)
                    elif st == MBUS:
                        binary.mbus_step(self)
                    else:
                        binary.cipher_step(self)

    def _next_start(self, data, i, n):
        best = -1
        for s in (_BINARY_STARTS if self._binary_only else _STARTS):
            j = data.find(s, i, n if best < 0 else best)
            if j >= 0:
                best = j
        return best

    def _reject(self, counter, why, binary_only=False, skip=1):
        """A binary candidate failed a check: count it (counter None for a
        false start), then look for a frame start inside its bytes: a frame
        shortened on the wire swallows the start of the next. Bytes of a
        rejected frame are rescanned at most three levels deep, so
        adversarial input stays linear. binary_only: the bytes were a real frame (its header checked
        out), so P1 text inside them is not looked for."""
        if counter is not None:
            self._count(counter, why)
        self._state = IDLE
        n = self._n
        if self._depth == _MAX_RESCAN_DEPTH:
            return
        # an HDLC candidate's flag is not in the buffer; others' start byte is
        back = bytes(self._buf[0 if self._cand == HDLC else skip:n])
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
        if k + (j - i) > CAP - 5:            # (the '!' and four CRC digits follow)
            self._fail("oversized", _W_P1_LONG, CAP)
            return j
        buf = self._hold(k + j - i + 5)
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
            self._fail("malformed", _W_P1_CUT)
        else:
            self._cand = _P1
            self._reject("malformed", _W_P1_CUT, True)
        return j

    def _p1_done(self, has_crc):
        self._state = IDLE
        buf, n = self._buf, self._n
        if has_crc:
            if crc_arc(buf, 0, n) != self._crc:
                self._count("crc_errors", _W_P1_CRC)
                return
            self._p1_crc_seen = True
        elif self._p1_crc_seen:
            # this meter sends CRCs: a telegram without one is damaged
            self._count("malformed", _W_P1_NO_CRC)
            return
        if self.on_raw is not None:
            k = n + self._crc_digits if has_crc else n
            self.raw(b"", buf, 0, k if k <= len(buf) else n, b"\r\n")
        if self._p1 is None:
            from .p1 import Parser
            self._p1 = Parser()
        try:
            r = self._p1.parse(buf, n, has_crc)
        except ValueError as e:     # (p1.Malformed: why.py's index and its value)
            self._count("malformed", *(e.args or ("P1 telegram not understood",)))
            return
        if not has_crc:
            self.unchecked += 1
        self._emit(r)

    def raw(self, head, buf, s, e, tail):
        """on_raw(head + buf[s:e] + tail), in one allocation."""
        out = bytearray(len(head) + e - s + len(tail))
        out[:len(head)] = head
        out[len(head):len(head) + e - s] = memoryview(buf)[s:e]
        out[len(out) - len(tail):] = tail
        self.on_raw(out)

    def _asm_drop(self):
        self._asm_kind = None
        self._asm_n = 0

    def decode_apdu(self, data):
        """Readings from one bare APDU, for captures whose HDLC layer was
        already stripped ("E6 E7 00 ..." or "0F ..."). No link check exists
        for such bytes: use feed() for anything from a wire.
        (binary.py: a P1 meter's dongle never loads it.)"""
        from . import binary
        return binary.decode_apdu(self, data)

    def _emit(self, r):
        mult = self.multipliers
        if mult:
            for i, (mm, md) in mult.items():
                if r.m[i] is not None:
                    r.set(i, r.m[i] * mm, r.d[i] + md)
        self.frames_ok += 1
        self._out.append(r)
