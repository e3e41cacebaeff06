"""Portfolios from and to pandas, Arrow and polars frames; result tables as frames."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.demo import generate
from keyaccount.exceptions import (
    CsvImportError,
    FrameRowError,
    InvalidMoneyError,
    ValidationError,
)
from keyaccount.io import read_portfolio_csv
from keyaccount.rules import default_policy
from tests.strategies import PortfolioData, portfolios


def _build(data: PortfolioData) -> Portfolio:
    return Portfolio(data.customers, data.records)


def _same(a: Portfolio, b: Portfolio) -> None:
    assert list(a.customers()) == list(b.customers())
    assert list(a.revenue_records()) == list(b.revenue_records())
    assert a.products == b.products


@given(portfolios())
def test_pandas_round_trip(data: PortfolioData) -> None:
    """from_frames(*pf.to_frames()) gives the same customers and revenue records."""
    pf = _build(data)
    _same(Portfolio.from_frames(*pf.to_frames()), pf)


@given(portfolios())
def test_arrow_round_trip(data: PortfolioData) -> None:
    """from_arrow(*pf.to_arrow()) gives the same customers and revenue records."""
    pf = _build(data)
    _same(Portfolio.from_arrow(*pf.to_arrow()), pf)


@given(portfolios(max_customers=4, max_records=12))
def test_polars_round_trip(data: PortfolioData) -> None:
    """from_frames(*pf.to_polars()) gives the same customers and revenue records."""
    pf = _build(data)
    _same(Portfolio.from_frames(*pf.to_polars()), pf)


def test_chinese_labels_round_trip() -> None:
    """Frames labelled in Chinese read back to the same portfolio."""
    pf = generate(customers=60, months=6)
    _same(Portfolio.from_frames(*pf.to_frames(lang="zh")), pf)
    customers, _ = pf.to_frames(lang="zh")
    assert list(customers["tier"].cat.categories) == [
        "沉睡客户",
        "活跃客户",
        "重点客户",
        "战略客户",
    ]


def test_portfolio_frame_types() -> None:
    """to_frames types: categories for labels and ids, period[M], fen and exact yuan."""
    pf = generate(customers=30, months=4)
    customers, revenue = pf.to_frames()
    assert customers["tier"].cat.ordered
    assert isinstance(customers["first_period"].dtype, pd.PeriodDtype)
    assert str(revenue["revenue_fen"].dtype) == "int64"
    assert revenue["revenue"].dtype == pd.ArrowDtype(pa.decimal128(20, 2))
    assert revenue["revenue"].iloc[0] == Decimal(int(revenue["revenue_fen"].iloc[0])) / 100
    assert list(revenue["customer_id"].cat.categories) == pf.customer_ids
    c_table, r_table = pf.to_arrow()
    assert c_table.schema.field("first_period").type == pa.date32()
    assert pa.types.is_dictionary(r_table.schema.field("product_id").type)


# ---------------------------------------------------------------- input types


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["HQ", "GD"],
            "name": ["保险总公司", "广东分公司"],
            "segment": ["保险", "INSURANCE"],
            "parent_id": [None, "HQ"],
            "first_period": ["2021-01", "2021-03"],
        }
    )


def _expected() -> Portfolio:
    return Portfolio(
        [
            Customer("HQ", "保险总公司", "2021-01", segment="保险"),
            Customer("GD", "广东分公司", "2021-03", segment="保险", parent_id="HQ"),
        ],
        [
            RevenueRecord("GD", "policy_mailing", "2022-06", "5000.50", volume=3),
            RevenueRecord("HQ", "standard_express", "2022-07", "-0.01", volume=1),
        ],
    )


def _arrow_decimals(texts: list[str], precision: int, scale: int) -> pd.Series[Any]:
    array = pa.array([Decimal(t) for t in texts], pa.decimal128(precision, scale))
    return pd.Series(array, dtype=pd.ArrowDtype(array.type))


@pytest.mark.parametrize(
    "money",
    [
        {"revenue": [Decimal("5000.50"), Decimal("-0.01")]},
        {"revenue": [Decimal("5000.500"), Decimal("-1E-2")]},
        {"revenue": ["5000.5", "-0.01"]},
        {"revenue_fen": [500050, -1]},
        {"revenue": _arrow_decimals(["5000.50", "-0.01"], 12, 2)},
        {"revenue": _arrow_decimals(["5000.5000", "-0.0100"], 18, 4)},
    ],
)
def test_money_as_decimals_text_arrow_decimals_or_fen(money: dict[str, Any]) -> None:
    """Yuan as Decimal, text or an Arrow decimal, or whole fen, give the same revenue."""
    revenue = pd.DataFrame(
        {
            "customer_id": ["GD", "HQ"],
            "period": ["2022-06", "2022-07"],
            "product_id": ["policy_mailing", None],
            **money,
            "volume": [3, 1],
        }
    )
    _same(Portfolio.from_frames(_customers(), revenue), _expected())


@pytest.mark.parametrize(
    "period",
    [
        ["2022-06", "2022-07"],
        pd.PeriodIndex(["2022-06", "2022-07"], freq="M"),
        pd.to_datetime(["2022-06-01", "2022-07-01"]),
        [dt.date(2022, 6, 1), dt.date(2022, 7, 1)],
    ],
)
def test_months_as_text_periods_or_first_days(period: Any) -> None:
    """Months as YYYY-MM, monthly periods, datetimes or dates on the 1st give the same revenue."""
    revenue = pd.DataFrame(
        {
            "customer_id": ["GD", "HQ"],
            "period": period,
            "product_id": ["policy_mailing", ""],
            "revenue_fen": [500050, -1],
            "volume": [3, 1],
        }
    )
    _same(Portfolio.from_frames(_customers(), revenue), _expected())


def test_arrow_dates_and_polars_frames() -> None:
    """Arrow date32 months and polars frames are read like pandas ones."""
    customers = pa.table(
        {
            "customer_id": ["HQ", "GD"],
            "name": ["保险总公司", "广东分公司"],
            "segment": ["保险", "INSURANCE"],
            "parent_id": [None, "HQ"],
            "first_period": pa.array([dt.date(2021, 1, 1), dt.date(2021, 3, 1)], pa.date32()),
        }
    )
    revenue = pa.table(
        {
            "customer_id": ["GD", "HQ"],
            "period": pa.array([dt.date(2022, 6, 1), dt.date(2022, 7, 1)], pa.date32()),
            "product_id": ["policy_mailing", None],
            "revenue": pa.array([Decimal("5000.50"), Decimal("-0.01")], pa.decimal128(10, 2)),
            "volume": pa.array([3, 1], pa.int32()),
        }
    )
    _same(Portfolio.from_arrow(customers, revenue), _expected())
    _same(Portfolio.from_frames(pl.from_arrow(customers), pl.from_arrow(revenue)), _expected())


def test_float_money_is_refused() -> None:
    """A float money column is refused, naming the exact alternatives."""
    revenue = pd.DataFrame({"customer_id": ["GD"], "period": ["2022-06"], "revenue": [5000.5]})
    with pytest.raises(InvalidMoneyError, match=r"float money is refused.*revenue_fen"):
        Portfolio.from_frames(_customers(), revenue)


def test_integer_yuan_is_refused() -> None:
    """An integer ``revenue`` column is ambiguous and refused; fen go in ``revenue_fen``."""
    revenue = pd.DataFrame({"customer_id": ["GD"], "period": ["2022-06"], "revenue": [5000]})
    with pytest.raises(InvalidMoneyError, match=r"ambiguous.*revenue_fen"):
        Portfolio.from_frames(_customers(), revenue)


def test_columns_are_checked() -> None:
    """A missing, unknown or repeated column is refused before any row is read."""
    with pytest.raises(ValidationError, match="missing column first_period; unknown column 'teir'"):
        Portfolio.from_frames(pd.DataFrame({"customer_id": ["A"], "name": ["a"], "teir": ["KEY"]}))
    revenue = pd.DataFrame({"customer_id": ["HQ"], "period": ["2022-01"]})
    with pytest.raises(ValidationError, match="missing column revenue"):
        Portfolio.from_frames(_customers(), revenue)


def test_not_a_frame() -> None:
    """Something that is no frame is refused with its type."""
    with pytest.raises(ValidationError, match="expected a pandas or polars DataFrame"):
        Portfolio.from_frames({"customer_id": ["A"]})


# ---------------------------------------------------------------- bad rows


BAD_CUSTOMERS = {
    "customer_id": ["A", " B", "C", "D", "E", "A", "G", "H", "I", "J", "K"],
    "name": ["a", "b", "c", "d", "e", "a2", "g", "h", "i", "j", "k"],
    "segment": ["司法", "", "FASHION", "司法", "", "", "", "", "", "金融", ""],
    "sub_segment": ["", "", "", "BANK_CARD", "", "", "", "", "", "", ""],
    "tier": ["KEY", "", "", "", "BIG", "", "", "", "", "", ""],
    "parent_id": ["", "", "", "", "", "", "ZZ", "I", "H", "", ""],
    "province": ["", "", "", "", "", "", "", "", "", "", ""],
    "first_period": ["2021-01", "2021-01", "2021-01", "2021-01", "2021-01", "2021-01",
                     "2021-01", "2021-01", "2021-01", "2021-13", "2021-01"],
    "tier_since": ["", "", "", "", "", "", "", "", "", "", "2020-12"],
}  # fmt: skip


def _csv_problems(tmp_path: Path, customers: dict[str, list[str]], revenue: dict[str, list[str]]
                  ) -> set[tuple[int, str | None, str, str]]:  # fmt: skip
    c_path, r_path = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    pd.DataFrame(customers).to_csv(c_path, index=False)
    pd.DataFrame(revenue).to_csv(r_path, index=False)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_csv(c_path, r_path)
    # a CSV reason that names a line names the same row of a frame (the header is line 1)
    return {
        (e.line - 2, e.column, e.value, re.sub(r"line (\d+)", _row, e.reason))
        for e in info.value.row_errors
    }


def _row(match: re.Match[str]) -> str:
    return f"row {int(match.group(1)) - 2}"


def _frame_problems(error: CsvImportError) -> set[tuple[int, str | None, str, str]]:
    assert all(isinstance(e, FrameRowError) for e in error.exceptions)
    return {(e.line, e.column, e.value, e.reason) for e in error.row_errors}


def test_bad_customer_rows_are_reported_as_the_csv_reader_does(tmp_path: Path) -> None:
    """Every bad customer row at once, with the CSV reader's column and reason (row = line - 2)."""
    sub = dict(BAD_CUSTOMERS)
    sub["sub_segment"] = ["", "", "", "NATIONAL_BANK", "", "", "", "", "", "", ""]
    with pytest.raises(CsvImportError) as info:
        Portfolio.from_frames(pd.DataFrame(sub))
    found = _frame_problems(info.value)
    assert found == _csv_problems(tmp_path, sub, {c: [] for c in
                                                  ("customer_id", "period", "product_id",
                                                   "revenue", "volume")})  # fmt: skip
    rows = sorted(row for row, *_ in found)
    assert rows == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert info.value.total == 10
    message = str(info.value.row_errors[-1])
    assert message.startswith("customers frame, row 10, column 'tier_since'")


