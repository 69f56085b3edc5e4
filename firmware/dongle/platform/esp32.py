# ESP32, ESP32-C3, ESP32-S3 with stock MicroPython (v1.23 or newer).
import asyncio

import machine
import network
from machine import UART, WDT, Pin

NAME = "esp32"
RESET_EXIT = None

_CAUSES = {
    machine.PWRON_RESET: "power_on",
    machine.HARD_RESET: "hard",
    machine.WDT_RESET: "watchdog",
    machine.DEEPSLEEP_RESET: "deep_sleep",
    machine.SOFT_RESET: "soft",
}


def unique_id():
    return "".join("%02x" % b for b in machine.unique_id())


def reset():
    machine.reset()


def reset_cause():
    return _CAUSES.get(machine.reset_cause(), "unknown")


def set_hostname(name):
    """Before Wi-Fi is up: DHCP sends it, and the firmware's own mDNS
    responder answers <name>.local with it."""
    try:
        network.hostname(name)
    except (AttributeError, ValueError, OSError):   # (before MicroPython 1.20: no hostname())
        pass


def ntp_sync(host):
    try:
        import ntptime
        ntptime.host = host
        ntptime.settime()             # sets the RTC to UTC
        return True
    except Exception:                 # no network, DNS, timeout
        return False


class Serial:
    """The meter UART: never UART0 (the REPL), a 2 KB receive buffer,
    non-blocking reads through asyncio."""

    uart: UART      # (None until opened; annotated so mypy checks uart.init's arguments)

    def __init__(self, board, port):
        if board["uart"] == 0:
            raise ValueError("UART0 carries the REPL: the board file must name UART 1 or 2")
        self.pins = (board["uart"], board["rx"], board["tx"])     # (not the board file: RAM)
        self.uart = None
        self.setting = None
        self._reader = None

    async def open(self, label, baud, bits, parity, stop, invert):
        # keywords written out, not a dict: the type check (mypy.ini) sees them
        uart, rx, tx = self.pins
        inv = UART.INV_RX if invert else 0
        if self.uart is None:
            self.uart = UART(uart, baudrate=baud, bits=bits, parity=parity, stop=stop,
                             rx=rx, tx=tx, rxbuf=2048, timeout=0, timeout_char=0, invert=inv)
            self._reader = asyncio.StreamReader(self.uart)
        else:
            self.uart.init(baudrate=baud, bits=bits, parity=parity, stop=stop,
                           rx=rx, tx=tx, rxbuf=2048, timeout=0, timeout_char=0, invert=inv)
        self.setting = label

    async def readinto(self, buf):
        while True:
            n = await self._reader.readinto(buf)
            if n:
                return n


class Wifi:
    def __init__(self):
        self.sta = network.WLAN(network.STA_IF)
        self.ap = network.WLAN(network.AP_IF)

    def connect(self, ssid, password):
        self.sta.active(True)
        try:
            self.sta.config(pm=self.sta.PM_NONE)   # power save off: steady latency
        except (AttributeError, ValueError):
            pass
        try:
            self.sta.disconnect()
        except OSError:
            pass
        self.sta.connect(ssid, password)

    def connected(self):
        return self.sta.isconnected()

    def rssi(self):
        try:
            return self.sta.status("rssi") if self.sta.isconnected() else None
        except (OSError, ValueError):
            return None

    def ip(self):
        return self.sta.ifconfig()[0] if self.sta.isconnected() else None

    def start_ap(self, essid, password):
        """WPA2-PSK, configured before the AP goes up (the ESP32 takes either
        order): up first, it is an open network with a default name until
        config() lands. Read back, and configured again if it did not take."""
        kw = {"essid": essid, "password": password, "authmode": network.AUTH_WPA2_PSK}
        try:
            self.ap.config(**kw)
        except OSError:               # a firmware that wants the interface up first
            pass
        self.ap.active(True)
        if self.ap.config("authmode") != network.AUTH_WPA2_PSK or self.ap.config("essid") != essid:
            self.ap.config(**kw)

    def stop_ap(self):
        self.ap.active(False)

    def ap_active(self):
        return self.ap.active()


class Watchdog:
    """machine.WDT: once started it cannot be stopped."""

    def __init__(self, timeout_ms):
        self.feeds = 0
        self._wdt = WDT(timeout=timeout_ms)

    def feed(self):
        self._wdt.feed()
        self.feeds += 1


class Led:
    def __init__(self, pin, active_low=False):
        self.on = False
        self.changes = 0
        self._low = active_low
        self._p = Pin(pin, Pin.OUT, value=1 if active_low else 0) if pin is not None else None

    def set(self, on):
        if on != self.on and self._p is not None:
            self._p.value(0 if on == self._low else 1)
            self.on = on
            self.changes += 1


def request_pin(pin):
    """P1 pin 2 (data request), driven high (none when pin is None). A 3.3 V
    GPIO is below the 4 V P1 asks for: boards that need it drive a
    transistor to +5 V."""
    if pin is not None:
        Pin(pin, Pin.OUT, value=1)


def http_port(configured):
    return configured


HTTP_BIND = "0.0.0.0"
MDNS_IFACE = None         # mdns.py: the group on the default interface
SNDBUF = None             # lwIP's own send buffer


def on_setup_network(peer):
    """A client on the setup network: the access point is up and the peer's
    address is in its subnet (a /24: 192.168.4.x by default)."""
    ap = network.WLAN(network.AP_IF)
    if not ap.active():
        return False
    own = ap.ifconfig()[0]
    return isinstance(peer, str) and peer.rpartition(".")[0] == own.rpartition(".")[0]


def wifi_grace_s(default):
    return default
