"""Checked money: bounded parsing, input limits, checked sums (issue 8)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import numpy as np
import pytest

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import MAX_AMOUNT_FEN, MAX_MONEY_TEXT, MAX_MONTH_FEN, Period, yuan_to_fen
from keyaccount.exceptions import (
    CsvHeaderError,
    CsvImportError,
    InvalidMoneyError,
    KeyAccountError,
    PrecisionError,
    ValidationError,
)
from keyaccount.io import iter_revenue_csv, iter_transactions_csv, read_customers_csv
from keyaccount.portfolio._summary import summarise

if TYPE_CHECKING:
    from pathlib import Path

TOP = "99999999999.99"  # the largest amount of one record, MAX_AMOUNT_FEN fen


def _transactions(tmp_path: Path, amounts: list[str], quoted: bool = False) -> Path:
    path = tmp_path / "t.csv"
    q = '"' if quoted else ""
    rows = [f"C1,2022-01-{1 + i % 28:02d},{q}{a}{q}" for i, a in enumerate(amounts)]
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.timeout(20)
@pytest.mark.parametrize("value", ["1e-100000000", Decimal("1e-999999999"), "-1E-99999999"])
def test_tiny_exponents_are_refused_at_once(value: object) -> None:
    """A sub-fen amount with a huge negative exponent is refused without building 10**N."""
    with pytest.raises(InvalidMoneyError, match="below the fen"):
        yuan_to_fen(value)  # type: ignore[arg-type]


@pytest.mark.timeout(20)
def test_revenue_record_with_tiny_exponent_is_refused() -> None:
    """RevenueRecord refuses 1e-100000000 yuan promptly."""
    with pytest.raises(InvalidMoneyError):
        RevenueRecord("C1", "standard_express", "2022-01", "1e-100000000")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("value", ["1e999999999", Decimal("9e999999999"), "-1E+99999"])
def test_huge_exponents_are_refused_at_once(value: object) -> None:
    """A huge positive exponent is refused as too large before any power is built."""
    with pytest.raises(InvalidMoneyError, match="too large"):
        yuan_to_fen(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0e-999999999", "0E+99999999", Decimal("-0E-5")])
def test_zero_with_any_exponent_is_zero(value: object) -> None:
    """Zero written with any exponent is 0 fen."""
    assert yuan_to_fen(value) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "fen"), [("1.50", 150), ("1.5E+2", 15000), ("12.300", 1230)])
def test_exact_forms_still_convert(value: str, fen: int) -> None:
    """Trailing zeros and positive exponents still convert exactly."""
    assert yuan_to_fen(value) == fen


@pytest.mark.timeout(20)
def test_long_money_text_is_refused_with_a_short_message() -> None:
    """Money text over the length limit is refused; the message quotes a bounded prefix."""
    text = "1" * 10_000_000
    with pytest.raises(InvalidMoneyError, match="characters") as info:
        yuan_to_fen(text)
    assert len(str(info.value)) < 300
    assert yuan_to_fen(" " * (MAX_MONEY_TEXT - 4) + "1.00") == 100


def test_record_beyond_the_per_amount_limit_is_refused() -> None:
    """A record beyond the per-record limit raises InvalidMoneyError; the limit is accepted."""
    assert RevenueRecord("C1", "court_express", "2022-01", TOP).revenue_fen == MAX_AMOUNT_FEN
    with pytest.raises(InvalidMoneyError, match="limit"):
        RevenueRecord("C1", "court_express", "2022-01", "100000000000.00")


def test_customer_month_beyond_the_limit_is_refused_and_nothing_added() -> None:
    """Records that push one customer-month past the limit raise PrecisionError naming it."""
    pf = Portfolio([Customer("C1", "x", "2022-01"), Customer("C2", "y", "2022-01")])
    pf.add_revenue([RevenueRecord("C1", "court_express", "2022-03", TOP)])
    with pytest.raises(PrecisionError, match=r"'C1', month 2022-03"):
        pf.add_revenue(
            [
                RevenueRecord("C2", "court_express", "2022-03", "5"),
                RevenueRecord("C1", "card_letter", "2022-03", "-0.01"),
            ]
        )
    assert len(pf.revenue_columns) == 1


def test_one_big_customer_does_not_break_the_others() -> None:
    """A customer at the limits leaves every metric of every customer exact."""
    pf = Portfolio([Customer("C1", "x", "2021-01"), Customer("C2", "y", "2021-01")])
    pf.add_revenue(
        RevenueRecord("C1", "court_express", Period(2021, 1) + k, TOP) for k in range(24)
    )
    pf.add_revenue([RevenueRecord("C2", "court_express", "2022-12", "1.00")])
    table = pf.metrics("2022-12")
    assert table.row("C1")["t12m_revenue"] == Decimal(TOP) * 12
    assert table.row("C2")["t12m_revenue"] == Decimal("1.00")


def test_rollup_overflow_names_the_group() -> None:
    """A roll-up whose absolute total reaches 2**53 fen raises PrecisionError naming the group."""
    kids = [Customer(f"K{i}", "k", "2021-01", parent_id="G") for i in range(40)]
    pf = Portfolio([Customer("G", "g", "2021-01"), Customer("H", "h", "2021-01"), *kids])
    pf.add_revenue(
        RevenueRecord(f"K{i}", "court_express", Period(2021, 1) + k, TOP)
        for i in range(40)
        for k in range(24)
    )
    assert pf.metrics("2022-12").row("K0")["t12m_revenue"] == Decimal(TOP) * 12
    with pytest.raises(PrecisionError, match="'G'"):
        pf.metrics("2022-12", rollup=True)


def test_summary_cell_overflow_names_segment_and_tier() -> None:
    """A segment x tier cell beyond 64-bit fen raises PrecisionError naming the cell."""
    pf = Portfolio([Customer(f"C{i}", "c", "2022-01", segment="FINANCE") for i in range(3)])
    table = pf.metrics("2022-12")
    big = dict(table.columns)
    big["t12m_revenue"] = np.full(3, 2**62, dtype=np.int64)  # as a roll-up could add up
    with pytest.raises(PrecisionError, match="FINANCE, tier ACTIVE"):
        summarise(attrs.evolve(table, columns=big))


@pytest.mark.parametrize("quoted", [False, True])
def test_transactions_that_wrapped_int64_are_refused(tmp_path: Path, quoted: bool) -> None:
    """184 x 999999999999999.99 + 467440737095618.00 no longer imports as 100.00 yuan."""
    path = _transactions(tmp_path, ["999999999999999.99"] * 184 + ["467440737095618.00"], quoted)
    with pytest.raises(KeyAccountError):
        list(iter_transactions_csv(path))


@pytest.mark.parametrize("quoted", [False, True])
def test_transactions_summing_past_the_month_limit_are_refused(
    tmp_path: Path, quoted: bool
) -> None:
    """Transactions within the per-row limit but past the month limit raise PrecisionError."""
    path = _transactions(tmp_path, [TOP] * 93, quoted)
    with pytest.raises(PrecisionError, match=r"'C1', month 2022-01") as info:
        list(iter_transactions_csv(path))
    assert str(path) in str(info.value)


def test_transactions_at_the_month_limit_are_exact(tmp_path: Path) -> None:
    """Transactions adding up to exactly the month limit are summed exactly."""
    path = _transactions(tmp_path, ["49999999999.99", "50000000000.00"])
    (rows,) = list(iter_transactions_csv(path))
    assert int(rows.fen.sum()) == MAX_MONTH_FEN


def test_cr_only_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A file with bare CR line breaks raises CsvHeaderError naming the file."""
    path = tmp_path / "r.csv"
    path.write_bytes(b"customer_id,period,revenue\rC1,2022-01,5\r")
    with pytest.raises(CsvHeaderError, match="carriage return") as info:
        list(iter_revenue_csv(path))
    assert str(path) in str(info.value)


