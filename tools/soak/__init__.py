"""make soak: a simulated day of meter time on the virtual dongle, with faults.

    python tools/soak.py [--hours 24] [--meter p1|aidon|kaifa|kamstrup]
                         [--speed N] [--seed N] [--event-every S] ...

The real firmware (make build's .mpy bundle, as a board runs it) under
MicroPython's unix port, inside its heap budget (-X heapsize: the
testkit.constants.HEAP that host_tests/test_memory.py asserts), reads a
simulated meter (tools/meter_sim.py) played --speed times faster than real
time (default: ten messages a wall second, so a P1 day of 8640 telegrams
takes about 15 minutes), while everything around it goes wrong:

  broker    a real mosquitto, killed (SIGKILL) and restarted on a schedule;
            after each restart a fresh subscriber must receive a state
            message from the dongle (publishing resumed)
  meter     the line cut (the dongle's TCP "UART" dropped and refused for a
            few seconds), between frames or in the middle of one; frames
            with a flipped bit, with bytes dropped, cut short; bursts of
            line noise (up to 8 KB) between frames
  HTTP      slow clients that never finish a request, 64 KB headers, random
            bytes, 50 connections at once, and a legitimate client polling
            /api/reading throughout
  reboots   deliberate ones through the network (POST /setup with the admin
            password: the dongle saves, exits with "reboot me", the runner
            starts it again), with clients hammering it meanwhile

Every fault is of a kind whose outcome is fixed, and is counted when sent
(a P1 telegram with a flipped bit or dropped bytes fails its CRC, one cut
short is malformed; a binary frame damaged any way fails its FCS), and
line noise never holds a frame-start byte, so it must cost nothing. A
CPython hanport.Decoder fed exactly the bytes delivered checks the
bookkeeping. The dongle's counters are summed over its boots.

Pass: every valid frame delivered decoded (frames_ok equal), /api/status's
rejection counters equal to the faults sent, publishing resumed after every
broker restart, heap peak within the budget and no MemoryError, no exit or
task restart but the deliberate reboots, every HTTP client answered as it
deserves (or refused while the dongle reboots), and at the end /api/reading
and MQTT carry the last frame's values. Prints the figures; exit status 1
on failure (with the reasons), 2 when it cannot run (no mosquitto).

host_tests/test_soak.py runs a short one (two simulated hours) in make test.

The command is tools/soak.py; the meter's end of the line is the
simulator's (meter_sim.MeterLine); the package: model.py (the meter's pace
and the faults with a known outcome), clients.py (the HTTP clients), run.py
(the soak), report.py (its verdict and figures), cli.py (the command line).
"""
