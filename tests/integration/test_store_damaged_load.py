"""A store changed by other means: both load paths refuse it by name, or read it as each other."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from keyaccount import Customer, Portfolio, ProjectGroup, RevenueRecord
from keyaccount.exceptions import DuplicateCustomerError, ValidationError
from keyaccount.store import Store
from keyaccount.store._arrow_load import load_through_arrow
from keyaccount.store._reads import Selection, load_portfolio
from keyaccount.store._store import _reading

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("adbc_driver_sqlite")


def _saved(path: Path) -> None:
    with Store(path) as store:
        store.save(
            Portfolio(
                [
                    Customer("C1", "某中院", "2022-01"),
                    Customer("C2", "某高院", "2022-01", parent_id="C1"),
                    Customer("C3", "某律所", "2022-02"),
                ],
                [RevenueRecord("C2", "court_express", "2022-03", "10.50")],
                project_groups=[
                    ProjectGroup("courts", "Courts", "法院项目组", customer_ids=["C1", "C2"]),
                    ProjectGroup("banks", "Banks", "银行项目组", customer_ids=["C3"]),
                ],
            )
        )


def _tamper(path: Path, *sql: str) -> None:
    """Change a SQLite store past its checks, as another program could."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_an_id_stored_twice_is_refused_by_name(tmp_path: Path) -> None:
    """Without its unique index a store may hold an id twice: the Arrow load names it."""
    path = tmp_path / "s.db"
    _saved(path)
    _tamper(
        path,
        "DROP INDEX ux_ka_customer_id",
        "UPDATE ka_customer SET customer_id = 'C1' WHERE customer_id = 'C3'",
    )
    with Store.open(path) as store, pytest.raises(DuplicateCustomerError, match="'C1' twice"):
        load_through_arrow(store._db, None, None)


def test_ownership_rows_of_no_stored_group_are_read_as_the_plain_path_reads_them(
    tmp_path: Path,
) -> None:
    """A customer row of a deleted group is left out by both paths: the same groups."""
    path = tmp_path / "s.db"
    _saved(path)
    _tamper(path, "DELETE FROM ka_project_group WHERE group_id = 'banks'")
    with Store.open(path) as store:
        fast = load_through_arrow(store._db, None, None)
        plain = _reading(store._db, load_portfolio, Selection(), None, None)
    assert fast is not None
    assert fast.project_groups == plain.project_groups
    assert [g.id for g in fast.project_groups] == ["courts"]
    assert fast.project_group_of("C3") is None
    assert fast.project_group("courts").customer_ids == frozenset({"C1", "C2"})


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE ka_customer SET segment = 'NOPE' WHERE customer_id = 'C2'",
            "'C2': segment 'NOPE'",
        ),
        ("UPDATE ka_customer SET sub_segment = 'NOPE' WHERE customer_id = 'C2'", "sub_segment"),
        ("UPDATE ka_customer SET tier = 'x' WHERE customer_id = 'C2'", "'C2': tier 'x' is not an"),
        (
            "UPDATE ka_customer SET first_period = 'x' WHERE customer_id = 'C3'",
            "'C3': first_period",
        ),
        ("UPDATE ka_revenue SET revenue_fen = 'ten yuan'", "revenue_fen 'ten yuan' is not an"),
        ("UPDATE ka_revenue SET period = 'x'", "period 'x' is not an integer"),
    ],
)
def test_the_row_path_refuses_a_changed_database_by_name(
    tmp_path: Path, sql: str, message: str
) -> None:
    """Without the Arrow path, unknown names and text in integer columns are named errors."""
    path = tmp_path / "s.db"
    _saved(path)
    _tamper(path, "PRAGMA ignore_check_constraints = ON", sql)
    with Store.open(path) as store:
        with pytest.raises(ValidationError, match=message) as plain:
            _reading(store._db, load_portfolio, Selection(), None, None)
        assert "changed by other means" in str(plain.value)
        with pytest.raises(ValidationError, match="changed by other means"):
            store.load()
