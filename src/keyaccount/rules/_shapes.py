"""Parsing the conditions of a large policy: each shape once, then only its numbers.

A generated policy repeats a few condition *shapes* with different thresholds
(``t12m_revenue >= 1_000_123.50``, ``t12m_revenue >= 1_000_124.50``, ...).
:class:`ConditionCache` parses the first condition of a shape in full. A later
condition whose text differs from it only in digits of its number literals gets
the first one's tree with the new literal values. That is exactly the tree a
full parse gives, because the lexer, the parser and the type checker look at
the digits of a number only for

- its exponent, which must be at most :data:`~keyaccount.rules._lexer.MAX_EXPONENT`;
- whether it is a whole number (which decides the type of a constant met with
  another constant or with a count);
- its value as fen, as a count or as a float64, which must be exact and within
  :data:`~keyaccount.rules._parser.LITERAL_LIMIT`.

A condition for which any of these differs, or any check fails, is parsed in
full, which gives its tree or its exact error. Identical texts share one tree
(trees are immutable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.rules._ast import (
    And,
    Arith,
    Compare,
    Expr,
    Literal,
    Neg,
    Not,
    Or,
    ValueType,
    walk,
)
from keyaccount.rules._lexer import MAX_EXPONENT, TokenKind, tokenize
from keyaccount.rules._parser import LITERAL_LIMIT, _scaled, parse_condition

if TYPE_CHECKING:
    from collections.abc import Mapping

    from keyaccount.domain import ProductCatalog

__all__ = ["ConditionCache"]

_ZEROS = str.maketrans("123456789", "000000000")
"""Every ASCII digit to ``0``: texts of one shape become the same text."""


class ConditionCache:
    """Parses the conditions of one policy with :func:`parse_condition`, reusing shapes.

    Args:
        metrics: Metric names and their types, as for :func:`parse_condition`.
        catalog: Products ``share()`` may name.
    """

    def __init__(self, metrics: Mapping[str, ValueType], catalog: ProductCatalog) -> None:
        self.metrics = metrics
        self.catalog = catalog
        self._texts: dict[str, Expr] = {}
        # by shape: the first text and tree, then (from the second text on) its _Shape,
        # or None when the first tree cannot be reused
        self._shapes: dict[str, tuple[str, Expr] | _Shape | None] = {}

    def parse(self, text: str, *, rule: str | None, source: str | None) -> Expr:
        """:func:`parse_condition` of ``text`` with this cache's metrics and catalogue.

        Raises:
            RuleSyntaxError: as :func:`parse_condition` (the same message).
        """
        found = self._texts.get(text)
        if found is not None:
            return found
        key = text.translate(_ZEROS)
        shape = self._shapes.get(key)
        expr = None
        if isinstance(shape, tuple):
            shape = self._shapes[key] = _Shape.build(*shape)
        if shape is not None:
            expr = shape.derive(text)
        if expr is None:
            expr = parse_condition(
                text, metrics=self.metrics, catalog=self.catalog, rule=rule, source=source
            )
            if key not in self._shapes:
                self._shapes[key] = (text, expr)
        self._texts[text] = expr
        return expr


class _Shape:
    """A parsed condition, and where its numbers are, to derive conditions of its shape.

    Attributes:
        text: The condition text.
        expr: Its tree.
        fixed: Runs of digits outside number literals (in names and quoted
            product ids): a condition of the shape must have the same there.
        numbers: Start and end of each number literal.
        numerals: The text of each number literal.
        whole: Whether each number is a whole number.
        slots: For each number, the literal of ``expr`` it became and whether
            that literal is its value negated (by an odd number of unary minus
            signs folded into it).
        masks: For each node of ``expr`` (by ``id``), the numbers inside it as
            bits (number ``i`` is ``1 << i``).
    """

    __slots__ = ("expr", "fixed", "masks", "numbers", "numerals", "slots", "text", "whole")

    def __init__(
        self,
        text: str,
        expr: Expr,
        numbers: list[tuple[int, int]],
        slots: list[tuple[Literal, bool]],
    ) -> None:
        self.text = text
        self.expr = expr
        self.numbers = numbers
        self.numerals = [text[start:end] for start, end in numbers]
        self.whole = [_scaled(numeral, 0) is not None for numeral in self.numerals]
        self.slots = slots
        self.fixed = _digit_runs(text, numbers)
        self.masks: dict[int, int] = {}
        _masks(expr, {id(literal): 1 << i for i, (literal, _) in enumerate(slots)}, self.masks)

    @classmethod
    def build(cls, text: str, expr: Expr) -> _Shape | None:
        """The shape of a condition that parsed to ``expr``, or ``None`` if not reusable."""
        numbers = [(t.start, t.end) for t in tokenize(text) if t.kind is TokenKind.NUMBER]
        by_end = {end: i for i, (_, end) in enumerate(numbers)}
        slots: list[tuple[Literal, bool] | None] = [None] * len(numbers)
        for node in walk(expr):
            if isinstance(node, Literal) and node.type is not ValueType.BOOLEAN:
                i = by_end.get(node.span[1])
                if i is None or slots[i] is not None:
                    return None
                # between a folded literal's start and its number: "-", "(" and spaces
                negated = text.count("-", node.span[0], numbers[i][0]) % 2 == 1
                slots[i] = (node, negated)
        if any(slot is None for slot in slots):
            return None
        return cls(text, expr, numbers, [slot for slot in slots if slot is not None])

    def derive(self, text: str) -> Expr | None:
        """The tree of ``text``, a condition of this shape, or ``None`` to parse it in full."""
        mine = self.text
        if len(text) != len(mine):
            return None
        for start, end in self.fixed:
            if text[start:end] != mine[start:end]:
                return None
        new: dict[int, Literal] = {}  # by the id of the literal it replaces
        changed = 0
        for i, (start, end) in enumerate(self.numbers):
            numeral = text[start:end]
            if numeral == self.numerals[i]:
                continue
            literal, negated = self.slots[i]
            value = _value(numeral, literal.type, self.whole[i])
            if value is None:
                return None
            new[id(literal)] = Literal(
                -value if negated else value, literal.type, span=literal.span
            )
            changed |= 1 << i
        return _replace(self.expr, new, changed, self.masks) if new else self.expr


def _digit_runs(text: str, numbers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Start and end of each run of ASCII digits in ``text`` outside ``numbers``."""
    runs: list[tuple[int, int]] = []
    inside = iter([*numbers, (len(text), len(text))])
    next_start, next_end = next(inside)
    pos, n = 0, len(text)
    while pos < n:
        if pos == next_start:
            pos = next_end
            next_start, next_end = next(inside)
        elif text[pos] in "0123456789":
            end = pos + 1
            while end < n and end != next_start and text[end] in "0123456789":
                end += 1
            runs.append((pos, end))
            pos = end
        else:
            pos += 1
    return runs


