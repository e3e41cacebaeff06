"""Counts and totals of the limit screens, taken slice by slice, against one bincount."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.portfolio import limits
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio.limits import CustomerTotals, MonthBound

_ROWS = st.lists(
    st.tuples(st.integers(0, 6), st.integers(-(10**9), 10**9), st.integers(0, 10**6)),
    max_size=40,
)


def _block(rows: list[tuple[int, int, int]]) -> RevenueColumns:
    return RevenueColumns(
        customer=np.array([r[0] for r in rows], np.int32),
        product=np.zeros(len(rows), np.int32),
        period=np.zeros(len(rows), np.int32),
        fen=np.array([r[1] for r in rows], np.int64),
        volume=np.array([r[2] for r in rows], np.int64),
    )


@given(_ROWS, _ROWS, st.integers(1, 7))
def test_slice_boundaries_inside_the_records_give_the_counts_of_one_pass(
    first: list[tuple[int, int, int]], second: list[tuple[int, int, int]], rows: int
) -> None:
    """Counts and totals summed ``rows`` records at a time equal those of one bincount."""
    held, block = _block(first), _block(second)
    size = max([7, *(r[0] + 1 for r in first + second)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "SLICE_ROWS", rows)
        bound = MonthBound().added(held).added(block)
        totals = CustomerTotals()
        totals.keep(*totals.added(held.customer, np.abs(held.fen), held.volume))
        fen, volume = totals.added(block.customer, np.abs(block.fen), block.volume)
    customer = np.concatenate([held.customer, block.customer])
    abs_fen = np.abs(np.concatenate([held.fen, block.fen]))
    vol = np.concatenate([held.volume, block.volume])
    expected = np.bincount(customer, minlength=size)
    assert bound.count.dtype == np.int64
    assert bound.count.tolist() == expected[: len(bound.count)].tolist()
    assert fen.tolist() == np.bincount(customer, abs_fen, len(fen)).tolist()
    assert volume.tolist() == np.bincount(customer, vol, len(volume)).tolist()
    assert fen.dtype == np.float64
    assert volume.dtype == np.float64


def test_a_slice_boundary_splits_one_customers_records() -> None:
    """A customer whose records straddle two slices is counted once with all of them."""
    block = _block([(0, 5, 1), (1, -7, 2), (1, 3, 4), (1, 9, 8), (2, 1, 0)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "SLICE_ROWS", 2)
        bound = MonthBound().added(block)
        fen, volume = CustomerTotals().added(block.customer, np.abs(block.fen), block.volume)
    assert bound.count.tolist() == [1, 3, 1]
    assert (bound.max_fen, bound.max_volume) == (9, 8)
    assert fen.tolist() == [5.0, 19.0, 1.0]
    assert volume.tolist() == [1.0, 14.0, 0.0]
