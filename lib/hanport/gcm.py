# DLMS general-glo-ciphering past the header dlms.py reads: the security
# control, the GCM tag checked and the text decrypted (96-bit IV = system
# title || frame counter, 12-byte tag, AAD = SC || AK). GCM is built here
# on an AES-ECB block function, so the same code runs on MicroPython's
# cryptolib (stock ESP32 firmware has ECB and CBC only) and on CPython's
# `cryptography` (aes_cpython.py). Only encrypted meters load this module
# (dlms.py, on their first frame).
from . import axdr
try:
    from micropython import const
except ImportError:           # CPython (every const here is an int)
    const = int
try:
    from cryptolib import aes as _aes

    def ecb_encryptor(key):
        """key (16 bytes) -> function(bytes, multiple of 16) -> bytes."""
        return _aes(key, 1).encrypt   # 1 = ECB
except ImportError:                 # CPython
    from .aes_cpython import ecb_encryptor

_DATA_NOTIFICATION = const(0x0F)
# security control bits
_COMPRESSED = const(0x80)
_ENCRYPTED = const(0x20)
_AUTHENTICATED = const(0x10)
_P1_START = const(0x2F)        # "/": decrypted P1 text (Luxembourg)
# faults, by their text's index in why.py
_W_SECURITY = const(43)
_W_TAG_SHORT = const(44)
_W_AUTH = const(45)
_W_AUTH_KEY = const(46)

_R = 0xE1 << 120   # GCM reduction polynomial, bit-reflected


def _mul_slow(x, y):
    """Bitwise GF(2^128) product of two blocks (as big-endian ints)."""
    z = 0
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= y
        y = (y >> 1) ^ _R if y & 1 else y >> 1
    return z


# _mul_slow(r, 1 << 123) >> 112 for r in 0..15
_RED16 = (0x0000, 0x1C20, 0x3840, 0x2460, 0x7080, 0x6CA0, 0x48C0, 0x54E0,
          0xE100, 0xFD20, 0xD940, 0xC560, 0x9180, 0x8DA0, 0xA9C0, 0xB5E0)


def _block(b, s, e):
    """Up to 16 bytes of b[s:e] as a block int, zero-padded on the right."""
    v = 0
    for i in range(s, s + 16):
        v = (v << 8) | (b[i] if i < e else 0)
    return v


class GCM:
    """One key: decrypt (CTR) and tag check (GHASH) in place."""

    def __init__(self, key):
        self._ecb = ecb_encryptor(key)
        self._m = None

    def _mul_h(self, x):
        m = self._m
        z = 0
        for _ in range(32):
            z = (z >> 4) ^ (_RED16[z & 15] << 112) ^ m[x & 15]
            x >>= 4
        return z

    def _ghash(self, aad, buf, s, e):
        y = 0
        for chunk, cs, ce in ((aad, 0, len(aad)), (buf, s, e)):
            for i in range(cs, ce, 16):
                y = self._mul_h(y ^ _block(chunk, i, ce))
        return self._mul_h(y ^ ((len(aad) * 8) << 64) ^ ((e - s) * 8))

    def _counters(self, iv, first, n):
        """n counter blocks iv || first, iv || first+1... in one buffer."""
        out = bytearray(16 * n)
        for k in range(n):
            out[16 * k:16 * k + 12] = iv
            c = first + k
            out[16 * k + 12] = (c >> 24) & 255
            out[16 * k + 13] = (c >> 16) & 255
            out[16 * k + 14] = (c >> 8) & 255
            out[16 * k + 15] = c & 255
        return out

    def tag(self, iv, aad, buf, s, e):
        """The full 16-byte GCM tag of ciphertext buf[s:e], as an int."""
        if self._m is None:
            # 4-bit tables (Shoup's method): M[v] = v*H for a nibble v;
            # what the four bits r shifted out of a block reduce to is
            # _RED16[r] << 112 (16-bit numbers: small ints, no heap). Made
            # on the first tag check: a meter without an authentication
            # key never needs them (16 long ints, 0.6 KB on 32 bits).
            h = _block(self._ecb(bytes(16)), 0, 16)
            self._m = [_mul_slow(v << 124, h) for v in range(16)]
        j0 = _block(self._ecb(self._counters(iv, 1, 1)), 0, 16)
        return self._ghash(aad, buf, s, e) ^ j0

    def check(self, iv, aad, buf, s, e, tag, ts):
        """Compare the tag with the 12 bytes at tag[ts:]; constant time."""
        want = self.tag(iv, aad, buf, s, e) >> 32
        diff = 0
        for k in range(12):
            diff |= ((want >> (8 * (11 - k))) & 255) ^ tag[ts + k]
        return diff == 0

    def decrypt(self, iv, buf, s, e):
        """CTR-decrypt buf[s:e] in place (counter starts at 2)."""
        n = e - s
        ks = self._ecb(self._counters(iv, 2, (n + 15) // 16))
        for i in range(n):
            buf[s + i] ^= ks[i]


def ciphered(session, buf, title, pos, e, bare, maker):
    """The rest of dlms.Session's general-glo-ciphering APDU, whose system
    title is at buf[title:] and security control at buf[pos]: SC, frame
    counter (4), ciphertext to e, [tag (12) when SC has the authentication
    bit]. Checked, decrypted in place and handed back to the session."""
    sc = buf[pos]
    if sc & _COMPRESSED or not sc & _ENCRYPTED:
        raise axdr.UnknownType(_W_SECURITY, sc)
    iv = bytes(buf[title:title + 8]) + bytes(buf[pos + 1:pos + 5])
    cs, ce = pos + 5, e
    if sc & _AUTHENTICATED:
        ce -= 12
        if ce < cs:
            raise axdr.DlmsError(_W_TAG_SHORT)
    if session.gcm is None:
        session.gcm = GCM(session.key)
    checked = sc & _AUTHENTICATED and session.auth_key is not None
    if checked:
        aad = bytes((sc,)) + session.auth_key
        if not session.gcm.check(iv, aad, buf, cs, ce, buf, ce):
            raise axdr.AuthFailed(_W_AUTH)
    session.gcm.decrypt(iv, buf, cs, ce)
    if bare and not checked and buf[cs] != _P1_START:
        # no FCS, no tag: only P1 text, which has its own CRC, is trusted
        raise axdr.AuthFailed(_W_AUTH_KEY)
    if buf[cs] == _DATA_NOTIFICATION:
        return session.notification(buf, cs, ce, maker)
    return session.apdu(buf, cs, ce)
