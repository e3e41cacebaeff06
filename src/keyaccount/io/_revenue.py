"""Streaming readers of revenue and raw transaction files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Container, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import MAX_MONTH_FEN, Period, ProductCatalog, default_catalog, format_yuan
from keyaccount.exceptions import PrecisionError, ValidationError
from keyaccount.io._fast import (
    ProductTable,
    Scratch,
    block_is_simple,
    parse_compact_dates,
    parse_dates,
    parse_distinct,
    parse_ids,
    parse_money,
    parse_periods,
    parse_whole,
    split_block,
)
from keyaccount.io._fields import (
    COMPACT_DATE,
    MIN_YEAR,
    REVENUE_RECORDS,
    TRANSACTION_RECORDS,
    RecordColumns,
    RecordSpec,
    RecordValues,
    date_day,
    parse_records,
    record_row,
)
from keyaccount.io._formats import TRANSACTIONS, check_mapping
from keyaccount.io._lines import CsvSource, block_records, open_csv, read_blocks
from keyaccount.io._rows import Batcher, ReadStats, RevenueBatches, RevenueRows, TransactionRows
from keyaccount.io.problems import ErrorPolicy, Problem, ProblemSink, ProgressCallback
from keyaccount.utils import elapsed, logger, paused_gc

if TYPE_CHECKING:
    from keyaccount.io._formats import CsvFormat
    from keyaccount.io._lines import Malformed

__all__ = [
    "BLOCK_BYTES",
    "RowCheck",
    "SourceOptions",
    "iter_revenue_csv",
    "iter_transactions_csv",
    "record_stream",
]

BLOCK_BYTES = 4 << 20
"""Bytes read and parsed at a time."""

RowCheck = Callable[[RevenueRows], list[tuple[int, str, str, str]]]
"""A further check of parsed rows: ``(row index, column, value, reason)`` of each bad row."""

_RAISE = ErrorPolicy()
_log = logger("io")
Out = TypeVar("Out")


Rows = TypeVar("Rows", RevenueRows, TransactionRows)
"""The rows a block parser gives: revenue rows, or transactions (with their day)."""
RowParser = Callable[[int, "list[str] | Malformed"], "RecordValues | Problem"]


@attrs.frozen(eq=False)
class _Block(Generic[Rows]):
    """The result of one block: good rows in line order, bad rows, and the row count."""

    rows: Rows
    problems: list[Problem]
    n_rows: int
    n_lines: int
    fields_of: Callable[[int], tuple[str, ...]]


def _merge(fast: Rows, slow: Rows) -> Rows:
    if not len(slow):
        return fast
    if not len(fast):
        return slow
    both = type(fast).concat([fast, slow])
    return both.take(np.argsort(both.line, kind="stable"))


def _reference(
    records: list[tuple[int, list[str] | Malformed]], parse: RowParser, kind: type[Rows]
) -> tuple[Rows, list[Problem]]:
    lines, values, problems = parse_records(records, parse)
    return kind.from_tuples(lines, values), problems


def _slow_block(data: bytes, first_line: int, parse: RowParser, kind: type[Rows]) -> _Block[Rows]:
    with paused_gc():
        records = list(zip(*block_records(data, first_line), strict=True))
        rows, problems = _reference(records, parse, kind)
    texts = {line: fields for line, fields in records if isinstance(fields, list)}
    return _Block(
        rows, problems, len(records), data.count(b"\n"), lambda line: tuple(texts.get(line, ()))
    )


def _when_parser(
    spec: RecordSpec,
) -> Callable[[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]], Any]:
    """The block parser of the month column: periods, or the days of dates in the spec's format."""
    if spec.records.month == "period":
        return parse_periods
    date_format = spec.date_format
    if date_format is None:
        return parse_dates
    if date_format == COMPACT_DATE:
        return parse_compact_dates
    return lambda buf, start, end: parse_distinct(
        buf, start, end, lambda text: date_day(text, date_format)
    )


