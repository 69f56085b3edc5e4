import os
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
for p in (ROOT / "lib", ROOT / "tools", ROOT / "host_tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from hypothesis import settings  # noqa: E402

# Property tests run the same examples every time (CI must not flake);
# HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile("repeatable", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


# --- the firmware's .mpy bundle for the 32-bit build (the board's object
# sizes; test_memory, test_ha_discovery): (lib folder, ROMFS image) -----------

@pytest.fixture(scope="session")
def bundle32(tmp_path_factory):
    from testkit import mpy, rig
    mpy.micropython32()                     # skips, saying why, where it is not built
    return rig.bundle(tmp_path_factory.mktemp("bundle32"), "x86")


# --- the browser: a real Chromium for the page tests (test_webpage,
# test_concurrency, test_first_hour) --------------------------------------------

def _exe(path, *names):
    if os.path.exists(path):
        return path
    for n in names:
        found = shutil.which(n)
        if found:
            return found
    return None


@pytest.fixture
def browser(tmp_path):
    chromium = _exe("/usr/bin/chromium", "chromium", "chromium-browser")
    driver = _exe("/usr/bin/chromedriver", "chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    missing = [what for what, ok in (("chromium", chromium), ("chromedriver", driver), ("selenium", webdriver)) if not ok]
    if missing:
        why = "%s not installed (apt-get install chromium chromium-driver; selenium is in requirements.txt)" % (
            " and ".join(missing))
        if os.environ.get("HANPORT_REQUIRE_BROWSER"):
            pytest.fail("HANPORT_REQUIRE_BROWSER is set but " + why)
        pytest.skip("web page browser test skipped: " + why)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--window-size=1280,900",
                "--user-data-dir=%s" % (tmp_path / "chromium")):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(driver))
    drv.set_page_load_timeout(20)
    try:
        yield drv
    finally:
        drv.quit()
