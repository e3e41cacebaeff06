"""A recursive-descent parser and type checker for rule conditions (never ``eval``).

Grammar (lowest precedence first; ``and`` / ``or`` / ``+ - * /`` are left
associative; a comparison cannot be chained)::

    condition  := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum (CMP sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | "true" | "false" | NAME | "share" "(" STRING ")"
                | "(" or_expr ")"

Parsing first builds an untyped tree, then types it. A number literal takes its
type from what it meets: money (yuan, converted to fen; digits below the fen
are an error), a count (when it is a whole number) or a ratio (float64).
Constant sub-expressions of ``+`` and ``-`` stay untyped until they meet a
typed operand; any ``*`` or ``/`` is float64.

Limits, checked while parsing so that no evaluator ever meets a value or a
depth it cannot handle: a whole number (a count, or money in fen) is smaller
than :data:`LITERAL_LIMIT` (2**53) in magnitude; money literals are converted to
fen exactly (a digit below the fen, however the literal is written, is an
error; no rounding); a condition nests at most :data:`MAX_DEPTH` levels
(parentheses, ``not``, unary minus and every operator of a chain such as
``a and b and c`` each count one level).
"""

from __future__ import annotations

import difflib
import math
from typing import TYPE_CHECKING

import attrs

import keyaccount.rules._ast as nodes
from keyaccount.domain import ProductCatalog, default_catalog
from keyaccount.exceptions import RuleSyntaxError, shorten
from keyaccount.rules._ast import Expr, ValueType
from keyaccount.rules._lexer import Token, TokenKind, tokenize
from keyaccount.rules._registry import default_registry

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LITERAL_LIMIT", "MAX_DEPTH", "check_tree", "parse_condition"]

LITERAL_LIMIT = 2**53
"""Whole-number literals (counts, and money in fen) must be smaller than this in magnitude.

Money literals are therefore at most 90_071_992_547_409.91 yuan, so that every
money literal is exact in float64 too; count literals at most 9_007_199_254_740_991.
"""

MAX_DEPTH = 64
"""The deepest a condition may nest (parentheses, ``not``, unary minus, operator chains)."""

_SUGGEST_LIMIT = 64
"""Names longer than this get no "did you mean" suggestion (difflib is slow on long text)."""

# ---------------------------------------------------------------- untyped tree
# Plain (mutable, slotted) classes: the parser makes several per condition and
# never changes them after.


@attrs.define
class _Num:
    text: str
    start: int
    end: int


@attrs.define
class _Bool:
    value: bool
    start: int
    end: int


@attrs.define
class _Name:
    name: str
    start: int
    end: int


@attrs.define
class _Share:
    product_id: str
    start: int
    end: int
    arg_start: int


@attrs.define
class _Unary:
    op: str  # "-" or "not"
    operand: _Raw
    start: int
    end: int
    depth: int = 1


@attrs.define
class _Binary:
    op: str  # + - * / < <= > >= == != and or
    left: _Raw
    right: _Raw
    op_start: int
    depth: int = 1
    start: int = attrs.field(init=False)
    end: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.start = self.left.start
        self.end = self.right.end


_Raw = _Num | _Bool | _Name | _Share | _Unary | _Binary


def _depth(raw: _Raw) -> int:
    return raw.depth if type(raw) is _Binary or type(raw) is _Unary else 0


