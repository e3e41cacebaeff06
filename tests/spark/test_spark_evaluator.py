"""The Spark backend agrees exactly with the in-memory evaluators and metrics.

One local[2] session (``conftest.py``) serves every test. Random policies over
the built-in metrics and random small portfolios (``tests/strategies.py``)
go to Spark through Arrow: ``keyaccount.spark.evaluate`` gives the reference
evaluator's decisions, transitions, held demotions and explanations, and
``keyaccount.spark.metrics`` gives ``Portfolio.metrics`` (integers equal,
float64 ratios bit for bit, absent values null). Few examples in the default
Hypothesis profile (each is a Spark job), more under ``ci``.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount import spark as ks
from keyaccount.demo import generate
from keyaccount.exceptions import PolicyError, UnknownProductError, ValidationError
from keyaccount.portfolio import METRICS
from keyaccount.rules import MetricRegistry, Policy, Rule, UserMetric, default_policy
from tests.conftest import PROFILE
from tests.strategies import PortfolioData, policies, portfolios

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

    from keyaccount.portfolio import MetricsTable
    from keyaccount.rules import Evaluation

EXAMPLES = 40 if PROFILE == "ci" else 4
"""Hypothesis examples per property: each is a Spark job of a few seconds."""


def _assert_same_evaluation(got: Evaluation, expected: Evaluation) -> None:
    assert list(got.customer_ids) == list(expected.customer_ids)
    assert got.as_of == expected.as_of
    for chain in ("tier", "segment"):
        a, b = getattr(got, chain), getattr(expected, chain)
        for field in ("rule", "outcome", "before", "after"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
            assert getattr(a, field).dtype == getattr(b, field).dtype
    assert got.transitions == expected.transitions
    assert got.held == expected.held
    assert got.counts == expected.counts


def _assert_same_metrics(rows: list[Any], expected: MetricsTable) -> None:
    """Spark's metrics rows equal the table: fen, counts, ratios bit for bit, nulls where absent."""
    by_id = {row["customer_id"]: row for row in rows}
    assert sorted(by_id) == sorted(expected.customer_ids)
    for position, cid in enumerate(expected.customer_ids):
        row = by_id[cid]
        for name in METRICS:
            key = f"{name}_fen" if name in ("t12m_revenue", "prev12m_revenue") else name
            got = row[key]
            if expected.absent[name][position]:
                assert got is None, (cid, name)
                continue
            want = expected.columns[name][position]
            if isinstance(want, np.floating):
                assert np.float64(got).tobytes() == want.tobytes(), (cid, name, got, want)
            else:
                assert got == int(want), (cid, name)
                assert type(got) is int
        if "t12m_revenue" in expected.columns:
            yuan = expected.row(cid)["t12m_revenue"]
            assert row["t12m_revenue"] == yuan


def _portfolio(data: PortfolioData) -> Portfolio:
    return Portfolio(data.customers, data.records)


# ---------------------------------------------------------------- equivalence


@pytest.mark.parametrize("rollup", [False, True])
def test_default_policy_on_the_demo_portfolio(spark: SparkSession, rollup: bool) -> None:
    """On a generated demo portfolio Spark gives the reference decisions, explanations and texts."""
    portfolio = generate(customers=80, months=30)
    policy = default_policy()
    expected = policy.evaluate(portfolio, "2022-11", engine="reference", rollup=rollup)
    got = ks.evaluate_portfolio(spark, policy, portfolio, "2022-11", rollup=rollup)
    _assert_same_evaluation(got, expected)
    assert expected.counts.tier_moves > 0
    assert list(got.explanations("zh")) == list(expected.explanations("zh"))


@settings(max_examples=EXAMPLES)
@given(
    data=portfolios(max_customers=8, max_records=50),
    policy=policies(user_metrics=False),
    rollup=st.booleans(),
)
def test_spark_evaluator_agrees_with_the_reference(
    spark: SparkSession, data: PortfolioData, policy: Policy, rollup: bool
) -> None:
    """Spark gives the reference's decisions, transitions, holds and explanations."""
    portfolio = _portfolio(data)
    expected = policy.evaluate(portfolio, data.as_of, engine="reference", rollup=rollup)
    got = ks.evaluate_portfolio(spark, policy, portfolio, data.as_of, rollup=rollup)
    _assert_same_evaluation(got, expected)