def _record_block(
    data: bytes,
    first_line: int,
    spec: RecordSpec,
    table: ProductTable,
    scratch: Scratch,
    kind: type[Rows],
) -> _Block[Rows]:
    """The rows of one block of a revenue or transactions file (``spec`` says which)."""

    def parse(line: int, fields: list[str] | Malformed) -> RecordValues | Problem:
        return record_row(line, fields, spec)

    if not block_is_simple(data):
        return _slow_block(data, first_line, parse, kind)
    records = spec.records
    index = spec.header.index
    block = split_block(data, spec.header.width, scratch)
    buf = block.buf

    def column(name: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return block.field(index[name])

    ids, ok = parse_ids(buf, *column("customer_id"), spec.known_customers)
    when, ok_when = _when_parser(spec)(buf, *column(records.month))
    fen, ok_fen = parse_money(buf, *column(records.money))
    m = ids.shape[0]
    if "product_id" in index:
        product, ok_product = table.parse(buf, *column("product_id"))
    else:
        product = np.full(m, -1 if table.default is None else table.default, dtype=np.int32)
        ok_product = np.full(m, table.default is not None, dtype=np.bool_)
    if spec.picks[4] < 0:
        volume = np.ones(m, dtype=np.int64)
    else:
        volume, ok_volume = parse_whole(buf, *column(records.volume))
        ok &= ok_volume
    if spec.picks[5] < 0:
        names = np.full(m, "", dtype=object)
    else:
        names, ok_name = parse_ids(buf, *column("name"), free_text=True)
        ok &= ok_name
    ok &= ok_when & ok_product & ok_fen
    good = np.flatnonzero(ok)
    columns = (
        first_line + block.rows[good],
        ids[good],
        product[good],
        when[good].astype(np.int32),
        fen[good],
        volume[good],
    )
    fast: Any = (
        TransactionRows(*columns, names[good]) if kind is TransactionRows else RevenueRows(*columns)
    )
    flagged = np.union1d(block.odd, block.rows[~ok]).tolist()
    refused: list[tuple[int, list[str] | Malformed]] = [
        (first_line + i, block.fields(i)) for i in flagged
    ]
    slow, problems = _reference(refused, parse, kind)
    return _Block(
        _merge(fast, slow),
        problems,
        int(block.rows.shape[0] + block.odd.shape[0]),
        block.n_lines,
        lambda line: tuple(block.fields(line - first_line)),
    )


BlockParser = Callable[[bytes, int], _Block[Rows]]


def _blocks(
    source: CsvSource,
    parse: BlockParser[Rows],
    sink: ProblemSink,
    stats: ReadStats,
    check: Callable[[Rows], list[tuple[int, str, str, str]]] | None,
    block_bytes: int,
    progress: ProgressCallback | None,
    bytes_offset: int,
    bytes_total: int,
) -> Iterator[Rows]:
    """Good rows of every block of ``source``; bad rows go to ``sink``.

    In raise mode no rows are yielded after the first bad row the reader
    finds (bad rows a caller adds to its own sink do not stop the reader).
    """
    raises = sink.policy.mode == "raise"
    line = 2
    done = source.file.tell()
    for data in read_blocks(source.file, block_bytes):
        block = parse(data, line)
        rows = block.rows
        problems = block.problems
        if check is not None and len(rows):
            found = check(rows)
            if found:
                problems = list(problems)
                bad = np.zeros(len(rows), dtype=np.bool_)
                for i, column, value, reason in found:
                    bad[i] = True
                    at = int(rows.line[i])
                    problems.append(Problem(at, column, value, reason, block.fields_of(at)))
                rows = rows.take(~bad)
        sink.add_all(problems)
        stats.rows_read += block.n_rows
        stats.rows_rejected += len(problems)
        line += block.n_lines
        done += len(data)
        stats.bytes_read = done
        if progress is not None:
            progress(stats.rows_read, bytes_offset + done, bytes_total)
        if not (stats.rows_rejected and raises):
            yield rows


def _check_batch_rows(batch_rows: int) -> None:
    if not isinstance(batch_rows, int) or isinstance(batch_rows, bool) or batch_rows < 1:
        raise ValidationError(f"batch_rows must be a whole number >= 1, got {batch_rows!r}")


def _read(
    stats: ReadStats,
    path: str | os.PathLike[str],
    fmt: CsvFormat,
    make_parser: Callable[[CsvSource], BlockParser[Rows]],
    finish: Callable[[Iterator[Rows]], Iterator[Out]],
    *,
    errors: ErrorPolicy | ProblemSink,
    check: Callable[[Rows], list[tuple[int, str, str, str]]] | None,
    progress: ProgressCallback | None,
    check_first: bool,
    block_bytes: int,
    options: SourceOptions,
) -> Iterator[Out]:
    policy = errors.policy if isinstance(errors, ProblemSink) else errors
    passes = 2 if check_first and policy.mode == "raise" else 1
    for number in range(passes):
        last = number + 1 == passes
        source = open_csv(path, fmt, encoding=options.encoding, mapping=options.mapping)
        sink = source.problems(errors if last else policy)
        owned = sink is not errors
        stats.path = source.path
        stats.bytes_total = source.size
        stats.rows_read = stats.rows_rejected = 0
        try:
            parts = _blocks(
                source,
                make_parser(source),
                sink,
                stats,
                check,
                block_bytes,
                progress,
                number * source.size,
                passes * source.size,
            )
            if not last:
                for _ in parts:
                    pass
                sink.close()
                continue
            yield from finish(_then_close(parts, sink, owned, stats))
        finally:
            source.close()
            if owned:
                sink.close(check=False)


def _then_close(
    parts: Iterator[Rows], sink: ProblemSink, owned: bool, stats: ReadStats
) -> Iterator[Rows]:
    """``parts``, then close ``sink`` (which raises in raise mode when rows were bad).

    A caller's sink stays open for the caller's findings, unless the reader
    found bad rows in raise mode: then it raises them (with the caller's).
    """
    start = time.perf_counter()
    yield from parts
    _log.info(
        "read %s: %d rows, %d bad, %d bytes, streamed in %.3f s",
        stats.path,
        stats.rows_read,
        stats.rows_rejected,
        stats.bytes_total,
        elapsed(start),
    )
    if owned or (stats.rows_rejected and sink.policy.mode == "raise"):
        sink.close()


@attrs.frozen
class SourceOptions:
    """How a file is read: its encoding, its column names, its date format.

    Attributes:
        encoding: A Python codec name (UTF-8 by default, with or without a BOM).
        mapping: ``{format column: stripped, lower-cased name in the file}``
            (see :func:`~keyaccount.io._formats.check_mapping`).
        date_format: Dates of a transactions file: ``None`` for ISO dates,
            else a ``strptime`` format (``%Y%m%d`` has a fast path).
    """

    encoding: str = "utf-8"
    mapping: Mapping[str, str] = attrs.field(factory=dict)
    date_format: str | None = None


_PLAIN = SourceOptions()


def _check_date_format(date_format: str | None) -> None:
    if date_format is None:
        return
    if not isinstance(date_format, str) or "%" not in date_format:
        raise ValidationError(
            f"date_format must be a strptime format such as '%Y%m%d' or '%Y/%m/%d %H:%M', "
            f"got {date_format!r}"
        )


def record_stream(
    path: str | os.PathLike[str],
    records: RecordColumns,
    catalog: ProductCatalog | None,
    kind: type[Rows],
    finish: Callable[[Iterator[Rows], ProductCatalog], Iterator[Out]],
    *,
    errors: ErrorPolicy | ProblemSink,
    known_customers: Container[str] | None,
    progress: ProgressCallback | None,
    check: Callable[[Rows], list[tuple[int, str, str, str]]] | None,
    check_first: bool,
    block_bytes: int,
    options: SourceOptions = _PLAIN,
) -> Callable[[ReadStats], Iterator[Out]]:
    """How to read a revenue or transactions file (``records`` says which) into ``kind`` rows.

    The arguments and the file's header are checked at once; the file is
    read when the returned function's iterator is. ``finish`` turns the good
    rows of the blocks into what it yields.
    """
    _check_date_format(options.date_format)
    open_csv(path, records.fmt, encoding=options.encoding, mapping=options.mapping).close()
    products = catalog if catalog is not None else default_catalog()

    def make_parser(source: CsvSource) -> BlockParser[Rows]:
        spec = RecordSpec.build(
            source.header, records, products, known_customers, options.date_format
        )
        table = ProductTable(tuple(products), spec.default_product)
        scratch = Scratch()
        return lambda data, line: _record_block(data, line, spec, table, scratch, kind)

    def make(stats: ReadStats) -> Iterator[Out]:
        return _read(
            stats,
            path,
            records.fmt,
            make_parser,
            lambda parts: finish(parts, products),
            errors=errors,
            check=check,
            progress=progress,
            check_first=check_first,
            block_bytes=block_bytes,
            options=options,
        )

    return make


def iter_revenue_csv(
    path: str | os.PathLike[str],
    *,
    catalog: ProductCatalog | None = None,
    errors: ErrorPolicy | ProblemSink = _RAISE,
    batch_rows: int = 500_000,
    known_customers: Container[str] | None = None,
    progress: ProgressCallback | None = None,
    check_first: bool = False,
    _check: RowCheck | None = None,
    _block_bytes: int = BLOCK_BYTES,
) -> RevenueBatches:
    r"""Read a revenue file (``customer_id,period,product_id,revenue,volume``) in batches.

    The file is read in blocks of a few megabytes and parsed with array
    operations; memory stays bounded by ``batch_rows`` whatever the file's
    size. Every batch but the last holds exactly ``batch_rows`` rows, in file
    order. See ``docs/import-export.md`` for the format.

    Args:
        path: The file (UTF-8, with or without a byte order mark).
        catalog: The product catalogue; ``RevenueRows.product`` holds
            positions in it (default: :func:`~keyaccount.default_catalog`).
        errors: What to do with bad rows (default: raise after reading the
            whole file, yielding nothing after the first bad row). A
            :class:`~keyaccount.io.problems.ProblemSink` of the caller's is
            left open for the caller's own findings (the reader still raises
            through it when it finds bad rows in raise mode).
        batch_rows: Rows per batch.
        known_customers: When given, a row whose customer id is not in it is
            bad ("unknown customer").
        progress: Called after every block with ``(rows_done, bytes_done,
            bytes_total)``.
        check_first: With the raise policy, read the file twice: first only
            to check it (raising before any batch is yielded), then to yield.

    Returns:
        An iterator of :class:`RevenueRows` that also counts rows read and rejected.

    Raises:
        CsvFileNotFoundError: no such file.
        CsvHeaderError: a missing, misnamed or repeated column.
        CsvImportError: with the raise policy, every bad row, after the whole
            file was read.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "revenue.csv"
        >>> _ = p.write_text("customer_id,period,product_id,revenue,volume\n"
        ...                  "C1,2022-11,court_express,-12.5,3\n", encoding="utf-8")
        >>> [batch.fen.tolist() for batch in iter_revenue_csv(p)]
        [[-1250]]
    """

    def finish(parts: Iterator[RevenueRows], _: ProductCatalog) -> Iterator[RevenueRows]:
        batcher = Batcher(batch_rows)
        for part in parts:
            yield from batcher.add(part)
        yield from batcher.flush()

    _check_batch_rows(batch_rows)
    make = record_stream(
        path,
        REVENUE_RECORDS,
        catalog,
        RevenueRows,
        finish,
        errors=errors,
        known_customers=known_customers,
        progress=progress,
        check=_check,
        check_first=check_first,
        block_bytes=_block_bytes,
    )
    return RevenueBatches(make, os.fspath(path))


_FIRST = MIN_YEAR * 12
_SPAN = (10_000 - MIN_YEAR) * 12


class MonthlySums:
    """Sums of transactions per (customer, product, month), kept compact as they come.

    Memory is bounded by the number of distinct (customer, product, month)
    keys, not by the number of transactions: each block is summed on its own
    and the partial sums are merged whenever they outgrow twice the merged
    size.

    Every sum is checked: the absolute amounts of a key are summed alongside
    in float64 and compared with the per customer-month limit before the
    int64 sum is kept, so an int64 sum can never wrap; :meth:`rows` then
    checks each customer-month over all products.
    """

    def __init__(self, n_products: int, where: str = "") -> None:
        self.n_products = max(n_products, 1)
        self.where = where
        self.codes: dict[str, int] = {}
        self._parts: list[tuple[npt.NDArray[np.int64], ...]] = []
        self._held = 0
        self._merged = 0

    def add(self, rows: RevenueRows) -> None:
        """Add the transactions of ``rows`` (``volume`` counts them)."""
        if not len(rows):
            return
        codes = self.codes
        customer = np.fromiter(
            (codes.setdefault(c, len(codes)) for c in rows.customer_id.tolist()),
            dtype=np.int64,
            count=len(rows),
        )
        self.add_coded(customer, rows)

    def add_coded(self, customer: npt.NDArray[np.int64], rows: RevenueRows) -> None:
        """Add ``rows`` whose customers are positions in :attr:`codes` (filled by the caller)."""
        if len(self.codes) * self.n_products * _SPAN >= 2**63:
            raise ValidationError("too many customers and products to sum transactions by month")
        key = (customer * self.n_products + rows.product) * _SPAN + (rows.period - _FIRST)
        self._parts.append(self._sum(key, rows.fen, np.abs(rows.fen), rows.volume, rows.line))
        self._held += len(self._parts[-1][0])
        if self._held > 2 * self._merged + 100_000:
            self._compact()

    def _sum(
        self,
        key: npt.NDArray[np.int64],
        fen: npt.NDArray[np.int64],
        abs_fen: npt.NDArray[np.int64],
        count: npt.NDArray[np.int64],
        line: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.int64], ...]:
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        checked = np.add.reduceat(abs_fen[order].astype(np.float64), first)
        over = checked > MAX_MONTH_FEN
        if over.any():
            self._refuse(key[first], checked, over)
        return (
            key[first],
            np.add.reduceat(fen[order], first),  # exact: |sum| <= the checked sum
            checked.astype(np.int64),
            np.add.reduceat(count[order], first),
            np.minimum.reduceat(line[order], first),
        )

    def _refuse(
        self,
        key: npt.NDArray[np.int64],
        totals: npt.NDArray[np.float64],
        over: npt.NDArray[np.bool_],
    ) -> None:
        i = int(np.flatnonzero(over)[0])
        customer_product, period = divmod(int(key[i]), _SPAN)
        customer = customer_product // self.n_products
        self._raise(list(self.codes)[customer], period + _FIRST, float(totals[i]))

    def _raise(self, customer_id: str, period: int, total: float) -> None:
        shown = f"{format_yuan(int(total))} yuan" if total < 2**63 else "beyond 64-bit fen"
        where = f"{self.where}: " if self.where else ""
        raise PrecisionError(
            f"{where}customer {customer_id!r}, month {Period.from_ordinal(period)}: the "
            f"transactions' absolute amounts add up to {shown}, beyond the limit of "
            f"{format_yuan(MAX_MONTH_FEN)} yuan per customer and month; nothing was read"
        )

    def _compact(self) -> None:
        if len(self._parts) > 1:
            key, fen, absolute, count, line = (
                np.concatenate(c) for c in zip(*self._parts, strict=True)
            )
            self._parts = [self._sum(key, fen, absolute, count, line)]
        self._held = self._merged = len(self._parts[0][0]) if self._parts else 0

    def rows(self) -> RevenueRows:
        """All sums, ordered by customer (in order of first appearance), product and month.

        Raises:
            PrecisionError: a customer's absolute amounts in one month (over all
                products) beyond the per customer-month limit.
        """
        self._compact()
        if not self._parts:
            return RevenueRows.empty()
        key, fen, absolute, count, line = self._parts[0]
        ids = np.empty(len(self.codes), dtype=object)
        ids[:] = list(self.codes)
        customer_product, period = np.divmod(key, _SPAN)
        customer, product = np.divmod(customer_product, self.n_products)
        month_key = customer * _SPAN + period
        months, inverse = np.unique(month_key, return_inverse=True)
        totals = np.bincount(inverse, weights=absolute.astype(np.float64))
        over = totals > MAX_MONTH_FEN
        if over.any():
            i = int(np.flatnonzero(over)[0])
            c, m = divmod(int(months[i]), _SPAN)
            self._raise(str(ids[c]), m + _FIRST, float(totals[i]))
        return RevenueRows(
            line,
            ids[customer],
            product.astype(np.int32),
            (period + _FIRST).astype(np.int32),
            fen,
            count,
        )


