from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Member, Period, ProjectGroup, Role
from keyaccount.exceptions import (
    CsvFileNotFoundError,
    CsvHeaderError,
    CsvImportError,
    InvalidMoneyError,
    InvalidPeriodError,
    PortfolioValidationError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.operations import (
    MAX_TARGET_FEN,
    PeriodSpan,
    SpanKind,
    Target,
    Targets,
    read_targets,
    targets_from_mapping,
)
from tests.strategies import periods

if TYPE_CHECKING:
    from pathlib import Path


# ---------------------------------------------------------------- spans


@pytest.mark.parametrize(
    ("text", "kind", "start"),
    [
        ("2022-03", SpanKind.MONTH, Period(2022, 3)),
        ("2022/3", SpanKind.MONTH, Period(2022, 3)),
        ("2022年3月", SpanKind.MONTH, Period(2022, 3)),
        ("2022Q1", SpanKind.QUARTER, Period(2022, 1)),
        ("2022-Q2", SpanKind.QUARTER, Period(2022, 4)),
        ("2022q3", SpanKind.QUARTER, Period(2022, 7)),
        (" 2022 Q4 ", SpanKind.QUARTER, Period(2022, 10)),
        ("2022", SpanKind.YEAR, Period(2022, 1)),
        ("2022年", SpanKind.YEAR, Period(2022, 1)),
    ],
)
def test_spans_parse_months_quarters_and_years(text: str, kind: SpanKind, start: Period) -> None:
    """A month, a quarter (2022Q1 / 2022-Q1) or a year (2022) is read into kind and first month."""
    span = PeriodSpan.parse(text)
    assert (span.kind, span.start) == (kind, start)
    assert span.end == start + (kind.months - 1)


@pytest.mark.parametrize("text", ["2022Q5", "2022Q0", "2022-13", "22", "", "Q1 2022", "2022-Q"])
def test_malformed_spans_are_refused_quoting_the_text(text: str) -> None:
    """Text that names no month, quarter or year is refused; the message quotes it."""
    with pytest.raises(InvalidPeriodError, match=repr(text)):
        PeriodSpan.parse(text)


def test_spans_must_start_on_their_boundary() -> None:
    """A quarter starts in January, April, July or October; a year in January."""
    with pytest.raises(InvalidPeriodError, match="quarter cannot start in 2022-02"):
        PeriodSpan(SpanKind.QUARTER, Period(2022, 2))
    with pytest.raises(InvalidPeriodError, match="year cannot start in 2022-04"):
        PeriodSpan(SpanKind.YEAR, Period(2022, 4))
    with pytest.raises(InvalidPeriodError, match=r"1\.\.4"):
        PeriodSpan.quarter(2022, 5)


@given(periods("1900-01", "9999-12"), st.sampled_from(list(SpanKind)))
def test_the_span_containing_a_month_holds_it_and_reads_back(month: Period, kind: SpanKind) -> None:
    """containing() gives the span of that kind holding the month; its text parses back to it."""
    span = PeriodSpan.containing(kind, month)
    assert month in span
    assert len(span.months) == kind.months
    assert PeriodSpan.parse(str(span)) == span


# ---------------------------------------------------------------- one target


def test_a_target_keeps_exact_yuan() -> None:
    """A target holds its amount exactly, in fen, from Decimal, int or text."""
    assert Target("courts", "2022", Decimal("1234.5")).fen == 123450
    assert Target("courts", "2022", 7).amount == Decimal("7.00")
    assert Target("courts", "2022Q1", "1,000.01", member="张三").fen == 100001
    assert Target("courts", "2022", 0).fen == 0
    assert Target.from_fen("courts", "2022", MAX_TARGET_FEN).fen == MAX_TARGET_FEN


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("-0.01", "negative"),
        (-5, "negative"),
        ("12.345", "below the fen"),
        (MAX_TARGET_FEN // 100 + 1, "beyond the limit"),
        (1.5, "float"),
        ("abc", "not an amount"),
        ("NaN", "finite"),
    ],
)
def test_bad_amounts_are_refused_naming_group_member_and_span(amount: object, why: str) -> None:
    """Negative, sub-fen, over-limit or non-numeric targets are refused naming where they are."""
    with pytest.raises(InvalidMoneyError, match=why) as info:
        Target("courts", "2022-Q1", amount, member="张三")  # type: ignore[arg-type]
    assert "group 'courts', member '张三', 2022Q1" in str(info.value)


