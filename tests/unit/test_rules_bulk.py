"""Large policy files: conditions of one shape parsed once, with the meaning of each alone."""

from __future__ import annotations

import gc
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.exceptions import KeyAccountError, PolicyValidationError, RuleSyntaxError
from keyaccount.rules import Expr, Policy, parse_condition, walk
from tests.strategies import conditions

# a digit that stands alone here is part of a number literal (not of a name or a quoted id)
_LITERAL_DIGIT = re.compile(r"[A-Za-z_]\w*|'[^']*'|(\d)")


def _tree(expr: Expr) -> list[tuple[object, ...]]:
    """Every node with its source span and the Python type of a literal's value."""
    return [(node, node.span, type(getattr(node, "value", None))) for node in walk(expr)]


def _policy_file(whens: list[str]) -> str:
    rules = [
        f'[[rule]]\nname = "r{i}"\nto = "KEY"\nwhen = {json.dumps(when)}\n'
        for i, when in enumerate(whens)
    ]
    return '[policy]\nname = "p"\n\n' + "\n".join(rules)


def _assert_parsed_as_one_by_one(whens: list[str]) -> None:
    """Loading rules with these conditions gives what parsing each on its own gives."""
    expected: list[Expr | RuleSyntaxError] = []
    for i, when in enumerate(whens):
        try:
            expected.append(parse_condition(when, rule=f"r{i}", source="p.toml"))
        except RuleSyntaxError as exc:
            expected.append(exc)
    errors = [str(e) for e in expected if isinstance(e, RuleSyntaxError)]
    if not errors:
        policy = Policy.from_toml(_policy_file(whens), source="p.toml")
        assert [_tree(rule.condition) for rule in policy.rules] == [
            _tree(e) for e in expected if not isinstance(e, RuleSyntaxError)
        ]
        return
    with pytest.raises(KeyAccountError) as info:
        Policy.from_toml(_policy_file(whens), source="p.toml")
    problems = (
        info.value.exceptions if isinstance(info.value, PolicyValidationError) else (info.value,)
    )
    assert [str(p) for p in problems] == errors


@st.composite
def _renumbered(draw: st.DrawFn, text: str) -> str:
    """``text`` with some digits of its number literals replaced (the same shape)."""
    chars = list(text)
    for match in _LITERAL_DIGIT.finditer(text):
        if match.group(1) is not None and draw(st.booleans()):
            chars[match.start()] = draw(st.sampled_from("0123456789"))
    return "".join(chars)


@given(st.data())
def test_conditions_of_one_shape_mean_what_each_means_alone(data: st.DataObject) -> None:
    """Rules whose conditions differ only in digits of numbers get each its own exact tree."""
    text = data.draw(conditions(user_metrics=False))
    variants = [text, *(data.draw(_renumbered(text)) for _ in range(4))]
    _assert_parsed_as_one_by_one([*variants, text])


@pytest.mark.parametrize(
    "whens",
    [
        ["active_months >= 1.5", "active_months >= 2.0", "active_months >= 2.5"],  # count or ratio
        ["t12m_revenue >= 1.25", "t12m_revenue >= 1.20", "t12m_revenue >= 100e-2"],
        ["t12m_revenue >= 1e10", "t12m_revenue >= 1e99", "t12m_revenue >= 1e-3"],  # limits
        ["yoy_growth >= 1e-05", "yoy_growth >= 1e-99", "yoy_growth >= 1e-10"],
        ["1 - 2 < active_months", "5 - 3 < active_months", "-(-(1)) < active_months"],
        ["-(-(1)) < active_months", "-(-(2)) < active_months", "-(-(0)) > yoy_growth"],
        ["active_months >= 9_007_199_254_740_990", "active_months >= 9_007_199_254_740_992"],
        ["share('court_express') > 0.5", "share('court_express') > 0.7", "t12m_revenue > 1_0"],
        ["t12m_revenue >= 1000 or false", "t12m_revenue >= 2000 or false", "1 > 2 or 3 > 4"],
    ],
)
def test_numbers_that_change_the_meaning_are_read_as_alone(whens: list[str]) -> None:
    """A number that changes a condition's type or passes a limit is read as if alone."""
    _assert_parsed_as_one_by_one(whens)


def test_loading_and_validating_leave_the_garbage_collector_as_it_was() -> None:
    """The collector, paused while a policy loads or validates, is on again after, errors too."""
    text = _policy_file(["active_months >= 3", "active_months >= 4"])
    assert gc.isenabled()
    Policy.from_toml(text).validate()
    assert gc.isenabled()
    with pytest.raises(KeyAccountError):
        Policy.from_toml(_policy_file(["active_months >"]))
    assert gc.isenabled()
    gc.disable()
    try:
        Policy.from_toml(text).validate()
        assert not gc.isenabled()
    finally:
        gc.enable()
