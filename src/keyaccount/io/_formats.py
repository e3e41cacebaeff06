"""The three CSV formats: their columns, and reading a file's header line."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from keyaccount.exceptions import CsvHeaderError, ValidationError, shorten

__all__ = [
    "CUSTOMERS",
    "CUSTOMER_COLUMNS",
    "REVENUE",
    "REVENUE_COLUMNS",
    "TRANSACTIONS",
    "TRANSACTION_COLUMNS",
    "CsvFormat",
    "Header",
    "check_mapping",
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
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "date",
    "amount",
    "product_id",
    "quantity",
    "name",
)
"""Columns of a raw transactions file (``product_id``, ``quantity``, ``name`` may be left out)."""

CUSTOMERS = CsvFormat("customers", CUSTOMER_COLUMNS, frozenset({"tier_since"}))
REVENUE = CsvFormat("revenue", REVENUE_COLUMNS)
TRANSACTIONS = CsvFormat(
    "transactions", TRANSACTION_COLUMNS, frozenset({"product_id", "quantity", "name"})
)


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


def check_mapping(fmt: CsvFormat, columns: Mapping[str, str] | None) -> dict[str, str]:
    """A column mapping (format column to the name in the file), checked.

    Args:
        fmt: The format.
        columns: ``{format column: name in the file}``, or ``None``.

    Returns:
        The mapping with the file's names stripped and lower-cased.

    Raises:
        ValidationError: a key that is not a column of the format, a name that
            is not text or is empty, or two columns mapped to the same name.
    """
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ValidationError(f"columns must be a mapping of column names, got {columns!r}")
    mapped: dict[str, str] = {}
    for key, name in columns.items():
        if key not in fmt.columns:
            raise ValidationError(
                f"unknown column {shorten(str(key))} in columns; a {fmt.name} table has the "
                f"columns {', '.join(fmt.columns)}"
            )
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"columns[{key!r}] must be a column name, got {name!r}")
        normal = name.strip().lower()
        if normal in mapped.values():
            raise ValidationError(f"two columns are mapped to {shorten(name)} in columns")
        mapped[key] = normal
    return mapped


def parse_header(
    path: str, fmt: CsvFormat, fields: list[str] | None, mapping: Mapping[str, str] | None = None
) -> Header:
    """Check a header line against ``fmt``.

    Names are matched after stripping surrounding spaces, in any case and in
    any order. With a ``mapping`` (from :func:`check_mapping`), a column of
    the format is found under its mapped name (the others under their own),
    and columns of the file that are neither are ignored.

    Args:
        path: The file, for messages.
        fmt: The expected format.
        fields: The header's fields, or ``None`` when the file is empty.
        mapping: ``{format column: stripped, lower-cased name in the file}``.

    Raises:
        CsvHeaderError: the file is empty, or the header lacks a required
            column, names an unknown one (without a mapping) or names one twice.
    """
    expected = ",".join(fmt.columns)
    renamed = {name: column for column, name in (mapping or {}).items()}
    if not fields or fields == [""]:
        raise CsvHeaderError(
            path, f"the file has no header line; a {fmt.name} file starts with {expected}"
        )
    index: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for i, raw in enumerate(fields):
        name = raw.strip().lower()
        if name in renamed:
            name = renamed[name]
        elif mapping and name in mapping:
            continue  # a format column's own name, when the mapping gives it another
        if name not in fmt.columns:
            if not mapping:
                unknown.append(raw)
        elif name in index:
            duplicated.append(raw)
        else:
            index[name] = i
    missing = [c for c in fmt.required if c not in index]
    if mapping:
        missing = [f"{mapping[c]} ({c})" if c in mapping else c for c in missing]
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
