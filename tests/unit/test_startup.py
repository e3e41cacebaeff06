"""What importing keyaccount and asking ``keyaccount --help`` load (no timing here).

Each check runs in a fresh interpreter, so that what this test session imported does not
count; ``benchmarks/bench_startup.py`` measures the times (docs/benchmarks.md).
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import keyaccount
from keyaccount.cli._app import SUBCOMMAND_SUMMARIES, SUBCOMMANDS, cli

INIT = Path(keyaccount.__file__)
ALEMBIC = "keyaccount.store.migrations"


def _loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has in ``sys.modules`` after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def _help_in_process(prepare: str = "") -> str:
    """``keyaccount --help`` run by ``main`` in a fresh interpreter; the code after ``prepare``."""
    return (
        "import contextlib, io\n"
        "from keyaccount.cli import main\n"
        f"{prepare}\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
    )


def _public_modules() -> list[str]:
    """The package and every module of it with no underscore in its name.

    Alembic's scripts under ``keyaccount.store.migrations`` are run by Alembic, not imported.
    """
    names = ["keyaccount"]
    for info in pkgutil.walk_packages(keyaccount.__path__, "keyaccount."):
        script = info.name.startswith(f"{ALEMBIC}.")
        if not script and not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def test_import_keyaccount_loads_no_heavy_library() -> None:
    """``import keyaccount`` loads none of numpy, scipy, networkx, pandas, pyarrow, SQL, click."""
    heavy = ["numpy", "scipy", "networkx", "pandas", "pyarrow", "polars", "sqlalchemy"]
    heavy += ["click", "rich", "attrs", "importlib.metadata", "keyaccount.domain"]
    assert _loaded_after("import keyaccount", heavy) == []


def test_the_portfolio_loads_neither_scipy_nor_networkx() -> None:
    """``from keyaccount import Portfolio`` and the default policy load no scipy or networkx."""
    code = "from keyaccount import Portfolio\nfrom keyaccount.rules import default_policy\n"
    code += "default_policy()"
    heavy = ["scipy", "networkx", "pandas", "pyarrow", "polars", "sqlalchemy", "click"]
    assert _loaded_after(code, [*heavy, "numpy"]) == ["numpy"]


def test_the_library_rooms_load_scipy_and_networkx_only_when_used() -> None:
    """Importing the cross-sell, rules and JSON packages loads no scipy and no networkx."""
    code = "import keyaccount.crosssell, keyaccount.rules, keyaccount.json"
    assert _loaded_after(code, ["scipy", "networkx", "importlib.metadata"]) == []


def test_help_loads_neither_numpy_nor_the_domain() -> None:
    """``keyaccount --help`` loads no numpy, scipy, database code or domain model."""
    heavy = ["numpy", "scipy", "networkx", "sqlalchemy", "attrs", "keyaccount.domain"]
    heavy += ["importlib.metadata", "rich"]
    assert _loaded_after(_help_in_process(), heavy) == []


def test_help_lists_the_same_commands_as_click_with_every_command_loaded() -> None:
    """The lazy command list equals click's own listing made after importing every command."""
    load_all = (
        "import click\n"
        "from keyaccount.cli._app import cli\n"
        "ctx = click.Context(cli)\n"
        "for name in cli.list_commands(ctx):\n"
        "    cli.get_command(ctx, name)\n"
    )
    show = "\nprint(out.getvalue())"
    outputs = []
    for prepare in ("", load_all):
        done = subprocess.run(
            [sys.executable, "-c", _help_in_process(prepare) + show],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={"COLUMNS": "100", "PATH": ""},
        )
        outputs.append(done.stdout)
    lazy, loaded = outputs
    assert "Commands:" in lazy
    assert lazy == loaded


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_summary_is_its_commands_own_help(name: str) -> None:
    """Every subcommand has a summary that shortens exactly as its command's help does."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    summary = click.Command(name, help=SUBCOMMAND_SUMMARIES[name])
    for limit in (20, 45, 60, 90, 200):
        assert summary.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_no_summary_without_its_command() -> None:
    """The summaries name only subcommands that exist."""
    assert set(SUBCOMMAND_SUMMARIES) <= set(SUBCOMMANDS)


def test_version_is_read_when_asked() -> None:
    """``keyaccount.__version__`` is the installed version, looked up on first use."""
    code = "import sys, keyaccount\nbefore = 'importlib.metadata' in sys.modules\n"
    code += "print(before, keyaccount.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", keyaccount.__version__]
    assert keyaccount.__version__ != "unknown"


@pytest.mark.parametrize("module", _public_modules())
def test_every_name_in_all_resolves(module: str) -> None:
    """Every name in each public module's __all__ can be imported from it."""
    code = f"from {module} import *"
    namespace: dict[str, object] = {}
    exec(code, namespace)
    names = getattr(importlib.import_module(module), "__all__", [])
    assert [name for name in names if name not in namespace] == []


def test_dir_of_the_package_lists_every_public_name() -> None:
    """``dir(keyaccount)`` shows every name of ``__all__`` before any is used."""
    code = "import keyaccount\nprint(' '.join(dir(keyaccount)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(keyaccount.__all__) <= set(done.stdout.split())


def test_type_checking_imports_match_the_lazy_table() -> None:
    """The names the type checker sees are the names and modules the package loads lazily."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    typed.update({alias.name: statement.module for alias in statement.names})
    exports = keyaccount._EXPORTS
    assert typed == exports
    assert set(exports) | {"__version__"} == set(keyaccount.__all__)
    for name, module in exports.items():
        assert getattr(keyaccount, name) is getattr(importlib.import_module(module), name), name
