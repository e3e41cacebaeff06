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
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs
import sqlalchemy as sa
from sqlmodel import Session, col, select

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
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
    shorten,
)
from keyaccount.store._mapping import (
    change_from_db,
    change_values,
    explanation_to_json,
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

    from keyaccount.portfolio import Portfolio

__all__ = [
    "CHUNK",
    "HISTORY_COLUMNS",
    "CustomerState",
    "HistoryEntry",
    "RecordedChange",
    "apply_changes",
    "history_rows",
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


class HistoryEntry(Protocol):
    """A change with the time it was recorded and its number, as a history to save holds it.

    :class:`RecordedChange` (from :meth:`Store.changes`) and
    :class:`keyaccount.io.ChangeRecord` (from ``changes.parquet``) are such entries.
    """

    @property
    def change(self) -> Change:
        """The tier or segment change."""
        ...

    @property
    def recorded_at(self) -> dt.datetime | None:
        """When it was recorded (``None``: at the save)."""
        ...

    @property
    def sequence(self) -> int | None:
        """Its number (``None``: one more than the entry before it)."""
        ...


HISTORY_COLUMNS: Final = (
    "change_key",
    "customer_key",
    "attribute",
    "from_value",
    "to_value",
    "period",
    "rule",
    "actor",
    "reason",
    "explanation",
    "recorded_at",
)
"""The ``ka_change`` columns of the rows :func:`history_rows` makes, in order."""

_MAX_SEQUENCE: Final = 2**63 - 1
_CHANGE_TYPES: Final = (TierChange, SegmentChange)


def _name(value: Tier | Segment | None) -> str | None:
    return None if value is None else value.name


def _described(source: str, n: int, change: Change) -> str:
    """``<source>: change n (tier of 'C1' in 2022-07, ACTIVE -> KEY)``."""
    kind = "tier" if isinstance(change, TierChange) else "segment"
    before, after = _name(change.before) or "no segment", _name(change.after) or "no segment"
    return (
        f"{source}: change {n} ({kind} of {change.customer_id!r} in {change.period}, "
        f"{before} -> {after})"
    )


def _entry(
    n: int, item: Change | HistoryEntry, source: str
) -> tuple[Change, dt.datetime | None, int | None]:
    """The change, time and number of one history entry, checked for their types."""
    if isinstance(item, _CHANGE_TYPES):
        return item, None, None
    change = getattr(item, "change", None)
    if not isinstance(change, _CHANGE_TYPES):
        raise ValidationError(
            f"{source}: change {n}: expected a TierChange, a SegmentChange or a recorded "
            f"change, got {shorten(item)}"
        )
    at = getattr(item, "recorded_at", None)
    if at is not None and not isinstance(at, dt.datetime):
        raise ValidationError(
            f"{_described(source, n, change)}: recorded_at is {shorten(at)}, not a datetime"
        )
    number = getattr(item, "sequence", None)
    if number is not None and (
        isinstance(number, bool) or not isinstance(number, int) or number < 1
    ):
        raise ValidationError(
            f"{_described(source, n, change)}: sequence is {shorten(number)}, "
            "not a whole number from 1"
        )
    return change, at, number


def history_rows(
    portfolio: Portfolio,
    history: Iterable[Change | HistoryEntry],
    *,
    source: str,
    recorded_at: dt.datetime | None = None,
) -> list[tuple[Any, ...]]:
    """Check that ``history`` led to ``portfolio``'s tiers and segments; its ``ka_change`` rows.

    The history is read once, in order. Per customer and attribute the changes
    must form one chain in month order that ends at the customer's current
    value: each change's ``before`` is the ``after`` of the change before it,
    its month is not before that change's month nor before the customer's
    ``first_period``, and the last change's ``after`` is the customer's tier
    or segment; the last tier change's month is the customer's ``tier_since``
    (or ``first_period`` when it has none). Numbers (``sequence``) rise
    strictly in the history's order; an entry without one gets the number
    after the entry before it (the first: 1).

    Args:
        portfolio: The portfolio the history belongs to (customer keys are positions).
        history: Changes, or entries with ``change``, ``recorded_at`` and ``sequence``.
        source: Where the history came from, for messages (a file, ``<history>``).
        recorded_at: The time recorded for entries without one (default: now, UTC).

    Returns:
        One tuple per change in :data:`HISTORY_COLUMNS`, in the history's order.

    Raises:
        UnknownCustomerError: a change of a customer the portfolio does not hold.
        ValidationError: any other break of the rules above; the message names
            the source, the change's position (from 0), its customer, month
            and values.
    """
    moment = utc(recorded_at if recorded_at is not None else dt.datetime.now(dt.UTC))
    first_periods: list[int] = portfolio.customer_columns.first_period.tolist()
    tier_names = {t: t.name for t in Tier}
    segment_names: dict[Segment | None, str | None] = {s: s.name for s in Segment}
    segment_names[None] = None
    rows: list[tuple[Any, ...]] = []
    # (customer position, attribute) -> (change position, month ordinal, after, the change)
    last: dict[tuple[int, str], tuple[int, int, str | None, Change]] = {}
    number = 0
    for n, item in enumerate(history):
        change, at, given = _entry(n, item, source)
        if change.customer_id not in portfolio:
            raise UnknownCustomerError(
                f"{_described(source, n, change)}: unknown customer {change.customer_id!r}: "
                "the portfolio does not hold it"
            )
        position = portfolio.position(change.customer_id)
        before: str | None
        after: str | None
        if isinstance(change, TierChange):
            attribute, before, after = "tier", tier_names[change.before], tier_names[change.after]
        else:
            attribute = "segment"
            before, after = segment_names[change.before], segment_names[change.after]
        period = change.period.ordinal
        problem = None
        previous = last.get((position, attribute))
        if before == after:
            problem = "before and after are equal; a change changes something"
        elif period < first_periods[position]:
            first = Period.from_ordinal(first_periods[position])
            problem = f"the month is before the customer's first_period {first}"
        elif previous is not None and period < previous[1]:
            problem = (
                f"out of month order: change {previous[0]} of the same customer's "
                f"{attribute} takes effect later, in {Period.from_ordinal(previous[1])}"
            )
        elif previous is not None and before != previous[2]:
            problem = (
                f"before is {before or 'no segment'}, but change {previous[0]} of the "
                f"same customer's {attribute} left {previous[2] or 'no segment'}"
            )
        elif given is not None and (given <= number or given > _MAX_SEQUENCE):
            problem = (
                f"sequence {given} does not follow {number}, the number of the change "
                "before it; numbers rise in the history's order"
            )
        if problem is not None:
            raise ValidationError(f"{_described(source, n, change)}: {problem}")
        number = number + 1 if given is None else given
        rows.append(
            (
                number,
                position,
                attribute,
                before,
                after,
                period,
                change.rule,
                change.actor,
                change.reason,
                explanation_to_json(change.explanation) if change.explanation else "[]",
                moment if at is None else utc(at),
            )
        )
        last[position, attribute] = (n, period, after, change)
    _check_ends(portfolio, last, source)
    return rows


def _check_ends(
    portfolio: Portfolio,
    last: dict[tuple[int, str], tuple[int, int, str | None, Change]],
    source: str,
) -> None:
    """Refuse a chain whose last change does not end at the customer's current value."""
    columns = portfolio.customer_columns
    tiers = [TIERS[t].name for t in columns.tier.tolist()]
    since = [
        first if s == NO_CODE else s
        for s, first in zip(columns.tier_since.tolist(), columns.first_period.tolist(), strict=True)
    ]
    segment_names = [s.name for s in SEGMENTS]
    segments = [None if c == NO_CODE else segment_names[c] for c in columns.segment.tolist()]
    for (position, attribute), (n, period, after, change) in sorted(
        last.items(), key=lambda item: item[1][0]
    ):
        problem = None
        if attribute == "tier" and after != tiers[position]:
            problem = (
                f"the customer's last tier change leaves {after}, but its tier is {tiers[position]}"
            )
        elif attribute == "tier" and period != since[position]:
            problem = (
                f"the customer's last tier change takes effect in "
                f"{Period.from_ordinal(period)}, but its tier_since is "
                f"{Period.from_ordinal(since[position])}"
            )
        elif attribute == "segment" and after != segments[position]:
            problem = (
                f"the customer's last segment change leaves {after or 'no segment'}, "
                f"but its segment is {segments[position] or 'none'}"
            )
        if problem is not None:
            raise ValidationError(f"{_described(source, n, change)}: {problem}")


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
