# What update.py and updatecheck.py share: the refusal either raises and the
# virtual dongle's power-cut points (backup.py's restore has some too).
# Loaded with them, during an update or a restore.
import os
import time


class Refused(Exception):
    def __init__(self, status, message):
        self.status = status
        self.message = message


def hold(step):
    """The virtual dongle's tests cut the power here (HANPORT_OTA_HOLD=step):
    everything stops, as a board whose supply went away."""
    get = getattr(os, "getenv", None)
    if get and get("HANPORT_OTA_HOLD") == step:
        print("update: holding at " + step)
        while True:
            time.sleep(1)