@pytest.mark.timeout(30)
def test_huge_header_is_refused_in_one_line(tmp_path: Path) -> None:
    """A header line over 128 KiB raises CsvHeaderError naming the file and the limit."""
    path = tmp_path / "r.csv"
    path.write_bytes(b"customer_id," + b"x" * (1 << 20) + b"\nC1\n")
    with pytest.raises(CsvHeaderError, match="128 KiB") as info:
        list(iter_revenue_csv(path))
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 500


@pytest.mark.parametrize("body", [b"C\x001,N,,,,,,2022-01\n" * 3, b"C1,N\x00ame,,,,,,2022-01\n"])
def test_nul_in_a_field_is_refused(tmp_path: Path, body: bytes) -> None:
    """A NUL byte in a text field is a CsvRowError naming line and column."""
    path = tmp_path / "c.csv"
    header = b"customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
    path.write_bytes(header + body)
    with pytest.raises(CsvImportError) as info:
        read_customers_csv(path)
    first = info.value.exceptions[0]
    assert "control character" in str(first)
    assert getattr(first, "line", None) == 2


def test_nul_in_a_revenue_id_is_refused_on_both_paths(tmp_path: Path) -> None:
    """A NUL in a revenue row's customer id is refused (the fast path defers to the reference)."""
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"customer_id,period,product_id,revenue,volume\nC1,2022-01,,5,\nC\x002,2022-01,,5,\n"
    )
    with pytest.raises(CsvImportError, match="1 bad row"):
        list(iter_revenue_csv(path))


@pytest.mark.parametrize("field", ["id", "name", "province"])
def test_customer_refuses_control_characters(field: str) -> None:
    """Customer refuses NUL in its id, name or province."""
    values = {"id": "C1", "name": "n", "province": "p"}
    values[field] = "a\x00b"
    with pytest.raises(ValidationError, match="control character"):
        Customer(values["id"], values["name"], "2022-01", province=values["province"])


@pytest.mark.timeout(30)
def test_huge_field_is_quoted_short(tmp_path: Path) -> None:
    """A 10 MB field is refused with a message that quotes only its start and length."""
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"customer_id,period,product_id,revenue,volume\nC1,2022-01,," + b"9" * 10_000_000 + b",\n"
    )
    with pytest.raises(CsvImportError) as info:
        list(iter_revenue_csv(path))
    message = str(info.value.exceptions[0])
    assert "10,000,000 characters" in message
    assert len(message) < 500
