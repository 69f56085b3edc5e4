"""Home Assistant that needs no typing (issue 14): MQTT discovery survives
a broker that restarts without persistence (its retained configs gone)
and comes back whole when Home Assistant says `online` on
homeassistant/status; every config as Home Assistant documents it
(ha_schema.py), with expire_after, configuration_url to the dongle's page
and the Energy dashboard's classes on the energy registers. Discovery in a
heap too short for it (the board's, on the 32-bit build) is counted and
resumed later, and the connection stays. Real mosquitto, real paho client,
the firmware on the virtual dongle or under the 32-bit MicroPython."""
import json
from datetime import datetime


import ha_schema
from encoders.household import Household
from encoders.p1 import swedish_telegram
from testkit import heapfill, mpy
from testkit.config import dongle_config
from testkit.rig import Broker, Dongle, Meter, Subscriber, wait_until

ENERGY_KEYS = {"hour_estimate_kwh", "today_import_kwh", "month_import_kwh", "month_peak_kwh",
               "top_average_kw", "warning"}


def configs(sub, prefix):
    return {m[0][len(prefix):-len("/config")]: json.loads(m[1]) for m in sub.messages
            if m[0].startswith(prefix) and m[1]}


def test_discovery_comes_back_after_a_broker_restart_and_ha_online(tmp_path):
    broker = Broker(tmp_path)
    meter = Meter()
    d = Dongle(tmp_path, dongle_config(meter, "p1", broker, wifi="wifi-pass-1"))
    short = d.device_id[-6:]
    prefix = "homeassistant/sensor/%s/" % short
    sub = None
    try:
        wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        h = Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)
        meter.send(swedish_telegram(h))
        values = wait_until(lambda: (lambda r: r[1]["values"] if r[0] == 200 else None)(d.json("/api/reading")),
                            what="a reading")
        want = set(values) | ENERGY_KEYS
        first = Subscriber(broker.port, "homeassistant/#")
        wait_until(lambda: set(configs(first, prefix)) == want, 15, what="the first discovery")
        first.close()
        # the broker restarts with nothing retained; the meter is silent
        # meanwhile, so nothing new makes the dongle announce by itself
        broker.stop()
        broker.start()
        wait_until(lambda: d.status()["mqtt"]["connects"] >= 2 and d.status()["mqtt"]["connected"], 30,
                   what="the dongle back at the broker")
        empty = Subscriber(broker.port, "homeassistant/#")
        wait_until(lambda: empty.c.is_connected(), 5, what="a subscriber")
        assert configs(empty, prefix) == {}            # nothing retained, nothing resent yet
        empty.close()
        # Home Assistant comes up (its birth message): every entity again
        ha = Subscriber(broker.port, "homeassistant/status")
        ha.publish("homeassistant/status", "online")
        ha.close()
        sub = Subscriber(broker.port, "homeassistant/#")     # subscribes after it: retained configs
        got = wait_until(lambda: (lambda c: c if set(c) == want else None)(configs(sub, prefix)), 15,
                         what="every entity announced again")
        url = "http://hanport-%s.local:%d/" % (short, d.http_port)
        for key, c in got.items():
            assert ha_schema.check(c) == [], (key, c)
            assert c["dev"]["cu"] == url and c["o"]["url"] == url
            assert c["exp_aft"] == (180 if key in ENERGY_KEYS else 60)
            assert c["avty_t"] == "han/%s/status" % short
        for key in ("energy_import_kwh", "energy_export_kwh"):
            assert (got[key]["dev_cla"], got[key]["stat_cla"], got[key]["unit_of_meas"]) == \
                ("energy", "total_increasing", "kWh")
        # retained: what a Home Assistant subscribing later still reads
        late = Subscriber(broker.port, "homeassistant/#")
        wait_until(lambda: set(configs(late, prefix)) == want, 10, what="retained configs")
        assert all(m[2] for m in late.messages if m[0].startswith(prefix))
        late.close()
        st = d.status()
        assert st["task_restarts"] == {} and "Traceback" not in d.log()
        assert st["mqtt"]["discovery_short_of_memory"] == 0
    finally:
        if sub:
            sub.close()
        d.stop()
        meter.close()
        broker.stop()


def test_min_interval_lengthens_expire_after(tmp_path):
    """expire_after is 3 publishing intervals when mqtt.min_interval_s
    makes them longer than 20 s."""
    broker = Broker(tmp_path)
    meter = Meter()
    d = Dongle(tmp_path, dongle_config(meter, "p1", broker, wifi="wifi-pass-1", mqtt={"min_interval_s": 30}))
    sub = Subscriber(broker.port, "homeassistant/#")
    try:
        wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        meter.send(swedish_telegram(Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)))
        prefix = "homeassistant/sensor/%s/" % d.device_id[-6:]
        c = wait_until(lambda: configs(sub, prefix).get("power_import_w"), 20, what="discovery")
        assert c["exp_aft"] == 90 and ha_schema.check(c) == []
    finally:
        sub.close()
        d.stop()
        meter.close()
        broker.stop()


