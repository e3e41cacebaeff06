from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from keyaccount.cli._app import KeyAccountGroup
from keyaccount.crosssell import CrossSellModel, whitespace
from keyaccount.demo import NOTABLE_CUSTOMERS, generate
from keyaccount.store import Store
from tests.unit.crosssell_data import insurer_portfolio

if TYPE_CHECKING:
    from pathlib import Path

    import click


@pytest.fixture
def cli() -> click.Group:
    """A throwaway group with the cross-sell commands registered as the lead registers them."""
    return KeyAccountGroup(
        name="keyaccount",
        lazy_subcommands={
            "recommend": "keyaccount.cli._crosssell_commands:recommend",
            "whitespace": "keyaccount.cli._crosssell_commands:whitespace",
        },
    )


def test_recommend_prints_the_models_recommendations(cli: click.Group) -> None:
    """`recommend ID --demo` prints the same products and reasons as the library."""
    cid = NOTABLE_CUSTOMERS["当当网"]
    result = CliRunner().invoke(cli, ["recommend", cid, "--demo", "--k", "3"], terminal_width=400)
    assert result.exit_code == 0, result.output
    recs = CrossSellModel.fit(generate()).recommend(cid, 3)
    assert len(recs) == 3
    for rec in recs:
        assert f"{rec.rank}. {rec.product_name} ({rec.product_id}) {rec.score:.4f}" in result.output
        for reason in rec.reasons():
            assert reason in result.output


def test_recommend_exclusions_boosts_and_language(cli: click.Group) -> None:
    """--exclude drops a product, --boost is cited, --lang zh prints Chinese."""
    cid = NOTABLE_CUSTOMERS["当当网"]
    top = CrossSellModel.fit(generate()).recommend(cid, 1)[0].product_id
    result = CliRunner().invoke(
        cli,
        [
            "recommend",
            cid,
            "--demo",
            "--exclude",
            top,
            "--boost",
            "policy_mailing=3",
            "--lang",
            "zh",
        ],
        terminal_width=400,
    )
    assert result.exit_code == 0, result.output
    assert f"（{top}）" not in result.output
    assert "（policy_mailing）" in result.output
    assert "活动加权 ×3" in result.output
    assert "在用" in result.output


def test_recommend_errors(cli: click.Group) -> None:
    """Unknown customers fail with one line; a missing source or bad boost is a usage error."""
    runner = CliRunner()
    unknown = runner.invoke(cli, ["recommend", "NOPE", "--demo"])
    assert unknown.exit_code == 1
    assert "Error: customer 'NOPE'" in unknown.output
    no_source = runner.invoke(cli, ["recommend", "C0000001"])
    assert no_source.exit_code == 2
    assert "--db URL or --demo" in no_source.output
    both = runner.invoke(cli, ["recommend", "C0000001", "--demo", "--db", "x.db"])
    assert both.exit_code == 2
    bad = runner.invoke(cli, ["recommend", "C0000001", "--demo", "--boost", "custom_route"])
    assert bad.exit_code == 2
    assert "PRODUCT=FACTOR" in bad.output


def test_whitespace_lists_the_largest_cells(cli: click.Group) -> None:
    """`whitespace --demo` lists the top cells by estimated revenue and the total."""
    result = CliRunner().invoke(
        cli, ["whitespace", "--demo", "--top", "3", "--by", "tier"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    table = whitespace(generate(), by="tier")
    for cell in list(table)[:3]:
        assert cell.product_id in result.output
    assert f"{table.total_estimated_revenue_fen // 100:,}" in result.output


def test_commands_read_a_store(cli: click.Group, tmp_path: Path) -> None:
    """--db reads the portfolio saved in a SQLite store."""
    db = str(tmp_path / "crosssell.db")
    with Store(db) as store:
        store.save(insurer_portfolio())
    runner = CliRunner()
    result = runner.invoke(cli, ["recommend", "INS-BJ", "--db", db, "--k", "2"], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "1. Policy and document mailing (policy_mailing)" in result.output
    assert "its parent HQ buys it" in result.output
    table = runner.invoke(cli, ["whitespace", "--db", db, "--all-products"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "policy_mailing" in table.output
