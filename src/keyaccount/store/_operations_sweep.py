"""The escalation sweep (异常事项升级机制) as one statement set in the database.

The rule is :func:`keyaccount.operations.plan_sweep`'s. For the sweep day ``D`` an item
is due to escalate when it is open, was opened on or before ``D``, no sweep escalated or
flagged it on ``D`` or later, and its due day is before ``D`` or it is severe. Below
headquarters it moves up one level, due ``D + days(new level)``; at headquarters it is
flagged, once. Both set ``escalated_on = D``, which makes a second sweep of ``D`` change
nothing.

Two statements in the store's write transaction (and two reads of the last ``seq``),
whatever the number of items:

1. ``INSERT INTO ka_item_history ... SELECT`` the history rows of exactly the items due
   to escalate (two rows, ``level`` and ``due_on``, per escalation; one, ``flagged``,
   per flag), numbered after the stored rows in item order, old and new values as text
   the way the in-memory list writes them;
2. ``UPDATE`` the same items: below headquarters level + 1 and the new due day, at
   headquarters ``flagged``; all ``escalated_on = D``.

The history is written first because it records the old values. The store's write lock
(``BEGIN IMMEDIATE`` on SQLite, the advisory lock on PostgreSQL) runs one writer at a
time, so the two statements see the same items and two workers sweeping at once
escalate each item once: the second finds every item marked ``escalated_on = D``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from keyaccount.domain import ItemStatus, Level, Severity
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.store._tables import item_history_table, supervision_item_table

if TYPE_CHECKING:
    from keyaccount.operations import EscalationPolicy

__all__ = ["SweepReport", "sweep", "sweep_condition"]

_I = supervision_item_table
_H = item_history_table
_TOP = Level.HEADQUARTERS.rank
_HISTORY_COLUMNS = ("seq", "item_key", "who", "acted_on", "what", "field", "from_value", "to_value")


@attrs.frozen
class SweepReport:
    """What one sweep in the store did.

    Attributes:
        day: The sweep day.
        who: The person or process that swept.
        escalated: Items moved up one level.
        flagged: Items flagged at headquarters.
        first_seq: The ``seq`` of the first history row written (``None``: none written);
            the rows are ``first_seq .. first_seq + 2 * escalated + flagged - 1``.
    """

    day: dt.date
    who: str
    escalated: int
    flagged: int
    first_seq: int | None

    @property
    def rows(self) -> int:
        """History rows written: two per escalation, one per flag."""
        return 2 * self.escalated + self.flagged


def sweep_condition(day: dt.date) -> sa.ColumnElement[bool]:
    """Items due to escalate on ``day`` (at any level; flagged ones included)."""
    return sa.and_(
        _I.c.status == ItemStatus.OPEN.name,
        _I.c.opened_on <= day,
        sa.or_(_I.c.escalated_on.is_(None), _I.c.escalated_on < day),
        sa.or_(_I.c.due_on < day, _I.c.severity == Severity.SEVERE.name),
    )


def _level_name(rank: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.case({lv.rank: sa.literal_column(f"'{lv.name}'") for lv in Level}, value=rank)


def _new_due(day: dt.date, policy: EscalationPolicy, *, text: bool) -> sa.ColumnElement[Any]:
    """The due day of an item escalated from its level on ``day``, by level (a CASE).

    As text for the history rows; as a day for the items, where an item at headquarters
    keeps its due day.
    """
    whens = {}
    for lv in Level:
        above = lv.above
        if above is not None:
            due = day + dt.timedelta(days=policy.days(above))
            whens[lv.rank] = sa.literal(
                due.isoformat() if text else due, sa.Text if text else sa.Date
            )
    # At headquarters an item keeps its due day (it is flagged, not moved).
    return sa.case(whens, value=_I.c.level, else_=None if text else _I.c.due_on)


def _who(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"'who' must name a person or process, got {shorten(value)}")
    return value


def _last_seq(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_H.c.seq), 0))).scalar_one())


def sweep(conn: sa.Connection, policy: EscalationPolicy, day: dt.date, who: str) -> SweepReport:
    """Run the sweep of ``day`` in ``conn``'s write transaction (two statements)."""
    actor = _who(who)
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ValidationError(f"expected a day (datetime.date), got {shorten(day)}")
    due = sweep_condition(day)
    below = _I.c.level < _TOP
    base = _last_seq(conn)
    k = sa.union_all(
        sa.select(sa.literal_column("0").label("k")), sa.select(sa.literal_column("1").label("k"))
    ).subquery("fields")
    due_text = (
        sa.func.to_char(_I.c.due_on, "YYYY-MM-DD")
        if conn.dialect.name == "postgresql"
        else sa.cast(_I.c.due_on, sa.Text)
    )
    first = k.c.k == 0
    rows = (
        sa.select(
            (
                sa.literal(base, sa.BigInteger)
                + sa.func.row_number().over(order_by=(_I.c.item_key, k.c.k))
            ),
            _I.c.item_key,
            sa.literal(actor, sa.Text),
            sa.literal(day, sa.Date),
            sa.case((below, sa.literal_column("'escalate'")), else_=sa.literal_column("'flag'")),
            sa.case(
                (~below, sa.literal_column("'flagged'")),
                (first, sa.literal_column("'level'")),
                else_=sa.literal_column("'due_on'"),
            ),
            sa.case(
                (~below, sa.literal_column("'false'")),
                (first, _level_name(_I.c.level)),
                else_=due_text,
            ),
            sa.case(
                (~below, sa.literal_column("'true'")),
                (first, _level_name(_I.c.level + 1)),
                else_=_new_due(day, policy, text=True),
            ),
        )
        .select_from(_I.join(k, sa.or_(first, below)))
        .where(due, sa.or_(below, ~_I.c.flagged))
    )
    conn.execute(sa.insert(_H).from_select(_HISTORY_COLUMNS, rows))
    written = _last_seq(conn) - base  # (an INSERT's rowcount is not reported everywhere)
    changed = conn.execute(
        sa.update(_I)
        .where(due, sa.or_(below, ~_I.c.flagged))
        .values(
            level=sa.case((below, _I.c.level + 1), else_=_I.c.level),
            due_on=_new_due(day, policy, text=False),
            flagged=sa.case((below, _I.c.flagged), else_=sa.true()),
            escalated_on=day,
        )
    ).rowcount
    # Two history rows per escalation, one per flag: the counts follow from the two totals.
    escalated, flagged = written - changed, 2 * changed - written
    return SweepReport(day, actor, escalated, flagged, base + 1 if written else None)
