"""Tier and segment history: applying changes atomically, and asking what held when.

Concurrency: every batch of changes runs in one write transaction. On
PostgreSQL the customers a chunk of changes touches are locked with
``SELECT ... FOR UPDATE`` (in key order) before their current values are
read, so a second writer waits for the first to commit and then sees its
result; a change whose ``before`` no longer matches raises
:class:`~keyaccount.exceptions.StaleChangeError` and its whole batch is
rolled back. No update is lost and none is applied twice. On SQLite the
write transaction (``BEGIN IMMEDIATE``) holds the database's write lock, so
writers run one after the other with the same effect.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import attrs
import sqlalchemy as sa
from sqlmodel import Session, col, select

from keyaccount.domain import (
    SUB_SEGMENTS,
    TIERS,
    Change,
    Period,
    Segment,
    SegmentChange,
    Tier,
    TierChange,
)
from keyaccount.exceptions import (
    StaleChangeError,
    UnknownCustomerError,
    ValidationError,
)
from keyaccount.store._mapping import (
    change_from_db,
    change_values,
    segment_from_name,
    segment_name,
    utc,
)
from keyaccount.store._tables import (
    CHANGE_ATTRIBUTES,
    DbChange,
    DbCustomer,
    change_table,
    customer_table,
)
from keyaccount.utils import elapsed, logger

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "CHUNK",
    "CustomerState",
    "RecordedChange",
    "apply_changes",
    "query_changes",
    "state_as_of",
]

CHUNK: Final = 1_000
"""Changes read from the caller's iterable, locked and written at a time."""

_C = customer_table
_H = change_table
_log = logger("store")


@attrs.frozen
class RecordedChange:
    """A change as the store recorded it.

    Attributes:
        change: The :class:`~keyaccount.domain.TierChange` or
            :class:`~keyaccount.domain.SegmentChange`.
        recorded_at: When it was recorded (UTC).
        sequence: Its number in the store: later changes have larger numbers.
    """

    change: Change
    recorded_at: dt.datetime
    sequence: int


@attrs.frozen
class CustomerState:
    """A customer's tier and segment as of a month, reconstructed from the history.

    Attributes:
        customer_id: The customer.
        period: The month asked about.
        tier: The tier in effect in that month.
        segment: The segment in effect in that month (``None``: unassigned).
    """

    customer_id: str
    period: Period
    tier: Tier
    segment: Segment | None


@attrs.define
class _Current:
    key: int
    customer_id: str
    first_period: int
    tier: int
    tier_since: int | None
    segment: str | None
    sub_segment: str | None
    last_tier_change: int | None = None
    last_segment_change: int | None = None
    touched: bool = False


def _where(n: int, change: Change) -> str:
    kind = "tier" if isinstance(change, TierChange) else "segment"
    return f"change {n} ({kind} of {change.customer_id!r} in {change.period})"


def _lock(conn: sa.Connection, ids: Sequence[str]) -> dict[str, _Current]:
    stmt = (
        sa.select(
            _C.c.customer_key,
            _C.c.customer_id,
            _C.c.first_period,
            _C.c.tier,
            _C.c.tier_since,
            _C.c.segment,
            _C.c.sub_segment,
        )
        .where(_C.c.customer_id.in_(ids))
        .order_by(_C.c.customer_key)
        .with_for_update()
    )
    state = {row[1]: _Current(*row) for row in conn.execute(stmt)}
    if state:
        keys = [s.key for s in state.values()]
        by_key = {s.key: s for s in state.values()}
        last = (
            sa.select(_H.c.customer_key, _H.c.attribute, sa.func.max(_H.c.period))
            .where(_H.c.customer_key.in_(keys))
            .group_by(_H.c.customer_key, _H.c.attribute)
        )
        for key, attribute, period in conn.execute(last):
            if attribute == "tier":
                by_key[key].last_tier_change = period
            else:
                by_key[key].last_segment_change = period
    return state


