# CPython: the AES-ECB block function gcm.py builds GCM on, from the
# `cryptography` package (on MicroPython it is cryptolib's; a board never
# loads this module, so its names are not interned there).
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def ecb_encryptor(key):
    """key (16 bytes) -> function(bytes, multiple of 16) -> bytes."""
    return Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor().update
