"""Alembic's environment: migrate on the connection the store hands over (no engine here)."""

from __future__ import annotations

from alembic import context

from keyaccount.store.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():  # the store's transaction: nothing begun or committed here
    context.run_migrations()
