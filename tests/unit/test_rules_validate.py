"""Policy validation: the transition graph and findings about rules."""

from __future__ import annotations

from keyaccount import Segment, Tier
from keyaccount.rules import (
    UNASSIGNED,
    Finding,
    Policy,
    Rule,
    Severity,
    default_policy,
    transition_graph,
    validate,
)


def _codes(policy: Policy) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.code, f.rules) for f in validate(policy)]


def _ladder(*extra: Rule, min_months: int = 0) -> Policy:
    """A policy that moves between all tiers, plus ``extra`` rules."""
    base = [
        Rule("sleep", "months_since_last >= 6", to="DORMANT"),
        Rule("wake", "months_since_last == 0", to="ACTIVE", from_tiers=["DORMANT"]),
        Rule("up", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["ACTIVE"]),
        Rule("top", "t12m_revenue >= 10_000_000", to="STRATEGIC", from_tiers=["KEY"]),
        Rule("down", "t12m_revenue < 500_000", to="ACTIVE", from_tiers=["KEY", "STRATEGIC"]),
    ]
    return Policy("p", [*base, *extra], min_months_in_tier=min_months)


def test_graph_has_an_edge_per_rule_and_source() -> None:
    """Edges run from each from-tier (or every tier) to the target, named by the rule."""
    graph = transition_graph(_ladder())
    assert graph.has_edge(Tier.ACTIVE, Tier.KEY, key="up")
    assert graph.has_edge(Tier.STRATEGIC, Tier.ACTIVE, key="down")
    assert not graph.has_edge(Tier.DORMANT, Tier.DORMANT)  # no self loops
    assert {s for s, _ in graph.in_edges(Tier.DORMANT)} == {
        Tier.ACTIVE,
        Tier.KEY,
        Tier.STRATEGIC,
    }
    assert graph.nodes[UNASSIGNED]["kind"] == "segment"
    assert graph.nodes[Tier.KEY]["kind"] == "tier"


def test_clean_policy_has_no_findings() -> None:
    """A ladder with disjoint promotion and demotion thresholds is clean."""
    assert validate(_ladder()) == []


def test_unreachable_and_inescapable_tiers() -> None:
    """Tiers no rule moves into or out of are warnings."""
    policy = Policy("p", [Rule("up", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["ACTIVE"])])
    found = {(f.code, f.message) for f in validate(policy)}
    assert ("unreachable-tier", "no rule moves customers into STRATEGIC") in found
    assert ("inescapable-tier", "no rule moves customers out of KEY") in found
    assert ("unreachable-tier", "no rule moves customers into KEY") not in found


def test_rule_after_an_always_true_rule_is_shadowed() -> None:
    """An earlier rule with the same from whose condition is always true shadows later ones."""
    policy = _ladder(
        Rule("catch-all", "true", to="KEY", from_tiers=["KEY"]),
        Rule("too-late", "yoy_growth > 1", to="STRATEGIC", from_tiers=["KEY"]),
    )
    assert ("shadowed-rule", ("catch-all", "too-late")) in _codes(policy)
    assert ("stay-rule", ("catch-all",)) in _codes(policy)


def test_identical_condition_is_shadowed() -> None:
    """A later rule with the same condition and narrower from can never decide."""
    policy = Policy(
        "p",
        [
            Rule("a", "yoy_growth > 0.5 or active_months == 12", to="KEY"),
            Rule(
                "b",
                "(yoy_growth > 0.5) or (active_months == 12)",
                to="STRATEGIC",
                from_tiers=["ACTIVE"],
            ),
        ],
    )
    assert ("shadowed-rule", ("a", "b")) in _codes(policy)


def test_stronger_threshold_on_same_metric_is_shadowed() -> None:
    """A rule x >= 10M after x >= 1M (same from) never fires; the reverse order is fine."""
    shadowed = Policy(
        "p",
        [
            Rule("low", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["ACTIVE"]),
            Rule(
                "high",
                "t12m_revenue >= 10_000_000 and active_months >= 6",
                to="STRATEGIC",
                from_tiers=["ACTIVE"],
            ),
        ],
    )
    assert ("shadowed-rule", ("low", "high")) in _codes(shadowed)
    fine = Policy("p", list(reversed(shadowed.rules)))
    assert all(code != "shadowed-rule" for code, _ in _codes(fine))


