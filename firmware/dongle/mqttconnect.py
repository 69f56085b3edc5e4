# Opening an MQTT connection: TLS if configured, umqtt.simple's connect
# with a short timeout on its socket, the retained status and firmware
# messages. Loaded for each connection and let go after (mqtt.py): a
# dongle connects rarely, and its RAM is better spent between times.
import sys

import umqtt.simple as simple
from hanport import fields

from . import log, unload


class _TimeoutSockets:
    """Stands in for the socket module inside umqtt.simple while it
    connects, so that the connect it does itself cannot block for long."""

    def __init__(self, module, timeout_s):
        self.module = module
        self.timeout_s = timeout_s
        self.last = None        # the TCP socket under a TLS one

    def socket(self, *args):
        s = self.module.socket(*args)
        s.settimeout(self.timeout_s)
        self.last = s
        return s

    def getaddrinfo(self, *args):
        return self.module.getaddrinfo(*args)


def connect(mq, timeout_s):
    """mq (mqtt.Mqtt) connected, its status online and its firmware told,
    or an exception."""
    cfg = mq.cfg
    ssl = False
    if cfg["tls"]:
        from . import pem
        try:
            ssl = pem.Tls(pem.tls_context(cfg["ca"]), cfg["host"])
        finally:
            unload("pem")
        sys.modules["ussl"] = ssl
    client = simple.MQTTClient(mq.client_id, cfg["host"], cfg["port"], cfg["user"] or None,
                               cfg["password"] or None, cfg["keepalive_s"], ssl=ssl)
    client.set_last_will(mq.base + "/status", b"offline", retain=True)
    client.set_callback(mq.on_message)
    mq.client = client
    # (umqtt.simple's own `import socket`, which its stub leaves out)
    sockets = simple.socket = _TimeoutSockets(simple.socket, timeout_s)  # type: ignore[attr-defined]
    try:
        client.connect()
    finally:
        simple.socket = sockets.module  # type: ignore[attr-defined]
    mq.tcp = sockets.last
    mq.short_timeout()
    mq.connected = True
    mq.connects += 1
    mq.last_error = None
    log.log("mqtt: connected to %s as %s" % (cfg["host"], mq.client_id))
    client.publish((mq.base + "/status").encode(), b"online", retain=True)
    _firmware(mq, client)
    for i in range(fields.COUNT):
        mq.announced[i] = 0
    mq.energy_announced = False


def _firmware(mq, client):
    """<base>/firmware (retained): the running version and build, its
    slot, and why the last update was rolled back, if it was
    (slotinfo.py)."""
    import json
    from . import slotinfo
    try:
        client.publish((mq.base + "/firmware").encode(), json.dumps(slotinfo.status()).encode(), retain=True)
    finally:
        unload("slotinfo")
