"""The escalation sweep (异常事项升级机制): in bulk over columns, and item by item as the oracle.

For a sweep day ``D`` an item is *due to escalate* when all of these hold:

- it is open, and was opened on or before ``D``;
- no sweep escalated or flagged it on ``D`` or later (``escalated_on`` is absent or before
  ``D``): one sweep per day, so sweeping ``D`` twice changes nothing the second time;
- its due day is before ``D``, or it is severe.

An item due to escalate below headquarters moves up one level and is due
``D + days(new level)``; one at headquarters stays and is flagged (once: a flagged item is
left alone). Both set ``escalated_on = D``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import ItemStatus, Level, Severity
from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keyaccount.operations._supervision_items import EscalationPolicy, SupervisionItem

__all__ = ["SweepColumns", "SweepPlan", "plan_sweep", "reference_sweep_item"]

_TOP = Level.HEADQUARTERS.rank
_NEVER = 0  # date.toordinal() is at least 1


@attrs.frozen(eq=False)
class SweepColumns:
    """The columns of a set of items that the sweep reads (days as ``date.toordinal()``).

    Attributes:
        open: Whether each item is open.
        level: ``Level.rank`` (``int8``).
        severe: Whether each item is severe.
        opened_on: Day ordinals (``int64``).
        due_on: Day ordinals (``int64``).
        escalated_on: Day ordinals, ``0`` where absent (``int64``).
        flagged: Whether each item is flagged.
    """

    open: npt.NDArray[np.bool_]
    level: npt.NDArray[np.int8]
    severe: npt.NDArray[np.bool_]
    opened_on: npt.NDArray[np.int64]
    due_on: npt.NDArray[np.int64]
    escalated_on: npt.NDArray[np.int64]
    flagged: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.level.shape[0])

    def __repr__(self) -> str:
        size = f"{number(len(self))} items, {number(int(self.open.sum()))} open"
        return short_repr("SweepColumns", size)

    @classmethod
    def from_items(cls, items: Sequence[SupervisionItem]) -> SweepColumns:
        """The columns of ``items``, in order."""
        return cls(
            open=np.array([i.status is ItemStatus.OPEN for i in items], dtype=bool),
            level=np.array([i.level.rank for i in items], dtype=np.int8),
            severe=np.array([i.severity is Severity.SEVERE for i in items], dtype=bool),
            opened_on=np.array([i.opened_on.toordinal() for i in items], dtype=np.int64),
            due_on=np.array([i.due_on.toordinal() for i in items], dtype=np.int64),
            escalated_on=np.array(
                [_NEVER if i.escalated_on is None else i.escalated_on.toordinal() for i in items],
                dtype=np.int64,
            ),
            flagged=np.array([i.flagged for i in items], dtype=bool),
        )


@attrs.frozen(eq=False)
class SweepPlan:
    """What a sweep changes, per item of the columns it was planned on.

    Attributes:
        escalate: Items that move up one level.
        flag: Items at headquarters that get flagged.
        level: The new level ranks (unchanged where not escalated).
        due_on: The new due-day ordinals (unchanged where not escalated).
    """

    escalate: npt.NDArray[np.bool_]
    flag: npt.NDArray[np.bool_]
    level: npt.NDArray[np.int8]
    due_on: npt.NDArray[np.int64]

    @property
    def changed(self) -> npt.NDArray[np.bool_]:
        """Items the sweep changes."""
        return self.escalate | self.flag

    def __repr__(self) -> str:
        size = f"{number(int(self.escalate.shape[0]))} items"
        escalate, flag = (number(int(a.sum())) for a in (self.escalate, self.flag))
        return short_repr("SweepPlan", size, f"{escalate} to escalate, {flag} to flag")


def plan_sweep(columns: SweepColumns, day: dt.date, policy: EscalationPolicy) -> SweepPlan:
    """The sweep of ``day`` over ``columns``, in bulk (the rules of this module).

    Example:
        >>> import datetime as dt
        >>> from keyaccount.domain import Department
        >>> from keyaccount.operations import EscalationPolicy, SupervisionItem
        >>> item = SupervisionItem("S1", "late receipts", "CUSTOMER", "C1", Department.SERVICE,
        ...     "Li", Level.CITY, "广东", Severity.NORMAL, "2024-03-01", "2024-03-08")
        >>> plan = plan_sweep(SweepColumns.from_items([item]), dt.date(2024, 3, 9),
        ...                   EscalationPolicy())
        >>> bool(plan.escalate[0]), int(plan.level[0]) == Level.PROVINCE.rank
        (True, True)
        >>> dt.date.fromordinal(int(plan.due_on[0]))
        datetime.date(2024, 3, 16)
    """
    d = day.toordinal()
    due = (
        columns.open
        & (columns.opened_on <= d)
        & (columns.escalated_on < d)
        & ((columns.due_on < d) | columns.severe)
    )
    below_top = columns.level < _TOP
    escalate = due & below_top
    flag = due & ~below_top & ~columns.flagged
    level = columns.level + escalate.astype(np.int8)
    days = np.array(policy.days_per_level, dtype=np.int64)
    new_due = np.where(escalate, d + days[np.minimum(level, _TOP)], columns.due_on)
    return SweepPlan(escalate=escalate, flag=flag, level=level, due_on=new_due.astype(np.int64))


def reference_sweep_item(
    item: SupervisionItem, day: dt.date, policy: EscalationPolicy
) -> SupervisionItem:
    """One item after the sweep of ``day``: the specification of :func:`plan_sweep`.

    Returns the item itself when the sweep leaves it.
    """
    if item.status is not ItemStatus.OPEN or item.opened_on > day:
        return item
    if item.escalated_on is not None and item.escalated_on >= day:
        return item
    if not (item.due_on < day or item.severity is Severity.SEVERE):
        return item
    above = item.level.above
    if above is None:
        if item.flagged:
            return item
        return attrs.evolve(item, flagged=True, escalated_on=day)
    return attrs.evolve(
        item,
        level=above,
        due_on=day + dt.timedelta(days=policy.days(above)),
        escalated_on=day,
    )
