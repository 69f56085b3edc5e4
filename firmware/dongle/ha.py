# Home Assistant MQTT discovery: one retained config per field the meter
# actually sends, with the classes and units the Energy dashboard accepts.
# Keys are Home Assistant's abbreviations; the entity id comes from
# def_ent_id ("sensor.<id>": obj_id/object_id went in Core 2026.4), and
# every config names its origin (o: this firmware, its version, its page).
import json

from hanport import fields

# expire_after: every meter read sends a message at least every 10 s (P1
# every 10 s or faster; DLMS list 1 every 2-2.5 s, list 2 every 10 s) and
# every reading republishes the whole state, so 60 s without one is six
# messages missed: the meter has fallen silent and its sensors go
# unavailable. With mqtt.min_interval_s longer than 20 s, 3 intervals.
# The energy accounts are published every 60 s while readings come:
# 3 of those.
EXPIRE_S = 60
ENERGY_EXPIRE_S = 180


def expire_s(min_interval_s):
    return max(EXPIRE_S, 3 * min_interval_s)

# unit family -> (device_class, state_class, unit)
_CLASS = {
    fields.W: ("power", "measurement", "W"),
    fields.VAR: ("reactive_power", "measurement", "var"),
    fields.VA: ("apparent_power", "measurement", "VA"),
    fields.V: ("voltage", "measurement", "V"),
    fields.A: ("current", "measurement", "A"),
    fields.KWH: ("energy", "total_increasing", "kWh"),
    fields.KVARH: ("reactive_energy", "total_increasing", "kvarh"),
    fields.HZ: ("frequency", "measurement", "Hz"),
    fields.M3: ("gas", "total_increasing", "m³"),
    fields.GJ: ("energy", "total_increasing", "GJ"),
}
_SPECIAL = {
    "power_factor": ("power_factor", "measurement", None),
    "power_factor_l1": ("power_factor", "measurement", None),
    "power_factor_l2": ("power_factor", "measurement", None),
    "power_factor_l3": ("power_factor", "measurement", None),
    "water_m3": ("water", "total_increasing", "m³"),
    "tariff": (None, None, None),
}


def title(name):
    """"power_import_l1_w" -> "Power import L1"."""
    words = name.split("_")
    if words[-1] in ("w", "var", "va", "v", "a", "kwh", "kvarh", "hz", "m3", "gj"):
        words = words[:-1]
    words = [w.upper() if w in ("l1", "l2", "l3", "t1", "t2") else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def sensor(i, device_id, base, prefix, device, expire=EXPIRE_S):
    """(topic, payload) of field i's discovery config."""
    name = fields.FIELDS[i]
    cls = _SPECIAL.get(name) or _CLASS.get(fields.FAMILY[i], (None, "measurement", None))
    uid = "hanport_%s_%s" % (device_id, name)
    cfg = {
        "name": title(name),
        "uniq_id": uid,
        "def_ent_id": "sensor." + uid,
        "stat_t": base + "/state",
        "val_tpl": "{{ value_json['values']['%s'] }}" % name,
        "avty_t": base + "/status",
        "exp_aft": expire,
        "dev": device,
        "o": origin(device),
    }
    if cls[0]:
        cfg["dev_cla"] = cls[0]
    if cls[1]:
        cfg["stat_cla"] = cls[1]
    if cls[2]:
        cfg["unit_of_meas"] = cls[2]
    return "%s/sensor/%s/%s/config" % (prefix, device_id, name), json.dumps(cfg)


def origin(device):
    """Who sent the config: this firmware, its version, the dongle's page."""
    o = {"name": "hanport", "sw": device.get("sw")}
    if device.get("cu"):
        o["url"] = device["cu"]
    return o


def device(device_id, name, reading, version, url=None):
    d = {"ids": ["hanport_" + device_id], "name": name, "sw": version}
    if url:
        d["cu"] = url              # configuration_url: the dongle's own page
    if reading is not None:
        if reading.manufacturer:
            d["mf"] = reading.manufacturer
        model = " ".join(x for x in (reading.model, reading.list_id) if x)
        if model:
            d["mdl"] = model
    return d


# energy accounting sensors: summary key -> (name, device_class, state_class, unit)
ENERGY = (
    ("hour_estimate_kwh", "Hour estimate", None, "measurement", "kWh"),
    ("today_import_kwh", "Import today", "energy", "total_increasing", "kWh"),
    ("month_import_kwh", "Import this month", "energy", "total_increasing", "kWh"),
    ("month_peak_kwh", "Peak hour this month", None, "measurement", "kWh"),
    ("top_average_kw", "Capacity tariff average", "power", "measurement", "kW"),
    ("warning", "Hour warning", None, None, None),
)


def energy_sensor(row, device_id, base, prefix, device):
    key, name, dev_cla, stat_cla, unit = row
    uid = "hanport_%s_%s" % (device_id, key)
    cfg = {"name": name, "uniq_id": uid, "def_ent_id": "sensor." + uid, "stat_t": base + "/energy",
           "val_tpl": "{{ value_json['%s'] }}" % key, "avty_t": base + "/status",
           "exp_aft": ENERGY_EXPIRE_S, "dev": device, "o": origin(device)}
    if dev_cla:
        cfg["dev_cla"] = dev_cla
    if stat_cla:
        cfg["stat_cla"] = stat_cla
    if unit:
        cfg["unit_of_meas"] = unit
    return "%s/sensor/%s/%s/config" % (prefix, device_id, key), json.dumps(cfg)


def announce(mq):
    """The configs _announce found missing, published through mq (an
    mqtt.Mqtt): every field the reading has and was not announced, the
    energy accounts once per connection."""
    reading = mq.state.reading
    if mq.reannounce:
        mq.reannounce = False
        mq.energy_announced = False
        for i in range(fields.COUNT):
            mq.announced[i] = 0
    dev = None
    for i in range(fields.COUNT):
        if reading.m[i] is not None and not mq.announced[i]:
            if dev is None:
                dev = device(mq.device_id, mq.name, reading, mq.version, mq.url)
            topic, payload = sensor(i, mq.device_id, mq.base, mq.cfg["discovery_prefix"], dev,
                                    expire_s(mq.cfg["min_interval_s"]))
            mq.client.publish(topic.encode(), payload.encode(), retain=True)
            mq.announced[i] = 1
    if mq.ledger is not None and not mq.energy_announced:
        if dev is None:
            dev = device(mq.device_id, mq.name, reading, mq.version, mq.url)
        for row in ENERGY:
            topic, payload = energy_sensor(row, mq.device_id, mq.base, mq.cfg["discovery_prefix"], dev)
            mq.client.publish(topic.encode(), payload.encode(), retain=True)
        mq.energy_announced = True
