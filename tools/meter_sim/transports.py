"""Where the frames go: the virtual dongle's TCP UART (MeterLine), a pty,
a serial port, a file. Each has send(bytes) -> delivered and close()."""
import os
import socket
import threading
import time


def garble(data: bytes) -> bytes:
    """What a UART set to the wrong speed/format makes of data."""
    return bytes((b * 37 + 11) & 0xFF for b in data)[: len(data) // 3]


class MeterLine:
    """The meter end of the virtual dongle's UART: a TCP server the dongle
    connects to (again and again: a new connection replaces the old). The
    dongle announces its serial setting ("SERIAL 2400-8E1\\n"); like a meter
    behind a wrongly set UART, frames arrive as garbage unless it matches
    `setting` (None: always matches). port=0 picks a free port (.port).

    drop() closes the connection (the dongle reconnects at once); cut()
    also stops listening, as if the cable were pulled: the dongle's
    reconnects are refused until restore()."""

    def __init__(self, setting=None, port=0, host="127.0.0.1"):
        self.setting = setting
        self.host = host
        self.port = port
        self.dongle_setting = None
        self.conn = None
        self.connections = 0
        self._srv = None
        self._closed = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.restore()

    def restore(self):
        """Listen for the dongle (after cut(): again, on the same port)."""
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self.host, self.port))
        srv.listen(2)
        self.port = srv.getsockname()[1]
        self._srv = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv):
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:                     # cut() or close() closed it
                return
            with self._lock:
                old = self.conn
                self.conn = conn
                self.dongle_setting = None      # a new link announces afresh
                self.connections += 1
                self._changed.notify_all()
            if old is not None:
                _close_quietly(old)
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
                    if self.conn is conn:       # the dongle went away
                        self.conn = None
                        self.dongle_setting = None
                        self._changed.notify_all()
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"SERIAL "):
                    with self._lock:
                        if self.conn is conn:
                            self.dongle_setting = line[7:].decode("ascii", "replace").strip()
                            self._changed.notify_all()

    def connected(self) -> bool:
        """A dongle is connected and has said its serial setting."""
        return self.conn is not None and self.dongle_setting is not None

    def matches(self) -> bool:
        return self.setting is None or self.setting == self.dongle_setting

    def wait(self, timeout=None, announced=True) -> bool:
        """Wait for a connection (announced: and its SERIAL line)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._closed:
                if self.conn is not None and (self.dongle_setting is not None or not announced):
                    return True
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(0.2 if left is None else min(left, 0.2))
        return False

    def send(self, data: bytes) -> bool:
        """Send bytes as the meter would: garbage when the UART is wrong.
        False when no dongle is connected (the bytes are lost, as on a wire)."""
        if not self.matches():
            data = garble(data)
        with self._lock:
            conn = self.conn
        if conn is None:
            return False
        try:
            conn.sendall(data)
            return True
        except OSError:
            return False

    def drop(self):
        """Close the connection (the dongle is expected to reconnect)."""
        with self._lock:
            conn, self.conn, self.dongle_setting = self.conn, None, None
            self._changed.notify_all()
        if conn is not None:
            _close_quietly(conn)

    def cut(self):
        """Close the connection and stop listening until restore()."""
        srv, self._srv = self._srv, None
        if srv is not None:
            _close_quietly(srv)
        self.drop()

    def close(self):
        self._closed = True
        self.cut()


def _close_quietly(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class PtyOutput:
    """A pseudo-terminal pair: frames go into the master, a reader (the
    virtual dongle's tty UART, decode.py --serial) opens .path. The slave
    is kept open and raw, so CR/LF pass unchanged and the pair outlives
    readers; when nobody reads and the buffer is full, bytes are lost
    rather than blocking the meter."""

    def __init__(self):
        import tty
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)

    def send(self, data: bytes) -> bool:
        try:
            while data:
                n = os.write(self.master, data)
                data = data[n:]
            return True
        except (BlockingIOError, OSError):
            return False

    def close(self, linger=1.0):
        """Close the pair, first giving a reader up to `linger` seconds to
        take what was sent: closing the master discards unread bytes."""
        import fcntl
        import struct
        import termios
        time.sleep(0.05)                 # bytes written reach the slave's queue
        end = time.monotonic() + linger
        while time.monotonic() < end:
            try:
                queued = struct.unpack("i", fcntl.ioctl(self._slave, termios.FIONREAD,
                                                        b"\0\0\0\0"))[0]
            except OSError:
                break
            if not queued:
                break
            time.sleep(0.02)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


def parse_setting(text):
    """"2400-8E1" or "115200-8N1-inv" -> (baud, bits, parity, stop bits)."""
    try:
        baud, frame = text.split("-")[:2]
        return int(baud), int(frame[0]), frame[1].upper(), int(frame[2])
    except (ValueError, IndexError):
        raise ValueError("wire setting %r is not like 2400-8E1" % text) from None


class SerialOutput:
    """A real serial port (pyserial), e.g. a USB-serial adapter wired to a
    dongle's meter input. Signal inversion is the adapter's business."""

    def __init__(self, device, baud, bits=8, parity="N", stop=1):
        import serial
        self.port = serial.Serial(device, baudrate=baud, bytesize=bits, parity=parity,
                                  stopbits=stop, write_timeout=10)

    def send(self, data: bytes) -> bool:
        try:
            self.port.write(data)
            return True
        except Exception:                       # pyserial raises its own types
            return False

    def close(self):
        self.port.close()


class FileOutput:
    """The byte stream as sent, into a file (a capture of the simulated line)."""

    def __init__(self, path):
        self.f = open(path, "wb")

    def send(self, data: bytes) -> bool:
        self.f.write(data)
        self.f.flush()
        return True

    def close(self):
        self.f.close()
