# What keeps a dongle's meter from readings, in words for its owner: the
# hint /api/reading gives while no frame decodes, and /api/status's
# last_error then. Loaded only while no frame has decoded (web.py,
# status.py) and let go after.


def diagnosis(app):
    """What keeps the meter's frames from readings, steadily (not the
    last error of the moment), or None: an encrypted meter without its key
    or with a wrong one, or bytes that frame at no setting."""
    meter = app.meter
    d = meter.decoder
    if d.frames_ok or not meter.bytes:
        return None
    if d.auth_failures:
        return ("wrong key: the meter's frames are encrypted and meter.key or meter.auth_key "
                "does not open them (%d frames refused)" % d.auth_failures)
    if d.key_required:
        return ("encrypted: set the key: the meter encrypts its frames; put the key from the grid "
                "company in meter.key (setup page or make config)")
    if d.unknown and app.cfg["meter"]["key"]:
        return ("wrong key: frames arrive whole but decrypt to nothing known; check meter.key "
                "(and set meter.auth_key if the grid company gave one)")
    if meter.searching or meter.recognised():
        return None
    import time
    from .meter import DWELL_S
    if time.ticks_diff(time.ticks_ms(), meter.since_ms) < DWELL_S * 1000:
        return None
    return ("bytes arrive but nothing frames at %s: likely a wrong inversion (meter.invert) "
            "or speed (meter.serial); or set both to auto" % meter.setting())


def waiting_hint(app):
    meter = app.meter
    if meter.bytes == 0:
        return ("no bytes from the meter: is the HAN port activated by the grid company, "
                "the cable in, the board powered, the RX pin right?")
    d = diagnosis(app)
    if d:
        return d
    if meter.searching:
        return "bytes arrive but do not decode yet: trying serial settings (%s)" % meter.setting()
    return "bytes arrive but no frame decodes: see frames in /api/status (%s)" % (
        meter.decoder.last_error or "no error yet")
