# Log lines: printed (the USB console, `make monitor`) and the last few kept
# for the status page. Secrets are scrubbed before either.
import time

KEEP = 12
_lines = []
_secrets = []
_start = time.ticks_ms()


def set_secrets(values):
    _secrets.clear()
    for v in values:
        if v:
            _secrets.append(v)


def log(msg):
    for s in _secrets:
        if s in msg:
            msg = msg.replace(s, "***")
    line = "%8.1f %s" % (time.ticks_diff(time.ticks_ms(), _start) / 1000, msg)
    print(line)
    _lines.append(line)
    if len(_lines) > KEEP:
        _lines.pop(0)


def recent():
    return list(_lines)
