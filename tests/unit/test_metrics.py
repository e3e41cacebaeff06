from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import (
    METRICS,
    Customer,
    MetricsTable,
    Period,
    Portfolio,
    RevenueRecord,
    Segment,
    Tier,
    fen_to_yuan,
)
from keyaccount.domain import MAX_MONTH_FEN
from keyaccount.exceptions import UnknownCustomerError, UnknownProductError
from keyaccount.portfolio import CustomerColumns, MetricKind, RevenueColumns, reference_metrics
from tests.strategies import PRODUCT_IDS, PortfolioData, portfolios

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

P = Period(2022, 12)


def _assert_matches_reference(
    table: MetricsTable, customers: Sequence[Customer], records: Sequence[RevenueRecord]
) -> None:
    """The table equals reference_metrics exactly: same customers, order and values."""
    expected = reference_metrics(customers, records, table.as_of, rollup=table.rollup)
    assert list(table) == [c.id for c in customers if c.id in expected]
    assert table.names == tuple(METRICS)
    for cid, metrics in expected.items():
        i = table.position(cid)
        for name, value in metrics.items():
            absent = bool(table.absent[name][i])
            assert absent == (value is None), (cid, name, value)
            if value is None:
                continue
            raw = table.columns[name][i]
            if METRICS[name].kind is MetricKind.RATIO:
                assert float(raw) == value, (cid, name)
            else:
                assert int(raw) == value, (cid, name)


@given(portfolios(), st.booleans())
def test_metrics_equal_the_reference(data: PortfolioData, rollup: bool) -> None:
    """Bulk metrics equal the plain-Python reference for every customer and metric."""
    pf = Portfolio(data.customers, data.records)
    _assert_matches_reference(pf.metrics(data.as_of, rollup=rollup), data.customers, data.records)


