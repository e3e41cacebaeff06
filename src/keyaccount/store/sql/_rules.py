"""The SQL evaluator: a policy compiled to SQLAlchemy Core and run inside the store's database.

The policy's conditions are compiled from the typed AST into SQL expressions
over the metrics query of :mod:`keyaccount.store.sql._metrics` by
``_Compiler``, a :class:`~keyaccount.rules.compiler.ConditionCompiler`; the
revenue never leaves the database. One query gives every customer's decisions
and explanations:

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
  the SQL form of "which references does this condition cite" (the
  :class:`~keyaccount.rules.compiler.CitationCompiler` ``_Bits``), one bit per
  name the rule may cite. A chain of one operator (``a or b or c``) is taken
  at once: a bitwise OR of its operands' bits, or one ``CASE`` finding its
  leftmost true (``or``) or false (``and``) operand, so the SQL grows linearly
  with the length of a chain;
- the value of every name the policy may cite.

A condition nested deeper than :data:`STEP_LEVELS` levels is computed in
steps: ``WITH`` queries between the metrics and the final ``SELECT``, each
computing the parts of the next :data:`STEP_LEVELS` levels once per row
(see ``_Compiler.steps``). So no SQL expression is nested deeper than
SQLite's parser allows, and the SQL grows linearly with the condition.
On PostgreSQL the metrics subquery is kept apart from the outer query
(``OFFSET 0``) so that each metric is computed once per row.

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

import operator
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from keyaccount.domain import Period, segment_code
from keyaccount.exceptions import PolicyError, PrecisionError, UnknownProductError
from keyaccount.portfolio import METRICS
from keyaccount.rules import (
    And,
    ChainDecisions,
    Evaluation,
    Not,
    Or,
    Outcome,
    ShareRef,
    ValueType,
    references,
    walk,
)
from keyaccount.rules.compiler import (
    CitationCompiler,
    ConditionCompiler,
    chain_operands,
    children,
    explanation_value,
    key_order,
    ref_key,
)
from keyaccount.store.sql._metrics import (
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
    from collections.abc import Callable, Iterator, Mapping, Sequence

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

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

STEP_LEVELS: Final = 6
"""Levels of a condition written as one SQL expression; deeper parts are computed first.

A level is a comparison, an arithmetic operator, a ``not``, or a chain of one
of ``and`` / ``or`` (``a or b or c`` is one level). SQLite's parser refuses
an expression nested much deeper (its stack holds about 100 symbols: some 18
nested ``CASE`` or 30 nested parenthesised ``OR``), so every sub-condition
whose height is a multiple of this is computed as a column of an earlier
step (a ``WITH`` query), and the expressions above it read that column.
"""

_FINAL: Final = 1 << 30
"""The step number of the final ``SELECT``, after every step."""

MAX_STEP_COLUMNS: Final = 1_600
"""Columns a step's query may have, the metrics' included (PostgreSQL allows 1,664).

