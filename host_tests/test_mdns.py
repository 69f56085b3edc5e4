"""The dongle's name on the network (issue 14): its mDNS responder
(firmware/dongle/mdns.py) found and resolved by python-zeroconf, the
library Home Assistant discovers devices with, through real sockets, and
a legacy unicast query answered as dig sends it.

Every mDNS packet stays inside a network namespace the test makes with
`unshare -n` (only a loopback interface; mdns_ns.py runs there): the
machine's real interfaces never see one. Where namespaces cannot be made
(not root, no unshare) the tests skip and say so."""
import json
import shutil
import subprocess
import sys

import pytest
from zeroconf import DNSIncoming

from testkit import mpy
from testkit.rig import Dongle, Meter, wait_until

HELPER = mpy.ROOT / "host_tests" / "mdns_ns.py"
HOST = "hanport-d4e5f6"            # mdns_ns.DEVICE_ID's last 6


def namespaces():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (iproute2) not installed"
    r = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if r.returncode:
        return "cannot make a network namespace here (%s): mDNS tests need root or user namespaces" % (
            r.stderr.decode().strip() or r.returncode)
    return None


def in_namespace(tmp_path, *flags):
    why = namespaces()
    if why:
        pytest.skip(why)
    r = subprocess.run(["unshare", "-n", sys.executable, str(HELPER), str(tmp_path)] + list(flags),
                       capture_output=True, timeout=180)
    out = r.stdout.decode()
    assert r.returncode == 0, out[-3000:] + r.stderr.decode()[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def has_homewizard_key():
    text = (mpy.ROOT / "firmware" / "dongle" / "config.py").read_text()
    return '"homewizard":' in text


def records(reply_hex):
    msg = DNSIncoming(bytes.fromhex(reply_hex))
    assert msg.valid and not msg.is_query()
    return msg


def test_zeroconf_finds_the_page_and_a_legacy_query_is_answered(tmp_path):
    r = in_namespace(tmp_path)
    port = r["http_port"]
    http = r["browse"]["_http._tcp.local."]
    assert http == [{"name": HOST + "._http._tcp.local.", "resolved": True, "server": HOST + ".local.",
                     "addresses": ["127.0.0.1"], "port": port, "properties": {"path": "/"}}]
    assert r["hostname"] == HOST
    # legacy unicast (RFC 6762 6.7): the query's id, its question echoed,
    # TTLs of at most 10 s, no cache-flush bit
    a = records(r["legacy"][HOST + ".local"])
    assert a.id == 0x4242 and [(q.name, q.type) for q in a.questions] == [(HOST + ".local.", 1)]
    [rec] = a.answers()
    assert rec.type == 1 and rec.address == bytes([127, 0, 0, 1]) and rec.ttl <= 10 and not rec.unique
    ptr = records(r["legacy"]["_http._tcp.local"])
    assert [q.name for q in ptr.questions] == ["_http._tcp.local."]
    by_type = {x.type: x for x in ptr.answers()}
    assert by_type[12].alias == HOST + "._http._tcp.local."
    assert by_type[33].port == port and by_type[33].server == HOST + ".local."
    assert by_type[16].text == b"\x06path=/"
    assert by_type[1].address == bytes([127, 0, 0, 1])
    # the HomeWizard service is not offered while its API is off
    assert r["legacy"]["_hwenergy._tcp.local"] is None
    # six malformed packets: counted, ignored, and the next query answered
    st = r["status"]
    assert st["malformed"] - r["status_before_junk"]["malformed"] == 6
    assert r["after_junk"] == r["legacy"][HOST + ".local"]
    assert st["services"] == ["_http._tcp"] and st["name"] == HOST + ".local"
    assert "Traceback" not in r["log"], r["log"]


@pytest.mark.skipif(not has_homewizard_key(), reason="config homewizard not in this tree yet "
                    "(issue 14's HomeWizard API adds it): _hwenergy._tcp not testable")
def test_zeroconf_finds_the_homewizard_api(tmp_path):
    r = in_namespace(tmp_path, "--homewizard")
    port = r["http_port"]
    [hw] = r["browse"]["_hwenergy._tcp.local."]
    # the TXT keys Home Assistant's HomeWizard integration checks
    assert hw == {"name": HOST + "._hwenergy._tcp.local.", "resolved": True, "server": HOST + ".local.",
                  "addresses": ["127.0.0.1"], "port": port,
                  "properties": {"api_enabled": "1", "path": "/api/v1", "serial": "a1b2c3d4e5f6",
                                 "product_name": "P1 meter (hanport)", "product_type": "HWE-P1"}}
    assert len(r["browse"]["_http._tcp.local."]) == 1
    ptr = records(r["legacy"]["_hwenergy._tcp.local"])
    assert {x.type for x in ptr.answers()} == {1, 12, 16, 33}


def test_mdns_stays_on_loopback(tmp_path):
    """The namespace's multicast route leads out of a veth interface, as a
    PC's would lead to its LAN: nothing of the dongle's comes out of it
    (a datagram sent the default way does: the capture works), and a
    query from that interface's address is not answered, only counted."""
    r = in_namespace(tmp_path, "--leak-check")
    assert r["browse"]["_http._tcp.local."][0]["resolved"]
    assert r["leaked"] == []
    assert r["control"] >= 1
    assert r["lan_reply"] is None and r["status"]["ignored"] == 1


def test_mdns_off_loads_nothing(tmp_path):
    """Config mdns false: no responder (status says null) and no socket
    on 5353; the hostname is still shown."""
    meter = Meter()
    d = Dongle(tmp_path, {"board": "unix", "wifi": {"ssid": "home", "password": "wifi-pass-1"}, "mdns": False,
                          "hostname": "kitchen-meter", "meter": {"port": "tcp://127.0.0.1:%d" % meter.port}})
    try:
        wait_until(lambda: d.status()["uptime_s"] >= 2, 10, what="two seconds up")
        st = d.status()
        assert st["mdns"] is None and st["hostname"] == "kitchen-meter"
        pid = str(d.proc.pid)
        ss = subprocess.run(["ss", "-uanp"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
        assert not [line for line in ss.splitlines() if ":5353 " in line and "pid=%s," % pid in line]
    finally:
        d.stop()
        meter.close()


def test_setup_saved_page_names_the_dongle(tmp_path):
    """The setup flow's last screen says where to find the dongle: its
    name on the network (the new one, when the form changed nothing of it)."""
    meter = Meter()
    admin = "admin-pass-123"
    d = Dongle(tmp_path, {"board": "unix", "admin_password": admin, "mdns": False,
                          "wifi": {"ssid": "home", "password": "wifi-pass-1"},
                          "meter": {"port": "tcp://127.0.0.1:%d" % meter.port}}, device_id="a1b2c3d4e5f6")
    try:
        assert d.status()["hostname"] == HOST
        status, _, page = d.get("/setup", "POST", "current_password=%s&mqtt_host=192.168.1.9" % admin,
                                {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and b"Saved" in page
        assert b'<a href="http://%s.local/">' % HOST.encode() in page
    finally:
        d.stop()
        meter.close()
