"""Columnar storage of customers and revenue records (numpy arrays, integer fen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import Period, Segment, SubSegment, Tier

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["NO_CODE", "SEGMENTS", "SUB_SEGMENTS", "TIERS", "RevenueColumns"]

IntArray = npt.NDArray[np.int64]
I32Array = npt.NDArray[np.int32]

NO_CODE = -1
"""Code used in integer columns for an absent segment, sub-segment, parent or period."""

SEGMENTS: tuple[Segment, ...] = tuple(Segment)
"""Segment codes are positions in this tuple."""
SUB_SEGMENTS: tuple[SubSegment, ...] = tuple(SubSegment)
"""Sub-segment codes are positions in this tuple."""
TIERS: tuple[Tier, ...] = tuple(sorted(Tier, key=lambda t: t.rank))
"""Tier codes are ranks: positions in this tuple."""


def segment_code(segment: Segment | None) -> int:
    """The integer code of ``segment`` (``NO_CODE`` for ``None``)."""
    return NO_CODE if segment is None else SEGMENTS.index(segment)


def sub_segment_code(sub: SubSegment | None) -> int:
    """The integer code of ``sub`` (``NO_CODE`` for ``None``)."""
    return NO_CODE if sub is None else SUB_SEGMENTS.index(sub)


@attrs.frozen(eq=False)
class RevenueColumns:
    """Revenue records as parallel arrays, one element per record.

    Attributes:
        customer: Customer position in the portfolio (``int32``).
        product: Product position in the catalogue (``int32``).
        period: :attr:`Period.ordinal` of the month (``int32``).
        fen: Revenue in fen (``int64``); negative for refunds.
        volume: Parcels (``int64``).

    Records are unordered; duplicate (customer, product, period) records add.
    """

    customer: I32Array
    product: I32Array
    period: I32Array
    fen: IntArray
    volume: IntArray

    def __len__(self) -> int:
        return int(self.customer.shape[0])

    @classmethod
    def empty(cls) -> RevenueColumns:
        """No records."""
        return cls(
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )

    @classmethod
    def concat(cls, parts: Sequence[RevenueColumns]) -> RevenueColumns:
        """One block holding all records of ``parts`` in order."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.customer for p in parts]),
            np.concatenate([p.product for p in parts]),
            np.concatenate([p.period for p in parts]),
            np.concatenate([p.fen for p in parts]),
            np.concatenate([p.volume for p in parts]),
        )

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> RevenueColumns:
        """The records selected by a boolean mask or positions."""
        return RevenueColumns(
            self.customer[index],
            self.product[index],
            self.period[index],
            self.fen[index],
            self.volume[index],
        )

    @property
    def period_span(self) -> tuple[Period, Period] | None:
        """The first and last month with a record, or ``None`` when empty."""
        if len(self) == 0:
            return None
        return (
            Period.from_ordinal(int(self.period.min())),
            Period.from_ordinal(int(self.period.max())),
        )