def _check_and_apply(n: int, change: Change, current: _Current | None) -> _Current:
    where = _where(n, change)
    if current is None:
        raise UnknownCustomerError(f"{where}: unknown customer {change.customer_id!r}")
    period = change.period.ordinal
    if period < current.first_period:
        raise ValidationError(
            f"{where}: the period is before the customer's first_period "
            f"{Period.from_ordinal(current.first_period)}"
        )
    if change.before == change.after:
        same = change.before.name if isinstance(change.before, Tier) else change.before
        raise ValidationError(
            f"{where}: before and after are both {same}; a change must change something "
            "(a rule deciding that a customer stays records nothing)"
        )
    if isinstance(change, TierChange):
        actual = TIERS[current.tier]
        if actual is not change.before:
            raise StaleChangeError(change.customer_id, "tier", change.before.name, actual.name)
        since = current.tier_since if current.tier_since is not None else current.first_period
        latest = max(since, current.last_tier_change or since)
        if period < latest:
            raise ValidationError(
                f"{where}: the current tier took effect in {Period.from_ordinal(latest)}, "
                "after this change; changes must be recorded in period order"
            )
        current.tier = change.after.rank
        current.tier_since = period
        current.last_tier_change = period
    else:
        assert isinstance(change, SegmentChange)
        actual_segment = segment_from_name(current.segment)
        if actual_segment is not change.before:
            raise StaleChangeError(
                change.customer_id,
                "segment",
                segment_name(change.before),
                segment_name(actual_segment),
            )
        last = current.last_segment_change
        if last is not None and period < last:
            raise ValidationError(
                f"{where}: the segment last changed in {Period.from_ordinal(last)}, after this "
                "change; changes must be recorded in period order"
            )
        current.segment = segment_name(change.after)
        if current.sub_segment is not None:
            sub = next(s for s in SUB_SEGMENTS if s.name == current.sub_segment)
            if sub.segment is not change.after:
                current.sub_segment = None
        current.last_segment_change = period
    current.touched = True
    return current


def apply_changes(
    conn: sa.Connection, changes: Iterable[Change], recorded_at: dt.datetime | None
) -> list[RecordedChange]:
    """Apply and record ``changes`` in order on ``conn`` (inside the caller's transaction).

    The iterable is read lazily, :data:`CHUNK` changes at a time; each chunk
    is checked against the locked current values and written before the
    next is read. Any error propagates and the caller rolls back.

    Raises:
        UnknownCustomerError: a change of a customer the store does not hold.
        StaleChangeError: a change whose ``before`` is not the current value.
        ValidationError: a change before the customer's first period, or
            earlier than the last change of the same attribute.
    """
    start = time.perf_counter()
    moment = utc(recorded_at if recorded_at is not None else dt.datetime.now(dt.UTC))
    recorded: list[RecordedChange] = []
    numbered = enumerate(changes)
    while chunk := list(itertools.islice(numbered, CHUNK)):
        for n, change in chunk:
            if not isinstance(change, (TierChange, SegmentChange)):
                raise ValidationError(f"change {n}: not a TierChange or SegmentChange: {change!r}")
        state = _lock(conn, sorted({c.customer_id for _, c in chunk}))
        rows: list[dict[str, Any]] = []
        for n, change in chunk:
            current = _check_and_apply(n, change, state.get(change.customer_id))
            rows.append(change_values(change, customer_key=current.key, recorded_at=moment))
        touched = [s for s in state.values() if s.touched]
        conn.execute(
            sa.update(_C)
            .where(_C.c.customer_key == sa.bindparam("key"))
            .values(
                tier=sa.bindparam("tier"),
                tier_since=sa.bindparam("tier_since"),
                segment=sa.bindparam("segment"),
                sub_segment=sa.bindparam("sub_segment"),
            ),
            [
                {
                    "key": s.key,
                    "tier": s.tier,
                    "tier_since": s.tier_since,
                    "segment": s.segment,
                    "sub_segment": s.sub_segment,
                }
                for s in touched
            ],
        )
        keys = conn.execute(
            sa.insert(_H).returning(_H.c.change_key, sort_by_parameter_order=True), rows
        )
        for (key,), (_, change) in zip(keys, chunk, strict=True):
            recorded.append(RecordedChange(change, moment, int(key)))
    _log_applied(recorded, elapsed(start))
    return recorded


