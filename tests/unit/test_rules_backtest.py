"""Backtests: a policy month by month, tier timelines, transition counts, comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from keyaccount import Customer, Period, Portfolio, RevenueRecord, Segment, Tier
from keyaccount.exceptions import PolicyError
from keyaccount.rules import Policy, Rule, backtest, compare_backtests


@pytest.fixture
def history() -> Portfolio:
    """Four customers over 2022: a riser, a faller, a one-month blip and a late joiner."""
    records = []
    for month in Period.range("2021-01", "2022-12"):
        rising = "50000" if month < Period(2022, 4) else "200000"
        records.append(RevenueRecord("RISE", "standard_express", month, rising))
        if month <= Period(2022, 5):
            records.append(RevenueRecord("FALL", "court_express", month, "150000"))
    records += [
        RevenueRecord("LATE", "card_letter", m, "1000") for m in Period.range("2022-07", "2022-12")
    ]
    records += [
        RevenueRecord("BLIP", "standard_express", "2022-01", "1200000"),
        RevenueRecord("BLIP", "standard_express", "2022-02", "-600000"),
    ]
    customers = [
        Customer("BLIP", "一次性", "2021-06"),
        Customer("RISE", "上升", "2021-01"),
        Customer("FALL", "下降", "2021-01", tier="KEY"),
        Customer("LATE", "新", "2022-07"),
    ]
    return Portfolio(customers, records)


POLICY = Policy(
    "ladder",
    [
        Rule("up", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["ACTIVE"]),
        Rule("down", "t12m_revenue < 1_000_000", to="ACTIVE", from_tiers=["KEY"]),
        Rule(
            "bank",
            "share('card_letter') >= 0.5",
            to_segment="FINANCE",
            from_segments=["UNASSIGNED"],
        ),
    ],
    min_months_in_tier=2,
)


def test_month_by_month_timeline(history: Portfolio) -> None:
    """Each month is evaluated after the previous month's transitions were applied."""
    result = backtest(POLICY, history, "2022-01", "2022-12")
    rise = dict(result.timeline("RISE"))
    # t12m reaches 1M in 2022-06: 9 x 50,000 + 3 x 200,000 = 1,050,000
    assert rise[Period(2022, 5)] is Tier.ACTIVE
    assert rise[Period(2022, 6)] is Tier.KEY
    assert rise[Period(2022, 12)] is Tier.KEY
    late = dict(result.timeline("LATE"))
    assert late[Period(2022, 6)] is None
    assert late[Period(2022, 7)] is Tier.ACTIVE


def test_demotion_and_counts(history: Portfolio) -> None:
    """FALL's t12m drops to 900,000 in 2022-11 (six months of 150,000): demoted then."""
    result = backtest(POLICY, history, "2022-01", "2022-12")
    fall = dict(result.timeline("FALL"))
    assert fall[Period(2022, 10)] is Tier.KEY
    assert fall[Period(2022, 11)] is Tier.ACTIVE
    assert result.transition_counts("2022-11") == {(Tier.KEY, Tier.ACTIVE): 1}
    assert result.transition_counts() == {
        (Tier.ACTIVE, Tier.KEY): 2,
        (Tier.KEY, Tier.ACTIVE): 2,
    }
    assert result.moves_per_month()[5] == 1  # RISE in 2022-06
    assert result.customers_moved() == 3
    assert result.customers_moved(2) == 1  # BLIP: up and down
    assert result.segment_moves[6] == {(None, Segment.FINANCE): 1}


def test_hold_delays_demotion_in_the_backtest(history: Portfolio) -> None:
    """BLIP is promoted in 2022-01; the refund in 2022-02 demotes it only in 2022-03."""
    result = backtest(POLICY, history, "2022-01", "2022-12")
    blip = dict(result.timeline("BLIP"))
    assert [blip[Period(2022, m)] for m in (1, 2, 3)] == [Tier.KEY, Tier.KEY, Tier.ACTIVE]
    assert result.held.tolist()[:3] == [0, 1, 0]