def iter_transactions_csv(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str = "utf-8",
    catalog: ProductCatalog | None = None,
    errors: ErrorPolicy | ProblemSink = _RAISE,
    batch_rows: int = 500_000,
    known_customers: Container[str] | None = None,
    progress: ProgressCallback | None = None,
    _block_bytes: int = BLOCK_BYTES,
) -> RevenueBatches:
    """Read raw transactions (``customer_id,date,amount[,product_id,quantity,name]``) by month.

    Every transaction is added to its customer's revenue for its product
    (``standard_express`` when the column is missing or empty) in the month
    of its date; ``volume`` is the sum of the quantities, or the number of
    transactions (refunds included) when there is no quantity column. The
    file is read in blocks and summed as it goes, so memory is bounded by
    the number of distinct (customer, product, month) sums, not by the
    number of transactions. The sums come after the whole file was read,
    ordered by customer (in order of first appearance), product and month;
    ``RevenueRows.line`` is the first line of each sum.
    :func:`read_transactions_csv` keeps every transaction with its day instead.

    Args:
        path: The file.
        columns: The file's names of the columns, ``{"customer_id": "客户编号",
            "date": "交易日期", ...}``; columns it leaves out are found under
            their own names, and columns of the file it does not name are
            ignored. Without it, every column of the file must be one of the format's.
        date_format: ``None`` for ISO dates (``2023-01-31``, optionally with
            ``HH:MM:SS`` after ``T`` or a space), or a ``strptime`` format:
            ``"%Y%m%d"`` (``20230131``, read as fast as ISO dates) or any other.
        encoding: The file's text encoding: ``"utf-8"`` (with or without a
            byte order mark), ``"gbk"``, ``"gb18030"``, ...
        catalog: The product catalogue (default: :func:`~keyaccount.default_catalog`).
        errors: What to do with bad rows. With the raise policy nothing is
            yielded when a row is bad. A caller's
            :class:`~keyaccount.io.problems.ProblemSink` is used as in
            :func:`iter_revenue_csv`.
        batch_rows: Rows per batch.
        known_customers: When given, a transaction whose customer id is not
            in it is bad.
        progress: Called after every block with ``(rows_done, bytes_done,
            bytes_total)``.

    Returns:
        An iterator of :class:`RevenueRows`; ``rows_read`` counts transactions.

    Raises:
        CsvFileNotFoundError: no such file.
        CsvHeaderError: a missing, misnamed or repeated column.
        CsvImportError: with the raise policy, every bad row.
        PrecisionError: a customer's transactions in one month whose absolute
            amounts add up beyond the per customer-month limit; nothing is
            yielded.
        ValidationError: a bad ``columns``, ``date_format`` or ``encoding``.
    """

    def finish(parts: Iterator[TransactionRows], products: ProductCatalog) -> Iterator[RevenueRows]:
        sums = MonthlySums(len(products), os.fspath(path))
        for part in parts:
            sums.add(part.monthly())
        rows = sums.rows()
        for cut in range(0, len(rows), batch_rows):
            yield rows.take(slice(cut, cut + batch_rows))

    _check_batch_rows(batch_rows)
    make = record_stream(
        path,
        TRANSACTION_RECORDS,
        catalog,
        TransactionRows,
        finish,
        errors=errors,
        known_customers=known_customers,
        progress=progress,
        check=None,
        check_first=False,
        block_bytes=_block_bytes,
        options=SourceOptions(encoding, check_mapping(TRANSACTIONS, columns), date_format),
    )
    return RevenueBatches(make, os.fspath(path))
