"""The portfolio aggregate and its metrics, computed in bulk over columnar arrays."""

from __future__ import annotations

from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio._customers import CustomerColumns
from keyaccount.portfolio._metrics import (
    METRICS,
    MetricKind,
    MetricSpec,
    MetricsTable,
    ancestors_expansion,
    subtree_matrix,
)
from keyaccount.portfolio._portfolio import Portfolio
from keyaccount.portfolio._reference import reference_metrics
from keyaccount.portfolio._summary import SegmentTierCell, SegmentTierSummary

__all__ = [
    "METRICS",
    "CustomerColumns",
    "MetricKind",
    "MetricSpec",
    "MetricsTable",
    "Portfolio",
    "RevenueColumns",
    "SegmentTierCell",
    "SegmentTierSummary",
    "ancestors_expansion",
    "reference_metrics",
    "subtree_matrix",
]
