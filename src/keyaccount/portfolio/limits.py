"""The per-record and per customer-month limits on revenue, checked in bulk.

Keeping every customer's absolute revenue in one month at most
:data:`~keyaccount.domain.MAX_MONTH_FEN` keeps any 24 months of one
customer below 2**53 fen, so the per-customer float64 sums of the metrics are
always exact; sums across customers are checked where they are made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from keyaccount.domain import (
    MAX_AMOUNT_FEN,
    MAX_MONTH_FEN,
    MAX_MONTH_VOLUME,
    MAX_VOLUME,
    Period,
    format_yuan,
)
from keyaccount.exceptions import InvalidMoneyError, PrecisionError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from keyaccount.portfolio._columns import RevenueColumns

EXACT_LIMIT = 2**53
"""Sums of integer fen or parcels in float64 are exact below this bound."""

SLICE_ROWS = 1 << 21
"""Records counted or tested per pass: the temporaries of one pass (``intp`` codes,
``float64`` weights, masks) stay a few MiB and are reused, where one pass over
tens of millions of records would take fresh memory the size of the whole block."""

__all__ = [
    "EXACT_LIMIT",
    "CustomerTotals",
    "check_month_sums",
    "check_record_limits",
    "check_revenue_limits",
    "check_rollup",
]


def _count_by(
    code: npt.NDArray[Any],
    size: int,
    weights: npt.NDArray[Any] | None = None,
) -> npt.NDArray[Any]:
    """``np.bincount(code, weights, minlength=size)`` taken :data:`SLICE_ROWS` records at a time.

    Counts are ``int64``; weighted sums are ``float64``, added slice after
    slice (exact for the integer sums this module takes, all below 2**53).
    """
    total = np.zeros(size, dtype=np.int64 if weights is None else np.float64)
    for lo in range(0, len(code), SLICE_ROWS):
        hi = lo + SLICE_ROWS
        part = code[lo:hi]
        if weights is None:
            total += np.bincount(part, minlength=size)
        else:
            total += np.bincount(
                part, weights=np.asarray(weights[lo:hi], np.float64), minlength=size
            )
    return total


def check_month_sums(
    customer: npt.NDArray[Any],
    period: npt.NDArray[np.int32],
    abs_fen: npt.NDArray[Any],
    volume: npt.NDArray[Any],
    name: Callable[[Any], object],
    where: str = "",
) -> None:
    """Raise PrecisionError where a customer's monthly absolute fen or volume passes its limit.

    ``abs_fen`` and ``volume`` are non-negative; they are summed per
    ``(customer, period)`` in float64, which is exact below the limits and at
    or above the limit once the exact sum is (rounding is monotone), so the
    test is exact and cannot wrap as an int64 sum could.

    Args:
        customer: Customer code of each row (any integer or object key).
        period: Month ordinal of each row.
        abs_fen: ``|fen|`` of each row.
        volume: Parcels of each row.
        name: Maps a customer code to the id shown in the message.
        where: Where the rows came from, for the message.
    """
    if not len(period):
        return
    codes, customer_code = np.unique(customer, return_inverse=True)
    key = customer_code.astype(np.int64) * (1 << 32) + period.astype(np.int64)
    keys, inverse = np.unique(key, return_inverse=True)
    suffix = f" ({where})" if where else ""

    def yuan(v: float) -> str:
        return f"{format_yuan(int(v))} yuan"

    def parcels(v: float) -> str:
        return f"{int(v):,} parcels"

    checks: tuple[tuple[npt.NDArray[Any], int, str, Callable[[float], str]], ...] = (
        (abs_fen, MAX_MONTH_FEN, "absolute revenue", yuan),
        (volume, MAX_MONTH_VOLUME, "volume", parcels),
    )
    for values, limit, what, show in checks:
        sums = np.bincount(inverse, weights=np.asarray(values, dtype=np.float64))
        over = sums > limit
        if over.any():
            i = int(np.flatnonzero(over)[0])
            c, p = divmod(int(keys[i]), 1 << 32)
            total = show(sums[i]) if sums[i] < 2**63 else "beyond 64-bit"
            raise PrecisionError(
                f"customer {name(codes[c])!r}, month {Period.from_ordinal(p)}: {what} of "
                f"{total} is beyond the limit of {show(limit)} per customer and month{suffix}"
            )


class CustomerTotals:
    """Running absolute fen and volume per customer code: the cheap screen of the monthly limit.

    A customer whose absolute revenue (and volume) over all its records stays
    within the monthly limit cannot pass it in any one month, so only the
    customers above it (none, in any real portfolio) need their records
    grouped by month. Keeping the totals as records arrive makes each check
    cost the size of the new block, not of everything held.
    """

    def __init__(self) -> None:
        self.fen = np.zeros(0, dtype=np.float64)
        self.volume = np.zeros(0, dtype=np.float64)

    def added(
        self, customer: npt.NDArray[Any], abs_fen: npt.NDArray[Any], volume: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The totals with the given rows added (``self`` unchanged until :meth:`keep`)."""
        size = max(len(self.fen), int(customer.max()) + 1 if len(customer) else 0)
        fen: npt.NDArray[np.float64] = _count_by(customer, size, abs_fen)
        vol: npt.NDArray[np.float64] = _count_by(customer, size, volume)
        fen[: len(self.fen)] += self.fen
        vol[: len(self.volume)] += self.volume
        return fen, vol

    def keep(self, fen: npt.NDArray[np.float64], volume: npt.NDArray[np.float64]) -> None:
        """Make totals returned by :meth:`added` the current ones."""
        self.fen, self.volume = fen, volume

    @staticmethod
    def suspects(
        fen: npt.NDArray[np.float64], volume: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Per customer code: whether a month of it may pass the monthly limit."""
        return (fen > MAX_MONTH_FEN) | (volume > MAX_MONTH_VOLUME)


class MonthBound:
    """Running record count per customer code and the largest ``|fen|`` and volume of any record.

    The cheap, sound screen of the monthly limit: a customer's month holds
    at most all of its records, each within the largest ``|fen|`` (and
    volume) held, so ``count x largest`` bounds the monthly sums of every
    customer. Only the customers this bound does not clear have their records
    summed exactly. Keeping the counts as records arrive costs one
    unweighted count and one pass for the extremes per block, with no
    temporary the size of the block but the count itself.

    Attributes:
        count: Records held per customer code (``int64``).
        max_fen: The largest ``|fen|`` of any record held.
        max_volume: The largest volume of any record held (at least 0).
    """

    def __init__(self) -> None:
        self.count = np.zeros(0, dtype=np.int64)
        self.max_fen = 0
        self.max_volume = 0

    def added(self, block: RevenueColumns) -> MonthBound:
        """The bound with the records of ``block`` added (``self`` unchanged)."""
        size = max(len(self.count), int(block.customer.max()) + 1 if len(block) else 0)
        bound = MonthBound()
        bound.count = _count_by(block.customer, size)
        bound.count[: len(self.count)] += self.count
        if len(block):
            high, low = int(block.fen.max()), int(block.fen.min())
            bound.max_fen = max(self.max_fen, high, -low)
            bound.max_volume = max(self.max_volume, int(block.volume.max()))
        else:
            bound.max_fen, bound.max_volume = self.max_fen, self.max_volume
        return bound

    def suspects(self) -> npt.NDArray[np.bool_]:
        """Per customer code: whether the bound leaves a month of it above a monthly limit.

        ``count x largest > limit`` exactly when ``count > limit // largest``
        (integers, largest > 0), which cannot overflow.
        """
        suspect = np.zeros(len(self.count), dtype=np.bool_)
        for largest, limit in ((self.max_fen, MAX_MONTH_FEN), (self.max_volume, MAX_MONTH_VOLUME)):
            if largest > 0:
                suspect |= self.count > limit // largest
        return suspect


def check_record_limits(block: RevenueColumns, ids: Callable[[int], object]) -> None:
    """Refuse a record beyond the per-record amount or volume limit.

    Raises:
        InvalidMoneyError: a record's ``|fen|`` beyond the per-record limit.
        ValidationError: a record's volume beyond the per-record limit.
    """
    if len(block) and max(int(block.fen.max()), -int(block.fen.min())) > MAX_AMOUNT_FEN:
        bad = (block.fen > MAX_AMOUNT_FEN) | (block.fen < -MAX_AMOUNT_FEN)
        i = int(np.flatnonzero(bad)[0])
        raise InvalidMoneyError(
            f"record {i} (customer {ids(int(block.customer[i]))!r}): amount "
            f"{format_yuan(int(block.fen[i]))} yuan is beyond the limit of "
            f"{format_yuan(MAX_AMOUNT_FEN)} yuan per record"
        )
    if len(block) and int(block.volume.max()) > MAX_VOLUME:
        i = int(np.flatnonzero(block.volume > MAX_VOLUME)[0])
        raise ValidationError(
            f"record {i} (customer {ids(int(block.customer[i]))!r}): volume "
            f"{int(block.volume[i])} is beyond the limit of {MAX_VOLUME} per record"
        )


def check_revenue_limits(
    held: Callable[[], RevenueColumns],
    block: RevenueColumns,
    ids: Callable[[int], object],
    bound: MonthBound,
) -> MonthBound:
    """Check ``block`` against the per-record limits and, with what is held, the monthly ones.

    :class:`MonthBound` clears the customers whose monthly sums cannot pass
    the limit; the records (held and new) of the customers of ``block`` it
    does not clear are summed exactly per customer, and those whose
    absolute total passes the limit are grouped by month
    (:func:`check_month_sums`).

    Args:
        held: The records already held (read only when a customer of
            ``block`` is not cleared by the bound).
        block: The records to be added.
        ids: Maps a customer code to the id shown in messages.
        bound: The bound of the held records.

    Returns:
        The bound with ``block`` added, to be kept once ``block`` is held.

    Raises:
        InvalidMoneyError: a record's ``|fen|`` beyond the per-record limit.
        ValidationError: a record's volume beyond the per-record limit.
        PrecisionError: a customer-month beyond its limit.
    """
    if not len(block):
        return bound
    check_record_limits(block, ids)
    after = bound.added(block)
    suspect = after.suspects()
    if not suspect.any():
        return after
    rows = suspect[block.customer]
    if rows.any():
        suspect[:] = False
        suspect[block.customer[rows]] = True  # only the customers of the block can change
        customer, period = block.customer[rows], block.period[rows]
        fen, volume = np.abs(block.fen[rows].astype(np.float64)), block.volume[rows]
        if len(bound.count):
            old = held()
            same = suspect[old.customer] if len(old) else np.zeros(0, np.bool_)
            if same.any():
                customer = np.concatenate([old.customer[same], customer])
                period = np.concatenate([old.period[same], period])
                fen = np.concatenate([np.abs(old.fen[same].astype(np.float64)), fen])
                volume = np.concatenate([old.volume[same], volume])
        size = len(suspect)
        over = (np.bincount(customer, weights=fen, minlength=size) > MAX_MONTH_FEN) | (
            np.bincount(customer, weights=volume.astype(np.float64), minlength=size)
            > MAX_MONTH_VOLUME
        )
        keep = over[customer]
        if keep.any():
            check_month_sums(
                customer[keep], period[keep], fen[keep], volume[keep], lambda c: ids(int(c))
            )
    return after


def check_rollup(
    rolled: npt.NDArray[np.float64],
    customer_ids: npt.NDArray[np.object_],
    what: str,
) -> None:
    """Raise PrecisionError naming the first group whose rolled-up total reaches 2**53.

    ``rolled`` holds non-negative sums (absolute fen, or volume) per group,
    taken in float64: while a sum stays below 2**53 it is exact, and once the
    exact sum reaches 2**53 the float64 sum does too (rounding is monotone and
    2**53 is representable), so the test is exact.
    """
    over = rolled >= EXACT_LIMIT
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise PrecisionError(
            f"roll-up of group {customer_ids[i]!r} (the customer and its descendants): "
            f"{what} reaches 2**53 and cannot be summed exactly"
        )
