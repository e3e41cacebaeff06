"""The typed condition AST: node kinds, value types and the canonical printer.

Every node the parser returns is typed: numbers are ``MONEY`` (exact integer
fen), ``COUNT`` (exact integers) or ``RATIO`` (IEEE float64), and conditions
are ``BOOLEAN``. The types fix how each evaluator computes a node (see
``docs/rules.md``, "Semantics"), so an evaluator or a compiler (to numpy, to
SQL) can be written from the AST alone; each does it by implementing
:mod:`keyaccount.rules.compiler`:

- :class:`Literal`: a constant; ``value`` is fen for money, ``int`` for counts,
  ``float`` for ratios and ``bool`` for ``true`` / ``false``.
- :class:`MetricRef`: a built-in or registered metric, by name.
- :class:`ShareRef`: ``share('product_id')``, a ratio.
- :class:`Neg`: unary minus, of the operand's type.
- :class:`Arith`: ``+ - * /``; ``type`` says whether it is exact integer
  arithmetic (``MONEY`` / ``COUNT``, only ``+`` and ``-``) or float64 (``RATIO``).
- :class:`Compare`: ``< <= > >= == !=``; ``domain`` says whether the operands
  are compared as exact integers (``MONEY`` / ``COUNT``) or as float64 (``RATIO``).
- :class:`And`, :class:`Or`, :class:`Not`: SQL three-valued logic.

An operand of type ``MONEY`` used in a float64 operation (an ``Arith`` or a
``Compare`` whose type or domain is ``RATIO``) enters as ``float64(fen) / 100``;
a ``COUNT`` operand as ``float64(count)``.

Node equality ignores source positions, so printing a parsed condition with
:func:`format_condition` and parsing the text again gives an equal AST.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, TypeAlias

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "And",
    "Arith",
    "Compare",
    "Expr",
    "Literal",
    "MetricRef",
    "Neg",
    "Not",
    "Or",
    "ShareRef",
    "Span",
    "ValueType",
    "children",
    "format_condition",
    "ref_key",
    "references",
    "walk",
]

Span: TypeAlias = tuple[int, int]
"""Start and end offsets of a node in its condition text (0, 0 when built by hand)."""

_NO_SPAN: Span = (0, 0)


class ValueType(enum.Enum):
    """The type of a condition node, fixed when the condition is parsed."""

    MONEY = "money"
    COUNT = "count"
    RATIO = "ratio"
    BOOLEAN = "boolean"

    @property
    def is_exact(self) -> bool:
        """Whether values of this type are exact integers (money in fen, counts)."""
        return self in (ValueType.MONEY, ValueType.COUNT)

    @property
    def is_number(self) -> bool:
        """Whether this is a numeric type (not ``BOOLEAN``)."""
        return self is not ValueType.BOOLEAN


@attrs.frozen
class Literal:
    """A constant.

    Attributes:
        value: Fen (``int``) for money, ``int`` for counts, ``float`` for
            ratios, ``bool`` for booleans. Money literals are written in yuan in
            rule text and converted to fen when parsed.
        type: Its type.
    """

    value: int | float | bool
    type: ValueType
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


@attrs.frozen
class MetricRef:
    """A metric by name: a built-in of ``keyaccount.portfolio.METRICS`` or a registered one.

    Attributes:
        name: The metric name (checked against the known metrics when parsed).
        type: ``MONEY``, ``COUNT`` or ``RATIO``.
    """

    name: str
    type: ValueType
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


@attrs.frozen
class ShareRef:
    """``share('product_id')``: the product's share of trailing-12 revenue, a ratio.

    ``float64(product fen) / float64(t12m fen)``, absent when ``t12m_revenue <= 0``.
    """

    product_id: str
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)

    @property
    def type(self) -> ValueType:
        """Always ``RATIO``."""
        return ValueType.RATIO


@attrs.frozen
class Neg:
    """Unary minus; the type is the operand's."""

    operand: Expr
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)

    @property
    def type(self) -> ValueType:
        """The operand's type."""
        return self.operand.type


@attrs.frozen
class Arith:
    """``left op right`` with ``op`` one of ``+ - * /``.

    Attributes:
        op: The operator.
        left: Left operand.
        right: Right operand.
        type: ``MONEY`` or ``COUNT`` for exact integer ``+`` / ``-`` of two
            operands of that type; ``RATIO`` (float64) otherwise.
    """

    op: str
    left: Expr
    right: Expr
    type: ValueType
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


class _Boolean:
    """A node whose type is always ``BOOLEAN`` (a comparison, ``and``, ``or``, ``not``)."""

    __slots__ = ()

    @property
    def type(self) -> ValueType:
        """Always ``BOOLEAN``."""
        return ValueType.BOOLEAN


