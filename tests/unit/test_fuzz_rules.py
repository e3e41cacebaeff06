"""Fuzzing the policy language: hostile texts are accepted with their exact meaning or refused."""

from __future__ import annotations

import tomllib
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.exceptions import KeyAccountError
from keyaccount.rules import Compare, Literal, Policy, parse_condition
from tests.strategies import conditions

_DIGITS = st.sampled_from("0123456789１２３٣۵०²")
_NUMBER_TEXT = st.one_of(
    st.from_regex(r"[0-9]{1,60}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,12})?", fullmatch=True),
    st.lists(_DIGITS, min_size=1, max_size=12).map("".join),
)
_HOSTILE = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
    st.integers(1, 5000).map(lambda n: "(" * n + "active_months > 1" + ")" * n),
    st.integers(1, 5000).map(lambda n: "not " * n + "true"),
    st.integers(1, 3000).map(lambda n: " and ".join(["active_months > 1"] * n)),
    st.integers(1, 10_000).map(lambda n: "a" * n + " > 1"),
    st.sampled_from(["\ufeff", "\u0430", "ａ", "\u00a0", "\u2028", "\x00"]).map(
        lambda c: f"{c}active_months >= 1"
    ),
    conditions(user_metrics=False),
)


def _parse(text: str) -> object:
    try:
        return parse_condition(text)
    except KeyAccountError:
        return None


@pytest.mark.timeout(120)
@given(_HOSTILE)
def test_any_text_parses_or_is_refused_with_a_keyaccount_error(text: str) -> None:
    """Any condition text either parses or raises a KeyAccountError (nothing else)."""
    _parse(text)


@pytest.mark.timeout(120)
@given(_NUMBER_TEXT)
def test_count_literals_mean_exactly_their_text(number: str) -> None:
    """An accepted count literal equals int(text); a refused one is a KeyAccountError."""
    node = _parse(f"active_months >= {number}")
    if node is None:
        return
    assert isinstance(node, Compare)
    assert isinstance(node.right, Literal)
    with localcontext() as ctx:
        ctx.prec = 200
        exact = Decimal(number)
    if node.right.type.is_exact:
        assert node.right.value == int(exact)
        assert abs(node.right.value) < 2**53
    else:
        assert node.right.value == float(number)


@pytest.mark.timeout(120)
@given(_NUMBER_TEXT)
def test_money_literals_mean_exactly_their_text_in_fen(number: str) -> None:
    """An accepted money literal is exactly Decimal(text) * 100 fen; sub-fen ones are refused."""
    node = _parse(f"t12m_revenue >= {number}")
    if node is None:
        return
    assert isinstance(node, Compare)
    assert isinstance(node.right, Literal)
    with localcontext() as ctx:
        ctx.prec = 200
        fen = Decimal(number) * 100
    assert fen == fen.to_integral_value()
    assert node.right.value == int(fen)


_TOML = st.one_of(
    st.text(max_size=300),
    st.integers(1, 20_000).map(lambda n: "x = " + "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: "x = " + "{a = " * n + "1" + "}" * n),
    st.sampled_from(["", "\ufeff"]).flatmap(
        lambda bom: st.text(max_size=60).map(
            lambda when: bom + '[[rule]]\nname = "r"\nto = "KEY"\nwhen = ' + _quote(when) + "\n"
        )
    ),
)


def _quote(text: str) -> str:
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in text) + '"'


@pytest.mark.timeout(120)
@given(_TOML)
def test_any_toml_loads_or_is_refused_with_a_keyaccount_error(text: str) -> None:
    """Any TOML text gives a policy or a KeyAccountError (never RecursionError and the like)."""
    try:
        policy = Policy.from_toml(text, source="fuzz.toml")
    except KeyAccountError:
        return
    policy.validate()
    assert Policy.from_toml(policy.to_toml()) == policy
    assert isinstance(tomllib.loads(policy.to_toml()), dict)
