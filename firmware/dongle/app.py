# The application: config, board, platform, meter, state, HTTP, MQTT, Wi-Fi
# and housekeeping, as supervised asyncio tasks. A task that raises is
# logged and restarted; the watchdog is fed only while the loop runs.
import asyncio
import gc
import sys
import time

from . import VERSION, log, platform, spare, unload
from micropython import const

_WIFI_GRACE_S = const(300)         # no Wi-Fi this long after boot: open the setup network
_RESTART_DELAY_S = const(2)


class App:
    WDT_TIMEOUT_MS = 30000

    def __init__(self):
        self.boot_ms = time.ticks_ms()
        # its parts, from config.json and the board's file (startup.py,
        # let go once they are built)
        from . import startup
        (self.cfg, self.problems, self.chip, self.device_id, self.name, self.hostname, self.state,
         self.wifi, self.led, self.meter, self.ledger, self.http_port, self.mqtt, self.http,
         self.telegrams) = startup.build(self)
        unload("startup")
        self.short_id = self.device_id[-6:]
        self.wdt = None
        self.restarts = {}
        self.p1_raw = None          # the last P1 telegram, for the HomeWizard API (issue 14)
        self.ntp_ok = False
        self.mdns = None            # mdns.py's responder while it runs, or why it does not
        self.reboot_at = None       # ticks_ms of a reboot asked for (reboot_soon)
        self.heap_used = self.heap_peak = 0     # live heap after a collection

    def uptime_s(self):
        return time.ticks_diff(time.ticks_ms(), self.boot_ms) // 1000

    # --- actions --------------------------------------------------------

    def frame(self, reading):
        self.led.set(not self.led.on)
        self.ledger.reading(reading)

    def raw_frame(self, frame):
        if self.cfg["homewizard"] and frame[0] == 47:     # "/": a P1 telegram
            self.p1_raw = frame
        if self.telegrams:
            self.telegrams.send(frame)

    def reboot_soon(self):
        self.reboot_at = time.ticks_add(time.ticks_ms(), 1000)

    # --- tasks -----------------------------------------------------------

    async def supervise(self, name, fn):
        """Run fn() forever: a task that raises is logged and restarted."""
        while True:
            try:
                await fn()
                log.log("task %s ended; restarting" % name)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                try:
                    log.log("task %s failed: %s: %s; restarting" % (name, type(e).__name__, e))
                    sys.print_exception(e)      # the traceback, on the USB console only
                except MemoryError:
                    pass                        # no room even to say so: restart all the same
            try:
                self.restarts[name] = self.restarts.get(name, 0) + 1
            except MemoryError:
                pass
            await asyncio.sleep(_RESTART_DELAY_S)

    async def wifi_task(self):
        """Station mode with backoff; the setup network while unconfigured,
        unreachable for _WIFI_GRACE_S after boot, or when asked for."""
        cfg = self.cfg
        ap_mode = cfg["setup"]["ap"]
        ssid = cfg["wifi"]["ssid"]
        grace = platform.wifi_grace_s(_WIFI_GRACE_S)
        backoff = 5
        next_try = 0
        while True:
            up = self.wifi.connected()
            want_ap = ap_mode == "on" or (ap_mode == "auto" and (
                not ssid or (not up and self.uptime_s() > grace)))
            if want_ap and not self.wifi.ap_active():
                ap_pw = cfg["setup"]["ap_password"]
                if not ap_pw:
                    from . import config
                    ap_pw = config.new_ap_password(cfg)
                    unload("config")
                self.wifi.start_ap("HAN-setup-" + self.short_id, ap_pw)
                log.log("wifi: setup network HAN-setup-%s open (WPA2)" % self.short_id)
            elif not want_ap and self.wifi.ap_active() and up:
                self.wifi.stop_ap()
                log.log("wifi: setup network closed")
            if ssid and not up and time.ticks_diff(time.ticks_ms(), next_try) >= 0:
                log.log("wifi: connecting to %s" % ssid)
                self.wifi.connect(ssid, cfg["wifi"]["password"])
                next_try = time.ticks_add(time.ticks_ms(), backoff * 1000)
                backoff = min(backoff * 2, 300)
            elif up:
                backoff = 5
                if not self.ntp_ok:
                    self.ntp_ok = platform.ntp_sync(cfg["ntp"]["host"])
            await asyncio.sleep(2)

    async def housekeeping(self):
        """Feed the watchdog, collect garbage, reboot when asked."""
        self.wdt = platform.Watchdog(self.WDT_TIMEOUT_MS)
        while True:
            self.wdt.feed()
            self.ledger.tick()
            gc.collect()
            spare.held()                # back, if it was let go
            self.heap_used = gc.mem_alloc()
            if self.heap_used > self.heap_peak:
                self.heap_peak = self.heap_used
            if self.reboot_at is not None and time.ticks_diff(time.ticks_ms(), self.reboot_at) >= 0:
                self.shutdown()
                platform.reset()
            await asyncio.sleep(1)

    async def run(self):
        log.log("hanport %s on %s, board %s, id %s" % (VERSION, platform.NAME, self.cfg["board"], self.device_id))
        await self.http.start(self.http_port, platform.HTTP_BIND, platform.SNDBUF)
        log.log("http: listening on port %d" % self.http_port)
        tasks = [
            asyncio.create_task(self.supervise("housekeeping", self.housekeeping)),
            asyncio.create_task(self.supervise("meter", self.meter.read_task)),
            asyncio.create_task(self.supervise("detect", self.meter.detect_task)),
            asyncio.create_task(self.supervise("wifi", self.wifi_task)),
            asyncio.create_task(self.supervise("mqtt", self.mqtt.run)),
        ]
        if self.telegrams:
            tasks.append(asyncio.create_task(self.supervise("telegram", self.telegrams.run)))
        if self.cfg["mdns"]:
            tasks.append(asyncio.create_task(self.supervise("mdns", self.mdns_task)))
        await asyncio.gather(*tasks)


    async def mdns_task(self):
        """The mDNS responder, loaded only when config mdns is on. A port
        it cannot have (the ESP32 firmware's own responder holds 5353) is
        reported once and the module let go."""
        from . import mdns
        try:
            self.mdns = mdns.Responder(self.hostname, self.wifi, mdns.services(self))
            await self.mdns.run()
        except OSError as e:
            self.mdns = "UDP %d taken (%s): services not announced" % (mdns.PORT, e)
            log.log("mdns: " + self.mdns)
            mdns = None
            unload("mdns")
            while True:
                await asyncio.sleep(3600)

    def shutdown(self):
        """Before a reboot or stop: keep what the flash must keep."""
        try:
            self.ledger.save()
        except OSError as e:
            log.log("energy: cannot save: %s" % e)


def main(hook=None):
    """hook(app) before the loop runs: trial.py's watch on a new version."""
    app = App()
    if hook:
        hook(app)
    try:
        asyncio.run(app.run())
    except KeyboardInterrupt:          # Ctrl-C on the console: a clean stop
        app.shutdown()
        log.log("stopped")
