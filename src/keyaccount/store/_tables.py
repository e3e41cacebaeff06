"""The database tables, as sqlmodel classes (all in one module, as the sqlmodel docs advise).

These classes are the storage layer's own; the attrs domain objects never
see them. :mod:`keyaccount.store._mapping` converts between the two.

Layout (every table name starts with ``ka_`` so the tables can live in a
database shared with other systems):

- ``ka_schema``: one row with the schema version (see :mod:`._schema`).
- ``ka_customer``: one row per customer; ``customer_key`` is the customer's
  position in the portfolio, ``customer_id`` its unique text id. Tier is the
  rank (0 ``DORMANT`` .. 3 ``STRATEGIC``) so that SQL can compare tiers;
  segment and sub-segment are member names; periods are
  :attr:`~keyaccount.Period.ordinal` integers.
- ``ka_product``: the catalogue; ``product_key`` is the catalogue position.
- ``ka_revenue``: one row per revenue record, referring to customer and
  product by key; money is integer fen (``BIGINT``). There is deliberately
  no unique constraint on (customer, product, period): duplicate records add.
- ``ka_project_group``, ``ka_project_member``, ``ka_project_customer``:
  project groups, their members in order, and which group owns a customer.
- ``ka_change``: every tier or segment change, with the period it takes
  effect, the rule or person that made it, the reason, the explanation
  (JSON text) and when it was recorded.
"""

from __future__ import annotations

import datetime as dt  # noqa: TC003  (sqlmodel reads the annotations at run time)
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "BULK_FOREIGN_KEYS",
    "BULK_INDEXES",
    "CHANGE_ATTRIBUTES",
    "REVENUE_ROW",
    "REVENUE_ROW_COLUMNS",
    "TABLES",
    "DbChange",
    "DbCustomer",
    "DbProduct",
    "DbProjectCustomer",
    "DbProjectGroup",
    "DbProjectMember",
    "DbRevenue",
    "DbSchema",
    "change_table",
    "customer_table",
    "metadata",
    "product_table",
    "project_customer_table",
    "project_group_table",
    "project_member_table",
    "revenue_table",
    "schema_table",
]

metadata = SQLModel.metadata
"""The metadata holding every ``ka_`` table."""

# A 64-bit surrogate key: BIGINT (identity) on PostgreSQL, and on SQLite the
# ``INTEGER PRIMARY KEY`` that is an alias of the rowid (``BIGINT PRIMARY KEY``
# would not be, and would cost an extra index).
_BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# PostgreSQL hands out identity values in blocks of this many per session
# (SQLite ignores it: its INTEGER PRIMARY KEY is the rowid).
_KEY_CACHE = 10_000

CHANGE_ATTRIBUTES = ("tier", "segment")
"""The customer attributes whose changes ``ka_change`` records."""


def _fk(target: str, name: str, *, deferred: bool = False) -> sa.ForeignKey:
    if deferred:
        # Checked at commit, so that a customer may come before its parent in one load.
        return sa.ForeignKey(target, name=name, deferrable=True, initially="DEFERRED")
    return sa.ForeignKey(target, name=name)


BULK_FOREIGN_KEYS: tuple[tuple[str, str, str], ...] = (
    (
        "ka_customer",
        "fk_ka_customer_parent",
        "FOREIGN KEY (parent_key) REFERENCES ka_customer (customer_key) "
        "DEFERRABLE INITIALLY DEFERRED",
    ),
    (
        "ka_revenue",
        "fk_ka_revenue_customer",
        "FOREIGN KEY (customer_key) REFERENCES ka_customer (customer_key)",
    ),
    (
        "ka_revenue",
        "fk_ka_revenue_product",
        "FOREIGN KEY (product_key) REFERENCES ka_product (product_key)",
    ),
)
"""Foreign keys (table, name, definition) that a PostgreSQL bulk load into an empty table
drops and adds again after the load: one validating join instead of a check per row.
They must match the definitions of the table classes below."""


BULK_INDEXES: dict[str, tuple[tuple[str, tuple[str, ...], bool], ...]] = {
    "ka_customer": (
        ("ux_ka_customer_id", ("customer_id",), True),
        ("ix_ka_customer_segment", ("segment",), False),
        ("ix_ka_customer_parent", ("parent_key",), False),
    ),
    "ka_revenue": (("ix_ka_revenue_customer_period", ("customer_key", "period"), False),),
}
"""Indexes (name, columns, unique) of the big tables, by table. A bulk load into an
empty table drops them and builds them after the load (one sort instead of a b-tree
insert per row). ``ix_ka_revenue_customer_period`` serves the reads of one customer and
the per-customer month windows of metrics computed in SQL."""


def _indexes(table: str) -> tuple[sa.Index, ...]:
    return tuple(
        sa.Index(name, *columns, unique=unique) for name, columns, unique in BULK_INDEXES[table]
    )