def test_wider_from_is_not_shadowed() -> None:
    """A later rule that also considers other tiers can still fire for those."""
    policy = Policy(
        "p",
        [
            Rule("a", "true", to="KEY", from_tiers=["ACTIVE"]),
            Rule("b", "true", to="KEY", from_tiers=["ACTIVE", "DORMANT"]),
        ],
    )
    assert all(code != "shadowed-rule" for code, _ in _codes(policy))


def test_condition_never_true() -> None:
    """A constant false or unknown condition never fires: an error."""
    policy = Policy(
        "p",
        [Rule("off", "false", to="KEY"), Rule("silly", "1 > 2 or not true", to="KEY")],
    )
    codes = _codes(policy)
    assert ("never-fires", ("off",)) in codes
    assert ("never-fires", ("silly",)) in codes
    assert validate(policy)[0].severity is Severity.ERROR


def test_overlapping_promote_and_demote_thresholds_flip() -> None:
    """Promote at x >= a and demote at x < b with b > a: customers in [a, b) could flip."""
    policy = Policy(
        "p",
        [
            Rule(
                "up",
                "t12m_revenue >= 1_000_000 and active_months >= 10",
                to="KEY",
                from_tiers=["ACTIVE"],
            ),
            Rule("down", "t12m_revenue < 1_200_000.50", to="ACTIVE", from_tiers=["KEY"]),
        ],
        min_months_in_tier=3,
    )
    (flip,) = [f for f in validate(policy) if f.code == "flip-flop"]
    assert flip.rules == ("up", "down")
    assert flip.severity is Severity.WARNING
    assert "1_000_000 <= t12m_revenue < 1_200_000.50" in flip.message
    assert "every 3 months" in flip.message


def test_hysteresis_band_does_not_flip() -> None:
    """Promote at x >= a and demote at x < b with b <= a is fine."""
    policy = Policy(
        "p",
        [
            Rule("up", "t12m_revenue >= 1_000_000", to="KEY", from_tiers=["ACTIVE"]),
            Rule("down", "t12m_revenue < 1_000_000", to="ACTIVE", from_tiers=["KEY"]),
        ],
    )
    assert all(f.code != "flip-flop" for f in validate(policy))


def test_segment_flip_and_reachability() -> None:
    """Segment rules are checked too; unassigned segments are listed as info."""
    policy = Policy(
        "p",
        [
            Rule("j", "share('court_express') >= 0.3", to_segment="JUDICIAL"),
            Rule(
                "f",
                "share('court_express') <= 0.6",
                to_segment="FINANCE",
                from_segments=["JUDICIAL"],
            ),
        ],
    )
    findings = validate(policy)
    assert any(f.code == "flip-flop" and f.rules == ("j", "f") for f in findings)
    info = [f for f in findings if f.code == "unreachable-segment"]
    assert info
    assert Segment.INTERNET.name in info[0].message


def test_findings_print_and_sort() -> None:
    """Findings sort errors first and print their severity and code."""
    policy = Policy("p", [Rule("off", "false", to="KEY")])
    findings = validate(policy)
    assert findings[0].severity is Severity.ERROR
    assert str(findings[0]).startswith("error: rule 'off' can never fire")
    assert str(Finding(Severity.INFO, "x", "m")) == "info: m [x]"


def test_default_policy_graph_connects_all_tiers() -> None:
    """The default policy can move customers into and out of every tier."""
    graph = transition_graph(default_policy())
    for tier in Tier:
        assert graph.in_degree(tier) > 0
        assert graph.out_degree(tier) > 0
    assert graph.has_edge(UNASSIGNED, Segment.JUDICIAL, key="judicial")
