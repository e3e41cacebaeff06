"""The plain-Python evaluator: one customer at a time, the readable specification.

This module states the semantics of ``docs/rules.md`` as directly as Python
allows and is the test oracle for the columnar (and SQL) evaluators. It is
slow on purpose: no arrays, only dictionaries, integers and floats.

:class:`Values` is its :class:`~keyaccount.rules.compiler.ConditionCompiler`:
the value of every node for one customer. Money is ``int`` fen, counts are
``int``, ratios are ``float``, conditions are ``True`` / ``False``, and
``None`` is an absent value or an unknown condition. Explanations follow
:class:`~keyaccount.rules.compiler.CitationCompiler` with lists of references.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

import attrs
import numpy as np

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    Period,
    Segment,
    Tier,
    fen_to_yuan,
    segment_code,
    yuan_to_fen,
)
from keyaccount.exceptions import PolicyError
from keyaccount.portfolio import METRICS
from keyaccount.rules._ast import MetricRef, ShareRef, ValueType
from keyaccount.rules._evaluation import (
    Evaluation,
    Explanation,
    Outcome,
    TransitionKind,
    decisions_from_lists,
)
from keyaccount.rules.compiler import (
    CitationCompiler,
    ConditionCompiler,
    explanation_value,
    key_order,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import numpy.typing as npt

    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules._ast import Arith, Compare, Expr, Literal
    from keyaccount.rules._rule import PolicyRules, Rule

__all__ = [
    "CustomerFacts",
    "Values",
    "condition_value",
    "evaluate_reference",
    "facts_from_table",
]

Number: TypeAlias = int | float | None
"""A number while evaluating: ``int`` fen (money), ``int`` (count), ``float`` (ratio); ``None``
absent."""
Truth: TypeAlias = bool | None
"""A condition's value while evaluating; ``None`` is unknown."""
RowValue: TypeAlias = Decimal | int | float | None


@attrs.frozen
class CustomerFacts:
    """What the reference evaluator knows about one customer.

    Attributes:
        customer_id: The customer.
        tier: Its current tier.
        segment: Its current segment (``None``: unassigned).
        metrics: Metric values as :meth:`MetricsTable.row` gives them (money in
            ``Decimal`` yuan, counts ``int``, ratios ``float``, ``None`` absent),
            plus every user metric the policy names. Must include
            ``t12m_revenue`` and ``months_in_tier``.
        product_revenue: Trailing-12 revenue per product in ``Decimal`` yuan
            (products not listed have none).
    """

    customer_id: str
    tier: Tier
    segment: Segment | None
    metrics: Mapping[str, RowValue]
    product_revenue: Mapping[str, Decimal] = attrs.field(factory=dict)


def facts_from_table(
    table: MetricsTable, policy: PolicyRules, portfolio: Portfolio | None = None
) -> list[CustomerFacts]:
    """One :class:`CustomerFacts` per row of ``table``, user metrics included.

    User metric columns are computed with their functions (as the columnar
    evaluator does) and read one value at a time.
    """
    user: dict[str, tuple[npt.NDArray[np.generic], npt.NDArray[np.bool_], ValueType]] = {}
    for metric in policy.metrics.user:
        values, absent = metric.column(table, portfolio)
        user[metric.name] = (values, absent, metric.type)
    out: list[CustomerFacts] = []
    for i, cid in enumerate(table.customer_ids.tolist()):
        row: dict[str, RowValue] = {name: table.value(name, i) for name in METRICS}
        for name, (values, absent, kind) in user.items():
            row[name] = None if absent[i] else explanation_value(values[i].item(), kind)
        products = {
            pid: fen_to_yuan(int(fen))
            for pid, fen in zip(table.product_ids, table.product_revenue[i].tolist(), strict=True)
            if fen != 0
        }
        seg = int(table.segment[i])
        out.append(
            CustomerFacts(
                str(cid),
                TIERS[int(table.tier[i])],
                None if seg == NO_CODE else SEGMENTS[seg],
                row,
                products,
            )
        )
    return out


