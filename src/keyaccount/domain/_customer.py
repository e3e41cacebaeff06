"""Customers (客户) and monthly revenue records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from keyaccount.domain._labels import Segment, SubSegment, Tier
from keyaccount.domain._money import (
    MAX_VOLUME,
    check_amount_fen,
    fen_to_yuan,
    yuan_to_fen,
)
from keyaccount.domain._period import Period
from keyaccount.exceptions import SubSegmentMismatchError, ValidationError, shorten

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = ["Customer", "RevenueRecord"]


def _to_period(value: Period | str) -> Period:
    return Period.parse(value)


def _to_tier(value: Tier | str) -> Tier:
    return Tier.parse(value)


def _opt_segment(value: Segment | str | None) -> Segment | None:
    return None if value is None or value == "" else Segment.parse(value)


def _opt_sub_segment(value: SubSegment | str | None) -> SubSegment | None:
    return None if value is None or value == "" else SubSegment.parse(value)


def _opt_period(value: Period | str | None) -> Period | None:
    return None if value is None or value == "" else Period.parse(value)


def _opt_text(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t", "\n", "\r"}


def check_text(name: str, value: str | None) -> None:
    """Refuse text holding a control character: NUL, DEL and the other C0 characters.

    Tab and line breaks are allowed (a quoted CSV field can hold them).

    Raises:
        ValidationError: ``value`` holds a control character.
    """
    if value is not None and not _CONTROL.isdisjoint(value):
        bad = next(ch for ch in value if ch in _CONTROL)
        raise ValidationError(
            f"{name} must not hold the control character {bad!r}, got {shorten(value)}"
        )


def _check_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ValidationError(
            f"{attribute.name} must be non-empty text without surrounding spaces, "
            f"got {shorten(value)}"
        )
    check_text(attribute.name, value)


@attrs.frozen
class Customer:
    """A customer account.

    Attributes:
        id: Unique id within a portfolio.
        name: Display name (often Chinese, e.g. ``中国人寿保险``).
        first_period: The first month the customer was seen.
        segment: Industry segment, or ``None`` while not yet assigned to an industry
            (a single-customer project, an international project's customer).
        sub_segment: Sub-segment; it must belong to ``segment``.
        tier: Current tier; imported customers start as ``ACTIVE``.
        parent_id: The parent account (an insurer headquarters for a provincial
            branch), or ``None`` for a top-level account.
        province: Province, free text (``广东``).
        tier_since: The month the current tier took effect; defaults to ``first_period``.

    Raises:
        SubSegmentMismatchError: ``sub_segment`` does not belong to ``segment``.
        ValidationError: an empty id, a customer that is its own parent, or
            ``tier_since`` before ``first_period``.

    Example:
        >>> c = Customer("C1", "某市中级人民法院", "2021-03", segment="司法", sub_segment="COURT")
        >>> c.segment, c.tier
        (<Segment.JUDICIAL: '司法'>, <Tier.ACTIVE: 1>)
    """

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(converter=str)
    first_period: Period = attrs.field(converter=_to_period)
    segment: Segment | None = attrs.field(default=None, converter=_opt_segment, kw_only=True)
    sub_segment: SubSegment | None = attrs.field(
        default=None, converter=_opt_sub_segment, kw_only=True
    )
    tier: Tier = attrs.field(default=Tier.ACTIVE, converter=_to_tier, kw_only=True)
    parent_id: str | None = attrs.field(default=None, converter=_opt_text, kw_only=True)
    province: str | None = attrs.field(default=None, converter=_opt_text, kw_only=True)
    tier_since: Period | None = attrs.field(default=None, converter=_opt_period, kw_only=True)

    def __attrs_post_init__(self) -> None:
        check_text("name", self.name)
        check_text("parent_id", self.parent_id)
        check_text("province", self.province)
        if self.sub_segment is not None and self.sub_segment.segment is not self.segment:
            raise SubSegmentMismatchError(
                f"customer {self.id!r}: sub-segment {self.sub_segment.name} belongs to "
                f"segment {self.sub_segment.segment.name}, not "
                f"{self.segment.name if self.segment else 'no segment'}"
            )
        if self.parent_id == self.id:
            raise ValidationError(f"customer {self.id!r} cannot be its own parent")
        if self.tier_since is not None and self.tier_since < self.first_period:
            raise ValidationError(
                f"customer {self.id!r}: tier_since {self.tier_since} is before "
                f"first_period {self.first_period}"
            )

    @property
    def effective_tier_since(self) -> Period:
        """``tier_since``, or ``first_period`` when it is not set."""
        return self.tier_since if self.tier_since is not None else self.first_period


def _to_fen(value: Decimal | int | str) -> int:
    return check_amount_fen(yuan_to_fen(value, where="revenue"), where="revenue")


def _check_volume(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"volume must be a whole number of parcels >= 0, got {value!r}")
    if value > MAX_VOLUME:
        raise ValidationError(f"volume {value} is beyond the limit of {MAX_VOLUME} per record")


@attrs.frozen
class RevenueRecord:
    """A customer's revenue and volume for one product in one month.

    Revenue is given in yuan (``Decimal``, ``int`` or decimal text) and kept as
    integer fen; negative revenue (a refund) is allowed. Records are the API's
    edge: a :class:`~keyaccount.Portfolio` stores them as columnar arrays.

    Attributes:
        customer_id: The customer.
        product_id: The product (``standard_express`` when the source names none).
        period: The month.
        revenue_fen: Revenue in fen.
        volume: Parcels, a whole number >= 0.

    Example:
        >>> r = RevenueRecord("C1", "court_express", "2022-11", "1234.50", volume=10)
        >>> r.revenue, r.revenue_fen
        (Decimal('1234.50'), 123450)
    """

    customer_id: str = attrs.field(validator=_check_id)
    product_id: str = attrs.field(validator=_check_id)
    period: Period = attrs.field(converter=_to_period)
    revenue_fen: int = attrs.field(converter=_to_fen, alias="revenue")
    volume: int = attrs.field(default=0, validator=_check_volume, kw_only=True)

    @property
    def revenue(self) -> Decimal:
        """Revenue in yuan."""
        return fen_to_yuan(self.revenue_fen)

    @classmethod
    def from_fen(
        cls, customer_id: str, product_id: str, period: Period | str, fen: int, volume: int = 0
    ) -> RevenueRecord:
        """Build a record from an amount already in fen."""
        return cls(customer_id, product_id, period, fen_to_yuan(int(fen)), volume=volume)
