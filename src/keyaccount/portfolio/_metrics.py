"""Portfolio metrics as of a month, computed in bulk over columnar arrays.

Definitions (``P`` is the as-of month, inclusive; the monthly revenue of a
customer is the sum of its records in that month over all products):

- ``t12m_revenue``: revenue in months ``P-11 .. P`` (money, fen).
- ``prev12m_revenue``: revenue in months ``P-23 .. P-12`` (money, fen).
- ``yoy_growth``: ``float64(t12m) / float64(prev12m) - 1``; absent when
  ``prev12m <= 0``.
- ``t12m_volume``: parcels in ``P-11 .. P``.
- ``active_months``: months in ``P-11 .. P`` whose monthly revenue is > 0.
- ``months_since_last``: ``P`` minus the last month ``<= P`` whose monthly
  revenue is > 0; absent when there is none.
- ``product_count``: distinct products whose ``P-11 .. P`` revenue is > 0.
- ``tenure_months``: ``P - first_period``.
- ``months_in_tier``: ``P - tier_since`` (``tier_since`` defaults to ``first_period``).

Customers whose ``first_period`` is after ``P`` are left out. Roll-ups
recompute every revenue metric over the combined records of a customer and
all its descendants.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

import keyaccount.portfolio.frames as fr
from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    Period,
    Segment,
    Tier,
    check_lang,
    fen_to_yuan,
    metric_label,
)
from keyaccount.exceptions import UnknownCustomerError, UnknownProductError
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio.limits import check_rollup
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from decimal import Decimal

    import pandas as pd
    import polars as pl
    import pyarrow as pa
    from scipy import sparse

__all__ = [
    "METRICS",
    "MetricKind",
    "MetricSpec",
    "MetricsTable",
    "SortedRevenue",
    "ancestors_expansion",
    "compute_metrics",
    "subtree_matrix",
]

WINDOW = 24
"""Months of monthly revenue summed per customer at a time: the 24 months ending with ``P``."""


class MetricKind(enum.Enum):
    """How a metric's values are typed: money (fen), a count, or a ratio."""

    MONEY = "money"
    COUNT = "count"
    RATIO = "ratio"


@attrs.frozen
class MetricSpec:
    """A metric's name, kind and one-line definition."""

    name: str
    kind: MetricKind
    description: str

    def label(self, lang: str = "en") -> str:
        """The name for people reading ``lang``: the name itself, or its Chinese name.

        The Chinese names are the glossary :data:`keyaccount.domain.METRIC_LABELS_ZH`.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.

        Example:
            >>> METRICS["t12m_revenue"].label("zh")
            '近12个月收入'
        """
        return metric_label(self.name, lang)


METRICS: Mapping[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec("t12m_revenue", MetricKind.MONEY, "revenue in the 12 months ending with P"),
        MetricSpec("prev12m_revenue", MetricKind.MONEY, "revenue in months P-23..P-12"),
        MetricSpec("yoy_growth", MetricKind.RATIO, "t12m / prev12m - 1; absent if prev12m <= 0"),
        MetricSpec("t12m_volume", MetricKind.COUNT, "parcels in the 12 months ending with P"),
        MetricSpec("active_months", MetricKind.COUNT, "months in P-11..P with revenue > 0"),
        MetricSpec(
            "months_since_last", MetricKind.COUNT, "P minus the last month with revenue > 0"
        ),
        MetricSpec("product_count", MetricKind.COUNT, "products with P-11..P revenue > 0"),
        MetricSpec("tenure_months", MetricKind.COUNT, "P minus first_period"),
        MetricSpec("months_in_tier", MetricKind.COUNT, "P minus tier_since"),
    )
}
"""The built-in metrics, in column order."""

Array = npt.NDArray[Any]


