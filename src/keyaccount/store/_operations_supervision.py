"""The supervision list in the store: items, their history, and the orders of headquarters.

Every operation but the sweep runs the in-memory :class:`~keyaccount.operations.SupervisionList`
on the items it concerns, read from the store inside the write transaction (the store's
write lock keeps other writers out), and writes what the list changed: new items, changed
items and the history rows it appended, renumbered after the stored ones. So the room's
own checks decide, and a refused operation writes nothing. New items, dispatch orders
and supervision orders get the ids the in-memory list would give (``SV-000001``, ...:
one more than the items held, skipping ids taken). The sweep is bulk SQL
(:mod:`keyaccount.store._operations_sweep`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import sqlalchemy as sa

from keyaccount.domain import Department, ItemStatus, Level, Severity
from keyaccount.exceptions import UnknownItemError, ValidationError, shorten
from keyaccount.operations import (
    DispatchOrder,
    EscalationPolicy,
    ItemHistoryRow,
    KpiBreach,
    SubjectKind,
    SupervisionItem,
    SupervisionList,
    SupervisionOrder,
    open_breach_items,
    supervision_order_candidates,
)
from keyaccount.store._operations_keys import CHUNK, chunked, known_subjects
from keyaccount.store._tables import (
    dispatch_order_table,
    item_history_table,
    supervision_item_table,
    supervision_order_item_table,
    supervision_order_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

__all__ = [
    "ITEM_FIELDS",
    "ITEM_STORE_ONLY",
    "apply_to_item",
    "dispatch",
    "issue_supervision_orders",
    "item_from_row",
    "item_values",
    "load_history",
    "load_item",
    "load_items",
    "load_supervision",
    "open_breaches",
    "open_item",
    "save_supervision",
]

_I = supervision_item_table
_H = item_history_table
_D = dispatch_order_table
_O = supervision_order_table
_OI = supervision_order_item_table
_LEVELS: Final = tuple(Level)
_T = TypeVar("_T")

ITEM_FIELDS: Final = {
    "id": "item_id",
    "title": "title",
    "subject_kind": "subject_kind",
    "subject_id": "subject_id",
    "department": "department",
    "responsible_person": "responsible_person",
    "level": "level",
    "province": "province",
    "severity": "severity",
    "opened_on": "opened_on",
    "due_on": "due_on",
    "status": "status",
    "owner": "owner",
    "resolution": "resolution",
    "closed_on": "closed_on",
    "source_key": "source_key",
    "dispatch_id": "dispatch_id",
    "escalated_on": "escalated_on",
    "flagged": "flagged",
}
"""Every :class:`~keyaccount.operations.SupervisionItem` field and the column holding it.