A policy whose deep conditions need more is refused with
:class:`~keyaccount.exceptions.PolicyError` (evaluate it in memory).
"""

Column = sa.ColumnElement[Any]
Bits = int | Column
"""Citation bits: an ``int`` when the same on every row, else a ``BIGINT`` expression."""
Key = tuple[Any, ...]
"""A value the steps compute: ``("n", id(node))`` (a number or a condition) or
``("b", rule name, id(node), value, word)`` (citation bits)."""


class _Compiler(ConditionCompiler[Column, Column]):
    """Compiles condition nodes to SQL expressions over the metrics and the steps.

    Numbers compile to ``BIGINT`` (money in fen, counts) or ``DOUBLE
    PRECISION`` (ratios) expressions, ``NULL`` where absent; conditions to
    SQL's three-valued booleans (``NULL``: unknown).

    Args:
        metrics: The metrics subquery (columns named as the metrics).
        shares: ``product_id`` -> the label of its trailing-12 fen column.
        entries: Per rule name, the names it may cite (see :class:`CompiledPolicy`).

    Attributes:
        m: The query the expressions read: the metrics, or the last step,
            which has every column of the metrics and of the earlier steps.
        known: The values computed by the steps so far: the name of their
            column in :attr:`m`, or the citation bits when they are a constant.
    """

    def __init__(
        self,
        metrics: sa.FromClause,
        shares: Mapping[str, str],
        entries: Mapping[str, Sequence[Entry]],
    ) -> None:
        self.m = metrics
        self.shares = shares
        self.positions = {
            name: {entry.key: i for i, entry in enumerate(cited)} for name, cited in entries.items()
        }
        self.known: dict[Key, str | int] = {}

    def computed(self, key: Key) -> Bits | None:
        """A value computed by an earlier step: its column, the constant bits, or None."""
        found = self.known.get(key)
        if found is None or isinstance(found, int):
            return found
        return self.m.c[found]

    def number(self, node: Expr) -> Column:
        """The SQL value of a numeric node, read from a step's column when one computed it."""
        done = self.computed(("n", id(node)))
        return super().number(node) if done is None else _bigint(done)

    def condition(self, node: Expr) -> Column:
        """The SQL truth of a condition, read from a step's column when one computed it."""
        done = self.computed(("n", id(node)))
        return super().condition(node) if done is None else _bigint(done)

    def bits(self, node: Expr, value: bool, rule: str, word: int) -> Bits:
        """Word ``word`` of the bits ``rule``'s condition ``node`` cites where it is ``value``.

        See :class:`_Bits`.
        """
        return _Bits(self, rule, word).cited(node, value)

    # -------------------------------------------------------------- numbers

    def literal(self, node: Literal) -> Column:
        if node.type is ValueType.RATIO:
            return as_double(float(node.value))
        return as_bigint(int(node.value))

    def metric(self, node: MetricRef) -> Column:
        return self.m.c[node.name]

    def share(self, node: ShareRef) -> Column:
        total = self.m.c.t12m_revenue
        product = self.m.c[self.shares[node.product_id]]
        return sa.case(
            (total > 0, sa.cast(product, DOUBLE) / sa.cast(total, DOUBLE)), else_=sa.null()
        )

    def neg(self, operand: Column) -> Column:
        return -operand

    def arith(self, node: Arith, left: Column, right: Column) -> Column:
        if node.type.is_exact:  # money + money, count - count: exact BIGINT
            return left + right if node.op == "+" else left - right
        a = _as_float(left, node.left.type)
        b = _as_float(right, node.right.type)
        if node.op == "/":  # a divisor of 0.0 (or -0.0) is absent
            b = sa.func.nullif(b, as_double(0.0), type_=DOUBLE)
        return sa.cast(_ARITH[node.op](a, b), DOUBLE)

    # -------------------------------------------------------------- conditions

    def boolean(self, value: bool) -> Column:
        return sa.true() if value else sa.false()

    def compare(self, node: Compare, left: Column, right: Column) -> Column:
        if node.domain is ValueType.RATIO:
            left = _as_float(left, node.left.type)
            right = _as_float(right, node.right.type)
        result: Column = _COMPARE[node.op](left, right)
        return result

    def and_(self, operands: list[Column]) -> Column:
        return sa.and_(*operands)

    def or_(self, operands: list[Column]) -> Column:
        return sa.or_(*operands)

    def not_(self, operand: Column) -> Column:
        return sa.not_(operand)

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

    def cited_bits(self, rules: tuple[Rule, ...], word: int) -> Column:
        """Bit ``i`` set where the deciding rule cites its ``word * BITS + i``-th citable name.

        ``NULL`` where no rule of the chain fires.
        """
        branches: list[tuple[sa.ColumnElement[bool], Column]] = []
        for rule in rules:
            bits = self.bits(rule.condition, True, rule.name, word)
            branches.append((self.fires(rule), _bigint(bits)))
        return sa.case(*branches, else_=sa.null()) if branches else sa.null()

    # -------------------------------------------------------------- steps

    def steps(self, policy: Policy, words: int) -> None:
        """Compute the deep parts of the conditions in steps; :attr:`m` becomes the last.

        Every part whose height (see :data:`STEP_LEVELS`) is a positive
        multiple of ``STEP_LEVELS`` below a rule's condition is computed in
        step ``height // STEP_LEVELS``: its value (a number, or the truth of a
        condition) and, for a condition, its citation bits (when they are not
        the same on every row), each from the values of the earlier steps. So
        no expression of the query spans more than ``STEP_LEVELS`` levels, and
        each part is written once. Each step is a ``WITH`` query with
        ``OFFSET 0``, which neither database merges into the next one: each
        value is computed once per row, however often the next step reads it.

        Raises:
            PolicyError: a step would have more than :data:`MAX_STEP_COLUMNS` columns.
        """
        plan = _Plan()
        for rule in policy.rules:
            plan.add(rule.condition, True, rule.name, root=True)
        metrics = list(self.m.c.keys())
        live: dict[str, int] = {}  # a step's column -> the last step that reads it
        for step in sorted(plan.parts):
            kept = [self.m.c[name] for name, last in live.items() if last > step]
            columns: list[Column] = []
            fresh: dict[Key, str | int] = {}
            for key, value in self.step_values(plan.parts[step], words):
                if key in fresh:
                    continue
                if isinstance(value, int):
                    fresh[key] = value
                    continue
                fresh[key] = name = f"ka_step_{len(live)}"
                columns.append(value.label(name))
                live[name] = plan.readers[key[1] if key[0] == "n" else key[2]]
            width = len(metrics) + len(kept) + len(columns)
            if width > MAX_STEP_COLUMNS:
                raise PolicyError(
                    f"policy {policy.name!r}: its deeply nested conditions are too many to "
                    f"evaluate in the database (a step of {width:,} columns, more than "
                    f"{MAX_STEP_COLUMNS:,}); evaluate this policy in memory"
                )
            query = sa.select(*(self.m.c[name] for name in metrics), *kept, *columns)
            self.m = query.offset(0).cte(f"ka_step{step}")
            self.known.update(fresh)

    def step_values(
        self, parts: Sequence[tuple[str, Expr, bool]], words: int
    ) -> Iterator[tuple[Key, Bits]]:
        """The values one step computes for ``parts`` (rule name, node, value explained)."""
        for rule, node, value in parts:
            if node.type is not ValueType.BOOLEAN:
                yield ("n", id(node)), self.number(node)
                continue
            yield ("n", id(node)), self.condition(node)
            for word in range(words):
                yield ("b", rule, id(node), value, word), self.bits(node, value, rule, word)


