"""Opening a store: the schema version recorded in ``ka_schema``, checked at every open.

Opening never upgrades: a store of another version, or with keyaccount tables but no
version, is refused with :class:`~keyaccount.exceptions.SchemaVersionError` and left
untouched. An older store is upgraded when asked (``Store.upgrade``,
:mod:`keyaccount.store._upgrade`, running the Alembic revisions of
:mod:`keyaccount.store.migrations`).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Final

import sqlalchemy as sa

from keyaccount.exceptions import SchemaVersionError, StoreNotFoundError
from keyaccount.store._engine import (
    Database,
    Target,
    check_sqlite_file,
    database_errors,
    lock_key,
    open_database,
    sqlite_path,
)
from keyaccount.store._tables import TABLES, schema_table
from keyaccount.store.migrations import stamp_head
from keyaccount.utils import installed_version

__all__ = [
    "SCHEMA_VERSION",
    "ensure_schema",
    "library_version",
    "open_store",
    "read_schema_version",
]

SCHEMA_VERSION: Final = 2
"""The version of the table layout this library reads and writes.

Raise it with every change to the tables in :mod:`keyaccount.store._tables`, with an
Alembic revision in :mod:`keyaccount.store.migrations` that upgrades the version before.
Version 1: the portfolio, project groups and change history; version 2 adds the
operations room's tables. A store of any other version is refused when opened; an older
one is upgraded by ``Store.upgrade`` (``keyaccount db upgrade``).
"""

_NAME: Final = "keyaccount"
_TABLE_NAMES: Final = frozenset(t.name for t in TABLES)


def read_schema_version(conn: sa.Connection) -> tuple[bool, int | None]:
    """Whether the database holds any keyaccount table, and the version it records.

    Returns:
        ``(False, None)`` for a database without keyaccount tables;
        ``(True, None)`` when it holds some but no version.
    """
    # The schema the unqualified names resolve to: on PostgreSQL the first of the
    # search_path (a store's schema= sets it), which the dialect's default may not be.
    schema = (
        conn.exec_driver_sql("SELECT current_schema()").scalar()
        if conn.dialect.name == "postgresql"
        else None
    )
    present = _TABLE_NAMES & set(sa.inspect(conn).get_table_names(schema=schema))
    if not present:
        return False, None
    if schema_table.name not in present:
        return True, None
    version = conn.execute(
        sa.select(schema_table.c.version).where(schema_table.c.name == _NAME)
    ).scalar_one_or_none()
    return True, version


def ensure_schema(conn: sa.Connection, url: str, *, create: bool) -> bool:
    """Check the database's schema version, creating the tables in a database without any.

    A store is never upgraded here: an older one is refused like a newer one,
    with a message that says how to upgrade it.

    Args:
        conn: A connection inside a transaction (a write transaction when the
            tables may have to be created).
        url: The database, for messages.
        create: Create the tables when there are none; otherwise report that
            there are none by returning ``False``.

    Returns:
        Whether the tables exist with the current version afterwards.

    Raises:
        SchemaVersionError: the database records another version than
            :data:`SCHEMA_VERSION` (older: ``upgradable``), or holds keyaccount
            tables without a version. Nothing is changed.
    """
    present, version = read_schema_version(conn)
    if present:
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(version, SCHEMA_VERSION, url)
        return True
    if not create:
        return False
    for table in TABLES:
        table.create(conn)
    conn.execute(
        sa.insert(schema_table).values(
            name=_NAME, version=SCHEMA_VERSION, written_by=library_version()
        )
    )
    stamp_head(conn)
    return True


@functools.cache
def library_version() -> str:
    """The version of the installed keyaccount distribution (``"unknown"`` when not installed).

    Recorded in ``ka_schema.written_by`` when a store's tables are created.
    """
    return installed_version()


_CREATE_LOCK: Final = 4242424242
"""PostgreSQL advisory lock taken while the tables of a new store are created."""


def open_store(
    target: Target,
    *,
    create: bool,
    schema: str | None = None,
    echo: bool = False,
    busy_timeout: float | None = None,
) -> Database:
    """The :class:`Database` of the store at ``target``, its schema checked (and created).

    Opening reads; it writes only to create a store (``create``) in a database
    without keyaccount tables. A SQLite file named by a URL or an engine is
    checked before connecting (nothing is created by the check); when opening
    fails, the store's own engine is disposed of and an empty SQLite file the
    attempt created is removed. Database errors are translated as everywhere
    in the store.

    Args:
        target: A URL or path, a caller's engine or connection (see ``Store``).
        create: Create the tables (and on PostgreSQL the ``schema``) in a database
            without keyaccount tables, and a missing SQLite file; otherwise a
            missing store raises and nothing is created.
        schema: The PostgreSQL schema of the store's tables.
        echo: Log every SQL statement (a store opened from a URL).
        busy_timeout: Seconds a writer waits for another writer.

    Raises:
        SchemaVersionError: the database records another schema version.
        StoreNotFoundError: ``create`` is false and there is no store there.
        StoreUnavailableError: the path or URL cannot be used.
        ValidationError: an unsupported database, driver or ``schema``.
    """
    db = open_database(target, schema=schema, echo=echo, busy_timeout=busy_timeout)
    existed = True
    try:
        if db.connection is None:
            existed = check_sqlite_file(db.url, create=create)
        with database_errors(db.url):
            _open_schema(db, create=create)
    except BaseException:
        db.close()
        path = sqlite_path(db.url)
        if not existed and path is not None:
            with contextlib.suppress(OSError):
                if path.stat().st_size == 0:
                    path.unlink()
        raise
    return db


def _open_schema(db: Database, *, create: bool) -> None:
    """Check the store's schema version; create the tables in a database without any."""
    shown = db.shown
    with db.transaction(write=False) as conn:
        if ensure_schema(conn, shown, create=False):
            return
    if not create:
        where = f"in schema {db.schema!r} of {shown}" if db.schema is not None else f"in {shown}"
        raise StoreNotFoundError(
            shown,
            f"no keyaccount store {where}: the database holds no keyaccount tables; "
            "check the path or URL (a store is created by an import or a save into it)",
        )
    with db.transaction(write=True) as conn:
        if not db.is_sqlite:
            # Two processes opening a new database at once create the tables once: the
            # second finds the work done.
            key = lock_key(_CREATE_LOCK, db.schema)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            if db.schema is not None:
                name = conn.dialect.identifier_preparer.quote_identifier(db.schema)
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
        ensure_schema(conn, shown, create=True)