# Under the 32-bit MicroPython, from the .mpy bundle as a board loads it: a
# P1 reading, an Mqtt connected to the broker, then discovery rounds
# (Mqtt._announce, as _round calls it) each in a heap left with 128 bytes
# more room than the last, from too little to load ha.py up to enough for
# every config; then a _round with too little heap to publish the state,
# and one with room, on the same connection. The heap is filled the same
# way every run: the same rounds.
SHORT_HEAP = r"""
import binascii, gc, json
import hanport
from dongle import config, unload
from dongle.ledger import Ledger
from dongle.mqtt import Mqtt
from dongle.state import State

cfg = config.from_dict({"mqtt": {"host": "127.0.0.1", "port": PORT}})[0]
state = State()
for reading in hanport.Decoder().feed(binascii.unhexlify(TELEGRAM)):
    state.update(reading)
mq = Mqtt(cfg["mqtt"], "d4e5f6", "HAN d4e5f6", "0.1.0", "http://hanport-d4e5f6.local/", state, None,
          Ledger(cfg, "energy.json"))
mq._connect()
# ha.py loaded once with room, as on a dongle that has announced before:
# its names interned (the first load's new names may need a new qstr pool,
# KBs in one block, which is not what this test is about)
from dongle import ha
unload("ha")
ha = None
HEAP_FILL

rounds = []
room = 1024
while not mq.energy_announced and room < 16384:
    fill(room)
    mq._announce()
    empty()
    rounds.append([room, sum(mq.announced), mq.energy_announced, mq.announce_short])
    room += 128
# a round with too little heap to publish the state, the spare block let
# go already: counted, the connection kept; the next round publishes it
from dongle import spare
spare.block = None
fill(256)
mq._round()
empty()
short_round = [mq.short, mq.connected, mq.published]
mq._round()
print("RESULT " + json.dumps({"rounds": rounds, "short": mq.announce_short, "short_round": short_round,
                              "rounds_short": mq.short, "connected": mq.connected,
                              "connects": mq.connects, "failed": mq.failed, "published": mq.published,
                              "fields": sum(1 for v in state.reading.m if v is not None)}))
"""


def test_discovery_short_of_heap_is_counted_resumed_and_keeps_the_connection(tmp_path, bundle32):
    broker = Broker(tmp_path)
    sub = Subscriber(broker.port, "#")
    late = None
    try:
        wait_until(lambda: sub.c.is_connected(), 5, what="a subscriber")
        sub.publish("probe", "x")               # (its subscription is in place once it gets its own)
        wait_until(lambda: sub.on("probe"), 5, what="the subscription")
        telegram = swedish_telegram(Household(datetime(2026, 1, 15, 17, 0, 0), seed=3))
        script = SHORT_HEAP.replace("HEAP_FILL", heapfill.CODE).replace("PORT", str(broker.port)).replace(
            "TELEGRAM", repr(telegram.hex()))
        res = mpy.run(["-c", script], heapsize="128K", bits=32, path=bundle32[0], cwd=str(tmp_path), timeout=300)
        out = res.stdout.decode()
        assert res.returncode == 0, out + res.stderr.decode()
        got = json.loads([line for line in out.splitlines() if line.startswith("RESULT ")][0][7:])
        rounds, fields = got["rounds"], got["fields"]
        print("%d rounds (room, fields announced, energy announced, short): %s ... %s"
              % (len(rounds), rounds[:2], rounds[-3:]))
        # too short at first: counted, and no exception out of it
        assert rounds[0][1] < fields and rounds[0][3] == 1
        # every round but the last cut short and counted; some after part
        # of the fields, the next going on from there
        assert got["short"] == len(rounds) - 1 >= 1
        assert any(0 < r[1] < fields for r in rounds), json.dumps(rounds)
        assert all(a[1] <= b[1] for a, b in zip(rounds, rounds[1:]))
        assert rounds[-1][1:3] == [fields, True]
        # a round short of heap for the state: counted, nothing sent, the
        # connection kept; the next one sends it
        assert got["short_round"] == [1, True, 0] and got["rounds_short"] == 1
        # one connection throughout, and it still carries the state
        assert got["connected"] and got["connects"] == 1 and got["failed"] == 0 and got["published"] == 1
        wait_until(lambda: sub.on("han/d4e5f6/state"), 5, what="the state after the short rounds")
        # each field's config sent once (a field is marked once its config
        # is out); the energy accounts' all sent (all again after a round
        # cut short among them)
        prefix = "homeassistant/sensor/d4e5f6/"
        sent = [m[0][len(prefix):-len("/config")] for m in sub.messages if m[0].startswith(prefix)]
        per_field = [k for k in sent if k not in ENERGY_KEYS]
        assert len(per_field) == len(set(per_field)) == fields
        assert set(sent) - set(per_field) == ENERGY_KEYS
        late = Subscriber(broker.port, "homeassistant/#")
        wait_until(lambda: len(configs(late, prefix)) == fields + len(ENERGY_KEYS), 10, what="retained configs")
        for key, c in configs(late, prefix).items():
            assert ha_schema.check(c) == [], (key, c)
            assert c["dev"]["name"] == "HAN d4e5f6" and c["dev"]["mf"] == "ELL"
            assert c["o"] == {"name": "hanport", "sw": "0.1.0", "url": "http://hanport-d4e5f6.local/"}
    finally:
        if late:
            late.close()
        sub.close()
        broker.stop()
