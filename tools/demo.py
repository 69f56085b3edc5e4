"""make demo (until the firmware runs): a simulated Swedish P1 meter's
stream, decoded by hanport, one JSON reading per telegram."""
import argparse
import os
import random
import sys
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import hanport  # noqa: E402
from encoders.household import Household  # noqa: E402
from encoders.p1 import swedish_telegram  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=12, help="telegrams to decode")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    meter = Household(datetime(2026, 1, 15, 17, 0, 0), seed=args.seed)
    stream = bytearray(b"\r\n")   # meters often start mid-line
    for _ in range(args.count):
        stream += swedish_telegram(meter)
        meter.advance(10)          # Swedish meters send every 10 s
    decoder = hanport.Decoder()
    i = 0
    while i < len(stream):         # arbitrary chunks, as a UART delivers them
        n = rng.randint(1, 300)
        for reading in decoder.feed(bytes(stream[i:i + n])):
            print(reading.to_json())
        i += n
    print("decoder: %s" % decoder.stats(), file=sys.stderr)


if __name__ == "__main__":
    main()
