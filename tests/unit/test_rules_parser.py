"""The condition language: parsing, typing, printing and the errors of bad rules."""

from __future__ import annotations

import pytest

from keyaccount.domain import Product, default_catalog
from keyaccount.exceptions import KeyAccountError, RuleSyntaxError
from keyaccount.rules import (
    And,
    Arith,
    Compare,
    Literal,
    MetricRef,
    MetricRegistry,
    Neg,
    Not,
    Or,
    ShareRef,
    UserMetric,
    ValueType,
    format_condition,
    parse_condition,
    references,
)

MONEY, COUNT, RATIO, BOOLEAN = (
    ValueType.MONEY,
    ValueType.COUNT,
    ValueType.RATIO,
    ValueType.BOOLEAN,
)


def _compare(text: str) -> Compare:
    node = parse_condition(text)
    assert isinstance(node, Compare)
    return node


def test_money_literal_is_yuan_converted_to_fen() -> None:
    """A literal compared with money is yuan, stored as integer fen."""
    node = parse_condition("t12m_revenue >= 1_000_000.50")
    assert node == Compare(
        ">=", MetricRef("t12m_revenue", MONEY), Literal(100_000_050, MONEY), MONEY
    )


def test_count_comparison_is_exact_and_decimal_literal_makes_it_float() -> None:
    """A whole literal with a count stays a count; a fractional one compares as float64."""
    assert _compare("active_months >= 10").domain is COUNT
    node = _compare("active_months >= 9.5")
    assert node.domain is RATIO
    assert node.right == Literal(9.5, RATIO)


def test_multiplication_and_division_are_float64() -> None:
    """Any * or / gives a ratio, and the literals in it become floats."""
    node = parse_condition("t12m_revenue / 12 > 100_000")
    assert isinstance(node, Compare)
    assert node.domain is RATIO
    assert node.left == Arith("/", MetricRef("t12m_revenue", MONEY), Literal(12.0, RATIO), RATIO)
    assert node.right == Literal(100_000.0, RATIO)


def test_money_and_ratio_mix_as_float64() -> None:
    """Adding a ratio to money is float64 arithmetic."""
    node = parse_condition("t12m_revenue + yoy_growth > 0")
    assert isinstance(node, Compare)
    assert node.left.type is RATIO
    assert node.domain is RATIO


def test_money_plus_money_stays_exact() -> None:
    """+ and - between money values are exact money."""
    node = parse_condition("t12m_revenue - prev12m_revenue > 10")
    assert isinstance(node, Compare)
    assert node.left == Arith(
        "-", MetricRef("t12m_revenue", MONEY), MetricRef("prev12m_revenue", MONEY), MONEY
    )
    assert node.right == Literal(1000, MONEY)


def test_constant_sum_takes_type_of_what_it_meets() -> None:
    """A sum of literals is typed by the operand it is compared with."""
    node = parse_condition("t12m_revenue >= 1_000 + 0.5")
    assert isinstance(node, Compare)
    assert node.right == Arith("+", Literal(100_000, MONEY), Literal(50, MONEY), MONEY)


def test_negative_literal_is_folded() -> None:
    """Unary minus on a literal gives a negative literal; on a metric it is a Neg node."""
    node = parse_condition("yoy_growth < -0.3 and -prev12m_revenue < 0")
    assert isinstance(node, And)
    assert isinstance(node.left, Compare)
    assert node.left.right == Literal(-0.3, RATIO)
    assert isinstance(node.right, Compare)
    assert node.right.left == Neg(MetricRef("prev12m_revenue", MONEY))


