"""make deploy: put build/ on a board (or the virtual dongle's pty) with
mpremote, only what changed; config.json when given; umqtt.simple when the
board lacks it; then reset.

A config.json without a setup-network password gets a random one, printed
here: it is the WPA2 key of the "HAN-setup-xxxxxx" network the dongle opens
while it has no Wi-Fi to join."""
import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UMQTT = os.path.join(ROOT, ".venv", "mplib", "umqtt", "simple.py")
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def mpremote():
    exe = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return exe if os.path.exists(exe) else "mpremote"


def run(port, *args, check=True, capture=False):
    cmd = [mpremote(), "connect", port] + list(args)
    print("$ " + " ".join(cmd[1:]))
    r = subprocess.run(cmd, capture_output=capture, text=True, timeout=300)
    if check and r.returncode != 0:
        sys.exit("deploy: mpremote failed (%d)%s" % (r.returncode, (": " + r.stderr.strip()) if capture else ""))
    return r


def new_password():
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def prepared_config(path, board):
    """The user's config (or the template), checked, with a setup-network
    password; written to a temporary file. Returns (path, password or None)."""
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from dongle import config
    if path:
        with open(path) as f:
            try:
                given = json.load(f)
            except ValueError as e:
                sys.exit("deploy: %s is not valid JSON: %s" % (path, e))
        cfg, problems = config.from_dict(given)
        if problems:
            sys.exit("deploy: %s has problems:\n  %s" % (path, "\n  ".join(problems)))
    else:
        with open(os.path.join(ROOT, "build", "config.template.json")) as f:
            given = json.load(f)
    if board:
        given["board"] = board
    made = None
    setup = given.setdefault("setup", {})
    if not setup.get("ap_password"):
        setup["ap_password"] = made = new_password()
    fd, tmp = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(given, f, indent=1)
    return tmp, made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True, help="serial port of the board, or the virtual dongle's pty")
    ap.add_argument("--config", help="config.json to install (checked first)")
    ap.add_argument("--board", help="board name written into the config (default: the one built)")
    ap.add_argument("--no-reset", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="what make build made (default build/)")
    args = ap.parse_args()
    build = args.build
    if not os.path.exists(os.path.join(build, "main.py")):
        sys.exit("deploy: %s is empty: run `make build BOARD=...` first" % build)
    board = args.board or [f[:-5] for f in os.listdir(os.path.join(build, "boards"))][0]
    port = args.port
    run(port, "fs", "cp", "-r", os.path.join(build, "lib"), ":",
        "+", "fs", "cp", "-r", os.path.join(build, "boards"), ":",
        "+", "fs", "cp", "-r", os.path.join(build, "www"), ":",
        "+", "fs", "cp", os.path.join(build, "boot.py"), ":boot.py",
        "+", "fs", "cp", os.path.join(build, "main.py"), ":main.py")
    has_config = run(port, "exec", "import os; print('config.json' in os.listdir())",
                     capture=True).stdout.strip().endswith("True")
    if args.config or not has_config:
        tmp, password = prepared_config(args.config, board)
        try:
            run(port, "fs", "cp", tmp, ":config.json")
        finally:
            os.remove(tmp)
        if password:
            print("setup network password (WPA2): %s" % password)
            print("  the dongle opens the network HAN-setup-<last 6 of its id> while it has no Wi-Fi;")
            print("  join it and open http://192.168.4.1/setup")
    if run(port, "exec", "import umqtt.simple", check=False, capture=True).returncode != 0:
        if not os.path.exists(UMQTT):
            sys.exit("deploy: %s missing: run `make venv`" % UMQTT)
        run(port, "fs", "mkdir", ":lib/umqtt", check=False, capture=True)
        run(port, "fs", "cp", UMQTT, ":lib/umqtt/simple.py")
        print("deploy: installed umqtt.simple (micropython-umqtt.simple 1.3.4)")
    if not args.no_reset:
        run(port, "reset")
    print("deploy: done")


if __name__ == "__main__":
    main()
