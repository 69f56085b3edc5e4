"""make demo: the whole product on this PC, no hardware.

    python tools/demo.py [--meter p1|aidon|kaifa|kamstrup] [--http-port 8080]
                         [--mqtt HOST:PORT] [--speed N] [--seconds S]

Walks the user's path: builds the firmware (make build, for the virtual
dongle), starts a virtual dongle (tools/vdongle.py: MicroPython's unix port
behind a pty), deploys the build and a config.json to it with real mpremote
(make deploy), resets it, and starts a simulated meter (tools/meter_sim.py)
that the dongle reads over TCP as it would read its UART. Then it prints
the URLs to open. MQTT goes to localhost:1883 when a broker answers there
(it says so when none does). Ctrl-C stops everything it started.

Environment, for `make demo`: DEMO_METER, DEMO_HTTP_PORT, DEMO_MQTT,
DEMO_SPEED. Everything lives in .demo/ (the dongle's flash is .demo/flash;
stopping the demo is pulling the dongle's plug: energy totals saved before
it, every 5 minutes, carry over to the next demo)."""
import argparse
import json
import secrets
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import build  # noqa: E402
from meter_sim import METERS, WIRE_SETTING  # noqa: E402
from testkit.config import wire  # noqa: E402

PY = sys.executable
DEVICE_ID = "demo0a1b2c3d"     # the base topic is han/ and its last 6 characters


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def answers(host, port):
    try:
        socket.create_connection((host, port), 1).close()
        return True
    except OSError:
        return False


