"""Upgrading a store to this library's schema version, and reading where a store stands.

Opening a store never changes its schema (:mod:`keyaccount.store._schema`); an older
store is upgraded when asked: ``Store.upgrade`` (:func:`upgrade_store`) or ``keyaccount
db upgrade``, typically once at deploy time. The upgrade runs the Alembic revisions of
:mod:`keyaccount.store.migrations` inside one write transaction: all of it or nothing.
That transaction takes the store's write lock (SQLite's ``BEGIN IMMEDIATE``, the
advisory write lock on PostgreSQL), so two upgraders run one after the other and the
second finds nothing left to do. :func:`schema_status` reads the recorded version and
revision without changing anything.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

import attrs

from keyaccount.exceptions import SchemaVersionError, StoreNotFoundError, StoreUnavailableError
from keyaccount.store._engine import (
    Target,
    after_commit,
    check_sqlite_file,
    database_errors,
    open_database,
)
from keyaccount.store._schema import SCHEMA_VERSION, read_schema_version
from keyaccount.store.migrations import REVISIONS, VERSION_TABLE, recorded_revision, upgrade

if TYPE_CHECKING:
    from collections.abc import Iterator

    import sqlalchemy as sa

__all__ = [
    "HEAD_REVISION",
    "SchemaStatus",
    "UpgradeReport",
    "schema_status",
    "upgrade_schema",
    "upgrade_store",
]

HEAD_REVISION: Final = REVISIONS[SCHEMA_VERSION]
"""The Alembic revision of :data:`~keyaccount.store.SCHEMA_VERSION`."""

_log: Final = logging.getLogger("keyaccount.store")


@attrs.frozen
class SchemaStatus:
    """Where a store's schema stands against this library's (:func:`schema_status`).

    Attributes:
        url: The database, without its password.
        version: The schema version the store records (``ka_schema``).
        revision: The Alembic revision the store records (``ka_alembic_version``);
            ``None`` for a store written before the store used Alembic (schema
            version 1, keyaccount 0.1.0).
        head_version: The schema version this library reads and writes.
        head_revision: Its Alembic revision.
    """

    url: str
    version: int
    revision: str | None
    head_version: int
    head_revision: str

    @property
    def current(self) -> bool:
        """Whether this library opens the store as it is."""
        return self.version == self.head_version

    @property
    def upgradable(self) -> bool:
        """Whether the store is older than the library (:meth:`Store.upgrade` brings it up)."""
        return 1 <= self.version < self.head_version


@attrs.frozen
class UpgradeReport:
    """What :meth:`Store.upgrade` did: the schema version and revision before and after.

    A store already at the library's version gives a report whose ``before`` and
    ``after`` are equal (``upgraded`` is false): nothing was written.

    Attributes:
        url: The database, without its password.
        before_version: The schema version recorded before the upgrade.
        before_revision: The Alembic revision recorded before (``None``: none,
            a store written by keyaccount 0.1.0).
        after_version: The schema version afterwards (the library's).
        after_revision: The Alembic revision afterwards (the head).
    """

    url: str
    before_version: int
    before_revision: str | None
    after_version: int
    after_revision: str

    @property
    def upgraded(self) -> bool:
        """Whether the upgrade changed the store."""
        return (self.before_version, self.before_revision) != (
            self.after_version,
            self.after_revision,
        )


@contextmanager
def _connection(
    target: Target, *, schema: str | None, write: bool
) -> Iterator[tuple[sa.Connection, str]]:
    """A transaction of the store at ``target`` (a SQLite file is never created), and its URL.

    For a caller's connection, a savepoint in its transaction (the caller commits).
    """
    database = open_database(target, schema=schema)
    try:
        if database.connection is None:
            check_sqlite_file(database.url, create=False)
        with database_errors(database.url), database.transaction(write=write) as conn:
            yield conn, database.shown
    finally:
        database.close()


def _recorded(conn: sa.Connection, shown: str, schema: str | None) -> tuple[int, str | None]:
    """The version and revision the store records (a missing store or version raises)."""
    present, version = read_schema_version(conn)
    if not present:
        where = f"in schema {schema!r} of {shown}" if schema is not None else f"in {shown}"
        raise StoreNotFoundError(
            shown,
            f"no keyaccount store {where}: the database holds no keyaccount tables; "
            "check the path or URL (a store is created by an import or a save into it)",
        )
    if version is None:
        raise SchemaVersionError(None, SCHEMA_VERSION, shown)
    return version, recorded_revision(conn)


def schema_status(target: Target, *, schema: str | None = None) -> SchemaStatus:
    """The schema version and revision a store records, and this library's; nothing is changed.

    A store of a newer version is reported, not refused (its ``current`` and
    ``upgradable`` are both false).

    Args:
        target: The store, as ``Store`` takes it: a SQLite file path or a database
            URL, or a SQLAlchemy engine or connection.
        schema: The PostgreSQL schema of the store's tables (as ``Store`` takes it).

    Returns:
        The store's status.

    Raises:
        StoreNotFoundError: there is no store there (no file, an empty file, or no
            keyaccount tables).
        SchemaVersionError: the database holds keyaccount tables but no version.
        StoreUnavailableError: the path or URL cannot be used.

    Example:
        >>> from keyaccount.store import Store, schema_status
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "pf.db"
        >>> Store(path).close()
        >>> status = schema_status(path)
        >>> status.current, status.version == status.head_version
        (True, True)
    """
    with _connection(target, schema=schema, write=False) as (conn, shown):
        version, revision = _recorded(conn, shown, schema)
    return SchemaStatus(shown, version, revision, SCHEMA_VERSION, HEAD_REVISION)


def upgrade_schema(conn: sa.Connection, shown: str, schema: str | None = None) -> UpgradeReport:
    """Upgrade the store on ``conn`` to the library's schema version, inside its transaction.

    Args:
        conn: A connection inside a write transaction that holds the store's write lock.
        shown: The database, for messages.
        schema: The PostgreSQL schema the connection works in, for messages.

    Returns:
        The versions and revisions before and after.

    Raises:
        StoreNotFoundError: the database holds no keyaccount tables.
        SchemaVersionError: the store is newer than the library, or has no version.
        StoreUnavailableError: the version and the Alembic revision the store
            records do not belong together.
    """
    version, revision = _recorded(conn, shown, schema)
    if not 1 <= version <= SCHEMA_VERSION:
        raise SchemaVersionError(version, SCHEMA_VERSION, shown)
    expected = REVISIONS[version]
    if revision not in (None, expected):
        raise StoreUnavailableError(
            shown,
            f"cannot upgrade the store {shown}: ka_schema records schema version {version} "
            f"but {VERSION_TABLE} records revision {revision!r} (expected "
            f"{expected!r}); nothing was changed: restore the store from a backup",
        )
    if version < SCHEMA_VERSION or revision is None:
        upgrade(conn, version)
    after_version, after_revision = _recorded(conn, shown, schema)
    assert after_revision is not None  # stamped by upgrade(), or there before
    return UpgradeReport(shown, version, revision, after_version, after_revision)


def upgrade_store(target: Target, *, schema: str | None = None) -> UpgradeReport:
    """Upgrade the store at ``target`` to this library's schema version (``Store.upgrade``).

    One write transaction: all of the upgrade or nothing. Writers of the store wait
    for it, and two upgraders run one after the other.

    Args:
        target: The store, as ``Store`` takes it (a path, a URL, an engine or a connection).
        schema: The PostgreSQL schema of the store's tables.

    Raises:
        StoreNotFoundError: there is no store there.
        SchemaVersionError: the store is newer than the library, or has no version.
        StoreUnavailableError: the path or URL cannot be used.
        StoreBusyError: another writer held the store longer than the wait.
    """
    with _connection(target, schema=schema, write=True) as (conn, shown):
        report = upgrade_schema(conn, shown, schema)
        if report.upgraded:
            after_commit(conn, functools.partial(_log_upgrade, report))
    return report


def _log_upgrade(report: UpgradeReport) -> None:
    _log.info(
        "store upgraded from schema version %d (revision %s) to %d (revision %s)",
        report.before_version,
        report.before_revision,
        report.after_version,
        report.after_revision,
    )
