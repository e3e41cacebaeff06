"""Plain-Python metrics, one customer at a time: the readable specification.

This module states the metric definitions as directly as Python allows and
serves as the test oracle for the bulk implementation in ``_metrics``. It is
slow on purpose: no arrays, only records, dictionaries and integers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from keyaccount.domain import Customer, Period, RevenueRecord

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["reference_metrics"]

Value = int | float | None


def reference_metrics(
    customers: Iterable[Customer],
    records: Iterable[RevenueRecord],
    as_of: Period,
    *,
    rollup: bool = False,
) -> dict[str, dict[str, Value]]:
    """Metrics of every customer first seen by ``as_of``, money in integer fen.

    Args:
        customers: All customers (parents included).
        records: All revenue records.
        as_of: The as-of month ``P``.
        rollup: Include every customer's descendants in its revenue metrics.

    Returns:
        ``{customer_id: {metric: value}}``; ``None`` marks an absent value.
    """
    customers = list(customers)
    by_id = {c.id: c for c in customers}
    members: dict[str, set[str]] = {c.id: {c.id} for c in customers}
    if rollup:
        for c in customers:
            parent = c.parent_id
            while parent is not None:
                members[parent].add(c.id)
                parent = by_id[parent].parent_id
    own: dict[str, list[RevenueRecord]] = defaultdict(list)
    for r in records:
        own[r.customer_id].append(r)

    result: dict[str, dict[str, Value]] = {}
    for c in customers:
        if c.first_period > as_of:
            continue
        mine = [r for member in members[c.id] for r in own[member]]
        result[c.id] = _one(c, mine, as_of)
    return result


def _one(customer: Customer, records: list[RevenueRecord], p: Period) -> dict[str, Value]:
    monthly: dict[Period, int] = defaultdict(int)
    for r in records:
        monthly[r.period] += r.revenue_fen

    def window_sum(first: Period, last: Period) -> int:
        return sum(r.revenue_fen for r in records if first <= r.period <= last)

    t12m = window_sum(p - 11, p)
    prev12m = window_sum(p - 23, p - 12)
    volume = sum(r.volume for r in records if p - 11 <= r.period <= p)
    active = sum(1 for m in Period.range(p - 11, p) if monthly[m] > 0)
    positive = [m for m, fen in monthly.items() if m <= p and fen > 0]
    since = p - max(positive) if positive else None
    per_product: Mapping[str, int] = _per_product(records, p - 11, p)
    yoy = float(t12m) / float(prev12m) - 1.0 if prev12m > 0 else None
    return {
        "t12m_revenue": t12m,
        "prev12m_revenue": prev12m,
        "yoy_growth": yoy,
        "t12m_volume": volume,
        "active_months": active,
        "months_since_last": since,
        "product_count": sum(1 for fen in per_product.values() if fen > 0),
        "tenure_months": p - customer.first_period,
        "months_in_tier": p - customer.effective_tier_since,
    }


def _per_product(records: list[RevenueRecord], first: Period, last: Period) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for r in records:
        if first <= r.period <= last:
            totals[r.product_id] += r.revenue_fen
    return totals
