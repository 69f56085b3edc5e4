# The HAN-port dongle firmware: meter UART -> hanport decoder -> state ->
# HTTP and MQTT. Runs on an ESP32 with stock MicroPython and, through the
# unix platform, on a PC as a virtual dongle.
VERSION = "0.1.0"


def unload(*names):
    """Forget modules used now and then (setup page, discovery, config
    checks): on the dongle a module's code stays in RAM while it is
    imported, and RAM is what a plain ESP32 lacks. The next use imports
    it again."""
    import sys
    pkg = sys.modules[__name__]
    for name in names:
        sys.modules.pop(__name__ + "." + name, None)
        if name in pkg.__dict__:
            delattr(pkg, name)
