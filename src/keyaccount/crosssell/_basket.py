"""Baskets: which products each customer buys as of a month, as sparse matrices.

A customer's **basket** as of month ``P`` with a window of ``w`` months is the
set of products whose revenue in months ``P-w+1 .. P`` (both included) sums to
more than zero. With the default ``w = 12`` this is the set of products that
``product_count`` counts in the portfolio metrics. Refunds count: a product
whose records in the window net to zero or less is not in the basket.

Customers first seen after ``P`` are left out, as in the portfolio metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import NO_CODE, Period
from keyaccount.exceptions import (
    PrecisionError,
    UnknownCustomerError,
    UnknownProductError,
    ValidationError,
)
from keyaccount.portfolio import ancestors_expansion
from keyaccount.utils.display import HEAD_ROWS, html_table, money, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import scipy.sparse as sp

    from keyaccount.domain import ProductCatalog
    from keyaccount.portfolio import Portfolio, RevenueColumns

__all__ = ["DEFAULT_WINDOW", "Basket", "build_basket"]

DEFAULT_WINDOW = 12
"""Months in the basket window unless told otherwise (the trailing twelve months)."""
_EXACT_LIMIT = 2**63
"""Sums are exact ``int64``: the absolute fen total of the window must stay below this."""
_DENSE_LIMIT = 64 * 2**20
"""Up to this many customer x product cells the sums go to a dense array, beyond to a sort."""
_BLOCK = 1 << 20
"""Revenue records read at a time, so that no temporary is as long as all records."""


def product_mask(
    product_ids: tuple[str, ...], products: str | Iterable[str], where: str
) -> npt.NDArray[np.bool_]:
    """A mask over ``product_ids``, true for ``products`` (one id or several).

    Args:
        product_ids: The product columns.
        products: The products to mark.
        where: What lists them, for the error message (``"exclude"``).

    Raises:
        UnknownProductError: a product that is not a column (``unknown product 'x' in
            <where>``).
    """
    if isinstance(products, str):
        products = [products]
    mask = np.zeros(len(product_ids), dtype=bool)
    for p in products:
        if p not in product_ids:
            raise UnknownProductError(f"unknown product {p!r} in {where}")
        mask[product_ids.index(p)] = True
    return mask


@attrs.frozen(eq=False)
class Basket:
    """The baskets of a portfolio's customers as of a month.

    Rows are customers (portfolio order, only those first seen by :attr:`as_of`),
    columns are products (catalogue order). Build it with :func:`build_basket`.

    Attributes:
        as_of: The as-of month ``P``.
        window: Months in the window ``P-window+1 .. P``.
        rollup: Whether each row includes the customer's descendants.
        customer_ids: Customer ids of the rows.
        positions: Each row's position in the portfolio (``int64``).
        product_ids: Product ids of the columns (catalogue order).
        catalog: The catalogue the columns come from.
        revenue: Window revenue in fen per customer and product (CSR, ``int64``);
            only positive sums are stored, so its pattern is the basket.
        volume: Window parcels of the same cells (CSR, ``int64``, same pattern),
            or ``None`` when not asked for.
        parent: Row of each customer's parent, ``-1`` for none or for a parent
            first seen after :attr:`as_of` (``int64``).
        segment: Segment code of each row (``int8``, ``-1`` for none).
        tier: Tier rank of each row (``int8``).
        province: Province of each row (``object``, ``None`` where unknown).
    """

    as_of: Period
    window: int
    rollup: bool
    customer_ids: npt.NDArray[np.object_]
    positions: npt.NDArray[np.int64]
    product_ids: tuple[str, ...]
    catalog: ProductCatalog
    revenue: sp.csr_array
    volume: sp.csr_array | None
    parent: npt.NDArray[np.int64]
    segment: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    province: npt.NDArray[np.object_]
    _locate: Callable[[str], int] = attrs.field(alias="locate", repr=False)
    _row_of: npt.NDArray[np.int64] = attrs.field(alias="row_of", repr=False)
    _matrix: sp.csr_array = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        import scipy.sparse as sp  # here: importing the cross-sell package loads no scipy

        matrix = sp.csr_array(
            (np.ones(self.revenue.nnz, dtype=bool), self.revenue.indices, self.revenue.indptr),
            shape=self.revenue.shape,
        )
        object.__setattr__(self, "_matrix", matrix)

    def __len__(self) -> int:
        return int(self.customer_ids.shape[0])

    def __contains__(self, customer_id: object) -> bool:
        return isinstance(customer_id, str) and self._find(customer_id) >= 0

    def __repr__(self) -> str:
        size = f"{number(len(self))} customers, {len(self.product_ids)} products"
        held = f"{number(self.revenue.nnz)} customer-product cells"
        facts = {"as_of": self.as_of, "window": self.window, "rollup": self.rollup or None}
        return short_repr("Basket", size, held, **facts)

    def _repr_html_(self) -> str:
        rev = self.revenue

        def cells(i: int) -> tuple[object, ...]:
            cols = np.sort(rev.indices[rev.indptr[i] : rev.indptr[i + 1]])
            fen = int(rev.data[rev.indptr[i] : rev.indptr[i + 1]].sum())
            products = " ".join(self.product_ids[int(j)] for j in cols)
            return (self.customer_ids[i], len(cols), money(fen), products)

        rows = (cells(i) for i in range(min(len(self), HEAD_ROWS)))
        headings = ("customer_id", "products", "window revenue (yuan)", "basket")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="customers")

    def _find(self, customer_id: str) -> int:
        try:
            position = self._locate(customer_id)
        except UnknownCustomerError:
            return -1
        if position >= self._row_of.shape[0]:
            return -1
        return int(self._row_of[position])

    @property
    def matrix(self) -> sp.csr_array:
        """Customers x products, ``True`` where the product is in the basket (CSR, ``bool``)."""
        return self._matrix

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Number of products in each basket."""
        out: npt.NDArray[np.int64] = np.diff(self.revenue.indptr).astype(np.int64)
        return out

    @property
    def active(self) -> npt.NDArray[np.bool_]:
        """Rows whose basket is not empty: the customers active in the window."""
        return self.sizes > 0

    def row(self, customer_id: str) -> int:
        """The row of ``customer_id``.

        Raises:
            UnknownCustomerError: not in the portfolio, or first seen after :attr:`as_of`.
        """
        row = self._find(customer_id)
        if row < 0:
            raise UnknownCustomerError(
                f"customer {customer_id!r} is not in the baskets as of {self.as_of}"
            )
        return row

    def products_of(self, customer_id: str) -> tuple[str, ...]:
        """The product ids in one customer's basket, in catalogue order."""
        i = self.row(customer_id)
        cols = self.revenue.indices[self.revenue.indptr[i] : self.revenue.indptr[i + 1]]
        return tuple(self.product_ids[int(j)] for j in np.sort(cols))

    def product_column(self, product_id: str) -> int:
        """The column of ``product_id``.

        Raises:
            UnknownProductError: not in the catalogue.
        """
        try:
            return self.product_ids.index(product_id)
        except ValueError:
            raise UnknownProductError(f"unknown product {product_id!r}") from None

    def active_matrix(self) -> sp.csr_array:
        """:attr:`matrix` restricted to the active rows: the one-hot transactions."""
        m: sp.csr_array = self._matrix[self.active]
        return m


