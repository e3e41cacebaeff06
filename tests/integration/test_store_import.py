"""Bulk import and export: batches and CSV files, every bad-input case, rejects, round trips."""

from __future__ import annotations

import csv
from collections import Counter
from typing import TYPE_CHECKING, Literal

import numpy as np
import pytest

from keyaccount import (
    Customer,
    Period,
    Portfolio,
    Product,
    ProductCatalog,
    RevenueRecord,
    default_catalog,
)
from keyaccount.domain import NO_CODE, SEGMENTS, SUB_SEGMENTS
from keyaccount.exceptions import CsvImportError, CsvRowError
from keyaccount.io import CustomerRows, RevenueRows, write_portfolio_csv
from keyaccount.store import ImportReport, Store

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

CATALOG = default_catalog()


def customer_rows(customers: Sequence[Customer], first_line: int = 2) -> CustomerRows:
    """Customers as the columns the CSV reader makes (line numbers from ``first_line``)."""
    values = [
        (
            c.id,
            c.name,
            NO_CODE if c.segment is None else SEGMENTS.index(c.segment),
            NO_CODE if c.sub_segment is None else SUB_SEGMENTS.index(c.sub_segment),
            c.tier.rank,
            c.parent_id,
            c.province,
            c.first_period.ordinal,
            NO_CODE if c.tier_since is None else c.tier_since.ordinal,
        )
        for c in customers
    ]
    lines = list(range(first_line, first_line + len(customers)))
    return CustomerRows.from_values(lines, values)


def revenue_rows(records: Sequence[RevenueRecord], first_line: int = 2) -> RevenueRows:
    """Revenue records as one batch of the columns the CSV reader makes."""
    lines = list(range(first_line, first_line + len(records)))
    return RevenueRows.from_tuples(
        lines,
        [
            (
                r.customer_id,
                CATALOG.position(r.product_id),
                r.period.ordinal,
                r.revenue_fen,
                r.volume,
            )
            for r in records
        ],
    )


CUSTOMERS = [
    Customer("HQ", "保险总公司", "2021-01", segment="INSURANCE", sub_segment="INSURER_HQ"),
    Customer(
        "GD",
        "广东分公司",
        "2021-03",
        segment="INSURANCE",
        sub_segment="INSURER_BRANCH",
        parent_id="HQ",
        province="广东",
        tier="KEY",
        tier_since="2022-01",
    ),
    Customer("DD", "当当网", "2021-06", segment="电商TOP"),
]
RECORDS = [
    RevenueRecord("GD", "policy_mailing", "2022-01", "1200.50", volume=30),
    RevenueRecord("GD", "policy_mailing", "2022-01", "-20.00", volume=0),
    RevenueRecord("HQ", "standard_express", "2021-12", "88.00", volume=2),
    RevenueRecord("DD", "warehouse_delivery", "2022-06", "99999.99", volume=1000),
]


def expected_portfolio(
    customers: Sequence[Customer] = CUSTOMERS, records: Sequence[RevenueRecord] = RECORDS
) -> Portfolio:
    """What the store should hold after importing ``customers`` and ``records``."""
    return Portfolio(customers, records)


def assert_holds(store: Store, portfolio: Portfolio) -> None:
    """The store holds exactly the customers and revenue records of ``portfolio``."""
    back = store.load()
    assert list(back.customers()) == list(portfolio.customers())
    assert Counter(back.revenue_records()) == Counter(portfolio.revenue_records())


def assert_nothing_written(store: Store) -> None:
    """The store holds no customers and no revenue."""
    counts = store.counts()
    assert counts["customers"] == 0
    assert counts["revenue"] == 0


def rows_of(error: CsvImportError) -> list[tuple[int, str | None, str]]:
    """(line, column, value) of each bad row an import error lists."""
    out = []
    for e in error.exceptions:
        assert isinstance(e, CsvRowError)
        out.append((e.line, e.column, e.value))
    return out


# ---------------------------------------------------------------- batches


