"""``keyaccount export --parquet`` and ``import --parquet``: real runs on SQLite stores."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from keyaccount import Customer, Member, Portfolio, ProjectGroup, RevenueRecord
from keyaccount.domain import TierChange
from keyaccount.store import Store

pytest.importorskip("pyarrow")

from keyaccount.io import read_changes_parquet, read_portfolio_parquet
from tests.scripts import run_keyaccount

if TYPE_CHECKING:
    from pathlib import Path


def _portfolio() -> Portfolio:
    return Portfolio(
        [
            Customer("HQ", "保险总公司", "2021-01", segment="保险"),
            Customer("GD", "广东分公司", "2021-02", segment="保险", parent_id="HQ"),
            Customer("C1", "某中院", "2021-05", segment="司法", sub_segment="法院"),
        ],
        [
            RevenueRecord("GD", "policy_mailing", "2022-01", "1200.50", volume=3),
            RevenueRecord("HQ", "standard_express", "2022-02", "-5.00"),
            RevenueRecord("C1", "court_express", "2022-02", "880.05", volume=1),
        ],
        project_groups=[
            ProjectGroup(
                "insurers",
                "Insurers",
                "保险项目组",
                members=[Member("王芳", "项目经理")],
                customer_ids={"HQ", "GD"},
            )
        ],
    )


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A SQLite store holding the portfolio and one recorded tier change."""
    path = tmp_path / "ka.db"
    with Store(str(path)) as store:
        store.save(_portfolio())
        store.apply([TierChange("C1", "2022-02", before="ACTIVE", after="KEY", rule="promote")])
    return path


def _same(a: Portfolio, b: Portfolio) -> None:
    assert list(a.customers()) == list(b.customers())
    assert Counter(a.revenue_records()) == Counter(b.revenue_records())
    assert a.project_groups == b.project_groups


def test_export_parquet_writes_portfolio_and_history(stored: Path, tmp_path: Path) -> None:
    """`export --parquet DIR` writes the stored portfolio and its recorded changes."""
    out = tmp_path / "lake"
    result = run_keyaccount("export", "--db", str(stored), "--parquet", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "exported 3 customers, 3 revenue rows, 1 project groups and 1 changes" in result.stdout
    back = read_portfolio_parquet(out)
    with Store.open(str(stored)) as store:
        _same(back, store.load())
        assert read_changes_parquet(out) == tuple(r.change for r in store.changes())
    assert back.customer("C1").tier.name == "KEY"


def test_export_then_import_round_trip(stored: Path, tmp_path: Path) -> None:
    """`import --parquet DIR` saves the exported portfolio and history into a new store, equal."""
    out = tmp_path / "lake"
    assert (
        run_keyaccount(
            "export", "--db", str(stored), "--parquet", str(out), cwd=tmp_path
        ).returncode
        == 0
    )
    copy = tmp_path / "copy.db"
    result = run_keyaccount(
        "import", "--db", str(copy), "--parquet", str(out), "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row == {
        "customers": 3,
        "revenue_rows": 3,
        "project_groups": 1,
        "changes": 1,
        "directory": str(out),
    }
    assert "not recorded" not in result.stderr
    with Store.open(str(copy)) as new, Store.open(str(stored)) as old:
        _same(new.load(), old.load())
        assert new.changes() == old.changes()


def test_existing_targets_need_replace(stored: Path, tmp_path: Path) -> None:
    """An existing directory or a store holding data is refused unless --replace is given."""
    out = tmp_path / "lake"
    assert (
        run_keyaccount(
            "export", "--db", str(stored), "--parquet", str(out), cwd=tmp_path
        ).returncode
        == 0
    )
    again = run_keyaccount("export", "--db", str(stored), "--parquet", str(out), cwd=tmp_path)
    assert again.returncode == 1
    assert "exists; add --replace" in again.stderr
    assert (
        run_keyaccount(
            "export", "--db", str(stored), "--parquet", str(out), "--replace", cwd=tmp_path
        ).returncode
        == 0
    )
    into = run_keyaccount("import", "--db", str(stored), "--parquet", str(out), cwd=tmp_path)
    assert into.returncode == 1
    assert "already holds data; add --replace" in into.stderr
    replaced = run_keyaccount(
        "import", "--db", str(stored), "--parquet", str(out), "--replace", cwd=tmp_path
    )
    assert replaced.returncode == 0, replaced.stderr
    with Store.open(str(stored)) as store:
        [recorded] = store.changes()  # the history was replaced by the directory's
        assert recorded.change.customer_id == "C1"
        assert len(store.load()) == 3


def test_parquet_with_csv_options_is_a_usage_error(stored: Path, tmp_path: Path) -> None:
    """--parquet with CSV file options is a usage error (exit code 2)."""
    result = run_keyaccount(
        "export", "--db", str(stored), "--parquet", "x", "--customers", "c.csv", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "either --parquet or --customers/--revenue" in result.stderr


def test_bad_row_fails_the_import_and_creates_no_store(stored: Path, tmp_path: Path) -> None:
    """A bad revenue row is listed by file and row; the new store file is not left behind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "lake"
    run_keyaccount("export", "--db", str(stored), "--parquet", str(out), cwd=tmp_path)
    path = out / "revenue" / "period=2022-02" / "part-0.parquet"
    table = pq.read_table(path)
    at = table.schema.get_field_index("customer_key")
    table = table.set_column(at, table.schema.field(at), pa.array([0, 9], pa.int32()))
    pq.write_table(table, path)
    copy = tmp_path / "copy.db"
    result = run_keyaccount("import", "--db", str(copy), "--parquet", str(out), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{path}, row 1, column 'customer_key': unknown customer" in result.stderr
    assert "1 bad row" in result.stderr
    assert not copy.exists()
