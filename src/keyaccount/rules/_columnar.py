"""The columnar evaluator: a policy over a :class:`MetricsTable`'s numpy columns.

Each condition node evaluates for every customer at once
(:class:`ColumnCompiler`, a :class:`~keyaccount.rules.compiler.ConditionCompiler`):
numbers as a ``(values, absent)`` pair of arrays (``int64`` for money in fen
and counts, ``float64`` for ratios), conditions as a ``(true, false)`` pair of
masks (neither: unknown). The operations are the ones the reference evaluator
does one customer at a time, on the same float64 values in the same order, so
the two agree exactly. No Python loop runs per customer, except to build the
:class:`Transition` objects and their explanations when they are asked for
(the citations of :class:`~keyaccount.rules.compiler.CitationCompiler` as
masks of the rows that cite each reference).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from keyaccount.domain import SEGMENTS, TIERS, segment_code
from keyaccount.exceptions import UnknownProductError
from keyaccount.rules._ast import MetricRef, ShareRef, ValueType
from keyaccount.rules._evaluation import (
    ChainDecisions,
    Citations,
    Evaluation,
    Explanation,
    Outcome,
    TransitionKind,
)
from keyaccount.rules.compiler import (
    CitationCompiler,
    ConditionCompiler,
    key_order,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules._ast import Arith, Compare, Expr, Literal
    from keyaccount.rules._rule import PolicyRules, Rule

__all__ = ["SUBSET_SHARE", "ColumnCompiler", "Columns", "condition_masks", "evaluate_columnar"]

SUBSET_SHARE = 0.5
"""A rule whose ``from`` filters pass at most this share of the rows is evaluated on those
rows only (gathered); otherwise on every row."""

Bools: TypeAlias = npt.NDArray[np.bool_] | np.bool_
Number: TypeAlias = tuple[Any, Bools]
"""Values (array or numpy scalar) and absent mask (array or numpy bool)."""
Truth: TypeAlias = tuple[Bools, Bools]
"""Masks where a condition is true and where it is false."""

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class Columns:
    """Metric and share columns of a table, for all rows or a subset, computed once each.

    A subset takes a column from its parent when the parent has computed it,
    and otherwise computes it for its own rows only, straight from the table.

    Args:
        table: The metrics table.
        policy: The policy (its registry computes user metrics).
        portfolio: The portfolio ``table`` came from, passed to user metrics.
        rows: Row positions of a subset, or ``None`` for every row.
        parent: The all-rows :class:`Columns` a subset belongs to.
    """

    def __init__(
        self,
        table: MetricsTable,
        policy: PolicyRules,
        portfolio: Portfolio | None,
        rows: npt.NDArray[np.intp] | None = None,
        parent: Columns | None = None,
    ) -> None:
        self.table = table
        self.policy = policy
        self.portfolio = portfolio
        self.rows = rows
        self.parent = parent
        self.size = len(table) if rows is None else int(rows.shape[0])
        self._cache: dict[str, Number] = {}

    def subset(self, rows: npt.NDArray[np.intp]) -> Columns:
        """The same columns restricted to ``rows`` (positions in the table)."""
        return Columns(self.table, self.policy, self.portfolio, rows, self)

    def _take(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return array if self.rows is None else array[self.rows]

    def _get(self, key: str, compute: Callable[[], Number], *, whole: bool = False) -> Number:
        """The cached column ``key``; ``whole`` columns are computed for all rows, then taken."""
        if key not in self._cache:
            parent = self.parent
            if parent is not None and (whole or key in parent._cache):
                values, absent = parent._get(key, compute, whole=whole)
                self._cache[key] = (self._take(values), self._take(np.asarray(absent)))
            else:
                self._cache[key] = compute()
        return self._cache[key]

    def metric(self, name: str) -> Number:
        """A metric column and its absent mask."""
        if name in self.table.columns:
            return self._get(
                name,
                lambda: (self._take(self.table.columns[name]), self._take(self.table.absent[name])),
            )
        return self._get(
            name,
            lambda: self.policy.metrics.column(name, self.table, self.portfolio),
            whole=True,
        )

    def _total(self) -> Number:
        """``float64(t12m fen)`` (1 where absent) and the mask ``t12m_revenue <= 0``."""

        def compute() -> Number:
            total = self._take(self.table.columns["t12m_revenue"])
            absent = total <= 0
            return np.where(absent, 1, total).astype(np.float64), absent

        return self._get("float64(t12m_revenue)", compute)

    def share(self, product_id: str) -> Number:
        """``float64(product fen) / float64(t12m fen)``, absent where ``t12m_revenue <= 0``."""

        def compute() -> Number:
            try:
                j = self.table.product_ids.index(product_id)
            except ValueError:
                raise UnknownProductError(
                    f"product {product_id!r} of share() is not in the metrics table"
                ) from None
            denominator, absent = self._total()
            column = (
                self.table.product_revenue[:, j]
                if self.rows is None
                else (self.table.product_revenue[self.rows, j])
            )
            return column.astype(np.float64) / denominator, absent

        return self._get(f"share('{product_id}')", compute)


def _as_float(values: Any, kind: ValueType) -> Any:
    """Money enters float64 arithmetic as ``float64(fen) / 100``, a count as ``float64(n)``."""
    out = np.asarray(values, dtype=np.float64)
    return out / 100.0 if kind is ValueType.MONEY else out


class ColumnCompiler(ConditionCompiler[Number, Truth]):
    """Every node for all rows of a :class:`Columns` at once.

    Numbers are ``(values, absent)`` (``int64`` for money in fen and counts,
    ``float64`` for ratios), conditions ``(true, false)`` masks.

    Args:
        cols: The rows.
        memo: Where to keep each condition's masks by node ``id``, or ``None``
            to keep none.
    """

    def __init__(self, cols: Columns, memo: dict[int, Truth] | None = None) -> None:
        self.cols = cols
        self.memo = memo

    def condition(self, node: Expr) -> Truth:
        memo = self.memo
        if memo is None:
            return super().condition(node)
        found = memo.get(id(node))
        if found is None:
            found = memo[id(node)] = super().condition(node)
        return found

    def literal(self, node: Literal) -> Number:
        scalar = np.float64(node.value) if node.type is ValueType.RATIO else np.int64(node.value)
        return scalar, np.False_

    def metric(self, node: MetricRef) -> Number:
        return self.cols.metric(node.name)

    def share(self, node: ShareRef) -> Number:
        return self.cols.share(node.product_id)

    def neg(self, operand: Number) -> Number:
        values, absent = operand
        return np.negative(values), absent

    def arith(self, node: Arith, left: Number, right: Number) -> Number:
        (a, left_absent), (b, right_absent) = left, right
        absent = left_absent | right_absent
        if node.type.is_exact:  # money + money, count - count: exact int64
            return (np.add(a, b) if node.op == "+" else np.subtract(a, b)), absent
        a = _as_float(a, node.left.type)
        b = _as_float(b, node.right.type)
        with np.errstate(all="ignore"):
            if node.op == "+":
                result = np.add(a, b)
            elif node.op == "-":
                result = np.subtract(a, b)
            elif node.op == "*":
                result = np.multiply(a, b)
            else:
                absent = absent | (b == 0.0)  # division by zero is absent
                result = np.divide(a, b)
        return result, absent | np.isnan(result)

    def boolean(self, value: bool) -> Truth:
        return np.bool_(value), np.bool_(not value)

    def compare(self, node: Compare, left: Number, right: Number) -> Truth:
        (a, left_absent), (b, right_absent) = left, right
        if node.domain is ValueType.RATIO:
            a = _as_float(a, node.left.type)
            b = _as_float(b, node.right.type)
        holds = _COMPARE[node.op](a, b)
        known = ~(left_absent | right_absent)
        return holds & known, ~holds & known

    def and_(self, operands: list[Truth]) -> Truth:
        true, false = operands[0]
        for t, f in operands[1:]:
            true, false = true & t, false | f
        return true, false

    def or_(self, operands: list[Truth]) -> Truth:
        true, false = operands[0]
        for t, f in operands[1:]:
            true, false = true | t, false & f
        return true, false

    def not_(self, operand: Truth) -> Truth:
        true, false = operand
        return false, true


def condition_masks(condition: Expr, cols: Columns) -> tuple[npt.NDArray[np.bool_], ...]:
    """Full-length ``(true, false)`` masks of a condition over ``cols``."""
    true, false = ColumnCompiler(cols).condition(condition)
    shape = (cols.size,)
    return np.broadcast_to(true, shape), np.broadcast_to(false, shape)


Cited: TypeAlias = list[tuple[str, Bools]]
"""Names cited (:func:`~keyaccount.rules.compiler.key_order`), each with the rows that cite it."""


class _Cited(CitationCompiler[Cited]):
    """The names a condition cites, with the rows that cite each."""

    def __init__(self, compiler: ColumnCompiler) -> None:
        self.compiler = compiler

    def comparison(self, node: Compare) -> Cited:
        return [(key, np.True_) for key, _ in key_order(node)]

    def every(self, parts: list[Cited]) -> Cited:
        return [cited for part in parts for cited in part]

    def leftmost(self, operands: list[Expr], value: bool, parts: list[Cited]) -> Cited:
        out: Cited = []
        before: Bools = np.False_  # rows where an earlier operand is ``value``
        last = len(operands) - 1
        for i, (operand, part) in enumerate(zip(operands, parts, strict=True)):
            if i == last:
                here = ~before
            else:
                true, false = self.compiler.condition(operand)
                is_value = true if value else false
                here = is_value & ~before
                before = before | is_value
            out += [(key, mask & here) for key, mask in part]
        return out

    def nothing(self) -> Cited:
        return []


def _cite_rows(rule: Rule, cols: Columns, rows: npt.NDArray[np.int64]) -> Citations:
    """What ``rule`` cites for every row of ``cols`` (where its condition is true)."""
    compiler = ColumnCompiler(cols, {})
    cited = _Cited(compiler).cited(rule.condition, True)
    shape = (cols.size,)
    names, types, includes, values, absents = [], [], [], [], []
    for key, ref in key_order(rule.condition):
        include = np.zeros(shape, dtype=bool)
        for name, mask in cited:
            if name == key:
                include |= np.broadcast_to(mask, shape)
        raw, absent = compiler.number(ref)
        kind = np.float64 if ref.type is ValueType.RATIO else np.int64
        names.append(key)
        types.append(ref.type)
        includes.append(include)
        values.append(np.broadcast_to(raw, shape).astype(kind))
        absents.append(np.broadcast_to(absent, shape).copy())
    return Citations(
        rows, tuple(names), tuple(types), tuple(includes), tuple(values), tuple(absents)
    )


def _allowed(codes: list[int], size: int, offset: int = 0) -> npt.NDArray[np.bool_]:
    table = np.zeros(size + offset, dtype=bool)
    table[[c + offset for c in codes]] = True
    return table


def _first_match(
    rules: tuple[Rule, ...],
    cols: Columns,
    tier: npt.NDArray[np.int8],
    segment: npt.NDArray[np.int8],
) -> npt.NDArray[np.int16]:
    """Index of the first rule whose ``from`` matches and whose condition is true, or -1."""
    rule_of = np.full(cols.size, -1, dtype=np.int16)
    undecided = np.ones(cols.size, dtype=bool)
    for index, rule in enumerate(rules):
        eligible = undecided.copy()
        if rule.from_tiers is not None:
            eligible &= _allowed([t.rank for t in rule.from_tiers], len(TIERS))[tier]
        if rule.from_segments is not None:
            codes = [segment_code(s) for s in rule.from_segments]
            eligible &= _allowed(codes, len(SEGMENTS), 1)[segment.astype(np.intp) + 1]
        count = int(np.count_nonzero(eligible))
        if count == 0:
            continue
        if count <= cols.size * SUBSET_SHARE:
            rows = np.flatnonzero(eligible)
            holds, _ = condition_masks(rule.condition, cols.subset(rows))
            fires = rows[holds]
        else:
            true, _ = ColumnCompiler(cols).condition(rule.condition)
            fires = np.flatnonzero(eligible & true)
        rule_of[fires] = index
        undecided[fires] = False
    return rule_of


def evaluate_columnar(
    policy: PolicyRules, table: MetricsTable, portfolio: Portfolio | None = None
) -> Evaluation:
    """Evaluate ``policy`` over every row of ``table`` with array operations.

    Args:
        policy: The policy.
        table: Metrics as of the evaluation month.
        portfolio: The portfolio ``table`` came from (for user metrics that need it).

    Returns:
        The :class:`~keyaccount.rules.Evaluation`; explanations are computed
        when transitions are first asked for.
    """
    cols = Columns(table, policy, portfolio)
    tier = table.tier.astype(np.int8)
    segment = table.segment.astype(np.int8)

    tier_rules = policy.tier_rules
    rule_of = _first_match(tier_rules, cols, tier, segment)
    fired = rule_of >= 0
    targets = np.array([r.to.rank for r in tier_rules if r.to is not None] or [0], dtype=np.int8)
    after = np.where(fired, targets[np.where(fired, rule_of, 0)], tier).astype(np.int8)
    months_in_tier = table.columns["months_in_tier"]
    held = fired & (after < tier) & (months_in_tier < policy.min_months_in_tier)
    outcome = np.where(fired, np.int8(Outcome.MOVE), np.int8(Outcome.NONE)).astype(np.int8)
    outcome[fired & (after == tier)] = Outcome.STAY
    outcome[held] = Outcome.HELD
    tier_decisions = ChainDecisions(rule=rule_of, outcome=outcome, before=tier, after=after)

    seg_rules = policy.segment_rules
    seg_rule_of = _first_match(seg_rules, cols, tier, segment)
    seg_fired = seg_rule_of >= 0
    seg_targets = np.array([segment_code(r.to_segment) for r in seg_rules] or [0], dtype=np.int8)
    seg_after = np.where(
        seg_fired, seg_targets[np.where(seg_fired, seg_rule_of, 0)], segment
    ).astype(np.int8)
    seg_outcome = np.where(seg_fired, np.int8(Outcome.MOVE), np.int8(Outcome.NONE)).astype(np.int8)
    seg_outcome[seg_fired & (seg_after == segment)] = Outcome.STAY
    seg_decisions = ChainDecisions(
        rule=seg_rule_of, outcome=seg_outcome, before=segment, after=seg_after
    )

    cache: dict[tuple[TransitionKind, int], Citations] = {}

    def cite(kind: TransitionKind, index: int) -> Citations:
        if (kind, index) not in cache:
            chain, rules = (
                (tier_decisions, tier_rules) if kind == "tier" else (seg_decisions, seg_rules)
            )
            wanted = (chain.rule == index) & (
                (chain.outcome == Outcome.MOVE) | (chain.outcome == Outcome.HELD)
            )
            rows = np.flatnonzero(wanted).astype(np.int64)
            cache[kind, index] = _cite_rows(rules[index], cols.subset(rows), rows)
        return cache[kind, index]

    def explain(kind: TransitionKind, position: int) -> Explanation:
        chain = tier_decisions if kind == "tier" else seg_decisions
        index = int(chain.rule[position])
        citations = cite(kind, index)  # its rows ascend
        return citations.explanation(int(np.searchsorted(citations.rows, position)))

    return Evaluation(
        policy=policy,
        as_of=table.as_of,
        customer_ids=table.customer_ids,
        tier=tier_decisions,
        segment=seg_decisions,
        explain=explain,
        cite=cite,
    )
