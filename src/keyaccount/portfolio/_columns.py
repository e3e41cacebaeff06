"""Columnar storage of customers and revenue records (numpy arrays, integer fen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Period,
    segment_code,
    sub_segment_code,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [  # the codes are re-exported for modules not yet importing them from the domain
    "NO_CODE",
    "SEGMENTS",
    "SUB_SEGMENTS",
    "TIERS",
    "RevenueColumns",
    "segment_code",
    "sub_segment_code",
]

IntArray = npt.NDArray[np.int64]
I32Array = npt.NDArray[np.int32]


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