def test_bad_ids_are_refused() -> None:
    """A target needs a well-formed group id and, when given, member name."""
    with pytest.raises(ValidationError, match="project group id"):
        Target("", "2022", 1)
    with pytest.raises(ValidationError, match="member name"):
        Target("courts", "2022", 1, member=" 张三")


# ---------------------------------------------------------------- targets and their sums


def _months(
    group: str, year: int, months: range, fen: int, member: str | None = None
) -> list[Target]:
    return [Target.from_fen(group, Period(year, m), fen + m, member=member) for m in months]


def test_a_target_given_twice_is_refused() -> None:
    """Two targets for the same group, member and span are refused, naming them."""
    with pytest.raises(ValidationError, match=r"group 'courts', 2022Q1 is given twice"):
        Targets([Target("courts", "2022Q1", 1), Target("courts", "2022-Q1", 2)])
    both = Targets([Target("courts", "2022Q1", 1), Target("courts", "2022Q1", 2, member="张三")])
    assert len(both) == 2


def test_a_quarter_without_its_own_target_is_the_sum_of_its_months() -> None:
    """An unset quarter is the sum of its three months' targets; an own target wins over them."""
    ts = Targets(_months("courts", 2022, range(1, 7), 100_00))
    assert ts.target_fen("courts", "2022Q1") == sum(100_00 + m for m in (1, 2, 3))
    own = ts.with_targets([Target("courts", "2022Q2", "5")])
    assert own.target_fen("courts", "2022Q2") == 500
    assert own.get("courts", "2022Q1") is None
    assert own.target("courts", "2022-05") == Decimal("100.05")


def test_a_quarter_or_year_with_a_month_missing_is_absent() -> None:
    """Without every month's target an unset quarter or year is absent, never a partial sum."""
    ts = Targets(_months("courts", 2022, range(1, 12), 100_00))  # December missing
    assert ts.target_fen("courts", "2022Q3") is not None
    assert ts.target_fen("courts", "2022Q4") is None
    assert ts.target_fen("courts", "2022") is None
    assert ts.target_fen("courts", "2022-12") is None
    full = ts.with_targets(_months("courts", 2022, range(12, 13), 0))
    assert full.target_fen("courts", "2022") == sum(100_00 + m for m in range(1, 12)) + 12


def test_a_year_of_quarter_targets_is_their_sum() -> None:
    """A year with neither its own target nor twelve months is the sum of its four quarters."""
    ts = Targets([Target("courts", f"2022Q{q}", 1000) for q in range(1, 5)])
    assert ts.target("courts", "2022") == 4000
    assert ts.with_targets([Target("courts", "2022", 3000)]).target("courts", "2022") == 3000


def test_a_year_mixes_quarters_with_complete_months() -> None:
    """A quarter counts for the year by its own target or by its three months."""
    ts = Targets(
        [
            *[Target("courts", f"2022Q{q}", 1000) for q in (1, 2, 3)],
            *[Target("courts", f"2022-{m:02d}", 500) for m in (10, 11, 12)],
        ]
    )
    assert ts.target("courts", "2022Q4") == 1500
    assert ts.target("courts", "2022") == 4500


def test_twelve_months_win_over_quarters_for_the_year() -> None:
    """With all twelve months set, the year is their sum, whatever the quarters say."""
    months = [Target("courts", f"2022-{m:02d}", 100) for m in range(1, 13)]
    quarters = [Target("courts", f"2022Q{q}", 1000) for q in range(1, 5)]
    ts = Targets([*months, *quarters])
    assert ts.target("courts", "2022Q1") == 1000
    assert ts.target("courts", "2022") == 1200


def test_a_year_missing_a_quarter_is_absent() -> None:
    """Three quarters and no months for the fourth leave the year absent, not understated."""
    ts = Targets([Target("courts", f"2022Q{q}", 1000) for q in (1, 2, 3)])
    assert ts.target_fen("courts", "2022") is None


