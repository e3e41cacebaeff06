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

Schema version 2 adds the operations room's tables (:data:`OPERATIONS_TABLES`):

- ``ka_ownership_move``: dated moves of customers between project groups
  (append-only; at most one per customer and month).
- ``ka_target``: targets per group (``member`` empty) or member and span.
- ``ka_member_score``: performance scores per year, group and member.
- ``ka_payout_scheme``, ``ka_payout_run``, ``ka_payout``, ``ka_payout_share``:
  schemes by name and version (their TOML text, immutable), and the payouts
  of a period with every member's share in fen.
- ``ka_kpi_observation``: integer numerator and denominator per subject, KPI and month.
- ``ka_supervision_item``, ``ka_item_history``, ``ka_dispatch_order``,
  ``ka_supervision_order``, ``ka_supervision_order_item``: the supervision
  list, its append-only history (``seq`` from 1) and the orders of headquarters;
  days are ``DATE``, the level its rank (0 city .. 2 headquarters).
- ``ka_stage_move``: the moves of project lifecycles.
- ``ka_escalation_policy``: one row, the days per level and the supervision-order
  threshold the store's sweeps and orders use.
"""

from __future__ import annotations

import datetime as dt  # noqa: TC003  (sqlmodel reads the annotations at run time)
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from keyaccount.domain import MAX_AMOUNT_FEN, Department, Level, Severity, Stage
from keyaccount.operations import MAX_KPI_COUNT

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "BULK_FOREIGN_KEYS",
    "BULK_INDEXES",
    "CHANGE_ATTRIBUTES",
    "OPERATIONS_TABLES",
    "REVENUE_ROW",
    "REVENUE_ROW_COLUMNS",
    "TABLES",
    "DbChange",
    "DbCustomer",
    "DbDispatchOrder",
    "DbEscalationPolicy",
    "DbItemHistory",
    "DbKpiObservation",
    "DbMemberScore",
    "DbOwnershipMove",
    "DbPayout",
    "DbPayoutRun",
    "DbPayoutScheme",
    "DbPayoutShare",
    "DbProduct",
    "DbProjectCustomer",
    "DbProjectGroup",
    "DbProjectMember",
    "DbRevenue",
    "DbSchema",
    "DbStageMove",
    "DbSupervisionItem",
    "DbSupervisionOrder",
    "DbSupervisionOrderItem",
    "DbTarget",
    "change_table",
    "customer_table",
    "dispatch_order_table",
    "escalation_policy_table",
    "item_history_table",
    "kpi_observation_table",
    "member_score_table",
    "metadata",
    "ownership_move_table",
    "payout_run_table",
    "payout_scheme_table",
    "payout_share_table",
    "payout_table",
    "product_table",
    "project_customer_table",
    "project_group_table",
    "project_member_table",
    "revenue_table",
    "schema_table",
    "stage_move_table",
    "supervision_item_table",
    "supervision_order_item_table",
    "supervision_order_table",
    "target_table",
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

# ------------------------------------------------------------------ the operations room
# Schema version 2 (docs/store.md, "Operations"): the tables of keyaccount.operations.

_LEVEL_TOP = len(Level) - 1


def _one_of(column: str, names: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(n) for n in names)})"


_SUBJECT_KINDS = ("CUSTOMER", "GROUP")


class DbOwnershipMove(SQLModel, table=True):
    """A dated move of a customer to a project group (or out of any): append-only."""

    __tablename__: ClassVar[str] = "ka_ownership_move"
    __table_args__ = (
        sa.UniqueConstraint("customer_key", "period", name="uq_ka_ownership_move_month"),
    )

    move_key: int | None = Field(
        default=None, sa_column=sa.Column(_BIG_KEY, primary_key=True, autoincrement=True)
    )
    customer_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_customer.customer_key", "fk_ka_ownership_move_customer"),
            nullable=False,
        )
    )
    group_key: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_project_group.group_key", "fk_ka_ownership_move_group"),
            nullable=True,
        ),
    )
    period: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    actor: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: dt.datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class DbTarget(SQLModel, table=True):
    """A revenue target of a project group (``member`` empty) or of one of its members."""

    __tablename__: ClassVar[str] = "ka_target"
    __table_args__ = (
        sa.CheckConstraint(
            _one_of("span_kind", ("MONTH", "QUARTER", "YEAR")), name="ck_ka_target_kind"
        ),
        sa.CheckConstraint(f"target_fen BETWEEN 0 AND {MAX_AMOUNT_FEN}", name="ck_ka_target_fen"),
        sa.UniqueConstraint("group_key", "member", "span_kind", "span_start", name="uq_ka_target"),
    )

    target_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    group_key: int = Field(
        sa_column=sa.Column(
            sa.Integer, _fk("ka_project_group.group_key", "fk_ka_target_group"), nullable=False
        )
    )
    member: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    span_kind: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    span_start: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    target_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class DbMemberScore(SQLModel, table=True):
    """A member's performance score for a year (exact decimal text), used by payouts."""

    __tablename__: ClassVar[str] = "ka_member_score"
    __table_args__ = (
        sa.UniqueConstraint("year", "group_key", "member", name="uq_ka_member_score"),
    )

    score_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    year: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    group_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_project_group.group_key", "fk_ka_member_score_group"),
            nullable=False,
        )
    )
    member: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    score: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class DbPayoutScheme(SQLModel, table=True):
    """A payout scheme's TOML text, by name and version: immutable once stored."""

    __tablename__: ClassVar[str] = "ka_payout_scheme"
    __table_args__ = (
        sa.UniqueConstraint("name", "version", name="uq_ka_payout_scheme_version"),
        sa.CheckConstraint("version >= 1", name="ck_ka_payout_scheme_version"),
    )

    scheme_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    toml: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: dt.datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class DbPayoutRun(SQLModel, table=True):
    """The payouts of one period under one scheme (one run per period label)."""

    __tablename__: ClassVar[str] = "ka_payout_run"

    run_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    period: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    scheme_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_payout_scheme.scheme_key", "fk_ka_payout_run_scheme"),
            nullable=False,
        )
    )
    recorded_at: dt.datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class DbPayout(SQLModel, table=True):
    """One group's payout in a run: its figures and pool in fen."""

    __tablename__: ClassVar[str] = "ka_payout"
    __table_args__ = (
        sa.UniqueConstraint("run_key", "group_key", name="uq_ka_payout_group"),
        sa.CheckConstraint("target_fen > 0", name="ck_ka_payout_target"),
        sa.CheckConstraint("pool_fen >= 0 AND pool_fen <= uncapped_fen", name="ck_ka_payout_pool"),
    )

    run_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_payout_run.run_key", "fk_ka_payout_run"),
            primary_key=True,
            autoincrement=False,
        )
    )
    position: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    group_key: int = Field(
        sa_column=sa.Column(
            sa.Integer, _fk("ka_project_group.group_key", "fk_ka_payout_group"), nullable=False
        )
    )
    attributed_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    target_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    uncapped_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    pool_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class DbPayoutShare(SQLModel, table=True):
    """One member's share of a group's pool, in whole fen; decimals as exact text."""

    __tablename__: ClassVar[str] = "ka_payout_share"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["run_key", "position"],
            ["ka_payout.run_key", "ka_payout.position"],
            name="fk_ka_payout_share_payout",
        ),
        sa.CheckConstraint("fen >= 0", name="ck_ka_payout_share_fen"),
    )

    run_key: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    position: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    member_index: int = Field(
        sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    )
    member: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    role: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    full_time: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    score: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    role_weight: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    weight: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class DbKpiObservation(SQLModel, table=True):
    """One month of one KPI for a customer or project group, as exact counts."""

    __tablename__: ClassVar[str] = "ka_kpi_observation"
    __table_args__ = (
        sa.UniqueConstraint(
            "subject_kind", "subject_id", "kpi_id", "period", name="uq_ka_kpi_observation"
        ),
        sa.CheckConstraint(_one_of("subject_kind", _SUBJECT_KINDS), name="ck_ka_kpi_subject"),
        sa.CheckConstraint(
            f"numerator BETWEEN 0 AND {MAX_KPI_COUNT} AND denominator BETWEEN 0 AND "
            f"{MAX_KPI_COUNT}",
            name="ck_ka_kpi_counts",
        ),
        sa.Index("ix_ka_kpi_observation_period", "period"),
    )

    observation_key: int | None = Field(
        default=None, sa_column=sa.Column(_BIG_KEY, primary_key=True, autoincrement=True)
    )
    subject_kind: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    subject_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    kpi_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    period: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    numerator: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    denominator: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class DbDispatchOrder(SQLModel, table=True):
    """A dispatch order (指挥调度令); its items name it in ``dispatch_id``."""

    __tablename__: ClassVar[str] = "ka_dispatch_order"

    order_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    order_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    issued_by: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))


