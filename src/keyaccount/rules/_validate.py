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

What the checks ask of a condition (its thresholds as intervals, its ``and``
operands, whether it is always true) is worked out once per condition node,
and equal sub-conditions get the same small integer, so that the indexes and
the pairwise comparisons work on integers (:class:`_Facts`).
"""

from __future__ import annotations

import bisect
import enum
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

import attrs

import keyaccount.rules._ast as nodes
from keyaccount.domain import TIERS, Segment, Tier
from keyaccount.exceptions import shorten
from keyaccount.rules._ast import Expr, ValueType, format_condition, format_literal, references
from keyaccount.rules._reference import CustomerFacts, condition_value
from keyaccount.rules._rule import UNASSIGNED
from keyaccount.utils import paused_gc

if TYPE_CHECKING:
    from collections.abc import Iterable

    import networkx as nx

    from keyaccount.rules._rule import PolicyRules, Rule

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


def transition_graph(policy: PolicyRules) -> nx.MultiDiGraph[Node]:
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
    import networkx as nx  # here: importing the rules loads no networkx

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

_Bound = Fraction | int | float
"""A threshold: yuan for money (a ``Fraction`` unless whole), else the literal's value.

``int``, ``float`` and ``Fraction`` compare exactly with one another in Python,
so every comparison below is exact whatever the mix.
"""


class _Interval(NamedTuple):
    low: _Bound | None = None
    low_closed: bool = True
    high: _Bound | None = None
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


def _bound(literal: nodes.Literal, domain: ValueType) -> _Bound:
    value = literal.value
    if domain is ValueType.MONEY:
        yuan, fen = divmod(int(value), 100)
        return Fraction(int(value), 100) if fen else yuan
    if isinstance(value, bool):
        return int(value)
    return value


def _threshold_interval(op: str, value: _Bound) -> _Interval:
    """The values ``x`` with ``x op value``."""
    if op == ">=":
        return _Interval(value, True, None, True)
    if op == ">":
        return _Interval(value, False, None, True)
    if op == "<=":
        return _Interval(None, True, value, True)
    if op == "<":
        return _Interval(None, True, value, False)
    return _Interval(value, True, value, True)  # ==


def constant_value(condition: Expr) -> bool | None:
    """The value of a condition that names no metric (``None``: unknown or not constant)."""
    if references(condition):
        return None
    return condition_value(condition, CustomerFacts("-", Tier.ACTIVE, None, {}))


_Threshold = tuple[int, Expr, _Interval]
"""``expr op constant`` as the ident of ``expr``, ``expr`` itself and its interval."""


def _key(node: Expr) -> tuple[object, ...]:
    """Equal for equal nodes (``==``, which ignores source positions), else different.

    Nested tuples of the fields ``==`` compares, which hash and compare in C; a
    value type by its ``_value_`` (an enum member hashes in Python).
    """
    kind = type(node)
    if isinstance(node, nodes.MetricRef):
        return (kind, node.name, node.type._value_)
    if isinstance(node, nodes.Literal):
        return (kind, node.value, node.type._value_)
    if isinstance(node, nodes.Compare):
        return (kind, node.op, _key(node.left), _key(node.right), node.domain._value_)
    if isinstance(node, nodes.Arith):
        return (kind, node.op, _key(node.left), _key(node.right), node.type._value_)
    if isinstance(node, nodes.And | nodes.Or):
        return (kind, _key(node.left), _key(node.right))
    if isinstance(node, nodes.Neg | nodes.Not):
        return (kind, _key(node.operand))
    assert isinstance(node, nodes.ShareRef)
    return (kind, node.product_id)


def _names_metric(node: Expr) -> bool:
    """Whether ``node`` refers to a metric or a share (``references`` is not empty)."""
    if isinstance(node, nodes.MetricRef | nodes.ShareRef):
        return True
    if isinstance(node, nodes.Compare | nodes.Arith | nodes.And | nodes.Or):
        return _names_metric(node.left) or _names_metric(node.right)
    if isinstance(node, nodes.Neg | nodes.Not):
        return _names_metric(node.operand)
    return False


_NO_INTERVALS: dict[int, _Interval] = {}  # shared, never changed
_NO_EXPRS: dict[int, Expr] = {}


class _Info:
    """What validation needs of one node of a condition's ``and`` / ``or`` skeleton.

    Attributes:
        ident: Equal nodes have equal idents, different nodes different ones
            (see :class:`_Facts`).
        left: For ``and`` and ``or``, the left operand's info (else ``None``).
        right: Likewise the right operand's.
        is_or: Whether the node is an ``or``.
        named: Whether the node refers to a metric or a share.
        true: Whether the node names no metric and is always true.
        universal: Whether :func:`implies` holds for it whatever the other
            condition (always true, an ``or`` with a universal side, an ``and``
            of two).
        threshold: ``expr op constant`` as ``(ident of expr, expr, interval)``.
        conjuncts: For an ``and``, the idents of the operands of its ``and``
            chain (``None`` for any other node: its only operand is itself).
        intervals: The thresholds among those operands, met per expression
            ident, in the order the expressions first appear.
        exprs: For each of those, the first of the equal expressions (for messages).
        offered: What the node offers to the shadowing index as a later rule's
            condition: the keys of every node of its skeleton, ``2 * ident``,
            and of the expression of each threshold among them, ``2 * ident + 1``.
        required: For a node without ``or`` in its skeleton, the keys a
            condition must offer to imply it: one per leaf that is not
            universal (its threshold expression's key for a threshold, else its
            own), in text order; ``None`` with an ``or``.
    """

    __slots__ = (
        "conjuncts",
        "exprs",
        "ident",
        "intervals",
        "is_or",
        "left",
        "named",
        "offered",
        "required",
        "right",
        "threshold",
        "true",
        "universal",
    )

    ident: int
    left: _Info | None
    right: _Info | None
    is_or: bool
    named: bool
    true: bool
    universal: bool
    threshold: _Threshold | None
    conjuncts: frozenset[int] | None
    intervals: dict[int, _Interval]
    exprs: dict[int, Expr]
    offered: frozenset[int]
    required: tuple[int, ...] | None

    def __init__(self, facts: _Facts, node: Expr) -> None:
        if isinstance(node, nodes.And | nodes.Or):
            self._branch(facts, node)
        else:
            self._leaf(facts, node)

    def _branch(self, facts: _Facts, node: nodes.And | nodes.Or) -> None:
        left = self.left = facts.info(node.left)
        right = self.right = facts.info(node.right)
        self.ident = ident = facts.intern((type(node), left.ident, right.ident))
        self.named = left.named or right.named
        self.true = not self.named and constant_value(node) is True
        self.threshold = None
        self.offered = left.offered | right.offered | {2 * ident}
        if isinstance(node, nodes.Or):
            self.is_or = True
            self.universal = self.true or left.universal or right.universal
            self.required = None
            self.conjuncts = None
            self.intervals = _NO_INTERVALS
            self.exprs = _NO_EXPRS
            return
        self.is_or = False
        self.universal = self.true or (left.universal and right.universal)
        self.required = (
            None
            if left.required is None or right.required is None
            else left.required + right.required
        )
        self.conjuncts = (left.conjuncts or frozenset((left.ident,))) | (
            right.conjuncts or frozenset((right.ident,))
        )
        if not right.intervals or not left.intervals:
            self.intervals = left.intervals or right.intervals
            self.exprs = left.exprs or right.exprs
            return
        intervals = dict(left.intervals)
        exprs = dict(left.exprs)
        for key, interval in right.intervals.items():
            if key in intervals:
                intervals[key] = intervals[key].meet(interval)
            else:
                intervals[key] = interval
                exprs[key] = right.exprs[key]
        self.intervals = intervals
        self.exprs = exprs

    def _leaf(self, facts: _Facts, node: Expr) -> None:
        self.left = self.right = None
        self.is_or = False
        self.conjuncts = None
        self.threshold = None
        self.intervals = _NO_INTERVALS
        self.exprs = _NO_EXPRS
        if not isinstance(node, nodes.Compare):
            self.ident = facts.intern(_key(node))
            self.named = _names_metric(node)
            self.universal = self.true = not self.named and constant_value(node) is True
            own = 2 * self.ident
            self.offered = frozenset((own,))
            self.required = () if self.universal else (own,)
            return
        # a comparison: computed from the keys of its two sides, which it also needs
        # when it is a threshold
        left, op, right = node.left, node.op, node.right
        left_key, right_key = _key(left), _key(right)
        self.ident = facts.intern((type(node), op, left_key, right_key, node.domain._value_))
        self.named = _names_metric(left) or _names_metric(right)
        self.universal = self.true = not self.named and constant_value(node) is True
        own = 2 * self.ident
        self.offered = frozenset((own,))
        self.required = () if self.universal else (own,)
        if op == "!=":
            return
        if isinstance(left, nodes.Literal) and not isinstance(right, nodes.Literal):
            left, right, op, left_key = right, left, _FLIPPED[op], right_key
        if isinstance(right, nodes.Literal) and not isinstance(left, nodes.Literal):
            expr = facts.intern(left_key)
            # money: yuan, in either domain
            interval = _threshold_interval(op, _bound(right, node.domain))
            self.threshold = (expr, left, interval)
            self.intervals = {expr: interval}
            self.exprs = {expr: left}
            self.offered = frozenset((own, 2 * expr + 1))
            self.required = () if self.universal else (2 * expr + 1,)


def _implies(b: _Info, a: _Info) -> bool:
    """Whether ``b`` being true guarantees ``a`` is true (``False``: cannot tell)."""
    if a.true or a.ident == b.ident:
        return True
    if b.is_or and b.left is not None and b.right is not None:
        return _implies(b.left, a) and _implies(b.right, a)
    if a.left is not None and a.right is not None:
        if a.is_or:
            return _implies(b, a.left) or _implies(b, a.right)
        return _implies(b, a.left) and _implies(b, a.right)  # and
    # a is a leaf, b a leaf or an ``and``; a leaf b was a.ident == b.ident above
    if b.conjuncts is not None and a.ident in b.conjuncts:
        return True
    if a.threshold is None:
        return False
    key, _, wanted = a.threshold
    have = b.intervals.get(key)
    return have is not None and have.within(wanted)


class _Facts:
    """What validation works out about conditions, once per condition node.

    A node's :class:`_Info` is remembered by ``id``: each node belongs to a
    rule of the policy being validated, which keeps it alive until validation
    ends (rules with the same condition object share it). Equal nodes get the
    same *ident*, a small integer, so that conditions are compared and indexed
    by integers instead of by hashing and comparing trees for every pair of rules.
    """

    def __init__(self) -> None:
        self._interned: dict[tuple[object, ...], int] = {}
        self._infos: dict[int, _Info] = {}

    def intern(self, key: tuple[object, ...]) -> int:
        """The ident of a node's key (:func:`_key`, or an ``and`` / ``or`` of two idents)."""
        return self._interned.setdefault(key, len(self._interned))

    def info(self, node: Expr) -> _Info:
        """The :class:`_Info` of a node of a condition's skeleton."""
        found = self._infos.get(id(node))
        if found is None:
            found = self._infos[id(node)] = _Info(self, node)
        return found


