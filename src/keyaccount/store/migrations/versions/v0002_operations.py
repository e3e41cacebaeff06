"""Schema version 2: the operations room's tables.

Ownership moves, targets, scores, payouts, KPI observations, the supervision list and
its orders, project lifecycles.

The tables are created as :mod:`keyaccount.store._tables` defines them
(``OPERATIONS_TABLES``); the store's tests check that a version 1 store upgraded here
has the same tables, columns, keys, indexes and constraints as a new store. A later
revision that changes one of these tables must first copy its version 2 definition
into this script.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from alembic import op

from keyaccount.store._tables import OPERATIONS_TABLES, schema_table

revision: Final = "0002"
down_revision: Final = "0001"
branch_labels: Final = None
depends_on: Final = None


def upgrade() -> None:
    """Create the operations tables and record version 2."""
    bind = op.get_bind()
    for table in OPERATIONS_TABLES:
        table.create(bind)
    bind.execute(sa.update(schema_table).values(version=2))


def downgrade() -> None:
    """Drop the operations tables and record version 1."""
    bind = op.get_bind()
    for table in reversed(OPERATIONS_TABLES):
        table.drop(bind)
    bind.execute(sa.update(schema_table).values(version=1))
