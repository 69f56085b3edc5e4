# AES-GCM decryption as DLMS uses it (general-glo-ciphering): 96-bit IV =
# system title || frame counter, 12-byte tag, AAD = SC || AK. Built on an
# AES-ECB block function (aes.py), so the same code runs on MicroPython's
# cryptolib and on CPython.
from .aes import ecb_encryptor

_R = 0xE1 << 120   # GCM reduction polynomial, bit-reflected


def _mul_slow(x, y):
    """Bitwise GF(2^128) product of two blocks (as big-endian ints)."""
    z = 0
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= y
        y = (y >> 1) ^ _R if y & 1 else y >> 1
    return z


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
        h = _block(self._ecb(bytes(16)), 0, 16)
        # 4-bit tables: M[v] = v*H for a nibble v, RED[r] = what the four
        # bits r shifted out of a block reduce to (Shoup's method)
        self._m = [_mul_slow(v << 124, h) for v in range(16)]
        self._red = [_mul_slow(r, 1 << 123) for r in range(16)]

    def _mul_h(self, x):
        m, red = self._m, self._red
        z = 0
        for _ in range(32):
            z = (z >> 4) ^ red[z & 15] ^ m[x & 15]
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
