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

Validation takes time close to linear in the number of rules: rules are
indexed by the thresholds and sub-conditions they share, so a rule is only
compared with rules that can interact with it. Two bounds keep the work
linear for policies of many similar rules:

- ``shadowed-rule``: rules whose condition is one threshold, or always true,
  are found exactly; of the other earlier rules that share a metric or a
  sub-condition with a rule, at most :data:`SHADOW_CHECKS` are compared with it.
- ``flip-flop``: each rule is compared with at most :data:`FLIP_FLOP_CHECKS`
  later rules that move customers back and share a threshold metric with it;
  at most :data:`MAX_FLIP_FLOPS` flip-flop warnings are listed, then one
  ``flip-flop-limit`` note says the list was cut.
"""

from __future__ import annotations

import bisect
import enum
import heapq
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs
import networkx as nx

from keyaccount.domain import Segment, Tier
from keyaccount.exceptions import shorten
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
    from collections.abc import Iterable, Iterator

    from keyaccount.rules._policy import Policy, Rule

__all__ = [
    "FLIP_FLOP_CHECKS",
    "MAX_FLIP_FLOPS",
    "SHADOW_CHECKS",
    "Finding",
    "Severity",
    "transition_graph",
    "validate",
]

SHADOW_CHECKS = 16
"""Earlier rules with compound conditions compared with each rule for ``shadowed-rule``."""

FLIP_FLOP_CHECKS = 64
"""Later candidate rules compared with each rule for ``flip-flop``."""

MAX_FLIP_FLOPS = 1000
"""The most ``flip-flop`` warnings listed for one chain."""

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
    return _overlap_of(ia, ib)


def _overlap_of(ia: dict[Expr, _Interval], ib: dict[Expr, _Interval]) -> list[str] | None:
    """:func:`_overlap` of two conditions' threshold intervals."""
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


# ---------------------------------------------------------------- indexes

_Filter = tuple[frozenset[Tier] | None, frozenset[Segment | None] | None]
_Key = tuple[str, Expr]


def _filter(rule: Rule) -> _Filter:
    return (
        None if rule.from_tiers is None else frozenset(rule.from_tiers),
        None if rule.from_segments is None else frozenset(rule.from_segments),
    )


def _filter_covers(first: _Filter, later: _Filter) -> bool:
    """:func:`_covers` on the ``from`` filters of two rules."""
    return (first[0] is None or (later[0] is not None and later[0] <= first[0])) and (
        first[1] is None or (later[1] is not None and later[1] <= first[1])
    )


def _universal(a: Expr) -> bool:
    """Whether :func:`implies` holds for ``a`` whatever the other condition."""
    if constant_value(a) is True:
        return True
    if isinstance(a, Or):
        return _universal(a.left) or _universal(a.right)
    if isinstance(a, And):
        return _universal(a.left) and _universal(a.right)
    return False


def _skeleton(node: Expr) -> Iterator[Expr]:
    """``node`` and every node reached from it through ``and`` and ``or``."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, And | Or):
            stack += (n.right, n.left)


def _leaf_keys(leaf: Expr) -> list[_Key]:
    found = _as_interval(leaf)
    keys: list[_Key] = [("node", leaf)]
    if found is not None:
        keys.append(("interval", found[0]))
    return keys


def _keys(condition: Expr) -> set[_Key]:
    """What a later rule's condition offers: its skeleton nodes and threshold expressions."""
    out: set[_Key] = set()
    for n in _skeleton(condition):
        out.update(_leaf_keys(n))
    return out


def _required(condition: Expr) -> list[_Key] | None:
    """For a condition without ``or``: one key per leaf that another condition must offer.

    ``None`` for a condition with ``or`` (any of its leaves may be the one implied).
    """
    leaves = [n for n in _skeleton(condition) if not isinstance(n, And | Or)]
    if any(isinstance(n, Or) for n in _skeleton(condition)):
        return None
    return [_leaf_keys(leaf)[-1] for leaf in leaves if not _universal(leaf)]


