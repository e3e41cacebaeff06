"""The SQL evaluator: a policy compiled to SQLAlchemy Core and run inside the store's database.

The policy's conditions are compiled from the typed AST
(:mod:`keyaccount.rules._ast`) into SQL expressions over the metrics query
of :mod:`keyaccount.store._sql_metrics`; the revenue never leaves the
database. One query gives every customer's decisions and explanations:

- each chain (tier rules, segment rules) is one ``CASE`` whose ``WHEN``
  branches are the rules in order (``from`` filters ``AND`` condition). SQL's
  ``CASE`` takes a branch only when its condition is true, and ``AND`` /
  ``OR`` / ``NOT`` are SQL's three-valued logic: the semantics of
  ``docs/rules.md``. A branch gives ``4 * rule index + outcome``: stay when
  the target is the current value, held for a demotion while
  ``months_in_tier`` is below the policy's ``min_months_in_tier``, move
  otherwise. (One ``CASE`` per chain, because both databases repeat a
  subquery's expression for every reference to it.)
- per chain, a second ``CASE`` gives the deciding rule's citations as bits:
  the SQL form of "which references does this condition cite" (see
  ``_reference.cited``), one bit per name the rule may cite;
- the value of every name the policy may cite.

Numbers follow CONTRACTS.md exactly: money is ``BIGINT`` fen, ``+`` / ``-``
of money or counts stay integer; every other operation is float64 on both
databases, with every operand cast explicitly (money enters as
``CAST(fen AS DOUBLE PRECISION) / CAST(100.0 AS DOUBLE PRECISION)``, float
literals are float8 parameters, never PostgreSQL ``numeric``); a divisor of
zero gives ``NULL`` (``NULLIF``). A NaN (``inf - inf``) is absent: SQLite turns
every NaN result into ``NULL`` by itself, and on PostgreSQL no NaN can arise,
because every value is finite (metrics and literals are, a division by zero
is ``NULL``) and PostgreSQL refuses a float64 overflow or underflow that IEEE
arithmetic would round to ``±inf`` or ``0``; that refusal surfaces as
:class:`~keyaccount.exceptions.PrecisionError` (the in-memory evaluators give
the IEEE result).

Every literal of a condition is a bound parameter, and every identifier in
the SQL comes from the built-in metrics or the store's own tables, never from
rule text; product ids become ``ka_product`` keys, bound as parameters too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from keyaccount.domain import Period
from keyaccount.exceptions import PolicyError, PrecisionError, UnknownProductError
from keyaccount.portfolio import METRICS
from keyaccount.portfolio._columns import segment_code
from keyaccount.rules._ast import (
    And,
    Arith,
    Compare,
    Expr,
    Literal,
    MetricRef,
    Neg,
    Not,
    Or,
    ShareRef,
    ValueType,
    ref_key,
    references,
    walk,
)
from keyaccount.rules._evaluation import ChainDecisions, Evaluation, Outcome
from keyaccount.rules._explain import explanation_value, key_order
from keyaccount.store._sql_metrics import (
    DOUBLE,
    INEXACT,
    as_bigint,
    as_double,
    check_exact,
    check_rollup,
    guarded,
    metrics_select,
    product_fen_column,
    product_keys,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from keyaccount.domain import ExplanationValue
    from keyaccount.rules._evaluation import Explanation, TransitionKind
    from keyaccount.rules._policy import Policy, Rule

__all__ = ["BITS_PER_WORD", "CompiledPolicy", "Entry", "compile_policy", "evaluate_in_database"]

BITS_PER_WORD: Final = 62
"""Names a ``BIGINT`` bit mask column says "cited" for (more take more columns)."""

_CODES: Final = 4
"""A chain's decision is ``_CODES * rule index + outcome`` (outcomes are 0..3)."""

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}

Column = sa.ColumnElement[Any]