class DbSupervisionItem(SQLModel, table=True):
    """An item of the supervision list (督办清单), its fields flat; ``item_key`` orders them."""

    __tablename__: ClassVar[str] = "ka_supervision_item"
    __table_args__ = (
        sa.CheckConstraint(f"level BETWEEN 0 AND {_LEVEL_TOP}", name="ck_ka_item_level"),
        sa.CheckConstraint(_one_of("subject_kind", _SUBJECT_KINDS), name="ck_ka_item_subject"),
        sa.CheckConstraint(
            _one_of("department", [d.name for d in Department]), name="ck_ka_item_department"
        ),
        sa.CheckConstraint(
            _one_of("severity", [s.name for s in Severity]), name="ck_ka_item_severity"
        ),
        sa.CheckConstraint("due_on >= opened_on", name="ck_ka_item_due"),
        sa.CheckConstraint(
            "(status = 'OPEN' AND closed_on IS NULL AND resolution IS NULL) OR "
            "(status = 'CLOSED' AND closed_on IS NOT NULL AND resolution IS NOT NULL "
            "AND closed_on >= opened_on)",
            name="ck_ka_item_status",
        ),
        sa.CheckConstraint(f"NOT flagged OR level = {_LEVEL_TOP}", name="ck_ka_item_flagged"),
        sa.Index("ix_ka_item_dispatch", "dispatch_id"),
    )

    item_key: int | None = Field(
        default=None, sa_column=sa.Column(_BIG_KEY, primary_key=True, autoincrement=True)
    )
    item_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    subject_kind: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    subject_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    department: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    responsible_person: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    level: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    province: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    severity: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    opened_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    due_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    owner: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    resolution: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    closed_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    source_key: str | None = Field(
        default=None, sa_column=sa.Column(sa.Text, nullable=True, unique=True)
    )
    dispatch_id: str | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Text,
            _fk("ka_dispatch_order.order_id", "fk_ka_item_dispatch"),
            nullable=True,
        ),
    )
    escalated_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    flagged: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class DbItemHistory(SQLModel, table=True):
    """One append-only history row of the supervision list; ``seq`` numbers them from 1."""

    __tablename__: ClassVar[str] = "ka_item_history"
    __table_args__ = (
        sa.CheckConstraint("seq >= 1", name="ck_ka_item_history_seq"),
        sa.Index("ix_ka_item_history_item", "item_key"),
        sa.Index("ix_ka_item_history_day", "acted_on"),
    )

    seq: int = Field(sa_column=sa.Column(_BIG_KEY, primary_key=True, autoincrement=False))
    item_key: int = Field(
        sa_column=sa.Column(
            _BIG_KEY, _fk("ka_supervision_item.item_key", "fk_ka_item_history_item"), nullable=False
        )
    )
    who: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    acted_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    what: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    field: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    from_value: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    to_value: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class DbSupervisionOrder(SQLModel, table=True):
    """A supervision order (工作督办单) to a province whose items kept escalating."""

    __tablename__: ClassVar[str] = "ka_supervision_order"
    __table_args__ = (sa.CheckConstraint("escalations >= 1", name="ck_ka_order_escalations"),)

    order_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    order_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    province: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    issued_by: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    escalations: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


