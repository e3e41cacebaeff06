"""Cross-sell recommendations with explanations, computed in bulk with sparse linear algebra.

For a customer ``c`` and a product ``p`` that ``c`` does not buy (its basket,
see :mod:`keyaccount.crosssell._basket`), four pieces of evidence, each in
``[0, 1]``:

- **peers**: ``peer_buyers / peers``, where the peers are the other customers
  of ``c``'s segment-and-tier cell (same segment, or both unassigned, and the
  same tier) and ``peer_buyers`` those of them whose basket holds ``p``.
- **rules**: the largest ``confidence(a -> p)`` over the products ``a`` in
  ``c``'s basket, counted only when ``lift(a -> p) > 1`` and at least
  ``min_co_buyers`` customers buy both (statistics over the customers active in
  the window, as in :func:`~keyaccount.crosssell.pair_statistics`). Ties go to
  the antecedent that comes first in the catalogue.
- **hierarchy**: ``1`` when ``c``'s parent account buys ``p``, else the share
  of ``c``'s siblings (the parent's other children) that buy it.
- **graph**: personalised PageRank from ``c`` on the customer-product
  purchase graph (restart probability ``1 - alpha``; edge weight 1, or the
  window revenue with ``proximity="revenue"``), divided by the largest such
  value among the products ``c`` does not buy. A customer that buys nothing
  has no walk: its graph evidence is the product's popularity (share of active
  customers that buy it) divided by the largest popularity, and the
  explanation says so.

``score = boost(p) * (w_peers * peers + w_rules * rules + w_hierarchy *
hierarchy + w_graph * graph)`` with the :class:`ScoreWeights`. Products the
customer buys, excluded products and products with score 0 are never
recommended; the rest are ranked by score, ties by product id.

The bulk path computes PageRank for every customer at once: on a bipartite
graph a walk from ``c`` is on products at odd steps, so the product part of
the PageRank vector is ``r_c @ G`` with ``r_c`` the customer's normalised edge
weights and ``G = (1 - alpha) * alpha * inv(I - alpha**2 * T)``, where ``T`` is
the product -> customer -> product transition matrix (``k x k``). No
per-customer graph walk is made; :func:`networkx_proximity` is the
per-customer networkx path, kept as the contrast and the test oracle.
"""

