"""keyaccount.utils.toml_value writes values that tomllib reads back exactly."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.utils import toml_string, toml_value

_SCALARS = (
    st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.decimals(allow_nan=False, allow_infinity=False, places=6, max_value=10**12)
)


def _read(value_text: str) -> object:
    return tomllib.loads(f"x = {value_text}", parse_float=Decimal)["x"]


@given(_SCALARS)
def test_a_scalar_reads_back_equal(value: object) -> None:
    """Text (any characters), whole numbers, booleans and decimals read back unchanged."""
    back = _read(toml_value(value))
    assert back == value
    assert type(back) is type(value) or isinstance(value, Decimal)


@given(st.lists(st.text() | st.integers(min_value=-(2**40), max_value=2**40), max_size=5))
def test_a_list_reads_back_equal(values: list[object]) -> None:
    """A list of values reads back as the same list."""
    assert _read(toml_value(values)) == values


def test_control_characters_are_escaped() -> None:
    """Quotes, backslashes and control characters cannot end or break the string."""
    text = 'a"b\\c\nd\te\x00f\x7f'
    written = toml_string(text)
    assert "\n" not in written
    assert "\x00" not in written
    assert _read(written) == text


def test_a_float_is_refused() -> None:
    """A float is refused: it would not read back as the exact value meant."""
    with pytest.raises(TypeError, match="as TOML"):
        toml_value(0.1)
