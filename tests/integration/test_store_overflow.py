"""Sums in the store never overflow silently: limits on input, checked roll-ups, a backstop.

Every test runs on SQLite and on PostgreSQL. The in-memory metrics and the
database's agree on which inputs they refuse; rows beyond the limits that an
older version could have written are refused with a one-line error naming
the customer and month, never a driver's overflow.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import MAX_MONTH_FEN, Period, format_yuan
from keyaccount.exceptions import PrecisionError
from keyaccount.rules import Policy, Rule
from keyaccount.rules._policy import MAX_MIN_MONTHS_IN_TIER
from keyaccount.store._tables import revenue_table

if TYPE_CHECKING:
    from pathlib import Path

    from keyaccount.store import Store

AS_OF = Period.parse("2022-12")
WINDOW = [AS_OF - k for k in range(24)]  # the 24 months to AS_OF
EXACT = 2**53


def _group(children: int) -> list[Customer]:
    return [Customer("G", "集团", "2015-01")] + [
        Customer(f"C{i:03d}", f"子公司{i}", "2015-01", parent_id="G") for i in range(children)
    ]


def _spread(total: int, months: list[Period], children: int) -> list[RevenueRecord]:
    """Records of the children, each customer-month at most the limit, adding up to ``total``."""
    records = []
    slots = [(f"C{i:03d}", m) for i in range(children) for m in months]
    for cid, month in slots:
        fen = min(total, MAX_MONTH_FEN)
        if fen <= 0:
            break
        records.append(RevenueRecord.from_fen(cid, "court_express", month, fen))
        total -= fen
    assert total == 0, "not enough customer-months for the total"
    return records


def _raw_rows(store: Store, rows: list[tuple[int, int, Period, int]]) -> None:
    """Write revenue rows past the store's checks, as an older version could have."""
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(revenue_table),
            [
                {
                    "customer_key": c,
                    "product_key": p,
                    "period": m.ordinal,
                    "revenue_fen": fen,
                    "volume": 0,
                }
                for c, p, m, fen in rows
            ],
        )


POLICY = Policy("p", [Rule("big", "t12m_revenue > 0", to="STRATEGIC")])


def _refusal(call: object) -> str:
    with pytest.raises(PrecisionError) as info:
        call()  # type: ignore[operator]
    return str(info.value)


# ---------------------------------------------------------------- case 1: roll-ups


@pytest.mark.parametrize("total", [EXACT - 1, EXACT])
def test_rollup_bound_is_the_same_in_the_database_and_in_memory(store: Store, total: int) -> None:
    """A group's absolute fen in the 24 months reaching 2**53 is refused alike, naming it."""
    portfolio = Portfolio(_group(40), _spread(total, WINDOW, 40))
    store.save(portfolio)
    if total < EXACT:
        expected = portfolio.metrics(AS_OF, rollup=True)
        got = store.metrics(AS_OF, rollup=True)
        for name in ("t12m_revenue", "prev12m_revenue"):
            assert got.columns[name].tolist() == expected.columns[name].tolist(), name
        g = got.customer_ids.tolist().index("G")
        assert int(got.columns["t12m_revenue"][g] + got.columns["prev12m_revenue"][g]) == total
        assert store.evaluate(POLICY, AS_OF, rollup=True).counts
        return
    in_memory = _refusal(lambda: portfolio.metrics(AS_OF, rollup=True))
    assert "'G'" in in_memory
    assert _refusal(lambda: store.metrics(AS_OF, rollup=True)) == in_memory
    assert _refusal(lambda: store.evaluate(POLICY, AS_OF, rollup=True)) == in_memory
    # without the roll-up every sum is of one customer, bounded by the input limits
    assert store.metrics(AS_OF).row("G")["t12m_revenue"] == 0


@pytest.mark.parametrize("someone_unresolved", [False, True])
def test_rollup_bound_on_older_history_agrees_with_memory(
    store: Store, someone_unresolved: bool
) -> None:
    """Older months beyond 2**53 count only when months_since_last must look at them."""
    older = [AS_OF - 24 - k for k in range(24)]
    customers = _group(40)
    records = _spread(EXACT, older, 40)
    # every customer has a positive month in the window: the older months are not read
    records += [RevenueRecord(c.id, "card_letter", AS_OF, "1.00") for c in customers]
    if someone_unresolved:
        customers.append(Customer("Z", "无收入", "2015-01"))
    portfolio = Portfolio(customers, records)
    store.save(portfolio)
    if not someone_unresolved:
        expected = portfolio.metrics(AS_OF, rollup=True)
        got = store.metrics(AS_OF, rollup=True)
        assert got.columns["months_since_last"].tolist() == (
            expected.columns["months_since_last"].tolist()
        )
        assert store.evaluate(POLICY, AS_OF, rollup=True).counts
        return
    in_memory = _refusal(lambda: portfolio.metrics(AS_OF, rollup=True))
    assert "'G'" in in_memory
    assert str(AS_OF - 24) in in_memory
    assert _refusal(lambda: store.metrics(AS_OF, rollup=True)) == in_memory
    assert _refusal(lambda: store.evaluate(POLICY, AS_OF, rollup=True)) == in_memory


def test_a_customer_at_the_monthly_limit_every_month_is_exact(store: Store) -> None:
    """24 months at the per customer-month limit sum exactly in SQL on both databases."""
    records = [RevenueRecord.from_fen("C1", "court_express", m, MAX_MONTH_FEN) for m in WINDOW]
    records += [RevenueRecord.from_fen("C1", "card_letter", AS_OF, 0, volume=10**13 - 1)]
    portfolio = Portfolio([Customer("C1", "某中院", "2015-01")], records)
    store.save(portfolio)
    for rollup in (False, True):
        got, expected = store.metrics(AS_OF, rollup=rollup), portfolio.metrics(AS_OF, rollup=rollup)
        for name in ("t12m_revenue", "prev12m_revenue", "t12m_volume"):
            assert got.columns[name].tolist() == expected.columns[name].tolist(), name
        assert got.columns["t12m_revenue"].tolist() == [12 * MAX_MONTH_FEN]
    (transition,) = store.evaluate(POLICY, AS_OF).transitions
    assert transition.explanation == (("t12m_revenue", Decimal(12 * MAX_MONTH_FEN) / 100),)