def build_basket(
    portfolio: Portfolio,
    as_of: Period | str,
    *,
    window: int = DEFAULT_WINDOW,
    rollup: bool = False,
    volume: bool = True,
) -> Basket:
    """The baskets of ``portfolio``'s customers as of ``as_of``, computed in bulk.

    Args:
        portfolio: The portfolio.
        as_of: The as-of month ``P`` (inclusive).
        window: Months in the window, ``P-window+1 .. P`` (default 12).
        rollup: When true, each customer's row sums the records of the customer
            and all its descendants (the group's basket), recomputed over the
            combined records as the portfolio's roll-up metrics are.
        volume: Also sum the window parcels (:attr:`Basket.volume`); skip it
            when only the basket is needed.

    Returns:
        The :class:`Basket`.

    Raises:
        ValidationError: ``window`` is not a positive whole number.
        PrecisionError: revenue totals too large to sum exactly.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> pf = Portfolio([Customer("C1", "某中院", "2022-01")],
        ...                [RevenueRecord("C1", "court_express", "2022-05", "880.00")])
        >>> build_basket(pf, "2022-12").products_of("C1")
        ('court_express',)
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValidationError(
            f"basket window must be a whole number of months >= 1, got {window!r}"
        )
    period = Period.parse(as_of)
    cols = portfolio.customer_columns
    rev = portfolio.revenue_columns
    if rollup:
        rev = ancestors_expansion(rev, cols.parent)
    keep = cols.first_period <= period.ordinal
    positions = np.flatnonzero(keep).astype(np.int64)
    row_of = np.full(len(cols), -1, dtype=np.int64)
    row_of[positions] = np.arange(positions.shape[0], dtype=np.int64)
    n = int(positions.shape[0])
    product_ids = tuple(portfolio.products)
    revenue, parcels = _sum_cells(
        rev,
        row_of,
        period.ordinal - window + 1,
        period.ordinal,
        n,
        len(product_ids),
        volume=volume,
    )
    parent = cols.parent[positions].astype(np.int64)
    has_parent = parent != NO_CODE
    parent[has_parent] = row_of[parent[has_parent]]
    return Basket(
        as_of=period,
        window=window,
        rollup=rollup,
        customer_ids=cols.id[positions],
        positions=positions,
        product_ids=product_ids,
        catalog=portfolio.products,
        revenue=revenue,
        volume=parcels,
        parent=parent,
        segment=cols.segment[positions].copy(),
        tier=cols.tier[positions].copy(),
        province=cols.province[positions].copy(),
        locate=portfolio.position,
        row_of=row_of,
    )


def _sum_cells(
    rev: RevenueColumns,
    row_of: npt.NDArray[np.int64],
    first: int,
    last: int,
    n: int,
    k: int,
    *,
    volume: bool,
) -> tuple[sp.csr_array, sp.csr_array | None]:
    """Sum the records of months ``first .. last`` per (row, product); keep positive revenue.

    Records are read in blocks of :data:`_BLOCK`; sums are exact ``int64``.
    """
    dense = n * k <= _DENSE_LIMIT
    fen_sum = np.zeros(n * k if dense else 0, dtype=np.int64)
    vol_sum = np.zeros(n * k if dense and volume else 0, dtype=np.int64)
    keys: list[npt.NDArray[np.int64]] = []
    fens: list[npt.NDArray[np.int64]] = []
    vols: list[npt.NDArray[np.int64]] = []
    magnitude = 0
    for lo in range(0, len(rev), _BLOCK):
        hi = lo + _BLOCK
        period = rev.period[lo:hi]
        sel = (period >= first) & (period <= last)
        if not sel.any():
            continue
        rows = row_of[rev.customer[lo:hi][sel]]
        product = rev.product[lo:hi][sel]
        fen = rev.fen[lo:hi][sel]
        vol = rev.volume[lo:hi][sel]
        # a record always has a row, except in a roll-up, which repeats records
        # for ancestors; an ancestor first seen after the as-of month has none
        ok = rows >= 0
        if not ok.all():
            rows, product, fen, vol = rows[ok], product[ok], fen[ok], vol[ok]
        key = rows * k + product
        magnitude += int(np.abs(fen).sum(dtype=np.int64))
        if magnitude >= _EXACT_LIMIT:
            raise PrecisionError(
                f"revenue in the basket window adds up to {magnitude} fen in absolute "
                "value, beyond what int64 sums hold exactly"
            )
        if dense:
            np.add.at(fen_sum, key, fen)
            if volume:
                np.add.at(vol_sum, key, vol)
        else:
            keys.append(key)
            fens.append(fen)
            vols.append(vol)
    vol_cells: npt.NDArray[np.int64] | None = None
    if dense:
        cells = np.flatnonzero(fen_sum > 0)
        fen_cells = fen_sum[cells]
        if volume:
            vol_cells = vol_sum[cells]
    else:
        cells, fen_cells, vol_cells = _sorted_sums(keys, fens, vols if volume else None)
    r = cells // k
    c = (cells % k).astype(np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    # ``cells`` is sorted by (row, product), so ``c`` is in CSR order already
    shape = (n, k)
    import scipy.sparse as sp  # here: importing the cross-sell package loads no scipy

    revenue = sp.csr_array((fen_cells.astype(np.int64), c, indptr), shape=shape)
    parcels = None
    if vol_cells is not None:
        parcels = sp.csr_array((vol_cells.astype(np.int64), c.copy(), indptr.copy()), shape=shape)
    return revenue, parcels


def _sorted_sums(
    keys: list[npt.NDArray[np.int64]],
    fens: list[npt.NDArray[np.int64]],
    vols: list[npt.NDArray[np.int64]] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64] | None]:
    """Cells with positive revenue and their sums, by sorting the keys (many products)."""
    empty = np.empty(0, dtype=np.int64)
    key = np.concatenate(keys) if keys else empty
    if key.size == 0:
        return empty, empty, None if vols is None else empty
    order = np.argsort(key, kind="stable")
    skey = key[order]
    starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
    fen_all = np.add.reduceat(np.concatenate(fens)[order], starts)
    positive = fen_all > 0
    vol_cells = None
    if vols is not None:
        vol_cells = np.add.reduceat(np.concatenate(vols)[order], starts)[positive]
    return skey[starts][positive], fen_all[positive], vol_cells