@settings(max_examples=EXAMPLES)
@given(data=portfolios(max_customers=8, max_records=50), rollup=st.booleans())
def test_spark_metrics_equal_portfolio_metrics(
    spark: SparkSession, data: PortfolioData, rollup: bool
) -> None:
    """keyaccount.spark.metrics equals Portfolio.metrics, roll-ups included."""
    portfolio = _portfolio(data)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    rows = ks.metrics(customers, revenue, data.as_of, rollup=rollup).collect()
    _assert_same_metrics(rows, portfolio.metrics(data.as_of, rollup=rollup))


def test_a_float64_nan_is_absent_and_a_zero_divisor_too(spark: SparkSession) -> None:
    """A NaN (inf - inf) and a division by 0.0 are absent: the rules do not fire, as in memory."""
    portfolio = Portfolio(
        [Customer("C1", "a", "2022-01"), Customer("C2", "b", "2022-01")],
        [RevenueRecord("C1", "court_express", "2022-05", "100.00")],
    )
    huge = "t12m_revenue * 1e99 * 1e99 * 1e99 * 1e99"  # inf where the revenue is not 0
    policy = Policy(
        "edge",
        [
            Rule("nan", f"{huge} - {huge} >= 0", to="KEY"),
            Rule("div", "t12m_revenue / (active_months - active_months) > 0", to="KEY"),
            Rule("not-div", "not (t12m_revenue / tenure_months < 0)", to="DORMANT"),
        ],
    )
    expected = policy.evaluate(portfolio, "2022-12", engine="reference")
    got = ks.evaluate_portfolio(spark, policy, portfolio, "2022-12")
    _assert_same_evaluation(got, expected)
    assert [(t.customer_id, t.rule) for t in got.transitions] == [("C1", "not-div"), ("C2", "nan")]


# ---------------------------------------------------------------- frames and files


def test_decisions_round_trip_through_parquet(spark: SparkSession, tmp_path: Path) -> None:
    """The decisions frame writes to Parquet and reads back with the same rows and explanations."""
    portfolio = generate(customers=40, months=26)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    frame = ks.evaluate(default_policy(), customers, revenue, "2022-11")
    assert tuple(frame.columns) == ks.DECISION_COLUMNS
    frame.write.parquet(str(tmp_path / "decisions"))
    back = spark.read.parquet(str(tmp_path / "decisions"))
    key = "customer_id"
    evaluation = ks.to_evaluation(back, default_policy(), "2022-11")
    in_memory = default_policy().evaluate(portfolio, "2022-11")
    assert evaluation.transitions == in_memory.transitions
    moved = back.where("tier_outcome = 'MOVE'").orderBy(key).first()
    assert moved is not None
    first = next(t for t in in_memory.transitions if t.kind == "tier")
    assert moved[key] == first.customer_id
    cited = [
        (item["name"], item["count"] if item["yuan"] is None else item["yuan"])
        for item in moved["tier_explanation"]
    ]
    assert cited == list(first.explanation)
    assert all(isinstance(v, Decimal | int) for _, v in cited)


