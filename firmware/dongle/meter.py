# Meter input: the UART (through the platform), serial-setting detection,
# the decoder, and the merged state.
import asyncio
import time

from . import log, spare, unload
from micropython import const

DWELL_S = 12         # per candidate setting: Swedish meters send every 10 s
_LOST_S = const(300)         # no frame this long at a found setting: search again


class Meter:
    def __init__(self, cfg, state, decoder, serial, candidates):
        """Built by startup._meter (start-up code, not kept in RAM): decoder
        (hanport.Decoder), serial (platform.Serial), candidates: the serial
        settings to try, (label, baud, data bits, parity, stop bits, invert)
        each, as Serial.open takes them, the first tried first."""
        self.cfg = cfg
        self.state = state
        self.decoder = decoder
        self.serial = serial
        self.candidates = candidates
        self.auto = len(candidates) > 1
        self.searching = self.auto
        self.index = 0
        self.since_ms = time.ticks_ms()     # current setting applied at
        self.frames_at = 0                  # recognised() then
        self.bytes = 0
        self.out_of_memory = 0              # frames lost to a full heap
        self.on_frame = None                # callback(reading), set by the app

    def setting(self):
        return self.candidates[self.index][0]

    async def apply(self):
        await self.serial.open(*self.candidates[self.index])
        # bytes still in flight were read with the old setting: let them
        # pass, then start clean, so a frame is credited to the right setting
        await asyncio.sleep_ms(300)
        self.decoder.reset()
        self.since_ms = time.ticks_ms()
        self.frames_at = self.recognised()
        log.log("meter: serial %s%s" % (self.setting(), " (searching)" if self.searching else ""))

    async def read_task(self):
        """Bytes in, readings out, forever."""
        await self.apply()
        buf = bytearray(512)
        while True:
            self._feed(buf, await self.serial.readinto(buf))

    def _feed(self, buf, n):
        """(A plain call: a coroutine's frame is in the heap and would keep
        the last readings it handled alive while it waits.)"""
        self.bytes += n
        spare.ensure()
        try:
            for r in self.decoder.feed(buf, n):
                if self.state.reading is None:
                    self.decoder.last_error = None  # what went before the first frame is past
                self.state.update(r)
                if self.on_frame:
                    self.on_frame(r)
        except MemoryError:
            # (spare.py is there so that this does not happen: the heap
            # had room, in pieces too small) the frame is lost, the line
            # stays open, and the spare block goes for the next frame
            spare.let_go()
            self.decoder.reset()
            self.out_of_memory += 1
            log.log("meter: a frame lost: MemoryError")

    def recognised(self):
        """Frames whose link checks passed (HCS/FCS), read or not: an
        encrypted meter without its key (or with a wrong one) is at the
        right serial setting too."""
        d = self.decoder
        return d.frames_ok + d.key_required + d.auth_failures + d.unknown

    async def detect_task(self):
        """Auto-detection: try each setting for DWELL_S until frames are
        recognised, then keep it (and remember it in config for the next
        boot)."""
        while True:
            await asyncio.sleep(1)
            now = time.ticks_ms()
            elapsed = time.ticks_diff(now, self.since_ms) // 1000
            got = self.recognised() > self.frames_at
            if self.searching:
                if got:
                    self.searching = False
                    self.decoder.last_error = None      # the search's errors are not the meter's
                    log.log("meter: frames recognised at %s" % self.setting())
                    self._remember()
                elif elapsed >= DWELL_S:
                    self.index = (self.index + 1) % len(self.candidates)
                    await self.apply()
            elif self.auto:
                if got:
                    self.since_ms, self.frames_at = now, self.recognised()
                elif elapsed >= _LOST_S:
                    self.searching = True
                    log.log("meter: no frame for %d s, searching serial settings" % _LOST_S)
                    self.index = (self.index + 1) % len(self.candidates)
                    await self.apply()

    def _remember(self):
        label = self.setting()
        if self.cfg["meter"]["detected"] == label:
            return
        from . import config
        try:
            config.update(self.cfg, "meter", "detected", label)
        except OSError as e:
            log.log("meter: could not store the serial setting: %s" % e)
        unload("config")
