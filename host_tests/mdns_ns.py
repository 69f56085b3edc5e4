"""Run inside a network namespace of its own (test_mdns.py starts it with
`unshare -n`): only a loopback interface, brought up with multicast and a
multicast route, so nothing here can reach the machine's real interfaces.
Starts a virtual dongle with mDNS on, then asks it the way Home Assistant
does (python-zeroconf on a real socket) and the way dig does (a legacy
unicast query), and prints what it found as JSON on its last line.

    python mdns_ns.py TMPDIR [--homewizard] [--leak-check]

--leak-check adds a veth pair whose end v0 carries the namespace's
multicast route (as a PC's LAN interface would) and records every packet
that comes out of it: the virtual dongle must send none."""
import json
import pathlib
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
for p in (HERE.parent / "lib", HERE.parent / "tools", HERE):
    sys.path.insert(0, str(p))

from testkit import rig  # noqa: E402

DEVICE_ID = "a1b2c3d4e5f6"


def sh(*cmd):
    subprocess.run(cmd, check=True)


def setup(leak_check):
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "set", "lo", "multicast", "on")
    if not leak_check:
        sh("ip", "route", "add", "224.0.0.0/4", "dev", "lo")
        return None
    sh("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    for dev in ("v0", "v1"):
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % dev, "w") as f:
            f.write("1")                       # (no router solicitations to count)
        sh("ip", "link", "set", dev, "up")
    sh("ip", "addr", "add", "10.9.9.1/24", "dev", "v0")
    sh("ip", "route", "add", "224.0.0.0/4", "dev", "v0")
    seen = []
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))   # ETH_P_ALL
    s.bind(("v1", 0))
    s.settimeout(0.2)

    def capture():
        while True:
            try:
                frame = s.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            seen.append(frame.hex()[:120])
    threading.Thread(target=capture, daemon=True).start()
    return seen


def query(name, qtype):
    q = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def legacy_query(name, qtype=12, port=5353):
    """A legacy unicast query (RFC 6762 6.7) from an ephemeral port, as dig
    sends it: (reply bytes or None)."""
    q = query(name, qtype)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("127.0.0.1", port))
    try:
        return s.recvfrom(1500)[0]
    except socket.timeout:
        return None
    finally:
        s.close()


def browse(types):
    """python-zeroconf, as Home Assistant runs it, on the loopback
    interface: every service of each type, resolved."""
    from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf
    zc = Zeroconf(interfaces=["127.0.0.1"])
    found = {t: set() for t in types}

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added:
            found[service_type].add(name)
    browsers = [ServiceBrowser(zc, t, handlers=[on_change]) for t in types]
    out = {}
    try:
        end = time.time() + 10
        while time.time() < end and not all(found.values()):
            time.sleep(0.1)
        for t in types:
            out[t] = []
            for name in sorted(found[t]):
                info = ServiceInfo(t, name)
                ok = info.request(zc, 3000)
                out[t].append({"name": name, "resolved": ok, "server": info.server,
                               "addresses": info.parsed_addresses(), "port": info.port,
                               "properties": {k.decode(): (v.decode() if v is not None else None)
                                              for k, v in (info.properties or {}).items()}})
    finally:
        for b in browsers:
            b.cancel()
        zc.close()
    return out


def main():
    tmp = pathlib.Path(sys.argv[1])
    homewizard = "--homewizard" in sys.argv
    leaked = setup("--leak-check" in sys.argv)
    cfg = {"board": "unix", "wifi": {"ssid": "home", "password": "wifi-pass-1"}, "mdns": True}
    if homewizard:
        cfg["homewizard"] = True
    d = rig.Dongle(tmp, cfg, device_id=DEVICE_ID)
    result = {}
    try:
        rig.wait_until(lambda: d.status()["mdns"] and d.status()["mdns"].get("answered", 0) >= 1, 15,
                       what="the dongle's mDNS announcement")
        result["http_port"] = d.http_port
        types = ["_http._tcp.local."] + (["_hwenergy._tcp.local."] if homewizard else [])
        result["browse"] = browse(types)
        host = "hanport-%s.local" % DEVICE_ID[-6:]
        replies = {}
        for name, qtype in ((host, 1), ("_http._tcp.local", 12), ("_hwenergy._tcp.local", 12)):
            r = legacy_query(name, qtype)
            replies[name] = r.hex() if r else None
        result["legacy"] = replies
        before = d.status()["mdns"]
        junk = [b"", b"\x00" * 5, b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
                b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f" + b"a" * 10,
                b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\xff\x00\x00\x01\x00\x01",
                bytes((i * 37 + 11) & 0xFF for i in range(300))]
        for j in junk:
            _send(j)
        time.sleep(0.5)
        r = legacy_query(host, 1)
        result["after_junk"] = r.hex() if r else None
        result["status_before_junk"] = before
        result["status"] = d.status()["mdns"]
        result["hostname"] = d.status()["hostname"]
        result["log"] = d.log()[-2000:]
        if leaked is not None:
            # a query from the "LAN" address: not answered, counted
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("10.9.9.1", 0))
            s.settimeout(2)
            s.sendto(query(host, 1), ("10.9.9.1", 5353))
            try:
                result["lan_reply"] = s.recvfrom(1500)[0].hex()
            except socket.timeout:
                result["lan_reply"] = None
            s.close()
            result["status"] = d.status()["mdns"]
            time.sleep(1)
            result["leaked"] = list(leaked)
            # the control: a multicast datagram sent the default way does
            # leave by v0 (the capture would see a leak)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"control", ("224.0.0.251", 5354))
            s.close()
            time.sleep(0.5)
            result["control"] = len(leaked) - len(result["leaked"])
    finally:
        d.stop()
    print(json.dumps(result))


def _send(data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, ("127.0.0.1", 5353))
    s.close()


if __name__ == "__main__":
    main()
