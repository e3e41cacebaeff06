"""Columnar storage of customers, and the checks a block of customers passes to join a portfolio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Customer,
    Period,
    parent_cycles,
    segment_code,
    sub_segment_code,
    sub_segment_mismatch,
)
from keyaccount.exceptions import (
    DuplicateCustomerError,
    HierarchyCycleError,
    SubSegmentMismatchError,
    UnknownCustomerError,
    ValidationError,
)
from keyaccount.portfolio._columns import check_ordinals
from keyaccount.portfolio._problems import raise_problems
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Container, Mapping, Sequence

__all__ = ["CUSTOMER_HEADINGS", "CustomerColumns", "customer_cells", "customers_block"]

CUSTOMER_HEADINGS = ("id", "name", "segment", "sub_segment", "tier", "parent", "province", "since")
"""Columns of a customer table shown in a notebook."""


def customer_cells(c: Customer) -> tuple[object, ...]:
    """One customer's cells under :data:`CUSTOMER_HEADINGS`."""
    sub = None if c.sub_segment is None else c.sub_segment.name
    return (c.id, c.name, c.segment, sub, c.tier, c.parent_id, c.province, str(c.first_period))


_CODE_COLUMNS = ("segment", "sub_segment", "tier", "parent", "first_period", "tier_since")


