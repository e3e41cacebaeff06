"""Tier and segment changes: what moved, when it takes effect, who or which rule, and why."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from keyaccount.domain._labels import Segment, Tier
from keyaccount.domain._period import Period
from keyaccount.exceptions import ValidationError

__all__ = ["Change", "ExplanationValue", "SegmentChange", "TierChange"]

ExplanationValue = Decimal | int | float | str | None
"""A value cited in an explanation: money in Decimal yuan, counts, ratios, or text."""


def _to_explanation(
    value: Mapping[str, ExplanationValue] | tuple[tuple[str, ExplanationValue], ...],
) -> tuple[tuple[str, ExplanationValue], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), v) for k, v in items)


def _to_period(value: Period | str) -> Period:
    return Period.parse(value)


def _to_tier(value: Tier | str) -> Tier:
    return Tier.parse(value)


def _opt_segment(value: Segment | str | None) -> Segment | None:
    return None if value is None or value == "" else Segment.parse(value)


def _opt_text(value: str | None) -> str | None:
    return None if value is None or not str(value).strip() else str(value)


@attrs.frozen
class _ChangeBase:
    customer_id: str
    period: Period = attrs.field(converter=_to_period)
    rule: str | None = attrs.field(default=None, converter=_opt_text, kw_only=True)
    actor: str | None = attrs.field(default=None, converter=_opt_text, kw_only=True)
    reason: str = attrs.field(default="", converter=str, kw_only=True)
    explanation: tuple[tuple[str, ExplanationValue], ...] = attrs.field(
        default=(), converter=_to_explanation, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customer_id, str) or not self.customer_id.strip():
            raise ValidationError(f"change needs a customer id, got {self.customer_id!r}")
        if self.rule is None and self.actor is None:
            raise ValidationError(
                f"change of customer {self.customer_id!r} must name the rule or the person "
                "that made it"
            )

    @property
    def explanation_dict(self) -> dict[str, ExplanationValue]:
        """The cited values as a dict, in order."""
        return dict(self.explanation)


@attrs.frozen
class TierChange(_ChangeBase):
    """A customer's move from one tier to another, effective from ``period``.

    Attributes:
        customer_id: The customer.
        before: The tier it had.
        after: The tier it gets; ``tier_since`` becomes ``period``.
        period: The month the change takes effect.
        rule: The rule that decided it (``None`` for a manual change).
        actor: The person that made or approved it (``None`` for a rule).
        reason: Free text.
        explanation: The metric values that made the rule's condition true, in order.

    Example:
        >>> c = TierChange("C1", "2022-11", before="ACTIVE", after="KEY", rule="promote-key")
        >>> c.is_promotion
        True
    """

    before: Tier = attrs.field(converter=_to_tier, kw_only=True)
    after: Tier = attrs.field(converter=_to_tier, kw_only=True)

    @property
    def is_promotion(self) -> bool:
        """Whether the customer moves to a higher tier."""
        return self.after > self.before

    @property
    def is_demotion(self) -> bool:
        """Whether the customer moves to a lower tier."""
        return self.after < self.before


@attrs.frozen
class SegmentChange(_ChangeBase):
    """A customer's move between industry segments (``None``: unassigned).

    Moving to a segment keeps the customer's sub-segment only when it belongs
    to the new segment; otherwise the sub-segment is cleared.
    """

    before: Segment | None = attrs.field(converter=_opt_segment, kw_only=True)
    after: Segment | None = attrs.field(converter=_opt_segment, kw_only=True)


Change = TierChange | SegmentChange
"""Either kind of change."""
