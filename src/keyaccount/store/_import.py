"""Bulk imports: one pipeline for columns the caller holds and for CSV files.

An import takes its sources in order, the customers first, then each
revenue source, all in one write transaction with the bulk writer. Each
source has a :class:`~keyaccount.io.problems.ProblemSink` for its bad rows:
for a CSV file, the sink its reader uses (:mod:`keyaccount.io` reads and
checks the file and keeps its reject file, see
:func:`~keyaccount.io.problems.reject_files`); for columns, a sink that
raises, named by the source. The :class:`~keyaccount.store._importer.Importer`
checks every batch against the store, adds what it finds to the same sink
and writes the good rows; in raise mode the first bad row fails the whole
import and nothing is written.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from keyaccount.io import iter_revenue_csv, iter_transactions_csv, read_customers_csv
from keyaccount.io.problems import ErrorPolicy, ProblemSink, RejectFiles, reject_files
from keyaccount.store._bulk import LARGE_BYTES, LARGE_ROWS, BulkWriter
from keyaccount.store._importer import CustomerBatch, Importer, RevenueBatch, ensure_catalog
from keyaccount.store._progress import Reporter, reporter
from keyaccount.utils import elapsed, logger, paused_gc

if TYPE_CHECKING:
    import os
    from collections.abc import Generator, Iterable, Iterator, Sequence

    from keyaccount.domain import ProductCatalog
    from keyaccount.store._engine import Database

__all__ = [
    "CustomerSource",
    "ImportReport",
    "RevenueSource",
    "import_csv",
    "import_rows",
    "run_import",
]

_RAISE = ErrorPolicy()
_log = logger("store")


@attrs.frozen
class ImportReport:
    """What an import wrote.

    Attributes:
        customers: Customers added.
        revenue_rows: Revenue rows added (monthly sums, for transactions).
        rejected: Bad rows written to reject files (0 unless rejects were asked for).
        reject_files: The reject files written, one per input file.
    """

    customers: int = 0
    revenue_rows: int = 0
    rejected: int = 0
    reject_files: tuple[Path, ...] = ()


class _Batches(Protocol):
    def __iter__(self) -> Iterator[RevenueBatch]: ...
    def close(self) -> None: ...


class CustomerSource(Protocol):
    """Where an import's customers come from."""

    def problems(self) -> ProblemSink:
        """The sink for the source's bad rows."""
        ...

    def rows(self, sink: ProblemSink, importer: Importer, bars: Reporter) -> CustomerBatch:
        """The customers; the bad rows a reader finds go to ``sink``."""
        ...


class RevenueSource(Protocol):
    """Where revenue rows of an import come from."""

    def problems(self) -> ProblemSink:
        """The sink for the source's bad rows."""
        ...

    def batches(
        self, sink: ProblemSink, importer: Importer, bars: Reporter, catalog: ProductCatalog
    ) -> _Batches:
        """The batches, read lazily; ``catalog`` is the one product positions refer to."""
        ...


def run_import(
    db: Database,
    customers: CustomerSource | None,
    revenue: Sequence[RevenueSource],
    *,
    catalog: ProductCatalog | None,
    large: bool,
    progress: bool | None,
) -> ImportReport:
    """Import ``customers``, then each revenue source, in one transaction.

    Args:
        db: The store's database.
        customers: The new customers, if any.
        revenue: The revenue sources, in order.
        catalog: The catalogue the rows' product positions refer to
            (default: the store's); products the store lacks are added.
        large: Whether the load may be large (see :class:`BulkWriter`).
        progress: Show progress bars (``None``: in a terminal or notebook).

    Raises:
        CsvImportError: in raise mode, the bad rows of the first source that has one.
        PrecisionError: a customer-month beyond its limit, counting the stored revenue.
    """
    with (
        reporter(progress) as bars,
        paused_gc(),
        db.transaction(write=True, bulk=True) as conn,
        BulkWriter(conn, large=large) as writer,
    ):
        store_catalog, product_map = ensure_catalog(conn, writer, catalog)
        importer = Importer(conn, writer, store_catalog, product_map)
        read_with = catalog if catalog is not None else store_catalog
        if customers is not None:
            with customers.problems() as sink:
                importer.add_customers(customers.rows(sink, importer, bars), sink)
        for source in revenue:
            with (
                source.problems() as sink,
                contextlib.closing(source.batches(sink, importer, bars, read_with)) as batches,
            ):
                for batch in batches:
                    importer.add_revenue(batch, sink)
                importer.end_source(sink)
        phase = bars.phase("building indexes")
        writer.finish()
        bars.done(phase)
        return ImportReport(importer.customers_added, importer.revenue_added)


# ---------------------------------------------------------------- columns


