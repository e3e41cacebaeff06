"""The plain-Python evaluator: one customer at a time, the readable specification.

This module states the semantics of ``docs/rules.md`` as directly as Python
allows and is the test oracle for the columnar (and SQL) evaluators. It is
slow on purpose: no arrays, only dictionaries, integers and floats.

Values while evaluating: money is ``int`` fen, counts are ``int``, ratios are
``float``, conditions are ``True`` / ``False``, and ``None`` is an absent
value or an unknown condition.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    ExplanationValue,
    Period,
    Segment,
    Tier,
    segment_code,
    yuan_to_fen,
)
from keyaccount.exceptions import PolicyError, UnknownProductError
from keyaccount.rules._ast import (
    And,
    Arith,
    Compare,
    Expr,
    Literal,
    MetricRef,
    Neg,
    Not,
    Or,
    ShareRef,
    ValueType,
    ref_key,
    references,
)
from keyaccount.rules._evaluation import (
    Evaluation,
    Explanation,
    Outcome,
    TransitionKind,
    decisions_from_lists,
)
from keyaccount.rules._explain import explanation_value, key_order

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import numpy as np
    import numpy.typing as npt

    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules._policy import Policy, Rule

__all__ = ["CustomerFacts", "evaluate_reference", "facts_from_table"]

Value = int | float | bool | None
RowValue = Decimal | int | float | None


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
    table: MetricsTable, policy: Policy, portfolio: Portfolio | None = None
) -> list[CustomerFacts]:
    """One :class:`CustomerFacts` per row of ``table``, user metrics included.

    User metric columns are computed with their functions (as the columnar
    evaluator does) and read one value at a time.
    """
    from keyaccount.domain import fen_to_yuan
    from keyaccount.portfolio import METRICS

    user: dict[str, tuple[npt.NDArray[np.generic], npt.NDArray[np.bool_], ValueType]] = {}
    for metric in policy.metrics.user:
        values, absent = metric.column(table, portfolio)
        user[metric.name] = (values, absent, metric.type)
    out: list[CustomerFacts] = []
    for i, cid in enumerate(table.customer_ids.tolist()):
        row: dict[str, RowValue] = {name: table.value(name, i) for name in METRICS}
        for name, (values, absent, kind) in user.items():
            row[name] = None if absent[i] else _row_value(values[i].item(), kind)
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


def _row_value(raw: int | float, kind: ValueType) -> RowValue:
    from keyaccount.domain import fen_to_yuan

    if kind is ValueType.MONEY:
        return fen_to_yuan(int(raw))
    if kind is ValueType.COUNT:
        return int(raw)
    return float(raw)


# ---------------------------------------------------------------- values


def metric_value(facts: CustomerFacts, ref: MetricRef) -> int | float | None:
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


def evaluate(node: Expr, facts: CustomerFacts) -> Value:
    """The value of ``node`` for one customer (``None``: absent or unknown)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, MetricRef):
        return metric_value(facts, node)
    if isinstance(node, ShareRef):
        return share_value(facts, node)
    if isinstance(node, Neg):
        operand = evaluate(node.operand, facts)
        return None if operand is None else -operand
    if isinstance(node, Arith):
        return _arith(node, evaluate(node.left, facts), evaluate(node.right, facts))
    if isinstance(node, Compare):
        return _compare(node, evaluate(node.left, facts), evaluate(node.right, facts))
    if isinstance(node, Not):
        operand = evaluate(node.operand, facts)
        return None if operand is None else not operand
    left = evaluate(node.left, facts)
    right = evaluate(node.right, facts)
    if isinstance(node, And):
        if left is False or right is False:
            return False
        return True if left is True and right is True else None
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


def _arith(node: Arith, left: Value, right: Value) -> Value:
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


def _compare(node: Compare, left: Value, right: Value) -> bool | None:
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


# ---------------------------------------------------------------- explanations


def cited(node: Expr, facts: CustomerFacts, value: bool) -> list[MetricRef | ShareRef]:
    """The references that made ``node`` evaluate to ``value`` (which it does).

    A comparison cites every reference in it; ``and`` that is true cites both
    sides, ``and`` that is false its leftmost false side; ``or`` that is true
    cites its leftmost true side, ``or`` that is false both; ``not`` cites what
    made its operand the opposite; ``true`` and ``false`` cite nothing.
    """
    if isinstance(node, Compare):
        return references(node)
    if isinstance(node, Not):
        return cited(node.operand, facts, not value)
    if isinstance(node, And | Or):
        both = value if isinstance(node, And) else not value
        if both:
            return cited(node.left, facts, value) + cited(node.right, facts, value)
        if evaluate(node.left, facts) is value:
            return cited(node.left, facts, value)
        return cited(node.right, facts, value)
    return []


def explain(rule: Rule, facts: CustomerFacts) -> Explanation:
    """The explanation of a rule whose condition is true for ``facts``.

    The cited references' values, each name once, in the order the names first
    appear in the condition.
    """
    keys = {ref_key(r) for r in cited(rule.condition, facts, True)}
    out: list[tuple[str, ExplanationValue]] = []
    for key, ref in key_order(rule.condition):
        if key in keys:
            raw = (
                metric_value(facts, ref) if isinstance(ref, MetricRef) else share_value(facts, ref)
            )
            out.append((key, explanation_value(raw, ref.type)))
    return tuple(out)


# ---------------------------------------------------------------- chains


def _decide(rules: tuple[Rule, ...], facts: CustomerFacts) -> tuple[int, Rule | None]:
    """The first rule whose ``from`` matches and whose condition is true."""
    for index, rule in enumerate(rules):
        if rule.matches(facts.tier, facts.segment) and evaluate(rule.condition, facts) is True:
            return index, rule
    return -1, None


def evaluate_reference(
    policy: Policy, customers: Iterable[CustomerFacts], as_of: Period
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
        # tier chain
        index, rule = _decide(policy.tier_rules, facts)
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
                explanations["tier", position] = explain(rule, facts)
        for target, value in zip(lists["tier"], (index, outcome, before, after), strict=True):
            target.append(int(value))
        # segment chain
        index, rule = _decide(policy.segment_rules, facts)
        seg_before = segment_code(facts.segment)
        outcome, seg_after = Outcome.NONE, seg_before
        if rule is not None:
            seg_after = segment_code(rule.to_segment)
            outcome = Outcome.STAY if seg_after == seg_before else Outcome.MOVE
            if outcome is Outcome.MOVE:
                explanations["segment", position] = explain(rule, facts)
        for target, value in zip(
            lists["segment"], (index, outcome, seg_before, seg_after), strict=True
        ):
            target.append(int(value))

    import numpy as np

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


def check_products(policy: Policy, product_ids: Iterable[str]) -> None:
    """Raise when a ``share()`` of the policy names a product missing from ``product_ids``."""
    known = set(product_ids)
    for rule in policy.rules:
        for ref in references(rule.condition):
            if isinstance(ref, ShareRef) and ref.product_id not in known:
                raise UnknownProductError(
                    f"rule {rule.name!r}: product {ref.product_id!r} of share() is not in "
                    "the portfolio's catalogue"
                )
