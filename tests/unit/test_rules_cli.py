"""The rules commands: rules check, rules default, evaluate and backtest (click CliRunner)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner

from keyaccount.cli._app import KeyAccountGroup
from keyaccount.cli._rules_commands import backtest_command, evaluate, rules
from keyaccount.rules import Policy, default_policy

if TYPE_CHECKING:
    from pathlib import Path

SMALL = ["--demo", "--customers", "300", "--seed", "7"]
"""A demo small enough for unit tests."""


@pytest.fixture(scope="module")
def app() -> click.Group:
    """A throwaway command group holding the rules commands, like the keyaccount group."""

    @click.group(cls=KeyAccountGroup)
    def group() -> None:
        """Test group."""

    group.add_command(rules)
    group.add_command(evaluate)
    group.add_command(backtest_command)
    return group


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner."""
    return CliRunner()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """The default policy written to a file."""
    path = tmp_path / "policy.toml"
    default_policy().save(path)
    return path


def test_check_clean_policy(app: click.Group, runner: CliRunner, policy_file: Path) -> None:
    """A good policy prints its summary and notes and exits 0."""
    result = runner.invoke(app, ["rules", "check", str(policy_file)])
    assert result.exit_code == 0, result.output
    assert "policy 'default', 6 tier rules, 4 segment rules" in result.output
    assert "0 errors, 0 warnings" in result.output


def test_check_lists_every_problem(app: click.Group, runner: CliRunner, tmp_path: Path) -> None:
    """A file with several bad rules lists each with its rule and position; exit 1."""
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[rule]]\nname = "a"\nto = "KEY"\nwhen = "t12m_revenu > 1"\n'
        '[[rule]]\nname = "b"\nto = "GOLD"\nwhen = "true"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "2 problems" in result.output
    assert "rule 'a', line 1, column 1 of the condition: unknown metric 't12m_revenu'" in (
        result.output
    )
    assert "rule 'b': unknown tier 'GOLD' in 'to'" in result.output


def test_check_single_error_is_one_line(
    app: click.Group, runner: CliRunner, tmp_path: Path
) -> None:
    """One bad condition is reported as an Error line with exit status 1."""
    path = tmp_path / "one.toml"
    path.write_text(
        '[[rule]]\nname = "a"\nto = "KEY"\nwhen = "t12m_revenue >= 0.001"\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "Error: " in result.output
    assert "digits below the fen" in result.output


def test_check_findings_and_strict(app: click.Group, runner: CliRunner, tmp_path: Path) -> None:
    """Warnings pass unless --strict; errors (a rule that never fires) fail."""
    flip = Policy.from_toml(
        '[[rule]]\nname = "up"\nfrom = ["ACTIVE"]\nto = "KEY"\nwhen = "t12m_revenue >= 100"\n'
        '[[rule]]\nname = "down"\nfrom = ["KEY"]\nto = "ACTIVE"\nwhen = "t12m_revenue < 200"\n'
    )
    path = tmp_path / "flip.toml"
    flip.save(path)
    lenient = runner.invoke(app, ["rules", "check", str(path)])
    assert lenient.exit_code == 0
    assert "warning: rules 'up' (-> KEY) and 'down' (-> ACTIVE) both hold" in lenient.output
    assert runner.invoke(app, ["rules", "check", "--strict", str(path)]).exit_code == 1
    dead = tmp_path / "dead.toml"
    dead.write_text('[[rule]]\nname = "x"\nto = "KEY"\nwhen = "false"\n', encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(dead)])
    assert result.exit_code == 1
    assert "error: rule 'x' can never fire" in result.output


def test_rules_default_prints_a_loadable_policy(app: click.Group, runner: CliRunner) -> None:
    """The rules default command prints the shipped policy file."""
    result = runner.invoke(app, ["rules", "default"])
    assert result.exit_code == 0
    assert Policy.from_toml(result.output) == default_policy()


def test_evaluate_is_a_dry_run(app: click.Group, runner: CliRunner, policy_file: Path) -> None:
    """Evaluate prints counts and explained transitions and changes nothing by default."""
    result = runner.invoke(
        app, ["evaluate", "--rules", str(policy_file), "--as-of", "2022-11", *SMALL]
    )
    assert result.exit_code == 0, result.output
    assert "policy 'default' as of 2022-11: " in result.output
    assert "transitions:" in result.output
    assert "dry run: nothing was changed" in result.output
    assert "t12m_revenue = " in result.output


