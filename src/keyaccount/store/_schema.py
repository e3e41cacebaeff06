"""The schema version: recorded in ``ka_schema``, checked every time a store is opened."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from keyaccount.exceptions import SchemaVersionError
from keyaccount.store._tables import TABLES, schema_table

__all__ = ["SCHEMA_VERSION", "ensure_schema", "read_schema_version"]

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
    from keyaccount import __version__

    conn.execute(
        sa.insert(schema_table).values(name=_NAME, version=SCHEMA_VERSION, written_by=__version__)
    )
    return True