def test_import_rows_writes_customers_and_revenue(store: Store) -> None:
    """Customers and revenue batches given as columns are stored as a portfolio."""
    report = store.import_rows(
        customer_rows(CUSTOMERS), [revenue_rows(RECORDS[:2]), revenue_rows(RECORDS[2:], 4)]
    )
    assert report == ImportReport(customers=3, revenue_rows=4)
    assert_holds(store, expected_portfolio())


def test_a_later_import_adds_to_the_stored_customers(store: Store) -> None:
    """A second import adds customers after the stored ones and revenue of either."""
    store.import_rows(customer_rows(CUSTOMERS[:2]), [revenue_rows(RECORDS[:1])])
    more = Customer("SUB", "深圳支公司", "2022-02", parent_id="GD")
    store.import_rows(
        customer_rows([CUSTOMERS[2], more]),
        [revenue_rows([*RECORDS[1:], RevenueRecord("SUB", "card_letter", "2022-03", "5")])],
    )
    expected = expected_portfolio(
        [*CUSTOMERS, more], [*RECORDS, RevenueRecord("SUB", "card_letter", "2022-03", "5")]
    )
    assert_holds(store, expected)
    assert store.customer("SUB").parent_id == "GD"


@pytest.mark.parametrize(
    ("customers", "records", "expected"),
    [
        pytest.param(
            CUSTOMERS,
            [*RECORDS[:2], RevenueRecord("NOPE", "policy_mailing", "2022-01", "1")],
            [(4, "customer_id", "NOPE")],
            id="unknown-customer",
        ),
        pytest.param(
            CUSTOMERS,
            [RevenueRecord("GD", "policy_mailing", "2021-02", "1")],
            [(2, "period", "2021-02")],
            id="revenue-before-first-period",
        ),
        pytest.param(
            [*CUSTOMERS, Customer("HQ", "重复", "2021-01")],
            RECORDS,
            [(5, "customer_id", "HQ")],
            id="duplicate-id-in-batch",
        ),
        pytest.param(
            [*CUSTOMERS, Customer("ORPHAN", "孤儿", "2021-01", parent_id="MISSING")],
            RECORDS,
            [(5, "parent_id", "MISSING")],
            id="unknown-parent",
        ),
        pytest.param(
            [
                *CUSTOMERS,
                Customer("A", "甲", "2021-01", parent_id="B"),
                Customer("B", "乙", "2021-01", parent_id="A"),
            ],
            RECORDS,
            [(5, "parent_id", "B"), (6, "parent_id", "A")],
            id="parent-cycle",
        ),
    ],
)
def test_any_bad_row_fails_the_import_and_writes_nothing(
    store: Store,
    customers: list[Customer],
    records: list[RevenueRecord],
    expected: list[tuple[int, str, str]],
) -> None:
    """Each kind of bad row raises CsvImportError naming line, column, value; nothing written."""
    with pytest.raises(CsvImportError) as caught:
        store.import_rows(customer_rows(customers), [revenue_rows(records)])
    assert rows_of(caught.value) == expected
    assert isinstance(caught.value.exceptions[0], ValueError)
    assert_nothing_written(store)


def test_customer_ids_already_stored_are_refused(store: Store) -> None:
    """Importing a customer id the store already holds fails, naming the line; nothing is added."""
    store.import_rows(customer_rows(CUSTOMERS))
    with pytest.raises(CsvImportError) as caught:
        store.import_rows(
            customer_rows([Customer("NEW", "新", "2022-01"), CUSTOMERS[1]], first_line=10),
            customers_source="more.csv",
        )
    assert rows_of(caught.value) == [(11, "customer_id", "GD")]
    assert "more.csv, line 11" in str(caught.value.exceptions[0])
    assert store.counts()["customers"] == 3


def test_bad_codes_in_batches_from_other_sources_are_refused(store: Store) -> None:
    """Batches not made by the CSV reader are checked too: codes, sub-segments, tier_since."""
    rows = customer_rows(CUSTOMERS)
    bad = CustomerRows(
        rows.line,
        rows.id,
        rows.name,
        np.array([0, 99, 4], dtype=np.int8),
        np.array([NO_CODE, NO_CODE, 0], dtype=np.int8),
        np.array([7, 1, 1], dtype=np.int8),
        rows.parent_id,
        rows.province,
        rows.first_period,
        np.array([NO_CODE, Period(2020, 1).ordinal, NO_CODE], dtype=np.int32),
    )
    with pytest.raises(CsvImportError) as caught:
        store.import_rows(bad)
    assert [(line, column) for line, column, _ in rows_of(caught.value)] == [
        (2, "tier"),
        (3, "segment"),
        (4, "sub_segment"),
    ]
    assert caught.value.total == 3
    assert_nothing_written(store)


