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

Counting reads the transactions once, as bit sets of their frequent products,
and reduces them to the distinct baskets with their multiplicities (hashing
with verification, so no two baskets are merged); itemsets are then found
level by level on the distinct baskets, each frequent ``(L-1)``-subset of a
basket extended by the basket's larger products and the multiplicities
summed. No transactions x itemsets matrix is built. The plain apriori in
:mod:`keyaccount.crosssell._reference` is the specification and test oracle.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.crosssell._basket import Basket, product_mask
from keyaccount.exceptions import UnknownProductError, ValidationError
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pandas as pd
    import scipy.sparse as sp

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


def _sparse(
    transactions: Transactions, product_ids: Iterable[str] | None
) -> tuple[sp.csr_array, int, tuple[str, ...]]:
    """The transactions as CSR (one entry per bought product), their number and column names.

    A :class:`Basket` gives all its rows: the empty ones add nothing to any
    count, and the number of transactions is that of its active customers.
    """
    if isinstance(transactions, Basket):
        matrix = transactions.matrix
        return matrix, int(np.count_nonzero(np.diff(matrix.indptr))), transactions.product_ids
    import scipy.sparse as sp  # here: importing the cross-sell package loads no scipy

    matrix = sp.csr_array(transactions, dtype=bool)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    k = matrix.shape[1]
    names = tuple(product_ids) if product_ids is not None else tuple(str(j) for j in range(k))
    if len(names) != k:
        raise ValidationError(f"{len(names)} product ids given for {k} transaction columns")
    return matrix, int(matrix.shape[0]), names


def _min_count(n: int, min_support: float) -> int:
    """The smallest count ``c >= 1`` with ``c / n >= min_support`` (float64, as compared)."""
    c = max(1, min(n, math.ceil(min_support * n)))
    while c > 1 and (c - 1) / n >= min_support:
        c -= 1
    while c < n and c / n < min_support:
        c += 1
    return c


_MIX = 0x9E3779B97F4A7C15
"""An odd 64-bit constant (the golden ratio's fraction) for multiplicative hashing."""
_TABLE_BITS = 16
"""Buckets of the first hashing round (``2**16`` keys: half a MiB, held in cache)."""


