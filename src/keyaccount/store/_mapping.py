"""Explicit mapping between the attrs domain objects and the database rows, both ways.

Every domain field is listed here with the column that holds it (the
``*_FIELDS`` tables); the field-parity tests check that these tables cover
every attrs field and every column, so a field added on one side only fails
the tests. Columns that exist only in the store (surrogate keys, the
recorded-at time) are listed in the ``*_STORE_ONLY`` sets.

Value conventions: periods are :attr:`~keyaccount.Period.ordinal` integers;
tiers are ranks; segments, sub-segments and roles are member names; money is
integer fen; a product's segments are their names separated by spaces.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Change,
    Customer,
    ExplanationValue,
    Member,
    Period,
    Product,
    ProjectGroup,
    Role,
    Segment,
    SegmentChange,
    SubSegment,
    Tier,
    TierChange,
)
from keyaccount.exceptions import ValidationError
from keyaccount.portfolio import CustomerColumns
from keyaccount.store._tables import (
    DbChange,
    DbCustomer,
    DbProduct,
    DbProjectGroup,
    DbProjectMember,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = [
    "CHANGE_FIELDS",
    "CHANGE_STORE_ONLY",
    "CUSTOMER_COLUMN_ORDER",
    "CUSTOMER_FIELDS",
    "CUSTOMER_STORE_ONLY",
    "MEMBER_FIELDS",
    "MEMBER_STORE_ONLY",
    "PRODUCT_COLUMN_ORDER",
    "PRODUCT_FIELDS",
    "PRODUCT_STORE_ONLY",
    "PROJECT_GROUP_FIELDS",
    "PROJECT_GROUP_STORE_ONLY",
    "CustomerBlock",
    "change_from_db",
    "change_to_db",
    "change_values",
    "customer_columns_from_tuples",
    "customer_from_db",
    "customer_to_db",
    "customer_tuples",
    "explanation_from_json",
    "explanation_to_json",
    "group_from_db",
    "group_to_db",
    "member_from_db",
    "member_to_db",
    "product_from_db",
    "product_to_db",
    "product_tuples",
    "segment_from_name",
    "segment_name",
    "utc",
]

# ---------------------------------------------------------------- field tables

CUSTOMER_FIELDS: Final[Mapping[str, str]] = {
    "id": "customer_id",
    "name": "name",
    "first_period": "first_period",
    "segment": "segment",
    "sub_segment": "sub_segment",
    "tier": "tier",
    "parent_id": "parent_key",
    "province": "province",
    "tier_since": "tier_since",
}
"""``Customer`` field -> ``ka_customer`` column (``parent_id`` is stored as the parent's key)."""
CUSTOMER_STORE_ONLY: Final = frozenset({"customer_key"})

CUSTOMER_COLUMN_ORDER: Final[tuple[str, ...]] = (
    "customer_key",
    "customer_id",
    "name",
    "segment",
    "sub_segment",
    "tier",
    "parent_key",
    "province",
    "first_period",
    "tier_since",
)
"""The ``ka_customer`` columns in the order of :func:`customer_tuples`."""

PRODUCT_COLUMN_ORDER: Final[tuple[str, ...]] = (
    "product_key",
    "product_id",
    "name_en",
    "name_zh",
    "segments",
)
"""The ``ka_product`` columns in the order of :func:`product_tuples`."""

PRODUCT_FIELDS: Final[Mapping[str, str]] = {
    "id": "product_id",
    "name_en": "name_en",
    "name_zh": "name_zh",
    "segments": "segments",
}
"""``Product`` field -> ``ka_product`` column."""
PRODUCT_STORE_ONLY: Final = frozenset({"product_key"})

PROJECT_GROUP_FIELDS: Final[Mapping[str, str]] = {
    "id": "ka_project_group.group_id",
    "name_en": "ka_project_group.name_en",
    "name_zh": "ka_project_group.name_zh",
    "segment": "ka_project_group.segment",
    "international": "ka_project_group.international",
    "members": "ka_project_member",
    "customer_ids": "ka_project_customer",
}
"""``ProjectGroup`` field -> ``table.column``, or a whole table for the collections."""
PROJECT_GROUP_STORE_ONLY: Final = frozenset({"group_key"})

MEMBER_FIELDS: Final[Mapping[str, str]] = {
    "name": "name",
    "role": "role",
    "full_time": "full_time",
}
"""``Member`` field -> ``ka_project_member`` column."""
MEMBER_STORE_ONLY: Final = frozenset({"group_key", "member_index"})

CHANGE_FIELDS: Final[Mapping[str, str]] = {
    "customer_id": "customer_key",
    "period": "period",
    "rule": "rule",
    "actor": "actor",
    "reason": "reason",
    "explanation": "explanation",
    "before": "from_value",
    "after": "to_value",
}
"""``TierChange`` / ``SegmentChange`` field -> ``ka_change`` column."""
CHANGE_STORE_ONLY: Final = frozenset({"change_key", "attribute", "recorded_at"})

# ---------------------------------------------------------------- values


def segment_name(segment: Segment | None) -> str | None:
    """The stored form of a segment: its name, or ``None``."""
    return None if segment is None else segment.name


def segment_from_name(name: str | None) -> Segment | None:
    """The segment stored as ``name``."""
    return None if name is None else Segment[name]


def _sub_segment_name(sub: SubSegment | None) -> str | None:
    return None if sub is None else sub.name


def _opt_period(ordinal: int | None) -> Period | None:
    return None if ordinal is None else Period.from_ordinal(ordinal)


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC time (a naive time read back from SQLite is UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# ---------------------------------------------------------------- customers


def customer_to_db(customer: Customer, *, key: int, parent_key: int | None) -> DbCustomer:
    """The row for ``customer`` at ``key``, its parent stored as ``parent_key``."""
    return DbCustomer(
        customer_key=key,
        customer_id=customer.id,
        name=customer.name,
        segment=segment_name(customer.segment),
        sub_segment=_sub_segment_name(customer.sub_segment),
        tier=customer.tier.rank,
        parent_key=parent_key,
        province=customer.province,
        first_period=customer.first_period.ordinal,
        tier_since=None if customer.tier_since is None else customer.tier_since.ordinal,
    )


def customer_from_db(row: DbCustomer, *, parent_id: str | None) -> Customer:
    """The customer held by ``row``; ``parent_id`` is the id of the row ``parent_key`` names."""
    return Customer(
        row.customer_id,
        row.name,
        Period.from_ordinal(row.first_period),
        segment=segment_from_name(row.segment),
        sub_segment=None if row.sub_segment is None else SubSegment[row.sub_segment],
        tier=TIERS[row.tier],
        parent_id=parent_id,
        province=row.province,
        tier_since=_opt_period(row.tier_since),
    )


_SEGMENT_NAMES: Final = np.array([s.name for s in SEGMENTS] + [None], dtype=object)
_SUB_SEGMENT_NAMES: Final = np.array([s.name for s in SUB_SEGMENTS] + [None], dtype=object)
_SEGMENT_CODES: Final[dict[str | None, int]] = {None: NO_CODE} | {
    s.name: i for i, s in enumerate(SEGMENTS)
}
_SUB_SEGMENT_CODES: Final[dict[str | None, int]] = {None: NO_CODE} | {
    s.name: i for i, s in enumerate(SUB_SEGMENTS)
}


class CustomerBlock(Protocol):
    """Customers as columns: the shape :class:`CustomerColumns` and io's ``CustomerRows`` share.

    Codes are as in :class:`~keyaccount.portfolio.CustomerColumns` (``-1`` for none).
    """

    @property
    def id(self) -> npt.NDArray[np.object_]: ...
    @property
    def name(self) -> npt.NDArray[np.object_]: ...
    @property
    def segment(self) -> npt.NDArray[np.int8]: ...
    @property
    def sub_segment(self) -> npt.NDArray[np.int8]: ...
    @property
    def tier(self) -> npt.NDArray[np.int8]: ...
    @property
    def province(self) -> npt.NDArray[np.object_]: ...
    @property
    def first_period(self) -> npt.NDArray[np.int32]: ...
    @property
    def tier_since(self) -> npt.NDArray[np.int32]: ...


def _nullable_ints(values: npt.NDArray[np.int32]) -> list[int | None]:
    return [None if v == NO_CODE else v for v in values.tolist()]


def customer_tuples(
    block: CustomerBlock,
    keys: npt.NDArray[np.int64],
    parent_keys: npt.NDArray[np.int64],
) -> Iterator[tuple[Any, ...]]:
    """One tuple per customer in :data:`CUSTOMER_COLUMN_ORDER`, made from columns in bulk.

    Args:
        block: The customers as columns.
        keys: The key of each customer.
        parent_keys: The key of each customer's parent, ``-1`` for none.
    """
    # Codes index the name arrays; -1 picks the trailing None.
    return zip(
        keys.tolist(),
        block.id.tolist(),
        block.name.tolist(),
        _SEGMENT_NAMES[block.segment].tolist(),
        _SUB_SEGMENT_NAMES[block.sub_segment].tolist(),
        block.tier.tolist(),
        _nullable_ints(parent_keys),  # type: ignore[arg-type]
        block.province.tolist(),
        block.first_period.tolist(),
        _nullable_ints(block.tier_since),
        strict=True,
    )


def customer_columns_from_tuples(rows: Sequence[Sequence[Any]]) -> CustomerColumns:
    """Customers as columns from rows in :data:`CUSTOMER_COLUMN_ORDER`, in the rows' order.

    ``parent`` holds positions among ``rows``; a parent key not among the
    rows is an error (callers include every ancestor).

    Raises:
        ValidationError: a parent key that is not among the rows.
    """
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if n else [()] * len(CUSTOMER_COLUMN_ORDER)
    keys = np.array(columns[0], dtype=np.int64)
    position = {k: i for i, k in enumerate(keys.tolist())}
    parent = np.full(n, NO_CODE, dtype=np.int32)
    for i, pk in enumerate(columns[6]):
        if pk is not None:
            at = position.get(pk)
            if at is None:
                raise ValidationError(
                    f"customer {columns[1][i]!r}: parent key {pk} is not among the rows read"
                )
            parent[i] = at

    def objects(values: Iterable[object]) -> npt.NDArray[np.object_]:
        out = np.empty(n, dtype=object)
        out[:] = list(values)
        return out

    return CustomerColumns(
        id=objects(columns[1]),
        name=objects(columns[2]),
        segment=np.array([_SEGMENT_CODES[s] for s in columns[3]], dtype=np.int8),
        sub_segment=np.array([_SUB_SEGMENT_CODES[s] for s in columns[4]], dtype=np.int8),
        tier=np.array(columns[5], dtype=np.int8),
        parent=parent,
        province=objects(columns[7]),
        first_period=np.array(columns[8], dtype=np.int32),
        tier_since=np.array([NO_CODE if t is None else t for t in columns[9]], dtype=np.int32),
    )


# ---------------------------------------------------------------- products


def product_to_db(product: Product, *, key: int) -> DbProduct:
    """The row for ``product`` at catalogue position ``key``."""
    segments = " ".join(s.name for s in SEGMENTS if s in product.segments)
    return DbProduct(
        product_key=key,
        product_id=product.id,
        name_en=product.name_en,
        name_zh=product.name_zh,
        segments=segments,
    )


def product_tuples(products: Iterable[Product], *, start: int = 0) -> list[tuple[Any, ...]]:
    """One tuple per product in :data:`PRODUCT_COLUMN_ORDER`, keys counted from ``start``."""
    rows = (product_to_db(p, key=start + i) for i, p in enumerate(products))
    return [tuple(getattr(row, c) for c in PRODUCT_COLUMN_ORDER) for row in rows]


def product_from_db(row: DbProduct) -> Product:
    """The product held by ``row``."""
    return Product(
        row.product_id,
        row.name_en,
        row.name_zh,
        frozenset(Segment[name] for name in row.segments.split()),
    )


# ---------------------------------------------------------------- project groups


def group_to_db(group: ProjectGroup, *, key: int) -> DbProjectGroup:
    """The row for ``group`` at position ``key`` (members and customers: tables of their own)."""
    return DbProjectGroup(
        group_key=key,
        group_id=group.id,
        name_en=group.name_en,
        name_zh=group.name_zh,
        segment=segment_name(group.segment),
        international=group.international,
    )


def group_from_db(
    row: DbProjectGroup, members: Iterable[Member], customer_ids: Iterable[str]
) -> ProjectGroup:
    """The project group held by ``row`` with its ``members`` (in order) and ``customer_ids``."""
    return ProjectGroup(
        row.group_id,
        row.name_en,
        row.name_zh,
        segment=segment_from_name(row.segment),
        international=bool(row.international),
        members=tuple(members),
        customer_ids=frozenset(customer_ids),
    )


def member_to_db(member: Member, *, group_key: int, index: int) -> DbProjectMember:
    """The row for ``member``, the ``index``-th member of the group ``group_key``."""
    return DbProjectMember(
        group_key=group_key,
        member_index=index,
        name=member.name,
        role=member.role.name,
        full_time=member.full_time,
    )


def member_from_db(row: DbProjectMember) -> Member:
    """The member held by ``row``."""
    return Member(row.name, Role[row.role], full_time=bool(row.full_time))


# ---------------------------------------------------------------- changes

_DECIMAL_TAG = "$decimal"


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return {_DECIMAL_TAG: str(value)}
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    raise ValidationError(f"explanation value {value!r} is not Decimal, int, float, text or None")


def _decode(obj: dict[str, Any]) -> object:
    if set(obj) == {_DECIMAL_TAG}:
        return Decimal(obj[_DECIMAL_TAG])
    return obj


def explanation_to_json(explanation: Sequence[tuple[str, ExplanationValue]]) -> str:
    """An explanation as JSON text: a list of ``[name, value]`` pairs, in order.

    Decimals are kept exact as ``{"$decimal": "123.45"}``; floats keep every bit.
    """
    return json.dumps([[k, v] for k, v in explanation], ensure_ascii=False, default=_encode)


def explanation_from_json(text: str) -> tuple[tuple[str, ExplanationValue], ...]:
    """The explanation :func:`explanation_to_json` wrote."""
    pairs = json.loads(text, object_hook=_decode)
    return tuple((str(k), v) for k, v in pairs)


def change_values(change: Change, *, customer_key: int, recorded_at: dt.datetime) -> dict[str, Any]:
    """The ``ka_change`` column values recording ``change`` (a plain dict, for bulk inserts)."""
    before: str | None
    after: str | None
    if isinstance(change, TierChange):
        attribute, before, after = "tier", change.before.name, change.after.name
    else:
        attribute = "segment"
        before, after = segment_name(change.before), segment_name(change.after)
    return {
        "customer_key": customer_key,
        "attribute": attribute,
        "from_value": before,
        "to_value": after,
        "period": change.period.ordinal,
        "rule": change.rule,
        "actor": change.actor,
        "reason": change.reason,
        "explanation": explanation_to_json(change.explanation),
        "recorded_at": utc(recorded_at),
    }


def change_to_db(change: Change, *, customer_key: int, recorded_at: dt.datetime) -> DbChange:
    """The row recording ``change`` of the customer at ``customer_key``."""
    return DbChange(**change_values(change, customer_key=customer_key, recorded_at=recorded_at))


def change_from_db(row: DbChange, *, customer_id: str) -> Change:
    """The change recorded by ``row`` for the customer ``customer_id``."""
    common: dict[str, Any] = {
        "rule": row.rule,
        "actor": row.actor,
        "reason": row.reason,
        "explanation": explanation_from_json(row.explanation),
    }
    period = Period.from_ordinal(row.period)
    if row.attribute == "tier":
        return TierChange(
            customer_id,
            period,
            before=Tier[str(row.from_value)],
            after=Tier[str(row.to_value)],
            **common,
        )
    return SegmentChange(
        customer_id,
        period,
        before=segment_from_name(row.from_value),
        after=segment_from_name(row.to_value),
        **common,
    )
