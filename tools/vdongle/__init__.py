# The virtual dongle (tools/vdongle.py is its command line): repl.py and
# readline.py speak MicroPython's REPL with no process or port, board.py
# owns the pty and the boots, process.py one MicroPython process; agent.py
# and modules/ run under MicroPython.
