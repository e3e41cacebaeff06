"""The compiler interface of the condition AST: what every evaluator of a policy implements.

A condition is a typed tree (:func:`~keyaccount.rules.parse_condition`; the nodes
are listed in :mod:`keyaccount.rules`). An evaluator turns it into its own terms:
the reference evaluator into Python values for one customer, the columnar
evaluator into numpy arrays for every customer, the SQL evaluator into
SQLAlchemy expressions. Each is a subclass of :class:`ConditionCompiler`, with
one method per node type; the walk over the tree and the dispatch on node
types happen here, once:

- :class:`ConditionCompiler` ``[N, B]`` compiles numbers to ``N`` and
  conditions to ``B``. Its dispatchers :meth:`~ConditionCompiler.number` and
  :meth:`~ConditionCompiler.condition` compile a node's operands first and
  hand them to the node's method, so a method only combines compiled operands.
  An ``and`` / ``or`` chain (``a or b or c``, however parenthesised) comes as
  one call with all its operands (:func:`chain_operands`).
- :class:`CitationCompiler` ``[C]`` states the explanation contract: which
  references a condition *cites* where it has a given truth value. The walk
  is here; a backend says how its citations combine (``C``: a list of
  names, masks over rows, bits in a SQL column).
- :func:`key_order` and :func:`explanation_value`: the order of the names in
  an explanation and how a raw value becomes the value cited.

What a backend must keep (``docs/rules.md``, "Semantics"; ``docs/compiler.md``
describes the interface and how the tests check a new backend):

- Absent values and SQL three-valued logic: an operation with an absent
  operand is absent, a comparison with one is unknown; ``and`` is false when
  any operand is false, true when all are true, else unknown; ``or`` the
  reverse; ``not unknown`` is unknown.
- Exact integers where the node's type (``Arith``) or domain (``Compare``)
  is ``MONEY`` or ``COUNT``; otherwise one IEEE float64 operation, money
  entering as ``float64(fen) / 100`` and a count as ``float64(n)``. A divisor of
  ``0.0`` (or ``-0.0``) makes the quotient absent, and so does a NaN result.
- ``share('p')`` is ``float64(p fen) / float64(t12m fen)``, absent when
  ``t12m_revenue <= 0``.

Example:
    A compiler that prints a condition in prefix form:

    >>> from keyaccount.rules import parse_condition
    >>> class Prefix(ConditionCompiler[str, str]):
    ...     def literal(self, node): return repr(node.value)
    ...     def metric(self, node): return node.name
    ...     def share(self, node): return f"share({node.product_id})"
    ...     def neg(self, operand): return f"(- {operand})"
    ...     def arith(self, node, left, right): return f"({node.op} {left} {right})"
    ...     def boolean(self, value): return str(value).lower()
    ...     def compare(self, node, left, right): return f"({node.op} {left} {right})"
    ...     def and_(self, operands): return f"(and {' '.join(operands)})"
    ...     def or_(self, operands): return f"(or {' '.join(operands)})"
    ...     def not_(self, operand): return f"(not {operand})"
    >>> Prefix().condition(parse_condition(
    ...     "active_months >= 10 or (product_count < 1 or not yoy_growth > 0.5)"))
    '(or (>= active_months 10) (< product_count 1) (not (> yoy_growth 0.5)))'
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Generic, TypeVar

import keyaccount.rules._ast as nodes
from keyaccount.domain import fen_to_yuan
from keyaccount.rules._ast import Expr, ValueType, children, ref_key, references

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "CitationCompiler",
    "ConditionCompiler",
    "chain_operands",
    "children",
    "explanation_value",
    "key_order",
    "ref_key",
]

N = TypeVar("N")
B = TypeVar("B")
C = TypeVar("C")


def chain_operands(node: nodes.And | nodes.Or) -> list[Expr]:
    """The operands of the chain of ``node``'s operator that ``node`` heads, left to right.

    ``(a or b) or (c or d)`` gives ``a, b, c, d``: ``and`` and ``or`` are
    associative in three-valued logic, and the leftmost true (``or``) or false
    (``and``) operand is the same however the chain is parenthesised.
    """
    kind = type(node)
    left, right = node.left, node.right
    if type(left) is not kind and type(right) is not kind:
        return [left, right]
    out: list[Expr] = []
    stack: list[Expr] = [right, left]
    while stack:
        item = stack.pop()
        if type(item) is kind:
            stack += [item.right, item.left]
        else:
            out.append(item)
    return out


class ConditionCompiler(abc.ABC, Generic[N, B]):
    """Compiles conditions to ``B`` over numbers compiled to ``N``: one method per node type.

    Call :meth:`condition` on a rule's condition (or :meth:`number` on a
    numeric node). They dispatch on the node's type, compile its operands
    first (left to right) and pass them to the node's method: with the node
    when it carries more than its operands (a literal's value, a metric's
    name, a product, an operator and the types of the operands), else the
    compiled operands alone. Override the two to remember compiled nodes
    (call ``super()``). Node types are fixed when a condition is parsed, so a
    numeric node never reaches :meth:`condition`, nor a condition
    :meth:`number`; a ``Literal`` is a number (:meth:`literal`) or ``true`` /
    ``false`` (:meth:`boolean`).
    """

    def number(self, node: Expr) -> N:
        """Compile a numeric node (type ``MONEY``, ``COUNT`` or ``RATIO``).

        Raises:
            TypeError: ``node`` is a condition.
        """
        # the node classes are final: ``type(node) is`` (mypy narrows it) is the quick test
        if type(node) is nodes.MetricRef:
            return self.metric(node)
        if type(node) is nodes.Literal:
            return self.literal(node)
        if type(node) is nodes.Arith:
            return self.arith(node, self.number(node.left), self.number(node.right))
        if type(node) is nodes.ShareRef:
            return self.share(node)
        if type(node) is nodes.Neg:
            return self.neg(self.number(node.operand))
        raise TypeError(f"not a numeric node: {node!r}")

    def condition(self, node: Expr) -> B:
        """Compile a condition (a ``BOOLEAN`` node).

        Raises:
            TypeError: ``node`` is a number.
        """
        if type(node) is nodes.Compare:
            return self.compare(node, self.number(node.left), self.number(node.right))
        if type(node) is nodes.And:
            return self.and_([self.condition(operand) for operand in chain_operands(node)])
        if type(node) is nodes.Or:
            return self.or_([self.condition(operand) for operand in chain_operands(node)])
        if type(node) is nodes.Not:
            return self.not_(self.condition(node.operand))
        if type(node) is nodes.Literal and node.type is ValueType.BOOLEAN:
            return self.boolean(bool(node.value))
        raise TypeError(f"not a condition node: {node!r}")

    # ------------------------------------------------------------------ numbers

    @abc.abstractmethod
    def literal(self, node: nodes.Literal) -> N:
        """A number: ``node.value`` is fen (``MONEY``), an ``int`` (``COUNT``) or a ``float``."""

    @abc.abstractmethod
    def metric(self, node: nodes.MetricRef) -> N:
        """The metric ``node.name`` (money in fen, counts, ratios; absent where it is)."""

    @abc.abstractmethod
    def share(self, node: nodes.ShareRef) -> N:
        """``float64(fen of node.product_id) / float64(t12m fen)``; absent when that is <= 0."""

    @abc.abstractmethod
    def neg(self, operand: N) -> N:
        """``-operand`` (a ``Neg``), of the operand's type: exact for money and counts."""

    @abc.abstractmethod
    def arith(self, node: nodes.Arith, left: N, right: N) -> N:
        """``left node.op right``: exact when ``node.type.is_exact``, else float64.

        In float64, an operand enters by its own type (``node.left.type``,
        ``node.right.type``): money as ``float64(fen) / 100``, a count as
        ``float64(n)``. A zero divisor or a NaN result is absent.
        """

    # ------------------------------------------------------------------ conditions

    @abc.abstractmethod
    def boolean(self, value: bool) -> B:
        """The condition ``true`` or ``false`` (a ``Literal`` of type ``BOOLEAN``)."""

    @abc.abstractmethod
    def compare(self, node: nodes.Compare, left: N, right: N) -> B:
        """``left node.op right``; unknown when either is absent.

        Exact integers when ``node.domain`` is ``MONEY`` or ``COUNT``; float64
        (operands converted as for :meth:`arith`) when it is ``RATIO``.
        """

    @abc.abstractmethod
    def and_(self, operands: list[B]) -> B:
        """Three-valued ``and`` of an ``And`` chain's operands (two or more, left to right)."""

    @abc.abstractmethod
    def or_(self, operands: list[B]) -> B:
        """Three-valued ``or`` of an ``Or`` chain's operands (two or more, left to right)."""

    @abc.abstractmethod
    def not_(self, operand: B) -> B:
        """Three-valued ``not`` (a ``Not``): unknown stays unknown."""


