# The AES-128 block cipher, from whatever this Python has: MicroPython's
# cryptolib (stock ESP32 firmware has ECB and CBC only) or the `cryptography`
# package on CPython. Only ECB encryption is needed: gcm.py builds CTR and
# GHASH on top, identically on both.
try:
    from cryptolib import aes as _aes

    def ecb_encryptor(key):
        """key (16 bytes) -> function(bytes, multiple of 16) -> bytes."""
        return _aes(key, 1).encrypt   # 1 = ECB
except ImportError:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def ecb_encryptor(key):
        return Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor().update
