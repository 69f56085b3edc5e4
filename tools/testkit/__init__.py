# The kit that tools/ and host_tests/ share: the virtual dongle rig, the
# MicroPython runners, the meter corpus reader, the frame generators, the
# case driver, the dongle config builder (config), raw HTTP exchanges
# (rawhttp), a meter feeding frames in a thread (feed) and the shared
# figures (constants: heap budgets, the test meter key, the reboot exit
# status). Tools and tests import it (from testkit import rig); it imports
# neither.
