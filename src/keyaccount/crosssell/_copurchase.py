"""Co-purchase statistics: frequent itemsets, association rules and pair matrices.

The transactions are the baskets of the customers active in the window (a
non-empty basket; see :mod:`keyaccount.crosssell._basket`), one row per
customer. With ``n`` transactions and ``count(S)`` the number of baskets that
hold every product of the itemset ``S``, for a rule ``A -> C`` (``A`` and
``C`` disjoint, non-empty):

- ``support(S) = count(S) / n``
- ``support(A -> C) = support(A ∪ C)``
- ``confidence(A -> C) = support(A ∪ C) / support(A)``
- ``lift(A -> C) = confidence(A -> C) / support(C)``
- ``leverage(A -> C) = support(A ∪ C) - support(A) * support(C)``
- ``conviction(A -> C) = (1 - support(C)) / (1 - confidence(A -> C))``, and
  ``+inf`` when the confidence is 1.

All are IEEE float64 in exactly this order of operations, the same as
``mlxtend.frequent_patterns.apriori`` + ``association_rules``, so the numbers
agree with it. An itemset is frequent when ``support >= min_support``.

Counting works on packed bit columns (one bit per transaction) and never
builds a transactions x itemsets matrix: memory is the sparse baskets plus a
few bit columns per level of the itemset being extended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from keyaccount.crosssell._basket import Basket, product_mask
from keyaccount.exceptions import UnknownProductError, ValidationError
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pandas as pd

__all__ = [
    "AssociationRule",
    "FrequentItemsets",
    "PairStatistics",
    "RuleTable",
    "association_rules",
    "frequent_itemsets",
    "pair_statistics",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Transactions: TypeAlias = "Basket | sp.sparray | sp.spmatrix | npt.NDArray[Any]"


def _one_hot(
    transactions: Transactions, product_ids: Iterable[str] | None
) -> tuple[sp.csr_array, tuple[str, ...]]:
    """The transactions as a CSR ``bool`` matrix and its column names."""
    if isinstance(transactions, Basket):
        return transactions.active_matrix(), transactions.product_ids
    matrix = sp.csr_array(transactions, dtype=bool)
    matrix.eliminate_zeros()
    k = matrix.shape[1]
    names = tuple(product_ids) if product_ids is not None else tuple(str(j) for j in range(k))
    if len(names) != k:
        raise ValidationError(f"{len(names)} product ids given for {k} transaction columns")
    return matrix, names


def _popcount(words: npt.NDArray[np.uint64]) -> int:
    if hasattr(np, "bitwise_count"):
        return int(np.bitwise_count(words).sum(dtype=np.int64))
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
    return int(table[words.view(np.uint8)].sum())


def _bit_columns(
    matrix: sp.csr_array, columns: list[int], rows: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.uint64]:
    """Columns of ``matrix`` (only ``rows``) as packed bits: one ``uint64`` row per column.

    Built in groups of columns so the temporary ``bool`` block stays near 64 MiB.
    """
    n = matrix.shape[0]
    keep = np.ones(n, dtype=bool) if rows is None else rows
    new_row = np.cumsum(keep) - 1
    n_kept = int(keep.sum())
    n_words = (n_kept + 63) // 64
    out = np.zeros((len(columns), n_words), dtype=np.uint64)
    if not columns or n_words == 0:
        return out
    entry_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(matrix.indptr))
    entry_col = matrix.indices
    slot = np.full(matrix.shape[1], -1, dtype=np.int64)
    slot[columns] = np.arange(len(columns))
    wanted = keep[entry_row] & (slot[entry_col] >= 0)
    r = new_row[entry_row[wanted]]
    c = slot[entry_col[wanted]]
    group = max(1, (64 * 2**20) // (n_words * 64))
    for lo in range(0, len(columns), group):
        hi = min(lo + group, len(columns))
        sel = (c >= lo) & (c < hi)
        dense = np.zeros((hi - lo, n_words * 64), dtype=bool)
        dense[c[sel] - lo, r[sel]] = True
        out[lo:hi] = np.packbits(dense, axis=1, bitorder="little").view(np.uint64)
    return out


def _pair_counts(bits: npt.NDArray[np.uint64]) -> I64:
    """``counts[a, b]``: set bits that columns ``a`` and ``b`` share (diagonal: their own)."""
    k = bits.shape[0]
    counts = np.zeros((k, k), dtype=np.int64)
    for a in range(k):
        counts[a, a] = _popcount(bits[a])
        for b in range(a + 1, k):
            counts[a, b] = counts[b, a] = _popcount(bits[a] & bits[b])
    return counts


def _encode(items: I64, base: int) -> npt.NDArray[Any]:
    """One integer key per itemset row (``-1`` padded, ascending items)."""
    width = items.shape[1]
    big = width and base**width >= 2**63
    dtype: Any = object if big else np.int64
    keys = np.zeros(items.shape[0], dtype=dtype)
    scale: Any = 1
    for j in range(width):
        col = items[:, j].astype(dtype) + 1
        keys = keys + np.where(items[:, j] >= 0, col * scale, 0).astype(dtype)
        scale = scale * base
    return keys


@attrs.frozen(eq=False)
class FrequentItemsets:
    """Frequent itemsets of a set of transactions, as arrays.

    Attributes:
        product_ids: Names of the transaction columns.
        transactions: Number of transactions ``n``.
        min_support: The threshold the itemsets passed.
        items: Column indices of each itemset, ascending, padded with ``-1``
            (``int64``, shape ``(len(self), max length)``).
        length: Number of products in each itemset.
        count: Transactions holding each itemset.

    Itemsets are ordered by length, then by their columns.
    """

    product_ids: tuple[str, ...]
    transactions: int
    min_support: float
    items: I64
    length: I64
    count: I64
    _keys: npt.NDArray[Any] = attrs.field(init=False, repr=False)
    _order: I64 = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        keys = _encode(self.items, len(self.product_ids) + 1)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_order", np.argsort(keys, kind="stable"))

    def __len__(self) -> int:
        return int(self.length.shape[0])

    def __repr__(self) -> str:
        size = f"{number(len(self))} itemsets in {number(self.transactions)} transactions"
        return short_repr("FrequentItemsets", size, min_support=self.min_support)

    def _repr_html_(self) -> str:
        support = self.support
        rows = (
            (" + ".join(self.itemset(i)), int(self.length[i]), int(self.count[i]), support[i])
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("itemset", "length", "count", "support")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="itemsets")

    @property
    def support(self) -> F64:
        """``count / transactions`` of each itemset."""
        if self.transactions == 0:
            return np.zeros(len(self), dtype=np.float64)
        out: F64 = self.count.astype(np.float64) / float(self.transactions)
        return out

    def itemset(self, i: int) -> tuple[str, ...]:
        """The product ids of itemset ``i`` (catalogue order)."""
        return tuple(self.product_ids[int(j)] for j in self.items[i, : int(self.length[i])])

    def __iter__(self) -> Iterator[tuple[tuple[str, ...], float]]:
        support = self.support
        for i in range(len(self)):
            yield self.itemset(i), float(support[i])

    def index_of(self, products: Iterable[str]) -> int | None:
        """The index of the itemset made of ``products``, or ``None`` when it is not frequent.

        Raises:
            UnknownProductError: a product that is not a column.
        """
        cols = sorted({_column(self.product_ids, p) for p in products})
        if not cols or len(cols) > self.items.shape[1]:
            return None
        row = np.full((1, self.items.shape[1]), -1, dtype=np.int64)
        row[0, : len(cols)] = cols
        found = self._lookup(_encode(row, len(self.product_ids) + 1))
        return None if found[0] < 0 else int(found[0])

    def support_of(self, products: Iterable[str]) -> float | None:
        """Support of the itemset ``products``, or ``None`` when it is not frequent."""
        i = self.index_of(products)
        return None if i is None else float(self.support[i])

    def _lookup(self, keys: npt.NDArray[Any]) -> I64:
        """Indices of the itemsets with ``keys`` (``-1`` where there is none)."""
        sorted_keys = self._keys[self._order]
        at = np.searchsorted(sorted_keys, keys)
        at = np.minimum(at, max(len(self) - 1, 0))
        if len(self) == 0:
            return np.full(keys.shape[0], -1, dtype=np.int64)
        hit = sorted_keys[at] == keys
        return np.where(hit, self._order[at], -1).astype(np.int64)

    def to_pandas(self) -> pd.DataFrame:
        """``support`` and ``itemsets`` (``frozenset`` of product ids), as mlxtend lays them out."""
        import pandas as pd

        return pd.DataFrame(
            {
                "support": self.support,
                "itemsets": [frozenset(self.itemset(i)) for i in range(len(self))],
            }
        )


def _best_partner(product_ids: tuple[str, ...], counts: I64, j: int) -> str:
    """The product bought together with product ``j`` most often, with the count."""
    row = counts[j].copy()
    row[j] = -1
    best = int(np.argmax(row)) if row.size > 1 else -1
    return "" if best < 0 or row[best] <= 0 else f"{product_ids[best]} ({int(row[best]):,})"


def _column(product_ids: tuple[str, ...], product: str) -> int:
    try:
        return product_ids.index(product)
    except ValueError:
        raise UnknownProductError(f"unknown product {product!r}") from None


def frequent_itemsets(
    transactions: Transactions,
    min_support: float = 0.01,
    *,
    max_len: int | None = None,
    product_ids: Iterable[str] | None = None,
) -> FrequentItemsets:
    """All itemsets whose support is at least ``min_support``.

    Args:
        transactions: A :class:`Basket` (its active customers are the
            transactions) or a transactions x products one-hot matrix (dense or
            scipy sparse, anything non-zero counts as bought).
        min_support: Minimum support, in ``(0, 1]``.
        max_len: Longest itemset to report (default: no limit).
        product_ids: Column names when ``transactions`` is a matrix.

    Returns:
        The :class:`FrequentItemsets`, equal to mlxtend's ``apriori`` on the same
        one-hot matrix (same itemsets, same support).

    Raises:
        ValidationError: ``min_support`` outside ``(0, 1]`` or ``max_len < 1``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], dtype=bool)
        >>> fi = frequent_itemsets(x, 0.5, product_ids=["a", "b", "c"])
        >>> [(items, s) for items, s in fi]
        [(('a',), 0.75), (('b',), 0.75), (('c',), 0.5), (('a', 'b'), 0.5), (('b', 'c'), 0.5)]
    """
    if not isinstance(min_support, int | float) or not 0.0 < float(min_support) <= 1.0:
        raise ValidationError(f"min_support must be in (0, 1], got {min_support!r}")
    if max_len is not None and (isinstance(max_len, bool) or max_len < 1):
        raise ValidationError(f"max_len must be a whole number >= 1, got {max_len!r}")
    matrix, names = _one_hot(transactions, product_ids)
    n, k = int(matrix.shape[0]), int(matrix.shape[1])
    min_support = float(min_support)
    limit = k if max_len is None else min(max_len, k)

    found_items: list[list[int]] = []
    found_counts: list[int] = []

    def frequent(count: int) -> bool:
        return n > 0 and count / n >= min_support

    singles = np.bincount(matrix.indices, minlength=k).astype(np.int64)
    f1 = [j for j in range(k) if frequent(int(singles[j]))]
    for j in f1:
        found_items.append([j])
        found_counts.append(int(singles[j]))

    if limit >= 2 and len(f1) >= 2:
        # rows with fewer than two products cannot hold a pair or anything longer
        bits = _bit_columns(matrix, f1, np.diff(matrix.indptr) >= 2)
        for a in range(len(f1)):
            children: list[tuple[int, npt.NDArray[np.uint64]]] = []
            for b in range(a + 1, len(f1)):
                joint = bits[a] & bits[b]
                c = _popcount(joint)
                if frequent(c):
                    found_items.append([f1[a], f1[b]])
                    found_counts.append(c)
                    children.append((b, joint))
            if limit >= 3:
                _extend([f1[a]], children, f1, bits, limit, frequent, found_items, found_counts)

    width = max((len(s) for s in found_items), default=0)
    items = np.full((len(found_items), width), -1, dtype=np.int64)
    for i, s in enumerate(found_items):
        items[i, : len(s)] = s
    length = np.array([len(s) for s in found_items], dtype=np.int64)
    count = np.array(found_counts, dtype=np.int64)
    order = np.lexsort((*tuple(items[:, j] for j in range(width - 1, -1, -1)), length))
    return FrequentItemsets(names, n, min_support, items[order], length[order], count[order])


def _extend(
    prefix: list[int],
    nodes: list[tuple[int, npt.NDArray[np.uint64]]],
    f1: list[int],
    bits: npt.NDArray[np.uint64],
    limit: int,
    frequent: Any,
    found_items: list[list[int]],
    found_counts: list[int],
) -> None:
    """Depth-first extension (Eclat on bit columns) of ``prefix + [node]`` for each node."""
    for i, (b, tid) in enumerate(nodes):
        base = [*prefix, f1[b]]
        children: list[tuple[int, npt.NDArray[np.uint64]]] = []
        for c, _ in nodes[i + 1 :]:
            joint = tid & bits[c]
            count = _popcount(joint)
            if frequent(count):
                found_items.append([*base, f1[c]])
                found_counts.append(count)
                children.append((c, joint))
        if children and len(base) + 2 <= limit:
            _extend(base, children, f1, bits, limit, frequent, found_items, found_counts)


@attrs.frozen
class AssociationRule:
    """One rule ``antecedents -> consequents`` and its statistics (see the module docstring)."""

    antecedents: tuple[str, ...]
    consequents: tuple[str, ...]
    count: int
    antecedent_support: float
    consequent_support: float
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float


@attrs.frozen(eq=False)
class RuleTable:
    """Association rules as arrays, strongest first.

    Attributes:
        itemsets: The frequent itemsets the rules come from.
        antecedent: Index of each rule's antecedent itemset.
        consequent: Index of each rule's consequent itemset.
        union: Index of the itemset ``antecedent ∪ consequent``.

    Rules are ordered by lift, then confidence (both descending), then by
    their itemsets, so the order is deterministic.
    """

    itemsets: FrequentItemsets
    antecedent: I64
    consequent: I64
    union: I64

    def __len__(self) -> int:
        return int(self.antecedent.shape[0])

    def __repr__(self) -> str:
        size = f"{number(len(self))} rules from {number(len(self.itemsets))} itemsets"
        return short_repr("RuleTable", size)

    def _repr_html_(self) -> str:
        head = (self.rule(i) for i in range(min(len(self), HEAD_ROWS)))
        rows = (
            (
                " + ".join(r.antecedents),
                " + ".join(r.consequents),
                r.count,
                r.support,
                r.confidence,
                r.lift,
            )
            for r in head
        )
        headings = ("antecedents", "consequents", "count", "support", "confidence", "lift")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="rules")

    @property
    def count(self) -> I64:
        """Transactions holding both sides."""
        return self.itemsets.count[self.union]

    @property
    def support(self) -> F64:
        """``support(A ∪ C)``."""
        return self.itemsets.support[self.union]

    @property
    def antecedent_support(self) -> F64:
        """``support(A)``."""
        return self.itemsets.support[self.antecedent]

    @property
    def consequent_support(self) -> F64:
        """``support(C)``."""
        return self.itemsets.support[self.consequent]

    @property
    def confidence(self) -> F64:
        """``support(A ∪ C) / support(A)``."""
        out: F64 = self.support / self.antecedent_support
        return out

    @property
    def lift(self) -> F64:
        """``confidence / support(C)``."""
        out: F64 = self.confidence / self.consequent_support
        return out

    @property
    def leverage(self) -> F64:
        """``support(A ∪ C) - support(A) * support(C)``."""
        out: F64 = self.support - self.antecedent_support * self.consequent_support
        return out

    @property
    def conviction(self) -> F64:
        """``(1 - support(C)) / (1 - confidence)``; ``+inf`` where the confidence is 1."""
        conf = self.confidence
        out = np.full(conf.shape, np.inf)
        below = conf < 1.0
        out[below] = (1.0 - self.consequent_support[below]) / (1.0 - conf[below])
        return out

    def rule(self, i: int) -> AssociationRule:
        """Rule ``i`` as an object."""
        return AssociationRule(
            antecedents=self.itemsets.itemset(int(self.antecedent[i])),
            consequents=self.itemsets.itemset(int(self.consequent[i])),
            count=int(self.count[i]),
            antecedent_support=float(self.antecedent_support[i]),
            consequent_support=float(self.consequent_support[i]),
            support=float(self.support[i]),
            confidence=float(self.confidence[i]),
            lift=float(self.lift[i]),
            leverage=float(self.leverage[i]),
            conviction=float(self.conviction[i]),
        )

    def __iter__(self) -> Iterator[AssociationRule]:
        for i in range(len(self)):
            yield self.rule(i)

    def to_pandas(self) -> pd.DataFrame:
        """One row per rule with mlxtend's column names (``antecedents`` as ``frozenset``)."""
        import pandas as pd

        fi = self.itemsets
        sets = [frozenset(fi.itemset(i)) for i in range(len(fi))]
        return pd.DataFrame(
            {
                "antecedents": [sets[i] for i in self.antecedent.tolist()],
                "consequents": [sets[i] for i in self.consequent.tolist()],
                "antecedent support": self.antecedent_support,
                "consequent support": self.consequent_support,
                "support": self.support,
                "confidence": self.confidence,
                "lift": self.lift,
                "leverage": self.leverage,
                "conviction": self.conviction,
                "count": self.count,
            }
        )


