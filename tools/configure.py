"""make config: write config.json from a few questions, checked as the
dongle checks it. An existing file's values are offered as defaults; an
empty answer keeps the default, "-" clears it. `make deploy
CONFIG=config.json` installs it.

Every key is documented in README.md ("Configuration")."""
import argparse
import getpass
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "firmware"))
from dongle import config, serialcfg  # noqa: E402


def boards():
    return sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "boards")) if f.endswith(".json"))


class Asker:
    def __init__(self, stream_in):
        self.tty = stream_in.isatty()

    def ask(self, question, default="", secret=False, check=None):
        while True:
            shown = ("(set, Enter keeps it)" if secret and default else default)
            prompt = "%s [%s; - clears]: " % (question, shown) if shown != "" else "%s: " % question
            if secret and self.tty:
                answer = getpass.getpass(prompt)
            else:
                print(prompt, end="", flush=True)
                answer = sys.stdin.readline()
                if answer == "":
                    sys.exit("\nconfig: input ended; nothing written")
                answer = answer.rstrip("\n")
            value = answer.strip() if answer.strip() else default
            if answer.strip() == "-":
                value = ""                      # "-" clears an answer
            why = check(value) if check else ""
            if not why:
                return value
            print("  " + why)


def check_key(v):
    if v and not config._is_hex_key(v):
        return "a key is 32 hex digits (or empty for an unencrypted meter)"
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="config.json")
    args = ap.parse_args()
    cfg = config.from_dict({})[0]
    if os.path.exists(args.out):
        cfg, problems = config.load(args.out)
        for p in problems:
            print("existing %s: %s" % (args.out, p))
    a = Asker(sys.stdin)
    names = boards()
    print("Boards: " + ", ".join(names))
    cfg["board"] = a.ask("Board", cfg["board"], check=lambda v: "" if v in names else "one of: " + ", ".join(names))
    cfg["wifi"]["ssid"] = a.ask("Wi-Fi network name (SSID)", cfg["wifi"]["ssid"],
                                check=lambda v: "" if v else "the dongle needs a Wi-Fi network")
    cfg["wifi"]["password"] = a.ask("Wi-Fi password", cfg["wifi"]["password"], secret=True)
    cfg["mqtt"]["host"] = a.ask("MQTT broker host (empty: no MQTT)", cfg["mqtt"]["host"])
    if cfg["mqtt"]["host"]:
        port = a.ask("MQTT port (0: 1883, 8883 with TLS)", str(cfg["mqtt"]["port"]),
                     check=lambda v: "" if v.isdigit() and int(v) < 65536 else
                     "a port number from 0 to 65535 (0: 1883, or 8883 with TLS)")
        cfg["mqtt"]["port"] = int(port)
        cfg["mqtt"]["user"] = a.ask("MQTT user (empty: none)", cfg["mqtt"]["user"])
        if cfg["mqtt"]["user"]:
            cfg["mqtt"]["password"] = a.ask("MQTT password", cfg["mqtt"]["password"], secret=True)
    if cfg["board"] == "unix":
        # the virtual dongle reads its meter from a TCP port (tools/meter_sim.py --tcp N) or a tty
        cfg["meter"]["port"] = a.ask("Meter port (tcp://127.0.0.1:7000 for meter_sim.py --tcp 7000, or a tty)",
                                     cfg["meter"]["port"] or "tcp://127.0.0.1:7000",
                                     check=lambda v: "" if v.startswith(("tcp://", "/")) else
                                     "tcp://host:port or a tty path")
    choices = ("auto",) + serialcfg.NAMES
    cfg["meter"]["serial"] = a.ask("Meter serial settings (%s)" % ", ".join(choices), cfg["meter"]["serial"],
                                   check=lambda v: "" if v in choices else "one of: " + ", ".join(choices))
    cfg["meter"]["key"] = a.ask("Decryption key for encrypted meters (32 hex digits, empty: none)",
                                cfg["meter"]["key"], secret=True, check=check_key)
    if cfg["meter"]["key"]:
        cfg["meter"]["auth_key"] = a.ask("Authentication key (32 hex digits, empty: none)",
                                         cfg["meter"]["auth_key"], secret=True, check=check_key)
    cfg["admin_password"] = a.ask("Admin password (needed to change settings over the network; 8+ characters)",
                                  cfg["admin_password"], secret=True,
                                  check=lambda v: "" if len(v) >= 8 else "at least 8 characters")
    final, problems = config.from_dict(cfg)
    if problems:
        sys.exit("config: " + "; ".join(problems))
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(final, f, indent=1)
    os.replace(tmp, args.out)
    print("config: wrote %s; install it with `make deploy PORT=... CONFIG=%s`" % (args.out, args.out))


if __name__ == "__main__":
    main()
