"""MicroPython code, for the scripts tests run under MicroPython's unix
ports: fill(room) leaves the heap full but for one run of `room` bytes,
deterministically (the run is taken first, blocks and then crumbs go into
every other hole however the heap lies, which depends on the length of
the modules' paths among other things, then the run is let go); empty()
gives it all back. The lists that hold the blocks are made when this code
runs, while there is room: they need heap too."""
CODE = r"""
import gc

gc.collect()
blocks = [None] * (gc.mem_free() // 240 + 8)
crumbs = [None] * 800


def fill(room):
    gc.collect()
    run = bytearray(room)
    for held, size in ((blocks, 240), (crumbs, 4)):
        n = 0
        try:
            while n < len(held):
                held[n] = bytearray(size)
                n += 1
        except MemoryError:
            pass
        assert n < len(held)                         # (the heap was full)
    run = None
    gc.collect()


def empty():
    for held in (blocks, crumbs):
        for i in range(len(held)):
            held[i] = None
    gc.collect()
"""
