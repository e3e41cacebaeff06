"""Export then import is lossless; whole portfolios to and from CSV files."""

from __future__ import annotations

import csv
from collections import Counter
from typing import TYPE_CHECKING, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Customer, Product, RevenueRecord, default_catalog
from keyaccount.exceptions import CsvImportError, CsvRowError, ValidationError
from keyaccount.io import (
    ErrorPolicy,
    RevenueRows,
    iter_revenue_csv,
    read_customers_csv,
    read_portfolio_csv,
    write_customers_csv,
    write_portfolio_csv,
    write_revenue_csv,
)
from keyaccount.portfolio import Portfolio
from tests.strategies import PortfolioData, portfolios

if TYPE_CHECKING:
    from pathlib import Path

TRICKY = st.sampled_from([*',"\n\r ', "客", "户", "，", "“", "a", "Z", "0", "\t", "'"])
NAMES = st.text(
    alphabet=TRICKY | st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=12
)
IDS = st.text(alphabet=TRICKY | st.sampled_from("ABC123"), min_size=1, max_size=6).filter(
    lambda s: s == s.strip()
)


def _renamed(data: PortfolioData, draw: st.DrawFn) -> tuple[list[Customer], list[RevenueRecord]]:
    """The portfolio's customers and records with tricky ids and names."""
    old = [c.id for c in data.customers]
    new = draw(st.lists(IDS, min_size=len(old), max_size=len(old), unique=True))
    ids = dict(zip(old, new, strict=True))
    customers = [
        attrs.evolve(
            c,
            id=ids[c.id],
            name=draw(NAMES),
            parent_id=None if c.parent_id is None else ids[c.parent_id],
        )
        for c in data.customers
    ]
    records = [attrs.evolve(r, customer_id=ids[r.customer_id]) for r in data.records]
    return customers, records


@st.composite
def tricky_portfolios(draw: st.DrawFn) -> tuple[list[Customer], list[RevenueRecord]]:
    """Small valid portfolios whose ids and names hold commas, quotes, line breaks, Chinese."""
    return _renamed(draw(portfolios()), draw)


@given(tricky_portfolios(), st.sampled_from(["en", "zh"]))
def test_portfolio_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[Customer], list[RevenueRecord]],
    lang: Literal["en", "zh"],
) -> None:
    """write_portfolio_csv then read_portfolio_csv gives the same customers and records."""
    customers, records = case
    portfolio = Portfolio(customers, records)
    folder = tmp_path_factory.mktemp("rt")
    write_portfolio_csv(portfolio, folder / "c.csv", folder / "r.csv", lang=lang)
    back = read_portfolio_csv(folder / "c.csv", folder / "r.csv")
    assert list(back.customers()) == list(portfolio.customers())
    assert Counter(back.revenue_records()) == Counter(portfolio.revenue_records())


@given(tricky_portfolios())
def test_customers_round_trip_from_objects(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[Customer], list[RevenueRecord]]
) -> None:
    """Customer objects written and read back are equal, in the same order."""
    customers, _ = case
    path = tmp_path_factory.mktemp("rt") / "c.csv"
    assert write_customers_csv(path, customers) == len(customers)
    assert list(read_customers_csv(path).customers()) == customers


@given(
    st.lists(
        st.tuples(
            IDS,
            st.integers(1900 * 12, 9999 * 12 + 11),
            st.sampled_from(tuple(default_catalog())),
            st.integers(-(10**13) + 1, 10**13 - 1),
            st.integers(0, 10**13 - 1),
        ),
        max_size=40,
    ),
    st.integers(1, 8),
)
def test_revenue_rows_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, int, str, int, int]],
    batch: int,
) -> None:
    """Revenue batches written and read back are the same values, down to the extremes."""
    catalog = default_catalog()
    values = [(cid, catalog.position(p), per, fen, vol) for cid, per, p, fen, vol in rows]
    source = RevenueRows.from_tuples(list(range(2, len(values) + 2)), values)
    path = tmp_path_factory.mktemp("rt") / "r.csv"
    assert write_revenue_csv(path, [source.take(slice(0, 3)), source.take(slice(3, None))]) == len(
        values
    )
    back = RevenueRows.concat(list(iter_revenue_csv(path, batch_rows=batch)))
    for name in ("product", "period", "fen", "volume"):
        assert getattr(back, name).tolist() == getattr(source, name).tolist()
    assert back.customer_id.tolist() == source.customer_id.tolist()


def test_written_files_are_plain(tmp_path: Path) -> None:
    """Files are UTF-8 without BOM, LF line endings, two decimals and labels as asked."""
    portfolio = Portfolio(
        [Customer("C1", "某法院", "2022-01", segment="司法", sub_segment="法院", tier="KEY")],
        [RevenueRecord("C1", "court_express", "2022-02", "-5", volume=2)],
    )
    write_portfolio_csv(portfolio, tmp_path / "c.csv", tmp_path / "r.csv", lang="zh")
    assert (tmp_path / "c.csv").read_bytes().decode("utf-8").splitlines() == [
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period,tier_since",
        "C1,某法院,司法,法院,重点客户,,,2022-01,",
    ]
    assert (tmp_path / "r.csv").read_bytes() == (
        b"customer_id,period,product_id,revenue,volume\nC1,2022-02,court_express,-5.00,2\n"
    )