def test_precedence_and_associativity() -> None:
    """The word not binds looser than comparison, and binds tighter than or, * before +."""
    node = parse_condition("not active_months > 1 or true and false")
    assert isinstance(node, Or)
    assert isinstance(node.left, Not)
    assert isinstance(node.right, And)
    arith = parse_condition("yoy_growth - 1 - 2 * 3 > 0")
    assert isinstance(arith, Compare)
    assert arith.left == Arith(
        "-",
        Arith("-", MetricRef("yoy_growth", RATIO), Literal(1.0, RATIO), RATIO),
        Arith("*", Literal(2.0, RATIO), Literal(3.0, RATIO), RATIO),
        RATIO,
    )


def test_share_and_keywords_any_case() -> None:
    """share('p') is a ratio of a known product; keywords may be upper case."""
    node = parse_condition('share("court_express") >= 0.5 AND NOT FALSE')
    assert isinstance(node, And)
    assert isinstance(node.left, Compare)
    assert node.left.left == ShareRef("court_express")
    assert references(node) == [ShareRef("court_express")]


def test_literal_only_comparison() -> None:
    """Comparing two whole literals is a count comparison; a condition may be true."""
    assert _compare("1 < 2").domain is COUNT
    assert parse_condition("true") == Literal(True, BOOLEAN)


def test_user_metric_and_catalog_product() -> None:
    """A registry adds user metrics; a catalogue adds products share() may name."""
    registry = MetricRegistry().with_metric(
        UserMetric("court_cases", "count", lambda table, pf: table.columns["active_months"])
    )
    catalog = default_catalog().with_products([Product("cold_chain", "Cold chain", "冷链")])
    node = parse_condition(
        "court_cases >= 3 and share('cold_chain') > 0", metrics=registry, catalog=catalog
    )
    assert isinstance(node, And)
    assert node.left == Compare(">=", MetricRef("court_cases", COUNT), Literal(3, COUNT), COUNT)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            "t12m_revenue>=1000000 AND active_months>=10",
            "t12m_revenue >= 1_000_000 and active_months >= 10",
        ),
        ("(a_b)".replace("a_b", "yoy_growth > 0.1"), "yoy_growth > 0.1"),
        ("yoy_growth - (1 - 2) > 0", "yoy_growth - (1 - 2) > 0"),
        ("(true or false) and true", "(true or false) and true"),
        ("not (true and false)", "not (true and false)"),
        ("t12m_revenue >= 1234.5", "t12m_revenue >= 1_234.50"),
        ("yoy_growth > 1e-7", "yoy_growth > 1e-07"),
        ("--t12m_revenue > 0", "--t12m_revenue > 0"),
    ],
)
def test_format_is_canonical_and_reparses(text: str, canonical: str) -> None:
    """Printing gives canonical text with needed parentheses only, and parses back equal."""
    node = parse_condition(text)
    assert format_condition(node) == canonical
    assert parse_condition(canonical) == node


# ------------------------------------------------------------------ bad rules


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("t12m_revenue >= ", 17, "ends too early"),
        ("t12m_revenue >= 1 )", 19, "unexpected ')' after a complete condition"),
        ("(t12m_revenue >= 1", 19, "expected ')' to close the '(' at column 1"),
        ("t12m_revenue = 1", 14, "use '==' to compare"),
        ("t12m_revenue >= 1 && true", 19, "use 'and'"),
        ("t12m_revenue >= 1_", 17, "malformed number '1_'"),
        ("t12m_revenue >= 1.2.3", 17, "malformed number"),
        ("t12m_revenue # 1", 14, "unexpected character '#'"),
        ("share('court_express) > 0", 7, "unterminated string"),
        ("", 1, "empty condition"),
        ("1 < active_months < 3", 19, "comparisons cannot be chained"),
        ("share(court_express) > 0", 7, "share() takes one product id in quotes"),
        ("share('a', 'b') > 0", 10, "exactly one product id"),
        ("max(t12m_revenue) > 0", 1, "unknown function 'max'"),
        ("+1 > 0", 1, "no plus sign"),
        ("'court_express' > 0", 1, "quotes belong inside share"),
    ],
)
def test_syntax_errors_name_position(text: str, column: int, message: str) -> None:
    """Syntax errors give the rule, line and column of the problem."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition(text, rule="r1", source="p.toml")
    err = info.value
    assert message in str(err)
    assert err.column == column
    assert err.line == 1
    assert str(err).startswith("p.toml, rule 'r1', line 1, column ")


def test_unknown_metric_with_suggestion_and_position() -> None:
    """An unknown metric is named, with the closest known name, at its column."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition("active_months >= 1 and t12m_revenu > 5", rule="promote")
    assert info.value.column == 24
    assert "unknown metric 't12m_revenu'; did you mean 't12m_revenue'?" in str(info.value)
    assert "rule 'promote'" in str(info.value)


