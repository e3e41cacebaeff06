"""Backtests on Spark: a policy run month by month, each month on the tiers it produced.

The semantics are :func:`keyaccount.rules.backtest`'s: each month ``P`` of the
range the policy is evaluated as of ``P`` (:func:`~keyaccount.spark.evaluate`'s
compiled frame) on a *state* frame of the customers, whose tier, segment and
``tier_since`` are the ones the policy itself produced in the months before;
the month's moves are applied to the state (a tier move sets ``tier_since`` to
``P``; held demotions, stays and no decision leave it) before ``P + 1``.
Customers first seen after ``P`` keep their starting state until they appear.

Per month one frame is materialized and its lineage cut: the state after the
month beside the month's decisions (a local checkpoint, or a reliable one when
the session has a checkpoint directory); the next month and the output both
read it. The revenue is read, checked and converted once (months as dates,
months after the last one dropped) and persisted for the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from keyaccount.domain import NO_CODE, SEGMENTS, TIERS, Period, Segment, Tier, segment_code
from keyaccount.exceptions import PolicyError
from keyaccount.rules import Backtest, Outcome
from keyaccount.spark._api import parquet_session, portfolio_frames
from keyaccount.spark._frames import coded_customers, coded_revenue, require_pyspark
from keyaccount.spark._rules import DECISION_COLUMNS, check_policy, decisions

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pyspark.sql import Column, DataFrame, SparkSession

    from keyaccount.portfolio import Portfolio
    from keyaccount.rules import Policy

__all__ = [
    "BACKTEST_COLUMNS",
    "backtest",
    "backtest_parquet",
    "backtest_portfolio",
    "to_backtest",
]

BACKTEST_COLUMNS: Final = ("period", *DECISION_COLUMNS)
"""The columns of the backtest frame, in order: the month (``YYYY-MM``), then the decisions."""

_ABSENT: Final = -2
"""``Backtest.tiers`` and ``.segments`` before a customer's first month."""

_MOVE: Final = Outcome.MOVE.name


def _month_date(ordinal: str) -> str:
    """Spark SQL: the first day of the month whose ``Period.ordinal`` is the expression."""
    return f"make_date(CAST(({ordinal}) DIV 12 AS INT), CAST(({ordinal}) % 12 + 1 AS INT), 1)"


def _materialized(frame: DataFrame) -> DataFrame:
    """``frame`` computed now and its lineage cut.

    A reliable checkpoint when the session has a checkpoint directory
    (``SparkContext.setCheckpointDir``: it survives a lost executor), else a
    local checkpoint (executor storage, no directory to set up).
    """
    if frame.sparkSession.sparkContext.getCheckpointDir() is not None:
        return frame.checkpoint(eager=True)
    return frame.localCheckpoint(eager=True)


def _start_state(customers: DataFrame, start_tier: Tier | None) -> DataFrame:
    """The customers in the layout :func:`decisions` reads, with canonical names and dates.

    ``initial_tier`` puts everyone in that tier with ``tier_since`` cleared (it
    defaults to ``first_period``), as :func:`keyaccount.rules.backtest` does.
    """
    from pyspark.sql import functions as sf

    tier_names = ", ".join(f"{t.rank}, '{t.name}'" for t in TIERS)
    segment_names = ", ".join(f"{c}, '{s.name}'" for c, s in enumerate(SEGMENTS))
    coded = coded_customers(customers)
    if start_tier is None:
        tier, since = "tier", "since"
    else:
        tier, since = str(start_tier.rank), "first"
    return coded.select(
        "customer_id",
        "parent_id",
        sf.expr(_month_date("first")).alias("first_period"),
        sf.expr(f"element_at(map({tier_names}), {tier})").alias("tier"),
        sf.expr(f"element_at(map({segment_names}), segment)").alias("segment"),
        sf.expr(_month_date(since)).alias("tier_since"),
    )


_STATE_COLUMNS: Final = (
    "customer_id",
    "parent_id",
    "first_period",
    "tier",
    "segment",
    "tier_since",
)
"""The columns of the customers' state between months (the layout :func:`decisions` reads)."""


