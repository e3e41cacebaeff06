"""A real headless Chromium for the browser tests, one for the whole session.

Debian's ``chromium`` is driven through its ``chromedriver`` (``/usr/bin/chromium`` and
``/usr/bin/chromedriver``; ``$KEYACCOUNT_CHROMIUM`` and ``$KEYACCOUNT_CHROMEDRIVER`` name
others), both given to Selenium explicitly so that Selenium Manager never downloads a
browser. The browser's console is recorded (``goog:loggingPrefs``). Without a browser,
a driver or Selenium the tests are skipped with the reason, unless
``KEYACCOUNT_REQUIRE_BROWSER=1`` is set (as ``.ci/run`` does): then they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver import Chrome as WebDriver

WINDOW = (1280, 900)
"""The browser window's size in CSS pixels."""


def _require_browser() -> bool:
    return os.environ.get("KEYACCOUNT_REQUIRE_BROWSER", "").strip() not in ("", "0")


def _unavailable(reason: str) -> None:
    if _require_browser():
        pytest.fail(f"KEYACCOUNT_REQUIRE_BROWSER is set but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def _program(variable: str, default: str) -> Path | None:
    given = os.environ.get(variable, "").strip() or default
    found = shutil.which(given)
    return Path(found) if found else None


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium driven by Selenium, its console logged (skips when unavailable)."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (it is in the dev dependency group)")
        raise  # unreachable: _unavailable skips or fails
    chromium = _program("KEYACCOUNT_CHROMIUM", "/usr/bin/chromium")
    driver_path = _program("KEYACCOUNT_CHROMEDRIVER", "/usr/bin/chromedriver")
    if chromium is None or driver_path is None:
        _unavailable(
            "chromium or chromedriver not found; install them with "
            "`apt-get install -y chromium chromium-driver`"
        )
        raise AssertionError  # unreachable
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    except WebDriverException as exc:
        _unavailable(f"Chromium did not start: {exc.msg}")
        raise  # unreachable
    try:
        yield driver
    finally:
        driver.quit()
