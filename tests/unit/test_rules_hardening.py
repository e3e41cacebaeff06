"""Hostile policy inputs: bounded work, exact meaning, one-line errors (issue 8)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.cli import cli
from keyaccount.exceptions import KeyAccountError, PolicyError, RuleSyntaxError
from keyaccount.rules import (
    Compare,
    Literal,
    MetricRef,
    Not,
    Policy,
    Rule,
    ValueType,
    parse_condition,
)
from keyaccount.store import Store
from tests.strategies import generated_policy_text

if TYPE_CHECKING:
    from pathlib import Path

MAX_DEPTH = 64
"""The documented nesting limit of a condition."""


def _error(text: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        parse_condition(text, rule="r", source="p.toml")
    return info.value


# ---------------------------------------------------------------- case 1: huge literals


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "literal",
    ["1e99999999", "1e999999", "1e999999999", "1e-999999999", "9" * 10_000_000, "1" + "0" * 40],
)
def test_huge_literals_are_refused_at_once(literal: str) -> None:
    """A literal with a huge exponent or millions of digits is a RuleSyntaxError, not a hang."""
    error = _error(f"active_months >= {literal}")  # the timeout mark guards the time
    assert (error.rule, error.source, error.line, error.column) == ("r", "p.toml", 1, 18)
    assert len(str(error)) < 300
    assert literal[:20] in str(error)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("t12m_revenue >= 90_071_992_547_409.91", 2**53 - 1),
        ("t12m_revenue >= 9.007199254740991e13", 2**53 - 1),
        ("t12m_revenue >= 1.25e1", 1250),
        ("t12m_revenue >= 1e-2", 1),
        ("active_months >= 9_007_199_254_740_991", 2**53 - 1),
        ("active_months >= 10e-1", 1),
    ],
)
def test_largest_and_exponent_literals_keep_their_exact_value(text: str, value: int) -> None:
    """Money literals become exact fen and counts exact integers, up to 2**53 - 1."""
    node = parse_condition(text)
    assert isinstance(node, Compare)
    assert node.right == Literal(value, node.domain)


@pytest.mark.parametrize(
    "text",
    [
        "t12m_revenue >= 90_071_992_547_409.92",
        "active_months >= 9_007_199_254_740_992",
        f"active_months >= {2**63}",
        "t12m_revenue >= 1e20",
    ],
)
def test_literals_beyond_2_53_are_refused(text: str) -> None:
    """Money (in fen) and count literals of 2**53 or more are refused with the limit."""
    assert "too large" in str(_error(text))


def test_ratio_literals_are_finite() -> None:
    """The largest exponent still gives a finite float64 ratio literal."""
    node = parse_condition("yoy_growth >= 9.999999999999999999999999999999e99")
    assert isinstance(node, Compare)
    assert isinstance(node.right, Literal)
    assert node.right.value == 1e100


@pytest.mark.parametrize("months", [2**63, -1, 1201, 10**30])
def test_min_months_in_tier_is_bounded(months: int) -> None:
    """min_months_in_tier outside 0..1200 is a PolicyError, from Python and from TOML."""
    with pytest.raises(PolicyError, match="0 to 1200"):
        Policy("p", [], min_months_in_tier=months)
    if months >= 0:
        with pytest.raises(PolicyError, match="0 to 1200"):
            Policy.from_toml(f"[policy]\nmin_months_in_tier = {min(months, 2**63 - 1)}\n")


@pytest.mark.parametrize(
    "value", [2**63, 2**53, -(2**53), Decimal("1e30"), 1.5, True, float("inf")]
)
def test_hand_built_conditions_go_through_the_same_bounds(value: object) -> None:
    """A condition built in Python with an out-of-range count literal is refused."""
    condition = Compare(
        ">=",
        MetricRef("active_months", ValueType.COUNT),
        Literal(value, ValueType.COUNT),  # type: ignore[arg-type]
        ValueType.COUNT,
    )
    with pytest.raises(PolicyError, match="count literal"):
        Rule("r", condition, to="KEY")


def test_hand_built_conditions_too_deep_are_refused() -> None:
    """A hand-built tree deeper than the limit is refused without recursion."""
    node: object = Compare(
        ">=",
        MetricRef("active_months", ValueType.COUNT),
        Literal(1, ValueType.COUNT),
        ValueType.COUNT,
    )
    for _ in range(100_000):
        node = Not(node)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="nested too deeply"):
        Rule("r", node, to="KEY")  # type: ignore[arg-type]


def _tiny_store() -> Store:
    store = Store("sqlite://")
    portfolio = Portfolio(
        [Customer("C1", "某中院", "2020-01", tier="KEY")],
        [RevenueRecord("C1", "court_express", "2022-06", "1200")],
    )
    store.save(portfolio, replace=True)
    return store


def test_sql_evaluator_gets_in_range_values_at_the_limits() -> None:
    """Store.evaluate runs with the largest literals and min_months_in_tier allowed."""
    policy = Policy(
        "p",
        [
            Rule("big", "active_months >= 9_007_199_254_740_991", to="STRATEGIC"),
            Rule("money", "t12m_revenue < 90_071_992_547_409.91", to="ACTIVE"),
        ],
        min_months_in_tier=1200,
    )
    with _tiny_store() as store:
        sql = store.evaluate(policy, "2022-12")
    (held,) = sql.held
    assert (held.customer_id, held.rule) == ("C1", "money")
    assert len(sql.transitions) == 0


# ---------------------------------------------------------------- case 3: sub-fen money


@pytest.mark.parametrize(
    "literal",
    ["1000000.0000000000000000000001", "1e-99", "1.5e-2", "0.001", "12.345", "1.0001e1"],
)
def test_sub_fen_money_literals_are_refused_however_written(literal: str) -> None:
    """A money literal with a digit below the fen is refused, never rounded."""
    assert "digits below the fen" in str(_error(f"t12m_revenue >= {literal}"))


# ---------------------------------------------------------------- case 4: unicode digits


@pytest.mark.parametrize(
    ("text", "column", "name"),
    [
        ("active_months >= １０", 18, "FULLWIDTH DIGIT ONE"),
        ("active_months >= ٣", 18, "ARABIC-INDIC DIGIT THREE"),
        ("active_months >= 1٣", 19, "ARABIC-INDIC DIGIT THREE"),
        ("active_months >= 1 and product_count >= ۵", 41, "EXTENDED ARABIC-INDIC DIGIT FIVE"),
        ("active_months >= ²", 18, "SUPERSCRIPT TWO"),
        ("active_months١ >= 1", 14, "ARABIC-INDIC DIGIT ONE"),
    ],
)
def test_only_ascii_digits(text: str, column: int, name: str) -> None:
    """A non-ASCII digit is refused, naming the character and its position."""
    error = _error(text)
    assert name in str(error)
    assert error.column == column


def test_identifiers_are_ascii_only() -> None:
    """A metric name with a homoglyph letter is refused (Cyrillic 'а' is not 'a')."""
    assert "U+0430" in str(_error("\u0430ctive_months >= 1"))


# ---------------------------------------------------------------- case 5: depth


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "make",
    [
        lambda n: "(" * n + "active_months > 1" + ")" * n,
        lambda n: "not " * n + "active_months > 1",
        lambda n: "active_months > " + "-" * n + "1",
        lambda n: " and ".join(["active_months > 1"] * n),
        lambda n: "active_months + " + " + ".join(["1"] * n) + " > 0",
    ],
)
def test_nesting_is_bounded(make: object) -> None:
    """Conditions nest at most 64 levels; beyond, and at 100,000, a RuleSyntaxError."""
    assert callable(make)
    for n in (MAX_DEPTH + 1, 100_000):
        assert "nested too deeply" in str(_error(make(n)))


def _deepest() -> list[str]:
    return [
        "(" * (MAX_DEPTH - 1) + "active_months > 1" + ")" * (MAX_DEPTH - 1),
        "not " * (MAX_DEPTH - 1) + "active_months > 1",
        " and ".join(["active_months > 1"] * MAX_DEPTH),
        # an ``or`` chain at the limit is checked without the SQL evaluator (see below)
        "active_months + " + " + ".join(["1"] * (MAX_DEPTH - 2)) + " > 0",
    ]


@pytest.mark.parametrize("text", _deepest())
def test_deepest_conditions_run_on_every_evaluator(text: str) -> None:
    """At the depth limit the reference, columnar and SQL evaluators agree (no RecursionError)."""
    policy = Policy("p", [Rule("deep", text, to="STRATEGIC")])
    policy.validate()
    assert Policy.from_toml(policy.to_toml()) == policy
    with _tiny_store() as store:
        portfolio = store.load()
        expected = policy.evaluate(portfolio, "2022-12", engine="reference")
        columnar = policy.evaluate(portfolio, "2022-12")
        sql = store.evaluate(policy, "2022-12")
    assert [str(t) for t in expected] == [str(t) for t in columnar] == [str(t) for t in sql]


@pytest.mark.timeout(30)
def test_deeply_nested_toml_is_a_policy_error() -> None:
    """10,000 nested arrays give a PolicyError naming the file, not a RecursionError."""
    for depth in (10_000, 100):
        with pytest.raises(PolicyError, match=r"p\.toml: not a policy: .* nest deeper than 16"):
            Policy.from_toml("x = " + "[" * depth + "]" * depth, source="p.toml")
    with pytest.raises(PolicyError, match="nest deeper"):
        Policy.from_dict({"policy": {"description": [[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]}})


def test_deepest_or_chain_runs_in_memory_and_a_short_one_in_sql() -> None:
    """A 64-term ``or`` chain evaluates in memory; SQL agrees on a 16-term one.

    The SQL evaluator's explanation query grows steeply with the length of an
    ``or`` chain (about 90 s for 64 terms on SQLite), so the SQL side is
    checked on a shorter chain here.
    """
    with _tiny_store() as store:
        portfolio = store.load()
        for n, sql in ((MAX_DEPTH, False), (16, True)):
            policy = Policy("p", [Rule("deep", " or ".join(["active_months > 1"] * n), to="KEY")])
            expected = [str(t) for t in policy.evaluate(portfolio, "2022-12", engine="reference")]
            assert [str(t) for t in policy.evaluate(portfolio, "2022-12")] == expected
            if sql:
                assert [str(t) for t in store.evaluate(policy, "2022-12")] == expected


# ---------------------------------------------------------------- case 6: BOM


def test_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark at the start of a policy file or text is ignored."""
    text = '[policy]\nname = "b"\n\n[[rule]]\nname = "r"\nto = "KEY"\nwhen = "active_months >= 3"\n'
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = Policy.from_toml(text)
    assert Policy.load(path) == expected
    assert Policy.from_toml("\ufeff" + text) == expected


