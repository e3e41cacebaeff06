"""Checks of a policy before it runs: the transition graph (networkx) and rule overlaps.

Findings, by code:

- ``unreachable-tier`` (warning): no tier rule moves customers into a tier.
- ``inescapable-tier`` (warning): no tier rule moves customers out of a tier.
- ``never-fires`` (error): a condition that is never true (``false``, ``1 > 2``).
- ``shadowed-rule`` (error): an earlier rule of the same chain considers every
  customer the rule considers and is true whenever it is true (an identical or
  always-true condition, or a weaker threshold on the same metric), so the
  rule can never decide.
- ``flip-flop`` (warning): two rules move customers in opposite directions
  (A: X -> Y, B: Y -> X) and some metric values satisfy both, so a customer
  could move back and forth every month (every ``min_months_in_tier`` months
  when the move back is a held demotion).
- ``stay-rule`` (info): a rule whose only ``from`` is its target: it keeps
  customers where they are, protecting them from later rules.
- ``unreachable-segment`` (info): segments no segment rule assigns.

Thresholds are understood for comparisons of one metric (or one expression)
with a constant, joined by ``and``; other conditions are treated as opaque.
"""

from __future__ import annotations

import enum
import itertools
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs
import networkx as nx

from keyaccount.domain import Segment, Tier
from keyaccount.portfolio._columns import TIERS
from keyaccount.rules._ast import (
    And,
    Compare,
    Expr,
    Literal,
    Or,
    ValueType,
    format_condition,
    format_literal,
    references,
)
from keyaccount.rules._policy import UNASSIGNED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from keyaccount.rules._policy import Policy, Rule

__all__ = ["Finding", "Severity", "transition_graph", "validate"]

Node = Tier | Segment | str


