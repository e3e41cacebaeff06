"""The supervision list (督办清单) in memory: the reference implementation of every operation.

Every operation checks everything first and changes nothing when it refuses; when it
succeeds it appends one history row per changed field (:class:`ItemHistoryRow`). Rows are
only ever appended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np

from keyaccount.domain import Department, ItemStatus, Level, Period, Severity
from keyaccount.exceptions import (
    IllegalMoveError,
    UnknownCustomerError,
    UnknownItemError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations._kpi import SubjectKind
from keyaccount.operations._supervision_items import (
    DispatchOrder,
    EscalationPolicy,
    ItemHistoryRow,
    SupervisionItem,
    SupervisionOrder,
    items_html,
    to_date,
)
from keyaccount.operations._supervision_reports import (
    MeetingReport,
    meeting_report,
    month_days,
    supervision_order_candidates,
    week_days,
)
from keyaccount.operations._supervision_sweep import (
    SweepColumns,
    plan_sweep,
    reference_sweep_item,
)
from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    from keyaccount.portfolio import Portfolio

__all__ = ["SupervisionList", "SweepResult"]

Engine = Literal["bulk", "reference"]


@attrs.frozen
class SweepResult:
    """What one escalation sweep did.

    Attributes:
        day: The sweep day.
        escalated: Ids of the items moved up one level.
        flagged: Ids of the items flagged at headquarters.
        rows: The history rows appended.
    """

    day: dt.date
    escalated: tuple[str, ...]
    flagged: tuple[str, ...]
    rows: tuple[ItemHistoryRow, ...]

    def __repr__(self) -> str:
        size = f"{number(len(self.escalated))} escalated, {number(len(self.flagged))} flagged"
        rows = f"{number(len(self.rows))} history rows"
        return short_repr("SweepResult", size, rows, day=self.day)


def _who(value: object, name: str = "who") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"'{name}' must name a person or process, got {shorten(value)}")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be non-empty text, got {shorten(value)}")
    return value


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Level | Severity | ItemStatus | Department):
        return value.name
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class SupervisionList:
    """The supervision list in memory, with its history and the orders issued from it.

    Args:
        policy: Days per level and the supervision-order threshold.
        customer_ids: When given, an item for a customer outside it is refused.
        group_ids: When given, an item for a project group outside it is refused.

    Example:
        >>> from keyaccount.domain import Department
        >>> sl = SupervisionList(customer_ids={"C1"})
        >>> item = sl.open("receipts late", subject_id="C1", department=Department.SERVICE,
        ...                responsible_person="Li", province="广东", who="Wang",
        ...                on="2024-03-01")
        >>> item.owner, item.level.name, str(item.due_on)
        ('Wang', 'CITY', '2024-03-08')
        >>> sl.sweep("2024-03-09", who="sweep").escalated == (item.id,)
        True
        >>> sl.sweep("2024-03-09", who="sweep").escalated
        ()
        >>> sl.close_out(item.id, "courier route changed", who="Li", on="2024-03-10").status
        <ItemStatus.CLOSED: '已销号'>
    """

    def __init__(
        self,
        *,
        policy: EscalationPolicy | None = None,
        customer_ids: Collection[str] | None = None,
        group_ids: Collection[str] | None = None,
    ) -> None:
        self.policy = EscalationPolicy() if policy is None else policy
        self._customers = None if customer_ids is None else frozenset(customer_ids)
        self._groups = None if group_ids is None else frozenset(group_ids)
        self._items: dict[str, SupervisionItem] = {}
        self._by_source: dict[str, str] = {}
        self._history: list[ItemHistoryRow] = []
        self._dispatch: dict[str, DispatchOrder] = {}
        self._orders: dict[str, SupervisionOrder] = {}

    @classmethod
    def from_portfolio(
        cls, portfolio: Portfolio, *, policy: EscalationPolicy | None = None
    ) -> SupervisionList:
        """An empty list that accepts items only for the portfolio's customers and groups."""
        return cls(
            policy=policy,
            customer_ids=portfolio.customer_ids,
            group_ids=[g.id for g in portfolio.project_groups],
        )

    @classmethod
    def from_records(
        cls,
        items: Iterable[SupervisionItem],
        history: Iterable[ItemHistoryRow] = (),
        *,
        dispatch_orders: Iterable[DispatchOrder] = (),
        supervision_orders: Iterable[SupervisionOrder] = (),
        policy: EscalationPolicy | None = None,
        customer_ids: Collection[str] | None = None,
        group_ids: Collection[str] | None = None,
    ) -> SupervisionList:
        """A list holding records read back from storage, as they are.

        Raises:
            ValidationError: two items with one id or one source key, history rows not
                numbered 1, 2, 3, ... or naming an item the list lacks, or orders linking
                unknown items.
        """
        sl = cls(policy=policy, customer_ids=customer_ids, group_ids=group_ids)
        for item in items:
            if item.id in sl._items:
                raise ValidationError(f"two supervision items with id {shorten(item.id)}")
            if item.source_key is not None:
                if item.source_key in sl._by_source:
                    raise ValidationError(
                        f"two supervision items with source key {shorten(item.source_key)}"
                    )
                sl._by_source[item.source_key] = item.id
            sl._items[item.id] = item
        for n, row in enumerate(history, start=1):
            if row.seq != n or row.item_id not in sl._items:
                raise ValidationError(
                    f"history row {n} (seq {row.seq}, item {shorten(row.item_id)}) is out of "
                    "order or names an unknown item"
                )
            sl._history.append(row)
        for order in dispatch_orders:
            sl._check_links(order.id, order.item_ids)
            sl._dispatch[order.id] = order
        for sorder in supervision_orders:
            sl._check_links(sorder.id, sorder.item_ids)
            sl._orders[sorder.id] = sorder
        return sl

    def _check_links(self, order_id: str, item_ids: Iterable[str]) -> None:
        missing = [i for i in item_ids if i not in self._items]
        if missing:
            raise ValidationError(
                f"order {shorten(order_id)} links unknown item {shorten(missing[0])}"
            )

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[SupervisionItem]:
        return iter(list(self._items.values()))

    def __repr__(self) -> str:
        size = (
            f"{number(len(self))} items, {number(len(self._history))} history rows",
            f"{len(self._dispatch)} dispatch orders, {len(self._orders)} supervision orders",
        )
        return short_repr("SupervisionList", *size)

    def _repr_html_(self) -> str:
        return items_html(self._items.values(), len(self), repr(self))

    def item(self, item_id: str) -> SupervisionItem:
        """The item with ``item_id``.

        Raises:
            UnknownItemError: no such item.
        """
        try:
            return self._items[item_id]
        except (KeyError, TypeError):
            raise UnknownItemError(f"unknown supervision item {shorten(item_id)}") from None

    @property
    def items(self) -> tuple[SupervisionItem, ...]:
        """Every item, in the order opened."""
        return tuple(self._items.values())

    def open_items(self) -> tuple[SupervisionItem, ...]:
        """The items not closed out, in the order opened."""
        return tuple(i for i in self._items.values() if i.is_open)

    def overdue_items(self, day: dt.date | str) -> tuple[SupervisionItem, ...]:
        """The open items whose due day is before ``day``."""
        d = to_date(day)
        return tuple(i for i in self._items.values() if i.is_overdue(d))

    def by_source(self, source_key: str) -> SupervisionItem | None:
        """The item opened with ``source_key``, or ``None``."""
        item_id = self._by_source.get(source_key)
        return None if item_id is None else self._items[item_id]

    @property
    def history(self) -> tuple[ItemHistoryRow, ...]:
        """Every history row, in the order appended."""
        return tuple(self._history)

    def history_of(self, item_id: str) -> tuple[ItemHistoryRow, ...]:
        """The history rows of one item, in order."""
        self.item(item_id)
        return tuple(r for r in self._history if r.item_id == item_id)

    @property
    def dispatch_orders(self) -> tuple[DispatchOrder, ...]:
        """Dispatch orders issued, in order."""
        return tuple(self._dispatch.values())

    @property
    def supervision_orders(self) -> tuple[SupervisionOrder, ...]:
        """Supervision orders issued, in order."""
        return tuple(self._orders.values())

    # -- opening ---------------------------------------------------------------------------

    def check_subject(self, kind: SubjectKind | str, subject_id: str) -> None:
        """Refuse a subject the list does not know (when it was given the portfolio's ids).

        Raises:
            UnknownCustomerError, UnknownProjectGroupError: the subject is unknown.
        """
        kind = SubjectKind.parse(kind)
        known = self._customers if kind is SubjectKind.CUSTOMER else self._groups
        if known is None or subject_id in known:
            return
        if kind is SubjectKind.CUSTOMER:
            raise UnknownCustomerError(
                f"cannot open a supervision item for unknown customer {shorten(subject_id)}"
            )
        raise UnknownProjectGroupError(
            f"cannot open a supervision item for unknown project group {shorten(subject_id)}"
        )

    def _new_id(self, prefix: str, taken: Collection[str]) -> str:
        n = len(taken) + 1
        while f"{prefix}-{n:06d}" in taken:
            n += 1
        return f"{prefix}-{n:06d}"

    def _append(
        self,
        item_id: str,
        who: str,
        when: dt.date,
        what: str,
        changes: Sequence[tuple[str, object, object]],
    ) -> list[ItemHistoryRow]:
        rows = [
            ItemHistoryRow(
                seq=len(self._history) + k + 1,
                item_id=item_id,
                who=who,
                when=when,
                what=what,
                field=field,
                before=_as_text(before),
                after=_as_text(after),
            )
            for k, (field, before, after) in enumerate(changes)
        ]
        self._history.extend(rows)
        return rows

    def _build(
        self,
        title: str,
        *,
        subject_id: str,
        subject_kind: SubjectKind | str,
        department: Department | str,
        responsible_person: str,
        province: str | None,
        level: Level | str,
        severity: Severity | str,
        due_on: dt.date | str | None,
        on: dt.date,
        owner: str | None,
        source_key: str | None,
        dispatch_id: str | None,
        item_id: str,
    ) -> SupervisionItem:
        kind = SubjectKind.parse(subject_kind)
        self.check_subject(kind, subject_id)
        lv = Level.parse(level)
        due = on + dt.timedelta(days=self.policy.days(lv)) if due_on is None else to_date(due_on)
        return SupervisionItem(
            item_id,
            title,
            kind,
            subject_id,
            department,
            responsible_person,
            lv,
            province,
            severity,
            on,
            due,
            owner=owner,
            source_key=source_key,
            dispatch_id=dispatch_id,
        )

    def open(
        self,
        title: str,
        *,
        subject_id: str,
        department: Department | str,
        responsible_person: str,
        who: str,
        on: dt.date | str,
        subject_kind: SubjectKind | str = SubjectKind.CUSTOMER,
        province: str | None = None,
        level: Level | str = Level.CITY,
        severity: Severity | str = Severity.NORMAL,
        due_on: dt.date | str | None = None,
        received: bool = True,
        source_key: str | None = None,
        item_id: str | None = None,
    ) -> SupervisionItem:
        """Open an item; with ``received`` (the default) ``who`` is its first contact and owner.

        Args:
            title: What the problem is.
            subject_id: The customer or project group.
            department: Market, operations, service or IT.
            responsible_person: Who answers for it.
            who: Who opens it.
            on: The opening day.
            subject_kind: ``CUSTOMER`` (default) or ``GROUP``.
            province: The province concerned.
            level: Where it starts (``CITY`` by default).
            severity: ``NORMAL`` (default) or ``SEVERE``.
            due_on: The planned completion day; default ``on + days(level)``.
            received: ``False`` for an item opened by a process (a KPI check, a dispatch
                order): it has no owner until someone :meth:`receive` s it.
            source_key: Makes opening idempotent: when an item with this key exists, it
                is returned and nothing changes.
            item_id: The id; default ``SV-000001``, ``SV-000002``, ...

        Raises:
            UnknownCustomerError, UnknownProjectGroupError: the list knows the portfolio's
                ids and the subject is not among them.
            ValidationError: a blank title or person, a due day before ``on``, an id taken.
        """
        if source_key is not None and source_key in self._by_source:
            return self._items[self._by_source[source_key]]
        actor = _who(who)
        day = to_date(on)
        if item_id is not None and item_id in self._items:
            raise ValidationError(f"supervision item id {shorten(item_id)} is already taken")
        item = self._build(
            title,
            subject_id=subject_id,
            subject_kind=subject_kind,
            department=department,
            responsible_person=responsible_person,
            province=province,
            level=level,
            severity=severity,
            due_on=due_on,
            on=day,
            owner=actor if received else None,
            source_key=source_key,
            dispatch_id=None,
            item_id=self._new_id("SV", self._items) if item_id is None else item_id,
        )
        self._commit_new([item], actor, day)
        return item

    def _commit_new(self, items: Sequence[SupervisionItem], who: str, on: dt.date) -> None:
        for item in items:
            self._items[item.id] = item
            if item.source_key is not None:
                self._by_source[item.source_key] = item.id
            self._append(item.id, who, on, "open", [("level", None, item.level)])

    # -- changing one item -----------------------------------------------------------------

    def _open_item(self, item_id: str, on: dt.date, action: str) -> SupervisionItem:
        item = self.item(item_id)
        if not item.is_open and action == "close out":
            raise IllegalMoveError(f"supervision item {item.id!r}", "CLOSED", "CLOSED")
        if not item.is_open:
            raise ValidationError(f"supervision item {item.id!r} is closed out; cannot {action} it")
        if on < item.opened_on:
            raise ValidationError(
                f"supervision item {item.id!r}: cannot {action} it on {on}, before it was "
                f"opened ({item.opened_on})"
            )
        return item

    def _replace(
        self, new: SupervisionItem, who: str, on: dt.date, what: str, fields: Sequence[str]
    ) -> SupervisionItem:
        old = self._items[new.id]
        changes = [(f, getattr(old, f), getattr(new, f)) for f in fields]
        self._items[new.id] = new
        self._append(new.id, who, on, what, changes)
        return new

    def receive(self, item_id: str, *, who: str, on: dt.date | str) -> SupervisionItem:
        """``who`` receives the item; the first to receive an unowned item owns it (首问负责).

        Receiving an item that already has an owner changes nothing: the owner stays the
        first contact until an explicit :meth:`hand_over`.
        """
        actor, day = _who(who), to_date(on)
        item = self._open_item(item_id, day, "receive")
        if item.owner is not None:
            return item
        return self._replace(attrs.evolve(item, owner=actor), actor, day, "receive", ["owner"])

    def hand_over(self, item_id: str, to: str, *, who: str, on: dt.date | str) -> SupervisionItem:
        """The owner hands the item over to ``to``, who owns it from then on.

        Raises:
            ValidationError: ``who`` is not the owner (or nobody received it yet), or ``to``
                is the owner already.
        """
        actor, day = _who(who), to_date(on)
        target = _who(to, "to")
        item = self._open_item(item_id, day, "hand over")
        if item.owner is None:
            raise ValidationError(
                f"supervision item {item.id!r} has no owner yet: receive it before handing it over"
            )
        if actor != item.owner:
            raise ValidationError(
                f"supervision item {item.id!r} is owned by {item.owner!r}: only the owner can "
                f"hand it over, not {actor!r}"
            )
        if target == item.owner:
            raise ValidationError(f"supervision item {item.id!r} is already owned by {target!r}")
        return self._replace(attrs.evolve(item, owner=target), actor, day, "hand_over", ["owner"])

    def set_severity(
        self, item_id: str, severity: Severity | str, *, who: str, on: dt.date | str
    ) -> SupervisionItem:
        """Mark the item severe (or normal again); the same severity changes nothing."""
        actor, day = _who(who), to_date(on)
        sev = Severity.parse(severity)
        item = self._open_item(item_id, day, "change the severity of")
        if item.severity is sev:
            return item
        return self._replace(attrs.evolve(item, severity=sev), actor, day, "severity", ["severity"])

    def close_out(
        self, item_id: str, resolution: str, *, who: str, on: dt.date | str
    ) -> SupervisionItem:
        """Close the item out (销号), recording how it was resolved.

        Raises:
            IllegalMoveError: the item is closed already (the message names both states).
            ValidationError: a blank resolution, or ``on`` before the opening day.
        """
        actor, day = _who(who), to_date(on)
        text = _text(resolution, "resolution")
        item = self._open_item(item_id, day, "close out")
        new = attrs.evolve(item, status=ItemStatus.CLOSED, resolution=text, closed_on=day)
        return self._replace(new, actor, day, "close_out", ["status", "resolution"])

    # -- the sweep -------------------------------------------------------------------------

    def sweep(self, day: dt.date | str, *, who: str, engine: Engine = "bulk") -> SweepResult:
        """The escalation sweep of ``day`` over the open items (rules: ``plan_sweep``).

        Escalating writes two rows (``level`` and ``due_on``, what ``escalate``); flagging
        one (``flagged``, what ``flag``); both with ``when = day``.

        Args:
            day: The sweep day.
            who: The person or process sweeping.
            engine: ``"bulk"`` (numpy columns) or ``"reference"`` (item by item); the same.
        """
        actor, d = _who(who), to_date(day)
        items = self.open_items()
        if engine == "bulk":
            plan = plan_sweep(SweepColumns.from_items(items), d, self.policy)
            new_items = [
                attrs.evolve(
                    items[i],
                    level=list(Level)[int(plan.level[i])],
                    due_on=dt.date.fromordinal(int(plan.due_on[i])),
                    flagged=items[i].flagged or bool(plan.flag[i]),
                    escalated_on=d,
                )
                for i in np.flatnonzero(plan.changed)
            ]
        elif engine == "reference":
            new_items = [
                n for i in items if (n := reference_sweep_item(i, d, self.policy)) is not i
            ]
        else:
            raise ValidationError(f"unknown sweep engine {shorten(engine)}; 'bulk' or 'reference'")
        escalated: list[str] = []
        flagged: list[str] = []
        rows: list[ItemHistoryRow] = []
        for new in new_items:
            old = self._items[new.id]
            if new.level is not old.level:
                escalated.append(new.id)
                self._items[new.id] = new
                rows += self._append(
                    new.id,
                    actor,
                    d,
                    "escalate",
                    [("level", old.level, new.level), ("due_on", old.due_on, new.due_on)],
                )
            else:
                flagged.append(new.id)
                self._items[new.id] = new
                rows += self._append(new.id, actor, d, "flag", [("flagged", False, True)])
        return SweepResult(d, tuple(escalated), tuple(flagged), tuple(rows))

    # -- orders from headquarters ----------------------------------------------------------

    def dispatch(
        self,
        title: str,
        *,
        provinces: Mapping[str, str],
        subject_id: str,
        department: Department | str,
        who: str,
        on: dt.date | str,
        subject_kind: SubjectKind | str = SubjectKind.CUSTOMER,
        severity: Severity | str = Severity.NORMAL,
        due_on: dt.date | str | None = None,
        order_id: str | None = None,
    ) -> DispatchOrder:
        """Issue a dispatch order (指挥调度令): one linked item per province, all or none.

        Each item is opened at ``PROVINCE`` level in its province with the responsible
        person given for it, without an owner (the first in the province to receive it
        owns it), and links to the order (``dispatch_id``).

        Args:
            title: What the order is about (each item's title).
            provinces: Province -> responsible person there; at least one.
            subject_id: The customer or project group concerned.
            department: The responsible department.
            who: Who issues it at headquarters.
            on: The day.
            subject_kind: ``CUSTOMER`` (default) or ``GROUP``.
            severity: Of every item.
            due_on: Of every item; default ``on + days(PROVINCE)``.
            order_id: The order's id; default ``DO-000001``, ...

        Raises:
            ValidationError: no province, a blank province or person, an order id taken;
                nothing is opened.
            UnknownCustomerError, UnknownProjectGroupError: an unknown subject.
        """
        actor, day = _who(who), to_date(on)
        if not isinstance(provinces, Mapping) or not provinces:
            raise ValidationError("a dispatch order names at least one province and its person")
        oid = self._new_id("DO", self._dispatch) if order_id is None else order_id
        _text(oid, "dispatch order id")
        if oid in self._dispatch:
            raise ValidationError(f"dispatch order id {shorten(oid)} is already taken")
        taken = set(self._items)
        items: list[SupervisionItem] = []
        for province, person in provinces.items():
            _text(province, "dispatch province")
            item_id = self._new_id("SV", taken)
            taken.add(item_id)
            items.append(
                self._build(
                    title,
                    subject_id=subject_id,
                    subject_kind=subject_kind,
                    department=department,
                    responsible_person=person,
                    province=province,
                    level=Level.PROVINCE,
                    severity=severity,
                    due_on=due_on,
                    on=day,
                    owner=None,
                    source_key=None,
                    dispatch_id=oid,
                    item_id=item_id,
                )
            )
        order = DispatchOrder(
            oid, _text(title, "title"), actor, day, tuple(provinces), tuple(i.id for i in items)
        )
        self._commit_new(items, actor, day)
        self._dispatch[oid] = order
        return order

    def supervision_order_candidates(
        self, day: dt.date | str
    ) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Provinces that qualify for a supervision order on ``day`` (see ``docs/operations.md``).

        Returns:
            Province -> (escalations counted, ids of the items that escalated).
        """
        return supervision_order_candidates(
            self._items.values(), self._history, self._orders.values(), day, self.policy
        )

    def issue_supervision_orders(
        self, day: dt.date | str, *, who: str
    ) -> tuple[SupervisionOrder, ...]:
        """Issue a supervision order (工作督办单) to every province that qualifies on ``day``.

        Idempotent: the escalations an order answers are not counted again, so a second
        call for the same day issues nothing.
        """
        actor, d = _who(who), to_date(day)
        issued: list[SupervisionOrder] = []
        for province, (count, item_ids) in self.supervision_order_candidates(d).items():
            oid = self._new_id("SO", self._orders)
            order = SupervisionOrder(oid, province, actor, d, count, item_ids)
            self._orders[oid] = order
            issued.append(order)
        return tuple(issued)

    # -- meeting reports (两会一单) ----------------------------------------------------------

    def meeting_report(
        self, start: dt.date | str, end: dt.date | str, by: str = "level"
    ) -> MeetingReport:
        """Opened, closed, overdue and escalated counts for ``start..end`` by ``by``."""
        return meeting_report(self._items.values(), self._history, start, end, by)

    def weekly_report(self, day: dt.date | str, by: str = "level") -> MeetingReport:
        """The report of the ISO week (Monday to Sunday) holding ``day``: the weekly meeting."""
        return self.meeting_report(*week_days(day), by=by)

    def monthly_report(self, period: Period | str, by: str = "level") -> MeetingReport:
        """The report of a calendar month: the monthly analysis meeting."""
        return self.meeting_report(*month_days(period), by=by)