def _log_applied(recorded: Sequence[RecordedChange], seconds: float) -> None:
    """Counts at ``INFO``; each change (with its customer id) only at ``DEBUG``."""
    tier = sum(isinstance(r.change, TierChange) for r in recorded)
    _log.info(
        "apply: %d tier and %d segment changes recorded, in %.3f s",
        tier,
        len(recorded) - tier,
        seconds,
    )
    if _log.isEnabledFor(logging.DEBUG):
        for r in recorded:
            c = r.change
            _log.debug(
                "change %d: %s of %s in %s, %s -> %s (rule %s)",
                r.sequence,
                "tier" if isinstance(c, TierChange) else "segment",
                c.customer_id,
                c.period,
                segment_name(c.before) if isinstance(c, SegmentChange) else c.before.name,
                segment_name(c.after) if isinstance(c, SegmentChange) else c.after.name,
                c.rule,
            )


def query_changes(
    conn: sa.Connection,
    start: Period | str | None,
    end: Period | str | None,
    customer_id: str | None,
    attribute: str | None,
) -> list[RecordedChange]:
    """Recorded changes taking effect within ``start``..``end``, by period then sequence.

    Raises:
        ValidationError: ``attribute`` is neither ``None``, ``"tier"`` nor ``"segment"``.
    """
    if attribute not in (None, *CHANGE_ATTRIBUTES):
        raise ValidationError(f"attribute must be 'tier' or 'segment', got {attribute!r}")
    start = None if start is None else Period.parse(start)
    end = None if end is None else Period.parse(end)
    with Session(conn) as session:
        stmt = select(DbChange, DbCustomer.customer_id).join(
            DbCustomer, col(DbCustomer.customer_key) == col(DbChange.customer_key)
        )
        if start is not None:
            stmt = stmt.where(DbChange.period >= start.ordinal)
        if end is not None:
            stmt = stmt.where(DbChange.period <= end.ordinal)
        if customer_id is not None:
            stmt = stmt.where(DbCustomer.customer_id == customer_id)
        if attribute is not None:
            stmt = stmt.where(DbChange.attribute == attribute)
        stmt = stmt.order_by(col(DbChange.period), col(DbChange.change_key))
        return [
            RecordedChange(
                change_from_db(row, customer_id=cid), utc(row.recorded_at), int(row.change_key or 0)
            )
            for row, cid in session.exec(stmt)
        ]


def state_as_of(conn: sa.Connection, customer_id: str, period: Period) -> CustomerState:
    """The customer's tier and segment in effect in ``period``.

    The last change of each attribute taking effect in or before ``period``
    decides; without one, the ``before`` of the first later change; without
    any change, the current value.

    Raises:
        UnknownCustomerError: no such customer.
        ValidationError: ``period`` is before the customer's first period.
    """
    row = conn.execute(
        sa.select(_C.c.customer_key, _C.c.first_period, _C.c.tier, _C.c.segment).where(
            _C.c.customer_id == customer_id
        )
    ).first()
    if row is None:
        raise UnknownCustomerError(f"unknown customer {customer_id!r} in the store")
    key, first, tier_rank, segment = row
    if period.ordinal < first:
        raise ValidationError(
            f"customer {customer_id!r} was first seen in {Period.from_ordinal(first)}, "
            f"after {period}"
        )

    def value(attribute: str, current: str | None) -> str | None:
        base = sa.select(_H.c.from_value, _H.c.to_value).where(
            _H.c.customer_key == key, _H.c.attribute == attribute
        )
        last = conn.execute(
            base.where(_H.c.period <= period.ordinal)
            .order_by(_H.c.period.desc(), _H.c.change_key.desc())
            .limit(1)
        ).first()
        if last is not None:
            return last[1]  # type: ignore[no-any-return]
        later = conn.execute(
            base.where(_H.c.period > period.ordinal).order_by(_H.c.period, _H.c.change_key).limit(1)
        ).first()
        return current if later is None else later[0]

    tier_name = value("tier", TIERS[tier_rank].name)
    return CustomerState(
        customer_id,
        period,
        Tier[str(tier_name)],
        segment_from_name(value("segment", segment)),
    )
