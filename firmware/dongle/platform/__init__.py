# The only door to hardware. Everything above this package is the same on
# an ESP32 and on a PC: esp32.py speaks to machine/network, unix.py makes
# the MicroPython unix port a virtual dongle (TCP or tty "UART", Wi-Fi
# up unless a test holds it down, watchdog and LED recorded for the status
# page).
import sys

if sys.platform == "esp32":
    from .esp32 import *  # noqa: F401,F403
else:
    from .unix import *  # noqa: F401,F403