def test_own_products_need_the_catalogue(tmp_path: Path) -> None:
    """A portfolio with its own products reads back with that catalogue."""
    catalog = default_catalog().with_products([Product("cold_chain", "Cold chain", "冷链")])
    portfolio = Portfolio(
        [Customer("C1", "Acme", "2022-01")],
        [RevenueRecord("C1", "cold_chain", "2022-03", "12.30")],
        products=catalog,
    )
    write_portfolio_csv(portfolio, tmp_path / "c.csv", tmp_path / "r.csv")
    back = read_portfolio_csv(tmp_path / "c.csv", tmp_path / "r.csv", catalog=catalog)
    assert list(back.revenue_records()) == list(portfolio.revenue_records())
    with pytest.raises(CsvImportError, match="1 bad row"):
        read_portfolio_csv(tmp_path / "c.csv", tmp_path / "r.csv")


CUSTOMERS = [
    "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period",
    "H,HQ,保险,,,,,2022-01",
    "B,Branch,保险,,,H,,2022-03",
]


def _files(tmp_path: Path, customers: list[str], revenue: list[str]) -> tuple[Path, Path]:
    c = tmp_path / "c.csv"
    r = tmp_path / "r.csv"
    c.write_text("\n".join(customers) + "\n", encoding="utf-8")
    r.write_text(
        "\n".join(["customer_id,period,product_id,revenue,volume", *revenue]) + "\n",
        encoding="utf-8",
    )
    return c, r


def test_portfolio_checks_across_the_two_files(tmp_path: Path) -> None:
    """Revenue of unknown customers, or before first_period, are bad revenue rows."""
    c, r = _files(
        tmp_path,
        CUSTOMERS,
        ["H,2022-01,,1,1", "X,2022-05,,1,1", "B,2022-02,,1,1", "B,2022-03,,1,1"],
    )
    with pytest.raises(CsvImportError) as info:
        read_portfolio_csv(c, r)
    errors = info.value.row_errors
    assert len(errors) == len(info.value.exceptions)
    assert [(e.line, e.column, e.value) for e in errors] == [
        (3, "customer_id", "X"),
        (4, "period", "2022-02"),
    ]
    assert errors[1].reason == "before customer 'B''s first_period 2022-03"


def test_portfolio_parents_must_be_in_the_file(tmp_path: Path) -> None:
    """A parent that is not in the customers file is a bad customer row."""
    c, r = _files(tmp_path, [*CUSTOMERS, "Z,Orphan,,,,NOPE,,2022-01"], [])
    with pytest.raises(CsvImportError, match="1 bad row") as info:
        read_portfolio_csv(c, r)
    (error,) = info.value.exceptions
    assert isinstance(error, CsvRowError)
    assert error.reason == "unknown parent customer 'NOPE'"


def test_portfolio_reject_policies(tmp_path: Path) -> None:
    """With reject files, bad customers and their revenue are rejected and the rest loads."""
    c, r = _files(
        tmp_path,
        [*CUSTOMERS, "Q,Bad tier,,,VIP,,,2022-01"],
        ["H,2022-01,,1,1", "Q,2022-05,,1,1", "B,2022-04,,2.5,1"],
    )
    portfolio = read_portfolio_csv(
        c,
        r,
        errors=ErrorPolicy.reject(tmp_path / "c.rej"),
        revenue_errors=ErrorPolicy.reject(tmp_path / "r.rej"),
    )
    assert portfolio.customer_ids == ["H", "B"]
    assert [(x.customer_id, str(x.revenue)) for x in portfolio.revenue_records()] == [
        ("H", "1.00"),
        ("B", "2.50"),
    ]
    with (tmp_path / "r.rej").open(newline="", encoding="utf-8") as f:
        (_, rejected) = list(csv.reader(f))
    assert rejected[5:9] == ["3", "customer_id", "Q", "unknown customer 'Q'"]


def test_portfolio_reject_needs_two_reject_files(tmp_path: Path) -> None:
    """Rejecting customers without a reject file for revenue, or the same one, is refused."""
    c, r = _files(tmp_path, CUSTOMERS, [])
    with pytest.raises(ValidationError, match="revenue_errors"):
        read_portfolio_csv(c, r, errors=ErrorPolicy.reject(tmp_path / "x.rej"))
    with pytest.raises(ValidationError, match="both go to"):
        read_portfolio_csv(
            c,
            r,
            errors=ErrorPolicy.reject(tmp_path / "x.rej"),
            revenue_errors=ErrorPolicy.reject(tmp_path / "x.rej"),
        )


def test_writer_progress_counts_rows(tmp_path: Path) -> None:
    """write_revenue_csv reports rows written against the portfolio's record count."""
    records = [RevenueRecord("C1", "card_letter", f"2022-{m:02d}", m) for m in range(1, 13)]
    portfolio = Portfolio([Customer("C1", "Bank", "2022-01")], records)
    calls: list[tuple[int, int, int]] = []
    write_revenue_csv(tmp_path / "r.csv", portfolio, progress=lambda *a: calls.append(a))
    assert calls[-1] == (12, 12, 12)
