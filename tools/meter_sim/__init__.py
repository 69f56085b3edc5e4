"""Meter simulator: plays a smart meter's HAN port for the dongle. The
command is tools/meter_sim.py (its options: cli.py); the package:
  model       SimMeter (frames of one simulated household in meter time,
              with the values a decoder must report), CapturePlayer
  faults      Faults: a flipped bit, dropped bytes, garbage between frames
  transports  MeterLine (the virtual dongle's TCP UART, which the test rig
              uses as its Meter), pty, serial port, file
  cli         Runner (a source to outputs in scaled real time) and main()
"""
from .cli import Runner, main, parser
from .faults import Faults, drop_bytes, flip_bit
from .model import (CADENCE, IDENTITY, LIST_FIELDS, METERS, RESOLUTION, SYSTEM_TITLE,
                    WIRE_SETTING, CapturePlayer, Frame, SimMeter, decimal_text,
                    eu_summer_time, household_values)
from .transports import (FileOutput, MeterLine, PtyOutput, SerialOutput, garble,
                         parse_setting)
