"""The reference parsers: one field, one row at a time, in plain Python.

These functions are the specification of what the three CSV formats accept
(``docs/import-export.md`` describes the same rules in prose). The
vectorised block parser in :mod:`keyaccount.io._fast` must give the same
values and refuse the same rows; it hands every row it refuses to these
functions, which say why. The rules of one value (a customer id, a month, yuan, a
volume, a label) are :mod:`keyaccount.portfolio.fields`, shared with the frames.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    ProductCatalog,
)
from keyaccount.io._formats import REVENUE, TRANSACTIONS, CsvFormat
from keyaccount.io._lines import Malformed
from keyaccount.io.problems import Problem
from keyaccount.portfolio.fields import (
    EMPTY,
    MAX_FEN_DIGITS,
    MAX_VOLUME_DIGITS,
    MIN_YEAR,
    FieldError,
    check_utf8,
    customer_id,
    money_fen,
    period_ordinal,
    segment_code,
    sub_segment_code,
    tier_rank,
    volume,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterable, Sequence

    from keyaccount.io._formats import Header

__all__ = [
    "COMPACT_DATE",
    "EMPTY",
    "MAX_FEN_DIGITS",
    "MAX_VOLUME_DIGITS",
    "MIN_YEAR",
    "REVENUE_RECORDS",
    "TRANSACTION_RECORDS",
    "CustomerSpec",
    "FieldError",
    "RecordColumns",
    "RecordSpec",
    "RecordValues",
    "customer_id",
    "customer_row",
    "date_day",
    "date_ordinal",
    "day_month",
    "money_fen",
    "parse_records",
    "period_ordinal",
    "record_row",
    "volume",
]

_COMPACT_DATE = re.compile(r"[0-9]{8}")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2}):([0-9]{2}))?")


# ----------------------------------------------------------------------------- fields


def _iso_date(text: str) -> dt.date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise FieldError(
            "not a date; expected YYYY-MM-DD, optionally with a time HH:MM:SS after T or a space"
        )
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise FieldError(f"{text[:10]} is not a calendar date") from None
    if match.group(4) is not None:
        hour, minute, second = (int(match.group(i)) for i in (4, 5, 6))
        if hour > 23 or minute > 59 or second > 59:
            raise FieldError(f"{text[11:]} is not a time of day")
    return date


def _compact_date(text: str) -> dt.date:
    if _COMPACT_DATE.fullmatch(text) is None:
        raise FieldError("not a date; expected YYYYMMDD such as 20230131")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise FieldError(f"{text} is not a calendar date") from None


def _formatted_date(text: str, date_format: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, date_format).date()
    except ValueError:
        raise FieldError(f"not a date in the format {date_format}") from None


COMPACT_DATE = "%Y%m%d"
"""The date format ``YYYYMMDD`` (``20230131``), read by the fast path."""
_EPOCH = dt.date(1970, 1, 1).toordinal()


def date_day(text: str, date_format: str | None = None) -> int:
    """A date as days since 1970-01-01 (any time of day it carries is checked, then dropped).

    Args:
        text: The field.
        date_format: ``None`` for ``YYYY-MM-DD`` optionally followed by ``T``
            or a space and ``HH:MM:SS``; :data:`COMPACT_DATE` for exactly eight
            digits ``YYYYMMDD``; any other ``strptime`` format otherwise.
    """
    if text == "":
        raise FieldError(EMPTY)
    if date_format is None:
        date = _iso_date(text)
    elif date_format == COMPACT_DATE:
        date = _compact_date(text)
    else:
        date = _formatted_date(text, date_format)
    if date.year < MIN_YEAR:
        raise FieldError(f"year {date.year:04d} is before {MIN_YEAR}")
    return date.toordinal() - _EPOCH


def day_month(day: int) -> int:
    """The :attr:`Period.ordinal` of the month of a day counted from 1970-01-01."""
    date = dt.date.fromordinal(day + _EPOCH)
    return date.year * 12 + date.month - 1


def date_ordinal(text: str) -> int:
    """A date ``YYYY-MM-DD`` (optionally with a time ``HH:MM:SS``) as its month's ordinal."""
    return day_month(date_day(text))


def product_position(text: str, products: dict[str, int], default: int | None) -> int:
    """The catalogue position of a product id; empty means ``standard_express``."""
    if text == "":
        if default is None:
            raise FieldError(f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}")
        return default
    position = products.get(text)
    if position is None:
        raise FieldError(f"unknown product {text!r}")
    return position


