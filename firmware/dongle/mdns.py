# A small mDNS responder (RFC 6762, DNS-SD RFC 6763) for the services the
# dongle offers: _http._tcp (its page) and, when the HomeWizard-compatible
# API is on, _hwenergy._tcp with the TXT keys Home Assistant's HomeWizard
# integration reads. Loaded only while config mdns is on (app.py); answers
# PTR, SRV, TXT and A for <hostname>.local and its services, announces them
# at start, and answers legacy unicast queries (6.7: from a port other than
# 5353, answered to the sender with the question echoed), so that
# `dig -p 5353 @127.0.0.1 _http._tcp.local PTR` works. No probing: the
# hostname carries the device id. Malformed packets are counted and dropped.
#
# On the ESP32 the stock firmware's own responder (ESP-IDF's) holds UDP
# 5353 and answers A for the hostname: binding then fails, and run()
# raises OSError for app.py to report (README, Hardware-only notes). On the
# virtual dongle every packet stays on the loopback interface: the group is
# joined there, multicast goes out there, and only loopback senders are
# answered (platform.MDNS_IFACE).
import asyncio
import socket
import struct

from . import platform
from .http import _readable

GROUP = "224.0.0.251"
PORT = 5353
A, PTR, TXT, SRV, ANY = 1, 12, 16, 33, 255
FLUSH = 0x8000                 # cache-flush bit: records only we own
TTL_HOST, TTL_OTHER, TTL_LEGACY = 120, 4500, 10
IP_MULTICAST_IF = 32           # Linux (the unix port has no constant for it)
SERVICES = "_services._dns-sd._udp.local"


def wire(name):
    """"a.b.local" -> DNS wire format, no compression."""
    out = bytearray()
    for part in name.split("."):
        b = part.encode()
        out.append(len(b))
        out += b
    out.append(0)
    return bytes(out)