def test_evaluate_apply_limit_and_chinese(app: click.Group, runner: CliRunner) -> None:
    """--apply applies in memory; --limit 0 lists none; --lang zh shows Chinese tiers."""
    result = runner.invoke(app, ["evaluate", *SMALL, "--apply", "--limit", "0", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "已对内存中的演示组合执行" in result.stderr
    assert "未列出（--limit）" in result.stdout
    assert "重点客户 → " in result.stdout


def test_evaluate_engines_print_the_same(app: click.Group, runner: CliRunner) -> None:
    """The reference engine prints the same evaluation as the columnar one."""
    args = ["evaluate", *SMALL, "--as-of", "2022-10", "--limit", "500"]
    columnar = runner.invoke(app, args)
    reference = runner.invoke(app, [*args, "--engine", "reference"])
    assert columnar.exit_code == 0, columnar.output
    assert columnar.output == reference.output


def test_evaluate_needs_a_source(app: click.Group, runner: CliRunner) -> None:
    """Without --demo or --db there is no portfolio: a usage error."""
    result = runner.invoke(app, ["evaluate", "--as-of", "2022-11"])
    assert result.exit_code == 2
    assert "--demo" in result.output


def test_backtest_and_compare(app: click.Group, runner: CliRunner, tmp_path: Path) -> None:
    """The backtest command prints monthly counts; --compare adds the side-by-side summary."""
    strict = default_policy().to_toml().replace('name = "default"', 'name = "strict"', 1)
    strict = strict.replace("t12m_revenue >= 1_000_000", "t12m_revenue >= 2_000_000")
    path = tmp_path / "strict.toml"
    path.write_text(strict, encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "backtest",
            "--compare",
            str(path),
            "--start",
            "2022-06",
            "--end",
            "2022-11",
            "--customer",
            "C0000001",
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "backtest 2022-06..2022-11, 300 customers" in result.output
    assert "tier transitions per month:" in result.output
    assert "customers whose tiers differ in some month:" in result.output
    assert "C0000001 under 'default':" in result.output
    assert "C0000001 under 'strict':" in result.output


def test_backtest_unknown_customer_is_an_error(app: click.Group, runner: CliRunner) -> None:
    """An unknown --customer is a one-line error."""
    result = runner.invoke(
        app, ["backtest", *SMALL, "--start", "2022-10", "--end", "2022-11", "--customer", "X"]
    )
    assert result.exit_code == 1
    assert "Error: customer 'X' is not in the backtest" in result.output


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A SQLite store holding a small demo portfolio."""
    from keyaccount.demo import generate
    from keyaccount.store import Store

    path = tmp_path / "portfolio.db"
    with Store(path) as store:
        store.save(generate(seed=7, customers=300))
    return path


def test_evaluate_db_dry_run_then_apply(
    app: click.Group, runner: CliRunner, store_file: Path
) -> None:
    """With --db, a dry run writes nothing; --apply records the transitions with reasons."""
    from keyaccount.store import Store

    args = ["evaluate", "--db", str(store_file), "--as-of", "2022-11", "--limit", "0"]
    dry = runner.invoke(app, args)
    assert dry.exit_code == 0, dry.output
    with Store(store_file) as store:
        assert store.changes() == []
    with Store(store_file) as store:
        expected = default_policy().evaluate(store.load(), "2022-11").changes()
    applied = runner.invoke(app, [*args, "--apply"])
    assert applied.exit_code == 0, applied.output
    assert f"recorded {len(expected)} changes" in applied.output
    with Store(store_file) as store:
        recorded = [r.change for r in store.changes()]
    assert expected
    assert sorted(recorded, key=repr) == sorted(expected, key=repr)
    assert all(change.explanation for change in recorded)


def test_backtest_from_db(app: click.Group, runner: CliRunner, store_file: Path) -> None:
    """Backtest reads the portfolio from a store and writes nothing to it."""
    from keyaccount.store import Store

    result = runner.invoke(
        app, ["backtest", "--db", str(store_file), "--start", "2022-09", "--end", "2022-11"]
    )
    assert result.exit_code == 0, result.output
    assert "backtest 2022-09..2022-11, 300 customers" in result.output
    with Store(store_file) as store:
        assert store.changes() == []


def test_source_options_are_exclusive(app: click.Group, runner: CliRunner, tmp_path: Path) -> None:
    """--demo and --db together are a usage error; a --db store that does not exist is exit 1."""
    both = runner.invoke(app, ["evaluate", "--demo", "--db", str(tmp_path / "x.db")])
    assert both.exit_code == 2
    assert "give exactly one portfolio source: --db URL or --demo" in both.output
    missing = runner.invoke(app, ["backtest", "--db", str(tmp_path / "missing.db")])
    assert missing.exit_code == 1
    assert "no keyaccount store" in missing.output
    assert not (tmp_path / "missing.db").exists()
