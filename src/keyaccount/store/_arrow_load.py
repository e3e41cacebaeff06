"""Loading a whole portfolio through Arrow: ADBC drivers hand over columns, never row objects.

``Store.load()`` of a whole portfolio (optionally within months) takes this path when
``pyarrow`` and the ADBC driver of the database are installed (the ``adbc`` extra) and
the store was opened from a path or URL: a SQLite file (``adbc-driver-sqlite``) or
PostgreSQL (``adbc-driver-postgresql``). Everything is read in one read transaction of
a connection of its own (on PostgreSQL ``REPEATABLE READ``, so that every table is read
at one snapshot). Otherwise, or when the driver refuses the database (a damaged file, a
column holding values of another type), :func:`load_through_arrow` gives ``None`` and the
plain path of :mod:`._reads` runs, which reports such errors the store's way.

Rows written by the store were checked when written, so the columns are built without
the portfolio's full checks; the checks that remain are the cheap ones that keep a
changed or damaged database from crashing the process or giving inexact sums: every
code, key and month in range (array minima and maxima), parents without cycles,
sub-segments of their segment, no record before its customer's first month, and the
per-record and monthly limits (``docs/limits.md``).

The driver reads the revenue on a thread of its own (it releases the GIL) while the
customers are built and each block is checked. Revenue is bucketed by month as it
arrives, block by block (a sort of each block, which fits in the processor's cache),
and joined in month order: the first metrics call after the load finds it sorted.
Nothing is made per customer that the load itself does not need: customer ids are
checked to be distinct by Arrow's hashing (the portfolio maps ids to positions on the
first lookup by id), and the project groups get an owner array by position (their
``customer_ids`` are made on the first read of the groups).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    MAX_AMOUNT_FEN,
    MAX_VOLUME,
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Member,
    Period,
    ProductCatalog,
    ProjectGroup,
    default_catalog,
    format_yuan,
    parent_cycles,
    sub_segment_mismatch,
)
from keyaccount.exceptions import (
    DuplicateCustomerError,
    InvalidPeriodError,
    KeyAccountError,
    PrecisionError,
    ValidationError,
)
from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns
from keyaccount.store._mapping import group_from_db, member_from_db, product_from_db
from keyaccount.store._tables import DbProduct, DbProjectGroup, DbProjectMember
from keyaccount.utils import logger

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    import pyarrow as pa

    from keyaccount.store._engine import Database

__all__ = ["ArrowSource", "PeriodBuckets", "arrow_source", "load_through_arrow"]

_BATCH_ROWS: Final = 65_536
"""Rows per Arrow batch from SQLite (the driver's default, 1,024, costs a call per batch)."""
_log = logger("store")

_CUSTOMERS: Final = (
    "SELECT customer_key, customer_id, name, COALESCE(segment, '') AS segment, "
    "COALESCE(sub_segment, '') AS sub_segment, tier, COALESCE(parent_key, -1) AS parent_key, "
    "COALESCE(province, '') AS province, "
    "CASE WHEN province IS NULL THEN 1 ELSE 0 END AS no_province, "
    "first_period, COALESCE(tier_since, -1) AS tier_since "
    "FROM ka_customer ORDER BY customer_key"
)
"""The customers in key order. No column is ever NULL, so that SQLite's driver, which
infers a column's type from its first rows, never meets a NULL column turning to text."""
_REVENUE: Final = "SELECT customer_key, product_key, period, revenue_fen, volume FROM ka_revenue"
_PRODUCTS: Final = (
    "SELECT product_key, product_id, name_en, name_zh, segments FROM ka_product "
    "ORDER BY product_key"
)
_GROUPS: Final = (
    "SELECT group_key, group_id, name_en, name_zh, segment, international "
    "FROM ka_project_group ORDER BY group_key"
)
_MEMBERS: Final = (
    "SELECT group_key, member_index, name, role, full_time FROM ka_project_member "
    "ORDER BY group_key, member_index"
)
_OWNED: Final = "SELECT customer_key, group_key FROM ka_project_customer"


class ArrowSource:
    """One read transaction on an ADBC connection: tables, batches and rows of queries.

    The driver manager's own API, not its DB-API module (which imports pandas and
    polars when they are installed: most of a second).
    """

    def __init__(self, database: Any, *, postgresql: bool) -> None:
        import adbc_driver_manager

        self._manager = adbc_driver_manager
        self._database = database
        self._connection = adbc_driver_manager.AdbcConnection(database)
        self._postgresql = postgresql

    def execute(self, sql: str) -> None:
        """Run a statement that returns no rows."""
        with contextlib.closing(self._manager.AdbcStatement(self._connection)) as statement:
            statement.set_sql_query(sql)
            statement.execute_update()

    def batches(self, sql: str) -> Generator[pa.RecordBatch]:
        """The result of ``sql`` as Arrow record batches, read as they are used."""
        import pyarrow as pa

        with contextlib.closing(self._manager.AdbcStatement(self._connection)) as statement:
            if not self._postgresql:
                statement.set_options(**{"adbc.sqlite.query.batch_rows": str(_BATCH_ROWS)})
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            with pa.RecordBatchReader._import_from_c(stream.address) as reader:
                yield from reader

    def table(self, sql: str) -> pa.Table:
        """The result of ``sql`` as one Arrow table."""
        import pyarrow as pa

        batches = list(self.batches(sql))
        if batches:
            return pa.Table.from_batches(batches)
        with contextlib.closing(self._manager.AdbcStatement(self._connection)) as statement:
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            with pa.RecordBatchReader._import_from_c(stream.address) as reader:
                return reader.read_all()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of ``sql`` as dictionaries by column name (for the small tables)."""
        rows: list[dict[str, Any]] = []
        for batch in self.batches(sql):
            rows.extend(batch.to_pylist())
        return rows

    def close(self) -> None:
        """End the read transaction and close the connection."""
        with contextlib.suppress(Exception):
            self.execute("ROLLBACK")
        self._connection.close()
        self._database.close()


def arrow_source(db: Database) -> ArrowSource | None:
    """An ADBC read transaction on the store's database, or ``None`` when there is no fast path.

    The fast path needs the store's own engine (a path or URL given to ``Store``: a
    caller's engine may carry connection settings the store cannot repeat, and a
    caller's connection holds work no other connection sees), a database other than
    in-memory SQLite, and ``pyarrow`` with the database's ADBC driver.
    """
    if not db.owned or db.connection is not None:
        return None
    url = db.engine.url
    try:
        import pyarrow  # noqa: F401  (the drivers hand over Arrow streams)

        if db.is_sqlite:
            path = url.database
            if path in (None, "", ":memory:") or "mode=memory" in str(url):
                return None
            import adbc_driver_sqlite

            source = ArrowSource(adbc_driver_sqlite.connect(path), postgresql=False)
        else:
            import adbc_driver_postgresql

            uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
            source = ArrowSource(adbc_driver_postgresql.connect(uri), postgresql=True)
    except ImportError:
        _log.debug("load: no ADBC driver for %s; rows are read through the plain driver", db.shown)
        return None
    try:
        if db.is_sqlite:
            source.execute("BEGIN")
        else:
            source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if db.schema is not None:
                quoted = db.engine.dialect.identifier_preparer.quote_identifier(db.schema)
                source.execute(f"SET LOCAL search_path TO {quoted}")
    except BaseException:
        source.close()
        raise
    return source


def load_through_arrow(db: Database, start: Period | None, end: Period | None) -> Portfolio | None:
    """The whole stored portfolio (revenue within ``start``..``end``) read through Arrow.

    Returns:
        The portfolio, or ``None`` when the fast path does not apply or the driver
        refused the database (the caller then reads through the plain driver).

    Raises:
        ValidationError, PrecisionError, InvalidPeriodError: stored rows that break the
            portfolio's rules (written by other means), naming the row.
    """
    try:
        source = arrow_source(db)
    except Exception as exc:  # the driver could not connect: the plain path reports it
        _log.debug("load: the ADBC driver could not connect (%s); plain read", exc)
        return None
    if source is None:
        return None
    try:
        return _load(source, start, end)
    except KeyAccountError:
        raise
    except Exception as exc:  # a driver or Arrow error: the plain path reads or reports it
        _log.debug("load: the Arrow read failed (%s); plain read", exc)
        return None
    finally:
        source.close()


def _load(source: ArrowSource, start: Period | None, end: Period | None) -> Portfolio:
    catalog = _catalog(source)
    table = source.table(_CUSTOMERS)
    where = []
    if start is not None:
        where.append(f"period >= {int(start.ordinal)}")
    if end is not None:
        where.append(f"period <= {int(end.ordinal)}")
    sql = _REVENUE + (" WHERE " + " AND ".join(where) if where else "")
    # the driver reads revenue on a thread of its own (it works without the GIL) while
    # the customers are built and each batch is checked and bucketed here
    with _read_ahead(source.batches(sql)) as batches:
        keys, customers = _customers(table)
        del table
        revenue = _revenue(batches, keys, customers, catalog)
    try:
        portfolio = Portfolio.from_checked_columns(
            customers, revenue, products=catalog, unique_ids=True
        )
    except PrecisionError as exc:
        raise PrecisionError(f"the store's revenue: {exc}; correct or remove these rows") from None
    groups, owner = _groups(source, keys)
    if groups:
        portfolio.add_owned_project_groups(groups, owner)
    return portfolio


_AHEAD: Final = 64
"""Batches the reading thread may hold ahead of their use (64 x 65,536 rows: 170 MB)."""
_DONE: Final = object()


@contextlib.contextmanager
def _read_ahead(batches: Generator[pa.RecordBatch]) -> Iterator[Iterator[pa.RecordBatch]]:
    """The batches of ``batches``, read on a thread of their own up to :data:`_AHEAD` ahead.

    The thread alone touches the driver's stream, and has finished with it (the
    statement closed) when the block ends, normally or by an error: the
    connection is then free for the next query. An error of the reading thread
    is raised where the batch would have been used.
    """
    import queue
    import threading

    ahead: queue.Queue[Any] = queue.Queue(_AHEAD)
    stop = threading.Event()

    def read() -> None:
        try:
            with contextlib.closing(batches):
                for batch in batches:
                    if stop.is_set():
                        return
                    ahead.put(batch)
        except BaseException as exc:  # handed to the using thread
            ahead.put(exc)
        finally:
            ahead.put(_DONE)

    def used() -> Iterator[pa.RecordBatch]:
        while (item := ahead.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=read, name="keyaccount-load", daemon=True)
    thread.start()
    try:
        yield used()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a full queue until the thread ends
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        thread.join()


# ---------------------------------------------------------------- small tables


def _catalog(source: ArrowSource) -> ProductCatalog:
    products = [product_from_db(DbProduct(**row)) for row in source.rows(_PRODUCTS)]
    return ProductCatalog(tuple(products)) if products else default_catalog()


def _groups(
    source: ArrowSource, keys: npt.NDArray[np.int64]
) -> tuple[list[ProjectGroup], npt.NDArray[np.int32]]:
    """The project groups (without customers), and the index of each customer's group (or -1).

    The owners stay an array by customer position: the portfolio makes each group's
    ``customer_ids`` when its groups are first read (most loads never read them).
    """
    owner = np.full(len(keys), NO_CODE, dtype=np.int32)
    groups = [DbProjectGroup(**row) for row in source.rows(_GROUPS)]
    if not groups:
        return [], owner
    members: dict[int, list[Member]] = defaultdict(list)
    for row in source.rows(_MEMBERS):
        member = DbProjectMember(**row)
        members[member.group_key].append(member_from_db(member))
    owned = source.table(_OWNED)
    customer_key = _ints(owned.column("customer_key")).astype(np.int64)
    group_key = _ints(owned.column("group_key")).astype(np.int64)
    position = _positions(keys, customer_key, "a project group's customer")
    stored = np.array([g.group_key for g in groups], dtype=np.int64)
    order = np.argsort(stored, kind="stable")
    at = np.searchsorted(stored[order], group_key)
    found = at < len(stored)
    found[found] = stored[order][at[found]] == group_key[found]
    position, at = position[found], at[found]  # a row of no stored group: as the plain read
    twice = np.bincount(position, minlength=len(keys)) > 1
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        raise ValidationError(_stored(f"the store's customer key {int(keys[i])} is owned twice"))
    owner[position] = order[at]
    return [group_from_db(g, members[g.group_key], ()) for g in groups], owner


# ---------------------------------------------------------------- customers


def _stored(what: str) -> str:
    return f"{what}; the database was changed by other means: correct it"


def _positions(
    keys: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64], what: str
) -> npt.NDArray[np.int32]:
    """The position among the sorted ``keys`` of each of ``wanted``; every one must be there."""
    n = len(keys)
    if n and int(keys[0]) == 0 and int(keys[-1]) == n - 1:  # keys 0..n-1: a key is its position
        if len(wanted) and (int(wanted.min()) < 0 or int(wanted.max()) >= n):
            bad = wanted[(wanted < 0) | (wanted >= n)][0]
            raise ValidationError(
                _stored(f"{what} names customer key {int(bad)}, which is not stored")
            )
        return wanted.astype(np.int32)
    at = np.searchsorted(keys, wanted)
    found = at < n
    found[found] = keys[at[found]] == wanted[found]
    if not found.all():
        bad = wanted[~found][0]
        raise ValidationError(_stored(f"{what} names customer key {int(bad)}, which is not stored"))
    return at.astype(np.int32)


def _codes(
    column: pa.ChunkedArray, names: tuple[str, ...], ids: npt.NDArray[Any], what: str
) -> npt.NDArray[np.int8]:
    """Codes of the member names in ``column`` (``''`` for none: ``NO_CODE``).

    The column is dictionary-encoded (a few distinct names), so each distinct name is
    looked up once; ``pyarrow.compute`` is not imported (its import alone takes 0.2 s).
    """
    encoded = column.dictionary_encode().combine_chunks()
    code_of = {name: code for code, name in enumerate(names)} | {"": NO_CODE}
    found = [code_of.get(name) for name in encoded.dictionary.to_pylist()]
    indices = _ints(encoded.indices)
    if None in found:
        bad = found.index(None)
        i = int(np.flatnonzero(indices == bad)[0])
        raise ValidationError(
            _stored(f"the store's customer {ids[i]!r}: {what} {column[i].as_py()!r} is unknown")
        )
    table = np.array(found, dtype=np.int8)
    return table[indices] if len(table) else np.zeros(len(indices), dtype=np.int8)


def _check_months(ordinals: npt.NDArray[Any], what: str, name: Any) -> None:
    """Raise for the smallest or largest ordinal when it is no valid month."""
    if not len(ordinals):
        return
    for i in (int(np.argmin(ordinals)), int(np.argmax(ordinals))):
        try:
            Period.from_ordinal(int(ordinals[i]))
        except InvalidPeriodError as exc:
            raise InvalidPeriodError(
                _stored(f"{name(i)}: {what} ordinal {int(ordinals[i])} is no valid month ({exc})")
            ) from None


def _ints(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """An integer column as a numpy view of its buffers.

    pyarrow's own ``to_numpy`` goes through its pandas conversion, which imports
    pandas (half a second) the first time. A column of another type, or with
    nulls, raises ``TypeError``: the driver read values the store never writes,
    and the plain path reads and reports them.
    """
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        kind = chunk.type
        if not pa.types.is_integer(kind) or chunk.null_count:
            raise TypeError(f"a column of integers holds {kind} values or nulls")
        if len(chunk):
            signed = "i" if pa.types.is_signed_integer(kind) else "u"
            dtype = np.dtype(f"{signed}{kind.bit_width // 8}")
            data = chunk.buffers()[1]
            offset = chunk.offset * dtype.itemsize
            parts.append(np.frombuffer(data, dtype=dtype, count=len(chunk), offset=offset))
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _objects(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    """A text column as an ``object`` array of ``str`` (pyarrow's own conversion imports pandas)."""
    out = np.empty(len(column), dtype=object)
    out[:] = column.to_pylist()
    return out


def _repeated(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    """A text column of few distinct values as ``object``: one ``str`` per distinct value."""
    encoded = column.dictionary_encode().combine_chunks()
    values = np.empty(len(encoded.dictionary), dtype=object)
    values[:] = encoded.dictionary.to_pylist()
    return values[_ints(encoded.indices)] if len(values) else np.empty(len(column), dtype=object)


def _unique_ids(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    """The customer ids as ``object``, checked to be distinct by Arrow's hashing (no dict)."""
    encoded = column.dictionary_encode().combine_chunks()
    if len(encoded.dictionary) != len(column):
        counts = np.bincount(_ints(encoded.indices), minlength=len(encoded.dictionary))
        twice = encoded.dictionary[int(np.flatnonzero(counts > 1)[0])].as_py()
        raise DuplicateCustomerError(_stored(f"the store holds customer id {twice!r} twice"))
    return _objects(column)


def _customers(table: pa.Table) -> tuple[npt.NDArray[np.int64], CustomerColumns]:
    """The stored keys, and the customers as columns with their cheap checks."""
    for name in ("customer_id", "name"):
        if table.column(name).null_count:
            raise ValidationError(_stored(f"a stored customer has no {name}"))
    keys = _ints(table.column("customer_key")).astype(np.int64)
    ids = _unique_ids(table.column("customer_id"))
    n = len(ids)

    def customer(i: int) -> str:
        return f"the store's customer {ids[i]!r}"

    segment = _codes(table.column("segment"), tuple(s.name for s in SEGMENTS), ids, "segment")
    sub_segment = _codes(
        table.column("sub_segment"), tuple(s.name for s in SUB_SEGMENTS), ids, "sub-segment"
    )
    mismatch = sub_segment_mismatch(segment, sub_segment)
    if mismatch.any():
        i = int(np.flatnonzero(mismatch)[0])
        raise ValidationError(
            _stored(
                f"{customer(i)}: sub-segment {SUB_SEGMENTS[sub_segment[i]].name} is not one of "
                "its segment's"
            )
        )
    tier = _ints(table.column("tier"))
    if n and (int(tier.min()) < 0 or int(tier.max()) >= len(TIERS)):
        i = int(np.flatnonzero((tier < 0) | (tier >= len(TIERS)))[0])
        raise ValidationError(_stored(f"{customer(i)}: tier rank {int(tier[i])} is not valid"))
    parent_key = _ints(table.column("parent_key")).astype(np.int64)
    parent = np.full(n, NO_CODE, dtype=np.int32)
    has_parent = parent_key != NO_CODE
    parent[has_parent] = _positions(keys, parent_key[has_parent], "a stored customer's parent")
    own = parent == np.arange(n)
    if own.any():
        raise ValidationError(_stored(f"{customer(int(np.flatnonzero(own)[0]))} is its own parent"))
    cycles = parent_cycles(parent)
    if cycles:
        path = " -> ".join(str(ids[c]) for c in [*cycles[0], cycles[0][0]])
        raise ValidationError(_stored(f"the store's customers form a parent cycle: {path}"))
    first_period = _ints(table.column("first_period")).astype(np.int32)
    _check_months(first_period, "first_period", customer)
    tier_since = _ints(table.column("tier_since")).astype(np.int32)
    has_since = tier_since != NO_CODE
    since_ids = ids[has_since]
    _check_months(
        tier_since[has_since], "tier_since", lambda i: f"the store's customer {since_ids[i]!r}"
    )
    early = has_since & (tier_since < first_period)
    if early.any():
        i = int(np.flatnonzero(early)[0])
        raise ValidationError(_stored(f"{customer(i)}: tier_since is before first_period"))
    province = _repeated(table.column("province"))
    province[_ints(table.column("no_province")).astype(bool)] = None
    columns = CustomerColumns(
        id=ids,
        name=_objects(table.column("name")),
        segment=segment,
        sub_segment=sub_segment,
        tier=tier.astype(np.int8),
        parent=parent,
        province=province,
        first_period=first_period,
        tier_since=tier_since,
    )
    return keys, columns


# ---------------------------------------------------------------- revenue


class PeriodBuckets:
    """Revenue blocks bucketed by month as they come, joined in month order at the end.

    Each block is sorted by month on its own (a radix sort of a block that fits in the
    processor's cache; nothing when it is in month order already) and cut into one
    piece per month; :meth:`columns` joins the pieces month by month, one sequential
    copy. This costs far less than sorting all the records at once.
    """

    def __init__(self) -> None:
        self._pieces: dict[int, list[tuple[npt.NDArray[Any], ...]]] = defaultdict(list)

    def add(
        self,
        customer: npt.NDArray[np.int32],
        product: npt.NDArray[np.int32],
        period: npt.NDArray[np.int32],
        fen: npt.NDArray[np.int64],
        volume: npt.NDArray[np.int64],
    ) -> None:
        """Add a block of records (positions and ordinals as ``int32``, money as ``int64``)."""
        n = len(period)
        if n == 0:
            return
        columns: tuple[npt.NDArray[Any], ...] = (customer, product, period, fen, volume)
        low, high = int(period.min()), int(period.max())
        if low != high and not bool((period[1:] >= period[:-1]).all()):
            offset = period - np.int32(low)
            small = offset.astype(np.uint8 if high - low < 256 else np.uint16)
            order = np.argsort(small, kind="stable")
            columns = tuple(c[order] for c in columns)
            period = columns[2]
        cuts = (np.flatnonzero(period[1:] != period[:-1]) + 1).tolist()
        for a, b in zip([0, *cuts], [*cuts, n], strict=True):
            self._pieces[int(period[a])].append(tuple(c[a:b] for c in columns))

    def columns(self) -> RevenueColumns:
        """Every record added, in month order (in the order added within a month)."""
        if not self._pieces:
            return RevenueColumns.empty()
        pieces = [p for month in sorted(self._pieces) for p in self._pieces[month]]
        self._pieces.clear()
        dtypes = (np.int32, np.int32, np.int32, np.int64, np.int64)
        joined = [
            np.concatenate([p[i] for p in pieces]).astype(dtype, copy=False)
            for i, dtype in enumerate(dtypes)
        ]
        return RevenueColumns(*joined)


def _revenue(
    batches: Iterator[pa.RecordBatch],
    keys: npt.NDArray[np.int64],
    customers: CustomerColumns,
    catalog: ProductCatalog,
) -> RevenueColumns:
    buckets = PeriodBuckets()
    n_products = len(catalog)
    first_period = customers.first_period
    for batch in batches:
        key, product, period, fen, volume = (_ints(batch.column(i)) for i in range(5))
        if not len(key):
            continue
        customer = _positions(keys, key.astype(np.int64), "a stored revenue row")
        if int(product.min()) < 0 or int(product.max()) >= n_products:
            bad = product[(product < 0) | (product >= n_products)][0]
            raise ValidationError(
                _stored(f"a stored revenue row names product key {int(bad)}, which is not stored")
            )
        period = period.astype(np.int32)
        fen = fen.astype(np.int64, copy=False)
        volume = volume.astype(np.int64, copy=False)

        def row(
            i: int, customer: Any = customer, product: Any = product, period: Any = period
        ) -> str:
            return (
                f"the store's revenue row of customer {customers.id[customer[i]]!r}, product "
                f"{catalog.products[int(product[i])].id!r}, month {_month(int(period[i]))}"
            )

        _check_months(period, "period", row)
        _check_record_limits(fen, volume, row)
        early = period < first_period[customer]
        if early.any():
            i = int(np.flatnonzero(early)[0])
            raise ValidationError(_stored(f"{row(i)}: before the customer's first_period"))
        buckets.add(customer, product.astype(np.int32), period, fen, volume)
    return buckets.columns()


def _month(ordinal: int) -> str:
    try:
        return str(Period.from_ordinal(ordinal))
    except InvalidPeriodError:
        return f"ordinal {ordinal}"


def _check_record_limits(
    fen: npt.NDArray[np.int64], volume: npt.NDArray[np.int64], row: Any
) -> None:
    """Refuse a row beyond the per-record amount or volume limit, or with a negative volume."""
    if int(fen.min()) < -MAX_AMOUNT_FEN or int(fen.max()) > MAX_AMOUNT_FEN:
        i = int(np.flatnonzero((fen < -MAX_AMOUNT_FEN) | (fen > MAX_AMOUNT_FEN))[0])
        raise PrecisionError(
            f"{row(i)}: amount {format_yuan(int(fen[i]))} yuan is beyond the limit of "
            f"{format_yuan(MAX_AMOUNT_FEN)} yuan per record (docs/limits.md); correct or remove it"
        )
    if int(volume.max()) > MAX_VOLUME:
        i = int(np.flatnonzero(volume > MAX_VOLUME)[0])
        raise PrecisionError(
            f"{row(i)}: volume {int(volume[i]):,} is beyond the limit of {MAX_VOLUME:,} per "
            "record (docs/limits.md); correct or remove it"
        )
    if int(volume.min()) < 0:
        i = int(np.flatnonzero(volume < 0)[0])
        raise ValidationError(_stored(f"{row(i)}: negative volume {int(volume[i])}"))