GOOD = {
    "customer_id": ["A", "B"],
    "name": ["a", "b"],
    "segment": ["司法", ""],
    "sub_segment": ["", ""],
    "tier": ["", ""],
    "parent_id": ["", "A"],
    "province": ["", ""],
    "first_period": ["2021-01", "2021-06"],
    "tier_since": ["", ""],
}

BAD_REVENUE = {
    "customer_id": ["A", "X", "A", "A", "A", "A", "A", "A", "B", "A", "A"],
    "period": ["2022-01", "2022-01", "2022-1", "2022-01", "2022-01", "2022-01", "2022-01",
               "2022-01", "2021-05", "2022-01", "2022-01"],
    "product_id": ["court_express", "", "", "nope", "", "", "", "", "", "", ""],
    "revenue": ["1.5", "1", "1", "1", "1.005", "1e5", "123456789012", "1", "1", "nan", "1"],
    "volume": ["1", "1", "1", "1", "1", "1", "1", "-1", "1", "1", "2.5"],
}  # fmt: skip


def test_bad_revenue_rows_are_reported_as_the_csv_reader_does(tmp_path: Path) -> None:
    """Every bad revenue row at once, with the CSV reader's column, value and reason."""
    with pytest.raises(CsvImportError) as info:
        Portfolio.from_frames(pd.DataFrame(GOOD), pd.DataFrame(BAD_REVENUE))
    found = _frame_problems(info.value)
    assert found == _csv_problems(tmp_path, GOOD, BAD_REVENUE)
    assert sorted(row for row, *_ in found) == list(range(1, 11))
    assert str(info.value).startswith("10 bad rows in revenue frame")


