"""The published documents: which classes, under which schema names, with which slots.

A document's slots come from the attrs fields of its class with the same rules for
every class (:func:`layout`):

- a field that is not part of the value (``eq=False``: a cache, where a value came
  from) is not published;
- a private field is published under its constructor name (``_products`` as
  ``products``);
- money kept in integer fen (a field ``fen`` or ``*_fen``) is published in yuan under
  the name without the suffix, the name of the class's yuan property (``revenue_fen``
  as ``revenue``, ``fen`` as ``amount``); other ``Decimal`` fields are money in yuan
  unless the class names them exact decimals (scores, weights);
- a class whose JSON form is not its fields (columnar arrays) has its slots written out
  here (:class:`~keyaccount.crosssell.Opportunity`), and the two results that are not
  values themselves are published through a value that holds what they show:
  :class:`EvaluationDocument` (an :class:`~keyaccount.rules.Evaluation`) and
  :class:`MetricsRow` (a row of a :class:`~keyaccount.portfolio.MetricsTable`).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs
import numpy as np

from keyaccount.crosssell import (
    BASES,
    Evidence,
    GroupProduct,
    GroupPurchases,
    HierarchyGap,
    Opportunity,
    Recommendation,
)
from keyaccount.domain import (
    Customer,
    Member,
    Period,
    Product,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    Segment,
    SegmentChange,
    Tier,
    TierChange,
)
from keyaccount.exceptions import ValidationError
from keyaccount.json._codecs import Layout, Money, MoneyFen, Slot, attribute_docs, summary
from keyaccount.operations import (
    AttainmentRow,
    DispatchOrder,
    EscalationPolicy,
    ItemHistoryRow,
    KpiBreach,
    KpiDefinition,
    KpiObservation,
    KpiThreshold,
    MeetingReport,
    MeetingReportRow,
    MemberScore,
    OwnershipMove,
    Payout,
    PayoutRow,
    PayoutRun,
    PayoutShare,
    ProjectLifecycle,
    StageMove,
    SupervisionItem,
    SupervisionOrder,
    SweepResult,
    Target,
)
from keyaccount.portfolio import METRICS, MetricsTable, SegmentTierCell
from keyaccount.rules import Evaluation, EvaluationCounts, Explanation, Transition
from keyaccount.utils.display import number, short_repr

__all__ = ["LAYOUTS", "ROOTS", "EvaluationDocument", "MetricsRow", "layout"]


@attrs.frozen
class MetricsRow:
    """One customer's metrics as of a month: a row of a metrics table.

    The metrics are those of :data:`keyaccount.portfolio.METRICS`, defined in
    ``docs/metrics.md``; money in ``Decimal`` yuan.

    Attributes:
        customer_id: The customer.
        as_of: The as-of month ``P``.
        rollup: Whether the figures include the customer's descendants.
        tier: The customer's tier.
        segment: The customer's segment (``None``: unassigned).
        t12m_revenue: Revenue in months ``P-11 .. P``.
        prev12m_revenue: Revenue in months ``P-23 .. P-12``.
        yoy_growth: ``float64(t12m) / float64(prev12m) - 1``; ``None`` when
            ``prev12m <= 0``.
        t12m_volume: Parcels in ``P-11 .. P``.
        active_months: Months in ``P-11 .. P`` with revenue > 0.
        months_since_last: ``P`` minus the last month ``<= P`` with revenue > 0; ``None``
            when there is none.
        product_count: Products with ``P-11 .. P`` revenue > 0.
        tenure_months: ``P - first_period``.
        months_in_tier: ``P - tier_since``.
    """

    customer_id: str
    as_of: Period
    rollup: bool
    tier: Tier
    segment: Segment | None
    t12m_revenue: Decimal
    prev12m_revenue: Decimal
    yoy_growth: float | None
    t12m_volume: int
    active_months: int
    months_since_last: int | None
    product_count: int
    tenure_months: int
    months_in_tier: int

    @classmethod
    def from_table(cls, table: MetricsTable, customer_id: str) -> MetricsRow:
        """The row of ``customer_id`` in ``table``.

        Raises:
            UnknownCustomerError: the customer is not in the table.
        """
        i = table.position(customer_id)
        values = {name: table.value(name, i) for name in METRICS}
        return cls(
            customer_id=customer_id,
            as_of=table.as_of,
            rollup=table.rollup,
            tier=table.tier_of(customer_id),
            segment=table.segment_of(customer_id),
            **values,  # type: ignore[arg-type]
        )

    @classmethod
    def rows(cls, table: MetricsTable) -> tuple[MetricsRow, ...]:
        """Every row of ``table``, in table order."""
        return tuple(cls.from_table(table, str(cid)) for cid in table.customer_ids.tolist())


@attrs.frozen
class EvaluationDocument:
    """A policy's evaluation as of one month: its transitions, held demotions and counts.

    The published form of an :class:`~keyaccount.rules.Evaluation`, which also holds the
    policy and the decision arrays and so cannot be rebuilt from JSON.

    Attributes:
        policy: The policy's name.
        as_of: The as-of month.
        transitions: Every transition, by customer, a tier change before a segment change.
        held: The demotions held by ``min_months_in_tier``: decided, but not transitions.
        counts: Counts of outcomes, of customers decided per rule, and of moves.
    """

    policy: str
    as_of: Period
    transitions: tuple[Transition, ...]
    held: tuple[Transition, ...]
    counts: EvaluationCounts

    def __repr__(self) -> str:
        size = f"{number(len(self.transitions))} transitions, {number(len(self.held))} held"
        return short_repr("EvaluationDocument", size, policy=self.policy, as_of=self.as_of)

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation) -> EvaluationDocument:
        """The document of ``evaluation``."""
        return cls(
            policy=evaluation.policy.name,
            as_of=evaluation.as_of,
            transitions=evaluation.transitions,
            held=evaluation.held,
            counts=evaluation.counts,
        )


_NAMESPACE: dict[str, Any] = {
    "Decimal": Decimal,
    "dt": dt,
    "Explanation": Explanation,
    "ItemHistoryRow": ItemHistoryRow,
    "KpiThreshold": KpiThreshold,
    "Mapping": Mapping,
    "Period": Period,
}
"""Names some classes import only for type checking, for resolving their annotations."""


def _fen_name(name: str) -> str | None:
    if name == "fen":
        return "amount"
    return name.removesuffix("_fen") if name.endswith("_fen") else None


def _money_type(tp: Any, name: str, exact: Iterable[str]) -> Any:
    if name in exact:
        return tp
    if tp is Decimal:
        return Money
    if tp == Decimal | None:
        return Money | None
    return tp


def _money_doc(cls: type, json_name: str, attribute_doc: str) -> str:
    prop = getattr(cls, json_name, None)
    if isinstance(prop, property) and prop.__doc__:
        return summary(prop)
    return attribute_doc.replace("in fen", "in yuan").replace("fen", "yuan")


def layout(
    cls: type,
    name: str,
    *,
    exact: Iterable[str] = (),
    yuan: Iterable[str] = (),
    arguments: Mapping[str, str] | None = None,
    tag: str | None = None,
) -> Layout:
    """The layout of an attrs class by the rules of the module docstring.

    Args:
        cls: The class.
        name: Its schema name.
        exact: ``Decimal`` fields that are exact decimals, not money.
        yuan: Fields in fen whose constructor argument is in yuan.
        arguments: Constructor keywords that differ from the field's attrs alias.
        tag: A constant ``kind`` written first, which tells this class from others in a
            union (``"tier"`` for a tier change).
    """
    hints = typing.get_type_hints(cls, localns=_NAMESPACE)
    docs = attribute_docs(cls)
    exact, yuan, arguments = set(exact), set(yuan), dict(arguments or {})
    slots: list[Slot] = []
    if tag is not None:
        slots.append(Slot("kind", Literal[tag], _constant(tag), None, f"Always {tag!r}."))
    for field in attrs.fields(cls):
        if not field.eq:
            continue
        tp = hints[field.name]
        json_name = field.name.lstrip("_")
        description = docs.get(json_name, "")
        get: Callable[[Any], Any] = _getter(field.name)
        fen_name = _fen_name(json_name)
        if tp is int and fen_name is not None:
            description = _money_doc(cls, fen_name, description)
            json_name, tp = fen_name, MoneyFen
        else:
            tp = _money_type(tp, field.name, exact)
        argument = arguments.get(field.name, field.alias)
        load_type = Money if field.name in yuan else None
        slots.append(Slot(json_name, tp, get, argument, description, load_type))

    def build(kwargs: dict[str, Any]) -> Any:
        return cls(**kwargs)

    return Layout(cls, name, tuple(slots), build, summary(cls))


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _: value


def _getter(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, name)


# ---------------------------------------------------------------- opportunities

Basis = Literal["segment_tier", "tier", "all", "none"]
"""The names of :data:`keyaccount.crosssell.BASES`, in order."""


def _build_opportunity(kwargs: dict[str, Any]) -> Opportunity:
    ids, fen, basis = kwargs["candidate_ids"], kwargs["estimates_fen"], kwargs["basis"]
    if not len(ids) == len(fen) == len(basis):
        raise ValidationError(
            f"an opportunity needs as many estimates and bases as candidates, got "
            f"{len(ids)} candidates, {len(fen)} estimates and {len(basis)} bases"
        )
    return Opportunity(
        group=kwargs["group"],
        product_id=kwargs["product_id"],
        customers=kwargs["customers"],
        buyers=kwargs["buyers"],
        candidate_ids=np.array(ids, dtype=object),
        estimates_fen=np.array(fen, dtype=np.int64),
        basis=np.array([BASES.index(b) for b in basis], dtype=np.int8),
    )


def _opportunity_layout() -> Layout:
    docs = attribute_docs(Opportunity)
    slots = (
        Slot("group", Segment | Tier | None, _getter("group"), "group", docs["group"]),
        Slot("product_id", str, _getter("product_id"), "product_id", docs["product_id"]),
        Slot("customers", int, _getter("customers"), "customers", docs["customers"]),
        Slot("buyers", int, _getter("buyers"), "buyers", docs["buyers"]),
        Slot(
            "candidate_ids",
            tuple[str, ...],
            lambda o: tuple(o.candidate_ids.tolist()),
            "candidate_ids",
            "The group's customers that do not buy it.",
        ),
        Slot(
            "estimates",
            tuple[MoneyFen, ...],
            lambda o: tuple(o.estimates_fen.tolist()),
            "estimates_fen",
            "Estimated window revenue of each candidate, in yuan.",
        ),
        Slot(
            "basis",
            tuple[Basis, ...],
            lambda o: tuple(BASES[b] for b in o.basis.tolist()),
            "basis",
            "The peers behind each estimate: segment_tier, tier, all or none.",
        ),
    )
    return Layout(Opportunity, "opportunity", slots, _build_opportunity, summary(Opportunity))


# --------------------------------------------------------------------- registry

_EXACT_PAYOUT = ("score", "role_weight", "weight")

LAYOUTS: tuple[Layout, ...] = (
    # domain
    layout(Customer, "customer"),
    layout(RevenueRecord, "revenue-record", yuan=("revenue_fen",)),
    layout(Product, "product"),
    layout(ProductCatalog, "product-catalog"),
    layout(Member, "member"),
    layout(ProjectGroup, "project-group"),
    layout(TierChange, "tier-change", tag="tier"),
    layout(SegmentChange, "segment-change", tag="segment"),
    # portfolio and rules
    layout(MetricsRow, "metrics-row"),
    layout(SegmentTierCell, "segment-tier-cell"),
    layout(Transition, "transition"),
    layout(EvaluationCounts, "evaluation-counts"),
    layout(EvaluationDocument, "evaluation"),
    # cross-selling
    layout(Evidence, "evidence"),
    layout(Recommendation, "recommendation"),
    _opportunity_layout(),
    layout(GroupProduct, "group-product"),
    layout(GroupPurchases, "group-purchases"),
    layout(HierarchyGap, "hierarchy-gap"),
    # operations
    layout(OwnershipMove, "ownership-move"),
    layout(Target, "target", yuan=("fen",), arguments={"fen": "amount"}),
    layout(AttainmentRow, "attainment-row"),
    layout(MemberScore, "member-score", exact=("score",)),
    layout(PayoutShare, "payout-share", exact=_EXACT_PAYOUT),
    layout(Payout, "payout"),
    layout(PayoutRow, "payout-row", exact=_EXACT_PAYOUT),
    layout(PayoutRun, "payout-run"),
    layout(KpiDefinition, "kpi-definition"),
    layout(KpiObservation, "kpi-observation"),
    layout(KpiThreshold, "kpi-threshold"),
    layout(KpiBreach, "kpi-breach"),
    layout(SupervisionItem, "supervision-item"),
    layout(ItemHistoryRow, "item-history-row"),
    layout(SweepResult, "sweep-result"),
    layout(DispatchOrder, "dispatch-order"),
    layout(SupervisionOrder, "supervision-order"),
    layout(EscalationPolicy, "escalation-policy"),
    layout(MeetingReportRow, "meeting-report-row"),
    layout(MeetingReport, "meeting-report"),
    layout(StageMove, "stage-move"),
    layout(ProjectLifecycle, "project-lifecycle"),
)
"""Every published document class, in the order of the rooms."""

ROOTS: dict[str, Any] = {
    **{item.name: item.cls for item in LAYOUTS},
    "change": TierChange | SegmentChange,
}
"""Schema name to the type at the root of the document."""
