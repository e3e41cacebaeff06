"""Engines for SQLite and PostgreSQL, and the transactions every store operation runs in.

:class:`Database` is where the store's modules get their transactions from, whatever
``Store`` was given: a URL (an engine of the store's own), a caller's engine (its pool;
each operation a transaction of its own), or a caller's connection (each operation a
savepoint in the caller's transaction, never committed by the store).

SQLite: Python's ``sqlite3`` begins transactions on its own only before
data changes, which would leave DDL and reads outside the transaction. The
store turns that off (``isolation_level = None``) and emits ``BEGIN`` itself;
a write transaction begins with ``BEGIN IMMEDIATE``, taking the write lock at
once so that two writers queue instead of failing half-way. Each connection
enables foreign keys and waits up to :data:`BUSY_TIMEOUT_MS` for a lock (the
store's own engines when they connect; a caller's engine's connections for each
of the store's transactions, restored after). PostgreSQL: writers take an
advisory lock in turn (:meth:`Database._take_write_lock`).

:func:`after_commit` queues a callback for the commit of the transaction a
connection is in.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import stat
import threading
import weakref
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
    from collections.abc import Callable, Iterator

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_FILE",
    "WRITE_LOCK_KEY",
    "Database",
    "Target",
    "after_commit",
    "check_sqlite_file",
    "create_store_engine",
    "database_error",
    "database_errors",
    "display_url",
    "is_sqlite",
    "lock_key",
    "open_database",
    "resolve_url",
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


def _busy_ms(busy_timeout: float | None) -> int:
    return BUSY_TIMEOUT_MS if busy_timeout is None else max(0, round(busy_timeout * 1000))


def create_store_engine(
    url: sa.URL, *, echo: bool = False, busy_timeout: float | None = None, schema: str | None = None
) -> sa.Engine:
    """An engine for ``url`` set up for the store (no connection is made yet).

    Args:
        url: The database.
        echo: Log every SQL statement.
        busy_timeout: How many seconds a writer waits for another writer's lock
            (SQLite's lock, or the store's advisory lock on PostgreSQL) before
            :class:`~keyaccount.exceptions.StoreBusyError`
            (``None``: :data:`BUSY_TIMEOUT_MS`, read when the engine is made).
        schema: On PostgreSQL, the schema every connection works in (its
            ``search_path``, set when it connects).
    """
    busy_ms = _busy_ms(busy_timeout)
    if url.get_backend_name() == "postgresql":
        pg_engine = sa.create_engine(url, echo=echo, pool_pre_ping=True)
        if schema is not None:
            path = pg_engine.dialect.identifier_preparer.quote_identifier(schema)

            @event.listens_for(pg_engine, "connect", insert=True)
            def _search_path(dbapi_connection: Any, _record: object) -> None:
                # SQLAlchemy's recipe: outside a transaction, so that it holds for the session.
                autocommit = dbapi_connection.autocommit
                dbapi_connection.autocommit = True
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET SESSION search_path TO {path}")
                dbapi_connection.autocommit = autocommit

        return pg_engine
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


WRITE_LOCK_KEY: Final = int.from_bytes(b"keyacct\x01", "big", signed=True)
"""The PostgreSQL advisory lock that the writers of the store in the default schema take in turn.

A store in another schema (``schema=``) uses a key of its own (:func:`lock_key`).
"""

_LOCK_NOT_AVAILABLE: Final = "55P03"
_MAX_IDENTIFIER: Final = 63
"""PostgreSQL's longest identifier, in bytes (a longer one would be truncated)."""


