"""The :class:`Portfolio` aggregate: customers, products, revenue and project groups."""

from __future__ import annotations

from collections import defaultdict
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
    Product,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    SegmentChange,
    TierChange,
    default_catalog,
    parent_cycles,
    sub_segment_mismatch,
)
from keyaccount.exceptions import (
    DuplicateCustomerError,
    HierarchyCycleError,
    InvalidMoneyError,
    InvalidPeriodError,
    PortfolioValidationError,
    StaleChangeError,
    SubSegmentMismatchError,
    UnknownCustomerError,
    UnknownProductError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio._customers import CustomerColumns
from keyaccount.portfolio._metrics import MetricsTable, SortedRevenue, compute_metrics
from keyaccount.portfolio._summary import SegmentTierSummary, summarise
from keyaccount.portfolio.limits import CustomerTotals, check_revenue_limits

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["Portfolio"]

MAX_REPORTED = 1000
"""At most this many problems are listed in one :class:`PortfolioValidationError`."""


def _raise(problems: list[Exception], what: str) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    shown = problems[:MAX_REPORTED]
    more = f" (first {MAX_REPORTED} listed)" if len(problems) > MAX_REPORTED else ""
    raise PortfolioValidationError(f"{len(problems)} problems in {what}{more}", shown)


class Portfolio:
    """Customers, the product catalogue, monthly revenue and project groups.

    Revenue is kept in columnar arrays (integer fen, period and id codes),
    never one Python object per record; :class:`RevenueRecord` objects are
    made on demand. Every ``add_*`` method checks its whole batch first and
    changes nothing when any item is bad.

    Args:
        customers: Customers; a parent may come after its children.
        revenue: Revenue records of those customers.
        products: The catalogue (default: :func:`default_catalog`).
        project_groups: Project groups owning some of the customers.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> pf = Portfolio(
        ...     [Customer("HQ", "保险总公司", "2021-01", segment="保险"),
        ...      Customer("GD", "广东分公司", "2021-01", segment="保险", parent_id="HQ")],
        ...     [RevenueRecord("GD", "policy_mailing", "2022-06", "5000")],
        ... )
        >>> pf.metrics("2022-12", rollup=True).row("HQ")["t12m_revenue"]
        Decimal('5000.00')
    """

    def __init__(
        self,
        customers: Iterable[Customer] = (),
        revenue: Iterable[RevenueRecord] = (),
        *,
        products: ProductCatalog | None = None,
        project_groups: Iterable[ProjectGroup] = (),
    ) -> None:
        self._catalog = products if products is not None else default_catalog()
        self._positions: dict[str, int] = {}
        self._customer_parts: list[CustomerColumns] = []
        self._customers_cache: CustomerColumns | None = CustomerColumns.empty()
        self._revenue_parts: list[RevenueColumns] = []
        self._revenue_totals = CustomerTotals()
        self._revenue_cache: RevenueColumns | None = RevenueColumns.empty()
        self._sorted_revenue: SortedRevenue | None = None
        self._groups: dict[str, ProjectGroup] = {}
        self._group_of: dict[str, str] = {}
        self._children: dict[int, list[int]] | None = None
        self.add_customers(customers)
        self.add_revenue(revenue)
        for group in project_groups:
            self.add_project_group(group)

    # ------------------------------------------------------------------ customers

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._positions

    def __repr__(self) -> str:
        return (
            f"<Portfolio: {len(self)} customers, {len(self.revenue_columns)} revenue records, "
            f"{len(self._catalog)} products, {len(self._groups)} project groups>"
        )

    @property
    def customer_columns(self) -> CustomerColumns:
        """All customers as columns (read-only by convention)."""
        if self._customers_cache is None:
            self._customers_cache = CustomerColumns.concat(self._customer_parts)
            self._customer_parts = [self._customers_cache]
        return self._customers_cache

    @property
    def customer_ids(self) -> list[str]:
        """Customer ids in portfolio order."""
        return list(self._positions)

    def position(self, customer_id: str) -> int:
        """The position of ``customer_id`` in the columns.

        Raises:
            UnknownCustomerError: no such customer.
        """
        try:
            return self._positions[customer_id]
        except KeyError:
            raise UnknownCustomerError(f"unknown customer {customer_id!r}") from None

    def customer(self, customer_id: str) -> Customer:
        """The customer with ``customer_id``.

        Raises:
            UnknownCustomerError: no such customer.
        """
        return self.customer_columns.customer(self.position(customer_id))

    def customers(self) -> Iterator[Customer]:
        """All customers in portfolio order, made on demand."""
        cols = self.customer_columns
        for i in range(len(cols)):
            yield cols.customer(i)

    def add_customer(self, customer: Customer) -> None:
        """Add one customer (see :meth:`add_customers`)."""
        self.add_customers([customer])

    def add_customers(self, customers: Iterable[Customer]) -> None:
        """Add customers; a parent may come later in the same batch.

        Raises:
            DuplicateCustomerError: an id that is already taken.
            UnknownCustomerError: a parent id that is neither known nor in the batch.
            HierarchyCycleError: parent links that form a cycle.
            PortfolioValidationError: several of these at once. Nothing is added.
        """
        batch: list[object] = list(customers)
        if not batch:
            return
        problems: list[Exception] = []
        new_positions: dict[str, int] = {}
        valid: list[Customer] = []
        start = len(self._positions)
        for n, c in enumerate(batch):
            if not isinstance(c, Customer):
                problems.append(ValidationError(f"customer {n}: not a Customer: {c!r}"))
                continue
            if c.id in self._positions:
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
            if parent is not None and parent not in self._positions and parent not in new_positions:
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
        _raise(problems, "customers")
        block = CustomerColumns.from_customers(valid, {**self._positions, **new_positions})
        self._append_customers(block, new_positions)

    def add_customer_columns(self, block: CustomerColumns) -> None:
        """Add customers given as columns (the bulk path used by generators and loaders).

        ``block.parent`` holds positions in the portfolio *after* the block is
        appended (existing customers first, then the block in order). The
        portfolio keeps a copy of the arrays: later changes to ``block`` do not
        reach the portfolio, nor the portfolio's updates ``block``.

        Raises:
            DuplicateCustomerError, UnknownCustomerError, HierarchyCycleError,
            ValidationError: as :meth:`add_customers` (a cycle's message lists
                its ids); columns of different lengths, non-integer codes and
                codes out of range are ``ValidationError``.
            SubSegmentMismatchError: a sub-segment of another segment (or of none).
            InvalidPeriodError: a ``first_period`` or ``tier_since`` ordinal that
                is no valid month. Nothing is added.
        """
        n_old = len(self._positions)
        n_new = len(block)
        lengths = {f.name: len(getattr(block, f.name)) for f in attrs.fields(CustomerColumns)}
        if any(size != n_new for size in lengths.values()):
            raise ValidationError(f"customer columns differ in length: {lengths}")
        for name in ("segment", "sub_segment", "tier", "parent", "first_period", "tier_since"):
            dtype = getattr(block, name).dtype
            if not np.issubdtype(dtype, np.integer):
                raise ValidationError(f"customer column {name} must be integers, got dtype {dtype}")
        ids = block.id.tolist()
        bad_ids = [i for i in ids if not isinstance(i, str) or not i or i != i.strip()]
        if bad_ids:
            raise ValidationError(f"customer id must be non-empty text, got {bad_ids[0]!r}")
        seen: set[str] = set()
        for i in ids:
            if i in self._positions or i in seen:
                where = "already in the portfolio" if i in self._positions else "twice in the block"
                raise DuplicateCustomerError(f"duplicate customer id {i!r} ({where})")
            seen.add(i)
        new_positions = dict(zip(ids, range(n_old, n_old + n_new), strict=True))
        _check_codes(block.segment, len(SEGMENTS), "segment", block.id)
        _check_codes(block.sub_segment, len(SUB_SEGMENTS), "sub-segment", block.id)
        _check_codes(block.tier, len(TIERS), "tier", block.id)
        mismatch = sub_segment_mismatch(block.segment, block.sub_segment)
        if mismatch.any():
            i = int(np.flatnonzero(mismatch)[0])
            sub = SUB_SEGMENTS[int(block.sub_segment[i])]
            seg = int(block.segment[i])
            raise SubSegmentMismatchError(
                f"customer {block.id[i]!r}: sub-segment {sub.name} belongs to segment "
                f"{sub.segment.name}, not {SEGMENTS[seg].name if seg != NO_CODE else 'no segment'}"
            )
        total = n_old + n_new
        bad_parent = (block.parent < NO_CODE) | (block.parent >= total)
        bad_parent |= block.parent == np.arange(n_old, total)
        if bad_parent.any():
            i = int(np.flatnonzero(bad_parent)[0])
            raise UnknownCustomerError(
                f"customer {block.id[i]!r}: parent position {int(block.parent[i])} is not valid"
            )
        _check_ordinals(block.first_period, block.id, "first_period")
        has_since = block.tier_since != NO_CODE
        _check_ordinals(block.tier_since[has_since], block.id[has_since], "tier_since")
        bad_since = has_since & (block.tier_since < block.first_period)
        if bad_since.any():
            i = int(np.flatnonzero(bad_since)[0])
            raise ValidationError(
                f"customer {block.id[i]!r}: tier_since "
                f"{Period.from_ordinal(int(block.tier_since[i]))} is before first_period "
                f"{Period.from_ordinal(int(block.first_period[i]))}"
            )
        parent = np.concatenate([self.customer_columns.parent, block.parent.astype(np.int32)])
        all_ids = np.concatenate([self.customer_columns.id, np.array(ids, dtype=object)])
        cycles = parent_cycles(parent)
        if cycles:
            cycle = cycles[0]
            path = " -> ".join(str(all_ids[c]) for c in [*cycle, cycle[0]])
            raise HierarchyCycleError(f"parent cycle: {path}")
        # The portfolio keeps its own copy in its own dtypes: later updates never
        # write into the caller's arrays, nor the caller's into the portfolio's.
        own = CustomerColumns(
            id=np.array(ids, dtype=object),
            name=np.array(block.name, dtype=object),
            segment=block.segment.astype(np.int8),
            sub_segment=block.sub_segment.astype(np.int8),
            tier=block.tier.astype(np.int8),
            parent=block.parent.astype(np.int32),
            province=np.array(block.province, dtype=object),
            first_period=block.first_period.astype(np.int32),
            tier_since=block.tier_since.astype(np.int32),
        )
        self._append_customers(own, new_positions)

    def _append_customers(self, block: CustomerColumns, new_positions: dict[str, int]) -> None:
        self.customer_columns  # noqa: B018  (consolidate before appending)
        self._customer_parts.append(block)
        self._customers_cache = None
        self._positions.update(new_positions)
        self._children = None

    def update_customer(self, customer: Customer) -> None:
        """Replace the stored customer that has ``customer.id`` (tier, segment, parent, ...).

        Raises:
            UnknownCustomerError: no customer with that id, or an unknown parent.
            HierarchyCycleError: the new parent would make a cycle.
            ValidationError: ``first_period`` after one of its revenue records.
        """
        i = self.position(customer.id)
        cols = self.customer_columns
        parent_pos = NO_CODE
        if customer.parent_id is not None:
            parent_pos = self._positions.get(customer.parent_id, NO_CODE)
            if parent_pos == NO_CODE:
                raise UnknownCustomerError(
                    f"customer {customer.id!r}: unknown parent customer {customer.parent_id!r}"
                )
            walk = parent_pos
            while walk != NO_CODE:
                if walk == i:
                    raise HierarchyCycleError(
                        f"customer {customer.id!r}: parent {customer.parent_id!r} is its "
                        "own descendant"
                    )
                walk = int(cols.parent[walk])
        rev = self.revenue_columns
        mine = rev.customer == i
        if mine.any() and int(rev.period[mine].min()) < customer.first_period.ordinal:
            first = Period.from_ordinal(int(rev.period[mine].min()))
            raise ValidationError(
                f"customer {customer.id!r}: first_period {customer.first_period} is after "
                f"its revenue in {first}"
            )
        row = CustomerColumns.from_customers([customer], {customer.parent_id or "": parent_pos})
        for name in ("name", "segment", "sub_segment", "tier", "parent", "province"):
            getattr(cols, name)[i] = getattr(row, name)[0]
        cols.first_period[i] = row.first_period[0]
        cols.tier_since[i] = row.tier_since[0]
        self._children = None

    def apply_changes(self, changes: Iterable[TierChange | SegmentChange]) -> None:
        """Apply tier and segment changes in memory, all or nothing.

        A tier change sets the tier and ``tier_since`` to the change's period;
        a segment change sets the segment and clears a sub-segment that does
        not belong to the new segment. Changes apply in order, so a batch may
        move one customer twice.

        Raises:
            UnknownCustomerError: a change for a customer the portfolio does not hold.
            StaleChangeError: a change whose ``before`` is not the customer's
                current value (a ``ValidationError``).
            ValidationError: a change whose period is before the customer's
                ``first_period``.
            PortfolioValidationError: several of these at once. Nothing is applied.
        """
        batch = list(changes)
        cols = self.customer_columns
        tier = cols.tier.copy()
        tier_since = cols.tier_since.copy()
        segment = cols.segment.copy()
        sub_segment = cols.sub_segment.copy()
        problems: list[Exception] = []
        for n, change in enumerate(batch):
            where = f"change {n} ({change.customer_id}, {change.period})"
            i = self._positions.get(change.customer_id)
            if i is None:
                problems.append(
                    UnknownCustomerError(f"{where}: unknown customer {change.customer_id!r}")
                )
                continue
            if change.period.ordinal < int(cols.first_period[i]):
                problems.append(
                    ValidationError(f"{where}: period is before the customer's first_period")
                )
                continue
            if isinstance(change, TierChange):
                current_tier = TIERS[int(tier[i])]
                if current_tier is not change.before:
                    problems.append(
                        StaleChangeError(
                            change.customer_id, "tier", change.before.name, current_tier.name
                        )
                    )
                    continue
                tier[i] = change.after.rank
                tier_since[i] = change.period.ordinal
            else:
                code = int(segment[i])
                current = None if code == NO_CODE else SEGMENTS[code]
                if current is not change.before:
                    problems.append(
                        StaleChangeError(
                            change.customer_id,
                            "segment",
                            change.before.name if change.before else None,
                            current.name if current else None,
                        )
                    )
                    continue
                segment[i] = NO_CODE if change.after is None else SEGMENTS.index(change.after)
                sub = int(sub_segment[i])
                if sub != NO_CODE and SUB_SEGMENTS[sub].segment is not change.after:
                    sub_segment[i] = NO_CODE
        _raise(problems, "changes")
        cols.tier[:] = tier
        cols.tier_since[:] = tier_since
        cols.segment[:] = segment
        cols.sub_segment[:] = sub_segment

    # ------------------------------------------------------------------ hierarchy

    def _child_map(self) -> dict[int, list[int]]:
        if self._children is None:
            children: dict[int, list[int]] = defaultdict(list)
            for child, parent in enumerate(self.customer_columns.parent.tolist()):
                if parent != NO_CODE:
                    children[parent].append(child)
            self._children = dict(children)
        return self._children

    def parent(self, customer_id: str) -> str | None:
        """The parent's id, or ``None`` for a top-level account."""
        par = int(self.customer_columns.parent[self.position(customer_id)])
        return None if par == NO_CODE else str(self.customer_columns.id[par])

    def children(self, customer_id: str) -> list[str]:
        """Ids of the direct children, in portfolio order."""
        ids = self.customer_columns.id
        return [str(ids[c]) for c in self._child_map().get(self.position(customer_id), [])]

    def descendants(self, customer_id: str) -> list[str]:
        """Ids of all descendants (children, their children, ...), breadth first."""
        ids = self.customer_columns.id
        children = self._child_map()
        out: list[str] = []
        frontier = [self.position(customer_id)]
        while frontier:
            nxt = [c for p in frontier for c in children.get(p, [])]
            out.extend(str(ids[c]) for c in nxt)
            frontier = nxt
        return out

    def ancestors(self, customer_id: str) -> list[str]:
        """Ids from the parent up to the top-level account."""
        cols = self.customer_columns
        out: list[str] = []
        walk = int(cols.parent[self.position(customer_id)])
        while walk != NO_CODE:
            out.append(str(cols.id[walk]))
            walk = int(cols.parent[walk])
        return out

    def parents(self) -> list[str]:
        """Ids of the customers that have at least one child, in portfolio order."""
        ids = self.customer_columns.id
        return [str(ids[p]) for p in sorted(self._child_map())]

    # ------------------------------------------------------------------ products

    @property
    def products(self) -> ProductCatalog:
        """The product catalogue."""
        return self._catalog

    def add_product(self, product: Product) -> None:
        """Add a product of your own to the catalogue.

        Raises:
            ValidationError: the id is taken.
        """
        self._catalog = self._catalog.with_products([product])

    # ------------------------------------------------------------------ revenue

    @property
    def revenue_columns(self) -> RevenueColumns:
        """All revenue records as columns (read-only by convention)."""
        if self._revenue_cache is None:
            self._revenue_cache = RevenueColumns.concat(self._revenue_parts)
            self._revenue_parts = [self._revenue_cache]
        return self._revenue_cache

    def add_revenue(self, records: Iterable[RevenueRecord]) -> None:
        """Add revenue records.

        Raises:
            UnknownCustomerError: a record for a customer the portfolio does not hold.
            UnknownProductError: a product the catalogue does not hold.
            ValidationError: a record before its customer's ``first_period``.
            PortfolioValidationError: several of these at once. Nothing is added.
            PrecisionError: a customer's absolute revenue or volume in one month
                (with the records already held) beyond the per customer-month limit.
        """
        cols = self.customer_columns
        problems: list[Exception] = []
        rows: list[tuple[int, int, int, int, int]] = []
        items: Iterable[object] = records
        for n, r in enumerate(items):
            if not isinstance(r, RevenueRecord):
                problems.append(ValidationError(f"record {n}: not a RevenueRecord: {r!r}"))
                continue
            where = f"record {n} ({r.customer_id}, {r.product_id}, {r.period})"
            cust = self._positions.get(r.customer_id)
            if cust is None:
                problems.append(
                    UnknownCustomerError(f"{where}: unknown customer {r.customer_id!r}")
                )
            if r.product_id not in self._catalog:
                problems.append(UnknownProductError(f"{where}: unknown product {r.product_id!r}"))
            if cust is None or r.product_id not in self._catalog:
                continue
            if r.period.ordinal < int(cols.first_period[cust]):
                first = Period.from_ordinal(int(cols.first_period[cust]))
                problems.append(
                    ValidationError(
                        f"{where}: period {r.period} is before the customer's first_period {first}"
                    )
                )
                continue
            rows.append(
                (
                    cust,
                    self._catalog.position(r.product_id),
                    r.period.ordinal,
                    r.revenue_fen,
                    r.volume,
                )
            )
        _raise(problems, "revenue records")
        if not rows:
            return
        c, p, per, fen, vol = zip(*rows, strict=True)
        self._append_revenue(
            RevenueColumns(
                np.array(c, np.int32),
                np.array(p, np.int32),
                np.array(per, np.int32),
                np.array(fen, np.int64),
                np.array(vol, np.int64),
            )
        )

    def add_revenue_columns(self, block: RevenueColumns) -> None:
        """Add revenue given as columns (customer and product positions, period ordinals).

        The bulk path for generators and loaders: validated with array
        operations, never one Python object per record.

        The portfolio keeps a copy of the arrays: changing ``block`` afterwards
        does not change the portfolio.

        Raises:
            InvalidMoneyError: ``fen`` is not an integer array, or holds amounts
                beyond the per-record limit (``docs/limits.md``).
            PrecisionError: a customer's absolute revenue or volume in one month
                (with the records already held) beyond the per customer-month limit.
            InvalidPeriodError: a period ordinal that is no valid month.
            UnknownCustomerError, UnknownProductError, ValidationError: as
                :meth:`add_revenue`; the message names the first offending record.
        """
        if not np.issubdtype(block.fen.dtype, np.integer):
            raise InvalidMoneyError(f"fen must be an integer array, got dtype {block.fen.dtype}")
        if (
            np.issubdtype(block.fen.dtype, np.unsignedinteger)
            and len(block.fen)
            and int(block.fen.max()) > np.iinfo(np.int64).max
        ):
            i = int(np.argmax(block.fen))
            raise InvalidMoneyError(f"record {i}: fen {int(block.fen[i])} exceeds 64-bit fen")
        for name in ("customer", "product", "period", "volume"):
            dtype = getattr(block, name).dtype
            if not np.issubdtype(dtype, np.integer):
                raise ValidationError(f"revenue column {name} must be integers, got dtype {dtype}")
        n = len(block)
        lengths = {f.name: len(getattr(block, f.name)) for f in attrs.fields(RevenueColumns)}
        if any(size != n for size in lengths.values()):
            raise ValidationError(f"revenue columns differ in length: {lengths}")
        if n == 0:
            return
        cols = self.customer_columns
        _check_ordinals(block.period, None, "period")
        bad = (block.customer < 0) | (block.customer >= len(cols))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UnknownCustomerError(
                f"record {i}: unknown customer position {int(block.customer[i])}"
            )
        bad = (block.product < 0) | (block.product >= len(self._catalog))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UnknownProductError(
                f"record {i}: unknown product position {int(block.product[i])}"
            )
        bad = block.volume < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"record {i}: negative volume {int(block.volume[i])}")
        bad = block.period < cols.first_period[block.customer]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cust = int(block.customer[i])
            raise ValidationError(
                f"record {i}: period {Period.from_ordinal(int(block.period[i]))} is before "
                f"customer {cols.id[cust]!r}'s first_period "
                f"{Period.from_ordinal(int(cols.first_period[cust]))}"
            )
        self._append_revenue(
            RevenueColumns(
                block.customer.astype(np.int32),
                block.product.astype(np.int32),
                block.period.astype(np.int32),
                block.fen.astype(np.int64),
                block.volume.astype(np.int64),
            )
        )

    def _append_revenue(self, block: RevenueColumns) -> None:
        check_revenue_limits(
            lambda: self.revenue_columns,
            block,
            self.customer_columns.id.__getitem__,
            self._revenue_totals,
        )
        self._revenue_parts.append(block)
        self._revenue_cache = None
        self._sorted_revenue = None

    def _by_period(self) -> SortedRevenue:
        """The revenue sorted by period, built once per state and reused by every metrics call."""
        if self._sorted_revenue is None:
            self._sorted_revenue = SortedRevenue.build(self.revenue_columns)
        return self._sorted_revenue

    def revenue_records(
        self,
        customer_id: str | None = None,
        *,
        start: Period | str | None = None,
        end: Period | str | None = None,
    ) -> Iterator[RevenueRecord]:
        """Revenue records as objects, optionally of one customer and within months.

        Made on demand: prefer :attr:`revenue_columns` for bulk work.
        """
        rev = self.revenue_columns
        mask = np.ones(len(rev), dtype=bool)
        if customer_id is not None:
            mask &= rev.customer == self.position(customer_id)
        if start is not None:
            mask &= rev.period >= Period.parse(start).ordinal
        if end is not None:
            mask &= rev.period <= Period.parse(end).ordinal
        ids = self.customer_columns.id
        products = self._catalog.products
        sel = rev.take(mask)
        for c, p, per, fen, vol in zip(
            sel.customer.tolist(),
            sel.product.tolist(),
            sel.period.tolist(),
            sel.fen.tolist(),
            sel.volume.tolist(),
            strict=True,
        ):
            yield RevenueRecord.from_fen(
                str(ids[c]), products[p].id, Period.from_ordinal(per), fen, vol
            )

    @property
    def period_span(self) -> tuple[Period, Period] | None:
        """First and last month with revenue, or ``None`` when there is none."""
        return self.revenue_columns.period_span

    # ------------------------------------------------------------------ project groups

    @property
    def project_groups(self) -> tuple[ProjectGroup, ...]:
        """The project groups in the order they were added."""
        return tuple(self._groups.values())

    def project_group(self, group_id: str) -> ProjectGroup:
        """The project group with ``group_id``.

        Raises:
            UnknownProjectGroupError: (a ``KeyError``) no such group.
        """
        try:
            return self._groups[group_id]
        except KeyError:
            raise UnknownProjectGroupError(f"unknown project group {group_id!r}") from None

    def project_group_of(self, customer_id: str) -> ProjectGroup | None:
        """The group that owns ``customer_id``, if any."""
        self.position(customer_id)
        gid = self._group_of.get(customer_id)
        return None if gid is None else self._groups[gid]

    def add_project_group(self, group: ProjectGroup) -> None:
        """Add a project group, or replace the one with the same id.

        Raises:
            UnknownCustomerError: the group owns a customer the portfolio does not hold.
            ValidationError: a customer already owned by another group.
        """
        problems: list[Exception] = []
        for cid in sorted(group.customer_ids):
            if cid not in self._positions:
                problems.append(
                    UnknownCustomerError(f"project group {group.id!r}: unknown customer {cid!r}")
                )
            elif self._group_of.get(cid, group.id) != group.id:
                problems.append(
                    ValidationError(
                        f"project group {group.id!r}: customer {cid!r} already belongs to "
                        f"{self._group_of[cid]!r}"
                    )
                )
        _raise(problems, f"project group {group.id!r}")
        old = self._groups.get(group.id)
        if old is not None:
            for cid in old.customer_ids:
                del self._group_of[cid]
        self._groups[group.id] = group
        for cid in group.customer_ids:
            self._group_of[cid] = group.id

    # ------------------------------------------------------------------ metrics

    def metrics(self, as_of: Period | str, *, rollup: bool = False) -> MetricsTable:
        """Metrics of every customer first seen by ``as_of``, computed in bulk.

        Args:
            as_of: The as-of month ``P`` (inclusive).
            rollup: When true, each customer's revenue metrics include all its
                descendants (group roll-up), recomputed over the combined records.

        Returns:
            A :class:`MetricsTable`; see its module for the metric definitions.

        Raises:
            PrecisionError: revenue totals too large to sum exactly.
        """
        cols = self.customer_columns
        return compute_metrics(
            as_of=Period.parse(as_of),
            customer_ids=cols.id,
            first_period=cols.first_period,
            tier_since=cols.tier_since,
            tier=cols.tier.copy(),
            segment=cols.segment.copy(),
            parent=cols.parent,
            records=self._by_period(),
            product_ids=tuple(self._catalog),
            rollup=rollup,
        )

    def summary(self, as_of: Period | str) -> SegmentTierSummary:
        """Customer counts and trailing-12 revenue by segment and tier as of ``as_of``."""
        return summarise(self.metrics(as_of))

    def group_rollups(self, as_of: Period | str) -> MetricsTable:
        """Roll-up metrics of the customers that have children (group accounts)."""
        table = self.metrics(as_of, rollup=True)
        keep = np.isin(table.customer_ids, np.array(self.parents(), dtype=object))
        return _take_rows(table, keep)