def read_name(p, i):
    """(lower-case dotted name, offset after it) of the name at p[i],
    compression pointers followed (at most 16). Raises IndexError,
    ValueError or UnicodeError on a malformed name."""
    labels = []
    end = None
    jumps = 0
    while True:
        n = p[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0 == 0xC0:
            jumps += 1
            if jumps > 16:
                raise ValueError("pointer loop")
            if end is None:
                end = i + 2
            i = ((n & 0x3F) << 8) | p[i + 1]
            continue
        if n & 0xC0 or i + 1 + n > len(p):
            raise ValueError("bad label")
        labels.append(bytes(p[i + 1:i + 1 + n]).decode().lower())
        i += 1 + n
    return ".".join(labels), (i if end is None else end)


def questions(p):
    """(id, [(name, type)], end of the question section) of a query;
    None for a response (ignored). Raises on a malformed packet."""
    if len(p) < 12:
        raise ValueError("short")
    qid, flags, qd = struct.unpack_from(">HHH", p, 0)
    if flags & 0x8000:
        return None
    if flags & 0x7800 or qd > 16:              # not a standard query
        raise ValueError("opcode or count")
    out = []
    i = 12
    for _ in range(qd):
        name, i = read_name(p, i)
        if i + 4 > len(p):
            raise ValueError("short question")
        out.append((name, (p[i] << 8) | p[i + 1]))
        i += 4
    return qid, out, i


def services(app):
    """What the dongle offers: its page, and the HomeWizard-compatible API
    (config homewizard) with the TXT keys Home Assistant's HomeWizard
    integration checks (api_enabled, path, serial, product_name,
    product_type)."""
    out = [("_http._tcp", app.http_port, [b"path=/"])]
    if app.cfg.get("homewizard"):
        out.append(("_hwenergy._tcp", app.http_port,
                    [b"api_enabled=1", b"path=/api/v1", b"serial=" + app.device_id.encode(),
                     b"product_name=P1 meter (hanport)", b"product_type=HWE-P1"]))
    return out


def rr(name, rtype, ttl, rdata, flush):
    return wire(name) + struct.pack(">HHIH", rtype, 1 | (FLUSH if flush else 0), ttl, len(rdata)) + rdata


class Responder:
    def __init__(self, hostname, wifi, services):
        """services: (type such as "_http._tcp", port, [b"key=value", ...])."""
        self.host = hostname.lower() + ".local"
        self.label = hostname
        self.wifi = wifi
        self.services = services
        self.queries = self.answered = self.malformed = self.ignored = self.send_errors = 0
        self.sock = None
        self.iface = platform.MDNS_IFACE

    def status(self):
        return {"name": self.host, "services": [s[0] for s in self.services], "queries": self.queries,
                "answered": self.answered, "malformed": self.malformed, "ignored": self.ignored,
                "send_errors": self.send_errors}

    def _open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(socket.getaddrinfo("0.0.0.0", PORT)[0][-1])
            iface = bytes(int(x) for x in (self.iface or "0.0.0.0").split("."))
            s.setsockopt(0, socket.IP_ADD_MEMBERSHIP, bytes(int(x) for x in GROUP.split(".")) + iface)
            if self.iface:
                s.setsockopt(0, IP_MULTICAST_IF, iface)
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        self.sock = s
        self.group = socket.getaddrinfo(GROUP, PORT)[0][-1]

    def _records(self, qname, qtype, ttl_scale):
        """(answers, additionals) for one question, as (key, bytes) pairs."""
        an, ad = [], []
        ip = self.wifi.ip()

        def a_rec():
            if ip:
                return ("A", rr(self.host, A, min(TTL_HOST, ttl_scale), bytes(int(x) for x in ip.split(".")),
                               ttl_scale > TTL_LEGACY))
        flush = ttl_scale > TTL_LEGACY
        for stype, port, txt in self.services:
            full = stype + ".local"
            inst = self.label + "." + full
            srv = ("S" + stype, rr(inst, SRV, min(TTL_HOST, ttl_scale), struct.pack(">HHH", 0, 0, port) +
                                   wire(self.host), flush))
            txr = ("T" + stype, rr(inst, TXT, min(TTL_OTHER, ttl_scale),
                                   b"".join(bytes((len(t),)) + t for t in txt), flush))
            if qname == SERVICES and qtype in (PTR, ANY):
                an.append(("D" + stype, rr(SERVICES, PTR, min(TTL_OTHER, ttl_scale), wire(full), False)))
            elif qname == full and qtype in (PTR, ANY):
                an.append(("P" + stype, rr(full, PTR, min(TTL_OTHER, ttl_scale), wire(inst), False)))
                ad += [srv, txr, a_rec()]
            elif qname == inst.lower():
                if qtype in (SRV, ANY):
                    an.append(srv)
                    ad.append(a_rec())
                if qtype in (TXT, ANY):
                    an.append(txr)
        if qname == self.host and qtype in (A, ANY):
            an.append(a_rec())
        return an, ad

    def response(self, qs, ttl_scale=TTL_OTHER, qid=0, echo=b""):
        """The response packet to questions qs, or None when none is ours.
        A legacy unicast answer (ttl_scale TTL_LEGACY) carries the query's
        id and echoes its question section (echo: the query's bytes from 12
        on, so its compression pointers still point right)."""
        an, ad = [], []
        for qname, qtype in qs:
            a, b = self._records(qname, qtype & 0x7FFF, ttl_scale)
            an += a
            ad += b
        seen = set()
        parts = [[], []]
        for n, recs in enumerate((an, ad)):
            for r in recs:
                if r is not None and r[0] not in seen:
                    seen.add(r[0])
                    parts[n].append(r[1])
        if not parts[0]:
            return None
        head = struct.pack(">HHHHHH", qid, 0x8400, len(qs) if echo else 0, len(parts[0]), 0, len(parts[1]))
        return head + echo + b"".join(parts[0]) + b"".join(parts[1])

    def announcement(self):
        qs = [(SERVICES, PTR)]
        for stype, _, _ in self.services:
            qs.append((stype + ".local", PTR))
        return self.response(qs)

    def _send(self, data, addr):
        try:
            self.sock.sendto(data, addr)
            self.answered += 1
        except OSError:
            self.send_errors += 1

    def handle(self, p, addr):
        """One packet from addr (as recvfrom gives it: (ip, port) on the
        ESP32, a sockaddr on the unix port)."""
        if isinstance(addr, tuple):
            ip, port = addr[0], addr[1]
        else:
            ip, port = "%d.%d.%d.%d" % tuple(addr[4:8]), (addr[2] << 8) | addr[3]
        if self.iface and not ip.startswith("127."):
            self.ignored += 1              # (the virtual dongle answers loopback only)
            return
        try:
            q = questions(p)
        except (IndexError, ValueError, UnicodeError):
            self.malformed += 1
            return
        if q is None:
            return                         # a response: someone else's
        self.queries += 1
        qid, qs, end = q
        if port != PORT:                   # legacy unicast: to the sender, question echoed
            r = self.response(qs, TTL_LEGACY, qid, bytes(p[12:end]))
            if r:
                self._send(r, addr)
            return
        r = self.response(qs)
        if r:
            self._send(r, self.group)

    async def run(self):
        """Waits for Wi-Fi, opens the socket (OSError when the port is
        taken), announces twice a second apart, then answers."""
        while not self.wifi.connected():
            await asyncio.sleep(2)
        self._open()
        s = self.sock
        try:
            for _ in range(2):
                self._send(self.announcement(), self.group)
                await asyncio.sleep(1)
            while True:
                await _readable(s)
                try:
                    p, addr = s.recvfrom(1500)
                except OSError:
                    continue
                self.handle(p, addr)
        finally:
            s.close()
            self.sock = None
