"""What an evaluation returns: decisions per customer, transitions, holds and counts."""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    ExplanationValue,
    Period,
    Segment,
    SegmentChange,
    Tier,
    TierChange,
    check_lang,
    format_explanation,
)
from keyaccount.portfolio import frames as fr
from keyaccount.rules._ast import ValueType
from keyaccount.rules._texts import Citations, citation_texts, citations_from_explanations
from keyaccount.rules.compiler import key_order
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.domain import ProductCatalog
    from keyaccount.rules._rule import PolicyRules, Rule

__all__ = [
    "ChainDecisions",
    "Citations",
    "Evaluation",
    "EvaluationCounts",
    "Explanation",
    "Outcome",
    "Transition",
    "TransitionKind",
]

TransitionKind: TypeAlias = Literal["tier", "segment"]
Explanation: TypeAlias = tuple[tuple[str, ExplanationValue], ...]
"""Metric values that made a condition true, as ``(name, value)`` pairs in order."""

_PAIR = 64
"""Base for encoding a (before, after) pair of codes as one integer."""

ExplainFn: TypeAlias = Callable[[TransitionKind, int], Explanation]
CiteFn: TypeAlias = Callable[[TransitionKind, int], Citations]
"""What the rule of a chain (by index) cites for all the rows it explains."""


class Outcome(enum.IntEnum):
    """What a chain decided for one customer (codes in :attr:`ChainDecisions.outcome`)."""

    NONE = 0
    """No rule of the chain fired."""
    MOVE = 1
    """A rule fired and its target differs from the current value: a transition."""
    STAY = 2
    """A rule fired and its target is the current value: nothing changes."""
    HELD = 3
    """A tier demotion blocked because ``months_in_tier < min_months_in_tier``."""


@attrs.frozen(eq=False)
class ChainDecisions:
    """The decisions of one chain (tier rules or segment rules), one element per customer.

    Attributes:
        rule: Index of the deciding rule within the chain, ``-1`` when none fired.
        outcome: :class:`Outcome` codes.
        before: Current tier rank, or segment code (``-1``: unassigned).
        after: The deciding rule's target (same coding), equal to ``before``
            where no rule fired.
    """

    rule: npt.NDArray[np.int16]
    outcome: npt.NDArray[np.int8]
    before: npt.NDArray[np.int8]
    after: npt.NDArray[np.int8]

    def __repr__(self) -> str:
        moves, held = (int((self.outcome == o).sum()) for o in (Outcome.MOVE, Outcome.HELD))
        size = f"{number(self.rule.shape[0])} customers, {number(moves)} moves, {number(held)} held"
        return short_repr("ChainDecisions", size)


def _label(kind: TransitionKind, code: int) -> Tier | Segment | None:
    if kind == "tier":
        return TIERS[code]
    return None if code == NO_CODE else SEGMENTS[code]


def _name(value: Tier | Segment | None, lang: str = "en") -> str:
    if value is None:
        return "未分配" if lang == "zh" else "UNASSIGNED"
    return value.label(lang)