# ----------------------------------------------------------------------------- rows


def _shape_problem(line: int, fields: list[str] | Malformed, width: int) -> Problem | None:
    if isinstance(fields, Malformed):
        return Problem(line, None, fields.text, f"not valid CSV: {fields.message}")
    if len(fields) != width:
        return Problem(
            line,
            None,
            ",".join(fields),
            f"expected {width} fields, found {len(fields)}",
            tuple(fields),
        )
    return None


def _field(fields: Sequence[str], position: int) -> str:
    return fields[position] if position >= 0 else ""


_T = TypeVar("_T")


class _Cursor:
    """Reads a row's fields column by column in the format's order.

    It remembers the column and the text it read last, so that the first
    :class:`FieldError` is reported against the column that raised it.
    """

    def __init__(self, fields: list[str], header: Header) -> None:
        self._fields = fields
        self._header = header
        self.column = ""
        self.text = ""

    def read(self, column: str, parse: Callable[[str], _T]) -> _T:
        """Parse ``column``'s text (empty when the header leaves the column out)."""
        self.column = column
        self.text = _field(self._fields, self._header.position(column))
        check_utf8(self.text)
        return parse(self.text)

    def problem(self, line: int, exc: FieldError) -> Problem:
        """The problem of this row: the last column read and the error's reason."""
        return Problem(line, self.column, self.text, exc.reason, tuple(self._fields))


@attrs.frozen
class RecordColumns:
    """Where the rows of a revenue or transactions file keep what a revenue row holds.

    The two formats differ only in this data: the month is a ``YYYY-MM``
    period, or a date (whose parsed value is the day, counted from
    1970-01-01), the money column's name, and the volume column (a
    transactions file may leave its ``quantity`` out: each row counts one).
    Columns are checked in the format's order.

    Attributes:
        fmt: The format.
        month: The column of the month: ``"period"`` or ``"date"`` (a day).
        money: The column of the money in yuan.
        volume: The column of the volume.
    """

    fmt: CsvFormat
    month: str
    money: str
    volume: str


REVENUE_RECORDS = RecordColumns(REVENUE, month="period", money="revenue", volume="volume")
TRANSACTION_RECORDS = RecordColumns(TRANSACTIONS, month="date", money="amount", volume="quantity")


@attrs.frozen
class RecordSpec:
    """What a revenue or transaction row is checked against.

    Attributes:
        header: The file's header.
        records: The format's columns (:data:`REVENUE_RECORDS` or :data:`TRANSACTION_RECORDS`).
        products: Catalogue position of every product id.
        default_product: Position of ``standard_express``, ``None`` if absent.
        known_customers: When given, customer ids must be in it.
        rules: Each column of the format, in its order, with its rule (text to
            value, or :class:`FieldError`).
        picks: Where in :attr:`rules` the customer id, product, month (a day
            for transactions), money, volume and name are (``-1``: the file
            has no such column; a row without a volume counts one).
        date_format: The format of a transactions file's dates (``None``: ISO).
    """

    header: Header
    records: RecordColumns
    products: dict[str, int]
    default_product: int | None
    known_customers: Container[str] | None
    rules: tuple[tuple[str, Callable[[str], str | int]], ...]
    picks: tuple[int, int, int, int, int, int]
    date_format: str | None = None

    @classmethod
    def build(
        cls,
        header: Header,
        records: RecordColumns,
        catalog: ProductCatalog,
        known: Container[str] | None,
        date_format: str | None = None,
    ) -> RecordSpec:
        """The spec for a file with ``header`` in the format of ``records``, and ``catalog``."""
        products = {pid: i for i, pid in enumerate(catalog)}
        default = products.get(DEFAULT_PRODUCT_ID)

        def customer(text: str) -> str:
            return _customer_ref(text, known)

        def product(text: str) -> int:
            return product_position(text, products, default)

        def day(text: str) -> int:
            return date_day(text, date_format)

        by_column: dict[str, Callable[[str], str | int]] = {
            "customer_id": customer,
            "product_id": product,
            "period": period_ordinal,
            "date": day,
            records.money: money_fen,
            records.volume: volume,
            "name": str,
        }
        columns = records.fmt.columns
        rules = tuple((column, by_column[column]) for column in columns)
        wanted = ("customer_id", "product_id", records.month, records.money, records.volume)
        at = [columns.index(c) for c in wanted]
        if records.volume in records.fmt.optional and records.volume not in header.index:
            at[4] = -1
        at.append(columns.index("name") if "name" in header.index else -1)
        picks = (at[0], at[1], at[2], at[3], at[4], at[5])
        return cls(header, records, products, default, known, rules, picks, date_format)


