from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

import keyaccount

PACKAGES = [
    "keyaccount",
    "keyaccount.domain",
    "keyaccount.portfolio",
    "keyaccount.exceptions",
    "keyaccount.json",
    "keyaccount.operations",
    "keyaccount.utils",
]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_unique(package: str) -> None:
    """__all__ is sorted (constants, classes, then functions) and lists each name once."""
    names = list(importlib.import_module(package).__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_exists(package: str) -> None:
    """Every name in __all__ is an attribute of the package."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_star_import_gives_exactly_all(package: str) -> None:
    """``from package import *`` binds exactly the names in __all__."""
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(importlib.import_module(package).__all__)


@pytest.mark.parametrize("package", ["keyaccount.domain", "keyaccount.portfolio"])
def test_public_names_are_all_listed(package: str) -> None:
    """Every public class or function a subpackage defines or re-exports is in __all__."""
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING"}
    }
    assert public <= set(module.__all__)


def test_top_level_reexports_are_the_same_objects() -> None:
    """Names the top level shares with a subpackage are the very same objects."""
    from keyaccount import domain, exceptions, portfolio

    for name in keyaccount.__all__:
        for sub in (domain, portfolio, exceptions):
            if name in sub.__all__:
                assert getattr(keyaccount, name) is getattr(sub, name), name


def test_version() -> None:
    """The package's version is the one pyproject.toml declares (written in one place)."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert keyaccount.__version__ == declared


def test_every_error_is_a_keyaccount_error_and_a_builtin() -> None:
    """Every public error derives from KeyAccountError and from a built-in exception."""
    from keyaccount import exceptions

    helpers = {
        name for name in exceptions.__all__ if not isinstance(getattr(exceptions, name), type)
    }
    assert helpers == {"shorten"}
    for name in sorted(set(exceptions.__all__) - helpers):
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.KeyAccountError), name
        if error is exceptions.KeyAccountError:
            continue
        builtin_bases = [
            base
            for base in error.__mro__[1:]
            if base.__module__ == "builtins" and base not in (Exception, BaseException, object)
        ]
        assert builtin_bases, name
        assert name.endswith("Error"), name


def test_domain_and_portfolio_do_not_import_the_store() -> None:
    """Importing the domain and the portfolio loads neither sqlmodel nor sqlalchemy."""
    code = (
        "import keyaccount.domain, keyaccount.portfolio, sys; "
        "print('sqlmodel' in sys.modules or 'sqlalchemy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


def test_top_level_store_is_lazy() -> None:
    """`import keyaccount` loads no database code; `keyaccount.Store` imports the store."""
    code = (
        "import sys, keyaccount\n"
        "before = 'sqlalchemy' in sys.modules\n"
        "from keyaccount.store import Store\n"
        "print(before, keyaccount.Store is Store)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
