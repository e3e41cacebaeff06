"""The examples of docs/import-export.md and of keyaccount.io's docstrings run."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-export.md"
MODULES = [
    "keyaccount.io",
    "keyaccount.io.problems",
    "keyaccount.io._revenue",
]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_import_export_doc_examples_run() -> None:
    """Every python block of docs/import-export.md runs without error."""
    blocks = _python_blocks()
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})


def test_doc_names_every_column() -> None:
    """docs/import-export.md has a row for every column of the three formats."""
    from keyaccount.io import CUSTOMER_COLUMNS, REVENUE_COLUMNS, TRANSACTION_COLUMNS

    text = DOC.read_text(encoding="utf-8")
    for column in {*CUSTOMER_COLUMNS, *REVENUE_COLUMNS, *TRANSACTION_COLUMNS}:
        assert f"| `{column}` |" in text, column


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """The docstring examples of keyaccount.io run and print what they show."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
