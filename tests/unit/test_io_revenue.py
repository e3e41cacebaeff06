"""Reading revenue files: values, streaming, bad input and the two error policies."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import numpy as np
import pytest

from keyaccount.domain import Period, Product, default_catalog, yuan_to_fen
from keyaccount.exceptions import (
    CsvFileNotFoundError,
    CsvHeaderError,
    CsvImportError,
    CsvRowError,
    KeyAccountError,
)
from keyaccount.io import REJECT_COLUMNS, ErrorPolicy, RevenueRows, iter_revenue_csv

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "customer_id,period,product_id,revenue,volume"
CATALOG = default_catalog()


def _write(path: Path, *lines: str, newline: str = "\n", bom: bool = False) -> Path:
    data = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def _all(batches: list[RevenueRows]) -> list[tuple[int, str, int, int, int, int]]:
    rows = RevenueRows.concat(batches)
    return list(
        zip(
            rows.line.tolist(),
            rows.customer_id.tolist(),
            rows.product.tolist(),
            rows.period.tolist(),
            rows.fen.tolist(),
            rows.volume.tolist(),
            strict=True,
        )
    )


def _expected(
    line: int, cid: str, product: str, period: str, yuan: str, volume: int
) -> tuple[int, str, int, int, int, int]:
    return (
        line,
        cid,
        CATALOG.position(product or "standard_express"),
        Period.parse(period).ordinal,
        yuan_to_fen(yuan),
        volume,
    )


def test_reads_values_as_columns(tmp_path: Path) -> None:
    """Each row becomes customer id, product position, period ordinal, fen and volume."""
    path = _write(
        tmp_path / "revenue.csv",
        HEADER,
        "C1,2022-11,court_express,1234.50,10",
        "C1,2022-12,court_express,-12.5,0",
        "客户002,2023-01,,7,",
        "C3,1999-02,card_letter,0.01,1234567890123",
    )
    rows = _all(list(iter_revenue_csv(path)))
    assert rows == [
        _expected(2, "C1", "court_express", "2022-11", "1234.50", 10),
        _expected(3, "C1", "court_express", "2022-12", "-12.5", 0),
        _expected(4, "客户002", "", "2023-01", "7", 0),
        _expected(5, "C3", "card_letter", "1999-02", "0.01", 1234567890123),
    ]
    batch = next(iter(iter_revenue_csv(path)))
    assert batch.fen.dtype == np.int64
    assert batch.period.dtype == np.int32
    assert batch.product.dtype == np.int32
    assert batch.customer_id.dtype == object


def test_records_are_domain_objects(tmp_path: Path) -> None:
    """RevenueRows.records gives RevenueRecord objects with the same values."""
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-11,court_express,-1234.5,3")
    (batch,) = iter_revenue_csv(path)
    (record,) = batch.records(CATALOG)
    assert (record.customer_id, record.product_id, str(record.period)) == (
        "C1",
        "court_express",
        "2022-11",
    )
    assert str(record.revenue) == "-1234.50"
    assert record.volume == 3


def test_header_in_any_order_case_and_spacing(tmp_path: Path) -> None:
    """Columns are found by name, in any order, case and surrounding spaces."""
    path = _write(
        tmp_path / "r.csv",
        " Volume , REVENUE,period,customer_id,product_id",
        "4,99.99,2021-07,C9,policy_mailing",
    )
    assert _all(list(iter_revenue_csv(path))) == [
        _expected(2, "C9", "policy_mailing", "2021-07", "99.99", 4)
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_bom_line_endings_blank_lines_and_quotes(tmp_path: Path, newline: str, bom: bool) -> None:
    """A BOM, CRLF endings, blank lines and quoted fields read the same as plain text."""
    path = _write(
        tmp_path / "r.csv",
        HEADER,
        "C1,2022-01,court_express,1.00,1",
        "",
        '"C,2",2022-02,"card_letter","2.50",2',
        '"C""3",2022-03,,3,3',
        newline=newline,
        bom=bom,
    )
    assert _all(list(iter_revenue_csv(path))) == [
        _expected(2, "C1", "court_express", "2022-01", "1.00", 1),
        _expected(4, "C,2", "card_letter", "2022-02", "2.50", 2),
        _expected(5, 'C"3', "", "2022-03", "3", 3),
    ]


def test_quoted_line_break_keeps_line_numbers(tmp_path: Path) -> None:
    """A record with a line break in a quoted field is numbered by its first line."""
    path = _write(
        tmp_path / "r.csv",
        HEADER,
        '"C\n1",2022-01,,1,1',
        "C2,2022-13,,1,1",
    )
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    (error,) = info.value.exceptions
    assert isinstance(error, CsvRowError)
    assert error.line == 4


def test_batches_are_full_and_in_file_order(tmp_path: Path) -> None:
    """Every batch but the last has batch_rows rows, across many small blocks."""
    lines = [f"C{i},2022-{i % 12 + 1:02d},,{i}.{i % 100:02d},{i}" for i in range(1000)]
    path = _write(tmp_path / "r.csv", HEADER, *lines)
    batches = list(iter_revenue_csv(path, batch_rows=64, _block_bytes=500))
    assert [len(b) for b in batches] == [64] * 15 + [40]
    rows = RevenueRows.concat(batches)
    assert rows.line.tolist() == list(range(2, 1002))
    assert rows.volume.tolist() == list(range(1000))


def test_progress_reports_rows_and_bytes(tmp_path: Path) -> None:
    """The progress callback sees growing row and byte counts ending at the file size."""
    lines = [f"C{i},2022-01,,1,1" for i in range(300)]
    path = _write(tmp_path / "r.csv", HEADER, *lines)
    calls: list[tuple[int, int, int]] = []
    reader = iter_revenue_csv(
        path, progress=lambda *a: calls.append(a), _block_bytes=256, batch_rows=7
    )
    list(reader)
    size = path.stat().st_size
    assert len(calls) > 5
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)
    assert calls[-1] == (300, size, size)
    assert reader.rows_read == 300
    assert reader.rows_rejected == 0


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a CsvFileNotFoundError (a FileNotFoundError) naming the path."""
    path = tmp_path / "nope.csv"
    with pytest.raises(CsvFileNotFoundError, match=r"nope\.csv") as info:
        iter_revenue_csv(path)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, KeyAccountError)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("header", "missing", "unknown"),
    [
        ("customer_id,period,product_id,revenue", ("volume",), ()),
        ("customer_id,period,product,revenue,volume", ("product_id",), ("product",)),
        (
            "customer,period,product_id,revenue,volume,extra",
            ("customer_id",),
            ("customer", "extra"),
        ),
    ],
)
def test_bad_header(
    tmp_path: Path, header: str, missing: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    """A missing or misnamed column is a CsvHeaderError naming it and the file."""
    path = _write(tmp_path / "r.csv", header, "C1,2022-01,,1,1")
    with pytest.raises(CsvHeaderError) as info:
        iter_revenue_csv(path)
    assert info.value.missing == missing
    assert info.value.unknown == unknown
    assert str(path) in str(info.value)
    for name in missing + unknown:
        assert repr(name) in str(info.value)


def test_repeated_column_and_empty_file(tmp_path: Path) -> None:
    """A column named twice, and a file without a header line, are header errors."""
    path = _write(tmp_path / "r.csv", HEADER + ",period")
    with pytest.raises(CsvHeaderError) as info:
        iter_revenue_csv(path)
    assert info.value.duplicated == ("period",)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CsvHeaderError, match="no header line"):
        iter_revenue_csv(empty)


