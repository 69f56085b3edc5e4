# The HAN-port dongle firmware: meter UART -> hanport decoder -> state ->
# HTTP and MQTT. Runs on an ESP32 with stock MicroPython and, through the
# unix platform, on a PC as a virtual dongle.
import gc
import sys

VERSION = "0.1.0"
BUILD = ""       # the build id, which make build writes into its .mpy of this file (tools/build.py)
SLOT = ""        # "slots/a/" when main.py runs an updated slot (its page is there)

# Heap sizes below are written for the 64-bit virtual dongle, where every
# object is twice its size on a 32-bit ESP32: KB is a kilobyte there and
# half of one on the board.
KB = 1024 if sys.maxsize > 1 << 32 else 512


def room(n):
    """At least n bytes of heap free, after a collection if need be. Asked
    before anything that can wait or be refused (an HTTP request): the
    meter must never be the one to run out."""
    if gc.mem_free() >= n:
        return True
    gc.collect()
    return gc.mem_free() >= n


def unload(*names):
    """Forget modules used now and then (setup page, discovery, config
    checks): on the dongle a module's code stays in RAM while it is
    imported, and RAM is what a plain ESP32 lacks. The next use imports
    it again. A name is this package's module, or with a dot a whole
    module name ("hanport.crc")."""
    for name in names:
        if "." not in name:
            name = __name__ + "." + name
        sys.modules.pop(name, None)
        pkg, _, attr = name.rpartition(".")
        pkg = sys.modules.get(pkg)
        if pkg is not None and attr in pkg.__dict__:
            delattr(pkg, attr)
