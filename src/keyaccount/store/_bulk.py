"""Fast insert paths: rows go from numpy columns to the database driver in bulk.

Never one ORM object (or one SQLAlchemy parameter dict) per row:

- SQLite: the raw ``sqlite3`` connection's ``executemany`` with plain tuples
  made from ``.tolist()`` of numpy columns, 500 rows per ``INSERT ... VALUES``
  statement (about twice the rate of one row per statement), inside
  the store's transaction, with a larger page cache for the load. Foreign
  keys are checked by the store itself (a dict of customer ids) rather than
  row by row.
- PostgreSQL: ``COPY ... FROM STDIN``; revenue in the binary format, encoded
  by numpy a block at a time (one record array of big-endian fields per
  block, handed to ``copy.write``), never a Python call per row.

When the customer or revenue table is empty at the start of a load, its
indexes are dropped and built again after the load (one sort instead of a
b-tree insert per row); on PostgreSQL the foreign keys of empty tables are dropped and
added again too (one validating join instead of a trigger per row). DDL is
transactional on both backends, so a failed load leaves them as they were.

The two foreign keys of an empty revenue table are proved rather than joined on
PostgreSQL: the writer keeps the smallest and largest customer and product key of
the rows it writes, and at the end one aggregate over each referenced table
(``count``, ``min``, ``max`` of its primary key) shows whether its keys form a
gapless range. When they do, and the written keys lie inside it, every written
row has its customer and its product: the key is added ``NOT VALID`` (checked for
every row written afterwards, its existing rows proved by the writer; see
:func:`validate_foreign_keys`, which has the database check them and mark it
valid). Otherwise the key is added with the validating join. The referenced
tables cannot change in between: dropping the keys locked them against writes
until the transaction ends.

On SQLite the revenue index of an empty table stays in place while the rows
come grouped by customer (at most 1% of the rows so far with a customer key
below the largest written before them): each index entry then lands near
the right edge of the b-tree, in pages the cache holds, which costs less
than sorting the whole table afterwards. The first block after which more
rows are out of that order drops the index, and the load builds it at the
end as for any other order.
"""

from __future__ import annotations

