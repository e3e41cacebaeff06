"""The examples of docs/store.md run, and print what the page says they print."""

from __future__ import annotations

import re
from pathlib import Path

from tests.scripts import expected_lines, python_blocks, run_python

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"


def _script() -> str:
    return python_blocks(DOC)


def test_store_page_examples_run_and_print_what_they_say(tmp_path: Path) -> None:
    """The Python blocks of docs/store.md, run in order as one script, print their `# ->` lines."""
    code = _script()
    expected = expected_lines(code)
    assert len(expected) >= 8
    proc = run_python(cwd=tmp_path, code=code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected


def test_store_page_links_resolve() -> None:
    """Every relative link of docs/store.md points at a file in the repository."""
    targets = re.findall(r"\]\((?!https?:)([^)#]+)\)", DOC.read_text(encoding="utf-8"))
    assert targets
    assert [t for t in targets if not (DOC.parent / t).exists()] == []
