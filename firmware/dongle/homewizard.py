# A HomeWizard-compatible local API, version 1 (config homewizard): GET
# /api, /api/v1/data and /api/v1/telegram with the paths, field names and
# units of HomeWizard's published v1 API, so what reads a HomeWizard P1
# meter (Home Assistant's HomeWizard integration, home batteries, chargers)
# reads this dongle. A compatible API, not a HomeWizard product. Loaded for
# the request and let go after it (web.py). Values are the meter's exact
# decimals; what the meter does not send is left out.
import json

from hanport import fields
from hanport.fmt import decimal, normalize

from . import VERSION
from .http import error_body

JSON = "application/json"
PATHS = ("/api", "/api/v1/data", "/api/v1/telegram")

# (HomeWizard's name, ours): the same units (kWh, W, V, A, Hz, m3)
SAME = (("active_voltage_l1_v", "voltage_l1_v"),
        ("active_voltage_l2_v", "voltage_l2_v"),
        ("active_voltage_l3_v", "voltage_l3_v"),
        ("active_current_l1_a", "current_l1_a"),
        ("active_current_l2_a", "current_l2_a"),
        ("active_current_l3_a", "current_l3_a"),
        ("active_frequency_hz", "frequency_hz"),
        ("active_power_average_w", "power_import_avg_w"),
        ("montly_power_peak_w", "power_import_month_peak_w"),     # (sic: HomeWizard's spelling)
        ("total_gas_m3", "gas_m3"))


def handle(web, req):
    """(status, content type, body, extra headers); counted on web."""
    got = _answer(web, req)
    if got[0] == 200:
        web.hw_served += 1
    else:
        web.hw_refused += 1
    return got


def _answer(web, req):
    if req.path not in PATHS:
        return 404, JSON, error_body(404, "not found", path=req.path[:100]), None
    if req.method != "GET":
        return 405, JSON, error_body(405, "method not allowed"), {"Allow": "GET"}
    if req.body:
        return 400, JSON, error_body(400, "a GET takes no body"), None
    app = web.app
    if req.path == "/api":
        return 200, JSON, json.dumps({
            "product_name": "hanport HAN-port dongle", "product_type": "HWE-P1",
            "serial": app.device_id, "firmware_version": VERSION, "api_version": "v1"}), None
    r = app.state.reading
    if req.path == "/api/v1/telegram":
        if app.p1_raw is not None:
            return 200, "text/plain; charset=us-ascii", app.p1_raw, None
        if r is None:
            return 503, JSON, error_body(503, "no telegram yet"), {"Retry-After": "10"}
        if r.protocol != "p1":
            return 404, JSON, error_body(404, "no P1 telegram: this meter sends binary frames (DLMS), "
                                         "not P1 text; its values are in /api/v1/data"), None
        return 404, JSON, error_body(404, "no P1 telegram as received: this meter's telegrams "
                                     "come encrypted; its values are in /api/v1/data"), None
    if r is None:
        return 503, JSON, error_body(503, "no reading yet"), {"Retry-After": "10"}
    return 200, JSON, data(app, r), None


def _get(r, name):
    i = fields.index(name)
    mantissa = r.m[i]
    return None if mantissa is None else (mantissa, r.d[i])


def _sum(a, b, sign=1):
    """a + sign * b exactly, either may be None (a value not sent); None
    when both are."""
    if a is None and b is None:
        return None
    if a is None:
        a = (0, 0)
    if b is None:
        b = (0, 0)
    d = max(a[1], b[1])
    return normalize(a[0] * 10 ** (d - a[1]) + sign * b[0] * 10 ** (d - b[1]), d)


def data(app, r):
    """The /api/v1/data document of reading r, as text."""
    out = []

    def put(name, text):
        out.append('"%s": %s' % (name, text))

    def num(name, v):
        if v is not None:
            put(name, decimal(v[0], v[1]))

    ssid = app.cfg["wifi"]["ssid"]
    if ssid:
        put("wifi_ssid", json.dumps(ssid))
    rssi = app.wifi.rssi()
    if rssi is not None:
        put("wifi_strength", min(100, max(0, 2 * (rssi + 100))))     # percent, as HomeWizard's
    if r.protocol == "p1" and r.version and r.version.isdigit():
        put("smr_version", int(r.version))
    if r.model:
        put("meter_model", json.dumps(r.model))
    if r.meter_id:
        # hexadecimal of the id's characters, as HomeWizard sends DSMR's equipment id
        put("unique_id", '"%s"' % "".join("%02X" % ord(ch) for ch in r.meter_id))
    t = _get(r, "tariff")
    if t is not None and t[1] == 0:
        put("active_tariff", t[0])
    for way in ("import", "export"):
        total = _get(r, "energy_%s_kwh" % way)
        t1, t2 = _get(r, "energy_%s_t1_kwh" % way), _get(r, "energy_%s_t2_kwh" % way)
        if total is None and t1 is not None and t2 is not None:
            total = _sum(t1, t2)            # Dutch meters send only the tariffs' registers
        num("total_power_%s_kwh" % way, total)
        num("total_power_%s_t1_kwh" % way, t1)
        num("total_power_%s_t2_kwh" % way, t2)
    # HomeWizard's power is one signed figure: import minus export
    num("active_power_w", _sum(_get(r, "power_import_w"), _get(r, "power_export_w"), -1))
    for p in ("l1", "l2", "l3"):
        num("active_power_%s_w" % p, _sum(_get(r, "power_import_%s_w" % p), _get(r, "power_export_%s_w" % p), -1))
    for hw, ours in SAME:
        num(hw, _get(r, ours))
    return "{" + ", ".join(out) + "}"