@attrs.frozen
class _GivenCustomers:
    """Customers the caller holds as columns; bad rows raise, named by ``source``."""

    data: CustomerBatch
    source: str

    def problems(self) -> ProblemSink:
        return ProblemSink(self.source, _RAISE)

    def rows(self, sink: ProblemSink, importer: Importer, bars: Reporter) -> CustomerBatch:
        return self.data


@attrs.frozen
class _GivenRevenue:
    """Revenue batches the caller hands over one at a time; bad rows raise."""

    data: Iterable[RevenueBatch]
    source: str

    def problems(self) -> ProblemSink:
        return ProblemSink(self.source, _RAISE)

    def batches(
        self, sink: ProblemSink, importer: Importer, bars: Reporter, catalog: ProductCatalog
    ) -> Generator[RevenueBatch]:
        tick = bars.file(f"importing {self.source}")
        for batch in self.data:
            yield batch
            if tick is not None:
                tick(importer.revenue_added, 0, 0)


def import_rows(
    db: Database,
    customers: CustomerBatch | None,
    revenue: Iterable[RevenueBatch],
    catalog: ProductCatalog | None,
    customers_source: str,
    revenue_source: str,
    progress: bool | None,
) -> ImportReport:
    """Import customers and revenue batches given as columns (see ``Store.import_rows``)."""
    start = time.perf_counter()
    # Batches held in a list can be counted; an iterator may be of any size.
    large = (customers is not None and len(customers) >= LARGE_ROWS) or (
        not isinstance(revenue, (list, tuple)) or sum(len(batch) for batch in revenue) >= LARGE_ROWS
    )
    report = run_import(
        db,
        None if customers is None else _GivenCustomers(customers, customers_source),
        [_GivenRevenue(revenue, revenue_source)],
        catalog=catalog,
        large=large,
        progress=progress,
    )
    return _logged(report, start)


# ---------------------------------------------------------------- CSV files


@attrs.frozen
class _CustomersFile:
    """A customers file, read and checked by :func:`~keyaccount.io.read_customers_csv`."""

    path: Path
    rejects: RejectFiles

    def problems(self) -> ProblemSink:
        return self.rejects.sink(self.path)

    def rows(self, sink: ProblemSink, importer: Importer, bars: Reporter) -> CustomerBatch:
        return read_customers_csv(
            self.path,
            errors=sink,
            known_customers=importer.ids,
            progress=bars.file(f"customers {self.path.name}"),
        )


@attrs.frozen
class _RevenueFile:
    """A revenue or raw transactions file (``kind``), streamed by its reader."""

    path: Path
    kind: str
    rejects: RejectFiles
    batch_rows: int

    def problems(self) -> ProblemSink:
        return self.rejects.sink(self.path)

    def batches(
        self, sink: ProblemSink, importer: Importer, bars: Reporter, catalog: ProductCatalog
    ) -> _Batches:
        read = iter_revenue_csv if self.kind == "revenue" else iter_transactions_csv
        return read(
            self.path,
            catalog=catalog,
            errors=sink,
            batch_rows=self.batch_rows,
            # The reader checks customer ids against the store's (and the file's new
            # ones), so its error or reject file lists them in line order with their
            # original text; the store checks again as it writes.
            known_customers=importer.ids,
            progress=bars.file(f"{self.kind} {self.path.name}"),
        )


def import_csv(
    db: Database,
    customers: str | os.PathLike[str] | None,
    revenue: str | os.PathLike[str] | None,
    transactions: str | os.PathLike[str] | None,
    reject_dir: str | os.PathLike[str] | None,
    catalog: ProductCatalog | None,
    batch_rows: int,
    progress: bool | None,
) -> ImportReport:
    """Import CSV files (see ``Store.import_csv``); reject files are renamed into place."""
    start = time.perf_counter()
    files = [Path(p) for p in (customers, revenue, transactions) if p is not None]
    with reject_files(reject_dir, files) as rejects:
        large = sum(p.stat().st_size for p in files if p.exists()) >= LARGE_BYTES
        streams = [
            _RevenueFile(Path(path), kind, rejects, batch_rows)
            for path, kind in ((revenue, "revenue"), (transactions, "transactions"))
            if path is not None
        ]
        report = run_import(
            db,
            None if customers is None else _CustomersFile(Path(customers), rejects),
            streams,
            catalog=catalog,
            large=large,
            progress=progress,
        )
        report = attrs.evolve(report, rejected=rejects.rejected, reject_files=tuple(rejects.files))
    return _logged(report, start)


def _logged(report: ImportReport, start: float) -> ImportReport:
    """``report``, logged (counts and duration, no row's content)."""
    _log.info(
        "import: %d customers and %d revenue rows written, %d rows rejected, in %.3f s",
        report.customers,
        report.revenue_rows,
        report.rejected,
        elapsed(start),
    )
    return report
