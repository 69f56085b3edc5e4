"""make ota / make backup / make restore: talk to a running dongle over
the network, with its admin password (PASSWORD=..., else asked for).

    ota.py update  --host HOST[:PORT] [--bundle build/hanport.bundle]
    ota.py backup  --host HOST[:PORT] [--out FILE] [--secrets]
    ota.py restore --host HOST[:PORT] --file FILE

update: checks the bundle is for the dongle's board and chip (the dongle
checks again), sends it to POST /api/update, then follows the dongle
through its reboot until the new version is healthy, or rolled back (and
says why). backup: GET /api/backup into a file (secrets only with
--secrets). restore: POST /api/restore; the dongle checks the file whole
and applies it, or changes nothing and says why."""
import argparse
import getpass
import http.client
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def split_host(host):
    h, _, p = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return (h, int(p)) if p else (host, 80)


def request(host, method, path, body=None, length=None, password=None, timeout=30):
    h, p = split_host(host)
    c = http.client.HTTPConnection(h, p, timeout=timeout)
    headers = {}
    if password is not None:
        # as UTF-8, as the setup page and curl send it (http.client would
        # send Latin-1, and refuse "€")
        headers["X-Admin-Password"] = password.encode()
    if body is not None:
        headers["Content-Length"] = str(length if length is not None else len(body))
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def status(host, timeout=10):
    code, data = request(host, "GET", "/api/status", timeout=timeout)
    if code != 200:
        raise OSError("/api/status answered %d" % code)
    return json.loads(data)


def bundle_header(path):
    head = {}
    with open(path, "rb") as f:
        if f.readline() != b"HANPORT-BUNDLE 1\n":
            sys.exit("ota: %s is not a hanport bundle (make build writes build/hanport.bundle)" % path)
        for _ in range(20):
            line = f.readline().decode().rstrip("\n")
            if not line:
                return head
            k, _, v = line.partition(" ")
            head[k] = v
    sys.exit("ota: %s: bundle header too long" % path)


def password(args):
    pw = os.environ.get("HANPORT_PASSWORD") or args.password
    return pw if pw else getpass.getpass("admin password of the dongle: ")


def fail(code, data):
    try:
        why = json.loads(data)["error"]
    except (ValueError, KeyError, TypeError):
        why = data[:200].decode("utf-8", "replace")
    sys.exit("ota: the dongle answered %d: %s" % (code, why))


def update(args):
    head = bundle_header(args.bundle)
    st = status(args.host)
    u = st.get("update") or {}
    board, chip = st.get("board"), u.get("chip")
    if chip is None:
        sys.exit("ota: the dongle runs %s, which takes no updates over the network: `make deploy` over USB "
                 "once" % st.get("firmware"))
    if head.get("chip") != chip or board not in head.get("boards", "").split():
        sys.exit("ota: refused: %s was built for board %s (chip %s); the dongle is board %s (chip %s). "
                 "Build for it: make ota BOARD=%s HOST=%s" % (args.bundle, head.get("board"), head.get("chip"),
                                                               board, chip, board, args.host))
    new = head["version"] + ("+" + head["build"] if head.get("build") else "")
    was = u.get("version", "") + ("+" + u["build"] if u.get("build") else "")
    size = os.path.getsize(args.bundle)
    print("ota: sending %s (%s, %d bytes) to %s, which runs %s" % (args.bundle, new, size, args.host, was))
    t0 = time.time()
    pw = password(args)
    for _ in range(10):                 # 503: the dongle's heap is short for the moment
        with open(args.bundle, "rb") as f:
            code, data = request(args.host, "POST", "/api/update", f, size, pw, timeout=60)
        if code != 503:
            break
        print("ota: the dongle is busy (low on memory); trying again in 2 s")
        time.sleep(2)
    if code != 200:
        fail(code, data)
    ans = json.loads(data)
    print("ota: written and checked in %.1f s; slot %s; rebooting; it has %d s and %d boots to prove itself"
          % (time.time() - t0, ans["slot"], ans["window_s"], ans["boots"]))
    if args.no_wait:
        return
    end = time.time() + ans["window_s"] * ans["boots"] + 60
    time.sleep(2)
    seen = None
    while time.time() < end:
        try:
            u = status(args.host, 3).get("update") or {}
        except (OSError, ValueError, http.client.HTTPException):
            time.sleep(1)
            continue
        running = u.get("version", "") + ("+" + u["build"] if u.get("build") else "")
        if u.get("rollback") and u["rollback"].get("version") == new:
            sys.exit("ota: the update was rolled back: %s; %s runs, as before" % (u["rollback"]["why"], running))
        if running == new and u.get("state") == "good":
            print("ota: %s runs and is healthy (slot %s); done" % (new, u.get("slot")))
            return
        if u.get("state") != seen:
            seen = u.get("state")
            print("ota: %s %s" % (running, "on trial" if seen == "trial" else seen))
        time.sleep(1)
    sys.exit("ota: no word from the dongle on the update's outcome; see /api/status")


def backup(args):
    q = "?secrets=1" if args.secrets else ""
    code, data = request(args.host, "GET", "/api/backup" + q, password=password(args))
    if code != 200:
        fail(code, data)
    json.loads(data)                        # whole
    out = args.out or "hanport-backup-%s.json" % time.strftime("%Y%m%d-%H%M%S")
    with open(out, "wb") as f:
        f.write(data)
    if args.secrets:
        os.chmod(out, 0o600)
    print("backup: %s (%d bytes)%s" % (out, len(data), ", with secrets: keep it private" if args.secrets
                                       else "; secrets left out (the dongle keeps its own on restore)"))


def restore(args):
    with open(args.file, "rb") as f:
        data = f.read()
    code, ans = request(args.host, "POST", "/api/restore", data, password=password(args))
    if code != 200:
        fail(code, ans)
    print("restore: %s took it; it reboots with it" % args.host)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("update", "backup", "restore"):
        p = sub.add_parser(name)
        p.add_argument("--host", required=True, help="the dongle: address or name, :port when not 80")
        p.add_argument("--password", default=None, help="admin password (or HANPORT_PASSWORD; else asked)")
        if name == "update":
            p.add_argument("--bundle", default=os.path.join(ROOT, "build", "hanport.bundle"))
            p.add_argument("--no-wait", action="store_true", help="do not follow the reboot")
        elif name == "backup":
            p.add_argument("--out")
            p.add_argument("--secrets", action="store_true", help="include passwords and keys")
        else:
            p.add_argument("--file", required=True)
    args = ap.parse_args()
    try:
        {"update": update, "backup": backup, "restore": restore}[args.cmd](args)
    except (OSError, http.client.HTTPException) as e:
        sys.exit("%s: %s: %s" % (args.cmd, args.host, e))


if __name__ == "__main__":
    main()
