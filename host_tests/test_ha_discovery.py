"""Home Assistant that needs no typing (issue 14): MQTT discovery survives
a broker that restarts without persistence (its retained configs gone)
and comes back whole when Home Assistant says `online` on
homeassistant/status; every config as Home Assistant documents it
(ha_schema.py), with expire_after, configuration_url to the dongle's page
and the Energy dashboard's classes on the energy registers. Real
mosquitto, real paho client, the firmware on the virtual dongle."""
from datetime import datetime

import ha_schema
from encoders.household import Household
from encoders.p1 import swedish_telegram
from testkit.config import dongle_config
from testkit.rig import Broker, Dongle, Meter, Subscriber, wait_until

ENERGY_KEYS = {"hour_estimate_kwh", "today_import_kwh", "month_import_kwh", "month_peak_kwh",
               "top_average_kw", "warning"}


def configs(sub, prefix):
    import json
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
