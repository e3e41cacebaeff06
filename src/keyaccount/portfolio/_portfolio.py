"""The :class:`Portfolio` aggregate: customers, products, revenue and project groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.domain import (
    NO_CODE,
    Customer,
    Period,
    Product,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    SegmentChange,
    TierChange,
    check_lang,
    default_catalog,
)
from keyaccount.exceptions import DuplicateCustomerError, UnknownCustomerError
from keyaccount.portfolio._changes import apply_changes, replace_customer
from keyaccount.portfolio._customers import (
    CUSTOMER_HEADINGS,
    CustomerColumns,
    customer_cells,
    customers_block,
)
from keyaccount.portfolio._groups import GroupRegistry
from keyaccount.portfolio._hierarchy import ancestor_positions, child_map, descendant_positions
from keyaccount.portfolio._portfolio_metrics import customer_metrics, group_rows
from keyaccount.portfolio._revenue import RevenueLedger, records_block
from keyaccount.portfolio._summary import SegmentTierSummary, summarise
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.portfolio._columns import RevenueColumns
    from keyaccount.portfolio._metrics import MetricsTable
    from keyaccount.portfolio.frames import Frame

__all__ = ["Portfolio"]


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
        self._known: dict[str, int] = {}
        self._unindexed: npt.NDArray[np.object_] | None = None  # ids of a load, not yet mapped
        self._customer_parts: list[CustomerColumns] = []
        self._customers_cache: CustomerColumns | None = CustomerColumns.empty()
        self._revenue = RevenueLedger()
        self._groups = GroupRegistry()
        self._children: dict[int, list[int]] | None = None
        self.add_customers(customers)
        self.add_revenue(revenue)
        for group in project_groups:
            self.add_project_group(group)

    # ------------------------------------------------------------------ customers

    def __len__(self) -> int:
        return len(self._known) if self._unindexed is None else len(self._unindexed)

    @property
    def _positions(self) -> dict[str, int]:
        """Position of every customer id (after a load, built on the first lookup by id)."""
        ids = self._unindexed
        if ids is not None:
            # built whole, then published: a reader on another thread sees either the
            # unindexed ids (and builds the same map) or the complete map, never a part
            known = dict(zip(ids.tolist(), range(len(ids)), strict=True))
            self._known = known
            self._unindexed = None
        return self._known

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._positions

    def __repr__(self) -> str:
        span = self.revenue_columns.period_span
        return short_repr(
            "Portfolio",
            f"{number(len(self))} customers",
            f"{number(len(self.revenue_columns))} revenue records"
            + ("" if span is None else f" {span[0]}..{span[1]}"),
            f"{len(self._catalog)} products, {len(self._groups)} project groups",
        )

    def _repr_html_(self) -> str:
        cols = self.customer_columns
        rows = (customer_cells(cols.customer(i)) for i in range(min(len(cols), HEAD_ROWS)))
        return html_table(
            CUSTOMER_HEADINGS, rows, total=len(cols), caption=repr(self), unit="customers"
        )

    @property
    def customer_columns(self) -> CustomerColumns:
        """All customers as columns (read-only by convention)."""
        return self._join_customers()

    def _join_customers(self) -> CustomerColumns:
        """Join the appended customer blocks into one (kept until the next append)."""
        if self._customers_cache is None:
            self._customers_cache = CustomerColumns.concat(self._customer_parts)
            self._customer_parts = [self._customers_cache]
        return self._customers_cache

    @property
    def customer_ids(self) -> list[str]:
        """Customer ids in portfolio order."""
        ids: list[str] = self.customer_columns.id.tolist()
        return ids

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
        block, new_positions = customers_block(batch, self._positions)
        self._append_customers(block, new_positions)

    def add_customer_columns(self, block: CustomerColumns) -> None:
        """Add customers given as columns (the bulk path used by generators and loaders).

        ``block.parent`` holds positions in the portfolio *after* the block is
        appended (existing customers first, then the block in order). The
        portfolio keeps a copy of the arrays: later changes to ``block`` do not
        reach the portfolio, nor the portfolio's updates ``block``.

        Raises:
            DuplicateCustomerError: as :meth:`add_customers`.
            UnknownCustomerError: as :meth:`add_customers`.
            HierarchyCycleError: as :meth:`add_customers` (the message lists the cycle's ids).
            ValidationError: as :meth:`add_customers`; also columns of different
                lengths, non-integer codes and codes out of range.
            SubSegmentMismatchError: a sub-segment of another segment (or of none).
            InvalidPeriodError: a ``first_period`` or ``tier_since`` ordinal that
                is no valid month. Nothing is added.
        """
        own = block.checked_copy(self.customer_columns, self._positions)
        start = len(self._positions)
        new_positions = dict(zip(own.id.tolist(), range(start, start + len(own)), strict=True))
        self._append_customers(own, new_positions)

    def _append_customers(self, block: CustomerColumns, new_positions: dict[str, int]) -> None:
        self._join_customers()  # the held customers stay one block, the new one follows
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
        replace_customer(self.customer_columns, i, customer, self._positions, self.revenue_columns)
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
        apply_changes(self.customer_columns, self._positions, list(changes))

    # ------------------------------------------------------------------ hierarchy

    def _child_map(self) -> dict[int, list[int]]:
        if self._children is None:
            self._children = child_map(self.customer_columns.parent)
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
        found = descendant_positions(self._child_map(), self.position(customer_id))
        return [str(ids[c]) for c in found]

    def ancestors(self, customer_id: str) -> list[str]:
        """Ids from the parent up to the top-level account."""
        cols = self.customer_columns
        return [
            str(cols.id[c]) for c in ancestor_positions(cols.parent, self.position(customer_id))
        ]

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
        return self._revenue.columns()

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
        first_period = self.customer_columns.first_period
        block = records_block(records, self._positions, self._catalog, first_period)
        if block is not None:
            self._revenue.append(block, self.customer_columns.id.__getitem__)

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
        cols = self.customer_columns
        own = block.checked_copy(cols.id, cols.first_period, len(self._catalog))
        if len(own):
            self._revenue.append(own, cols.id.__getitem__)

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
        return self._groups.groups()

    def project_group(self, group_id: str) -> ProjectGroup:
        """The project group with ``group_id``.

        Raises:
            UnknownProjectGroupError: (a ``KeyError``) no such group.
        """
        return self._groups.get(group_id)

    def project_group_of(self, customer_id: str) -> ProjectGroup | None:
        """The group that owns ``customer_id``, if any."""
        self.position(customer_id)
        return self._groups.owner(customer_id)

    def add_project_group(self, group: ProjectGroup) -> None:
        """Add a project group, or replace the one with the same id.

        Raises:
            UnknownCustomerError: the group owns a customer the portfolio does not hold.
            ValidationError: a customer already owned by another group.
        """
        self._groups.add(group, self._positions)

    def add_owned_project_groups(
        self, groups: Sequence[ProjectGroup], owner: npt.NDArray[np.integer]
    ) -> None:
        """Add project groups to a portfolio without any, their customers given by position.

        The bulk path of loaders: ``owner[i]`` is the index in ``groups`` of the
        group owning the customer at position ``i`` (``-1``: none), and the
        groups' own ``customer_ids`` are ignored. One owner per position means no
        customer is owned twice; each group's ``customer_ids`` is made on the
        first read of the project groups.

        Raises:
            ValidationError: ``owner`` not one element per customer, an index out
                of range, two groups with one id, or a portfolio that already
                holds project groups.
        """
        self._groups.add_owned(groups, owner, self.customer_columns.id)

    # ------------------------------------------------------------------ frames

    @classmethod
    def from_frames(
        cls,
        customers: object,
        revenue: object | None = None,
        *,
        catalog: ProductCatalog | None = None,
        customers_source: str = "customers frame",
        revenue_source: str = "revenue frame",
    ) -> Portfolio:
        """A portfolio from a customers frame and a revenue frame, column by column.

        Each frame is a pandas or polars ``DataFrame`` or a pyarrow ``Table``
        (told apart by its module; a library not installed is never imported)
        with the columns of the CSV formats (``docs/frames.md``): customers
        ``customer_id, name, first_period`` and optionally ``segment,
        sub_segment, tier, parent_id, province, tier_since``; revenue
        ``customer_id, period`` and ``revenue`` (yuan as ``Decimal``, text or
        an Arrow decimal) or ``revenue_fen`` (whole fen, integers), optionally
        ``product_id`` and ``volume``. Months are ``YYYY-MM`` text, monthly
        periods, or dates and naive datetimes on the first of the month (any
        other day is refused). Float money is refused. The rows pass the CSV
        readers' checks; every bad row is reported at once and nothing is built.

        Args:
            customers: The customers frame.
            revenue: The revenue frame (``None``: no revenue).
            catalog: The product catalogue (default: :func:`default_catalog`).
            customers_source: How the customers frame is named in messages.
            revenue_source: How the revenue frame is named in messages.

        Raises:
            CsvImportError: every bad row of the customers frame (else of the
                revenue frame), each a :class:`~keyaccount.exceptions.FrameRowError`
                naming its row (from 0), column, value and reason.
            InvalidMoneyError: a money column of floats, or an integer
                ``revenue`` column (name whole fen ``revenue_fen``).
            ValidationError: an object that is no frame, a missing, unknown or
                repeated column, or a column of a type that is not accepted.
            PrecisionError: a customer-month beyond the limits (``docs/limits.md``).

        Example:
            >>> import pandas as pd
            >>> customers = pd.DataFrame({"customer_id": ["C1"], "name": ["某中院"],
            ...                           "segment": ["司法"], "first_period": ["2022-01"]})
            >>> revenue = pd.DataFrame({"customer_id": ["C1"], "period": ["2022-03"],
            ...                         "product_id": ["court_express"], "revenue_fen": [1050]})
            >>> Portfolio.from_frames(customers, revenue).metrics("2022-12").row("C1")[
            ...     "t12m_revenue"]
            Decimal('10.50')
        """
        from keyaccount.portfolio._frames import check_frames  # here: loaded only with frames

        products = catalog if catalog is not None else default_catalog()
        found = check_frames(
            customers,
            revenue,
            products,
            customers_source=customers_source,
            revenue_source=revenue_source,
        )
        portfolio = cls(products=products)
        # The frames passed every check of add_customer_columns and add_revenue_columns
        # (tests/unit/test_frames_checks.py): the new portfolio holds their arrays as they
        # are; the revenue limits are checked as for every block.
        portfolio._append_customers(found.customers, found.positions)
        if found.revenue is not None and len(found.revenue):
            portfolio._revenue.append(found.revenue, found.customers.id.__getitem__)
        return portfolio

    @classmethod
    def from_arrow(
        cls,
        customers: pa.Table,
        revenue: pa.Table | None = None,
        *,
        catalog: ProductCatalog | None = None,
    ) -> Portfolio:
        """:meth:`from_frames` for two pyarrow ``Table`` objects (``pf.to_arrow()`` gives them)."""
        return cls.from_frames(
            customers,
            revenue,
            catalog=catalog,
            customers_source="customers table",
            revenue_source="revenue table",
        )

    @classmethod
    def from_checked_columns(
        cls,
        customers: CustomerColumns,
        revenue: RevenueColumns,
        *,
        products: ProductCatalog,
        unique_ids: bool = False,
    ) -> Portfolio:
        """A portfolio holding columns that their source has already checked (a store's load).

        The arrays are held as they are, in the dtypes of the attributes, not
        copied. Only the checks that keep later sums exact run here: customer
        ids are unique, and the revenue is within the per-record and monthly
        limits (``docs/limits.md``). The other checks of
        :meth:`add_customer_columns` and :meth:`add_revenue_columns` (codes,
        positions and months in range, parents without cycles, sub-segments of
        their segment, no record before its customer's first month) are the
        caller's: columns that break them give wrong results. Revenue given in
        month order is kept in that order, so the first metrics call sorts
        nothing. With ``unique_ids`` the caller has checked that the ids are
        distinct too: the map from id to position is then built on the first
        lookup by id, not here.

        Raises:
            DuplicateCustomerError: an id held twice.
            InvalidMoneyError, ValidationError, PrecisionError: revenue beyond a
                limit, as :meth:`add_revenue_columns`.
        """
        portfolio = cls(products=products)
        if unique_ids:
            portfolio._append_customers(customers, {})
            portfolio._unindexed = customers.id
        else:
            ids = customers.id.tolist()
            positions = dict(zip(ids, range(len(ids)), strict=True))
            if len(positions) != len(ids):
                twice = next(i for n, i in enumerate(ids) if positions[i] != n)
                raise DuplicateCustomerError(f"duplicate customer id {twice!r}")
            portfolio._append_customers(customers, positions)
        if len(revenue):
            portfolio._revenue.append(revenue, customers.id.__getitem__)
        return portfolio

    def to_frames(self, *, lang: str = "en") -> tuple[pd.DataFrame, pd.DataFrame]:
        """The customers and revenue as two pandas DataFrames (``from_frames`` reads them back).

        Customers: ``customer_id, name, segment, sub_segment, tier, parent_id,
        province, first_period, tier_since``; revenue: ``customer_id`` and
        ``product_id`` (categories), ``period``, ``revenue_fen``, ``revenue``
        (exact yuan), ``volume``. Types as in ``docs/frames.md``; ``lang``
        labels the segments, sub-segments and tiers.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        customers, revenue = self._frames(lang, "Portfolio.to_frames")
        return customers.to_pandas(), revenue.to_pandas()

    def to_arrow(self, *, lang: str = "en") -> tuple[pa.Table, pa.Table]:
        """The customers and revenue as two pyarrow Tables (see :meth:`to_frames`)."""
        customers, revenue = self._frames(lang, "Portfolio.to_arrow")
        return customers.to_arrow(), revenue.to_arrow()

    def to_polars(self, *, lang: str = "en") -> tuple[pl.DataFrame, pl.DataFrame]:
        """The customers and revenue as two polars DataFrames (see :meth:`to_frames`)."""
        customers, revenue = self._frames(lang, "Portfolio.to_polars")
        return customers.to_polars(), revenue.to_polars()

    def _frames(self, lang: str, where: str) -> tuple[Frame, Frame]:
        from keyaccount.portfolio._frames import portfolio_frames  # here: loaded only with frames

        check_lang(lang, where=where)
        return portfolio_frames(self.customer_columns, self.revenue_columns, self._catalog, lang)

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
        return customer_metrics(
            self.customer_columns,
            self._revenue.by_period(),
            tuple(self._catalog),
            Period.parse(as_of),
            rollup=rollup,
        )

    def summary(self, as_of: Period | str) -> SegmentTierSummary:
        """Customer counts and trailing-12 revenue by segment and tier as of ``as_of``."""
        return summarise(self.metrics(as_of))

    def group_rollups(self, as_of: Period | str) -> MetricsTable:
        """Roll-up metrics of the customers that have children (group accounts)."""
        return group_rows(self.metrics(as_of, rollup=True), self.parents())
