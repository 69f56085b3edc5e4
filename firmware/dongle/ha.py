# Home Assistant MQTT discovery: one retained config per field the meter
# actually sends, with the classes and units the Energy dashboard accepts.
# Keys are Home Assistant's abbreviations; the entity id comes from
# def_ent_id ("sensor.<id>": obj_id/object_id went in Core 2026.4), and
# every config names its origin (o: this firmware, its version, its page).
# Small in RAM, as it is loaded when the heap may have little room, and
# fragmented: the tables are text, and each config is JSON text in small
# pieces published one after the other (no dict and no json.dumps per
# field, and no block of a whole config's size), the device and origin
# members written once per announce. Every piece is ASCII (text() escapes
# the rest), so its str is written to the connection as it is.
from hanport import fields
from hanport.fmt import json_escape

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


# "device_class,state_class,unit" (empty: left out; units as JSON text)
# per unit family, in fields' numbering (NONE, W, VAR, VA, V, A, KWH, KVARH,
# KVAH, HZ, M3, GJ). Dimensionless: none, the tariff's; the power factors
# have theirs, and water is not gas (sensor()).
_CLASSES = (",,", "power,measurement,W", "reactive_power,measurement,var", "apparent_power,measurement,VA",
            "voltage,measurement,V", "current,measurement,A", "energy,total_increasing,kWh",
            "reactive_energy,total_increasing,kvarh", ",measurement,", "frequency,measurement,Hz",
            "gas,total_increasing,m\\u00b3", "energy,total_increasing,GJ")

# the energy accounts' sensors: "summary key,name,classes" (classes as in
# _CLASSES)
ENERGY = ("hour_estimate_kwh,Hour estimate,,measurement,kWh",
          "today_import_kwh,Import today,energy,total_increasing,kWh",
          "month_import_kwh,Import this month,energy,total_increasing,kWh",
          "month_peak_kwh,Peak hour this month,,measurement,kWh",
          "top_average_kw,Capacity tariff average,power,measurement,kW",
          "warning,Hour warning,,,")

# a config's first pieces: its name and unique id (name, device id, key);
# entity id and state topic (device id, key, base topic, its subtopic); the
# value's place in the state's JSON, availability topic and expire_after
# (the group the value is in: "['values']" or none, key, base topic,
# seconds). Its classes' members follow, and device()'s piece last.
_NAME = '{"name":"%s","uniq_id":"hanport_%s_%s"'
_TOPIC = ',"def_ent_id":"sensor.hanport_%s_%s","stat_t":"%s/%s"'
_VALUE = ',"val_tpl":"{{ value_json%s[\'%s\'] }}","avty_t":"%s/status","exp_aft":%d'


def text(s):
    """s as the inside of a JSON string: the device's name, the base topic
    and the page come from the user's config, make and model from the
    meter. Looked at as bytes: a str's characters, taken one by one, are
    interned (new names, kept for good) on MicroPython."""
    for c in s.encode():
        if c < 32 or c > 126 or c == 34 or c == 92:        # (control, non-ASCII, '"', '\\')
            return "".join(json_escape(ch) for ch in s)
    return s


def title(i):
    """Field i's name as Home Assistant shows it: "power_import_l1_w" ->
    "Power import L1" (every name but a dimensionless field's ends in its
    unit, which goes; phases and tariffs in capitals)."""
    words = fields.name(i).split("_")
    if fields.FAMILY[i] != fields.NONE:
        words.pop()
    name = " ".join(w.upper() if w[-1:].isdigit() else w for w in words)
    return name[:1].upper() + name[1:]


def device(device_id, name, reading, version, url=None):
    """Every config's last piece: the device (the dongle; its meter's make
    and model when the reading says them) and origin (this firmware, its
    version, the dongle's page) members and the closing brace."""
    version = text(version)
    dev = ',"dev":{"ids":["hanport_%s"],"name":"%s","sw":"%s"' % (device_id, text(name), version)
    page = ""
    if url:
        url = text(url)
        dev += ',"cu":"%s"' % url              # configuration_url: the dongle's own page
        page = ',"url":"%s"' % url
    if reading is not None:
        if reading.manufacturer:
            dev += ',"mf":"%s"' % text(reading.manufacturer)
        model = " ".join(x for x in (reading.model, reading.list_id) if x)
        if model:
            dev += ',"mdl":"%s"' % text(model)
    return dev + '},"o":{"name":"hanport","sw":"%s"%s}}' % (version, page)


def sensor(i, device_id, base, prefix, device, expire=EXPIRE_S):
    """(topic, payload pieces) of field i's discovery config; base: the
    base topic as text() writes it, device: device()'s piece."""
    name = fields.name(i)
    if name[:12] == "power_factor":
        classes = "power_factor,measurement,"
    elif name == "water_m3":
        classes = "water,total_increasing,m\\u00b3"
    else:
        classes = _CLASSES[fields.FAMILY[i]]
    return _config(prefix, device_id, name, title(i), classes, base, "state", "['values']", expire, device)


def energy_sensor(row, device_id, base, prefix, device):
    """(topic, payload pieces) of an energy account's discovery config;
    row: one of ENERGY's entries."""
    key, name, classes = row.split(",", 2)
    return _config(prefix, device_id, key, name, classes, base, "energy", "", ENERGY_EXPIRE_S, device)


def _config(prefix, device_id, key, name, classes, base, subtopic, group, expire, device):
    dev_cla, stat_cla, unit = classes.split(",")
    members = ""
    if dev_cla:
        members = ',"dev_cla":"%s"' % dev_cla
    if stat_cla:
        members += ',"stat_cla":"%s"' % stat_cla
    if unit:
        members += ',"unit_of_meas":"%s"' % unit
    return ("%s/sensor/%s/%s/config" % (prefix, device_id, key),
            (_NAME % (name, device_id, key), _TOPIC % (device_id, key, base, subtopic),
             _VALUE % (group, key, base, expire), members, device))


def announce(mq):
    """The configs _announce found missing, published through mq (an
    mqtt.Mqtt): every field the reading has and was not announced (each
    marked once its config is sent: after a MemoryError the next round
    goes on from there), the energy accounts once per connection."""
    reading = mq.state.reading
    if mq.reannounce:
        mq.reannounce = False
        mq.energy_announced = False
        for i in range(fields.COUNT):
            mq.announced[i] = 0
    prefix = mq.cfg["discovery_prefix"]
    base = text(mq.base)
    dev = device(mq.device_id, mq.name, reading, mq.version, mq.url)
    expire = expire_s(mq.cfg["min_interval_s"])
    for i in range(fields.COUNT):
        if reading.m[i] is not None and not mq.announced[i]:
            _send(mq, sensor(i, mq.device_id, base, prefix, dev, expire))
            mq.announced[i] = 1
    if mq.ledger is not None and not mq.energy_announced:
        for row in ENERGY:
            _send(mq, energy_sensor(row, mq.device_id, base, prefix, dev))
        mq.energy_announced = True


def _send(mq, config):
    # (topic, payload pieces) published, retained; not held in announce's
    # variables: the heap may need its room for the next config
    mq._publish(config[0].encode(), config[1], True)
