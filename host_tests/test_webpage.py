"""The dongle's web page (firmware/www/index.html) in a real browser.

The virtual dongle (the firmware on MicroPython's unix port) serves the page;
a simulated meter sends P1 telegrams; headless Chromium, driven by selenium,
shows the page. The test reads what the page shows and compares it with the
JSON API fetched at the same moment, walks through the page's states
(waiting for the first frame, live, rejected frames, MQTT down, meter
silent, dongle not reachable and back), checks that the page only ever asks
the dongle for its three JSON endpoints, and saves screenshots (desktop,
phone, dark mode) in artifacts/.

Chromium and chromedriver come from Debian (apt-get install chromium
chromium-driver). Without them the browser test is skipped, unless
HANPORT_REQUIRE_BROWSER is set (CI), where it fails (the `browser`
fixture, in conftest.py)."""
import base64
import gzip
import http.server
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

from encoders.household import Household
from encoders.p1 import swedish_telegram, telegram
from testkit import feed
from testkit.config import dongle_config
from testkit.rig import ROOT, Dongle, Meter, free_port, wait_until

PAGE = ROOT / "firmware" / "www" / "index.html"
ARTIFACTS = ROOT / "artifacts"
API = {"/api/reading", "/api/status", "/api/energy"}
GZIP_BUDGET = 8192


def config(meter, mqtt_port):
    # nothing listens at mqtt_port: MQTT fails, and the page must say so
    return dongle_config(meter, "p1", wifi="wifi-Secret-123", admin_password="admin-Secret-789",
                         mqtt={"host": "127.0.0.1", "port": mqtt_port})


def raw_json(dongle, path):
    """An API answer with every number kept as the text the dongle sent."""
    status, _, data = dongle.get(path)
    return status, json.loads(data, parse_float=str, parse_int=str)


def eventually(check, timeout, what):
    """check() -> (ok, detail); retried until ok, else fail with the last detail."""
    end = time.time() + timeout
    while True:
        ok, detail = check()
        if ok:
            return detail
        if time.time() > end:
            raise AssertionError("timed out waiting for %s; last seen: %s" % (what, detail))
        time.sleep(0.2)


# --- the page as a file and as the dongle serves it (no browser needed) ------

def test_page_is_self_contained_and_small():
    html = PAGE.read_text()
    assert re.search(r'<html lang="[a-z]{2}', html)
    assert 'name="viewport"' in html and "prefers-color-scheme:dark" in html
    # no resource from anywhere: no URL but an inline data: icon, no fonts, no imports
    for attr in re.findall(r'(?:src|href|action)\s*=\s*"([^"]*)"', html):
        assert attr.startswith("data:"), attr
    for bad in ("http://", "https://", "url(", "@import", "@font-face", "<img", "<iframe", "<script src"):
        assert bad not in html.lower(), bad
    # the only paths it knows are the three JSON endpoints
    assert set(re.findall(r'"(/[a-z][^"]*)"', html)) == API
    size = len(gzip.compress(html.encode(), compresslevel=9, mtime=0))
    print("index.html: %d bytes, %d gzip-compressed" % (len(html.encode()), size))
    assert size <= GZIP_BUDGET, "the page grew to %d bytes gzip-compressed (budget %d)" % (size, GZIP_BUDGET)


def test_page_served_gzip_when_asked(tmp_path):
    meter = Meter()
    d = Dongle(tmp_path, config(meter, free_port()))
    try:
        want = PAGE.read_bytes()
        status, headers, body = d.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers.get("Content-Encoding") == "gzip" and headers.get("Vary") == "Accept-Encoding"
        assert int(headers["Content-Length"]) == len(body) < len(want)
        assert gzip.decompress(body) == want
        status, headers, body = d.get("/")
        assert status == 200 and "Content-Encoding" not in headers and body == want
    finally:
        d.stop()
        meter.close()


# --- the page in the browser (the `browser` fixture: conftest.py) -------------

