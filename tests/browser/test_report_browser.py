"""The report page written by ``keyaccount report --demo`` as a real Chromium shows it.

Set ``KEYACCOUNT_SCREENSHOTS=DIR`` to also save a full-page screenshot of each page
(``report-en.png``, ``report-zh.png``) for a look by eye.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from keyaccount import demo
from keyaccount.domain import Tier, format_yuan

if TYPE_CHECKING:
    from selenium.webdriver import Chrome as WebDriver

LANGS = ("en", "zh")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pages of the demo in both languages, written by the real command line."""
    directory = tmp_path_factory.mktemp("report")
    out: dict[str, Path] = {}
    for lang in LANGS:
        path = directory / f"report-{lang}.html"
        subprocess.run(
            [sys.executable, "-m", "keyaccount", "report", "--demo", "--lang", lang,
             "--out", str(path)],
            check=True,
            capture_output=True,
            timeout=300,
        )  # fmt: skip
        out[lang] = path
    return out


@pytest.fixture(scope="module")
def figures() -> dict[str, str]:
    """The key figures of the demo portfolio, computed here, as the page writes them."""
    portfolio = demo.generate()
    as_of = portfolio.period_span[1]  # type: ignore[index]
    table = portfolio.metrics(as_of)
    t12m = int(table.columns["t12m_revenue"].sum())
    out = {
        "headline-as-of": str(as_of),
        "headline-customers": f"{len(table):,}",
        "revenue-yuan": format_yuan(t12m),
        "headline-project-groups": f"{len(portfolio.project_groups):,}",
    }
    for tier in Tier:
        mask = table.tier == tier.rank
        out[f"tier-{tier.name}-customers"] = f"{int(np.count_nonzero(mask)):,}"
        fen = int(table.columns["t12m_revenue"][mask].sum())
        out[f"tier-{tier.name}-revenue"] = format_yuan(fen, unit="wan")
    return out


def _open(browser: WebDriver, path: Path) -> list[dict[str, Any]]:
    """Load ``path`` and return the console messages it caused (the log is then empty)."""
    browser.get_log("browser")  # type: ignore[no-untyped-call]  # drop earlier pages' messages
    browser.get(path.as_uri())
    return list(browser.get_log("browser"))  # type: ignore[no-untyped-call]


def _screenshot(browser: WebDriver, target: Path) -> None:
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
        },
    )
    target.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_opens_without_console_errors(
    browser: WebDriver, pages: dict[str, Path], lang: str
) -> None:
    """Nothing is refused, missing or broken: no SEVERE message in the console."""
    messages = _open(browser, pages[lang])
    assert [m for m in messages if m.get("level") == "SEVERE"] == []
    assert browser.execute_script("return document.readyState") == "complete"
    where = os.environ.get("KEYACCOUNT_SCREENSHOTS", "").strip()
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        _screenshot(browser, Path(where) / f"report-{lang}.png")


@pytest.mark.parametrize("lang", LANGS)
def test_key_figures_are_visible(
    browser: WebDriver, pages: dict[str, Path], figures: dict[str, str], lang: str
) -> None:
    """The headline and the tiers' figures are displayed and equal the portfolio's."""
    from selenium.webdriver.common.by import By

    _open(browser, pages[lang])
    for element_id, expected in figures.items():
        if element_id == "revenue-yuan":
            element_id = "headline-revenue"
            expected = f"{expected}元" if lang == "zh" else f"{expected} yuan"
        element = browser.find_element(By.ID, element_id)
        element.location_once_scrolled_into_view  # noqa: B018  # scrolls it into view
        assert element.is_displayed(), element_id
        assert element.text == expected, element_id


@pytest.mark.parametrize("lang", LANGS)
def test_every_picture_is_rendered(browser: WebDriver, pages: dict[str, Path], lang: str) -> None:
    """Every img decoded with a size (naturalWidth > 0) and takes room; svg boxes too."""
    from selenium.webdriver.common.by import By

    _open(browser, pages[lang])
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 7
    for image in images:
        state = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [arguments[0].complete, arguments[0].naturalWidth, r.width, r.height];",
            image,
        )
        assert state[0] is True
        assert state[1] > 0, image.get_attribute("alt")
        assert state[2] > 0
        assert state[3] > 0
    for svg in browser.find_elements(By.TAG_NAME, "svg"):
        box = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", svg
        )
        assert box[0] > 0
        assert box[1] > 0


def test_the_chinese_page_shows_chinese_headings(
    browser: WebDriver, pages: dict[str, Path]
) -> None:
    """The rendered headings of the Chinese page are the Chinese ones."""
    from selenium.webdriver.common.by import By

    _open(browser, pages["zh"])
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert headings[:2] == ["概览", "行业与层级"]
    assert browser.find_element(By.TAG_NAME, "h1").text == "大客户经营报告"


def test_an_outside_load_would_show_as_a_console_error(
    browser: WebDriver, pages: dict[str, Path], tmp_path: Path
) -> None:
    """The page's policy refuses an outside picture and the console reports it (SEVERE)."""
    html = pages["en"].read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.html"
    tampered.write_text(
        html.replace("<main>", '<main><img src="https://example.invalid/x.png" alt="x">', 1),
        encoding="utf-8",
    )
    messages = _open(browser, tampered)
    severe = [m["message"] for m in messages if m.get("level") == "SEVERE"]
    assert any("Content Security Policy" in m for m in severe), messages