BAD_VALUES = [
    ("customer_id", "", "required value is empty"),
    ("customer_id", " C1", "spaces"),
    ("period", "2022-13", "month 13"),
    ("period", "2022-1", "YYYY-MM"),
    ("period", "", "required value is empty"),
    ("period", "1899-12", "before 1900"),
    ("product_id", "no_such_product", "unknown product"),
    ("revenue", "12.345", "below the fen"),
    ("revenue", "1e5", "exponent"),
    ("revenue", "NaN", "finite"),
    ("revenue", "Infinity", "finite"),
    ("revenue", "-inf", "finite"),
    ("revenue", "abc", "not an amount"),
    ("revenue", "", "required value is empty"),
    ("revenue", "1234567890123456", "too large"),
    ("volume", "-3", "negative volume"),
    ("volume", "2.5", "fractional volume"),
    ("volume", "many", "not a whole number"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
def test_bad_value_names_file_line_column_value_and_reason(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """A bad field is a CsvRowError naming file, line, column, value and reason."""
    good = {
        "customer_id": "C1",
        "period": "2022-01",
        "product_id": "court_express",
        "revenue": "1",
        "volume": "1",
    }
    row = dict(good, **{column: value})
    path = _write(
        tmp_path / "r.csv",
        HEADER,
        "C0,2022-01,,1,1",
        ",".join(row[c] for c in HEADER.split(",")),
    )
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    group = info.value
    assert group.path == str(path)
    assert group.total == 1
    (error,) = group.exceptions
    assert isinstance(error, CsvRowError)
    assert (error.path, error.line, error.column, error.value) == (str(path), 3, column, value)
    assert reason in error.reason
    assert isinstance(error, ValueError)
    for part in (str(path), "line 3", column, repr(value), error.reason):
        assert part in str(error)


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    """Too few or too many fields name the line and both counts."""
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-01,,1", "C1,2022-01,,1,1,9")
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    reasons = [(e.line, e.column, e.reason) for e in info.value.row_errors]
    assert reasons == [
        (2, None, "expected 5 fields, found 4"),
        (3, None, "expected 5 fields, found 6"),
    ]


def test_invalid_utf8_is_a_bad_row(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 make a bad row, not a crash."""
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "\nC\xff1,2022-01,,1,1\n").encode("latin-1"))
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    (error,) = info.value.exceptions
    assert isinstance(error, CsvRowError)
    assert (error.line, error.column, error.reason) == (2, "customer_id", "not valid UTF-8 text")


def test_raise_policy_lists_every_bad_row_after_reading_the_whole_file(tmp_path: Path) -> None:
    """Raise mode reads on to the end, lists all bad rows and yields nothing after the first."""
    lines = [f"C{i},2022-01,,{'x' if i % 10 == 5 else '1'},1" for i in range(200)]
    path = _write(tmp_path / "r.csv", HEADER, *lines)
    seen: list[RevenueRows] = []
    with pytest.raises(CsvImportError) as info:
        seen.extend(iter_revenue_csv(path, batch_rows=1, _block_bytes=100))
    assert info.value.total == 20
    assert [e.line for e in info.value.row_errors] == [i + 2 for i in range(5, 200, 10)]
    assert all(int(b.line.max()) < 7 for b in seen)


def test_check_first_raises_before_any_batch(tmp_path: Path) -> None:
    """With check_first, a bad last row raises before the first batch is yielded."""
    lines = [f"C{i},2022-01,,1,1" for i in range(50)] + ["C9,2022-01,,1,-1"]
    path = _write(tmp_path / "r.csv", HEADER, *lines)
    seen: list[RevenueRows] = []
    with pytest.raises(CsvImportError):
        seen.extend(iter_revenue_csv(path, batch_rows=5, check_first=True, _block_bytes=64))
    assert seen == []
    clean = _write(tmp_path / "clean.csv", HEADER, *lines[:-1])
    calls: list[tuple[int, int, int]] = []
    reader = iter_revenue_csv(clean, check_first=True, progress=lambda *a: calls.append(a))
    assert len(RevenueRows.concat(list(reader))) == 50
    size = clean.stat().st_size
    assert calls[-1] == (50, 2 * size, 2 * size)
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)


def test_listed_errors_are_capped(tmp_path: Path) -> None:
    """At most max_listed rows are listed; the message says how many more there are."""
    path = _write(tmp_path / "r.csv", HEADER, *["C1,bad,,1,1"] * 30)
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path, errors=ErrorPolicy(max_listed=10)))
    assert len(info.value.exceptions) == 10
    assert info.value.total == 30
    assert "20 more not shown" in str(info.value)


def test_reject_policy_yields_good_rows_and_writes_reject_file(tmp_path: Path) -> None:
    """Reject mode goes on with good rows and writes bad ones with line, column and reason."""
    path = _write(
        tmp_path / "r.csv",
        HEADER,
        "C1,2022-01,,1,1",
        'C2,2022-01,,"1,5",1',
        "C3,2022-01,,1,1,extra",
        "C4,2022-02,,4,4",
    )
    rejects = tmp_path / "rejects.csv"
    reader = iter_revenue_csv(path, errors=ErrorPolicy.reject(rejects))
    rows = RevenueRows.concat(list(reader))
    assert rows.customer_id.tolist() == ["C1", "C4"]
    assert reader.rows_rejected == 2
    assert reader.rows_read == 4
    with rejects.open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == [*HEADER.split(","), *REJECT_COLUMNS]
    assert table[1][:5] == ["C2", "2022-01", "", "1,5", "1"]
    assert table[1][5:8] == ["3", "revenue", "1,5"]
    assert "not an amount" in table[1][8]
    assert table[2][:5] == ["C3", "2022-01", "", "1", "1"]
    assert table[2][5:7] == ["4", ""]
    assert table[2][8] == "expected 5 fields, found 6"


def test_reject_file_is_written_even_when_all_rows_are_good(tmp_path: Path) -> None:
    """The reject file holds just its header when no row is bad."""
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-01,,1,1")
    rejects = tmp_path / "rejects.csv"
    list(iter_revenue_csv(path, errors=ErrorPolicy.reject(rejects)))
    assert rejects.read_text(encoding="utf-8").splitlines() == [
        HEADER + "," + ",".join(REJECT_COLUMNS)
    ]


def test_known_customers(tmp_path: Path) -> None:
    """With known_customers, rows of other customers are bad ("unknown customer")."""
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-01,,1,1", "C2,2022-01,,1,1")
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path, known_customers={"C1"}))
    (error,) = info.value.exceptions
    assert isinstance(error, CsvRowError)
    assert (error.line, error.column, error.reason) == (3, "customer_id", "unknown customer 'C2'")


def test_product_positions_follow_the_catalogue(tmp_path: Path) -> None:
    """Product codes are positions in the catalogue passed in, own products included."""
    catalog = CATALOG.with_products([Product("cold_chain", "Cold chain", "冷链")])
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-01,cold_chain,1,1", "C1,2022-01,,1,1")
    rows = RevenueRows.concat(list(iter_revenue_csv(path, catalog=catalog)))
    assert rows.product.tolist() == [
        catalog.position("cold_chain"),
        catalog.position("standard_express"),
    ]
    with pytest.raises(CsvImportError, match=r"^1 bad row"):
        list(iter_revenue_csv(path))


def test_close_stops_reading(tmp_path: Path) -> None:
    """Closing the iterator early closes the file and ends the iteration."""
    path = _write(tmp_path / "r.csv", HEADER, *[f"C{i},2022-01,,1,1" for i in range(100)])
    reader = iter_revenue_csv(path, batch_rows=10, _block_bytes=64)
    first = next(reader)
    reader.close()
    assert len(first) == 10
    assert list(reader) == []


def test_bad_policy_arguments() -> None:
    """A batch size or listing cap below one is refused."""
    with pytest.raises(ValueError, match="batch_rows"):
        iter_revenue_csv("x.csv", batch_rows=0)
    with pytest.raises(ValueError, match="max_listed"):
        ErrorPolicy(max_listed=0)


def test_import_error_pickles_and_splits(tmp_path: Path) -> None:
    """A CsvImportError survives pickling and keeps its file when split."""
    import pickle

    path = _write(tmp_path / "r.csv", HEADER, "C1,x,,1,1", "C2,2022-01,,y,1")
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.path, again.total, str(again)) == (str(path), 2, str(info.value))
    assert [e.line for e in again.exceptions] == [2, 3]
    match, rest = info.value.split(lambda e: getattr(e, "column", "") == "period")
    assert isinstance(match, CsvImportError)
    assert isinstance(rest, CsvImportError)
    assert (match.path, len(match.exceptions), len(rest.exceptions)) == (str(path), 1, 1)


def test_reject_file_cannot_be_the_file_read(tmp_path: Path) -> None:
    """A reject file that is the file being read is refused, and the file is kept."""
    path = _write(tmp_path / "r.csv", HEADER, "C1,2022-01,,1,1")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="is the file being read"):
        list(iter_revenue_csv(path, errors=ErrorPolicy.reject(path)))
    assert path.read_bytes() == before
