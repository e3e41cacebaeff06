"""Reference readers: the whole file through ``csv.reader`` and the row parsers.

Slow and simple, one row at a time; the test suite holds the fast readers
to the same results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.io._customers import CustomerRows, cross_row_checks
from keyaccount.io._fields import (
    REVENUE_RECORDS,
    TRANSACTION_RECORDS,
    CustomerSpec,
    CustomerValues,
    RecordColumns,
    RecordSpec,
    customer_row,
    day_month,
    parse_records,
    record_row,
)
from keyaccount.io._formats import CUSTOMERS
from keyaccount.io._lines import csv_records, open_csv
from keyaccount.io._revenue import SourceOptions
from keyaccount.io.problems import Problem

if TYPE_CHECKING:
    import os
    from collections.abc import Container

    from keyaccount.domain import ProductCatalog

__all__ = [
    "reference_customers",
    "reference_daily_transactions",
    "reference_revenue",
    "reference_transactions",
]

_PLAIN = SourceOptions()

RevenueLine = tuple[int, str, int, int, int, int, str]
"""``(line, customer_id, product, period (a day for transactions), fen, volume, name)``."""


def _reference_records(
    path: str | os.PathLike[str],
    records: RecordColumns,
    catalog: ProductCatalog,
    known_customers: Container[str] | None,
    options: SourceOptions = _PLAIN,
) -> tuple[list[RevenueLine], list[Problem]]:
    """Every good row of a revenue or transactions file and every problem, in file order."""
    with open_csv(path, records.fmt, encoding=options.encoding, mapping=options.mapping) as source:
        spec = RecordSpec.build(
            source.header, records, catalog, known_customers, options.date_format
        )
        lines, values, bad = parse_records(
            csv_records(iter(source.file), 2), lambda line, fields: record_row(line, fields, spec)
        )
    return [(line, *v) for line, v in zip(lines, values, strict=True)], bad


def reference_revenue(
    path: str | os.PathLike[str],
    catalog: ProductCatalog,
    known_customers: Container[str] | None = None,
) -> tuple[list[tuple[int, str, int, int, int, int]], list[Problem]]:
    """Every good row ``(line, customer_id, product, period, fen, volume)`` and every problem."""
    good, bad = _reference_records(path, REVENUE_RECORDS, catalog, known_customers)
    return [row[:6] for row in good], bad


def reference_transactions(
    path: str | os.PathLike[str],
    catalog: ProductCatalog,
    known_customers: Container[str] | None = None,
) -> tuple[list[tuple[int, str, int, int, int]], list[Problem]]:
    """Every good transaction ``(line, customer_id, product, period, fen)`` and every problem."""
    good, bad = _reference_records(path, TRANSACTION_RECORDS, catalog, known_customers)
    return [(line, cid, p, day_month(day), fen) for line, cid, p, day, fen, *_ in good], bad


def reference_daily_transactions(
    path: str | os.PathLike[str],
    catalog: ProductCatalog,
    known_customers: Container[str] | None = None,
    options: SourceOptions = _PLAIN,
) -> tuple[list[RevenueLine], list[Problem]]:
    """Every good transaction ``(line, customer_id, product, day, fen, quantity, name)``.

    With every problem; ``options`` as :func:`~keyaccount.io.read_transactions_csv` takes them.
    """
    return _reference_records(path, TRANSACTION_RECORDS, catalog, known_customers, options)


def reference_customers(
    path: str | os.PathLike[str],
    known_customers: Container[str] | None = None,
    *,
    cascade: bool = False,
) -> tuple[list[tuple[int, CustomerValues]], list[Problem]]:
    """Every good customer row ``(line, values)`` and every problem, in file order.

    The checks across rows are the reader's own; ``cascade`` is what the
    reject policy turns on. Problems found across rows carry no fields.
    """
    with open_csv(path, CUSTOMERS) as source:
        spec = CustomerSpec(source.header)
        id_at = source.header.index["customer_id"]
        lines, values, bad = parse_records(
            csv_records(iter(source.file), 2), lambda line, fields: customer_row(line, fields, spec)
        )
    bad_ids: dict[str, int] = {}
    for problem in bad:
        if len(problem.fields) > id_at:
            bad_ids.setdefault(problem.fields[id_at], problem.line)
    rows = CustomerRows.from_values(lines, values)
    across = cross_row_checks(rows, bad_ids, known_customers, cascade)
    dropped = {i for i, *_ in across}
    for i, column, value, reason in across:
        bad.append(Problem(lines[i], column, value, reason))
    good = [
        (line, v) for i, (line, v) in enumerate(zip(lines, values, strict=True)) if i not in dropped
    ]
    return good, sorted(bad, key=lambda p: p.line)
