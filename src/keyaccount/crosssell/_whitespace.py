"""Whitespace: product penetration by segment or tier, and the revenue left on the table.

**Penetration** of product ``p`` in a group of customers (a segment, the
customers without a segment, or a tier) is ``buyers / customers``: the share of
the group's customers whose basket holds ``p``. It is absent (NaN) for a group
without customers.

A cell (group, product) is **whitespace** when the group has customers and the
penetration is at most ``threshold`` (default 0: nobody in the group buys it).
With ``relevant_only`` (the default) a segment row only holds the products
that serve that segment or serve every segment (``Product.segments`` empty),
and the row of customers without a segment only the latter; tier rows hold
every product.
Its **candidates** are the group's customers that do not buy ``p``. Each
candidate's **estimated revenue** is the median window revenue of ``p`` among
its peers that buy it, where the peers are the buyers in the candidate's
segment-and-tier cell, or, when there are none, the buyers of its tier, or,
when there are none, all buyers (``basis`` says which). The median is the
*lower* median (for an even number of buyers, the smaller of the two middle
values), so it is an amount some peer really pays, in whole fen. Products
nobody buys get an estimate of 0 (``basis`` ``"none"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.crosssell._basket import DEFAULT_WINDOW, Basket, build_basket, product_mask
from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    Period,
    ProductCatalog,
    Segment,
    Tier,
    check_lang,
    default_catalog,
    fen_to_yuan,
)
from keyaccount.exceptions import ValidationError
from keyaccount.portfolio import frames as fr
from keyaccount.utils.display import html_table, money, number, percent, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from decimal import Decimal

    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.portfolio import Portfolio

__all__ = [
    "BASES",
    "Opportunity",
    "OpportunityTable",
    "Penetration",
    "penetration",
    "whitespace",
]

Dimension = Literal["segment", "tier"]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BASES = ("segment_tier", "tier", "all", "none")
"""Which peers an estimate comes from, by code (``basis`` arrays hold positions here)."""


def _resolve(source: Portfolio | Basket, as_of: Period | str | None, window: int) -> Basket:
    if isinstance(source, Basket):
        return source
    if as_of is None:
        span = source.period_span
        if span is None:
            raise ValidationError("the portfolio has no revenue; give as_of explicitly")
        as_of = span[1]
    return build_basket(source, as_of, window=window)


def _group_codes(
    basket: Basket, by: Dimension
) -> tuple[I64, tuple[Segment | None, ...] | tuple[Tier, ...]]:
    if by == "segment":
        seg = basket.segment.astype(np.int64)
        return np.where(seg == NO_CODE, len(SEGMENTS), seg), (*SEGMENTS, None)
    if by == "tier":
        return basket.tier.astype(np.int64), TIERS
    raise ValidationError(f"whitespace dimension must be 'segment' or 'tier', got {by!r}")


def _group_name(group: Segment | Tier | None) -> str:
    return "UNASSIGNED" if group is None else group.name


@attrs.frozen(eq=False)
class Penetration:
    """Customers and buyers per group (rows) and product (columns).

    Attributes:
        as_of: The as-of month.
        by: ``"segment"`` (rows: every segment, then ``None``) or ``"tier"``.
        groups: The row labels.
        product_ids: The column labels (catalogue order).
        customers: Customers in each group (``int64``).
        buyers: Customers of the group whose basket holds the product (``int64``).
        catalog: The catalogue of the products (their display names).
    """

    as_of: Period
    by: Dimension
    groups: tuple[Segment | None, ...] | tuple[Tier, ...]
    product_ids: tuple[str, ...]
    customers: I64
    buyers: I64
    catalog: ProductCatalog = attrs.field(factory=default_catalog, repr=False)

    def product_name(self, product_id: str, lang: str = "en") -> str:
        """How a product is shown in ``lang``: its id (``"en"``) or its Chinese name (``"zh"``).

        A product the catalogue does not hold is shown by its id.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        if check_lang(lang, where="product_name") == "en" or product_id not in self.catalog:
            return product_id
        return self.catalog[product_id].name_zh

    @property
    def share(self) -> F64:
        """``buyers / customers`` (NaN for a group without customers)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = self.buyers / self.customers[:, None]
        out[self.customers == 0, :] = np.nan
        return out

    def __repr__(self) -> str:
        size = f"{len(self.groups)} {self.by}s x {len(self.product_ids)} products"
        customers = f"{number(int(self.customers.sum()))} customers"
        return short_repr("Penetration", size, customers, as_of=self.as_of)

    def _repr_html_(self) -> str:
        share = self.share
        rows = (
            (
                _group_name(g),
                int(self.customers[r]),
                *(percent(float(s), decimals=0) for s in share[r]),
            )
            for r, g in enumerate(self.groups)
        )
        headings = (self.by, "customers", *self.product_ids)
        limit = len(self.groups)
        return html_table(headings, rows, caption=repr(self), unit=f"{self.by}s", limit=limit)

    def cell(self, group: Segment | Tier | None, product_id: str) -> tuple[int, int]:
        """``(buyers, customers)`` of one cell."""
        r = self.groups.index(group)
        j = self.product_ids.index(product_id)
        return int(self.buyers[r, j]), int(self.customers[r])

    def _cells_frame(self, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        k = len(self.product_ids)
        rows, cols = np.divmod(np.arange(len(self.groups) * k), k)
        codes = np.array([_group_code(g) for g in self.groups], dtype=np.int64)[rows]
        label = fr.segment if self.by == "segment" else fr.tier
        with np.errstate(invalid="ignore"):
            share = self.share.ravel()
        return fr.Frame(
            (
                label(self.by, codes, lang),
                fr.key("product_id", cols, self.product_ids),
                fr.integer("customers", self.customers[rows]),
                fr.integer("buyers", self.buyers.ravel()),
                fr.ratio("share", share, np.isnan(share)),
            ),
            {"as_of": str(self.as_of)},
        )

    def to_pandas(self, *, lang: str = "en", values: str = "share") -> pd.DataFrame:
        """A group x product DataFrame of ``"share"`` or ``"buyers"``, or the ``"cells"``.

        ``"en"`` labels rows by member name and columns by product id; ``"zh"`` by
        Chinese label (未分配 for customers without a segment) and Chinese product name.
        ``values="cells"`` gives the long table of :meth:`to_arrow` instead.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``, or unknown
                ``values`` (the message lists them).
        """
        pandas = fr.require("pandas")
        where = "Penetration.to_pandas"
        zh = check_lang(lang, where=where) == "zh"
        fr.check_choice(values, ("share", "buyers", "cells"), what="values", where=where)
        if values == "cells":
            return self._cells_frame(lang, where).to_pandas()
        data = self.share if values == "share" else self.buyers
        unassigned = "未分配" if zh else "UNASSIGNED"
        index = [g.label(lang) if g is not None else unassigned for g in self.groups]
        columns = [self.product_name(p, lang) for p in self.product_ids]
        frame: pd.DataFrame = pandas.DataFrame(data, index=index, columns=columns)
        return frame

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """One row per group and product.

        Columns: the group (``segment`` or ``tier``), ``product_id``,
        ``customers``, ``buyers`` and ``share`` (missing for a group without customers).
        """
        return self._cells_frame(lang, "Penetration.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_arrow` as a polars ``DataFrame``."""
        return self._cells_frame(lang, "Penetration.to_polars").to_polars()