class _Compiler:
    """Compiles condition nodes to SQL expressions over one metrics subquery.

    Args:
        metrics: The metrics subquery (columns named as the metrics).
        shares: ``product_id`` -> the label of its trailing-12 fen column.
    """

    def __init__(self, metrics: sa.Subquery, shares: Mapping[str, str]) -> None:
        self.m = metrics
        self.shares = shares

    # -------------------------------------------------------------- numbers

    def number(self, node: Expr) -> Column:
        """The SQL value of a numeric node: ``BIGINT`` money/counts, ``DOUBLE`` ratios, or NULL."""
        if isinstance(node, Literal):
            if node.type is ValueType.RATIO:
                return as_double(float(node.value))
            return as_bigint(int(node.value))
        if isinstance(node, MetricRef):
            return self.m.c[node.name]
        if isinstance(node, ShareRef):
            return self.share(node.product_id)
        if isinstance(node, Neg):
            return -self.number(node.operand)
        if not isinstance(node, Arith):
            raise TypeError(f"not a numeric node: {node!r}")
        left, right = self.number(node.left), self.number(node.right)
        if node.type.is_exact:  # money + money, count - count: exact BIGINT
            return left + right if node.op == "+" else left - right
        a = self.as_float(left, node.left.type)
        b = self.as_float(right, node.right.type)
        if node.op == "+":
            result = a + b
        elif node.op == "-":
            result = a - b
        elif node.op == "*":
            result = a * b
        else:  # a divisor of 0.0 (or -0.0) is absent
            result = a / sa.func.nullif(b, as_double(0.0), type_=DOUBLE)
        return sa.cast(result, DOUBLE)

    def share(self, product_id: str) -> Column:
        """``float64(product fen) / float64(t12m fen)``; ``NULL`` when ``t12m_revenue <= 0``."""
        total = self.m.c.t12m_revenue
        product = self.m.c[self.shares[product_id]]
        return sa.case(
            (total > 0, sa.cast(product, DOUBLE) / sa.cast(total, DOUBLE)), else_=sa.null()
        )

    @staticmethod
    def as_float(value: Column, kind: ValueType) -> Column:
        """Money enters float64 arithmetic as ``float64(fen) / 100``, a count as ``float64(n)``."""
        if kind is ValueType.MONEY:
            return sa.cast(value, DOUBLE) / as_double(100.0)
        if kind is ValueType.COUNT:
            return sa.cast(value, DOUBLE)
        return value

    # -------------------------------------------------------------- conditions

    def condition(self, node: Expr) -> sa.ColumnElement[bool]:
        """The SQL truth of a condition: true, false or ``NULL`` (unknown)."""
        if isinstance(node, Literal):
            return sa.true() if node.value else sa.false()
        if isinstance(node, Compare):
            left, right = self.number(node.left), self.number(node.right)
            if node.domain is ValueType.RATIO:
                left = self.as_float(left, node.left.type)
                right = self.as_float(right, node.right.type)
            result: sa.ColumnElement[bool] = _COMPARE[node.op](left, right)
            return result
        if isinstance(node, Not):
            return sa.not_(self.condition(node.operand))
        if isinstance(node, And):
            return sa.and_(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Or):
            return sa.or_(self.condition(node.left), self.condition(node.right))
        raise TypeError(f"not a condition node: {node!r}")

    def cited(
        self, node: Expr, value: bool, mask: sa.ColumnElement[bool]
    ) -> list[tuple[MetricRef | ShareRef, sa.ColumnElement[bool]]]:
        """``_reference.cited`` in SQL: each reference with the (never ``NULL``) rows citing it."""
        if isinstance(node, Compare):
            return [(ref, mask) for ref in references(node)]
        if isinstance(node, Not):
            return self.cited(node.operand, not value, mask)
        if isinstance(node, And | Or):
            both = value if isinstance(node, And) else not value
            if both:
                return self.cited(node.left, value, mask) + self.cited(node.right, value, mask)
            truth = self.condition(node.left)
            left_is = sa.func.coalesce(truth if value else sa.not_(truth), sa.false())
            return self.cited(node.left, value, sa.and_(mask, left_is)) + self.cited(
                node.right, value, sa.and_(mask, sa.not_(left_is))
            )
        return []

    # -------------------------------------------------------------- chains

    def from_filter(self, rule: Rule) -> sa.ColumnElement[bool]:
        """The rule's ``from`` and ``from_segment`` filters (true when omitted)."""
        parts: list[sa.ColumnElement[bool]] = []
        if rule.from_tiers is not None:
            parts.append(self.m.c.tier.in_([t.rank for t in rule.from_tiers]))
        if rule.from_segments is not None:
            # the stored names, not the codes: the code is a CASE that the
            # database would evaluate again for every reference
            name = self.m.c.segment_name
            names = [s.name for s in rule.from_segments if s is not None]
            either = [name.in_(names)] if names else []
            if None in rule.from_segments:
                either.append(name.is_(None))
            parts.append(sa.or_(*either))
        return sa.and_(sa.true(), *parts)

    def fires(self, rule: Rule) -> sa.ColumnElement[bool]:
        """Whether ``rule`` decides (its filters match and its condition is true)."""
        return sa.and_(self.from_filter(rule), self.condition(rule.condition))

    def outcome(self, rule: Rule, min_months_in_tier: int) -> Column:
        """The outcome code when ``rule`` decides: move, stay, or (tier rules) held."""
        if rule.to is not None:
            target = rule.to.rank
            return sa.case(
                (self.m.c.tier == target, int(Outcome.STAY)),
                (
                    sa.and_(self.m.c.tier > target, self.m.c.months_in_tier < min_months_in_tier),
                    int(Outcome.HELD),
                ),
                else_=int(Outcome.MOVE),
            )
        assert rule.to_segment is not None
        return sa.case(
            (self.m.c.segment_name == rule.to_segment.name, int(Outcome.STAY)),
            else_=int(Outcome.MOVE),
        )

    def chain(self, rules: tuple[Rule, ...], min_months_in_tier: int) -> Column:
        """Each customer's decision: ``4 * rule index + outcome`` of the deciding rule, or -1.

        One ``CASE`` per chain, so the conditions are evaluated once per row
        (both databases would repeat a ``CASE`` for every reference to it from
        an outer query).
        """
        if not rules:
            return sa.literal(-1, sa.Integer())
        return sa.case(
            *(
                (self.fires(rule), _CODES * index + self.outcome(rule, min_months_in_tier))
                for index, rule in enumerate(rules)
            ),
            else_=-1,
        )

    def cited_bits(
        self, rules: tuple[Rule, ...], entries: Mapping[str, Sequence[Entry]], word: int
    ) -> Column:
        """Bit ``i`` set where the deciding rule cites its ``word * BITS + i``-th citable name.

        ``NULL`` where no rule of the chain fires.
        """
        branches: list[tuple[sa.ColumnElement[bool], Column]] = []
        for rule in rules:
            bits: Column = sa.literal(0, sa.BigInteger())
            for i, entry in enumerate(entries[rule.name]):
                if i // BITS_PER_WORD == word:
                    bit = 1 << (i % BITS_PER_WORD)
                    bits = bits + sa.case((entry.mask, bit), else_=0)
            branches.append((self.fires(rule), bits))
        return sa.case(*branches, else_=sa.null()) if branches else sa.null()


