"""Plain-Python cross-sell statistics, one customer at a time: the readable specification.

These functions restate the definitions of the other modules as directly as
Python allows (sets, dictionaries, integers and a power iteration) and serve
as the test oracles of the bulk implementations. They are slow on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from keyaccount.domain import Customer, Period, RevenueRecord

__all__ = [
    "reference_baskets",
    "reference_gaps",
    "reference_itemsets",
    "reference_lower_median",
    "reference_pagerank",
    "reference_rules",
]

Basket = frozenset[str]


def reference_baskets(
    customers: Iterable[Customer],
    records: Iterable[RevenueRecord],
    as_of: Period,
    window: int = 12,
) -> dict[str, dict[str, int]]:
    """``{customer_id: {product_id: window fen}}`` of the products with window revenue > 0.

    Customers first seen after ``as_of`` are left out; the others appear even
    when their basket is empty.
    """
    first = as_of - (window - 1)
    sums: dict[str, dict[str, int]] = {c.id: {} for c in customers if c.first_period <= as_of}
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        if first <= r.period <= as_of:
            totals[r.customer_id, r.product_id] += r.revenue_fen
    for (cid, pid), fen in totals.items():
        if fen > 0 and cid in sums:
            sums[cid][pid] = fen
    return sums


def reference_itemsets(
    baskets: Sequence[Basket], min_support: float, max_len: int | None = None
) -> dict[Basket, int]:
    """Every itemset with ``count / n >= min_support``, with its count (level by level)."""
    n = len(baskets)
    if n == 0:
        return {}
    products = sorted({p for b in baskets for p in b})
    out: dict[Basket, int] = {}
    size = 1
    level = [frozenset([p]) for p in products]
    while level and (max_len is None or size <= max_len):
        frequent = []
        for items in level:
            count = sum(1 for b in baskets if items <= b)
            if count / n >= min_support:
                out[items] = count
                frequent.append(items)
        size += 1
        candidates = {a | b for a in frequent for b in frequent if len(a | b) == size}
        level = sorted(
            (c for c in candidates if all(frozenset(s) in out for s in combinations(c, size - 1))),
            key=sorted,
        )
    return out


def reference_rules(
    itemsets: Mapping[Basket, int], n: int, min_confidence: float = 0.0
) -> dict[tuple[Basket, Basket], dict[str, float]]:
    """Every rule ``A -> C`` of the frequent itemsets, with its statistics."""
    out: dict[tuple[Basket, Basket], dict[str, float]] = {}
    for items, count in itemsets.items():
        for size in range(1, len(items)):
            for left in combinations(sorted(items), size):
                a = frozenset(left)
                c = items - a
                s_ac = count / n
                s_a = itemsets[a] / n
                s_c = itemsets[c] / n
                conf = s_ac / s_a
                if conf < min_confidence:
                    continue
                out[a, c] = {
                    "support": s_ac,
                    "antecedent support": s_a,
                    "consequent support": s_c,
                    "confidence": conf,
                    "lift": conf / s_c,
                    "leverage": s_ac - s_a * s_c,
                    "conviction": float("inf") if conf == 1.0 else (1 - s_c) / (1 - conf),
                }
    return out


def reference_pagerank(
    edges: Mapping[tuple[str, str], float],
    source: str,
    alpha: float = 0.85,
    iterations: int = 2000,
) -> dict[str, float]:
    """Personalised PageRank on an undirected weighted graph, by plain power iteration.

    ``edges`` maps ``(u, v)`` to a positive weight; the walk restarts at
    ``source`` with probability ``1 - alpha`` each step. Only nodes with an
    edge, and ``source``, appear in the result.
    """
    neighbours: dict[str, dict[str, float]] = defaultdict(dict)
    for (u, v), w in edges.items():
        neighbours[u][v] = neighbours[u].get(v, 0.0) + w
        neighbours[v][u] = neighbours[v].get(u, 0.0) + w
    nodes = set(neighbours) | {source}
    rank = {u: 1.0 if u == source else 0.0 for u in nodes}
    for _ in range(iterations):
        nxt = dict.fromkeys(nodes, 0.0)
        nxt[source] += 1.0 - alpha
        for u, mass in rank.items():
            out = neighbours.get(u)
            if not out:
                nxt[source] += alpha * mass
                continue
            total = sum(out.values())
            for v, w in out.items():
                nxt[v] += alpha * mass * w / total
        rank = nxt
    return rank


def reference_lower_median(values: Iterable[int]) -> int:
    """The lower median: the middle value, or the smaller of the two middle values."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def reference_gaps(
    parent_of: Mapping[str, str | None], baskets: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    """``{(parent, product): (kind, buying children)}`` per the hierarchy module's definitions."""
    children: dict[str, list[str]] = defaultdict(list)
    for child, parent in parent_of.items():
        if parent is not None and parent in baskets and child in baskets:
            children[parent].append(child)
    out: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
    for parent, kids in children.items():
        own = set(baskets[parent])
        products = own.union(*(set(baskets[k]) for k in kids))
        for p in products:
            buyers = frozenset(k for k in kids if p in set(baskets[k]))
            if not buyers and p in own:
                out[parent, p] = ("parent_only", buyers)
            elif 0 < len(buyers) < len(kids):
                out[parent, p] = ("partial", buyers)
    return out
