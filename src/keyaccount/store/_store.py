"""The :class:`Store`: a portfolio kept in SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, Literal, ParamSpec, TypeVar

import attrs
import numpy as np

from keyaccount.domain import (
    Change,
    Customer,
    Period,
    ProductCatalog,
    ProjectGroup,
    Segment,
    Tier,
)
from keyaccount.exceptions import (
    CsvImportError,
    KeyAccountError,
    StoreNotEmptyError,
    StoreNotFoundError,
    ValidationError,
)
from keyaccount.io import (
    ErrorPolicy,
    iter_revenue_csv,
    iter_transactions_csv,
    read_customers_csv,
    write_customers_csv,
    write_revenue_csv,
)
from keyaccount.io import RevenueRows as _IoRevenueRows
from keyaccount.store._bulk import BulkWriter
from keyaccount.store._engine import (
    check_sqlite_file,
    create_store_engine,
    database_errors,
    display_url,
    resolve_url,
    sqlite_path,
    transaction,
)
from keyaccount.store._history import (
    CustomerState,
    RecordedChange,
    apply_changes,
    query_changes,
    state_as_of,
)
from keyaccount.store._import import (
    CustomerBatch,
    Importer,
    ImportReport,
    RevenueBatch,
    RowProblems,
    ensure_catalog,
)
from keyaccount.store._mapping import group_to_db, member_to_db
from keyaccount.store._progress import reporter
from keyaccount.store._reads import (
    RevenueTable,
    Selection,
    _read_customer_columns,
    find_customers,
    get_customer,
    get_project_group,
    iter_revenue_blocks,
    load_portfolio,
    read_catalog,
    read_project_groups,
    read_revenue_table,
)
from keyaccount.store._schema import SCHEMA_VERSION, ensure_schema
from keyaccount.store._tables import TABLES
from keyaccount.utils import atomic_outputs, output_error, paused_gc

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Generator
    from types import TracebackType

    import sqlalchemy as sa

    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules import Evaluation, Policy

__all__ = ["ExportReport", "Store"]

_Periodish = Period | str | None
_Segmentish = Segment | str | Iterable[Segment | str] | None
_Ids = Iterable[str] | str | None


def _period(value: _Periodish) -> Period | None:
    return None if value is None else Period.parse(value)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _translated(
    method: Callable[Concatenate[Store, _P], _R],
) -> Callable[Concatenate[Store, _P], _R]:
    """Run a store method with database errors translated (see ``_engine.database_error``)."""

    @functools.wraps(method)
    def run(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with database_errors(self._url):
            return method(self, *args, **kwargs)

    return run


@attrs.frozen
class ExportReport:
    """What an export wrote.

    Attributes:
        customers: Customers written.
        revenue_rows: Revenue rows written.
    """

    customers: int = 0
    revenue_rows: int = 0


class Store:
    """A portfolio kept in a database: SQLite (a file, or memory) or PostgreSQL.

    Opening a store checks the schema version recorded in the database and
    creates the tables in a database that has none; nothing is read or
    written when the library is imported. Every write is one transaction:
    it is applied whole or not at all, whatever fails part-way.

    Args:
        url: ``None`` for the SQLite file ``keyaccount.db`` in the current
            directory; a path, or ``"sqlite:///path.db"``, for a SQLite file;
            ``"sqlite://"`` for a private in-memory database (tests,
            notebooks); ``"postgresql+psycopg://user@host/db"`` for
            PostgreSQL (``postgresql://`` picks psycopg too; install the
            ``postgresql`` extra).
        create: Create the store when it does not exist (the SQLite file, or
            the tables in an empty database). With ``create=False`` a missing
            store raises :class:`~keyaccount.exceptions.StoreNotFoundError`
            and nothing is created: open stores you only read this way.
        echo: Log every SQL statement (SQLAlchemy's ``echo``).
        busy_timeout: Seconds a writer waits for another writer (SQLite's write
            lock, or the store's advisory write lock on PostgreSQL) before
            :class:`~keyaccount.exceptions.StoreBusyError` (default 60 s).

    Raises:
        SchemaVersionError: the database was written by a version of the
            library with another schema; it is left untouched.
        StoreNotFoundError: ``create`` is false and there is no store there
            (no file, an empty file, or a database without keyaccount tables).
        StoreUnavailableError: the path or URL cannot be used: a directory,
            a device, a file that is not a SQLite database or is damaged, a
            missing directory, a server that refuses the connection. The
            message names the file or the URL (without its password).

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> from keyaccount.store import Store
        >>> pf = Portfolio([Customer("C1", "某中院", "2022-01", segment="司法")],
        ...                [RevenueRecord("C1", "court_express", "2022-05", "880.00")])
        >>> with Store("sqlite://") as store:
        ...     store.save(pf)
        ...     back = store.load()
        >>> back.customer("C1") == pf.customer("C1")
        True
    """

    schema_version = SCHEMA_VERSION
    """The schema version this library reads and writes."""

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        echo: bool = False,
        busy_timeout: float | None = None,
    ) -> None:
        self._url = resolve_url(url)
        existed = check_sqlite_file(self._url, create=create)
        self._engine = create_store_engine(self._url, echo=echo, busy_timeout=busy_timeout)
        try:
            with database_errors(self._url):
                self._open(create)
        except BaseException:
            self._engine.dispose()
            if not existed:
                _remove_empty_file(sqlite_path(self._url))
            raise

    def _open(self, create: bool) -> None:
        with transaction(self._engine, write=False) as conn:
            if ensure_schema(conn, self.url, create=False):
                return
        if not create:
            raise StoreNotFoundError(
                self.url,
                f"no keyaccount store in {self.url}: the database holds no keyaccount tables; "
                "check the path or URL (a store is created by an import or a save into it)",
            )
        with transaction(self._engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                # Two processes opening a new database at once create the tables once.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242424242)")
            ensure_schema(conn, self.url, create=True)

    # ------------------------------------------------------------------ basics

    @property
    def url(self) -> str:
        """The database URL, without a password."""
        return display_url(self._url)

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self._engine.dialect.name == "sqlite" else "postgresql"

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, for your own queries (see ``docs/store.md`` for the tables)."""
        return self._engine

    def close(self) -> None:
        """Release the database connections (an in-memory database is gone afterwards)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.url}>"

    @_translated
    def counts(self) -> dict[str, int]:
        """Rows per kind: customers, revenue, products, project_groups, changes."""
        tables = {
            "customers": "ka_customer",
            "revenue": "ka_revenue",
            "products": "ka_product",
            "project_groups": "ka_project_group",
            "changes": "ka_change",
        }
        with transaction(self._engine, write=False) as conn:
            return {
                kind: int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())
                for kind, table in tables.items()
            }

    def is_empty(self) -> bool:
        """Whether the store holds no customers, revenue, products, groups or changes."""
        return not any(self.counts().values())

    # ------------------------------------------------------------------ whole portfolio

    @_translated
    def save(self, portfolio: Portfolio, *, replace: bool = False) -> None:
        """Write a whole portfolio: customers, catalogue, revenue and project groups.

        Customers are stored in portfolio order (their position is their key).
        Written in one transaction with the bulk paths, so a large portfolio
        saves fast and a failure leaves the store as it was.

        Args:
            portfolio: The portfolio.
            replace: When the store already holds data, delete all of it first
                (customers, revenue, products, project groups and the change
                history). Without it, saving into a store that holds data is
                refused.

        Raises:
            StoreNotEmptyError: the store holds data and ``replace`` is false.
        """
        with paused_gc(), transaction(self._engine, write=True, bulk=True) as conn:
            held = conn.exec_driver_sql(
                "SELECT (SELECT COUNT(*) FROM ka_customer) + (SELECT COUNT(*) FROM ka_product)"
                " + (SELECT COUNT(*) FROM ka_project_group)"
            ).scalar_one()
            if held:
                if not replace:
                    raise StoreNotEmptyError(
                        f"store {self.url} already holds a portfolio; pass replace=True to "
                        "replace it (its change history is deleted too), or import into it"
                    )
                _delete_all(conn)
            large = max(len(portfolio), len(portfolio.revenue_columns)) >= _LARGE_ROWS
            with BulkWriter(conn, large=large) as writer:
                _write_portfolio(writer, portfolio)

    @_translated
    def load(
        self,
        *,
        start: _Periodish = None,
        end: _Periodish = None,
        customer_ids: _Ids = None,
        segment: _Segmentish = None,
        project_group: str | None = None,
        tier: Tier | str | None = None,
    ) -> Portfolio:
        """Read the portfolio back, whole or in part.

        Without arguments: everything :meth:`save` and the imports wrote.
        With months and/or a selection of customers, only that part is read:
        the selected customers plus all their ancestors (so that every
        ``parent_id`` stays valid), their revenue within ``start``..``end``,
        the whole catalogue, and the project groups with only the customers
        the result holds.

        Args:
            start: First month of revenue to read (default: the earliest).
            end: Last month of revenue to read (default: the latest).
            customer_ids: Only these customers.
            segment: Only customers of this segment (or these segments).
            project_group: Only customers owned by this project group.
            tier: Only customers of this tier.

        Raises:
            UnknownProjectGroupError: ``project_group`` is not in the store.
            PrecisionError: stored rows beyond the limits of ``docs/limits.md``
                (written by other means): the message names the row, or the
                customer and month.
        """
        selection = Selection.of(
            customer_ids=customer_ids, segment=segment, project_group=project_group, tier=tier
        )
        with paused_gc(), transaction(self._engine, write=False) as conn:
            return load_portfolio(conn, selection, _period(start), _period(end))

    # ------------------------------------------------------------------ partial reads

    @_translated
    def customer(self, customer_id: str) -> Customer:
        """One customer, as stored now.

        Raises:
            UnknownCustomerError: the store holds no such customer.
        """
        with transaction(self._engine, write=False) as conn:
            return get_customer(conn, customer_id)

    @_translated
    def customers(
        self,
        *,
        customer_ids: _Ids = None,
        segment: _Segmentish = None,
        project_group: str | None = None,
        tier: Tier | str | None = None,
    ) -> list[Customer]:
        """The customers matching every given criterion (all without one), in portfolio order."""
        selection = Selection.of(
            customer_ids=customer_ids, segment=segment, project_group=project_group, tier=tier
        )
        with transaction(self._engine, write=False) as conn:
            return find_customers(conn, selection)

    @_translated
    def project_group(self, group_id: str) -> ProjectGroup:
        """One project group with its members and customers.

        Raises:
            UnknownProjectGroupError: the store holds no such group.
        """
        with transaction(self._engine, write=False) as conn:
            return get_project_group(conn, group_id)

    @_translated
    def project_groups(self) -> tuple[ProjectGroup, ...]:
        """All project groups, in the order they were saved."""
        with transaction(self._engine, write=False) as conn:
            return tuple(read_project_groups(conn))

    @_translated
    def catalog(self) -> ProductCatalog:
        """The store's product catalogue (the default one while none is stored)."""
        with transaction(self._engine, write=False) as conn:
            return read_catalog(conn)

    @_translated
    def revenue(
        self,
        start: _Periodish = None,
        end: _Periodish = None,
        *,
        customer_ids: _Ids = None,
        segment: _Segmentish = None,
        project_group: str | None = None,
        tier: Tier | str | None = None,
    ) -> RevenueTable:
        """Revenue records within ``start``..``end`` (both included, either open) as columns.

        Optionally only of the customers matching every given criterion
        (no ancestors are added here).
        """
        selection = Selection.of(
            customer_ids=customer_ids, segment=segment, project_group=project_group, tier=tier
        )
        with transaction(self._engine, write=False) as conn:
            return read_revenue_table(conn, selection, _period(start), _period(end))

    # ------------------------------------------------------------------ bulk import

    @_translated
    def import_rows(
        self,
        customers: CustomerBatch | None = None,
        revenue: Iterable[RevenueBatch] = (),
        *,
        catalog: ProductCatalog | None = None,
        customers_source: str = "<customers>",
        revenue_source: str = "<revenue>",
        progress: bool | None = None,
    ) -> ImportReport:
        """Import customers and batches of revenue rows given as columns, in one transaction.

        This is the path :meth:`import_csv` takes after reading the files;
        use it to import from another source. ``customers`` has the columns
        of :class:`keyaccount.io.CustomerRows` and each revenue batch those
        of :class:`keyaccount.io.RevenueRows`. The batches are read lazily,
        one at a time, so memory stays bounded by one batch.

        Any bad row (see :meth:`import_csv`) makes the whole import fail
        and nothing is written.

        Args:
            customers: New customers (ids the store does not hold yet).
            revenue: Batches of revenue rows of customers in the store or in ``customers``.
            catalog: The catalogue the batches' ``product`` positions refer to
                (default: the store's); products it has and the store lacks are added.
            customers_source: How messages name the customers' source.
            revenue_source: How messages name the revenue's source.
            progress: Show a progress bar (``None``: in a terminal or notebook).

        Raises:
            CsvImportError: every bad row found, named by source and line.
            InvalidMoneyError: a row beyond the per-record amount limit.
            PrecisionError: a customer-month, counting the revenue already
                stored, beyond 10**13 - 1 fen of absolute revenue or parcels.
        """
        # Batches held in a list can be counted; an iterator may be of any size.
        large = (customers is not None and len(customers) >= _LARGE_ROWS) or (
            not isinstance(revenue, (list, tuple))
            or sum(len(batch) for batch in revenue) >= _LARGE_ROWS
        )
        with (
            reporter(progress) as bars,
            paused_gc(),
            transaction(self._engine, write=True, bulk=True) as conn,
            BulkWriter(conn, large=large) as writer,
        ):
            store_catalog, product_map = ensure_catalog(conn, writer, catalog)
            importer = Importer(conn, writer, store_catalog, product_map)
            if customers is not None:
                problems = RowProblems(customers_source)
                importer.add_customers(customers, problems)
                problems.finish()
            problems = RowProblems(revenue_source)
            tick = bars.file(f"importing {revenue_source}")
            for batch in revenue:
                importer.add_revenue(batch, problems)
                if tick is not None:
                    tick(importer.revenue_added, 0, 0)
            problems.finish()
            phase = bars.phase("building indexes")
            writer.finish()
            bars.done(phase)
            return ImportReport(importer.customers_added, importer.revenue_added)

    @_translated
    def import_csv(
        self,
        customers: str | os.PathLike[str] | None = None,
        revenue: str | os.PathLike[str] | None = None,
        transactions: str | os.PathLike[str] | None = None,
        *,
        reject_dir: str | os.PathLike[str] | None = None,
        catalog: ProductCatalog | None = None,
        batch_rows: int = 500_000,
        progress: bool | None = None,
    ) -> ImportReport:
        """Import CSV files (any of the three formats) in one transaction.

        Formats (``docs/import-export.md``): customers
        ``customer_id,name,segment,sub_segment,tier,parent_id,province,first_period[,tier_since]``;
        revenue ``customer_id,period,product_id,revenue,volume``; raw
        transactions ``customer_id,date,amount[,product_id]``, summed to
        monthly revenue. Customers are imported first, so the revenue files
        may name them. Files are streamed: memory is bounded by one batch of
        revenue rows (and the ids of the customers), not by the file size.

        A bad row is one the reader refuses (syntax, labels, money, ...) or
        one the store refuses: a customer id the store already holds, a
        parent neither in the file nor in the store, a revenue row of a
        customer the store does not hold or before that customer's first
        period. Without ``reject_dir`` any bad row fails the import and
        nothing is written; the error lists every bad row of the first file
        that has one, with file, line, column, value and reason. With
        ``reject_dir`` the good rows are written and every bad row goes to
        ``<reject_dir>/<file name>.rejects.csv`` with its reason (a revenue
        row of a rejected customer is rejected too).

        The reader stops handing rows on at the first bad row it finds
        itself, so revenue before a customer's first period is listed only
        among the rows before that one; every other bad row is listed.

        Args:
            customers: The customers file.
            revenue: The revenue file.
            transactions: The raw transactions file.
            reject_dir: Write the good rows and put bad ones in reject files here.
            catalog: The catalogue product ids are read with (default: the
                store's); products the store lacks are added.
            batch_rows: Revenue rows per batch.
            progress: Show progress bars (``None``: in a terminal or notebook).

        Returns:
            What was written and rejected.

        Raises:
            CsvFileNotFoundError, CsvHeaderError: a missing file or a bad header.
            CsvImportError: without ``reject_dir``, the bad rows of a file.
            PrecisionError: a customer-month, counting the revenue already
                stored, beyond 10**13 - 1 fen of absolute revenue or parcels.
        """
        reject_root = None if reject_dir is None else Path(reject_dir)
        files = [Path(p) for p in (customers, revenue, transactions) if p is not None]
        if reject_root is not None:
            names = [p.name for p in files]
            if len(set(names)) != len(names):
                raise ValidationError(
                    f"input files {', '.join(map(str, files))} share a name; their reject "
                    f"files in {reject_root} would clash"
                )
        made = [] if reject_root is None else _make_directory(reject_root)
        temporaries: list[Path] = []
        try:
            return self._import_files(
                customers,
                revenue,
                transactions,
                files,
                reject_root,
                temporaries,
                catalog,
                batch_rows,
                progress,
            )
        except OSError as exc:
            _remove_files(temporaries)
            _remove_empty_directories(made)
            if reject_root is None or isinstance(exc, KeyAccountError) or exc.filename is not None:
                raise
            # Writing a reject file failed (a full disk, a read-only file system).
            raise output_error(reject_root, exc, "cannot write reject files in") from None
        except BaseException:
            _remove_files(temporaries)
            _remove_empty_directories(made)
            raise

    def _import_files(
        self,
        customers: str | os.PathLike[str] | None,
        revenue: str | os.PathLike[str] | None,
        transactions: str | os.PathLike[str] | None,
        files: list[Path],
        reject_root: Path | None,
        temporaries: list[Path],
        catalog: ProductCatalog | None,
        batch_rows: int,
        progress: bool | None,
    ) -> ImportReport:
        """:meth:`import_csv` after its checks: reject files are renamed into place on commit."""
        reject_files: list[Path] = []

        def policy(path: Path) -> tuple[ErrorPolicy, Path | None]:
            if reject_root is None:
                return ErrorPolicy(), None
            target = reject_root / f"{path.name}.rejects.csv"
            temporary = group.add(target)
            reject_files.append(target)
            temporaries.append(temporary)
            return ErrorPolicy.reject(temporary), temporary

        large = sum(p.stat().st_size for p in files if p.exists()) >= _LARGE_BYTES
        # The reject files are renamed into place after the transaction commits.
        with (
            atomic_outputs() as group,
            reporter(progress) as bars,
            paused_gc(),
            transaction(self._engine, write=True, bulk=True) as conn,
            BulkWriter(conn, large=large) as writer,
        ):
            store_catalog, product_map = ensure_catalog(conn, writer, catalog)
            read_catalog_ = catalog if catalog is not None else store_catalog
            importer = Importer(conn, writer, store_catalog, product_map)
            if customers is not None:
                path = Path(customers)
                errors, target = policy(path)
                problems = RowProblems(os.fspath(path), target)
                try:
                    rows = read_customers_csv(
                        path,
                        errors=errors,
                        known_customers=importer.ids,
                        progress=bars.file(f"customers {path.name}"),
                    )
                except CsvImportError as exc:
                    problems.reader_failed(exc)
                else:
                    importer.add_customers(rows, problems)
                    del rows  # the file's columns are not needed while revenue is read
                problems.finish()
            readers = (
                (revenue, iter_revenue_csv, "revenue"),
                (transactions, iter_transactions_csv, "transactions"),
            )
            for source, reader, kind in readers:
                if source is None:
                    continue
                path = Path(source)
                errors, target = policy(path)
                problems = RowProblems(os.fspath(path), target)
                batches = reader(
                    path,
                    catalog=read_catalog_,
                    errors=errors,
                    batch_rows=batch_rows,
                    # The reader checks customer ids against the store's (and the file's
                    # new ones), so its error or reject file lists them in line order with
                    # their original text; the store checks again as it writes.
                    known_customers=importer.ids,
                    progress=bars.file(f"{kind} {path.name}"),
                )
                try:
                    for batch in batches:
                        importer.add_revenue(batch, problems)
                except CsvImportError as exc:
                    problems.reader_failed(exc)
                finally:
                    batches.close()
                problems.finish()
            phase = bars.phase("building indexes")
            writer.finish()
            bars.done(phase)
            return ImportReport(
                importer.customers_added,
                importer.revenue_added,
                sum(_count_rows(p) for p in temporaries),
                tuple(reject_files),
            )

    # ------------------------------------------------------------------ export

    @_translated
    def export_csv(
        self,
        customers: str | os.PathLike[str] | None = None,
        revenue: str | os.PathLike[str] | None = None,
        *,
        lang: Literal["en", "zh"] = "en",
        progress: bool | None = None,
    ) -> ExportReport:
        """Write the stored customers and revenue as CSV files that :meth:`import_csv` reads back.

        Export then import into an empty store (with the same catalogue) is
        lossless: the same customers and the same revenue records. Revenue
        is streamed from the database in batches.

        Args:
            customers: The customers file to write (all nine columns).
            revenue: The revenue file to write.
            lang: ``"en"`` writes segment, sub-segment and tier names,
                ``"zh"`` their Chinese labels; both read back.
            progress: Show a progress bar (``None``: in a terminal or notebook).
        """
        n_customers = n_revenue = 0
        # Both files are written to temporaries and renamed into place when both are complete.
        with (
            atomic_outputs(),
            reporter(progress) as bars,
            paused_gc(),
            transaction(self._engine, write=False) as conn,
        ):
            keys, columns = _read_customer_columns(conn, None)
            if customers is not None:
                n_customers = write_customers_csv(customers, columns, lang=lang)
            if revenue is not None:
                catalog = read_catalog(conn)
                ids = columns.id

                def batches() -> Generator[_IoRevenueRows]:
                    for block in iter_revenue_blocks(conn):
                        yield _IoRevenueRows(
                            np.zeros(len(block), dtype=np.int64),
                            ids[np.searchsorted(keys, block[:, 0])],
                            block[:, 1].astype(np.int32),
                            block[:, 2].astype(np.int32),
                            block[:, 3].copy(),
                            block[:, 4].copy(),
                        )

                # Closed here, while the connection is open, even when writing fails.
                with contextlib.closing(batches()) as blocks:
                    n_revenue = write_revenue_csv(
                        revenue,
                        blocks,
                        catalog=catalog,
                        progress=bars.file(f"revenue {Path(revenue).name}"),
                    )
        return ExportReport(n_customers, n_revenue)

    # ------------------------------------------------------------------ in the database

    @_translated
    def metrics(self, as_of: Period | str, *, rollup: bool = False) -> MetricsTable:
        """The metrics table as of ``as_of``, computed inside the database.

        Equal to ``store.load().metrics(as_of, rollup=rollup)`` without loading
        the revenue: one query computes the metrics, another the trailing-12
        revenue per product (``docs/rules.md``, "Evaluating in the database").

        Raises:
            PrecisionError: with ``rollup``, a group whose absolute revenue in a
                24-month window (or volume in 12 months) reaches 2**53 fen, named,
                on both databases; or stored rows beyond the limits of
                ``docs/limits.md``, naming the customer and month.
        """
        from keyaccount.store.sql._metrics import read_metrics, snapshot

        with snapshot(self._engine) as conn:
            return read_metrics(conn, Period.parse(as_of), rollup=rollup)

    @_translated
    def evaluate(self, policy: Policy, as_of: Period | str, *, rollup: bool = False) -> Evaluation:
        """Evaluate a policy inside the database (the SQL evaluator).

        The policy is compiled to SQL; the revenue never leaves the database.
        The result equals ``policy.evaluate(store.load(), as_of)``: the same
        decisions, transitions, held demotions and explanations.

        Args:
            policy: The policy; its rules may name the built-in metrics and
                ``share()`` of stored products, not user metrics.
            as_of: The as-of month.
            rollup: Evaluate group roll-ups.

        Raises:
            PolicyError: a rule names a user metric, or the policy's deeply nested
                conditions need more columns than one query may have (about 800
                rules each nested to the limit): evaluate it in memory.
            UnknownProductError: a ``share()`` names a product the store does not hold.
            PrecisionError: PostgreSQL refused a float64 overflow or underflow
                of a condition (IEEE arithmetic would give ``inf`` or ``0``); with
                ``rollup``, a group whose absolute revenue in a 24-month window
                reaches 2**53 fen; stored rows beyond the limits.
        """
        from keyaccount.store.sql._metrics import snapshot
        from keyaccount.store.sql._rules import evaluate_in_database

        with snapshot(self._engine) as conn:
            return evaluate_in_database(conn, policy, as_of, rollup=rollup)

    # ------------------------------------------------------------------ history

    @_translated
    def apply(
        self, changes: Iterable[Change], *, recorded_at: dt.datetime | None = None
    ) -> tuple[RecordedChange, ...]:
        """Apply tier and segment changes and record them in the history, all or nothing.

        Changes apply in order (a batch may move one customer twice): a tier
        change sets the tier and ``tier_since`` to the change's period; a
        segment change sets the segment and clears a sub-segment that does
        not belong to the new one. The whole batch is one transaction: if
        any change is refused, or anything fails part-way (an exception
        from the iterable, a lost connection, a killed process), nothing of
        the batch is applied or recorded.

        Concurrent writers lose no update: on PostgreSQL the customers are
        locked (``SELECT ... FOR UPDATE``) before their current values are
        checked, and on SQLite writers take the database's write lock in
        turn. A change decided on a value another writer has changed since
        raises :class:`~keyaccount.exceptions.StaleChangeError`.

        Args:
            changes: :class:`~keyaccount.TierChange` and
                :class:`~keyaccount.SegmentChange` values, read lazily.
            recorded_at: The time to record (default: now, UTC).

        Returns:
            The recorded changes, in order.

        Raises:
            UnknownCustomerError: a change of a customer the store does not hold.
            StaleChangeError: a change whose ``before`` is not the current value.
            ValidationError: a change before the customer's first period, or
                before the last recorded change of the same attribute.
        """
        with transaction(self._engine, write=True) as conn:
            return tuple(apply_changes(conn, changes, recorded_at))

    def record_change(
        self, change: Change, *, recorded_at: dt.datetime | None = None
    ) -> RecordedChange:
        """Apply and record one change (see :meth:`apply`)."""
        return self.apply([change], recorded_at=recorded_at)[0]

    @_translated
    def changes(
        self,
        start: _Periodish = None,
        end: _Periodish = None,
        *,
        customer_id: str | None = None,
        attribute: Literal["tier", "segment"] | None = None,
    ) -> list[RecordedChange]:
        """Recorded changes taking effect within ``start``..``end`` (both included, either open).

        Ordered by period, then by the order they were recorded.

        Args:
            start: First month.
            end: Last month.
            customer_id: Only this customer's changes.
            attribute: Only ``"tier"`` or only ``"segment"`` changes.
        """
        if attribute not in (None, "tier", "segment"):
            raise ValidationError(f"attribute must be 'tier' or 'segment', got {attribute!r}")
        with transaction(self._engine, write=False) as conn:
            return query_changes(
                conn,
                start=_period(start),
                end=_period(end),
                customer_id=customer_id,
                attribute=attribute,
            )

    @_translated
    def state_as_of(self, customer_id: str, period: Period | str) -> CustomerState:
        """The tier and segment ``customer_id`` had in ``period``, from the recorded history.

        Raises:
            UnknownCustomerError: no such customer.
            ValidationError: ``period`` is before the customer's first period.
        """
        with transaction(self._engine, write=False) as conn:
            return state_as_of(conn, customer_id, Period.parse(period))


# ---------------------------------------------------------------------- helpers


def _make_directory(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; the directories created, deepest first.

    Raises:
        OutputError: a directory cannot be created.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty_directories(missing)
        raise output_error(path, exc, "cannot create the reject directory") from None
    return missing


def _remove_files(paths: list[Path]) -> None:
    """Remove the temporary reject files of a failed import (also inside a caller's group)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_empty_directories(paths: list[Path]) -> None:
    """Remove the directories an import created, deepest first, where they are empty."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.rmdir()


def _remove_empty_file(path: Path | None) -> None:
    """Remove a SQLite file a failed open created, when it holds nothing (0 bytes)."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def _count_rows(path: Path) -> int:
    """Data rows in a reject file (its header not counted)."""
    import csv

    if not path.exists():
        return 0
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def _delete_all(conn: sa.Connection) -> None:
    names = [t.name for t in reversed(TABLES) if t.name != "ka_schema"]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)}")
        return
    for name in names:
        conn.exec_driver_sql(f"DELETE FROM {name}")


_REVENUE_CHUNK = 500_000
_LARGE_ROWS = 50_000
"""From this many rows on, a load into empty tables builds their indexes after it."""
_LARGE_BYTES = 4 << 20
"""CSV files of this total size or more count as a large load (see ``_LARGE_ROWS``)."""


def _write_portfolio(writer: BulkWriter, portfolio: Portfolio) -> None:
    from keyaccount.store._mapping import customer_tuples, product_to_db

    products = [product_to_db(p, key=i) for i, p in enumerate(portfolio.products.products)]
    product_columns = ("product_key", "product_id", "name_en", "name_zh", "segments")
    writer.insert(
        "ka_product",
        product_columns,
        [tuple(getattr(p, c) for c in product_columns) for p in products],
    )
    cols = portfolio.customer_columns
    keys = np.arange(len(cols), dtype=np.int64)
    writer.customers(customer_tuples(cols, keys, cols.parent.astype(np.int64)))
    rev = portfolio.revenue_columns
    for cut in range(0, len(rev), _REVENUE_CHUNK):
        part = slice(cut, cut + _REVENUE_CHUNK)
        writer.revenue(
            rev.customer[part], rev.product[part], rev.period[part], rev.fen[part], rev.volume[part]
        )
    group_columns = ("group_key", "group_id", "name_en", "name_zh", "segment", "international")
    member_columns = ("group_key", "member_index", "name", "role", "full_time")
    groups: list[tuple[object, ...]] = []
    members: list[tuple[object, ...]] = []
    owned: list[tuple[int, int]] = []
    position = portfolio.position
    for gk, group in enumerate(portfolio.project_groups):
        row = group_to_db(group, key=gk)
        groups.append(tuple(getattr(row, c) for c in group_columns))
        for index, member in enumerate(group.members):
            m = member_to_db(member, group_key=gk, index=index)
            members.append(tuple(getattr(m, c) for c in member_columns))
        owned.extend((position(cid), gk) for cid in sorted(group.customer_ids))
    writer.insert("ka_project_group", group_columns, groups)
    writer.insert("ka_project_member", member_columns, members)
    writer.insert("ka_project_customer", ("customer_key", "group_key"), owned)
    writer.finish()
