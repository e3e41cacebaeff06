from __future__ import annotations

import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import keyaccount

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
NOT_IN_REFERENCE = {"keyaccount.cli"}
"""Public packages documented elsewhere: the command line has its own page, docs/cli.md."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built with ``mkdocs build --strict`` from another directory."""
    out = tmp_path_factory.mktemp("docs") / "site"
    config = str(ROOT / "mkdocs.yml")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=out.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def test_site_builds_strict_with_the_api_reference(site: Path) -> None:
    """The strict build passes and the reference shows signatures and docstrings."""
    page = _page(site, "reference/portfolio")
    assert 'id="keyaccount.portfolio.Portfolio"' in page
    assert 'id="keyaccount.portfolio.Portfolio.metrics"' in page
    assert "Metrics of every customer first seen by" in page  # Portfolio.metrics
    rules = _page(site, "reference/rules")
    assert 'id="keyaccount.rules.Policy"' in rules
    assert "language-pycon" in rules or "&gt;&gt;&gt;" in rules  # examples shown as code


def test_docstring_sphinx_roles_are_shown_as_code(site: Path) -> None:
    """Sphinx roles in docstrings (``:class:`Policy```) never reach the page as text."""
    for page in sorted((site / "reference").rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        assert ":class:" not in text, page
        assert ":meth:" not in text, page


def test_getting_started_is_the_readme_with_working_links(site: Path) -> None:
    """The README is a page of the site, and the examples it links to are on the site too."""
    page = _page(site, "getting-started")
    assert "make demo" in page
    assert 'href="../repo/examples/quickstart.py"' in page
    assert (site / "repo" / "examples" / "quickstart.py").is_file()
    assert (site / "repo" / "examples" / "segmentation.ipynb").is_file()


def _public_packages() -> set[str]:
    """``keyaccount`` and each of its public subpackages and top-level modules."""
    names = {"keyaccount"}
    for module in pkgutil.iter_modules(keyaccount.__path__, "keyaccount."):
        last = module.name.rsplit(".", 1)[1]
        if not last.startswith("_"):
            names.add(module.name)
    return names - NOT_IN_REFERENCE


def test_every_public_package_has_a_reference_page() -> None:
    """Each public package is rendered by a ``::: name`` block of a reference page in the nav."""
    block = re.compile(r"^::: (keyaccount[\w.]*)\s*$", re.MULTILINE)
    documented = {
        name for page in REFERENCE.glob("*.md") for name in block.findall(page.read_text("utf-8"))
    }
    assert _public_packages() <= documented, sorted(_public_packages() - documented)
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in REFERENCE.glob("*.md"):
        assert f"reference/{page.name}" in nav, page.name


def test_top_level_page_links_every_re_exported_name() -> None:
    """The ``keyaccount`` page lists each name of ``keyaccount.__all__`` with a link to its docs."""
    page = (REFERENCE / "keyaccount.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| \[`(\w+)`\]\[keyaccount\.[\w.]+\] \|", page, re.MULTILINE))
    assert listed == set(keyaccount.__all__) - {"__version__"}