def _group_code(group: Segment | Tier | None) -> int:
    """A group's code: a segment's code, a tier's rank, ``-1`` for unassigned."""
    if group is None:
        return NO_CODE
    return group.rank if isinstance(group, Tier) else group.code


def penetration(
    source: Portfolio | Basket,
    as_of: Period | str | None = None,
    *,
    by: Dimension = "segment",
    window: int = DEFAULT_WINDOW,
) -> Penetration:
    """Penetration of every product in every segment (``by="segment"``) or tier.

    Args:
        source: A portfolio (baskets built as of ``as_of``, default its last
            month with revenue) or baskets already built.
        as_of: The as-of month.
        by: ``"segment"`` or ``"tier"``.
        window: Months of the basket window.

    Returns:
        The :class:`Penetration`.
    """
    basket = _resolve(source, as_of, window)
    codes, groups = _group_codes(basket, by)
    k = len(basket.product_ids)
    g = len(groups)
    rev = basket.revenue
    entry_row = np.repeat(np.arange(len(basket), dtype=np.int64), np.diff(rev.indptr))
    buyers = np.bincount(codes[entry_row] * k + rev.indices, minlength=g * k).reshape(g, k)
    customers = np.bincount(codes, minlength=g).astype(np.int64)
    return Penetration(
        basket.as_of,
        by,
        groups,
        basket.product_ids,
        customers,
        buyers.astype(np.int64),
        basket.catalog,
    )


