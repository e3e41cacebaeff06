"""Meeting reports (两会一单) and supervision-order detection, computed from items and history."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Final, Literal

import attrs

from keyaccount.domain import Department, Level, Period
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.operations._supervision_items import (
    EscalationPolicy,
    ItemHistoryRow,
    SupervisionItem,
    SupervisionOrder,
    to_date,
)
from keyaccount.utils.display import html_table, number, short_repr, span

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "REPORT_DIMENSIONS",
    "MeetingReport",
    "MeetingReportRow",
    "meeting_report",
    "month_days",
    "supervision_order_candidates",
    "week_days",
]

Dimension = Literal["level", "department", "province"]
REPORT_DIMENSIONS: Final[tuple[str, ...]] = ("level", "department", "province")
"""What a meeting report may count by."""

NO_PROVINCE: Final = ""
"""The key of items without a province in a report by province."""


@attrs.frozen
class MeetingReportRow:
    """The counts of one key of a meeting report.

    Attributes:
        key: The level or department name, or the province (``""`` for none).
        opened: Items opened in the range.
        closed: Items closed out in the range.
        overdue: Items open at the end of the last day whose due day was before it.
        escalated: Escalations (one level up) in the range.
    """

    key: str
    opened: int = 0
    closed: int = 0
    overdue: int = 0
    escalated: int = 0


@attrs.frozen
class MeetingReport:
    """Opened, closed, overdue and escalated counts for a date range, by one dimension.

    Attributes:
        start: The first day (included).
        end: The last day (included).
        by: ``"level"``, ``"department"`` or ``"province"``.
        rows: One row per level or department (all of them, in order), or per province
            that has a count (sorted; ``""`` for items without a province).
        total: The sums over the rows.
    """

    start: dt.date
    end: dt.date
    by: str
    rows: tuple[MeetingReportRow, ...]
    total: MeetingReportRow

    def row(self, key: str) -> MeetingReportRow:
        """The row of ``key`` (zeros when the report has none)."""
        return next((r for r in self.rows if r.key == key), MeetingReportRow(key))

    def __repr__(self) -> str:
        t = self.total
        counts = (
            f"{number(len(self.rows))} rows",
            f"opened {number(t.opened)}, closed {number(t.closed)}",
            f"overdue {number(t.overdue)}, escalated {number(t.escalated)}",
        )
        days = span(self.start, self.end)
        return short_repr("MeetingReport", *counts, by=self.by, days=days)

    def _repr_html_(self) -> str:
        rows = ((r.key, r.opened, r.closed, r.overdue, r.escalated) for r in self.rows)
        headings = (self.by, "opened", "closed", "overdue", "escalated")
        total = len(self.rows)
        return html_table(headings, rows, total=total, caption=repr(self), unit="rows", limit=20)


def week_days(day: dt.date | str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week holding ``day`` (the weekly meeting's range)."""
    d = to_date(day)
    monday = d - dt.timedelta(days=d.weekday())
    return monday, monday + dt.timedelta(days=6)


def month_days(period: Period | str) -> tuple[dt.date, dt.date]:
    """The first and last day of a month (the monthly analysis meeting's range)."""
    p = Period.parse(period)
    return p.first_day, (p + 1).first_day - dt.timedelta(days=1)


def _rows_by_item(history: Iterable[ItemHistoryRow], field: str) -> dict[str, list[ItemHistoryRow]]:
    out: dict[str, list[ItemHistoryRow]] = defaultdict(list)
    for row in history:
        if row.field == field:
            out[row.item_id].append(row)
    return out


def _as_of(current: str, rows: Sequence[ItemHistoryRow], day: dt.date) -> str | None:
    """A field's value at the end of ``day``: the last change on or before it.

    Without one, the value before the first later change, or the current value.
    """
    before = [r for r in rows if r.when <= day]
    if before:
        return before[-1].after
    return rows[0].before if rows else current


