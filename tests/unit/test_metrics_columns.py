"""The metric columns of a table: order, membership, and columns summed on first read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from keyaccount import METRICS, Customer, Period, Portfolio, RevenueRecord
from keyaccount.portfolio import reference_metrics
from tests.strategies import PortfolioData, portfolios


def _portfolio() -> Portfolio:
    """Two customers, one first seen after the as-of month, with volume in and out of the year."""
    customers = [Customer("C1", "Court", "2021-01"), Customer("C2", "Bank", "2023-05")]
    records = [
        RevenueRecord("C1", "court_express", "2021-06", "10.00", volume=7),
        RevenueRecord("C1", "court_express", "2022-03", "5.00", volume=3),
        RevenueRecord("C1", "card_letter", "2022-12", "1.00", volume=2),
        RevenueRecord("C2", "card_letter", "2023-06", "9.00", volume=11),
    ]
    return Portfolio(customers, records)


def test_columns_keep_the_metric_order_and_names() -> None:
    """Iterating the columns gives every metric in METRICS order; unknown names raise KeyError."""
    table = _portfolio().metrics("2022-12")
    assert list(table.columns) == list(METRICS)
    assert len(table.columns) == len(METRICS)
    assert all(name in table.columns for name in METRICS)
    assert "no_such_metric" not in table.columns
    with pytest.raises(KeyError):
        table.columns["no_such_metric"]


def test_trailing_volume_read_after_later_revenue_is_as_of_the_table() -> None:
    """A column summed on first read counts the records the table was computed from, no later."""
    pf = _portfolio()
    table = pf.metrics("2022-12")
    pf.add_revenue([RevenueRecord("C1", "court_express", "2022-11", "2.00", volume=100)])
    assert table.row("C1")["t12m_volume"] == 5
    assert pf.metrics("2022-12").row("C1")["t12m_volume"] == 105


def test_trailing_volume_leaves_out_customers_first_seen_later() -> None:
    """The volume column has one value per table row (customers first seen after P left out)."""
    table = _portfolio().metrics("2022-12")
    assert list(table) == ["C1"]
    np.testing.assert_array_equal(table.columns["t12m_volume"], [5])
    assert table.columns["t12m_volume"].dtype == np.int64


@given(portfolios())
def test_every_column_read_twice_is_the_same_array(data: PortfolioData) -> None:
    """A column computed on first read is kept: the second read returns the same values."""
    pf = Portfolio(data.customers, data.records)
    table = pf.metrics(data.as_of)
    for name in METRICS:
        first = table.columns[name]
        assert table.columns[name] is first
        assert first.shape == (len(table),)


@given(portfolios())
def test_product_revenue_is_int64_per_customer_and_product(data: PortfolioData) -> None:
    """product_revenue is int64 (customers x catalogue products) and sums to t12m_revenue."""
    pf = Portfolio(data.customers, data.records)
    table = pf.metrics(data.as_of)
    assert table.product_revenue.dtype == np.int64
    assert table.product_revenue.shape == (len(table), len(table.product_ids))
    np.testing.assert_array_equal(table.product_revenue.sum(axis=1), table.columns["t12m_revenue"])
    expected = reference_metrics(data.customers, data.records, Period.parse(data.as_of))
    for cid in table:
        assert table.row(cid)["t12m_volume"] == expected[cid]["t12m_volume"]
