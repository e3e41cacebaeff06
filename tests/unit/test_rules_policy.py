"""Policies and rules: Python construction, TOML files, saving, errors and the default policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from keyaccount import Segment, Tier
from keyaccount.exceptions import PolicyError, PolicyValidationError, RuleSyntaxError
from keyaccount.rules import (
    UNASSIGNED,
    MetricRegistry,
    Policy,
    Rule,
    UserMetric,
    default_policy,
    default_registry,
    parse_condition,
    register_metric,
)
from keyaccount.rules._default import default_policy_text

if TYPE_CHECKING:
    from pathlib import Path

POLICY = """
[policy]
name = "monthly-tiering"
min_months_in_tier = 3

[[rule]]
name = "promote-key"
from = ["ACTIVE"]             # tiers (names or Chinese labels); omitted = any
to = "重点客户"
when = "t12m_revenue >= 1_000_000 and active_months >= 10"

[[rule]]
name = "court-to-judicial"
from_segment = ["UNASSIGNED", "金融"]
to_segment = "司法"
when = "share('court_express') >= 0.5"
"""


def test_load_policy_from_toml_text() -> None:
    """A policy file gives named rules with parsed targets, filters and conditions."""
    policy = Policy.from_toml(POLICY, source="tiering.toml")
    assert policy.name == "monthly-tiering"
    assert policy.min_months_in_tier == 3
    promote, court = policy.rules
    assert (promote.kind, promote.to, promote.from_tiers) == ("tier", Tier.KEY, (Tier.ACTIVE,))
    assert promote.condition == parse_condition("t12m_revenue >= 1_000_000 and active_months >= 10")
    assert (court.kind, court.to_segment, court.from_segments) == (
        "segment",
        Segment.JUDICIAL,
        (None, Segment.FINANCE),
    )
    assert policy.tier_rules == (promote,)
    assert policy.segment_rules == (court,)
    assert policy.rule("court-to-judicial") is court


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """Saving writes TOML that load reads back to an equal policy; the file names errors."""
    policy = Policy.from_toml(POLICY)
    path = tmp_path / "p.toml"
    policy.save(path)
    loaded = Policy.load(path)
    assert loaded == policy
    assert loaded.source == str(path)
    assert 'from_segment = ["UNASSIGNED", "FINANCE"]' in path.read_text(encoding="utf-8")


def test_policy_name_defaults_to_file_stem(tmp_path: Path) -> None:
    """A file without [policy] takes its name from the file."""
    path = tmp_path / "spring.toml"
    path.write_text('[[rule]]\nname = "r"\nto = "KEY"\nwhen = "true"\n', encoding="utf-8")
    policy = Policy.load(path)
    assert (policy.name, policy.min_months_in_tier) == ("spring", 0)


def test_rule_from_python_with_labels() -> None:
    """Rules accept tier and segment names or Chinese labels, and single values."""
    rule = Rule("r", "true", to="战略", from_tiers="规模客户", from_segments=[None, "电商TOP"])
    assert rule.to is Tier.STRATEGIC
    assert rule.from_tiers == (Tier.KEY,)
    assert rule.from_segments == (None, Segment.ECOMMERCE_TOP)
    assert rule.matches(Tier.KEY, None)
    assert not rule.matches(Tier.ACTIVE, None)
    assert rule.to_dict()["from_segment"] == [UNASSIGNED, "ECOMMERCE_TOP"]


def test_rule_equality_ignores_condition_spelling() -> None:
    """Two rules with the same meaning written differently are equal."""
    a = Rule("r", "t12m_revenue>=1000000", to="KEY")
    b = Rule("r", "(t12m_revenue >= 1_000_000)", to="KEY")
    assert a == b
    assert a.when != b.when


def test_rule_from_ast() -> None:
    """A rule built from a parsed condition prints it as its text."""
    rule = Rule("r", parse_condition("active_months>=3"), to="KEY")
    assert rule.when == "active_months >= 3"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "GOLD"}, "rule 'r': unknown tier 'GOLD' in 'to'"),
        ({"to": "KEY", "from_tiers": ["KEY", "PLATINUM"]}, "unknown tier 'PLATINUM' in 'from'"),
        ({"to_segment": "RETAIL"}, "unknown segment 'RETAIL' in 'to_segment'"),
        ({"to_segment": "UNASSIGNED"}, "'to_segment' must name a segment"),
        ({"to": "KEY", "from_segments": ["SPORTS"]}, "unknown segment 'SPORTS' in 'from_segment'"),
        ({}, "exactly one of 'to' (a tier) and 'to_segment'"),
        ({"to": "KEY", "to_segment": "JUDICIAL"}, "exactly one of 'to'"),
        ({"to": "KEY", "from_tiers": []}, "'from' is empty"),
    ],
)
def test_bad_rule_targets_and_filters(kwargs: dict[str, object], message: str) -> None:
    """Unknown tiers or segments and missing targets are PolicyErrors naming the rule."""
    with pytest.raises(PolicyError) as info:
        Rule("r", "true", source="p.toml", **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert str(info.value).startswith("p.toml: rule 'r': ")


def test_duplicate_rule_names() -> None:
    """Rule names identify rules in history, so they must be unique."""
    with pytest.raises(PolicyError, match="rule name 'r' is used twice"):
        Policy("p", [Rule("r", "true", to="KEY"), Rule("r", "false", to="ACTIVE")])


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_bad_min_months(value: object) -> None:
    """min_months_in_tier must be a whole number >= 0."""
    with pytest.raises(PolicyError, match="min_months_in_tier"):
        Policy("p", min_months_in_tier=value)  # type: ignore[arg-type]


def test_file_errors_name_the_file_and_rule() -> None:
    """A bad condition in a file names the file, the rule and the position."""
    text = POLICY.replace("active_months >= 10", "active_month >= 10")
    with pytest.raises(RuleSyntaxError) as info:
        Policy.from_toml(text, source="tiering.toml")
    assert str(info.value).startswith(
        "tiering.toml, rule 'promote-key', line 1, column 31 of the condition: "
        "unknown metric 'active_month'"
    )


def test_all_problems_of_a_file_are_raised_together() -> None:
    """Several bad rules give one PolicyValidationError listing each problem."""
    text = """