def _month(state: DataFrame, decided: DataFrame, period: Period) -> DataFrame:
    """Every customer's state after month ``period``, beside the month's decisions.

    The decision columns are null for a customer not yet seen (``_seen``
    false). A tier move sets the tier and ``tier_since`` (to ``P``), a segment
    move the segment; held demotions, stays and no decision change nothing.
    """
    from pyspark.sql import functions as sf

    moved = f"d.tier_outcome = '{_MOVE}'"
    return (
        state.alias("s")
        .join(decided.alias("d"), sf.expr("s.customer_id = d.customer_id"), "left")
        .select(
            sf.expr("s.customer_id"),
            sf.expr("s.parent_id"),
            sf.expr("s.first_period"),
            sf.expr(f"CASE WHEN {moved} THEN d.tier_to ELSE s.tier END AS tier"),
            sf.expr(
                f"CASE WHEN d.segment_outcome = '{_MOVE}' THEN d.segment_to ELSE s.segment END "
                "AS segment"
            ),
            sf.expr(
                f"CASE WHEN {moved} THEN {_month_date(str(period.ordinal))} ELSE s.tier_since END "
                "AS tier_since"
            ),
            sf.expr("d.customer_id IS NOT NULL AS _seen"),
            *(sf.col(f"d.{name}") for name in DECISION_COLUMNS[1:]),
        )
    )


def _checked_revenue(revenue: DataFrame, last: Period) -> DataFrame:
    """Revenue checked and converted once: months as dates, rows after ``last`` dropped.

    The rows keep their partitioning (the input's files); each month reads
    them without parsing a month's text or a product's spelling again.
    """
    from pyspark.sql import functions as sf

    return (
        coded_revenue(revenue)
        .where(sf.expr(f"period <= {last.ordinal}"))
        .select(
            "customer_id",
            sf.expr(_month_date("period")).alias("period"),
            "product_id",
            sf.col("fen").alias("revenue_fen"),
            "volume",
        )
    )


def _months(start: Period | str, end: Period | str) -> tuple[Period, ...]:
    first, last = Period.parse(start), Period.parse(end)
    if last < first:
        raise PolicyError(f"backtest end {last} is before its start {first}")
    return tuple(Period.range(first, last))


def backtest(
    policy: Policy,
    customers: DataFrame,
    revenue: DataFrame,
    start: Period | str,
    end: Period | str,
    *,
    rollup: bool = False,
    initial_tier: Tier | str | None = None,
    catalog: Iterable[str] | None = None,
) -> DataFrame:
    """Run ``policy`` month by month from ``start`` to ``end`` (both included) on Spark.

    The semantics of :func:`keyaccount.rules.backtest`: each month ``P`` is
    evaluated as of ``P`` (as :func:`~keyaccount.spark.evaluate` evaluates)
    on the tiers, segments and ``tier_since`` the policy produced in the
    months before, and its moves are applied before ``P + 1`` (a tier move
    sets ``tier_since`` to ``P``; a held demotion changes nothing).

    The months run when this function is called: per month one Spark job
    computes the decisions and the customers' state after them, materialized
    with its lineage cut (a local checkpoint, or a reliable checkpoint when
    the session has a checkpoint directory), so month 60 plans as small as
    month 1. The revenue is read, checked and converted once (months after
    ``end`` dropped) and persisted while the months run.

    Args:
        policy: The policy (built-in metrics and ``share()`` of ``catalog``).
        customers: Customers in the Arrow/Parquet layout (see
            :func:`~keyaccount.spark.metrics`); their tiers, segments and
            ``tier_since`` are the state before ``start``.
        revenue: Revenue in that layout.
        start: The first month evaluated.
        end: The last month evaluated.
        rollup: Evaluate group roll-ups each month.
        initial_tier: Put every customer in this tier (``tier_since`` cleared)
            before the first month; ``None`` keeps the customers' tiers.
        catalog: The product ids ``share()`` may name (default: the default catalogue).

    Returns:
        One row per month and customer first seen by that month, columns
        :data:`BACKTEST_COLUMNS`: ``period`` (``YYYY-MM`` text), then the
        month's decisions (:data:`~keyaccount.spark.DECISION_COLUMNS`): the
        tier and segment before the month, the deciding rules, outcomes,
        targets and explanations. The tier after a month is ``tier_to``
        where ``tier_outcome`` is ``MOVE``, else ``tier_from`` (segments
        likewise). Write it with ``frame.write.partitionBy("period").parquet(path)``.

    Raises:
        ImportError: pyspark is not installed.
        PolicyError: ``end`` before ``start``, or a rule names a user metric.
        UnknownProductError: a ``share()`` names a product not in ``catalog``.
        ValidationError: a required column is missing or has the wrong type.
    """
    require_pyspark()
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    months = _months(start, end)
    start_tier = None if initial_tier is None else Tier.parse(initial_tier)
    products = None if catalog is None else list(catalog)
    check_policy(policy, products)  # refused before any Spark job
    state = _materialized(_start_state(customers, start_tier))
    checked = _checked_revenue(revenue, months[-1]).persist(StorageLevel.MEMORY_AND_DISK)
    parts: list[DataFrame] = []
    try:
        for period in months:
            decided = decisions(policy, state, checked, period, rollup=rollup, catalog=products)
            both = _materialized(_month(state, decided, period))  # one job per month
            state = both.select(*_STATE_COLUMNS)
            parts.append(
                both.where("_seen").select(sf.lit(str(period)).alias("period"), *DECISION_COLUMNS)
            )
    finally:
        checked.unpersist()
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _period(value: object) -> Period:
    """A ``period`` cell: ``YYYY-MM`` text, or a date (as a partition column may be typed)."""
    if isinstance(value, str):
        return Period.parse(value)
    year, month = value.year, value.month  # type: ignore[attr-defined]
    return Period(int(year), int(month))


