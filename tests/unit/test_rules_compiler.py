"""The public compiler interface: a second backend written against it agrees with the reference.

The backend here compiles each condition once to Python closures over a customer's
:class:`CustomerFacts`, using only public names (``keyaccount.rules`` and
``keyaccount.rules.compiler``): the template for a new backend. Hypothesis checks its
decisions and explanations against the reference evaluator, as the columnar and SQL
evaluators are checked.
"""

from __future__ import annotations

import doctest
import math
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import keyaccount.rules.compiler
from keyaccount import Portfolio
from keyaccount.domain import ExplanationValue, segment_code, yuan_to_fen
from keyaccount.rules import (
    Arith,
    Compare,
    CustomerFacts,
    Evaluation,
    Expr,
    Literal,
    MetricRef,
    Outcome,
    Policy,
    PolicyRules,
    Rule,
    ShareRef,
    TransitionKind,
    ValueType,
    evaluate,
    facts_from_table,
    parse_condition,
)
from keyaccount.rules.compiler import (
    CitationCompiler,
    ConditionCompiler,
    chain_operands,
    explanation_value,
    key_order,
)
from tests.strategies import PortfolioData, generated_policy_text, policies, portfolios

ROOT = Path(__file__).resolve().parents[2]

NumberFn: TypeAlias = Callable[[CustomerFacts], int | float | None]
TruthFn: TypeAlias = Callable[[CustomerFacts], bool | None]
CitedFn: TypeAlias = Callable[[CustomerFacts], list[str]]
Explained: TypeAlias = tuple[tuple[str, ExplanationValue], ...]


def _float(value: int | float, kind: ValueType) -> float:
    return float(value) / 100.0 if kind is ValueType.MONEY else float(value)


def _metric(facts: CustomerFacts, ref: MetricRef) -> int | float | None:
    raw = facts.metrics[ref.name]
    if raw is None:
        return None
    if ref.type is ValueType.MONEY:
        return yuan_to_fen(raw) if isinstance(raw, Decimal) else int(raw)
    if ref.type is ValueType.COUNT:
        return int(raw)
    return None if math.isnan(float(raw)) else float(raw)


class _Closures(ConditionCompiler[NumberFn, TruthFn]):
    """Each node compiled once to a function of one customer's facts."""

    def literal(self, node: Literal) -> NumberFn:
        value = node.value
        return lambda facts: value

    def metric(self, node: MetricRef) -> NumberFn:
        return lambda facts: _metric(facts, node)

    def share(self, node: ShareRef) -> NumberFn:
        total_ref = MetricRef("t12m_revenue", ValueType.MONEY)

        def share(facts: CustomerFacts) -> float | None:
            total = _metric(facts, total_ref)
            if total is None or total <= 0:
                return None
            fen = yuan_to_fen(facts.product_revenue.get(node.product_id, Decimal(0)))
            return float(fen) / float(total)

        return share

    def neg(self, operand: NumberFn) -> NumberFn:
        def neg(facts: CustomerFacts) -> int | float | None:
            value = operand(facts)
            return None if value is None else -value

        return neg

    def arith(self, node: Arith, left: NumberFn, right: NumberFn) -> NumberFn:
        def arith(facts: CustomerFacts) -> int | float | None:
            a, b = left(facts), right(facts)
            if a is None or b is None:
                return None
            if node.type.is_exact:
                return int(a) + int(b) if node.op == "+" else int(a) - int(b)
            x, y = _float(a, node.left.type), _float(b, node.right.type)
            if node.op == "/":
                if y == 0.0:
                    return None
                result = x / y
            else:
                result = x + y if node.op == "+" else x - y if node.op == "-" else x * y
            return None if math.isnan(result) else result

        return arith

    def boolean(self, value: bool) -> TruthFn:
        return lambda facts: value

    def compare(self, node: Compare, left: NumberFn, right: NumberFn) -> TruthFn:
        def compare(facts: CustomerFacts) -> bool | None:
            a, b = left(facts), right(facts)
            if a is None or b is None:
                return None
            x: int | float
            y: int | float
            if node.domain is ValueType.RATIO:
                x, y = _float(a, node.left.type), _float(b, node.right.type)
            else:
                x, y = int(a), int(b)
            return {
                "<": x < y,
                "<=": x <= y,
                ">": x > y,
                ">=": x >= y,
                "==": x == y,
                "!=": x != y,
            }[node.op]

        return compare

    def and_(self, operands: list[TruthFn]) -> TruthFn:
        def and_(facts: CustomerFacts) -> bool | None:
            values = [operand(facts) for operand in operands]
            return False if False in values else (None if None in values else True)

        return and_

    def or_(self, operands: list[TruthFn]) -> TruthFn:
        def or_(facts: CustomerFacts) -> bool | None:
            values = [operand(facts) for operand in operands]
            return True if True in values else (None if None in values else False)

        return or_

    def not_(self, operand: TruthFn) -> TruthFn:
        def not_(facts: CustomerFacts) -> bool | None:
            value = operand(facts)
            return None if value is None else not value

        return not_


class _ClosureCitations(CitationCompiler[CitedFn]):
    """The names a condition cites, as a function of one customer's facts."""

    def __init__(self, compiler: _Closures) -> None:
        self.compiler = compiler

    def comparison(self, node: Compare) -> CitedFn:
        keys = [key for key, _ in key_order(node)]
        return lambda facts: keys

    def every(self, parts: list[CitedFn]) -> CitedFn:
        return lambda facts: [key for part in parts for key in part(facts)]

    def leftmost(self, operands: list[Expr], value: bool, parts: list[CitedFn]) -> CitedFn:
        truths = [self.compiler.condition(operand) for operand in operands[:-1]]

        def leftmost(facts: CustomerFacts) -> list[str]:
            for truth, part in zip(truths, parts, strict=False):
                if truth(facts) is value:
                    return part(facts)
            return parts[-1](facts)

        return leftmost

    def nothing(self) -> CitedFn:
        return lambda facts: []


