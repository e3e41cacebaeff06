"""``keyaccount spark``: a policy evaluated or backtested by Apache Spark over Parquet files.

``keyaccount spark evaluate --customers PATH --revenue PATH --policy FILE --as-of P --out
PATH`` reads the customers and revenue (the Parquet layout of a portfolio, revenue
possibly in ``period=YYYY-MM`` directories), evaluates the policy with
:func:`keyaccount.spark.evaluate` and writes the decisions as Parquet. It runs in
the Spark session it finds or makes (``SparkSession.builder.getOrCreate()``), so
``spark-submit --master ... path/to/keyaccount/__main__.py spark evaluate ...`` runs it
on a cluster (``docs/spark.md``). ``keyaccount spark backtest ... --start P --end P --out
PATH`` runs the policy month by month (:func:`keyaccount.spark.backtest`) and writes the
months partitioned by period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyaccount.cli._app import PERIOD
from keyaccount.domain import Tier

if TYPE_CHECKING:
    from keyaccount.domain import Period

__all__ = ["spark"]


_F = TypeVar("_F", bound=Callable[..., Any])


def _inputs(command: _F) -> _F:
    """The options both commands read their inputs by: --customers, --revenue, --policy."""
    for option in reversed(
        (
            click.option(
                "--customers", required=True, help="Customers: a Parquet file or directory."
            ),
            click.option("--revenue", required=True, help="Revenue: a Parquet file or directory."),
            click.option(
                "--policy",
                "policy_file",
                type=click.Path(exists=True, dir_okay=False),
                default=None,
                help="Policy file (TOML) [default: the policy shipped with keyaccount].",
            ),
        )
    ):
        command = option(command)
    return command


@click.group()
def spark() -> None:
    """Evaluate or backtest a policy on Apache Spark, over Parquet files (the spark extra)."""


@spark.command("evaluate")
@_inputs
@click.option("--as-of", "as_of", type=PERIOD, required=True, help="The as-of month, YYYY-MM.")
@click.option("--out", required=True, help="Where to write the decisions (a Parquet directory).")
@click.option("--rollup", is_flag=True, help="Evaluate group roll-ups.")
@click.option("--master", default=None, help="Spark master when no session runs (local[2]).")
@click.option(
    "--join-key",
    type=click.Choice(["customer_id", "customer_key"]),
    default="customer_id",
    show_default=True,
    help="Join revenue to customers by this column; customer_key (an integer, faster) "
    "for the files of one keyaccount Parquet directory.",
)
def evaluate(
    customers: str,
    revenue: str,
    policy_file: str | None,
    as_of: Period,
    out: str,
    rollup: bool,
    master: str | None,
    join_key: str,
) -> None:
    """Evaluate a policy with Spark and write the decisions and explanations as Parquet.

    The decisions have the columns of ``keyaccount.spark.DECISION_COLUMNS``; the
    target directory must not exist. The month of each revenue row may be a
    date or ``YYYY-MM`` text (a ``period=YYYY-MM`` partition).
    """
    from keyaccount import spark as ks
    from keyaccount.rules import Policy, default_policy

    policy = default_policy() if policy_file is None else Policy.load(policy_file)
    customers_count, moves = ks.evaluate_parquet(
        policy, customers, revenue, as_of, out, rollup=rollup, master=master, join_key=join_key
    )
    click.echo(
        f"policy {policy.name!r} as of {as_of}: {customers_count:,} customers, "
        f"{moves:,} with a transition; decisions written to {out}"
    )


@spark.command("backtest")
@_inputs
@click.option("--start", type=PERIOD, required=True, help="The first month, YYYY-MM.")
@click.option("--end", type=PERIOD, required=True, help="The last month, YYYY-MM.")
@click.option(
    "--out", required=True, help="Where to write the months (a Parquet directory by period)."
)
@click.option("--rollup", is_flag=True, help="Evaluate group roll-ups.")
@click.option(
    "--initial-tier",
    type=click.Choice([t.name for t in Tier], case_sensitive=False),
    default=None,
    help="Start every customer in this tier [default: the customers' tiers].",
)
@click.option("--master", default=None, help="Spark master when no session runs (local[2]).")
def backtest(
    customers: str,
    revenue: str,
    policy_file: str | None,
    start: Period,
    end: Period,
    out: str,
    rollup: bool,
    initial_tier: str | None,
    master: str | None,
) -> None:
    """Run a policy month by month with Spark; write each month's decisions as Parquet.

    Each month is evaluated on the tiers the policy produced in the months
    before (as ``keyaccount backtest`` does in memory). The rows have the
    columns of ``keyaccount.spark.BACKTEST_COLUMNS`` and are written in
    ``period=YYYY-MM`` directories; the target directory must not exist.
    Prints the customers, tier and segment transitions and held demotions of
    each month.
    """
    from keyaccount import spark as ks
    from keyaccount.rules import Policy, default_policy

    policy = default_policy() if policy_file is None else Policy.load(policy_file)
    rows = ks.backtest_parquet(
        policy,
        customers,
        revenue,
        start,
        end,
        out,
        rollup=rollup,
        initial_tier=initial_tier,
        master=master,
    )
    total = sum(row[2] for row in rows)
    click.echo(
        f"policy {policy.name!r} backtest {start}..{end}: {len(rows)} months, "
        f"{total:,} tier transitions; written to {out}"
    )
    click.echo(f"{'month':<8} {'customers':>10} {'tier':>8} {'segment':>8} {'held':>8}")
    for month, count, tier_moves, segment_moves, held in rows:
        click.echo(f"{month!s:<8} {count:>10,} {tier_moves:>8,} {segment_moves:>8,} {held:>8,}")