def lock_key(key: int, schema: str | None) -> int:
    """The advisory lock ``key`` of a store kept in ``schema`` (``key`` itself for no schema)."""
    if schema is None:
        return key
    digest = hashlib.blake2b(key.to_bytes(8, "big", signed=True) + schema.encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


Target = str | os.PathLike[str] | sa.URL | sa.Engine | sa.Connection | None
"""What ``Store`` opens: a URL or path (``None``: ``keyaccount.db``), an engine or a connection."""


class Database:
    """Where every store module gets its transactions: an engine, or a caller's connection.

    The engine is the store's own (made from a URL) or a caller's; ``docs/store.md``,
    "Your own engine or connection", says what each means. Use :func:`open_database`
    to make one.
    Every store operation is one :meth:`transaction`; in a caller's connection it is a
    savepoint inside the caller's transaction, which the store never commits or rolls
    back.

    Attributes:
        url: The database's URL (shown without its password by :attr:`shown`).
        engine: The engine (the caller's connection's own, for a connection).
        connection: The caller's connection, or ``None``.
        owned: Whether the engine is the store's own (made from a URL; disposed of by
            :meth:`close`).
        schema: The PostgreSQL schema the store's tables are in, or ``None`` (the
            connection's ``search_path``).
        busy_ms: How long a writer waits for another writer, in milliseconds.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        connection: sa.Connection | None = None,
        owned: bool = False,
        schema: str | None = None,
        busy_timeout: float | None = None,
    ) -> None:
        self.engine = engine
        self.connection = connection
        self.owned = owned
        self.url = engine.url
        self.schema = schema
        self.busy_ms = _busy_ms(busy_timeout)
        self.write_lock_key = lock_key(WRITE_LOCK_KEY, schema)
        # A pool of one shared connection (in-memory SQLite): one transaction at a time.
        self._lock: contextlib.AbstractContextManager[object] = (
            threading.RLock()
            if connection is None and isinstance(engine.pool, StaticPool)
            else contextlib.nullcontext()
        )

    @property
    def shown(self) -> str:
        """The URL without its password, for messages."""
        return display_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite (else PostgreSQL)."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        """Dispose of the store's own engine; a caller's engine or connection is left alone."""
        if self.owned:
            self.engine.dispose()

    @contextmanager
    def transaction(
        self, *, write: bool, bulk: bool = False, snapshot: bool = False
    ) -> Iterator[sa.Connection]:
        """A connection inside one transaction of the store, for one operation.

        With an engine, a connection from its pool in a transaction of its own, committed
        at the end or rolled back on error; then the callbacks of :func:`after_commit` run.
        With a caller's connection, a savepoint in the caller's transaction (begun if
        none is), released at the end or rolled back to on error: the caller's
        transaction stays usable and the caller commits it.

        Args:
            write: A transaction that writes: it takes the store's write lock first
                (SQLite's ``BEGIN IMMEDIATE``; the advisory lock on PostgreSQL).
            bulk: A bulk load: on SQLite, foreign keys are not checked row by row during
                it (the store checks keys itself), except in a caller's connection, whose
                settings cannot change inside its transaction.
            snapshot: Every statement sees one snapshot: PostgreSQL's ``REPEATABLE READ``
                (a SQLite transaction, and a caller's transaction, already do).
        """
        if self.connection is not None:
            with self._savepoint(self.connection, write=write) as conn:
                yield conn
            return
        with self._lock, self.engine.connect() as conn:
            pending = _own_pending(conn)
            try:
                with self._own(conn, write=write, bulk=bulk, snapshot=snapshot):
                    yield conn
            except BaseException:
                pending.drop()
                raise
            finally:
                _forget_pending(conn)
        pending.run()

    @contextmanager
    def _own(
        self, conn: sa.Connection, *, write: bool, bulk: bool, snapshot: bool
    ) -> Iterator[None]:
        """A transaction of the store's own on ``conn``, checked out of the engine's pool."""
        if not self.is_sqlite:
            if snapshot:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if self.schema is not None and not self.owned:
                    self._set_search_path(conn)
                if write:
                    self._take_write_lock(conn)
                yield
            return
        raw: Any = conn.connection.dbapi_connection
        if write:
            conn.execution_options(**{_WRITE: True})  # the store's begin event reads it
        if self.owned:
            if bulk:
                raw.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
            try:
                with conn.begin():
                    yield
            finally:
                if bulk:
                    raw.execute("PRAGMA foreign_keys = ON")
            return
        # A caller's engine: its connections are set up the store's way for the transaction
        # (driver-level transactions off, foreign keys, busy timeout), then as they were.
        saved = (
            raw.isolation_level,
            raw.execute("PRAGMA foreign_keys").fetchone()[0],
            raw.execute("PRAGMA busy_timeout").fetchone()[0],
        )
        raw.isolation_level = None
        raw.execute(f"PRAGMA foreign_keys = {'OFF' if bulk else 'ON'}")
        raw.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
        try:
            with conn.begin():
                if not raw.in_transaction:  # none of the engine's own begin events began it
                    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
                yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                raw.execute(f"PRAGMA foreign_keys = {int(saved[1])}")
                raw.execute(f"PRAGMA busy_timeout = {int(saved[2])}")
                raw.isolation_level = saved[0]

    @contextmanager
    def _savepoint(self, conn: sa.Connection, *, write: bool) -> Iterator[sa.Connection]:
        """A savepoint in the caller's transaction on ``conn``."""
        _watched(conn)  # before the savepoint, so that rolling back to it drops its callbacks
        if self.is_sqlite:
            raw: Any = conn.connection.dbapi_connection
            if not raw.in_transaction:
                # pysqlite begins only before a data change, and a SAVEPOINT outside a
                # transaction would be one that its RELEASE commits: begin for real first.
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            busy = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
            try:
                with conn.begin_nested():
                    yield conn
            finally:
                with contextlib.suppress(sqlite3.Error):
                    raw.execute(f"PRAGMA busy_timeout = {int(busy)}")
            return
        with conn.begin_nested():
            path = self._set_search_path(conn) if self.schema is not None else None
            if write:
                self._take_write_lock(conn)
            yield conn
            if path is not None:  # the caller's search_path again, for the rest of its work
                conn.execute(_SET_LOCAL, {"name": "search_path", "value": path})

    def _set_search_path(self, conn: sa.Connection) -> str:
        """Work in :attr:`schema` for the rest of the transaction; the ``search_path`` before."""
        assert self.schema is not None
        before = str(conn.exec_driver_sql("SELECT current_setting('search_path')").scalar_one())
        path = conn.dialect.identifier_preparer.quote_identifier(self.schema)
        conn.execute(_SET_LOCAL, {"name": "search_path", "value": path})
        return before

    def _take_write_lock(self, conn: sa.Connection) -> None:
        """Queue for the store's write lock on PostgreSQL, as ``BEGIN IMMEDIATE`` does on SQLite.

        Every write transaction of the store takes one transaction-level advisory
        lock first, so writers run one after the other: two imports cannot both
        allocate the same keys, and the DDL of a bulk load on an empty table never
        meets another writer's rows (which deadlocked). Readers take no lock. A
        writer that waits longer than :attr:`busy_ms` gets a
        :class:`~keyaccount.exceptions.StoreBusyError` with nothing written. In a
        caller's connection the lock is held until the caller's transaction ends.
        """
        before = conn.exec_driver_sql("SELECT current_setting('lock_timeout')").scalar_one()
        # 0 would wait forever.
        conn.execute(_SET_LOCAL, {"name": "lock_timeout", "value": f"{max(self.busy_ms, 1)}ms"})
        try:
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.write_lock_key}
            )
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            raise StoreBusyError(
                self.shown,
                f"database {self.shown}: another writer held the store's write lock for more "
                f"than {self.busy_ms / 1000:g} s; nothing was written, try again",
            ) from None
        conn.execute(_SET_LOCAL, {"name": "lock_timeout", "value": before})


_SET_LOCAL: Final = sa.text("SELECT set_config(:name, :value, true)")


def _check_engine(engine: sa.Engine, schema: str | None) -> None:
    """Refuse an engine of a database or driver the store does not talk to, or a bad ``schema``."""
    shown = display_url(engine.url)
    name, driver = engine.dialect.name, engine.dialect.driver
    if (name, driver) not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        raise ValidationError(
            f"engine {shown!r} ({name}+{driver}): the store talks to SQLite through Python's "
            "sqlite3 (sqlite:///...) or to PostgreSQL through psycopg 3 (postgresql+psycopg://...)"
        )
    _check_schema(engine.url, schema)


def _check_schema(url: sa.URL, schema: str | None) -> None:
    if schema is None:
        return
    if url.get_backend_name() != "postgresql":
        raise ValidationError(
            f"schema={shorten(schema)}: a schema is for PostgreSQL; {display_url(url)} is "
            "SQLite, where a store is a database of its own (give another file instead)"
        )
    if not isinstance(schema, str) or not schema.strip() or "\x00" in schema:
        raise ValidationError(f"schema={shorten(schema)}: give the name of a schema")
    if len(schema.encode()) > _MAX_IDENTIFIER:
        raise ValidationError(
            f"schema={shorten(schema)}: PostgreSQL names are at most {_MAX_IDENTIFIER} bytes long"
        )


def open_database(
    target: Target,
    *,
    schema: str | None = None,
    echo: bool = False,
    busy_timeout: float | None = None,
) -> Database:
    """The :class:`Database` of what ``Store`` was given (no connection is made for a URL).

    Args:
        target: A URL or path (see :func:`resolve_url`; the store makes and owns an
            engine), a caller's :class:`sqlalchemy.Engine` (the store uses its pool and
            never disposes of it) or :class:`sqlalchemy.Connection` (the store works in
            its transaction).
        schema: The PostgreSQL schema of the store's tables.
        echo: Log every SQL statement (an engine the store makes only).
        busy_timeout: Seconds a writer waits for another writer.

    Raises:
        ValidationError: an unsupported database or driver, ``schema`` on SQLite or not a
            name, or ``echo`` with an engine or connection (set it on the engine).
    """
    if isinstance(target, (sa.Engine, sa.Connection)):
        if echo:
            raise ValidationError(
                "echo=True is for a store opened from a URL; turn on echo in your own engine"
            )
        engine = target if isinstance(target, sa.Engine) else target.engine
        _check_engine(engine, schema)
        connection = target if isinstance(target, sa.Connection) else None
        return Database(engine, connection=connection, schema=schema, busy_timeout=busy_timeout)
    url = resolve_url(target)
    _check_schema(url, schema)
    engine = create_store_engine(url, echo=echo, busy_timeout=busy_timeout, schema=schema)
    return Database(engine, owned=True, schema=schema, busy_timeout=busy_timeout)


# ---------------------------------------------------------------- after commit

_events_log: Final = logging.getLogger("keyaccount.events")


class _Pending:
    """The callbacks waiting for the commit of one connection's transaction.

    ``marks`` holds, for each savepoint open on the connection (innermost last), how many
    callbacks were queued when it began: rolling back to it drops the ones queued since.
    """

    __slots__ = ("callbacks", "marks")

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []
        self.marks: list[int] = []

    def run(self) -> None:
        """Run and forget the callbacks; one that raises is logged and the others still run."""
        callbacks, self.callbacks = self.callbacks, []
        self.marks.clear()
        for fn in callbacks:
            try:
                fn()
            except Exception:
                _events_log.exception(
                    "callback %r after commit raised; the change stays committed", fn
                )

    def drop(self) -> None:
        """Forget the callbacks (the transaction rolled back)."""
        self.callbacks.clear()
        self.marks.clear()

    def savepoint(self) -> None:
        self.marks.append(len(self.callbacks))

    def release_savepoint(self) -> None:
        if self.marks:
            self.marks.pop()

    def rollback_savepoint(self) -> None:
        # A savepoint begun before the connection was watched holds every callback queued.
        del self.callbacks[self.marks.pop() if self.marks else 0 :]


_pending: Final[weakref.WeakKeyDictionary[sa.Connection, _Pending]] = weakref.WeakKeyDictionary()
_pending_lock: Final = threading.Lock()


def _own_pending(conn: sa.Connection) -> _Pending:
    """Watch a connection of the store's own transaction; the transaction runs or drops them."""
    pending = _Pending()
    with _pending_lock:
        _pending[conn] = pending
    return pending


def _forget_pending(conn: sa.Connection) -> None:
    with _pending_lock:
        _pending.pop(conn, None)


def _watched(conn: sa.Connection) -> _Pending:
    """The callbacks of a caller's connection, watched through its events from the first use."""
    with _pending_lock:
        pending = _pending.get(conn)
        if pending is not None:
            return pending
        pending = _pending[conn] = _Pending()
    event.listen(conn, "commit", lambda _conn: pending.run())
    event.listen(conn, "rollback", lambda _conn: pending.drop())
    event.listen(conn, "savepoint", lambda _conn, _name: pending.savepoint())
    event.listen(conn, "release_savepoint", lambda _c, _n, _x: pending.release_savepoint())
    event.listen(conn, "rollback_savepoint", lambda _c, _n, _x: pending.rollback_savepoint())
    return pending


def after_commit(conn: sa.Connection, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the transaction ``conn`` is in has committed; never if it rolls back.

    In the store's own transaction (a URL or an engine given to ``Store``), ``fn`` runs
    right after the COMMIT has returned, once the connection is back in the pool. In a
    caller's connection (``Store(connection)``), it runs when the caller commits the
    outermost transaction: from SQLAlchemy's ``commit`` event, which fires just *before*
    the driver's COMMIT, so a COMMIT that then fails (a lost connection, a deferred
    foreign key) has already run it. Callbacks queued inside a savepoint that is rolled
    back are dropped; those of a rolled-back transaction too.

    Callbacks run in the order they were queued, in the thread that commits. One that
    raises is logged (logger ``keyaccount.events``, with its traceback) and swallowed: it
    never undoes the change, and the callbacks after it still run.

    Args:
        conn: A connection inside the transaction (as ``Database.transaction`` yields it).
        fn: The callback, called without arguments.
    """
    _watched(conn).callbacks.append(fn)
