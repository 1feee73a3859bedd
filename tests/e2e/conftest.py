"""The headless browser of the end-to-end tests (``test_browser.py``, ``test_reports.py``).

Chromium is Debian's ``chromium`` with its matching ``chromium-driver``; if
absent it is installed with apt-get (needs root and the Debian package
registry, as in CI). Selenium is pointed at ``/usr/bin/chromedriver`` so it
never downloads a driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]


def _ensure_chromium() -> None:
    """Install Debian's chromium and its driver if absent.

    Skipped only where installing is impossible (not root, or no apt-get), and
    never in CI (``CI`` set); a failed installation where it should work fails.
    """
    if shutil.which("chromium") and Path(CHROMEDRIVER).exists():
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        reason = (
            "headless Chromium is not installed and cannot be installed here (needs root and "
            "apt-get); install it with: apt-get install -y chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-800:]}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
