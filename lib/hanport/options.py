# The Decoder's options, checked and converted: AES keys from hex text,
# multipliers from decimal text. Imported only when one is given (a P1
# meter has none: this code stays out of its dongle's RAM).
from . import fields


def aes_key(k):
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


def decimal(v):
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


def multipliers(spec):
    """{"energy": "0.1", "voltage_l1_v": 60} -> {field index: (m, d)}.
    A name matches a field or every field it is a prefix of ("voltage")."""
    if not spec:
        return None
    out = {}
    for name, value in spec.items():
        hit = False
        for i in range(fields.COUNT):
            f = fields.name(i)
            if f == name or f.startswith(name + "_"):
                out[i] = decimal(value)
                hit = True
        if not hit:
            raise ValueError("unknown multiplier field %r" % (name,))
    return out
