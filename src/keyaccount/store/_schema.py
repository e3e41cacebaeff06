"""Opening a store: the schema version recorded in ``ka_schema``, checked at every open."""

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

__all__ = [
    "SCHEMA_VERSION",
    "ensure_schema",
    "library_version",
    "open_store",
    "read_schema_version",
]

SCHEMA_VERSION: Final = 1
"""The version of the table layout this library reads and writes.

Raise it with every change to the tables in :mod:`keyaccount.store._tables`;
a database written with another version is refused, never migrated silently.
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
    """Check the database's schema version, creating the tables in an empty database.

    Args:
        conn: A connection inside a transaction.
        url: The database, for messages.
        create: Create the tables when there are none; otherwise report that
            they are missing by returning ``False``.

    Returns:
        Whether the tables exist (with the right version) afterwards.

    Raises:
        SchemaVersionError: the database records another version, or holds
            keyaccount tables without a version. Nothing is changed.
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
    if not create:
        raise StoreNotFoundError(
            shown,
            f"no keyaccount store in {shown}: the database holds no keyaccount tables; "
            "check the path or URL (a store is created by an import or a save into it)",
        )
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a new database at once create the tables once.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK})")
        ensure_schema(conn, shown, create=True)
