"""The :class:`Store`: a portfolio kept in SQLite or PostgreSQL.

The class holds the engine and translates database errors; every method
hands its work to the module that does it: opening (``_schema``), reads
(``_reads``), saving (``_save``), bulk import (``_import``) and export
(``_export``), the change history (``_history``), and the SQL metrics and
evaluator (``_in_database``, running :mod:`keyaccount.store.sql`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Concatenate, Literal, ParamSpec, TypeVar

from keyaccount.domain import (
    Change,
    Customer,
    Period,
    ProductCatalog,
    ProjectGroup,
    Segment,
    Tier,
)
from keyaccount.store import _export, _import, _in_database
from keyaccount.store._arrow_load import load_through_arrow
from keyaccount.store._bulk import validate_foreign_keys
from keyaccount.store._engine import Database, Target, database_errors
from keyaccount.store._events import (
    ImportCommitted,
    PortfolioSaved,
    Subscription,
    TransitionsApplied,
    hooks_of,
)
from keyaccount.store._history import (
    CustomerState,
    HistoryEntry,
    RecordedChange,
    apply_changes,
    history_rows,
    query_changes,
    state_as_of,
)
from keyaccount.store._operations import OperationsStore
from keyaccount.store._reads import (
    RevenueTable,
    Selection,
    count_rows,
    find_customers,
    get_customer,
    get_project_group,
    load_portfolio,
    read_catalog,
    read_project_groups,
    read_revenue_table,
)
from keyaccount.store._save import save_portfolio
from keyaccount.store._schema import SCHEMA_VERSION, open_store
from keyaccount.store._upgrade import UpgradeReport, upgrade_store
from keyaccount.utils import logger, paused_gc

if TYPE_CHECKING:
    import datetime as dt

    import sqlalchemy as sa

    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules import Evaluation, Policy
    from keyaccount.store._export import ExportReport
    from keyaccount.store._import import ImportReport
    from keyaccount.store._importer import CustomerBatch, RevenueBatch

__all__ = ["Store"]

_Periodish = Period | str | None
_Segmentish = Segment | str | Iterable[Segment | str] | None
_Ids = Iterable[str] | str | None
_Path = str | os.PathLike[str] | None
_log = logger("store")


def _period(value: _Periodish) -> Period | None:
    return None if value is None else Period.parse(value)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reading(
    db: Database,
    read: Callable[Concatenate[sa.Connection, _P], _R],
    /,
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _R:
    """``read(conn, *args, **kwargs)`` in a read transaction."""
    with db.transaction(write=False) as conn:
        return read(conn, *args, **kwargs)


def _translated(
    method: Callable[Concatenate[Store, _P], _R],
) -> Callable[Concatenate[Store, _P], _R]:
    """Run a store method with database errors translated (see ``_engine.database_error``)."""

    @functools.wraps(method)
    def run(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with database_errors(self._db.url):
            return method(self, *args, **kwargs)

    return run


class Store:
    """A portfolio kept in a database: SQLite (a file, or memory) or PostgreSQL.

    Opening a store checks the schema version recorded in the database and,
    with ``create``, creates the tables in a database that has none; nothing
    is read or written when the library is imported. Every operation is one
    transaction: a write is applied whole or not at all, whatever fails
    part-way. :meth:`open` opens an existing store and never creates or alters
    anything; :meth:`create` (like ``Store(target)``) creates one when there is
    none. One store may be shared by threads, except one given a connection
    (``docs/store.md``, "Threads").

    Args:
        target: Where the store is. ``None`` for the SQLite file
            ``keyaccount.db`` in the current directory; a path, or
            ``"sqlite:///path.db"``, for a SQLite file; ``"sqlite://"`` for a
            private in-memory database (tests, notebooks);
            ``"postgresql+psycopg://user@host/db"`` for PostgreSQL
            (``postgresql://`` picks psycopg too; install the ``postgresql``
            extra). Or your own :class:`sqlalchemy.Engine`: the store takes
            connections from its pool and never disposes of it. Or your own
            :class:`sqlalchemy.Connection`: every operation runs inside your
            transaction, each in a savepoint of its own, and the store never
            commits or rolls back your transaction (``docs/store.md``,
            "Your own engine or connection").
        create: Create the store when it does not exist (the SQLite file, the
            PostgreSQL ``schema``, the tables in a database without any). With
            ``create=False`` (:meth:`open`) a missing store raises
            :class:`~keyaccount.exceptions.StoreNotFoundError` and nothing is
            created: open stores you only read this way.
        schema: PostgreSQL only: the schema that holds the store's tables,
            its ``ka_schema`` row and Alembic's version table (default: the
            connection's ``search_path``, normally ``public``). Stores in two
            schemas of one database are independent.
        echo: Log every SQL statement (SQLAlchemy's ``echo``; for a URL only:
            set ``echo`` on your own engine).
        busy_timeout: Seconds a writer waits for another writer (SQLite's write
            lock, or the store's advisory write lock on PostgreSQL) before
            :class:`~keyaccount.exceptions.StoreBusyError` (default 60 s).

    Raises:
        SchemaVersionError: the database was written with another schema
            version; it is left untouched.
        StoreNotFoundError: ``create`` is false and there is no store there
            (no file, an empty file, or a database without keyaccount tables).
        StoreUnavailableError: the path or URL cannot be used (a directory, a
            device, not a SQLite database or damaged, a missing directory, a
            refused connection); the message names it, without a password.
        ValidationError: a database or driver the store does not talk to,
            ``schema`` on SQLite, or ``echo`` with an engine or connection.

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

    # --- upgrade (helper B) ---
    @classmethod
    def upgrade(cls, target: Target, *, schema: str | None = None) -> UpgradeReport:
        """Upgrade the store at ``target`` to :attr:`schema_version`; a store at it is left as is.

        Opening a store never upgrades it: a store written by an older version of
        the library raises :class:`~keyaccount.exceptions.SchemaVersionError`
        until it is upgraded, here or with ``keyaccount db upgrade --db URL``
        (typically once, at deploy time). The upgrade runs the Alembic revisions
        shipped in the package (``docs/store.md``, "Schema versions and upgrades")
        in one write transaction: all of it or nothing. Other writers, and a
        second upgrader (on PostgreSQL under the store's advisory write lock),
        wait for it; the second then finds nothing to do. In a caller's
        connection the upgrade is part of the caller's transaction, which the
        caller commits.

        Args:
            target: The store, as ``Store`` takes it: a SQLite file path or a
                database URL, or a SQLAlchemy engine or connection.
            schema: The PostgreSQL schema of the store's tables, as ``Store`` takes it.

        Returns:
            The schema version and Alembic revision before and after
            (``upgraded`` is false when the store was at the library's version).

        Raises:
            StoreNotFoundError: there is no store there (nothing is created).
            SchemaVersionError: the store is newer than the library, or holds
                keyaccount tables without a version.
            StoreUnavailableError: the path or URL cannot be used.
            StoreBusyError: another writer held the store longer than the wait.
        """
        return upgrade_store(target, schema=schema)

    # --- end upgrade ---

    def __init__(
        self,
        target: Target = None,
        *,
        create: bool = True,
        schema: str | None = None,
        echo: bool = False,
        busy_timeout: float | None = None,
    ) -> None:
        self._db = open_store(
            target, create=create, schema=schema, echo=echo, busy_timeout=busy_timeout
        )
        _log.info(
            "store opened: %s (%s, schema version %d%s)",
            self.url,
            self.backend,
            SCHEMA_VERSION,
            "" if self._db.connection is None else ", in the caller's connection",
        )

    @classmethod
    def open(
        cls,
        target: Target = None,
        *,
        schema: str | None = None,
        echo: bool = False,
        busy_timeout: float | None = None,
    ) -> Store:
        """Open an existing store (``Store(target, create=False)``); nothing is created or altered.

        Raises:
            StoreNotFoundError: there is no store there (no file, an empty file, or no
                keyaccount tables, in ``schema`` when given).
            SchemaVersionError: the store was written with another schema version.
        """
        return cls(target, create=False, schema=schema, echo=echo, busy_timeout=busy_timeout)

    @classmethod
    def create(
        cls,
        target: Target = None,
        *,
        schema: str | None = None,
        echo: bool = False,
        busy_timeout: float | None = None,
    ) -> Store:
        """Open the store at ``target``, creating it when there is none (``Store(target)``).

        Creates the SQLite file, or on PostgreSQL the ``schema`` (``CREATE SCHEMA IF NOT
        EXISTS``) and the tables, in a database without keyaccount tables; an existing
        store is opened as it is.

        Raises:
            SchemaVersionError: the store was written with another schema version.
        """
        return cls(target, create=True, schema=schema, echo=echo, busy_timeout=busy_timeout)

    @property
    def url(self) -> str:
        """The database URL, without a password."""
        return self._db.shown

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema given with ``schema=`` (``None``: the ``search_path``)."""
        return self._db.schema

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self._db.is_sqlite else "postgresql"

    @property
    def operations(self) -> OperationsStore:
        """The operations room kept here (``docs/store.md``, "Operations")."""
        return OperationsStore(self._db)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, for your own queries (see ``docs/store.md`` for the tables).

        The store's own engine for a URL; yours when you gave an engine or a
        connection (then the connection's engine).
        """
        return self._db.engine

    # ------------------------------------------------------------ events
    # Callbacks run after the commit, in the order registered; docs/events-and-logging.md.

    def on_transitions_applied(
        self, callback: Callable[[TransitionsApplied], object]
    ) -> Subscription:
        """Call ``callback`` with a :class:`TransitionsApplied` after :meth:`apply` commits.

        :meth:`record_change` too. Callbacks run once the transaction has committed
        (in a connection you gave: when you commit it), in the order registered, in
        the committing thread; never when the write fails or is rolled back. One that
        raises is logged on ``keyaccount.events``; the change stays and the other
        callbacks run (``docs/events-and-logging.md``).

        Returns:
            The registration; its ``remove()`` unregisters the callback.
        """
        return hooks_of(self._db).add(TransitionsApplied, callback)

    def on_import_committed(self, callback: Callable[[ImportCommitted], object]) -> Subscription:
        """Call ``callback`` with an :class:`ImportCommitted` after an import commits.

        :meth:`import_csv` and :meth:`import_rows`; as :meth:`on_transitions_applied`.
        """
        return hooks_of(self._db).add(ImportCommitted, callback)

    def on_portfolio_saved(self, callback: Callable[[PortfolioSaved], object]) -> Subscription:
        """Call ``callback`` with a :class:`PortfolioSaved` after :meth:`save` commits.

        As :meth:`on_transitions_applied`.
        """
        return hooks_of(self._db).add(PortfolioSaved, callback)

    def close(self) -> None:
        """Release the store's own connections (an in-memory database is gone afterwards).

        An engine or connection you gave is left as it is: open, and yours to close.
        """
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.url}>"

    @_translated
    def counts(self) -> dict[str, int]:
        """Rows per kind: customers, revenue, products, project_groups, changes."""
        return _reading(self._db, count_rows)

    def is_empty(self) -> bool:
        """Whether the store holds no customers, revenue, products, groups or changes."""
        return not any(self.counts().values())

    @_translated
    def save(
        self,
        portfolio: Portfolio,
        *,
        replace: bool = False,
        history: Iterable[Change | HistoryEntry] | None = None,
        history_source: str = "<history>",
    ) -> None:
        """Write a whole portfolio: customers (in portfolio order), catalogue, revenue, groups.

        One transaction with the bulk paths: a large portfolio saves fast
        and a failure leaves the store as it was. With ``history``, the
        tier and segment changes that led to the portfolio's tiers and
        segments are recorded in the same transaction, as they are: month,
        before and after, rule, actor, reason, explanation, the time each was
        recorded and their order; :meth:`changes` and :meth:`state_as_of`
        then answer as in the store they came from. The portfolio's customers
        are not changed by them: they already hold the result.

        The history is checked before anything is written, and refused whole
        (the first problem named by ``history_source``, the change's position
        from 0, its customer, month and values) when a change names a
        customer the portfolio lacks or a month before the customer's
        ``first_period``, when the changes of one customer's tier (or
        segment) are out of month order or do not form a chain (a ``before``
        that is not the ``after`` of the change before it), or when the last
        one does not end at the customer's tier (segment), the last tier
        change in its ``tier_since``.

        Args:
            portfolio: The portfolio.
            replace: Delete everything the store holds first (the change
                history too); without it, saving into a store that holds
                data is refused.
            history: The changes, in the order they were recorded: plain
                :class:`~keyaccount.TierChange` / :class:`~keyaccount.SegmentChange`
                values (recorded now, numbered 1, 2, ...), or entries that keep
                their time and number: :class:`RecordedChange` from another
                store's :meth:`changes`, :class:`keyaccount.io.ChangeRecord`
                from a Parquet directory. Numbers must rise in order.
            history_source: How messages name the history's source (a file name).

        Raises:
            StoreNotEmptyError: the store holds data and ``replace`` is false.
            UnknownCustomerError: a change of a customer the portfolio does not hold.
            ValidationError: a history that did not lead to the portfolio (above).
        """
        rows = () if history is None else history_rows(portfolio, history, source=history_source)
        with paused_gc(), self._db.transaction(write=True, bulk=True) as conn:
            replaced = save_portfolio(conn, portfolio, replace=replace, url=self.url, history=rows)
            saved = PortfolioSaved(
                self.url,
                len(portfolio),
                len(portfolio.revenue_columns),
                len(portfolio.products.products),
                len(portfolio.project_groups),
                replaced,
                len(rows),
            )
            hooks_of(self._db).after_commit(conn, saved)

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
        """Read the portfolio back, whole (everything saved and imported) or in part.

        A part holds the customers selected by every given criterion plus
        all their ancestors (so every ``parent_id`` stays valid), their
        revenue within ``start``..``end`` (either open), the whole catalogue,
        and the project groups with only the customers the part holds.

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
                (written by other means), naming the row, or the customer and month.
        """
        selection = Selection.of(customer_ids, segment, project_group, tier)
        with paused_gc():
            if selection.everything:
                fast = load_through_arrow(self._db, _period(start), _period(end))
                if fast is not None:
                    return fast
            return _reading(self._db, load_portfolio, selection, _period(start), _period(end))

    @_translated
    def customer(self, customer_id: str) -> Customer:
        """One customer, as stored now.

        Raises:
            UnknownCustomerError: the store holds no such customer.
        """
        return _reading(self._db, get_customer, customer_id)

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
        selection = Selection.of(customer_ids, segment, project_group, tier)
        return _reading(self._db, find_customers, selection)

    @_translated
    def project_group(self, group_id: str) -> ProjectGroup:
        """One project group with its members and customers.

        Raises:
            UnknownProjectGroupError: the store holds no such group.
        """
        return _reading(self._db, get_project_group, group_id)

    @_translated
    def project_groups(self) -> tuple[ProjectGroup, ...]:
        """All project groups, in the order they were saved."""
        return tuple(_reading(self._db, read_project_groups))

    @_translated
    def catalog(self) -> ProductCatalog:
        """The store's product catalogue (the default one while none is stored)."""
        return _reading(self._db, read_catalog)

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

        Optionally only of the customers matching every given criterion (no ancestors added).
        """
        selection = Selection.of(customer_ids, segment, project_group, tier)
        return _reading(self._db, read_revenue_table, selection, _period(start), _period(end))

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

        The path :meth:`import_csv` takes after reading the files, for other
        sources: ``customers`` has the columns of :class:`keyaccount.io.CustomerRows`,
        each revenue batch those of :class:`keyaccount.io.RevenueRows`; batches
        are read lazily, one at a time. Any bad row (see :meth:`import_csv`)
        fails the whole import and nothing is written.

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
        report = _import.import_rows(
            self._db, customers, revenue, catalog, customers_source, revenue_source, progress
        )
        hooks_of(self._db).after_write(self._db, ImportCommitted(self.url, report))
        return report

    @_translated
    def import_csv(
        self,
        customers: _Path = None,
        revenue: _Path = None,
        transactions: _Path = None,
        *,
        reject_dir: _Path = None,
        catalog: ProductCatalog | None = None,
        batch_rows: int = 500_000,
        progress: bool | None = None,
    ) -> ImportReport:
        """Import CSV files (the three formats of ``docs/import-export.md``) in one transaction.

        Customers come first, so revenue and transactions (summed to months)
        may name them; files are streamed (memory: one batch of revenue rows
        and the customer ids). A bad row is one the reader or the store
        refuses (``docs/store.md``, "Bulk import and export"). Without
        ``reject_dir`` any bad row fails the import and nothing is written;
        the error lists the bad rows of the first file that has one. With
        ``reject_dir`` the good rows are written and each bad row goes to
        ``<reject_dir>/<file name>.rejects.csv`` with its reason.

        Args:
            customers: The customers file.
            revenue: The revenue file.
            transactions: The raw transactions file.
            reject_dir: Write the good rows and put bad ones in reject files here.
            catalog: The catalogue product ids are read with (default: the
                store's); products the store lacks are added.
            batch_rows: Revenue rows per batch.
            progress: Show progress bars (``None``: in a terminal or notebook).

        Raises:
            CsvFileNotFoundError, CsvHeaderError: a missing file or a bad header.
            CsvImportError: without ``reject_dir``, the bad rows of a file.
            PrecisionError: a customer-month, counting the revenue already
                stored, beyond 10**13 - 1 fen of absolute revenue or parcels.
        """
        files = (customers, revenue, transactions)
        report = _import.import_csv(self._db, *files, reject_dir, catalog, batch_rows, progress)
        hooks_of(self._db).after_write(self._db, ImportCommitted(self.url, report))
        return report

    @_translated
    def validate_foreign_keys(self) -> tuple[str, ...]:
        """Have the database check every stored row against the store's foreign keys.

        On PostgreSQL a bulk load into an empty revenue table adds its two
        foreign keys ``NOT VALID`` when the load proved every row's customer and
        product itself (``docs/store.md``, "Bulk import and export"): the database
        checks every row written afterwards, and this method has it check the
        rows already there and mark the keys valid (``ALTER TABLE ... VALIDATE
        CONSTRAINT``: reads and writes go on meanwhile). On SQLite it runs
        ``PRAGMA foreign_key_check``. Nothing to validate costs one catalogue query.

        Returns:
            The names of the foreign keys marked valid (none on SQLite).

        Raises:
            ValidationError: a stored row refers to a customer or product the store
                lacks (written by other means); nothing is marked valid.
        """
        with self._db.transaction(write=False) as conn:
            return validate_foreign_keys(conn, self.url)

    @_translated
    def export_csv(
        self,
        customers: _Path = None,
        revenue: _Path = None,
        *,
        lang: Literal["en", "zh"] = "en",
        progress: bool | None = None,
    ) -> ExportReport:
        """Write the stored customers and revenue as CSV files that :meth:`import_csv` reads back.

        Export then import into an empty store (with the same catalogue) is
        lossless. Revenue is streamed in batches; both files are renamed into
        place when both are complete.

        Args:
            customers: The customers file to write (all nine columns).
            revenue: The revenue file to write.
            lang: ``"en"`` writes segment, sub-segment and tier names,
                ``"zh"`` their Chinese labels; both read back.
            progress: Show a progress bar (``None``: in a terminal or notebook).
        """
        return _export.export_csv(self._db, customers, revenue, lang=lang, progress=progress)

    @_translated
    def metrics(self, as_of: Period | str, *, rollup: bool = False) -> MetricsTable:
        """The metrics table as of ``as_of``, computed inside the database.

        Equal to ``store.load().metrics(as_of, rollup=rollup)`` without loading
        the revenue (``docs/rules.md``, "Evaluating in the database").

        Raises:
            PrecisionError: with ``rollup``, a group whose absolute revenue in a
                24-month window (or volume in 12 months) reaches 2**53 fen; or
                stored rows beyond the limits of ``docs/limits.md``; both named.
        """
        return _in_database.metrics(self._db, Period.parse(as_of), rollup=rollup)

    @_translated
    def evaluate(self, policy: Policy, as_of: Period | str, *, rollup: bool = False) -> Evaluation:
        """Evaluate a policy inside the database (the SQL evaluator; the revenue stays there).

        The result equals ``policy.evaluate(store.load(), as_of)``: the same
        decisions, transitions, held demotions and explanations. The policy's
        rules may name the built-in metrics and ``share()`` of stored
        products, not user metrics.

        Raises:
            PolicyError: a rule names a user metric, or deeply nested conditions need
                more columns than one query may have: evaluate the policy in memory.
            UnknownProductError: a ``share()`` names a product the store does not hold.
            PrecisionError: PostgreSQL refused a float64 overflow or underflow of a
                condition; with ``rollup``, a group whose absolute revenue in a 24-month
                window reaches 2**53 fen; stored rows beyond the limits.
        """
        return _in_database.evaluate(self._db, policy, as_of, rollup=rollup)

    @_translated
    def apply(
        self, changes: Iterable[Change], *, recorded_at: dt.datetime | None = None
    ) -> tuple[RecordedChange, ...]:
        """Apply tier and segment changes and record them in the history, all or nothing.

        Changes (:class:`~keyaccount.TierChange`, :class:`~keyaccount.SegmentChange`,
        read lazily) apply in order: a tier change sets the tier and
        ``tier_since`` to its period; a segment change sets the segment and
        clears a sub-segment of another segment. The batch is one transaction:
        if a change is refused or anything fails part-way, nothing of it is
        applied or recorded. Concurrent writers lose no update (``docs/store.md``).

        Args:
            changes: The changes.
            recorded_at: The time to record (default: now, UTC).

        Returns:
            The recorded changes, in order.

        Raises:
            UnknownCustomerError: a change of a customer the store does not hold.
            StaleChangeError: a change whose ``before`` is not the current value
                (for example changed by another writer since it was decided).
            ValidationError: a change before the customer's first period, or
                before the last recorded change of the same attribute.
        """
        with self._db.transaction(write=True) as conn:
            recorded = tuple(apply_changes(conn, changes, recorded_at))
            hooks_of(self._db).after_commit(conn, TransitionsApplied(self.url, recorded))
            return recorded

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

        Ordered by period, then by the order they were recorded; only
        ``customer_id``'s, or only ``"tier"`` or ``"segment"`` changes, when given.
        """
        return _reading(self._db, query_changes, start, end, customer_id, attribute)

    @_translated
    def state_as_of(self, customer_id: str, period: Period | str) -> CustomerState:
        """The tier and segment ``customer_id`` had in ``period``, from the recorded history.

        Raises:
            UnknownCustomerError: no such customer.
            ValidationError: ``period`` is before the customer's first period.
        """
        return _reading(self._db, state_as_of, customer_id, Period.parse(period))
