"""Segment x tier summary of a portfolio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    Period,
    Segment,
    Tier,
    check_lang,
    fen_to_yuan,
)
from keyaccount.exceptions import PrecisionError, ValidationError, shorten

if TYPE_CHECKING:
    from collections.abc import Iterator
    from decimal import Decimal

    import pandas as pd

    from keyaccount.portfolio._metrics import MetricsTable

__all__ = ["SegmentTierCell", "SegmentTierSummary", "summarise"]


@attrs.frozen
class SegmentTierCell:
    """Customers of one segment (``None``: unassigned) and tier, and their revenue."""

    segment: Segment | None
    tier: Tier
    customers: int
    t12m_revenue_fen: int

    @property
    def t12m_revenue(self) -> Decimal:
        """Trailing-12 revenue in yuan."""
        return fen_to_yuan(self.t12m_revenue_fen)


@attrs.frozen(eq=False)
class SegmentTierSummary:
    """Counts and trailing-12 revenue per segment (rows, unassigned last) and tier (columns).

    Attributes:
        as_of: The as-of month.
        counts: ``int64`` array of shape ``(len(Segment) + 1, len(Tier))``; the
            last row is customers without a segment; columns in tier order.
        revenue_fen: Same shape, trailing-12 revenue in fen.
    """

    as_of: Period
    counts: npt.NDArray[np.int64]
    revenue_fen: npt.NDArray[np.int64]

    @property
    def segments(self) -> tuple[Segment | None, ...]:
        """Row labels: every segment, then ``None`` for unassigned customers."""
        return (*SEGMENTS, None)

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """Column labels, lowest tier first."""
        return TIERS

    def cells(self) -> Iterator[SegmentTierCell]:
        """Every cell, row by row."""
        for r, seg in enumerate(self.segments):
            for c, tier in enumerate(self.tiers):
                yield SegmentTierCell(
                    seg, tier, int(self.counts[r, c]), int(self.revenue_fen[r, c])
                )

    def cell(self, segment: Segment | None, tier: Tier) -> SegmentTierCell:
        """One cell."""
        r = self.segments.index(segment)
        c = self.tiers.index(tier)
        return SegmentTierCell(segment, tier, int(self.counts[r, c]), int(self.revenue_fen[r, c]))

    @property
    def total_customers(self) -> int:
        """All customers counted."""
        return int(self.counts.sum())

    @property
    def total_revenue_fen(self) -> int:
        """All trailing-12 revenue, in fen (an exact Python ``int``: it cannot wrap)."""
        return sum(int(v) for v in self.revenue_fen.flat)

    def to_pandas(self, *, lang: str = "en", values: str = "customers") -> pd.DataFrame:
        """A segment x tier DataFrame of ``"customers"`` or ``"revenue_fen"``.

        Rows and columns are labelled in ``lang``: member names (``"en"``, the last row
        ``UNASSIGNED``) or Chinese labels (``"zh"``, the last row 未分配).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``, or ``values`` is
                neither ``"customers"`` nor ``"revenue_fen"``.
        """
        import pandas as pd  # optional dependency: imported on use

        zh = check_lang(lang, where="SegmentTierSummary.to_pandas") == "zh"
        if values not in ("customers", "revenue_fen"):
            raise ValidationError(
                f"summary values must be 'customers' or 'revenue_fen', got {shorten(values)}"
            )
        data = self.counts if values == "customers" else self.revenue_fen
        unassigned = "未分配" if zh else "UNASSIGNED"
        return pd.DataFrame(
            data,
            index=[s.label(lang) if s else unassigned for s in self.segments],
            columns=[t.label(lang) for t in self.tiers],
        )


_CELL_LIMIT = 2**62
"""Cells whose absolute float64 total stays below this are exact in int64 (with margin)."""


def summarise(table: MetricsTable) -> SegmentTierSummary:
    """Summarise a metrics table by segment and tier.

    Raises:
        PrecisionError: a cell's trailing-12 revenue does not fit 64-bit fen;
            the message names its segment and tier.
    """
    rows = np.where(table.segment == NO_CODE, len(SEGMENTS), table.segment).astype(np.int64)
    key = rows * len(TIERS) + table.tier.astype(np.int64)
    size = (len(SEGMENTS) + 1) * len(TIERS)
    shape = (len(SEGMENTS) + 1, len(TIERS))
    counts = np.bincount(key, minlength=size).reshape(shape).astype(np.int64)
    fen = table.columns["t12m_revenue"]
    # the sum of |fen| per cell in float64 bounds every partial int64 sum below
    absolute = np.bincount(key, weights=np.abs(fen.astype(np.float64)), minlength=size)
    over = absolute >= _CELL_LIMIT
    if over.any():
        r, c = divmod(int(np.flatnonzero(over)[0]), len(TIERS))
        segment = SEGMENTS[r].name if r < len(SEGMENTS) else "no segment"
        raise PrecisionError(
            f"summary as of {table.as_of}: trailing-12 revenue of segment {segment}, "
            f"tier {TIERS[c].name} does not fit 64-bit fen"
        )
    # exact: sum with Python integers per cell would be slow; int64 add.at is exact
    revenue = np.zeros(size, dtype=np.int64)
    np.add.at(revenue, key, fen)
    return SegmentTierSummary(table.as_of, counts, revenue.reshape(shape))