class CitationCompiler(abc.ABC, Generic[C]):
    """The explanation contract: the references a condition cites where it is true (or false).

    :meth:`cited` walks the condition; a backend says how citations are
    represented (``C``) and combined. For a node with value ``value``:

    - a comparison cites every reference in it (:meth:`comparison`);
    - ``not a`` cites what ``a`` cites with value ``not value``;
    - an ``and`` that is true, or an ``or`` that is false, cites what every
      operand of its chain cites (:meth:`every`);
    - an ``and`` that is false cites what its leftmost false operand cites,
      an ``or`` that is true its leftmost true operand (:meth:`leftmost`);
    - ``true`` and ``false`` cite nothing (:meth:`nothing`).

    An explanation then lists each cited name once, in :func:`key_order`,
    with the value :func:`explanation_value` gives.
    """

    def cited(self, node: Expr, value: bool) -> C:
        """What ``node`` cites where it is ``value`` (meaningful only where it is).

        Raises:
            TypeError: ``node`` is a number.
        """
        if isinstance(node, nodes.Compare):
            return self.comparison(node)
        if isinstance(node, nodes.Not):
            return self.cited(node.operand, not value)
        if isinstance(node, nodes.And | nodes.Or):
            operands = chain_operands(node)
            parts = [self.cited(operand, value) for operand in operands]
            if value == isinstance(node, nodes.And):  # a true ``and``, a false ``or``
                return self.every(parts)
            return self.leftmost(operands, value, parts)
        if isinstance(node, nodes.Literal) and node.type is ValueType.BOOLEAN:
            return self.nothing()
        raise TypeError(f"not a condition node: {node!r}")

    @abc.abstractmethod
    def comparison(self, node: nodes.Compare) -> C:
        """Every reference of the comparison (``references(node)``)."""

    @abc.abstractmethod
    def every(self, parts: list[C]) -> C:
        """The citations of all operands together."""

    @abc.abstractmethod
    def leftmost(self, operands: list[Expr], value: bool, parts: list[C]) -> C:
        """The citations of the leftmost operand whose truth is ``value``.

        ``parts[i]`` are the citations of ``operands[i]``. Where no operand
        before the last is ``value``, the last one's (the chain is ``value``
        where this is asked, so the last operand is then ``value`` too).
        """

    @abc.abstractmethod
    def nothing(self) -> C:
        """No citation (``true``, ``false``)."""


def key_order(condition: Expr) -> list[tuple[str, nodes.MetricRef | nodes.ShareRef]]:
    """The names a condition may cite, each once, in order of first appearance, with a reference.

    An explanation lists the cited names in this order; the name is
    :func:`ref_key`'s (``t12m_revenue``, ``share('court_express')``).
    """
    seen: dict[str, nodes.MetricRef | nodes.ShareRef] = {}
    for ref in references(condition):
        seen.setdefault(ref_key(ref), ref)
    return list(seen.items())


def explanation_value(raw: int | float | None, kind: ValueType) -> Decimal | int | float | None:
    """A value as cited (an :data:`~keyaccount.domain.ExplanationValue`).

    ``Decimal`` yuan for money (``raw`` in fen), ``int`` for a count, ``float``
    for a ratio; ``None`` (absent) stays ``None``.
    """
    if raw is None:
        return None
    if kind is ValueType.MONEY:
        return fen_to_yuan(int(raw))
    if kind is ValueType.COUNT:
        return int(raw)
    return float(raw)
