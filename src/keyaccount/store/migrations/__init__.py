"""Schema migrations of the store, run with Alembic from the store's own connection.

There is no ``alembic.ini``: :func:`alembic_config` builds the configuration in code,
pointing at this package (``env.py`` and the scripts in ``versions/``), and hands
Alembic the connection of the store's write transaction, so a migration commits
with the rest of the opening or not at all. Alembic records the revision in
``ka_alembic_version``; ``ka_schema.version`` is kept in step by every revision
(revision ``0001`` is schema version 1, ``0002`` version 2, ...).

- A new store gets every table from :mod:`keyaccount.store._tables` and is stamped
  at the head revision (:func:`stamp_head`): the tables are defined once.
- A store of an older schema version is upgraded (:func:`upgrade`); one written
  before the store used Alembic (schema version 1, no ``ka_alembic_version``) is
  first stamped at the baseline revision ``0001``, which it matches.

Adding a revision: a script in ``versions/`` whose ``down_revision`` is the head,
which changes the tables and sets ``ka_schema.version`` to the new version; raise
:data:`keyaccount.store.SCHEMA_VERSION` and :data:`REVISIONS` with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config

__all__ = ["REVISIONS", "VERSION_TABLE", "alembic_config", "stamp_head", "upgrade"]

VERSION_TABLE: Final = "ka_alembic_version"
"""The table where Alembic records the store's revision."""

REVISIONS: Final = {1: "0001", 2: "0002"}
"""The Alembic revision of each schema version."""

_HERE: Final = Path(__file__).resolve().parent


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

    command.stamp(alembic_config(conn), "head")


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
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        command.stamp(config, REVISIONS[found])
    command.upgrade(config, "head")
