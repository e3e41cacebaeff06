from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Period, PeriodRange
from keyaccount.exceptions import InvalidPeriodError, KeyAccountError
from tests.strategies import FIRST_ORDINAL, LAST_ORDINAL, period_texts, periods


@pytest.mark.parametrize(
    ("text", "year", "month"),
    [
        ("2022-11", 2022, 11),
        ("2022-1", 2022, 1),
        ("2022/11", 2022, 11),
        ("2022.03", 2022, 3),
        ("2022年11月", 2022, 11),
        ("2022年3月", 2022, 3),
        (" 2022-11 ", 2022, 11),
        ("1900-01", 1900, 1),
        ("9999-12", 9999, 12),
    ],
)
def test_parse_accepted_forms(text: str, year: int, month: int) -> None:
    """Parse accepts YYYY-MM, YYYY/MM, YYYY.MM and 2022年11月 with surrounding spaces."""
    assert Period.parse(text) == Period(year, month)


def test_parse_returns_a_period_unchanged() -> None:
    """Parsing a Period gives the same Period."""
    p = Period(2022, 11)
    assert Period.parse(p) is p


@pytest.mark.parametrize(
    "text",
    ["2022-13", "2022-00", "22-11", "abc", "", "   ", "2022", "2022-11-05", "11-2022", "1899-12"],
)
def test_parse_rejects_malformed_text_naming_it(text: str) -> None:
    """Malformed or out-of-range text raises InvalidPeriodError quoting the text."""
    with pytest.raises(InvalidPeriodError) as info:
        Period.parse(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("value", [202211, 2022.11, None, b"2022-11", dt.date(2022, 11, 1)])
def test_parse_rejects_non_text_naming_it(value: object) -> None:
    """A value that is not text raises InvalidPeriodError naming the value."""
    with pytest.raises(InvalidPeriodError) as info:
        Period.parse(value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


def test_invalid_period_error_is_a_value_error() -> None:
    """InvalidPeriodError is both a KeyAccountError and a ValueError."""
    with pytest.raises(ValueError, match="2022-13"):
        Period.parse("2022-13")
    assert issubclass(InvalidPeriodError, KeyAccountError)


@pytest.mark.parametrize(("year", "month"), [(2022, 0), (2022, 13), (1899, 12), (10000, 1)])
def test_constructor_validates_year_and_month(year: int, month: int) -> None:
    """Period(year, month) refuses months outside 1..12 and years outside 1900..9999."""
    with pytest.raises(InvalidPeriodError):
        Period(year, month)


def test_constructor_refuses_non_integers() -> None:
    """Period fields must be integers; a bool is not a month."""
    with pytest.raises(TypeError):
        Period("2022", 11)  # type: ignore[arg-type]
    with pytest.raises((TypeError, InvalidPeriodError)):
        Period(2022, True)


def test_str_and_repr() -> None:
    """The text form is YYYY-MM with zero padding; repr shows the constructor call."""
    assert str(Period(2022, 3)) == "2022-03"
    assert repr(Period(2022, 3)) == "Period(2022, 3)"


def test_dates() -> None:
    """from_date gives the month containing a date; first_day is day one of the month."""
    assert Period.from_date(dt.date(2022, 11, 30)) == Period(2022, 11)
    assert Period(2022, 11).first_day == dt.date(2022, 11, 1)


def test_arithmetic_examples() -> None:
    """Adding months crosses year ends; the difference of periods is a month count."""
    p = Period(2022, 11)
    assert p + 2 == Period(2023, 1)
    assert 2 + p == Period(2023, 1)
    assert p - 11 == Period(2021, 12)
    assert Period(2023, 1) - p == 2
    assert p - Period(2023, 1) == -2


def test_arithmetic_refuses_other_types() -> None:
    """Adding a float, a bool or text to a period is a TypeError."""
    p = Period(2022, 11)
    for other in (1.0, True, "1"):
        with pytest.raises(TypeError):
            p + other  # type: ignore[operator]
        with pytest.raises(TypeError):
            p - other  # type: ignore[operator]


def test_ordering_with_other_types_is_a_type_error() -> None:
    """Periods do not compare by order with text."""
    with pytest.raises(TypeError):
        assert Period(2022, 11) < "2023-01"  # type: ignore[operator]


def test_moving_out_of_range_raises() -> None:
    """Moving past 9999-12 raises InvalidPeriodError."""
    with pytest.raises(InvalidPeriodError):
        Period(9999, 12) + 1


def test_periods_are_hashable_values() -> None:
    """Equal periods are equal and hash alike, whatever text they came from."""
    assert {Period.parse("2022-11"), Period.parse("2022年11月"), Period(2022, 11)} == {
        Period(2022, 11)
    }


@given(st.integers(FIRST_ORDINAL, LAST_ORDINAL), st.data())
def test_add_then_subtract_months(ordinal: int, data: st.DataObject) -> None:
    """(p + n) - n == p and (p + n) - p == n whenever p + n is a valid period."""
    p = Period.from_ordinal(ordinal)
    n = data.draw(st.integers(FIRST_ORDINAL - ordinal, LAST_ORDINAL - ordinal))
    assert (p + n) - n == p
    assert (p + n) - p == n
    assert p + n == Period.from_ordinal(ordinal + n)


@given(periods(), periods())
def test_ordering_agrees_with_ordinal(a: Period, b: Period) -> None:
    """Comparisons of periods agree with comparisons of their ordinals."""
    assert (a < b) == (a.ordinal < b.ordinal)
    assert (a <= b) == (a.ordinal <= b.ordinal)
    assert (a > b) == (a.ordinal > b.ordinal)
    assert (a >= b) == (a.ordinal >= b.ordinal)
    assert (a == b) == (a.ordinal == b.ordinal)
    assert (a < b) == ((a.year, a.month) < (b.year, b.month))


@given(periods())
def test_ordinal_round_trip(p: Period) -> None:
    """from_ordinal inverts ordinal, and ordinal is year * 12 + month - 1."""
    assert Period.from_ordinal(p.ordinal) == p
    assert p.ordinal == p.year * 12 + p.month - 1


@given(periods())
def test_str_round_trip(p: Period) -> None:
    """parse(str(p)) == p."""
    assert Period.parse(str(p)) == p


@given(period_texts())
def test_parse_every_accepted_form(case: tuple[Period, str]) -> None:
    """Every accepted spelling of a period parses to that period."""
    period, text = case
    assert Period.parse(text) == period


@given(periods("2000-01", "2040-12"), st.integers(-3, 40), periods("1990-01", "2050-12"))
def test_range_length_and_membership(start: Period, length: int, probe: Period) -> None:
    """A range holds exactly the months from start to end, in order."""
    end = start + (length - 1)
    months = Period.range(start, end)
    assert isinstance(months, PeriodRange)
    assert len(months) == max(0, length)
    listed = list(months)
    assert len(listed) == len(months)
    assert listed == [start + i for i in range(max(0, length))]
    assert (probe in months) == (start <= probe <= end)
    assert (probe in months) == (probe in listed)


def test_range_from_text() -> None:
    """Period.range accepts text and includes both ends."""
    assert [str(p) for p in Period.range("2022-11", "2023-01")] == [
        "2022-11",
        "2022-12",
        "2023-01",
    ]
    assert str(Period.range("2022-11", "2023-01")) == "2022-11..2023-01"
    assert "2022-12" not in Period.range("2022-11", "2023-01")


def test_period_range_converts_text() -> None:
    """PeriodRange built from text holds Periods."""
    months = PeriodRange("2022-11", "2023-01")
    assert months.start == Period(2022, 11)
    assert len(months) == 3
