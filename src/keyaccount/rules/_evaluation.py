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

if TYPE_CHECKING:
    from keyaccount.domain import ProductCatalog
    from keyaccount.rules._rule import PolicyRules, Rule

__all__ = [
    "ChainDecisions",
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
    ) -> None:
        self.policy = policy
        self.as_of = as_of
        self.customer_ids = customer_ids
        self.tier = tier
        self.segment = segment
        self._explain = explain
        self._rules = {"tier": policy.tier_rules, "segment": policy.segment_rules}

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"<Evaluation of {self.policy.name!r} as of {self.as_of}: {c.customers} customers, "
            f"{c.tier_moves} tier and {c.segment_moves} segment transitions, {c.held} held>"
        )

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

    def _collect(self, outcome: Outcome) -> tuple[Transition, ...]:
        tier = np.flatnonzero(self.tier.outcome == outcome)
        seg = np.flatnonzero(self.segment.outcome == outcome)
        order = sorted([(int(p), 0) for p in tier] + [(int(p), 1) for p in seg])
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