import itertools
import sqlite3
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from keyaccount.store._mapping import CUSTOMER_COLUMN_ORDER
from keyaccount.store._tables import (
    BULK_FOREIGN_KEYS,
    BULK_INDEXES,
    REVENUE_ROW,
    REVENUE_ROW_COLUMNS,
    revenue_table,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["LARGE_BYTES", "LARGE_ROWS", "BulkWriter", "validate_foreign_keys"]

LARGE_ROWS: Final = 50_000
"""From this many rows on, a load into empty tables builds their indexes after it."""
LARGE_BYTES: Final = 4 << 20
"""CSV files of this total size or more count as a large load (see :data:`LARGE_ROWS`)."""

_SQLITE_CACHE_KIB: Final = 64 * 1024
"""Page cache during a SQLite bulk load (KiB), which also bounds the sorter's memory when
the indexes are built. More does not make the load faster and costs resident memory."""

_PG_PK: Final = "pk_ka_revenue"
_PG_REVENUE_TYPES: Final = tuple(pg_type for _, pg_type in REVENUE_ROW)
"""The PostgreSQL types of the revenue columns, for the binary COPY."""


_CHUNK_ROWS: Final = 50_000
"""Rows of a table other than revenue handed to one ``executemany``."""

_ROWS_PER_STATEMENT: Final = 500
"""Rows per SQLite ``INSERT ... VALUES (...), (...), ...`` statement (fewer where the
library's limit on parameters is lower); one statement per row makes SQLite step its VM
once per row. 100 and 2,000 rows per statement were slower; 6,553 (the limit of 32,766
parameters over five columns) slower still."""

_LATE_SHARE: Final = 0.01
"""Share of the revenue rows so far whose customer key may be below the largest key written
before them while SQLite's revenue index stays in place during a load into an empty
table (each such row is an index insert away from the b-tree's right edge)."""

_PROVED_KEYS: Final = {
    constraint.name: (
        constraint.column_keys[0],
        constraint.referred_table.name,
        constraint.elements[0].column.name,
    )
    for constraint in revenue_table.foreign_key_constraints
    if isinstance(constraint.name, str)
}
"""The revenue table's foreign keys the writer proves (see the module docstring): name, then
the column, the referenced table and its key column."""

_PG_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""The binary ``COPY`` header: signature, flags 0, no header extension."""
_PG_TRAILER: Final = b"\xff\xff"


def _pg_record(types: tuple[str, ...]) -> np.dtype[Any]:
    """The binary ``COPY`` row as a numpy record: field count, then length and value each."""
    sizes = {"int4": 4, "int8": 8}
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, pg_type in enumerate(types):
        fields += [(f"l{i}", ">i4"), (f"v{i}", f">i{sizes[pg_type]}")]
    return np.dtype(fields)


_PG_BLOCK_ROWS: Final = 100_000
"""Revenue rows encoded and handed to one ``copy.write`` (5 MB)."""
_PG_REVENUE_RECORD: Final = _pg_record(_PG_REVENUE_TYPES)


def _pg_binary_rows(columns: tuple[npt.NDArray[Any], ...]) -> memoryview:
    """The rows of ``columns`` in ``COPY``'s binary format (no header), as a buffer."""
    record = np.empty(len(columns[0]), dtype=_PG_REVENUE_RECORD)
    record["n"] = len(columns)
    for i, column in enumerate(columns):
        record[f"l{i}"] = record.dtype[f"v{i}"].itemsize
        record[f"v{i}"] = column
    return record.view(np.uint8).data


def _sqlite_rows_per_statement(raw: Any, width: int) -> int:
    """:data:`_ROWS_PER_STATEMENT`, or fewer where the library binds fewer parameters."""
    limit = int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return max(1, min(_ROWS_PER_STATEMENT, limit // width))


def _sqlite_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    one = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([one] * rows)


def _sqlite_insert(
    raw: Any, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """``executemany`` of plain tuples, :data:`_ROWS_PER_STATEMENT` rows per statement.

    The rows are taken :data:`_CHUNK_ROWS` at a time, so memory does not grow with them.
    """
    k = _sqlite_rows_per_statement(raw, len(columns))
    many = _sqlite_sql(table, columns, k)
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, _CHUNK_ROWS)):
        full = len(chunk) // k * k
        if full:
            flat = itertools.chain.from_iterable(chunk[:full])
            raw.executemany(many, zip(*[flat] * (k * len(columns)), strict=True))
        if len(chunk) > full:
            raw.executemany(_sqlite_sql(table, columns, 1), chunk[full:])


def _sqlite_insert_block(
    raw: Any, table: str, columns: tuple[str, ...], block: npt.NDArray[np.int64]
) -> None:
    """Like :func:`_sqlite_insert` for an ``(n, len(columns))`` integer array."""
    k = _sqlite_rows_per_statement(raw, len(columns))
    full = len(block) // k * k
    if full:
        # One flat list of Python ints, cut into statement-sized tuples by zip.
        flat = iter(block[:full].ravel().tolist())
        raw.executemany(
            _sqlite_sql(table, columns, k), zip(*[flat] * (k * len(columns)), strict=True)
        )
    if len(block) > full:
        raw.executemany(_sqlite_sql(table, columns, 1), block[full:].tolist())


class BulkWriter:
    """Bulk inserts into the store's tables on one connection inside one transaction.

    Use as a context manager around a load: on entry it tunes the connection
    (and drops the revenue indexes when the revenue table is empty), on a
    clean exit it builds the indexes again; the caller's transaction commits
    or rolls back everything.

    Args:
        conn: A connection inside the store's write transaction.
        large: Whether the load may be large. Only then are the indexes and
            keys of empty tables dropped and built after the load; for a few
            thousand rows the DDL costs more than it saves.
    """

    def __init__(self, conn: sa.Connection, *, large: bool = True) -> None:
        self._conn = conn
        self._large = large
        self._sqlite = conn.dialect.name == "sqlite"
        self._raw: Any = conn.connection.dbapi_connection
        self._dropped_indexes: list[tuple[str, str, tuple[str, ...], bool]] = []
        self._dropped_keys: list[tuple[str, str, str]] = []
        self._saved_cache: int | None = None
        self._live_revenue_index = False
        self._largest_key = -1
        self._late_rows = self._index_rows = 0
        # The smallest and largest key written per proved foreign key (see _PROVED_KEYS);
        # None while the revenue keys are in place and check every row themselves.
        self._key_range: dict[str, tuple[int, int]] | None = None

    def __enter__(self) -> BulkWriter:
        if self._sqlite:
            self._saved_cache = int(self._raw.execute("PRAGMA cache_size").fetchone()[0])
            self._raw.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
        else:
            self._conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        empty = {
            table: self._large
            and self._conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None
            for table in BULK_INDEXES
        }
        for table in BULK_INDEXES:
            if empty[table]:
                if self._sqlite and table == "ka_revenue":
                    # Kept while the rows come grouped by customer (see _keep_revenue_index).
                    self._live_revenue_index = True
                    continue
                self._drop_indexes(table)
        if not self._sqlite and empty["ka_revenue"]:
            # SQLite's key is the rowid itself; PostgreSQL's is an index of its own.
            self._conn.exec_driver_sql(f"ALTER TABLE ka_revenue DROP CONSTRAINT {_PG_PK}")
            self._dropped_keys.append(("ka_revenue", _PG_PK, "PRIMARY KEY (revenue_key)"))
        if not self._sqlite:
            for table, name, definition in BULK_FOREIGN_KEYS:
                if empty[table]:
                    self._conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                    self._dropped_keys.append((table, name, definition))
            if empty["ka_revenue"]:
                self._key_range = {}
        return self

    def _drop_indexes(self, table: str) -> None:
        """Drop the indexes of ``table`` in :data:`BULK_INDEXES`, to be built in :meth:`finish`."""
        indexes = BULK_INDEXES[table]
        for name, _, _ in indexes:
            self._conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        self._dropped_indexes.extend((table, *index) for index in indexes)

    def _keep_revenue_index(self, customer: npt.NDArray[np.integer[Any]]) -> None:
        """Drop SQLite's revenue index for the rest of the load once the rows are out of order.

        Out of order: more than :data:`_LATE_SHARE` of the rows so far have a
        customer key below the largest one written before them.
        """
        if not self._live_revenue_index:
            return
        largest = np.maximum.accumulate(customer, dtype=np.int64)
        self._late_rows += int(np.count_nonzero(customer[1:] < largest[:-1])) + int(
            np.count_nonzero(customer < self._largest_key)
        )
        self._index_rows += len(customer)
        self._largest_key = max(self._largest_key, int(largest[-1]))
        if self._late_rows > _LATE_SHARE * self._index_rows:
            self._live_revenue_index = False
            self._drop_indexes("ka_revenue")

    def finish(self) -> None:
        """Build the indexes and add the keys dropped at the start (once)."""
        keys, self._dropped_keys = self._dropped_keys, []
        indexes, self._dropped_indexes = self._dropped_indexes, []
        add = "ALTER TABLE {} ADD CONSTRAINT {} {}"
        for table, name, definition in keys:
            if name == _PG_PK:
                self._conn.exec_driver_sql(add.format(table, name, definition))
        for table, name, columns, unique in indexes:
            kind = "UNIQUE INDEX" if unique else "INDEX"
            self._conn.exec_driver_sql(f"CREATE {kind} {name} ON {table} ({', '.join(columns)})")
        for table, name, definition in keys:
            if name != _PG_PK:
                # After the indexes: the customer and parent keys use ux_ka_customer_id's
                # table, and validating against a fresh primary key is one join.
                proved = " NOT VALID" if self._proved(name) else ""
                self._conn.exec_driver_sql(add.format(table, name, definition) + proved)

    def _proved(self, name: str) -> bool:
        """Whether every row written has the row that the foreign key ``name`` refers to.

        True for a key of :data:`_PROVED_KEYS` when the referenced table's keys
        form a gapless range that holds the smallest and largest key written
        (or when no row was written).
        """
        if self._key_range is None or name not in _PROVED_KEYS:
            return False
        if name not in self._key_range:
            return True
        low, high = self._key_range[name]
        _, table, key = _PROVED_KEYS[name]
        count, first, last = self._conn.exec_driver_sql(
            f"SELECT count(*), min({key}), max({key}) FROM {table}"
        ).one()
        return bool(count) and count == last - first + 1 and first <= low and high <= last

    def _note_keys(self, columns: dict[str, npt.NDArray[np.integer[Any]]]) -> None:
        """Widen the range of keys written per proved foreign key by the block's ``columns``."""
        if self._key_range is None:
            return
        for name, (column, _, _) in _PROVED_KEYS.items():
            values = columns[column]
            low, high = int(values.min()), int(values.max())
            if name in self._key_range:
                before = self._key_range[name]
                low, high = min(low, before[0]), max(high, before[1])
            self._key_range[name] = (low, high)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.finish()
        finally:
            if self._sqlite and self._saved_cache is not None:
                self._raw.execute(f"PRAGMA cache_size = {self._saved_cache}")

    def insert(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert plain tuples into ``table`` (small tables, and customers)."""
        names = ", ".join(columns)
        if self._sqlite:
            _sqlite_insert(self._raw, table, columns, rows)
            return
        with (
            self._raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def customers(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert customers given as tuples in :data:`CUSTOMER_COLUMN_ORDER`."""
        self.insert("ka_customer", CUSTOMER_COLUMN_ORDER, rows)

    def revenue(
        self,
        customer: npt.NDArray[np.integer[Any]],
        product: npt.NDArray[np.integer[Any]],
        period: npt.NDArray[np.integer[Any]],
        fen: npt.NDArray[np.integer[Any]],
        volume: npt.NDArray[np.integer[Any]],
    ) -> None:
        """Insert revenue rows given as columns of keys, period ordinals, fen and volume."""
        if len(customer) == 0:
            return
        if self._sqlite:
            self._keep_revenue_index(customer)
            block = np.empty((len(customer), 5), dtype=np.int64)
            for i, column in enumerate((customer, product, period, fen, volume)):
                block[:, i] = column
            _sqlite_insert_block(self._raw, "ka_revenue", REVENUE_ROW_COLUMNS, block)
            return
        columns = (customer, product, period, fen, volume)
        self._note_keys(dict(zip(REVENUE_ROW_COLUMNS, columns, strict=True)))
        with (
            self._raw.cursor() as cursor,
            cursor.copy(
                f"COPY ka_revenue ({', '.join(REVENUE_ROW_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(_PG_HEADER)
            for cut in range(0, len(customer), _PG_BLOCK_ROWS):
                part = slice(cut, cut + _PG_BLOCK_ROWS)
                copy.write(_pg_binary_rows(tuple(column[part] for column in columns)))
            copy.write(_PG_TRAILER)


def validate_foreign_keys(conn: sa.Connection, where: str) -> tuple[str, ...]:
    """Have the database check every stored row against the foreign keys not yet validated.

    On PostgreSQL, ``ALTER TABLE ... VALIDATE CONSTRAINT`` for each foreign key of
    the store's tables added ``NOT VALID`` by a bulk load (one join of the table
    with the one it refers to; it locks the table only against schema changes and
    other validations: reads and writes go on). On SQLite, ``PRAGMA
    foreign_key_check`` of every table (SQLite has no such mark, and a bulk load
    relies on the store's own checks there).

    Args:
        conn: A connection inside a store transaction.
        where: The store, for messages.

    Returns:
        The names of the foreign keys validated (none on SQLite).

    Raises:
        ValidationError: a stored row whose key refers to no row; nothing is marked valid.
    """
    from keyaccount.exceptions import ValidationError

    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
        if found is not None:
            table, rowid, parent, _ = found
            raise ValidationError(
                f"store {where}: row {rowid} of {table} refers to a row {parent} does not hold"
            )
        return ()
    names = [
        (str(table), str(name))
        for table, name in conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE c.contype = 'f' AND NOT c.convalidated "
            "AND t.relnamespace = to_regnamespace(current_schema()) "
            "AND left(t.relname, 3) = 'ka_' ORDER BY 1, 2"
        )
    ]
    for table, name in names:
        try:
            conn.exec_driver_sql(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
        except sa.exc.IntegrityError as exc:
            diag = getattr(exc.orig, "diag", None)
            detail = getattr(diag, "message_detail", None) or str(exc.orig)
            raise ValidationError(
                f"store {where}: foreign key {name} of {table}: {detail}; nothing was marked valid"
            ) from None
    return tuple(name for _, name in names)