[policy]
name = "p"
colour = "blue"

[[rule]]
name = "a"
to = "KEY"
when = "t12m_revenue >= 0.001"

[[rule]]
name = "b"
to = "GOLD"
when = "true"

[[rule]]
to = "KEY"
when = "true"

[[rule]]
name = "c"
to = "KEY"
when = "true"
frm = ["ACTIVE"]
"""
    with pytest.raises(PolicyValidationError) as info:
        Policy.from_toml(text, source="bad.toml")
    messages = [str(e) for e in info.value.exceptions]
    assert len(messages) == 5
    assert any("unknown key 'colour' in [policy]" in m for m in messages)
    assert any("rule 'a'" in m and "digits below the fen" in m for m in messages)
    assert any("rule 'b': unknown tier 'GOLD'" in m for m in messages)
    assert any("rule #3: missing 'name'" in m for m in messages)
    assert any("rule 'c': unknown key 'frm'" in m for m in messages)
    assert all(m.startswith("bad.toml") for m in messages)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\n", "not valid TOML"),
        ('[[rule]]\nname = "r"\nto = "KEY"\n', "rule 'r': missing 'when'"),
        ('[[rule]]\nname = "r"\nto = "KEY"\nwhen = 3\n', "'when' must be text"),
        ('rule = "x"\n', "'rule' must be an array of tables"),
        ('policy = "x"\n', "'policy' must be a table"),
        ('extra = 1\n[[rule]]\nname = "r"\nto = "KEY"\nwhen = "true"\n', "top-level key 'extra'"),
    ],
)
def test_malformed_files(text: str, message: str) -> None:
    """Structural problems in a file are PolicyErrors with the file named."""
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(text, source="x.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("x.toml: ")


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file is a PolicyError naming the path."""
    with pytest.raises(PolicyError, match=r"cannot read policy file .*missing\.toml"):
        Policy.load(tmp_path / "missing.toml")


