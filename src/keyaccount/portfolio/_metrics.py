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
import itertools
from collections.abc import Mapping
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
    from collections.abc import Callable, Iterator
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
            money, ``int64`` for counts, ``float64`` for ratios). A table from
            :meth:`Portfolio.metrics` sums ``t12m_volume`` when it is first
            read, from the records it was computed from (later revenue does
            not reach it).
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
    key: npt.NDArray[np.integer[Any]], weights: npt.NDArray[np.int64], size: int
) -> npt.NDArray[np.float64]:
    """Exact integer sums per key, accumulated in float64 (totals checked < 2**53)."""
    return np.bincount(key, weights=weights, minlength=size).astype(np.float64, copy=False)


SLICE_ROWS = 1 << 21
"""Records summed per pass where the sums are keyed over the whole table: the key and
weight buffers of one pass are reused, instead of temporaries the size of a year of records."""


def _by_product(recent: RevenueColumns, n: int, n_products: int) -> npt.NDArray[np.float64]:
    """``n_products x n`` revenue (fen, exact in float64) of ``recent``, summed in slices."""
    out = np.zeros(n_products * n, dtype=np.float64)
    rows = min(len(recent), SLICE_ROWS)
    key, fen = np.empty(rows, dtype=np.int64), np.empty(rows, dtype=np.float64)
    for lo in range(0, len(recent), SLICE_ROWS):
        hi = min(lo + SLICE_ROWS, len(recent))
        k, f = key[: hi - lo], fen[: hi - lo]
        np.multiply(recent.product[lo:hi], n, out=k, dtype=np.int64)  # product-major
        k += recent.customer[lo:hi]
        np.copyto(f, recent.fen[lo:hi], casting="unsafe")  # integers below 2**53: exact
        np.add.at(out, k, f)
    return out.reshape(n_products, n)


