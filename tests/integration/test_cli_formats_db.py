"""Machine output of the commands that read a store: `metrics --db`, `import`, `export`."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from keyaccount.cli import cli
from keyaccount.cli._output import json_value
from keyaccount.demo import generate
from keyaccount.io import write_portfolio_csv

if TYPE_CHECKING:
    from pathlib import Path

    from keyaccount.portfolio import Portfolio
    from keyaccount.store import Store

AS_OF = "2022-11"


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """A small demo portfolio with group accounts."""
    return generate(seed=11, customers=250, months=24)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_metrics_from_a_store_equal_the_portfolio_metrics(
    store: Store, store_url: str, portfolio: Portfolio
) -> None:
    """`metrics --db` (computed in SQL) gives Portfolio.metrics, exactly, on both databases."""
    store.save(portfolio)
    result = _run("metrics", "--db", store_url, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    table = portfolio.metrics(AS_OF)
    assert [r["customer_id"] for r in rows] == table.top(len(table))
    for row in rows[:3] + rows[-3:]:
        for name, value in table.row(row["customer_id"]).items():
            assert row[name] == json_value(value), (row["customer_id"], name)
    rolled = _run(
        "metrics", "--db", store_url, "--as-of", AS_OF, "--rollup", "--top", "5", "--format", "csv"
    )
    assert rolled.exit_code == 0, rolled.output
    expected = portfolio.metrics(AS_OF, rollup=True)
    read = list(csv.DictReader(io.StringIO(rolled.stdout)))
    assert [r["customer_id"] for r in read] == expected.top(5)
    for r in read:
        assert r["t12m_revenue"] == json_value(expected.row(r["customer_id"])["t12m_revenue"])


def test_metrics_table_from_a_store(store: Store, store_url: str, portfolio: Portfolio) -> None:
    """The table names the month and shows money in 万元 with the unit in the heading."""
    store.save(portfolio)
    result = _run("metrics", "--db", store_url, "--as-of", AS_OF, "--top", "3", "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "客户指标（截至2022-11）" in result.stdout
    assert "（万元）" in result.stdout
    top = portfolio.metrics(AS_OF).top(3)
    assert all(cid in result.stdout for cid in top)


def test_import_and_export_summaries_as_json_and_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import and export summaries are one JSON row or one CSV row; nothing else on stdout."""
    monkeypatch.chdir(tmp_path)
    small = generate(seed=3, customers=40, months=12)
    write_portfolio_csv(small, "customers.csv", "revenue.csv")
    imported = _run(
        "import", "--db", "s.db", "--customers", "customers.csv", "--revenue", "revenue.csv",
        "--format", "json", "--no-progress",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    (row,) = json.loads(imported.stdout)
    assert row == {
        "customers": len(small),
        "revenue_rows": len(small.revenue_columns),
        "rejected": 0,
        "reject_files": None,
    }
    exported = _run(
        "export", "--db", "s.db", "--customers", "out.csv", "--format", "csv", "--no-progress"
    )
    assert exported.exit_code == 0, exported.output
    (summary,) = csv.DictReader(io.StringIO(exported.stdout))
    assert summary == {
        "customers": str(len(small)),
        "revenue_rows": "0",
        "customers_file": "out.csv",
        "revenue_file": "",
    }