def implies(b: Expr, a: Expr) -> bool:
    """Whether ``b`` being true guarantees ``a`` is true (``False``: cannot tell)."""
    facts = _Facts()
    return _implies(facts.info(b), facts.info(a))


def _show(value: _Bound, kind: ValueType) -> str:
    value = Fraction(value)
    if kind is ValueType.MONEY and (value * 100).denominator == 1:
        return format_literal(nodes.Literal(int(value * 100), ValueType.MONEY))
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


def _overlap_of(
    ia: dict[int, _Interval], ib: dict[int, _Interval], exprs: dict[int, Expr]
) -> list[str] | None:
    """Threshold ranges satisfying both conditions, or ``None`` when none or unknown.

    ``ia`` and ``ib`` are the intervals of two conditions (:meth:`_Facts.have`),
    ``exprs`` the expressions of ``ia``.
    """
    shared = [e for e in ia if e in ib]
    if not shared:
        return None
    ranges = []
    for expr in shared:
        both = ia[expr].meet(ib[expr])
        if both.empty:
            return None
        ranges.append(_describe(exprs[expr], both))
    return ranges


def _target(rule: Rule) -> Node:
    return rule.to if rule.to is not None else _node(rule.to_segment)


def _sources(rule: Rule) -> set[Node] | None:
    if rule.to is not None:
        return None if rule.from_tiers is None else set(rule.from_tiers)
    return None if rule.from_segments is None else {_node(s) for s in rule.from_segments}