def test_unknown_product_in_share() -> None:
    """A product not in the catalogue is an error at the product's position."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition("share('court_expres') > 0.5")
    assert "unknown product 'court_expres' in share(); did you mean 'court_express'?" in str(
        info.value
    )
    assert info.value.column == 7


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        (
            "t12m_revenue and 3",
            1,
            "'and' needs conditions (true or false), but 't12m_revenue' is money",
        ),
        ("true and 3", 10, "'3' is a number"),
        ("(1 < 2) > 0", 2, "cannot compare with '>': '1 < 2' is a condition"),
        ("not active_months", 5, "'not' needs conditions"),
        ("t12m_revenue > active_months", 14, "cannot compare money and a count"),
        ("t12m_revenue + active_months > 0", 14, "cannot add money and a count"),
        ("t12m_revenue", 1, "a condition must be true or false, but 't12m_revenue' is money"),
        ("1 + 2", 1, "'1 + 2' is a number"),
        ("-(1 < 2) < 0", 3, "'-' needs numbers"),
        ("true * 2 > 0", 1, "'*' needs numbers"),
    ],
)
def test_type_errors(text: str, column: int, message: str) -> None:
    """Type mismatches name the offending operand, its type and position."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition(text)
    assert message in str(info.value)
    assert info.value.column == column


def test_sub_fen_money_literal_is_an_error() -> None:
    """A money literal with digits below the fen is refused at parse time."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition("t12m_revenue >= 1_000.005", rule="r")
    assert "money literal 1_000.005 has digits below the fen" in str(info.value)
    assert info.value.column == 17


def test_sub_fen_is_fine_in_float_arithmetic() -> None:
    """A fine literal is allowed where it meets float64 arithmetic, not money."""
    node = parse_condition("t12m_revenue / 12 >= 1_000.005")
    assert isinstance(node, Compare)
    assert node.right == Literal(1000.005, RATIO)


def test_too_large_literal() -> None:
    """Whole literals beyond 2**53 are refused."""
    with pytest.raises(RuleSyntaxError, match="too large"):
        parse_condition("t12m_volume > 99_999_999_999_999_999")


def test_multiline_position() -> None:
    """Positions count lines and columns in multi-line condition text."""
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition("t12m_revenue >= 1\n  and bogus > 2")
    assert (info.value.line, info.value.column) == (2, 7)


def test_rule_syntax_error_is_value_error() -> None:
    """RuleSyntaxError is both a KeyAccountError and a ValueError."""
    with pytest.raises(ValueError, match="unknown metric"):
        parse_condition("nope > 1")
    assert issubclass(RuleSyntaxError, KeyAccountError)


def test_injection_text_is_rejected() -> None:
    """SQL-looking text never gets through: names must be known metrics."""
    with pytest.raises(RuleSyntaxError):
        parse_condition("t12m_revenue > 0; DROP TABLE customers")
    with pytest.raises(RuleSyntaxError, match="unknown metric 'customers'"):
        parse_condition("customers > 0")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    """Absurd nesting gives a RuleSyntaxError instead of a RecursionError."""
    with pytest.raises(RuleSyntaxError, match="nested too deeply"):
        parse_condition("(" * 5000 + "true" + ")" * 5000)
