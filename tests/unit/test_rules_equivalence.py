"""Random policies over random portfolios: the columnar and reference evaluators agree.

Conditions are generated as text from a typed grammar, so every one parses;
printing the parsed AST and parsing it again gives the same AST; a policy
written to TOML and read back is equal.
"""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Portfolio
from keyaccount.rules import (
    Policy,
    _columnar,
    format_condition,
    parse_condition,
)
from tests.strategies import USER_METRICS, PortfolioData, conditions, policies, portfolios


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


@given(text=conditions())
def test_print_and_reparse_gives_the_same_ast(text: str) -> None:
    """format_condition(parse(text)) parses back to an equal AST, and printing is stable."""
    node = parse_condition(text, metrics=USER_METRICS)
    printed = format_condition(node)
    again = parse_condition(printed, metrics=USER_METRICS)
    assert again == node
    assert format_condition(again) == printed


@given(policy=policies())
def test_policy_toml_round_trip(policy: Policy) -> None:
    """A policy written as TOML and read back is equal to the original."""
    text = policy.to_toml()
    assert Policy.from_toml(text, metrics=USER_METRICS) == policy
    assert Policy.from_dict(policy.to_dict(), metrics=USER_METRICS) == policy


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