class DbSupervisionOrderItem(SQLModel, table=True):
    """An item whose escalations a supervision order answers."""

    __tablename__: ClassVar[str] = "ka_supervision_order_item"

    order_key: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            _fk("ka_supervision_order.order_key", "fk_ka_order_item_order"),
            primary_key=True,
            autoincrement=False,
        )
    )
    item_key: int = Field(
        sa_column=sa.Column(
            _BIG_KEY,
            _fk("ka_supervision_item.item_key", "fk_ka_order_item_item"),
            primary_key=True,
            autoincrement=False,
        )
    )


class DbStageMove(SQLModel, table=True):
    """One move of a project's lifecycle (PM管理法): append-only, numbered per project."""

    __tablename__: ClassVar[str] = "ka_stage_move"
    __table_args__ = (
        sa.CheckConstraint("seq >= 1", name="ck_ka_stage_move_seq"),
        sa.CheckConstraint(_one_of("from_stage", [s.name for s in Stage]), name="ck_ka_stage_from"),
        sa.CheckConstraint(_one_of("to_stage", [s.name for s in Stage]), name="ck_ka_stage_to"),
        sa.UniqueConstraint("project_id", "seq", name="uq_ka_stage_move"),
    )

    move_key: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    project_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    seq: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    who: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    moved_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    from_stage: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    to_stage: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class DbEscalationPolicy(SQLModel, table=True):
    """The store's escalation policy: one row, days per level and the order threshold."""

    __tablename__: ClassVar[str] = "ka_escalation_policy"
    __table_args__ = (
        sa.CheckConstraint("policy_key = 1", name="ck_ka_escalation_policy_one_row"),
        sa.CheckConstraint(
            "days_city >= 1 AND days_province >= 1 AND days_headquarters >= 1",
            name="ck_ka_escalation_policy_days",
        ),
        sa.CheckConstraint(
            "order_escalations >= 1 AND order_window_days >= 1",
            name="ck_ka_escalation_policy_orders",
        ),
    )

    policy_key: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    )
    days_city: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    days_province: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    days_headquarters: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    order_escalations: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    order_window_days: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


