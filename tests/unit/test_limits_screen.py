"""The screen of the monthly limit against the plain exact check, over blocks appended in pieces."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import MAX_AMOUNT_FEN, MAX_MONTH_FEN, MAX_MONTH_VOLUME, MAX_VOLUME, Period
from keyaccount.exceptions import PrecisionError
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio._revenue import RevenueLedger
from keyaccount.portfolio.limits import MonthBound

Row = tuple[int, int, int, int]  # customer code, period ordinal, fen, volume

START = Period(2024, 1).ordinal

_FEN = st.one_of(
    st.sampled_from(
        [
            MAX_AMOUNT_FEN,
            -MAX_AMOUNT_FEN,
            MAX_MONTH_FEN // 2,
            MAX_MONTH_FEN // 2 + 1,
            -(MAX_MONTH_FEN // 3) - 1,
            MAX_MONTH_FEN // 3,
            1,
            0,
        ]
    ),
    st.integers(-MAX_AMOUNT_FEN, MAX_AMOUNT_FEN),
)
_VOLUME = st.one_of(
    st.sampled_from([MAX_VOLUME, MAX_MONTH_VOLUME // 2, MAX_MONTH_VOLUME // 2 + 1, 1, 0]),
    st.integers(0, MAX_VOLUME),
)
_ROW = st.tuples(st.integers(0, 4), st.integers(START, START + 2), _FEN, _VOLUME)
_BLOCKS = st.lists(st.lists(_ROW, max_size=8), min_size=1, max_size=5)


def _block(rows: list[Row]) -> RevenueColumns:
    def column(i: int, dtype: type[np.generic]) -> np.ndarray:
        return np.array([r[i] for r in rows], dtype=dtype)

    return RevenueColumns(
        customer=column(0, np.int32),
        product=np.zeros(len(rows), np.int32),
        period=column(1, np.int32),
        fen=column(2, np.int64),
        volume=column(3, np.int64),
    )


def _first_over(rows: list[Row]) -> tuple[int, int] | None:
    """The plain check: the first (customer, month) over a limit, absolute fen before volume."""
    fen: dict[tuple[int, int], int] = defaultdict(int)
    volume: dict[tuple[int, int], int] = defaultdict(int)
    for customer, period, f, v in rows:
        fen[customer, period] += abs(f)
        volume[customer, period] += v
    for sums, limit in ((fen, MAX_MONTH_FEN), (volume, MAX_MONTH_VOLUME)):
        over = sorted(key for key, total in sums.items() if total > limit)
        if over:
            return over[0]
    return None


def _name(code: int) -> str:
    return f"C{code:03d}"


@given(_BLOCKS)
def test_screened_check_refuses_exactly_what_the_plain_check_refuses(
    blocks: list[list[Row]],
) -> None:
    """Each block is refused exactly when a customer-month passes a limit, naming the first one."""
    ledger = RevenueLedger()
    held: list[Row] = []
    for rows in blocks:
        over = _first_over(held + rows)
        if over is None:
            ledger.append(_block(rows), _name)
            held += rows
        else:
            customer, period = over
            with pytest.raises(PrecisionError) as caught:
                ledger.append(_block(rows), _name)
            assert f"customer {_name(customer)!r}, month {Period.from_ordinal(period)}:" in str(
                caught.value
            )
        assert len(ledger.columns()) == len(held)


def test_bound_counts_records_and_keeps_the_largest_values() -> None:
    """The bound holds each customer's record count and the largest |fen| and volume seen."""
    bound = MonthBound().added(_block([(0, START, 5, 1), (2, START, -9, 3)]))
    bound = bound.added(_block([(2, START + 1, 7, 2)]))
    assert bound.count.tolist() == [1, 0, 2]
    assert (bound.max_fen, bound.max_volume) == (9, 3)
    assert not bound.suspects().any()


def test_bound_suspects_a_customer_whose_count_times_largest_passes_the_limit() -> None:
    """Records x the largest |fen| above the monthly limit mark the customer, across months too."""
    half = MAX_MONTH_FEN // 2 + 1
    bound = MonthBound().added(_block([(0, START, half, 0), (1, START, 1, 0)]))
    assert bound.suspects().tolist() == [False, False]
    bound = bound.added(_block([(0, START + 1, -1, 0)]))
    assert bound.suspects().tolist() == [True, False]


def test_customers_cleared_only_by_exact_totals_are_accepted() -> None:
    """Two records of half the limit in different months pass the bound's doubt and are held."""
    half = MAX_MONTH_FEN // 2 + 1
    ledger = RevenueLedger()
    ledger.append(_block([(0, START, half, 0)]), _name)
    ledger.append(_block([(0, START + 1, half, 0), (1, START, 3, 1)]), _name)
    assert len(ledger.columns()) == 3
    with pytest.raises(PrecisionError, match=r"customer 'C000', month 2024-02"):
        ledger.append(_block([(0, START + 1, -half, 0)]), _name)
    assert len(ledger.columns()) == 3
