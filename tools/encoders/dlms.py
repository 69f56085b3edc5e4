"""DLMS APDUs that meters push: data-notification, general-block-transfer
and general-glo-ciphering (Green Book).

data-notification:
    0F | long-invoke-id-and-priority (4) | date-time | notification body
where date-time is 00 (absent, Aidon), 0C + 12 bytes (Kamstrup since
2018, EVN) or 09 0C + 12 bytes (Kaifa, Kamstrup before 2018).

general-block-transfer block:
    E0 | block-control | block number (2) | block number ack (2) | BER len | data
block-control bit 7 = last block, bit 6 = streaming, bits 0-5 = window.

general-glo-ciphering:
    DB | 08 | system title (8) | BER len | SC | frame counter (4) | ciphertext | tag
SC bit 4 = authenticated (12-byte GCM tag, AAD = SC || AK), bit 5 =
encrypted, bits 0-3 = security suite (0 and 1 both use AES-128-GCM).
IV = system title || frame counter. Encryption without authentication
is plain AES-CTR from counter block IV || 00000002, i.e. GCM's keystream.
"""
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .axdr import ber_length

DATA_NOTIFICATION = 0x0F
GENERAL_BLOCK_TRANSFER = 0xE0
GENERAL_GLO_CIPHERING = 0xDB

LAST_BLOCK = 0x80
STREAMING = 0x40

AUTHENTICATED = 0x10
ENCRYPTED = 0x20
COMPRESSED = 0x80
TAG_LENGTH = 12

# How the date-time of a data-notification is wrapped
_DT_PREFIX = {"bare": b"\x0C", "tagged": b"\x09\x0C"}


def data_notification(body: bytes, invoke_id=b"\x40\x00\x00\x00",
                      datetime=None, dt_form=None) -> bytes:
    """0F + invoke id + date-time + body.

    invoke_id: 4 bytes (or an int). datetime: 12 bytes from
    axdr.date_time, or None. dt_form: "none" (00), "bare" (0C + 12) or
    "tagged" (09 0C + 12); by default "bare" when a datetime is given and
    "none" otherwise.
    """
    if isinstance(invoke_id, int):
        invoke_id = invoke_id.to_bytes(4, "big")
    if len(invoke_id) != 4:
        raise ValueError("long-invoke-id-and-priority is 4 bytes")
    if dt_form is None:
        dt_form = "none" if datetime is None else "bare"
    if dt_form == "none":
        if datetime is not None:
            raise ValueError('dt_form "none" with a datetime')
        stamp = b"\x00"
    else:
        if datetime is None or len(datetime) != 12:
            raise ValueError('dt_form "%s" needs a 12-byte datetime' % dt_form)
        stamp = _DT_PREFIX[dt_form] + datetime
    return bytes([DATA_NOTIFICATION]) + invoke_id + stamp + body


def gbt_block(number: int, data: bytes, last=False, control=STREAMING,
              ack=0) -> bytes:
    """One general-block-transfer block."""
    head = bytes([GENERAL_BLOCK_TRANSFER, control | (LAST_BLOCK if last else 0)])
    return (head + number.to_bytes(2, "big") + ack.to_bytes(2, "big")
            + ber_length(len(data)) + data)


def _split(data: bytes, blocks: int, sizes) -> list:
    if sizes is None:
        if blocks < 1:
            raise ValueError("need at least one block")
        step = -(-len(data) // blocks)  # ceiling division
        sizes = [step] * (blocks - 1) + [len(data) - step * (blocks - 1)]
    if sum(sizes) != len(data) or min(sizes) < 0:
        raise ValueError("block sizes %r do not cover %d bytes" % (sizes, len(data)))
    out, pos = [], 0
    for n in sizes:
        out.append(data[pos:pos + n])
        pos += n
    return out


def general_block_transfer(apdu: bytes, blocks=2, sizes=None,
                           control=STREAMING, first=1) -> list:
    """apdu cut into general-block-transfer blocks numbered from first:
    into `blocks` near-equal parts, or into the given `sizes` (meters cut
    at value boundaries, so a real capture needs its own sizes). The last
    block gets LAST_BLOCK; the others carry `control` as is (0x40,
    streaming, is what the Swiss L+G E450 sends)."""
    parts = _split(apdu, blocks, sizes)
    last = len(parts) - 1
    return [gbt_block(first + i, part, last=i == last, control=control)
            for i, part in enumerate(parts)]


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """GCM's keystream without GCM: counter 1 is reserved for the tag, so
    the data starts at counter 2."""
    enc = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
    return enc.update(data) + enc.finalize()


def _protect(plain, key, iv, sc, auth_key):
    """(ciphertext or plaintext, tag) for the security control byte sc."""
    if sc & COMPRESSED:
        raise ValueError("compressed ciphering (SC bit 7) is not supported")
    if not sc & (AUTHENTICATED | ENCRYPTED):
        raise ValueError("security control 0x%02X neither encrypts nor authenticates" % sc)
    if not sc & AUTHENTICATED:
        return _ctr(key, iv, plain), b""
    if auth_key is None:
        raise ValueError("authenticated ciphering needs auth_key (AK)")
    aad = bytes([sc]) + auth_key
    if sc & ENCRYPTED:
        sealed = AESGCM(key).encrypt(iv, plain, aad)
        return sealed[:-16], sealed[-16:][:TAG_LENGTH]
    # authentication only: the plaintext is sent as is and joins the AAD
    return plain, AESGCM(key).encrypt(iv, b"", aad + plain)[:TAG_LENGTH]


def glo_cipher(apdu_plain: bytes, key: bytes, system_title: bytes,
               frame_counter: int, security_control=0x30, auth_key=None) -> bytes:
    """general-glo-ciphering of apdu_plain: DB 08 system title, BER length,
    SC, frame counter, ciphertext and (when SC asks for authentication) the
    12-byte tag. security_control 0x30 = authenticated encryption (needs
    auth_key), 0x20/0x21 = encryption only, 0x10 = authentication only."""
    if len(system_title) != 8:
        raise ValueError("system title is 8 bytes")
    fc = frame_counter.to_bytes(4, "big")
    data, tag = _protect(apdu_plain, key, system_title + fc,
                         security_control, auth_key)
    payload = bytes([security_control]) + fc + data + tag
    return (bytes([GENERAL_GLO_CIPHERING, len(system_title)]) + system_title
            + ber_length(len(payload)) + payload)


def decrypt_unchecked(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """The plaintext of an encrypted APDU's ciphertext, its tag (if any)
    not checked: the same keystream as encryption (what a reader without
    the authentication key can do)."""
    return _ctr(key, iv, ciphertext)
