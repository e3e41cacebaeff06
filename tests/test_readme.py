from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import keyaccount
from tests.scripts import expected_lines, run_python

README = Path(__file__).resolve().parents[1] / "README.md"


def _quick_start() -> str:
    """The first ```python block after the README's "## Quick start" heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python block in the Quick start section"
    return match.group(1)


def test_quick_start_is_about_ten_lines() -> None:
    """The quick start stays short enough to read at a glance."""
    lines = [line for line in _quick_start().splitlines() if line.strip()]
    assert 5 <= len(lines) <= 16


def test_quick_start_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    """The quick start runs in a fresh interpreter and prints the `# ->` values it shows."""
    code = _quick_start()
    expected = expected_lines(code)
    assert expected, "the quick start shows no expected output"
    proc = run_python(cwd=tmp_path, code=code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected


@pytest.mark.parametrize("command", ["make demo", "make test"])
def test_readme_gives_the_set_up_commands(command: str) -> None:
    """The README names the two set-up commands, and the Makefile defines them."""
    assert f"\n{command}" in README.read_text(encoding="utf-8")
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^{command.split()[1]}:", makefile, re.MULTILINE)


def test_readme_links_resolve() -> None:
    """Every relative link in the README points at a file in the repository."""
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?:)([^)#]+)\)", text)
    assert targets
    missing = [t for t in targets if not (README.parent / t).exists()]
    assert not missing


def _package_map() -> set[str]:
    """Module names in the first column of the README's package table."""
    section = README.read_text(encoding="utf-8").split("\n## The package", 1)[1]
    section = section.split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(keyaccount[\w.]*)` \|", section, re.MULTILINE))


def test_package_map_names_existing_modules() -> None:
    """Every module in the README's package map can be imported."""
    names = _package_map()
    assert "keyaccount" in names
    for name in sorted(names):
        importlib.import_module(name)


def test_package_map_lists_every_subpackage() -> None:
    """Every public subpackage of keyaccount has a row in the README's package map."""
    subpackages = {
        f"keyaccount.{info.name}"
        for info in pkgutil.iter_modules(keyaccount.__path__)
        if info.ispkg and not info.name.startswith("_")
    }
    assert subpackages <= _package_map()
