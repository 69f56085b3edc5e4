# The fuzzer of hanport.Decoder.feed, run by tools/fuzz.py (make fuzz):
# seeds.py (real and generated frames, and how messages are wrapped),
# mutators.py (what is done to them), cases.py (one input), oracle.py
# (which readings an input may give, by the encoders' checks), runner.py
# (every check on every input), adversarial.py (streams that must take
# linear time) and mpcheck.py (MicroPython gives the same).
