from __future__ import annotations

import doctest
import importlib

import pytest

import keyaccount.crosssell as crosssell

MODULES = [
    "keyaccount.crosssell",
    "keyaccount.crosssell._basket",
    "keyaccount.crosssell._copurchase",
    "keyaccount.crosssell._graph",
    "keyaccount.crosssell._hierarchy",
    "keyaccount.crosssell._recommend",
    "keyaccount.crosssell._whitespace",
]


def _ruff_order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted, unique, and star-import gives exactly it."""
    names = list(crosssell.__all__)
    assert names == sorted(names, key=_ruff_order)
    assert len(set(names)) == len(names)
    namespace: dict[str, object] = {}
    exec("from keyaccount.crosssell import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(names)


def test_private_modules_export_only_what_the_package_shows() -> None:
    """Every public name of a private module is re-exported by the package."""
    for name in MODULES[1:]:
        module = importlib.import_module(name)
        assert set(module.__all__) <= set(crosssell.__all__), name


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    """The examples in the docstrings run and print what they show."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
