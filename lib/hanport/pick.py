# The one place that picks how the decoder runs here. The plain Python of
# crc.py and p1scan.py is the reference. On MicroPython the viper versions
# (viper.py: native code, no heap allocation) replace the per-byte loops
# that have one. On CPython (CPYTHON) versions built on C-level builtins
# replace them all (loops_cpython.py), and the modules that have a CPython
# variant use it: cosem (axdr_cpython.Tokens), jsonout
# (jsonout_cpython.JsonParts) and p1 (p1_fast). HANPORT_PURE=1 in the
# environment forces the reference everywhere (tests run the decoder both
# ways); a board has no environment. Tests check all give the same answers.
# And forget(), which lets a module go (its RAM, on the dongle).
import sys

MICROPYTHON = sys.implementation.name == "micropython"
try:
    from os import getenv
    PURE = getenv("HANPORT_PURE") == "1"
except ImportError:        # a board: no os.getenv
    PURE = False
CPYTHON = not MICROPYTHON and not PURE

if CPYTHON:
    from .loops_cpython import crc_arc, crc_x25, text_end
else:
    try:
        if PURE:
            raise ImportError
        from .viper import crc_arc, crc_x25, text_end
    except (ImportError, SyntaxError, ValueError):
        # HANPORT_PURE=1, or a MicroPython built without the native emitter
        from .crc import crc_arc, crc_x25
        from .p1scan import text_end


def p1_scanners():
    """(obis_key, number, unit_code): the P1 parser's, asked for by p1.py
    when it loads, so that a binary meter's dongle never holds p1scan.py."""
    if CPYTHON:
        from .loops_cpython import obis_key, number, unit_code
    else:
        from .p1scan import obis_key, number, unit_code
    return obis_key, number, unit_code


def forget(name):
    """Let this package's module name go (imported again when next needed):
    on the dongle a module's code and constants take RAM while it is
    imported."""
    pkg = __name__.rsplit(".", 1)[0]
    sys.modules.pop(pkg + "." + name, None)
    pkg = sys.modules.get(pkg)
    if pkg is not None and name in pkg.__dict__:
        delattr(pkg, name)