def test_typed_bad_values_are_named_by_row_and_column() -> None:
    """Typed columns report their bad rows too: nulls, dates off the 1st, fen beyond the limit."""
    customers = pd.DataFrame(
        {
            "customer_id": ["A", None, "C"],
            "name": ["a", "b", "c"],
            "first_period": pd.to_datetime(["2021-01-01", "2021-01-01", "2021-01-15"]),
        }
    )
    with pytest.raises(CsvImportError) as info:
        Portfolio.from_frames(customers)
    found = {(e.line, e.column, e.reason.split(";")[0]) for e in info.value.row_errors}
    assert found == {
        (1, "customer_id", "required value is empty"),
        (2, "first_period", "not the first day of a month"),
    }
    revenue = pd.DataFrame(
        {
            "customer_id": ["A", "A"],
            "period": pd.PeriodIndex(["2022-01", None], freq="M"),
            "revenue_fen": pd.array([10**13, 5], dtype="Int64"),
        }
    )
    with pytest.raises(CsvImportError) as info:
        Portfolio.from_frames(customers.iloc[:1], revenue)
    assert [(e.line, e.column) for e in info.value.row_errors] == [
        (0, "revenue_fen"),
        (1, "period"),
    ]


# ---------------------------------------------------------------- result tables


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """A small demo portfolio."""
    return generate(customers=200, months=24)


