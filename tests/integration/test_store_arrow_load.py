"""Loading through Arrow (ADBC): equal to the plain read, the oracle and the fallback."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.demo import generate
from keyaccount.domain import Period
from keyaccount.exceptions import ValidationError
from keyaccount.store import Store
from keyaccount.store._arrow_load import PeriodBuckets, arrow_source, load_through_arrow
from keyaccount.store._reads import Selection, load_portfolio
from keyaccount.store._store import _reading
from tests.integration.test_store_roundtrip import (
    DB_SETTINGS,
    assert_same_portfolio,
    full_portfolios,
)

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("adbc_driver_sqlite")
pytest.importorskip("adbc_driver_postgresql")


def _plain(store: Store, start: Period | None = None, end: Period | None = None) -> Portfolio:
    """The portfolio read through the plain driver path (the oracle)."""
    return _reading(store._db, load_portfolio, Selection(), start, end)


def _fast(store: Store, start: Period | None = None, end: Period | None = None) -> Portfolio:
    """The portfolio read through Arrow; the test fails when the fast path did not run."""
    portfolio = load_through_arrow(store._db, start, end)
    assert portfolio is not None, "the Arrow path did not run"
    return portfolio


def _in_month_order(portfolio: Portfolio) -> bool:
    period = portfolio.revenue_columns.period
    return bool((period[1:] >= period[:-1]).all())


@DB_SETTINGS
@given(portfolio=full_portfolios(), window=st.sampled_from([(None, None), ("2021-06", "2022-06")]))
def test_the_arrow_load_equals_the_plain_load(
    store: Store, portfolio: Portfolio, window: tuple[str | None, str | None]
) -> None:
    """Whole or within months, the Arrow read gives the plain read's portfolio, in month order."""
    store.save(portfolio, replace=True)
    start, end = (None if w is None else Period.parse(w) for w in window)
    fast, plain = _fast(store, start, end), _plain(store, start, end)
    assert_same_portfolio(fast, plain)
    if start is None:
        assert_same_portfolio(fast, portfolio)
    assert _in_month_order(fast)
    for as_of in ("2021-12", "2022-11"):
        a, b = fast.metrics(as_of, rollup=True), plain.metrics(as_of, rollup=True)
        assert a.customer_ids.tolist() == b.customer_ids.tolist()
        for name in a.columns:
            assert np.array_equal(a.columns[name], b.columns[name], equal_nan=True), name


def test_store_load_takes_the_arrow_path_for_the_demo(store: Store) -> None:
    """Store.load of a demo portfolio equals it and needs no sort for its first metrics."""
    portfolio = generate(customers=400, months=24)
    store.save(portfolio)
    loaded = store.load()
    assert_same_portfolio(loaded, portfolio)
    assert _in_month_order(loaded)
    a, b = loaded.metrics("2022-11"), portfolio.metrics("2022-11")
    assert np.array_equal(a.columns["t12m_revenue"], b.columns["t12m_revenue"])


@given(
    blocks=st.lists(
        st.lists(st.integers(24_000, 24_300), max_size=40).map(
            lambda p: np.array(p, dtype=np.int32)
        ),
        max_size=5,
    )
)
def test_period_buckets_sort_stably_by_month(blocks: list[np.ndarray]) -> None:
    """The buckets hold every record, in month order, in the order added within a month."""
    buckets = PeriodBuckets()
    seen = 0
    for period in blocks:
        tags = np.arange(seen, seen + len(period), dtype=np.int64)
        seen += len(period)
        zeros = np.zeros(len(period), dtype=np.int32)
        buckets.add(zeros, zeros, period, tags, tags)
    columns = buckets.columns()
    periods = np.concatenate([np.empty(0, np.int32), *blocks])
    order = np.argsort(periods, kind="stable")
    assert columns.period.tolist() == periods[order].tolist()
    assert columns.fen.tolist() == order.tolist()


def test_in_memory_and_caller_connections_take_the_plain_path(tmp_path: Path) -> None:
    """In-memory SQLite and a caller's connection have no Arrow path; load still works."""
    portfolio = Portfolio(
        [Customer("C1", "某中院", "2022-01")],
        [RevenueRecord("C1", "court_express", "2022-03", "10.50")],
    )
    with Store("sqlite://") as memory:
        memory.save(portfolio)
        assert arrow_source(memory._db) is None
        assert_same_portfolio(memory.load(), portfolio)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.begin() as conn:
        mine = Store(conn)
        mine.save(portfolio)  # uncommitted: only this connection sees it
        assert arrow_source(mine._db) is None
        assert_same_portfolio(mine.load(), portfolio)
    engine.dispose()


def _tamper(path: Path, sql: str) -> None:
    """Change a SQLite store past its checks, as another program could."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE ka_customer SET segment = 'NOPE' WHERE customer_id = 'C2'", "segment 'NOPE'"),
        ("UPDATE ka_customer SET parent_key = 1 WHERE customer_id = 'C1'", "parent cycle"),
        ("UPDATE ka_revenue SET customer_key = 7", "customer key 7"),
        ("UPDATE ka_revenue SET product_key = 99", "product key 99"),
        ("UPDATE ka_revenue SET period = 1", "month"),
        ("UPDATE ka_customer SET first_period = first_period + 6", "first_period"),
    ],
)
def test_a_changed_database_is_refused_by_name(tmp_path: Path, sql: str, message: str) -> None:
    """Rows changed by other means are refused with an error naming them, never a crash."""
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.save(
            Portfolio(
                [
                    Customer("C1", "某中院", "2022-01"),
                    Customer("C2", "某高院", "2022-01", parent_id="C1"),
                ],
                [RevenueRecord("C2", "court_express", "2022-03", "10.50")],
            )
        )
    _tamper(path, sql)
    with Store.open(path) as store, pytest.raises(ValidationError, match=message):
        store.load()


def test_a_value_the_driver_refuses_hands_the_load_to_the_plain_path(tmp_path: Path) -> None:
    """Text in an integer column, which the ADBC driver refuses, makes the Arrow path step aside."""
    path = tmp_path / "s.db"
    portfolio = Portfolio(
        [Customer("C1", "某中院", "2022-01")],
        [RevenueRecord("C1", "court_express", "2022-03", "10.50")],
    )
    with Store(path) as store:
        store.save(portfolio)
    _tamper(path, "UPDATE ka_revenue SET revenue_fen = 'ten yuan'")
    with Store.open(path) as store:
        assert load_through_arrow(store._db, None, None) is None


def test_checked_columns_still_refuse_a_duplicate_id() -> None:
    """Portfolio.from_checked_columns refuses an id held twice (the one customer check it keeps)."""
    from keyaccount import default_catalog
    from keyaccount.exceptions import DuplicateCustomerError
    from keyaccount.portfolio import CustomerColumns, RevenueColumns

    one = Portfolio([Customer("C1", "某中院", "2022-01")]).customer_columns
    twice = CustomerColumns.concat([one, one])
    with pytest.raises(DuplicateCustomerError, match="'C1'"):
        Portfolio.from_checked_columns(twice, RevenueColumns.empty(), products=default_catalog())