@attrs.frozen
class Transition:
    """One customer's change decided by a rule, with the reason.

    Attributes:
        customer_id: The customer.
        kind: ``"tier"`` or ``"segment"``.
        before: The current tier (or segment, ``None`` for unassigned).
        after: The tier (or segment) the rule moves it to.
        rule: The rule's name.
        period: The as-of month; an applied transition takes effect then.
        explanation: The metric values that made the rule's condition true,
            as ``(name, value)`` pairs (money in ``Decimal`` yuan, counts as
            ``int``, ratios as ``float``); for ``or``, those of the leftmost
            branch that held.
    """

    customer_id: str
    kind: TransitionKind
    before: Tier | Segment | None
    after: Tier | Segment | None
    rule: str
    period: Period
    explanation: Explanation = ()

    def _tier_step(self) -> int:
        """1 for a move to a higher tier, -1 to a lower one, else 0 (segments too)."""
        before, after = self.before, self.after
        if isinstance(before, Tier) and isinstance(after, Tier):
            return int(after > before) - int(after < before)
        return 0

    @property
    def is_promotion(self) -> bool:
        """Whether this moves a customer to a higher tier."""
        return self._tier_step() > 0

    @property
    def is_demotion(self) -> bool:
        """Whether this moves a customer to a lower tier."""
        return self._tier_step() < 0

    def to_change(self, *, reason: str = "") -> TierChange | SegmentChange:
        """The :class:`~keyaccount.domain.TierChange` or ``SegmentChange`` that applies it."""
        before, after = self.before, self.after
        if isinstance(before, Tier) and isinstance(after, Tier):
            return TierChange(
                self.customer_id,
                self.period,
                before=before,
                after=after,
                rule=self.rule,
                reason=reason,
                explanation=self.explanation,
            )
        if isinstance(before, Tier) or isinstance(after, Tier):
            raise TypeError(f"transition mixes a tier and a segment: {self!r}")
        return SegmentChange(
            self.customer_id,
            self.period,
            before=before,
            after=after,
            rule=self.rule,
            reason=reason,
            explanation=self.explanation,
        )

    def reason(self, lang: str = "en", *, catalog: ProductCatalog | None = None) -> str:
        """The explanation as text: the values that made the rule fire, exactly.

        ``"en"``: ``t12m_revenue=1200000.00, active_months=10``; ``"zh"``:
        ``近12个月收入：1,200,000.00元，近12个月有收入月数：10`` (metric names from the
        glossary :data:`~keyaccount.domain.METRIC_LABELS_ZH`, shares by the product's
        Chinese name, money in 元 with thousands separators, ratios as percentages;
        see :func:`~keyaccount.domain.format_explanation`).

        Args:
            lang: ``"en"`` or ``"zh"``.
            catalog: Where the Chinese names of products cited by ``share()`` come
                from (default: the shipped catalogue).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return format_explanation(
            self.explanation, check_lang(lang, where="Transition.reason"), catalog=catalog
        )

    def describe(self, lang: str = "en", *, catalog: ProductCatalog | None = None) -> str:
        """One line: the customer, the move, the rule and the reason.

        ``"en"`` is ``str(transition)``:
        ``C1: ACTIVE -> KEY by 'promote-key' (t12m_revenue=1200000.00)``; ``"zh"``:
        ``C1：活跃客户 → 重点客户，规则“promote-key”（近12个月收入：1,200,000.00元）``.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        zh = check_lang(lang, where="Transition.describe") == "zh"
        why = self.reason(lang, catalog=catalog)
        if zh:
            return (
                f"{self.customer_id}：{_name(self.before, lang)} → {_name(self.after, lang)}，"
                f"规则“{self.rule}”（{why}）"
            )
        return (
            f"{self.customer_id}: {_name(self.before)} -> {_name(self.after)} "
            f"by {self.rule!r} ({why})"
        )

    def __str__(self) -> str:
        return self.describe()


@attrs.frozen
class EvaluationCounts:
    """How many customers each outcome, rule and move had.

    Attributes:
        customers: Customers evaluated (those first seen by the as-of month).
        tier_moves: Tier transitions.
        segment_moves: Segment transitions.
        held: Demotions held by ``min_months_in_tier``.
        stays: Decisions whose target was the current value (both chains).
        by_rule: Customers decided by each rule (moves, stays and holds), in
            policy order, rules that decided nothing included.
        moves: Transitions per ``(before, after)``; segments use ``None`` for
            unassigned.
    """

    customers: int
    tier_moves: int
    segment_moves: int
    held: int
    stays: int
    by_rule: Mapping[str, int]
    moves: Mapping[tuple[Tier | Segment | None, Tier | Segment | None], int]


