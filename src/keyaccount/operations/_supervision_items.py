"""The values of the supervision list (督办清单): items, history rows, orders, the policy."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

import attrs

from keyaccount.domain import Department, ItemStatus, Level, Severity
from keyaccount.exceptions import UnknownLabelError, ValidationError, shorten
from keyaccount.operations._kpi import SubjectKind, to_subject_kind
from keyaccount.utils.display import html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_DAYS_PER_LEVEL",
    "DispatchOrder",
    "EscalationPolicy",
    "ItemHistoryRow",
    "SupervisionItem",
    "SupervisionOrder",
    "items_html",
    "to_date",
]

DEFAULT_DAYS_PER_LEVEL: Final[Mapping[Level, int]] = {
    Level.CITY: 7,
    Level.PROVINCE: 7,
    Level.HEADQUARTERS: 7,
}
"""Days each level gets to resolve an item: one weekly meeting (周例会) cycle."""

MAX_DAYS_PER_LEVEL: Final = 3650
"""The most days a level may be given (ten years)."""


def to_date(value: dt.date | str) -> dt.date:
    """A calendar day from a ``datetime.date`` or ISO text (``"2024-03-01"``).

    Raises:
        ValidationError: a ``datetime`` (a day is wanted, not a moment), or text that is
            not an ISO date.
    """
    if isinstance(value, dt.datetime):
        raise ValidationError(f"expected a day (datetime.date), got the datetime {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"expected a day such as '2024-03-01', got {shorten(value)}")


def _opt_date(value: dt.date | str | None) -> dt.date | None:
    return None if value is None else to_date(value)


def _text(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be non-empty text, got {shorten(value)}")


def _opt_text(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _text(_, attribute, value)  # type: ignore[arg-type]


def _level(value: Level | str) -> Level:
    return Level.parse(value)


def _department(value: Department | str) -> Department:
    return Department.parse(value)


def _severity(value: Severity | str) -> Severity:
    return Severity.parse(value)


def _status(value: ItemStatus | str) -> ItemStatus:
    return ItemStatus.parse(value)


@attrs.frozen
class SupervisionItem:
    """One item of the supervision list (督办清单): a problem, who answers for it, until when.

    Attributes:
        id: The item's id.
        title: What the problem is.
        subject_kind: ``CUSTOMER`` or ``GROUP``.
        subject_id: The customer or project group concerned.
        department: The responsible department of the iron triangle (铁三角).
        responsible_person: The person answering for it ("four to the person").
        level: Where it is handled now: ``CITY`` < ``PROVINCE`` < ``HEADQUARTERS``.
        province: The province concerned, ``None`` when none is (a group-wide problem).
        severity: ``NORMAL`` or ``SEVERE``; a severe item escalates on every sweep day.
        opened_on: The day it was opened.
        due_on: The planned completion day at the current level.
        status: ``OPEN`` or ``CLOSED`` (销号).
        owner: The first contact (首问负责): whoever opened or first received it, until an
            explicit hand-over; ``None`` until someone receives an item opened by the system.
        resolution: How it was resolved (set by the close-out).
        closed_on: The day of the close-out.
        source_key: What opened it, for idempotence (``kpi-breach:...``), or ``None``.
        dispatch_id: The dispatch order (指挥调度令) it belongs to, or ``None``.
        escalated_on: The last sweep day that escalated or flagged it, or ``None``.
        flagged: Whether it reached headquarters and a sweep found it still due to escalate.
    """

    id: str = attrs.field(validator=_text)
    title: str = attrs.field(validator=_text)
    subject_kind: SubjectKind = attrs.field(converter=to_subject_kind)
    subject_id: str = attrs.field(validator=_text)
    department: Department = attrs.field(converter=_department)
    responsible_person: str = attrs.field(validator=_text)
    level: Level = attrs.field(converter=_level)
    province: str | None = attrs.field(validator=_opt_text)
    severity: Severity = attrs.field(converter=_severity)
    opened_on: dt.date = attrs.field(converter=to_date)
    due_on: dt.date = attrs.field(converter=to_date)
    status: ItemStatus = attrs.field(default=ItemStatus.OPEN, converter=_status, kw_only=True)
    owner: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    resolution: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    closed_on: dt.date | None = attrs.field(default=None, converter=_opt_date, kw_only=True)
    source_key: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    dispatch_id: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    escalated_on: dt.date | None = attrs.field(default=None, converter=_opt_date, kw_only=True)
    flagged: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        where = f"supervision item {shorten(self.id)}"
        if self.due_on < self.opened_on:
            raise ValidationError(
                f"{where}: due day {self.due_on} is before the opening day {self.opened_on}"
            )
        closed = self.status is ItemStatus.CLOSED
        if closed != (self.closed_on is not None) or closed != (self.resolution is not None):
            raise ValidationError(
                f"{where}: a closed item has a resolution and a close-out day, an open one neither"
            )
        if self.closed_on is not None and self.closed_on < self.opened_on:
            raise ValidationError(
                f"{where}: close-out day {self.closed_on} is before the opening day "
                f"{self.opened_on}"
            )
        if self.flagged and self.level is not Level.HEADQUARTERS:
            raise ValidationError(f"{where}: only an item at headquarters can be flagged")

    @property
    def is_open(self) -> bool:
        """Whether the item is still open."""
        return self.status is ItemStatus.OPEN

    def is_overdue(self, day: dt.date | str) -> bool:
        """Whether the item is open and its due day is before ``day``."""
        return self.is_open and self.due_on < to_date(day)


@attrs.frozen
class ItemHistoryRow:
    """One append-only history row: one field of one item changed by one action.

    Attributes:
        seq: Position in the list's history (from 1), the order of the actions.
        item_id: The item.
        who: The person (or process) that acted.
        when: The day of the action.
        what: The action: ``open``, ``receive``, ``hand_over``, ``severity``, ``escalate``,
            ``flag`` or ``close_out``.
        field: The field that changed (``open`` records the ``level`` the item opened at).
        before: The old value as text (enums by name, days ISO, ``true``/``false``), or
            ``None``.
        after: The new value as text.
    """

    seq: int
    item_id: str
    who: str
    when: dt.date
    what: str
    field: str
    before: str | None
    after: str | None


@attrs.frozen
class DispatchOrder:
    """A command-centre dispatch order (指挥调度令): one problem, linked items in provinces.

    Attributes:
        id: The order's id.
        title: What it orders.
        issued_by: Who issued it at headquarters.
        issued_on: The day.
        provinces: The provinces, in the order given.
        item_ids: The linked items, one per province in the same order.
    """

    id: str
    title: str
    issued_by: str
    issued_on: dt.date
    provinces: tuple[str, ...]
    item_ids: tuple[str, ...]

    def __repr__(self) -> str:
        size = f"{number(len(self.provinces))} provinces, {number(len(self.item_ids))} items"
        return short_repr("DispatchOrder", size, id=self.id, issued_on=self.issued_on)


@attrs.frozen
class SupervisionOrder:
    """A supervision order (工作督办单) to a province whose items keep escalating.

    Attributes:
        id: The order's id.
        province: The province.
        issued_by: Who issued it.
        issued_on: The day.
        escalations: How many escalations made the province qualify.
        item_ids: The items that escalated, sorted.
    """

    id: str
    province: str
    issued_by: str
    issued_on: dt.date
    escalations: int
    item_ids: tuple[str, ...]

    def __repr__(self) -> str:
        size = f"{number(self.escalations)} escalations, {number(len(self.item_ids))} items"
        facts = {"id": self.id, "province": self.province, "issued_on": self.issued_on}
        return short_repr("SupervisionOrder", size, **facts)


def items_html(items: Iterable[SupervisionItem], total: int, caption: str) -> str:
    """The head of a list of supervision items as an HTML table (for notebooks)."""
    rows = (
        (
            i.id,
            i.title,
            i.subject_id,
            i.department,
            i.level,
            i.status,
            i.province,
            i.opened_on,
            i.due_on,
        )
        for i in items
    )
    headings = (
        *("id", "title", "subject", "department", "level", "status", "province"),
        *("opened", "due"),
    )
    return html_table(headings, rows, total=total, caption=caption, unit="items")


def _days_per_level(value: Mapping[Level | str, int] | tuple[int, ...]) -> tuple[int, ...]:
    days: dict[Level, object]
    if isinstance(value, tuple):
        days = dict(zip(Level, value, strict=False))
    else:
        days = dict(DEFAULT_DAYS_PER_LEVEL)
        for key, given in value.items():
            try:
                days[Level.parse(key)] = given
            except UnknownLabelError as exc:
                raise ValidationError(f"days per level: {exc}") from None
    out: list[int] = []
    for level in Level:
        n = days.get(level)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DAYS_PER_LEVEL:
            raise ValidationError(
                f"days per level for {level.name} must be a whole number of days in "
                f"1..{MAX_DAYS_PER_LEVEL}, got {shorten(n)}"
            )
        out.append(n)
    return tuple(out)


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be a whole number >= 1, got {shorten(value)}")


@attrs.frozen
class EscalationPolicy:
    """How fast items escalate and when a province earns a supervision order.

    Attributes:
        days_per_level: Days each level gets to resolve an item, indexed by
            ``Level.rank`` (give a mapping ``{Level: days}``; levels left out keep
            :data:`DEFAULT_DAYS_PER_LEVEL`). An item opened without a due day is due
            ``opened_on + days(level)``; an escalated one ``sweep day + days(new level)``.
        order_escalations: A province qualifies for a supervision order (工作督办单) with at
            least this many escalations of its items ...
        order_window_days: ... on the days ``(day - order_window_days, day]``, counting
            only escalations after the province's previous supervision order.

    Example:
        >>> p = EscalationPolicy(days_per_level={"PROVINCE": 5})
        >>> p.days(Level.CITY), p.days(Level.PROVINCE)
        (7, 5)
    """

    days_per_level: tuple[int, ...] = attrs.field(
        default=DEFAULT_DAYS_PER_LEVEL, converter=_days_per_level
    )
    order_escalations: int = attrs.field(default=3, validator=_positive, kw_only=True)
    order_window_days: int = attrs.field(default=30, validator=_positive, kw_only=True)

    def days(self, level: Level) -> int:
        """Days ``level`` gets to resolve an item."""
        return self.days_per_level[level.rank]