@attrs.frozen
class Compare(_Boolean):
    """``left op right`` with ``op`` one of ``< <= > >= == !=``; a boolean.

    Attributes:
        op: The operator.
        left: Left operand.
        right: Right operand.
        domain: ``MONEY`` or ``COUNT`` to compare exact integers, ``RATIO`` to
            compare float64 values.
    """

    op: str
    left: Expr
    right: Expr
    domain: ValueType
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


@attrs.frozen
class And(_Boolean):
    """``left and right`` (three-valued)."""

    left: Expr
    right: Expr
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


@attrs.frozen
class Or(_Boolean):
    """``left or right`` (three-valued)."""

    left: Expr
    right: Expr
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


@attrs.frozen
class Not(_Boolean):
    """``not operand`` (three-valued: ``not unknown`` is unknown)."""

    operand: Expr
    span: Span = attrs.field(default=_NO_SPAN, eq=False, repr=False, kw_only=True)


Expr: TypeAlias = Literal | MetricRef | ShareRef | Neg | Arith | Compare | And | Or | Not
"""Any node of a condition."""

COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
ARITH_OPS = ("+", "-", "*", "/")

_OR, _AND, _NOT, _CMP, _ADD, _MUL, _NEG, _ATOM = range(1, 9)


def _precedence(node: Expr) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, Compare):
        return _CMP
    if isinstance(node, Arith):
        return _ADD if node.op in "+-" else _MUL
    if isinstance(node, Neg) or (
        isinstance(node, Literal) and node.type.is_number and _is_negative(node.value)
    ):
        return _NEG
    return _ATOM


def _is_negative(value: float) -> bool:
    return value < 0 or (isinstance(value, float) and str(value).startswith("-"))


_PLAIN_LIMIT = 1e15


def _is_negative_zero(value: float) -> bool:
    return value == 0 and str(value).startswith("-")


def format_literal(node: Literal) -> str:
    """The canonical text of a literal (money in yuan, ``_`` between thousands)."""
    if node.type is ValueType.BOOLEAN:
        return "true" if node.value else "false"
    if node.type is ValueType.RATIO:
        value = float(node.value)
        if value.is_integer() and abs(value) < _PLAIN_LIMIT and not _is_negative_zero(value):
            return f"{int(value):_}"
        return repr(value)
    value = int(node.value)
    sign = "-" if value < 0 else ""
    if node.type is ValueType.COUNT:
        return f"{sign}{abs(value):_}"
    yuan, fen = divmod(abs(value), 100)
    return f"{sign}{yuan:_}" + (f".{fen:02d}" if fen else "")


def format_condition(node: Expr) -> str:
    """Canonical text of a condition, with only the parentheses it needs.

    Parsing the text again gives an AST equal to ``node`` (for every AST the
    parser produces).

    Example:
        >>> from keyaccount.rules import parse_condition
        >>> format_condition(parse_condition("(t12m_revenue>=1000000)AND(active_months>=10)"))
        't12m_revenue >= 1_000_000 and active_months >= 10'
    """
    return _fmt(node, 0)


def _fmt(node: Expr, context: int) -> str:
    text = _fmt_bare(node)
    return f"({text})" if _precedence(node) < context else text


def _fmt_bare(node: Expr) -> str:
    if isinstance(node, Literal):
        return format_literal(node)
    if isinstance(node, MetricRef):
        return node.name
    if isinstance(node, ShareRef):
        return f"share('{node.product_id}')"
    if isinstance(node, Neg):
        return "-" + _fmt(node.operand, _NEG)
    if isinstance(node, Not):
        return "not " + _fmt(node.operand, _NOT)
    if isinstance(node, Or):
        return f"{_fmt(node.left, _OR)} or {_fmt(node.right, _OR + 1)}"
    if isinstance(node, And):
        return f"{_fmt(node.left, _AND)} and {_fmt(node.right, _AND + 1)}"
    if isinstance(node, Compare):
        return f"{_fmt(node.left, _ADD)} {node.op} {_fmt(node.right, _ADD)}"
    level = _ADD if node.op in "+-" else _MUL
    return f"{_fmt(node.left, level)} {node.op} {_fmt(node.right, level + 1)}"


def children(node: Expr) -> tuple[Expr, ...]:
    """The operands of ``node``, left to right (none for a literal or a reference)."""
    if isinstance(node, Arith | Compare | And | Or):
        return (node.left, node.right)
    if isinstance(node, Neg | Not):
        return (node.operand,)
    return ()


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of ``node``'s tree, parents before children, left before right."""
    yield node
    for child in children(node):
        yield from walk(child)


def references(node: Expr) -> list[MetricRef | ShareRef]:
    """The metric and share references of ``node``, in text order (repeats kept)."""
    return [n for n in walk(node) if isinstance(n, (MetricRef, ShareRef))]


def ref_key(ref: MetricRef | ShareRef) -> str:
    """The name under which a reference is cited in explanations.

    ``t12m_revenue`` for a metric, ``share('court_express')`` for a share.
    """
    return ref.name if isinstance(ref, MetricRef) else f"share('{ref.product_id}')"
