"""Revenue targets of the project groups: period spans, one target, and a set of targets.

A target is set for a project group (and optionally one of its members) for a month, a
quarter or a year, in ``Decimal`` yuan kept as integer fen. A quarter or year without a
target of its own takes the sum of its months' targets, and is absent unless every one
of its months has a target (``docs/operations.md``, "Targets").
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING

import attrs

from keyaccount.domain import MAX_AMOUNT_FEN, Period, PeriodRange, fen_to_yuan, yuan_to_fen
from keyaccount.exceptions import (
    InvalidMoneyError,
    InvalidPeriodError,
    PortfolioValidationError,
    ValidationError,
    shorten,
)
from keyaccount.utils.display import html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from decimal import Decimal

__all__ = ["MAX_TARGET_FEN", "PeriodSpan", "SpanKind", "Target", "Targets"]

MAX_TARGET_FEN = MAX_AMOUNT_FEN
"""The largest target, 99,999,999,999.99 yuan (the per-amount limit of ``docs/limits.md``).

Twelve months at the limit stay below 2**53 fen, so every target sum is exact in
float64 as well.
"""
MAX_ID_CHARACTERS = 200
"""The longest group id, member name or actor the operations room accepts."""

_YEAR = re.compile(r"^\s*(\d{4})\s*年?\s*$")
_QUARTER = re.compile(r"^\s*(\d{4})\s*(?:-|年)?\s*[Qq]\s*([1-4])\s*$")
_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))


def check_text_id(what: str, value: object) -> str:
    """``value`` when it is an id: non-empty text, no surrounding spaces, no control characters.

    Args:
        what: What the value is, for the message (``"group id"``).
        value: The value to check.

    Raises:
        ValidationError: ``value`` is not such text, or longer than :data:`MAX_ID_CHARACTERS`.
    """
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(
            f"{what} must be non-empty text without surrounding spaces, got {shorten(value)}"
        )
    if len(value) > MAX_ID_CHARACTERS:
        raise ValidationError(
            f"{what} {shorten(value)} is longer than {MAX_ID_CHARACTERS} characters"
        )
    if not _CONTROL.isdisjoint(value):
        raise ValidationError(f"{what} {shorten(value)} holds a control character")
    return value


class SpanKind(enum.Enum):
    """How long a :class:`PeriodSpan` is; the value is its number of months."""

    MONTH = 1
    QUARTER = 3
    YEAR = 12

    @property
    def months(self) -> int:
        """Number of months in a span of this kind."""
        return int(self.value)


def _check_start(span: PeriodSpan, _: attrs.Attribute[Period], start: Period) -> None:
    if not isinstance(start, Period):
        raise InvalidPeriodError(f"a span starts at a Period, got {shorten(start)}")
    if (start.month - 1) % span.kind.months:
        rule = (
            "quarters start in January, April, July or October"
            if span.kind is SpanKind.QUARTER
            else "years start in January"
        )
        raise InvalidPeriodError(f"a {span.kind.name.lower()} cannot start in {start}: {rule}")


@attrs.frozen
class PeriodSpan:
    """A month, a quarter or a calendar year: the period a target is set for.

    Text forms: ``"2022-03"`` (a month; any form :meth:`Period.parse` reads),
    ``"2022Q1"``, ``"2022-Q1"`` or ``"2022q1"`` (a quarter) and ``"2022"`` (a year).
    ``str()`` gives ``2022-03``, ``2022Q1`` and ``2022``.

    Attributes:
        kind: Month, quarter or year.
        start: Its first month (January, April, July or October for a quarter;
            January for a year).

    Example:
        >>> span = PeriodSpan.parse("2022-Q2")
        >>> str(span), [str(p) for p in span.months]
        ('2022Q2', ['2022-04', '2022-05', '2022-06'])
        >>> Period.parse("2022-05") in span
        True
    """

    kind: SpanKind = attrs.field(validator=attrs.validators.instance_of(SpanKind))
    start: Period = attrs.field(validator=_check_start)

    @classmethod
    def parse(cls, text: PeriodSpan | Period | str) -> PeriodSpan:
        """The span a text names; a :class:`Period` is its month.

        Raises:
            InvalidPeriodError: the text names no month, quarter or year; the message quotes it.
        """
        if isinstance(text, PeriodSpan):
            return text
        if isinstance(text, Period):
            return cls(SpanKind.MONTH, text)
        if not isinstance(text, str):
            raise InvalidPeriodError(
                f"a period span must be text like '2022-03', '2022Q1' or '2022', "
                f"got {shorten(text)}"
            )
        if len(text) > 40:
            raise InvalidPeriodError(f"malformed period span {shorten(text)}")
        if match := _YEAR.match(text):
            return cls.year(int(match.group(1)))
        if match := _QUARTER.match(text):
            return cls.quarter(int(match.group(1)), int(match.group(2)))
        try:
            return cls(SpanKind.MONTH, Period.parse(text))
        except InvalidPeriodError:
            raise InvalidPeriodError(
                f"malformed period span {shorten(text)}; expected a month (2022-03), "
                "a quarter (2022Q1 or 2022-Q1) or a year (2022)"
            ) from None

    @classmethod
    def month(cls, period: Period | str) -> PeriodSpan:
        """The span of one month."""
        return cls(SpanKind.MONTH, Period.parse(period))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> PeriodSpan:
        """The span of quarter ``quarter`` (1..4) of ``year``.

        Raises:
            InvalidPeriodError: ``quarter`` is not 1..4, or ``year`` is out of range.
        """
        if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
            raise InvalidPeriodError(f"quarter {quarter!r} is not in 1..4")
        return cls(SpanKind.QUARTER, Period(year, 3 * quarter - 2))

    @classmethod
    def year(cls, year: int) -> PeriodSpan:
        """The span of calendar year ``year``."""
        return cls(SpanKind.YEAR, Period(year, 1))

    @classmethod
    def containing(cls, kind: SpanKind, period: Period) -> PeriodSpan:
        """The span of ``kind`` that holds ``period``."""
        return cls(kind, period - (period.month - 1) % kind.months)

    @property
    def end(self) -> Period:
        """Its last month."""
        return self.start + (self.kind.months - 1)

    @property
    def months(self) -> PeriodRange:
        """Its months, first to last."""
        return PeriodRange(self.start, self.end)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Period) and self.start <= item <= self.end

    def __str__(self) -> str:
        if self.kind is SpanKind.YEAR:
            return f"{self.start.year:04d}"
        if self.kind is SpanKind.QUARTER:
            return f"{self.start.year:04d}Q{(self.start.month + 2) // 3}"
        return str(self.start)

    def __repr__(self) -> str:
        return f"PeriodSpan.parse({str(self)!r})"


def _describe(group_id: object, span: object, member: object) -> str:
    who = f"group {shorten(group_id)}"
    if member is not None:
        who += f", member {shorten(member)}"
    return f"target for {who}, {span}"


@attrs.frozen(init=False)
class Target:
    """A revenue target of a project group, or of one of its members, for a span.

    Args:
        group_id: The project group.
        span: The month, quarter or year (a :class:`PeriodSpan`, a :class:`Period`
            or text such as ``"2022Q1"``).
        amount: Yuan: ``Decimal``, ``int`` or decimal text (``"1200000.50"``);
            never a float.
        member: The member's name, for a member's target; ``None`` for the group's.

    Attributes:
        group_id: The project group.
        span: The span.
        fen: The target in integer fen, ``0 <= fen <=`` :data:`MAX_TARGET_FEN`.
        member: The member, or ``None``.

    Raises:
        InvalidMoneyError: a negative amount, digits below the fen, above
            :data:`MAX_TARGET_FEN`, or not an amount (a float, ``NaN``, ...); the
            message names the group, the member and the span.
        InvalidPeriodError: a span that is no month, quarter or year.
        ValidationError: an empty or malformed group id or member name.

    Example:
        >>> t = Target("courts", "2022Q1", "3000000.50")
        >>> t.amount, t.fen, str(t.span)
        (Decimal('3000000.50'), 300000050, '2022Q1')
    """

    group_id: str
    span: PeriodSpan
    fen: int
    member: str | None = None

    def __init__(
        self,
        group_id: str,
        span: PeriodSpan | Period | str,
        amount: Decimal | int | str,
        *,
        member: str | None = None,
    ) -> None:
        check_text_id("project group id", group_id)
        if member is not None:
            check_text_id("member name", member)
        parsed = PeriodSpan.parse(span)
        where = _describe(group_id, parsed, member)
        try:
            fen = yuan_to_fen(amount)
        except InvalidMoneyError as exc:
            raise InvalidMoneyError(f"{where}: {exc}") from None
        if fen < 0:
            raise InvalidMoneyError(f"{where}: amount {shorten(amount)} yuan is negative")
        if fen > MAX_TARGET_FEN:
            raise InvalidMoneyError(
                f"{where}: amount {shorten(amount)} yuan is beyond the limit of "
                f"{fen_to_yuan(MAX_TARGET_FEN):,} yuan"
            )
        self.__attrs_init__(group_id, parsed, fen, member)

    @classmethod
    def from_fen(
        cls, group_id: str, span: PeriodSpan | Period | str, fen: int, *, member: str | None = None
    ) -> Target:
        """The target of ``fen`` fen (the store's and the arrays' unit)."""
        return cls(group_id, span, fen_to_yuan(fen), member=member)

    @property
    def amount(self) -> Decimal:
        """The target in yuan, with two places."""
        return fen_to_yuan(self.fen)

    @property
    def key(self) -> tuple[str, str | None, PeriodSpan]:
        """``(group_id, member, span)``: at most one target per key."""
        return (self.group_id, self.member, self.span)

    def __repr__(self) -> str:
        member = "" if self.member is None else f", member={self.member!r}"
        return f"Target({self.group_id!r}, {str(self.span)!r}, {str(self.amount)!r}{member})"


def _build_index(targets: tuple[object, ...]) -> dict[tuple[str, str | None, PeriodSpan], int]:
    index: dict[tuple[str, str | None, PeriodSpan], int] = {}
    problems: list[Exception] = []
    for n, target in enumerate(targets):
        if not isinstance(target, Target):
            problems.append(ValidationError(f"target {n}: not a Target: {shorten(target)}"))
            continue
        if target.key in index:
            where = _describe(target.group_id, target.span, target.member)
            problems.append(ValidationError(f"{where} is given twice (target {n})"))
            continue
        index[target.key] = target.fen
    raise_problems(problems, "targets")
    return index


def raise_problems(problems: list[Exception], what: str) -> None:
    """Raise the one problem found, or all of them together; nothing when there is none.

    Raises:
        Exception: the one problem.
        PortfolioValidationError: several problems (the first 1,000 listed).
    """
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    more = " (first 1000 listed)" if len(problems) > 1000 else ""
    raise PortfolioValidationError(f"{len(problems)} problems in {what}{more}", problems[:1000])


def _to_targets(targets: Iterable[Target]) -> tuple[Target, ...]:
    return tuple(targets)


@attrs.frozen
class Targets:
    """The targets of the project groups and their members: at most one per (group, member, span).

    The target of a span (:meth:`target_fen`) is its own target when one is set.
    A quarter or a year without one is the sum of its months' targets, and is
    absent unless every one of its months has a target. A month without a
    target is absent. Member targets follow the same rules, member by member;
    they are planning figures: attainment is computed for groups only.

    Attributes:
        targets: The targets, in any order.

    Raises:
        ValidationError: a target given twice for the same group, member and span,
            or an item that is not a :class:`Target`.
        PortfolioValidationError: several of these at once.

    Example:
        >>> ts = Targets([Target("courts", f"2022-{m:02d}", 1000) for m in (1, 2, 3)])
        >>> ts.target("courts", "2022Q1")
        Decimal('3000.00')
        >>> ts.target("courts", "2022Q2") is None
        True
    """

    targets: tuple[Target, ...] = attrs.field(default=(), converter=_to_targets)
    _index: dict[tuple[str, str | None, PeriodSpan], int] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", _build_index(self.targets))

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __repr__(self) -> str:
        size = f"{number(len(self))} targets, {len(self.group_ids)} groups"
        return short_repr("Targets", size)

    def _repr_html_(self) -> str:
        rows = ((t.group_id, t.member, str(t.span), t.amount) for t in self.targets)
        headings = ("group_id", "member", "span", "target (yuan)")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="targets")

    def with_targets(self, targets: Iterable[Target]) -> Targets:
        """These targets and ``targets`` (refused, as a whole, if one repeats a key)."""
        return Targets((*self.targets, *targets))

    @property
    def group_ids(self) -> frozenset[str]:
        """The groups that have at least one target (their own or a member's)."""
        return frozenset(t.group_id for t in self.targets)

    def members(self, group_id: str) -> tuple[str, ...]:
        """The members of ``group_id`` that have a target, sorted."""
        return tuple(
            sorted({t.member for t in self.targets if t.group_id == group_id and t.member})
        )

    def get(
        self, group_id: str, span: PeriodSpan | Period | str, *, member: str | None = None
    ) -> Target | None:
        """The target set for exactly this span (no sum of months), or ``None``."""
        key = (group_id, member, PeriodSpan.parse(span))
        if key not in self._index:
            return None
        return Target.from_fen(group_id, key[2], self._index[key], member=member)

    def target_fen(
        self, group_id: str, span: PeriodSpan | Period | str, *, member: str | None = None
    ) -> int | None:
        """The target of a span in fen: its own, else the sum of its months; ``None`` if absent.

        A quarter or year without its own target is the sum of its months'
        targets when every month has one (a partial sum would understate the
        target). A year with neither its own target nor all twelve months is the
        sum of its four quarters when each quarter has a target (its own or its
        three months'), and absent otherwise.
        """
        span = PeriodSpan.parse(span)
        own = self._index.get((group_id, member, span))
        if own is not None or span.kind is SpanKind.MONTH:
            return own
        months = [self._index.get((group_id, member, PeriodSpan.month(m))) for m in span.months]
        if all(fen is not None for fen in months):
            return sum(fen for fen in months if fen is not None)
        if span.kind is SpanKind.YEAR:
            quarters = [
                self.target_fen(group_id, PeriodSpan.parse(f"{span.start.year}Q{q}"), member=member)
                for q in range(1, 5)
            ]
            if all(fen is not None for fen in quarters):
                return sum(fen for fen in quarters if fen is not None)
        return None

    def target(
        self, group_id: str, span: PeriodSpan | Period | str, *, member: str | None = None
    ) -> Decimal | None:
        """:meth:`target_fen` in yuan."""
        fen = self.target_fen(group_id, span, member=member)
        return None if fen is None else fen_to_yuan(fen)
