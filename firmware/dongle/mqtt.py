# MQTT publishing with umqtt.simple (built into stock ESP32 firmware; on
# the unix port fetched from its PyPI package). umqtt.simple blocks, so
# every socket gets a short timeout: a dead broker costs at most a second
# of the event loop, and meter reading goes on. Reconnects with backoff.
import asyncio
import time

from hanport import fields

from . import log, spare, unload
from micropython import const

TIMEOUT_S = 1
_BACKOFF_MAX_S = const(60)
HA_STATUS = "homeassistant/status"
_ENERGY_EVERY_S = const(60)


class Mqtt:
    def __init__(self, cfg, device_id, name, version, url, state, wifi, ledger=None):
        """cfg: config mqtt; url: the dongle's page (Home Assistant's
        link to it)."""
        self.cfg = cfg
        self.device_id = device_id
        self.name = name
        self.version = version
        self.url = url
        self.state = state
        self.wifi = wifi
        self.enabled = bool(cfg["host"])
        self.base = cfg["base_topic"] or "han/" + device_id
        self.t_state = (self.base + "/state").encode()
        self.t_energy = (self.base + "/energy").encode()
        self.client_id = cfg["client_id"] or "hanport-" + device_id
        self.client = None
        self.tcp = None                 # the TCP socket under client.sock (a TLS one has no settimeout)
        self.connected = False
        self.published = 0
        self.failed = 0
        self.connects = 0
        self.last_error = None
        self.ledger = ledger
        # Home Assistant discovery (ha.announce): per field, its config
        # sent on this connection; the energy accounts' sent; all again
        self.announced = bytearray(fields.COUNT)
        self.energy_announced = False
        self.reannounce = False
        self.announce_short = 0         # announces cut short by a MemoryError
        self.short = 0                  # rounds that had too little heap to publish (sent in a later one)
        self._last_seq = -1             # state published last (_round)
        self._last_pub = self._last_ping = 0
        self._last_energy = None

    async def run(self):
        backoff = 1
        while True:
            if not self.enabled or not self.wifi.connected():
                await asyncio.sleep(2)
                continue
            try:
                spare.ensure()
                self._connect()
                backoff = 1
                await self._session()
            except Exception as e:       # OSError, MQTTException, asserts in umqtt, TLS
                # mbedtls wraps its verification messages in newlines
                self.last_error = "%s: %s" % (type(e).__name__, str(e).strip())
                if self.connected:
                    log.log("mqtt: connection lost (%s)" % self.last_error)
                else:
                    log.log("mqtt: cannot connect to %s (%s)" % (self.cfg["host"], self.last_error))
                self.failed += 1
            self._close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _connect(self):
        """A new connection (mqttconnect.py, loaded for it and let go: a
        dongle connects rarely)."""
        from . import mqttconnect
        try:
            mqttconnect.connect(self, TIMEOUT_S)
        finally:
            unload("mqttconnect")
        if self.cfg["discovery"]:
            self.client.subscribe(HA_STATUS.encode())
            self.short_timeout()

    def short_timeout(self):
        """A short timeout on the connection again. A TLS socket has no
        settimeout(): the TCP socket under it has, and it is what blocks."""
        s = self.client.sock
        if not hasattr(s, "settimeout"):
            s = self.tcp
        s.settimeout(TIMEOUT_S)

    def _close(self):
        self.connected = False
        if self.client is not None and self.client.sock is not None:
            try:
                self.client.sock.close()
            except OSError:
                pass
        self.client = None

    def on_message(self, topic, msg):
        if topic == HA_STATUS.encode() and msg == b"online":
            self.reannounce = True      # Home Assistant restarted

    def _publish(self, topic, pieces, retain=False):
        """A QoS 0 PUBLISH of the pieces' concatenation (bytes, or str of
        ASCII only), written piece by piece: umqtt.simple's publish takes
        one bytes, and joining a reading's pieces asked the heap for one
        block of the whole document's size, which a fragmented heap may not
        have. The bytes on the wire are the same. Nothing is allocated once
        the first byte is written (umqtt.simple's publish does: a
        MemoryError there would leave half a packet on the connection)."""
        size = 2 + len(topic)
        for piece in pieces:
            size += len(piece)
        head = bytearray(7)                 # type, remaining length (up to 4 bytes), topic length
        head[0] = 0x31 if retain else 0x30  # PUBLISH, QoS 0, retained or not
        i = 1
        while size > 0x7F:
            head[i] = (size & 0x7F) | 0x80
            size >>= 7
            i += 1
        head[i] = size
        head[i + 1] = len(topic) >> 8
        head[i + 2] = len(topic) & 0xFF
        sock = self.client.sock
        sock.write(head, i + 3)
        sock.write(topic)
        for piece in pieces:
            sock.write(piece)

    def _announce(self):
        """Home Assistant discovery for fields not yet announced. Its module
        loads only while there is something to announce. A heap too short
        for it costs discovery, not the connection: counted, and the fields
        not announced yet are announced in a later round."""
        reading = self.state.reading
        if not self.cfg["discovery"] or reading is None:
            return
        todo = self.reannounce or (self.ledger is not None and not self.energy_announced)
        for i in range(fields.COUNT):
            if reading.m[i] is not None and not self.announced[i]:
                todo = True
        if not todo:
            return
        loaded = False
        try:
            from . import ha
            loaded = True
            ha.announce(self)
        except MemoryError:
            self.announce_short += 1
        finally:
            if loaded:                  # (an import that fails leaves nothing loaded)
                unload("ha")

    async def _session(self):
        """Publishes a reading when it arrives: waits on the state's event,
        which State.update sets; a ticker sets it too every _TICK_MS, for
        check_msg, pings, the energy summary and a reading held back by
        min_interval_s. (Not asyncio.wait_for: a task per wait.) The work
        of a round is _round()'s, a plain call: a coroutine's frame lives
        in the heap, and what its stack held last (a message, the energy
        summary with the module that made it) stays reachable from there
        while it waits."""
        changed = self.state.changed
        self._last_seq = -1
        self._last_pub = self._last_ping = time.ticks_ms()
        self._last_energy = None
        ticker = asyncio.create_task(_tick(changed))
        try:
            while True:
                await changed.wait()
                changed.clear()
                self._round()
        finally:
            ticker.cancel()

    def _round(self):
        """Publish what is due: the state when it changed (and min_interval_s
        has passed), the energy summary once a minute; then the broker's
        messages and the keepalive."""
        client = self.client
        state = self.state
        spare.ensure()
        now = time.ticks_ms()
        try:
            if state.seq != self._last_seq and state.reading is not None and (
                    self._last_seq < 0 or time.ticks_diff(now, self._last_pub) >= self.cfg["min_interval_s"] * 1000):
                self._announce()
                self._publish(self.t_state, state.document())
                self.published += 1
                self._last_seq, self._last_pub = state.seq, now
            elif self.reannounce:
                self._announce()
            # (only while readings come: the accounts' sensors expire when the meter is silent)
            last = self._last_energy
            if self.ledger is not None and state.reading is not None and state.age_s() < _ENERGY_EVERY_S and (
                    last is None or time.ticks_diff(now, last) >= _ENERGY_EVERY_S * 1000):
                try:
                    from . import jsonw   # (once a minute: not kept loaded)
                    self._publish(self.t_energy, jsonw.document(self.ledger.summary()))
                finally:
                    unload("jsonw")
                self._last_energy = now
        except MemoryError:
            # (raised before a packet's first byte: _publish allocates
            # nothing after it) the connection is whole: what was due goes
            # out in a later round, a tick on, with the spare block let
            # go for it (the heap had room, in pieces too small: spare.py)
            self.short += 1
            spare.let_go()
        client.check_msg()                  # HA status, PINGRESP; raises when closed
        self.short_timeout()                # check_msg leaves it blocking
        if time.ticks_diff(now, self._last_ping) >= max(self.cfg["keepalive_s"], 2) * 500:
            client.ping()
            self._last_ping = now


_TICK_MS = const(250)


async def _tick(ev):
    while True:
        await asyncio.sleep_ms(_TICK_MS)
        ev.set()