def test_revenue_partitioned_by_month_text_reads_as_months(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Revenue in period=YYYY-MM directories (months as text) gives the same decisions."""
    portfolio = generate(customers=20, months=14)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    text = revenue.selectExpr("*", "date_format(period, 'yyyy-MM') AS month").drop("period")
    text.write.partitionBy("month").parquet(str(tmp_path / "revenue"))
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    try:
        back = spark.read.parquet(str(tmp_path / "revenue")).withColumnRenamed("month", "period")
        got = ks.evaluate(default_policy(), customers, back, "2022-11")
        rows = sorted(got.collect(), key=lambda r: r["customer_id"])
    finally:
        spark.conf.unset("spark.sql.sources.partitionColumnTypeInference.enabled")
    want = ks.evaluate(default_policy(), customers, revenue, "2022-11")
    assert rows == sorted(want.collect(), key=lambda r: r["customer_id"])


# ---------------------------------------------------------------- refusals


def test_a_user_metric_is_refused_with_the_rule_named(spark: SparkSession) -> None:
    """A user metric (computed in Python) is refused before any Spark job, naming the rule."""
    registry = MetricRegistry().with_metric(
        UserMetric("court_months", "count", lambda table, pf: table.columns["active_months"])
    )
    portfolio = generate(customers=5)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    policy = Policy(
        "p", [Rule("r", "court_months >= 3", to="KEY", metrics=registry)], metrics=registry
    )
    with pytest.raises(PolicyError, match=r"rule 'r': metric 'court_months' is a user metric"):
        ks.evaluate(policy, customers, revenue, "2022-11")


def test_a_share_of_an_unknown_product_is_refused(spark: SparkSession) -> None:
    """share() of a product outside the catalogue is refused, naming the rule and the product."""
    portfolio = generate(customers=5)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    policy = Policy("p", [Rule("odd", "share('court_express') > 0.5", to="KEY")])
    with pytest.raises(UnknownProductError, match=r"rule 'odd': product 'court_express'"):
        ks.evaluate(policy, customers, revenue, "2022-11", catalog=["card_letter"])


def test_an_unknown_tier_stops_the_job_naming_it(spark: SparkSession) -> None:
    """A tier that is not a tier stops the Spark job with the frame, column and value."""
    customers = spark.createDataFrame(
        [("C1", "BIG", "2022-01")], "customer_id string, tier string, first_period string"
    )
    revenue = spark.createDataFrame(
        [("C1", "2022-05", 100)], "customer_id string, period string, revenue_fen bigint"
    )
    with pytest.raises(Exception, match=r"customers frame, column 'tier': not a valid value: BIG"):
        ks.metrics(customers, revenue, "2022-12").collect()


def test_float_money_is_refused(spark: SparkSession) -> None:
    """A revenue_fen column of floats is refused: money is whole fen."""
    customers = spark.createDataFrame(
        [("C1", "2022-01")], "customer_id string, first_period string"
    )
    revenue = spark.createDataFrame(
        [("C1", "2022-05", 1.5)], "customer_id string, period string, revenue_fen double"
    )
    with pytest.raises(ValueError, match=r"column 'revenue_fen' is double"):
        ks.metrics(customers, revenue, "2022-12")


def test_importing_keyaccount_does_not_import_pyspark() -> None:
    """Importing keyaccount.spark and naming its functions leaves pyspark unloaded."""
    code = (
        "import sys, keyaccount, keyaccount.spark; "
        "keyaccount.spark.evaluate; assert 'pyspark' not in sys.modules, 'pyspark imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- the integer join key


@pytest.mark.parametrize("rollup", [False, True])
def test_joining_by_customer_key_decides_as_the_reference(
    spark: SparkSession, tmp_path: Path, rollup: bool
) -> None:
    """join_key='customer_key' over a keyaccount Parquet directory gives the reference decisions."""
    from keyaccount.domain import Period
    from keyaccount.io import write_portfolio_parquet

    portfolio = generate(customers=80, months=30)
    write_portfolio_parquet(portfolio, tmp_path / "pf")
    inference = "spark.sql.sources.partitionColumnTypeInference.enabled"
    before = spark.conf.get(inference) or "true"
    spark.conf.set(inference, "false")
    try:
        customers = spark.read.parquet(str(tmp_path / "pf" / "customers.parquet"))
        revenue = spark.read.parquet(str(tmp_path / "pf" / "revenue"))
        policy = default_policy()
        frame = ks.evaluate(
            policy, customers, revenue, "2022-11", rollup=rollup, join_key="customer_key"
        )
        as_of = Period.parse("2022-11").ordinal
        ids = [
            cid
            for cid, first in zip(
                portfolio.customer_ids,
                portfolio.customer_columns.first_period.tolist(),
                strict=True,
            )
            if first <= as_of
        ]
        got = ks.to_evaluation(frame, policy, "2022-11", customer_ids=ids)
        rows = ks.metrics(customers, revenue, "2022-11", rollup=rollup, join_key="customer_key")
        metric_rows = rows.collect()
    finally:
        spark.conf.set(inference, before)
    expected = policy.evaluate(portfolio, "2022-11", engine="reference", rollup=rollup)
    _assert_same_evaluation(got, expected)
    assert expected.counts.tier_moves > 0
    assert list(got.explanations("en")) == list(expected.explanations("en"))
    _assert_same_metrics(metric_rows, portfolio.metrics("2022-11", rollup=rollup))


def test_joining_by_customer_key_needs_the_column_and_a_known_name(spark: SparkSession) -> None:
    """A frame without customer_key, or another join_key name, is refused before any job."""
    portfolio = generate(customers=10, months=6)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    keyless = customers.drop("customer_key") if "customer_key" in customers.columns else customers
    with pytest.raises(ValidationError, match="customers frame: join_key='customer_key' needs"):
        ks.evaluate(default_policy(), keyless, revenue, "2022-11", join_key="customer_key")
    with pytest.raises(ValidationError, match="join_key 'id' is not one of"):
        ks.evaluate(default_policy(), customers, revenue, "2022-11", join_key="id")
