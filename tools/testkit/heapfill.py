"""MicroPython code, for the scripts tests run under MicroPython's unix
ports: fill(room) leaves the heap full but for one run of `room` bytes,
deterministically (the run is taken first, blocks and then crumbs go into
every other hole however the heap lies, which depends on the length of
the modules' paths among other things, then the run is let go); empty()
gives it all back. The lists that hold the blocks are made when this code
runs, while there is room: they need heap too. fragment(size) leaves the
heap with room in all but in runs of about size bytes only (a
long-running dongle's); empty() gives that back too."""
CODE = r"""
import gc

gc.collect()
blocks = [None] * (gc.mem_free() // 240 + 8)
crumbs = [None] * 800


def _take(held, make):
    # held's slots filled with make(i) until the heap runs out: how many
    n = 0
    try:
        while n < len(held):
            held[n] = make(n)
            n += 1
    except MemoryError:
        pass
    return n


def fill(room):
    gc.collect()
    run = bytearray(room)
    for held, size in ((blocks, 240), (crumbs, 4)):
        assert _take(held, lambda i: bytearray(size)) < len(held)      # (the heap was full)
    run = None
    gc.collect()


def fragment(size):
    # the heap full of size-byte blocks (and one-block crumbs in the holes
    # between), then every other block in address order let go: room in
    # all, in runs of one block each
    global blocks
    gc.collect()
    blocks = [None] * (gc.mem_free() // (size + 16) + 8)
    scratch = bytearray(512)                 # (room for the sort's keys)
    n = _take(blocks, lambda i: bytearray(size))
    scratch = None
    blocks.sort(key=lambda b: -1 if b is None else id(b))
    _take(crumbs, lambda i: (i,))
    for i in range(len(blocks) - n, len(blocks), 2):
        blocks[i] = None
    gc.collect()


def empty():
    for held in (blocks, crumbs):
        for i in range(len(held)):
            held[i] = None
    gc.collect()
"""