def test_every_bad_row_is_listed_in_line_order(store: Store) -> None:
    """All bad revenue rows of all batches are listed together, in line order, with a total."""
    store.import_rows(customer_rows(CUSTOMERS))
    batches = [
        revenue_rows([RECORDS[0], RevenueRecord("X1", "card_letter", "2022-01", "1")], 2),
        revenue_rows([RevenueRecord("X2", "card_letter", "2022-01", "1"), RECORDS[1]], 4),
    ]
    with pytest.raises(CsvImportError) as caught:
        store.import_rows(revenue=batches, revenue_source="revenue.csv")
    assert rows_of(caught.value) == [(3, "customer_id", "X1"), (4, "customer_id", "X2")]
    assert caught.value.total == 2
    assert caught.value.path == "revenue.csv"
    assert store.counts()["revenue"] == 0


def test_a_failure_in_the_middle_of_the_batches_writes_nothing(store: Store) -> None:
    """An exception raised by the batch iterator after some batches were written leaves nothing."""

    def batches() -> Iterator[RevenueRows]:
        yield revenue_rows(RECORDS[:2])
        yield revenue_rows(RECORDS[2:], 4)
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError):
        store.import_rows(customer_rows(CUSTOMERS), batches())
    assert_nothing_written(store)
    assert store.counts()["products"] == 0


def test_products_of_a_given_catalogue_are_added(store: Store) -> None:
    """Revenue read with a catalogue of the user's own adds the products the store lacks."""
    cold = Product("cold_chain", "Cold chain", "冷链")
    mine = ProductCatalog((cold, *CATALOG.products))
    batch = RevenueRows.from_tuples([2], [("DD", 0, Period(2022, 7).ordinal, 500, 1)])
    store.import_rows(customer_rows(CUSTOMERS), [batch], catalog=mine)
    assert "cold_chain" in store.catalog()
    assert [r.product_id for r in store.revenue().records()] == ["cold_chain"]
    assert store.load().products["cold_chain"] == cold


# ---------------------------------------------------------------- CSV files


def write_csv(path: Path, header: str, *lines: str) -> Path:
    """A CSV file with ``header`` and ``lines``."""
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


CUSTOMER_HEADER = "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period"
REVENUE_HEADER = "customer_id,period,product_id,revenue,volume"


@pytest.fixture
def good_files(tmp_path: Path) -> tuple[Path, Path]:
    """A customers and a revenue file of the example portfolio (labels in Chinese)."""
    customers = tmp_path / "customers.csv"
    revenue = tmp_path / "revenue.csv"
    write_portfolio_csv(expected_portfolio(), customers, revenue, lang="zh")
    return customers, revenue


def test_import_csv_writes_both_files(store: Store, good_files: tuple[Path, Path]) -> None:
    """A customers and a revenue file are imported together in one transaction."""
    report = store.import_csv(*good_files)
    assert (report.customers, report.revenue_rows, report.rejected) == (3, 4, 0)
    assert_holds(store, expected_portfolio())


def test_import_of_raw_transactions_sums_them_by_month(store: Store, tmp_path: Path) -> None:
    """Raw transactions become monthly revenue per customer and product (volume counts them)."""
    store.import_rows(customer_rows(CUSTOMERS))
    path = write_csv(
        tmp_path / "tx.csv",
        "customer_id,date,amount,product_id",
        "GD,2022-01-03,10.50,policy_mailing",
        "GD,2022-01-28,-0.50,policy_mailing",
        "GD,2022-02-01,1,",
        "DD,2022-07-09,3.25,warehouse_delivery",
    )
    report = store.import_csv(transactions=path)
    assert report.revenue_rows == 3
    assert Counter(store.revenue().records()) == Counter(
        [
            RevenueRecord("GD", "policy_mailing", "2022-01", "10.00", volume=2),
            RevenueRecord("GD", "standard_express", "2022-02", "1.00", volume=1),
            RevenueRecord("DD", "warehouse_delivery", "2022-07", "3.25", volume=1),
        ]
    )


