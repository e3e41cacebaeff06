"""Running Python in a fresh interpreter, as a user would: documentation blocks and scripts.

Documentation pages and the README show Python blocks whose output is written beside the
code as ``# -> value`` comments; :func:`python_blocks` reads a page's blocks,
:func:`expected_lines` the values they promise, and :func:`run_python` runs the code (or a
script file) in a new interpreter from a directory of the test's own;
:func:`run_keyaccount` runs the real command line the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["EXPECTED", "expected_lines", "python_blocks", "run_keyaccount", "run_python"]

EXPECTED: Final = re.compile(r"#\s*->\s*(.+?)\s*$")
"""A ``# -> value`` comment: the value the line before it prints."""


def python_blocks(page: Path) -> str:
    """The ```` ```python ```` blocks of a Markdown page, joined in order as one script."""
    return "\n".join(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S))


def expected_lines(code: str) -> list[str]:
    """The values of the ``# -> value`` comments in ``code``, in order."""
    return [m.group(1) for line in code.splitlines() if (m := EXPECTED.search(line))]


def run_python(
    *args: str,
    cwd: Path,
    code: str | None = None,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args...`` (or ``python args...``) in ``cwd``; never raises on exit.

    Output is decoded as UTF-8 (the library prints Chinese labels). ``env`` replaces
    the environment (default: this process's).
    """
    command = [sys.executable, *(("-c", code) if code is not None else ()), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=timeout,
        check=False,
        env=env,
    )


def run_keyaccount(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real ``keyaccount`` command line (``python -m keyaccount args...``) in ``cwd``."""
    return run_python("-m", "keyaccount", *args, cwd=cwd, timeout=timeout)
