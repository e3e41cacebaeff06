"""Account hierarchies: what a group buys, and where its branches differ.

A **group** is a customer with all its descendants (an insurer headquarters
and its provincial branches). Its roll-up basket holds the products whose
window revenue summed over the whole group is positive (recomputed over the
combined records, as the portfolio's roll-up metrics are); for each such
product the roll-up also lists the members whose own basket holds it.

A **gap** compares a parent with its direct children (its branches):

- ``PARENT_ONLY``: the parent buys the product and none of its children does.
- ``PARTIAL``: at least one child buys it and at least one does not (the
  parent may or may not buy it; ``parent_buys`` says).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.crosssell._basket import DEFAULT_WINDOW, build_basket, product_mask
from keyaccount.domain import NO_CODE, Period, fen_to_yuan
from keyaccount.exceptions import ValidationError
from keyaccount.utils.display import html_table, money, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from keyaccount.portfolio import Portfolio

__all__ = [
    "GapKind",
    "GroupProduct",
    "GroupPurchases",
    "HierarchyGap",
    "group_purchases",
    "hierarchy_gaps",
]


def _as_of(portfolio: Portfolio, as_of: Period | str | None) -> Period:
    if as_of is not None:
        return Period.parse(as_of)
    span = portfolio.period_span
    if span is None:
        raise ValidationError("the portfolio has no revenue; give as_of explicitly")
    return span[1]


@attrs.frozen
class GroupProduct:
    """One product of a group's roll-up basket.

    Attributes:
        product_id: The product.
        revenue_fen: The group's window revenue from it (all members, fen).
        buyer_ids: Members (the group's customer first, then descendants
            breadth first) whose own basket holds it.
    """

    product_id: str
    revenue_fen: int
    buyer_ids: tuple[str, ...]

    @property
    def revenue(self) -> Decimal:
        """:attr:`revenue_fen` in yuan."""
        return fen_to_yuan(self.revenue_fen)

    def __repr__(self) -> str:
        size = f"{money(self.revenue_fen)} yuan, {number(len(self.buyer_ids))} buyers"
        return short_repr("GroupProduct", size, product=self.product_id)


@attrs.frozen
class GroupPurchases:
    """The roll-up of what a group buys.

    Attributes:
        customer_id: The group's top customer.
        as_of: The as-of month.
        member_ids: The customer and its descendants first seen by ``as_of``,
            breadth first.
        products: The roll-up basket, by revenue (descending), then product id.
    """

    customer_id: str
    as_of: Period
    member_ids: tuple[str, ...]
    products: tuple[GroupProduct, ...]

    @property
    def product_ids(self) -> tuple[str, ...]:
        """The products of the roll-up basket."""
        return tuple(p.product_id for p in self.products)

    def __repr__(self) -> str:
        size = f"{number(len(self.member_ids))} members, {len(self.products)} products"
        return short_repr("GroupPurchases", size, customer_id=self.customer_id, as_of=self.as_of)

    def _repr_html_(self) -> str:
        rows = ((p.product_id, money(p.revenue_fen), len(p.buyer_ids)) for p in self.products)
        headings = ("product", "window revenue (yuan)", "buyers")
        total = len(self.products)
        return html_table(headings, rows, total=total, caption=repr(self), unit="products")


def group_purchases(
    portfolio: Portfolio,
    customer_id: str,
    as_of: Period | str | None = None,
    *,
    window: int = DEFAULT_WINDOW,
) -> GroupPurchases:
    """What the group of ``customer_id`` (it and all its descendants) buys.

    Raises:
        UnknownCustomerError: ``customer_id`` is not in the portfolio, or first
            seen after ``as_of``.
    """
    period = _as_of(portfolio, as_of)
    rolled = build_basket(portfolio, period, window=window, rollup=True)
    own = build_basket(portfolio, period, window=window)
    root = rolled.row(customer_id)
    members = [customer_id, *(d for d in portfolio.descendants(customer_id) if d in own)]
    member_rows = np.array([own.row(m) for m in members], dtype=np.int64)
    lo, hi = int(rolled.revenue.indptr[root]), int(rolled.revenue.indptr[root + 1])
    cols = rolled.revenue.indices[lo:hi].tolist()
    fens = rolled.revenue.data[lo:hi].tolist()
    member_baskets = own.matrix[member_rows].toarray()
    products = [
        GroupProduct(
            product_id=own.product_ids[j],
            revenue_fen=int(fen),
            buyer_ids=tuple(
                m for m, buys in zip(members, member_baskets[:, j], strict=True) if buys
            ),
        )
        for j, fen in zip(cols, fens, strict=True)
    ]
    products.sort(key=lambda p: (-p.revenue_fen, p.product_id))
    return GroupPurchases(customer_id, period, tuple(members), tuple(products))


class GapKind(enum.Enum):
    """How a parent and its children differ on a product."""

    PARENT_ONLY = "parent_only"
    PARTIAL = "partial"


@attrs.frozen
class HierarchyGap:
    """A product on which a parent and its direct children differ.

    Attributes:
        parent_id: The parent account.
        product_id: The product.
        kind: :class:`GapKind`.
        parent_buys: Whether the parent's own basket holds it.
        buyer_ids: Children that buy it.
        non_buyer_ids: Children that do not: the leads.
    """

    parent_id: str
    product_id: str
    kind: GapKind
    parent_buys: bool
    buyer_ids: tuple[str, ...]
    non_buyer_ids: tuple[str, ...]

    def __repr__(self) -> str:
        children = len(self.buyer_ids) + len(self.non_buyer_ids)
        size = f"{number(len(self.buyer_ids))} of {number(children)} children buy"
        facts = {"parent_id": self.parent_id, "product": self.product_id, "kind": self.kind}
        return short_repr("HierarchyGap", size, f"parent buys: {self.parent_buys}", **facts)


def hierarchy_gaps(
    portfolio: Portfolio,
    as_of: Period | str | None = None,
    *,
    parents: Iterable[str] | None = None,
    products: Iterable[str] | None = None,
    window: int = DEFAULT_WINDOW,
) -> list[HierarchyGap]:
    """Products bought by a parent but none of its branches, or by some branches only.

    Args:
        portfolio: The portfolio.
        as_of: The as-of month (default: the last month with revenue).
        parents: Only these parents (default: every customer with children
            first seen by ``as_of``).
        products: Only these products.
        window: Months of the basket window.

    Returns:
        The gaps, by parent (portfolio order), then product id.

    Raises:
        UnknownCustomerError: a parent not in the portfolio or first seen after ``as_of``.
        UnknownProductError: a product not in the catalogue.
    """
    basket = build_basket(portfolio, _as_of(portfolio, as_of), window=window)
    n, k = basket.revenue.shape
    x = basket.matrix
    parent = basket.parent
    has_parent = parent != NO_CODE
    children = np.bincount(parent[has_parent], minlength=n)
    entry_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(x.indptr))
    keep = has_parent[entry_row]
    import scipy.sparse as sp  # here: importing the cross-sell package loads no scipy

    child_buyers = sp.csr_array(
        (np.ones(int(keep.sum()), np.int64), (parent[entry_row[keep]], x.indices[keep])),
        shape=(n, k),
    )
    child_buyers.sum_duplicates()
    wanted = (
        np.ones(k, dtype=bool)
        if products is None
        else product_mask(basket.product_ids, products, "hierarchy_gaps products")
    )
    if parents is None:
        parent_rows: npt.NDArray[np.int64] = np.flatnonzero(children > 0).astype(np.int64)
    else:
        parent_rows = np.array(sorted({basket.row(p) for p in parents}), dtype=np.int64)
    order = np.argsort(parent, kind="stable")
    start = np.searchsorted(parent[order], np.arange(n + 1))
    by_id = sorted(range(k), key=lambda j: basket.product_ids[j])
    ids = basket.customer_ids
    gaps: list[HierarchyGap] = []
    for row in parent_rows.tolist():
        n_kids = int(children[row])
        if n_kids == 0:
            continue
        counts = child_buyers[[row]].toarray()[0]
        own = x[[row]].toarray()[0]
        kids = order[start[row] : start[row + 1]]
        kid_baskets: npt.NDArray[np.bool_] | None = None
        for j in by_id:
            if not wanted[j]:
                continue
            c = int(counts[j])
            if c == 0 and own[j]:
                kind = GapKind.PARENT_ONLY
            elif 0 < c < n_kids:
                kind = GapKind.PARTIAL
            else:
                continue
            if kid_baskets is None:
                kid_baskets = x[kids].toarray()
            buys = kid_baskets[:, j]
            gaps.append(
                HierarchyGap(
                    parent_id=str(ids[row]),
                    product_id=basket.product_ids[j],
                    kind=kind,
                    parent_buys=bool(own[j]),
                    buyer_ids=tuple(str(i) for i in ids[kids[buys]]),
                    non_buyer_ids=tuple(str(i) for i in ids[kids[~buys]]),
                )
            )
    return gaps