def _allowed(names: tuple[str, ...], products: Iterable[str] | None, side: str) -> npt.NDArray[Any]:
    if products is None:
        return np.ones(len(names), dtype=bool)
    return product_mask(names, products, f"the allowed {side} products")


def association_rules(
    itemsets: FrequentItemsets,
    *,
    min_confidence: float = 0.0,
    min_lift: float | None = None,
    antecedents: Iterable[str] | None = None,
    consequents: Iterable[str] | None = None,
) -> RuleTable:
    """Every rule ``A -> C`` with ``A ∪ C`` frequent that passes the thresholds.

    Args:
        itemsets: Frequent itemsets (every subset of a frequent itemset is
            frequent, so each rule's statistics are known).
        min_confidence: Keep rules with ``confidence >= min_confidence``.
        min_lift: Keep rules with ``lift >= min_lift`` (default: no threshold).
        antecedents: Products allowed on the left: a rule is kept only when
            every product of ``A`` is one of them (default: any product).
        consequents: Products allowed on the right, likewise for ``C``.

    Returns:
        The :class:`RuleTable`. With ``min_confidence=t`` it holds the same rules
        and numbers as mlxtend's ``association_rules(itemsets,
        metric="confidence", min_threshold=t)``.

    Raises:
        ValidationError: ``min_confidence`` outside ``[0, 1]``.
        UnknownProductError: an allowed product that is not a column.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], dtype=bool)
        >>> fi = frequent_itemsets(x, 0.5, product_ids=["a", "b", "c"])
        >>> r = association_rules(fi, min_confidence=0.6, consequents=["a"])
        >>> [(x.antecedents, x.consequents, round(x.confidence, 3)) for x in r]
        [(('b',), ('a',), 0.667)]
    """
    if not 0.0 <= float(min_confidence) <= 1.0:
        raise ValidationError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    names = itemsets.product_ids
    left_ok = _allowed(names, antecedents, "antecedent")
    right_ok = _allowed(names, consequents, "consequent")
    base = len(names) + 1
    support = itemsets.support
    parts: list[tuple[I64, I64, I64]] = []
    for size in range(2, int(itemsets.length.max(initial=0)) + 1):
        rows = np.flatnonzero(itemsets.length == size)
        sets = itemsets.items[rows, :size]
        for pattern in range(1, 2**size - 1):
            left = [j for j in range(size) if pattern >> j & 1]
            right = [j for j in range(size) if not pattern >> j & 1]
            keep = left_ok[sets[:, left]].all(axis=1) & right_ok[sets[:, right]].all(axis=1)
            if not keep.any():
                continue
            ante = itemsets._lookup(_encode(sets[keep][:, left], base))
            cons = itemsets._lookup(_encode(sets[keep][:, right], base))
            union = rows[keep]
            conf = support[union] / support[ante]
            ok = conf >= min_confidence
            if min_lift is not None:
                ok &= conf / support[cons] >= min_lift
            parts.append((ante[ok], cons[ok], union[ok]))
    if parts:
        ante_all = np.concatenate([p[0] for p in parts])
        cons_all = np.concatenate([p[1] for p in parts])
        union_all = np.concatenate([p[2] for p in parts])
    else:
        ante_all = cons_all = union_all = np.empty(0, dtype=np.int64)
    conf = support[union_all] / support[ante_all] if ante_all.size else np.empty(0)
    lift = conf / support[cons_all] if ante_all.size else np.empty(0)
    order = np.lexsort((cons_all, ante_all, -conf, -lift))
    return RuleTable(itemsets, ante_all[order], cons_all[order], union_all[order])