class Feed(feed.Feed):
    """The meter: a Swedish P1 telegram every second, values changing."""

    def __init__(self, meter):
        super().__init__(meter, 1.0)
        self.h = Household(datetime(2026, 1, 15, 17, 0, 0), seed=3)

    def frame(self):
        data = swedish_telegram(self.h)
        self.h.advance(1)
        return data

    def damaged(self):
        with self.lock:
            bad = bytearray(swedish_telegram(self.h))
            bad[40] ^= 0x01       # one bit: CRC mismatch
            self.meter.send(bytes(bad))


class Proxy:
    """A stand-in for the dongle's network path: forwards to the dongle, and
    passes its answers through edit[path](text) -> text where given."""

    def __init__(self, port, edit):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.paths.append(self.path)
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, self.path), timeout=5) as r:
                        status, ctype, body = r.status, r.headers["Content-Type"], r.read()
                except urllib.error.HTTPError as e:
                    status, ctype, body = e.code, e.headers["Content-Type"], e.read()
                if self.path in edit:
                    status, body = 200, edit[self.path](body.decode()).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.paths = []
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


SHOWN = """
const out = {pill: document.getElementById("pill").textContent, stale: document.body.className,
             notes: [...document.querySelectorAll("#notes li")].map(e => e.textContent),
             text: document.body.innerText, points: +document.getElementById("chart").dataset.points || 0,
             phases: [...document.querySelectorAll("#ph tr th[scope=row]")].map(e => e.textContent)};
for (const a of ["field", "meter", "status", "energy"]) {
  out[a] = {};
  for (const e of document.querySelectorAll("[data-" + a + "]")) (out[a][e.dataset[a]] ||= []).push(e.textContent);
}
return out;
"""


def shown(drv):
    return drv.execute_script(SHOWN)


