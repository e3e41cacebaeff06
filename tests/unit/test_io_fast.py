"""The fast block parser against the reference row parser, on random valid and invalid rows."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount.domain import default_catalog
from keyaccount.exceptions import CsvImportError
from keyaccount.io import (
    ErrorPolicy,
    iter_revenue_csv,
    iter_transactions_csv,
    read_customers_csv,
)
from keyaccount.io._reference import (
    reference_customers,
    reference_revenue,
    reference_transactions,
)
from keyaccount.io._revenue import MonthlySums
from keyaccount.io._rows import RevenueRows

if TYPE_CHECKING:
    from pathlib import Path

    from keyaccount.io.problems import Problem

CATALOG = default_catalog()

_ODD_TEXT = st.text(
    alphabet=st.sampled_from(list('0123456789.-+eE ,"\r\nabc客\u3000\x1f\x00')), max_size=8
)

IDS = st.one_of(
    st.sampled_from(["C1", "C2", "C1", "客户001", "HQ-01", "A.b_c", "é"]),
    st.from_regex(r"[A-Z][0-9]{1,12}", fullmatch=True),
    st.sampled_from(["", " C1", "C1 ", "\u3000C1", "C,1", 'C"1', "x" * 70, "C\x1f", "C1\t"]),
    _ODD_TEXT,
)
PERIODS = st.one_of(
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1890, 9999), st.integers(1, 12)),
    st.sampled_from(["2022-13", "2022-00", "2022-1", "1899-12", "", "2022/01", " 2022-01"]),
    st.sampled_from(["２０２２-01", "2022-01 ", "0000-01", "9999-12", "1900-01"]),
    _ODD_TEXT,
)
PRODUCTS = st.one_of(
    st.sampled_from(tuple(CATALOG)),
    st.sampled_from(["", "unknown", "Court_express", "court_express ", "card_lette", "x" * 70]),
    _ODD_TEXT,
)


def _money_forms(fen: int) -> st.SearchStrategy[str]:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    forms = [f"{sign}{whole}.{cents:02d}", f"{sign}00{whole}.{cents:02d}"]
    if cents == 0:
        forms += [f"{sign}{whole}"]
    if cents % 10 == 0:
        forms.append(f"{sign}{whole}.{cents // 10}")
    return st.sampled_from(forms)


MONEY = st.one_of(
    st.integers(-(10**17) + 1, 10**17 - 1).flatmap(_money_forms),
    st.integers(-(10**6), 10**6).flatmap(_money_forms),
    st.sampled_from(["12.345", "1e5", "1E5", "NaN", "nan", "Infinity", "-inf", "abc", ""]),
    st.sampled_from(["1,234", "+5", ".5", "5.", "--5", "-", "12.3.4", "1234567890123456"]),
    st.sampled_from(["-0", "-0.00", "0", "12.340", " 5", "5 ", "-.5", "1..5", "9" * 19]),
    _ODD_TEXT,
)
VOLUMES = st.one_of(
    st.integers(0, 10**18 - 1).map(str),
    st.sampled_from(["", "-3", "2.5", "abc", "1e3", "0" * 18 + "1", "+5", "٣", "-0", "7."]),
    _ODD_TEXT,
)
DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ", timespec="seconds")),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
    st.sampled_from(["2023-02-29", "2024-02-29", "2023-04-31", "2023-13-01", "1899-12-31"]),
    st.sampled_from(["2023-01-01 24:00:00", "2023-01-01T23:60:00", "2023-1-1", "", "20230101"]),
    st.sampled_from(["2023-01-01T10:00", "2023-01-01 10:00:00.5", "2023/01/01", "0000-01-01"]),
    _ODD_TEXT,
)


def _field(text: str, quote: bool) -> str:
    if quote or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def csv_files(
    draw: st.DrawFn, columns: tuple[str, ...], values: dict[str, st.SearchStrategy[str]]
) -> bytes:
    """A CSV file (as bytes) with a shuffled header and random, often bad, rows."""
    header = list(draw(st.permutations(columns)))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            lines.append("")
            continue
        row = [draw(values[c]) for c in header]
        if kind == 1:
            row.append(draw(values[header[0]]))
        elif kind == 2:
            row.pop()
        quote = draw(st.booleans()) and kind == 3
        lines.append(",".join(_field(text, quote) for text in row))
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    data = text.encode("utf-8", "surrogateescape")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        if not data.endswith(b"\n"):
            data += newline.encode()
        data += b"C1,\xff\xfe" + b"," * (len(columns) - 2) + newline.encode()
    return data


def _rejects(path: Path) -> list[tuple[tuple[str, ...], int, str, str, str]]:
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.reader(f))
    width = len(rows[0]) - 4
    return [
        (tuple(r[:width]), int(r[width]), r[width + 1], r[width + 2], r[width + 3])
        for r in rows[1:]
    ]


def _expected(
    problems: list[Problem], width: int
) -> list[tuple[tuple[str, ...], int, str, str, str]]:
    out = []
    for p in problems:
        fields = tuple(p.fields[:width]) + ("",) * max(0, width - len(p.fields))
        out.append((fields, p.line, p.column or "", p.value, p.reason))
    return out


def _rows(batches: list[RevenueRows]) -> list[tuple[int, str, int, int, int, int]]:
    out: list[tuple[int, str, int, int, int, int]] = []
    for b in batches:
        out.extend(
            zip(
                b.line.tolist(),
                b.customer_id.tolist(),
                b.product.tolist(),
                b.period.tolist(),
                b.fen.tolist(),
                b.volume.tolist(),
                strict=True,
            )
        )
    return out


@settings(max_examples=150)
@given(
    data=csv_files(
        ("customer_id", "period", "product_id", "revenue", "volume"),
        {
            "customer_id": IDS,
            "period": PERIODS,
            "product_id": PRODUCTS,
            "revenue": MONEY,
            "volume": VOLUMES,
        },
    ),
    block=st.sampled_from([1, 7, 64, 300, 4096, 1 << 20]),
    batch=st.integers(1, 9),
    known=st.booleans(),
)
def test_revenue_fast_path_agrees_with_reference(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, block: int, batch: int, known: bool
) -> None:
    """The block parser accepts, values and rejects (with reasons) exactly as the reference."""
    folder = tmp_path_factory.mktemp("fast")
    path = folder / "revenue.csv"
    path.write_bytes(data)
    customers = {"C1", "客户001", "HQ-01"} if known else None
    reader = iter_revenue_csv(
        path,
        errors=ErrorPolicy.reject(folder / "rejects.csv"),
        batch_rows=batch,
        known_customers=customers,
        _block_bytes=block,
    )
    batches = list(reader)
    good, bad = reference_revenue(path, CATALOG, customers)
    assert _rows(batches) == good
    assert _rejects(folder / "rejects.csv") == _expected(bad, 5)
    assert all(len(b) == batch for b in batches[:-1])
    assert reader.rows_rejected == len(bad)
    assert reader.rows_read == len(good) + len(bad)


@settings(max_examples=100)
@given(
    data=csv_files(
        ("customer_id", "date", "amount", "product_id"),
        {"customer_id": IDS, "date": DATES, "amount": MONEY, "product_id": PRODUCTS},
    ),
    block=st.sampled_from([1, 50, 4096]),
)
def test_transactions_fast_path_agrees_with_reference(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, block: int
) -> None:
    """Transactions are parsed and rejected as the reference does, then summed by month."""
    folder = tmp_path_factory.mktemp("fast")
    path = folder / "transactions.csv"
    path.write_bytes(data)
    batches = list(
        iter_transactions_csv(
            path, errors=ErrorPolicy.reject(folder / "rejects.csv"), _block_bytes=block
        )
    )
    good, bad = reference_transactions(path, CATALOG)
    assert _rejects(folder / "rejects.csv") == _expected(bad, 4)
    sums: dict[tuple[str, int, int], list[int]] = {}
    for line, cid, product, period, fen in good:
        entry = sums.setdefault((cid, product, period), [0, 0, line])
        entry[0] += fen
        entry[1] += 1
    got = {(cid, p, per): [fen, vol, line] for line, cid, p, per, fen, vol in _rows(batches)}
    assert got == sums


def test_monthly_sums_merge_partial_sums() -> None:
    """Sums added in many small parts equal the sums of all rows at once."""
    sums = MonthlySums(3)
    expected: dict[tuple[str, int, int], list[int]] = {}
    line = 2
    for part in range(40):
        values = [(f"C{(part * 7 + i) % 5}", i % 3, 24_000 + (i % 4), i - 3, 1) for i in range(9)]
        lines = list(range(line, line + len(values)))
        line += len(values)
        sums.add(RevenueRows.from_tuples(lines, values))
        for at, (cid, product, period, fen, _) in zip(lines, values, strict=True):
            entry = expected.setdefault((cid, product, period), [0, 0, at])
            entry[0] += fen
            entry[1] += 1
    rows = _rows([sums.rows()])
    assert {(c, p, per): [f, v, ln] for ln, c, p, per, f, v in rows} == expected
    assert len(rows) == len(expected)


CUSTOMER_IDS = st.sampled_from(["C1", "C2", "C3", "C4", "P1", "", " C5", "客户6", "C,7"])
LABELS = {
    "segment": st.sampled_from(
        ["", "司法", "JUDICIAL", "judicial", "保险行业", "Retail", " 金融 "]
    ),
    "sub_segment": st.sampled_from(["", "法院", "COURT", "INSURER_HQ", "全国性银行", "Bank"]),
    "tier": st.sampled_from(["", "KEY", "key", "规模客户", "重点", "战略客户", "VIP", "dormant"]),
}


@settings(max_examples=150)
@given(
    data=csv_files(
        (
            "customer_id",
            "name",
            "segment",
            "sub_segment",
            "tier",
            "parent_id",
            "province",
            "first_period",
            "tier_since",
        ),
        {
            "customer_id": CUSTOMER_IDS,
            "name": st.sampled_from(["", "某法院", "Acme, Inc.", 'say "hi"', " x "]) | _ODD_TEXT,
            **LABELS,
            "parent_id": CUSTOMER_IDS | st.just(" C1 "),
            "province": st.sampled_from(["", "广东", " 北京 "]),
            "first_period": PERIODS,
            "tier_since": PERIODS,
        },
    ),
    known=st.sampled_from([None, set(), {"P1"}]),
)
def test_customers_columns_agree_with_reference(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, known: set[str] | None
) -> None:
    """The column-wise customer parser keeps and refuses the rows the row parser does."""
    folder = tmp_path_factory.mktemp("fast")
    path = folder / "customers.csv"
    path.write_bytes(data)
    rows = read_customers_csv(
        path, errors=ErrorPolicy.reject(folder / "rejects.csv"), known_customers=known
    )
    good, bad = reference_customers(path, known, cascade=True)
    assert rows.line.tolist() == [line for line, _ in good]
    got = list(
        zip(
            rows.id.tolist(),
            rows.name.tolist(),
            rows.segment.tolist(),
            rows.sub_segment.tolist(),
            rows.tier.tolist(),
            rows.parent_id.tolist(),
            rows.province.tolist(),
            rows.first_period.tolist(),
            rows.tier_since.tolist(),
            strict=True,
        )
    )
    assert got == [values for _, values in good]
    rejected = [r[1:] for r in _rejects(folder / "rejects.csv")]
    assert rejected == [(p.line, p.column or "", p.value, p.reason) for p in bad]
    _, raised = reference_customers(path, known, cascade=False)
    if raised:
        with pytest.raises(CsvImportError) as info:
            read_customers_csv(path, known_customers=known)
        listed = [(e.line, e.column, e.value, e.reason) for e in info.value.row_errors]
        assert listed == [(p.line, p.column, p.value, p.reason) for p in raised]
    else:
        assert len(read_customers_csv(path, known_customers=known)) == len(rows)
