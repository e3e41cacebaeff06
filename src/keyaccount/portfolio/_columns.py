"""Columnar storage of revenue records (numpy arrays, integer fen) and the checks of a new block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import Period, PeriodRange
from keyaccount.exceptions import (
    InvalidMoneyError,
    InvalidPeriodError,
    UnknownCustomerError,
    UnknownProductError,
    ValidationError,
)
from keyaccount.utils.display import HEAD_ROWS, html_table, money, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RevenueColumns", "check_ordinals"]

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

    def __repr__(self) -> str:
        span = self.period_span
        months = None if span is None else PeriodRange(*span)
        return short_repr("RevenueColumns", f"{number(len(self))} records", months=months)

    def _repr_html_(self) -> str:
        n = min(len(self), HEAD_ROWS)
        rows = (
            (
                int(self.customer[i]),
                int(self.product[i]),
                str(Period.from_ordinal(int(self.period[i]))),
                money(int(self.fen[i])),
                int(self.volume[i]),
            )
            for i in range(n)
        )
        headings = ("customer position", "product position", "period", "yuan", "volume")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="records")

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

    def checked_copy(
        self,
        customer_ids: npt.NDArray[np.object_],
        first_period: npt.NDArray[np.int32],
        n_products: int,
    ) -> RevenueColumns:
        """This block checked against the customers and catalogue it refers to, as a copy.

        The checks are array operations, never one Python object per record.
        The copy has the dtypes of the attributes (``int32`` codes, ``int64``
        fen and volume), so later changes to ``self`` do not reach it.

        Args:
            customer_ids: Id of every customer a record may name, by position.
            first_period: Their first-seen month ordinals.
            n_products: Size of the catalogue.

        Raises:
            InvalidMoneyError: ``fen`` is not an integer array, or holds an
                unsigned amount beyond 64-bit fen.
            InvalidPeriodError: a period ordinal that is no valid month.
            UnknownCustomerError: a customer position out of range.
            UnknownProductError: a product position out of range.
            ValidationError: a non-integer column, columns of different
                lengths, a negative volume, or a record before its customer's
                ``first_period``; the message names the first offending record.
        """
        fen = self.fen
        if not np.issubdtype(fen.dtype, np.integer):
            raise InvalidMoneyError(f"fen must be an integer array, got dtype {fen.dtype}")
        if (
            np.issubdtype(fen.dtype, np.unsignedinteger)
            and len(fen)
            and int(fen.max()) > np.iinfo(np.int64).max
        ):
            i = int(np.argmax(fen))
            raise InvalidMoneyError(f"record {i}: fen {int(fen[i])} exceeds 64-bit fen")
        for name in ("customer", "product", "period", "volume"):
            dtype = getattr(self, name).dtype
            if not np.issubdtype(dtype, np.integer):
                raise ValidationError(f"revenue column {name} must be integers, got dtype {dtype}")
        n = len(self)
        lengths = {f.name: len(getattr(self, f.name)) for f in attrs.fields(RevenueColumns)}
        if any(size != n for size in lengths.values()):
            raise ValidationError(f"revenue columns differ in length: {lengths}")
        if n == 0:
            return RevenueColumns.empty()
        check_ordinals(self.period, None, "period")
        bad = (self.customer < 0) | (self.customer >= len(customer_ids))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UnknownCustomerError(
                f"record {i}: unknown customer position {int(self.customer[i])}"
            )
        bad = (self.product < 0) | (self.product >= n_products)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UnknownProductError(
                f"record {i}: unknown product position {int(self.product[i])}"
            )
        bad = self.volume < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"record {i}: negative volume {int(self.volume[i])}")
        bad = self.period < first_period[self.customer]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cust = int(self.customer[i])
            raise ValidationError(
                f"record {i}: period {Period.from_ordinal(int(self.period[i]))} is before "
                f"customer {customer_ids[cust]!r}'s first_period "
                f"{Period.from_ordinal(int(first_period[cust]))}"
            )
        return RevenueColumns(
            self.customer.astype(np.int32),
            self.product.astype(np.int32),
            self.period.astype(np.int32),
            fen.astype(np.int64),
            self.volume.astype(np.int64),
        )


def check_ordinals(
    ordinals: npt.NDArray[np.integer[Any]], ids: npt.NDArray[np.object_] | None, what: str
) -> None:
    """Raise InvalidPeriodError for the smallest or largest ordinal if it is no valid month.

    Args:
        ordinals: Month ordinals.
        ids: The customer id of each ordinal, or ``None`` for revenue records
            (the message then names the record by position).
        what: The column, for the message (``"first_period"``).
    """
    if ordinals.size == 0:
        return
    for i in (int(np.argmin(ordinals)), int(np.argmax(ordinals))):
        try:
            Period.from_ordinal(int(ordinals[i]))
        except InvalidPeriodError as exc:
            where = f"record {i}" if ids is None else f"customer {ids[i]!r}"
            raise InvalidPeriodError(
                f"{where}: {what} ordinal {int(ordinals[i])} is not a valid month: {exc}"
            ) from None