@attrs.frozen
class Entry:
    """A name a rule may cite: its key, a reference to it, and the SQL saying it is cited."""

    key: str
    ref: MetricRef | ShareRef
    mask: sa.ColumnElement[bool] = attrs.field(eq=False, repr=False)


@attrs.frozen
class CompiledPolicy:
    """A policy compiled to SQL for one database and month.

    Attributes:
        policy: The policy.
        as_of: The month.
        rollup: Whether the metrics include every customer's descendants.
        decisions: The ``SELECT`` of every customer's decisions, in portfolio
            order: ``customer_key``, ``customer_id``, ``tier`` (rank),
            ``segment`` (code, ``-1`` unassigned), ``tier_decision`` and
            ``segment_decision`` (``4 * rule index + outcome`` of the deciding
            rule within its chain, with :class:`~keyaccount.rules.Outcome`
            codes; ``-1`` when no rule fires); on PostgreSQL also ``ka_inexact``
            (1 where a float64 sum of fen may be inexact, see ``_sql_metrics``).
        evaluation: :attr:`decisions` with the explanations: per chain
            ``<chain>_cited_<w>`` bit masks (see :attr:`entries`), and the value
            of every name the policy may cite (``value_<j>``, in the order of
            :attr:`values`).
        entries: Per rule name, the names it may cite, in explanation order;
            bit ``i`` of word ``i // BITS_PER_WORD`` says whether the ``i``-th is cited.
        values: The names cited anywhere in the policy, in the order of the
            value columns, each with a reference.
    """

    policy: Policy
    as_of: Period
    rollup: bool
    decisions: sa.Select[Any]
    evaluation: sa.Select[Any]
    entries: Mapping[str, tuple[Entry, ...]]
    values: tuple[tuple[str, MetricRef | ShareRef], ...]

    @property
    def words(self) -> int:
        """The number of ``<chain>_cited_<w>`` columns per chain."""
        return _words(self.entries)


def _check_metrics(policy: Policy) -> tuple[set[str], list[str]]:
    """The built-in metrics and the products the policy names (in first-use order).

    Raises:
        PolicyError: a rule names a user metric (computed in Python, not SQL).
    """
    names: set[str] = set()
    products: list[str] = []
    for rule in policy.rules:
        for ref in references(rule.condition):
            if isinstance(ref, ShareRef):
                if ref.product_id not in products:
                    products.append(ref.product_id)
                names.add("t12m_revenue")
            elif ref.name in METRICS:
                names.add(ref.name)
            else:
                raise PolicyError(
                    f"rule {rule.name!r}: metric {ref.name!r} is a user metric, computed in "
                    "Python; the database evaluator knows only the built-in metrics "
                    f"({', '.join(METRICS)}); evaluate this policy in memory"
                )
    return names, products


