"""Home Assistant's MQTT discovery schema for a sensor, as its documentation
states it today (home-assistant.io/integrations/mqtt/, "Supported
abbreviations in MQTT discovery messages" and "Discovery payload", and
/integrations/sensor.mqtt/, "Configuration variables"; sensor device
classes and units from /integrations/sensor/), written from those pages,
not from what the firmware sends. Core 2025.10 deprecated `object_id`
(`obj_id`) for `default_entity_id` (`def_ent_id`, "<domain>.<object id>"),
and Core 2026.4 no longer accepts it.

check(payload) returns the list of what Home Assistant would reject or
warn about; [] is a config it takes."""
import re

# abbreviation -> key, for the keys an MQTT sensor takes
SENSOR_ABBREVIATIONS = {
    "avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
    "avty_tpl": "availability_template", "def_ent_id": "default_entity_id", "dev": "device",
    "dev_cla": "device_class", "e": "encoding", "en": "enabled_by_default",
    "ent_cat": "entity_category", "ent_pic": "entity_picture", "exp_aft": "expire_after",
    "frc_upd": "force_update", "ic": "icon", "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template", "lrst_val_tpl": "last_reset_value_template",
    "name": "name", "o": "origin", "ops": "options", "p": "platform",
    "pl_avail": "payload_available", "pl_not_avail": "payload_not_available", "qos": "qos",
    "stat_cla": "state_class", "stat_t": "state_topic",
    "sug_dsp_prc": "suggested_display_precision", "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template",
}
SENSOR_KEYS = set(SENSOR_ABBREVIATIONS.values())
SENSOR_REQUIRED = {"state_topic"}
GONE = {"object_id": "removed in Core 2026.4: use default_entity_id",
        "obj_id": "removed in Core 2026.4: use def_ent_id"}

DEVICE_ABBREVIATIONS = {
    "cns": "connections", "cu": "configuration_url", "hw": "hw_version", "ids": "identifiers",
    "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id", "name": "name",
    "sa": "suggested_area", "sn": "serial_number", "sw": "sw_version",
    "via_device": "via_device",
}
DEVICE_KEYS = set(DEVICE_ABBREVIATIONS.values())

ORIGIN_ABBREVIATIONS = {"name": "name", "sw": "sw_version", "url": "support_url"}
ORIGIN_KEYS = set(ORIGIN_ABBREVIATIONS.values())
ORIGIN_REQUIRED = {"name"}

STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
# device class -> units Home Assistant accepts (the subset a meter can send)
UNITS = {
    "power": {"W", "kW", "MW", "GW", "TW", "mW", "BTU/h"},
    "reactive_power": {"var", "kvar", "mvar"},
    "apparent_power": {"VA", "kVA", "mVA"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal",
               "Mcal", "Gcal"},
    "reactive_energy": {"varh", "kvarh"},
    "power_factor": {None, "%"},
    "gas": {"m³", "ft³", "CCF", "MCF", "L"},
    "water": {"m³", "ft³", "CCF", "MCF", "L", "gal", "mL"},
}
# device classes whose state class must be a total
TOTALS = {"energy", "gas", "water", "reactive_energy"}
URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def expand(doc, table, where, problems):
    out = {}
    for k, v in doc.items():
        if k in GONE:
            problems.append("%s%s: %s" % (where, k, GONE[k]))
            continue
        full = table.get(k)
        if full is None:
            if k in table.values():
                full = k                       # the long form is taken as well
            else:
                problems.append("%s%s: not a key Home Assistant knows here" % (where, k))
                continue
        out[full] = v
    return out


def check(payload):
    problems = []
    cfg = expand(payload, SENSOR_ABBREVIATIONS, "", problems)
    for k in sorted(SENSOR_REQUIRED - set(cfg)):
        problems.append("%s: required" % k)
    dev = cfg.get("device")
    if dev is not None:
        dev = expand(dev, DEVICE_ABBREVIATIONS, "device.", problems)
        if not (dev.get("identifiers") or dev.get("connections")):
            problems.append("device: needs identifiers or connections")
        if "configuration_url" in dev and not URL.match(dev["configuration_url"]):
            problems.append("device.configuration_url: not a URL")
    origin = cfg.get("origin")
    if origin is not None:
        origin = expand(origin, ORIGIN_ABBREVIATIONS, "origin.", problems)
        for k in sorted(ORIGIN_REQUIRED - set(origin)):
            problems.append("origin.%s: required" % k)
        if "support_url" in origin and not URL.match(origin["support_url"]):
            problems.append("origin.support_url: not a URL")
    eid = cfg.get("default_entity_id")
    if eid is not None and not re.match(r"^sensor\.[a-z0-9_]+$", eid):
        problems.append("default_entity_id: not sensor.<lower-case object id>: %r" % eid)
    sc = cfg.get("state_class")
    if sc is not None and sc not in STATE_CLASSES:
        problems.append("state_class: %r unknown" % sc)
    dc = cfg.get("device_class")
    if dc is not None:
        if dc not in UNITS:
            problems.append("device_class: %r not checked here" % dc)
        elif cfg.get("unit_of_measurement") not in UNITS[dc]:
            problems.append("unit_of_measurement: %r not one of %s's" % (cfg.get("unit_of_measurement"), dc))
        if dc in TOTALS and sc not in ("total", "total_increasing"):
            problems.append("state_class: %r with device class %s (must be a total)" % (sc, dc))
    if "availability" in cfg and "availability_topic" in cfg:
        problems.append("availability and availability_topic together")
    return problems