def test_metrics_frames(demo: Portfolio) -> None:
    """Metrics as pandas (indexed by id), Arrow and polars, with the same columns and values."""
    table = demo.metrics("2022-11")
    frame = table.to_pandas()
    arrow = table.to_arrow()
    polars = table.to_polars()
    assert frame.index.name == "customer_id"
    assert arrow.column_names == ["customer_id", *frame.columns]
    assert polars.columns == arrow.column_names
    assert arrow.schema.field("t12m_revenue").type == pa.decimal128(20, 2)
    assert frame["t12m_revenue"].sum() == Decimal(int(frame["t12m_revenue_fen"].sum())) / 100
    assert str(frame["yoy_growth"].dtype) == "Float64"
    assert arrow.schema.metadata[b"as_of"] == b"2022-11"


def test_evaluation_frame(demo: Portfolio) -> None:
    """One row per customer: decisions of both chains, the reasons and the values cited."""
    ev = default_policy().evaluate(demo, "2022-11")
    frame = ev.to_pandas()
    assert len(frame) == len(ev.customer_ids)
    moves = frame[frame.tier_outcome == "MOVE"]
    assert len(moves) == ev.counts.tier_moves
    first = ev.tier_transitions[0]
    row = frame.set_index("customer_id").loc[first.customer_id]
    assert first.before is not None
    assert first.after is not None
    assert row.tier_from == first.before.name
    assert row.tier_to == first.after.name
    assert row.tier_rule == first.rule
    assert first.reason() in row.explanation
    for name, value in first.explanation:
        if isinstance(value, Decimal):
            assert row[name] == value
    zh = ev.to_arrow(lang="zh")
    assert zh.column("tier_from").type.value_type == pa.string()
    assert zh.num_rows == len(frame)
    assert frame["held"].sum() == ev.counts.held