def _positive_count(by_row: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Per column of a ``k x n`` block, the rows holding a value > 0 (one row at a time)."""
    k, n = by_row.shape
    count: npt.NDArray[np.integer[Any]] = np.zeros(n, dtype=np.uint16 if k < 2**16 else np.int64)
    positive = np.empty(n, dtype=np.bool_)
    for row in by_row:
        np.greater(row, 0, out=positive)
        np.add(count, positive.view(np.uint8), out=count)
    return count.astype(np.int64)


class _MetricColumns(Mapping[str, Array]):
    """Metric columns in :data:`METRICS` order, some of them computed when first read.

    A column the default policy never reads (``t12m_volume``) costs a pass
    over the trailing year's records; it is summed on first read from the
    record arrays the table was computed from (views of the portfolio's
    month-ordered copy, kept alive until then).
    """

    def __init__(
        self,
        ready: dict[str, Array],
        later: dict[str, Callable[[], Array]],
        order: tuple[str, ...],
    ) -> None:
        self._ready = ready
        self._later = later
        self._order = order

    def __getitem__(self, name: str) -> Array:
        values = self._ready.get(name)
        if values is None:
            make = self._later.pop(name)  # KeyError for a name not in the table
            values = self._ready[name] = make()
        return values

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._ready or name in self._later

    def take(self, keep: npt.NDArray[np.bool_]) -> _MetricColumns:
        """The rows selected by ``keep``; a column not yet computed stays so."""
        ready = {k: v[keep] for k, v in self._ready.items()}
        later: dict[str, Callable[[], Array]] = {
            k: _Rows(make, keep) for k, make in self._later.items()
        }
        return _MetricColumns(ready, later, self._order)


@attrs.frozen(eq=False)
class _Rows:
    """The rows ``keep`` of a column made by ``make``."""

    make: Callable[[], Array]
    keep: npt.NDArray[np.bool_]

    def __call__(self) -> Array:
        return self.make()[self.keep]


@attrs.frozen(eq=False)
class _TrailingVolume:
    """Parcels per customer over the records of a trailing window (``int64``)."""

    customer: npt.NDArray[np.int32]
    volume: npt.NDArray[np.int64]
    size: int

    def __call__(self) -> Array:
        return _sum_by(self.customer, self.volume, self.size).astype(np.int64)


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

    def bounds(self, first: int, last: int) -> npt.NDArray[np.intp]:
        """Where each month of ``first..last`` (ordinals) begins, then where ``last`` ends.

        Month ``first + k`` is the slice ``bounds[k]:bounds[k + 1]`` of :attr:`records`.
        """
        period = self.records.period
        # an array of the records' own dtype: a Python int would convert every record first
        months = np.arange(first, last + 2, dtype=np.int64).astype(period.dtype)
        return period.searchsorted(months, side="left")

    def months(self, first: int, last: int) -> RevenueColumns:
        """The records of months ``first..last`` (ordinals, inclusive), as views."""
        lo, hi = (int(x) for x in self.bounds(first, last)[[0, -1]])
        r = self.records
        return RevenueColumns(
            r.customer[lo:hi], r.product[lo:hi], r.period[lo:hi], r.fen[lo:hi], r.volume[lo:hi]
        )

    @property
    def first_period(self) -> int | None:
        """The earliest month ordinal, or ``None`` when there are no records."""
        return int(self.records.period[0]) if len(self.records) else None


def _month_sums(
    sorted_rev: SortedRevenue, first: int, n: int, *, absolute: bool = False
) -> npt.NDArray[np.float64]:
    """``WINDOW x n`` revenue (fen, exact in float64) of each customer in months ``first..``.

    Row ``k`` is month ``first + k``: one ``bincount`` over that month's slice
    of records, so the sums land in an ``n``-long row instead of being
    scattered over the whole ``n x WINDOW`` block. ``absolute`` sums ``|fen|``.
    """
    bounds = sorted_rev.bounds(first, first + WINDOW - 1).tolist()
    records = sorted_rev.records
    out = np.empty((WINDOW, n), dtype=np.float64)
    for k in range(WINDOW):
        lo, hi = bounds[k], bounds[k + 1]
        if lo == hi:
            out[k] = 0.0
            continue
        fen = records.fen[lo:hi]
        out[k] = np.bincount(
            records.customer[lo:hi], weights=np.abs(fen) if absolute else fen, minlength=n
        )
    return out


def _as_int64(sums: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Integer sums held exactly in float64, as ``int64`` in the same memory (no second block)."""
    flat = np.ascontiguousarray(sums).reshape(-1)
    out = flat.view(np.int64)
    np.copyto(out, flat, casting="unsafe")  # one dimension, element i onto element i
    return out.reshape(sums.shape)


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

    Per-customer aggregates are scatter-added (``np.add.at``) over period
    slices of :class:`SortedRevenue` into arrays made once per call and
    reused: the revenue of each month of the 24-month window, one month at a
    time, folded at once into the running sums, active-month counts and last
    positive month (``n``-long arrays only), and the trailing-12 revenue per
    product keyed product-major (``n_products x n``), :data:`SLICE_ROWS`
    records at a time. No temporary grows with the number of records. For a
    roll-up they are multiplied by :func:`subtree_matrix`, which is the same
    as recomputing them over the combined records of each subtree.
    ``t12m_volume`` is summed when first read, except for a roll-up (whose
    volume limit is checked here). ``tier_since`` holds ``-1`` where it
    defaults to ``first_period``.

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

    def up(by_row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Roll ``k x n`` per-customer sums up the hierarchy (rows stay rows)."""
        if roll is None:
            return by_row
        return np.ascontiguousarray(np.asarray(roll @ by_row.T, dtype=np.float64).T)

    def monthly_up(first: int) -> npt.NDArray[np.float64]:
        if roll is not None:
            total = up(_month_sums(sorted_rev, first, n, absolute=True))
            last = Period.from_ordinal(first + WINDOW - 1)
            check_rollup(
                total.sum(axis=0),
                customer_ids,
                f"absolute revenue (fen) in the 24 months to {last}",
            )
        return up(_month_sums(sorted_rev, first, n))

    t12m, prev, active_months, since = _window(sorted_rev, start, n, up, rolled=roll is not None)
    if roll is not None:
        absolute = _window_absolute(sorted_rev, start, n, up)
        check_rollup(absolute, customer_ids, f"absolute revenue (fen) in the 24 months to {as_of}")
    recent = sorted_rev.months(p - 11, p)
    later: dict[str, Callable[[], Array]] = {}
    volume: Array | None = None
    if roll is None:
        later["t12m_volume"] = _TrailingVolume(recent.customer, recent.volume, n)
    else:
        volume = up(_sum_by(recent.customer, recent.volume, n)[np.newaxis])[0]
        check_rollup(volume, customer_ids, f"volume in the 12 months to {as_of}")
        volume = volume.astype(np.int64)
    by_product = up(_by_product(recent, n, n_products))

    t12m_fen, prev_fen = _as_int64(t12m), _as_int64(prev)
    product_count = _positive_count(by_product)
    since = _months_since_before(sorted_rev, since, start, monthly_up)

    no_prev = prev_fen <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        yoy = t12m_fen.astype(np.float64) / prev_fen.astype(np.float64) - 1.0
    yoy[no_prev] = np.nan

    eff_since = np.where(tier_since == NO_CODE, first_period, tier_since).astype(np.int64)
    ready: dict[str, Array] = {
        "t12m_revenue": t12m_fen,
        "prev12m_revenue": prev_fen,
        "yoy_growth": yoy,
        "active_months": active_months,
        "months_since_last": np.where(since < 0, 0, since),
        "product_count": product_count,
        "tenure_months": p - first_period.astype(np.int64),
        "months_in_tier": p - eff_since,
    }
    if volume is not None:
        ready["t12m_volume"] = volume
    columns = _MetricColumns(ready, later, tuple(METRICS))
    absent = {name: np.zeros(n, dtype=bool) for name in METRICS}
    absent["yoy_growth"] = no_prev
    absent["months_since_last"] = since < 0
    # product-major sums, exact integers in float64: the (n, n_products) table is the transpose
    product_revenue = _as_int64(by_product).T
    del by_product

    keep = first_period <= p
    if not keep.all():
        columns = columns.take(keep)
        absent = {k: v[keep] for k, v in absent.items()}
        customer_ids, tier, segment = customer_ids[keep], tier[keep], segment[keep]
        product_revenue = product_revenue[keep]
    return MetricsTable(
        as_of=as_of,
        customer_ids=customer_ids,
        columns=columns,
        absent=absent,
        tier=tier,
        segment=segment,
        product_ids=product_ids,
        product_revenue=product_revenue,
        rollup=rollup,
    )


def _window(
    sorted_rev: SortedRevenue,
    start: int,
    n: int,
    up: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
    *,
    rolled: bool,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """Per customer over months ``start .. start + 23``: t12m, prev12m, active, since.

    ``t12m`` and ``prev12m`` are fen (exact in float64), ``active`` counts the
    positive months of the last 12, ``since`` is the months from the last
    month back to the last positive one (-1 where there is none).
    """
    bounds = sorted_rev.bounds(start, start + WINDOW - 1).tolist()
    records = sorted_rev.records
    t12m, prev = np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.float64)
    # counts of at most 24 in bytes, widened once at the end; every per-month array is reused
    active = np.zeros(n, dtype=np.uint8)
    last = np.zeros(n, dtype=np.uint8)  # one past the last positive month's offset; 0: none
    mark = np.empty(n, dtype=np.uint8)
    positive = np.empty(n, dtype=np.bool_)
    month = np.empty(n, dtype=np.float64)
    weights = np.empty(max(b - a for a, b in itertools.pairwise(bounds)), dtype=np.float64)
    for k in range(WINDOW):
        lo, hi = bounds[k], bounds[k + 1]
        if lo == hi:
            continue  # no records: nothing to add, nothing positive
        fen = weights[: hi - lo]
        np.copyto(fen, records.fen[lo:hi], casting="unsafe")  # integers below 2**53: exact
        month[:] = 0.0
        np.add.at(month, records.customer[lo:hi], fen)
        summed = up(month[np.newaxis]).reshape(n) if rolled else month
        np.greater(summed, 0, out=positive)
        if k >= WINDOW - 12:
            t12m += summed
            active += positive.view(np.uint8)
        else:
            prev += summed
        # months come in order, so the latest positive one is the largest mark
        np.multiply(positive.view(np.uint8), k + 1, out=mark)
        np.maximum(last, mark, out=last)
    since = np.where(last > 0, WINDOW - last.astype(np.int64), -1)
    return t12m, prev, active.astype(np.int64), since


def _window_absolute(
    sorted_rev: SortedRevenue,
    start: int,
    n: int,
    up: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> npt.NDArray[np.float64]:
    """Per customer, ``sum |fen|`` over months ``start .. start + 23`` (the roll-up bound)."""
    r = sorted_rev.months(start, start + WINDOW - 1)
    return up(_sum_by(r.customer, np.abs(r.fen), n)[np.newaxis]).reshape(n)


def _last_positive(positive: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Per column of a ``WINDOW x n`` block, rows back from the last row to the last ``True``.

    -1 where a column has no ``True``.
    """
    # (k + 1) where row k is positive, else 0; the largest is one past the last positive row
    marks = positive.view(np.uint8) * np.arange(1, WINDOW + 1, dtype=np.uint8)[:, np.newaxis]
    last = marks.max(axis=0).astype(np.int64)
    return np.where(last > 0, WINDOW - last, -1)


def _months_since_before(
    sorted_rev: SortedRevenue,
    since: npt.NDArray[np.int64],
    start: int,
    monthly_up: Callable[[int], npt.NDArray[np.float64]],
) -> npt.NDArray[np.int64]:
    """Fill ``since`` for customers with no positive month in the window from older history.

    Walks back in blocks of :data:`WINDOW` months (period slices) so memory
    stays ``WINDOW x n``.
    """
    earliest = sorted_rev.first_period
    if earliest is None:
        return since
    unresolved = since < 0
    hi = start - 1
    while hi >= earliest and unresolved.any():
        lo = hi - WINDOW + 1
        back = _last_positive(monthly_up(lo) > 0)
        found = (back >= 0) & unresolved
        since = np.where(found, (start - 1 - hi) + WINDOW + back, since)
        unresolved &= ~found
        hi = lo - 1
    return since
