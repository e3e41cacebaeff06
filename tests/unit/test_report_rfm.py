"""The report's monthly RFM equals RFM over transactions built record by record."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings

from keyaccount import Portfolio
from keyaccount.analysis import RfmScores, rfm, rfm_scores
from keyaccount.demo import generate
from keyaccount.domain import Period
from keyaccount.io import Transactions
from keyaccount.report import monthly_rfm
from tests.strategies import PortfolioData, portfolios

_TABLE = ("customer_ids", "frequency", "recency", "T", "recency_days", "T_days")
_MONEY = ("repeat_fen", "total_fen")


def _plain(portfolio: Portfolio, as_of: Period) -> RfmScores | None:
    """Monthly RFM the plain way: ``np.unique`` codes, one date per record."""
    cols = portfolio.revenue_columns
    rows = [
        i
        for i, (fen, period) in enumerate(zip(cols.fen.tolist(), cols.period.tolist(), strict=True))
        if fen > 0 and period <= as_of.ordinal
    ]
    if not rows:
        return None
    keep = np.array(rows, dtype=np.int64)
    positions, coded = np.unique(cols.customer[keep], return_inverse=True)
    days = [
        (Period.from_ordinal(int(p)).first_day - dt.date(1970, 1, 1)).days
        for p in cols.period[keep].tolist()
    ]
    n = keep.shape[0]
    transactions = Transactions(
        customer_ids=np.asarray(portfolio.customer_columns.id, dtype=object)[positions],
        names=np.asarray(portfolio.customer_columns.name, dtype=object)[positions],
        customer=coded.astype(np.int32),
        day=np.array(days, dtype=np.int32),
        fen=cols.fen[keep].astype(np.int64),
        product=cols.product[keep].astype(np.int32),
        quantity=np.ones(n, dtype=np.int64),
        line=np.arange(n, dtype=np.int64),
        catalog=portfolio.products,
        source="monthly revenue",
    )
    last_day = (as_of + 1).first_day - dt.timedelta(days=1)
    return rfm_scores(rfm(transactions, last_day, freq="M"))


def _assert_same(got: RfmScores | None, expected: RfmScores | None) -> None:
    if expected is None:
        assert got is None
        return
    assert got is not None
    for name in (*_TABLE, *_MONEY):
        a, b = getattr(got.table, name), getattr(expected.table, name)
        assert a.dtype == b.dtype, name
        assert np.array_equal(a, b), name
    for name in ("r_score", "f_score", "m_score", "segment"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name


@settings(max_examples=80, deadline=None)
@given(data=portfolios(max_customers=8, max_records=40))
def test_monthly_rfm_equals_plain(data: PortfolioData) -> None:
    """Random portfolios (refunds, late customers, records after the month): same scores."""
    portfolio = Portfolio(data.customers, data.records)
    _assert_same(monthly_rfm(portfolio, data.as_of), _plain(portfolio, data.as_of))


def test_monthly_rfm_equals_plain_on_demo() -> None:
    """The demo portfolio as of its last month and a year earlier: same scores."""
    portfolio = generate(customers=2000, months=24)
    span = portfolio.period_span
    assert span is not None
    for as_of in (span[1], span[1] - 12):
        got = monthly_rfm(portfolio, as_of)
        assert got is not None
        assert len(got) > 100
        _assert_same(got, _plain(portfolio, as_of))
