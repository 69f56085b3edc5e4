# Runs under MicroPython and CPython alike: reads a case file, feeds each
# case's chunks to a fresh hanport.Decoder and prints every reading's JSON
# and the decoder's counters. The tests compare the two outputs byte for byte.
#
# Case file lines:  CASE <key hex or -> <auth key hex or -> [name=mult,...]
#                   CHUNK <hex>      bytes for Decoder.feed
#                   APDU <hex>       bytes for Decoder.decode_apdu
import sys
import binascii

sys.path.insert(0, sys.argv[1])
import hanport  # noqa: E402


def stats_line(dec):
    s = dec.stats()
    return "STATS " + " ".join("%s=%d" % (k, s[k]) for k in sorted(s))


def main(path):
    dec = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("CASE"):
                if dec is not None:
                    print(stats_line(dec))
                parts = line.split()
                key = None if parts[1] == "-" else parts[1]
                auth = None if parts[2] == "-" else parts[2]
                mult = None
                if len(parts) > 3:
                    mult = dict(p.split("=") for p in parts[3].split(","))
                dec = hanport.Decoder(key, auth, mult)
            elif line.startswith("CHUNK"):
                for r in dec.feed(binascii.unhexlify(line[6:])):
                    print(r.to_json())
            elif line.startswith("APDU"):
                for r in dec.decode_apdu(binascii.unhexlify(line[5:])):
                    print(r.to_json())
    if dec is not None:
        print(stats_line(dec))


main(sys.argv[2])