Enums are stored by name, except the level: its rank (0 city .. 2 headquarters), so
that SQL can move an item up a level; days are ``DATE``."""
ITEM_STORE_ONLY: Final = frozenset({"item_key"})
"""Columns of ``ka_supervision_item`` that no item field maps to (the key orders items)."""
_ITEM_COLUMNS: Final = tuple(ITEM_FIELDS.values())


def item_values(item: SupervisionItem) -> dict[str, Any]:
    """The column values of ``item`` (see :data:`ITEM_FIELDS`)."""
    values: dict[str, Any] = {}
    for attr, column in ITEM_FIELDS.items():
        value = getattr(item, attr)
        if isinstance(value, Level):
            value = value.rank
        elif isinstance(value, SubjectKind | Department | Severity | ItemStatus):
            value = value.name
        values[column] = value
    return values


def item_from_row(row: sa.RowMapping | Mapping[str, Any]) -> SupervisionItem:
    """The item of a row of ``ka_supervision_item`` (a mapping of column names)."""
    return SupervisionItem(
        row["item_id"],
        row["title"],
        SubjectKind[row["subject_kind"]],
        row["subject_id"],
        Department[row["department"]],
        row["responsible_person"],
        _LEVELS[int(row["level"])],
        row["province"],
        Severity[row["severity"]],
        row["opened_on"],
        row["due_on"],
        status=ItemStatus[row["status"]],
        owner=row["owner"],
        resolution=row["resolution"],
        closed_on=row["closed_on"],
        source_key=row["source_key"],
        dispatch_id=row["dispatch_id"],
        escalated_on=row["escalated_on"],
        flagged=bool(row["flagged"]),
    )


def _select_items() -> sa.Select[Any]:
    return sa.select(*(_I.c[c] for c in _ITEM_COLUMNS)).order_by(_I.c.item_key)


def _items(conn: sa.Connection, stmt: sa.Select[Any]) -> list[SupervisionItem]:
    return [item_from_row(row) for row in conn.execute(stmt).mappings()]


def load_items(
    conn: sa.Connection, *, open_only: bool = False, overdue_on: dt.date | None = None
) -> tuple[SupervisionItem, ...]:
    """Items in the order opened; only open ones, or only those overdue on a day."""
    stmt = _select_items()
    if open_only or overdue_on is not None:
        stmt = stmt.where(_I.c.status == ItemStatus.OPEN.name)
    if overdue_on is not None:
        stmt = stmt.where(_I.c.due_on < overdue_on)
    return tuple(_items(conn, stmt))


def load_item(conn: sa.Connection, item_id: str) -> SupervisionItem:
    """One item.

    Raises:
        UnknownItemError: no such item.
    """
    found = _items(conn, _select_items().where(_I.c.item_id == item_id))
    if not found:
        raise UnknownItemError(f"unknown supervision item {shorten(item_id)}")
    return found[0]


def _history_select() -> sa.Select[Any]:
    return (
        sa.select(
            _H.c.seq,
            _I.c.item_id,
            _H.c.who,
            _H.c.acted_on,
            _H.c.what,
            _H.c.field,
            _H.c.from_value,
            _H.c.to_value,
        )
        .join(_I, _I.c.item_key == _H.c.item_key)
        .order_by(_H.c.seq)
    )


def _history(conn: sa.Connection, stmt: sa.Select[Any]) -> list[ItemHistoryRow]:
    return [
        ItemHistoryRow(int(seq), item_id, who, day, what, field, before, after)
        for seq, item_id, who, day, what, field, before, after in conn.execute(stmt)
    ]


def last_history_day(conn: sa.Connection) -> dt.date | None:
    """The latest day the supervision history records (indexed), ``None`` when it is empty."""
    day: dt.date | None = conn.execute(
        sa.select(sa.func.max(item_history_table.c.acted_on))
    ).scalar()
    return day


def load_history(
    conn: sa.Connection, item_id: str | None = None, *, since: int = 0
) -> tuple[ItemHistoryRow, ...]:
    """History rows in order: all, one item's, or those after ``seq`` ``since``.

    Raises:
        UnknownItemError: ``item_id`` names no item.
    """
    stmt = _history_select().where(_H.c.seq > since)
    if item_id is not None:
        load_item(conn, item_id)
        stmt = stmt.where(_I.c.item_id == item_id)
    return tuple(_history(conn, stmt))


def _dispatch_orders(conn: sa.Connection, items: Sequence[SupervisionItem]) -> list[DispatchOrder]:
    linked: dict[str, list[SupervisionItem]] = defaultdict(list)
    for item in items:
        if item.dispatch_id is not None:
            linked[item.dispatch_id].append(item)
    return [
        DispatchOrder(
            oid,
            title,
            by,
            day,
            tuple(i.province or "" for i in linked[oid]),
            tuple(i.id for i in linked[oid]),
        )
        for oid, title, by, day in conn.execute(
            sa.select(_D.c.order_id, _D.c.title, _D.c.issued_by, _D.c.issued_on).order_by(
                _D.c.order_key
            )
        )
    ]


def _supervision_orders(conn: sa.Connection) -> list[SupervisionOrder]:
    links: dict[int, list[str]] = defaultdict(list)
    for order_key, item_id in conn.execute(
        sa.select(_OI.c.order_key, _I.c.item_id).join(_I, _I.c.item_key == _OI.c.item_key)
    ):
        links[int(order_key)].append(item_id)
    return [
        SupervisionOrder(oid, province, by, day, int(count), tuple(sorted(links[int(key)])))
        for key, oid, province, by, day, count in conn.execute(
            sa.select(
                _O.c.order_key,
                _O.c.order_id,
                _O.c.province,
                _O.c.issued_by,
                _O.c.issued_on,
                _O.c.escalations,
            ).order_by(_O.c.order_key)
        )
    ]


def load_supervision(conn: sa.Connection, policy: EscalationPolicy) -> SupervisionList:
    """The whole list: items, history, dispatch and supervision orders (subjects unchecked)."""
    items = _items(conn, _select_items())
    return SupervisionList.from_records(
        items,
        _history(conn, _history_select()),
        dispatch_orders=_dispatch_orders(conn, items),
        supervision_orders=_supervision_orders(conn),
        policy=policy,
    )


# ---------------------------------------------------------------- writing


def _next_ids(conn: sa.Connection, table: sa.Table, column: str, prefix: str, k: int) -> list[str]:
    """``k`` new ids as the in-memory list makes them: one more than the rows held, skipping."""
    n = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()) + 1
    out: list[str] = []
    while len(out) < k:
        wanted = [f"{prefix}-{m:06d}" for m in range(n, n + min(k - len(out), CHUNK))]
        taken = {
            v
            for (v,) in conn.execute(sa.select(table.c[column]).where(table.c[column].in_(wanted)))
        }
        for value in wanted:
            n += 1
            if value not in taken:
                out.append(value)
    return out


def _taken(conn: sa.Connection, table: sa.Table, column: str, value: str) -> bool:
    return (
        conn.execute(sa.select(table.c[column]).where(table.c[column] == value)).first() is not None
    )


def _item_keys(conn: sa.Connection, ids: Collection[str]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for chunk in chunked(sorted(ids)):
        keys.update(
            (iid, int(key))
            for iid, key in conn.execute(
                sa.select(_I.c.item_id, _I.c.item_key).where(_I.c.item_id.in_(chunk))
            )
        )
    return keys


def _next_seq(conn: sa.Connection) -> int:
    """The ``seq`` the next history row gets."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_H.c.seq), 0))).scalar_one()) + 1


