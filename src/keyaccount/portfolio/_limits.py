"""The per-record and per customer-month limits on revenue, checked in bulk.

Keeping every customer's absolute revenue in one month at most
:data:`~keyaccount.domain._money.MAX_MONTH_FEN` keeps any 24 months of one
customer below 2**53 fen, so the per-customer float64 sums of the metrics are
always exact; sums across customers are checked where they are made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from keyaccount.domain import Period, format_yuan
from keyaccount.domain._money import MAX_AMOUNT_FEN, MAX_MONTH_FEN, MAX_MONTH_VOLUME, MAX_VOLUME
from keyaccount.exceptions import InvalidMoneyError, PrecisionError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from keyaccount.portfolio._columns import RevenueColumns

__all__ = ["check_month_sums", "check_revenue_limits"]


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


def check_revenue_limits(
    held: RevenueColumns | None, block: RevenueColumns, ids: Callable[[int], object]
) -> None:
    """Check ``block`` against the per-record limits and, with ``held``, the monthly ones.

    Raises:
        InvalidMoneyError: a record's ``|fen|`` beyond the per-record limit.
        ValidationError: a record's volume beyond the per-record limit.
        PrecisionError: a customer-month beyond its limit.
    """
    if not len(block):
        return
    bad = (block.fen > MAX_AMOUNT_FEN) | (block.fen < -MAX_AMOUNT_FEN)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidMoneyError(
            f"record {i} (customer {ids(int(block.customer[i]))!r}): amount "
            f"{format_yuan(int(block.fen[i]))} yuan is beyond the limit of "
            f"{format_yuan(MAX_AMOUNT_FEN)} yuan per record"
        )
    bad = block.volume > MAX_VOLUME
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"record {i} (customer {ids(int(block.customer[i]))!r}): volume "
            f"{int(block.volume[i])} is beyond the limit of {MAX_VOLUME} per record"
        )
    abs_fen = np.abs(block.fen.astype(np.float64))
    # A customer whose absolute revenue (and volume) over all its months stays within
    # the monthly limit cannot pass it in any one month: only the others are grouped
    # by month, so the common case costs two bincounts and no sort.
    size = int(block.customer.max()) + 1
    fen_total = np.bincount(block.customer, weights=abs_fen, minlength=size)
    volume_total = np.bincount(
        block.customer, weights=block.volume.astype(np.float64), minlength=size
    )
    if held is not None and len(held):
        mine = held.customer < size
        fen_total += np.bincount(
            held.customer[mine], weights=np.abs(held.fen[mine].astype(np.float64)), minlength=size
        )
        volume_total += np.bincount(
            held.customer[mine], weights=held.volume[mine].astype(np.float64), minlength=size
        )
    suspect = (fen_total > MAX_MONTH_FEN) | (volume_total > MAX_MONTH_VOLUME)
    if not suspect.any():
        return
    rows = suspect[block.customer]
    customer, period = block.customer[rows], block.period[rows]
    fen, volume = abs_fen[rows], block.volume[rows]
    if held is not None and len(held):
        # only the held records of the customer-months the block touches count
        new = np.unique(customer.astype(np.int64) * (1 << 32) + period)
        old = held.customer.astype(np.int64) * (1 << 32) + held.period
        same = np.isin(old, new)
        if same.any():
            customer = np.concatenate([held.customer[same], customer])
            period = np.concatenate([held.period[same], period])
            fen = np.concatenate([np.abs(held.fen[same].astype(np.float64)), fen])
            volume = np.concatenate([held.volume[same], volume])
    check_month_sums(customer, period, fen, volume, lambda c: ids(int(c)))