def meeting_report(
    items: Iterable[SupervisionItem],
    history: Iterable[ItemHistoryRow],
    start: dt.date | str,
    end: dt.date | str,
    by: Dimension | str = "level",
) -> MeetingReport:
    """Counts of the supervision list for the days ``start..end`` (both included), by ``by``.

    - **opened**: items whose opening day is in the range, counted at the level they were
      opened at;
    - **closed**: items closed out in the range, at their level on that day;
    - **overdue**: items open at the end of ``end`` (not closed on or before it) whose due
      day as of ``end`` is before ``end`` (what a sweep of ``end`` would find overdue), at
      their level as of ``end``;
    - **escalated**: escalations (one level up) on days in the range, at the level moved
      to; a flag at headquarters is not an escalation.

    Department and province never change, so they count as the item has them.

    Raises:
        ValidationError: ``end`` before ``start``, or an unknown dimension.
    """
    first, last = to_date(start), to_date(end)
    if last < first:
        raise ValidationError(f"report range ends ({last}) before it starts ({first})")
    if by not in REPORT_DIMENSIONS:
        raise ValidationError(
            f"unknown report dimension {shorten(by)}; "
            f"expected one of {', '.join(REPORT_DIMENSIONS)}"
        )
    rows = list(history)
    levels = _rows_by_item(rows, "level")
    dues = _rows_by_item(rows, "due_on")
    counts: dict[str, Counter[str]] = defaultdict(Counter)

    def key(item: SupervisionItem, level: str | None) -> str:
        if by == "level":
            return level or item.level.name
        if by == "department":
            return item.department.name
        return item.province or NO_PROVINCE

    by_id: dict[str, SupervisionItem] = {}
    for item in items:
        by_id[item.id] = item
        lv = levels.get(item.id, [])
        if first <= item.opened_on <= last:
            opened_at = (
                lv[0].after
                if lv and lv[0].what == "open"
                else _as_of(item.level.name, lv, item.opened_on)
            )
            counts[key(item, opened_at)]["opened"] += 1
        if item.closed_on is not None and first <= item.closed_on <= last:
            counts[key(item, _as_of(item.level.name, lv, item.closed_on))]["closed"] += 1
        open_at_end = item.opened_on <= last and (item.closed_on is None or item.closed_on > last)
        if open_at_end:
            due = _as_of(item.due_on.isoformat(), dues.get(item.id, []), last)
            if due is not None and dt.date.fromisoformat(due) < last:
                counts[key(item, _as_of(item.level.name, lv, last))]["overdue"] += 1
    for row in rows:
        if row.what == "escalate" and row.field == "level" and first <= row.when <= last:
            escalated = by_id.get(row.item_id)
            if escalated is not None:
                counts[key(escalated, row.after)]["escalated"] += 1
    if by == "level":
        keys = [lv.name for lv in Level]
    elif by == "department":
        keys = [d.name for d in Department]
    else:
        keys = sorted(counts)
    out = tuple(
        MeetingReportRow(
            k,
            counts[k]["opened"],
            counts[k]["closed"],
            counts[k]["overdue"],
            counts[k]["escalated"],
        )
        for k in keys
    )
    total = MeetingReportRow(
        "total",
        sum(r.opened for r in out),
        sum(r.closed for r in out),
        sum(r.overdue for r in out),
        sum(r.escalated for r in out),
    )
    return MeetingReport(first, last, by, out, total)


def supervision_order_candidates(
    items: Iterable[SupervisionItem],
    history: Iterable[ItemHistoryRow],
    orders: Iterable[SupervisionOrder],
    day: dt.date | str,
    policy: EscalationPolicy,
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Provinces that qualify for a supervision order (工作督办单) on ``day``.

    A province qualifies when its items escalated (moved up a level) at least
    ``policy.order_escalations`` times on the days ``(day - order_window_days, day]``,
    counting only escalations after the day of the province's latest supervision order.
    Items without a province never count. Issuing the orders of ``day`` makes the count 0
    for ``day``, so asking again the same day finds nothing (idempotent).

    Returns:
        Province -> ``(escalations, sorted ids of the items that escalated)``.
    """
    d = to_date(day)
    window_start = d - dt.timedelta(days=policy.order_window_days)
    province_of = {i.id: i.province for i in items}
    last_order: dict[str, dt.date] = {}
    for order in orders:
        if order.province not in last_order or order.issued_on > last_order[order.province]:
            last_order[order.province] = order.issued_on
    found: dict[str, list[str]] = defaultdict(list)
    for row in history:
        if row.what != "escalate" or row.field != "level" or not window_start < row.when <= d:
            continue
        province = province_of.get(row.item_id)
        if province is None:
            continue
        latest = last_order.get(province)
        if latest is not None and row.when <= latest:
            continue
        found[province].append(row.item_id)
    return {
        p: (len(ids), tuple(sorted(set(ids))))
        for p, ids in sorted(found.items())
        if len(ids) >= policy.order_escalations
    }