ownership_move_table: sa.Table = metadata.tables["ka_ownership_move"]
target_table: sa.Table = metadata.tables["ka_target"]
member_score_table: sa.Table = metadata.tables["ka_member_score"]
payout_scheme_table: sa.Table = metadata.tables["ka_payout_scheme"]
payout_run_table: sa.Table = metadata.tables["ka_payout_run"]
payout_table: sa.Table = metadata.tables["ka_payout"]
payout_share_table: sa.Table = metadata.tables["ka_payout_share"]
kpi_observation_table: sa.Table = metadata.tables["ka_kpi_observation"]
dispatch_order_table: sa.Table = metadata.tables["ka_dispatch_order"]
supervision_item_table: sa.Table = metadata.tables["ka_supervision_item"]
item_history_table: sa.Table = metadata.tables["ka_item_history"]
supervision_order_table: sa.Table = metadata.tables["ka_supervision_order"]
supervision_order_item_table: sa.Table = metadata.tables["ka_supervision_order_item"]
stage_move_table: sa.Table = metadata.tables["ka_stage_move"]
escalation_policy_table: sa.Table = metadata.tables["ka_escalation_policy"]

OPERATIONS_TABLES: tuple[sa.Table, ...] = (
    ownership_move_table,
    target_table,
    member_score_table,
    payout_scheme_table,
    payout_run_table,
    payout_table,
    payout_share_table,
    kpi_observation_table,
    dispatch_order_table,
    supervision_item_table,
    item_history_table,
    supervision_order_table,
    supervision_order_item_table,
    stage_move_table,
    escalation_policy_table,
)
"""The operations room's tables (schema version 2), parents before children."""

TABLES: tuple[sa.Table, ...] = (
    schema_table,
    customer_table,
    product_table,
    revenue_table,
    project_group_table,
    project_member_table,
    project_customer_table,
    change_table,
    *OPERATIONS_TABLES,
)
"""Every table of the store, parents before children."""
