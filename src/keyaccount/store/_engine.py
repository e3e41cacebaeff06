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
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from keyaccount.exceptions import (
    KeyAccountError,
    StoreBusyError,
    StoreNotFoundError,
    StoreUnavailableError,
    ValidationError,
    shorten,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_FILE",
    "WRITE_LOCK_KEY",
    "check_sqlite_file",
    "create_store_engine",
    "database_error",
    "database_errors",
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
_BUSY_MS: Final = "keyaccount_busy_ms"


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


def sqlite_path(url: sa.URL) -> Path | None:
    """The file of a SQLite URL, or ``None`` for another backend or an in-memory database."""
    if url.get_backend_name() != "sqlite" or _in_memory(url):
        return None
    return Path(url.database or "")


def _where(url: sa.URL) -> str:
    path = sqlite_path(url)
    return shorten(os.fspath(path)) if path is not None else shorten(display_url(url))


def check_sqlite_file(url: sa.URL, *, create: bool) -> bool:
    """Check, before connecting, that a SQLite URL names a usable file; nothing is created.

    Args:
        url: The store's URL (other backends and in-memory SQLite pass).
        create: Whether a missing file may be created (by the caller, later).

    Returns:
        Whether the file exists (``True`` for other backends and memory).

    Raises:
        StoreUnavailableError: the path is empty, a directory, not a regular
            file, or in a directory that does not exist.
        StoreNotFoundError: the file does not exist (or is empty) and
            ``create`` is false.
    """
    shown = display_url(url)
    if url.get_backend_name() == "sqlite" and url.database in ("", "."):
        raise StoreUnavailableError(
            shown, "no database given (an empty path): give a SQLite file path or a database URL"
        )
    path = sqlite_path(url)
    if path is None:
        return True
    name = shorten(os.fspath(path))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            missing = not parent.exists()
            what = "does not exist" if missing else "is not a directory"
            message = (
                f"cannot open the store {name}: the directory {shorten(os.fspath(parent))} {what}"
            )
            if missing and not create:
                raise StoreNotFoundError(shown, message + "; check the path") from None
            hint = "; create it first" if missing else "; check the path"
            raise StoreUnavailableError(shown, message + hint) from None
        if not create:
            raise StoreNotFoundError(
                shown,
                f"no keyaccount store at {name}: the file does not exist; check the path "
                "(a store is created by an import or a save into it)",
            ) from None
        return False
    except NotADirectoryError:
        raise StoreUnavailableError(
            shown, f"cannot open the store {name}: a part of the path is a file, not a directory"
        ) from None
    except OSError as exc:
        raise StoreUnavailableError(
            shown, f"cannot open the store {name}: {exc.strerror or exc}"
        ) from None
    if stat.S_ISDIR(mode):
        raise StoreUnavailableError(
            shown,
            f"cannot open the store {name}: it is a directory; give a file path such as "
            f"{shorten(os.fspath(path / DEFAULT_FILE))}",
        )
    if not stat.S_ISREG(mode):
        raise StoreUnavailableError(
            shown, f"cannot open the store {name}: it is not a regular file (a device or a pipe)"
        )
    if not create and path.stat().st_size == 0:
        raise StoreNotFoundError(
            shown, f"no keyaccount store at {name}: the file is empty; check the path"
        )
    return True


_SQLITE_BUSY: Final = (
    "database is locked",
    "database table is locked",
    "database schema is locked",
)
_SQLITE_REASONS: Final = {
    "file is not a database": "it is not a keyaccount store (not a SQLite database); "
    "check the path",
    "database disk image is malformed": "the file is damaged (a truncated or corrupt SQLite "
    "database); restore it from a copy",
    "readonly database": "the file or its directory is read-only; open a copy where you may write",
    "unable to open database file": "the file cannot be opened or created (check that it and "
    "its directory exist and may be written)",
    "database or disk is full": "the disk is full; free some space and try again",
    "disk i/o error": "a disk I/O error (check the file system and that the path is a "
    "regular file)",
}


def _sqlite_error(url: sa.URL, message: str) -> KeyAccountError | None:
    shown = display_url(url)
    lower = message.lower()
    if any(text in lower for text in _SQLITE_BUSY):
        return StoreBusyError(
            shown,
            f"the store {_where(url)} is locked by another writer ({message}); nothing was "
            "written: try again when the other writer has finished",
        )
    for text, reason in _SQLITE_REASONS.items():
        if text in lower:
            return StoreUnavailableError(shown, f"cannot use the store {_where(url)}: {reason}")
    return None


def _postgres_error(url: sa.URL, error: BaseException) -> KeyAccountError | None:
    try:
        import psycopg
        from psycopg import errors as pg
    except ImportError:  # pragma: no cover - only without the postgresql extra
        return None
    if not isinstance(error, psycopg.Error):
        return None
    shown = display_url(url)
    detail = " ".join(str(error).split())
    if isinstance(error, (pg.LockNotAvailable, pg.SerializationFailure, pg.DeadlockDetected)):
        return StoreBusyError(
            shown,
            f"the store {shorten(shown)} is busy: another writer holds what this one needs "
            f"({shorten(detail, 200)}); nothing was written: try again",
        )
    environment = (
        psycopg.OperationalError,
        pg.InsufficientPrivilege,
        pg.ReadOnlySqlTransaction,
        pg.DiskFull,
        pg.InvalidCatalogName,
        pg.InvalidPassword,
        pg.InvalidAuthorizationSpecification,
    )
    if isinstance(error, environment):
        return StoreUnavailableError(
            shown,
            f"cannot use the store {shorten(shown)}: {shorten(detail, 200)}; check that the "
            "server is running and the URL (host, port, database, user, password)",
        )
    return None


def database_error(error: BaseException, url: sa.URL) -> KeyAccountError | None:
    """The :class:`KeyAccountError` for a database error that is not a bug, or ``None``.

    Maps SQLite's and psycopg's errors (raw, or wrapped by SQLAlchemy) about
    the database itself (missing, not a database, damaged, read-only, full,
    unreachable) to :class:`~keyaccount.exceptions.StoreUnavailableError`,
    and a lock held past the wait or a lost race to the retryable
    :class:`~keyaccount.exceptions.StoreBusyError`; both name the file, or
    the URL without its password, and what to do. Any other error (SQL this
    library got wrong, for example) gives ``None``: it is a bug and keeps
    its traceback.
    """
    original = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    if original is None:
        return None
    if isinstance(original, sqlite3.Error):
        return _sqlite_error(url, str(original))
    return _postgres_error(url, original)


@contextmanager
def database_errors(url: sa.URL) -> Iterator[None]:
    """Raise the errors of the block translated by :func:`database_error` (others unchanged)."""
    try:
        yield
    except KeyAccountError:
        raise
    except Exception as exc:
        translated = database_error(exc, url)
        if translated is None:
            raise
        raise translated from exc


def is_sqlite(engine: sa.Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _in_memory(url: sa.URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def create_store_engine(
    url: sa.URL, *, echo: bool = False, busy_timeout: float | None = None
) -> sa.Engine:
    """An engine for ``url`` set up for the store (no connection is made yet).

    Args:
        url: The database.
        echo: Log every SQL statement.
        busy_timeout: How many seconds a writer waits for another writer's lock
            (SQLite's lock, or the store's advisory lock on PostgreSQL) before
            :class:`~keyaccount.exceptions.StoreBusyError`
            (``None``: :data:`BUSY_TIMEOUT_MS`, read when the engine is made).
    """
    busy_ms = BUSY_TIMEOUT_MS if busy_timeout is None else max(0, round(busy_timeout * 1000))
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(
            url, echo=echo, pool_pre_ping=True, execution_options={_BUSY_MS: busy_ms}
        )
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
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
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
    busy_ms = int(conn.get_execution_options().get(_BUSY_MS, BUSY_TIMEOUT_MS))
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(busy_ms, 1)}")  # 0 would wait forever
    try:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        url = display_url(conn.engine.url)
        raise StoreBusyError(
            url,
            f"database {url}: another writer held the store's write lock for more than "
            f"{busy_ms / 1000:g} s; nothing was written, try again",
        ) from None