# ---------------------------------------------------------------- indexes

_Filter = tuple[frozenset[Tier] | None, frozenset[Segment | None] | None]


def _filter(rule: Rule) -> _Filter:
    return (
        None if rule.from_tiers is None else frozenset(rule.from_tiers),
        None if rule.from_segments is None else frozenset(rule.from_segments),
    )


def _filter_covers(first: _Filter, later: _Filter) -> bool:
    """Whether ``first``'s ``from`` filters pass every customer ``later``'s pass."""
    return (first[0] is None or (later[0] is not None and later[0] <= first[0])) and (
        first[1] is None or (later[1] is not None and later[1] <= first[1])
    )


@attrs.define
class _Thresholds:
    """Earlier one-threshold rules on one expression with one ``from`` filter.

    Lower bounds are kept only when weaker than every earlier one (so the
    list is ordered both by rule and by bound), likewise upper bounds; with
    the first rule of each ``==`` value, this finds the earliest rule whose
    threshold holds whenever a given interval's does, with a binary search.
    """

    first: int = -1
    lows: list[tuple[_Bound, int]] = attrs.Factory(list)  # (-low, -open), rising
    low_rules: list[int] = attrs.Factory(list)
    highs: list[tuple[_Bound, int]] = attrs.Factory(list)  # (high, closed), rising
    high_rules: list[int] = attrs.Factory(list)
    points: dict[_Bound, int] = attrs.Factory(dict)

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