# ---------------------------------------------------------------- values


def metric_value(facts: CustomerFacts, ref: MetricRef) -> Number:
    """A metric's value: money in fen, counts, ratios (NaN is absent)."""
    try:
        raw = facts.metrics[ref.name]
    except KeyError:
        raise PolicyError(
            f"customer {facts.customer_id!r} has no value for metric {ref.name!r}"
        ) from None
    if raw is None:
        return None
    if ref.type is ValueType.MONEY:
        return yuan_to_fen(raw) if isinstance(raw, Decimal) else int(raw)
    if ref.type is ValueType.COUNT:
        return int(raw)
    value = float(raw)
    return None if math.isnan(value) else value


def share_value(facts: CustomerFacts, ref: ShareRef) -> float | None:
    """``float(product fen) / float(t12m fen)``; absent when ``t12m_revenue <= 0``."""
    total = metric_value(facts, MetricRef("t12m_revenue", ValueType.MONEY))
    if total is None or total <= 0:
        return None
    product = yuan_to_fen(facts.product_revenue.get(ref.product_id, Decimal(0)))
    return float(product) / float(total)


def as_float(value: int | float, kind: ValueType) -> float:
    """A number as float64: money enters as ``float(fen) / 100``, a count as ``float(n)``."""
    if kind is ValueType.MONEY:
        return float(value) / 100.0
    return float(value)


class Values(ConditionCompiler[Number, Truth]):
    """The value of each node for one customer: the semantics of ``docs/rules.md`` in Python.

    Numbers are ``int`` fen (money), ``int`` (counts) or ``float`` (ratios),
    conditions ``True`` or ``False``; ``None`` is absent or unknown.

    Args:
        facts: The customer.
    """

    def __init__(self, facts: CustomerFacts) -> None:
        self.facts = facts

    def literal(self, node: Literal) -> Number:
        return node.value

    def metric(self, node: MetricRef) -> Number:
        return metric_value(self.facts, node)

    def share(self, node: ShareRef) -> Number:
        return share_value(self.facts, node)

    def neg(self, operand: Number) -> Number:
        return None if operand is None else -operand

    def arith(self, node: Arith, left: Number, right: Number) -> Number:
        if left is None or right is None:
            return None
        if node.type.is_exact:  # money + money, count - count: exact integers
            return int(left) + int(right) if node.op == "+" else int(left) - int(right)
        a = as_float(left, node.left.type)
        b = as_float(right, node.right.type)
        if node.op == "+":
            result = a + b
        elif node.op == "-":
            result = a - b
        elif node.op == "*":
            result = a * b
        else:
            if b == 0.0:
                return None  # division by zero is absent
            result = a / b
        return None if math.isnan(result) else result

    def boolean(self, value: bool) -> Truth:
        return value

    def compare(self, node: Compare, left: Number, right: Number) -> Truth:
        if left is None or right is None:
            return None  # a comparison with an absent value is unknown
        if node.domain is ValueType.RATIO:
            a: int | float = as_float(left, node.left.type)
            b: int | float = as_float(right, node.right.type)
        else:
            a, b = int(left), int(right)
        if node.op == "<":
            return a < b
        if node.op == "<=":
            return a <= b
        if node.op == ">":
            return a > b
        if node.op == ">=":
            return a >= b
        if node.op == "==":
            return a == b
        return a != b

    def and_(self, operands: list[Truth]) -> Truth:
        if False in operands:
            return False
        return None if None in operands else True

    def or_(self, operands: list[Truth]) -> Truth:
        if True in operands:
            return True
        return None if None in operands else False

    def not_(self, operand: Truth) -> Truth:
        return None if operand is None else not operand


def condition_value(condition: Expr, facts: CustomerFacts) -> Truth:
    """Whether ``condition`` holds for one customer (``None``: unknown)."""
    return Values(facts).condition(condition)


# ---------------------------------------------------------------- explanations