def _take_rows(table: MetricsTable, keep: npt.NDArray[np.bool_]) -> MetricsTable:
    return MetricsTable(
        as_of=table.as_of,
        customer_ids=table.customer_ids[keep],
        columns={k: v[keep] for k, v in table.columns.items()},
        absent={k: v[keep] for k, v in table.absent.items()},
        tier=table.tier[keep],
        segment=table.segment[keep],
        product_ids=table.product_ids,
        product_revenue=table.product_revenue[keep],
        rollup=table.rollup,
    )


def _check_codes(codes: npt.NDArray[Any], size: int, what: str, ids: npt.NDArray[Any]) -> None:
    lower = 0 if what == "tier" else NO_CODE
    bad = (codes < lower) | (codes >= size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"customer {ids[i]!r}: {what} code {int(codes[i])} is not valid")


def _check_ordinals(
    ordinals: npt.NDArray[np.integer[Any]], ids: npt.NDArray[np.object_] | None, what: str
) -> None:
    """Raise InvalidPeriodError for the smallest or largest ordinal if it is no valid month."""
    if ordinals.size == 0:
        return
    for i in (int(np.argmin(ordinals)), int(np.argmax(ordinals))):
        try:
            Period.from_ordinal(int(ordinals[i]))
        except InvalidPeriodError as exc:
            where = f"record {i}" if ids is None else f"customer {ids[i]!r}"
            raise InvalidPeriodError(
                f"{where}: {what} ordinal {int(ordinals[i])} is not a valid month: {exc}"
            ) from None
