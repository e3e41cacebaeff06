"""Opening a store: the schema version recorded in ``ka_schema``, checked at every open.

A store of an older version is upgraded when it is opened (Alembic, see
:mod:`keyaccount.store.migrations`), inside one write transaction; a store of a newer
version, or with keyaccount tables but no version, is refused and left untouched.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
from typing import Final

import sqlalchemy as sa

from keyaccount.exceptions import SchemaVersionError, StoreNotFoundError
from keyaccount.store._engine import (
    check_sqlite_file,
    create_store_engine,
    database_errors,
    display_url,
    sqlite_path,
    transaction,
)
from keyaccount.store._tables import TABLES, schema_table
from keyaccount.store.migrations import stamp_head, upgrade

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
operations room's tables. A store of an older version is upgraded when opened; one of a
newer version is refused.
"""

_NAME: Final = "keyaccount"
_TABLE_NAMES: Final = frozenset(t.name for t in TABLES)


def read_schema_version(conn: sa.Connection) -> tuple[bool, int | None]:
    """Whether the database holds any keyaccount table, and the version it records.

    Returns:
        ``(False, None)`` for a database without keyaccount tables;
        ``(True, None)`` when it holds some but no version.
    """
    present = _TABLE_NAMES & set(sa.inspect(conn).get_table_names())
    if not present:
        return False, None
    if schema_table.name not in present:
        return True, None
    version = conn.execute(
        sa.select(schema_table.c.version).where(schema_table.c.name == _NAME)
    ).scalar_one_or_none()
    return True, version


def ensure_schema(conn: sa.Connection, url: str, *, create: bool) -> bool:
    """Check the database's schema version, creating or upgrading the tables as needed.

    Args:
        conn: A connection inside a transaction (a write transaction when the
            tables may have to be created or upgraded).
        url: The database, for messages.
        create: Create the tables when there are none, and upgrade a store of an
            older version; otherwise report either by returning ``False``.

    Returns:
        Whether the tables exist with the current version afterwards.

    Raises:
        SchemaVersionError: the database records a newer version than
            :data:`SCHEMA_VERSION`, or holds keyaccount tables without a version.
            Nothing is changed.
    """
    present, version = read_schema_version(conn)
    if present:
        if version is None or version > SCHEMA_VERSION or version < 1:
            raise SchemaVersionError(version, SCHEMA_VERSION, url)
        if version == SCHEMA_VERSION:
            return True
        if not create:
            return False
        upgrade(conn, version)
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
    try:
        return importlib.metadata.version("keyaccount")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_CREATE_LOCK: Final = 4242424242
"""PostgreSQL advisory lock taken while the tables of a new store are created."""


def open_store(
    url: sa.URL, *, create: bool, echo: bool = False, busy_timeout: float | None = None
) -> sa.Engine:
    """An engine for the store at ``url``, its schema checked (and created in an empty database).

    A SQLite file is checked before connecting (nothing is created by the
    check); when opening fails, the engine is disposed of and an empty
    SQLite file the attempt created is removed. Database errors are
    translated as everywhere in the store.

    Args:
        url: The store's URL.
        create: Create the tables in a database without any (and a missing
            SQLite file); otherwise a missing store raises.
        echo: Log every SQL statement.
        busy_timeout: Seconds a writer waits for another writer.

    Raises:
        SchemaVersionError: the database records another schema version.
        StoreNotFoundError: ``create`` is false and there is no store there.
        StoreUnavailableError: the path or URL cannot be used.
    """
    existed = check_sqlite_file(url, create=create)
    engine = create_store_engine(url, echo=echo, busy_timeout=busy_timeout)
    try:
        with database_errors(url):
            _open_schema(engine, display_url(url), create=create)
    except BaseException:
        engine.dispose()
        path = sqlite_path(url)
        if not existed and path is not None:
            with contextlib.suppress(OSError):
                if path.stat().st_size == 0:
                    path.unlink()
        raise
    return engine


def _open_schema(engine: sa.Engine, shown: str, *, create: bool) -> None:
    with transaction(engine, write=False) as conn:
        if ensure_schema(conn, shown, create=False):
            return
        present, _ = read_schema_version(conn)
    if not create and not present:
        raise StoreNotFoundError(
            shown,
            f"no keyaccount store in {shown}: the database holds no keyaccount tables; "
            "check the path or URL (a store is created by an import or a save into it)",
        )
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a new (or older) database at once create (or upgrade)
            # the tables once: the second finds the work done.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK})")
        ensure_schema(conn, shown, create=True)
