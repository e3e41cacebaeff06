"""Explanations: which metric values made a rule's condition true, shared by the evaluators.

Which references a condition cites follows its truth (see
``_reference.cited`` for the rule stated in plain Python). Each evaluator
then lists the cited names once each, in the order the names first appear in
the condition, with the customer's values: money in ``Decimal`` yuan, counts as
``int``, ratios as ``float``.
"""

from __future__ import annotations

from keyaccount.domain import ExplanationValue, fen_to_yuan
from keyaccount.rules._ast import Expr, MetricRef, ShareRef, ValueType, ref_key, references

__all__ = ["explanation_value", "key_order"]


def explanation_value(raw: int | float | None, kind: ValueType) -> ExplanationValue:
    """A value as cited: ``Decimal`` yuan for money (``raw`` in fen), ``int``, ``float``."""
    if raw is None:
        return None
    if kind is ValueType.MONEY:
        return fen_to_yuan(int(raw))
    if kind is ValueType.COUNT:
        return int(raw)
    return float(raw)


def key_order(condition: Expr) -> list[tuple[str, MetricRef | ShareRef]]:
    """The distinct names a condition cites, in order of first appearance, with a reference."""
    seen: dict[str, MetricRef | ShareRef] = {}
    for ref in references(condition):
        seen.setdefault(ref_key(ref), ref)
    return list(seen.items())
