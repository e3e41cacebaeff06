"""Reading raw transactions: summed to monthly revenue per customer and product."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Period, default_catalog
from keyaccount.exceptions import CsvImportError, CsvRowError
from keyaccount.io import ErrorPolicy, RevenueRows, iter_transactions_csv

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

CATALOG = default_catalog()


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sums(rows: RevenueRows) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    products = CATALOG.products
    return {
        (cid, products[p].id, str(Period.from_ordinal(per))): (fen, vol, line)
        for cid, p, per, fen, vol, line in zip(
            rows.customer_id.tolist(),
            rows.product.tolist(),
            rows.period.tolist(),
            rows.fen.tolist(),
            rows.volume.tolist(),
            rows.line.tolist(),
            strict=True,
        )
    }


def test_transactions_are_summed_by_customer_product_and_month(tmp_path: Path) -> None:
    """Amounts add up per (customer, product, month); volume counts the transactions."""
    path = _write(
        tmp_path / "t.csv",
        "customer_id,date,amount,product_id",
        "C1,2022-11-01,10.50,court_express",
        "C2,2022-11-02 08:00:00,3,",
        "C1,2022-11-30T23:59:59,-0.50,court_express",
        "C1,2022-12-01,1,court_express",
        "C2,2022-11-15,4.25,",
        "C1,2022-11-05,7,card_letter",
    )
    rows = RevenueRows.concat(list(iter_transactions_csv(path)))
    assert _sums(rows) == {
        ("C1", "court_express", "2022-11"): (1000, 2, 2),
        ("C2", "standard_express", "2022-11"): (725, 2, 3),
        ("C1", "court_express", "2022-12"): (100, 1, 5),
        ("C1", "card_letter", "2022-11"): (700, 1, 7),
    }
    assert rows.customer_id.tolist()[:3] == ["C1", "C1", "C1"]


def test_product_column_is_optional(tmp_path: Path) -> None:
    """Without a product_id column every transaction is standard_express."""
    path = _write(
        tmp_path / "t.csv", "date,customer_id,amount", "2023-01-09,C1,5", "2023-01-10,C1,6"
    )
    rows = RevenueRows.concat(list(iter_transactions_csv(path)))
    assert _sums(rows) == {("C1", "standard_express", "2023-01"): (1100, 2, 2)}


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("2023-02-29", "not a calendar date"),
        ("2023-04-31", "not a calendar date"),
        ("2023-13-01", "not a calendar date"),
        ("2023-01-01 24:00:00", "not a time of day"),
        ("2023/01/01", "not a date"),
        ("yesterday", "not a date"),
        ("", "required value is empty"),
        ("1899-12-31", "before 1900"),
    ],
)
def test_a_date_that_is_not_a_date(tmp_path: Path, date: str, reason: str) -> None:
    """A bad date is a bad row in the date column."""
    path = _write(tmp_path / "t.csv", "customer_id,date,amount", "C1,2024-02-29,1", f"C1,{date},1")
    with pytest.raises(CsvImportError) as info:
        list(iter_transactions_csv(path))
    (error,) = info.value.exceptions
    assert isinstance(error, CsvRowError)
    assert (error.line, error.column, error.value) == (3, "date", date)
    assert reason in error.reason


def test_raise_policy_yields_nothing(tmp_path: Path) -> None:
    """With the raise policy a bad transaction means no sums at all."""
    path = _write(
        tmp_path / "t.csv", "customer_id,date,amount", "C1,2023-01-01,1", "C1,2023-01-02,1.001"
    )
    seen: list[RevenueRows] = []
    with pytest.raises(CsvImportError):
        seen.extend(iter_transactions_csv(path))
    assert seen == []


def test_reject_policy_sums_the_good_rows(tmp_path: Path) -> None:
    """With the reject policy the good transactions are summed and the bad one rejected."""
    path = _write(
        tmp_path / "t.csv",
        "customer_id,date,amount",
        "C1,2023-01-01,1",
        "C1,2023-01-02,x",
        "C1,2023-01-03,2",
    )
    reader = iter_transactions_csv(path, errors=ErrorPolicy.reject(tmp_path / "rej.csv"))
    rows = RevenueRows.concat(list(reader))
    assert _sums(rows) == {("C1", "standard_express", "2023-01"): (300, 2, 2)}
    assert reader.rows_rejected == 1
    assert reader.rows_read == 3


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2", "C3"]),
            st.dates(),
            st.integers(-(10**9), 10**9),
            st.sampled_from(["", "court_express", "card_letter"]),
        ),
        max_size=60,
    ),
    st.integers(1, 7),
)
def test_sums_match_a_plain_loop(
    tmp_path_factory: pytest.TempPathFactory,
    transactions: list[tuple[str, dt.date, int, str]],
    batch: int,
) -> None:
    """The monthly sums equal a dictionary loop over the same transactions."""
    path = tmp_path_factory.mktemp("tx") / "t.csv"
    lines = ["customer_id,date,amount,product_id"]
    expected: dict[tuple[str, str, str], list[int]] = {}
    for n, (cid, day, fen, product) in enumerate(transactions):
        sign = "-" if fen < 0 else ""
        lines.append(
            f"{cid},{day.isoformat()},{sign}{abs(fen) // 100}.{abs(fen) % 100:02d},{product}"
        )
        if day.year < 1900:
            continue
        key = (cid, product or "standard_express", f"{day.year:04d}-{day.month:02d}")
        entry = expected.setdefault(key, [0, 0, n + 2])
        entry[0] += fen
        entry[1] += 1
    _write(path, *lines)
    reader = iter_transactions_csv(
        path, errors=ErrorPolicy.reject(path.with_suffix(".rej")), batch_rows=batch, _block_bytes=40
    )
    batches = list(reader)
    assert all(len(b) == batch for b in batches[:-1])
    got = _sums(RevenueRows.concat(batches))
    assert got == {k: tuple(v) for k, v in expected.items()}