@attrs.frozen(eq=False)
class PairStatistics:
    """Statistics of every ordered pair of products (rules ``a -> b`` with one product a side).

    Attributes:
        product_ids: Products of the rows and columns.
        transactions: Number of transactions ``n``.
        counts: ``counts[a, b]`` = transactions holding both ``a`` and ``b``;
            the diagonal holds each product's own count (``int64``).

    Every matrix below is indexed ``[a, b]`` for the rule ``a -> b``; the
    definitions are those of the module docstring. Cells whose antecedent is
    never bought are NaN.
    """

    product_ids: tuple[str, ...]
    transactions: int
    counts: I64

    def __repr__(self) -> str:
        size = f"{len(self.product_ids)} products, {number(self.transactions)} transactions"
        return short_repr("PairStatistics", size)

    def _repr_html_(self) -> str:
        counts, support = self.counts, self.item_support
        rows = (
            (p, int(counts[j, j]), support[j], _best_partner(self.product_ids, counts, j))
            for j, p in enumerate(self.product_ids)
        )
        headings = ("product", "buyers", "support", "bought most with")
        total = len(self.product_ids)
        return html_table(headings, rows, total=total, caption=repr(self), unit="products")

    @property
    def item_support(self) -> F64:
        """``support({p})`` of each product."""
        return self._support(np.diagonal(self.counts).copy())

    def _support(self, counts: I64) -> F64:
        if self.transactions == 0:
            return np.zeros(counts.shape, dtype=np.float64)
        out: F64 = counts.astype(np.float64) / float(self.transactions)
        return out

    @property
    def support(self) -> F64:
        """``support({a, b})`` (symmetric)."""
        return self._support(self.counts)

    @property
    def confidence(self) -> F64:
        """``support({a, b}) / support({a})``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = self.support / self.item_support[:, None]
        out[self.item_support == 0, :] = np.nan
        return out

    @property
    def lift(self) -> F64:
        """``confidence(a -> b) / support({b})``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = self.confidence / self.item_support[None, :]
        out[:, self.item_support == 0] = np.nan
        return out

    @property
    def leverage(self) -> F64:
        """``support({a, b}) - support({a}) * support({b})``."""
        s = self.item_support
        out: F64 = self.support - s[:, None] * s[None, :]
        return out

    @property
    def conviction(self) -> F64:
        """``(1 - support({b})) / (1 - confidence)``; ``+inf`` where the confidence is 1."""
        conf = self.confidence
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = (1.0 - self.item_support[None, :]) / (1.0 - conf)
        out[conf == 1.0] = np.inf
        return out

    def index(self, product_id: str) -> int:
        """Row and column of ``product_id``."""
        return _column(self.product_ids, product_id)


def pair_statistics(
    transactions: Transactions, *, product_ids: Iterable[str] | None = None
) -> PairStatistics:
    """Co-purchase counts of every pair of products, from packed bit columns.

    Args:
        transactions: A :class:`Basket` (its active customers) or a one-hot matrix.
        product_ids: Column names when ``transactions`` is a matrix.

    Returns:
        The :class:`PairStatistics`.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], dtype=bool)
        >>> ps = pair_statistics(x, product_ids=["a", "b", "c"])
        >>> int(ps.counts[0, 1]), float(ps.lift[0, 1]) == float(ps.lift[1, 0])
        (2, True)
    """
    matrix, names = _one_hot(transactions, product_ids)
    counts = _pair_counts(_bit_columns(matrix, list(range(matrix.shape[1]))))
    return PairStatistics(names, int(matrix.shape[0]), counts)