class Severity(enum.Enum):
    """How serious a finding is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@attrs.frozen
class Finding:
    """One observation about a policy.

    Attributes:
        severity: ``error`` (the policy does not do what it says), ``warning``
            (probably unintended) or ``info``.
        code: A stable identifier, e.g. ``shadowed-rule`` (see the module doc).
        message: One line for people, naming the rules and values.
        rules: The rules concerned.
    """

    severity: Severity
    code: str
    message: str
    rules: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message} [{self.code}]"


def _node(value: Tier | Segment | None) -> Node:
    return UNASSIGNED if value is None else value


def transition_graph(policy: Policy) -> nx.MultiDiGraph[Node]:
    """The tiers and segments the policy's rules can move customers between.

    Nodes are every :class:`~keyaccount.Tier`, every :class:`~keyaccount.Segment`
    and ``"UNASSIGNED"``, each with a ``kind`` attribute (``"tier"`` or
    ``"segment"``). There is one edge per rule and ``from`` value other than the
    target, with the rule's name as ``rule`` attribute and key.

    Example:
        >>> from keyaccount.rules import default_policy
        >>> g = transition_graph(default_policy())
        >>> g.has_edge(Tier.ACTIVE, Tier.KEY)
        True
    """
    graph: nx.MultiDiGraph[Node] = nx.MultiDiGraph(name=policy.name)
    graph.add_nodes_from(TIERS, kind="tier")
    graph.add_nodes_from([*Segment, UNASSIGNED], kind="segment")
    for rule in policy.rules:
        if rule.to is not None:
            sources: Iterable[Node] = rule.from_tiers if rule.from_tiers is not None else Tier
            target: Node = rule.to
        else:
            sources = (
                [_node(s) for s in rule.from_segments]
                if rule.from_segments is not None
                else [*Segment, UNASSIGNED]
            )
            target = _node(rule.to_segment)
        for source in sources:
            if source != target:
                graph.add_edge(source, target, key=rule.name, rule=rule.name)
    return graph


# ---------------------------------------------------------------- conditions as intervals


@attrs.frozen
class _Interval:
    low: Fraction | None = None
    low_closed: bool = True
    high: Fraction | None = None
    high_closed: bool = True

    def meet(self, other: _Interval) -> _Interval:
        low, low_closed = self.low, self.low_closed
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and not other.low_closed)
        ):
            low, low_closed = other.low, other.low_closed
        high, high_closed = self.high, self.high_closed
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and not other.high_closed)
        ):
            high, high_closed = other.high, other.high_closed
        return _Interval(low, low_closed, high, high_closed)

    @property
    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (
            self.low == self.high and not (self.low_closed and self.high_closed)
        )

    def within(self, other: _Interval) -> bool:
        if self.empty:
            return True
        if other.low is not None:
            if self.low is None or self.low < other.low:
                return False
            if self.low == other.low and self.low_closed and not other.low_closed:
                return False
        if other.high is not None:
            if self.high is None or self.high > other.high:
                return False
            if self.high == other.high and self.high_closed and not other.high_closed:
                return False
        return True


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def _bound(literal: Literal, domain: ValueType) -> Fraction:
    if domain is ValueType.MONEY:
        return Fraction(int(literal.value), 100)
    return Fraction(literal.value)


def _as_interval(node: Expr) -> tuple[Expr, _Interval] | None:
    """``expr op constant`` as ``(expr, interval)``; money bounds in yuan."""
    if not isinstance(node, Compare) or node.op == "!=":
        return None
    left, op, right = node.left, node.op, node.right
    if isinstance(left, Literal) and not isinstance(right, Literal):
        left, right, op = right, left, _FLIPPED[op]
    if not isinstance(right, Literal) or isinstance(left, Literal):
        return None
    value = _bound(right, node.domain)  # money: yuan, in either domain
    interval = {
        "<": _Interval(high=value, high_closed=False),
        "<=": _Interval(high=value),
        ">": _Interval(low=value, low_closed=False),
        ">=": _Interval(low=value),
        "==": _Interval(low=value, high=value),
    }[op]
    return left, interval


def _conjuncts(node: Expr) -> list[Expr]:
    if isinstance(node, And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _intervals(conjuncts: Iterable[Expr]) -> tuple[dict[Expr, _Interval], list[Expr]]:
    """Intervals per expression, and the conjuncts that are not thresholds."""
    intervals: dict[Expr, _Interval] = {}
    opaque: list[Expr] = []
    for c in conjuncts:
        found = _as_interval(c)
        if found is None:
            opaque.append(c)
        else:
            expr, interval = found
            intervals[expr] = intervals.get(expr, _Interval()).meet(interval)
    return intervals, opaque


def constant_value(condition: Expr) -> bool | None:
    """The value of a condition that names no metric (``None``: unknown or not constant)."""
    if references(condition):
        return None
    from keyaccount.rules._reference import CustomerFacts, evaluate

    value = evaluate(condition, CustomerFacts("-", Tier.ACTIVE, None, {}))
    return value if isinstance(value, bool) else None


def implies(b: Expr, a: Expr) -> bool:
    """Whether ``b`` being true guarantees ``a`` is true (``False``: cannot tell)."""
    if constant_value(a) is True or a == b:
        return True
    if isinstance(b, Or):
        return implies(b.left, a) and implies(b.right, a)
    if isinstance(a, Or):
        return implies(b, a.left) or implies(b, a.right)
    if isinstance(a, And):
        return implies(b, a.left) and implies(b, a.right)
    conjuncts = _conjuncts(b)
    if a in conjuncts:
        return True
    found = _as_interval(a)
    if found is None:
        return False
    expr, wanted = found
    have, _ = _intervals(conjuncts)
    return expr in have and have[expr].within(wanted)


def _covers(first: Rule, later: Rule) -> bool:
    """Whether ``first``'s ``from`` filters pass every customer ``later``'s pass."""
    tiers = first.from_tiers is None or (
        later.from_tiers is not None and set(later.from_tiers) <= set(first.from_tiers)
    )
    segments = first.from_segments is None or (
        later.from_segments is not None and set(later.from_segments) <= set(first.from_segments)
    )
    return tiers and segments


def _show(value: Fraction, kind: ValueType) -> str:
    if kind is ValueType.MONEY and (value * 100).denominator == 1:
        return format_literal(Literal(int(value * 100), ValueType.MONEY))
    if kind is ValueType.COUNT and value.denominator == 1:
        return str(int(value))
    return repr(float(value))


def _describe(expr: Expr, interval: _Interval) -> str:
    name = format_condition(expr)
    if interval.low is not None and interval.low == interval.high:
        return f"{name} == {_show(interval.low, expr.type)}"
    parts = []
    if interval.low is not None:
        parts.append(f"{_show(interval.low, expr.type)} {'<=' if interval.low_closed else '<'} ")
    parts.append(name)
    if interval.high is not None:
        parts.append(f" {'<=' if interval.high_closed else '<'} {_show(interval.high, expr.type)}")
    return "".join(parts)


def _overlap(a: Expr, b: Expr) -> list[str] | None:
    """Threshold ranges satisfying both conditions, or ``None`` when none or unknown."""
    ia, _ = _intervals(_conjuncts(a))
    ib, _ = _intervals(_conjuncts(b))
    shared = [e for e in ia if e in ib]
    if not shared:
        return None
    ranges = []
    for expr in shared:
        both = ia[expr].meet(ib[expr])
        if both.empty:
            return None
        ranges.append(_describe(expr, both))
    return ranges


def _target(rule: Rule) -> Node:
    return rule.to if rule.to is not None else _node(rule.to_segment)


def _sources(rule: Rule) -> set[Node] | None:
    if rule.to is not None:
        return None if rule.from_tiers is None else set(rule.from_tiers)
    return None if rule.from_segments is None else {_node(s) for s in rule.from_segments}


def _chain_findings(policy: Policy, rules: tuple[Rule, ...]) -> list[Finding]:
    findings: list[Finding] = []
    dead: set[str] = set()
    for rule in rules:
        if constant_value(rule.condition) is not True and not references(rule.condition):
            dead.add(rule.name)
            findings.append(
                Finding(
                    Severity.ERROR,
                    "never-fires",
                    f"rule {rule.name!r} can never fire: its condition "
                    f"{format_condition(rule.condition)!r} is never true",
                    (rule.name,),
                )
            )
        sources = _sources(rule)
        if sources == {_target(rule)}:
            findings.append(
                Finding(
                    Severity.INFO,
                    "stay-rule",
                    f"rule {rule.name!r} only keeps customers in {_name(_target(rule))} "
                    "(a stay rule: it protects them from later rules)",
                    (rule.name,),
                )
            )
    for i, later in enumerate(rules):
        if later.name in dead:
            continue
        for first in rules[:i]:
            if first.name in dead or not _covers(first, later):
                continue
            if implies(later.condition, first.condition):
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "shadowed-rule",
                        f"rule {later.name!r} can never fire: the earlier rule {first.name!r} "
                        "considers the same customers and holds whenever it holds",
                        (first.name, later.name),
                    )
                )
                break
    for a, b in itertools.combinations(rules, 2):
        sa, sb = _sources(a), _sources(b)
        ta, tb = _target(a), _target(b)
        if ta == tb or (sb is not None and ta not in sb) or (sa is not None and tb not in sa):
            continue
        ranges = _overlap(a.condition, b.condition)
        if ranges is None:
            continue
        hold = ""
        if isinstance(ta, Tier) and isinstance(tb, Tier):
            hold = (
                f"; min_months_in_tier = {policy.min_months_in_tier} slows this to one round "
                f"trip every {policy.min_months_in_tier} months"
                if policy.min_months_in_tier > 1
                else "; min_months_in_tier does not slow it down"
            )
        findings.append(
            Finding(
                Severity.WARNING,
                "flip-flop",
                f"rules {a.name!r} (-> {_name(ta)}) and {b.name!r} (-> {_name(tb)}) both hold "
                f"for {' and '.join(ranges)}: such a customer could move back and forth "
                f"every month{hold}",
                (a.name, b.name),
            )
        )
    return findings


def _name(node: Node) -> str:
    return node if isinstance(node, str) else node.name


def validate(policy: Policy) -> list[Finding]:
    """Check a policy; findings are sorted errors first, then warnings, then infos.

    Example:
        >>> from keyaccount.rules import Policy, Rule
        >>> p = Policy("p", [Rule("up", "t12m_revenue >= 1_000", to="KEY", from_tiers=["ACTIVE"]),
        ...                  Rule("up2", "t12m_revenue >= 5_000", to="KEY", from_tiers=["ACTIVE"])])
        >>> [f.code for f in validate(p) if f.severity is Severity.ERROR]
        ['shadowed-rule']
    """
    findings: list[Finding] = []
    graph = transition_graph(policy)
    if policy.tier_rules:
        for tier in TIERS:
            if graph.in_degree(tier) == 0:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "unreachable-tier",
                        f"no rule moves customers into {tier.name}",
                    )
                )
            if graph.out_degree(tier) == 0:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "inescapable-tier",
                        f"no rule moves customers out of {tier.name}",
                    )
                )
    if policy.segment_rules:
        unreached = [s.name for s in Segment if graph.in_degree(s) == 0]
        if unreached:
            findings.append(
                Finding(
                    Severity.INFO,
                    "unreachable-segment",
                    f"no segment rule assigns {', '.join(unreached)}",
                )
            )
    findings += _chain_findings(policy, policy.tier_rules)
    findings += _chain_findings(policy, policy.segment_rules)
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])
