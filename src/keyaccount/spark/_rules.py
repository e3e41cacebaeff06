"""The Spark evaluator: a policy compiled to Spark column expressions over the metrics frame.

``_Compiler`` (a :class:`~keyaccount.rules.compiler.ConditionCompiler`) turns
each condition into Spark SQL expression text, which ``functions.expr`` makes
a Spark ``Column`` of: numbers into ``BIGINT`` (money in fen, counts) or
``DOUBLE`` (ratios) expressions, null where absent; conditions into Spark's
booleans, whose ``AND`` / ``OR`` / ``NOT`` are SQL's three-valued
logic (null: unknown). Float64 arithmetic follows ``docs/rules.md``: every
operand converted by its own type (money as ``double(fen) / 100.0``), one
IEEE operation; a divisor equal to ``0.0`` gives null, and so does a NaN
result (Spark orders NaN above every number and calls it equal to itself, so
it is turned into null before any comparison sees it).

Each chain is one ``CASE``: the first rule whose filters match and whose
condition is true gives ``4 * rule index + outcome``. The explanation of the
deciding rule is a second ``CASE`` giving bit masks of the names it cites
(``_Bits``, a :class:`~keyaccount.rules.compiler.CitationCompiler`, as in
the SQL evaluator), turned into an array of (name, value) structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from keyaccount.domain import SEGMENTS, TIERS, Period, Segment, Tier, default_catalog, segment_code
from keyaccount.exceptions import PolicyError, UnknownProductError
from keyaccount.portfolio import METRICS
from keyaccount.rules import (
    ChainDecisions,
    Evaluation,
    Outcome,
    ShareRef,
    ValueType,
    references,
)
from keyaccount.rules.compiler import (
    CitationCompiler,
    ConditionCompiler,
    explanation_value,
    key_order,
    ref_key,
)
from keyaccount.spark._frames import require_pyspark, sql_text
from keyaccount.spark._metrics import metric_columns, product_fen_column

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pyspark.sql import DataFrame

    from keyaccount.domain import ExplanationValue
    from keyaccount.rules import (
        Arith,
        Compare,
        Explanation,
        Expr,
        Literal,
        MetricRef,
        Policy,
        Rule,
        TransitionKind,
    )

__all__ = [
    "BITS_PER_WORD",
    "DECISION_COLUMNS",
    "EXPLANATION_FIELDS",
    "check_policy",
    "decisions",
    "to_evaluation",
]

BITS_PER_WORD: Final = 62
"""Names one ``long`` bit mask says "cited" for (a rule citing more takes more masks)."""

_CODES: Final = 4
"""A chain's decision is ``_CODES * rule index + outcome`` (outcomes are 0..3)."""

DECISION_COLUMNS: Final = (
    "customer_id",
    "tier_from",
    "tier_to",
    "tier_rule",
    "tier_outcome",
    "tier_explanation",
    "segment_from",
    "segment_to",
    "segment_rule",
    "segment_outcome",
    "segment_explanation",
)
"""The columns of the decisions frame, in order."""

EXPLANATION_FIELDS: Final = ("name", "fen", "yuan", "count", "ratio")
"""The fields of one cited value: its name, and its value in the field of its kind."""

Bits = int | str
"""Citation bits: an ``int`` when the same on every row, else a ``BIGINT`` SQL expression."""


def _as_float(value: str, kind: ValueType) -> str:
    """Money enters float64 arithmetic as ``double(fen) / 100.0``, a count as ``double(n)``."""
    if kind is ValueType.MONEY:
        return f"(CAST({value} AS DOUBLE) / {_double(100.0)})"
    if kind is ValueType.COUNT:
        return f"CAST({value} AS DOUBLE)"
    return value


