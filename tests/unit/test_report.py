"""The report page's content, read back with the standard library's HTML parser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pytest
from click.testing import CliRunner

from keyaccount import Customer, Portfolio, RevenueRecord, demo
from keyaccount.cli import cli
from keyaccount.domain import Tier, format_yuan
from keyaccount.exceptions import OutputError, ValidationError
from keyaccount.report import CONTENT_SECURITY_POLICY, render_report, write_report
from keyaccount.rules import default_policy
from tests.report_page import parse

if TYPE_CHECKING:
    from pathlib import Path

    from keyaccount.operations import OperationsData

ODD_NAME = """<b>"A&B" 'Co'</b> & <script>x</script>"""
"""A customer name with every character HTML gives a meaning to."""


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """A small demo portfolio."""
    return demo.generate(customers=400, seed=11)


@pytest.fixture(scope="module")
def operations(portfolio: Portfolio) -> OperationsData:
    """The demo's operations data for it."""
    return demo.demo_operations(portfolio, seed=11)


@pytest.fixture(scope="module")
def english(portfolio: Portfolio, operations: OperationsData) -> str:
    """The English page with every plot."""
    return render_report(portfolio, operations=operations, max_rows=10_000)


@pytest.fixture(scope="module")
def chinese(portfolio: Portfolio, operations: OperationsData) -> str:
    """The Chinese page without plots."""
    return render_report(portfolio, operations=operations, lang="zh", figures=False)


def test_the_headline_equals_the_portfolios_figures(portfolio: Portfolio, english: str) -> None:
    """Customers, revenue and growth in the headline are those of the metrics table."""
    as_of = portfolio.period_span[1]  # type: ignore[index]
    table = portfolio.metrics(as_of)
    t12m = int(table.columns["t12m_revenue"].sum())
    prev = int(table.columns["prev12m_revenue"].sum())
    page = parse(english)
    assert page.by_id["headline-as-of"] == str(as_of)
    assert page.by_id["headline-customers"] == f"{len(table):,}"
    active = int(np.count_nonzero(table.columns["active_months"] > 0))
    assert page.by_id["headline-active"] == f"{active:,}"
    assert page.by_id["headline-revenue"] == f"{format_yuan(t12m)} yuan"
    assert page.by_id["headline-prev-revenue"] == f"{format_yuan(prev)} yuan"
    assert page.by_id["headline-yoy"] == f"{(t12m / prev - 1) * 100:+.1f}%"
    for tier in Tier:
        mask = table.tier == tier.rank
        assert page.by_id[f"tier-{tier.name}-customers"] == f"{int(mask.sum()):,}"
        fen = int(table.columns["t12m_revenue"][mask].sum())
        assert page.by_id[f"tier-{tier.name}-revenue"] == format_yuan(fen, unit="wan")


def test_the_segment_tables_add_up_to_the_summary(portfolio: Portfolio, english: str) -> None:
    """Each segment row of the counts table is the summary's row, with its total."""
    summary = portfolio.summary(portfolio.period_span[1])  # type: ignore[index]
    rows = parse(english).tables["segment-counts"]
    body = rows[1:-1]
    assert len(body) == len(summary.segments)
    for row, counts in zip(body, summary.counts, strict=True):
        assert row[1:] == [f"{int(n):,}" for n in counts] + [f"{int(counts.sum()):,}"]
    assert rows[-1][-1] == f"{summary.total_customers:,}"


def test_the_transitions_table_lists_exactly_the_evaluations_changes(
    portfolio: Portfolio, english: str
) -> None:
    """Every transition is listed once, in order, with its rule and its reason."""
    evaluation = default_policy().evaluate(portfolio, portfolio.period_span[1])  # type: ignore[index]
    assert len(evaluation.transitions) > 0
    rows = parse(english).tables["transitions-table"][1:]
    expected = [
        [
            t.customer_id,
            t.rule,
            f"{t.before.label('en') if t.before else 'UNASSIGNED'} → "
            f"{t.after.label('en') if t.after else 'UNASSIGNED'}",
            t.reason("en"),
        ]
        for t in evaluation.transitions
    ]
    assert [[r[0], r[4], r[3], r[5]] for r in rows] == expected
    by_rule = parse(english).tables["moves-by-rule"][1:]
    assert sum(int(r[-1].replace(",", "")) for r in by_rule) == len(evaluation.transitions)


def test_a_long_list_shows_its_head_and_the_count(portfolio: Portfolio) -> None:
    """With max_rows, the first transitions are listed and the note gives the total."""
    evaluation = default_policy().evaluate(portfolio, portfolio.period_span[1])  # type: ignore[index]
    page = parse(render_report(portfolio, max_rows=3, figures=False))
    rows = page.tables["transitions-table"][1:]
    assert [r[0] for r in rows] == [t.customer_id for t in evaluation.transitions[:3]]
    assert f"Showing 3 of {len(evaluation.transitions):,}." in page.text


