"""Segment x tier summary of a portfolio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

import keyaccount.portfolio.frames as fr
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
from keyaccount.exceptions import PrecisionError
from keyaccount.utils.display import html_table, money, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterator
    from decimal import Decimal

    import pandas as pd
    import polars as pl
    import pyarrow as pa

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

    def __repr__(self) -> str:
        size = f"{number(self.total_customers)} customers"
        revenue = f"t12m revenue {money(self.total_revenue_fen)} yuan"
        return short_repr("SegmentTierSummary", size, revenue, as_of=self.as_of)

    def _repr_html_(self) -> str:
        rows = (
            (
                seg.name if seg else "(none)",
                *map(int, self.counts[r]),
                int(self.counts[r].sum()),
                money(sum(int(v) for v in self.revenue_fen[r])),
            )
            for r, seg in enumerate(self.segments)
        )
        headings = ("segment", *(t.name for t in self.tiers), "customers", "t12m revenue (yuan)")
        limit = len(self.segments)
        return html_table(headings, rows, caption=repr(self), unit="segments", limit=limit)

    @property
    def total_revenue_fen(self) -> int:
        """All trailing-12 revenue, in fen (an exact Python ``int``: it cannot wrap)."""
        return sum(int(v) for v in self.revenue_fen.flat)

    def _cells_frame(self, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        rows, cols = np.divmod(np.arange(self.counts.size), len(self.tiers))
        segment = np.where(rows == len(SEGMENTS), NO_CODE, rows)
        return fr.Frame(
            (
                fr.segment("segment", segment, lang),
                fr.tier("tier", cols, lang),
                fr.integer("customers", self.counts.ravel()),
                fr.money("t12m_revenue", self.revenue_fen.ravel()),
            ),
            {"as_of": str(self.as_of)},
        )

    def to_pandas(self, *, lang: str = "en", values: str = "customers") -> pd.DataFrame:
        """The summary as a DataFrame: a segment x tier matrix, or one row per cell.

        ``values`` is ``"customers"`` (counts), ``"revenue_fen"`` (trailing-12
        revenue in fen) or ``"revenue"`` (exact yuan) for a matrix whose rows and
        columns are labelled in ``lang`` (member names with the last row
        ``UNASSIGNED``, or Chinese labels with 未分配); or ``"cells"`` for the
        long table of :meth:`to_arrow` (``segment``, ``tier``, ``customers``,
        ``t12m_revenue_fen``, ``t12m_revenue``).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``, or ``values``
                is none of those (the message lists them).
        """
        pandas = fr.require("pandas")
        where = "SegmentTierSummary.to_pandas"
        zh = check_lang(lang, where=where) == "zh"
        fr.check_choice(
            values, ("customers", "revenue_fen", "revenue", "cells"), what="values", where=where
        )
        if values == "cells":
            return self._cells_frame(lang, where).to_pandas()
        unassigned = "未分配" if zh else "UNASSIGNED"
        index = [s.label(lang) if s else unassigned for s in self.segments]
        columns = [t.label(lang) for t in self.tiers]
        if values == "revenue":
            cells = self._cells_frame(lang, where).to_pandas()["t12m_revenue"].to_numpy()
            matrix = cells.reshape(self.counts.shape)
        else:
            matrix = self.counts if values == "customers" else self.revenue_fen
        frame: pd.DataFrame = pandas.DataFrame(matrix, index=index, columns=columns)
        frame.attrs["as_of"] = str(self.as_of)
        return frame

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """One row per cell: ``segment`` (null: unassigned), ``tier``, ``customers``, revenue."""
        return self._cells_frame(lang, "SegmentTierSummary.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_arrow` as a polars ``DataFrame``."""
        return self._cells_frame(lang, "SegmentTierSummary.to_polars").to_polars()


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
