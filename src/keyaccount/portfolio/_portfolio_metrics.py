"""Metrics tables of a portfolio's columns: every customer, and the group accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.portfolio._metrics import MetricsTable, compute_metrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from keyaccount.domain import Period
    from keyaccount.portfolio._customers import CustomerColumns
    from keyaccount.portfolio._metrics import SortedRevenue

__all__ = ["customer_metrics", "group_rows", "take_rows"]


def customer_metrics(
    customers: CustomerColumns,
    records: SortedRevenue,
    product_ids: tuple[str, ...],
    as_of: Period,
    *,
    rollup: bool,
) -> MetricsTable:
    """The metrics of ``customers`` over ``records`` as of ``as_of`` (see :func:`compute_metrics`).

    The table gets its own copies of the tier and segment codes, so later
    changes to ``customers`` do not reach it.
    """
    return compute_metrics(
        as_of=as_of,
        customer_ids=customers.id,
        first_period=customers.first_period,
        tier_since=customers.tier_since,
        tier=customers.tier.copy(),
        segment=customers.segment.copy(),
        parent=customers.parent,
        records=records,
        product_ids=product_ids,
        rollup=rollup,
    )


def group_rows(table: MetricsTable, group_ids: Sequence[str]) -> MetricsTable:
    """The rows of ``table`` whose customer is one of ``group_ids``, in table order."""
    return take_rows(table, np.isin(table.customer_ids, np.array(group_ids, dtype=object)))


def take_rows(table: MetricsTable, keep: npt.NDArray[np.bool_]) -> MetricsTable:
    """The rows of ``table`` selected by the mask ``keep``."""
    return MetricsTable(
        as_of=table.as_of,
        customer_ids=table.customer_ids[keep],
        columns={k: v[keep] for k, v in table.columns.items()},
        absent={k: v[keep] for k, v in table.absent.items()},
        tier=table.tier[keep],
        segment=table.segment[keep],
        product_ids=table.product_ids,
        product_revenue=table.product_revenue[keep],
        rollup=table.rollup,
    )