def _check_products(policy: Policy, products: list[str], catalog: Mapping[str, int]) -> None:
    for product in products:
        if product in catalog:
            continue
        culprit = next(
            r.name
            for r in policy.rules
            if any(isinstance(n, ShareRef) and n.product_id == product for n in walk(r.condition))
        )
        raise UnknownProductError(
            f"rule {culprit!r}: product {product!r} of share() is not in the store's catalogue"
        )


def compile_policy(
    policy: Policy,
    as_of: Period | str,
    *,
    catalog: Mapping[str, int],
    postgresql: bool,
    rollup: bool = False,
) -> CompiledPolicy:
    """Compile ``policy`` to the SQL of its decisions and explanations as of ``as_of``.

    Args:
        policy: The policy (its rules may name the built-in metrics and
            ``share()`` of stored products).
        as_of: The as-of month.
        catalog: The store's products: id -> ``ka_product`` key.
        postgresql: Compile for PostgreSQL (otherwise SQLite).
        rollup: Evaluate group roll-ups (each customer with its descendants).

    Raises:
        PolicyError: a rule names a user metric.
        UnknownProductError: a ``share()`` names a product the store does not hold.
    """
    period = Period.parse(as_of)
    names, products = _check_metrics(policy)
    _check_products(policy, products, catalog)
    names.add("months_in_tier")
    metrics = metrics_select(
        period,
        metrics=names,
        product_keys=[catalog[p] for p in products],
        rollup=rollup,
        float_sums=postgresql,
        ordered=False,
    ).subquery("ka_metrics")
    c = _Compiler(metrics, {p: product_fen_column(i) for i, p in enumerate(products)})
    m = metrics.c
    minimum = policy.min_months_in_tier
    decision_columns: list[Column] = [
        m.customer_key,
        m.customer_id,
        m.tier,
        m.segment,
        c.chain(policy.tier_rules, minimum).label("tier_decision"),
        c.chain(policy.segment_rules, minimum).label("segment_decision"),
    ]
    if INEXACT in m:
        decision_columns.append(m[INEXACT])
    decisions = sa.select(*decision_columns).order_by(m.customer_key)

    entries: dict[str, tuple[Entry, ...]] = {}
    values: dict[str, MetricRef | ShareRef] = {}
    for rule in policy.rules:
        masks: dict[str, list[sa.ColumnElement[bool]]] = {}
        for ref, mask in c.cited(rule.condition, True, sa.true()):
            masks.setdefault(ref_key(ref), []).append(mask)
        citable = [(k, r) for k, r in key_order(rule.condition) if k in masks]
        entries[rule.name] = tuple(Entry(k, r, sa.or_(*masks[k])) for k, r in citable)
        for key, ref in citable:
            values.setdefault(key, ref)
    explanation_columns: list[Column] = []
    for chain, rules in (("tier", policy.tier_rules), ("segment", policy.segment_rules)):
        explanation_columns += [
            c.cited_bits(rules, entries, w).label(f"{chain}_cited_{w}")
            for w in range(_words(entries))
        ]
    explanation_columns += [
        c.number(ref).label(f"value_{j}") for j, ref in enumerate(values.values())
    ]
    evaluation = sa.select(*decision_columns, *explanation_columns).order_by(m.customer_key)
    return CompiledPolicy(
        policy, period, rollup, decisions, evaluation, entries, tuple(values.items())
    )


