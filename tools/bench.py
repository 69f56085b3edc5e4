"""make bench: the decoder's and the firmware's speed and memory, against
the Python peers and against the goals (issue 6), printed as one table.

    python tools/bench.py [--quick] [--readme]

  CPython     microseconds per message, hanport against dsmr-parser
              (SWEDEN spec, CRC check on) and amshan (ModeDReader +
              AutoDecoder) on the same Swedish P1 telegrams, and against
              amshan (HdlcFrameReader + AutoDecoder) on the same Aidon, Kaifa
              and Kamstrup frames: medians over interleaved repetitions.
  MicroPython the same decoding under the unix port: microseconds and bytes
              allocated per message (feed + to_json).
  Dongle      the firmware on the virtual dongle from the .mpy bundle: from
              a telegram's last byte to its MQTT message and to /api/reading
              serving it (p50, p99); bundle size; heap after start-up; the
              accelerated session's peak heap.
--readme writes the table, the date and this machine into README.md
between the "bench" markers. Timing figures vary with the machine; the
budgets that must hold (testkit.constants) are asserted in
host_tests/test_memory.py."""
import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (os.path.join(ROOT, "lib"), HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

import hanport  # noqa: E402
import mp_measure  # noqa: E402
from meter_sim import SimMeter  # noqa: E402
from testkit import mpy  # noqa: E402
from testkit.config import dongle_config  # noqa: E402
from testkit.constants import BOOK32, HEAP, HEAP32, METER_KEY  # noqa: E402

START = datetime.datetime(2026, 1, 15, 16, 59)
MAKES = ("aidon", "kaifa", "kamstrup")
ROWS = []          # (section, what, figure, goal, verdict)


def row(section, what, figure, goal="", verdict=""):
    ROWS.append((section, what, figure, goal, verdict))
    print("  %-44s %s" % (what, figure), flush=True)


def messages(make, n):
    m = SimMeter(make, start=START)
    return [m.next_frame().data for _ in range(n)]


# --- CPython ------------------------------------------------------------------

def interleaved(impls, msgs, reps):
    """{name: median microseconds per message}: each repetition times every
    implementation once over all messages, in turn."""
    times = {name: [] for name in impls}
    for _ in range(reps):
        for name, make_run in impls.items():
            run = make_run()
            gc.collect()
            gc.disable()
            t = time.perf_counter()
            run(msgs)
            times[name].append((time.perf_counter() - t) / len(msgs) * 1e6)
            gc.enable()
    return {name: statistics.median(v) for name, v in times.items()}


def ours():
    dec = hanport.Decoder()

    def run(msgs):
        for m in msgs:
            dec.feed(m)
    return run


def ours_json():
    dec = hanport.Decoder()

    def run(msgs):
        for m in msgs:
            for r in dec.feed(m):
                r.to_json()
    return run


def dsmr():
    from dsmr_parser import telegram_specifications as specs
    from dsmr_parser.parsers import TelegramParser
    parser = TelegramParser(specs.SWEDEN, apply_checksum_validation=True)

    def run(msgs):
        for m in msgs:
            parser.parse(m.decode("latin-1"))
    return run


def amshan_p1():
    from han import autodecoder, dlde
    reader, dec = dlde.ModeDReader(), autodecoder.AutoDecoder()

    def run(msgs):
        for m in msgs:
            for r in reader.read(m):
                if r.is_valid:
                    dec.decode_message(r)
    return run


def amshan_hdlc():
    from han import autodecoder, hdlc
    reader, dec = hdlc.HdlcFrameReader(False), autodecoder.AutoDecoder()

    def run(msgs):
        for m in msgs:
            for f in reader.read(m):
                if f.is_good_ffc and f.is_expected_length:
                    dec.decode_message(f)
    return run


def cpython(reps):
    print("CPython %s, %d interleaved repetitions" % (platform.python_version(), reps), flush=True)
    p1 = messages("p1", 100)
    t = interleaved({"hanport": ours, "hanport+json": ours_json, "dsmr-parser": dsmr, "amshan": amshan_p1},
                    p1, reps)
    peer = min(t["dsmr-parser"], t["amshan"])
    row("CPython", "P1 telegram, hanport feed", "%.1f us" % t["hanport"])
    row("CPython", "P1 telegram, hanport feed + to_json", "%.1f us" % t["hanport+json"])
    row("CPython", "P1 telegram, dsmr-parser", "%.1f us" % t["dsmr-parser"])
    row("CPython", "P1 telegram, amshan", "%.1f us" % t["amshan"])
    ratio = peer / t["hanport"]
    row("CPython", "P1: faster peer / hanport", "%.1fx" % ratio, ">= 10x", verdict(ratio >= 10))
    for make in MAKES:
        frames = messages(make, 100)
        t = interleaved({"hanport": ours, "amshan": amshan_hdlc}, frames, reps)
        ratio = t["amshan"] / t["hanport"]
        row("CPython", "%s HDLC, hanport / amshan" % make.capitalize(),
            "%.1f / %.1f us" % (t["hanport"], t["amshan"]))
        row("CPython", "%s: amshan / hanport" % make.capitalize(), "%.1fx" % ratio, ">= 20x", verdict(ratio >= 20))


def verdict(ok):
    return "met" if ok else "NOT MET"


# --- MicroPython ----------------------------------------------------------------

def mp(mode, msgs, n, tmp):
    path = os.path.join(tmp, "messages.bin")
    mp_measure.write(path, msgs)
    res = mpy.run([os.path.join(HERE, "mp_measure.py"), mode, path, str(n)], timeout=900)
    res.check_returncode()
    return {k: int(v) for k, v in (kv.split("=") for kv in res.stdout.decode().split())}


def longest(make):
    return max(messages(make, 400), key=len)


def micropython(reps, tmp):
    print("MicroPython unix port (64-bit)", flush=True)
    for make in ("p1",) + MAKES:
        msgs = messages(make, 100)
        us = mp("speed", msgs, reps, tmp)["us_per_message"]
        row("MicroPython", "%s: feed + to_json per message" % make, "%d us" % us)
    for make in ("p1",) + MAKES:
        msg = messages("p1", 1)[0] if make == "p1" else longest(make)
        per = mp("frame", [msg], 200, tmp)["bytes_per_message"]
        what = "P1 telegram" if make == "p1" else "%s longest list" % make.capitalize()
        row("MicroPython", "%s: bytes allocated" % what, "%d B" % per, "<= 3072 B", verdict(per <= 3072))


# --- the virtual dongle -------------------------------------------------------

def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def latency(tmp, lib, n):
    from testkit import rig
    os.makedirs(tmp, exist_ok=True)
    broker = rig.Broker(tmp)
    meter = rig.Meter()
    d = rig.Dongle(tmp, dongle_config(meter, "p1", broker), lib=lib)
    sub = rig.Subscriber(broker.port, "han/%s/state" % d.device_id[-6:])
    sim = SimMeter("p1", start=START)
    to_mqtt, to_http = [], []
    try:
        rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
        time.sleep(1)
        for k in range(2 * n):
            f = sim.next_frame()
            stamp = f.time.strftime("%Y-%m-%dT%H:%M:%S")
            before = len(sub.times)
            meter.send(f.data)
            t0 = time.perf_counter()        # the meter's last byte is on its way
            if k % 2 == 0:          # MQTT, without HTTP traffic
                rig.wait_until(lambda: len(sub.times) > before, 5, step=0.001, what="the MQTT message")
                to_mqtt.append((sub.times[before] - t0) * 1000)
            else:                   # /api/reading, polled until it shows this telegram
                while True:
                    body = d.get("/api/reading")[2]
                    if stamp.encode() in body:
                        to_http.append((time.perf_counter() - t0) * 1000)
                        break
                    if time.perf_counter() - t0 > 5:
                        raise RuntimeError("/api/reading did not show the telegram")
            time.sleep(0.3)
    finally:
        sub.close()
        d.stop()
        meter.close()
        broker.stop()
    p50 = percentile(to_mqtt, 50)
    row("Dongle", "telegram's last byte -> broker delivers the MQTT message, p50 / p99",
        "%.1f / %.1f ms" % (p50, percentile(to_mqtt, 99)), "p50 <= 10 ms", verdict(p50 <= 10))
    row("Dongle", "telegram -> /api/reading, p50 / p99",
        "%.1f / %.1f ms" % (percentile(to_http, 50), percentile(to_http, 99)))


def footprint(tmp, lib, img):
    import build
    from testkit import rig
    out = os.path.join(tmp, "esp32")
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            build.build("esp32-devkitc", out)
        finally:
            sys.stdout = old
    mpy_bytes = sum(os.path.getsize(os.path.join(f, n)) for f, _, ns in os.walk(os.path.join(out, "lib"))
                    for n in ns if n.endswith(".mpy"))
    page = os.path.getsize(os.path.join(out, "www", "index.html.gz"))
    row("Footprint", "build/ for esp32-devkitc: .mpy / page (gzip)", "%d / %d bytes" % (mpy_bytes, page))
    for make in ("p1", "aidon"):
        for mode in ("mpy", "romfs"):
            meter = rig.Meter()
            cfg = dongle_config(meter, make, wifi=None)
            folder = os.path.join(tmp, "%s-%s" % (make, mode))
            d = rig.Dongle(folder, cfg, lib=lib, romfs=img if mode == "romfs" else None, heapsize=1 << 20)
            code = os.path.getsize(img) if mode == "romfs" else 0
            try:
                rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
                time.sleep(2.5)
                boot = d.status()["heap"]["used"] - code
                sim = SimMeter(make, start=START)
                for _ in range(4):
                    meter.send(sim.next_frame().data)
                    time.sleep(0.2)
                time.sleep(2.5)
                running = d.status()["heap"]["used"] - code
            finally:
                d.stop()
                meter.close()
            how = "code in heap (stock firmware)" if mode == "mpy" else "code in flash (ROMFS/frozen)"
            row("Footprint", "heap after start-up / first %s frames, %s" % (make, how),
                "%d / %d bytes" % (boot, running))


def session(tmp, lib, seconds):
    """The accelerated session of host_tests/test_memory.py at its budget:
    the live heap's peak."""
    from testkit import rig
    for make in ("p1", "aidon"):
        os.makedirs(os.path.join(tmp, "s-" + make), exist_ok=True)
        broker = rig.Broker(os.path.join(tmp, "s-" + make))
        meter = rig.Meter()
        heap = HEAP[make]
        d = rig.Dongle(os.path.join(tmp, "s-" + make), dongle_config(meter, make, broker), heapsize=heap, lib=lib)
        try:
            rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
            s = rig.Session(d, meter, SimMeter(make, start=START))
            st = s.run(seconds)
            ok = st["task_restarts"] == {} and "MemoryError" not in d.log() and \
                st["frames"]["frames_ok"] == s.sent
        finally:
            d.stop()
            meter.close()
            broker.stop()
        # (64-bit: not the board's figure, which board_heap measures on the
        # 32-bit build; no verdict here)
        row("Dongle", "%s session %d s (10 msg/s, 10 polls/s, MQTT): heap, 64-bit" % (make, seconds),
            "%d KB peak live in -X heapsize=%dK%s" % (st["heap"]["peak"] // 1024, heap // 1024,
                                                     "" if ok else " (FAILED)"))


ROOM32 = 8 * 1024       # web.MODULE_ROOM on the 32-bit build: free heap /api/status needs


def objects_room(kb):
    """Bytes a -X heapsize=<kb>K heap of the 32-bit build gives to objects
    (the rest is the collector's tables), as that build reports it."""
    import subprocess
    out = subprocess.run([str(mpy.MP32), "-X", "heapsize=%dK" % kb, "-c",
                          "import gc; gc.collect(); print(gc.mem_free() + gc.mem_alloc())"],
                         capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout)


def board_heap(tmp, lib, seconds):
    """The board's heap, on the 32-bit build (the ESP32's object sizes) with
    the code in the heap as stock firmware has it: after start-up, after
    the first frames, and the live peak of test_memory's 32-bit session (10
    msg/s, 10 polls/s, MQTT) per make. A plain ESP32 gives the firmware
    about 96 KB (must); the C3/S3's initial 64 KB (goal for P1) and 80 KB
    (goal for DLMS) would need no heap growth."""
    from testkit import rig
    from testkit.book import year_of_energy
    for make in ("p1", "aidon", "kamstrup-gcm", "p1-year"):
        sim_make, kw, cipher = make, {}, {}
        if make == "kamstrup-gcm":
            sim_make, kw, cipher = "kamstrup", {"key": METER_KEY}, {"key": METER_KEY}
        folder = os.path.join(tmp, "b32-" + make)
        os.makedirs(os.path.join(folder, "flash"), exist_ok=True)
        heap = HEAP32[make] if make in HEAP32 else HEAP32["p1"] + BOOK32
        if make == "p1-year":
            # a year of energy accounts (test_memory's): the simulated
            # meter starts at 15:59 UTC, its import register at 12,345,678 Wh
            sim_make = "p1"
            year_of_energy(os.path.join(folder, "flash", "energy.json"),
                           int(datetime.datetime(2026, 1, 15, 15, tzinfo=datetime.timezone.utc).timestamp()),
                           12340000)
        broker = rig.Broker(folder)
        meter = rig.Meter()
        # (mDNS off: on the board the firmware's own responder holds UDP
        # 5353 and ours lets go at start, README "Hardware-only notes")
        cfg = dongle_config(meter, sim_make, broker, meter=cipher, mdns=False)
        d = rig.Dongle(folder, cfg, heapsize=heap, lib=lib, bits=32)
        try:
            rig.wait_until(meter.connected, 15, what="the dongle to connect to the meter")
            time.sleep(2.5)
            boot = d.status()["heap"]["used"]
            sim = SimMeter(sim_make, start=START, **kw)
            for _ in range(4):
                meter.send(sim.next_frame().data)
                time.sleep(0.2)
            time.sleep(2.5)
            first = d.status()["heap"]["used"]
            s = rig.Session(d, meter, sim)
            st = s.run(seconds)
            ok = st["task_restarts"] == {} and "MemoryError" not in d.log() and \
                st["frames"]["frames_ok"] == s.sent + 4
        finally:
            d.stop()
            meter.close()
            broker.stop()
        peak = st["heap"]["peak"]
        goal = 64 if make.startswith("p1") else 80
        what = "p1, a year of energy accounts" if make == "p1-year" else make
        # met: the session ran in that heap, or its peak and the room
        # /api/status needs fit what that heap gives objects
        row("Board heap (32-bit)", "%s: after start-up / first frames / session peak (in -X heapsize=%dK)"
            % (what, heap // 1024), "%.1f / %.1f / %.1f KB" % (boot / 1024, first / 1024, peak / 1024),
            "must: 96 KB; goal: %d KB (the session run in it, or its peak + 8 KB, the room /api/status needs, "
            "within what it gives objects)" % goal,
            "%s (96 KB), %s (%d KB)" % (verdict(ok and (heap <= 96 * 1024 or peak <= objects_room(96) - ROOM32)),
                                         verdict(ok and (heap <= goal * 1024 or peak <= objects_room(goal) - ROOM32)),
                                         goal))


# --- output ---------------------------------------------------------------------

def table():
    head = "| | What | Figure | Goal | |\n|---|---|---|---|---|\n"
    return head + "".join("| %s | %s | %s | %s | %s |\n" % r for r in ROWS)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, %s, Python %s" % (cpu, os.cpu_count() or 1, platform.system(), platform.python_version())


def write_readme(text):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        readme = f.read()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in readme or end not in readme:
        sys.exit("bench: README.md has no %s ... %s markers" % (start, end))
    before, rest = readme.split(start, 1)
    _, after = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(before + start + "\n" + text + end + after)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, shorter session")
    ap.add_argument("--readme", action="store_true", help="write the results into README.md")
    args = ap.parse_args()
    reps = 5 if args.quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        cpython(reps)
        micropython(3 if args.quick else 9, tmp)
        from testkit import rig
        print("Virtual dongle (.mpy bundle)", flush=True)
        lib, img = rig.bundle(os.path.join(tmp, "bundle"))
        latency(os.path.join(tmp, "latency"), lib, 20 if args.quick else 60)
        footprint(tmp, str(lib), str(img))
        session(tmp, lib, 20 if args.quick else 60)
        if os.path.exists(str(mpy.MP32)):
            print("Board heap (32-bit build)", flush=True)
            lib32, _ = rig.bundle(os.path.join(tmp, "bundle32"), "x86")
            board_heap(tmp, lib32, 20 if args.quick else 60)
        else:
            print("bench: no 32-bit MicroPython (make builds it from ../shared/micropython32): board heap skipped")
    text = "Measured %s on %s.\n\n%s" % (datetime.date.today().isoformat(), machine(), table())
    print()
    print(text)
    if args.readme:
        write_readme(text)
        print("README.md: performance section updated")


if __name__ == "__main__":
    main()
