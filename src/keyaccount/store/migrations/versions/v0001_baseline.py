"""Schema version 1, the baseline: the portfolio, its project groups and the change history.

Stores written before the store used Alembic hold exactly these tables and are stamped at
this revision, never upgraded through it. Upgrading an empty database from nothing creates
them as :mod:`keyaccount.store._tables` defines them.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from alembic import op

from keyaccount.store._tables import metadata, schema_table

revision: Final = "0001"
down_revision: Final = None
branch_labels: Final = None
depends_on: Final = None

V1_TABLES: Final = (
    "ka_schema",
    "ka_customer",
    "ka_product",
    "ka_revenue",
    "ka_project_group",
    "ka_project_member",
    "ka_project_customer",
    "ka_change",
)
"""The tables of schema version 1, parents before children."""


def upgrade() -> None:
    """Create the version 1 tables and record version 1."""
    bind = op.get_bind()
    for name in V1_TABLES:
        metadata.tables[name].create(bind)
    bind.execute(sa.insert(schema_table).values(name="keyaccount", version=1, written_by="alembic"))


def downgrade() -> None:
    """Drop the version 1 tables."""
    bind = op.get_bind()
    for name in reversed(V1_TABLES):
        metadata.tables[name].drop(bind)
