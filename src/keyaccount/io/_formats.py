"""The three CSV formats: their columns, and reading a file's header line."""

from __future__ import annotations

import attrs

from keyaccount.exceptions import CsvHeaderError, shorten

__all__ = [
    "CUSTOMERS",
    "CUSTOMER_COLUMNS",
    "REVENUE",
    "REVENUE_COLUMNS",
    "TRANSACTIONS",
    "TRANSACTION_COLUMNS",
    "CsvFormat",
    "Header",
    "parse_header",
]


@attrs.frozen
class CsvFormat:
    """A CSV format: its name and columns.

    Attributes:
        name: ``"customers"``, ``"revenue"`` or ``"transactions"``.
        columns: Every column, in the order files are written with.
        optional: Columns a file may leave out of its header.
    """

    name: str
    columns: tuple[str, ...]
    optional: frozenset[str] = frozenset()

    @property
    def required(self) -> tuple[str, ...]:
        """Columns every header must name."""
        return tuple(c for c in self.columns if c not in self.optional)


CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "segment",
    "sub_segment",
    "tier",
    "parent_id",
    "province",
    "first_period",
    "tier_since",
)
"""Columns of a customers file (``tier_since`` may be left out)."""
REVENUE_COLUMNS: tuple[str, ...] = ("customer_id", "period", "product_id", "revenue", "volume")
"""Columns of a revenue file."""
TRANSACTION_COLUMNS: tuple[str, ...] = ("customer_id", "date", "amount", "product_id")
"""Columns of a raw transactions file (``product_id`` may be left out)."""

CUSTOMERS = CsvFormat("customers", CUSTOMER_COLUMNS, frozenset({"tier_since"}))
REVENUE = CsvFormat("revenue", REVENUE_COLUMNS)
TRANSACTIONS = CsvFormat("transactions", TRANSACTION_COLUMNS, frozenset({"product_id"}))


@attrs.frozen
class Header:
    """The header line of one file.

    Attributes:
        names: The header's fields as written in the file.
        index: Position in a row of every column the header names.
    """

    names: tuple[str, ...]
    index: dict[str, int]

    @property
    def width(self) -> int:
        """The number of fields every row must have."""
        return len(self.names)

    def position(self, column: str) -> int:
        """The position of ``column`` in a row, ``-1`` when the header leaves it out."""
        return self.index.get(column, -1)


def parse_header(path: str, fmt: CsvFormat, fields: list[str] | None) -> Header:
    """Check a header line against ``fmt``.

    Names are matched after stripping surrounding spaces, in any case and in
    any order.

    Args:
        path: The file, for messages.
        fmt: The expected format.
        fields: The header's fields, or ``None`` when the file is empty.

    Raises:
        CsvHeaderError: the file is empty, or the header lacks a required
            column, names an unknown one or names one twice.
    """
    expected = ",".join(fmt.columns)
    if not fields or fields == [""]:
        raise CsvHeaderError(
            path, f"the file has no header line; a {fmt.name} file starts with {expected}"
        )
    index: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for i, raw in enumerate(fields):
        name = raw.strip().lower()
        if name not in fmt.columns:
            unknown.append(raw)
        elif name in index:
            duplicated.append(raw)
        else:
            index[name] = i
    missing = [c for c in fmt.required if c not in index]
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column {', '.join(map(shorten, missing))}")
        if unknown:
            parts.append(f"unknown column {', '.join(map(shorten, unknown))}")
        if duplicated:
            parts.append(f"column named twice: {', '.join(map(shorten, duplicated))}")
        optional = f" ({', '.join(sorted(fmt.optional))} optional)" if fmt.optional else ""
        raise CsvHeaderError(
            path,
            f"{'; '.join(parts)}; a {fmt.name} file has the columns {expected}{optional}",
            missing=tuple(missing),
            unknown=tuple(unknown),
            duplicated=tuple(duplicated),
        )
    return Header(tuple(fields), index)
