"""Random policies over random portfolios: the columnar and reference evaluators agree.

Conditions are generated as text from a typed grammar, so every one parses;
printing the parsed AST and parsing it again gives the same AST; a policy
written to TOML and read back is equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from unittest.mock import patch

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Portfolio
from keyaccount.rules import (
    MetricRegistry,
    Policy,
    Rule,
    UserMetric,
    _columnar,
    format_condition,
    parse_condition,
)
from tests.strategies import PRODUCT_IDS, PortfolioData, portfolios

if TYPE_CHECKING:
    from keyaccount.portfolio import MetricsTable


def _avg_month(table: MetricsTable, portfolio: Portfolio | None) -> tuple[object, object]:
    active = table.columns["active_months"]
    return table.columns["t12m_revenue"] // np.maximum(active, 1), active == 0


def _volume_per_yuan(table: MetricsTable, portfolio: Portfolio | None) -> object:
    with np.errstate(all="ignore"):
        return table.columns["t12m_volume"] / (table.columns["t12m_revenue"] / 100)


REGISTRY = MetricRegistry().with_metrics(
    [
        UserMetric("avg_month", "money", _avg_month),
        UserMetric("volume_per_yuan", "ratio", _volume_per_yuan),
    ]
)

MONEY_REFS = ("t12m_revenue", "prev12m_revenue", "avg_month")
COUNT_REFS = (
    "t12m_volume",
    "active_months",
    "months_since_last",
    "product_count",
    "tenure_months",
    "months_in_tier",
)
RATIO_REFS = ("yoy_growth", "volume_per_yuan", *(f"share('{p}')" for p in PRODUCT_IDS))

money_literals = st.sampled_from(
    ["0", "1", "0.01", "-0.5", "50", "100.25", "200", "1_000", "12_345.67", "-10"]
)
count_literals = st.sampled_from(["0", "1", "2", "3", "6", "12", "24", "100"])
ratio_literals = st.sampled_from(
    ["0", "0.5", "-0.3", "1", "1e-3", "0.1", "2.5", "100", "0.333", "1e15"]
)


def _leaf(refs: tuple[str, ...], literals: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(refs), literals)


def _additive(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-"]), inner).map(" ".join),
        inner.map(lambda t: f"-{t}"),
        inner.map(lambda t: f"({t})"),
    )


money = st.recursive(_leaf(MONEY_REFS, money_literals), _additive, max_leaves=4)
count = st.recursive(_leaf(COUNT_REFS, count_literals), _additive, max_leaves=4)


def _numbers(ratio: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(money, count, ratio)


ratio = st.recursive(
    st.one_of(st.sampled_from(RATIO_REFS), ratio_literals.map(lambda t: f"({t} * 1)")),
    lambda inner: st.one_of(
        _additive(inner),
        st.tuples(_numbers(inner), st.sampled_from(["*", "/"]), _numbers(inner)).map(" ".join),
        st.tuples(inner, st.sampled_from(["+", "-"]), st.one_of(money, count)).map(" ".join),
        inner.map(lambda t: f"({t})"),
    ),
    max_leaves=4,
)

comparison_ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])


def _compare(left: st.SearchStrategy[str], right: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(left, comparison_ops, right).map(" ".join)


comparisons = st.one_of(
    _compare(money, money),
    _compare(count, count),
    _compare(ratio, _numbers(ratio)),
    _compare(count, ratio_literals),
    _compare(ratio, ratio_literals),
)

conditions = st.recursive(
    st.one_of(comparisons, st.sampled_from(["true", "false"])),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda t: f"not {t}"),
        inner.map(lambda t: f"({t})"),
    ),
    max_leaves=5,
)

TIER_NAMES = ["DORMANT", "ACTIVE", "KEY", "STRATEGIC"]
SEGMENT_NAMES = ["JUDICIAL", "FINANCE", "INSURANCE", "UNASSIGNED"]


@st.composite
def rules(draw: st.DrawFn, name: str) -> Rule:
    """A random tier or segment rule over a random condition."""
    when = draw(conditions)
    from_tiers = draw(st.none() | st.lists(st.sampled_from(TIER_NAMES), min_size=1, max_size=3))
    from_segments = draw(
        st.none() | st.lists(st.sampled_from(SEGMENT_NAMES), min_size=1, max_size=2)
    )
    if draw(st.booleans()):
        return Rule(
            name,
            when,
            to=draw(st.sampled_from(TIER_NAMES)),
            from_tiers=from_tiers,
            from_segments=from_segments,
            metrics=REGISTRY,
        )
    return Rule(
        name,
        when,
        to_segment=draw(st.sampled_from(SEGMENT_NAMES[:-1])),
        from_tiers=from_tiers,
        from_segments=from_segments,
        metrics=REGISTRY,
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """A random policy of one to five rules."""
    n = draw(st.integers(1, 5))
    return Policy(
        "random",
        [draw(rules(f"rule-{i}")) for i in range(n)],
        min_months_in_tier=draw(st.integers(0, 4)),
        description=draw(st.sampled_from(["", 'a "quoted" policy\nwith 中文'])),
        metrics=REGISTRY,
    )


def _portfolio(data: PortfolioData) -> Portfolio:
    return Portfolio(data.customers, data.records)


@given(data=portfolios(max_customers=8, max_records=60), policy=policies(), rollup=st.booleans())
def test_columnar_and_reference_agree(data: PortfolioData, policy: Policy, rollup: bool) -> None:
    """Both evaluators give the same transitions, holds, explanations and counts."""
    table = _portfolio(data).metrics(data.as_of, rollup=rollup)
    columnar = policy.evaluate(table)
    reference = policy.evaluate(table, engine="reference")
    assert columnar.transitions == reference.transitions
    assert columnar.held == reference.held
    assert columnar.counts == reference.counts
    for chain in ("tier", "segment"):
        a, b = getattr(columnar, chain), getattr(reference, chain)
        np.testing.assert_array_equal(a.rule, b.rule)
        np.testing.assert_array_equal(a.outcome, b.outcome)
    for share in (0.0, 1.0):  # every rule on its eligible rows only, or on all rows
        with patch.object(_columnar, "SUBSET_SHARE", share):
            again = policy.evaluate(table)
            assert again.transitions == reference.transitions
            assert again.held == reference.held


@given(text=conditions)
def test_print_and_reparse_gives_the_same_ast(text: str) -> None:
    """format_condition(parse(text)) parses back to an equal AST, and printing is stable."""
    node = parse_condition(text, metrics=REGISTRY)
    printed = format_condition(node)
    again = parse_condition(printed, metrics=REGISTRY)
    assert again == node
    assert format_condition(again) == printed


@given(policy=policies())
def test_policy_toml_round_trip(policy: Policy) -> None:
    """A policy written as TOML and read back is equal to the original."""
    text = policy.to_toml()
    assert Policy.from_toml(text, metrics=REGISTRY) == policy
    assert Policy.from_dict(policy.to_dict(), metrics=REGISTRY) == policy


@given(data=portfolios(max_customers=6, max_records=40), policy=policies())
def test_applying_transitions_is_consistent(data: PortfolioData, policy: Policy) -> None:
    """Every transition applies cleanly and leaves the customer at its target."""
    pf = _portfolio(data)
    ev = policy.evaluate(pf, data.as_of)
    pf.apply_changes(ev.changes())
    for t in ev.transitions:
        customer = pf.customer(t.customer_id)
        now = customer.tier if t.kind == "tier" else customer.segment
        assert now == t.after
    assert all(t.after != t.before for t in ev.transitions)
    assert all(t.after is not None and t.before is not None and t.after < t.before for t in ev.held)  # type: ignore[operator]