def test_member_targets_follow_the_same_rules_apart_from_the_group() -> None:
    """A member's quarter is the sum of the member's months; the group's targets are separate."""
    ts = Targets(_months("courts", 2022, range(1, 4), 1000, member="张三"))
    assert ts.target_fen("courts", "2022Q1", member="张三") == 3000 + 6
    assert ts.target_fen("courts", "2022Q1") is None
    assert ts.members("courts") == ("张三",)
    assert ts.group_ids == frozenset({"courts"})


@given(st.sets(st.integers(1, 12)), st.integers(0, 10**9))
def test_unset_spans_sum_exactly_the_months_when_all_are_set(months: set[int], fen: int) -> None:
    """For any set of monthly targets, a quarter is their exact sum when complete, else absent."""
    ts = Targets([Target.from_fen("banks", Period(2023, m), fen * m) for m in months])
    for q in range(1, 5):
        quarter = {3 * q - 2, 3 * q - 1, 3 * q}
        expected = sum(fen * m for m in quarter) if quarter <= months else None
        assert ts.target_fen("banks", PeriodSpan.quarter(2023, q)) == expected
    year = sum(fen * m for m in months) if len(months) == 12 else None
    assert ts.target_fen("banks", "2023") == year


# ---------------------------------------------------------------- mapping and files


def test_targets_from_a_mapping_with_members() -> None:
    """A mapping of group -> span -> yuan, with a members table, gives those targets."""
    ts = targets_from_mapping(
        {
            "courts": {
                "2022": "12000000",
                "2022Q1": 3_000_000,
                "members": {"张三": {"2022": Decimal("4000000.50")}},
            },
            "banks": {2023: "1", Period(2023, 2): "2"},
        }
    )
    assert ts.target("courts", "2022") == Decimal("12000000.00")
    assert ts.target_fen("courts", "2022Q1") == 300_000_000
    assert ts.target("courts", "2022", member="张三") == Decimal("4000000.50")
    assert ts.target_fen("banks", "2023-02") == 200
    assert len(ts) == 5


def test_every_mapping_problem_is_reported_with_its_key() -> None:
    """All bad entries are raised together, each naming the source and the dotted key."""
    with pytest.raises(PortfolioValidationError) as info:
        targets_from_mapping(
            {
                "courts": {"2022Q1": "-1", "2022-Q1": "5", "2022": 1.25, "2022-13": "1"},
                "banks": "100",
                "nike": {"members": {"李 四": {"2022": "x"}}},
            },
            source="plan.toml",
        )
    messages = [str(e) for e in info.value.exceptions]
    assert any("plan.toml, key courts.2022Q1" in m and "negative" in m for m in messages)
    assert any("key courts.2022:" in m and "float" in m for m in messages)
    assert any("key courts.2022-13" in m for m in messages)
    assert any("key banks" in m and "table" in m for m in messages)
    assert any('key nike.members."李 四"' in m for m in messages)
    assert len(messages) == 5  # the duplicate 2022-Q1 is not reported: 2022Q1 was refused


def test_the_same_span_twice_under_two_spellings_is_refused() -> None:
    """2022Q1 and 2022-Q1 are the same quarter: the second is refused naming the first key."""
    with pytest.raises(ValidationError, match=r"key courts.2022-Q1.*first at key courts.2022Q1"):
        targets_from_mapping({"courts": {"2022Q1": "1", "2022-Q1": "2"}})


def _groups() -> list[ProjectGroup]:
    return [
        ProjectGroup(
            "courts",
            "Courts",
            "法院项目组",
            members=[Member("张三", Role.PROJECT_MANAGER), Member("李四", Role.ACCOUNT_MANAGER)],
        )
    ]


def test_groups_and_members_are_checked_when_the_groups_are_given() -> None:
    """With the project groups given, an unknown group or a non-member is refused."""
    with pytest.raises(UnknownProjectGroupError, match="'banks'"):
        targets_from_mapping({"banks": {"2022": "1"}}, groups=_groups())
    with pytest.raises(ValidationError, match="'王五' is not a member of project group 'courts'"):
        targets_from_mapping({"courts": {"members": {"王五": {"2022": "1"}}}}, groups=_groups())
    ok = targets_from_mapping({"courts": {"members": {"张三": {"2022": "1"}}}}, groups=_groups())
    assert ok.target_fen("courts", "2022", member="张三") == 100


