"""``keyaccount report``: write the portfolio report as one self-contained HTML page.

The page is :func:`keyaccount.report.render_report`'s. The portfolio comes from exactly
one source (``--db URL`` or ``--demo``, :func:`~keyaccount.cli._source.portfolio_source`);
operations data (targets, the supervision list) comes with it when the source has any: the
demo's is generated, a store's is read when it holds some. The ``--out`` file is claimed
(a temporary beside it) before any work, so a bad directory fails at once, and the page is
renamed into place only when it is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from keyaccount.cli._app import PERIOD, lang_option
from keyaccount.cli._operations_commands import operations_source

if TYPE_CHECKING:
    from keyaccount.cli._source import PortfolioSource
    from keyaccount.domain import Period
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import Portfolio

__all__ = ["report_command"]


def _read(
    source: PortfolioSource, seed: int | None, customers: int | None
) -> tuple[Portfolio, OperationsData | None, list[str] | None, str]:
    """The portfolio, its operations data if any, the customers to recommend for, a label."""
    if source.db is not None:
        from keyaccount.cli._operations_commands import _stored_as_of
        from keyaccount.store import resolve_url

        with source.open() as (portfolio, store):
            assert store is not None  # a --db source opens its store
            operations = None
            if not store.operations.is_empty() and portfolio.period_span is not None:
                operations = store.operations.data(_stored_as_of(portfolio, store))
            shown = resolve_url(source.db).render_as_string(hide_password=True)
            return portfolio, operations, None, shown
    from keyaccount.cli._demo import DEMO_RECOMMENDED
    from keyaccount.demo import DEFAULT_SEED, NOTABLE_CUSTOMERS, demo_operations

    portfolio = source.load(seed=seed, customers=customers)
    operations = None
    if portfolio.period_span is not None:
        operations = demo_operations(portfolio, seed=DEFAULT_SEED if seed is None else seed)
    notable = [NOTABLE_CUSTOMERS[name] for name in DEMO_RECOMMENDED]
    return portfolio, operations, [c for c in notable if c in portfolio], "demo"


@click.command("report")
@operations_source
@click.option(
    "--as-of",
    "as_of",
    type=PERIOD,
    default=None,
    help="The month the report is as of [default: the last month with revenue].",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Policy file (TOML) whose transitions are shown [default: the shipped policy].",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=False),
    required=True,
    help="The HTML file to write.",
)
@lang_option
def report_command(
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    as_of: Period | None,
    policy_file: str | None,
    out: str,
    lang: str,
) -> None:
    """Write the portfolio report as one self-contained HTML page (--out FILE).

    The page: the headline figures and customers and revenue by tier; customers and
    revenue by segment and tier (tables and heatmaps); the top customers and the
    revenue concentration; this month's transitions under the policy with the rule and
    the values that decided each, and the tier flows of a twelve-month backtest;
    cross-sell recommendations with their explanations, the whitespace heatmap and one
    customer's cross-sell neighbourhood; RFM segments; and, when the source has
    operations data (the demo does; a store written by `keyaccount demo --db`), target
    attainment by project group and the overdue supervision items.

    The page needs no network to view: inline style, plots as SVG images with their
    text drawn as outlines, no script. Long lists show their head and a count.
    """
    from keyaccount.report import render_report
    from keyaccount.rules import Policy, default_policy
    from keyaccount.utils import atomic_path

    policy = default_policy() if policy_file is None else Policy.load(policy_file)
    with atomic_path(out) as temp:  # claims the file first: a bad directory fails here
        portfolio, operations, recommend_for, label = _read(source, seed, customers)
        page = render_report(
            portfolio,
            as_of=as_of,
            policy=policy,
            operations=operations,
            recommend_for=recommend_for,
            lang=lang.lower(),
            source=label,
        )
        temp.write_text(page, encoding="utf-8")
    click.echo(f"Wrote {out}", err=True)