class DbSchema(SQLModel, table=True):
    """The schema version the database was written with."""

    __tablename__: ClassVar[str] = "ka_schema"

    name: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    written_by: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class DbCustomer(SQLModel, table=True):
    """A customer."""

    __tablename__: ClassVar[str] = "ka_customer"
    __table_args__ = (
        sa.CheckConstraint("tier BETWEEN 0 AND 3", name="ck_ka_customer_tier"),
        *_indexes("ka_customer"),
    )

    customer_key: int = Field(
        sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    )
    customer_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    segment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    sub_segment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    tier: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    parent_key: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_customer.customer_key", "fk_ka_customer_parent", deferred=True),
            nullable=True,
        ),
    )
    province: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    first_period: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    tier_since: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))


class DbProduct(SQLModel, table=True):
    """A product of the catalogue."""

    __tablename__: ClassVar[str] = "ka_product"

    product_key: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    product_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    name_en: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    name_zh: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    segments: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class DbRevenue(SQLModel, table=True):
    """A revenue record: a customer's revenue and volume of one product in one month."""

    __tablename__: ClassVar[str] = "ka_revenue"
    __table_args__ = (
        sa.PrimaryKeyConstraint("revenue_key", name="pk_ka_revenue"),
        sa.CheckConstraint("volume >= 0", name="ck_ka_revenue_volume"),
        *_indexes("ka_revenue"),
    )

    revenue_key: int | None = Field(
        default=None,
        sa_column=sa.Column(_BIG_KEY, sa.Identity(cache=_KEY_CACHE), primary_key=True),
    )
    customer_key: int = Field(
        sa_column=sa.Column(
            sa.Integer, _fk("ka_customer.customer_key", "fk_ka_revenue_customer"), nullable=False
        )
    )
    product_key: int = Field(
        sa_column=sa.Column(
            sa.Integer, _fk("ka_product.product_key", "fk_ka_revenue_product"), nullable=False
        )
    )
    period: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    revenue_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    volume: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class DbProjectGroup(SQLModel, table=True):
    """A project group (项目组)."""

    __tablename__: ClassVar[str] = "ka_project_group"

    group_key: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    group_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    name_en: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    name_zh: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    segment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    international: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class DbProjectMember(SQLModel, table=True):
    """A member of a project group, at its position in the group's member list."""

    __tablename__: ClassVar[str] = "ka_project_member"

    group_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_project_group.group_key", "fk_ka_project_member_group"),
            primary_key=True,
            autoincrement=False,
        )
    )
    member_index: int = Field(
        sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    )
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    full_time: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class DbProjectCustomer(SQLModel, table=True):
    """A customer owned by a project group (a customer belongs to at most one group)."""

    __tablename__: ClassVar[str] = "ka_project_customer"
    __table_args__ = (sa.Index("ix_ka_project_customer_group", "group_key"),)

    customer_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_customer.customer_key", "fk_ka_project_customer_customer"),
            primary_key=True,
            autoincrement=False,
        )
    )
    group_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_project_group.group_key", "fk_ka_project_customer_group"),
            nullable=False,
        )
    )


class DbChange(SQLModel, table=True):
    """A recorded change of a customer's tier or segment."""

    __tablename__: ClassVar[str] = "ka_change"
    __table_args__ = (
        sa.CheckConstraint("attribute IN ('tier', 'segment')", name="ck_ka_change_attribute"),
        sa.CheckConstraint("rule IS NOT NULL OR actor IS NOT NULL", name="ck_ka_change_source"),
        sa.Index("ix_ka_change_customer", "customer_key", "attribute", "period"),
        sa.Index("ix_ka_change_period", "period"),
    )

    change_key: int | None = Field(
        default=None, sa_column=sa.Column(_BIG_KEY, primary_key=True, autoincrement=True)
    )
    customer_key: int = Field(
        sa_column=sa.Column(
            sa.Integer, _fk("ka_customer.customer_key", "fk_ka_change_customer"), nullable=False
        )
    )
    attribute: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    from_value: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    to_value: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    period: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    rule: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    actor: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    explanation: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: dt.datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


schema_table: sa.Table = metadata.tables["ka_schema"]
customer_table: sa.Table = metadata.tables["ka_customer"]
product_table: sa.Table = metadata.tables["ka_product"]
revenue_table: sa.Table = metadata.tables["ka_revenue"]
project_group_table: sa.Table = metadata.tables["ka_project_group"]
project_member_table: sa.Table = metadata.tables["ka_project_member"]
project_customer_table: sa.Table = metadata.tables["ka_project_customer"]
change_table: sa.Table = metadata.tables["ka_change"]

REVENUE_ROW: tuple[tuple[str, str], ...] = (
    ("customer_key", "int4"),
    ("product_key", "int4"),
    ("period", "int4"),
    ("revenue_fen", "int8"),
    ("volume", "int8"),
)
"""The ``ka_revenue`` columns that bulk loads write and revenue reads return, in this order,
with their PostgreSQL types: the row of the binary ``COPY`` both use on PostgreSQL."""
REVENUE_ROW_COLUMNS: tuple[str, ...] = tuple(name for name, _ in REVENUE_ROW)
"""The column names of :data:`REVENUE_ROW`."""

TABLES: tuple[sa.Table, ...] = (
    schema_table,
    customer_table,
    product_table,
    revenue_table,
    project_group_table,
    project_member_table,
    project_customer_table,
    change_table,
)
"""Every table of the store, parents before children."""