class _Bits(CitationCompiler[Bits]):
    """The citations of one rule's condition in SQL: one word of bits, per row.

    Bit ``i % BITS_PER_WORD`` of word ``i // BITS_PER_WORD`` stands for the
    ``i``-th name ``rule`` may cite. The bits of a node are only meaningful on
    the rows where it has the value they are asked for, and never ``NULL``:
    an ``int`` when the same on every row, else a ``BIGINT`` expression.

    A chain of one operator (``a or b or c``, however parenthesised) is taken
    at once: when it cites every operand (``or`` false, ``and`` true) the
    operands' bits are OR-ed; when it cites its leftmost true (``or``) or
    false (``and``) operand, one ``CASE`` tries the operands in order. So each
    operand's condition appears once per chain it is an operand of (not once
    per level of a left-associated chain), and the SQL grows with the size of
    the condition times the number of alternations of ``and`` / ``or`` /
    ``not`` above each comparison within one step (at most :data:`STEP_LEVELS`).

    Args:
        compiler: The conditions' compiler (and the steps computed so far).
        rule: The rule's name.
        word: Which word of the bits.
    """

    def __init__(self, compiler: _Compiler, rule: str, word: int) -> None:
        self.compiler = compiler
        self.rule = rule
        self.word = word

    def cited(self, node: Expr, value: bool) -> Bits:
        """The bits, read from a step's column (or constant) when one computed them."""
        done = self.compiler.computed(("b", self.rule, id(node), value, self.word))
        return super().cited(node, value) if done is None else done

    def comparison(self, node: Compare) -> Bits:
        found = 0
        positions = self.compiler.positions[self.rule]
        for ref in references(node):
            i = positions[ref_key(ref)]
            if i // BITS_PER_WORD == self.word:
                found |= 1 << (i % BITS_PER_WORD)
        return found

    def every(self, parts: list[Bits]) -> Bits:
        return _bitwise_or(parts)

    def leftmost(self, operands: list[Expr], value: bool, parts: list[Bits]) -> Bits:
        last = parts[-1]
        branches: list[tuple[Column, Bits]] = []
        for operand, part in zip(operands[:-1], parts[:-1], strict=True):
            truth = self.compiler.condition(operand)
            branches.append((truth if value else sa.not_(truth), part))
        while branches and _same(branches[-1][1], last):
            branches.pop()  # taking it or falling through cites the same
        if not branches:
            return last
        return sa.case(*((when, _bigint(part)) for when, part in branches), else_=_bigint(last))

    def nothing(self) -> Bits:
        return 0


def _as_float(value: Column, kind: ValueType) -> Column:
    """Money enters float64 arithmetic as ``float64(fen) / 100``, a count as ``float64(n)``."""
    if kind is ValueType.MONEY:
        return sa.cast(value, DOUBLE) / as_double(100.0)
    if kind is ValueType.COUNT:
        return sa.cast(value, DOUBLE)
    return value