def _value(numeral: str, kind: ValueType, whole: bool) -> int | float | None:
    """What the checker makes of ``numeral`` as ``kind``, or ``None`` to parse in full.

    ``None`` when its exponent is past the limit, when it is a whole number and
    the shape's number was not (or the reverse), or when its value is refused.
    """
    cut = max(numeral.find("e"), numeral.find("E"))
    if cut >= 0 and abs(int(numeral[cut + 1 :])) > MAX_EXPONENT:
        return None
    if kind is ValueType.MONEY:
        fen = _scaled(numeral, 2)
        if fen is None or (fen % 100 == 0) is not whole or abs(fen) >= LITERAL_LIMIT:
            return None
        return fen
    count = _scaled(numeral, 0)
    if (count is not None) is not whole:
        return None
    if kind is ValueType.RATIO:
        return float(numeral.replace("_", ""))
    if count is None or abs(count) >= LITERAL_LIMIT:
        return None
    return count


def _masks(node: Expr, literals: dict[int, int], masks: dict[int, int]) -> int:
    """Fill ``masks`` for ``node`` and the nodes inside it; ``literals``: the bit of each number."""
    if isinstance(node, Literal):
        mask = literals.get(id(node), 0)
    elif isinstance(node, Compare | Arith | And | Or):
        mask = _masks(node.left, literals, masks) | _masks(node.right, literals, masks)
    elif isinstance(node, Neg | Not):
        mask = _masks(node.operand, literals, masks)
    else:
        mask = 0
    masks[id(node)] = mask
    return mask


def _replace(node: Expr, new: dict[int, Literal], changed: int, masks: dict[int, int]) -> Expr:
    """``node`` with the literals of ``new`` (by ``id``) replaced; ``changed``: their bits."""
    if not masks[id(node)] & changed:
        return node
    if isinstance(node, Literal):
        return new[id(node)]
    if isinstance(node, Compare):
        left = _replace(node.left, new, changed, masks)
        right = _replace(node.right, new, changed, masks)
        return Compare(node.op, left, right, node.domain, span=node.span)
    if isinstance(node, Arith):
        left = _replace(node.left, new, changed, masks)
        right = _replace(node.right, new, changed, masks)
        return Arith(node.op, left, right, node.type, span=node.span)
    if isinstance(node, And | Or):
        left = _replace(node.left, new, changed, masks)
        right = _replace(node.right, new, changed, masks)
        return type(node)(left, right, span=node.span)
    assert isinstance(node, Neg | Not)
    return type(node)(_replace(node.operand, new, changed, masks), span=node.span)
