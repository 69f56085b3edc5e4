"""The meter's side of a test: frames sent on a schedule, in a thread, that
a test can hold between two frames."""
import threading


class Feed(threading.Thread):
    """frame() sent to meter (a rig.Meter) every period s until stop();
    sent counts those the line took. pause() returns between two frames,
    never inside one, and holds the meter until resume(). A subclass
    writes frame()."""

    def __init__(self, meter, period):
        super().__init__(daemon=True)
        self.meter, self.period = meter, period
        self.lock = threading.Lock()
        self.on = threading.Event()
        self.on.set()
        self.done = threading.Event()
        self.sent = 0

    def frame(self):
        raise NotImplementedError

    def run(self):
        while not self.done.is_set():
            with self.lock:
                if self.on.is_set() and self.meter.send(self.frame()):
                    self.sent += 1
            self.done.wait(self.period)

    def pause(self):
        with self.lock:
            self.on.clear()

    def resume(self):
        self.on.set()

    def stop(self):
        self.done.set()
