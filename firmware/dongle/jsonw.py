# JSON text for the dongle's own documents (status, energy): like
# json.dumps, plus exact decimals (objects with .text()) as JSON numbers,
# and the same output on MicroPython and CPython.


def _str(s):
    out = []
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dumps(obj):
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        return _str(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(_str(str(k)) + ": " + dumps(obj[k]) for k in sorted(obj)) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(dumps(x) for x in obj) + "]"
    if hasattr(obj, "text"):
        return obj.text()
    raise TypeError("not JSON: %r" % (obj,))
