# `machine` for the virtual dongle's REPL (tools/vdongle/): the unix
# port's own machine module plus what mpremote and a person at the REPL
# expect of an ESP32: reset() (mpremote `reset`), soft_reset(),
# reset_cause(), unique_id(), freq(). Only the virtual dongle's agent loads
# it; the firmware itself talks to dongle.platform, never to this.
import os

from umachine import *  # noqa: F401,F403  (mem8/16/32, idle, Signal...)

# ESP32 values
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_CAUSES = {"power_on": PWRON_RESET, "hard": HARD_RESET, "watchdog": WDT_RESET,
           "soft": SOFT_RESET}

_vdongle_reset = None    # set by tools/vdongle/agent.py


def reset():
    """Hard reset: the virtual dongle restarts MicroPython and boots."""
    if _vdongle_reset is None:
        raise OSError("machine.reset() needs the virtual dongle (tools/vdongle.py)")
    _vdongle_reset()


def bootloader(*args):
    print("virtual dongle: no bootloader; resetting")
    reset()


def soft_reset():
    raise SystemExit


def reset_cause():
    return _CAUSES.get(os.getenv("HANPORT_RESET_CAUSE") or "power_on", PWRON_RESET)


def unique_id():
    h = os.getenv("HANPORT_DEVICE_ID") or "000000000000"
    try:
        return bytes(int(h[i:i + 2], 16) for i in range(0, len(h) - 1, 2))
    except ValueError:
        return h.encode()


def freq(*args):
    return 240000000


class RTC:
    """The host's clock (the virtual dongle keeps the PC's time: setting it
    is accepted and ignored, as dongle.platform.unix.ntp_sync does)."""

    def __init__(self, *args):
        pass

    def datetime(self, dt=None):
        if dt is not None:
            return None
        import time
        t = time.localtime()
        return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)

    def init(self, dt):
        pass
