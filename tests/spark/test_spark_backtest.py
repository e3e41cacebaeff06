"""The Spark backtest runs month by month exactly as the in-memory backtest does.

The oracle is the plain month-by-month run: evaluate a copy of the portfolio
as of each month with the reference evaluator (roll-ups when asked), apply the
transitions with ``Portfolio.apply_changes``, next month. Spark's backtest
frame gives, month by month, the same tiers and segments after the month, the
same tier and segment moves, held demotions, deciding rules and explanations;
without roll-ups its ``Backtest`` also equals ``keyaccount.rules.backtest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Portfolio, Tier
from keyaccount import spark as ks
from keyaccount.demo import generate
from keyaccount.domain import NO_CODE, Period, Segment
from keyaccount.exceptions import PolicyError
from keyaccount.rules import Backtest, Policy, Rule, backtest, default_policy
from tests.spark.test_spark_evaluator import EXAMPLES, _assert_same_evaluation
from tests.strategies import PortfolioData, policies, portfolios

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import DataFrame, SparkSession

    from keyaccount.rules import Evaluation

_ARRAYS = ("tiers", "segments", "tier_moves", "held", "moves_by_customer")

START, END = Period.parse("2022-03"), Period.parse("2022-08")
"""Months of the demo portfolio (80 customers, 30 months) with moves and a held demotion."""


@attrs.frozen
class _Month:
    """One month of the plain run: its evaluation and the state after its transitions."""

    evaluation: Evaluation
    tiers: np.ndarray
    segments: np.ndarray


def _plain_run(
    policy: Policy,
    portfolio: Portfolio,
    months: list[Period],
    *,
    rollup: bool,
    initial_tier: Tier | None,
) -> list[_Month]:
    """The oracle: a copy of the portfolio evaluated and changed month after month."""
    customers = [
        c if initial_tier is None else attrs.evolve(c, tier=initial_tier, tier_since=None)
        for c in portfolio.customers()
    ]
    pf = Portfolio(customers, portfolio.revenue_records(), products=portfolio.products)
    first = pf.customer_columns.first_period
    out = []
    for month in months:
        evaluation = policy.evaluate(pf, month, engine="reference", rollup=rollup)
        pf.apply_changes(evaluation.changes())
        present = first <= month.ordinal
        cols = pf.customer_columns
        tiers = np.where(present, cols.tier, -2).astype(np.int8)
        segments = np.where(present, cols.segment, -2).astype(np.int8)
        out.append(_Month(evaluation, tiers, segments))
    return out


def _assert_backtest_is_the_run(got: Backtest, run: list[_Month], months: list[Period]) -> None:
    """Every month's state, moves and held demotions of ``got`` are the plain run's."""
    assert list(got.months) == months
    for k, month in enumerate(run):
        np.testing.assert_array_equal(got.tiers[:, k], month.tiers, err_msg=str(months[k]))
        np.testing.assert_array_equal(got.segments[:, k], month.segments, err_msg=str(months[k]))
        tier_moves: dict[tuple[Tier, Tier], int] = {}
        segment_moves: dict[tuple[Segment | None, Segment | None], int] = {}
        for t in month.evaluation.transitions:
            moves: dict[object, int] = tier_moves if t.kind == "tier" else segment_moves  # type: ignore[assignment]
            moves[t.before, t.after] = moves.get((t.before, t.after), 0) + 1
        assert got.transition_counts(months[k]) == tier_moves
        assert dict(got.segment_moves[k]) == segment_moves
        assert int(got.held[k]) == len(month.evaluation.held)


def _assert_same_backtest(got: Backtest, expected: Backtest) -> None:
    assert got.policy_name == expected.policy_name
    assert got.months == expected.months
    assert got.customer_ids == expected.customer_ids
    for name in _ARRAYS:
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert got.segment_moves == expected.segment_moves


def _month_evaluation(
    frame: DataFrame, policy: Policy, month: Period, expected: Evaluation
) -> Evaluation:
    rows = frame.where(f"period = '{month}'")
    return ks.to_evaluation(rows, policy, month, customer_ids=list(expected.customer_ids))


# ---------------------------------------------------------------- the demo portfolio


@pytest.mark.parametrize(
    ("rollup", "initial_tier", "end"),
    [(False, None, END), (True, None, END - 2), (False, Tier.ACTIVE, END - 2)],
    ids=["plain", "rollup", "initial-tier"],
)
def test_default_policy_backtest_on_the_demo_portfolio(
    spark: SparkSession, rollup: bool, initial_tier: Tier | None, end: Period
) -> None:
    """Demo months: Spark's tiers, moves, holds and explanations each month are memory's."""
    portfolio = generate(customers=80, months=30)
    policy = default_policy()
    months = list(Period.range(START, end))
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    frame = ks.backtest(
        policy,
        customers,
        revenue,
        START,
        end,
        rollup=rollup,
        initial_tier=initial_tier,
        catalog=list(portfolio.products),
    )
    assert tuple(frame.columns) == ks.BACKTEST_COLUMNS
    got = ks.to_backtest(frame, policy, START, end, customer_ids=portfolio.customer_ids)
    run = _plain_run(policy, portfolio, months, rollup=rollup, initial_tier=initial_tier)
    _assert_backtest_is_the_run(got, run, months)
    assert int(got.tier_moves.sum()) > 0
    for month, expected in zip(months, run, strict=True):
        evaluation = _month_evaluation(frame, policy, month, expected.evaluation)
        _assert_same_evaluation(evaluation, expected.evaluation)
        for lang in ("en", "zh"):
            assert list(evaluation.explanations(lang)) == list(
                expected.evaluation.explanations(lang)
            )
    if not rollup:
        in_memory = backtest(policy, portfolio, START, end, initial_tier=initial_tier)
        _assert_same_backtest(got, in_memory)
    if initial_tier is None and not rollup:
        assert int(got.held.sum()) > 0  # a held demotion is part of the range


@settings(max_examples=EXAMPLES)
@given(
    data=portfolios(max_customers=6, max_records=40),
    policy=policies(user_metrics=False),
    months=st.integers(1, 3),
    rollup=st.booleans(),
    initial=st.none() | st.sampled_from(list(Tier)),
)
def test_spark_backtest_agrees_with_the_plain_run(
    spark: SparkSession,
    data: PortfolioData,
    policy: Policy,
    months: int,
    rollup: bool,
    initial: Tier | None,
) -> None:
    """Random portfolios and policies: Spark's backtest is the plain month-by-month run."""
    portfolio = Portfolio(data.customers, data.records)
    last = data.as_of + months - 1
    got = ks.backtest_portfolio(
        spark, policy, portfolio, data.as_of, last, rollup=rollup, initial_tier=initial
    )
    span = list(Period.range(data.as_of, last))
    run = _plain_run(policy, portfolio, span, rollup=rollup, initial_tier=initial)
    _assert_backtest_is_the_run(got, run, span)
    if not rollup:
        _assert_same_backtest(
            got, backtest(policy, portfolio, data.as_of, last, initial_tier=initial)
        )