def test_toml_strings_are_escaped() -> None:
    """Quotes, backslashes, newlines and Chinese text survive the round trip."""
    policy = Policy(
        'a "quoted" \\ name',
        [Rule("r\t1", "true", to="KEY", description="第一行\n第二行 \x01")],
        description="说明",
    )
    assert Policy.from_toml(policy.to_toml()) == policy


def test_user_metric_registry() -> None:
    """A registry rejects clashes and bad names; register_metric extends the default."""
    with pytest.raises(PolicyError, match="built-in metric"):
        UserMetric("t12m_revenue", "money", lambda t, p: t.columns["t12m_revenue"])
    with pytest.raises(PolicyError, match="word of the rule language"):
        UserMetric("share", "ratio", lambda t, p: None)
    with pytest.raises(PolicyError, match="lower snake case"):
        UserMetric("Bad Name", "ratio", lambda t, p: None)
    with pytest.raises(PolicyError, match="unknown metric kind 'percent'"):
        UserMetric("x", "percent", lambda t, p: None)
    metric = UserMetric("x", "count", lambda t, p: t.columns["active_months"])
    with pytest.raises(PolicyError, match="registered twice"):
        MetricRegistry((metric, metric))
    before = default_registry()
    try:
        register_metric("notebook_metric", "count", lambda t, p: t.columns["active_months"])
        assert "notebook_metric" in default_registry()
        assert Rule("r", "notebook_metric > 1", to="KEY").condition is not None
    finally:
        import keyaccount.rules._registry as registry_module

        registry_module._default = before
    with pytest.raises(RuleSyntaxError, match="unknown metric 'notebook_metric'"):
        Rule("r", "notebook_metric > 1", to="KEY")


def test_user_metric_bad_column() -> None:
    """A user metric returning the wrong shape or floats for money is refused."""
    from keyaccount import Customer, Portfolio

    pf = Portfolio([Customer("C1", "x", "2022-01")])
    table = pf.metrics("2022-06")
    short = UserMetric("short", "count", lambda t, p: [1, 2, 3])
    with pytest.raises(PolicyError, match=r"returned shape \(3,\)"):
        short.column(table)
    floats = UserMetric("floats", "money", lambda t, p: [1.5])
    with pytest.raises(PolicyError, match="must be integer arrays"):
        floats.column(table)


def test_default_policy_loads_and_is_clean() -> None:
    """The shipped policy loads, has the documented rules and no errors or warnings."""
    policy = default_policy()
    assert [r.name for r in policy.rules] == [
        "dormant",
        "reactivate",
        "promote-strategic",
        "promote-key",
        "demote-strategic",
        "demote-key",
        "judicial",
        "auto-ecosystem",
        "finance",
        "insurance",
    ]
    assert policy.min_months_in_tier == 3
    assert all(f.severity.value == "info" for f in policy.validate())
    assert Policy.from_toml(default_policy_text()) == policy
    assert Policy.from_toml(policy.to_toml()) == policy


def test_policy_needs_the_registry_of_its_rules() -> None:
    """A rule naming a user metric needs a policy built with that metric's registry."""
    registry = MetricRegistry().with_metric(
        UserMetric("x", "count", lambda t, p: t.columns["active_months"])
    )
    rule = Rule("r", "x > 1", to="KEY", metrics=registry)
    with pytest.raises(PolicyError, match="uses the metric 'x', which the policy's metrics"):
        Policy("p", [rule])
    assert Policy("p", [rule], metrics=registry).rules == (rule,)