def test_backtest_frames(demo: Portfolio) -> None:
    """A backtest's timeline (customer x month) and flow matrix as long frames."""
    result = default_policy().backtest(demo, "2022-06", "2022-11")
    timeline = result.to_pandas()
    first = result.customer_ids[0]
    tiers = [t.name for _, t in result.timeline(first) if t is not None]
    assert list(timeline[timeline.customer_id == first].tier) == tiers
    flows = result.to_arrow("flows")
    assert flows.num_rows == 6 * 16
    assert sum(flows.column("customers").to_pylist()) == int(result.tier_moves.sum())


def test_crosssell_and_operations_frames(demo: Portfolio) -> None:
    """Recommendations, whitespace, attainment and payouts convert to all three libraries."""
    from keyaccount.crosssell import CrossSellModel, whitespace

    model = CrossSellModel.fit(demo, "2022-11")
    recs = model.recommend_all(3)
    frame = recs.to_pandas()
    assert {"segment", "tier", "product_id", "score"} <= set(frame.columns)
    assert recs.to_polars().height == len(frame)
    table = whitespace(demo, "2022-11")
    assert table.to_arrow().schema.field("estimated_revenue").type == pa.decimal128(20, 2)
    cells = table.penetration.to_pandas(values="cells")
    assert len(cells) == len(table.penetration.groups) * len(table.penetration.product_ids)


@pytest.mark.parametrize(
    ("call", "allowed"),
    [
        (lambda pf: pf.metrics("2022-11").to_pandas(lang="fr"), "'en' or 'zh'"),
        (lambda pf: pf.metrics("2022-11").top(by="t12m_revenue_fen"), "'t12m_revenue'"),
        (lambda pf: pf.summary("2022-11").to_pandas(values="bogus"), "'customers'"),
        (lambda pf: pf.to_frames(lang="fr"), "'en' or 'zh'"),
        (lambda pf: default_policy().evaluate(pf, "2022-11").to_arrow(lang="fr"), "'zh'"),
        (
            lambda pf: default_policy().backtest(pf, "2022-10", "2022-11").to_pandas("bogus"),
            "'timeline', 'flows', 'segment_flows'",
        ),
    ],
)
def test_wrong_options_name_the_allowed_values(demo: Portfolio, call: Any, allowed: str) -> None:
    """A wrong option raises a ValidationError that lists the allowed values."""
    with pytest.raises(ValidationError, match=allowed):
        call(demo)


def test_frames_from_arrow_do_not_import_polars() -> None:
    """Arrow tables are told by their module: polars is not imported for them.

    (pyarrow itself imports pandas when it is installed, so only polars can be checked.)
    """
    code = (
        "import sys, pyarrow as pa\n"
        "from keyaccount import Portfolio\n"
        "pf = Portfolio.from_arrow(pa.table({'customer_id': ['A'], 'name': ['a'],"
        " 'first_period': ['2022-01']}))\n"
        "assert len(pf) == 1\n"
        "print('polars' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_yuan_columns_are_exact() -> None:
    """The exact yuan column is the fen column divided by 100, with no rounding."""
    fen = np.array([1, -1, 10**13 - 1, -(10**13) + 1, 0], dtype=np.int64)
    pf = Portfolio(
        [Customer("A", "a", "2022-01")],
        [
            RevenueRecord.from_fen("A", "court_express", f"2022-{m + 2:02d}", int(f))
            for m, f in enumerate(fen)
        ],
    )
    _, revenue = pf.to_frames()
    assert list(revenue["revenue"]) == [Decimal(int(f)) / 100 for f in fen]


DOC = Path(__file__).resolve().parents[2] / "docs" / "frames.md"


@pytest.mark.parametrize(
    "block", range(len(re.findall(r"```python\n", DOC.read_text(encoding="utf-8"))))
)
def test_doc_examples_run(block: int) -> None:
    """Every python example of docs/frames.md runs and its assertions hold."""
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[block]
    exec(compile(code, f"{DOC}:block{block}", "exec"), {})


@pytest.mark.parametrize(
    "name",
    [
        "keyaccount.portfolio.frames",
        "keyaccount.portfolio.fields",
        "keyaccount.portfolio._portfolio",
    ],
)
def test_docstring_examples(name: str) -> None:
    """The docstring examples of the frames, the field rules and Portfolio run as shown."""
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
    assert result.attempted > 0
