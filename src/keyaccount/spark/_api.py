"""The public functions of :mod:`keyaccount.spark`: metrics and decisions as Spark frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.domain import Period
from keyaccount.portfolio import METRICS
from keyaccount.spark._frames import require_pyspark
from keyaccount.spark._metrics import metric_columns
from keyaccount.spark._rules import decisions, to_evaluation

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyspark.sql import DataFrame, SparkSession

    from keyaccount.portfolio import Portfolio
    from keyaccount.rules import Evaluation, Policy

__all__ = [
    "evaluate",
    "evaluate_parquet",
    "evaluate_portfolio",
    "metrics",
    "parquet_session",
    "portfolio_frames",
]

_MONEY = ("t12m_revenue", "prev12m_revenue")


def metrics(
    customers: DataFrame,
    revenue: DataFrame,
    as_of: Period | str,
    *,
    rollup: bool = False,
    join_key: str = "customer_id",
) -> DataFrame:
    """The metrics table of ``docs/metrics.md`` as of ``as_of``, computed by Spark.

    Args:
        customers: Customers in the Arrow/Parquet layout (``customer_id``,
            ``first_period``; optional ``tier``, ``segment``, ``parent_id``,
            ``tier_since``; see ``docs/spark.md``).
        revenue: Revenue in that layout (``customer_id``, ``period``,
            ``revenue_fen``; optional ``product_id``, ``volume``).
        as_of: The as-of month ``P`` (inclusive).
        rollup: Each customer's revenue metrics over it and all its
            descendants (the combined monthly series and product set).
        join_key: ``"customer_id"`` (the default), or ``"customer_key"``:
            group the revenue and join it to the customers by the integer
            ``customer_key`` column both frames carry, faster than the id
            text. Both frames' keys must name the same customers, as in one
            directory written by ``keyaccount.io.write_portfolio_parquet``;
            nothing checks it. A roll-up joins by id whatever this says.

    Returns:
        One row per customer first seen by ``as_of``: ``customer_id``,
        ``tier``, ``segment`` (names, null unassigned), then the metrics in
        ``keyaccount.METRICS`` order, the columns of
        ``MetricsTable.to_arrow()``: money as ``<name>_fen`` (``long``) and
        ``<name>`` (exact yuan, ``decimal(20,2)``), counts ``long``,
        ``yoy_growth`` ``double``; null where absent. Lazy, like every Spark
        frame: nothing runs until it is written or collected.

    Raises:
        ImportError: pyspark is not installed.
        ValidationError: a required column is missing or a column has the
            wrong type, or ``join_key`` is neither name.
    """
    require_pyspark()
    from pyspark.sql import functions as sf

    from keyaccount.domain import SEGMENTS, TIERS

    period = Period.parse(as_of)
    table = metric_columns(customers, revenue, period, rollup=rollup, join_key=join_key)
    tiers = sf.create_map(*(x for t in TIERS for x in (sf.lit(t.rank), sf.lit(t.name))))
    segments = sf.create_map(
        *(x for c, s in enumerate(SEGMENTS) for x in (sf.lit(c), sf.lit(s.name)))
    )
    columns = [
        sf.col("customer_id"),
        sf.element_at(tiers, sf.col("tier")).alias("tier"),
        sf.when(sf.col("segment") >= 0, sf.element_at(segments, sf.col("segment"))).alias(
            "segment"
        ),
    ]
    for name in METRICS:
        if name in _MONEY:
            fen = sf.col(name)
            columns.append(fen.alias(f"{name}_fen"))
            yuan = fen.cast("decimal(22,0)") / sf.lit(100).cast("decimal(3,0)")
            columns.append(yuan.cast("decimal(20,2)").alias(name))
        else:
            columns.append(sf.col(name))
    return table.select(*columns)


def evaluate(
    policy: Policy,
    customers: DataFrame,
    revenue: DataFrame,
    as_of: Period | str,
    *,
    rollup: bool = False,
    catalog: Iterable[str] | None = None,
    join_key: str = "customer_id",
) -> DataFrame:
    """``policy`` evaluated by Spark: one row of decisions and explanations per customer.

    The policy's conditions are compiled to Spark column expressions through
    :mod:`keyaccount.rules.compiler`, with the semantics of ``docs/rules.md``:
    two first-match chains, three-valued logic, stays, held demotions,
    float64 arithmetic in the contract's order, and the explanation of each
    decision.

    Args:
        policy: The policy (its rules may name the built-in metrics and
            ``share()`` of products of ``catalog``).
        customers: Customers in the Arrow/Parquet layout (see :func:`metrics`).
        revenue: Revenue in that layout.
        as_of: The as-of month.
        rollup: Evaluate group roll-ups (each customer with its descendants).
        catalog: The product ids ``share()`` may name (default: the default
            catalogue).
        join_key: ``"customer_id"`` or ``"customer_key"`` (see :func:`metrics`).

    Returns:
        A frame with the columns ``DECISION_COLUMNS``: ``customer_id``; per
        chain (``tier_``, ``segment_``) ``from`` and ``to`` (names; segment
        null when unassigned), ``rule`` (the deciding rule, null when none
        fired), ``outcome`` (``NONE``, ``MOVE``, ``STAY``, ``HELD``) and
        ``explanation``: for a move or a held demotion, the cited values in
        explanation order, each a struct of ``name``, ``fen`` and ``yuan``
        (money), ``count`` or ``ratio`` (the field of its kind set); null
        otherwise. Writable with ``frame.write.parquet(path)``.

    Raises:
        ImportError: pyspark is not installed.
        PolicyError: a rule names a user metric (computed in Python only).
        UnknownProductError: a ``share()`` names a product not in ``catalog``.
        ValidationError: a required column is missing or has the wrong type,
            or ``join_key`` is neither name.
    """
    return decisions(
        policy, customers, revenue, as_of, rollup=rollup, catalog=catalog, join_key=join_key
    )


def portfolio_frames(spark: SparkSession, portfolio: Portfolio) -> tuple[DataFrame, DataFrame]:
    """The customers and revenue of ``portfolio`` as Spark frames, through Arrow (small data).

    Args:
        spark: The Spark session.
        portfolio: The portfolio.

    Returns:
        ``(customers, revenue)`` in the layout of ``Portfolio.to_arrow()``
        (dictionary columns as strings).
    """
    require_pyspark()
    import pyarrow as pa
    from pyspark.sql import DataFrame as SparkFrame

    out = []
    for table in portfolio.to_arrow():
        plain = pa.table(
            {
                name: (column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column)
                for name, column in zip(table.column_names, table.columns, strict=True)
            }
        )
        if hasattr(SparkFrame, "toArrow"):  # Spark 4 takes Arrow tables
            out.append(spark.createDataFrame(plain))
        else:  # Spark 3.5: rows with the Arrow schema's types
            out.append(spark.createDataFrame(plain.to_pylist(), _ddl(plain.schema)))
    return out[0], out[1]


def _ddl(schema: object) -> str:
    """A Spark DDL schema for an Arrow schema of strings, dates, integers and decimals."""
    import pyarrow as pa

    parts = []
    for field in schema:  # type: ignore[attr-defined]
        t = field.type
        if pa.types.is_string(t):
            kind = "string"
        elif pa.types.is_date(t):
            kind = "date"
        elif pa.types.is_integer(t):
            kind = "bigint"
        elif pa.types.is_decimal(t):
            kind = f"decimal({t.precision},{t.scale})"
        else:
            kind = "double"
        parts.append(f"`{field.name}` {kind}")
    return ", ".join(parts)


def evaluate_portfolio(
    spark: SparkSession,
    policy: Policy,
    portfolio: Portfolio,
    as_of: Period | str,
    *,
    rollup: bool = False,
) -> Evaluation:
    """``policy`` evaluated by Spark on a portfolio held in memory, as an ``Evaluation``.

    A convenience for tests and small data: the portfolio goes to Spark
    through Arrow (:func:`portfolio_frames`), :func:`evaluate` runs there, and
    the decisions come back in portfolio order with their explanations; the
    result equals ``policy.evaluate(portfolio, as_of, rollup=rollup)``.
    """
    period = Period.parse(as_of)
    customers, revenue = portfolio_frames(spark, portfolio)
    frame = evaluate(
        policy, customers, revenue, period, rollup=rollup, catalog=list(portfolio.products)
    )
    columns = portfolio.customer_columns
    ids = [
        cid
        for cid, first in zip(portfolio.customer_ids, columns.first_period.tolist(), strict=True)
        if first <= period.ordinal
    ]
    return to_evaluation(frame, policy, period, customer_ids=ids)


def parquet_session(app: str, master: str | None) -> SparkSession:
    """The active Spark session, or a new one named ``app`` (on ``master`` when given).

    Months of hive partition directories (``period=2022-11``) are read as text
    (partition type inference off), as :func:`evaluate` reads them.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = builder.master(master)
    session = builder.getOrCreate()
    session.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    return session