@given(portfolios(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_metrics_do_not_depend_on_record_order_or_batches(
    data: PortfolioData, rng: random.Random, batches: int
) -> None:
    """Shuffled records added in several batches give the same table."""
    records = list(data.records)
    rng.shuffle(records)
    pf = Portfolio(data.customers)
    for k in range(batches):
        pf.add_revenue(records[k::batches])
    reference = Portfolio(data.customers, data.records)
    for rollup in (False, True):
        a = pf.metrics(data.as_of, rollup=rollup)
        b = reference.metrics(data.as_of, rollup=rollup)
        assert list(a) == list(b)
        for name in METRICS:
            np.testing.assert_array_equal(a.absent[name], b.absent[name])
            np.testing.assert_array_equal(
                a.columns[name][~a.absent[name]], b.columns[name][~b.absent[name]]
            )
        np.testing.assert_array_equal(a.product_revenue, b.product_revenue)


@given(portfolios())
def test_records_in_month_order_match_the_reference(data: PortfolioData) -> None:
    """Records added in month order (kept as they are, without sorting) match the reference."""
    records = sorted(data.records, key=lambda r: r.period)
    pf = Portfolio(data.customers, records)
    for rollup in (False, True):
        _assert_matches_reference(pf.metrics(data.as_of, rollup=rollup), data.customers, records)


@given(portfolios())
def test_bulk_paths_give_the_same_metrics(data: PortfolioData) -> None:
    """A portfolio built with add_customer_columns / add_revenue_columns matches the reference."""
    pf = Portfolio()
    positions = {c.id: i for i, c in enumerate(data.customers)}
    pf.add_customer_columns(CustomerColumns.from_customers(data.customers, positions))
    catalog = pf.products
    pf.add_revenue_columns(
        RevenueColumns(
            np.array([positions[r.customer_id] for r in data.records], dtype=np.int64),
            np.array([catalog.position(r.product_id) for r in data.records], dtype=np.int64),
            np.array([r.period.ordinal for r in data.records], dtype=np.int64),
            np.array([r.revenue_fen for r in data.records], dtype=np.int64),
            np.array([r.volume for r in data.records], dtype=np.int64),
        )
    )
    assert list(pf.customers()) == list(data.customers)
    for rollup in (False, True):
        _assert_matches_reference(
            pf.metrics(data.as_of, rollup=rollup), data.customers, data.records
        )


@given(portfolios())
def test_t12m_is_the_sum_of_the_window(data: PortfolioData) -> None:
    """t12m_revenue is the sum of the customer's records in P-11..P, in Decimal yuan."""
    table = Portfolio(data.customers, data.records).metrics(data.as_of)
    window = Period.range(data.as_of - 11, data.as_of)
    for cid in table:
        total = sum(
            (r.revenue for r in data.records if r.customer_id == cid and r.period in window),
            Decimal("0.00"),
        )
        assert table.row(cid)["t12m_revenue"] == total


@given(portfolios())
def test_rollup_of_t12m_sums_the_subtree(data: PortfolioData) -> None:
    """A parent's rolled-up t12m_revenue is the sum of its subtree's own t12m_revenue."""
    pf = Portfolio(data.customers, data.records)
    own = pf.metrics(data.as_of)
    rolled = pf.metrics(data.as_of, rollup=True)
    assert list(own) == list(rolled)
    for cid in rolled:
        subtree = [cid, *pf.descendants(cid)]
        expected = sum(
            int(own.columns["t12m_revenue"][own.position(m)]) for m in subtree if m in own
        )
        assert int(rolled.columns["t12m_revenue"][rolled.position(cid)]) == expected
        if not pf.descendants(cid):
            assert rolled.row(cid) == own.row(cid)


@given(portfolios())
def test_customers_first_seen_after_p_are_left_out(data: PortfolioData) -> None:
    """Exactly the customers first seen by P are in the table, in portfolio order."""
    table = Portfolio(data.customers, data.records).metrics(data.as_of)
    assert list(table) == [c.id for c in data.customers if c.first_period <= data.as_of]
    for c in data.customers:
        if c.first_period > data.as_of:
            assert c.id not in table
            with pytest.raises(UnknownCustomerError, match=repr(c.id)):
                table.row(c.id)


@given(portfolios())
def test_summary_adds_up(data: PortfolioData) -> None:
    """Summary counts add up to the table's length and its revenue to the t12m total."""
    pf = Portfolio(data.customers, data.records)
    table = pf.metrics(data.as_of)
    summary = pf.summary(data.as_of)
    assert summary.as_of == data.as_of
    assert summary.total_customers == len(table)
    assert summary.total_revenue_fen == int(table.columns["t12m_revenue"].sum())
    cells = list(summary.cells())
    assert len(cells) == (len(Segment) + 1) * len(Tier)
    assert sum(c.customers for c in cells) == len(table)
    for cell in cells:
        members = [
            cid
            for cid in table
            if table.segment_of(cid) is cell.segment and table.tier_of(cid) is cell.tier
        ]
        assert cell.customers == len(members)
        assert cell.t12m_revenue_fen == sum(
            int(table.columns["t12m_revenue"][table.position(cid)]) for cid in members
        )
        assert cell.t12m_revenue == fen_to_yuan(cell.t12m_revenue_fen)
        assert summary.cell(cell.segment, cell.tier) == cell


@given(portfolios())
def test_group_rollups_hold_only_parents(data: PortfolioData) -> None:
    """group_rollups lists the parents seen by P, with their roll-up metrics."""
    pf = Portfolio(data.customers, data.records)
    groups = pf.group_rollups(data.as_of)
    rolled = pf.metrics(data.as_of, rollup=True)
    parents = set(pf.parents())
    assert set(groups) == {cid for cid in rolled if cid in parents}
    assert groups.rollup
    for cid in groups:
        assert groups.row(cid) == rolled.row(cid)


# ---------------------------------------------------------------- worked examples


def _one_customer(*records: tuple[str, int | str], first: str = "2018-01") -> Portfolio:
    """A portfolio with customer C1 and records (period, yuan) of court_express."""
    return Portfolio(
        [Customer("C1", "某中院", first)],
        [RevenueRecord("C1", "court_express", p, amount) for p, amount in records],
    )


def test_metric_definitions_worked_example() -> None:
    """Each metric of a small hand-made history has the value its definition gives."""
    pf = Portfolio(
        [Customer("C1", "某中院", "2019-04", tier="KEY", tier_since="2021-03")],
        [
            RevenueRecord("C1", "court_express", "2022-12", "100.00", volume=4),
            RevenueRecord("C1", "e_receipt", "2022-12", "50.00", volume=1),
            RevenueRecord("C1", "court_express", "2022-01", "30.00", volume=2),
            RevenueRecord("C1", "e_receipt", "2021-12", "200.00", volume=7),
            RevenueRecord("C1", "court_express", "2021-01", "-20.00"),
            RevenueRecord("C1", "court_express", "2023-01", "999.00", volume=9),
        ],
    )
    row = pf.metrics("2022-12").row("C1")
    assert row == {
        "t12m_revenue": Decimal("180.00"),
        "prev12m_revenue": Decimal("180.00"),
        "yoy_growth": 0.0,
        "t12m_volume": 7,
        "active_months": 2,
        "months_since_last": 0,
        "product_count": 2,
        "tenure_months": 44,
        "months_in_tier": 21,
    }


def test_months_since_last_from_old_history() -> None:
    """A customer whose last positive month is 40 months before P has months_since_last 40."""
    pf = _one_customer((str(P - 40), 10), (str(P - 45), 10), (str(P - 30), "-5"))
    row = pf.metrics(P).row("C1")
    assert row["months_since_last"] == 40
    assert row["active_months"] == 0
    assert row["t12m_revenue"] == Decimal("0.00")


@pytest.mark.parametrize("gap", [0, 1, 11, 12, 23, 24, 25, 47, 48, 49, 100])
def test_months_since_last_at_block_edges(gap: int) -> None:
    """months_since_last is exact whatever block of 24 months the last positive month is in."""
    pf = _one_customer((str(P - gap), 10), (str(P - gap - 30), 10), first="2010-01")
    assert pf.metrics(P).row("C1")["months_since_last"] == gap


def test_months_since_last_ignores_later_months() -> None:
    """Revenue after P does not count; no positive month by P means absent."""
    pf = _one_customer((str(P + 1), 10), first="2022-01")
    table = pf.metrics(P)
    assert table.row("C1")["months_since_last"] is None
    assert bool(table.absent["months_since_last"][0])


def test_duplicate_records_add() -> None:
    """Duplicate (customer, product, period) records add up."""
    pf = _one_customer(("2022-05", 10), ("2022-05", 10), ("2022-05", "0.50"))
    row = pf.metrics(P).row("C1")
    assert row["t12m_revenue"] == Decimal("20.50")
    assert row["active_months"] == 1
    assert row["product_count"] == 1


def test_refunds_can_make_a_month_inactive() -> None:
    """A refund that cancels a month's revenue makes the month not active."""
    pf = _one_customer(("2022-05", 10), ("2022-05", -10), ("2022-03", 5), ("2022-03", "-5.01"))
    row = pf.metrics(P).row("C1")
    assert row["active_months"] == 0
    assert row["months_since_last"] is None
    assert row["product_count"] == 0
    assert row["t12m_revenue"] == Decimal("-0.01")


def test_refund_in_another_product_cancels_the_month() -> None:
    """Monthly revenue sums over products: a refund in one product can cancel another's sale."""
    pf = Portfolio(
        [Customer("C1", "x", "2022-01")],
        [
            RevenueRecord("C1", "court_express", "2022-05", "10"),
            RevenueRecord("C1", "e_receipt", "2022-05", "-10"),
        ],
    )
    row = pf.metrics(P).row("C1")
    assert row["active_months"] == 0
    assert row["product_count"] == 1


def test_yoy_growth() -> None:
    """yoy_growth is t12m / prev12m - 1 in float64, absent when prev12m is not positive."""
    pf = Portfolio(
        [Customer(c, c, "2020-01") for c in ("UP", "NEW", "NEG")],
        [
            RevenueRecord("UP", "court_express", "2021-06", "300"),
            RevenueRecord("UP", "court_express", "2022-06", "400"),
            RevenueRecord("NEW", "court_express", "2022-06", "400"),
            RevenueRecord("NEG", "court_express", "2021-06", "-1"),
            RevenueRecord("NEG", "court_express", "2022-06", "1"),
        ],
    )
    table = pf.metrics(P)
    assert table.row("UP")["yoy_growth"] == float(40000) / float(30000) - 1
    assert table.row("NEW")["yoy_growth"] is None
    assert table.row("NEG")["yoy_growth"] is None


def test_rollup_recomputes_counts_over_the_combined_series() -> None:
    """Roll-up counts are recomputed over the combined months and products, never added."""
    pf = Portfolio(
        [
            Customer("HQ", "总公司", "2021-01"),
            Customer("A", "甲", "2021-01", parent_id="HQ"),
            Customer("B", "乙", "2021-01", parent_id="A"),
        ],
        [
            RevenueRecord("A", "policy_mailing", "2022-05", "10"),
            RevenueRecord("B", "policy_mailing", "2022-05", "10"),
            RevenueRecord("B", "card_letter", "2022-06", "10"),
            RevenueRecord("HQ", "card_letter", "2022-06", "-10"),
        ],
    )
    rolled = pf.metrics(P, rollup=True)
    assert rolled.rollup
    assert rolled.row("HQ")["active_months"] == 1
    assert rolled.row("HQ")["product_count"] == 1
    assert rolled.row("HQ")["t12m_revenue"] == Decimal("20.00")
    assert rolled.row("A")["active_months"] == 2
    assert rolled.row("A")["product_count"] == 2
    assert pf.metrics(P).row("HQ")["active_months"] == 0


# ---------------------------------------------------------------- the table's API


def _table() -> MetricsTable:
    pf = Portfolio(
        [
            Customer("A", "甲", "2021-01", segment="司法", tier="KEY"),
            Customer("B", "乙", "2021-01", segment="金融"),
            Customer("C", "丙", "2021-01"),
            Customer("D", "丁", "2021-01"),
            Customer("E", "戊", "2021-01"),
        ],
        [
            RevenueRecord("A", "court_express", "2022-06", "75"),
            RevenueRecord("A", "e_receipt", "2022-06", "25"),
            RevenueRecord("B", "card_letter", "2022-06", "100"),
            RevenueRecord("C", "court_express", "2022-06", "10"),
            RevenueRecord("C", "card_letter", "2022-06", "-10"),
            RevenueRecord("D", "court_express", "2022-06", "5"),
            RevenueRecord("D", "court_express", "2021-06", "5"),
        ],
    )
    return pf.metrics(P)


def test_row_types() -> None:
    """A row gives Decimal yuan for money, int for counts, float for ratios, None for absent."""
    table = _table()
    row = table.row("D")
    assert set(row) == set(METRICS)
    for name, value in row.items():
        kind = METRICS[name].kind
        expected = {MetricKind.MONEY: Decimal, MetricKind.COUNT: int, MetricKind.RATIO: float}
        assert type(value) is expected[kind], name
    assert row["t12m_revenue"] == fen_to_yuan(int(table.columns["t12m_revenue"][3]))
    assert table.row("E")["yoy_growth"] is None
    assert table.value("t12m_revenue", table.position("A")) == Decimal("100.00")
    assert table.tier_of("A") is Tier.KEY
    assert table.segment_of("A") is Segment.JUDICIAL
    assert table.segment_of("C") is None
    assert len(table) == 5
    assert "A" in table
    assert "Z" not in table


def test_row_of_unknown_customer() -> None:
    """The row of a customer not in the table raises UnknownCustomerError naming it and P."""
    with pytest.raises(UnknownCustomerError) as info:
        _table().row("Z")
    assert "'Z'" in str(info.value)
    assert str(P) in str(info.value)


def test_share() -> None:
    """The share is product fen / t12m fen in float64, absent where t12m is not positive."""
    table = _table()
    share, absent = table.share("court_express")
    assert share.dtype == np.float64
    by_id = dict(zip(table, zip(share.tolist(), absent.tolist(), strict=True), strict=True))
    assert by_id["A"] == (float(7500) / float(10000), False)
    assert by_id["B"] == (0.0, False)
    assert by_id["D"] == (1.0, False)
    assert by_id["C"][1]
    assert math.isnan(by_id["C"][0])
    assert by_id["E"][1]
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        table.share("cold_chain")


@given(portfolios(), st.sampled_from(PRODUCT_IDS))
def test_share_matches_definition(data: PortfolioData, product: str) -> None:
    """The share agrees with product_revenue / t12m_revenue on generated portfolios."""
    table = Portfolio(data.customers, data.records).metrics(data.as_of)
    share, absent = table.share(product)
    j = table.product_ids.index(product)
    for i, cid in enumerate(table):
        total = sum(
            r.revenue_fen
            for r in data.records
            if r.customer_id == cid and data.as_of - 11 <= r.period <= data.as_of
        )
        mine = sum(
            r.revenue_fen
            for r in data.records
            if r.customer_id == cid
            and r.product_id == product
            and data.as_of - 11 <= r.period <= data.as_of
        )
        assert int(table.product_revenue[i, j]) == mine
        assert bool(absent[i]) == (total <= 0)
        if total > 0:
            assert float(share[i]) == float(mine) / float(total)


def test_top() -> None:
    """Top lists ids by the metric, largest first, ties by id, absent values last."""
    table = _table()
    assert table.top(2) == ["A", "B"]
    assert table.top(10) == ["A", "B", "D", "C", "E"]
    assert table.top(0) == []
    assert table.top(10, by="yoy_growth")[0] == "D"
    assert table.top(10, by="yoy_growth")[-4:] == ["A", "B", "C", "E"]


def test_to_pandas() -> None:
    """to_pandas: one row per customer, fen and exact yuan columns, nullable dtypes, <NA>."""
    pd = pytest.importorskip("pandas")
    table = _table()
    frame = table.to_pandas()
    assert list(frame.index) == list(table)
    assert frame.index.name == "customer_id"
    assert frame.attrs["as_of"] == str(P)
    assert "t12m_revenue_fen" in frame.columns
    assert frame.loc["A", "t12m_revenue_fen"] == 10_000
    assert frame.loc["A", "t12m_revenue"] == Decimal("100.00")
    assert str(frame["t12m_revenue_fen"].dtype) == "Int64"
    assert str(frame["active_months"].dtype) == "Int64"
    assert str(frame["yoy_growth"].dtype) == "Float64"
    assert frame.loc["D", "yoy_growth"] == 0.0
    assert frame.loc["E", "yoy_growth"] is pd.NA
    assert frame.loc["E", "months_since_last"] is pd.NA
    assert frame.loc["A", "tier"] == "KEY"
    assert frame.loc["A", "segment"] == "JUDICIAL"
    zh = table.to_pandas(lang="zh")
    assert zh.loc["A", "tier"] == "重点客户"
    assert zh.loc["A", "segment"] == "司法"
    assert list(frame["tier"].cat.categories) == ["DORMANT", "ACTIVE", "KEY", "STRATEGIC"]
    assert frame["tier"].cat.ordered
    assert frame["segment"].cat.ordered


def test_summary_to_pandas() -> None:
    """The summary converts to a segment x tier DataFrame of counts or revenue."""
    pytest.importorskip("pandas")
    pf = Portfolio(
        [
            Customer("A", "甲", "2021-01", segment="司法", tier="KEY"),
            Customer("B", "乙", "2021-01"),
        ],
        [RevenueRecord("A", "court_express", "2022-06", "75")],
    )
    counts = pf.summary(P).to_pandas()
    assert counts.loc["JUDICIAL", "KEY"] == 1
    assert counts.loc["UNASSIGNED", "ACTIVE"] == 1
    assert int(counts.to_numpy().sum()) == 2
    revenue = pf.summary(P).to_pandas(values="revenue_fen", lang="zh")
    assert revenue.loc["司法", "重点客户"] == 7500


def test_empty_portfolio() -> None:
    """An empty portfolio gives an empty table and an empty summary."""
    pf = Portfolio()
    table = pf.metrics(P)
    assert len(table) == 0
    assert table.top() == []
    assert pf.summary(P).total_customers == 0
    assert len(pf.group_rollups(P)) == 0


# ---------------------------------------------------------------- precision


def test_totals_at_the_input_limits_are_exact() -> None:
    """24 months at the per customer-month limit are summed exactly."""
    pf = Portfolio([Customer("C1", "x", "2021-01")])
    top = MAX_MONTH_FEN
    pf.add_revenue(
        RevenueRecord.from_fen("C1", "court_express", Period(2021, 1) + k, top) for k in range(24)
    )
    row = pf.metrics(P).row("C1")
    assert row["t12m_revenue"] == fen_to_yuan(12 * top)
    assert row["prev12m_revenue"] == fen_to_yuan(12 * top)
    assert pf.summary(P).total_revenue_fen == 12 * top