class Evaluation:
    """The result of evaluating a policy as of one month.

    Decisions are held as arrays (:attr:`tier` and :attr:`segment`); the
    :class:`Transition` objects and their explanations are made on first use.

    Attributes:
        policy: The policy evaluated.
        as_of: The as-of month.
        customer_ids: The customers evaluated, in metrics-table order.
        tier: Decisions of the tier rules.
        segment: Decisions of the segment rules.
    """

    def __init__(
        self,
        *,
        policy: PolicyRules,
        as_of: Period,
        customer_ids: npt.NDArray[np.object_],
        tier: ChainDecisions,
        segment: ChainDecisions,
        explain: ExplainFn,
        cite: CiteFn | None = None,
    ) -> None:
        self.policy = policy
        self.as_of = as_of
        self.customer_ids = customer_ids
        self.tier = tier
        self.segment = segment
        self._explain = explain
        self._cite = cite
        self._rules = {"tier": policy.tier_rules, "segment": policy.segment_rules}

    def __repr__(self) -> str:
        c = self.counts
        moves = f"{number(c.tier_moves)} tier and {number(c.segment_moves)} segment transitions"
        size = (f"{number(c.customers)} customers", moves, f"{number(c.held)} held")
        return short_repr("Evaluation", *size, policy=self.policy.name, as_of=self.as_of)

    def _repr_html_(self) -> str:
        head = self._collect(Outcome.MOVE, limit=HEAD_ROWS)
        rows = ((t.customer_id, t.kind, t.before, t.after, t.rule, t.reason()) for t in head)
        headings = ("customer_id", "kind", "from", "to", "rule", "reason")
        total = self.counts.tier_moves + self.counts.segment_moves
        return html_table(headings, rows, total=total, caption=repr(self), unit="transitions")

    def _chain(self, kind: TransitionKind) -> tuple[ChainDecisions, tuple[Rule, ...]]:
        return (self.tier if kind == "tier" else self.segment), self._rules[kind]

    def _make(self, kind: TransitionKind, position: int) -> Transition:
        chain, rules = self._chain(kind)
        return Transition(
            str(self.customer_ids[position]),
            kind,
            _label(kind, int(chain.before[position])),
            _label(kind, int(chain.after[position])),
            rules[int(chain.rule[position])].name,
            self.as_of,
            self._explain(kind, position),
        )

    def _collect(self, outcome: Outcome, limit: int | None = None) -> tuple[Transition, ...]:
        tier = np.flatnonzero(self.tier.outcome == outcome)[:limit]
        seg = np.flatnonzero(self.segment.outcome == outcome)[:limit]
        order = sorted([(int(p), 0) for p in tier] + [(int(p), 1) for p in seg])[:limit]
        kinds: tuple[TransitionKind, TransitionKind] = ("tier", "segment")
        return tuple(self._make(kinds[k], p) for p, k in order)

    @functools.cached_property
    def transitions(self) -> tuple[Transition, ...]:
        """Every transition, by customer (table order), a tier change before a segment change."""
        return self._collect(Outcome.MOVE)

    @functools.cached_property
    def held(self) -> tuple[Transition, ...]:
        """The demotions held by ``min_months_in_tier``: decided, but not transitions."""
        return self._collect(Outcome.HELD)

    @property
    def tier_transitions(self) -> tuple[Transition, ...]:
        """The tier transitions only."""
        return tuple(t for t in self.transitions if t.kind == "tier")

    @property
    def segment_transitions(self) -> tuple[Transition, ...]:
        """The segment transitions only."""
        return tuple(t for t in self.transitions if t.kind == "segment")

    def changes(self) -> list[TierChange | SegmentChange]:
        """The transitions as domain changes, ready for ``Portfolio.apply_changes``."""
        return [t.to_change() for t in self.transitions]

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    def __len__(self) -> int:
        return len(self.transitions)

    @functools.cached_property
    def counts(self) -> EvaluationCounts:
        """Counts of outcomes, of customers decided per rule, and of moves."""
        by_rule: dict[str, int] = {}
        moves: Counter[tuple[Any, Any]] = Counter()
        kinds: tuple[TransitionKind, TransitionKind] = ("tier", "segment")
        for kind in kinds:
            chain, rules = self._chain(kind)
            decided = np.bincount(chain.rule[chain.rule >= 0], minlength=len(rules))
            for rule, count in zip(rules, decided.tolist(), strict=True):
                by_rule[rule.name] = int(count)
            move = chain.outcome == Outcome.MOVE
            codes = (chain.before[move].astype(np.int64) + 1) * _PAIR + chain.after[move] + 1
            for code in np.flatnonzero(np.bincount(codes, minlength=1)).tolist():
                b, a = divmod(code, _PAIR)
                moves[(_label(kind, b - 1), _label(kind, a - 1))] += int(
                    np.count_nonzero(codes == code)
                )
        return EvaluationCounts(
            customers=len(self.customer_ids),
            tier_moves=int((self.tier.outcome == Outcome.MOVE).sum()),
            segment_moves=int((self.segment.outcome == Outcome.MOVE).sum()),
            held=int((self.tier.outcome == Outcome.HELD).sum()),
            stays=int(
                (self.tier.outcome == Outcome.STAY).sum()
                + (self.segment.outcome == Outcome.STAY).sum()
            ),
            by_rule={r.name: by_rule[r.name] for r in self.policy.rules},
            moves=dict(moves),
        )

    def decision(self, customer_id: str) -> dict[TransitionKind, Transition | None]:
        """The transition or held demotion of one customer per chain (``None``: nothing)."""
        matches = np.flatnonzero(self.customer_ids == customer_id)
        out: dict[TransitionKind, Transition | None] = {"tier": None, "segment": None}
        if matches.size == 0:
            return out
        position = int(matches[0])
        kinds: tuple[TransitionKind, TransitionKind] = ("tier", "segment")
        for kind in kinds:
            chain, _ = self._chain(kind)
            if chain.outcome[position] in (Outcome.MOVE, Outcome.HELD):
                out[kind] = self._make(kind, position)
        return out

    def citations(self, kind: TransitionKind) -> list[Citations]:
        """What each rule of a chain cites for the moves and holds it decided, as columns.

        One :class:`Citations` per rule of the chain that explains at least one row,
        in policy order. The columnar evaluator gives them straight from its
        arrays; for the others they are gathered from the explanations.
        """
        chain, rules = self._chain(kind)
        explained = (chain.outcome == Outcome.MOVE) | (chain.outcome == Outcome.HELD)
        decided = np.unique(chain.rule[explained]).tolist()
        if self._cite is not None:
            return [self._cite(kind, int(index)) for index in decided]
        out = []
        for index in decided:
            rows = np.flatnonzero(explained & (chain.rule == index)).astype(np.int64)
            names = [(key, ref.type) for key, ref in key_order(rules[index].condition)]
            found = [self._explain(kind, p) for p in rows.tolist()]
            out.append(citations_from_explanations(rows, names, found))
        return out

    def explanations(
        self, lang: str = "en", *, catalog: ProductCatalog | None = None
    ) -> npt.NDArray[np.object_]:
        """The explanation text of every customer evaluated, made over the columns at once.

        One element per customer (metrics-table order): the reason of its tier move
        or held demotion and of its segment move (:meth:`Transition.reason`), joined
        by ``"; "`` (``"；"`` in Chinese) when both; ``None`` where no rule moved or
        held it. Each rule's texts are written for all its rows together, money
        and counts over the columns, a ratio once per distinct value.

        Args:
            lang: ``"en"`` or ``"zh"``.
            catalog: Where the Chinese names of products cited by ``share()``
                come from (default: the shipped catalogue).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        lang = check_lang(lang, where="Evaluation.explanations")
        n = len(self.customer_ids)
        out = np.full(n, None, dtype=object)
        written = np.zeros(n, dtype=np.bool_)
        kinds: tuple[TransitionKind, TransitionKind] = ("tier", "segment")
        joiner = "；" if lang == "zh" else "; "
        for kind in kinds:
            for citations in self.citations(kind):
                rows = citations.rows
                if rows.size == 0:
                    continue
                texts = citation_texts(citations, lang, catalog=catalog)
                both = written[rows]
                if both.any():
                    texts[both] = out[rows[both]] + joiner + texts[both]
                out[rows] = texts
                written[rows] = True
        return out

    def _frame(self, lang: str, where: str, catalog: ProductCatalog | None) -> fr.Frame:
        """One row per customer: both chains' decisions, the reasons and the values cited."""
        check_lang(lang, where=where)
        outcomes = [o.name for o in Outcome]
        kinds: tuple[TransitionKind, TransitionKind] = ("tier", "segment")
        columns = [fr.text("customer_id", self.customer_ids)]
        for kind in kinds:
            chain, rules = self._chain(kind)
            names = [r.name for r in rules]
            label = fr.tier if kind == "tier" else fr.segment
            columns += [
                label(f"{kind}_from", chain.before, lang),
                label(f"{kind}_to", chain.after, lang),
                fr.labels(f"{kind}_rule", chain.rule, names, ordered=False),
                fr.labels(f"{kind}_outcome", chain.outcome, outcomes),
            ]
        columns.append(fr.flag("held", self.tier.outcome == Outcome.HELD))
        columns.append(fr.text("explanation", self.explanations(lang, catalog=catalog)))
        groups = [(k, c) for k, kind in enumerate(kinds) for c in self.citations(kind)]
        columns += _cited_columns(groups, len(self.customer_ids))
        return fr.Frame(tuple(columns), {"as_of": str(self.as_of), "policy": self.policy.name})

    def to_pandas(self, *, lang: str = "en", catalog: ProductCatalog | None = None) -> pd.DataFrame:
        """One row per customer evaluated (needs the ``pandas`` extra).

        Columns: ``customer_id``; for each chain (``tier_`` and ``segment_``)
        ``_from`` and ``_to`` (ordered categories labelled in ``lang``; ``_to`` is
        the deciding rule's target, equal to ``_from`` where no rule fired),
        ``_rule`` (the deciding rule, missing when none fired) and ``_outcome``
        (``NONE``, ``MOVE``, ``STAY``, ``HELD``); ``held`` (a demotion held by
        ``min_months_in_tier``); ``explanation`` (the reasons of the moves and
        holds in ``lang``, as :meth:`Transition.reason`); then one column per
        metric an explanation cites, holding the value that decided (money as
        ``<name>_fen`` and exact yuan, missing where not cited).

        Args:
            lang: ``"en"`` or ``"zh"``.
            catalog: Where the Chinese names of products cited by ``share()``
                come from (default: the shipped catalogue).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(lang, "Evaluation.to_pandas", catalog).to_pandas()

    def to_arrow(self, *, lang: str = "en", catalog: ProductCatalog | None = None) -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        return self._frame(lang, "Evaluation.to_arrow", catalog).to_arrow()

    def to_polars(self, *, lang: str = "en", catalog: ProductCatalog | None = None) -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        return self._frame(lang, "Evaluation.to_polars", catalog).to_polars()


def _cited_columns(groups: list[tuple[int, Citations]], n: int) -> list[fr.Column]:
    """One column per name cited, in order of first citation (tier chain, then segment).

    Where both chains cite a name for one customer, the segment chain's value is kept;
    a name whose every citation is absent gives a text column of missing values.
    """
    first: dict[str, tuple[int, int, int]] = {}
    filled: dict[str, tuple[ValueType, npt.NDArray[Any], npt.NDArray[np.bool_]]] = {}
    for chain, c in groups:
        for q, (name, kind, cited, values, absent) in enumerate(
            zip(c.names, c.types, c.cited, c.values, c.absent, strict=True)
        ):
            rows = c.rows[cited]
            if rows.size == 0:
                continue
            at = (chain, int(rows[0]), q)
            first[name] = min(first.get(name, at), at)
            if name not in filled:
                dtype = np.float64 if kind is ValueType.RATIO else np.int64
                filled[name] = (kind, np.zeros(n, dtype=dtype), np.ones(n, dtype=np.bool_))
            _, column, missing = filled[name]
            column[rows] = values[cited]
            missing[rows] = absent[cited]
    out: list[fr.Column] = []
    for name in sorted(first, key=first.__getitem__):
        kind, column, missing = filled[name]
        if missing.all():
            out.append(fr.text(name, [None] * n))
        elif kind is ValueType.MONEY:
            out.append(fr.money(name, column, missing))
        elif kind is ValueType.COUNT:
            out.append(fr.integer(name, column, missing))
        else:
            out.append(fr.ratio(name, np.where(missing, np.nan, column), missing))
    return out


def decisions_from_lists(
    rule: list[int], outcome: list[int], before: list[int], after: list[int]
) -> ChainDecisions:
    """Decision arrays from per-customer lists (used by the plain-Python evaluator)."""
    return ChainDecisions(
        rule=np.array(rule, dtype=np.int16),
        outcome=np.array(outcome, dtype=np.int8),
        before=np.array(before, dtype=np.int8),
        after=np.array(after, dtype=np.int8),
    )
