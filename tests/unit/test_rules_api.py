"""The public API of keyaccount.rules: sorted __all__, star import, no private leaks."""

from __future__ import annotations

import subprocess
import sys
import types

import keyaccount.rules
from keyaccount import exceptions


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_unique_and_complete() -> None:
    """__all__ is sorted like ruff's RUF022, unique, and lists every public name."""
    names = list(keyaccount.rules.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    public = {
        name
        for name, value in vars(keyaccount.rules).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING"}
    }
    assert public == set(names)


def test_star_import_gives_exactly_all() -> None:
    """``from keyaccount.rules import *`` binds exactly the names in __all__."""
    namespace: dict[str, object] = {}
    exec("from keyaccount.rules import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(keyaccount.rules.__all__)


def test_new_errors_are_exported() -> None:
    """The rule errors are in keyaccount.exceptions and fit the built-ins."""
    assert issubclass(exceptions.RuleSyntaxError, ValueError)
    assert issubclass(exceptions.PolicyError, ValueError)
    assert issubclass(exceptions.PolicyValidationError, ExceptionGroup)
    for name in ("PolicyError", "PolicyValidationError", "RuleSyntaxError"):
        assert name in exceptions.__all__


def test_rules_do_not_import_the_store_or_sqlmodel() -> None:
    """Importing the rules package loads no persistence code."""
    code = (
        "import sys, keyaccount.rules; "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlmodel', 'sqlalchemy', "
        "'keyaccount.store'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
