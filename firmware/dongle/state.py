# What the dongle knows of the meter: every value of the latest frames
# merged (list 1, 2 and 3 frames each update their own values), and when
# the last frame came.
import asyncio
import time

import hanport
from hanport import jsonout

from . import log


class State:
    def __init__(self):
        self.reading = None        # a merged hanport.Reading
        self.last_ms = None        # ticks of the last frame
        self.frames = 0
        self.seq = 0               # bumps on every update
        self.changed = asyncio.Event()     # set on every update (and by MQTT's ticker): wakes MQTT's session
        self._doc = None           # document() of seq _doc_seq
        self._doc_seq = -1

    def update(self, r):
        merged = self.reading
        if merged is None or (r.meter_id is not None and merged.meter_id is not None
                              and r.meter_id != merged.meter_id) or r.protocol != merged.protocol:
            if merged is not None:
                log.log("meter changed (%s %s): values reset" % (r.protocol, r.meter_id))
            merged = self.reading = hanport.Reading(r.protocol)
        for attr in ("manufacturer", "meter_id", "model", "list_id", "version", "time", "dst"):
            v = getattr(r, attr)
            if v is not None:
                setattr(merged, attr, v)
        for i in range(len(r.m)):
            if r.m[i] is not None:
                merged.m[i] = r.m[i]
                merged.d[i] = r.d[i]
        if r.other:
            for k in r.other:
                if merged.other is not None and k in merged.other:
                    merged.other[k] = r.other[k]
                else:
                    merged.add_other(k, r.other[k])
        self.last_ms = time.ticks_ms()
        self.frames += 1
        self.seq += 1
        self.changed.set()

    def age_s(self):
        if self.last_ms is None:
            return None
        return time.ticks_diff(time.ticks_ms(), self.last_ms) // 1000

    def document(self):
        """The merged reading as /api/reading and <base>/state serve it, or
        None before the first frame: a tuple of bytes pieces, the JSON of the
        reading without its closing brace (made once per frame and never
        changed: a slow client keeps the one it was given; in 128-byte
        pieces, no block of its size) and last its age, b', "age_s": N}'."""
        if self.reading is None:
            return None
        if self._doc_seq != self.seq:
            self._doc = None                    # (its room, for the new one)
            self._doc = self.reading.write_json(jsonout.JsonPieces(), False).pieces()
            self._doc_seq = self.seq
        return self._doc + (b', "age_s": %d}' % self.age_s(),)