def test_csv_errors_of_reader_and_store_are_reported_together(store: Store, tmp_path: Path) -> None:
    """Reader errors and store errors are listed together by line; nothing is written."""
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, "A,甲,司法,,,,,2022-01")
    revenue = write_csv(
        tmp_path / "r.csv",
        REVENUE_HEADER,
        "A,2022-02,court_express,10.00,1",
        "GHOST,2022-02,court_express,10.00,1",
        "A,2022-03,court_express,10.001,1",
    )
    with pytest.raises(CsvImportError) as caught:
        store.import_csv(customers, revenue)
    assert rows_of(caught.value) == [(3, "customer_id", "GHOST"), (4, "revenue", "10.001")]
    assert str(revenue) in str(caught.value.exceptions[0])
    assert_nothing_written(store)


def test_a_bad_customers_file_writes_nothing(store: Store, tmp_path: Path) -> None:
    """A bad row in the customers file fails the import before any revenue is read."""
    customers = write_csv(
        tmp_path / "c.csv", CUSTOMER_HEADER, "A,甲,司法,,,,,2022-01", "B,乙,银河,,,,,2022-01"
    )
    revenue = write_csv(tmp_path / "r.csv", REVENUE_HEADER, "A,2022-02,court_express,1,1")
    with pytest.raises(CsvImportError) as caught:
        store.import_csv(customers, revenue)
    assert rows_of(caught.value) == [(3, "segment", "银河")]
    assert_nothing_written(store)


def test_rejects_keep_good_rows_and_list_every_bad_one(store: Store, tmp_path: Path) -> None:
    """With rejects, good rows are written and every bad row goes to a reject file with why."""
    store.import_rows(customer_rows([Customer("OLD", "旧", "2020-01")]))
    customers = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        "A,甲,司法,,,,,2022-01",
        "OLD,重复,,,,,,2022-01",
        "B,乙,银河,,,,,2022-01",
        "C,丙,,,,B,,2022-01",
    )
    revenue = write_csv(
        tmp_path / "r.csv",
        REVENUE_HEADER,
        "A,2022-02,court_express,10.00,1",
        "GHOST,2022-02,court_express,1.00,1",
        "A,2021-12,court_express,1.00,1",
        "B,2022-02,court_express,1.00,1",
        "A,2022-03,court_express,x,1",
        "OLD,2022-03,card_letter,2.00,0",
    )
    rejects = tmp_path / "rejects"
    report = store.import_csv(customers, revenue, reject_dir=rejects)
    assert report.customers == 1
    assert report.revenue_rows == 2
    assert report.rejected == 7
    assert sorted(p.name for p in report.reject_files) == ["c.csv.rejects.csv", "r.csv.rejects.csv"]
    with open(rejects / "c.csv.rejects.csv", encoding="utf-8") as f:
        customer_rejects = list(csv.DictReader(f))
    assert [
        (r["line"], r["column"]) for r in sorted(customer_rejects, key=lambda r: r["line"])
    ] == [
        ("3", "customer_id"),
        ("4", "segment"),
        ("5", "parent_id"),
    ]
    with open(rejects / "r.csv.rejects.csv", encoding="utf-8") as f:
        revenue_rejects = {int(r["line"]): r for r in csv.DictReader(f)}
    assert sorted(revenue_rejects) == [3, 4, 5, 6]
    assert revenue_rejects[3]["customer_id"] == "GHOST"
    assert revenue_rejects[4]["column"] == "period"
    assert "first_period" in revenue_rejects[4]["reason"]
    assert revenue_rejects[4]["revenue"] == "1.00"
    assert revenue_rejects[6]["column"] == "revenue"
    assert Counter(store.revenue().records()) == Counter(
        [
            RevenueRecord("A", "court_express", "2022-02", "10.00", volume=1),
            RevenueRecord("OLD", "card_letter", "2022-03", "2.00"),
        ]
    )


