"""A portfolio's history through Parquet and ``Store.save(history=...)``, on SQLite and PostgreSQL.

Real stores (a SQLite file, a throwaway PostgreSQL server), real Parquet files and
real ``keyaccount`` command-line runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import Period, SegmentChange, TierChange
from keyaccount.exceptions import StaleChangeError, UnknownCustomerError, ValidationError
from keyaccount.store import Store
from tests.integration.test_parquet_cli import _portfolio as parquet_cli_portfolio
from tests.scripts import run_keyaccount

pytest.importorskip("pyarrow")

from keyaccount.io import (
    ChangeRecord,
    read_change_records_parquet,
    read_changes_parquet,
    write_portfolio_parquet,
)

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable
    from pathlib import Path

    from keyaccount.domain import Change

_T0 = dt.datetime(2023, 1, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def _portfolio() -> Portfolio:
    """test_parquet_cli's portfolio with one customer more (an e-commerce TOP account)."""
    portfolio = parquet_cli_portfolio()
    portfolio.add_customer(Customer("DD", "当当网", "2021-06", segment="电商TOP"))
    portfolio.add_revenue(
        [RevenueRecord("DD", "warehouse_delivery", "2022-03", "88000.00", volume=900)]
    )
    return portfolio


def _record_history(store: Store) -> None:
    """Three batches of changes at three times, and a refused batch between them."""
    store.save(_portfolio())
    store.apply(
        [
            TierChange(
                "C1",
                "2021-09",
                before="ACTIVE",
                after="KEY",
                rule="promote-key",
                reason="t12m above the line",
                explanation={"t12m_revenue": "880.05", "active_months": 3, "yoy": 0.25},
            ),
            SegmentChange("DD", "2021-10", before="ECOMMERCE_TOP", after=None, actor="王经理"),
        ],
        recorded_at=_T0,
    )
    with pytest.raises(StaleChangeError):  # a refused batch records nothing
        store.apply([TierChange("GD", "2022-01", before="KEY", after="ACTIVE", actor="x")])
    store.apply(
        [
            TierChange("C1", "2022-03", before="KEY", after="STRATEGIC", rule="promote-strategic"),
            TierChange("GD", "2022-03", before="ACTIVE", after="DORMANT", rule="dormant"),
            SegmentChange("DD", "2022-03", before=None, after="ECOMMERCE_TOP", actor="李"),
        ],
        recorded_at=_T0 + dt.timedelta(days=40),
    )
    store.apply([TierChange("C1", "2022-03", before="STRATEGIC", after="KEY", actor="王经理")])


def _months() -> list[Period]:
    return [Period.parse("2021-06") + i for i in range(14)]


def _assert_same_store(new: Store, old: Store) -> None:
    a, b = new.load(), old.load()
    assert list(a.customers()) == list(b.customers())
    assert Counter(a.revenue_records()) == Counter(b.revenue_records())
    assert a.project_groups == b.project_groups
    assert new.changes() == old.changes()
    for customer in b.customers():
        for month in _months():
            if month >= customer.first_period:
                assert new.state_as_of(customer.id, month) == old.state_as_of(customer.id, month)