def _working_list(
    conn: sa.Connection,
    policy: EscalationPolicy,
    items: Iterable[SupervisionItem],
    subjects: Iterable[tuple[SubjectKind | str, str]],
) -> SupervisionList:
    """A list of ``items`` that knows which of ``subjects`` the store holds."""
    customers, groups = known_subjects(conn, subjects)
    return SupervisionList.from_records(
        items, policy=policy, customer_ids=customers, group_ids=groups
    )


def _commit(
    conn: sa.Connection,
    work: SupervisionList,
    before: Mapping[str, SupervisionItem],
    *,
    explicit: Collection[str] = (),
    dispatch_ids: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write what ``work`` changed since it held ``before``; the new ids of the new items.

    New items not named in ``explicit`` get the store's next ids; their dispatch order
    ids are renamed by ``dispatch_ids``. History rows follow the stored ones.
    """
    new = [i for i in work.items if i.id not in before]
    changed = [i for i in work.items if i.id in before and i != before[i.id]]
    for iid in (i.id for i in new if i.id in explicit):
        if _taken(conn, _I, "item_id", iid):
            raise ValidationError(f"supervision item id {shorten(iid)} is already taken")
    generated = iter(_next_ids(conn, _I, "item_id", "SV", sum(i.id not in explicit for i in new)))
    rename = {i.id: (i.id if i.id in explicit else next(generated)) for i in new}
    renamed_dispatch = dispatch_ids or {}
    if new:
        rows = []
        for item in new:
            final = attrs.evolve(item, id=rename[item.id])
            if final.dispatch_id is not None:
                final = attrs.evolve(
                    final, dispatch_id=renamed_dispatch.get(final.dispatch_id, final.dispatch_id)
                )
            rows.append(item_values(final))
        conn.execute(sa.insert(_I), rows)
    for item in changed:
        values = item_values(item)
        del values["item_id"]
        conn.execute(sa.update(_I).where(_I.c.item_id == item.id).values(**values))
    history = work.history
    if history:
        keys = _item_keys(conn, {rename.get(r.item_id, r.item_id) for r in history})
        base = _next_seq(conn) - 1
        conn.execute(
            sa.insert(_H),
            [
                {
                    "seq": base + r.seq,
                    "item_key": keys[rename.get(r.item_id, r.item_id)],
                    "who": r.who,
                    "acted_on": r.when,
                    "what": r.what,
                    "field": r.field,
                    "from_value": r.before,
                    "to_value": r.after,
                }
                for r in history
            ],
        )
    return rename


def open_item(
    conn: sa.Connection,
    policy: EscalationPolicy,
    title: str,
    *,
    subject_id: str,
    subject_kind: SubjectKind | str,
    source_key: str | None,
    item_id: str | None,
    **kw: Any,
) -> SupervisionItem:
    """``SupervisionList.open`` against the store (see ``OperationsStore.open``)."""
    existing = []
    if source_key is not None:
        existing = _items(conn, _select_items().where(_I.c.source_key == source_key))
    work = _working_list(conn, policy, existing, [(subject_kind, subject_id)])
    before = {i.id: i for i in existing}
    item = work.open(
        title,
        subject_id=subject_id,
        subject_kind=subject_kind,
        source_key=source_key,
        item_id=item_id,
        **kw,
    )
    rename = _commit(conn, work, before, explicit=() if item_id is None else (item_id,))
    return attrs.evolve(item, id=rename.get(item.id, item.id))


def open_breaches(
    conn: sa.Connection, policy: EscalationPolicy, breaches: Iterable[KpiBreach], **kw: Any
) -> tuple[SupervisionItem, ...]:
    """``open_breach_items`` against the store: one item per breach not yet on the list."""
    batch = list(breaches)
    keys = sorted({b.source_key for b in batch})
    existing: list[SupervisionItem] = []
    for chunk in chunked(keys):
        existing += _items(conn, _select_items().where(_I.c.source_key.in_(chunk)))
    work = _working_list(conn, policy, existing, [(b.subject_kind, b.subject_id) for b in batch])
    opened = open_breach_items(work, batch, **kw)
    rename = _commit(conn, work, {i.id: i for i in existing})
    return tuple(attrs.evolve(i, id=rename[i.id]) for i in opened)


def apply_to_item(
    conn: sa.Connection,
    policy: EscalationPolicy,
    item_id: str,
    action: Callable[[SupervisionList], _T],
) -> _T:
    """Run ``action`` on a list holding the stored item ``item_id``; write what it changed.

    Raises:
        UnknownItemError: no such item (nothing is written).
    """
    found = _items(conn, _select_items().where(_I.c.item_id == item_id))
    work = SupervisionList.from_records(found, policy=policy)
    result = action(work)
    _commit(conn, work, {i.id: i for i in found})
    return result


def dispatch(
    conn: sa.Connection,
    policy: EscalationPolicy,
    title: str,
    *,
    provinces: Mapping[str, str],
    subject_id: str,
    subject_kind: SubjectKind | str,
    order_id: str | None,
    **kw: Any,
) -> DispatchOrder:
    """``SupervisionList.dispatch`` against the store: the order and its items, all or none."""
    work = _working_list(conn, policy, [], [(subject_kind, subject_id)])
    order = work.dispatch(
        title,
        provinces=provinces,
        subject_id=subject_id,
        subject_kind=subject_kind,
        order_id=order_id,
        **kw,
    )
    if order_id is not None:
        if _taken(conn, _D, "order_id", order_id):
            raise ValidationError(f"dispatch order id {shorten(order_id)} is already taken")
        final_id = order_id
    else:
        final_id = _next_ids(conn, _D, "order_id", "DO", 1)[0]
    conn.execute(
        sa.insert(_D).values(
            order_id=final_id,
            title=order.title,
            issued_by=order.issued_by,
            issued_on=order.issued_on,
        )
    )
    rename = _commit(conn, work, {}, dispatch_ids={order.id: final_id})
    return attrs.evolve(order, id=final_id, item_ids=tuple(rename[i] for i in order.item_ids))


def _who(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"'who' must name a person or process, got {shorten(value)}")
    return value


def issue_supervision_orders(
    conn: sa.Connection, policy: EscalationPolicy, day: dt.date, who: str
) -> tuple[SupervisionOrder, ...]:
    """Issue a supervision order to every province that qualifies on ``day`` (idempotent)."""
    actor = _who(who)
    window_start = day - dt.timedelta(days=policy.order_window_days)
    rows = _history(
        conn,
        _history_select().where(
            _H.c.what == "escalate",
            _H.c.field == "level",
            _H.c.acted_on > window_start,
            _H.c.acted_on <= day,
        ),
    )
    ids = sorted({r.item_id for r in rows})
    items: list[SupervisionItem] = []
    for chunk in chunked(ids):
        items += _items(conn, _select_items().where(_I.c.item_id.in_(chunk)))
    orders = _supervision_orders(conn)
    found = supervision_order_candidates(items, rows, orders, day, policy)
    if not found:
        return ()
    issued: list[SupervisionOrder] = []
    order_ids = _next_ids(conn, _O, "order_id", "SO", len(found))
    keys = _item_keys(conn, {i for _, linked in found.values() for i in linked})
    for oid, (province, (count, linked)) in zip(order_ids, found.items(), strict=True):
        order = SupervisionOrder(oid, province, actor, day, count, linked)
        key = conn.execute(
            sa.insert(_O)
            .values(
                order_id=oid, province=province, issued_by=actor, issued_on=day, escalations=count
            )
            .returning(_O.c.order_key)
        ).scalar_one()
        conn.execute(sa.insert(_OI), [{"order_key": key, "item_key": keys[i]} for i in linked])
        issued.append(order)
    return tuple(issued)


def save_supervision(conn: sa.Connection, supervision: SupervisionList) -> int:
    """Write a whole in-memory list into a store that holds no supervision items yet.

    Items keep their ids and order, history rows their ``seq``; dispatch and supervision
    orders are written with their links.

    Raises:
        ValidationError: the store holds supervision items already.
        UnknownCustomerError, UnknownProjectGroupError: an item's subject is not stored.
    """
    if conn.execute(sa.select(_I.c.item_key).limit(1)).first() is not None:
        raise ValidationError(
            "the store holds a supervision list already; a list is saved only into a store "
            "without one (operations then add to it)"
        )
    items = supervision.items
    check = _working_list(
        conn, supervision.policy, [], [(i.subject_kind, i.subject_id) for i in items]
    )
    for item in items:
        check.check_subject(item.subject_kind, item.subject_id)
    for order in supervision.dispatch_orders:
        conn.execute(
            sa.insert(_D).values(
                order_id=order.id,
                title=order.title,
                issued_by=order.issued_by,
                issued_on=order.issued_on,
            )
        )
    for chunk in chunked(items, 10_000):
        conn.execute(sa.insert(_I), [item_values(i) for i in chunk])
    keys = _item_keys(conn, [i.id for i in items])
    for rows in chunked(supervision.history, 10_000):
        conn.execute(
            sa.insert(_H),
            [
                {
                    "seq": r.seq,
                    "item_key": keys[r.item_id],
                    "who": r.who,
                    "acted_on": r.when,
                    "what": r.what,
                    "field": r.field,
                    "from_value": r.before,
                    "to_value": r.after,
                }
                for r in rows
            ],
        )
    for sorder in supervision.supervision_orders:
        key = conn.execute(
            sa.insert(_O)
            .values(
                order_id=sorder.id,
                province=sorder.province,
                issued_by=sorder.issued_by,
                issued_on=sorder.issued_on,
                escalations=sorder.escalations,
            )
            .returning(_O.c.order_key)
        ).scalar_one()
        if sorder.item_ids:
            conn.execute(
                sa.insert(_OI), [{"order_key": key, "item_key": keys[i]} for i in sorder.item_ids]
            )
    return len(items)