@attrs.define
class _Thresholds:
    """Earlier one-threshold rules on one expression with one ``from`` filter.

    Lower bounds are kept only when weaker than every earlier one (so the
    list is ordered both by rule and by bound), likewise upper bounds; with
    the first rule of each ``==`` value, this finds the earliest rule whose
    threshold holds whenever a given interval's does, with a binary search.
    """

    first: int = -1
    lows: list[tuple[Fraction, int]] = attrs.Factory(list)  # (-low, -open), rising
    low_rules: list[int] = attrs.Factory(list)
    highs: list[tuple[Fraction, int]] = attrs.Factory(list)  # (high, closed), rising
    high_rules: list[int] = attrs.Factory(list)
    points: dict[Fraction, int] = attrs.Factory(dict)

    def add(self, index: int, interval: _Interval) -> None:
        if self.first < 0:
            self.first = index
        if interval.low is not None and interval.high is not None:
            self.points.setdefault(interval.low, index)
        elif interval.low is not None:
            key = (-interval.low, -int(not interval.low_closed))
            if not self.lows or key > self.lows[-1]:
                self.lows.append(key)
                self.low_rules.append(index)
        elif interval.high is not None:
            key = (interval.high, int(interval.high_closed))
            if not self.highs or key > self.highs[-1]:
                self.highs.append(key)
                self.high_rules.append(index)

    def earliest(self, have: _Interval) -> int | None:
        """The earliest rule whose threshold ``have`` lies within, or ``None``."""
        if have.empty:
            return self.first
        found: list[int] = []
        if have.low is not None:
            p = bisect.bisect_left(self.lows, (-have.low, -int(not have.low_closed)))
            if p < len(self.lows):
                found.append(self.low_rules[p])
            if have.low == have.high and have.low in self.points:
                found.append(self.points[have.low])
        if have.high is not None:
            p = bisect.bisect_left(self.highs, (have.high, int(have.high_closed)))
            if p < len(self.highs):
                found.append(self.high_rules[p])
        return min(found, default=None)


def _shadowing(rules: tuple[Rule, ...], dead: set[int]) -> dict[int, int]:
    """For each rule that can never decide, the earliest earlier rule that shadows it.

    The same answer as comparing every pair with :func:`implies` (within the
    bound :data:`SHADOW_CHECKS` on compound earlier rules).
    """
    shadowed: dict[int, int] = {}
    universal: dict[_Filter, int] = {}  # earliest always-implied rule per filter
    thresholds: dict[Expr, dict[_Filter, _Thresholds]] = {}
    compound: dict[_Key, list[int]] = {}  # compound rules by one required key
    ored: dict[_Key, list[int]] = {}  # conditions with ``or``, by every leaf
    single: dict[_Key, list[int]] = {}  # one-threshold rules, for conditions with ``or``
    required: dict[int, set[_Key]] = {}
    filters = [_filter(r) for r in rules]
    for i, later in enumerate(rules):
        if i in dead:
            continue
        b, mine = later.condition, filters[i]
        best = min((j for f, j in universal.items() if _filter_covers(f, mine)), default=len(rules))
        offered = _keys(b)
        if not isinstance(b, Or):
            have, _ = _intervals(_conjuncts(b))
            for expr, interval in have.items():
                for f, group in thresholds.get(expr, {}).items():
                    j = group.earliest(interval) if _filter_covers(f, mine) else None
                    if j is not None and j < best:
                        best = j
        lists = [compound.get(k, []) for k in offered] + [ored.get(k, []) for k in offered]
        if isinstance(b, Or):  # otherwise one-threshold rules are answered exactly above
            lists += [single.get(k, []) for k in offered]
        for checks, j in enumerate(_ascending(lists)):
            if j >= best or checks >= SHADOW_CHECKS:
                break
            if (
                _filter_covers(filters[j], mine)
                and required.get(j, set()) <= offered
                and implies(b, rules[j].condition)
            ):
                best = j
        if best < len(rules):
            shadowed[i] = best
        # the rule as an earlier rule for the rules after it
        a = later.condition
        if _universal(a):
            universal.setdefault(mine, i)
            continue
        simple = _as_interval(a)
        if simple is not None:
            expr, interval = simple
            thresholds.setdefault(expr, {}).setdefault(mine, _Thresholds()).add(i, interval)
            single.setdefault(("interval", expr), []).append(i)
            continue
        need = _required(a)
        if need is None:
            for leaf_key in {k for leaf in _skeleton(a) for k in _leaf_keys(leaf)}:
                ored.setdefault(leaf_key, []).append(i)
        else:
            required[i] = set(need)
            key = next((k for k in need if k[0] == "node" and _as_interval(k[1]) is None), None)
            if key is None and need:
                key = need[0]
            if key is None:  # every leaf always implied: a universal rule
                universal.setdefault(mine, i)
            else:
                compound.setdefault(key, []).append(i)
    return shadowed


def _ascending(lists: Iterable[Iterable[int]]) -> Iterator[int]:
    """The distinct numbers of several ascending lists, in ascending order."""
    last = -1
    for j in heapq.merge(*lists):
        if j != last:
            yield j
            last = j


def _tail(items: list[int], start: int) -> Iterator[int]:
    """``items[start:]`` without copying it."""
    return (items[k] for k in range(start, len(items)))


