# Stand-in, on the unix port, for firmware code kept in flash (frozen
# modules or a ROMFS partition): the .mpy files of a ROMFS image run in
# place, so their bytecode and constants take no heap. Here the image must
# sit somewhere, so it is read into one buffer allocated first; heap budgets
# add its exact size. Then the dongle's main.py runs as on a board.
#   HANPORT_ROMFS=rom.img micropython -X heapsize=N romboot.py
import os
import sys
import vfs

_img = os.getenv("HANPORT_ROMFS")
_buf = bytearray(os.stat(_img)[6])
with open(_img, "rb") as _f:
    _f.readinto(_buf)
vfs.mount(vfs.VfsRom(_buf), "/rom")
sys.path[:] = ["", "/rom/lib", ".frozen"]
del _img, _f
with open("main.py") as _f:
    _main = _f.read()
exec(_main)
