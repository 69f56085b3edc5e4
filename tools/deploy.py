"""make deploy: put build/ on a board (or the virtual dongle's pty) with
mpremote, only what changed; config.json when given; umqtt.simple when the
board lacks it; then a soft reset while attached to the console, whose first
lines it shows (tools/console.py), leaving the firmware running.

A config.json without a setup-network password gets a random one, printed
here: it is the WPA2 key of the "HAN-setup-xxxxxx" network the dongle opens
while it has no Wi-Fi to join. It is written back into the local config
file, so the next deploy of that file keeps it (git ignores config*.json;
deploy warns about a config file inside the repository that git would
commit)."""
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
    password (a new one is kept in the user's file); written to a temporary
    file. Returns (path, password or None)."""
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
    if board and given.get("board") and given["board"] != board:
        print("deploy: WARNING: %s says board %s, the build is for BOARD=%s: installed with board %s "
              "(its pins); give the BOARD you chose in make config" % (path, given["board"], board, board))
    if board:
        given["board"] = board
    made = None
    setup = given.setdefault("setup", {})
    if not setup.get("ap_password"):
        setup["ap_password"] = made = new_password()
        if path:
            keep_password(path, made)
    elif path:
        print("setup network password (WPA2): %s (from %s)" % (setup["ap_password"], path))
    fd, tmp = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(given, f, indent=1)
    return tmp, made


def keep_password(path, password):
    """Write a new setup-network password into the user's config file: the
    same config deployed again keeps the same password."""
    with open(path) as f:
        mine = json.load(f)
    mine.setdefault("setup", {})["ap_password"] = password
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(mine, f, indent=1)
    os.replace(tmp, path)
    print("deploy: the new setup-network password is kept in %s for the next deploys" % path)
    where = os.path.realpath(path)
    if where.startswith(ROOT + os.sep):
        r = subprocess.run(["git", "check-ignore", "-q", where], cwd=ROOT, capture_output=True)
        if r.returncode == 1:
            print("deploy: WARNING: %s holds secrets and git does not ignore it: "
                  "name it config*.json or add it to .gitignore" % path)


def board_on_device(port):
    r = run(port, "exec", "import json\ntry:\n print(json.load(open('config.json')).get('board'))\n"
            "except Exception:\n print(None)", check=False, capture=True)
    return r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else None


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
    with open(os.path.join(build, "config.template.json")) as f:
        built = json.load(f)["board"]
    board = args.board or built
    port = args.port
    run(port, "fs", "cp", "-r", os.path.join(build, "lib"), ":",
        "+", "fs", "cp", "-r", os.path.join(build, "boards"), ":",
        "+", "fs", "cp", "-r", os.path.join(build, "www"), ":",
        "+", "fs", "cp", os.path.join(build, "boot.py"), ":boot.py",
        "+", "fs", "cp", os.path.join(build, "trial.py"), ":trial.py",
        "+", "fs", "cp", os.path.join(build, "slotpick.py"), ":slotpick.py",
        "+", "fs", "cp", os.path.join(build, "main.py"), ":main.py")
    # what USB installs runs: no slot of an update over Wi-Fi is picked any more
    run(port, "exec", "import os\ntry:\n os.remove('slot.json')\nexcept OSError:\n pass", capture=True)
    has_config = run(port, "exec", "import os; print('config.json' in os.listdir())",
                     capture=True).stdout.strip().endswith("True")
    if has_config and not args.config:
        kept = board_on_device(port)
        if kept and kept != board:
            print("deploy: WARNING: the dongle's config.json says board %s and is kept (no CONFIG given): "
                  "BOARD=%s is not applied. Give CONFIG=... with board %s, or choose the board on the "
                  "setup page" % (kept, board, board))
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
        sys.path.insert(0, HERE)
        import console
        print("deploy: soft reset; the dongle's start:")
        seen = console.restart_and_show(port)
        if console.DONE not in seen:
            print("deploy: its start did not show within 12 s; `make monitor PORT=%s` attaches" % port)
        print("deploy: the firmware runs; `make monitor PORT=%s` shows its console" % port)
    else:
        print("deploy: not reset: the firmware is stopped until `make restart PORT=%s`" % port)
    print("deploy: done")


if __name__ == "__main__":
    main()