def _shadowing(facts: _Facts, rules: tuple[Rule, ...], dead: set[int]) -> dict[int, int]:
    """For each rule that can never decide, the earliest earlier rule that shadows it.

    The same answer as comparing every pair with :func:`implies` (within the
    bound :data:`SHADOW_CHECKS` on compound earlier rules).
    """
    n = len(rules)
    shadowed: dict[int, int] = {}
    universal: dict[_Filter, int] = {}  # earliest always-implied rule per filter
    universal_best: dict[_Filter, int] = {}  # the earliest of those covering a filter
    thresholds: dict[int, dict[_Filter, _Thresholds]] = {}  # by expression ident
    compound: dict[int, list[int]] = {}  # compound rules by one required key
    ored: dict[int, list[int]] = {}  # conditions with ``or``, by every leaf
    single: dict[int, list[int]] = {}  # one-threshold rules, for conditions with ``or``
    required: dict[int, frozenset[int]] = {}
    no_groups: dict[_Filter, _Thresholds] = {}
    no_keys: frozenset[int] = frozenset()
    filters: dict[tuple[object, object], _Filter] = {}  # the filters met so far
    mine_of: list[_Filter] = []
    for rule in rules:
        spec = (rule.from_tiers, rule.from_segments)
        mine = filters.get(spec)
        if mine is None:
            mine = filters[spec] = _filter(rule)
        mine_of.append(mine)
    infos = [facts.info(rule.condition) for rule in rules]
    for i in range(n):
        if i in dead:
            continue
        b, mine = infos[i], mine_of[i]
        best = universal_best.get(mine)
        if best is None:
            best = universal_best[mine] = min(
                (j for f, j in universal.items() if _filter_covers(f, mine)), default=n
            )
        offered = b.offered
        b_is_or = b.is_or
        if not b_is_or:
            for key, interval in b.intervals.items():
                for f, group in thresholds.get(key, no_groups).items():
                    if _filter_covers(f, mine):
                        j = group.earliest(interval)
                        if j is not None and j < best:
                            best = j
        lists: list[list[int]] = []
        for k in offered:
            items = compound.get(k)
            if items is not None and items[0] < best:
                lists.append(items)
            items = ored.get(k)
            if items is not None and items[0] < best:
                lists.append(items)
            if b_is_or:  # otherwise one-threshold rules are answered exactly above
                items = single.get(k)
                if items is not None and items[0] < best:
                    lists.append(items)
        if lists:
            candidates = lists[0] if len(lists) == 1 else _first(lists, -1, SHADOW_CHECKS)
            for checks, j in enumerate(candidates):
                if j >= best or checks >= SHADOW_CHECKS:
                    break
                if (
                    _filter_covers(mine_of[j], mine)
                    and required.get(j, no_keys) <= offered
                    and _implies(b, infos[j])
                ):
                    best = j
        if best < n:
            shadowed[i] = best
        # the rule as an earlier rule for the rules after it
        a = b
        if a.universal:
            if mine not in universal:
                universal[mine] = i
                universal_best.clear()
            continue
        simple = a.threshold
        if simple is not None:
            key, _, interval = simple
            groups = thresholds.get(key)
            if groups is None:
                groups = thresholds[key] = {}
            mine_group = groups.get(mine)
            if mine_group is None:
                mine_group = groups[mine] = _Thresholds()
            mine_group.add(i, interval)
            single.setdefault(2 * key + 1, []).append(i)
            continue
        need = a.required
        if need is None:
            for leaf_key in a.offered:
                ored.setdefault(leaf_key, []).append(i)
        else:
            required[i] = frozenset(need)
            first = next((k for k in need if k % 2 == 0), None)  # a leaf that is no threshold
            if first is None and need:
                first = need[0]
            if first is None:  # every leaf always implied: a universal rule
                if mine not in universal:
                    universal[mine] = i
                    universal_best.clear()
            else:
                compound.setdefault(first, []).append(i)
    return shadowed


