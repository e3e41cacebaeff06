"""The package's structure: which room may import which, no private reach-across, no cycles.

Read from the source with :mod:`ast`, so every import counts: at module level, inside a
function, and under ``if TYPE_CHECKING:`` (a type-only import still ties two modules
together for a reader and for mypy). ``docs/architecture.md`` draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs
import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# The rooms (top-level subpackages and modules) each room may import. The domain sits at
# the bottom; the command line and the top-level package at the top.
ALLOWED: dict[str, set[str]] = {
    "exceptions": set(),
    "utils": {"exceptions"},
    "domain": {"exceptions", "utils"},  # utils: the notebook display (utils.display)
    "portfolio": {"domain", "exceptions", "utils"},
    "rules": {"domain", "exceptions", "portfolio", "utils"},
    "io": {"domain", "exceptions", "portfolio", "utils"},
    "crosssell": {"domain", "exceptions", "portfolio", "utils"},
    "demo": {"domain", "exceptions", "operations", "portfolio"},
    "operations": {"domain", "exceptions", "portfolio", "utils"},
    "store": {"domain", "exceptions", "io", "operations", "portfolio", "rules", "utils"},
}
ALLOWED["json"] = ALLOWED["store"] | {"crosssell"}  # every library room but store, demo, cli
ALLOWED["analysis"] = {  # RFM and other analyst helpers
    *("crosssell", "domain", "exceptions", "io", "operations", "portfolio", "rules", "utils"),
}
ALLOWED["plot"] = {  # matplotlib plots: analysis and every room analysis may import
    *("analysis", "crosssell", "domain", "exceptions", "io", "operations", "portfolio"),
    *("rules", "utils"),
}
ALLOWED["report"] = ALLOWED["plot"] | {"plot"}  # the HTML report page: plots and their data
ALLOWED["spark"] = {"domain", "exceptions", "portfolio", "rules", "utils"}  # policies on Spark
# Third-party packages only one room may import.
ONLY_IN: dict[str, str] = {
    "sqlalchemy": "store",
    "sqlmodel": "store",
    "psycopg": "store",
    "click": "cli",
    "pyspark": "spark",
}


@attrs.frozen
class Import:
    """One import found in the source: the importing module and the module it names."""

    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> list[Import]:
    """Every import in src/keyaccount, relative imports resolved to absolute names."""
    found: list[Import] = []
    for path in sorted((SRC / "keyaccount").rglob("*.py")):
        name = _module_name(path)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(name, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package[: len(package) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.append(Import(name, base, node.lineno))
                found += [Import(name, f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _modules() -> set[str]:
    return {_module_name(p) for p in (SRC / "keyaccount").rglob("*.py")}


MODULES = _modules()
IMPORTS = _imports()


def _is_package(module: str) -> bool:
    return (SRC / module.replace(".", "/") / "__init__.py").exists()


def _room(module: str) -> str:
    """The top-level subpackage or module ``module`` lies in; ``""`` for the package itself."""
    parts = module.split(".")
    if len(parts) > 1 and ".".join(parts[:2]) in MODULES:
        return parts[1]
    return ""


def test_the_source_is_found() -> None:
    """The scan sees the package (guards the other tests against passing on nothing)."""
    assert "keyaccount.domain" in MODULES
    assert any(i.source.startswith("keyaccount.store") for i in IMPORTS)


def test_no_module_imports_another_rooms_private_module() -> None:
    """No module imports an underscore module of another top-level package."""
    offending = sorted(
        f"{i.source} -> {i.target} (line {i.line})"
        for i in IMPORTS
        if i.target in MODULES
        and _room(i.target) not in ("", _room(i.source))
        and any(p.startswith("_") and not p.startswith("__") for p in i.target.split(".")[1:])
    )
    assert offending == []


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round a loop.

    A package ``__init__`` re-exporting its own modules is not a cycle of design:
    a strongly connected group counts once it holds two modules other than
    package ``__init__`` files.
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    graph.add_edges_from(
        (i.source, i.target) for i in IMPORTS if i.target in MODULES and i.target != i.source
    )
    cycles = [
        sorted(inner)
        for group in nx.strongly_connected_components(graph)
        if len(inner := [m for m in group if not _is_package(m)]) > 1
    ]
    assert cycles == []


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_the_rooms_below_it(room: str) -> None:
    """A room imports only the rooms it is allowed to (the domain nothing above it)."""
    used = {
        _room(i.target)
        for i in IMPORTS
        if _room(i.source) == room and i.target.startswith("keyaccount")
    }
    used.discard(room)
    assert used <= ALLOWED[room], sorted(used - ALLOWED[room])


@pytest.mark.parametrize(("library", "room"), sorted(ONLY_IN.items()))
def test_a_library_is_imported_by_its_room_only(library: str, room: str) -> None:
    """A library given a room of its own (SQLAlchemy, click, pyspark) is imported there only."""
    outside = sorted(
        f"{i.source} (line {i.line})"
        for i in IMPORTS
        if i.target.split(".")[0] == library and _room(i.source) != room
    )
    assert outside == []
