"""Raw transactions from files and frames: column names, date formats, quantities, customers."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
from decimal import Decimal
from typing import TYPE_CHECKING

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from keyaccount import Period, Tier
from keyaccount.domain import default_catalog
from keyaccount.exceptions import (
    CsvHeaderError,
    CsvImportError,
    FrameRowError,
    ValidationError,
)
from keyaccount.io import (
    ErrorPolicy,
    iter_transactions_csv,
    read_customers_csv,
    read_transactions_csv,
    transactions_from_frame,
)
from keyaccount.io._reference import reference_daily_transactions
from keyaccount.io._revenue import SourceOptions

if TYPE_CHECKING:
    from pathlib import Path

CN = {
    "customer_id": "客户编号",
    "date": "交易日期",
    "amount": "金额",
    "product_id": "产品",
    "quantity": "件数",
    "name": "客户名称",
}
CN_FILE = (
    "客户编号,交易日期,金额,产品,件数,客户名称,备注\n"
    "C1,20230105,1200.50,court_express,3,某中院,首单\n"
    "C1,20230220,-20,court_express,0,,退款\n"
    "C2,20230302,88,,1,平安广东,\n"
    "C1,20230228,10.05,e_receipt,2,,\n"
)


def _day(text: str) -> int:
    return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_chinese_header_compact_dates_in_any_encoding(tmp_path: Path, encoding: str) -> None:
    """A GBK or UTF-8 (BOM) file with Chinese column names and YYYYMMDD dates reads exactly."""
    path = tmp_path / "交易.csv"
    path.write_bytes(CN_FILE.encode(encoding))
    read = "gbk" if encoding == "gbk" else "utf-8"
    tx = read_transactions_csv(path, columns=CN, date_format="%Y%m%d", encoding=read)
    assert tx.customer_ids.tolist() == ["C1", "C2"]
    assert tx.names.tolist() == ["某中院", "平安广东"]
    assert tx.customer.tolist() == [0, 0, 1, 0]
    assert tx.day.tolist() == [
        _day(d) for d in ("2023-01-05", "2023-02-20", "2023-03-02", "2023-02-28")
    ]
    assert tx.fen.tolist() == [120050, -2000, 8800, 1005]
    assert tx.quantity.tolist() == [3, 0, 1, 2]
    assert tx.line.tolist() == [2, 3, 4, 5]
    products = list(default_catalog())
    assert [products[p] for p in tx.product.tolist()] == [
        "court_express",
        "court_express",
        "standard_express",
        "e_receipt",
    ]
    assert tx.has_quantity


def test_quantity_becomes_volume_of_the_monthly_sums(tmp_path: Path) -> None:
    """Monthly sums add the quantities as volume, in the streaming reader and in the table."""
    path = tmp_path / "t.csv"
    path.write_text(CN_FILE, encoding="utf-8")
    batches = list(iter_transactions_csv(path, columns=CN, date_format="%Y%m%d"))
    streamed = {
        (c, int(p), int(m)): (int(f), int(v))
        for b in batches
        for c, p, m, f, v in zip(b.customer_id, b.product, b.period, b.fen, b.volume, strict=True)
    }
    table = read_transactions_csv(path, columns=CN, date_format="%Y%m%d").monthly()
    summed = {
        (c, int(p), int(m)): (int(f), int(v))
        for c, p, m, f, v in zip(
            table.customer_id, table.product, table.period, table.fen, table.volume, strict=True
        )
    }
    court = list(default_catalog()).index("court_express")
    feb = Period(2023, 2).ordinal
    assert streamed == summed
    assert streamed[("C1", court, feb)] == (-2000, 0)
    assert streamed[("C1", court, Period(2023, 1).ordinal)] == (120050, 3)


def test_without_quantity_each_transaction_counts_one(tmp_path: Path) -> None:
    """Without a quantity column the volume is the number of transactions."""
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nA,2023-01-01,1\nA,2023-01-09 10:00:00,2\n")
    tx = read_transactions_csv(path)
    assert tx.quantity.tolist() == [1, 1]
    assert not tx.has_quantity
    assert tx.monthly().volume.tolist() == [2]


def test_customers_created_from_transactions(tmp_path: Path) -> None:
    """create_customers makes each customer: its name, first purchase month, ACTIVE, no segment."""
    path = tmp_path / "t.csv"
    path.write_bytes(CN_FILE.encode("gbk"))
    tx = read_transactions_csv(path, columns=CN, date_format="%Y%m%d", encoding="gbk")
    portfolio = tx.to_portfolio(create_customers=True)
    c1, c2 = portfolio.customer("C1"), portfolio.customer("C2")
    assert (c1.name, c1.first_period, c1.tier, c1.segment) == (
        "某中院",
        Period(2023, 1),
        Tier.ACTIVE,
        None,
    )
    assert (c2.name, c2.first_period) == ("平安广东", Period(2023, 3))
    metrics = portfolio.metrics("2023-03")
    assert metrics.row("C1")["t12m_revenue"] == Decimal("1190.55")
    assert metrics.row("C1")["t12m_volume"] == 5


def test_name_is_the_id_without_a_name(tmp_path: Path) -> None:
    """A customer whose transactions give no name is named by its id."""
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount,name\nA,2023-01-01,1,\nB,2023-01-02,1,乙\n")
    tx = read_transactions_csv(path)
    assert tx.names.tolist() == ["A", "乙"]


def test_given_customers_and_unknown_or_early_transactions(tmp_path: Path) -> None:
    """Transactions of unknown customers or before first_period are listed together, by line."""
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "A,甲,司法,,重点,,,2023-02\n"
    )
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nA,2023-01-31,1\nA,2023-02-01,2\nZ,2023-02-01,3\n")
    tx = read_transactions_csv(path)
    rows = read_customers_csv(customers)
    with pytest.raises(CsvImportError) as caught:
        tx.to_portfolio(rows)
    found = [(e.line, e.column, e.value) for e in caught.value.row_errors]
    assert found == [(2, "date", "2023-01-31"), (4, "customer_id", "Z")]
    assert "first_period 2023-02" in str(caught.value.exceptions[0])
    tail = tmp_path / "late.csv"
    tail.write_text("customer_id,date,amount\nA,2023-02-01,2\nZ,2023-02-01,3\n")
    built = read_transactions_csv(tail).to_portfolio(rows, create_customers=True)
    assert built.customer("A").tier is Tier.KEY
    assert built.customer("Z").first_period == Period(2023, 2)


def test_to_portfolio_needs_customers() -> None:
    """Neither customers nor create_customers is refused with a message saying how."""
    tx = transactions_from_frame(
        pd.DataFrame({"customer_id": ["A"], "date": ["2023-01-01"], "amount": ["1"]})
    )
    with pytest.raises(ValidationError, match="create_customers=True"):
        tx.to_portfolio()


def test_bad_rows_are_all_named_by_file_line_column(tmp_path: Path) -> None:
    """Every bad row is reported at once with file, line, column and value; nothing is returned."""
    path = tmp_path / "交易.csv"
    text = (
        "客户编号,交易日期,金额,件数\n"
        "C1,20230105,12.50,1\n"
        "C1,2023-01-05,12.50,1\n"
        "C2,20230230,1,1\n"
        "C3,20230101,1.005,1\n"
        "C4,20230101,1,-2\n"
        " C5,20230101,1,1\n"
    )
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(CsvImportError) as caught:
        read_transactions_csv(path, columns=CN, date_format="%Y%m%d", encoding="gbk")
    found = [(e.path, e.line, e.column, e.value) for e in caught.value.row_errors]
    assert found == [
        (str(path), 3, "date", "2023-01-05"),
        (str(path), 4, "date", "20230230"),
        (str(path), 5, "amount", "1.005"),
        (str(path), 6, "quantity", "-2"),
        (str(path), 7, "customer_id", " C5"),
    ]
    assert "20230230 is not a calendar date" in str(caught.value.exceptions[1])


def test_reject_policy_keeps_good_rows(tmp_path: Path) -> None:
    """With a reject file the good transactions are kept and the bad ones written out."""
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nA,2023/01/05 08:30,1\nA,2023-01-05,2\n")
    tx = read_transactions_csv(
        path, date_format="%Y/%m/%d %H:%M", errors=ErrorPolicy.reject(tmp_path / "bad.csv")
    )
    assert tx.fen.tolist() == [100]
    rejects = (tmp_path / "bad.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[1].endswith("3,date,2023-01-05,not a date in the format %Y/%m/%d %H:%M")


def test_mapping_errors_name_the_columns(tmp_path: Path) -> None:
    """A mapped column missing from the file is named as mapped; bad options are refused."""
    path = tmp_path / "t.csv"
    path.write_text("客户编号,日期,金额\nA,20230101,1\n")
    with pytest.raises(CsvHeaderError, match=r"missing column .交易日期 \(date\)."):
        read_transactions_csv(path, columns=CN)
    with pytest.raises(ValidationError, match="unknown column 'datum'"):
        read_transactions_csv(path, columns={"datum": "日期"})
    with pytest.raises(ValidationError, match="unknown encoding"):
        read_transactions_csv(path, columns=CN, encoding="no-such-codec")
    with pytest.raises(ValidationError, match="strptime format"):
        read_transactions_csv(path, date_format="YYYYMMDD")


_DATE_TEXTS = st.one_of(
    st.dates(dt.date(1890, 1, 1), dt.date(2100, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.dates(dt.date(1890, 1, 1), dt.date(2100, 12, 31)).map(lambda d: d.strftime("%d.%m.%Y")),
    st.sampled_from(["20230229", "2023011", "202301011", "2023-01-01", "", "x", "00000101"]),
    st.sampled_from(["31.02.2023", "1.1.2023", "29.02.2024", "2024229"]),
)


@settings(max_examples=60, deadline=None)
@given(
    dates=st.lists(_DATE_TEXTS, min_size=1, max_size=30),
    date_format=st.sampled_from(["%Y%m%d", "%d.%m.%Y"]),
    block=st.sampled_from([1, 64, 4096]),
)
def test_fast_path_agrees_with_reference_for_date_formats(
    tmp_path_factory: pytest.TempPathFactory, dates: list[str], date_format: str, block: int
) -> None:
    """For YYYYMMDD and a user format the block reader agrees with the reference parser."""
    folder = tmp_path_factory.mktemp("formats")
    path = folder / "t.csv"
    rows = "".join(f"C{i % 3},{d},{i}.5,{i % 4},n{i % 2}\n" for i, d in enumerate(dates))
    path.write_text("customer_id,date,amount,quantity,name\n" + rows, encoding="utf-8")
    tx = read_transactions_csv(
        path,
        date_format=date_format,
        errors=ErrorPolicy.reject(folder / "bad.csv"),
        _block_bytes=block,
    )
    good, bad = reference_daily_transactions(
        path, default_catalog(), options=SourceOptions(date_format=date_format)
    )
    got = list(
        zip(
            tx.line.tolist(),
            tx.customer_id.tolist(),
            tx.product.tolist(),
            tx.day.tolist(),
            tx.fen.tolist(),
            tx.quantity.tolist(),
            strict=True,
        )
    )
    assert got == [row[:6] for row in good]
    rejected = (folder / "bad.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(rejected) == len(bad)


# ----------------------------------------------------------------------------- frames


def test_frame_with_chinese_columns_and_decimal_amounts() -> None:
    """A DataFrame with mapped names, Decimal amounts, datetimes and quantities reads exactly."""
    frame = pd.DataFrame(
        {
            "客户编号": [101, 101, 202],
            "交易日期": pd.to_datetime(
                ["2023-01-05 10:30", "2023-02-01 00:00", "2023-02-03 09:00"]
            ),
            "金额": [Decimal("12.50"), Decimal("-3"), Decimal("0.01")],
            "件数": [2, 0, 1],
            "无关": ["x", "y", "z"],
        }
    )
    tx = transactions_from_frame(frame, columns=CN)
    assert tx.customer_ids.tolist() == ["101", "202"]
    assert tx.fen.tolist() == [1250, -300, 1]
    assert tx.day.tolist() == [_day("2023-01-05"), _day("2023-02-01"), _day("2023-02-03")]
    assert tx.quantity.tolist() == [2, 0, 1]
    assert tx.line.tolist() == [0, 1, 2]


def test_frame_text_dates_and_integer_fen() -> None:
    """Text dates in a user format and integer fen (amount_unit='fen') are read exactly."""
    frame = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": [20230105, 20230301], "amount": [1250, -7]}
    )
    tx = transactions_from_frame(frame, date_format="%Y%m%d", amount_unit="fen")
    assert tx.fen.tolist() == [1250, -7]
    assert tx.day.tolist() == [_day("2023-01-05"), _day("2023-03-01")]
    yuan = transactions_from_frame(frame, date_format="%Y%m%d")
    assert yuan.fen.tolist() == [125000, -700]


def test_frame_float_money_is_refused() -> None:
    """A float amount column is refused, naming the column and how to fix it."""
    frame = pd.DataFrame({"customer_id": ["A"], "date": ["2023-01-01"], "amount": [12.5]})
    with pytest.raises(ValidationError, match="amount holds floats"):
        transactions_from_frame(frame)


def test_frame_bad_rows_are_listed_by_row_and_column() -> None:
    """Every bad row of a frame is listed once, by row (from 0), column and value."""
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "", "C", "D", "E"],
            "date": ["2023-01-01", "2023-01-01", "2023-02-30", "2023-01-01", None],
            "amount": ["1", "1", "1", "1.234", "1"],
            "product_id": ["", "", "", "", "nope"],
        }
    )
    with pytest.raises(CsvImportError) as caught:
        transactions_from_frame(frame, source="orders")
    errors = caught.value.row_errors
    assert all(isinstance(e, FrameRowError) for e in errors)
    assert [(e.line, e.column, e.value) for e in errors] == [
        (1, "customer_id", ""),
        (2, "date", "2023-02-30"),
        (3, "amount", "1.234"),
        (4, "date", ""),
    ]
    assert str(errors[0]).startswith("orders, row 1, column 'customer_id'")


def test_frame_and_file_give_the_same_table(tmp_path: Path) -> None:
    """The same transactions from a CSV file and from pandas.read_csv of it are equal."""
    path = tmp_path / "t.csv"
    path.write_text(CN_FILE, encoding="utf-8")
    from_file = read_transactions_csv(path, columns=CN, date_format="%Y%m%d")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    from_frame = transactions_from_frame(frame, columns=CN, date_format="%Y%m%d")
    for name in ("customer", "day", "fen", "product", "quantity"):
        assert np.array_equal(getattr(from_file, name), getattr(from_frame, name)), name
    assert from_file.names.tolist() == from_frame.names.tolist()


def test_to_pandas_and_repr(tmp_path: Path) -> None:
    """Transactions convert to a typed DataFrame and show a one-line repr."""
    path = tmp_path / "t.csv"
    path.write_text(CN_FILE, encoding="utf-8")
    tx = read_transactions_csv(path, columns=CN, date_format="%Y%m%d")
    df = tx.to_pandas()
    assert list(df.columns) == [
        "customer_id",
        "date",
        "amount_fen",
        "amount",
        "product_id",
        "quantity",
        "line",
    ]
    assert df["amount_fen"].tolist() == [120050, -2000, 8800, 1005]
    assert str(df["date"].iloc[0].date()) == "2023-01-05"
    assert repr(tx).startswith("<Transactions: 4 rows, 2 customers, 2023-01-05..2023-03-02")


def test_docstring_examples() -> None:
    """The docstring examples of the transaction readers run and print what they show."""
    module = importlib.import_module("keyaccount.io._transactions")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_arrow_table_with_decimal_and_date_columns() -> None:
    """An Arrow table (decimal128 amounts, date32 dates) reads through its pandas conversion."""
    pa = pytest.importorskip("pyarrow")
    table = pa.table(
        {
            "customer_id": ["A", "B"],
            "date": pa.array([dt.date(2023, 1, 1), dt.date(2023, 2, 1)]),
            "amount": pa.array([Decimal("1.25"), Decimal("-3.00")], pa.decimal128(10, 2)),
        }
    )
    tx = transactions_from_frame(table)
    assert tx.fen.tolist() == [125, -300]
    assert tx.day.tolist() == [_day("2023-01-01"), _day("2023-02-01")]
