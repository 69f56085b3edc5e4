# The kit that tools/ and host_tests/ share: the virtual dongle rig, the
# MicroPython runners, the meter corpus reader, the frame generators and the
# case driver. Tools and tests import it (from testkit import rig); it imports
# neither.