def test_backtest_leaves_the_portfolio_alone(history: Portfolio) -> None:
    """The portfolio given keeps its tiers."""
    backtest(POLICY, history, "2022-01", "2022-12")
    assert history.customer("RISE").tier is Tier.ACTIVE
    assert history.customer("LATE").segment is None


def test_initial_tier_and_engines_agree(history: Portfolio) -> None:
    """Starting everyone in one tier works, and both engines give the same backtest."""
    a = backtest(POLICY, history, "2022-01", "2022-06", initial_tier="ACTIVE")
    b = backtest(POLICY, history, "2022-01", "2022-06", initial_tier="ACTIVE", engine="reference")
    np.testing.assert_array_equal(a.tiers, b.tiers)
    np.testing.assert_array_equal(a.tier_moves, b.tier_moves)
    assert dict(a.timeline("FALL"))[Period(2022, 1)] is Tier.KEY  # 1.8M: promoted at once


def test_tier_sizes_and_final_tiers(history: Portfolio) -> None:
    """Tier sizes count present customers per month; final tiers are the last column."""
    result = backtest(POLICY, history, "2022-01", "2022-12")
    sizes = result.tier_sizes()
    assert sizes.shape == (12, 4)
    assert sizes[0].sum() == 3
    assert sizes[-1].sum() == 4
    assert result.final_tiers() == {
        "BLIP": Tier.ACTIVE,
        "RISE": Tier.KEY,
        "FALL": Tier.ACTIVE,
        "LATE": Tier.ACTIVE,
    }


def test_compare_two_policies(history: Portfolio) -> None:
    """Comparing gives per-month counts side by side and the final-tier cross-table."""
    strict = Policy(
        "strict",
        [Rule("up", "t12m_revenue >= 2_000_000", to="KEY", from_tiers=["ACTIVE"])],
    )
    a = backtest(POLICY, history, "2022-01", "2022-12")
    b = backtest(strict, history, "2022-01", "2022-12")
    comparison = compare_backtests(a, b)
    assert comparison.differing == ("BLIP", "RISE", "FALL")
    assert comparison.final_crosstab[Tier.KEY.rank, Tier.ACTIVE.rank] == 1  # RISE
    assert comparison.final_crosstab[Tier.ACTIVE.rank, Tier.KEY.rank] == 1  # FALL
    text = comparison.summary()
    assert "ladder" in text
    assert "strict" in text
    assert "customers whose tiers differ in some month: 3" in text


def test_backtest_errors(history: Portfolio) -> None:
    """Reversed ranges, unknown customers and mismatched comparisons are errors."""
    with pytest.raises(PolicyError, match="before its start"):
        backtest(POLICY, history, "2022-05", "2022-01")
    result = backtest(POLICY, history, "2022-01", "2022-02")
    with pytest.raises(PolicyError, match="'NOPE' is not in the backtest"):
        result.timeline("NOPE")
    with pytest.raises(PolicyError, match="2023-01 is not in the backtest"):
        result.transition_counts("2023-01")
    other = backtest(POLICY, history, "2022-01", "2022-03")
    with pytest.raises(PolicyError, match="different customers or months"):
        compare_backtests(result, other)


def test_to_pandas_long_counts(history: Portfolio) -> None:
    """The tier flow matrix and the segment flows convert to long DataFrames of counts."""
    result = backtest(POLICY, history, "2022-01", "2022-12")
    tiers = result.to_pandas("flows")
    segments = result.to_pandas("segment_flows")
    assert list(tiers.columns) == ["period", "tier_from", "tier_to", "customers"]
    assert len(tiers) == 12 * 16
    assert list(segments.columns) == ["period", "segment_from", "segment_to", "customers"]
    moved = tiers[tiers.tier_from != tiers.tier_to]
    assert moved["customers"].sum() + segments["customers"].sum() == 5
