"""The columnar backtest run equals the plain one (a portfolio copy and ``apply_changes``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Portfolio, Tier
from keyaccount.demo import generate
from keyaccount.domain import Period
from keyaccount.rules import Policy, backtest, default_policy
from keyaccount.rules._backtest import Backtest, run_plain
from tests.strategies import PortfolioData, policies, portfolios

_ARRAYS = ("tiers", "segments", "tier_moves", "held", "moves_by_customer")


def _assert_same(a: Backtest, b: Backtest) -> None:
    assert a.policy_name == b.policy_name
    assert a.months == b.months
    assert a.customer_ids == b.customer_ids
    for name in _ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name
    assert a.segment_moves == b.segment_moves


def _months(first: Period, last: Period) -> tuple[Period, ...]:
    return tuple(Period.range(first, last))


@settings(max_examples=60, deadline=None)
@given(
    data=portfolios(max_customers=8, max_records=40),
    policy=policies(user_metrics=False),
    months=st.integers(1, 14),
    initial=st.none() | st.sampled_from(list(Tier)),
)
def test_columnar_backtest_equals_plain(
    data: PortfolioData, policy: Policy, months: int, initial: Tier | None
) -> None:
    """Random portfolios and policies: the columnar run gives the plain run's backtest."""
    assert not policy.metrics.user  # built-in metrics only: the columnar run applies
    portfolio = Portfolio(data.customers, data.records)
    last = data.as_of + months - 1
    expected = run_plain(policy, portfolio, _months(data.as_of, last), initial, "columnar")
    got = backtest(policy, portfolio, data.as_of, last, initial_tier=initial)
    _assert_same(got, expected)


def test_columnar_backtest_equals_plain_on_demo() -> None:
    """The demo portfolio and the default policy over a year: same backtest both ways."""
    portfolio = generate(customers=3000, months=24)
    span = portfolio.period_span
    assert span is not None
    first, last = span[1] - 11, span[1]
    expected = run_plain(default_policy(), portfolio, _months(first, last), None, "columnar")
    got = backtest(default_policy(), portfolio, first, last)
    assert int(got.tier_moves.sum()) > 0
    _assert_same(got, expected)


def test_backtest_leaves_portfolio_unchanged() -> None:
    """The columnar run changes neither tiers nor segments of the portfolio it reads."""
    portfolio = generate(customers=500, months=24)
    cols = portfolio.customer_columns
    before = (cols.tier.copy(), cols.tier_since.copy(), cols.segment.copy())
    span = portfolio.period_span
    assert span is not None
    result = backtest(default_policy(), portfolio, span[1] - 11, span[1], initial_tier="ACTIVE")
    assert int(result.tier_moves.sum()) > 0
    after = portfolio.customer_columns
    assert np.array_equal(before[0], after.tier)
    assert np.array_equal(before[1], after.tier_since)
    assert np.array_equal(before[2], after.segment)