def test_monthly_sums_the_store_refuses_go_to_the_transactions_reject_file(
    store: Store, tmp_path: Path
) -> None:
    """A transactions sum before its customer's first period joins the reader's rejects."""
    store.import_rows(customer_rows(CUSTOMERS))
    path = write_csv(
        tmp_path / "tx.csv",
        "customer_id,date,amount,product_id",
        "GD,2021-01-03,10.50,policy_mailing",
        "GD,2021-01-28,1.00,policy_mailing",
        "GD,2022-01-09,x,policy_mailing",
        "DD,2022-07-09,3.25,warehouse_delivery",
    )
    report = store.import_csv(transactions=path, reject_dir=tmp_path / "rejects")
    assert (report.revenue_rows, report.rejected) == (1, 2)
    with open(tmp_path / "rejects" / "tx.csv.rejects.csv", encoding="utf-8") as f:
        rejects = sorted(csv.DictReader(f), key=lambda r: int(r["line"]))
    assert [(r["line"], r["column"]) for r in rejects] == [("2", "period"), ("4", "amount")]
    assert (rejects[0]["customer_id"], rejects[0]["date"], rejects[0]["amount"]) == (
        "GD",
        "2021-01",
        "11.50",
    )
    assert "first_period" in rejects[0]["reason"]


def test_export_then_import_is_lossless(store: Store, new_url: object, tmp_path: Path) -> None:
    """Exporting a store and importing the files into an empty store gives the same data."""
    from keyaccount.demo import generate

    portfolio = generate(seed=11, customers=150, months=13)
    store.save(portfolio)
    langs: tuple[Literal["en", "zh"], ...] = ("en", "zh")
    for lang in langs:
        customers, revenue = tmp_path / f"c_{lang}.csv", tmp_path / f"r_{lang}.csv"
        report = store.export_csv(customers, revenue, lang=lang)
        assert report.customers == len(portfolio)
        assert report.revenue_rows == len(portfolio.revenue_columns)
        with new_url() as url, Store(url) as other:  # type: ignore[operator]
            other.import_csv(customers, revenue)
            back = other.load()
            assert list(back.customers()) == list(portfolio.customers())
            assert Counter(back.revenue_records()) == Counter(portfolio.revenue_records())


def test_progress_bars_can_be_shown(
    store: Store, good_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True draws bars (on stderr) and changes nothing about the import."""
    store.import_csv(*good_files, progress=True)
    assert "revenue.csv" in capsys.readouterr().err
    assert_holds(store, expected_portfolio())


def test_missing_files_fail_before_anything_is_written(store: Store, tmp_path: Path) -> None:
    """A missing revenue file is reported and the customers read before it are not kept."""
    from keyaccount.exceptions import CsvFileNotFoundError

    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, "A,甲,司法,,,,,2022-01")
    with pytest.raises(CsvFileNotFoundError, match=r"nope\.csv"):
        store.import_csv(customers, tmp_path / "nope.csv")
    assert_nothing_written(store)


def test_positions_of_another_catalogue_are_mapped_to_the_stored_products(store: Store) -> None:
    """Batches read with a catalogue ordered differently land on the right stored products."""
    store.import_rows(customer_rows(CUSTOMERS), [revenue_rows(RECORDS)])
    cold = Product("cold_chain", "Cold chain", "冷链")
    reordered = ProductCatalog((cold, *reversed(CATALOG.products)))
    july = Period(2022, 7).ordinal
    batch = RevenueRows.from_tuples(
        [2, 3],
        [
            ("DD", reordered.position("card_letter"), july, 700, 7),
            ("DD", reordered.position("cold_chain"), july, 100, 1),
        ],
    )
    store.import_rows(revenue=[batch], catalog=reordered)
    catalog = store.catalog()
    assert catalog.products[: len(CATALOG)] == CATALOG.products
    assert catalog.products[-1] == cold
    added = [r for r in store.revenue("2022-07", "2022-07").records() if r.customer_id == "DD"]
    assert Counter((r.product_id, r.revenue_fen) for r in added) == Counter(
        [("card_letter", 700), ("cold_chain", 100)]
    )
