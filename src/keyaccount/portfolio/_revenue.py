"""A portfolio's revenue records: blocks appended within the limits, the sorted copy cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.domain import Period, ProductCatalog, RevenueRecord
from keyaccount.exceptions import UnknownCustomerError, UnknownProductError, ValidationError
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio._metrics import SortedRevenue
from keyaccount.portfolio._problems import raise_problems
from keyaccount.portfolio.limits import MonthBound, check_revenue_limits

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import numpy.typing as npt

__all__ = ["RevenueLedger", "records_block"]


def records_block(
    records: Iterable[object],
    positions: Mapping[str, int],
    catalog: ProductCatalog,
    first_period: npt.NDArray[np.int32],
) -> RevenueColumns | None:
    """The revenue records as a block of columns, every record checked first.

    Args:
        records: :class:`~keyaccount.RevenueRecord` objects.
        positions: Position of every customer a record may name.
        catalog: The products a record may name.
        first_period: First-seen month ordinal of each customer, by position.

    Returns:
        The block, or ``None`` when there are no records.

    Raises:
        UnknownCustomerError: a record for a customer not in ``positions``.
        UnknownProductError: a product the catalogue does not hold.
        ValidationError: an item that is not a record, or a record before its
            customer's ``first_period``.
        PortfolioValidationError: several of these at once.
    """
    problems: list[Exception] = []
    rows: list[tuple[int, int, int, int, int]] = []
    for n, r in enumerate(records):
        if not isinstance(r, RevenueRecord):
            problems.append(ValidationError(f"record {n}: not a RevenueRecord: {r!r}"))
            continue
        where = f"record {n} ({r.customer_id}, {r.product_id}, {r.period})"
        cust = positions.get(r.customer_id)
        if cust is None:
            problems.append(UnknownCustomerError(f"{where}: unknown customer {r.customer_id!r}"))
        if r.product_id not in catalog:
            problems.append(UnknownProductError(f"{where}: unknown product {r.product_id!r}"))
        if cust is None or r.product_id not in catalog:
            continue
        if r.period.ordinal < int(first_period[cust]):
            first = Period.from_ordinal(int(first_period[cust]))
            problems.append(
                ValidationError(
                    f"{where}: period {r.period} is before the customer's first_period {first}"
                )
            )
            continue
        rows.append(
            (cust, catalog.position(r.product_id), r.period.ordinal, r.revenue_fen, r.volume)
        )
    raise_problems(problems, "revenue records")
    if not rows:
        return None
    c, p, per, fen, vol = zip(*rows, strict=True)
    return RevenueColumns(
        np.array(c, np.int32),
        np.array(p, np.int32),
        np.array(per, np.int32),
        np.array(fen, np.int64),
        np.array(vol, np.int64),
    )


class RevenueLedger:
    """The revenue records of one portfolio, held as appended blocks.

    The blocks are joined into one on first read after a change, and the
    month-ordered copy the metrics use is built once and kept until the
    revenue changes (a backtest computes metrics month after month). The
    running per-customer record counts make each limit check cost the size
    of the new block (:func:`~keyaccount.portfolio.limits.check_revenue_limits`).
    """

    def __init__(self) -> None:
        self._parts: list[RevenueColumns] = []
        self._joined: RevenueColumns | None = RevenueColumns.empty()
        self._by_period: SortedRevenue | None = None
        self._bound = MonthBound()

    def columns(self) -> RevenueColumns:
        """All records as one block (joined once per change)."""
        if self._joined is None:
            self._joined = RevenueColumns.concat(self._parts)
            self._parts = [self._joined]
        return self._joined

    def by_period(self) -> SortedRevenue:
        """The records sorted by period, built once per change and reused by every metrics call."""
        if self._by_period is None:
            self._by_period = SortedRevenue.build(self.columns())
        return self._by_period

    def append(self, block: RevenueColumns, ids: Callable[[int], object]) -> None:
        """Hold ``block`` after checking it, with the records held, against the limits.

        Args:
            block: Checked records in the ledger's dtypes (nothing else refers to them).
            ids: Maps a customer position to the id shown in messages.

        Raises:
            InvalidMoneyError, ValidationError, PrecisionError: as
                :func:`~keyaccount.portfolio.limits.check_revenue_limits`.
                Nothing is added.
        """
        bound = check_revenue_limits(self.columns, block, ids, self._bound)
        self._parts.append(block)
        self._bound = bound
        self._joined = None
        self._by_period = None
