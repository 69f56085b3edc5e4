"""The setup page's update control (pages.py) in a real Chromium, on the
virtual dongle: the admin password typed in, make build's bundle chosen in
the file input, the Update button pressed; what the page then says, and
what the dongle runs after its reboot. The update itself (slots, trial,
rollback) is test_ota.py's. And make's commands (tools/ota.py) with the
same passwords."""
import json
import os
import subprocess
import sys

import build
import pytest

from testkit import rig
from testkit.config import dongle_config
from testkit.mpy import ROOT

PASSWORD = "correct horse 1"
# any text, as the setup form takes it; the page sends it as UTF-8, as curl
# does ("ü" fits a byte, "€" does not: fetch refuses to send that as it is)
WIDE_PASSWORD = "Grüße, Pferd €5"
BUILD_ID = "pagetest"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """make build's bundle for the virtual dongle, built once, its build id
    BUILD_ID: its path."""
    out = tmp_path_factory.mktemp("page") / "build"
    mp = pytest.MonkeyPatch()
    mp.setenv("BUILD_ID", BUILD_ID)
    try:
        build.build("unix", str(out), "x64")
    finally:
        mp.undo()
    return out / "hanport.bundle"


def dongle(tmp_path, meter, password=PASSWORD):
    """A dongle with an admin password and a meter line (silent: an update
    then proves itself by answering HTTP alone)."""
    return rig.Dongle(tmp_path, dongle_config(meter, "p1", admin_password=password, mqtt={"host": ""},
                                              update={"window_s": 20}))


def update_status(d):
    code, st = d.json("/api/status")
    assert code == 200
    return st["update"]


def send_from_page(drv, d, password, bundle):
    """The setup page: password in its field, the bundle in the file input,
    Update pressed. What the page says once the dongle answered."""
    from selenium.webdriver.common.by import By
    drv.get("http://127.0.0.1:%d/setup" % d.http_port)
    drv.find_element(By.ID, "current_password").send_keys(password)
    drv.find_element(By.ID, "ub").send_keys(str(bundle))
    drv.find_element(By.XPATH, '//button[text()="Update"]').click()
    answer = drv.find_element(By.ID, "ur")
    return rig.wait_until(lambda: answer.text not in ("", "sending...") and answer.text, 60, 0.2,
                          what="the page to show the dongle's answer")


def script_errors(drv):
    """The browser's severe log lines but failed requests (a 401, the
    favicon the dongle does not have)."""
    return [e for e in drv.get_log("browser") if e["level"] == "SEVERE" and e["source"] != "network"]


@pytest.mark.parametrize("password", [PASSWORD, WIDE_PASSWORD])
def test_update_from_the_setup_page(tmp_path, browser, bundle, password):
    """The page says the bundle was installed; the dongle reboots into it
    (slot a, its build id), it proves itself, and the page names it."""
    meter = rig.Meter()
    d = dongle(tmp_path, meter, password)
    try:
        before = update_status(d)
        assert before["slot"] == "lib" and before["build"] == ""
        said = send_from_page(browser, d, password, bundle)
        assert said == "installed 0.1.0+%s: rebooting; it has 20 s to prove itself" % BUILD_ID
        rig.wait_until(lambda: d.proc.poll() is not None, 10, what="the reboot")
        d.start()

        def good():
            u = update_status(d)
            return u if u["state"] == "good" else None
        u = rig.wait_until(good, 30, 0.3, what="the new build to prove itself")
        assert (u["version"], u["build"], u["slot"]) == ("0.1.0", BUILD_ID, "a") and "rollback" not in u
        from selenium.webdriver.common.by import By
        browser.get("http://127.0.0.1:%d/setup" % d.http_port)          # (slot a's page now)
        assert "Running 0.1.0+%s." % BUILD_ID in browser.find_element(By.TAG_NAME, "body").text
        assert not script_errors(browser)
    finally:
        d.stop()
        meter.close()


def test_a_wrong_password_on_the_setup_page_changes_nothing(tmp_path, browser, bundle):
    """The page shows the dongle's 401 message; nothing is written, no
    reboot, and the wrong password counts towards the lockout."""
    meter = rig.Meter()
    d = dongle(tmp_path, meter)
    try:
        flash = {p: p.read_bytes() for p in d.dir.rglob("*") if p.is_file()}
        pid = d.proc.pid
        said = send_from_page(browser, d, "not the password", bundle)
        assert said == "wrong admin password"
        u = update_status(d)
        assert (u["slot"], u["build"], u["state"]) == ("lib", "", "good")
        assert d.proc.pid == pid and d.proc.poll() is None                  # no reboot
        assert {p: p.read_bytes() for p in d.dir.rglob("*") if p.is_file()} == flash   # nothing written
        assert "update: wrong admin password (1 in a row)" in d.log()
        assert not script_errors(browser)
    finally:
        d.stop()
        meter.close()


def test_make_backup_with_any_password(tmp_path):
    """make backup (tools/ota.py) sends the admin password as UTF-8, as the
    page does: the wide one opens the backup, a near miss does not."""
    meter = rig.Meter()
    d = dongle(tmp_path, meter, WIDE_PASSWORD)
    try:
        def backup(password, out):
            return subprocess.run([sys.executable, str(ROOT / "tools" / "ota.py"), "backup",
                                   "--host", "127.0.0.1:%d" % d.http_port, "--out", str(out)],
                                  env=dict(os.environ, HANPORT_PASSWORD=password),
                                  capture_output=True, text=True, timeout=60)
        r = backup(WIDE_PASSWORD, tmp_path / "backup.json")
        assert r.returncode == 0, r.stdout + r.stderr
        saved = json.loads((tmp_path / "backup.json").read_text())
        assert saved["hanport_backup"] == 1 and saved["config"]["admin_password"] == "(set)"
        r = backup(WIDE_PASSWORD.replace("ß", "ss"), tmp_path / "other.json")
        assert r.returncode != 0 and "401" in r.stdout + r.stderr
        assert not (tmp_path / "other.json").exists()
    finally:
        d.stop()
        meter.close()
