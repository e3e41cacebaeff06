"""``keyaccount spark``: a policy evaluated by Apache Spark over Parquet files.

``keyaccount spark evaluate --customers PATH --revenue PATH --policy FILE --as-of P --out
PATH`` reads the customers and revenue (the Parquet layout of a portfolio, revenue
possibly in ``period=YYYY-MM`` directories), evaluates the policy with
:func:`keyaccount.spark.evaluate` and writes the decisions as Parquet. It runs in
the Spark session it finds or makes (``SparkSession.builder.getOrCreate()``), so
``spark-submit --master ... path/to/keyaccount/__main__.py spark evaluate ...`` runs it
on a cluster (``docs/spark.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from keyaccount.cli._app import PERIOD

if TYPE_CHECKING:
    from keyaccount.domain import Period

__all__ = ["spark"]


@click.group()
def spark() -> None:
    """Evaluate a policy on Apache Spark, over Parquet files (the spark extra)."""


@spark.command("evaluate")
@click.option("--customers", required=True, help="Customers: a Parquet file or directory.")
@click.option("--revenue", required=True, help="Revenue: a Parquet file or directory.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Policy file (TOML) [default: the policy shipped with keyaccount].",
)
@click.option("--as-of", "as_of", type=PERIOD, required=True, help="The as-of month, YYYY-MM.")
@click.option("--out", required=True, help="Where to write the decisions (a Parquet directory).")
@click.option("--rollup", is_flag=True, help="Evaluate group roll-ups.")
@click.option("--master", default=None, help="Spark master when no session runs (local[2]).")
def evaluate(
    customers: str,
    revenue: str,
    policy_file: str | None,
    as_of: Period,
    out: str,
    rollup: bool,
    master: str | None,
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
        policy, customers, revenue, as_of, out, rollup=rollup, master=master
    )
    click.echo(
        f"policy {policy.name!r} as of {as_of}: {customers_count:,} customers, "
        f"{moves:,} with a transition; decisions written to {out}"
    )
