"""The command line tells numpy not to ask for huge pages, unless told otherwise.

Real interpreters: numpy reads ``NUMPY_MADVISE_HUGEPAGE`` once, when it is imported,
so each case needs a process of its own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pytest

from keyaccount.cli import main
from tests.scripts import run_python

if TYPE_CHECKING:
    from pathlib import Path

_PROBE = """
import contextlib, os
from keyaccount.cli import main
with contextlib.suppress(SystemExit):
    main(["--version"])
import numpy
from numpy._core.multiarray import _get_madvise_hugepage
print(os.environ.get("NUMPY_MADVISE_HUGEPAGE"), _get_madvise_hugepage())
"""


def _probe(tmp_path: Path, value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if value is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = value
    done = run_python(cwd=tmp_path, code=_PROBE, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-2:]


def test_a_command_line_run_turns_numpys_huge_pages_off(tmp_path: Path) -> None:
    """Unset, the variable is set to 0 before numpy is imported, and numpy obeys it."""
    assert _probe(tmp_path, None) == ["0", "False"]


@pytest.mark.skipif(
    not np._core.multiarray._get_madvise_hugepage(),  # type: ignore[attr-defined]
    reason="numpy does not use huge pages here (not Linux, or an old kernel)",
)
def test_a_value_the_user_set_is_kept(tmp_path: Path) -> None:
    """NUMPY_MADVISE_HUGEPAGE=1 in the environment wins."""
    assert _probe(tmp_path, "1") == ["1", "True"]


def test_with_numpy_imported_the_environment_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Called from Python after numpy was imported, main changes no environment variable."""
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "NUMPY_MADVISE_HUGEPAGE" not in os.environ