def wait_for(what, test, proc, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit("demo: %s exited (%s) before %s; see .demo/*.log" % (proc.args[1], proc.returncode, what))
        if test():
            return
        time.sleep(0.1)
    sys.exit("demo: timed out waiting for %s; see .demo/*.log" % what)


def config(meter, http_port, meter_port, mqtt, telegram_port=0):
    c = {"board": "unix", "name": "Demo %s meter" % meter,
         "http": {"port": http_port},
         # the meter's own setting: no auto-detection wait in a demo
         "meter": dict(wire(WIRE_SETTING[meter]), port="tcp://127.0.0.1:%d" % meter_port),
         "setup": {"ap": "off"},
         # issue 14: the HomeWizard-compatible API and the raw telegram port
         "homewizard": True, "telegram_server": telegram_port}
    if mqtt:
        host, port = mqtt
        c["mqtt"] = {"host": host, "port": port}
    return c


class Demo:
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.dir)
        self.procs = []

    def start(self, cmd, log):
        f = open(os.path.join(self.dir, log), "w")
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def name(self):
        """The dongle's hostname and what its mDNS responder does, from
        /api/status."""
        import urllib.request
        host, mdns = "hanport-" + DEVICE_ID[-6:], "(mDNS: no status yet)"
        for _ in range(20):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/status" % self.args.http_port, timeout=2) as r:
                    st = json.load(r)
            except (OSError, ValueError):
                time.sleep(0.25)
                continue
            host = st.get("hostname") or host
            m = st.get("mdns")
            if m is None:
                mdns = "(mDNS off)"
            elif m.get("error"):
                mdns = "(mDNS: %s)" % m["error"]
            else:
                mdns = ("(mDNS on this PC's loopback interface only: "
                        "dig -p 5353 @127.0.0.1 _http._tcp.local PTR)")
            break
        return host, mdns

    def run(self):
        a = self.args
        if not port_free(a.http_port):
            sys.exit("demo: port %d is in use; pick another: make demo DEMO_HTTP_PORT=8081" % a.http_port)
        os.makedirs(os.path.join(self.dir, "flash"), exist_ok=True)
        print("demo: building the firmware, starting a virtual dongle and deploying to it with mpremote ...",
              flush=True)
        out = os.path.join(self.dir, "build")
        build.build("unix", out, "x64")

        pty = os.path.join(self.dir, "dongle.pty")
        dongle = self.start([PY, os.path.join(HERE, "vdongle.py"), "--dir", os.path.join(self.dir, "flash"),
                             "--link", pty, "--http-port", str(a.http_port), "--device-id", DEVICE_ID,
                             "--echo"], "dongle.log")
        wait_for("the virtual dongle's pty", lambda: os.path.exists(pty), dongle, 20)

        mqtt = None
        if a.mqtt != "off":
            host, _, port = a.mqtt.partition(":")
            port = int(port or 1883)
            if answers(host, port):
                mqtt = (host, port)
        meter_port = free_port()
        telegram_port = free_port()
        cfg_path = os.path.join(self.dir, "config.json")
        with open(cfg_path, "w") as f:
            c = config(a.meter, a.http_port, meter_port, mqtt, telegram_port)
            # (for the setup page, make ota, make backup: printed below)
            c["admin_password"] = admin = secrets.token_urlsafe(9)
            json.dump(c, f, indent=2)
        r = subprocess.run([PY, os.path.join(HERE, "deploy.py"), "--port", pty, "--config", cfg_path,
                            "--build", out], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            sys.exit("demo: deploy failed:\n" + r.stdout)

        sim = [PY, os.path.join(HERE, "meter_sim.py"), a.meter, "--tcp", str(meter_port),
               "--speed", str(a.speed), "--quiet"]
        self.start(sim, "meter.log")
        base = "http://127.0.0.1:%d" % a.http_port
        wait_for("the dongle's web server", lambda: answers("127.0.0.1", a.http_port), dongle, 30)

        print()
        print("The virtual dongle is reading a simulated %s meter (%s, %sx real time)." % (
            a.meter, WIRE_SETTING[a.meter], a.speed))
        print("  page        %s/" % base)
        print("  reading     %s/api/reading" % base)
        print("  status      %s/api/status" % base)
        print("  energy      %s/api/energy" % base)
        print("  Prometheus  %s/metrics" % base)
        print("  HomeWizard  %s/api (compatible local API v1: %s/api/v1/data)" % (base, base))
        print("  telegram  tcp://127.0.0.1:%d (every frame as the meter sent it)" % telegram_port)
        host, mdns = self.name()
        print("  mDNS name   http://%s.local:%d/ %s" % (host, a.http_port, mdns))
        if mqtt:
            print("  MQTT        %s:%d, topics %s/# (e.g. mosquitto_sub -h %s -p %d -t 'han/#' -v)"
                  % (mqtt[0], mqtt[1], "han/" + DEVICE_ID[-6:], mqtt[0], mqtt[1]))
        elif a.mqtt == "off":
            print("  MQTT        off (--mqtt off)")
        else:
            print("  MQTT        no broker answers on %s: publishing is off (install one, e.g. "
                  "'apt install mosquitto', and run make demo again)" % a.mqtt)
        print("  admin password  %s (setup page; make ota HOST=127.0.0.1:%d BOARD=unix PASSWORD=%s; "
              "make backup HOST=127.0.0.1:%d PASSWORD=%s)" % (admin, a.http_port, admin, a.http_port, admin))
        print("Logs: .demo/dongle.log (the dongle's console), .demo/meter.log. Ctrl-C stops the demo.")
        sys.stdout.flush()
        end = time.time() + a.seconds if a.seconds else None
        while end is None or time.time() < end:
            for p in self.procs:
                if p.poll() is not None:
                    sys.exit("demo: %s stopped (%s); see .demo/*.log" % (os.path.basename(p.args[1]), p.returncode))
            time.sleep(0.5)


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meter", choices=METERS, default=env("DEMO_METER") or "p1")
    ap.add_argument("--http-port", type=int, default=int(env("DEMO_HTTP_PORT") or 8080))
    ap.add_argument("--mqtt", default=env("DEMO_MQTT") or "127.0.0.1:1883", help="HOST:PORT, or off")
    ap.add_argument("--speed", type=float, default=float(env("DEMO_SPEED") or 1),
                    help="meter time runs N times faster than real time (default 1)")
    ap.add_argument("--dir", default=os.path.join(ROOT, ".demo"), help="where the demo keeps its files")
    ap.add_argument("--seconds", type=float, default=0, help="stop after S seconds (default: at Ctrl-C)")
    args = ap.parse_args()
    demo = Demo(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C even where a shell started us with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        demo.run()
    except KeyboardInterrupt:
        print("\ndemo: stopping")
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