def _words(entries: Mapping[str, Sequence[Entry]]) -> int:
    """Bit mask columns per chain: enough for the rule with the most citable names."""
    longest = max((len(e) for e in entries.values()), default=0)
    return max(1, -(-longest // BITS_PER_WORD))


# ---------------------------------------------------------------------- running


def _execute(conn: sa.Connection, stmt: sa.Select[Any], policy: Policy) -> Any:
    try:
        return conn.execute(stmt).all()
    except sa.exc.DataError as exc:
        if getattr(exc.orig, "sqlstate", None) == "22003" and "bigint" in str(exc.orig):
            raise  # a sum beyond 64 bits: guarded() names the stored rows
        raise PrecisionError(
            f"policy {policy.name!r}: the database refused a value of a condition "
            f"({str(exc.orig).strip()}); PostgreSQL reports a float64 overflow or underflow "
            "(or a BIGINT overflow) as an error where IEEE arithmetic gives inf or 0, so "
            "evaluate this policy in memory"
        ) from exc


def _chain(
    codes: tuple[Any, ...], before: npt.NDArray[np.int8], targets: list[int]
) -> ChainDecisions:
    """Decision arrays from the ``4 * rule + outcome`` codes of one chain."""
    code = np.fromiter(codes, dtype=np.int64, count=len(codes))
    fired = code >= 0
    rule = np.where(fired, code // _CODES, -1).astype(np.int16)
    outcome = np.where(fired, code % _CODES, int(Outcome.NONE)).astype(np.int8)
    lookup = np.array(targets or [0], dtype=np.int8)
    after = np.where(fired, lookup[np.where(fired, rule, 0)], before).astype(np.int8)
    return ChainDecisions(rule=rule, outcome=outcome, before=before, after=after)


def evaluate_in_database(
    conn: sa.Connection, policy: Policy, as_of: Period | str, *, rollup: bool = False
) -> Evaluation:
    """Evaluate ``policy`` inside the database with one query.

    Args:
        conn: A connection to the store's database.
        policy: The policy.
        as_of: The as-of month.
        rollup: Evaluate group roll-ups.

    Returns:
        The same :class:`~keyaccount.rules.Evaluation` (decisions, transitions,
        holds, explanations) as ``policy.evaluate(portfolio, as_of)`` gives for
        the stored portfolio.

    Raises:
        PolicyError: a rule names a user metric.
        UnknownProductError: a ``share()`` names a product the store does not hold.
        PrecisionError: PostgreSQL refused a float64 overflow or underflow; a
            roll-up beyond the bound of ``check_rollup`` (the in-memory bound,
            naming the group); or stored rows beyond the input limits (naming
            the customer and month) whose sums cannot be exact.
    """
    compiled = compile_policy(
        policy,
        as_of,
        catalog=product_keys(conn),
        postgresql=conn.dialect.name == "postgresql",
        rollup=rollup,
    )
    if rollup:
        check_rollup(conn, compiled.as_of)
    with guarded(conn, f"policy {policy.name!r} as of {compiled.as_of}"):
        result = _execute(conn, compiled.evaluation, policy)
    labels = list(compiled.evaluation.selected_columns.keys())
    n = len(result)
    cols: list[tuple[Any, ...]] = list(zip(*result, strict=True)) if result else [()] * len(labels)
    column = dict(zip(labels, cols, strict=True))
    ids = np.empty(n, dtype=object)
    ids[:] = column["customer_id"]
    if INEXACT in column:
        check_exact(conn, column[INEXACT], column["customer_id"], compiled.as_of)
    tier = _chain(
        column["tier_decision"],
        np.fromiter(column["tier"], dtype=np.int8, count=n),
        [r.to.rank for r in policy.tier_rules if r.to is not None],
    )
    segment = _chain(
        column["segment_decision"],
        np.fromiter(column["segment"], dtype=np.int8, count=n),
        [segment_code(r.to_segment) for r in policy.segment_rules],
    )
    explained = _explanations(compiled, column, tier, segment)

    def explain(kind: TransitionKind, position: int) -> Explanation:
        return explained[kind, position]

    return Evaluation(
        policy=policy,
        as_of=compiled.as_of,
        customer_ids=ids,
        tier=tier,
        segment=segment,
        explain=explain,
    )


def _explanations(
    compiled: CompiledPolicy,
    column: Mapping[str, tuple[Any, ...]],
    tier: ChainDecisions,
    segment: ChainDecisions,
) -> dict[tuple[TransitionKind, int], Explanation]:
    """The explanation of every transition and held demotion, by chain and position."""
    policy = compiled.policy
    value_of = {key: column[f"value_{j}"] for j, (key, _) in enumerate(compiled.values)}
    out: dict[tuple[TransitionKind, int], Explanation] = {}
    chains: tuple[tuple[TransitionKind, ChainDecisions, tuple[Rule, ...]], ...] = (
        ("tier", tier, policy.tier_rules),
        ("segment", segment, policy.segment_rules),
    )
    for kind, chain, rules in chains:
        words = [column[f"{kind}_cited_{w}"] for w in range(compiled.words)]
        wanted = (chain.outcome == Outcome.MOVE) | (chain.outcome == Outcome.HELD)
        for position in np.flatnonzero(wanted).tolist():
            entries = compiled.entries[rules[int(chain.rule[position])].name]
            explanation: list[tuple[str, ExplanationValue]] = []
            for i, entry in enumerate(entries):
                if (words[i // BITS_PER_WORD][position] >> (i % BITS_PER_WORD)) & 1:
                    raw = value_of[entry.key][position]
                    explanation.append((entry.key, explanation_value(raw, entry.ref.type)))
            out[kind, position] = tuple(explanation)
    return out
