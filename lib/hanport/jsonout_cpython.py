# CPython: jsonout's interface over a list of parts (str() and join are C
# there, a digit loop is not; allocation costs nothing on a PC).
from .fmt import decimal, json_escape


class JsonParts:
    """Same methods as JsonOut."""

    def __init__(self):
        self.parts = []

    def reset(self):
        self.parts = []
        return self

    def raw(self, b):
        self.parts.append(b)

    def text(self, s):
        if s is None:
            self.parts.append(b"null")
        elif s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
            self.parts.append(b'"' + s.encode() + b'"')
        else:
            self.parts.append(b'"' + "".join(json_escape(ch) for ch in s).encode() + b'"')

    def int(self, v):
        self.parts.append(b"%d" % v)

    def name(self, text, s, e, first):
        self.parts.append((b'"' if first else b', "') + text[s:e] + b'": ')

    def dec(self, m, d):
        self.parts.append(decimal(m, d).encode())

    def view(self):
        return memoryview(b"".join(self.parts))

    def str(self):
        return b"".join(self.parts).decode()
