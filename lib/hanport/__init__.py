# hanport: smart-meter HAN port decoder (P1/DSMR text, HDLC/M-Bus/DLMS binary).
# Pure Python, no I/O: runs on MicroPython (the dongle) and CPython (tools).
from .decoder import Decoder, CAP
from .reading import Reading

__version__ = "0.1.0"
