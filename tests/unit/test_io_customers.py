"""Reading customers files: labels, defaults, row checks and checks across rows."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import pytest

from keyaccount.domain import SEGMENTS, SUB_SEGMENTS, Customer, Period, Segment, SubSegment, Tier
from keyaccount.exceptions import CsvHeaderError, CsvImportError
from keyaccount.io import ErrorPolicy, read_customers_csv
from keyaccount.portfolio import Portfolio

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period"


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _errors(
    path: Path, known_customers: set[str] | None = None
) -> list[tuple[int, str | None, str, str]]:
    with pytest.raises(CsvImportError) as info:
        read_customers_csv(path, known_customers=known_customers)
    assert len(info.value.row_errors) == len(info.value.exceptions)
    out = []
    for e in info.value.row_errors:
        assert e.path == str(path)
        out.append((e.line, e.column, e.value, e.reason))
    return out


def test_reads_names_labels_and_defaults(tmp_path: Path) -> None:
    """Segments and tiers are read from names or Chinese labels; empty fields take defaults."""
    path = _write(
        tmp_path / "c.csv",
        HEADER + ",tier_since",
        "C1,某市中级人民法院,司法,法院,战略客户,,广东,2021-03,2022-01",
        'C2,"平安, 广东分公司",insurance,INSURER_BRANCH,规模客户,C3, 广东 ,2020-01,',
        "C3,平安保险总部,保险行业,,key,,,2019-12,",
        "C4,,,,,,,2022-07,",
        "C5,Dormant Co,FOOTWEAR_APPAREL,产业集群,沉睡,,,2018-01,2018-01",
    )
    rows = read_customers_csv(path)
    assert rows.line.tolist() == [2, 3, 4, 5, 6]
    assert rows.id.tolist() == ["C1", "C2", "C3", "C4", "C5"]
    assert rows.name.tolist()[1] == "平安, 广东分公司"
    assert rows.name.tolist()[3] == ""
    assert [SEGMENTS[s] if s >= 0 else None for s in rows.segment.tolist()] == [
        Segment.JUDICIAL,
        Segment.INSURANCE,
        Segment.INSURANCE,
        None,
        Segment.FOOTWEAR_APPAREL,
    ]
    assert [SUB_SEGMENTS[s] if s >= 0 else None for s in rows.sub_segment.tolist()] == [
        SubSegment.COURT,
        SubSegment.INSURER_BRANCH,
        None,
        None,
        SubSegment.INDUSTRIAL_CLUSTER,
    ]
    assert rows.tier.tolist() == [
        Tier.STRATEGIC.rank,
        Tier.KEY.rank,
        Tier.KEY.rank,
        Tier.ACTIVE.rank,
        Tier.DORMANT.rank,
    ]
    assert rows.parent_id.tolist() == [None, "C3", None, None, None]
    assert rows.province.tolist() == ["广东", "广东", None, None, None]
    assert rows.first_period.tolist()[0] == Period(2021, 3).ordinal
    assert rows.tier_since.tolist() == [
        Period(2022, 1).ordinal,
        -1,
        -1,
        -1,
        Period(2018, 1).ordinal,
    ]


def test_rows_give_domain_customers_and_portfolio_columns(tmp_path: Path) -> None:
    """Rows turn into the same Customer objects and a block a Portfolio accepts."""
    path = _write(
        tmp_path / "c.csv",
        HEADER,
        "B,Branch,保险,省级分支机构,,H,广东,2021-01",
        "H,Headquarters,保险,保险公司总部,战略,,,2020-01",
    )
    rows = read_customers_csv(path)
    expected = [
        Customer(
            "B",
            "Branch",
            "2021-01",
            segment="保险",
            sub_segment="INSURER_BRANCH",
            parent_id="H",
            province="广东",
        ),
        Customer(
            "H",
            "Headquarters",
            "2020-01",
            segment="保险",
            sub_segment="INSURER_HQ",
            tier="战略客户",
        ),
    ]
    assert list(rows.customers()) == expected
    portfolio = Portfolio()
    portfolio.add_customer_columns(rows.to_columns())
    assert list(portfolio.customers()) == expected
    assert portfolio.children("H") == ["B"]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (",Name,,,,,,2022-01", "customer_id", "required value is empty"),
        ("C1,Name,,,,,,", "first_period", "required value is empty"),
        ("C1,Name,,,,,,2022-13", "first_period", "month 13"),
        ("C1,Name,Retail,,,,,2022-01", "segment", "unknown segment 'Retail'"),
        ("C1,Name,司法,Bank,,,,2022-01", "sub_segment", "unknown sub-segment 'Bank'"),
        (
            "C1,Name,金融,法院,,,,2022-01",
            "sub_segment",
            "belongs to segment JUDICIAL, not to segment FINANCE",
        ),
        ("C1,Name,,COURT,,,,2022-01", "sub_segment", "not to a customer without a segment"),
        ("C1,Name,,,VIP,,,2022-01", "tier", "unknown tier 'VIP'"),
        ("C1,Name,,,,C1,,2022-01", "parent_id", "own parent"),
    ],
)
def test_bad_rows(tmp_path: Path, row: str, column: str, reason: str) -> None:
    """Each bad field is named by line, column, value and reason."""
    path = _write(tmp_path / "c.csv", HEADER, "C0,Fine,,,,,,2022-01", row)
    ((line, col, value, why),) = _errors(path)
    assert (line, col) == (3, column)
    assert reason in why
    assert value == row.split(",")[HEADER.split(",").index(column)]


def test_tier_since_before_first_period(tmp_path: Path) -> None:
    """tier_since before first_period is a bad row in the tier_since column."""
    path = _write(tmp_path / "c.csv", HEADER + ",tier_since", "C1,Name,,,,,,2022-05,2022-04")
    assert _errors(path) == [
        (2, "tier_since", "2022-04", "tier_since 2022-04 is before first_period 2022-05")
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    """A customer id given again is bad on every later line, naming the first."""
    path = _write(
        tmp_path / "c.csv",
        HEADER,
        "C1,A,,,,,,2022-01",
        "C2,B,,,,,,2022-01",
        "C1,C,,,,,,2022-01",
        "C1,D,,,,,,2022-01",
    )
    assert _errors(path) == [
        (4, "customer_id", "C1", "duplicate customer id, first at line 2"),
        (5, "customer_id", "C1", "duplicate customer id, first at line 2"),
    ]


def test_parent_cycle(tmp_path: Path) -> None:
    """Every customer on a parent cycle is bad; the reason shows the cycle."""
    path = _write(
        tmp_path / "c.csv",
        HEADER,
        "A,A,,,,B,,2022-01",
        "B,B,,,,C,,2022-01",
        "C,C,,,,A,,2022-01",
        "D,D,,,,A,,2022-01",
    )
    errors = _errors(path)
    assert [e[:3] for e in errors] == [
        (2, "parent_id", "B"),
        (3, "parent_id", "C"),
        (4, "parent_id", "A"),
    ]
    assert all(e[3] == "parent cycle: A -> B -> C -> A" for e in errors)


def test_parents_outside_the_file(tmp_path: Path) -> None:
    """Parents not in the file are left to the caller, unless known_customers is given."""
    path = _write(tmp_path / "c.csv", HEADER, "C1,A,,,,P9,,2022-01")
    assert read_customers_csv(path).parent_id.tolist() == ["P9"]
    assert len(read_customers_csv(path, known_customers={"P9"})) == 1
    assert _errors(path, known_customers=set()) == [
        (2, "parent_id", "P9", "unknown parent customer 'P9'")
    ]


def test_reject_policy_cascades_to_children(tmp_path: Path) -> None:
    """In reject mode, children of a rejected customer are rejected too; others go on."""
    path = _write(
        tmp_path / "c.csv",
        HEADER,
        "H,HQ,,,,,,2022-13",
        "B1,Branch,,,,H,,2022-01",
        "B2,Sub-branch,,,,B1,,2022-01",
        "X,Other,,,,,,2022-01",
    )
    rejects = tmp_path / "rejects.csv"
    rows = read_customers_csv(path, errors=ErrorPolicy.reject(rejects))
    assert rows.id.tolist() == ["X"]
    with rejects.open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert [r[:8] for r in table[1:]] == [
        ["H", "HQ", "", "", "", "", "", "2022-13"],
        ["B1", "Branch", "", "", "", "H", "", "2022-01"],
        ["B2", "Sub-branch", "", "", "", "B1", "", "2022-01"],
    ]
    assert [r[8:11] for r in table[1:]] == [
        ["2", "first_period", "2022-13"],
        ["3", "parent_id", "H"],
        ["4", "parent_id", "B1"],
    ]
    assert "parent customer 'H' (line 2) is bad" in table[2][11]


def test_missing_customers_column(tmp_path: Path) -> None:
    """A customers file without first_period is a header error."""
    path = _write(
        tmp_path / "c.csv", "customer_id,name,segment,sub_segment,tier,parent_id,province"
    )
    with pytest.raises(CsvHeaderError, match="'first_period'"):
        read_customers_csv(path)


def test_progress(tmp_path: Path) -> None:
    """Reading customers reports progress ending at the file's size."""
    path = _write(tmp_path / "c.csv", HEADER, *[f"C{i},N,,,,,,2022-01" for i in range(50)])
    calls: list[tuple[int, int, int]] = []
    read_customers_csv(path, progress=lambda *a: calls.append(a))
    size = path.stat().st_size
    assert calls[-1] == (50, size, size)