def _customer_ref(text: str, known: Container[str] | None) -> str:
    cid = customer_id(text)
    if known is not None and cid not in known:
        raise FieldError(f"unknown customer {cid!r}")
    return cid


RecordValues = tuple[str, int, int, int, int, str]
"""``(customer_id, product, period or day, fen, volume, name)`` of one row."""


def record_row(
    line: int, fields: list[str] | Malformed, spec: RecordSpec
) -> RecordValues | Problem:
    """One revenue or transaction row as ``(customer_id, product, period, fen, volume, name)``.

    Columns are checked in the format's order; the first bad one is
    reported as the row's problem. A transaction's "period" is its day
    (counted from 1970-01-01); its volume is its quantity, 1 when the file has
    no quantity column; its name is empty when the file has no name column.
    """
    shape = _shape_problem(line, fields, spec.header.width)
    if shape is not None:
        return shape
    assert not isinstance(fields, Malformed)
    row = _Cursor(fields, spec.header)
    try:
        values: list[Any] = [row.read(column, rule) for column, rule in spec.rules]
    except FieldError as exc:
        return row.problem(line, exc)
    cid, product, month, fen, parcels, name = spec.picks
    volume_ = 1 if parcels < 0 else values[parcels]
    name_ = "" if name < 0 else values[name]
    return values[cid], values[product], values[month], values[fen], volume_, name_


def parse_records(
    records: Iterable[tuple[int, list[str] | Malformed]],
    parse: Callable[[int, list[str] | Malformed], _T | Problem],
) -> tuple[list[int], list[_T], list[Problem]]:
    """Each record through a row parser: the lines and values of the good ones, and the problems."""
    lines: list[int] = []
    values: list[_T] = []
    problems: list[Problem] = []
    for line, fields in records:
        result = parse(line, fields)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            lines.append(line)
            values.append(result)
    return lines, values, problems


@attrs.frozen
class CustomerSpec:
    """What a customer row is checked against."""

    header: Header


CustomerValues = tuple[str, str, int, int, int, str | None, str | None, int, int]
"""``(id, name, segment, sub_segment, tier, parent_id, province, first_period, tier_since)``."""


def _optional_text(text: str) -> str | None:
    stripped = text.strip()
    return stripped or None


def customer_row(
    line: int, fields: list[str] | Malformed, spec: CustomerSpec
) -> CustomerValues | Problem:
    """One customer row's values (codes and ordinals), or its problem.

    Checks the row on its own: duplicates, parent links and cycles are
    checked across rows by the reader.
    """
    shape = _shape_problem(line, fields, spec.header.width)
    if shape is not None:
        return shape
    assert not isinstance(fields, Malformed)
    row = _Cursor(fields, spec.header)
    try:
        cid = row.read("customer_id", customer_id)
        name = row.read("name", str)
        segment = row.read("segment", segment_code)
        sub_segment = row.read("sub_segment", sub_segment_code)
        if sub_segment != NO_CODE:
            owner = SUB_SEGMENTS[sub_segment].segment
            if segment == NO_CODE or SEGMENTS[segment] is not owner:
                given = (
                    "a customer without a segment"
                    if segment == NO_CODE
                    else (f"segment {SEGMENTS[segment].name}")
                )
                raise FieldError(
                    f"sub-segment {SUB_SEGMENTS[sub_segment].name} belongs to segment "
                    f"{owner.name}, not to {given}"
                )
        tier = row.read("tier", tier_rank)
        parent = row.read("parent_id", _optional_text)
        if parent == cid:
            raise FieldError("a customer cannot be its own parent")
        province = row.read("province", _optional_text)
        first = row.read("first_period", period_ordinal)
        since = row.read("tier_since", lambda t: NO_CODE if t == "" else period_ordinal(t))
        if since != NO_CODE and since < first:
            first_text = fields[spec.header.index["first_period"]]
            raise FieldError(f"tier_since {row.text} is before first_period {first_text}")
    except FieldError as exc:
        return row.problem(line, exc)
    return cid, name, segment, sub_segment, tier, parent, province, first, since