def _flip_flops(policy: Policy, rules: tuple[Rule, ...]) -> list[Finding]:
    """Pairs of rules moving customers in opposite directions under overlapping thresholds."""
    any_source = "*"
    index: dict[tuple[Expr, Node, Node | str], list[int]] = {}
    thresholds: list[dict[Expr, _Interval]] = []
    for j, rule in enumerate(rules):
        have, _ = _intervals(_conjuncts(rule.condition))
        thresholds.append(have)
        sources = _sources(rule)
        for expr in have:
            for source in [any_source] if sources is None else sources:
                index.setdefault((expr, _target(rule), source), []).append(j)
    all_targets = {_target(r) for r in rules}
    findings: list[Finding] = []
    for i, a in enumerate(rules):
        ta, sa = _target(a), _sources(a)
        targets = all_targets if sa is None else sa & all_targets
        lists: list[Iterator[int]] = []
        for expr in thresholds[i]:
            for tb in targets:
                if tb == ta:
                    continue
                for source in (ta, any_source):
                    found = index.get((expr, tb, source), [])
                    lists.append(_tail(found, bisect.bisect_right(found, i)))
        for checks, j in enumerate(_ascending(lists)):
            if checks >= FLIP_FLOP_CHECKS:
                break
            ranges = _overlap_of(thresholds[i], thresholds[j])
            if ranges is None:
                continue
            if len(findings) == MAX_FLIP_FLOPS:
                findings.append(
                    Finding(
                        Severity.INFO,
                        "flip-flop-limit",
                        f"more rules may flip-flop: only the first {MAX_FLIP_FLOPS} pairs are "
                        "listed",
                    )
                )
                return findings
            findings.append(_flip_flop(policy, a, rules[j], ranges))
    return findings


def _flip_flop(policy: Policy, a: Rule, b: Rule, ranges: list[str]) -> Finding:
    ta, tb = _target(a), _target(b)
    hold = ""
    if isinstance(ta, Tier) and isinstance(tb, Tier):
        hold = (
            f"; min_months_in_tier = {policy.min_months_in_tier} slows this to one round "
            f"trip every {policy.min_months_in_tier} months"
            if policy.min_months_in_tier > 1
            else "; min_months_in_tier does not slow it down"
        )
    return Finding(
        Severity.WARNING,
        "flip-flop",
        f"rules {shorten(a.name)} (-> {_name(ta)}) and {shorten(b.name)} (-> {_name(tb)}) "
        f"both hold for {_cut(' and '.join(ranges))}: such a customer could move "
        f"back and forth every month{hold}",
        (a.name, b.name),
    )


def _cut(text: str, limit: int = 400) -> str:
    """``text`` as it is, or shortened (quoted, with its length) when longer than ``limit``."""
    return text if len(text) <= limit else shorten(text, limit)


def _chain_findings(policy: Policy, rules: tuple[Rule, ...]) -> list[Finding]:
    findings: list[Finding] = []
    dead: set[int] = set()
    for i, rule in enumerate(rules):
        if constant_value(rule.condition) is not True and not references(rule.condition):
            dead.add(i)
            findings.append(
                Finding(
                    Severity.ERROR,
                    "never-fires",
                    f"rule {shorten(rule.name)} can never fire: its condition "
                    f"{shorten(format_condition(rule.condition), 400)} is never true",
                    (rule.name,),
                )
            )
        sources = _sources(rule)
        if sources == {_target(rule)}:
            findings.append(
                Finding(
                    Severity.INFO,
                    "stay-rule",
                    f"rule {shorten(rule.name)} only keeps customers in {_name(_target(rule))} "
                    "(a stay rule: it protects them from later rules)",
                    (rule.name,),
                )
            )
    for i, j in sorted(_shadowing(rules, dead).items()):
        later, first = rules[i], rules[j]
        findings.append(
            Finding(
                Severity.ERROR,
                "shadowed-rule",
                f"rule {shorten(later.name)} can never fire: the earlier rule "
                f"{shorten(first.name)} considers the same customers and holds whenever it holds",
                (first.name, later.name),
            )
        )
    findings += _flip_flops(policy, rules)
    return findings


def _name(node: Node) -> str:
    return node if isinstance(node, str) else node.name


def _moves(policy: Policy) -> tuple[set[Node], set[Node]]:
    """The nodes of :func:`transition_graph` with an edge in, and with an edge out."""
    into: set[Node] = set()
    out_of: set[Node] = set()
    for rule in policy.rules:
        target = _target(rule)
        sources = _sources(rule)
        if sources is None:
            sources = set(Tier) if rule.to is not None else {*Segment, UNASSIGNED}
        sources.discard(target)
        if sources:
            into.add(target)
            out_of.update(sources)
    return into, out_of


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
    into, out_of = _moves(policy)
    if policy.tier_rules:
        for tier in TIERS:
            if tier not in into:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "unreachable-tier",
                        f"no rule moves customers into {tier.name}",
                    )
                )
            if tier not in out_of:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "inescapable-tier",
                        f"no rule moves customers out of {tier.name}",
                    )
                )
    if policy.segment_rules:
        unreached = [s.name for s in Segment if s not in into]
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