def _first(lists: list[list[int]], above: int, count: int) -> list[int]:
    """The ``count`` smallest distinct numbers greater than ``above`` of ascending lists.

    Ascending: only the first ``count`` such numbers of each list can be among them.
    """
    found: set[int] = set()
    for items in lists:
        start = bisect.bisect_right(items, above) if above >= 0 else 0
        found.update(items[start : start + count])
    return sorted(found)[:count]


def _flip_flops(facts: _Facts, policy: PolicyRules, rules: tuple[Rule, ...]) -> list[Finding]:
    """Pairs of rules moving customers in opposite directions under overlapping thresholds."""
    any_source = "*"
    index: dict[tuple[int, Node, Node | str], list[int]] = {}
    haves = [(info.intervals, info.exprs) for info in map(facts.info, (r.condition for r in rules))]
    targets_of = [_target(rule) for rule in rules]
    sources_of = [_sources(rule) for rule in rules]
    for j, (have, _) in enumerate(haves):
        if not have:
            continue
        target, sources = targets_of[j], sources_of[j]
        for key in have:
            for source in [any_source] if sources is None else sources:
                index.setdefault((key, target, source), []).append(j)
    all_targets = set(targets_of)
    findings: list[Finding] = []
    for i, a in enumerate(rules):
        have_a, exprs_a = haves[i]
        if not have_a:
            continue
        ta, sa = targets_of[i], sources_of[i]
        targets = all_targets if sa is None else sa & all_targets
        lists: list[list[int]] = []
        for key in have_a:
            for tb in targets:
                if tb == ta:
                    continue
                for source in (ta, any_source):
                    found = index.get((key, tb, source))
                    if found is not None and found[-1] > i:
                        lists.append(found)
        if not lists:
            continue
        for j in _first(lists, i, FLIP_FLOP_CHECKS):
            ranges = _overlap_of(have_a, haves[j][0], exprs_a)
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