class _CompiledRule:
    """A rule's condition, citations and explanation values, compiled once."""

    def __init__(self, rule: Rule) -> None:
        compiler = _Closures()
        self.rule = rule
        self.holds = compiler.condition(rule.condition)
        self.cites = _ClosureCitations(compiler).cited(rule.condition, True)
        self.values = [
            (key, ref.type, compiler.number(ref)) for key, ref in key_order(rule.condition)
        ]

    def explain(self, facts: CustomerFacts) -> Explained:
        cited = set(self.cites(facts))
        return tuple(
            (key, explanation_value(value(facts), kind))
            for key, kind, value in self.values
            if key in cited
        )


Decision: TypeAlias = tuple[int, Outcome, Explained | None]


def _decide(
    policy: PolicyRules, facts: CustomerFacts, chain: tuple[_CompiledRule, ...]
) -> Decision:
    for index, compiled in enumerate(chain):
        rule = compiled.rule
        if not rule.matches(facts.tier, facts.segment) or compiled.holds(facts) is not True:
            continue
        if rule.to is not None:
            before, after = facts.tier.rank, rule.to.rank
            months = facts.metrics["months_in_tier"]
            if after == before:
                return index, Outcome.STAY, None
            if after < before and int(months or 0) < policy.min_months_in_tier:
                return index, Outcome.HELD, compiled.explain(facts)
            return index, Outcome.MOVE, compiled.explain(facts)
        if segment_code(rule.to_segment) == segment_code(facts.segment):
            return index, Outcome.STAY, None
        return index, Outcome.MOVE, compiled.explain(facts)
    return -1, Outcome.NONE, None


def _assert_agrees(policy: PolicyRules, facts: list[CustomerFacts], expected: Evaluation) -> None:
    """The closure backend's decisions and explanations equal ``expected``'s (the reference)."""
    explained = {(t.customer_id, t.kind): t.explanation for t in expected.transitions}
    explained.update({(t.customer_id, t.kind): t.explanation for t in expected.held})
    chains: dict[TransitionKind, tuple[_CompiledRule, ...]] = {
        "tier": tuple(_CompiledRule(r) for r in policy.tier_rules),
        "segment": tuple(_CompiledRule(r) for r in policy.segment_rules),
    }
    for kind, rules in chains.items():
        decisions = [_decide(policy, f, rules) for f in facts]
        want = getattr(expected, kind)
        np.testing.assert_array_equal([d[0] for d in decisions], want.rule)
        np.testing.assert_array_equal([int(d[1]) for d in decisions], want.outcome)
        for f, (_, _, explanation) in zip(facts, decisions, strict=True):
            assert explanation == explained.get((f.customer_id, kind))


@given(data=portfolios(max_customers=8, max_records=60), policy=policies(), rollup=st.booleans())
def test_a_closure_backend_agrees_with_the_reference(
    data: PortfolioData, policy: Policy, rollup: bool
) -> None:
    """Conditions compiled to closures decide and explain as the reference evaluator does."""
    portfolio = Portfolio(data.customers, data.records)
    table = portfolio.metrics(data.as_of, rollup=rollup)
    expected = evaluate(policy, table, engine="reference")
    _assert_agrees(policy, facts_from_table(table, policy, portfolio), expected)


_GENERATED = Policy.from_toml(generated_policy_text(70))


@given(data=portfolios(max_customers=8, max_records=60))
def test_a_closure_backend_agrees_on_a_generated_policy(data: PortfolioData) -> None:
    """The 70 varied rules of ``generated_policy_text`` decide and explain as the reference."""
    portfolio = Portfolio(data.customers, data.records)
    table = portfolio.metrics(data.as_of)
    expected = evaluate(_GENERATED, table, engine="reference")
    _assert_agrees(_GENERATED, facts_from_table(table, _GENERATED, portfolio), expected)


def test_chains_come_as_one_call_however_parenthesised() -> None:
    """``a or b or c`` and ``a or (b or c)`` give the same three operands, left to right."""
    left = parse_condition("active_months > 1 or active_months > 2 or active_months > 3")
    right = parse_condition("active_months > 1 or (active_months > 2 or active_months > 3)")
    assert isinstance(left, type(right))
    for node in (left, right):
        operands = chain_operands(node)  # type: ignore[arg-type]
        assert [o.right.value for o in operands] == [1, 2, 3]  # type: ignore[union-attr]


def test_numbers_and_conditions_are_dispatched_apart() -> None:
    """A condition given to ``number`` (or a number to ``condition``) is a TypeError."""
    compiler = _Closures()
    condition = parse_condition("t12m_revenue > 0")
    with pytest.raises(TypeError, match="not a numeric node"):
        compiler.number(condition)
    with pytest.raises(TypeError, match="not a condition node"):
        compiler.condition(MetricRef("t12m_revenue", ValueType.MONEY))


def test_compiler_module_examples_run() -> None:
    """The docstring examples of keyaccount.rules.compiler pass."""
    result = doctest.testmod(keyaccount.rules.compiler, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_compiler_doc_example_runs() -> None:
    """The Python block of docs/compiler.md runs and prints what its comment says."""
    text = (ROOT / "docs" / "compiler.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    printed: list[str] = []
    exec(block, {"print": printed.append})
    expected = block.strip().splitlines()[-1].removeprefix("# ")
    assert printed == [expected]