@attrs.frozen(eq=False)
class Opportunity:
    """One whitespace cell: a group, a product, and the customers that could buy it.

    Attributes:
        group: The segment (``None``: unassigned) or tier.
        product_id: The product.
        customers: Customers in the group.
        buyers: Of them, those that buy the product.
        candidate_ids: The group's customers that do not buy it (``object`` array).
        estimates_fen: Estimated window revenue of each candidate (``int64`` fen).
        basis: Code in :data:`BASES` of the peers behind each estimate (``int8``).
    """

    group: Segment | Tier | None
    product_id: str
    customers: int
    buyers: int
    candidate_ids: npt.NDArray[np.object_]
    estimates_fen: I64
    basis: npt.NDArray[np.int8]

    @property
    def penetration(self) -> float:
        """``buyers / customers``."""
        return self.buyers / self.customers

    def __repr__(self) -> str:
        size = (
            f"{number(self.customers)} customers, {number(self.buyers)} buyers",
            f"{number(len(self.candidate_ids))} candidates",
            f"estimated {money(self.estimated_revenue_fen)} yuan",
        )
        group = _group_name(self.group)
        return short_repr("Opportunity", *size, group=group, product=self.product_id)

    @property
    def estimated_revenue_fen(self) -> int:
        """Sum of the candidates' estimates, in fen."""
        return int(self.estimates_fen.sum(dtype=np.int64))

    @property
    def estimated_revenue(self) -> Decimal:
        """Sum of the candidates' estimates, in yuan."""
        return fen_to_yuan(self.estimated_revenue_fen)

    def estimates(self) -> Iterator[tuple[str, Decimal, str]]:
        """``(customer_id, estimate in yuan, basis)`` of each candidate."""
        for cid, fen, basis in zip(
            self.candidate_ids.tolist(),
            self.estimates_fen.tolist(),
            self.basis.tolist(),
            strict=True,
        ):
            yield str(cid), fen_to_yuan(fen), BASES[basis]


