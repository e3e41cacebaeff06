from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import FEN_PER_YUAN, fen_to_yuan, format_yuan, yuan_to_fen
from keyaccount.exceptions import InvalidMoneyError, KeyAccountError
from tests.strategies import fen_amounts, yuan_decimals, yuan_texts

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("12.34", 1234),
        ("0.01", 1),
        ("-0.01", -1),
        ("1_000", 100_000),
        ("1,234.50", 123_450),
        (" 7 ", 700),
        (Decimal("880.00"), 88_000),
        (Decimal("1E+2"), 10_000),
        (Decimal("-5.5"), -550),
        (3, 300),
        (0, 0),
        ("0.010", 1),
    ],
)
def test_yuan_to_fen_examples(value: Decimal | int | str, fen: int) -> None:
    """Decimal, int and decimal text in yuan convert to exact integer fen."""
    result = yuan_to_fen(value)
    assert result == fen
    assert type(result) is int


@given(fen_amounts(-INT64_MAX, INT64_MAX))
def test_fen_round_trip(fen: int) -> None:
    """yuan_to_fen(fen_to_yuan(f)) == f for every int64 amount."""
    yuan = fen_to_yuan(fen)
    assert isinstance(yuan, Decimal)
    assert yuan.as_tuple().exponent == -2
    assert yuan_to_fen(yuan) == fen
    assert yuan_to_fen(str(yuan)) == fen


@given(yuan_decimals())
def test_yuan_round_trip(yuan: Decimal) -> None:
    """fen_to_yuan(yuan_to_fen(y)) == y for amounts with at most two places."""
    assert fen_to_yuan(yuan_to_fen(yuan)) == yuan
    assert yuan_to_fen(yuan) == int(yuan * FEN_PER_YUAN)


@given(yuan_texts())
def test_text_forms(case: tuple[int, str]) -> None:
    """Every accepted spelling of an amount converts to its fen."""
    fen, text = case
    assert yuan_to_fen(text) == fen


@given(st.integers(-(10**15), 10**15))
def test_whole_yuan_int(yuan: int) -> None:
    """An int is a whole number of yuan."""
    assert yuan_to_fen(yuan) == yuan * 100


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.0,
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        "NaN",
        "Infinity",
        "-inf",
        "abc",
        "",
        "1.2.3",
        "0.001",
        "12.345",
        Decimal("0.005"),
        True,
        None,
        b"12",
        [12],
    ],
)
def test_invalid_money_raises_naming_the_value(value: object) -> None:
    """Floats, NaN, infinities, non-numbers and sub-fen digits raise InvalidMoneyError."""
    with pytest.raises(InvalidMoneyError) as info:
        yuan_to_fen(value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KeyAccountError)


def test_error_names_where_the_value_came_from() -> None:
    """The ``where`` argument appears in the message."""
    with pytest.raises(InvalidMoneyError, match=r"revenue\.csv line 3"):
        yuan_to_fen("0.001", where="revenue.csv line 3")


@pytest.mark.parametrize(
    "value",
    [
        "12345678901234567890123456.781",
        Decimal("12345678901234567890123456.781"),
        "123456789012345678901234567890.001",
    ],
)
def test_sub_fen_digits_of_long_amounts_are_not_rounded_away(value: str | Decimal) -> None:
    """An amount with digits below the fen is refused however many digits it has."""
    with pytest.raises(InvalidMoneyError):
        yuan_to_fen(value)


@pytest.mark.parametrize("value", ["1E+30", Decimal("1E+999999999"), 10**30, "-1e20"])
def test_amounts_beyond_int64_fen_are_refused(value: str | Decimal | int) -> None:
    """Amounts that do not fit int64 fen raise InvalidMoneyError instead of overflowing."""
    with pytest.raises(InvalidMoneyError):
        yuan_to_fen(value)


def test_largest_int64_amount() -> None:
    """The largest int64 fen amount converts exactly both ways."""
    yuan = fen_to_yuan(INT64_MAX)
    assert yuan == Decimal("92233720368547758.07")
    assert yuan_to_fen(yuan) == INT64_MAX


@pytest.mark.parametrize("fen", [1.0, 1.5, float("nan"), "100", Decimal("1.5"), True])
def test_fen_to_yuan_refuses_non_integers(fen: object) -> None:
    """fen_to_yuan takes whole fen only: a float or text is InvalidMoneyError."""
    with pytest.raises(InvalidMoneyError) as info:
        fen_to_yuan(fen)  # type: ignore[arg-type]
    assert repr(fen) in str(info.value)


def test_fen_to_yuan_accepts_numpy_integers() -> None:
    """Integers read from numpy arrays convert like Python ints."""
    np = pytest.importorskip("numpy")
    assert fen_to_yuan(np.int64(-123456)) == Decimal("-1234.56")


@pytest.mark.parametrize(
    ("fen", "unit", "text"),
    [
        (123_456, "yuan", "1,234.56"),
        (-5, "yuan", "-0.05"),
        (533_000_000_000, "yi", "53.30"),
        (12_345_600, "wan", "12.35"),
    ],
)
def test_format_yuan(fen: int, unit: str, text: str) -> None:
    """format_yuan shows yuan with thousands separators, or scaled to 万 / 亿."""
    assert format_yuan(fen, unit=unit) == text


def test_format_yuan_unknown_unit() -> None:
    """An unknown unit is a ValueError naming it."""
    with pytest.raises(ValueError, match="'kuai'"):
        format_yuan(100, unit="kuai")