@attrs.frozen(eq=False)
class CustomerColumns:
    """Customers as parallel arrays, one element per customer.

    Attributes:
        id: Customer ids (``object`` array of ``str``).
        name: Display names (``object``).
        segment: Segment codes (``int8``, ``-1`` for none).
        sub_segment: Sub-segment codes (``int8``, ``-1`` for none).
        tier: Tier ranks (``int8``).
        parent: Position of the parent customer (``int32``, ``-1`` for none).
        province: Provinces (``object``, ``None`` where unknown).
        first_period: First-seen month ordinals (``int32``).
        tier_since: Month ordinal the tier took effect (``int32``, ``-1``: first_period).
    """

    id: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    segment: npt.NDArray[np.int8]
    sub_segment: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    parent: npt.NDArray[np.int32]
    province: npt.NDArray[np.object_]
    first_period: npt.NDArray[np.int32]
    tier_since: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def __repr__(self) -> str:
        return short_repr("CustomerColumns", f"{number(len(self))} customers")

    def _repr_html_(self) -> str:
        rows = (customer_cells(self.customer(i)) for i in range(min(len(self), HEAD_ROWS)))
        return html_table(
            CUSTOMER_HEADINGS, rows, total=len(self), caption=repr(self), unit="customers"
        )

    @classmethod
    def empty(cls) -> CustomerColumns:
        """No customers."""
        return cls.from_customers([], {})

    @classmethod
    def from_customers(
        cls, customers: Sequence[Customer], positions: dict[str, int]
    ) -> CustomerColumns:
        """Columns for ``customers``; ``positions`` maps every known id to its position."""
        return cls(
            id=np.array([c.id for c in customers], dtype=object),
            name=np.array([c.name for c in customers], dtype=object),
            segment=np.array([segment_code(c.segment) for c in customers], dtype=np.int8),
            sub_segment=np.array(
                [sub_segment_code(c.sub_segment) for c in customers], dtype=np.int8
            ),
            tier=np.array([c.tier.rank for c in customers], dtype=np.int8),
            parent=np.array(
                [NO_CODE if c.parent_id is None else positions[c.parent_id] for c in customers],
                dtype=np.int32,
            ),
            province=np.array([c.province for c in customers], dtype=object),
            first_period=np.array([c.first_period.ordinal for c in customers], dtype=np.int32),
            tier_since=np.array(
                [NO_CODE if c.tier_since is None else c.tier_since.ordinal for c in customers],
                dtype=np.int32,
            ),
        )

    @classmethod
    def concat(cls, parts: Sequence[CustomerColumns]) -> CustomerColumns:
        """One block with the customers of ``parts`` in order."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.empty()
        fields = attrs.fields(cls)
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields})

    def customer(self, i: int) -> Customer:
        """The customer at position ``i`` as a domain object."""
        seg = int(self.segment[i])
        sub = int(self.sub_segment[i])
        par = int(self.parent[i])
        since = int(self.tier_since[i])
        return Customer(
            str(self.id[i]),
            str(self.name[i]),
            Period.from_ordinal(int(self.first_period[i])),
            segment=None if seg == NO_CODE else SEGMENTS[seg],
            sub_segment=None if sub == NO_CODE else SUB_SEGMENTS[sub],
            tier=TIERS[int(self.tier[i])],
            parent_id=None if par == NO_CODE else str(self.id[par]),
            province=self.province[i],
            tier_since=None if since == NO_CODE else Period.from_ordinal(since),
        )

    def checked_copy(self, held: CustomerColumns, held_ids: Container[str]) -> CustomerColumns:
        """This block checked for appending after the customers ``held``, as a copy.

        ``self.parent`` holds positions after the block is appended (``held``
        first, then the block in order). The checks are array operations. The
        copy has the dtypes of the attributes and shares no array with
        ``self``: later changes to either do not reach the other.

        Args:
            held: The customers the block joins.
            held_ids: The ids of ``held``, as a mapping or set for fast lookups.

        Raises:
            ValidationError: columns of different lengths, non-integer codes,
                codes out of range, an id that is not non-empty stripped text,
                or a ``tier_since`` before ``first_period``.
            DuplicateCustomerError: an id twice in the block or already held.
            SubSegmentMismatchError: a sub-segment of another segment (or of none).
            UnknownCustomerError: a parent position out of range, or the
                customer's own position.
            InvalidPeriodError: a ``first_period`` or ``tier_since`` ordinal
                that is no valid month.
            HierarchyCycleError: parent links that form a cycle (the message
                lists its ids).
        """
        n_old = len(held)
        n_new = len(self)
        lengths = {f.name: len(getattr(self, f.name)) for f in attrs.fields(CustomerColumns)}
        if any(size != n_new for size in lengths.values()):
            raise ValidationError(f"customer columns differ in length: {lengths}")
        for name in _CODE_COLUMNS:
            dtype = getattr(self, name).dtype
            if not np.issubdtype(dtype, np.integer):
                raise ValidationError(f"customer column {name} must be integers, got dtype {dtype}")
        ids = self.id.tolist()
        bad_ids = [i for i in ids if not isinstance(i, str) or not i or i != i.strip()]
        if bad_ids:
            raise ValidationError(f"customer id must be non-empty text, got {bad_ids[0]!r}")
        seen: set[str] = set()
        for i in ids:
            if i in held_ids or i in seen:
                where = "already in the portfolio" if i in held_ids else "twice in the block"
                raise DuplicateCustomerError(f"duplicate customer id {i!r} ({where})")
            seen.add(i)
        _check_codes(self.segment, len(SEGMENTS), "segment", self.id, optional=True)
        _check_codes(self.sub_segment, len(SUB_SEGMENTS), "sub-segment", self.id, optional=True)
        _check_codes(self.tier, len(TIERS), "tier", self.id, optional=False)
        mismatch = sub_segment_mismatch(self.segment, self.sub_segment)
        if mismatch.any():
            i = int(np.flatnonzero(mismatch)[0])
            sub = SUB_SEGMENTS[int(self.sub_segment[i])]
            seg = int(self.segment[i])
            raise SubSegmentMismatchError(
                f"customer {self.id[i]!r}: sub-segment {sub.name} belongs to segment "
                f"{sub.segment.name}, not {SEGMENTS[seg].name if seg != NO_CODE else 'no segment'}"
            )
        total = n_old + n_new
        bad_parent = (self.parent < NO_CODE) | (self.parent >= total)
        bad_parent |= self.parent == np.arange(n_old, total)
        if bad_parent.any():
            i = int(np.flatnonzero(bad_parent)[0])
            raise UnknownCustomerError(
                f"customer {self.id[i]!r}: parent position {int(self.parent[i])} is not valid"
            )
        check_ordinals(self.first_period, self.id, "first_period")
        has_since = self.tier_since != NO_CODE
        check_ordinals(self.tier_since[has_since], self.id[has_since], "tier_since")
        bad_since = has_since & (self.tier_since < self.first_period)
        if bad_since.any():
            i = int(np.flatnonzero(bad_since)[0])
            raise ValidationError(
                f"customer {self.id[i]!r}: tier_since "
                f"{Period.from_ordinal(int(self.tier_since[i]))} is before first_period "
                f"{Period.from_ordinal(int(self.first_period[i]))}"
            )
        own_ids = np.array(ids, dtype=object)
        cycles = parent_cycles(np.concatenate([held.parent, self.parent.astype(np.int32)]))
        if cycles:
            all_ids = np.concatenate([held.id, own_ids])
            cycle = cycles[0]
            path = " -> ".join(str(all_ids[c]) for c in [*cycle, cycle[0]])
            raise HierarchyCycleError(f"parent cycle: {path}")
        return CustomerColumns(
            id=own_ids,
            name=np.array(self.name, dtype=object),
            segment=self.segment.astype(np.int8),
            sub_segment=self.sub_segment.astype(np.int8),
            tier=self.tier.astype(np.int8),
            parent=self.parent.astype(np.int32),
            province=np.array(self.province, dtype=object),
            first_period=self.first_period.astype(np.int32),
            tier_since=self.tier_since.astype(np.int32),
        )


def _check_codes(
    codes: npt.NDArray[Any], size: int, what: str, ids: npt.NDArray[Any], *, optional: bool
) -> None:
    """Raise ValidationError at the first code below 0 (or ``NO_CODE`` if optional) or >= size."""
    lower = NO_CODE if optional else 0
    bad = (codes < lower) | (codes >= size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"customer {ids[i]!r}: {what} code {int(codes[i])} is not valid")


def customers_block(
    batch: Sequence[object], held: Mapping[str, int]
) -> tuple[CustomerColumns, dict[str, int]]:
    """The customers of ``batch`` as a block to append after the customers ``held``.

    A parent may come after its children in the batch. Every customer is
    checked before anything is returned.

    Args:
        batch: The new customers.
        held: Position of every customer already held.

    Returns:
        The block (parents as positions after it is appended), and the
        position of each new customer.

    Raises:
        ValidationError: an item that is not a :class:`~keyaccount.Customer`.
        DuplicateCustomerError: an id that is already taken.
        UnknownCustomerError: a parent id that is neither held nor in the batch.
        HierarchyCycleError: parent links that form a cycle.
        PortfolioValidationError: several of these at once.
    """
    problems: list[Exception] = []
    new_positions: dict[str, int] = {}
    valid: list[Customer] = []
    start = len(held)
    for n, c in enumerate(batch):
        if not isinstance(c, Customer):
            problems.append(ValidationError(f"customer {n}: not a Customer: {c!r}"))
            continue
        if c.id in held:
            problems.append(
                DuplicateCustomerError(
                    f"customer {n}: duplicate customer id {c.id!r} (already in the portfolio)"
                )
            )
            continue
        if c.id in new_positions:
            problems.append(
                DuplicateCustomerError(
                    f"customer {n}: duplicate customer id {c.id!r} (twice in the batch)"
                )
            )
            continue
        new_positions[c.id] = start + len(new_positions)
        valid.append(c)
    for c in valid:
        parent = c.parent_id
        if parent is not None and parent not in held and parent not in new_positions:
            problems.append(
                UnknownCustomerError(f"customer {c.id!r}: unknown parent customer {parent!r}")
            )
    row_of = {c.id: n for n, c in enumerate(valid)}
    links = np.array(
        [NO_CODE if c.parent_id is None else row_of.get(c.parent_id, NO_CODE) for c in valid],
        dtype=np.int64,
    )
    for cycle in parent_cycles(links):
        path = " -> ".join(valid[c].id for c in [*cycle, cycle[0]])
        problems.append(HierarchyCycleError(f"parent cycle: {path}"))
    raise_problems(problems, "customers")
    block = CustomerColumns.from_customers(valid, {**held, **new_positions})
    return block, new_positions
