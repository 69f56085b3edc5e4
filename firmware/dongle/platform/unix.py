# Virtual dongle: the MicroPython unix port standing in for an ESP32.
#   UART      a TCP connection (meter.port = "tcp://host:port"; the serial
#             settings in use are announced to the other end as a line
#             "SERIAL <setting>\n", so a simulator can behave like a meter
#             behind a wrongly set UART) or a tty path (termios, raw).
#   Wi-Fi     connected (HANPORT_WIFI_DOWN_S: only that many seconds after
#             boot, a network out of reach); the setup access point is only
#             recorded, its password checked as the ESP32 checks it.
#   watchdog, LED: recorded for the status page; the data-request pin:
#             nothing to drive.
import asyncio
import os
import sys
import time

NAME = "unix"
RESET_EXIT = 75      # exit status meaning "reboot me" to the runner


def unique_id():
    """Stable per virtual dongle: HANPORT_DEVICE_ID, else from its folder."""
    return os.getenv("HANPORT_DEVICE_ID") or device_id_of(os.getcwd())


def device_id_of(folder):
    """The id of a virtual dongle running in folder (tools/vdongle prints it)."""
    h = 5381
    for ch in folder:
        h = (h * 33 + ord(ch)) & 0xFFFFFFFFFFFF
    return "%012x" % h


def reset():
    """Boards reboot; the virtual dongle exits and its runner restarts it."""
    sys.exit(RESET_EXIT)


def reset_cause():
    return os.getenv("HANPORT_RESET_CAUSE") or "power_on"


def set_hostname(name):
    pass             # the PC keeps its own name; mdns.py answers for the dongle's


def ntp_sync(host):
    return True      # the PC keeps its own time


class Serial:
    """Meter input. open() applies serial settings; readinto() waits for
    bytes. Reconnects by itself when the other end goes away."""

    def __init__(self, board, port):
        self.port = port
        self.setting = None
        self._reader = self._writer = None
        self._f = None

    async def open(self, label, baud, bits, parity, stop, invert):
        self.setting = label
        if self._writer is not None:
            await self._announce()

    async def _announce(self):
        try:
            self._writer.write(b"SERIAL " + self.setting.encode() + b"\n")
            await self._writer.drain()
        except OSError:
            self._close()

    def _close(self):
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
        self._reader = self._writer = None

    async def _connect(self):
        port = self.port
        if port.startswith("tcp://"):
            host, _, p = port[6:].rpartition(":")
            try:
                self._reader, self._writer = await asyncio.open_connection(host, int(p))
            except OSError:
                self._reader = self._writer = None
                return False
            await self._announce()
            return self._reader is not None
        if port:
            try:
                import termios
                f = open(port, "rb")
                termios.setraw(f.fileno())
                self._reader = asyncio.StreamReader(f)
                self._f = f
                return True
            except OSError:
                return False
        return False

    async def readinto(self, buf):
        while True:
            if self._reader is None and not await self._connect():
                await asyncio.sleep_ms(500)
                continue
            try:
                n = await self._reader.readinto(buf)
            except OSError:
                n = 0
            if n:
                return n
            self._close()          # the meter end went away: reconnect
            await asyncio.sleep_ms(200)


class Wifi:
    def __init__(self):
        self.ap = None
        self._up_at = time.ticks_add(time.ticks_ms(), int(float(os.getenv("HANPORT_WIFI_DOWN_S") or 0) * 1000))

    def connect(self, ssid, password):
        pass

    def connected(self):
        return time.ticks_diff(time.ticks_ms(), self._up_at) >= 0

    def rssi(self):
        return None

    def ip(self):
        return "127.0.0.1" if self.connected() else None

    def start_ap(self, essid, password):
        """WPA2-PSK, as on the ESP32, which refuses a shorter password."""
        if not 8 <= len(password) <= 63:
            raise ValueError("WPA2 password must be 8 to 63 characters")
        self.ap = essid

    def stop_ap(self):
        self.ap = None

    def ap_active(self):
        return self.ap is not None


class Watchdog:
    """Counts its feeds; a feed missed resets nothing here."""

    def __init__(self, timeout_ms):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class Led:
    def __init__(self, pin, active_low=False):
        self.on = False
        self.changes = 0

    def set(self, on):
        if on != self.on:
            self.on = on
            self.changes += 1


def request_pin(pin):
    """P1 pin 2 (data request): no pin to drive here."""


# The virtual dongle answers on loopback only unless told otherwise (the
# demo on a PC is not for the LAN); its sockets get a board's small send
# buffer, so a slow client fills it as on lwIP.
HTTP_BIND = os.getenv("HANPORT_HTTP_BIND") or "127.0.0.1"
# mDNS (mdns.py) on the loopback interface only: the group joined there,
# multicast sent there, loopback senders answered; never the PC's LAN
MDNS_IFACE = "127.0.0.1"
SNDBUF = int(os.getenv("HANPORT_SNDBUF") or 2304)


def on_setup_network(peer):
    """Loopback stands for the setup network: the virtual dongle is set up
    from the PC it runs on."""
    return isinstance(peer, str) and peer.startswith("127.")


def http_port(configured):
    """The virtual dongle's runner may move HTTP off the configured port."""
    return int(os.getenv("HANPORT_HTTP_PORT") or configured)


def wifi_grace_s(default):
    """Seconds without Wi-Fi before the setup network opens; tests shorten
    it with HANPORT_WIFI_GRACE_S."""
    return float(os.getenv("HANPORT_WIFI_GRACE_S") or default)
