"""Every 1000th input, and each adversarial stream, runs through
MicroPython's unix port as well (tools/testkit/mp_driver.py): no
exception, the same readings and counters as CPython."""
import os
import subprocess
import sys
import tempfile

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(TOOLS, "testkit", "mp_driver.py")
LIB = os.path.join(os.path.dirname(TOOLS), "lib")
TIMEOUT = 3600            # s for each interpreter's pass over the cases


def mp_compare(cases, workdir=None, bits=64):
    """Run cases through tools/testkit/mp_driver.py on CPython and on
    MicroPython's unix port (64-bit, or the 32-bit build) -> failure text
    or None."""
    from testkit import mpy
    lines = []
    for case in cases:
        ek, ak = case.keys
        lines.append("CASE %s %s" % (ek.hex() if ek else "-", ak.hex() if ak else "-"))
        lines.extend("CHUNK " + chunk.hex() for chunk in case.chunks if chunk)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = os.path.join(tmp, "cases.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        cpy = subprocess.run([sys.executable, DRIVER, LIB, path], capture_output=True, timeout=TIMEOUT)
        if cpy.returncode:
            return "CPython driver failed: %s" % cpy.stderr.decode()[-2000:]
        mp = mpy.run([DRIVER, LIB, path], timeout=TIMEOUT, bits=bits)
    a, b = cpy.stdout.decode().splitlines(), mp.stdout.decode().splitlines()
    if mp.returncode:       # the driver prints STATS after each case it finished
        case = cases[min(len(cases) - 1, sum(line.startswith("STATS") for line in b))]
        return "MicroPython raised on input #%d (%s): %s" % (case.index, case.kind, mp.stderr.decode()[-2000:])
    case_no = 0
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            case = cases[case_no]
            return ("MicroPython differs from CPython on input #%d (%s), line %d:\n  CPython:     %s\n"
                    "  MicroPython: %s" % (case.index, case.kind, k, x[:300], y[:300]))
        case_no += x.startswith("STATS")
    if len(a) != len(b):
        return "MicroPython printed %d lines, CPython %d" % (len(b), len(a))
    return None
