"""A virtual dongle's config.json as the tests and tools write it
(rig.Dongle(folder, config))."""
from meter_sim import WIRE_SETTING

INVERTED = "-inv"           # a wire label's ending for an inverted line ("115200-8N1-inv")


def wire(label):
    """A wire label as the meter section's settings: "115200-8N1-inv" ->
    {"serial": "115200-8N1", "invert": True}."""
    return {"serial": label.replace(INVERTED, ""), "invert": label.endswith(INVERTED)}


def merge(config, sections):
    """config with sections merged in, one level deep: a dict updates the
    section of that name, anything else replaces it."""
    for name, value in sections.items():
        if isinstance(value, dict):
            config.setdefault(name, {}).update(value)
        else:
            config[name] = value
    return config


def dongle_config(line=None, make="p1", broker=None, wifi="x", **sections):
    """The unix board; on the Wi-Fi network "home" with the password wifi
    (None: no network, a dongle not set up); with line (the meter's end of
    the line, .port), the meter section set as make's meter is
    (meter_sim.WIRE_SETTING); with broker (.port), MQTT to it. sections are
    merged in (merge)."""
    config = {"board": "unix"}
    if wifi is not None:
        config["wifi"] = {"ssid": "home", "password": wifi}
    if line is not None:
        config["meter"] = dict(wire(WIRE_SETTING[make]), port="tcp://127.0.0.1:%d" % line.port)
    if broker is not None:
        config["mqtt"] = {"host": "127.0.0.1", "port": broker.port}
    return merge(config, sections)