TOML = """\
[courts]
2022 = "120000000"
2022Q1 = 30_000_000
2022-01 = "9000000.50"

[courts.members."张三"]
2022 = "40000000"
"""


def test_read_a_toml_file(tmp_path: Path) -> None:
    """A TOML file of group tables gives the targets it states."""
    path = tmp_path / "targets.toml"
    path.write_text(TOML, encoding="utf-8")
    ts = read_targets(path, groups=_groups())
    assert ts.target("courts", "2022-01") == Decimal("9000000.50")
    assert ts.target_fen("courts", "2022Q1") == 3_000_000_000
    assert ts.target("courts", "2022", member="张三") == Decimal("40000000.00")


def test_toml_errors_name_the_file_and_key(tmp_path: Path) -> None:
    """A bad value in a TOML file is refused naming the file and the key; bad TOML too."""
    path = tmp_path / "targets.toml"
    path.write_text("[courts]\n2022Q1 = 1.5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"targets.toml, key courts.2022Q1: .*float"):
        read_targets(path)
    path.write_text("[courts\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid TOML"):
        read_targets(path)


CSV = """\
group_id,period,target_yuan,member
courts,2022,120000000,
courts,2022Q1,"30,000,000.00",
courts,2022-01,9000000.50,张三
"""


def test_read_a_csv_file(tmp_path: Path) -> None:
    """A CSV file (BOM and the member column optional) gives the targets of its rows."""
    path = tmp_path / "targets.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")
    ts = read_targets(path)
    assert ts.target("courts", "2022Q1") == Decimal("30000000.00")
    assert ts.target("courts", "2022-01", member="张三") == Decimal("9000000.50")
    plain = tmp_path / "plain.csv"
    plain.write_text("group_id,period,target_yuan\nbanks,2023-Q4,5\n", encoding="utf-8")
    assert read_targets(plain).target_fen("banks", "2023Q4") == 500


def test_csv_errors_name_line_and_column(tmp_path: Path) -> None:
    """Every bad CSV row is reported with its line and column; nothing is returned."""
    path = tmp_path / "targets.csv"
    path.write_text(
        "group_id,period,target_yuan\n"
        "courts,2022,-5\n"
        "courts,2022Q9,5\n"
        "courts,2022,1,extra\n"
        "courts,2022-q1,1\n"
        "courts,2022Q1,2\n",
        encoding="utf-8",
    )
    with pytest.raises(CsvImportError) as info:
        read_targets(path)
    found = {(e.line, e.column) for e in info.value.row_errors}
    assert found == {(2, "target_yuan"), (3, "period"), (4, None), (6, "period")}
    assert "first on line 5" in str(info.value.row_errors[-1])


def test_csv_header_problems_are_refused(tmp_path: Path) -> None:
    """A header missing a required column, or naming an unknown one, is refused."""
    path = tmp_path / "targets.csv"
    path.write_text("group_id,target_yuan,owner\ncourts,1,x\n", encoding="utf-8")
    with pytest.raises(CsvHeaderError) as info:
        read_targets(path)
    assert info.value.missing == ("period",)
    assert info.value.unknown == ("owner",)


def test_unknown_group_in_a_csv_is_a_row_error(tmp_path: Path) -> None:
    """With the groups given, a CSV row of an unknown group or non-member is a row error."""
    path = tmp_path / "targets.csv"
    path.write_text(CSV.replace("张三", "王五") + "banks,2022,1,\n", encoding="utf-8")
    with pytest.raises(CsvImportError) as info:
        read_targets(path, groups=_groups())
    assert {(e.line, e.column) for e in info.value.row_errors} == {(4, "member"), (5, "group_id")}


def test_files_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    """A missing file, an unknown suffix or text that is not UTF-8 is refused naming the file."""
    with pytest.raises(CsvFileNotFoundError, match="targets file not found"):
        read_targets(tmp_path / "none.toml")
    with pytest.raises(ValidationError, match=r"\.toml or \.csv"):
        read_targets(tmp_path / "targets.xlsx")
    bad = tmp_path / "latin.csv"
    bad.write_bytes("group_id,period,target_yuan\ncourts,2022,\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_targets(bad)
