"""Calendar months: :class:`Period` and :class:`PeriodRange`."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, overload

import attrs

from keyaccount.exceptions import InvalidPeriodError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Period", "PeriodRange"]

_PATTERN = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")
MIN_YEAR = 1900
MAX_YEAR = 9999


def _check_not_bool(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool):
        raise TypeError(f"period {attribute.name} must be an int, not the bool {value!r}")


def _check_month(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 12:
        raise InvalidPeriodError(f"month {value!r} is not in 1..12")


def _check_year(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise InvalidPeriodError(f"year {value!r} is not in {MIN_YEAR}..{MAX_YEAR}")


@attrs.frozen(order=False)
class Period:
    """A calendar month, such as ``2022-11``.

    Periods are ordered, hashable, and move by whole months with ``+`` and
    ``-``; the difference of two periods is a number of months. Each period
    has an integer :attr:`ordinal` (``year * 12 + month - 1``), which the
    columnar arrays use as the period code.

    Example:
        >>> p = Period.parse("2022-11")
        >>> p + 2
        Period(2023, 1)
        >>> Period(2023, 1) - p
        2
        >>> [str(q) for q in Period.range("2022-11", "2023-01")]
        ['2022-11', '2022-12', '2023-01']
    """

    year: int = attrs.field(
        validator=[attrs.validators.instance_of(int), _check_not_bool, _check_year]
    )
    month: int = attrs.field(
        validator=[attrs.validators.instance_of(int), _check_not_bool, _check_month]
    )

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """Parse ``YYYY-MM`` (also ``YYYY/MM``, ``YYYY.MM`` and ``2022年11月``).

        Raises:
            InvalidPeriodError: the text is not a calendar month; the message quotes it.
        """
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise InvalidPeriodError(f"period must be text like '2022-11', got {text!r}")
        match = _PATTERN.match(text)
        if match is None:
            raise InvalidPeriodError(f"malformed period {text!r}; expected YYYY-MM")
        year, month = int(match.group(1)), int(match.group(2))
        try:
            return cls(year, month)
        except InvalidPeriodError as exc:
            raise InvalidPeriodError(f"malformed period {text!r}: {exc}") from None

    @classmethod
    def from_ordinal(cls, ordinal: int) -> Period:
        """The period whose :attr:`ordinal` is ``ordinal``."""
        year, month0 = divmod(int(ordinal), 12)
        return cls(year, month0 + 1)

    @classmethod
    def from_date(cls, date: dt.date) -> Period:
        """The month that contains ``date``."""
        return cls(date.year, date.month)

    @property
    def ordinal(self) -> int:
        """Months since year 0: ``year * 12 + month - 1``."""
        return self.year * 12 + self.month - 1

    @property
    def first_day(self) -> dt.date:
        """The first day of the month."""
        return dt.date(self.year, self.month, 1)

    @staticmethod
    def range(start: Period | str, end: Period | str) -> PeriodRange:
        """The months from ``start`` to ``end``, both included."""
        return PeriodRange(start, end)

    def __add__(self, months: int) -> Period:
        if not isinstance(months, int) or isinstance(months, bool):
            return NotImplemented
        return Period.from_ordinal(self.ordinal + months)

    __radd__ = __add__

    @overload
    def __sub__(self, other: int) -> Period: ...

    @overload
    def __sub__(self, other: Period) -> int: ...

    def __sub__(self, other: int | Period) -> Period | int:
        if isinstance(other, Period):
            return self.ordinal - other.ordinal
        if isinstance(other, int) and not isinstance(other, bool):
            return Period.from_ordinal(self.ordinal - other)
        return NotImplemented

    def __lt__(self, other: Period) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.ordinal < other.ordinal

    def __le__(self, other: Period) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.ordinal <= other.ordinal

    def __gt__(self, other: Period) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.ordinal > other.ordinal

    def __ge__(self, other: Period) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.ordinal >= other.ordinal

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Period({self.year}, {self.month})"


def _to_period(value: Period | str) -> Period:
    return Period.parse(value)


@attrs.frozen
class PeriodRange:
    """The months from :attr:`start` to :attr:`end`, both included.

    An empty range has ``end < start``. Iterable, sized and supports ``in``.
    ``start`` and ``end`` may be given as text (``"2022-11"``).
    """

    start: Period = attrs.field(converter=_to_period)
    end: Period = attrs.field(converter=_to_period)

    def __iter__(self) -> Iterator[Period]:
        for ordinal in range(self.start.ordinal, self.end.ordinal + 1):
            yield Period.from_ordinal(ordinal)

    def __len__(self) -> int:
        return max(0, self.end.ordinal - self.start.ordinal + 1)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Period) and self.start <= item <= self.end

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"
