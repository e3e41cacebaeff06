"""``keyaccount demo``: generate the demo portfolio and print the report a sales director reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from keyaccount.cli._app import PERIOD, count_option, lang_option
from keyaccount.cli._output import Section, emit, format_option, section_option
from keyaccount.cli._render import make_console, portfolio_report
from keyaccount.cli._report_data import DEMO_SECTIONS
from keyaccount.cli._source import demo_portfolio
from keyaccount.cli._store_commands import demo_db_options, write_demo_db

if TYPE_CHECKING:
    from rich.console import Console

    from keyaccount.domain import Period
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import Portfolio

__all__ = ["demo", "print_report", "report_month", "report_sections"]


def report_month(portfolio: Portfolio) -> Period | None:
    """The month a report on ``portfolio`` is as of: its last month with revenue.

    Without revenue, the latest first-seen month of its customers; ``None``
    for a portfolio with no customers.
    """
    span = portfolio.period_span
    if span is not None:
        return span[1]
    firsts = [c.first_period for c in portfolio.customers()]
    return max(firsts) if firsts else None


def print_report(
    console: Console,
    portfolio: Portfolio,
    *,
    as_of: Period | None = None,
    top: int = 10,
    lang: str = "en",
    policy: bool = True,
    recommendations: bool = True,
    operations: OperationsData | None = None,
) -> None:
    """Print the portfolio report (see :func:`keyaccount.cli._render.portfolio_report`).

    Args:
        console: Where to print.
        portfolio: The portfolio.
        as_of: The as-of month; default :func:`report_month`.
        top: How many customers and group accounts to list.
        lang: ``"en"`` or ``"zh"``.
        policy: Also show what the default policy would change as of that month.
        recommendations: Also show cross-sell recommendations for a few notable
            demo customers (those of :data:`keyaccount.demo.NOTABLE_CUSTOMERS`
            that the portfolio holds).
        operations: The portfolio's operations data: then also attainment and payouts
            of the last full year and the open supervision list
            (:func:`keyaccount.cli._render_operations.operations_report`), and the
            project groups' revenue attributed to the group that owned each customer
            in each month.
    """
    month = as_of if as_of is not None else report_month(portfolio)
    if month is None:
        console.print("The portfolio holds no customers." if lang == "en" else "该组合中没有客户。")
        return
    for part in portfolio_report(portfolio, month, top=top, lang=lang, operations=operations):
        console.print(part)
        console.print()
    if policy:
        from keyaccount.cli._render_policy import evaluation_report
        from keyaccount.rules import default_policy

        evaluation = default_policy().evaluate(portfolio, month)
        console.print(evaluation_report(portfolio, evaluation, examples=top, lang=lang))
        console.print()
    if recommendations:
        _print_demo_recommendations(console, portfolio, month, lang)
    if operations is not None:
        from keyaccount.cli._render_operations import operations_report

        for part in operations_report(portfolio, operations, lang):
            console.print(part)
            console.print()


def report_sections(
    portfolio: Portfolio,
    *,
    as_of: Period | None = None,
    top: int = 10,
    lang: str = "en",
    operations: OperationsData | None = None,
) -> list[Section]:
    """The report's tables for ``--format json|csv`` (:mod:`keyaccount.cli._report_data`).

    Arguments as :func:`print_report` takes them; ``lang`` is the language of the
    recommendations' reasons.
    """
    from keyaccount.cli._report_data import operations_sections, portfolio_sections
    from keyaccount.cli._rules_commands import evaluation_sections

    month = as_of if as_of is not None else report_month(portfolio)
    if month is None:
        return [Section(name, (), []) for name in DEMO_SECTIONS]
    sections = portfolio_sections(portfolio, month, top=top, operations=operations)
    from keyaccount.rules import default_policy

    evaluation = default_policy().evaluate(portfolio, month)
    sections.append(evaluation_sections(evaluation, evaluation.transitions, ())[0])
    sections.append(_demo_recommendations(portfolio, month, lang))
    if operations is not None:
        sections += operations_sections(portfolio, operations)
    return sections


def _demo_recommendations(portfolio: Portfolio, month: Period, lang: str) -> Section:
    from keyaccount.cli._crosssell_commands import RECOMMENDATION_KEYS, recommendation_rows
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.demo import NOTABLE_CUSTOMERS

    ids = [NOTABLE_CUSTOMERS[name] for name in DEMO_RECOMMENDED]
    ids = [cid for cid in ids if cid in portfolio]
    rows: list[dict[str, object]] = []
    if ids:
        model = CrossSellModel.fit(portfolio, month)
        rows = recommendation_rows(model, ids, k=3, lang=lang)
    return Section("recommendations", RECOMMENDATION_KEYS, rows)


DEMO_RECOMMENDED = ("当当网", "中国人寿", "广东省高级人民法院", "耐克")
"""Notable demo customers whose recommendations the demo report shows."""


def _print_demo_recommendations(
    console: Console, portfolio: Portfolio, month: Period, lang: str
) -> None:
    from keyaccount.cli._crosssell_commands import print_recommendations
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.demo import NOTABLE_CUSTOMERS

    ids = [NOTABLE_CUSTOMERS[name] for name in DEMO_RECOMMENDED]
    ids = [cid for cid in ids if cid in portfolio]
    if not ids:
        return
    title = "交叉销售推荐（重点客户示例）" if lang == "zh" else "Cross-sell recommendations"
    console.print(f"[bold]{title}[/bold]")
    model = CrossSellModel.fit(portfolio, month)
    print_recommendations(console, model, ids, k=3, lang=lang)
    console.print()


@click.command()
@count_option(
    "--seed",
    default=None,
    minimum=0,
    help="Random seed; the same seed gives the same portfolio [default: the generator's].",
)
@count_option(
    "--customers",
    default=None,
    help="Number of customers [default: the generator's, a few thousand].",
)
@count_option(
    "--months", default=None, help="Months of revenue history [default: the generator's]."
)
@click.option(
    "--end",
    type=PERIOD,
    default=None,
    help="Last month of the history, and the month the report is as of.",
)
@count_option("--top", default=10, help="How many customers and group accounts to list.")
@lang_option
@demo_db_options
@format_option
@section_option(*DEMO_SECTIONS)
def demo(
    seed: int | None,
    customers: int | None,
    months: int | None,
    end: Period | None,
    top: int,
    lang: str,
    db: str | None,
    replace_db: bool,
    output_format: str,
    section: str | None,
) -> None:
    """Generate the demo portfolio and print its key-account report.

    The report: a headline (customers, trailing-12-month revenue in 万元 or
    亿元, year-on-year growth, as-of month); customers and revenue by segment
    and tier; the top customers; group accounts rolled up with their
    branches; the project groups with their members and revenue; what the
    default policy would change this month, with the reasons; and cross-sell
    recommendations for a few notable customers; attainment of the revenue targets
    and incentive payouts of the last full year by project group, and the open
    supervision list (督办清单). With ``--db URL`` the
    portfolio and its operations data are also written into that store (a SQLite file by
    default),
    which ``keyaccount evaluate``, ``recommend`` and ``Store`` can reopen.

    With --format json: the report's tables as sections (top_customers, headline,
    segments, group_accounts, project_groups, transitions, recommendations,
    attainment, payouts, supervision); --format csv writes one (--section, default
    top_customers).
    """
    from keyaccount.demo import DEFAULT_SEED, demo_operations

    portfolio = demo_portfolio(seed=seed, customers=customers, months=months, end=end)
    operations = demo_operations(portfolio, seed=DEFAULT_SEED if seed is None else seed)
    lang = lang.lower()
    write_demo_db(portfolio, db, replace_db, operations, lang=lang)
    if output_format.lower() != "table":
        sections = report_sections(portfolio, as_of=end, top=top, lang=lang, operations=operations)
        emit(sections, output_format, section)
        return
    print_report(make_console(), portfolio, as_of=end, top=top, lang=lang, operations=operations)
