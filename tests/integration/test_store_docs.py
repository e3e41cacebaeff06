"""The examples of docs/store.md run, and print what the page says they print."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"
EXPECTED = re.compile(r"#\s*->\s*(.+?)\s*$")


def _script() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S))


def test_store_page_examples_run_and_print_what_they_say(tmp_path: Path) -> None:
    """The Python blocks of docs/store.md, run in order as one script, print their `# ->` lines."""
    code = _script()
    expected = [m.group(1) for line in code.splitlines() if (m := EXPECTED.search(line))]
    assert len(expected) >= 8
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected


def test_store_page_links_resolve() -> None:
    """Every relative link of docs/store.md points at a file in the repository."""
    targets = re.findall(r"\]\((?!https?:)([^)#]+)\)", DOC.read_text(encoding="utf-8"))
    assert targets
    assert [t for t in targets if not (DOC.parent / t).exists()] == []
