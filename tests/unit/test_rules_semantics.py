"""Policy semantics (docs/rules.md): chains, stays, holds, three-valued logic, explanations.

Each behaviour is checked with both evaluators, which must agree.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from keyaccount import Customer, Period, Portfolio, RevenueRecord, Segment, Tier
from keyaccount.domain import SegmentChange, TierChange
from keyaccount.exceptions import PolicyError, UnknownProductError
from keyaccount.rules import (
    Evaluation,
    MetricRegistry,
    Policy,
    Rule,
    Transition,
    UserMetric,
)

AS_OF = "2022-12"
ENGINES = ("columnar", "reference")


def _monthly(cid: str, product: str, yuan: str, first: str, last: str) -> list[RevenueRecord]:
    return [RevenueRecord(cid, product, p, yuan) for p in Period.range(first, last)]


@pytest.fixture
def portfolio() -> Portfolio:
    """Five customers with distinct revenue shapes as of 2022-12."""
    customers = [
        # 1.2 million yuan in 2022, nothing before: yoy absent, tier since 2022-06
        Customer("BIG", "大客户", "2021-01", tier="ACTIVE", tier_since="2022-06"),
        # 120,000 yuan in 2022 and in 2021: yoy 0; KEY since 2022-11 (one month)
        Customer("MID", "中客户", "2021-01", tier="KEY", tier_since="2022-11"),
        # silent since 2022-03: months_since_last 9
        Customer("GONE", "流失客户", "2021-01", tier="KEY"),
        # unassigned, court products are 3/4 of revenue
        Customer("COURT", "某中院", "2021-01"),
        # first seen after the as-of month: never evaluated
        Customer("LATE", "新客户", "2023-02"),
    ]
    records = (
        _monthly("BIG", "standard_express", "100000", "2022-01", "2022-12")
        + _monthly("MID", "standard_express", "10000", "2021-01", "2022-12")
        + _monthly("GONE", "standard_express", "5000", "2021-01", "2022-03")
        + _monthly("COURT", "court_express", "300", "2022-01", "2022-12")
        + _monthly("COURT", "standard_express", "100", "2022-01", "2022-12")
    )
    return Portfolio(customers, records)


def _both(policy: Policy, pf: Portfolio, as_of: str = AS_OF) -> Evaluation:
    """Evaluate with both engines, check they agree, return the columnar result."""
    columnar = policy.evaluate(pf, as_of)
    reference = policy.evaluate(pf, as_of, engine="reference")
    assert columnar.transitions == reference.transitions
    assert columnar.held == reference.held
    assert columnar.counts == reference.counts
    return columnar


def _moves(ev: Evaluation) -> dict[str, tuple[str, str, str]]:
    return {
        t.customer_id: (
            t.rule,
            t.before.name if t.before else "-",
            t.after.name if t.after else "-",
        )
        for t in ev.transitions
    }


def test_first_matching_rule_in_file_order_decides(portfolio: Portfolio) -> None:
    """When two rules hold, the earlier one decides; later rules are not tried."""
    policy = Policy(
        "p",
        [
            Rule("to-strategic", "t12m_revenue >= 1_000_000", to="STRATEGIC"),
            Rule("to-key", "t12m_revenue >= 500_000", to="KEY"),
        ],
    )
    ev = _both(policy, portfolio)
    assert _moves(ev) == {"BIG": ("to-strategic", "ACTIVE", "STRATEGIC")}
    assert ev.counts.by_rule == {"to-strategic": 1, "to-key": 0}


def test_from_filter_limits_the_rule(portfolio: Portfolio) -> None:
    """A rule only considers customers whose tier is in its from list."""
    policy = Policy(
        "p",
        [
            Rule("key-only", "t12m_revenue >= 1_000_000", to="STRATEGIC", from_tiers=["KEY"]),
            Rule("active", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["活跃客户"]),
        ],
    )
    assert _moves(_both(policy, portfolio)) == {"BIG": ("active", "ACTIVE", "KEY")}


def test_stay_decision_protects_from_later_rules(portfolio: Portfolio) -> None:
    """A rule whose target is the current tier is a stay: no transition, later rules skipped."""
    policy = Policy(
        "p",
        [
            Rule("keep-key", "active_months >= 12", to="KEY", from_tiers=["KEY"]),
            Rule("demote", "t12m_revenue < 500_000", to="ACTIVE", from_tiers=["KEY"]),
        ],
    )
    ev = _both(policy, portfolio)
    assert _moves(ev) == {"GONE": ("demote", "KEY", "ACTIVE")}
    assert ev.counts.stays == 1
    assert ev.counts.by_rule == {"keep-key": 1, "demote": 1}


def test_demotion_is_held_until_min_months_in_tier(portfolio: Portfolio) -> None:
    """A demotion within min_months_in_tier is held and reported, not applied."""
    policy = Policy(
        "p",
        [Rule("demote", "t12m_revenue < 500_000", to="ACTIVE", from_tiers=["KEY"])],
        min_months_in_tier=3,
    )
    ev = _both(policy, portfolio)
    # MID is KEY since 2022-11: months_in_tier 1 < 3; GONE is KEY since 2021-01
    assert _moves(ev) == {"GONE": ("demote", "KEY", "ACTIVE")}
    assert [(t.customer_id, t.rule) for t in ev.held] == [("MID", "demote")]
    assert ev.held[0].explanation == (("t12m_revenue", Decimal("120000.00")),)
    assert ev.counts.held == 1
    later = _both(policy, portfolio, "2023-01")  # MID: months_in_tier 2, still held
    assert [t.customer_id for t in later.held] == ["MID"]
    assert "MID" in _moves(_both(policy, portfolio, "2023-02"))


def test_promotions_are_never_held(portfolio: Portfolio) -> None:
    """Hysteresis blocks demotions only."""
    policy = Policy(
        "p", [Rule("up", "t12m_revenue >= 100_000", to="STRATEGIC")], min_months_in_tier=24
    )
    assert set(_moves(_both(policy, portfolio))) == {"BIG", "MID"}


def test_absent_value_makes_comparison_unknown_and_not_unknown_is_unknown(
    portfolio: Portfolio,
) -> None:
    """BIG has no previous year: yoy_growth is absent, so neither x > 0 nor not (x > 0) fires."""
    policy = Policy(
        "p",
        [
            Rule("grows", "yoy_growth > 0", to="KEY", from_tiers=["ACTIVE"]),
            Rule("not-grows", "not (yoy_growth > 0)", to="DORMANT", from_tiers=["ACTIVE"]),
        ],
    )
    assert _moves(_both(policy, portfolio)) == {}


def test_unknown_or_true_is_true_and_explains_the_true_branch(portfolio: Portfolio) -> None:
    """For or, the leftmost branch that is true explains; an unknown branch does not."""
    policy = Policy(
        "p",
        [
            Rule(
                "either",
                "yoy_growth > 0 or t12m_revenue >= 1_000_000 or active_months >= 1",
                to="KEY",
                from_tiers=["ACTIVE"],
            )
        ],
    )
    ev = _both(policy, portfolio)
    big = ev.decision("BIG")["tier"]
    assert big is not None
    assert big.explanation == (("t12m_revenue", Decimal("1200000.00")),)


def test_and_explains_both_sides_in_text_order(portfolio: Portfolio) -> None:
    """For and, every compared value is cited, each name once, in order of appearance."""
    policy = Policy(
        "p",
        [
            Rule(
                "up",
                "active_months >= 12 and t12m_revenue >= 1_000_000 and active_months > 0",
                to="KEY",
            )
        ],
    )
    (transition,) = _both(policy, portfolio).transitions
    assert transition.explanation == (
        ("active_months", 12),
        ("t12m_revenue", Decimal("1200000.00")),
    )


def test_not_explains_what_made_its_operand_false(portfolio: Portfolio) -> None:
    """A true not (a and b) cites the leftmost false side of the and."""
    policy = Policy(
        "p",
        [Rule("quiet", "not (active_months >= 12 and months_since_last < 3)", to="DORMANT")],
    )
    ev = _both(policy, portfolio)
    gone = ev.decision("GONE")["tier"]
    assert gone is not None
    assert gone.explanation == (("active_months", 3),)


def test_division_by_zero_is_absent(portfolio: Portfolio) -> None:
    """Division by zero is absent, so the comparison is unknown either way."""
    policy = Policy(
        "p",
        [
            Rule("ratio", "t12m_revenue / prev12m_revenue > 1", to="STRATEGIC"),
            Rule("not-ratio", "not (t12m_revenue / prev12m_revenue > 1)", to="DORMANT"),
        ],
    )
    ev = _both(policy, portfolio)
    # BIG: prev12m = 0 -> absent; MID: ratio 1.0 -> not(>1) holds; GONE: 15000/60000
    assert _moves(ev) == {
        "MID": ("not-ratio", "KEY", "DORMANT"),
        "GONE": ("not-ratio", "KEY", "DORMANT"),
    }
    assert ev.decision("BIG") == {"tier": None, "segment": None}


def test_money_enters_float_arithmetic_as_yuan(portfolio: Portfolio) -> None:
    """In float64 arithmetic money is float64(fen) / 100 (yuan)."""
    policy = Policy("p", [Rule("avg", "t12m_revenue / active_months == 100_000", to="KEY")])
    assert _moves(_both(policy, portfolio)) == {"BIG": ("avg", "ACTIVE", "KEY")}


def test_tier_and_segment_chains_are_separate(portfolio: Portfolio) -> None:
    """A customer can get a tier change and a segment change in one evaluation."""
    policy = Policy(
        "p",
        [
            Rule(
                "seg",
                "share('court_express') >= 0.5",
                to_segment="司法",
                from_segments=["UNASSIGNED"],
            ),
            Rule("up", "active_months >= 12", to="KEY", from_tiers=["ACTIVE"]),
        ],
    )
    ev = _both(policy, portfolio)
    court = [t for t in ev.transitions if t.customer_id == "COURT"]
    assert [(t.kind, t.before, t.after) for t in court] == [
        ("tier", Tier.ACTIVE, Tier.KEY),
        ("segment", None, Segment.JUDICIAL),
    ]
    assert court[1].explanation == (("share('court_express')", 0.75),)
    assert ev.counts.segment_moves == 1
    assert ev.counts.moves[(None, Segment.JUDICIAL)] == 1


def test_segment_stay_counts(portfolio: Portfolio) -> None:
    """A segment rule whose target is the current segment is a stay."""
    pf = Portfolio(
        [Customer("J", "法院", "2022-01", segment="JUDICIAL")],
        _monthly("J", "court_express", "10", "2022-01", "2022-12"),
    )
    policy = Policy("p", [Rule("seg", "share('court_express') > 0", to_segment="JUDICIAL")])
    ev = _both(policy, pf)
    assert ev.transitions == ()
    assert ev.counts.stays == 1


def test_customers_first_seen_later_are_left_out(portfolio: Portfolio) -> None:
    """Customers whose first_period is after the as-of month are not evaluated."""
    ev = _both(Policy("p", [Rule("all", "true", to="STRATEGIC")]), portfolio)
    assert "LATE" not in ev.customer_ids.tolist()
    assert ev.counts.customers == 4
    assert len(ev) == 4


def test_transitions_become_changes_that_apply(portfolio: Portfolio) -> None:
    """to_change gives domain changes; applying them sets the tier and tier_since."""
    policy = Policy(
        "p",
        [
            Rule("up", "t12m_revenue >= 1_000_000", to="KEY"),
            Rule("seg", "share('court_express') >= 0.5", to_segment="JUDICIAL"),
        ],
    )
    ev = policy.evaluate(portfolio, AS_OF)
    changes = ev.changes()
    assert isinstance(changes[0], TierChange)
    assert changes[0].explanation_dict == {"t12m_revenue": Decimal("1200000.00")}
    assert isinstance(changes[1], SegmentChange)
    portfolio.apply_changes(changes)
    big = portfolio.customer("BIG")
    assert (big.tier, big.tier_since) == (Tier.KEY, Period.parse(AS_OF))
    assert portfolio.customer("COURT").segment is Segment.JUDICIAL


def test_transition_text_and_direction() -> None:
    """A transition prints its move and reason and knows its direction."""
    t = Transition("C1", "tier", Tier.KEY, Tier.ACTIVE, "down", Period(2022, 1), (("x", 1),))
    assert str(t) == "C1: KEY -> ACTIVE by 'down' (x=1)"
    assert t.is_demotion
    assert not t.is_promotion


def test_evaluate_metrics_table_and_errors(portfolio: Portfolio) -> None:
    """A metrics table evaluates as is; a missing or different as-of month is an error."""
    policy = Policy("p", [Rule("up", "t12m_revenue >= 1_000_000", to="KEY")])
    table = portfolio.metrics(AS_OF)
    assert _moves(policy.evaluate(table)) == {"BIG": ("up", "ACTIVE", "KEY")}
    with pytest.raises(PolicyError, match="differs from the metrics table"):
        policy.evaluate(table, "2022-11")
    with pytest.raises(PolicyError, match="needs the as-of month"):
        policy.evaluate(portfolio)
    with pytest.raises(PolicyError, match="unknown engine 'sql'"):
        policy.evaluate(portfolio, AS_OF, engine="sql")  # type: ignore[arg-type]


def test_user_metrics_in_both_engines(portfolio: Portfolio) -> None:
    """User metrics are computed from the table; NaN ratios count as absent."""

    def avg_month(table, pf):  # type: ignore[no-untyped-def]
        active = table.columns["active_months"]
        return table.columns["t12m_revenue"] // np.maximum(active, 1), active == 0

    def odd(table, pf):  # type: ignore[no-untyped-def]
        out = np.full(len(table), 0.5)
        out[0] = np.nan
        return out

    registry = MetricRegistry().with_metrics(
        [UserMetric("avg_month", "money", avg_month), UserMetric("odd", "ratio", odd)]
    )
    policy = Policy(
        "p",
        [
            Rule("avg", "avg_month >= 100_000 or odd < 0", to="KEY", metrics=registry),
            Rule("odd", "not (odd > 1)", to="STRATEGIC", metrics=registry),
        ],
        metrics=registry,
    )
    ev = _both(policy, portfolio)
    assert _moves(ev)["BIG"] == ("avg", "ACTIVE", "KEY")  # odd is absent for BIG (row 0)
    assert ev.transitions[0].explanation == (("avg_month", Decimal("100000.00")),)
    assert _moves(ev)["MID"] == ("odd", "KEY", "STRATEGIC")


def test_share_of_product_missing_from_table(portfolio: Portfolio) -> None:
    """A share() of a product the portfolio's catalogue lacks fails with the product named."""
    from keyaccount.domain import Product, default_catalog

    catalog = default_catalog().with_products([Product("cold_chain", "Cold chain", "冷链")])
    policy = Policy(
        "p",
        [Rule("cold", "share('cold_chain') > 0", to="KEY", catalog=catalog)],
        catalog=catalog,
    )
    with pytest.raises(UnknownProductError, match="cold_chain"):
        policy.evaluate(portfolio, AS_OF)