@attrs.frozen
class Entry:
    """A name a rule may cite: its key and a reference to it."""

    key: str
    ref: MetricRef | ShareRef


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
            (1 where a float64 sum of fen may be inexact, see ``sql._metrics``).
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
        PolicyError: a rule names a user metric, or the deeply nested
            conditions need more than :data:`MAX_STEP_COLUMNS` columns.
        UnknownProductError: a ``share()`` names a product the store does not hold.
    """
    period = Period.parse(as_of)
    names, products = _check_metrics(policy)
    _check_products(policy, products, catalog)
    names.add("months_in_tier")
    query = metrics_select(
        period,
        metrics=names,
        product_keys=[catalog[p] for p in products],
        rollup=rollup,
        float_sums=postgresql,
        ordered=False,
    )
    if postgresql:
        # OFFSET 0 keeps the planner from merging the metrics into the outer
        # query, which would repeat months_since_last's correlated subquery
        # for every reference to it (one SubPlan each, whose summed cost also
        # switches on JIT compilation); SQLite is faster merged
        query = query.offset(0)
    metrics = query.subquery("ka_metrics")
    entries: dict[str, tuple[Entry, ...]] = {}
    values: dict[str, MetricRef | ShareRef] = {}
    for rule in policy.rules:
        # every reference sits in a comparison, which cites it where it decides
        citable = key_order(rule.condition)
        entries[rule.name] = tuple(Entry(k, r) for k, r in citable)
        for key, ref in citable:
            values.setdefault(key, ref)
    c = _Compiler(metrics, {p: product_fen_column(i) for i, p in enumerate(products)}, entries)
    c.steps(policy, _words(entries))
    m = c.m.c
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

    explanation_columns: list[Column] = []
    for chain, rules in (("tier", policy.tier_rules), ("segment", policy.segment_rules)):
        explanation_columns += [
            c.cited_bits(rules, w).label(f"{chain}_cited_{w}") for w in range(_words(entries))
        ]
    explanation_columns += [
        c.number(ref).label(f"value_{j}") for j, ref in enumerate(values.values())
    ]
    evaluation = sa.select(*decision_columns, *explanation_columns).order_by(m.customer_key)
    return CompiledPolicy(
        policy, period, rollup, decisions, evaluation, entries, tuple(values.items())
    )


class _Plan:
    """Which parts of the conditions the steps compute, and which step reads each.

    Attributes:
        parts: Per step, the parts it computes: (rule name, node, the truth
            the node is explained for).
        readers: ``id(node)`` of each part -> the step whose expressions read
            it (:data:`_FINAL`: the final ``SELECT``).
    """

    def __init__(self) -> None:
        self.parts: dict[int, list[tuple[str, Expr, bool]]] = {}
        self.readers: dict[int, int] = {}

    def add(self, node: Expr, value: bool, rule: str, *, root: bool) -> tuple[int, list[Expr]]:
        """Plan ``node``'s tree: its height, and its parts that no step below it reads.

        A leaf has height 0; a comparison, an arithmetic operator, a ``not``
        and a chain of one of ``and`` / ``or`` (all its operands) are one level
        above their highest operand. A part (not the root) whose height is a
        multiple of :data:`STEP_LEVELS` is computed in step ``height //
        STEP_LEVELS`` and read by the step of the nearest part above it (or
        by the final ``SELECT``). ``value`` is the truth ``node`` is explained
        for (``not`` flips it).
        """
        operands: list[tuple[Expr, bool]]
        if isinstance(node, And | Or):
            operands = [(operand, value) for operand in chain_operands(node)]
        else:
            truth = not value if isinstance(node, Not) else value
            operands = [(child, truth) for child in children(node)]
        if not operands:  # a literal or a reference
            return 0, []
        height = 0
        below: list[Expr] = []
        for operand, truth in operands:
            level, parts = self.add(operand, truth, rule, root=False)
            height = max(height, level + 1)
            below += parts
        if not root and height % STEP_LEVELS == 0:
            step = height // STEP_LEVELS
            self.parts.setdefault(step, []).append((rule, node, value))
            self.read(below, step)
            return height, [node]
        if root:
            self.read(below, _FINAL)
        return height, below

    def read(self, parts: list[Expr], step: int) -> None:
        """Record that ``step`` reads ``parts``."""
        for part in parts:
            self.readers[id(part)] = max(self.readers.get(id(part), 0), step)


def _bigint(bits: Bits) -> Column:
    """Citation bits as SQL: a ``BIGINT`` parameter when the same on every row."""
    return sa.literal(bits, sa.BigInteger()) if isinstance(bits, int) else bits


def _bitwise_or(parts: Sequence[Bits]) -> Bits:
    """The bitwise OR of citation bits (an ``int`` when every part is one)."""
    constant = 0
    columns: list[Column] = []
    for part in parts:
        if isinstance(part, int):
            constant |= part
        else:
            columns.append(part)
    if not columns:
        return constant
    result = columns[0]
    for column in columns[1:]:
        result = result.bitwise_or(column)
    return result.bitwise_or(_bigint(constant)) if constant else result


def _same(a: Bits, b: Bits) -> bool:
    """Whether two citation bits are the same constant."""
    return isinstance(a, int) and isinstance(b, int) and a == b


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
        PolicyError: a rule names a user metric, or the deeply nested
            conditions need more than :data:`MAX_STEP_COLUMNS` columns.
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
