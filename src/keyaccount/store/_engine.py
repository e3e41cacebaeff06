"""Engines for SQLite and PostgreSQL, and transactions that begin the way the store needs.

SQLite: Python's ``sqlite3`` begins transactions on its own only before
data changes, which would leave DDL and reads outside the transaction. The
store turns that off (``isolation_level = None``) and emits ``BEGIN`` itself;
a write transaction begins with ``BEGIN IMMEDIATE``, taking the write lock at
once so that two writers queue instead of failing half-way. Each connection
enables foreign keys and waits up to :data:`BUSY_TIMEOUT_MS` for a lock.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from keyaccount.exceptions import StoreBusyError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_FILE",
    "WRITE_LOCK_KEY",
    "create_store_engine",
    "display_url",
    "is_sqlite",
    "resolve_url",
    "transaction",
]

DEFAULT_FILE: Final = "keyaccount.db"
"""The SQLite file ``Store()`` opens in the current directory."""

BUSY_TIMEOUT_MS: Final = 60_000
"""How long a SQLite connection waits for another writer's lock, in milliseconds."""

_WRITE: Final = "keyaccount_write"


def resolve_url(url: str | os.PathLike[str] | sa.URL | None) -> sa.URL:
    """The SQLAlchemy URL for what ``Store`` was given.

    ``None`` is the file ``keyaccount.db`` in the current directory; a path
    (``os.PathLike``, or text without ``://``) is a SQLite file;
    ``postgresql://`` without a driver uses psycopg.

    Raises:
        ValidationError: a URL of a database the store does not support.
    """
    if url is None:
        return sa.make_url(f"sqlite:///{Path.cwd() / DEFAULT_FILE}")
    if isinstance(url, os.PathLike) or (isinstance(url, str) and "://" not in url):
        return sa.make_url(f"sqlite:///{Path(url)}")
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            return parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise ValidationError(
                f"database URL {display_url(parsed)!r}: the store talks to PostgreSQL "
                "through psycopg 3; use postgresql+psycopg://..."
            )
        return parsed
    if backend == "sqlite":
        return parsed
    raise ValidationError(
        f"unsupported database URL {display_url(parsed)!r}: "
        "use sqlite:///path.db, sqlite:// (in memory) or postgresql+psycopg://..."
    )


def display_url(url: sa.URL) -> str:
    """``url`` without its password, for messages."""
    return url.render_as_string(hide_password=True)


def is_sqlite(engine: sa.Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _in_memory(url: sa.URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def create_store_engine(url: sa.URL, *, echo: bool = False) -> sa.Engine:
    """An engine for ``url`` set up for the store (no connection is made yet)."""
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, echo=echo, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"echo": echo}
    if _in_memory(url):
        # One shared connection, or every checkout would see a new, empty database.
        kwargs |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def transaction(engine: sa.Engine, *, write: bool, bulk: bool = False) -> Iterator[sa.Connection]:
    """A connection inside one transaction, committed at the end or rolled back on error.

    Args:
        engine: The store's engine.
        write: A transaction that writes (SQLite takes the write lock at ``BEGIN``).
        bulk: A bulk load: on SQLite, foreign keys are not checked row by row
            during it (the store checks keys itself); they are on again after.
    """
    with engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE: True})
        raw: Any = None
        if bulk and is_sqlite(engine):
            # Must be set outside a transaction; the connection goes back to the pool
            # with foreign keys enabled again.
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                if write and not is_sqlite(engine):
                    _take_write_lock(conn)
                yield conn
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


WRITE_LOCK_KEY: Final = int.from_bytes(b"keyacct\x01", "big", signed=True)
"""The PostgreSQL advisory lock (per database) that the store's writers take in turn."""

_LOCK_NOT_AVAILABLE: Final = "55P03"


def _take_write_lock(conn: sa.Connection) -> None:
    """Queue for the store's write lock on PostgreSQL, as ``BEGIN IMMEDIATE`` does on SQLite.

    Every write transaction of the store takes one transaction-level advisory
    lock first, so writers run one after the other: two imports cannot both
    allocate the same keys, and the DDL of a bulk load on an empty table never
    meets another writer's rows (which deadlocked). Readers take no lock. A
    writer that waits longer than :data:`BUSY_TIMEOUT_MS` gets a
    :class:`~keyaccount.exceptions.StoreBusyError` with nothing written.
    """
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(BUSY_TIMEOUT_MS)}")
    try:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        url = display_url(conn.engine.url)
        raise StoreBusyError(
            url,
            f"database {url}: another writer held the store's write lock for more than "
            f"{BUSY_TIMEOUT_MS / 1000:g} s; nothing was written, try again",
        ) from None
