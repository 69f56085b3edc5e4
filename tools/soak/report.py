"""The soak's verdict and figures, from what its run recorded."""
import http.client
import json
import time
from collections import Counter
from decimal import Decimal

from hanport.decoder import COUNTERS
from testkit import rig
from testkit.constants import RESET_EXIT

from .clients import ALLOWED, HTTP_TIMEOUT_S, IN_REBOOT
from .model import START


class Report:
    """Soak's verdict (_final, after the run) and its figures (table, figures)."""

    def _final(self):
        st = self.wait_consumed()
        time.sleep(1.5)                        # a heap figure after the last frame
        st = self.status()
        self.logs.append(self.dongle.log())
        self.boots.append(self._boot_figures(st))
        self.ref_totals.update(self.ref.stats())
        got = Counter()
        for b in self.boots:
            got.update(b["frames"])
        self.got = got
        for c in COUNTERS:
            if got[c] != self.expected[c]:
                self.fail("%s: the dongle counted %d, %d expected" % (c, got[c], self.expected[c]))
            if self.ref_totals[c] != self.expected[c]:
                self.fail("%s: the reference decoder counted %d, %d expected (harness)" % (
                    c, self.ref_totals[c], self.expected[c]))
        if self.ref.pending():
            self.fail("a partial frame was left at the end (harness)")
        # MQTT
        for i, rec in enumerate(self.broker_cycles):
            if rec["resume_s"] is None:
                self.fail("publishing did not resume after broker restart %d" % (i + 1))
        want = {k: Decimal(v) for k, v in self.last_valid.values.items()}

        def matches(values):
            return values is not None and all(
                k in values and Decimal(str(values[k])) == v for k, v in want.items())

        def mqtt_last():
            got = self.sub.on(self.base + "/state") if self.sub else []
            return json.loads(got[-1][1], parse_float=Decimal)["values"] if got else None
        try:
            rig.wait_until(lambda: matches(mqtt_last()), 10, what="the last reading over MQTT")
        except AssertionError:
            self.fail("MQTT's last state is not the last frame's values")
        # HTTP at the end
        try:
            code, _, body = self.dongle.get("/api/reading", timeout=HTTP_TIMEOUT_S)
            if code != 200 or not matches(json.loads(body, parse_float=Decimal)["values"]):
                self.fail("/api/reading at the end: %s, not the last frame's values" % code)
            for path in ("/metrics", "/", "/api/energy"):
                if self.dongle.get(path)[0] != 200:
                    self.fail("%s at the end is not 200" % path)
        except (OSError, http.client.HTTPException) as e:
            self.fail("HTTP at the end: %r" % e)
        # heap, restarts
        budget = self.heap
        if self.heap_peak > budget:
            self.fail("heap peak %d bytes over the budget %d" % (self.heap_peak, budget))
        for i, log in enumerate(self.logs):
            for bad in ("MemoryError", "Traceback", "failed:"):
                if bad in log:
                    line = log[:log.index(bad)].rpartition("\n")[2] + log[log.index(bad):].partition("\n")[0]
                    self.fail("boot %d's log has %r: %s" % (i + 1, bad, line.strip()[:300]))
        if self.dongle.proc is None or self.dongle.proc.poll() is not None:
            self.fail("the firmware is not running at the end")
        if self.task_restarts:
            self.fail("firmware tasks restarted: %s" % self.task_restarts)
        if self.generated != self.valid_sent + sum(self.sent_faults.values()) + self.lost:
            self.fail("messages generated do not add up (harness)")
        # HTTP clients
        self._http_verdict()

    def _in_reboot(self, t0, t1):
        return any(t0 <= e and t1 >= s for s, e in self.reboot_windows)

    def _http_verdict(self):
        by_kind = {}
        bad = Counter()
        for kind, outcome, t0, t1 in self.clients.records:
            rb = self._in_reboot(t0, t1)
            by_kind.setdefault(kind, Counter())[outcome + (" (rebooting)" if rb and outcome in IN_REBOOT else "")] += 1
            if outcome in ALLOWED[kind] or (rb and outcome in IN_REBOOT):
                continue
            bad[(kind, outcome)] += 1
        for (kind, outcome), n in sorted(bad.items()):
            self.fail("HTTP %s clients: %d times %s" % (kind, n, outcome))
        self.http_by_kind = by_kind
        polls = by_kind.get("poll", Counter())
        if not polls.get("200"):
            self.fail("the polling client never got a reading")

    # --- figures ------------------------------------------------------------------------------------

    def table(self):
        g = self.got
        lines = []

        def row(what, figure):
            lines.append("  %-34s %s" % (what, figure))
        budget = self.heap
        lines.append("soak: %s meter, %.1f simulated hours at %gx (%d s wall), seed %s" % (
            self.make, self.hours, self.speed, self.duration, self.seed))
        row("wall time", "%.0f s (%.1f min)" % (self.wall, self.wall / 60))
        row("meter time", "%s -> %s" % (START.strftime("%Y-%m-%d %H:%M"),
                                        self.sim.next_time.strftime("%Y-%m-%d %H:%M")))
        row("messages generated", "%d (%d lost while the line was cut or the dongle rebooting)" % (
            self.generated, self.lost))
        row("valid frames delivered / decoded", "%d / %d (frames_ok, summed over %d boots)" % (
            self.valid_sent, g["frames_ok"], len(self.boots)))
        row("damaged frames sent", ", ".join("%s %d" % kv for kv in sorted(self.sent_faults.items())) or "0")
        rejected = ["%s %d (expected %d, reference decoder %d)" % (c, g[c], self.expected[c], self.ref_totals[c])
                    for c in COUNTERS if c != "frames_ok" and (g[c] or self.expected[c] or self.ref_totals[c])]
        row("rejected by kind (/api/status)", ("\n" + " " * 37).join(rejected) or "none")
        row("line noise bursts", "%d, %d bytes (no frame-start bytes: cost nothing)" % (
            self.garbage_bursts, self.garbage_bytes))
        row("bytes sent to the dongle", "%d" % self.bytes_sent)
        row("line cuts", "%d (%d mid-frame), %d connections from the dongle" % (
            len(self.cuts), sum(c["mid_frame"] for c in self.cuts), self.line.connections))
        res = [r["resume_s"] for r in self.broker_cycles if r["resume_s"] is not None]
        downs = [r["down_s"] for r in self.broker_cycles] or [0]
        row("broker kills/restarts", "%d (down %g-%g s each); publishing resumed after %d of them" % (
            len(self.broker_cycles), min(downs), max(downs), len(res)))
        if res:
            row("time to resume publishing", "max %.1f s, mean %.1f s (broker up -> state at a subscriber)" % (
                max(res), sum(res) / len(res)))
        row("MQTT published / connects", "%d / %d (failed sessions or attempts %d)" % (
            sum(b["published"] for b in self.boots), sum(b["connects"] for b in self.boots),
            sum(b["failed"] for b in self.boots)))
        row("deliberate reboots", "%d (POST /setup, exit %d each; down %s s; requests to get one in: %s)" % (
            len(self.reboots), RESET_EXIT, ", ".join("%.1f" % r["down_s"] for r in self.reboots) or "-",
            ", ".join(str(t) for t in self.reboot_tries) or "-"))
        hk = self.http_by_kind
        hostile = sum(sum(hk.get(k, Counter()).values()) for k in ("slowloris", "oversized", "random", "burst"))
        row("hostile HTTP connections", "%d" % hostile)
        for kind in ("slowloris", "oversized", "random", "burst", "poll"):
            c = hk.get(kind, Counter())
            row("  " + kind + (" (legitimate)" if kind == "poll" else ""),
                "%d: %s" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))
        if self.clients.slow_answer_s:
            row("  slow clients cut off after", "%.1f-%.1f s" % (min(self.clients.slow_answer_s),
                                                              max(self.clients.slow_answer_s)))
        row("HTTP served / refused (503) / errors", "%d / %d / %d (over all boots)" % (
            sum(b["http"]["served"] for b in self.boots), sum(b["http"]["refused"] for b in self.boots),
            sum(b["http"]["errors"] for b in self.boots)))
        row("  of the 503s: heap short", "%d (a request refused to keep the reserve for the meter and MQTT)" % (
            sum(b["http"].get("short_of_memory", 0) for b in self.boots)))
        row("spare block let go", "%d times (the meter or MQTT on a full heap, decoding on)" % (
            sum(b.get("spare_spent", 0) for b in self.boots)))
        row("heap peak (live, /api/status)", "%d bytes of %d budget (%.0f%%), lowest free %d" % (
            self.heap_peak, budget, 100.0 * self.heap_peak / budget, self.heap_free_min))
        row("restarts by itself", "%d exits, task restarts %s" % (self.self_exits, self.task_restarts))
        lines.append("RESULT: " + ("PASS" if not self.failures else "FAIL\n  " + "\n  ".join(self.failures)))
        return "\n".join(lines)

    def figures(self):
        res = [r["resume_s"] for r in self.broker_cycles if r["resume_s"] is not None]
        return {"make": self.make, "hours": self.hours, "speed": self.speed, "wall_s": round(self.wall, 1),
                "generated": self.generated, "lost": self.lost, "valid_sent": self.valid_sent,
                "decoded": self.got["frames_ok"], "faults": dict(self.sent_faults),
                "counters": dict(self.got), "expected": dict(self.expected),
                "reference": {c: self.ref_totals[c] for c in COUNTERS},
                "garbage_bursts": self.garbage_bursts, "cuts": len(self.cuts),
                "broker_restarts": len(self.broker_cycles), "resume_max_s": max(res) if res else None,
                "reboots": len(self.reboots), "heap_peak": self.heap_peak, "heap_budget": self.heap,
                "spare_spent": sum(b.get("spare_spent", 0) for b in self.boots),
                "http": {k: dict(v) for k, v in self.http_by_kind.items()}, "failures": self.failures}
