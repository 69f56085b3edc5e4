# Serial settings meters use, in the order auto-detection tries them. One
# table for the UART, the setup page, config checks and detection.
#   name: (baud, data bits, parity (None, 0 even, 1 odd), stop bits, what uses it)
SETTINGS = (
    ("115200-8N1", 115200, 8, None, 1, "HAN-P1 Sweden, DSMR 4/5"),
    ("2400-8E1", 2400, 8, 0, 1, "M-Bus: Aidon, Kaifa (Norway HAN-NVE)"),
    ("2400-8N1", 2400, 8, None, 1, "M-Bus: Kamstrup"),
    ("9600-7E1", 9600, 7, 0, 1, "DSMR 2.2/3"),
)
NAMES = tuple(s[0] for s in SETTINGS)


def get(name):
    for s in SETTINGS:
        if s[0] == name:
            return s
    raise ValueError("unknown serial setting %r" % (name,))


def label(name, invert):
    """"115200-8N1-inv": how a setting is shown and stored."""
    return name + ("-inv" if invert else "")


def parse_label(text):
    """"2400-8E1-inv" -> ("2400-8E1", True); None if not a known setting."""
    inv = text.endswith("-inv")
    name = text[:-4] if inv else text
    return (name, inv) if name in NAMES else None


def candidates(first, invert_default, serial="auto", invert="auto"):
    """(name, invert) pairs for detection: the last working one first, then
    every setting with the board's usual inversion, then the other."""
    names = NAMES if serial == "auto" else (serial,)
    invs = (invert_default, not invert_default) if invert == "auto" else (invert,)
    out = []
    if first is not None and first[0] in names and first[1] in invs:
        out.append(first)
    for inv in invs:
        for name in names:
            if (name, inv) not in out:
                out.append((name, inv))
    return out