def media(drv, scheme):
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia",
                        {"media": "", "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def screenshot(drv, name):
    """The whole page (beyond the viewport) as artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    png = drv.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (ARTIFACTS / name).write_bytes(base64.b64decode(png["data"]))


def luminance(css_color):
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def requests_made(drv, origin, log):
    """Every request the page at origin made since the last call (from the
    performance log, which also has the browser's own new-tab page)."""
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent" and \
                msg["params"].get("documentURL", "").startswith(origin + "/"):
            log.append((entry["timestamp"] / 1000, msg["params"]["request"]["url"]))
    return log


# Another meter, a DSMR 5 single-phase meter: tariff registers, gas,
# trailing zeros, an OBIS line the decoder does not map (a text message with
# markup: a P1 value cannot hold a "/"), silent for 47 s; and a month with peaks, this hour heading for a
# new one, and an energy problem. All of it made by the firmware itself on
# MicroPython: the reading by its decoder and State from an encoded
# telegram, the energy documents by its ledger from a fortnight of
# readings (after finding energy.json damaged).
DSMR_TELEGRAM = telegram("ISK5\\2M550T-1012", [
    "1-3:0.2.8(50)", "0-0:1.0.0(260115170000W)", "0-0:96.1.1(4530303331303033303031373331363137)",
    "1-0:1.8.1(001234.500*kWh)", "1-0:1.8.2(002345.010*kWh)", "1-0:2.8.1(000000.000*kWh)",
    "1-0:2.8.2(000012.300*kWh)", "0-0:96.14.0(0002)", "1-0:1.7.0(00.230*kW)", "1-0:2.7.0(00.000*kW)",
    "1-0:32.7.0(229.0*V)", "1-0:31.7.0(001*A)", "1-0:21.7.0(00.230*kW)", "1-0:22.7.0(00.000*kW)",
    "0-0:96.13.0(<b>a text message<b>)", "0-1:24.1.0(003)",
    "0-1:24.2.1(260115165500W)(00512.345*m3)"])
PROBLEM = "energy.json was damaged: not trusted, kept as energy.json.bad, accounting started over"

FIXTURES = """
import json, sys
from dongle import jsonw
from dongle.ledger import Ledger
from dongle.state import State
from hanport.decoder import Decoder

st = State()
with open("telegram.bin", "rb") as f:
    for r in Decoder().feed(f.read()):
        st.update(r)
doc = b"".join(st.document()[:-1])
sys.stdout.write(str(doc + b', "age_s": 47}', "utf-8") + "\\n")

with open("energy.json", "w") as f:                 # damaged
    f.write("HANE1 1234 5\\n{\\"v\\"")
led = Ledger({"energy": {"zone": "CET", "top_n": 3, "steps_kw": [2, 5, 10, 15, 20, 25, 50, 75, 100],
                         "save_s": 300, "max_power_kw": 50}})
t0 = 1767222000                                     # 2026-01-01 00:00 CET
t, ri, acc = t0, 5000000, 0
end = 1768492800                                    # 2026-01-15 17:00 CET
while t <= end + 1200:
    day, hour = (t - t0) // 86400, (t - t0) % 86400 // 3600
    p = 9000000 if t >= end else (600 + 2000 * (hour == 18) + 37 * day * (hour == 18)) * 1000
    acc += p * 300
    ri += acc // 3600000
    acc %= 3600000
    led.book.sample(t, p, 0, ri, 0)
    last = t
    t += 300
led.clock.stamp(last, led._ms())
led.saves, led.saved_ms = 3, led.saved_ms - 12000
sys.stdout.write(jsonw.dumps(led.summary()) + "\\n")
sys.stdout.write(jsonw.dumps(led.report()) + "\\n")
"""


def firmware_fixtures(folder):
    """(reading, energy summary, energy report): the firmware's JSON texts."""
    import subprocess
    from testkit.mpy import micropython
    from testkit.rig import MPLIB
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "telegram.bin").write_bytes(DSMR_TELEGRAM)
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s:%s" % (ROOT / "lib", ROOT / "firmware", MPLIB))
    out = subprocess.run([micropython(), "-c", FIXTURES], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.startswith("{")]    # (not its log)


def with_summary(summary):
    def edit(status_text):
        s = json.loads(status_text)
        s["energy"] = "@SUMMARY@"
        return json.dumps(s).replace('"@SUMMARY@"', summary)
    return edit


def test_page_in_browser(tmp_path, browser):
    t_start = time.time()
    drv = browser
    meter = Meter()
    d = Dongle(tmp_path, config(meter, free_port()))
    feed = Feed(meter)
    reqs = []
    try:
        wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        origin = "http://127.0.0.1:%d" % d.http_port
        media(drv, "light")
        drv.get(origin + "/")

        # 1. no frame yet: the waiting state with the API's hint and the byte count
        hint = raw_json(d, "/api/reading")[1]["hint"]
        page = eventually(lambda: (lambda p: (p["pill"] == "Waiting for the first frame" and hint in p["text"]
                                              and p["status"].get("serial.bytes"), p))(shown(drv)),
                          10, "the waiting state")
        assert "Waiting for the first frame" in page["text"]
        for reason in ("HAN port is not activated", "Wiring", "Serial settings"):
            assert reason in page["text"]
        assert page["status"]["serial.bytes"] == ["0", "0"]      # waiting panel and status card
        assert "the hour and month figures come back with the first one" in page["text"]
        assert "power_import_w" not in page["field"]
        screenshot(drv, "webpage-waiting.png")

        # 2. the meter talks: values appear
        feed.start()
        eventually(lambda: (lambda p: (p["pill"] == "Live" and "power_import_w" in p["field"], p["pill"]))(shown(drv)),
                   15, "live values")

        # 3. the numbers shown are the API's, digit for digit: pause the meter,
        # wait for the page's next poll, compare with the API's answer
        feed.pause()
        wait_until(lambda: d.status()["frames"]["frames_ok"] == feed.sent, 10, what="the last telegram decoded")
        reading = raw_json(d, "/api/reading")[1]
        status = raw_json(d, "/api/status")[1]
        # the hour's estimate moves with the clock even without frames (at
        # most once a second): the page's must be one the dongle gave since
        estimates = set()

        def same():
            estimates.add(raw_json(d, "/api/status")[1]["energy"]["hour_estimate_kwh"])
            p = shown(drv)
            want = {k: [v] for k, v in reading["values"].items()}
            return (p["field"] == want and p["energy"].get("hour.estimate_kwh", [None])[0] in estimates,
                    {"page": p["field"], "api": want, "estimate": p["energy"], "estimates": estimates})

        eventually(same, 12, "the page to show /api/reading")
        p = shown(drv)
        m = reading["meter"]
        assert p["meter"] == {k: [m[k]] for k in ("manufacturer", "model", "id", "list", "version", "protocol")
                              if m[k] is not None}
        assert p["phases"] == ["L1", "L2", "L3"]
        assert p["status"]["frames.frames_ok"] == [status["frames"]["frames_ok"]]
        assert p["status"]["frames.errors"] == ["0"] and p["status"]["last_error"] == ["none"]
        assert p["status"]["firmware"] == [status["firmware"]]
        assert p["status"]["hostname"] == [status["hostname"]]          # its name on the network
        assert p["status"]["serial.bytes"] == [status["serial"]["bytes"]]
        e = status["energy"]
        assert e["ready"] is True
        assert p["energy"]["today.import_kwh"] == [e["today_import_kwh"]]
        assert p["energy"]["month.import_kwh"] == [e["month_import_kwh"]]
        assert "No new peak" in p["text"] and "after the first full hour" in p["text"]
        # MQTT cannot connect: said in words, as the dongle says it
        mqtt_error = status["mqtt"]["last_error"]
        assert mqtt_error and p["status"]["mqtt.last_error"] == [mqtt_error]
        assert any(n.startswith("MQTT: not connected") and mqtt_error in n for n in p["notes"])
        feed.resume()

        # 4. a damaged telegram: rejected, counted, explained
        feed.damaged()
        p = eventually(lambda: (lambda p: (p["status"].get("frames.errors") == ["1"], p["status"]))(shown(drv)),
                       10, "the rejected frame on the page")
        assert p["last_error"] == ["P1 CRC mismatch"]
        p = shown(drv)
        assert "P1 CRC mismatch" in " ".join(p["notes"]) and "CRC 1" in p["text"]

        # 5. the chart: drawn by the page from what it polled
        eventually(lambda: (lambda p: (p["points"] >= 3, p["points"]))(shown(drv)), 15, "3 points in the chart")
        lit = drv.execute_script("""
            const c = document.getElementById("chart"), x = c.getContext("2d");
            const want = getComputedStyle(document.body).getPropertyValue("--imp").trim();
            const rgb = [1, 3, 5].map(i => parseInt(want.slice(i, i + 2), 16));
            const d = x.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4)
              if (d[i + 3] > 200 && rgb.every((v, j) => Math.abs(d[i + j] - v) < 40)) n++;
            return n;""")
        assert lit > 20, "the import line is not drawn (%d pixels)" % lit

        # 6. looks: light desktop, dark, phone
        drv.execute_script("window.scrollTo(0, 0)")
        light_bg = drv.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert luminance(light_bg) > 0.85
        screenshot(drv, "webpage-desktop.png")
        media(drv, "dark")
        dark = eventually(lambda: (lambda c: (luminance(c[0]) < 0.15, c))(drv.execute_script(
            "const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]")), 5, "dark mode")
        assert luminance(dark[1]) > 0.8
        time.sleep(0.3)
        screenshot(drv, "webpage-dark.png")
        media(drv, "light")
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        time.sleep(0.5)
        width = drv.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[1] == 390 and width[0] <= width[1], "horizontal overflow on a phone: %s" % width
        screenshot(drv, "webpage-phone.png")
        drv.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        # 7. only the dongle's own JSON endpoints, and not too often
        assert all(e["name"].startswith(origin + "/") for e in drv.execute_script(
            "return performance.getEntriesByType('resource').map(e => ({name: e.name}))"))
        requests_made(drv, origin, reqs)
        urls = [u for _, u in reqs]
        assert urls and all(u.startswith(origin + "/") or u.startswith("data:") for u in urls), urls
        paths = [u[len(origin):] for u in urls if u.startswith(origin)]
        assert set(paths) <= API | {"/"}, paths
        api_times = [t for t, u in reqs if u[len(origin):] in API]
        span = api_times[-1] - api_times[0]
        assert len(api_times) <= 3 * (span / 3 + 1), "%d API requests in %.1f s" % (len(api_times), span)
        assert paths.count("/api/energy") < paths.count("/api/status")

        # 8. the dongle goes away: said so, the last values stay; it comes back
        before = shown(drv)["field"]["power_import_w"]
        d.stop()
        p = eventually(lambda: (lambda p: (p["pill"] == "Dongle not reachable", p["pill"]))(shown(drv)),
                       12, "'dongle not reachable'")
        p = shown(drv)
        assert p["stale"] == "stale" and p["field"]["power_import_w"] == before
        assert any("Dongle not reachable" in n for n in p["notes"])
        screenshot(drv, "webpage-unreachable.png")
        d.start(d.http_port)
        eventually(lambda: (lambda p: (p["pill"] == "Live" and not p["stale"], p["pill"]))(shown(drv)),
                   20, "the page to recover")

        # 9. another meter (through a stand-in for the network path): one
        # phase, tariff registers with trailing zeros, gas, silent for 47 s
        reading, summary, energy = firmware_fixtures(tmp_path / "fixtures")
        proxy = Proxy(d.http_port, {"/api/reading": lambda _: reading, "/api/energy": lambda _: energy,
                                    "/api/status": with_summary(summary)})
        try:
            drv.get(proxy.url)
            p = eventually(lambda: (lambda p: (p["pill"] == "Meter silent" and "power_import_w" in p["field"], p))(
                shown(drv)), 12, "the other meter's reading")
            want = json.loads(reading, parse_float=str, parse_int=str)
            assert p["field"] == {k: [v] for k, v in want["values"].items()}
            assert p["field"]["energy_import_t1_kwh"] == ["1234.5"] and p["field"]["voltage_l1_v"] == ["229"]
            assert p["phases"] == ["L1"]
            assert p["meter"]["id"] == ["E0031003001731617"] and p["meter"]["version"] == ["50"]
            assert any(n.startswith("Meter silent for 47 s") for n in p["notes"])
            assert "<b>a text message<b>" in drv.execute_script(
                "return document.getElementById('odl').textContent")     # shown as text, not markup
            e = json.loads(summary, parse_float=str, parse_int=str)
            assert e["warning"] == "new_peak" and e["problems"] == [PROBLEM]
            assert p["energy"] == {"hour.estimate_kwh": [e["hour_estimate_kwh"]],
                                   "today.import_kwh": [e["today_import_kwh"]],
                                   "month.import_kwh": [e["month_import_kwh"]],
                                   "month.peak_kwh": [e["month_peak_kwh"]],
                                   "month.peak_hour": [e["month_peak_hour"][:10] + " " + e["month_peak_hour"][11:16]],
                                   "month.top_average_kw": [e["top_average_kw"]],
                                   "month.capacity_step": [e["capacity_step"]]}
            assert "On course for a new monthly peak" in p["text"] and "(top 3)" in p["text"]
            assert "Energy: " + PROBLEM in p["notes"]
            assert set(proxy.paths) <= API | {"/"}
            screenshot(drv, "webpage-single-phase.png")
        finally:
            proxy.close()
        eventually(lambda: (lambda p: (p["pill"] == "Dongle not reachable", p["pill"]))(shown(drv)),
                   12, "'dongle not reachable' when the network path is gone")

        # 10. no script errors in all of that (failed requests are expected)
        errors = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"
                  and "Failed to load resource" not in e["message"]
                  and "ERR_CONNECTION_REFUSED" not in e["message"]]
        assert not errors, errors
    finally:
        feed.stop()
        d.stop()
        meter.close()
    print("browser test: %.1f s" % (time.time() - t_start))
