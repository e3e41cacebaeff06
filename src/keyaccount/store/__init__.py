"""Persistence: a portfolio kept in SQLite (the default, a file) or PostgreSQL.

:class:`Store` saves and loads whole portfolios, reads parts of one (a
customer, a segment, a project group, revenue within months) without loading
everything, imports and exports the CSV formats in bulk (streamed, one
transaction, nothing written when a row is bad unless rejects are asked for),
and keeps the history of tier and segment changes, applied atomically.
``store.operations`` (:class:`OperationsStore`) keeps the operations room: ownership
moves, targets, payouts, KPI observations, the supervision list with its escalation
sweep in SQL, and project lifecycles. An older store is refused when opened and
upgraded when asked: :meth:`Store.upgrade` (Alembic), :func:`schema_status`.
Callbacks registered with ``store.on_transitions_applied`` and its siblings receive a
typed event (:class:`TransitionsApplied`, ...) after each write commits
(``docs/events-and-logging.md``).

The tables are the storage layer's own (sqlmodel classes in a private module);
the domain objects never import this package. See ``docs/store.md``.

Example:
    >>> from keyaccount import Customer, Portfolio
    >>> from keyaccount.domain import TierChange
    >>> from keyaccount.store import Store
    >>> with Store("sqlite://") as store:
    ...     store.save(Portfolio([Customer("C1", "当当网", "2021-01")]))
    ...     _ = store.record_change(
    ...         TierChange("C1", "2022-07", before="ACTIVE", after="KEY", actor="王经理"))
    ...     store.customer("C1").tier, store.state_as_of("C1", "2022-06").tier
    (<Tier.KEY: 2>, <Tier.ACTIVE: 1>)
"""

from __future__ import annotations

from keyaccount.store._engine import resolve_url, sqlite_path
from keyaccount.store._events import (
    Event,
    ImportCommitted,
    PayoutsRecorded,
    PortfolioSaved,
    Subscription,
    SweepRecorded,
    TransitionsApplied,
)
from keyaccount.store._export import ExportReport
from keyaccount.store._history import CustomerState, HistoryEntry, RecordedChange
from keyaccount.store._import import ImportReport
from keyaccount.store._operations import OperationsStore
from keyaccount.store._operations_sweep import SweepReport
from keyaccount.store._reads import RevenueTable
from keyaccount.store._schema import SCHEMA_VERSION
from keyaccount.store._store import Store
from keyaccount.store._upgrade import SchemaStatus, UpgradeReport, schema_status

__all__ = [
    "SCHEMA_VERSION",
    "CustomerState",
    "Event",
    "ExportReport",
    "HistoryEntry",
    "ImportCommitted",
    "ImportReport",
    "OperationsStore",
    "PayoutsRecorded",
    "PortfolioSaved",
    "RecordedChange",
    "RevenueTable",
    "SchemaStatus",
    "Store",
    "Subscription",
    "SweepRecorded",
    "SweepReport",
    "TransitionsApplied",
    "UpgradeReport",
    "resolve_url",
    "schema_status",
    "sqlite_path",
]
