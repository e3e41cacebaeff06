"""``keyaccount import``, ``keyaccount export`` and ``demo --db``, run through a command group."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import click
import pytest
from click.testing import CliRunner

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.cli._app import KeyAccountGroup
from keyaccount.cli._store_commands import demo_db_options, write_demo_db
from keyaccount.io import write_portfolio_csv
from keyaccount.store import Store

if TYPE_CHECKING:
    from pathlib import Path


@click.command("demo")
@click.option("--customers", type=int, default=60)
@demo_db_options
def fake_demo(customers: int, db: str | None, replace_db: bool) -> None:
    """A demo command wired the way ``keyaccount demo`` is to be (generate, then --db)."""
    from keyaccount.demo import generate

    write_demo_db(generate(seed=5, customers=customers, months=12), db, replace_db)


@pytest.fixture
def cli() -> click.Group:
    """A command group holding the store commands, registered one line each."""
    group = KeyAccountGroup(
        "keyaccount",
        lazy_subcommands={
            "import": "keyaccount.cli._store_commands:import_command",
            "export": "keyaccount.cli._store_commands:export_command",
        },
    )
    group.add_command(fake_demo)
    return group


def run(cli: click.Group, *args: str) -> Any:
    """Invoke ``cli`` with ``args``; stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


PORTFOLIO = Portfolio(
    [
        Customer("HQ", "保险总公司", "2021-01", segment="保险"),
        Customer("GD", "广东分公司", "2021-02", segment="保险", parent_id="HQ", tier="重点客户"),
    ],
    [
        RevenueRecord("GD", "policy_mailing", "2022-01", "1200.50", volume=3),
        RevenueRecord("HQ", "standard_express", "2022-02", "-5.00"),
    ],
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Customers and revenue files of :data:`PORTFOLIO`."""
    customers, revenue = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    write_portfolio_csv(PORTFOLIO, customers, revenue)
    return customers, revenue


def test_import_writes_the_files_into_the_store(
    cli: click.Group, store_url: str, files: tuple[Path, Path]
) -> None:
    """`import --db URL --customers --revenue` stores them and says how many rows."""
    result = run(
        cli, "import", "--db", store_url, "--customers", str(files[0]), "--revenue", str(files[1])
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 customers and 2 revenue rows" in result.stdout
    with Store(store_url) as store:
        back = store.load()
    assert list(back.customers()) == list(PORTFOLIO.customers())
    assert Counter(back.revenue_records()) == Counter(PORTFOLIO.revenue_records())


def test_import_with_a_bad_row_lists_it_and_writes_nothing(
    cli: click.Group, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    """A bad row: exit status 1, the row named on stderr, and an empty store."""
    revenue = tmp_path / "bad.csv"
    revenue.write_text(
        files[1].read_text(encoding="utf-8") + "NOBODY,2022-03,card_letter,1.00,1\n",
        encoding="utf-8",
    )
    db = tmp_path / "store.db"
    result = run(
        cli, "import", "--db", str(db), "--customers", str(files[0]), "--revenue", str(revenue)
    )
    assert result.exit_code == 1
    assert "line 4" in result.stderr
    assert "NOBODY" in result.stderr
    assert "nothing was imported" in result.stderr
    with Store(db) as store:
        assert store.counts()["customers"] == 0


def test_import_with_reject_dir_keeps_the_good_rows(
    cli: click.Group, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    """--reject-dir imports the good rows and names the reject file."""
    revenue = tmp_path / "bad.csv"
    revenue.write_text(
        files[1].read_text(encoding="utf-8") + "NOBODY,2022-03,card_letter,1.00,1\n",
        encoding="utf-8",
    )
    db = tmp_path / "store.db"
    result = run(
        cli,
        "import",
        "--db",
        str(db),
        "--customers",
        str(files[0]),
        "--revenue",
        str(revenue),
        "--reject-dir",
        str(tmp_path / "rejects"),
    )
    assert result.exit_code == 0, result.output
    assert "rejected 1 rows" in result.stdout
    assert (tmp_path / "rejects" / "bad.csv.rejects.csv").exists()
    with Store(db) as store:
        assert store.counts()["revenue"] == 2


def test_export_then_import_through_the_command_line(
    cli: click.Group, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    """`export` writes files that `import` reads back into another store unchanged."""
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    assert run(cli, "import", "--db", str(first), "--customers", str(files[0])).exit_code == 0
    assert run(cli, "import", "--db", str(first), "--revenue", str(files[1])).exit_code == 0
    out_c, out_r = tmp_path / "out_c.csv", tmp_path / "out_r.csv"
    result = run(
        cli, "export", "--db", str(first), "--customers", str(out_c), "--revenue", str(out_r)
    )
    assert result.exit_code == 0, result.output
    assert "exported 2 customers and 2 revenue rows" in result.stdout
    result = run(
        cli,
        "import",
        "--db",
        str(second),
        "--customers",
        str(out_c),
        "--revenue",
        str(out_r),
        "--no-progress",
    )
    assert result.exit_code == 0, result.output
    with Store(second) as store:
        back = store.load()
    assert list(back.customers()) == list(PORTFOLIO.customers())
    assert Counter(back.revenue_records()) == Counter(PORTFOLIO.revenue_records())


def test_commands_without_files_are_usage_errors(cli: click.Group, tmp_path: Path) -> None:
    """Import and export with no file to read or write exit with status 2."""
    assert run(cli, "import", "--db", str(tmp_path / "x.db")).exit_code == 2
    assert run(cli, "export", "--db", str(tmp_path / "x.db")).exit_code == 2


def test_a_store_of_another_schema_version_is_a_one_line_error(
    cli: click.Group, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    """A database of another schema version: exit status 1 and a message naming both versions."""
    import sqlite3

    db = tmp_path / "old.db"
    Store(db).close()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE ka_schema SET version = 7")
    result = run(cli, "import", "--db", str(db), "--customers", str(files[0]))
    assert result.exit_code == 1
    assert "schema version 7" in result.stderr


def test_demo_db_writes_a_store_that_reopens(cli: click.Group, tmp_path: Path) -> None:
    """`demo --db PATH` saves a store that reopens equal; writing again needs --replace-db."""
    from keyaccount.demo import generate

    db = tmp_path / "demo.db"
    result = run(cli, "demo", "--db", str(db))
    assert result.exit_code == 0, result.output
    expected = generate(seed=5, customers=60, months=12)
    with Store(db) as store:
        back = store.load()
    assert list(back.customers()) == list(expected.customers())
    assert back.project_groups == expected.project_groups
    assert Counter(back.revenue_records()) == Counter(expected.revenue_records())

    again = run(cli, "demo", "--db", str(db), "--customers", "30")
    assert again.exit_code == 1
    assert "--replace-db" in again.stderr
    replaced = run(cli, "demo", "--db", str(db), "--customers", "30", "--replace-db")
    assert replaced.exit_code == 0, replaced.output
    with Store(db) as store:
        assert store.counts()["customers"] == 30
