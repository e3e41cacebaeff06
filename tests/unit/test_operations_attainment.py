from __future__ import annotations

import doctest
import importlib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import Period, PeriodRange, Segment
from keyaccount.exceptions import (
    PrecisionError,
    UnknownItemError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.operations import (
    ATTAINMENT_COLUMNS,
    AttainmentTable,
    Ownership,
    OwnershipMove,
    PeriodSpan,
    SpanKind,
    Target,
    Targets,
    attainment,
    reference_attainment,
)
from tests.strategies import periods
from tests.unit.test_operations_ownership import Scenario, scenarios

MODULES = [
    "keyaccount.operations._ownership",
    "keyaccount.operations._targets",
    "keyaccount.operations._targets_io",
    "keyaccount.operations._attainment",
    "keyaccount.operations._attainment_reference",
]


# ---------------------------------------------------------------- strategies and helpers


@st.composite
def target_sets(draw: st.DrawFn, group_ids: tuple[str, ...]) -> Targets:
    """Targets of the groups in 2019..2025, some member targets among them (ignored).

    Single months, whole quarters or years of months, own quarter and year targets, zeros.
    """
    chosen: dict[tuple[str, str | None, PeriodSpan], int] = {}
    amounts = st.one_of(st.sampled_from([0, 1, 100]), st.integers(0, 10**10))
    for group in group_ids:
        for _ in range(draw(st.integers(0, 4))):
            year = draw(st.integers(2019, 2025))
            member = draw(st.sampled_from([None, None, None, "张三"]))
            what = draw(st.sampled_from(["month", "quarter of months", "year of months", "own"]))
            if what == "month":
                spans = [PeriodSpan.month(Period(year, draw(st.integers(1, 12))))]
            elif what == "quarter of months":
                quarter = PeriodSpan.quarter(year, draw(st.integers(1, 4)))
                spans = [PeriodSpan.month(m) for m in quarter.months]
            elif what == "year of months":
                spans = [PeriodSpan.month(m) for m in PeriodSpan.year(year).months]
            else:
                kind = draw(st.sampled_from([SpanKind.QUARTER, SpanKind.YEAR]))
                spans = [PeriodSpan.containing(kind, Period(year, draw(st.integers(1, 12))))]
            for span in spans:
                chosen[(group, member, span)] = draw(amounts)
    return Targets(
        Target.from_fen(g, span, fen, member=member) for (g, member, span), fen in chosen.items()
    )


@st.composite
def month_ranges(draw: st.DrawFn) -> PeriodRange:
    """A range of 1..30 months starting in 2019..2024."""
    start = draw(periods("2019-01", "2024-12"))
    return PeriodRange(start, start + draw(st.integers(0, 29)))


def assert_same(bulk: AttainmentTable, reference: AttainmentTable) -> None:
    """Two tables hold the same rows in the same order, ratios bit for bit."""
    assert (bulk.group_ids, bulk.months, bulk.by_segment) == (
        reference.group_ids,
        reference.months,
        reference.by_segment,
    )
    for name in ("group", "segment", "kind", "start"):
        assert getattr(bulk, name).tolist() == getattr(reference, name).tolist(), name
    for name in ATTAINMENT_COLUMNS:
        assert bulk.columns[name].dtype == reference.columns[name].dtype, name
        assert bulk.absent[name].tolist() == reference.absent[name].tolist(), name
        present = ~bulk.absent[name]
        assert bulk.columns[name][present].tolist() == reference.columns[name][present].tolist()


# ---------------------------------------------------------------- bulk == reference


@given(scenarios(), st.data())
def test_bulk_attainment_equals_the_reference(scenario: Scenario, data: st.DataObject) -> None:
    """The bulk table equals the plain-Python one, by group and by group and segment."""
    targets = data.draw(target_sets(scenario.ownership.group_ids))
    months = data.draw(month_ranges())
    for by_segment in (False, True):
        args = (scenario.portfolio, scenario.ownership, targets, months)
        assert_same(
            attainment(*args, by_segment=by_segment),
            reference_attainment(*args, by_segment=by_segment),
        )


@given(scenarios(), month_ranges())
def test_groups_add_up_to_the_revenue_of_owned_customers(
    scenario: Scenario, months: PeriodRange
) -> None:
    """Month by month, the groups' attributed revenue adds up to that of customers with an owner."""
    pf, own = scenario.portfolio, scenario.ownership
    owned: dict[Period, int] = defaultdict(int)
    for record in pf.revenue_records():
        if own.owner(record.customer_id, record.period) is not None:
            owned[record.period] += record.revenue_fen
    table = attainment(pf, own, Targets(), months)
    for month in months:
        rows = list(table.rows(kind=SpanKind.MONTH))
        total = sum(r.attributed for r in rows if r.span.start == month)
        assert total == Decimal(owned[month]) / 100


@given(scenarios(), month_ranges())
def test_segments_add_up_to_their_group(scenario: Scenario, months: PeriodRange) -> None:
    """A group's segment rows add up exactly to its group row, for every span and year-to-date."""
    args = (scenario.portfolio, scenario.ownership, Targets(), months)
    groups = attainment(*args)
    segments = attainment(*args, by_segment=True)
    added: dict[tuple[str, PeriodSpan], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for row in segments.rows():
        sums = added[(row.group_id, row.span)]
        sums[0] += row.attributed
        sums[1] += row.ytd_attributed
    for row in groups.rows():
        assert added[(row.group_id, row.span)] == [row.attributed, row.ytd_attributed]


@given(scenarios(), st.integers(2019, 2024))
def test_quarters_years_and_year_to_date_roll_up_the_months(scenario: Scenario, year: int) -> None:
    """Over a year a quarter is its three months, the year its twelve, YTD their running sum."""
    table = attainment(scenario.portfolio, scenario.ownership, Targets(), str(year))
    for group in scenario.ownership.group_ids:
        months = [r.attributed for r in table.rows(group_id=group, kind=SpanKind.MONTH)]
        quarters = [r.attributed for r in table.rows(group_id=group, kind=SpanKind.QUARTER)]
        (whole,) = table.rows(group_id=group, kind=SpanKind.YEAR)
        assert quarters == [sum(months[3 * q : 3 * q + 3]) for q in range(4)]
        assert whole.attributed == sum(months) == whole.ytd_attributed
        ytd = [r.ytd_attributed for r in table.rows(group_id=group, kind=SpanKind.MONTH)]
        assert ytd == [sum(months[: m + 1]) for m in range(12)]


# ---------------------------------------------------------------- the worked example


def _example() -> tuple[Portfolio, Ownership, Targets]:
    """The worked example of docs/operations.md: a court and a finance company that moves."""
    pf = Portfolio(
        [
            Customer("C1", "江苏省高级人民法院", "2022-06", segment="司法"),
            Customer("C2", "某金融公司", "2022-06", segment="金融"),
        ],
        [
            RevenueRecord("C1", "court_express", "2022-06", "80000.00"),
            RevenueRecord("C1", "court_express", "2022-07", "90000.00"),
            RevenueRecord("C1", "court_express", "2022-08", "85000.50"),
            RevenueRecord("C1", "court_express", "2022-09", "100000.00"),
            RevenueRecord("C2", "legal_document_express", "2022-06", "20000.00"),
            RevenueRecord("C2", "card_letter", "2022-07", "30000.00"),
            RevenueRecord("C2", "card_letter", "2022-08", "25000.00"),
            RevenueRecord("C2", "card_letter", "2022-09", "35000.00"),
        ],
    )
    own = Ownership(
        ["courts", "banks"],
        [
            OwnershipMove("C1", "courts", "2021-03", "hq", "project groups formed"),
            OwnershipMove("C2", "courts", "2021-03", "hq", "project groups formed"),
            OwnershipMove(
                "C2", "banks", "2022-07", "张三", "card letters belong to the bank project"
            ),
        ],
    )
    targets = Targets(
        [Target("courts", Period(2022, m), "100000") for m in range(1, 13)]
        + [Target("banks", "2022Q3", "60000")]
    )
    return pf, own, targets


def test_a_customer_that_moves_mid_year_counts_for_each_group_for_its_months() -> None:
    """C2 counts for courts in June and for banks from July; the year splits accordingly."""
    pf, own, targets = _example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-09"))
    courts = {str(r.span): r.attributed for r in table.rows(group_id="courts")}
    banks = {str(r.span): r.attributed for r in table.rows(group_id="banks")}
    assert courts["2022-06"] == Decimal("80000.00") + Decimal("20000.00")
    assert courts["2022-07"] == Decimal("90000.00")
    assert banks["2022-06"] == 0
    assert banks["2022Q3"] == Decimal("30000.00") + Decimal("25000.00") + Decimal("35000.00")
    assert courts["2022"] + banks["2022"] == sum(r.revenue for r in pf.revenue_records())


def test_the_worked_example_of_the_docs() -> None:
    """The figures of docs/operations.md: variance exact in yuan, attainment as a float64 ratio."""
    pf, own, targets = _example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-09"))
    aug = table.row("courts", "2022-08")
    assert (aug.attributed, aug.target, aug.variance) == (
        Decimal("85000.50"),
        Decimal("100000.00"),
        Decimal("-14999.50"),
    )
    assert aug.attainment == 8500050 / 10000000
    q3 = table.row("courts", "2022Q3")
    assert (q3.attributed, q3.target, q3.variance) == (
        Decimal("275000.50"),
        Decimal("300000.00"),
        Decimal("-24999.50"),
    )
    assert (q3.ytd_attributed, q3.ytd_target) == (Decimal("375000.50"), Decimal("900000.00"))
    banks_q3 = table.row("banks", "2022Q3")
    assert (banks_q3.variance, banks_q3.attainment) == (Decimal("30000.00"), 1.5)
    banks_jul = table.row("banks", "2022-07")
    assert (banks_jul.target, banks_jul.variance, banks_jul.attainment) == (None, None, None)
    sep = table.row("courts", "2022-09")
    assert (sep.ytd_attributed, sep.ytd_target) == (Decimal("375000.50"), Decimal("900000.00"))
    assert sep.ytd_variance == Decimal("-524999.50")
    year = table.row("courts", "2022")
    assert (year.target, year.attainment) == (Decimal("1200000.00"), 37500050 / 120000000)


DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _doc_rows() -> list[list[str]]:
    """The rows of the worked example's table in docs/operations.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- ownership, targets, attainment (begin) -->")[1].split(
        "<!-- ownership, targets, attainment (end) -->"
    )[0]
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith(("| courts |", "| banks |"))
    ]


def test_the_docs_table_is_what_attainment_gives() -> None:
    """Every figure of the worked example's table in docs/operations.md is the computed one."""
    pf, own, targets = _example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-09"))
    rows = _doc_rows()
    assert len(rows) == 11
    for group, span, *shown in rows:
        row = table.row(group, span)
        values = [
            row.attributed,
            row.target,
            row.variance,
            row.attainment,
            row.ytd_attributed,
            row.ytd_target,
            row.ytd_attainment,
        ]
        for text, value in zip(shown, values, strict=True):
            if text == "-":
                assert value is None, (group, span, text)
            elif isinstance(value, float):
                digits = len(text.split(".")[1])
                assert round(value, digits) == float(text), (group, span, text)
            else:
                assert value == Decimal(text.replace(",", "")), (group, span, text)


def test_segment_rows_show_contributions_to_the_group_target() -> None:
    """By segment, a row's target is its group's, its attainment its share, its variance absent."""
    pf, own, targets = _example()
    table = attainment(pf, own, targets, "2022-06", by_segment=True)
    judicial = table.row("courts", "2022-06", segment=Segment.JUDICIAL)
    finance = table.row("courts", "2022-06", segment="FINANCE")
    assert (judicial.target, judicial.attainment) == (Decimal("100000.00"), 0.8)
    assert (finance.attributed, finance.attainment, finance.variance) == (
        Decimal("20000.00"),
        0.2,
        None,
    )
    assert {r.segment for r in table.rows(group_id="banks")} == {Segment.FINANCE}
    with pytest.raises(UnknownItemError, match="segment INSURANCE"):
        table.row("courts", "2022-06", segment=Segment.INSURANCE)


# ---------------------------------------------------------------- targets in the table


def _one_customer(amount: str = "1234.56") -> tuple[Portfolio, Ownership]:
    pf = Portfolio(
        [Customer("C1", "某法院", "2022-01")],
        [RevenueRecord("C1", "court_express", "2022-03", amount)],
    )
    return pf, Ownership(["courts"], [OwnershipMove("C1", "courts", "2022-01", "hq")])


def test_a_zero_target_has_a_variance_but_no_attainment() -> None:
    """Attainment is absent when the target is not positive; the variance is still exact."""
    pf, own = _one_customer()
    row = attainment(pf, own, Targets([Target("courts", "2022-03", 0)]), "2022-03").row(
        "courts", "2022-03"
    )
    assert (row.target, row.variance, row.attainment) == (Decimal("0.00"), Decimal("1234.56"), None)


def test_an_absent_target_leaves_variance_and_attainment_absent() -> None:
    """Without a target the row has its attributed revenue only."""
    pf, own = _one_customer()
    row = attainment(pf, own, Targets(), "2022-03").row("courts", "2022-03")
    assert (row.attributed, row.target, row.variance, row.attainment) == (
        Decimal("1234.56"),
        None,
        None,
        None,
    )


def test_quarter_and_year_rows_count_every_month_of_the_span() -> None:
    """Quarter and year rows sum all their months, also months outside the range asked for."""
    pf, own = _one_customer()
    table = attainment(pf, own, Targets(), Period.range("2022-04", "2022-05"))
    assert [str(r.span) for r in table.rows()] == ["2022-04", "2022-05", "2022Q2", "2022"]
    assert table.row("courts", "2022").attributed == Decimal("1234.56")
    with pytest.raises(UnknownItemError, match="2022-03"):
        table.row("courts", "2022-03")


def test_member_targets_do_not_enter_the_table() -> None:
    """Member targets are planning figures: the group rows use the group's targets only."""
    pf, own = _one_customer()
    targets = Targets([Target("courts", "2022-03", 500, member="张三")])
    assert attainment(pf, own, targets, "2022-03").row("courts", "2022-03").target is None


def test_targets_of_unknown_groups_and_bad_ranges_are_refused() -> None:
    """A target of a group the ownership lacks, an empty or too long range, or none, is refused."""
    pf, own = _one_customer()
    with pytest.raises(UnknownProjectGroupError, match="'banks'"):
        attainment(pf, own, Targets([Target("banks", "2022", 1)]), "2022")
    with pytest.raises(ValidationError, match="empty"):
        attainment(pf, own, Targets(), Period.range("2022-05", "2022-04"))
    with pytest.raises(ValidationError, match="1200 months"):
        attainment(pf, own, Targets(), Period.range("1950-01", "2060-01"))
    with pytest.raises(ValidationError, match="no revenue"):
        attainment(Portfolio(), own, Targets())
    assert len(attainment(pf, own, Targets())) == 3  # default: months with revenue


def test_a_cell_beyond_exact_float_sums_is_refused() -> None:
    """A group-month whose absolute revenue reaches 2**53 fen raises PrecisionError."""
    n = 1000  # 1,000 customers at the per-record limit pass 2**53 fen together
    pf = Portfolio(
        [Customer(f"C{i}", "某客户", "2022-01") for i in range(n)],
        [RevenueRecord(f"C{i}", "card_letter", "2022-02", "99999999999.99") for i in range(n)],
    )
    own = Ownership(["banks"], [OwnershipMove(f"C{i}", "banks", "2022-01", "hq") for i in range(n)])
    with pytest.raises(PrecisionError, match="project group 'banks' in 2022-02"):
        attainment(pf, own, Targets(), "2022")
    assert reference_attainment(pf, own, Targets(), "2022").row("banks", "2022-02").attributed == (
        Decimal("99999999999.99") * n
    )


def test_many_groups_over_a_century_equal_the_reference() -> None:
    """A grid of over 2**20 cells (120 groups x 8 segment bins x 1,200 months) is still exact."""
    pf, _, targets = _example()
    groups = ["courts", "banks", *(f"g{i:03d}" for i in range(118))]
    own = Ownership(
        groups,
        [
            OwnershipMove("C1", "g117", "1990-01", "hq"),
            OwnershipMove("C1", "courts", "2022-07", "hq"),
            OwnershipMove("C2", "banks", "2022-08", "hq"),
        ],
    )
    months = Period.range("1950-01", "2049-12")
    bulk = attainment(pf, own, targets, months, by_segment=True)
    assert_same(bulk, reference_attainment(pf, own, targets, months, by_segment=True))
    assert bulk.row("courts", "2022", segment="JUDICIAL").attributed == Decimal("275000.50")


# ---------------------------------------------------------------- the table


def test_rows_and_lookup() -> None:
    """Rows come group by group, months then quarters then years; unknown groups are refused."""
    pf, own, targets = _example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-09"))
    spans = ["2022-06", "2022-07", "2022-08", "2022-09", "2022Q2", "2022Q3", "2022"]
    assert [(r.group_id, str(r.span)) for r in table.rows()] == [
        (g, s) for g in ("courts", "banks") for s in spans
    ]
    assert len(table) == 14
    with pytest.raises(UnknownProjectGroupError, match="'nike'"):
        table.row("nike", "2022")
    assert "14 rows" in repr(table)


def test_to_pandas_keeps_fen_and_marks_absent_values() -> None:
    """to_pandas() gives one row per row, fen as Int64, ratios as Float64, <NA> where absent."""
    pd = pytest.importorskip("pandas")
    pf, own, targets = _example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-09"), by_segment=True)
    frame = table.to_pandas(lang="zh")
    assert len(frame) == len(table)
    money = [c.removesuffix("_fen") for c in ATTAINMENT_COLUMNS if c.endswith("_fen")]
    fixed = {"group_id", "segment", "kind", "span", "start"}
    assert set(frame.columns) == {*fixed, *ATTAINMENT_COLUMNS, *money}
    jun = frame[(frame.group_id == "courts") & (frame.span == "2022-06")]
    assert set(jun.segment) == {"司法", "金融"}
    assert jun.attributed_fen.sum() == 10_000_000
    banks_jul = frame[(frame.group_id == "banks") & (frame.span == "2022-07")].iloc[0]
    assert banks_jul.target_fen is pd.NA
    assert str(frame.attainment.dtype) == "Float64"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """The docstring examples of the ownership, targets and attainment modules run as shown."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