@attrs.frozen(eq=False)
class OpportunityTable:
    """The whitespace cells, largest estimated revenue first.

    Attributes:
        penetration: The penetration matrix the cells come from.
        threshold: The penetration at or below which a cell counts.
        opportunities: The cells, by estimated revenue (descending), then group
            order, then product id.
    """

    penetration: Penetration
    threshold: float
    opportunities: tuple[Opportunity, ...]

    def __len__(self) -> int:
        return len(self.opportunities)

    def __iter__(self) -> Iterator[Opportunity]:
        return iter(self.opportunities)

    def __repr__(self) -> str:
        p = self.penetration
        candidates = sum(len(o.candidate_ids) for o in self.opportunities)
        size = (
            f"{number(len(self))} cells, {number(candidates)} candidates",
            f"estimated {money(self.total_estimated_revenue_fen)} yuan",
        )
        facts = {"by": p.by, "as_of": p.as_of, "threshold": self.threshold}
        return short_repr("OpportunityTable", *size, **facts)

    def _repr_html_(self) -> str:
        rows = (
            (
                _group_name(o.group),
                o.product_id,
                o.customers,
                o.buyers,
                percent(o.penetration),
                len(o.candidate_ids),
                money(o.estimated_revenue_fen),
            )
            for o in self.opportunities
        )
        headings = (
            *(self.penetration.by, "product", "customers", "buyers", "penetration"),
            *("candidates", "estimated (yuan)"),
        )
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="cells")

    @property
    def total_estimated_revenue_fen(self) -> int:
        """All candidates' estimates, in fen."""
        return sum(o.estimated_revenue_fen for o in self.opportunities)

    @property
    def total_estimated_revenue(self) -> Decimal:
        """All candidates' estimates, in yuan."""
        return fen_to_yuan(self.total_estimated_revenue_fen)

    def _frame(self, lang: str, where: str) -> fr.Frame:
        zh = check_lang(lang, where=where) == "zh"
        cells = self.opportunities
        pen = self.penetration
        label = fr.segment if pen.by == "segment" else fr.tier
        names = (
            (fr.text("product", [pen.product_name(o.product_id, lang) for o in cells]),)
            if zh
            else ()
        )
        return fr.Frame(
            (
                label(pen.by, [_group_code(o.group) for o in cells], lang),
                fr.key(
                    "product_id",
                    [pen.product_ids.index(o.product_id) for o in cells],
                    pen.product_ids,
                ),
                *names,
                fr.integer("customers", [o.customers for o in cells]),
                fr.integer("buyers", [o.buyers for o in cells]),
                fr.ratio("penetration", [o.penetration for o in cells]),
                fr.integer("candidates", [len(o.candidate_ids) for o in cells]),
                fr.money("estimated_revenue", [o.estimated_revenue_fen for o in cells]),
            ),
            {"as_of": str(pen.as_of), "threshold": repr(self.threshold)},
        )

    def to_pandas(self, *, lang: str = "en") -> pd.DataFrame:
        """One row per cell: group, product, counts, penetration, candidates, estimate.

        The group column (``segment`` or ``tier``) is an ordered category
        labelled in ``lang`` (missing: customers without a segment); with
        ``"zh"`` a ``product`` column of Chinese product names follows
        ``product_id``; the estimate is ``estimated_revenue_fen`` and exact
        yuan ``estimated_revenue``.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(lang, "OpportunityTable.to_pandas").to_pandas()

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        return self._frame(lang, "OpportunityTable.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        return self._frame(lang, "OpportunityTable.to_polars").to_polars()


def _lower_medians(key: I64, value: I64, size: int) -> I64:
    """Lower median of ``value`` per ``key`` in ``0 .. size-1`` (``-1`` for an empty key)."""
    out = np.full(size, -1, dtype=np.int64)
    if key.size == 0:
        return out
    order = np.lexsort((value, key))
    skey = key[order]
    starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
    counts = np.diff(np.r_[starts, skey.size])
    out[skey[starts]] = value[order][starts + (counts - 1) // 2]
    return out


def whitespace(
    source: Portfolio | Basket,
    as_of: Period | str | None = None,
    *,
    by: Dimension = "segment",
    threshold: float = 0.0,
    products: Iterable[str] | None = None,
    relevant_only: bool = True,
    window: int = DEFAULT_WINDOW,
) -> OpportunityTable:
    """The whitespace cells of the segment x product (or tier x product) matrix.

    Args:
        source: A portfolio or baskets already built.
        as_of: The as-of month (default: the portfolio's last month with revenue).
        by: ``"segment"`` or ``"tier"``.
        threshold: A cell counts when its penetration is at most this, in ``[0, 1)``.
        products: Only these products (default: the whole catalogue).
        relevant_only: Skip products that serve other segments than a segment
            row's (see the module docstring).
        window: Months of the basket window.

    Returns:
        The :class:`OpportunityTable` (see the module docstring for the estimates).

    Raises:
        ValidationError: ``threshold`` outside ``[0, 1)``.
        UnknownProductError: a product not in the catalogue.
    """
    if not isinstance(threshold, int | float) or not 0.0 <= threshold < 1.0:
        raise ValidationError(f"whitespace threshold must be in [0, 1), got {threshold!r}")
    basket = _resolve(source, as_of, window)
    pen = penetration(basket, by=by)
    codes, groups = _group_codes(basket, by)
    k = len(basket.product_ids)
    wanted = (
        np.ones(k, dtype=bool)
        if products is None
        else product_mask(basket.product_ids, products, "whitespace products")
    )

    rev = basket.revenue
    n = len(basket)
    entry_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(rev.indptr))
    col = rev.indices.astype(np.int64)
    fen = rev.data.astype(np.int64)
    tiers = basket.tier.astype(np.int64)
    seg = basket.segment.astype(np.int64) + 1
    cell = seg * len(TIERS) + tiers
    n_cells = (len(SEGMENTS) + 1) * len(TIERS)
    by_cell = _lower_medians(cell[entry_row] * k + col, fen, n_cells * k)
    by_tier = _lower_medians(tiers[entry_row] * k + col, fen, len(TIERS) * k)
    by_all = _lower_medians(col, fen, k)

    share = pen.share
    by_product = rev.tocsc()
    owned = np.zeros(n, dtype=bool)
    found: list[Opportunity] = []
    for r, group in enumerate(groups):
        if pen.customers[r] == 0:
            continue
        members = np.flatnonzero(codes == r)
        for j in range(k):
            if not wanted[j] or not share[r, j] <= threshold:
                continue
            if relevant_only and by == "segment":
                serves = basket.catalog.products[j].segments
                if serves and group not in serves:
                    continue
            buyers = by_product.indices[by_product.indptr[j] : by_product.indptr[j + 1]]
            owned[buyers] = True
            cand = members[~owned[members]]
            owned[buyers] = False
            est = np.full(cand.shape[0], -1, dtype=np.int64)
            basis = np.full(cand.shape[0], 3, dtype=np.int8)
            for code, values in (
                (0, by_cell[cell[cand] * k + j]),
                (1, by_tier[tiers[cand] * k + j]),
                (2, np.full(cand.shape[0], by_all[j], dtype=np.int64)),
            ):
                fill = (est < 0) & (values >= 0)
                est[fill] = values[fill]
                basis[fill] = code
            est[est < 0] = 0
            found.append(
                Opportunity(
                    group=group,
                    product_id=basket.product_ids[j],
                    customers=int(pen.customers[r]),
                    buyers=int(pen.buyers[r, j]),
                    candidate_ids=basket.customer_ids[cand],
                    estimates_fen=est,
                    basis=basis,
                )
            )
    position = {g: i for i, g in enumerate(groups)}
    found.sort(key=lambda o: (-o.estimated_revenue_fen, position[o.group], o.product_id))
    return OpportunityTable(pen, float(threshold), tuple(found))