def evaluate_parquet(
    policy: Policy,
    customers: str,
    revenue: str,
    as_of: Period | str,
    out: str,
    *,
    rollup: bool = False,
    master: str | None = None,
    join_key: str = "customer_id",
) -> tuple[int, int]:
    """Evaluate ``policy`` over Parquet files with Spark and write the decisions as Parquet.

    Runs in the Spark session that is active (``spark-submit`` makes one) or a
    new one (``master``, e.g. ``local[2]``, when given). Months of hive
    partition directories (``period=2022-11``) are read as text.

    Args:
        policy: The policy.
        customers: Path of the customers (a Parquet file or directory).
        revenue: Path of the revenue.
        as_of: The as-of month.
        out: The directory to write the decisions to (must not exist).
        rollup: Evaluate group roll-ups.
        master: The Spark master of a new session.
        join_key: ``"customer_key"`` for the files of one keyaccount Parquet
            directory (see :func:`metrics`).

    Returns:
        The number of customers evaluated and of those with a transition.
    """
    session = parquet_session(f"keyaccount evaluate {policy.name}", master)
    frame = evaluate(
        policy,
        session.read.parquet(customers),
        session.read.parquet(revenue),
        as_of,
        rollup=rollup,
        join_key=join_key,
    )
    frame.write.mode("errorifexists").parquet(out)
    written = session.read.parquet(out)
    moves = written.where("tier_outcome = 'MOVE' OR segment_outcome = 'MOVE'").count()
    return written.count(), moves
