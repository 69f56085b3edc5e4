"""The meter's end of the virtual dongle's line."""
import socket
import threading

from testkit import rig


class Line:
    """The meter end of the virtual dongle's UART (a TCP server it connects
    to). cut() drops the connection and stops listening, as if the cable
    were pulled: the dongle's reconnects are refused until restore()."""

    def __init__(self):
        self.port = rig.free_port()
        self.conn = None
        self.setting = None
        self.connections = 0
        self._lock = threading.Lock()
        self._srv = None
        self.restore()

    def restore(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(2)
        self._srv = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv):
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with self._lock:
                if self.conn is not None:
                    _close(self.conn)
                self.conn, self.setting = conn, None
                self.connections += 1
            threading.Thread(target=self._listen, args=(conn,), daemon=True).start()

    def _listen(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(256)
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    if self.conn is conn:
                        self.conn = None
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"SERIAL "):
                    self.setting = line[7:].decode()

    def connected(self):
        return self.conn is not None and self.setting is not None

    def send(self, data):
        with self._lock:
            conn = self.conn
        if conn is None:
            return False
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False

    def cut(self):
        if self._srv is not None:
            _close(self._srv)
            self._srv = None
        with self._lock:
            if self.conn is not None:
                _close(self.conn)
                self.conn = None

    def close(self):
        self.cut()


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass

