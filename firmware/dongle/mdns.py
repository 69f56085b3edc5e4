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

from micropython import const

from . import platform
from .http import readable

GROUP = "224.0.0.251"
PORT = 5353
A, PTR, TXT, SRV, ANY = 1, 12, 16, 33, 255
FLUSH = 0x8000                 # cache-flush bit: records only we own
_POINTER = const(0xC0)         # a label length byte's top bits: a compression pointer follows
_POINTER_HIGH = const(0x3F)    # (the rest of that byte: the pointer's high bits)
_RESPONSE = const(0x8000)      # header flags: QR, a response
_OPCODE = const(0x7800)        # header flags: the opcode (0: a standard query)
TTL_HOST, TTL_OTHER, TTL_LEGACY = 120, 4500, 10
IP_MULTICAST_IF = 32           # Linux (the unix port has no constant for it)
PACKET_MAX = 512               # a query read (longer ones are cut, and malformed); a
                               # block this size must be free for each one
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
        if n & _POINTER == _POINTER:
            jumps += 1
            if jumps > 16:
                raise ValueError("pointer loop")
            if end is None:
                end = i + 2
            i = ((n & _POINTER_HIGH) << 8) | p[i + 1]
            continue
        if n & _POINTER or i + 1 + n > len(p):
            raise ValueError("bad label")
        labels.append(bytes(p[i + 1:i + 1 + n]).decode().lower())
        i += 1 + n
    return ".".join(labels), (i if end is None else end)


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


class Responder:
    def __init__(self, hostname, wifi, services):
        """services: (type such as "_http._tcp", port, [b"key=value", ...]).
        The records: (name, type, TTL, rdata, the name whose records go
        along as additionals); the A record is made per answer (the address
        may change)."""
        self.host = host = hostname.lower() + ".local"
        self.wifi = wifi
        self.types = []
        self.records = t = []
        for stype, port, txt in services:
            full = stype + ".local"
            inst = hostname.lower() + "." + full
            self.types.append(stype)
            t.append((SERVICES, PTR, TTL_OTHER, wire(full), None))
            t.append((full, PTR, TTL_OTHER, wire(inst), inst))
            t.append((inst, SRV, TTL_HOST, struct.pack(">HHH", 0, 0, port) + wire(host), host))
            t.append((inst, TXT, TTL_OTHER, b"".join(bytes((len(x),)) + x for x in txt), None))
        self.queries = self.answered = self.malformed = self.ignored = self.send_errors = 0
        self.short_of_memory = 0       # queries dropped: no room to read or answer (asked again)
        self.sock = None
        self.iface = platform.MDNS_IFACE

    def _open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(socket.getaddrinfo("0.0.0.0", PORT)[0][-1])
            iface = bytes(int(x) for x in (self.iface or "0.0.0.0").split("."))
            s.setsockopt(0, socket.IP_ADD_MEMBERSHIP, bytes((224, 0, 0, 251)) + iface)
            if self.iface:
                s.setsockopt(0, IP_MULTICAST_IF, iface)
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        self.sock = s
        self.group = socket.getaddrinfo(GROUP, PORT)[0][-1]

    def response(self, qs, legacy=False, qid=0, echo=b""):
        """The response packet to questions qs ((name, type) pairs), or
        None when none is ours. A legacy unicast answer carries the query's
        id, echoes its question section (echo: the query's bytes from 12
        on, so its compression pointers still point right), TTLs of at most
        10 s and no cache-flush bits."""
        ip = self.wifi.ip()
        t = self.records + ([(self.host, A, TTL_HOST, bytes(int(x) for x in ip.split(".")), None)]
                            if ip else [])
        out = []
        for qname, qtype in qs:
            qtype &= 0x7FFF
            for r in t:
                if r[0] == qname and qtype in (r[1], ANY) and r not in out:
                    out.append(r)
        n = len(out)
        if not n:
            return None
        k = 0
        while k < len(out):                # PTR: its SRV and TXT; SRV: the A record
            r = out[k]
            k += 1
            if r[4]:
                for x in t:
                    if x[0] == r[4] and x not in out:
                        out.append(x)
        b = bytearray(struct.pack(">HHHHHH", qid, 0x8400, len(qs) if echo else 0, n, 0, len(out) - n))
        b += echo
        for name, rtype, ttl, rdata, _ in out:
            b += wire(name)
            b += struct.pack(">HHIH", rtype, 1 if legacy or rtype == PTR else 1 | FLUSH,
                             min(ttl, TTL_LEGACY) if legacy else ttl, len(rdata))
            b += rdata
        return b

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
            if len(p) < 12:
                raise ValueError("short")
            qid, flags, qd = struct.unpack_from(">HHH", p, 0)
            if flags & _RESPONSE:
                return                     # a response: someone else's
            if flags & _OPCODE or qd > 16:  # not a standard query
                raise ValueError("opcode or count")
            qs = []
            i = 12
            for _ in range(qd):
                name, i = read_name(p, i)
                if i + 4 > len(p):
                    raise ValueError("short question")
                qs.append((name, (p[i] << 8) | p[i + 1]))
                i += 4
        except (IndexError, ValueError, UnicodeError):
            self.malformed += 1
            return
        self.queries += 1
        if port != PORT:                   # legacy unicast: to the sender, question echoed
            r = self.response(qs, True, qid, bytes(p[12:i]))
            if r:
                self._send(r, addr)
            return
        r = self.response(qs)
        if r:
            self._send(r, self.group)

    def _take(self, s):
        """Read and answer one packet; False when the heap had no room (the
        meter and MQTT come first: the query is lost, a querier asks
        again, the responder stays). A plain call: the packet is not kept
        in the waiting coroutine's frame."""
        try:
            p, addr = s.recvfrom(PACKET_MAX)
            self.handle(p, addr)
        except OSError:
            pass
        except MemoryError:
            self.short_of_memory += 1
            return False
        return True

    async def run(self):
        """Waits for Wi-Fi, opens the socket (OSError when the port is
        taken), announces twice a second apart, then answers."""
        while not self.wifi.connected():
            await asyncio.sleep(2)
        self._open()
        s = self.sock
        try:
            for _ in range(2):
                self._send(self.response([(r[0], PTR) for r in self.records if r[1] == PTR]), self.group)
                await asyncio.sleep(1)
            while True:
                await readable(s)
                if not self._take(s):
                    await asyncio.sleep_ms(200)
        finally:
            s.close()
            self.sock = None