def _tier(name: str) -> int:
    return Tier[name].rank


def _segment(name: str | None) -> int:
    return segment_code(None if name is None else Segment[name])


def _segment_of(code: int) -> Segment | None:
    return None if code == NO_CODE else SEGMENTS[code]


def to_backtest(
    frame: DataFrame,
    policy: Policy,
    start: Period | str | None = None,
    end: Period | str | None = None,
    *,
    customer_ids: Sequence[str] | None = None,
) -> Backtest:
    """Collect a (small) backtest frame into a :class:`keyaccount.rules.Backtest`.

    Its ``timeline``, ``transition_counts``, ``tier_sizes``, ``to_pandas`` and
    :func:`~keyaccount.rules.compare_backtests` work as for an in-memory
    backtest; the explanations stay in the frame (``to_evaluation`` of one
    month's rows gives that month's ``Evaluation``).

    Args:
        frame: The frame :func:`backtest` gave for ``policy`` (or read back
            from its Parquet files).
        policy: The policy backtested (its name labels the result).
        start: The first month (default: the frame's first).
        end: The last month (default: the frame's last).
        customer_ids: The customers in order; it must hold every customer of
            the frame, and those absent from it are absent every month
            (default: the frame's customers by id).

    Returns:
        The backtest.

    Raises:
        PolicyError: ``end`` before ``start``; no months (an empty frame and no
            range); a month of the frame outside the range; a customer of the
            frame not in ``customer_ids``.
    """
    rows = frame.select(
        "period",
        "customer_id",
        "tier_from",
        "tier_to",
        "tier_outcome",
        "segment_from",
        "segment_to",
        "segment_outcome",
    ).collect()
    seen = sorted({_period(row["period"]) for row in rows})
    if (start is None or end is None) and not seen:
        raise PolicyError("the backtest frame is empty: give start and end")
    months = _months(seen[0] if start is None else start, seen[-1] if end is None else end)
    index = {month: k for k, month in enumerate(months)}
    ids = (
        sorted({str(row["customer_id"]) for row in rows})
        if customer_ids is None
        else list(customer_ids)
    )
    position = {cid: i for i, cid in enumerate(ids)}
    n, m, n_tiers = len(ids), len(months), len(TIERS)
    tiers = np.full((n, m), _ABSENT, dtype=np.int8)
    segments = np.full((n, m), _ABSENT, dtype=np.int8)
    tier_moves = np.zeros((m, n_tiers, n_tiers), dtype=np.int64)
    held = np.zeros(m, dtype=np.int64)
    moves_by_customer = np.zeros(n, dtype=np.int64)
    segment_moves: list[dict[tuple[Segment | None, Segment | None], int]] = [{} for _ in months]
    for row in rows:
        month = _period(row["period"])
        k = index.get(month)
        if k is None:
            raise PolicyError(
                f"month {month} of the backtest frame is not in {months[0]}..{months[-1]}"
            )
        cid = str(row["customer_id"])
        i = position.get(cid)
        if i is None:
            raise PolicyError(f"customer {cid!r} of the backtest frame is not in customer_ids")
        before, after = _tier(row["tier_from"]), _tier(row["tier_to"])
        outcome = row["tier_outcome"]
        if outcome == _MOVE:
            tier_moves[k, before, after] += 1
            moves_by_customer[i] += 1
            tiers[i, k] = after
        else:
            tiers[i, k] = before
            if outcome == Outcome.HELD.name:
                held[k] += 1
        seg_before, seg_after = _segment(row["segment_from"]), _segment(row["segment_to"])
        if row["segment_outcome"] == _MOVE:
            pair = (_segment_of(seg_before), _segment_of(seg_after))
            segment_moves[k][pair] = segment_moves[k].get(pair, 0) + 1
            segments[i, k] = seg_after
        else:
            segments[i, k] = seg_before
    return Backtest(
        policy.name,
        months,
        tuple(ids),
        tiers,
        segments,
        tier_moves,
        tuple(segment_moves),
        held,
        moves_by_customer,
    )