def _double(value: float) -> str:
    """A float64 literal, exactly: the shortest text that reads back as it, cast to ``DOUBLE``."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _long(bits: Bits) -> str:
    return f"CAST({bits} AS BIGINT)" if isinstance(bits, int) else bits


def _same(a: Bits, b: Bits) -> bool:
    return isinstance(a, int) and isinstance(b, int) and a == b


class _Compiler(ConditionCompiler[str, str]):
    """Compiles condition nodes to Spark SQL expression text over the metrics frame's columns.

    A condition becomes one Spark ``Column`` through ``functions.expr``: one
    call into the JVM per output column, where building the same expression
    with Column operators costs one call per operator (about half a
    millisecond each). Identifiers are the built-in metrics and
    ``product_fen_<i>`` columns, never rule text; numbers are written exactly
    (integers as ``BIGINT``, floats by their shortest round-trip text cast to
    ``DOUBLE``).

    Args:
        shares: ``product_id`` -> the name of its trailing-12 fen column.
    """

    def __init__(self, shares: Mapping[str, str]) -> None:
        self.shares = shares

    def literal(self, node: Literal) -> str:
        if node.type is ValueType.RATIO:
            return _double(float(node.value))
        return f"CAST({int(node.value)} AS BIGINT)"

    def metric(self, node: MetricRef) -> str:
        return f"`{node.name}`"

    def share(self, node: ShareRef) -> str:
        product = self.shares[node.product_id]
        return (
            "(CASE WHEN `t12m_revenue` > 0 THEN "
            f"CAST(`{product}` AS DOUBLE) / CAST(`t12m_revenue` AS DOUBLE) END)"
        )

    def neg(self, operand: str) -> str:
        return f"(- {operand})"

    def arith(self, node: Arith, left: str, right: str) -> str:
        if node.type.is_exact:  # money + money, count - count: exact BIGINT
            return f"({left} {node.op} {right})"
        a = _as_float(left, node.left.type)
        b = _as_float(right, node.right.type)
        if node.op == "/":  # a divisor of 0.0 (or -0.0) is absent
            result = f"(CASE WHEN {b} != {_double(0.0)} THEN {a} / {b} END)"
        else:
            result = f"({a} {node.op} {b})"
        return f"nanvl({result}, CAST(NULL AS DOUBLE))"  # NaN (inf - inf) is absent

    def boolean(self, value: bool) -> str:
        return "TRUE" if value else "FALSE"

    def compare(self, node: Compare, left: str, right: str) -> str:
        if node.domain is ValueType.RATIO:
            left = _as_float(left, node.left.type)
            right = _as_float(right, node.right.type)
        op = "=" if node.op == "==" else node.op
        return f"({left} {op} {right})"

    def and_(self, operands: list[str]) -> str:
        return "(" + " AND ".join(operands) + ")"

    def or_(self, operands: list[str]) -> str:
        return "(" + " OR ".join(operands) + ")"

    def not_(self, operand: str) -> str:
        return f"(NOT {operand})"

    # -------------------------------------------------------------- chains

    def fires(self, rule: Rule) -> str:
        """Whether ``rule`` decides: its ``from`` filters match and its condition is true."""
        parts = []
        if rule.from_tiers is not None:
            parts.append(f"`tier` IN ({', '.join(str(t.rank) for t in rule.from_tiers)})")
        if rule.from_segments is not None:
            codes = ", ".join(str(segment_code(s)) for s in rule.from_segments)
            parts.append(f"`segment` IN ({codes})")
        parts.append(self.condition(rule.condition))
        return " AND ".join(parts)

    def outcome(self, rule: Rule, min_months_in_tier: int) -> str:
        """The outcome code when ``rule`` decides: move, stay, or (tier rules) held."""
        move, stay, held = int(Outcome.MOVE), int(Outcome.STAY), int(Outcome.HELD)
        if rule.to is not None:
            target = rule.to.rank
            return (
                f"CASE WHEN `tier` = {target} THEN {stay} WHEN `tier` > {target} AND "
                f"`months_in_tier` < {int(min_months_in_tier)} THEN {held} ELSE {move} END"
            )
        assert rule.to_segment is not None
        target = segment_code(rule.to_segment)
        return f"CASE WHEN `segment` = {target} THEN {stay} ELSE {move} END"

    def chain(self, rules: Sequence[Rule], min_months_in_tier: int) -> str:
        """``4 * rule index + outcome`` of the deciding rule, or -1 when none fires."""
        if not rules:
            return "-1"
        branches = " ".join(
            f"WHEN {self.fires(rule)} THEN {_CODES * index} + "
            f"({self.outcome(rule, min_months_in_tier)})"
            for index, rule in enumerate(rules)
        )
        return f"CASE {branches} ELSE -1 END"


class _Bits(CitationCompiler[Bits]):
    """The citations of one rule's condition as one ``BIGINT`` of bits per row (SQL text).

    Bit ``i % BITS_PER_WORD`` of word ``i // BITS_PER_WORD`` stands for the
    ``i``-th name the rule may cite (:func:`~keyaccount.rules.compiler.key_order`).
    """

    def __init__(self, compiler: _Compiler, positions: Mapping[str, int], word: int) -> None:
        self.compiler = compiler
        self.positions = positions
        self.word = word

    def comparison(self, node: Compare) -> Bits:
        found = 0
        for ref in references(node):
            i = self.positions[ref_key(ref)]
            if i // BITS_PER_WORD == self.word:
                found |= 1 << (i % BITS_PER_WORD)
        return found

    def every(self, parts: list[Bits]) -> Bits:
        constant = 0
        columns: list[str] = []
        for part in parts:
            if isinstance(part, int):
                constant |= part
            else:
                columns.append(part)
        if not columns:
            return constant
        if constant:
            columns.append(_long(constant))
        return "(" + " | ".join(columns) + ")"

    def leftmost(self, operands: list[Expr], value: bool, parts: list[Bits]) -> Bits:
        last = parts[-1]
        branches: list[tuple[str, Bits]] = []
        for operand, part in zip(operands[:-1], parts[:-1], strict=True):
            truth = self.compiler.condition(operand)
            branches.append((truth if value else f"(NOT {truth})", part))
        while branches and _same(branches[-1][1], last):
            branches.pop()  # taking it or falling through cites the same
        if not branches:
            return last
        whens = " ".join(f"WHEN {when} THEN {_long(part)}" for when, part in branches)
        return f"(CASE {whens} ELSE {_long(last)} END)"

    def nothing(self) -> Bits:
        return 0


def check_policy(
    policy: Policy, catalog: Iterable[str] | None = None
) -> tuple[set[str], list[str]]:
    """The built-in metrics and the products (first-use order) the policy names.

    Raises:
        PolicyError: a rule names a user metric (computed in Python, not in Spark).
        UnknownProductError: a ``share()`` names a product not in ``catalog``
            (default: the default catalogue).
    """
    known = set(default_catalog() if catalog is None else catalog)
    names: set[str] = set()
    products: list[str] = []
    for rule in policy.rules:
        for ref in references(rule.condition):
            if isinstance(ref, ShareRef):
                if ref.product_id not in known:
                    raise UnknownProductError(
                        f"rule {rule.name!r}: product {ref.product_id!r} of share() is not in "
                        "the catalogue"
                    )
                if ref.product_id not in products:
                    products.append(ref.product_id)
                names.add("t12m_revenue")
            elif ref.name in METRICS:
                names.add(ref.name)
            else:
                raise PolicyError(
                    f"rule {rule.name!r}: metric {ref.name!r} is a user metric, computed in "
                    "Python; the Spark evaluator knows only the built-in metrics "
                    f"({', '.join(METRICS)}); evaluate this policy in memory"
                )
    return names, products


def _explanation_struct(key: str, kind: ValueType, value: str) -> str:
    """One cited value as a struct of :data:`EXPLANATION_FIELDS` (the other fields null)."""
    fen = value if kind is ValueType.MONEY else "NULL"
    count = value if kind is ValueType.COUNT else "NULL"
    ratio = value if kind is ValueType.RATIO else "NULL"
    return (
        f"named_struct('name', {sql_text(key)}, 'fen', CAST({fen} AS BIGINT), "
        f"'yuan', CAST(CAST({fen} AS DECIMAL(22,0)) / 100 AS DECIMAL(20,2)), "
        f"'count', CAST({count} AS BIGINT), 'ratio', CAST({ratio} AS DOUBLE))"
    )


_EXPLANATION_TYPE: Final = (
    "ARRAY<STRUCT<name: STRING, fen: BIGINT, yuan: DECIMAL(20,2), count: BIGINT, ratio: DOUBLE>>"
)


def _chain_sql(
    compiler: _Compiler, kind: TransitionKind, rules: Sequence[Rule], labels: Sequence[str]
) -> dict[str, str]:
    """``<kind>_to``, ``_rule``, ``_outcome``, ``_explanation`` from the chain's decision codes."""
    code = f"`_{kind}_decision`"
    fired = f"{code} >= 0"
    index = f"shiftright({code}, 2)"  # code // _CODES
    outcome = f"(CASE WHEN {fired} THEN {code} % {_CODES} ELSE {int(Outcome.NONE)} END)"
    before = f"`{kind}`"

    def label(value: str) -> str:
        whens = " ".join(f"WHEN {c} THEN {sql_text(n)}" for c, n in enumerate(labels))
        return f"CASE {value} {whens} END"

    if rules:
        targets = ", ".join(
            str(r.to.rank if r.to is not None else segment_code(r.to_segment)) for r in rules
        )
        after = (
            f"CASE WHEN {fired} THEN element_at(array({targets}), {index} + 1) ELSE {before} END"
        )
        names = ", ".join(sql_text(r.name) for r in rules)
        rule_name = f"CASE WHEN {fired} THEN element_at(array({names}), {index} + 1) END"
    else:
        after = before
        rule_name = "CAST(NULL AS STRING)"
    explained = f"{outcome} IN ({int(Outcome.MOVE)}, {int(Outcome.HELD)})"
    branches = []
    for i, rule in enumerate(rules):
        cited = key_order(rule.condition)
        if not cited:
            continue
        positions = {key: j for j, (key, _) in enumerate(cited)}
        words = max(1, -(-len(cited) // BITS_PER_WORD))
        masks = [
            _long(_Bits(compiler, positions, w).cited(rule.condition, True)) for w in range(words)
        ]
        items = ", ".join(
            f"CASE WHEN ({masks[j // BITS_PER_WORD]} & CAST({1 << (j % BITS_PER_WORD)} AS BIGINT)) "
            f"!= 0 THEN {_explanation_struct(key, ref.type, compiler.number(ref))} END"
            for j, (key, ref) in enumerate(cited)
        )
        branches.append(f"WHEN {index} = {i} THEN filter(array({items}), x -> x IS NOT NULL)")
    empty = f"CAST(array() AS {_EXPLANATION_TYPE})"
    chosen = f"CASE {' '.join(branches)} ELSE {empty} END" if branches else empty
    names_of = ", ".join(sql_text(o.name) for o in Outcome)
    return {
        f"{kind}_to": label(after),
        f"{kind}_rule": rule_name,
        f"{kind}_outcome": f"element_at(array({names_of}), {outcome} + 1)",
        f"{kind}_explanation": (
            f"CAST(CASE WHEN {explained} THEN {chosen} END AS {_EXPLANATION_TYPE})"
        ),
        f"{kind}_from": label(before),
    }


def decisions(
    policy: Policy,
    customers: DataFrame,
    revenue: DataFrame,
    as_of: Period | str,
    *,
    rollup: bool = False,
    catalog: Iterable[str] | None = None,
    join_key: str = "customer_id",
) -> DataFrame:
    """The decisions frame of ``policy`` (see :func:`keyaccount.spark.evaluate`)."""
    require_pyspark()
    from pyspark.sql import functions as sf

    period = Period.parse(as_of)
    names, products = check_policy(policy, catalog)
    metrics = metric_columns(
        customers,
        revenue,
        period,
        rollup=rollup,
        names=names,
        products=products,
        join_key=join_key,
    )
    compiler = _Compiler({p: product_fen_column(i) for i, p in enumerate(products)})
    minimum = policy.min_months_in_tier
    staged = metrics.select(
        "*",
        sf.expr(compiler.chain(policy.tier_rules, minimum)).alias("_tier_decision"),
        sf.expr(compiler.chain(policy.segment_rules, minimum)).alias("_segment_decision"),
    )
    columns = {"customer_id": "`customer_id`"}
    columns |= _chain_sql(compiler, "tier", policy.tier_rules, [t.name for t in TIERS])
    columns |= _chain_sql(compiler, "segment", policy.segment_rules, [s.name for s in SEGMENTS])
    return staged.select(*(sf.expr(columns[name]).alias(name) for name in DECISION_COLUMNS))


def _tier_rank(name: str) -> int:
    return Tier[name].rank


def _segment_code(name: str | None) -> int:
    return segment_code(None if name is None else Segment[name])


def to_evaluation(
    frame: DataFrame,
    policy: Policy,
    as_of: Period | str,
    *,
    customer_ids: Sequence[str] | None = None,
) -> Evaluation:
    """Collect a decisions frame into an :class:`~keyaccount.rules.Evaluation` (small data).

    Args:
        frame: The frame :func:`keyaccount.spark.evaluate` gave for ``policy``.
        policy: The policy evaluated.
        as_of: The month evaluated.
        customer_ids: The order of the customers (every id of the frame, once);
            by customer id when omitted.

    Returns:
        The evaluation, its explanations read from the explanation columns.
    """
    rows = {str(row["customer_id"]): row for row in frame.collect()}
    order = sorted(rows) if customer_ids is None else list(customer_ids)
    if sorted(order) != sorted(rows):
        raise ValueError("customer_ids must list every customer of the decisions frame once")
    n = len(order)
    ids = np.empty(n, dtype=object)
    ids[:] = order
    kinds = {key: ref.type for rule in policy.rules for key, ref in key_order(rule.condition)}
    chains: dict[str, ChainDecisions] = {}
    explained: dict[tuple[TransitionKind, int], Explanation] = {}
    for kind, rules, code_of in (
        ("tier", policy.tier_rules, _tier_rank),
        ("segment", policy.segment_rules, _segment_code),
    ):
        index = {r.name: i for i, r in enumerate(rules)}
        rule = np.full(n, -1, dtype=np.int16)
        outcome = np.zeros(n, dtype=np.int8)
        before = np.zeros(n, dtype=np.int8)
        after = np.zeros(n, dtype=np.int8)
        for position, cid in enumerate(order):
            row = rows[cid]
            before[position] = code_of(row[f"{kind}_from"])
            after[position] = code_of(row[f"{kind}_to"])
            outcome[position] = Outcome[row[f"{kind}_outcome"]]
            name = row[f"{kind}_rule"]
            if name is not None:
                rule[position] = index[name]
            cited = row[f"{kind}_explanation"]
            if cited is not None:
                values: list[tuple[str, ExplanationValue]] = []
                for item in cited:
                    kind_of = kinds[item["name"]]
                    raw = {
                        ValueType.MONEY: item["fen"],
                        ValueType.COUNT: item["count"],
                        ValueType.RATIO: item["ratio"],
                    }[kind_of]
                    values.append((item["name"], explanation_value(raw, kind_of)))
                explained[kind, position] = tuple(values)  # type: ignore[index]
        chains[kind] = ChainDecisions(rule=rule, outcome=outcome, before=before, after=after)

    def explain(kind: TransitionKind, position: int) -> Explanation:
        return explained[kind, position]

    return Evaluation(
        policy=policy,
        as_of=Period.parse(as_of),
        customer_ids=ids,
        tier=chains["tier"],
        segment=chains["segment"],
        explain=explain,
    )
