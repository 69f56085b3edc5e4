"""A short soak (tools/soak.py, `make soak` runs a simulated day): two
simulated hours of P1 telegrams on the virtual dongle, from the .mpy bundle
inside its heap budget, while the broker is killed and restarted, the meter
line is cut (once between telegrams, once in the middle of one), damaged
telegrams and line noise arrive, hostile HTTP clients (slow, oversized,
random bytes, 50 at once) keep at it, and the dongle is rebooted through
its setup form once with clients knocking."""
import pytest

from hanport.decoder import COUNTERS
from soak.run import Soak
from testkit.constants import HEAP


def test_two_hours_of_faults(tmp_path):
    s = Soak("p1", hours=2, seed=3, event_every=13, reboot_every=5, burst_every=20,
             workdir=str(tmp_path), progress_s=1e9).run()
    if not hasattr(s, "got"):
        pytest.fail("the soak did not finish:\n  " + "\n  ".join(s.failures))
    table = s.table()
    print(table)
    assert not s.failures, table
    # every valid telegram delivered was decoded, over both boots
    assert s.valid_sent > 300 and s.got["frames_ok"] == s.valid_sent
    # every damaged one is in /api/status under the counter its damage
    # calls for, and nothing else is
    assert sum(s.sent_faults.values()) > 0
    for c in COUNTERS:
        assert s.got[c] == s.expected[c] == s.ref_totals[c], c
    assert s.got["crc_errors"] + s.got["malformed"] == sum(s.sent_faults.values())
    assert s.garbage_bursts > 0
    # the events happened, and MQTT came back after each broker restart
    assert len(s.broker_cycles) == 2 and all(r["resume_s"] is not None for r in s.broker_cycles)
    assert [c["mid_frame"] for c in s.cuts] == [False, True]
    assert len(s.reboots) == 1 and len(s.boots) == 2 and s.self_exits == 0
    # hostile clients of every kind were answered as they deserve
    for kind in ("slowloris", "oversized", "random", "burst", "poll"):
        assert sum(s.http_by_kind[kind].values()) > 0, kind
    assert s.http_by_kind["poll"]["200"] > 0
    assert 0 < s.heap_peak <= HEAP["p1"]