def backtest_portfolio(
    spark: SparkSession,
    policy: Policy,
    portfolio: Portfolio,
    start: Period | str,
    end: Period | str,
    *,
    rollup: bool = False,
    initial_tier: Tier | str | None = None,
) -> Backtest:
    """``policy`` backtested by Spark on a portfolio held in memory, as a ``Backtest``.

    A convenience for tests and small data: the portfolio goes to Spark
    through Arrow (:func:`~keyaccount.spark.portfolio_frames`), :func:`backtest`
    runs there and :func:`to_backtest` collects it in portfolio order. Without
    ``rollup`` the result equals ``keyaccount.rules.backtest(policy,
    portfolio, start, end, initial_tier=initial_tier)``.
    """
    customers, revenue = portfolio_frames(spark, portfolio)
    frame = backtest(
        policy,
        customers,
        revenue,
        start,
        end,
        rollup=rollup,
        initial_tier=initial_tier,
        catalog=list(portfolio.products),
    )
    return to_backtest(frame, policy, start, end, customer_ids=portfolio.customer_ids)


def _counts(frame: DataFrame) -> dict[str, tuple[int, int, int, int]]:
    """Per month: customers, tier moves, segment moves and held demotions."""
    from pyspark.sql import functions as sf

    def count(condition: str) -> Column:
        return sf.expr(f"CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT)")

    rows = (
        frame.groupBy("period")
        .agg(
            sf.count(sf.lit(1)).alias("customers"),
            count(f"tier_outcome = '{_MOVE}'").alias("tier_moves"),
            count(f"segment_outcome = '{_MOVE}'").alias("segment_moves"),
            count(f"tier_outcome = '{Outcome.HELD.name}'").alias("held"),
        )
        .collect()
    )
    return {
        str(row["period"]): (
            int(row["customers"]),
            int(row["tier_moves"]),
            int(row["segment_moves"]),
            int(row["held"]),
        )
        for row in rows
    }


def backtest_parquet(
    policy: Policy,
    customers: str,
    revenue: str,
    start: Period | str,
    end: Period | str,
    out: str,
    *,
    rollup: bool = False,
    initial_tier: Tier | str | None = None,
    master: str | None = None,
) -> list[tuple[Period, int, int, int, int]]:
    """Backtest ``policy`` over Parquet files with Spark; write the months as Parquet by period.

    Runs in the Spark session that is active (``spark-submit`` makes one) or a
    new one (``master``, e.g. ``local[2]``, when given). Months of hive
    partition directories (``period=2022-11``) are read as text. The frame
    of :func:`backtest` is written to ``out`` partitioned by ``period``
    (``out/period=2022-11/...``).

    Args:
        policy: The policy.
        customers: Path of the customers (a Parquet file or directory).
        revenue: Path of the revenue.
        start: The first month.
        end: The last month.
        out: The directory to write to (must not exist).
        rollup: Evaluate group roll-ups.
        initial_tier: Start every customer in this tier.
        master: The Spark master of a new session.

    Returns:
        Per month: the month, customers evaluated, tier moves, segment moves
        and held demotions.
    """
    months = _months(start, end)
    session = parquet_session(f"keyaccount backtest {policy.name}", master)
    frame = backtest(
        policy,
        session.read.parquet(customers),
        session.read.parquet(revenue),
        months[0],
        months[-1],
        rollup=rollup,
        initial_tier=initial_tier,
    )
    frame.write.mode("errorifexists").partitionBy("period").parquet(out)
    counts = _counts(frame)
    return [(month, *counts.get(str(month), (0, 0, 0, 0))) for month in months]
