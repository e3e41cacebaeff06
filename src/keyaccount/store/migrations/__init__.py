"""Schema migrations of the store, run with Alembic from the store's own connection.

There is no ``alembic.ini``: :func:`alembic_config` builds the configuration in code,
pointing at this package (``env.py`` and the scripts in ``versions/``), and hands
Alembic the connection of the store's write transaction, so a migration commits
with the rest of the upgrade or not at all. Alembic records the revision in
``ka_alembic_version`` (:data:`VERSION_TABLE`); ``ka_schema.version`` is kept in step
by every revision (revision ``0001`` is schema version 1, ``0002`` version 2, ...).

- A new store gets every table from :mod:`keyaccount.store._tables` and is stamped
  at the head revision (:func:`stamp_head`): the tables are defined once.
- A store of an older schema version is upgraded when asked (``Store.upgrade``,
  ``keyaccount db upgrade``: :func:`upgrade`), never when opened; one written
  before the store used Alembic (schema version 1, no ``ka_alembic_version``) is
  first stamped at the baseline revision ``0001``, which it matches.

Adding a revision: a script in ``versions/`` whose ``down_revision`` is the head,
which changes the tables and sets ``ka_schema.version`` to the new version; raise
:data:`keyaccount.store.SCHEMA_VERSION` and :data:`REVISIONS` with it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

    import sqlalchemy as sa
    from alembic.config import Config

__all__ = [
    "REVISIONS",
    "VERSION_TABLE",
    "alembic_config",
    "recorded_revision",
    "stamp_head",
    "upgrade",
]

VERSION_TABLE: Final = "ka_alembic_version"
"""The table where Alembic records the store's revision."""

REVISIONS: Final = {1: "0001", 2: "0002"}
"""The Alembic revision of each schema version."""

_HERE: Final = Path(__file__).resolve().parent

_running_lock: Final = threading.RLock()


@contextmanager
def _running() -> Iterator[None]:
    """Run Alembic, one migration at a time, leaving an application's own Alembic run as it was.

    Alembic keeps the environment and the operations it is running in module-level
    proxies (``alembic.context``, ``alembic.op``), installed at the start of a run
    and removed at its end. So runs in the process take turns here, and when the
    store is upgraded from inside an application's own Alembic run (its ``env.py``,
    or one of its revisions), the application's proxies are put back afterwards.
    """
    import alembic.context
    import alembic.op

    with _running_lock:
        outer = [getattr(module, "_proxy", None) for module in (alembic.context, alembic.op)]
        try:
            yield
        finally:
            for proxy in outer:
                if proxy is not None:
                    proxy._install_proxy()


def alembic_config(conn: sa.Connection) -> Config:
    """An Alembic configuration for this package's scripts that migrates on ``conn``."""
    from alembic.config import Config  # imported on use: opening a current store needs none

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = conn
    return config


def stamp_head(conn: sa.Connection) -> None:
    """Record the head revision in a store whose tables were just created (in ``conn``)."""
    from alembic import command

    with _running():
        command.stamp(alembic_config(conn), "head")


def recorded_revision(conn: sa.Connection) -> str | None:
    """The revision Alembic records in the store (``None``: no :data:`VERSION_TABLE`)."""
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    table = sa.table(VERSION_TABLE, sa.column("version_num", sa.String))
    return conn.scalar(sa.select(table.c.version_num))


def upgrade(conn: sa.Connection, found: int) -> None:
    """Upgrade a store of schema version ``found`` to the head revision, inside ``conn``.

    Args:
        conn: A connection inside the store's write transaction.
        found: The version ``ka_schema`` records; a store without Alembic's table is
            stamped at that version's revision first.
    """
    import sqlalchemy as sa
    from alembic import command

    config = alembic_config(conn)
    with _running():
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            command.stamp(config, REVISIONS[found])
        command.upgrade(config, "head")