# ---------------------------------------------------------------- case 1: the backstop


@pytest.mark.parametrize("rollup", [False, True])
def test_stored_sums_past_64_bits_are_a_precision_error(store: Store, rollup: bool) -> None:
    """Rows an older version wrote that overflow 64-bit sums give PrecisionError naming them."""
    store.save(Portfolio([Customer("C1", "某中院", "2020-01")]))
    _raw_rows(store, [(0, 0, Period.parse("2022-03"), 2**62)] * 2)
    for call in (
        lambda: store.metrics(AS_OF, rollup=rollup),
        lambda: store.evaluate(POLICY, AS_OF, rollup=rollup),
    ):
        message = _refusal(call)
        assert "'C1'" in message
        assert "2022-03" in message


# ---------------------------------------------------------------- case 2: imports


def _revenue_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["customer_id,period,product_id,revenue,volume"]
    lines += [f"{c},{m},court_express,{yuan},0" for c, m, yuan in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("added", ["0.01", "-0.01"])
def test_an_import_cannot_push_a_stored_month_past_the_limit(
    store: Store, tmp_path: Path, added: str
) -> None:
    """Stored revenue and a later import add per customer-month; beyond the limit none is kept."""
    limit = format_yuan(MAX_MONTH_FEN).replace(",", "")
    store.save(
        Portfolio(
            [Customer("C1", "某中院", "2020-01"), Customer("C2", "某检察院", "2020-01")],
            [
                RevenueRecord.from_fen("C1", "court_express", "2022-03", MAX_MONTH_FEN - 1),
                RevenueRecord.from_fen("C1", "card_letter", "2022-03", -1),
            ],
        )
    )
    before = store.counts()
    bad = _revenue_csv(
        tmp_path / "r.csv",
        [("C2", "2022-03", limit), ("C1", "2022-04", limit), ("C1", "2022-03", added)],
    )
    with pytest.raises(PrecisionError, match=r"customer 'C1', month 2022-03"):
        store.import_csv(revenue=bad)
    assert store.counts() == before
    fine = _revenue_csv(tmp_path / "ok.csv", [("C1", "2022-04", limit), ("C2", "2022-03", limit)])
    assert store.import_csv(revenue=fine).revenue_rows == 2
    # a third import into the months the second filled is refused too
    with pytest.raises(PrecisionError, match=r"customer 'C2', month 2022-03"):
        store.import_csv(revenue=_revenue_csv(tmp_path / "more.csv", [("C2", "2022-03", added)]))
    assert store.load().metrics("2022-04").row("C1")["t12m_revenue"] == (
        Decimal(2 * MAX_MONTH_FEN - 2) / 100
    )


def test_transactions_are_checked_against_the_store_too(store: Store, tmp_path: Path) -> None:
    """Raw transactions summed to a month already in the store are checked with it."""
    store.save(
        Portfolio(
            [Customer("C1", "某中院", "2020-01")],
            [RevenueRecord.from_fen("C1", "standard_express", "2022-03", MAX_MONTH_FEN)],
        )
    )
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nC1,2022-03-05,0.01\n", encoding="utf-8")
    with pytest.raises(PrecisionError, match=r"customer 'C1', month 2022-03"):
        store.import_csv(transactions=path)
    assert store.counts()["revenue"] == 1


# ---------------------------------------------------------------- case 3: loading


def test_load_refuses_a_stored_row_beyond_the_record_limit(store: Store) -> None:
    """A stored row beyond the per-record limit is refused by load, naming the row."""
    store.save(Portfolio([Customer("C1", "某中院", "2020-01")]))
    _raw_rows(store, [(0, 0, Period.parse("2022-03"), -(10**15))])
    message = _refusal(store.load)
    assert re.search(r"customer 'C1', product '\w+', month 2022-03", message)
    assert "-10,000,000,000,000.00" in message


def test_load_refuses_a_stored_month_beyond_the_month_limit(store: Store) -> None:
    """Stored rows whose customer-month passes the limit are refused by load, naming it."""
    store.save(Portfolio([Customer("C1", "某中院", "2020-01")]))
    _raw_rows(store, [(0, 0, Period.parse("2022-03"), MAX_MONTH_FEN)] * 2)
    message = _refusal(store.load)
    assert "customer 'C1', month 2022-03" in message
    assert "store" in message


# ---------------------------------------------------------------- case 4: thresholds


def test_the_largest_min_months_in_tier_works_in_the_database(store: Store) -> None:
    """min_months_in_tier at its maximum holds a demotion in SQL as in memory."""
    portfolio = Portfolio(
        [Customer("C1", "某中院", "2020-01", tier="KEY")],
        [RevenueRecord("C1", "court_express", "2022-03", "5.00")],
    )
    store.save(portfolio)
    policy = Policy(
        "p",
        [Rule("demote", "t12m_revenue < 1_000_000", to="ACTIVE")],
        min_months_in_tier=MAX_MIN_MONTHS_IN_TIER,
    )
    sql = store.evaluate(policy, AS_OF)
    expected = policy.evaluate(portfolio, AS_OF, engine="reference")
    assert sql.transitions == expected.transitions == ()
    assert [h.customer_id for h in sql.held] == [h.customer_id for h in expected.held] == ["C1"]
