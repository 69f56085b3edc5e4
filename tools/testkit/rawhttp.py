"""HTTP as raw bytes on a socket, for requests no HTTP client would send
(slow, oversized, malformed) and answers read as they come; the routes
the dongle serves, read from web.py."""
import ast
import socket

from .mpy import ROOT

HOST = "127.0.0.1"


def connect(port, data=b"", timeout=8, source=None):
    """A new connection to the dongle's HTTP port (from source, an
    (address, port)), data sent on it: the socket, still open."""
    sock = socket.create_connection((HOST, port), timeout, source_address=source)
    sock.settimeout(timeout)
    if data:
        try:
            sock.sendall(data)
        except BaseException:
            sock.close()
            raise
    return sock


def exchange(port, data, timeout=8, source=None, finish=False):
    """Send data on a new connection and read until the dongle closes it:
    (the bytes answered, how it ended: "closed", "reset" or "timeout").
    finish: shut our side down once all is sent (the dongle need not wait
    for more). A dongle that stops reading may still have answered: a
    broken pipe while sending is not the end. Connecting raises OSError."""
    sock = socket.create_connection((HOST, port), timeout, source_address=source)
    out = b""
    try:
        sock.settimeout(timeout)
        try:
            sock.sendall(data)
            if finish:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except socket.timeout:
            return out, "timeout"
        while True:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                return out, "reset"
            except socket.timeout:
                return out, "timeout"
            if not chunk:
                return out, "closed"
            out += chunk
    finally:
        sock.close()


def status_of(response):
    """The status code of a response (b"HTTP/1.1 200 OK..." -> 200), None
    when it is none."""
    code = response[9:12]
    if response.startswith(b"HTTP/1.") and len(code) == 3 and code.isdigit():
        return int(code)
    return None


def routes():
    """{path: methods} as web.py's ROUTES declares them, read from the
    source: a new endpoint is covered by these tests without editing them."""
    tree = ast.parse((ROOT / "firmware" / "dongle" / "web.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ROUTES"
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("web.py has no `ROUTES = {...}` table: update routes() in this test")


def setup_request(form):
    body = form.encode()
    return (b"POST /setup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