def test_export_import_keeps_the_history(
    store: Store,
    new_url: Callable[[], contextlib.AbstractContextManager[str]],
    tmp_path: Path,
) -> None:
    """`export --parquet` then `import --parquet` gives equal portfolio, changes and states."""
    _record_history(store)
    lake = tmp_path / "lake"
    out = run_keyaccount("export", "--db", store.url, "--parquet", str(lake), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "and 6 changes" in out.stdout
    with new_url() as url:
        result = run_keyaccount(
            "import", "--db", url, "--parquet", str(lake), "--format", "json", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        [row] = json.loads(result.stdout)
        assert row["changes"] == 6
        assert "not recorded" not in result.stderr
        with Store.open(url) as copy:
            _assert_same_store(copy, store)
            # The next change gets a number after the imported ones.
            [more] = copy.apply(
                [TierChange("HQ", "2022-04", before="ACTIVE", after="KEY", actor="x")]
            )
            assert more.sequence > max(r.sequence for r in store.changes())


def test_parquet_keeps_times_and_numbers(store: Store, tmp_path: Path) -> None:
    """Recorded changes written to Parquet read back with their times and numbers."""
    _record_history(store)
    recorded = store.changes()
    write_portfolio_parquet(store.load(), tmp_path / "pf", changes=recorded)
    records = read_change_records_parquet(tmp_path / "pf")
    assert records == tuple(ChangeRecord(r.change, r.recorded_at, r.sequence) for r in recorded)
    assert read_changes_parquet(tmp_path / "pf") == tuple(r.change for r in recorded)
    plain = [r.change for r in recorded]
    write_portfolio_parquet(store.load(), tmp_path / "plain", changes=plain)
    assert read_change_records_parquet(tmp_path / "plain") == tuple(ChangeRecord(c) for c in plain)


def _broken(kind: str) -> tuple[Portfolio, list[Change], type[Exception], str]:
    """A portfolio and a history breaking one rule; the error and words it must show."""
    portfolio = Portfolio(
        [
            Customer("C1", "x", "2022-01", tier="KEY", tier_since="2022-05", segment="司法"),
            Customer("C2", "y", "2022-01"),
        ]
    )
    up = TierChange("C1", "2022-05", before="ACTIVE", after="KEY", rule="r")
    cases: dict[str, tuple[list[Change], type[Exception], str]] = {
        "unknown customer": (
            [up, TierChange("NOPE", "2022-05", before="ACTIVE", after="KEY", rule="r")],
            UnknownCustomerError,
            "change 1 (tier of 'NOPE' in 2022-05, ACTIVE -> KEY): unknown customer",
        ),
        "before first period": (
            [TierChange("C1", "2021-11", before="ACTIVE", after="KEY", rule="r")],
            ValidationError,
            "change 0 (tier of 'C1' in 2021-11, ACTIVE -> KEY): the month is before",
        ),
        "out of month order": (
            [
                TierChange("C1", "2022-04", before="DORMANT", after="ACTIVE", rule="r"),
                TierChange("C1", "2022-03", before="ACTIVE", after="KEY", rule="r"),
            ],
            ValidationError,
            "change 1 (tier of 'C1' in 2022-03, ACTIVE -> KEY): out of month order",
        ),
        "broken chain": (
            [
                TierChange("C1", "2022-02", before="DORMANT", after="STRATEGIC", rule="r"),
                up,
            ],
            ValidationError,
            "change 1 (tier of 'C1' in 2022-05, ACTIVE -> KEY): before is ACTIVE, but change 0",
        ),
        "last after": (
            [up, SegmentChange("C1", "2022-06", before="JUDICIAL", after="FINANCE", actor="a")],
            ValidationError,
            "change 1 (segment of 'C1' in 2022-06, JUDICIAL -> FINANCE): the customer's last "
            "segment change leaves FINANCE, but its segment is JUDICIAL",
        ),
        "tier since": (
            [TierChange("C1", "2022-04", before="ACTIVE", after="KEY", rule="r")],
            ValidationError,
            "its tier_since is 2022-05",
        ),
    }
    history, error, words = cases[kind]
    return portfolio, history, error, words


_KINDS = (
    "unknown customer",
    "before first period",
    "out of month order",
    "broken chain",
    "last after",
    "tier since",
)


@pytest.mark.parametrize("kind", _KINDS)
def test_refused_history_writes_nothing(store: Store, kind: str) -> None:
    """A history breaking one rule is refused, naming source and change; nothing is written."""
    portfolio, history, error, words = _broken(kind)
    with pytest.raises(error) as caught:
        store.save(portfolio, history=history, history_source="lake/changes.parquet")
    assert "lake/changes.parquet: " in str(caught.value)
    assert words in str(caught.value)
    assert set(store.counts().values()) == {0}


def test_refused_history_keeps_what_the_store_held(store: Store) -> None:
    """With ``replace=True`` a refused history leaves the stored portfolio and history as is."""
    _record_history(store)
    before = (store.counts(), store.changes())
    portfolio, history, error, _ = _broken("broken chain")
    with pytest.raises(error):
        store.save(portfolio, replace=True, history=history)
    assert (store.counts(), store.changes()) == before


def test_tens_of_thousands_of_changes(store: Store) -> None:
    """A history of 30,000 changes goes in with the portfolio; states and numbers follow it."""
    n = 10_000
    customers = [
        Customer(f"C{i:05d}", "x", "2020-01", tier="KEY", tier_since="2021-06", segment="金融")
        for i in range(n)
    ]
    history: list[Change] = []
    for i in range(n):
        cid = f"C{i:05d}"
        history.append(TierChange(cid, "2020-06", before="DORMANT", after="ACTIVE", rule="a"))
        history.append(SegmentChange(cid, "2020-09", before=None, after="FINANCE", actor="m"))
    history += [
        TierChange(f"C{i:05d}", "2021-06", before="ACTIVE", after="KEY", rule="k") for i in range(n)
    ]
    store.save(Portfolio(customers), history=history)
    assert store.counts()["changes"] == 3 * n
    recorded = store.changes(customer_id="C04321")
    assert [r.sequence for r in recorded] == [2 * 4321 + 1, 2 * 4321 + 2, 2 * n + 4321 + 1]
    assert store.state_as_of("C09999", "2020-08").tier.name == "ACTIVE"
    assert store.state_as_of("C09999", "2020-08").segment is None
    assert store.state_as_of("C00000", "2020-05").tier.name == "DORMANT"
    [more] = store.apply(
        [TierChange("C00000", "2022-01", before="KEY", after="STRATEGIC", rule="s")]
    )
    assert more.sequence == 3 * n + 1


def test_cli_refuses_a_broken_changes_file(tmp_path: Path) -> None:
    """`import --parquet` of a history not leading to the customers fails; no store is left."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "source.db"
    with Store(str(source)) as store:
        _record_history(store)
    lake = tmp_path / "lake"
    assert (
        run_keyaccount(
            "export", "--db", str(source), "--parquet", str(lake), cwd=tmp_path
        ).returncode
        == 0
    )
    path = lake / "changes.parquet"
    table = pq.read_table(path)
    at = table.schema.get_field_index("before")
    rows = table.to_pylist()
    # C1's second tier change (KEY -> STRATEGIC) now starts from ACTIVE: the chain breaks.
    n = next(i for i, r in enumerate(rows) if r["customer_id"] == "C1" and r["before"] == "KEY")
    befores = [r["before"] for r in rows]
    befores[n] = "ACTIVE"
    pq.write_table(table.set_column(at, table.schema.field(at), pa.array(befores)), path)
    copy = tmp_path / "copy.db"
    result = run_keyaccount("import", "--db", str(copy), "--parquet", str(lake), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{path}: change {n} (tier of 'C1' in 2022-03, ACTIVE -> STRATEGIC)" in result.stderr
    assert "before is ACTIVE, but change 0 of the same customer's tier left KEY" in result.stderr
    assert not copy.exists()