# ---------------------------------------------------------------- case 7: long values shortened


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000 + " > 1",
        "share('" + "p" * 100_000 + "') > 0.5",
        "active_months > 1" + "x" * 100_000,
        "active_months >= 1_" + "0" * 100_000,
    ],
)
def test_long_values_are_shortened_in_messages(text: str) -> None:
    """A 100,000-character name or literal is quoted by its start and its length."""
    message = str(_error(text))
    assert len(message) < 400
    assert "characters)" in message


def test_long_rule_names_are_shortened() -> None:
    """A huge rule name is shortened in parse errors and policy errors."""
    name = "n" * 100_000
    with pytest.raises(RuleSyntaxError) as info:
        Rule(name, "bogus > 1", to="KEY")
    assert len(str(info.value)) < 400
    with pytest.raises(PolicyError) as policy_info:
        Policy("p", [Rule(name, "true", to="KEY"), Rule(name, "true", to="KEY")])
    assert len(str(policy_info.value)) < 400


# ---------------------------------------------------------------- CLI: one line


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "when",
    [
        "active_months >= 1e99999999",
        "active_months >= 1e999999999",
        "active_months >= " + "9" * 10_000_000,
        "active_months >= １０",
        "t12m_revenue >= 1e-999999999",
        "(" * 5000 + "true" + ")" * 5000,
    ],
)
def test_rules_check_gives_one_error_line(tmp_path: Path, when: str) -> None:
    """`keyaccount rules check` refuses each hostile condition with one `Error:` line."""
    path = tmp_path / "p.toml"
    path.write_text(f'[[rule]]\nname = "r"\nto = "KEY"\nwhen = "{when}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "rule 'r'" in lines[0]
    assert "line 1, column" in lines[0]
    assert len(lines[0]) < 500


@pytest.mark.timeout(60)
def test_rules_check_on_deeply_nested_toml(tmp_path: Path) -> None:
    """`rules check` on 10,000 nested arrays gives one `Error:` line naming the file."""
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 10_000 + "]" * 10_000, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", str(path)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    assert "deep.toml" in line


# ---------------------------------------------------------------- case 2: many rules


@pytest.mark.timeout(120)
def test_150000_rules_load_and_validate_in_bounded_time(tmp_path: Path) -> None:
    """A generated 150,000-rule policy (about 17 MB) loads and validates (near-linear work)."""
    path = tmp_path / "big.toml"
    path.write_text(generated_policy_text(150_000), encoding="utf-8")
    policy = Policy.load(path)
    assert len(policy.rules) == 150_000
    findings = policy.validate()
    assert any(f.code == "shadowed-rule" for f in findings)
    assert sum(f.code == "flip-flop" for f in findings) <= 1000


def test_validation_finds_shadowing_among_many_rules() -> None:
    """Among 2,000 thresholds, the one rule shadowed by an earlier weaker one is found."""
    rules = [
        Rule(f"r{i}", f"t12m_revenue >= {10_000 - i}", to="KEY", from_tiers=["ACTIVE"])
        for i in range(2000)
    ]
    rules.append(Rule("late", "t12m_revenue >= 9_500", to="KEY", from_tiers=["ACTIVE"]))
    shadowed = [f.rules for f in Policy("p", rules).validate() if f.code == "shadowed-rule"]
    assert shadowed == [("r500", "late")]


def test_errors_are_keyaccount_errors() -> None:
    """Every refusal above is a KeyAccountError (the CLI's one-line error)."""
    assert issubclass(RuleSyntaxError, KeyAccountError)
    assert issubclass(PolicyError, KeyAccountError)