def test_operations_show_attainment_and_overdue_items(
    operations: OperationsData, english: str
) -> None:
    """Attainment lists every project group; overdue items are those overdue on the day."""
    page = parse(english)
    assert len(page.tables["attainment-table"]) - 1 == len(operations.group_ids)
    overdue = [i.id for i in operations.supervision_items if i.is_overdue(operations.as_of)]
    listed = [r[0] for r in page.tables["escalations-table"][1:]]
    assert sorted(listed) == sorted(overdue)


def test_the_page_loads_nothing_from_outside(english: str) -> None:
    """No URL but data: ones; a policy refusing anything else; no script."""
    page = parse(english)
    assert not re.search(r"https?:", english)
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", english)
    assert page.images
    assert all(src.startswith("data:image/svg+xml;base64,") for src in page.images)
    assert CONTENT_SECURITY_POLICY in page.attributes
    assert "<script" not in english.lower()
    expected = {
        "figure-segment-customers", "figure-segment-revenue", "figure-concentration",
        "figure-tier-flows", "figure-whitespace", "figure-neighbourhood", "figure-rfm",
        "figure-attainment",
    }  # fmt: skip
    assert expected <= set(page.by_id)


def test_the_chinese_page_has_chinese_headings(chinese: str) -> None:
    """Headings and tier labels are the domain's Chinese labels."""
    page = parse(chinese)
    assert page.headings[:3] == ["大客户经营报告", "概览", "行业与层级"]
    assert "目标完成与督办" in page.headings
    assert [r[0] for r in page.tables["tier-table"][1:-1]] == [
        "战略客户",
        "重点客户",
        "活跃客户",
        "沉睡客户",
    ]
    assert page.by_id["headline-revenue"].endswith("元")
    assert '<html lang="zh-CN">' in chinese


def test_every_text_is_escaped() -> None:
    """A name with <, &, and quotes shows as written and adds no element."""
    customers = [
        Customer("C<1>", ODD_NAME, "2022-01", segment="司法"),
        Customer("C2", "普通客户", "2022-01", segment="司法"),
    ]
    revenue = [
        RevenueRecord("C<1>", "court_express", "2022-06", "2000000"),
        RevenueRecord("C2", "court_express", "2022-06", "100"),
        RevenueRecord("C2", "e_receipt", "2022-06", "100"),
    ]
    html = render_report(Portfolio(customers, revenue), "2022-06", figures=False)
    assert ODD_NAME not in html
    assert "<b>" not in html
    assert "<script" not in html
    page = parse(html)
    assert page.tables["top-customers"][1][:2] == ["C<1>", ODD_NAME]


def test_an_empty_portfolio_gives_a_page_that_says_so() -> None:
    """No customers: one section saying the portfolio holds none."""
    page = parse(render_report(Portfolio([], []), "2022-06", figures=False))
    assert "The portfolio holds no customers as of 2022-06." in page.text


def test_wrong_options_name_the_allowed_values(portfolio: Portfolio) -> None:
    """An unknown language or a row limit below 1 is refused, naming what is allowed."""
    with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
        render_report(portfolio, lang="fr", figures=False)
    with pytest.raises(ValidationError, match="max_rows must be a whole number >= 1"):
        render_report(portfolio, max_rows=0, figures=False)


def test_write_report_into_a_missing_directory_writes_nothing(
    portfolio: Portfolio, tmp_path: Path
) -> None:
    """A missing directory is an OutputError naming it; no file appears."""
    target = tmp_path / "missing" / "report.html"
    with pytest.raises(OutputError, match="create the directory"):
        write_report(target, portfolio, figures=False)
    assert not target.parent.exists()


def test_write_report_writes_the_page(portfolio: Portfolio, tmp_path: Path) -> None:
    """The file holds the rendered page, UTF-8, and nothing else is left beside it."""
    target = write_report(tmp_path / "r.html", portfolio, figures=False, lang="zh")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_the_command_with_a_bad_out_directory_fails_at_once(tmp_path: Path) -> None:
    """--out in a missing directory: exit code 1, one line naming it, nothing written."""
    target = tmp_path / "nowhere" / "r.html"
    result = CliRunner().invoke(cli, ["report", "--demo", "--out", str(target)])
    assert result.exit_code == 1
    assert "create the directory" in result.output
    assert not target.parent.exists()


def test_the_command_needs_one_source(tmp_path: Path) -> None:
    """Neither --db nor --demo is a usage error."""
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "--db URL or --demo" in result.output


def test_the_command_reads_a_store_with_its_policy(tmp_path: Path) -> None:
    """--db and --policy: the page names the store's portfolio and the policy's name."""
    db = tmp_path / "store.db"
    runner = CliRunner()
    made = runner.invoke(cli, ["demo", "--customers", "200", "--seed", "3", "--db", str(db)])
    assert made.exit_code == 0, made.output
    policy = tmp_path / "p.toml"
    policy.write_text(default_policy().to_toml().replace('name = "default"', 'name = "mine"'))
    out = tmp_path / "r.html"
    result = runner.invoke(
        cli, ["report", "--db", str(db), "--policy", str(policy), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = parse(out.read_text(encoding="utf-8"))
    assert page.by_id["headline-customers"] == "200"
    assert "Policy 'mine'" in page.text
    assert "attainment-table" in page.tables  # the demo wrote its operations into the store