_KEYWORD, _OP, _CMP, _END = TokenKind.KEYWORD, TokenKind.OP, TokenKind.CMP, TokenKind.END


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.nesting = 0  # open parentheses, ``not`` and unary minus being parsed

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, message: str, offset: int | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(
            message, text=self.text, offset=self.tok.start if offset is None else offset
        )

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def describe(self, tok: Token) -> str:
        return tok.kind.value if tok.kind is _END else shorten(tok.text)

    def enter(self, tok: Token) -> None:
        """Count one more level of nesting at ``tok``; refuse past :data:`MAX_DEPTH`."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.too_deep(tok.start)

    def too_deep(self, offset: int) -> RuleSyntaxError:
        return self.fail(
            f"the condition is nested too deeply: more than {MAX_DEPTH} levels (parentheses, "
            "'not', minus signs and chained operators each count one); split it into several "
            "rules",
            offset,
        )

    def binary(self, op: Token, left: _Raw, right: _Raw) -> _Binary:
        depth = 1 + max(_depth(left), _depth(right))
        if depth + self.nesting > MAX_DEPTH:
            raise self.too_deep(op.start)
        return _Binary(op.text, left, right, op.start, depth)

    def unary_node(self, op: Token, operand: _Raw) -> _Unary:
        self.nesting -= 1
        return _Unary(op.text, operand, op.start, operand.end, 1 + _depth(operand))

    def parse(self) -> _Raw:
        if self.tok.kind is _END:
            raise self.fail("empty condition; write for example 't12m_revenue >= 1_000_000'")
        node = self.or_expr()
        rest = self.tokens[self.pos]
        if rest.kind is not _END:
            if rest.kind is _CMP:
                raise self.fail(
                    f"comparisons cannot be chained ({rest.text!r}); join them with 'and'"
                )
            raise self.fail(f"unexpected {self.describe(rest)} after a complete condition")
        return node

    def or_expr(self) -> _Raw:
        node = self.and_expr()
        tokens = self.tokens
        while (op := tokens[self.pos]).kind is _KEYWORD and op.text == "or":
            self.pos += 1
            node = self.binary(op, node, self.and_expr())
        return node

    def and_expr(self) -> _Raw:
        node = self.not_expr()
        tokens = self.tokens
        while (op := tokens[self.pos]).kind is _KEYWORD and op.text == "and":
            self.pos += 1
            node = self.binary(op, node, self.not_expr())
        return node

    def not_expr(self) -> _Raw:
        op = self.tokens[self.pos]
        if op.kind is _KEYWORD and op.text == "not":
            self.pos += 1
            self.enter(op)
            return self.unary_node(op, self.not_expr())
        return self.comparison()

    def comparison(self) -> _Raw:
        node = self.sum()
        op = self.tokens[self.pos]
        if op.kind is _CMP:
            self.pos += 1
            node = self.binary(op, node, self.sum())
        return node

    def sum(self) -> _Raw:
        node = self.product()
        tokens = self.tokens
        while (op := tokens[self.pos]).kind is _OP and op.text in "+-":
            self.pos += 1
            node = self.binary(op, node, self.product())
        return node

    def product(self) -> _Raw:
        node = self.unary()
        tokens = self.tokens
        while (op := tokens[self.pos]).kind is _OP and op.text in "*/":
            self.pos += 1
            node = self.binary(op, node, self.unary())
        return node

    def unary(self) -> _Raw:
        op = self.tokens[self.pos]
        if op.kind is _OP:
            if op.text == "-":
                self.pos += 1
                self.enter(op)
                return self.unary_node(op, self.unary())
            if op.text == "+":
                raise self.fail("unexpected '+': a number needs no plus sign")
        return self.atom()

    def atom(self) -> _Raw:
        tok = self.tokens[self.pos]
        kind = tok.kind
        if kind is TokenKind.NUMBER:
            self.pos += 1
            return _Num(tok.text, tok.start, tok.end)
        if kind is TokenKind.NAME:
            self.pos += 1
            if self.tokens[self.pos].kind is TokenKind.LPAREN:
                return self.call(tok)
            return _Name(tok.text, tok.start, tok.end)
        if kind is _KEYWORD and tok.text in ("true", "false"):
            self.pos += 1
            return _Bool(tok.text == "true", tok.start, tok.end)
        if kind is TokenKind.LPAREN:
            self.pos += 1
            self.enter(tok)
            node = self.or_expr()
            self.nesting -= 1
            if self.tok.kind is not TokenKind.RPAREN:
                raise self.fail(
                    f"expected ')' to close the '(' at column {self._column(tok.start)}, "
                    f"found {self.describe(self.tok)}"
                )
            self.pos += 1
            return node
        if kind is _END:
            raise self.fail("the condition ends too early; expected a value")
        if kind is TokenKind.STRING:
            raise self.fail(
                f"unexpected text {shorten(tok.text)}: quotes belong inside share('...')"
            )
        raise self.fail(f"unexpected {self.describe(tok)}; expected a value")

    def call(self, name: Token) -> _Raw:
        if name.text != "share":
            raise self.fail(
                f"unknown function {shorten(name.text)}; the only function is share('product_id')",
                name.start,
            )
        self.advance()  # (
        arg = self.tok
        if arg.kind is not TokenKind.STRING:
            raise self.fail("share() takes one product id in quotes, as in share('court_express')")
        self.advance()
        if self.tok.kind is not TokenKind.RPAREN:
            raise self.fail("share() takes exactly one product id; expected ')'")
        close = self.advance()
        return _Share(arg.text, name.start, close.end, arg.start)

    def _column(self, offset: int) -> int:
        return offset - (self.text.rfind("\n", 0, offset) + 1) + 1


# ---------------------------------------------------------------- typing


@attrs.frozen
class _Pending:
    """A constant sub-expression of numbers, ``+``, ``-`` and unary minus, not yet typed."""

    raw: _Raw

    @property
    def integral(self) -> bool:
        return _integral(self.raw)


def _integral(raw: _Raw) -> bool:
    if isinstance(raw, _Num):
        return _scaled(raw.text, 0) is not None
    if isinstance(raw, _Unary):
        return _integral(raw.operand)
    assert isinstance(raw, _Binary)
    return _integral(raw.left) and _integral(raw.right)


_Typed = Expr | _Pending

_TYPE_WORDS = {
    ValueType.MONEY: "money",
    ValueType.COUNT: "a count",
    ValueType.RATIO: "a ratio",
    ValueType.BOOLEAN: "a condition (true or false)",
}


class _Checker:
    def __init__(
        self, text: str, metrics: Mapping[str, ValueType], catalog: ProductCatalog
    ) -> None:
        self.text = text
        self.metrics = metrics
        self.catalog = catalog

    def fail(self, message: str, offset: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, text=self.text, offset=offset)

    def snippet(self, raw: _Raw) -> str:
        """The source text of ``raw``, quoted and shortened for a message."""
        return shorten(" ".join(self.text[raw.start : raw.end].split()))

    def describe(self, raw: _Raw, typed: _Typed) -> str:
        kind = "a number" if isinstance(typed, _Pending) else _TYPE_WORDS[typed.type]
        return f"{self.snippet(raw)} is {kind}"

    # -- entry

    def condition(self, raw: _Raw) -> Expr:
        typed = self.check(raw)
        if isinstance(typed, _Pending) or typed.type is not ValueType.BOOLEAN:
            raise self.fail(
                f"a condition must be true or false, but {self.describe(raw, typed)}; "
                "compare it, as in 't12m_revenue >= 1_000_000'",
                raw.start,
            )
        return typed

    # -- typing of each node

    def check(self, raw: _Raw) -> _Typed:
        if isinstance(raw, _Num):
            return _Pending(raw)
        if isinstance(raw, _Bool):
            return nodes.Literal(raw.value, ValueType.BOOLEAN, span=(raw.start, raw.end))
        if isinstance(raw, _Name):
            return self.name(raw)
        if isinstance(raw, _Share):
            if raw.product_id not in self.catalog:
                close = _suggest(raw.product_id, list(self.catalog))
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.fail(
                    f"unknown product {shorten(raw.product_id)} in share(){hint}", raw.arg_start
                )
            return nodes.ShareRef(raw.product_id, span=(raw.start, raw.end))
        if isinstance(raw, _Unary):
            if raw.op == "not":
                return nodes.Not(self.boolean(raw.operand, "not"), span=(raw.start, raw.end))
            operand = self.check(raw.operand)
            if isinstance(operand, _Pending):
                return _Pending(raw)
            self.number(raw.operand, operand, "-")
            return nodes.Neg(operand, span=(raw.start, raw.end))
        if raw.op in ("and", "or"):
            left = self.boolean(raw.left, raw.op)
            right = self.boolean(raw.right, raw.op)
            node = nodes.And if raw.op == "and" else nodes.Or
            return node(left, right, span=(raw.start, raw.end))
        if raw.op in ("+", "-", "*", "/"):
            return self.arith(raw)
        return self.compare(raw)

    def name(self, raw: _Name) -> Expr:
        try:
            kind = self.metrics[raw.name]
        except KeyError:
            pass
        else:
            return nodes.MetricRef(raw.name, kind, span=(raw.start, raw.end))
        if raw.name == "share":
            raise self.fail("share needs a product id: share('court_express')", raw.start)
        close = _suggest(raw.name, list(self.metrics))
        if not close:
            lowered = {m.lower(): m for m in self.metrics}
            close = [lowered[raw.name.lower()]] if raw.name.lower() in lowered else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise self.fail(f"unknown metric {shorten(raw.name)}{hint}", raw.start)

    def boolean(self, raw: _Raw, op: str) -> Expr:
        typed = self.check(raw)
        if isinstance(typed, _Pending) or typed.type is not ValueType.BOOLEAN:
            raise self.fail(
                f"{op!r} needs conditions (true or false), but {self.describe(raw, typed)}",
                raw.start,
            )
        return typed

    def number(self, raw: _Raw, typed: Expr, op: str) -> None:
        if typed.type is ValueType.BOOLEAN:
            raise self.fail(f"{op!r} needs numbers, but {self.describe(raw, typed)}", raw.start)

    def arith(self, raw: _Binary) -> _Typed:
        left, right = self.check(raw.left), self.check(raw.right)
        span = (raw.start, raw.end)
        for side, typed in ((raw.left, left), (raw.right, right)):
            if not isinstance(typed, _Pending):
                self.number(side, typed, raw.op)
        if raw.op in "*/":
            lt = self.resolve(left, ValueType.RATIO)
            rt = self.resolve(right, ValueType.RATIO)
            return nodes.Arith(raw.op, lt, rt, ValueType.RATIO, span=span)
        if isinstance(left, _Pending) and isinstance(right, _Pending):
            return _Pending(raw)
        kind = self.common(raw, left, right, "add" if raw.op == "+" else "subtract")
        return nodes.Arith(
            raw.op, self.resolve(left, kind), self.resolve(right, kind), kind, span=span
        )

    def compare(self, raw: _Binary) -> Expr:
        left, right = self.check(raw.left), self.check(raw.right)
        for side, typed in ((raw.left, left), (raw.right, right)):
            if not isinstance(typed, _Pending) and typed.type is ValueType.BOOLEAN:
                raise self.fail(
                    f"cannot compare with {raw.op!r}: {self.describe(side, typed)}", side.start
                )
        if isinstance(left, _Pending) and isinstance(right, _Pending):
            domain = ValueType.COUNT if left.integral and right.integral else ValueType.RATIO
        else:
            domain = self.common(raw, left, right, "compare")
        return nodes.Compare(
            raw.op,
            self.resolve(left, domain),
            self.resolve(right, domain),
            domain,
            span=(raw.start, raw.end),
        )

    def common(self, raw: _Binary, left: _Typed, right: _Typed, verb: str) -> ValueType:
        """The type two operands are combined in (``+``, ``-`` or a comparison)."""
        if isinstance(left, _Pending) or isinstance(right, _Pending):
            pending, typed = (left, right) if isinstance(left, _Pending) else (right, left)
            assert isinstance(pending, _Pending)
            assert not isinstance(typed, _Pending)
            if typed.type is ValueType.COUNT and not pending.integral:
                return ValueType.RATIO
            return typed.type
        lt, rt = left.type, right.type
        if lt is rt:
            return lt
        if ValueType.RATIO in (lt, rt):
            return ValueType.RATIO
        raise self.fail(
            f"cannot {verb} money and a count ({self.snippet(raw.left)} is "
            f"{_TYPE_WORDS[lt]}, {self.snippet(raw.right)} is {_TYPE_WORDS[rt]}); "
            "divide to get a ratio, as in t12m_revenue / active_months",
            raw.op_start,
        )

    def resolve(self, typed: _Typed, kind: ValueType) -> Expr:
        """Give a pending constant the type ``kind``; typed nodes pass through."""
        if not isinstance(typed, _Pending):
            return typed
        return self.constant(typed.raw, kind)

    def constant(self, raw: _Raw, kind: ValueType) -> Expr:
        span = (raw.start, raw.end)
        if isinstance(raw, _Num):
            return nodes.Literal(self.literal_value(raw, kind), kind, span=span)
        if isinstance(raw, _Unary):
            operand = self.constant(raw.operand, kind)
            if isinstance(operand, nodes.Literal):
                return nodes.Literal(-operand.value, kind, span=span)
            return nodes.Neg(operand, span=span)
        assert isinstance(raw, _Binary)
        return nodes.Arith(
            raw.op, self.constant(raw.left, kind), self.constant(raw.right, kind), kind, span=span
        )

    def literal_value(self, raw: _Num, kind: ValueType) -> int | float:
        """The value of a literal as ``kind``: exact fen, an exact count, or a float64."""
        if kind is ValueType.RATIO:
            # at most 40 characters and an exponent within 99: always finite
            return float(raw.text.replace("_", ""))
        whole = _scaled(raw.text, 2 if kind is ValueType.MONEY else 0)
        if whole is None:
            if kind is ValueType.MONEY:
                raise self.fail(
                    f"money literal {raw.text} has digits below the fen (0.01 yuan); "
                    "money in conditions is in yuan",
                    raw.start,
                )
            raise self.fail(f"count {raw.text} is not a whole number", raw.start)
        if abs(whole) >= LITERAL_LIMIT:
            largest = (
                "90_071_992_547_409.91 yuan"
                if kind is ValueType.MONEY
                else f"{LITERAL_LIMIT - 1:_}"
            )
            raise self.fail(f"number {raw.text} is too large: at most {largest}", raw.start)
        return whole


def _scaled(number: str, places: int) -> int | None:
    """The number literal ``number`` times ``10**places`` as an exact ``int``, or ``None``.

    ``None`` when the product is not whole. Integer arithmetic on the decimal
    digits (nothing is rounded); the lexer bounds the digits (40) and the
    exponent (99) and leaves no sign on a literal.
    """
    digits = number.replace("_", "")
    exponent = 0
    cut = max(digits.find("e"), digits.find("E"))
    if cut >= 0:
        digits, exponent = digits[:cut], int(digits[cut + 1 :])
    whole_part, _, fraction = digits.partition(".")
    mantissa = int(whole_part + fraction)
    shift = exponent - len(fraction) + places
    whole: int
    if shift >= 0:
        whole = mantissa * 10**shift
        return whole
    whole, rest = divmod(mantissa, 10**-shift)
    return None if rest else whole


def _suggest(word: str, choices: list[str]) -> list[str]:
    """The closest of ``choices`` to ``word`` (none for a long word)."""
    if len(word) > _SUGGEST_LIMIT:
        return []
    return difflib.get_close_matches(word, choices, n=1)


def check_tree(condition: object) -> str | None:
    """What is wrong with a condition tree built by hand, or ``None``.

    The same bounds as parsed text: at most :data:`MAX_DEPTH` levels, money
    and count literals whole numbers (``int``) smaller than
    :data:`LITERAL_LIMIT` in magnitude, ratio literals finite numbers, boolean
    literals ``bool``. The tree is walked without recursion, so an absurdly deep
    one is refused rather than crashing.
    """
    stack: list[tuple[object, int]] = [(condition, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH + 1:
            return f"the condition is nested too deeply: more than {MAX_DEPTH} levels"
        if isinstance(node, nodes.Literal):
            problem = _literal_problem(node)
            if problem is not None:
                return problem
        elif isinstance(node, nodes.Neg | nodes.Not):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, nodes.Arith | nodes.Compare | nodes.And | nodes.Or):
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
        elif not isinstance(node, nodes.MetricRef | nodes.ShareRef):
            return f"not a condition node: {shorten(node)}"
    return None


def _literal_problem(node: nodes.Literal) -> str | None:
    value, kind = node.value, node.type
    if kind is ValueType.BOOLEAN:
        return None if isinstance(value, bool) else f"boolean literal {shorten(value)}"
    if kind is ValueType.RATIO:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"ratio literal {shorten(value)} is not a number"
        if isinstance(value, int) and abs(value) >= LITERAL_LIMIT:
            return f"ratio literal {shorten(value)} is too large: at most {LITERAL_LIMIT - 1:_}"
        return None if math.isfinite(value) else f"ratio literal {value!r} is not finite"
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{kind.value} literal {shorten(value)} must be a whole number (fen for money)"
    if abs(value) >= LITERAL_LIMIT:
        return f"{kind.value} literal {shorten(value)} is too large: at most {LITERAL_LIMIT - 1:_}"
    return None


def parse_condition(
    text: str,
    *,
    metrics: Mapping[str, ValueType] | None = None,
    catalog: ProductCatalog | None = None,
    rule: str | None = None,
    source: str | None = None,
) -> Expr:
    """Parse and type-check a rule condition.

    Args:
        text: The condition, e.g. ``"t12m_revenue >= 1_000_000 and active_months >= 10"``.
        metrics: Metric names and their types (default: :func:`default_registry`).
        catalog: Products ``share()`` may name (default: the shipped catalogue).
        rule: The rule's name, for error messages.
        source: Where the rule came from (a file name), for error messages.

    Returns:
        The typed condition; its ``type`` is ``BOOLEAN``.

    Raises:
        RuleSyntaxError: bad syntax, an unknown metric or product, a type
            mismatch, or a money literal with digits below the fen; the message
            names the rule, the source and the line and column in ``text``.

    Example:
        >>> c = parse_condition("t12m_revenue >= 1_000_000")
        >>> c.right
        Literal(value=100000000, type=<ValueType.MONEY: 'money'>)
    """
    metrics = default_registry() if metrics is None else metrics
    catalog = default_catalog() if catalog is None else catalog
    try:
        raw = _Parser(text).parse()
        return _Checker(text, metrics, catalog).condition(raw)
    except RuleSyntaxError as exc:
        raise exc.located(rule=rule, source=source) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the recursion shallow
        raise RuleSyntaxError(
            f"the condition is nested too deeply: more than {MAX_DEPTH} levels",
            text=text,
            offset=0,
            rule=rule,
            source=source,
        ) from None