# ---------------------------------------------------------------- frames, files, refusals


def test_backtest_writes_parquet_by_period_and_reads_back(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The frame written partitioned by period reads back as the same Backtest."""
    portfolio = generate(customers=30, months=20)
    policy = default_policy()
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    frame = ks.backtest(policy, customers, revenue, "2022-09", "2022-11")
    frame.write.partitionBy("period").parquet(str(tmp_path / "backtest"))
    assert sorted(p.name for p in (tmp_path / "backtest").glob("period=*")) == [
        "period=2022-09",
        "period=2022-10",
        "period=2022-11",
    ]
    back = ks.to_backtest(
        spark.read.parquet(str(tmp_path / "backtest")),
        policy,
        customer_ids=portfolio.customer_ids,
    )
    _assert_same_backtest(back, backtest(policy, portfolio, "2022-09", "2022-11"))


def test_a_customer_first_seen_later_is_absent_until_then(spark: SparkSession) -> None:
    """A customer joins the frame in its first month and is absent (-2) before it."""
    from keyaccount import Customer, RevenueRecord

    portfolio = Portfolio(
        [Customer("C1", "a", "2022-01"), Customer("C2", "b", "2022-03", segment=None)],
        [
            RevenueRecord("C1", "court_express", "2022-01", "2000000"),
            RevenueRecord("C2", "court_express", "2022-03", "3000000"),
        ],
    )
    policy = Policy("p", [Rule("up", "t12m_revenue >= 1_000_000", to="KEY")])
    got = ks.backtest_portfolio(spark, policy, portfolio, "2022-01", "2022-04")
    assert got.timeline("C2") == [
        (Period(2022, 1), None),
        (Period(2022, 2), None),
        (Period(2022, 3), Tier.KEY),
        (Period(2022, 4), Tier.KEY),
    ]
    assert got.segments[1, 0] == -2
    assert got.segments[1, 2] == NO_CODE
    assert got.moves_per_month() == [1, 0, 1, 0]


def test_an_end_before_the_start_is_refused(spark: SparkSession) -> None:
    """A range that ends before it starts is refused before any Spark job, naming both."""
    customers, revenue = ks.portfolio_frames(spark, generate(customers=3, months=3))
    with pytest.raises(PolicyError, match=r"backtest end 2022-01 is before its start 2022-05"):
        ks.backtest(default_policy(), customers, revenue, "2022-05", "2022-01")
