"""Where the commands read their portfolio: one ``--db URL`` / ``--demo`` pair for all."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner

from keyaccount.cli import cli
from keyaccount.cli._source import SOURCE_ERROR, PortfolioSource, demo_portfolio
from keyaccount.demo import generate
from keyaccount.exceptions import StoreNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

READING_COMMANDS = {
    "recommend": ["C0000001"],
    "whitespace": [],
    "evaluate": [],
    "backtest": [],
}
"""The commands that read a portfolio, with the arguments they need besides the source."""


def _command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


@pytest.mark.parametrize("name", sorted(READING_COMMANDS))
@pytest.mark.parametrize("source", [[], ["--demo", "--db", "x.db"]], ids=["neither", "both"])
def test_every_reading_command_needs_exactly_one_source(
    name: str, source: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither or both of --db and --demo is the same usage error, before anything is read."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [name, *READING_COMMANDS[name], *source])
    assert result.exit_code == 2, result.output
    assert f"Error: {SOURCE_ERROR}" in result.output
    assert list(tmp_path.iterdir()) == []


def test_every_reading_command_has_the_same_source_options() -> None:
    """--db and --demo read the same (names, metavar, help) in every command that takes them."""
    seen = set()
    for name in READING_COMMANDS:
        options = {p.name: p for p in _command(name).params if p.name in ("db", "demo")}
        assert sorted(options) == ["db", "demo"], name
        db, demo = options["db"], options["demo"]
        assert isinstance(db, click.Option)
        assert isinstance(demo, click.Option)
        assert db.opts == ["--db"]
        assert demo.opts == ["--demo"]
        assert db.default is None
        assert demo.is_flag
        seen.add((db.metavar, db.help, demo.help))
    assert len(seen) == 1


def test_demo_source_gives_the_generated_portfolio() -> None:
    """--demo reads keyaccount.demo.generate; an option left as None keeps its default."""
    portfolio = PortfolioSource(None).load(seed=4, customers=40)
    expected = generate(seed=4, customers=40)
    assert list(portfolio.customers()) == list(expected.customers())
    with PortfolioSource(None).open(seed=None, customers=30) as (opened, store):
        assert store is None
        assert list(opened.customers()) == list(generate(customers=30).customers())
    assert len(demo_portfolio(customers=25, months=None)) == 25


def test_missing_store_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    """--db naming a store that does not exist fails and creates nothing."""
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreNotFoundError, match=r"missing\.db"):
        PortfolioSource(str(missing)).load()
    assert not missing.exists()