def _flip_flop(policy: PolicyRules, a: Rule, b: Rule, ranges: list[str]) -> Finding:
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


def _chain_findings(facts: _Facts, policy: PolicyRules, rules: tuple[Rule, ...]) -> list[Finding]:
    findings: list[Finding] = []
    dead: set[int] = set()
    for i, rule in enumerate(rules):
        condition = rule.condition
        info = facts.info(condition)
        if not info.named and not info.true:
            dead.add(i)
            findings.append(
                Finding(
                    Severity.ERROR,
                    "never-fires",
                    f"rule {shorten(rule.name)} can never fire: its condition "
                    f"{shorten(format_condition(condition), 400)} is never true",
                    (rule.name,),
                )
            )
        sources = _sources(rule)
        if sources is not None and len(sources) == 1 and _target(rule) in sources:
            findings.append(
                Finding(
                    Severity.INFO,
                    "stay-rule",
                    f"rule {shorten(rule.name)} only keeps customers in {_name(_target(rule))} "
                    "(a stay rule: it protects them from later rules)",
                    (rule.name,),
                )
            )
    for i, j in sorted(_shadowing(facts, rules, dead).items()):
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
    findings += _flip_flops(facts, policy, rules)
    return findings


def _name(node: Node) -> str:
    return node if isinstance(node, str) else node.name


def _moves(rules: Iterable[Rule]) -> tuple[set[Node], set[Node]]:
    """The nodes of :func:`transition_graph` with an edge in, and with an edge out."""
    into: set[Node] = set()
    out_of: set[Node] = set()
    for rule in rules:
        target = _target(rule)
        sources = _sources(rule)
        if sources is None:
            sources = set(Tier) if rule.to is not None else {*Segment, UNASSIGNED}
        sources.discard(target)
        if sources:
            into.add(target)
            out_of.update(sources)
    return into, out_of


def validate(policy: PolicyRules) -> list[Finding]:
    """Check a policy; findings are sorted errors first, then warnings, then infos.

    Example:
        >>> from keyaccount.rules import Policy, Rule
        >>> p = Policy("p", [Rule("up", "t12m_revenue >= 1_000", to="KEY", from_tiers=["ACTIVE"]),
        ...                  Rule("up2", "t12m_revenue >= 5_000", to="KEY", from_tiers=["ACTIVE"])])
        >>> [f.code for f in validate(p) if f.severity is Severity.ERROR]
        ['shadowed-rule']
    """
    with paused_gc():
        return _validate(policy)


def _validate(policy: PolicyRules) -> list[Finding]:
    findings: list[Finding] = []
    tier_rules, segment_rules = policy.tier_rules, policy.segment_rules
    into, out_of = _moves(policy.rules)
    if tier_rules:
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
    if segment_rules:
        unreached = [s.name for s in Segment if s not in into]
        if unreached:
            findings.append(
                Finding(
                    Severity.INFO,
                    "unreachable-segment",
                    f"no segment rule assigns {', '.join(unreached)}",
                )
            )
    facts = _Facts()
    findings += _chain_findings(facts, policy, tier_rules)
    findings += _chain_findings(facts, policy, segment_rules)
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])
