# `os` for the virtual dongle: the unix port's, with os.ilistdir() giving
# (name, type, inode, size) like an ESP32's littlefs/FAT, so `mpremote fs
# ls` shows file sizes. Loaded by tools/vdongle/agent.py only.
from uos import *  # noqa: F401,F403
from uos import ilistdir as _ilistdir, stat as _stat


def ilistdir(path=""):
    base = path if path.endswith("/") or not path else path + "/"
    for entry in _ilistdir(path) if path else _ilistdir():
        size = 0
        if entry[1] == 0x8000:
            try:
                size = _stat(base + entry[0])[6]
            except OSError:
                pass
        yield (entry[0], entry[1], entry[2], size)
