"""The operations commands on a store.

`demo --db` writes the demo's operations data, the commands read it back, and
`escalations --sweep` records its sweep in the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from keyaccount.cli import cli
from keyaccount.cli._operations_commands import NO_STORED_OPERATIONS
from keyaccount.demo import generate
from keyaccount.store import Store

if TYPE_CHECKING:
    from pathlib import Path

SEED = 5
CUSTOMERS = 600
SIZE = ["--seed", str(SEED), "--customers", str(CUSTOMERS)]


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store written by `keyaccount demo --db` (portfolio and operations data)."""
    path = tmp_path_factory.mktemp("ops") / "demo.db"
    result = _run("demo", "--db", str(path), *SIZE)
    assert result.exit_code == 0, result.output
    return str(path)


@pytest.mark.parametrize(
    "command",
    [
        ["targets"],
        ["targets", "--year", "2021", "--group", "courts"],
        ["payout", "--period", "2021"],
        ["lifecycle"],
    ],
)
def test_stored_operations_read_back_as_the_demo_made_them(db: str, command: list[str]) -> None:
    """Targets, payouts and lifecycles from the store print exactly as from the demo."""
    stored = _run(*command, "--db", db)
    demo = _run(*command, "--demo", *SIZE)
    assert stored.exit_code == 0, stored.output
    assert demo.exit_code == 0, demo.output
    assert stored.output == demo.output


def test_kpi_check_on_the_store_opens_nothing_twice(db: str) -> None:
    """The demo's breaches are on the stored list already: a check opens no new item."""
    result = _run("kpi", "check", "--db", db)
    assert result.exit_code == 1, result.output  # breaches are findings
    assert "Opened now: 0 items" in result.output


def test_a_sweep_on_the_store_is_kept_and_runs_once(tmp_path: Path) -> None:
    """`escalations --db --sweep DAY` records the sweep; the same day again changes nothing."""
    path = str(tmp_path / "sweep.db")
    assert _run("demo", "--db", path, *SIZE).exit_code == 0
    with Store(path) as store:
        before = {i.id: i.level for i in store.operations.items(open_only=True)}
    first = _run("escalations", "--db", path, "--sweep", "2023-03-01")
    assert first.exit_code == 0, first.output
    with Store(path) as store:
        after = {i.id: i.level for i in store.operations.items(open_only=True)}
    raised = [i for i in before if after[i] > before[i]]
    assert raised  # months after the demo's end: overdue items escalate
    assert f"Sweep of 2023-03-01: {len(raised)} escalated" in first.output
    second = _run("escalations", "--db", path, "--sweep", "2023-03-01")
    assert "Sweep of 2023-03-01: 0 escalated" in " ".join(second.output.split())
    with Store(path) as store:
        assert {i.id: i.level for i in store.operations.items(open_only=True)} == after


def test_a_store_without_operations_data_is_a_usage_error(tmp_path: Path) -> None:
    """A store holding only a portfolio: exit 2, saying there is no operations data yet."""
    path = str(tmp_path / "plain.db")
    with Store(path) as store:
        store.save(generate(seed=SEED, customers=50, months=6))
    for command in (["targets"], ["payout"], ["kpi", "check"], ["escalations"], ["lifecycle"]):
        result = _run(*command, "--db", path)
        assert result.exit_code == 2, result.output
        assert " ".join(NO_STORED_OPERATIONS.split()) in " ".join(result.output.split())
