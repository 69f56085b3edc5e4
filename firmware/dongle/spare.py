# A block of heap held back for the meter and MQTT, the work that must
# never run out. HTTP clients are served from what is left beside it; when
# the heap is short just before a frame is decoded or a message published
# (synchronous work: nothing else runs until it ends), the block is let go
# and that work allocates in its place. A heap can also have room in all
# but be in pieces too small for what that work asks (a module to load):
# the MemoryError that follows lets the block go too, so the next try has
# its run. HTTP starts no request while the block is out; it is taken back
# once the heap has room again. A heap cut up too finely to take it back
# does not close HTTP for good: once the work the block is for has gone
# STRANDED_MS without running short, the block is stranded() and HTTP
# serves one request at a time beside room for it (http.py).
import gc
import time

from . import KB, room

SIZE = 4 * KB      # a frame decoded, its reading stored and published, with margin
STRANDED_MS = 30000     # a dozen DLMS frames, three P1 telegrams
block = bytearray(SIZE)     # None while let go
spent = 0          # times let go
since = 0          # time.ticks_ms() the work last ran short


def ensure():
    """Before meter or MQTT work: SIZE free, letting the block go if that
    is what it takes. No allocation while the heap has room."""
    if not room(SIZE):
        let_go()


def let_go():
    """The work ran short: the block goes (garbage now: the next allocation
    that needs it collects it), if it is held."""
    global block, spent, since
    since = time.ticks_ms()
    if block is not None:
        block = None
        spent += 1


def held():
    """The block is held, taking it back first if there is room for it and
    SIZE beside it."""
    global block
    if block is None and gc.mem_free() >= 2 * SIZE:
        try:
            block = bytearray(SIZE)
        except MemoryError:
            pass
    return block is not None


def stranded():
    """The block is out and the work it is for has not run short for
    STRANDED_MS: the heap has the room but held() finds no run for the
    block (what short-lived objects leave between long-lived ones)."""
    global since
    now = time.ticks_ms()
    if block is not None or time.ticks_diff(now, since) < STRANDED_MS:
        return False
    since = time.ticks_add(now, -STRANDED_MS)   # (within ticks_diff's range however long it lasts)
    return True