from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.crosssell._basket import DEFAULT_WINDOW, Basket, build_basket, product_mask
from keyaccount.crosssell._copurchase import PairStatistics, pair_statistics
from keyaccount.crosssell._explain import (
    SEPARATOR,
    Explained,
    boost_reason,
    child_buyers,
    explanation_pieces,
    fallback_reason,
    head,
    parent_reason,
    peer_reason,
    proximity_reason,
    rule_reason,
    score_text,
    sibling_reason,
)
from keyaccount.crosssell._explain import figure as _figure
from keyaccount.crosssell._graph import customer_node, product_node
from keyaccount.domain import NO_CODE, SEGMENTS, TIERS, Period, Segment, Tier, check_lang
from keyaccount.exceptions import (
    UnknownCustomerError,
    UnknownProductError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.portfolio import frames as fr
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import networkx as nx
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    import scipy.sparse as sp

    from keyaccount.portfolio import Portfolio
    from keyaccount.portfolio.texts import TextColumn

__all__ = [
    "CrossSellModel",
    "Evidence",
    "Recommendation",
    "RecommendationTable",
    "ScoreWeights",
    "networkx_proximity",
    "purchase_graph",
    "recommend",
    "recommend_all",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Proximity = Literal["binary", "revenue"]
DEFAULT_CHUNK = 50_000
EXPLAIN_CHUNK = 1 << 17
"""Recommendations explained at a time: the figures of a chunk stay in the caches."""


def _check_weight(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(
            f"score weight {attribute.name} must be finite and >= 0, got {value!r}"
        )


@attrs.frozen
class ScoreWeights:
    """Weights of the four kinds of evidence in the score (see the module docstring).

    Attributes:
        peers: Share of segment-and-tier peers that buy the product.
        rules: Confidence of the best rule from a product the customer buys.
        hierarchy: Parent buys it, or share of sibling accounts that do.
        graph: Personalised PageRank proximity (or popularity for customers
            that buy nothing).
    """

    peers: float = attrs.field(default=0.35, validator=_check_weight)
    rules: float = attrs.field(default=0.25, validator=_check_weight)
    hierarchy: float = attrs.field(default=0.15, validator=_check_weight)
    graph: float = attrs.field(default=0.25, validator=_check_weight)

    def __attrs_post_init__(self) -> None:
        if self.peers + self.rules + self.hierarchy + self.graph <= 0:
            raise ValidationError("score weights are all zero; at least one must be positive")


@attrs.frozen
class Evidence:
    """The figures behind one recommendation; every figure can be recomputed from the data.

    Attributes:
        segment: The customer's segment (``None``: unassigned).
        tier: The customer's tier.
        peers: Other customers in the same segment-and-tier cell.
        peer_buyers: Of them, those that buy the product.
        rule_product: The product the customer buys that gives the best rule,
            or ``None`` when no rule with lift > 1 applies.
        rule_confidence: ``confidence(rule_product -> product)``.
        rule_lift: ``lift(rule_product -> product)``.
        rule_co_buyers: Active customers that buy both.
        rule_antecedent_buyers: Active customers that buy ``rule_product``.
        active_customers: Active customers (the rule statistics' transactions).
        parent_id: The parent account, if any.
        parent_buys: Whether the parent buys the product.
        sibling_ids: The parent's other children.
        sibling_buyer_ids: Those of them that buy the product.
        proximity: Personalised PageRank of the product from the customer (0
            for a customer that buys nothing).
        popularity: Share of active customers that buy the product.
        graph_fallback: The customer buys nothing, so the graph evidence is
            popularity instead of proximity.
        peer_component: ``peer_buyers / peers`` (0 without peers).
        rule_component: ``rule_confidence`` (0 without a rule).
        hierarchy_component: 1 if the parent buys, else the sibling share.
        graph_component: Proximity (or popularity) over the largest among the
            products the customer does not buy.
        boost: Campaign factor applied to the weighted sum.
        rule_product_name: The English name of ``rule_product`` (``None`` without a rule).
        rule_product_name_zh: Its Chinese name, which Chinese reasons cite.
    """

    segment: Segment | None
    tier: Tier
    peers: int
    peer_buyers: int
    rule_product: str | None
    rule_confidence: float | None
    rule_lift: float | None
    rule_co_buyers: int | None
    rule_antecedent_buyers: int | None
    active_customers: int
    parent_id: str | None
    parent_buys: bool
    sibling_ids: tuple[str, ...]
    sibling_buyer_ids: tuple[str, ...]
    proximity: float
    popularity: float
    graph_fallback: bool
    peer_component: float
    rule_component: float
    hierarchy_component: float
    graph_component: float
    boost: float
    rule_product_name: str | None = None
    rule_product_name_zh: str | None = None

    @property
    def peer_share(self) -> float | None:
        """``peer_buyers / peers``, ``None`` without peers."""
        return self.peer_buyers / self.peers if self.peers else None

    def __repr__(self) -> str:
        size = (
            f"{number(self.peer_buyers)} of {number(self.peers)} peers buy",
            f"rule from {self.rule_product} (confidence {_figure(self.rule_confidence or 0)})"
            if self.rule_product
            else "no rule",
            f"{len(self.sibling_buyer_ids)} of {len(self.sibling_ids)} siblings buy",
            f"proximity {_figure(self.proximity)}",
        )
        return short_repr("Evidence", *size, segment=self.segment, tier=self.tier)


@attrs.frozen
class Recommendation:
    """One product recommended to one customer.

    Attributes:
        customer_id: The customer.
        product_id: The product it does not buy yet.
        product_name: The product's display name (English).
        product_name_zh: The product's Chinese name.
        rank: 1 for the best.
        score: See the module docstring.
        evidence: The figures behind the score.
    """

    customer_id: str
    product_id: str
    product_name: str
    product_name_zh: str
    rank: int
    score: float
    evidence: Evidence

    def reasons(self, lang: str = "en") -> tuple[str, ...]:
        """One sentence per piece of evidence, each citing its figures.

        ``"zh"`` names products by their Chinese names and uses full-width punctuation;
        customer ids are cited as they are.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return _reasons(self.evidence, check_lang(lang, where="Recommendation.reasons"))

    def __repr__(self) -> str:
        facts = {"customer_id": self.customer_id, "rank": self.rank, "product": self.product_id}
        return short_repr("Recommendation", f"score {self.score:.4f}", **facts)

    def explanation(self, lang: str = "en") -> str:
        """The reasons as one paragraph.

        ``"en"``: ``Recommend Court express (court_express), score 0.4321: ...``;
        ``"zh"``: ``推荐法院专递，得分 0.4321：...`` (the product by its Chinese name only).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        lang = check_lang(lang, where="Recommendation.explanation")
        start = head(lang, self.product_id, self.product_name, self.product_name_zh)
        return start + score_text(lang, self.score) + SEPARATOR[lang].join(self.reasons(lang))


def _reasons(ev: Evidence, lang: str) -> tuple[str, ...]:
    """The sentences of :mod:`keyaccount.crosssell._explain` for one recommendation's evidence."""
    out: list[str] = []
    if ev.peer_buyers:
        out.append(peer_reason(lang, ev.peer_buyers, ev.peers, ev.segment, ev.tier))
    if ev.rule_product is not None:
        assert ev.rule_confidence is not None
        assert ev.rule_lift is not None
        assert ev.rule_co_buyers is not None
        assert ev.rule_antecedent_buyers is not None
        out.append(
            rule_reason(
                lang,
                ev.rule_co_buyers,
                ev.rule_antecedent_buyers,
                ev.rule_product,
                ev.rule_product_name_zh,
                ev.rule_confidence,
                ev.rule_lift,
            )
        )
    if ev.parent_buys:
        assert ev.parent_id is not None
        out.append(parent_reason(lang, ev.parent_id))
    if ev.sibling_buyer_ids:
        buyers = ev.sibling_buyer_ids
        out.append(sibling_reason(lang, buyers, len(buyers), len(ev.sibling_ids)))
    if ev.graph_fallback:
        out.append(fallback_reason(lang, ev.popularity))
    elif ev.proximity > 0:
        out.append(proximity_reason(lang, ev.proximity, ev.graph_component))
    if ev.boost != 1.0:
        out.append(boost_reason(lang, ev.boost))
    return tuple(out)


@attrs.frozen
class _Adjustments:
    """Exclusions and boosts resolved to product columns."""

    boost: F64
    excluded: npt.NDArray[np.bool_]
    by_province: tuple[tuple[str, npt.NDArray[np.bool_]], ...]


def _adjustments(
    product_ids: tuple[str, ...],
    exclude: Iterable[str],
    exclude_in_province: Mapping[str, Iterable[str]] | None,
    boost: Mapping[str, float] | None,
) -> _Adjustments:
    factors = np.ones(len(product_ids), dtype=np.float64)
    for p, factor in (boost or {}).items():
        if p not in product_ids:
            raise UnknownProductError(f"unknown product {p!r} in boost")
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isfinite(factor)
            or factor <= 0
        ):
            raise ValidationError(f"boost of {p!r} must be a finite number > 0, got {factor!r}")
        factors[product_ids.index(p)] = float(factor)
    provinces = tuple(
        (str(prov).strip(), product_mask(product_ids, ps, f"exclusions for province {prov!r}"))
        for prov, ps in (exclude_in_province or {}).items()
    )
    return _Adjustments(factors, product_mask(product_ids, exclude, "exclude"), provinces)


@attrs.frozen(eq=False)
class CrossSellModel:
    """Everything needed to score every customer, fitted once from a portfolio.

    Build it with :meth:`fit`; it holds sparse matrices and ``k x k`` tables,
    never a customers x customers matrix.

    Attributes:
        basket: The baskets as of the model's month.
        pairs: Pair co-purchase statistics over the active customers.
        weights: Evidence weights.
        alpha: PageRank damping (probability of following an edge).
        proximity: ``"binary"`` (edge weight 1) or ``"revenue"`` (window fen).
        min_co_buyers: Fewest customers buying both products for a rule to count.
        groups: Project group id to the ids of its customers.
    """

    basket: Basket
    pairs: PairStatistics
    weights: ScoreWeights
    alpha: float
    proximity: Proximity
    min_co_buyers: int
    groups: Mapping[str, frozenset[str]]
    _x: sp.csr_array = attrs.field(init=False, repr=False)
    _child_order: I64 = attrs.field(init=False, repr=False)
    _child_start: I64 = attrs.field(init=False, repr=False)
    _cell: I64 = attrs.field(init=False, repr=False)
    _cell_size: I64 = attrs.field(init=False, repr=False)
    _cell_buyers: I64 = attrs.field(init=False, repr=False)
    _children: I64 = attrs.field(init=False, repr=False)
    _child_buyers: sp.csr_array = attrs.field(init=False, repr=False)
    _rule_confidence: F64 = attrs.field(init=False, repr=False)
    _lift: F64 = attrs.field(init=False, repr=False)
    _walk_rows: sp.csr_array = attrs.field(init=False, repr=False)
    _walk: F64 = attrs.field(init=False, repr=False)
    _popularity: F64 = attrs.field(init=False, repr=False)
    _by_id: I64 = attrs.field(init=False, repr=False)

    @classmethod
    def fit(
        cls,
        portfolio: Portfolio,
        as_of: Period | str | None = None,
        *,
        window: int = DEFAULT_WINDOW,
        weights: ScoreWeights | None = None,
        alpha: float = 0.85,
        proximity: Proximity = "binary",
        min_co_buyers: int = 1,
    ) -> CrossSellModel:
        """Fit the model to ``portfolio`` as of ``as_of``.

        Args:
            portfolio: The portfolio.
            as_of: The as-of month (default: the last month with revenue).
            window: Months of the basket window.
            weights: Evidence weights (default :class:`ScoreWeights`).
            alpha: PageRank damping in ``(0, 1)``.
            proximity: Edge weights of the walk: ``"binary"`` or ``"revenue"``.
            min_co_buyers: Fewest co-buyers for a rule to count (>= 1).

        Raises:
            ValidationError: a parameter out of range, or no ``as_of`` and no revenue.
        """
        if as_of is None:
            span = portfolio.period_span
            if span is None:
                raise ValidationError("the portfolio has no revenue; give as_of explicitly")
            as_of = span[1]
        basket = build_basket(portfolio, as_of, window=window, volume=False)
        groups = {g.id: g.customer_ids for g in portfolio.project_groups}
        return cls(
            basket=basket,
            pairs=pair_statistics(basket),
            weights=weights if weights is not None else ScoreWeights(),
            alpha=alpha,
            proximity=proximity,
            min_co_buyers=min_co_buyers,
            groups=groups,
        )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.alpha, int | float) or not 0.0 < self.alpha < 1.0:
            raise ValidationError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if self.proximity not in ("binary", "revenue"):
            raise ValidationError(
                f"proximity must be 'binary' or 'revenue', got {self.proximity!r}"
            )
        if isinstance(self.min_co_buyers, bool) or self.min_co_buyers < 1:
            raise ValidationError(f"min_co_buyers must be >= 1, got {self.min_co_buyers!r}")
        b = self.basket
        n, k = b.revenue.shape
        x = b.matrix
        entry_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(x.indptr))
        cell = (b.segment.astype(np.int64) + 1) * len(TIERS) + b.tier.astype(np.int64)
        n_cells = (len(SEGMENTS) + 1) * len(TIERS)
        cell_buyers = np.bincount(cell[entry_row] * k + x.indices, minlength=n_cells * k)
        parent = b.parent
        has_parent = parent != NO_CODE
        children = np.bincount(parent[has_parent], minlength=n).astype(np.int64)
        entry_has = has_parent[entry_row]
        import scipy.sparse as sp  # here: importing the cross-sell package loads no scipy

        child_buyers = sp.csr_array(
            (
                np.ones(int(entry_has.sum()), dtype=np.int64),
                (parent[entry_row[entry_has]], x.indices[entry_has]),
            ),
            shape=(n, k),
        )
        child_buyers.sum_duplicates()

        pairs = self.pairs
        with np.errstate(divide="ignore", invalid="ignore"):
            conf = pairs.confidence
            lift = pairs.lift
        usable = (pairs.counts >= self.min_co_buyers) & (lift > 1.0) & np.isfinite(conf)
        np.fill_diagonal(usable, False)
        rule_conf = np.where(usable, conf, 0.0)

        weight = (
            b.revenue.astype(np.float64) if self.proximity == "revenue" else x.astype(np.float64)
        )
        deg_c = np.asarray(weight.sum(axis=1)).ravel()
        deg_p = np.asarray(weight.sum(axis=0)).ravel()
        inv_c = np.divide(1.0, deg_c, out=np.zeros_like(deg_c), where=deg_c > 0)
        inv_p = np.divide(1.0, deg_p, out=np.zeros_like(deg_p), where=deg_p > 0)
        walk_rows = sp.csr_array(sp.diags_array(inv_c) @ weight)
        product_to_product = (weight.T @ walk_rows).toarray() * inv_p[:, None]
        a = float(self.alpha)
        walk = (1.0 - a) * a * np.linalg.inv(np.eye(k) - a * a * product_to_product)

        popularity = pairs.item_support
        object.__setattr__(self, "_x", x)
        order = np.argsort(parent, kind="stable")
        object.__setattr__(self, "_child_order", order)
        object.__setattr__(
            self, "_child_start", np.searchsorted(parent[order], np.arange(n + 1), side="left")
        )
        object.__setattr__(self, "_cell", cell)
        object.__setattr__(self, "_cell_size", np.bincount(cell, minlength=n_cells))
        object.__setattr__(self, "_cell_buyers", cell_buyers.reshape(n_cells, k))
        object.__setattr__(self, "_children", children)
        object.__setattr__(self, "_child_buyers", child_buyers)
        object.__setattr__(self, "_rule_confidence", rule_conf)
        object.__setattr__(self, "_lift", lift)
        object.__setattr__(self, "_walk_rows", walk_rows)
        object.__setattr__(self, "_walk", walk)
        object.__setattr__(self, "_popularity", popularity)
        by_id = np.array(sorted(range(k), key=lambda j: b.product_ids[j]), dtype=np.int64)
        object.__setattr__(self, "_by_id", by_id)

    # ------------------------------------------------------------------ scoring

    @property
    def as_of(self) -> Period:
        """The model's as-of month."""
        return self.basket.as_of

    def __repr__(self) -> str:
        b = self.basket
        size = f"{number(len(b))} customers, {len(b.product_ids)} products"
        facts = {"as_of": b.as_of, "window": b.window, "proximity": self.proximity}
        return short_repr("CrossSellModel", size, f"{len(self.groups)} project groups", **facts)

    def children_of(self, row: int) -> I64:
        """Rows of the children of ``row`` (ascending)."""
        kids: I64 = self._child_order[self._child_start[row] : self._child_start[row + 1]]
        return kids

    def proximity_scores(self, rows: I64) -> F64:
        """Personalised PageRank of every product from each of ``rows`` (``len(rows) x k``)."""
        out: F64 = np.asarray(self._walk_rows[rows] @ self._walk, dtype=np.float64)
        return out

    def _score(self, rows: I64, adj: _Adjustments, top: int) -> RecommendationTable:
        """The top ``top`` recommendations of ``rows`` (one chunk), with their evidence."""
        b = self.basket
        m = rows.shape[0]
        k = len(b.product_ids)
        x = self._x[rows]
        owned = x.toarray()
        w = self.weights

        # peers: the other customers of the cell; a cell of one has no peers and
        # no peer buyers, so dividing by max(peers, 1) gives 0 there
        cell = self._cell[rows]
        peers = self._cell_size[cell] - 1
        peer_buyers = self._cell_buyers[cell] - owned
        peer_c = peer_buyers / np.maximum(peers, 1)[:, None]

        rule_c, rule_src = self._best_rules(x, m, k)

        parent = b.parent[rows]
        has_parent = parent != NO_CODE
        parent_buys = np.zeros((m, k), dtype=bool)
        sib_buyers = np.zeros((m, k), dtype=np.int64)
        hier_c = np.zeros((m, k), dtype=np.float64)
        if has_parent.any():
            par = parent[has_parent]
            siblings = self._children[par] - 1
            parent_buys[has_parent] = self._x[par].toarray()
            sib_buyers[has_parent] = self._child_buyers[par].toarray() - owned[has_parent]
            share = sib_buyers[has_parent] / np.maximum(siblings, 1)[:, None]
            hier_c[has_parent] = np.maximum(parent_buys[has_parent], share)

        # graph: proximity over the largest proximity among products not bought; a
        # customer that buys nothing has no walk and uses popularity instead
        proximity = self.proximity_scores(rows)
        empty = ~owned.any(axis=1)
        raw = proximity.copy()
        if empty.any():
            raw[empty] = self._popularity
        top_raw = np.max(raw, axis=1, where=~owned, initial=0.0)
        graph_c = raw / np.where(top_raw > 0, top_raw, 1.0)[:, None]

        score = w.peers * peer_c
        score += w.rules * rule_c
        score += w.hierarchy * hier_c
        score += w.graph * graph_c
        score *= adj.boost[None, :]
        blocked = owned | adj.excluded[None, :]
        if adj.by_province:
            provinces = b.province[rows]
            for prov, mask in adj.by_province:
                blocked[provinces == prov] |= mask
        blocked |= ~(score > 0)
        score[blocked] = -np.inf

        # best first; ties go to the smaller product id: columns in id order and
        # argmax takes the first of equal maxima
        by_id = self._by_id
        ordered = score[:, by_id]
        r1 = np.arange(m)
        product = np.zeros((m, top), dtype=np.int64)
        chosen = np.full((m, top), -np.inf, dtype=np.float64)
        for t in range(top):
            pick = ordered.argmax(axis=1) if k else np.zeros(m, dtype=np.int64)
            chosen[:, t] = ordered[r1, pick]
            product[:, t] = by_id[pick]
            ordered[r1, pick] = -np.inf
        valid = np.isfinite(chosen)
        r = r1[:, None]

        def take(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            return np.where(valid, a[r, product], fill)

        return RecommendationTable(
            model=self,
            rows=rows,
            product=np.where(valid, product, -1).astype(np.int32),
            score=np.where(valid, chosen, np.nan),
            peer_buyers=take(peer_buyers, 0).astype(np.int32),
            rule_source=take(rule_src, -1).astype(np.int32),
            rule_confidence=take(rule_c, 0.0),
            parent_buys=take(parent_buys, False),
            sibling_buyers=take(sib_buyers, 0).astype(np.int32),
            proximity=np.where(valid & ~empty[:, None], proximity[r, product], 0.0),
            graph_component=take(graph_c, 0.0),
            boost=adj.boost,
        )

    def _best_rules(self, x: sp.csr_array, m: int, k: int) -> tuple[F64, npt.NDArray[np.int32]]:
        """Best rule confidence per row and product, and its antecedent column (``-1``: none).

        Slot ``s`` holds each row's ``s``-th owned product (CSR order, which is
        catalogue order); a later antecedent replaces an earlier one only when
        strictly better, so ties go to the one first in the catalogue.
        """
        rule_c = np.zeros((m, k), dtype=np.float64)
        rule_src = np.full((m, k), -1, dtype=np.int32)
        counts = np.diff(x.indptr)
        for slot in range(int(counts.max(initial=0))):
            rows = np.flatnonzero(counts > slot)
            owned = x.indices[x.indptr[rows] + slot].astype(np.int32)[:, None]
            cand = self._rule_confidence[owned[:, 0]]
            if slot == 0:  # nothing to compare with yet
                rule_c[rows] = cand
                rule_src[rows] = np.where(cand > 0, owned, -1)
                continue
            current = rule_c[rows]
            better = cand > current
            np.copyto(current, cand, where=better)
            rule_c[rows] = current
            source = rule_src[rows]
            np.copyto(source, owned, where=better)
            rule_src[rows] = source
        return rule_c, rule_src

    # ------------------------------------------------------------------ queries

    def rows_for(
        self,
        *,
        customers: Iterable[str] | None = None,
        segment: Segment | str | None = None,
        tier: Tier | str | None = None,
        project_group: str | None = None,
    ) -> I64:
        """Rows selected by all the given filters (all rows when none is given), ascending.

        Raises:
            UnknownCustomerError: a customer not in the model.
            UnknownProjectGroupError: (a ``KeyError``) an unknown project group.
        """
        b = self.basket
        keep = np.ones(len(b), dtype=bool)
        if customers is not None:
            sel = np.zeros(len(b), dtype=bool)
            sel[[b.row(c) for c in customers]] = True
            keep &= sel
        if segment is not None:
            keep &= b.segment == SEGMENTS.index(Segment.parse(segment))
        if tier is not None:
            keep &= b.tier == Tier.parse(tier).rank
        if project_group is not None:
            if project_group not in self.groups:
                raise UnknownProjectGroupError(f"unknown project group {project_group!r}")
            sel = np.zeros(len(b), dtype=bool)
            members = [c for c in self.groups[project_group] if c in b]
            sel[[b.row(c) for c in members]] = True
            keep &= sel
        return np.flatnonzero(keep).astype(np.int64)

    def recommend(
        self,
        customer_id: str,
        k: int = 5,
        *,
        exclude: Iterable[str] = (),
        exclude_in_province: Mapping[str, Iterable[str]] | None = None,
        boost: Mapping[str, float] | None = None,
    ) -> list[Recommendation]:
        """The top ``k`` products for one customer, best first (same numbers as the bulk path).

        Raises:
            UnknownCustomerError: the customer is not in the model.
            UnknownProductError: an excluded or boosted product not in the catalogue.
        """
        table = self.recommend_all(
            k,
            customers=[customer_id],
            exclude=exclude,
            exclude_in_province=exclude_in_province,
            boost=boost,
        )
        return table.for_customer(customer_id)

    def recommend_all(
        self,
        k: int = 5,
        *,
        customers: Iterable[str] | None = None,
        segment: Segment | str | None = None,
        tier: Tier | str | None = None,
        project_group: str | None = None,
        exclude: Iterable[str] = (),
        exclude_in_province: Mapping[str, Iterable[str]] | None = None,
        boost: Mapping[str, float] | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> RecommendationTable:
        """The top ``k`` products of every selected customer, with their evidence, in bulk.

        Args:
            k: Recommendations per customer (fewer when fewer products score above 0).
            customers: Only these customers.
            segment: Only customers of this segment.
            tier: Only customers of this tier.
            project_group: Only customers of this project group.
            exclude: Products never to recommend (compliance, withdrawn).
            exclude_in_province: Province -> products not sold there.
            boost: Product -> factor (> 0) multiplying its score (a campaign).
            chunk_size: Customers scored at a time; bounds peak memory at about
                ``chunk_size * products * 120`` bytes.

        Returns:
            A :class:`RecommendationTable`; its explanations are made on demand.

        Raises:
            ValidationError: ``k`` or ``chunk_size`` below 1, or a bad boost.
            UnknownProductError: an excluded or boosted product not in the catalogue.
            UnknownCustomerError: a customer not in the model.
            UnknownProjectGroupError: (a ``KeyError``) an unknown project group.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValidationError(f"k must be a whole number >= 1, got {k!r}")
        if chunk_size < 1:
            raise ValidationError(f"chunk_size must be >= 1, got {chunk_size!r}")
        adj = _adjustments(self.basket.product_ids, exclude, exclude_in_province, boost)
        rows = self.rows_for(
            customers=customers, segment=segment, tier=tier, project_group=project_group
        )
        top = min(k, len(self.basket.product_ids))
        if rows.shape[0] <= chunk_size:
            return self._score(rows, adj, top)
        chunks = (
            self._score(rows[lo : lo + chunk_size], adj, top)
            for lo in range(0, rows.shape[0], chunk_size)
        )
        return _stacked(chunks, rows.shape[0])


@attrs.frozen(eq=False)
class RecommendationTable:
    """Top-k recommendations of many customers, as arrays (``customers x k``, ``-1`` padded).

    Attributes:
        model: The model that scored them.
        rows: Model row of each customer (see :attr:`customer_ids`).
        product: Product column of each recommendation (``-1``: none).
        score: Scores (NaN where there is none).
        peer_buyers: Evidence of each recommendation (see :class:`Evidence`): peer buyers.
        rule_source: Evidence: the product column of the rule's product (``-1``: no rule).
        rule_confidence: Evidence: the confidence of that rule.
        parent_buys: Evidence: whether the parent buys the product.
        sibling_buyers: Evidence: how many siblings buy the product.
        proximity: Evidence: the product's proximity in the graph.
        graph_component: Evidence: the graph component of the score.
        boost: Boost factor of every product column.
    """

    model: CrossSellModel
    rows: I64
    product: npt.NDArray[np.int32]
    score: F64
    peer_buyers: npt.NDArray[np.int32]
    rule_source: npt.NDArray[np.int32]
    rule_confidence: F64
    parent_buys: npt.NDArray[np.bool_]
    sibling_buyers: npt.NDArray[np.int32]
    proximity: F64
    graph_component: F64
    boost: F64

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def customer_ids(self) -> npt.NDArray[np.object_]:
        """Customer id of each row of the table."""
        ids: npt.NDArray[np.object_] = self.model.basket.customer_ids[self.rows]
        return ids

    @property
    def count(self) -> int:
        """Recommendations in the table."""
        return int((self.product >= 0).sum())

    def __repr__(self) -> str:
        size = f"{number(len(self))} customers, {number(self.count)} recommendations"
        k = self.product.shape[1] if self.product.ndim == 2 else None
        return short_repr("RecommendationTable", size, as_of=self.model.as_of, k=k)

    def _repr_html_(self) -> str:
        some = np.flatnonzero((self.product >= 0).reshape(len(self), -1).any(axis=1))
        head = (r for i in some[:HEAD_ROWS].tolist() for r in self._recommendations(i))
        rows = (
            (r.customer_id, r.rank, r.product_id, r.product_name_zh, r.score, *r.reasons()[:1])
            for r in head
        )
        headings = ("customer_id", "rank", "product", "产品", "score", "first reason")
        return html_table(headings, rows, total=self.count, caption=repr(self), unit="rows")

    def _index(self, customer_id: str) -> int:
        row = self.model.basket.row(customer_id)
        at = int(np.searchsorted(self.rows, row))
        if at >= len(self) or int(self.rows[at]) != row:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this table")
        return at

    def for_customer(self, customer_id: str) -> list[Recommendation]:
        """The recommendations of one customer, best first, with their evidence."""
        return self._recommendations(self._index(customer_id))

    def __iter__(self) -> Iterator[tuple[str, list[Recommendation]]]:
        ids = self.customer_ids  # once: the property gathers every row's id
        for i in range(len(self)):
            yield str(ids[i]), self._recommendations(i)

    def _recommendations(self, i: int) -> list[Recommendation]:
        model = self.model
        b = model.basket
        row = int(self.rows[i])
        pairs = model.pairs
        seg_code = int(b.segment[row])
        segment = None if seg_code == NO_CODE else SEGMENTS[seg_code]
        tier = TIERS[int(b.tier[row])]
        peers = int(model._cell_size[model._cell[row]]) - 1
        parent = int(b.parent[row])
        parent_id = None if parent == NO_CODE else str(b.customer_ids[parent])
        siblings = np.empty(0, dtype=np.int64)
        if parent != NO_CODE:
            kids = model.children_of(parent)
            siblings = kids[kids != row]
        sibling_ids: npt.NDArray[np.object_] = b.customer_ids[siblings]
        sibling_names = tuple(str(s) for s in sibling_ids.tolist())
        sibling_baskets = model._x[siblings].toarray() if siblings.size else None
        empty = int(b.revenue.indptr[row + 1]) == int(b.revenue.indptr[row])
        out: list[Recommendation] = []
        for rank, j in enumerate(self.product[i].tolist(), start=1):
            if j < 0:
                break
            src = int(self.rule_source[i, rank - 1])
            conf = float(self.rule_confidence[i, rank - 1])
            sib_buyers: tuple[str, ...] = ()
            if sibling_baskets is not None:
                sib_buyers = tuple(str(s) for s in sibling_ids[sibling_baskets[:, j]].tolist())
            peer_buyers = int(self.peer_buyers[i, rank - 1])
            peer_c = peer_buyers / peers if peers > 0 else 0.0
            sib_c = len(sib_buyers) / len(sibling_names) if sibling_names else 0.0
            parent_buys = bool(self.parent_buys[i, rank - 1])
            source = None if src < 0 else b.catalog.products[src]
            ev = Evidence(
                segment=segment,
                tier=tier,
                peers=max(peers, 0),
                peer_buyers=peer_buyers,
                rule_product=None if src < 0 else b.product_ids[src],
                rule_confidence=None if src < 0 else conf,
                rule_lift=None if src < 0 else float(model._lift[src, j]),
                rule_co_buyers=None if src < 0 else int(pairs.counts[src, j]),
                rule_antecedent_buyers=None if src < 0 else int(pairs.counts[src, src]),
                active_customers=pairs.transactions,
                parent_id=parent_id,
                parent_buys=parent_buys,
                sibling_ids=sibling_names,
                sibling_buyer_ids=sib_buyers,
                proximity=float(self.proximity[i, rank - 1]),
                popularity=float(model._popularity[j]),
                graph_fallback=bool(empty),
                peer_component=peer_c,
                rule_component=conf if src >= 0 else 0.0,
                hierarchy_component=max(float(parent_buys), sib_c),
                graph_component=float(self.graph_component[i, rank - 1]),
                boost=float(self.boost[j]),
                rule_product_name=None if source is None else source.name_en,
                rule_product_name_zh=None if source is None else source.name_zh,
            )
            product = b.catalog.products[j]
            out.append(
                Recommendation(
                    customer_id=str(b.customer_ids[row]),
                    product_id=b.product_ids[j],
                    product_name=product.name_en,
                    product_name_zh=product.name_zh,
                    rank=rank,
                    score=float(self.score[i, rank - 1]),
                    evidence=ev,
                )
            )
        return out

    def _explained(self, flat: I64, buyers: tuple[I64, I64]) -> Explained:
        """What the explanations of the ``flat`` positions of the ``customers x k`` grid cite."""
        model = self.model
        b = model.basket
        rows = self.rows[flat // max(self.product.shape[-1], 1)]

        def at(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return values.reshape(-1)[flat]

        j = at(self.product).astype(np.int64)
        src = at(self.rule_source).astype(np.int64)
        s0 = np.maximum(src, 0)
        counts = model.pairs.counts
        cell = model._cell[rows]
        parent = b.parent[rows].astype(np.int64)
        indptr = b.revenue.indptr
        return Explained(
            product=j,
            score=at(self.score),
            segment=b.segment[rows].astype(np.int64),
            tier=b.tier[rows].astype(np.int64),
            cell=cell,
            peers=np.maximum(model._cell_size[cell] - 1, 0),
            peer_buyers=at(self.peer_buyers).astype(np.int64),
            source=src,
            co_buyers=np.asarray(counts[s0, j], dtype=np.int64),
            source_buyers=np.asarray(counts[s0, s0], dtype=np.int64),
            confidence=at(self.rule_confidence),
            lift=model._lift[s0, j],
            parent=parent,
            parent_buys=at(self.parent_buys),
            sibling_buyers=at(self.sibling_buyers).astype(np.int64),
            siblings=np.where(parent >= 0, model._children[np.maximum(parent, 0)] - 1, 0),
            empty=indptr[rows + 1] == indptr[rows],
            proximity=at(self.proximity),
            component=at(self.graph_component),
            product_ids=b.product_ids,
            names=tuple(p.name_en for p in b.catalog.products),
            names_zh=tuple(p.name_zh for p in b.catalog.products),
            popularity=model._popularity,
            boost=self.boost,
            customer_ids=b.customer_ids,
            buyers=buyers,
        )

    def _explanation_column(self, lang: str, picked: Any = None) -> TextColumn:
        """The texts of the recommendations (``picked`` of them), keyed a chunk at a time."""
        from keyaccount.portfolio.texts import ChunkedPieces

        flat = np.flatnonzero(self.product.reshape(-1) >= 0)
        if picked is not None:
            flat = flat[picked]
        b = self.model.basket
        x = self.model._x
        buyers = child_buyers(x.indptr, x.indices, b.parent.astype(np.int64), len(b.product_ids))
        pieces = ChunkedPieces(int(flat.shape[0]))
        for lo in range(0, flat.shape[0], EXPLAIN_CHUNK):
            pieces.start(lo)
            chunk = self._explained(flat[lo : lo + EXPLAIN_CHUNK], buyers)
            explanation_pieces(pieces, chunk, lang, lo)
        return pieces.column()

    def explanations(
        self, lang: str = "en", *, rows: slice | npt.ArrayLike | None = None
    ) -> TextColumn:
        """The explanation text of every recommendation (or of ``rows``), made over the columns.

        One text per recommendation in the order of :meth:`to_pandas`'s rows
        (customer by customer, best first), each equal to
        :meth:`Recommendation.explanation` of that recommendation. Every sentence is
        formatted once per distinct value of what it cites (the product, the cell and
        its peer buyers, the rule, the parent, the rounded figures); the result holds
        those sentences and a code per recommendation, and joins a row's text when it
        is asked for: ``texts[i]`` is one ``str``, ``texts.tolist()`` (or iteration,
        or ``numpy.asarray(texts)``) makes every ``str``, and ``texts.to_arrow()`` a
        pyarrow ``string`` array joined in Arrow without a Python string per row (what
        the frames' ``explanation`` column uses).

        Args:
            lang: ``"en"`` or ``"zh"``.
            rows: Only these recommendations: a slice, integer positions or a boolean
                mask over :meth:`to_pandas`'s rows (a page, the first ``n``); only
                their figures are keyed and formatted.

        Returns:
            A :class:`~keyaccount.portfolio.texts.TextColumn`: a read-only sequence of
            ``str``.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
            IndexError: a position in ``rows`` out of range.

        Example:
            >>> from keyaccount.demo import generate
            >>> table = recommend_all(generate(customers=50, months=24), 3)
            >>> texts = table.explanations("en", rows=slice(0, 2))
            >>> len(texts), texts[0] == next(iter(table))[1][0].explanation("en")
            (2, True)
        """
        lang = check_lang(lang, where="RecommendationTable.explanations")
        return self._explanation_column(lang, rows)

    def _frame(self, explanations: bool, lang: str, where: str, *, arrow: bool = False) -> fr.Frame:
        check_lang(lang, where=where)
        valid = self.product >= 0
        cust, rank = np.nonzero(valid)
        ids = self.model.basket.product_ids
        src = self.rule_source[valid]
        prod = self.product[valid]
        rows = self.rows[cust]
        basket = self.model.basket
        columns = [
            fr.text("customer_id", self.customer_ids[cust]),
            fr.segment("segment", basket.segment[rows], lang),
            fr.tier("tier", basket.tier[rows], lang),
            fr.integer("rank", rank + 1),
            fr.key("product_id", prod, ids),
            fr.ratio("score", self.score[valid]),
            fr.integer("peer_buyers", self.peer_buyers[valid]),
            fr.key("rule_product", src, ids),
            fr.ratio("rule_confidence", self.rule_confidence[valid], src < 0),
            fr.ratio("rule_lift", self.model._lift[np.maximum(src, 0), prod], src < 0),
            fr.flag("parent_buys", self.parent_buys[valid]),
            fr.integer("sibling_buyers", self.sibling_buyers[valid]),
            fr.ratio("proximity", self.proximity[valid]),
        ]
        if explanations:
            texts = self._explanation_column(lang)
            joined = arrow or importlib.util.find_spec("pyarrow") is not None
            columns.append(fr.text("explanation", texts.to_arrow() if joined else texts.objects()))
        return fr.Frame(tuple(columns), {"as_of": str(basket.as_of)})

    def to_pandas(self, *, explanations: bool = False, lang: str = "en") -> pd.DataFrame:
        """One row per recommendation (long format), with its evidence.

        Columns: ``customer_id``, the customer's ``segment`` and ``tier``,
        ``rank``, ``product_id``, ``score``, ``peer_buyers``, ``rule_product``,
        ``rule_confidence`` and ``rule_lift`` (missing without a rule),
        ``parent_buys``, ``sibling_buyers``, ``proximity``; ``explanations=True``
        adds the ``explanation`` text in ``lang`` (:meth:`explanations`), joined in
        Arrow and held by pandas' Arrow-backed string type (``str`` in pandas 3)
        when pyarrow is installed, else an ``object`` column of ``str``.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(explanations, lang, "RecommendationTable.to_pandas").to_pandas()

    def to_arrow(self, *, explanations: bool = False, lang: str = "en") -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        where = "RecommendationTable.to_arrow"
        return self._frame(explanations, lang, where, arrow=True).to_arrow()

    def to_polars(self, *, explanations: bool = False, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        where = "RecommendationTable.to_polars"
        return self._frame(explanations, lang, where, arrow=True).to_polars()


_ROW_COLUMNS = tuple(
    f.name for f in attrs.fields(RecommendationTable) if f.name not in ("model", "boost")
)
"""The fields of a :class:`RecommendationTable` that hold one entry (or row) per customer."""


def _stacked(chunks: Iterable[RecommendationTable], size: int) -> RecommendationTable:
    """Tables of consecutive chunks of ``size`` rows in all, as one table.

    Each chunk is copied into place as it comes, so that only one chunk's
    working arrays are alive beside the result.
    """
    columns: dict[str, Any] = {}
    first: RecommendationTable | None = None
    lo = 0
    for chunk in chunks:
        first = chunk if first is None else first
        hi = lo + len(chunk)
        for name in _ROW_COLUMNS:
            block = getattr(chunk, name)
            if name not in columns:
                columns[name] = np.empty((size, *block.shape[1:]), dtype=block.dtype)
            columns[name][lo:hi] = block
        lo = hi
    assert first is not None, "no chunks to stack"
    return attrs.evolve(first, **columns)


def recommend(
    source: Portfolio | CrossSellModel,
    customer_id: str,
    k: int = 5,
    *,
    as_of: Period | str | None = None,
    exclude: Iterable[str] = (),
    exclude_in_province: Mapping[str, Iterable[str]] | None = None,
    boost: Mapping[str, float] | None = None,
) -> list[Recommendation]:
    """The top ``k`` products for ``customer_id``, with explanations.

    Args:
        source: A fitted :class:`CrossSellModel`, or a portfolio to fit one from.
        customer_id: The customer.
        k: How many products.
        as_of: The as-of month when fitting from a portfolio (default: the last
            month with revenue); ignored for a model.
        exclude: Products never to recommend.
        exclude_in_province: Province -> products not sold there.
        boost: Product -> campaign factor.

    Returns:
        Up to ``k`` recommendations, best first.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> cs = [Customer(f"C{i}", f"法院{i}", "2022-01", segment="司法") for i in range(3)]
        >>> rs = [RevenueRecord("C0", "court_express", "2022-05", "100"),
        ...       RevenueRecord("C1", "court_express", "2022-05", "100"),
        ...       RevenueRecord("C1", "e_receipt", "2022-05", "50")]
        >>> [r.product_id for r in recommend(Portfolio(cs, rs), "C0", 1)]
        ['e_receipt']
    """
    model = source if isinstance(source, CrossSellModel) else CrossSellModel.fit(source, as_of)
    return model.recommend(
        customer_id, k, exclude=exclude, exclude_in_province=exclude_in_province, boost=boost
    )


def recommend_all(
    source: Portfolio | CrossSellModel,
    k: int = 5,
    *,
    as_of: Period | str | None = None,
    **options: Any,
) -> RecommendationTable:
    """Bulk recommendations; ``options`` are those of :meth:`CrossSellModel.recommend_all`."""
    model = source if isinstance(source, CrossSellModel) else CrossSellModel.fit(source, as_of)
    return model.recommend_all(k, **options)


# ---------------------------------------------------------------------- networkx path


def purchase_graph(basket: Basket, *, proximity: Proximity = "binary") -> nx.Graph[str]:
    """The undirected customer-product purchase graph the proximity walks on.

    Nodes are ``customer:<id>`` (every customer of the basket) and
    ``product:<id>`` (every product); an edge per basket entry, with ``weight``
    1 (``"binary"``) or the window revenue in fen (``"revenue"``).
    """
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(customer_node(c) for c in basket.customer_ids.tolist())
    graph.add_nodes_from(product_node(p) for p in basket.product_ids)
    rev = basket.revenue
    ids = basket.customer_ids
    for row in range(len(basket)):
        lo, hi = int(rev.indptr[row]), int(rev.indptr[row + 1])
        for j, fen in zip(rev.indices[lo:hi].tolist(), rev.data[lo:hi].tolist(), strict=True):
            w = 1 if proximity == "binary" else int(fen)
            graph.add_edge(
                customer_node(str(ids[row])), product_node(basket.product_ids[j]), weight=w
            )
    return graph


def networkx_proximity(
    graph: nx.Graph[str],
    customer_id: str,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> dict[str, float]:
    """Personalised PageRank of every product from one customer, one networkx walk.

    The per-customer path: ``nx.pagerank`` with all restart mass on the
    customer. Slow (a full power iteration per customer); the bulk path gives
    the same numbers for every customer at once.

    Returns:
        Product id to its PageRank value.

    Raises:
        UnknownCustomerError: the customer is not a node of ``graph``.
    """
    node = customer_node(customer_id)
    if node not in graph:
        raise UnknownCustomerError(f"customer {customer_id!r} is not in the purchase graph")
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    ranks = nx.pagerank(graph, alpha=alpha, personalization={node: 1.0}, tol=tol, max_iter=max_iter)
    prefix = "product:"
    return {n[len(prefix) :]: float(v) for n, v in ranks.items() if n.startswith(prefix)}