class _Cited(CitationCompiler[list[str]]):
    """The names a condition cites for one customer (see :class:`CitationCompiler`)."""

    def __init__(self, values: Values) -> None:
        self.values = values

    def comparison(self, node: Compare) -> list[str]:
        return [key for key, _ in key_order(node)]

    def every(self, parts: list[list[str]]) -> list[str]:
        return [key for part in parts for key in part]

    def leftmost(self, operands: list[Expr], value: bool, parts: list[list[str]]) -> list[str]:
        for operand, part in zip(operands[:-1], parts, strict=False):
            if self.values.condition(operand) is value:
                return part
        return parts[-1]

    def nothing(self) -> list[str]:
        return []


def explain(rule: Rule, values: Values) -> Explanation:
    """The explanation of a rule whose condition is true for ``values.facts``.

    The cited references' values, each name once, in the order the names first
    appear in the condition.
    """
    keys = set(_Cited(values).cited(rule.condition, True))
    return tuple(
        (key, explanation_value(values.number(ref), ref.type))
        for key, ref in key_order(rule.condition)
        if key in keys
    )


# ---------------------------------------------------------------- chains


def _decide(rules: tuple[Rule, ...], values: Values) -> tuple[int, Rule | None]:
    """The first rule whose ``from`` matches and whose condition is true."""
    facts = values.facts
    for index, rule in enumerate(rules):
        if rule.matches(facts.tier, facts.segment) and values.condition(rule.condition) is True:
            return index, rule
    return -1, None


def evaluate_reference(
    policy: PolicyRules, customers: Iterable[CustomerFacts], as_of: Period
) -> Evaluation:
    """Evaluate ``policy`` one customer at a time.

    Args:
        policy: The policy.
        customers: Facts of each customer (see :func:`facts_from_table`).
        as_of: The as-of month of the facts.

    Returns:
        The :class:`~keyaccount.rules.Evaluation`, with the same transitions,
        holds and explanations as the columnar evaluator.
    """
    ids: list[str] = []
    lists: dict[TransitionKind, tuple[list[int], list[int], list[int], list[int]]] = {
        "tier": ([], [], [], []),
        "segment": ([], [], [], []),
    }
    explanations: dict[tuple[TransitionKind, int], Explanation] = {}
    for position, facts in enumerate(customers):
        ids.append(facts.customer_id)
        values = Values(facts)
        # tier chain
        index, rule = _decide(policy.tier_rules, values)
        before = facts.tier.rank
        outcome, after = Outcome.NONE, before
        if rule is not None and rule.to is not None:
            after = rule.to.rank
            months_in_tier = metric_value(facts, MetricRef("months_in_tier", ValueType.COUNT))
            if after == before:
                outcome = Outcome.STAY
            elif after < before and (months_in_tier or 0) < policy.min_months_in_tier:
                outcome = Outcome.HELD
            else:
                outcome = Outcome.MOVE
            if outcome is not Outcome.STAY:
                explanations["tier", position] = explain(rule, values)
        for target, value in zip(lists["tier"], (index, outcome, before, after), strict=True):
            target.append(int(value))
        # segment chain
        index, rule = _decide(policy.segment_rules, values)
        seg_before = segment_code(facts.segment)
        outcome, seg_after = Outcome.NONE, seg_before
        if rule is not None:
            seg_after = segment_code(rule.to_segment)
            outcome = Outcome.STAY if seg_after == seg_before else Outcome.MOVE
            if outcome is Outcome.MOVE:
                explanations["segment", position] = explain(rule, values)
        for target, value in zip(
            lists["segment"], (index, outcome, seg_before, seg_after), strict=True
        ):
            target.append(int(value))

    def lookup(kind: TransitionKind, position: int) -> Explanation:
        return explanations[kind, position]

    return Evaluation(
        policy=policy,
        as_of=as_of,
        customer_ids=np.array(ids, dtype=object),
        tier=decisions_from_lists(*lists["tier"]),
        segment=decisions_from_lists(*lists["segment"]),
        explain=lookup,
    )