@attrs.frozen(eq=False)
class MetricsTable:
    """Metrics of many customers as of one month, as columns.

    Attributes:
        as_of: The as-of month ``P``.
        customer_ids: Customer ids in a fixed order (portfolio order).
        columns: One array per metric in :data:`METRICS` (``int64`` fen for
            money, ``int64`` for counts, ``float64`` for ratios).
        absent: One boolean mask per metric, ``True`` where the value is absent.
        tier: Tier rank of each customer (``int8``).
        segment: Segment code of each customer (``int8``, ``-1`` for none).
        product_ids: Catalogue order of the columns of :attr:`product_revenue`.
        product_revenue: Trailing-12 revenue in fen per customer and product,
            shape ``(len(customer_ids), len(product_ids))``.
        rollup: Whether figures include each customer's descendants.
    """

    as_of: Period
    customer_ids: npt.NDArray[np.object_]
    columns: Mapping[str, Array]
    absent: Mapping[str, npt.NDArray[np.bool_]]
    tier: npt.NDArray[np.int8]
    segment: npt.NDArray[np.int8]
    product_ids: tuple[str, ...]
    product_revenue: npt.NDArray[np.int64]
    rollup: bool = False
    _positions: dict[str, int] | None = attrs.field(init=False, default=None, repr=False)

    def _position_map(self) -> dict[str, int]:
        """Row of each customer id, built on first use (a million ids take a second)."""
        positions = self._positions
        if positions is None:
            positions = {cid: i for i, cid in enumerate(self.customer_ids.tolist())}
            object.__setattr__(self, "_positions", positions)
        return positions

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._position_map()

    def __repr__(self) -> str:
        size = f"{number(len(self))} customers, {len(self.columns)} metrics"
        rollup = True if self.rollup else None
        return short_repr("MetricsTable", size, as_of=self.as_of, rollup=rollup)

    def _repr_html_(self) -> str:
        rows = (
            (
                self.customer_ids[i],
                TIERS[int(self.tier[i])],
                self._segment_at(i),
                *(self.value(name, i) for name in self.columns),
            )
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("customer_id", "tier", "segment", *self.columns)
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="customers")

    def _segment_at(self, position: int) -> Segment | None:
        """The segment of the customer in row ``position`` (``None`` when unassigned)."""
        code = int(self.segment[position])
        return None if code == NO_CODE else SEGMENTS[code]

    @property
    def names(self) -> tuple[str, ...]:
        """Metric names in column order."""
        return tuple(self.columns)

    def position(self, customer_id: str) -> int:
        """The row of ``customer_id``.

        Raises:
            UnknownCustomerError: the customer is not in the table (unknown, or
                first seen after :attr:`as_of`).
        """
        try:
            return self._position_map()[customer_id]
        except KeyError:
            raise UnknownCustomerError(
                f"customer {customer_id!r} is not in the metrics as of {self.as_of}"
            ) from None

    def value(self, name: str, position: int) -> Decimal | int | float | None:
        """One value: ``Decimal`` yuan for money, ``int`` for counts, ``float`` for ratios."""
        if self.absent[name][position]:
            return None
        raw = self.columns[name][position]
        kind = METRICS[name].kind if name in METRICS else MetricKind.RATIO
        if kind is MetricKind.MONEY:
            return fen_to_yuan(int(raw))
        if kind is MetricKind.COUNT:
            return int(raw)
        return float(raw)

    def row(self, customer_id: str) -> dict[str, Decimal | int | float | None]:
        """All metrics of one customer; ``None`` marks an absent value.

        Example:
            >>> from keyaccount import Customer, Portfolio, RevenueRecord
            >>> pf = Portfolio([Customer("C1", "Court", "2022-01")],
            ...                [RevenueRecord("C1", "court_express", "2022-03", "10.50")])
            >>> pf.metrics("2022-12").row("C1")["t12m_revenue"]
            Decimal('10.50')
        """
        i = self.position(customer_id)
        return {name: self.value(name, i) for name in self.columns}

    def tier_of(self, customer_id: str) -> Tier:
        """The tier of ``customer_id``."""
        return TIERS[int(self.tier[self.position(customer_id)])]

    def segment_of(self, customer_id: str) -> Segment | None:
        """The segment of ``customer_id`` (``None`` when unassigned)."""
        code = int(self.segment[self.position(customer_id)])
        return None if code == NO_CODE else SEGMENTS[code]

    def share(self, product_id: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Share of trailing-12 revenue from ``product_id``, with its absent mask.

        ``share = float64(product fen) / float64(t12m fen)``; absent where
        ``t12m_revenue <= 0``.
        """
        try:
            j = self.product_ids.index(product_id)
        except ValueError:
            raise UnknownProductError(f"unknown product {product_id!r}") from None
        total = self.columns["t12m_revenue"]
        absent = total <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = self.product_revenue[:, j].astype(np.float64) / total.astype(np.float64)
        share[absent] = np.nan
        return share, absent

    def top(self, n: int = 10, by: str = "t12m_revenue") -> list[str]:
        """Ids of the ``n`` customers with the largest ``by`` (absent values last; ties by id)."""
        fr.check_choice(by, self.names, what="metric", where="MetricsTable.top")
        values = self.columns[by].astype(np.float64)
        values = np.where(self.absent[by], -np.inf, values)
        order = np.lexsort((self.customer_ids.astype(str), -values))
        return [str(self.customer_ids[i]) for i in order[:n]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.customer_ids.tolist())

    def _frame(self, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        columns = [
            fr.text("customer_id", self.customer_ids),
            fr.tier("tier", self.tier, lang),
            fr.segment("segment", self.segment, lang),
        ]
        for name, values in self.columns.items():
            kind = METRICS[name].kind if name in METRICS else MetricKind.RATIO
            make = {MetricKind.MONEY: fr.money, MetricKind.COUNT: fr.integer}.get(kind, fr.ratio)
            columns.append(make(name, values, self.absent[name]))
        meta = {"as_of": str(self.as_of), "rollup": str(self.rollup).lower()}
        return fr.Frame(tuple(columns), meta)

    def to_pandas(self, *, lang: str = "en") -> pd.DataFrame:
        """A DataFrame indexed by customer id (needs the ``pandas`` extra).

        Columns: ``tier`` and ``segment`` (ordered categories labelled in
        ``lang``; unassigned segments missing), then every metric: money as
        ``<name>_fen`` and exact yuan ``<name>``, counts as ``Int64``, ratios as
        ``Float64``; absent values are ``<NA>`` (``docs/frames.md``).
        ``attrs["as_of"]`` is the as-of month.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        frame = self._frame(lang, "MetricsTable.to_pandas").to_pandas()
        return frame.set_index("customer_id")

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """The table as a pyarrow ``Table``: ``customer_id`` first, then as :meth:`to_pandas`."""
        return self._frame(lang, "MetricsTable.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """The table as a polars ``DataFrame`` (made from :meth:`to_arrow`)."""
        return self._frame(lang, "MetricsTable.to_polars").to_polars()


def _sum_by(
    key: npt.NDArray[np.int64], weights: npt.NDArray[np.int64], size: int
) -> npt.NDArray[np.float64]:
    """Exact integer sums per key, accumulated in float64 (totals checked < 2**53)."""
    return np.bincount(key, weights=weights.astype(np.float64), minlength=size).astype(
        np.float64, copy=False
    )


def ancestors_expansion(records: RevenueColumns, parent: npt.NDArray[np.int32]) -> RevenueColumns:
    """Each record repeated once for its customer and once for every ancestor."""
    parts = [records]
    current = records.customer
    keep = np.arange(len(records))
    for _ in range(parent.shape[0]):
        up = parent[current]
        has = up != NO_CODE
        if not has.any():
            break
        keep = keep[has]
        current = up[has]
        sub = records.take(keep)
        parts.append(attrs.evolve(sub, customer=current.astype(np.int32)))
    return RevenueColumns.concat(parts)


def subtree_matrix(parent: npt.NDArray[np.int32]) -> sparse.csr_matrix:
    """The ``n x n`` 0/1 matrix with ``A[i, j] = 1`` when ``j`` is ``i`` or a descendant of ``i``.

    ``A @ X`` adds each customer's rows of ``X`` into itself and all its
    ancestors: the roll-up of any per-customer sum.
    """
    n = int(parent.shape[0])
    rows = [np.arange(n, dtype=np.int64)]
    cols = [np.arange(n, dtype=np.int64)]
    node = np.arange(n, dtype=np.int64)
    up = parent.astype(np.int64)
    for _ in range(n):
        has = up != NO_CODE
        if not has.any():
            break
        node, up = node[has], up[has]
        rows.append(up)
        cols.append(node)
        up = parent[up].astype(np.int64)
    r = np.concatenate(rows)
    from scipy import sparse  # here: importing the portfolio loads no scipy

    return sparse.csr_matrix(
        (np.ones(r.shape[0], dtype=np.float64), (r, np.concatenate(cols))), shape=(n, n)
    )


@attrs.frozen(eq=False)
class SortedRevenue:
    """Revenue records sorted by period, so any run of months is a slice (no copies).

    Built once per state of a portfolio's revenue and reused by every
    :func:`compute_metrics` call (a backtest computes metrics month after
    month). The input limits (``docs/limits.md``: at most
    :data:`~keyaccount.domain.MAX_MONTH_FEN` absolute fen per customer
    and month) keep every per-customer sum of 24 months below 2**53, so those
    sums are exact in float64; roll-ups are checked where they are made.
    """

    records: RevenueColumns

    @classmethod
    def build(cls, records: RevenueColumns) -> SortedRevenue:
        """Sort ``records`` by period (stable)."""
        if len(records) == 0:
            return cls(records)
        period = records.period
        if bool((period[1:] >= period[:-1]).all()):
            return cls(records)  # already in month order (monthly appends, ORDER BY period)
        low = int(period.min())
        span = int(period.max()) - low
        if span < 2**16:
            # small-range integers sort by radix in linear time
            order = np.argsort((period - low).astype(np.uint16), kind="stable")
        else:
            order = np.argsort(period, kind="stable")
        return cls(records.take(order))

    def months(self, first: int, last: int) -> RevenueColumns:
        """The records of months ``first..last`` (ordinals, inclusive), as views."""
        period = self.records.period
        lo = int(np.searchsorted(period, first, side="left"))
        hi = int(np.searchsorted(period, last, side="right"))
        r = self.records
        return RevenueColumns(
            r.customer[lo:hi], r.product[lo:hi], r.period[lo:hi], r.fen[lo:hi], r.volume[lo:hi]
        )

    @property
    def first_period(self) -> int | None:
        """The earliest month ordinal, or ``None`` when there are no records."""
        return int(self.records.period[0]) if len(self.records) else None


def _monthly(block: RevenueColumns, first: int, n: int) -> npt.NDArray[np.float64]:
    """``n x WINDOW`` monthly revenue (fen, exact in float64) for months ``first..``."""
    key = block.customer.astype(np.int64)
    key *= WINDOW
    key += block.period - np.int32(first)
    return _sum_by(key, block.fen, n * WINDOW).reshape(n, WINDOW)


def compute_metrics(
    *,
    as_of: Period,
    customer_ids: npt.NDArray[np.object_],
    first_period: npt.NDArray[np.int32],
    tier_since: npt.NDArray[np.int32],
    tier: npt.NDArray[np.int8],
    segment: npt.NDArray[np.int8],
    parent: npt.NDArray[np.int32],
    records: RevenueColumns | SortedRevenue,
    product_ids: tuple[str, ...],
    rollup: bool = False,
) -> MetricsTable:
    """Compute the metrics table in bulk (see the module docstring for definitions).

    Per-customer aggregates (monthly revenue over the 24-month window,
    trailing-12 volume and revenue per product) are summed with ``bincount``
    over period slices of :class:`SortedRevenue`; for a roll-up they are
    multiplied by :func:`subtree_matrix`, which is the same as recomputing
    them over the combined records of each subtree. ``tier_since`` holds
    ``-1`` where it defaults to ``first_period``.

    Raises:
        PrecisionError: for a roll-up, a group whose absolute revenue in a
            24-month window (or volume in the trailing 12 months) reaches
            2**53; the message names the group.
    """
    sorted_rev = records if isinstance(records, SortedRevenue) else SortedRevenue.build(records)
    n = int(customer_ids.shape[0])
    n_products = len(product_ids)
    p = as_of.ordinal
    start = p - (WINDOW - 1)
    roll = subtree_matrix(parent) if rollup else None

    def up(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if roll is None:
            return matrix
        return np.asarray(roll @ matrix, dtype=np.float64)

    def monthly_up(block: RevenueColumns, first: int) -> npt.NDArray[np.float64]:
        if roll is not None:
            absolute = attrs.evolve(block, fen=np.abs(block.fen))
            total = np.asarray(roll @ _monthly(absolute, first, n), dtype=np.float64)
            last = Period.from_ordinal(first + WINDOW - 1)
            check_rollup(
                total.sum(axis=1),
                customer_ids,
                f"absolute revenue (fen) in the 24 months to {last}",
            )
        return up(_monthly(block, first, n))

    monthly = monthly_up(sorted_rev.months(start, p), start)
    recent = sorted_rev.months(p - 11, p)
    cust = recent.customer.astype(np.int64)
    volume = up(_sum_by(cust, recent.volume, n))
    if roll is not None:
        check_rollup(volume, customer_ids, f"volume in the 12 months to {as_of}")
    cust *= n_products
    cust += recent.product
    by_product = up(_sum_by(cust, recent.fen, n * n_products).reshape(n, n_products))
    del cust

    t12m_fen = np.rint(monthly[:, 12:].sum(axis=1)).astype(np.int64)
    prev_fen = np.rint(monthly[:, :12].sum(axis=1)).astype(np.int64)
    positive = monthly > 0
    active_months = positive[:, 12:].sum(axis=1)
    product_count = (by_product > 0).sum(axis=1)
    since = _last_positive(positive)
    since = _months_since_before(sorted_rev, since, start, monthly_up)

    no_prev = prev_fen <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        yoy = t12m_fen.astype(np.float64) / prev_fen.astype(np.float64) - 1.0
    yoy[no_prev] = np.nan

    eff_since = np.where(tier_since == NO_CODE, first_period, tier_since).astype(np.int64)
    columns: dict[str, Array] = {
        "t12m_revenue": t12m_fen,
        "prev12m_revenue": prev_fen,
        "yoy_growth": yoy,
        "t12m_volume": np.rint(volume).astype(np.int64),
        "active_months": active_months.astype(np.int64),
        "months_since_last": np.where(since < 0, 0, since),
        "product_count": product_count.astype(np.int64),
        "tenure_months": p - first_period.astype(np.int64),
        "months_in_tier": p - eff_since,
    }
    absent = {name: np.zeros(n, dtype=bool) for name in columns}
    absent["yoy_growth"] = no_prev
    absent["months_since_last"] = since < 0

    keep = first_period <= p
    if not keep.all():
        columns = {k: v[keep] for k, v in columns.items()}
        absent = {k: v[keep] for k, v in absent.items()}
        customer_ids, tier, segment = customer_ids[keep], tier[keep], segment[keep]
        by_product = by_product[keep]
    return MetricsTable(
        as_of=as_of,
        customer_ids=customer_ids,
        columns=columns,
        absent=absent,
        tier=tier,
        segment=segment,
        product_ids=product_ids,
        product_revenue=np.rint(by_product).astype(np.int64),
        rollup=rollup,
    )


def _last_positive(positive: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Per row, columns back from the last column to the last ``True`` one; -1 if none."""
    found = positive.any(axis=1)
    back = np.argmax(positive[:, ::-1], axis=1)
    return np.where(found, back, -1).astype(np.int64)


def _months_since_before(
    sorted_rev: SortedRevenue,
    since: npt.NDArray[np.int64],
    start: int,
    monthly_up: Callable[[RevenueColumns, int], npt.NDArray[np.float64]],
) -> npt.NDArray[np.int64]:
    """Fill ``since`` for customers with no positive month in the window from older history.

    Walks back in blocks of :data:`WINDOW` months (period slices) so memory
    stays ``n x WINDOW``.
    """
    earliest = sorted_rev.first_period
    if earliest is None:
        return since
    unresolved = since < 0
    hi = start - 1
    while hi >= earliest and unresolved.any():
        lo = hi - WINDOW + 1
        positive = monthly_up(sorted_rev.months(lo, hi), lo) > 0
        back = _last_positive(positive)
        found = (back >= 0) & unresolved
        since = np.where(found, (start - 1 - hi) + WINDOW + back, since)
        unresolved &= ~found
        hi = lo - 1
    return since