def _popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Set bits of each ``uint64``."""
    if hasattr(np, "bitwise_count"):
        out: npt.NDArray[np.uint8] = np.bitwise_count(words)
        return out
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)  # numpy < 2
    counted: npt.NDArray[np.uint8] = (
        table[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1, dtype=np.uint8)
    )
    return counted


def _row_keys(matrix: sp.csr_array, rank: I64, words: int) -> npt.NDArray[np.uint64]:
    """Each row's products of rank ``>= 0`` as a bit set: ``words`` ``uint64`` per row.

    Bit ``r`` is the product of rank ``r``. A running sum of the entries' bits,
    read at the row boundaries, gives each row's set (a row holds a product at
    most once, so the sum is the union; the sum wraps, the difference does not).
    """
    keys = np.empty((words, matrix.shape[0]), dtype=np.uint64)
    ranked = np.flatnonzero(rank >= 0)
    word = rank[ranked] >> 6
    bit = np.left_shift(np.uint64(1), (rank[ranked] & 63).astype(np.uint64))
    running = np.empty(matrix.indices.shape[0] + 1, dtype=np.uint64)
    running[0] = 0
    for w in range(words):
        column_bit = np.zeros(rank.shape[0], dtype=np.uint64)
        column_bit[ranked[word == w]] = bit[word == w]
        np.take(column_bit, matrix.indices, out=running[1:])
        np.cumsum(running[1:], out=running[1:])
        at_start = running[matrix.indptr]
        np.subtract(at_start[1:], at_start[:-1], out=keys[w])
    return keys


def _distinct_rows(keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], I64]:
    """The distinct columns of ``keys`` (``words x rows``) and how often each occurs.

    Hashing with verification: every key is written to its bucket of a small
    table, and a key whose bucket holds it afterwards is counted there; the
    keys that lost their bucket to another key go round again with another
    multiplier and a larger table. Each round settles at least one key per used
    bucket, so it ends, and no two different keys are ever counted together.
    """
    found: list[npt.NDArray[np.uint64]] = []
    counts: list[I64] = []
    bits = _TABLE_BITS
    attempt = 0
    words = keys.shape[0]
    while keys.shape[1]:
        m = keys.shape[1]
        bits = min(bits, max(4, m.bit_length() + 1))
        mult = np.uint64((_MIX * (2 * attempt + 1)) % 2**64)
        h = keys[0] * mult
        for w in range(1, words):
            h ^= keys[w]
            h *= mult
        h >>= np.uint64(64 - bits)
        bucket = h.view(np.int64)  # below 2**bits
        table = np.zeros((words, 1 << bits), dtype=np.uint64)
        table[:, bucket] = keys
        lost = table[0, bucket] != keys[0]
        for w in range(1, words):
            lost |= table[w, bucket] != keys[w]
        held = np.bincount(bucket, minlength=1 << bits)
        out = np.flatnonzero(lost)
        if out.size:
            held -= np.bincount(bucket[out], minlength=1 << bits)
        used = np.flatnonzero(held)
        found.append(table[:, used])
        counts.append(held[used].astype(np.int64))
        keys = keys[:, out]
        bits = min(bits + 2, 22)
        attempt += 1
    if not found:
        return np.empty((words, 0), dtype=np.uint64), np.empty(0, dtype=np.int64)
    return np.concatenate(found, axis=1), np.concatenate(counts)


def _distinct_baskets(matrix: sp.csr_array, rank: I64, ranked: int) -> tuple[I64, I64, I64]:
    """The distinct baskets holding two or more ranked products, with their multiplicities.

    Returns ``(indptr, items, weight)``: a CSR layout of ranks (ascending in
    each basket) and how many transactions have that basket.
    """
    words = (ranked + 63) // 64
    keys = _row_keys(matrix, rank, words)
    size = _popcount(keys[0])
    for w in range(1, words):
        size = size + _popcount(keys[w])
    rows, weight = _distinct_rows(keys[:, size >= 2])
    little = np.ascontiguousarray(rows.T).astype("<u8", copy=False).view(np.uint8)
    bits = np.unpackbits(little, axis=1, bitorder="little")[:, :ranked]
    row, items = np.nonzero(bits)
    indptr = np.zeros(rows.shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=rows.shape[1]), out=indptr[1:])
    return indptr, items.astype(np.int64), weight


def _frequent_keys(key: I64, weight: F64, size: int, min_count: int) -> tuple[I64, I64, I64]:
    """The values of ``key`` (all below ``size``) whose weights sum to ``min_count`` or more.

    Returns the values (ascending), their sums, and for each key the index of
    its value among them (``-1`` for a key that falls short).
    """
    if size <= max(1 << 22, 4 * key.shape[0]):
        sums = np.bincount(key, weights=weight, minlength=size)
        values = np.flatnonzero(sums >= min_count)
        slot = np.full(size, -1, dtype=np.int64)
        slot[values] = np.arange(values.shape[0], dtype=np.int64)
        return values, sums[values].astype(np.int64), slot[key]
    distinct, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=weight)
    kept = sums >= min_count
    slot = np.where(kept, np.cumsum(kept) - 1, -1)
    return distinct[kept], sums[kept].astype(np.int64), slot[inverse]


def _levels(
    indptr: I64, items: I64, weight: I64, ranked: int, min_count: int, limit: int
) -> list[tuple[I64, I64, I64]]:
    """Frequent itemsets of two products or more, level by level, over weighted baskets.

    Level ``L`` holds, in lexicographic order, each frequent ``L``-itemset as
    ``(parent, item, count)``: the index of its first ``L - 1`` products in
    level ``L - 1``, its last (largest) product's rank, and its count. Every
    frequent itemset is a frequent one plus a larger product, so extending
    each basket's frequent ``(L-1)``-subsets by the basket's larger products
    and summing the weights finds all of them; support only falls as an
    itemset grows, so no candidate needs a subset check.

    The work per level is proportional to the (subset, larger product) pairs of
    the distinct baskets, never to the number of transactions.
    """
    out: list[tuple[I64, I64, I64]] = []
    # one entry per (basket, frequent itemset of the level in it): the basket's
    # weight, the itemset, the position of its last product and the basket's end
    sizes = np.diff(indptr)
    w = np.repeat(weight.astype(np.float64), sizes)
    end = np.repeat(indptr[1:], sizes)
    member = items
    last = np.arange(items.shape[0], dtype=np.int64)
    previous = ranked
    size = 2
    while size <= limit:
        room = end - last - 1
        total = int(room.sum())
        if total == 0:
            break
        source = np.repeat(np.arange(room.shape[0], dtype=np.int64), room)
        start = np.cumsum(room) - room
        position = np.arange(total, dtype=np.int64) - np.take(start - last - 1, source)
        key = np.take(member * ranked, source) + np.take(items, position)
        w, end = np.take(w, source), np.take(end, source)
        values, counts, found = _frequent_keys(key, w, previous * ranked, min_count)
        if values.size == 0:
            break
        out.append((values // ranked, values % ranked, counts))
        keep = np.flatnonzero(found >= 0)
        w, end = np.take(w, keep), np.take(end, keep)
        member, last = np.take(found, keep), np.take(position, keep)
        previous = int(values.size)
        size += 1
    return out


@attrs.frozen(eq=False)
class _Tree:
    """Finds an itemset's index from its products: each itemset is its prefix plus one product.

    Attributes:
        single: Index of the itemset ``{j}`` for each column ``j`` (``-1``: not frequent).
        keys: ``prefix index * columns + last column`` of every itemset of two
            products or more, ascending.
        index: The itemset index of each key.
    """

    columns: int
    single: I64
    keys: I64
    index: I64

    def child(self, prefix: I64, column: I64) -> I64:
        """Index of ``prefix ∪ {column}`` (``column`` larger than the prefix's), ``-1`` if none."""
        key = prefix * self.columns + column
        at = np.searchsorted(self.keys, key)
        at[at == self.keys.shape[0]] = 0
        if self.keys.shape[0] == 0:
            return np.full(key.shape, -1, dtype=np.int64)
        hit = (self.keys[at] == key) & (prefix >= 0)
        return np.where(hit, self.index[at], -1)

    @classmethod
    def of(cls, items: I64, length: I64, columns: int) -> _Tree:
        """The tree of itemsets in any order (each prefix must be an itemset itself)."""
        single = np.full(columns, -1, dtype=np.int64)
        ones = np.flatnonzero(length == 1)
        if ones.size:
            single[items[ones, 0]] = ones
        tree = cls(columns, single, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        for size in range(2, int(length.max(initial=0)) + 1):
            rows = np.flatnonzero(length == size)
            prefix = single[items[rows, 0]]
            for j in range(1, size - 1):
                prefix = tree.child(prefix, items[rows, j])
            key = prefix * columns + items[rows, size - 1]
            key[prefix < 0] = -1
            keys = np.concatenate([tree.keys, key])
            index = np.concatenate([tree.index, rows.astype(np.int64)])
            order = np.argsort(keys, kind="stable")
            tree = cls(columns, single, keys[order], index[order])
        return tree


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
    _tree: _Tree | None = attrs.field(default=None, alias="tree", repr=False)

    @property
    def _index(self) -> _Tree:
        """The subset lookup, built on first use unless given."""
        if self._tree is None:
            tree = _Tree.of(self.items, self.length, len(self.product_ids))
            object.__setattr__(self, "_tree", tree)
            return tree
        return self._tree

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
        tree = self._index
        found = tree.single[cols[:1]]
        for c in cols[1:]:
            found = tree.child(found, np.array([c], dtype=np.int64))
        return None if found[0] < 0 else int(found[0])

    def support_of(self, products: Iterable[str]) -> float | None:
        """Support of the itemset ``products``, or ``None`` when it is not frequent."""
        i = self.index_of(products)
        return None if i is None else float(self.support[i])

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
    matrix, n, names = _sparse(transactions, product_ids)
    k = int(matrix.shape[1])
    min_support = float(min_support)
    limit = k if max_len is None else min(max_len, k)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return _assemble(names, 0, min_support, empty, empty, [])
    threshold = _min_count(n, min_support)
    singles = np.bincount(matrix.indices, minlength=k).astype(np.int64)
    f1 = np.flatnonzero(singles >= threshold).astype(np.int64)
    levels: list[tuple[I64, I64, I64]] = []
    if limit >= 2 and f1.shape[0] >= 2:
        rank = np.full(k, -1, dtype=np.int64)
        rank[f1] = np.arange(f1.shape[0])
        indptr, ranks, weight = _distinct_baskets(matrix, rank, int(f1.shape[0]))
        levels = _levels(indptr, ranks, weight, int(f1.shape[0]), threshold, limit)
    return _assemble(names, n, min_support, f1, singles[f1], levels)


def _assemble(
    names: tuple[str, ...],
    n: int,
    min_support: float,
    f1: I64,
    single_counts: I64,
    levels: list[tuple[I64, I64, I64]],
) -> FrequentItemsets:
    """The :class:`FrequentItemsets` of the levels (already in length, then column order)."""
    k = len(names)
    width = 1 + len(levels) if f1.shape[0] else 0
    total = f1.shape[0] + sum(level[1].shape[0] for level in levels)
    items = np.full((total, width), -1, dtype=np.int64)
    length = np.empty(total, dtype=np.int64)
    count = np.empty(total, dtype=np.int64)
    single = np.full(k, -1, dtype=np.int64)
    single[f1] = np.arange(f1.shape[0])
    keys: list[I64] = []
    lo, hi = 0, int(f1.shape[0])
    if width:
        items[lo:hi, 0] = f1
    length[lo:hi] = 1
    count[lo:hi] = single_counts
    for size, (parent, rank, counts) in enumerate(levels, start=2):
        start, stop = hi, hi + parent.shape[0]
        items[start:stop, : size - 1] = items[lo + parent, : size - 1]
        items[start:stop, size - 1] = f1[rank]
        length[start:stop] = size
        count[start:stop] = counts
        keys.append((lo + parent) * k + f1[rank])
        lo, hi = start, stop
    # the levels are in lexicographic order, so the keys ascend
    tree_keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.int64)
    index = np.arange(f1.shape[0], total, dtype=np.int64)
    tree = _Tree(k, single, tree_keys, index)
    return FrequentItemsets(names, n, min_support, items, length, count, tree=tree)


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
    tree = itemsets._index
    support = itemsets.support
    parts: list[tuple[I64, I64, I64]] = []
    for size in range(2, int(itemsets.length.max(initial=0)) + 1):
        union = np.flatnonzero(itemsets.length == size)
        sets = itemsets.items[union, :size]
        subsets = _subsets(tree, sets)
        # pattern p (bit j: product j of the itemset on the left) is a rule p -> full ^ p
        full = (1 << size) - 1
        pattern = np.arange(1, full, dtype=np.int64)
        positions = np.int64(1) << np.arange(size, dtype=np.int64)
        on_left = (left_ok[sets] * positions).sum(axis=1)
        on_right = (right_ok[sets] * positions).sum(axis=1)
        allowed = ((pattern[None, :] & ~on_left[:, None]) == 0) & (
            ((full ^ pattern)[None, :] & ~on_right[:, None]) == 0
        )
        ante = subsets[:, pattern]
        cons = subsets[:, full ^ pattern]
        if (ante < 0).any() or (cons < 0).any():
            bad = int(np.flatnonzero((ante < 0).any(axis=1) | (cons < 0).any(axis=1))[0])
            raise ValidationError(
                f"itemset {itemsets.itemset(int(union[bad]))} has a subset that is not "
                "among the itemsets; rules need every subset"
            )
        unions = np.broadcast_to(union[:, None], ante.shape)
        conf = support[unions] / support[ante]
        ok = allowed & (conf >= min_confidence)
        if min_lift is not None:
            ok &= conf / support[cons] >= min_lift
        parts.append((ante[ok], cons[ok], unions[ok]))
    if parts:
        ante_all = np.concatenate([p[0] for p in parts]).astype(np.int64)
        cons_all = np.concatenate([p[1] for p in parts]).astype(np.int64)
        union_all = np.concatenate([p[2] for p in parts]).astype(np.int64)
    else:
        ante_all = cons_all = union_all = np.empty(0, dtype=np.int64)
    conf = support[union_all] / support[ante_all] if ante_all.size else np.empty(0)
    lift = conf / support[cons_all] if ante_all.size else np.empty(0)
    order = np.lexsort((cons_all, ante_all, -conf, -lift))
    return RuleTable(itemsets, ante_all[order], cons_all[order], union_all[order])


def _subsets(tree: _Tree, sets: I64) -> I64:
    """``out[i, p]``: index of the subset of ``sets[i]`` picked by the bits of ``p`` (``-1``: none).

    The subsets whose largest position is ``h`` are those below ``2**h`` plus
    product ``h``, found together in one lookup per position.
    """
    m, size = sets.shape
    out = np.full((m, 1 << size), -1, dtype=np.int64)
    for h in range(size):
        low = 1 << h
        out[:, low] = tree.single[sets[:, h]]
        if low > 1:
            out[:, low + 1 : 2 * low] = tree.child(out[:, 1:low], sets[:, h : h + 1])
    return out


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
    """Co-purchase counts of every pair of products, summed over the distinct baskets.

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
    matrix, n, names = _sparse(transactions, product_ids)
    k = int(matrix.shape[1])
    counts = np.zeros((k, k), dtype=np.int64)
    if k >= 2:
        indptr, items, weight = _distinct_baskets(matrix, np.arange(k, dtype=np.int64), k)
        # every pair bought at least once: the second level at a count of one
        for a, b, count in _levels(indptr, items, weight, k, 1, 2):
            counts[a, b] = counts[b, a] = count
    counts[np.diag_indices(k)] = np.bincount(matrix.indices, minlength=k)
    return PairStatistics(names, n, counts)
