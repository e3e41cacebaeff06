"""Changes to held customers, written into their columns once the whole batch is checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.domain import NO_CODE, SEGMENTS, SUB_SEGMENTS, TIERS, Period, TierChange
from keyaccount.exceptions import (
    HierarchyCycleError,
    StaleChangeError,
    UnknownCustomerError,
    ValidationError,
)
from keyaccount.portfolio._customers import CustomerColumns
from keyaccount.portfolio._hierarchy import ancestor_positions
from keyaccount.portfolio._problems import raise_problems

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from keyaccount.domain import Customer, SegmentChange
    from keyaccount.portfolio._columns import RevenueColumns

__all__ = ["apply_changes", "replace_customer"]


def replace_customer(
    columns: CustomerColumns,
    position: int,
    customer: Customer,
    positions: Mapping[str, int],
    revenue: RevenueColumns,
) -> None:
    """Write ``customer`` over the one held at ``position`` of ``columns``, after checking it.

    Args:
        columns: The held customers (changed in place).
        position: Where ``customer.id`` is held.
        customer: The new values.
        positions: Position of every held customer.
        revenue: The held revenue records.

    Raises:
        UnknownCustomerError: an unknown parent.
        HierarchyCycleError: the new parent would make a cycle.
        ValidationError: ``first_period`` after one of the customer's revenue
            records. Nothing is changed.
    """
    parent_pos = NO_CODE
    if customer.parent_id is not None:
        parent_pos = positions.get(customer.parent_id, NO_CODE)
        if parent_pos == NO_CODE:
            raise UnknownCustomerError(
                f"customer {customer.id!r}: unknown parent customer {customer.parent_id!r}"
            )
        if parent_pos == position or position in ancestor_positions(columns.parent, parent_pos):
            raise HierarchyCycleError(
                f"customer {customer.id!r}: parent {customer.parent_id!r} is its own descendant"
            )
    mine = revenue.customer == position
    if mine.any() and int(revenue.period[mine].min()) < customer.first_period.ordinal:
        first = Period.from_ordinal(int(revenue.period[mine].min()))
        raise ValidationError(
            f"customer {customer.id!r}: first_period {customer.first_period} is after "
            f"its revenue in {first}"
        )
    row = CustomerColumns.from_customers([customer], {customer.parent_id or "": parent_pos})
    for name in ("name", "segment", "sub_segment", "tier", "parent", "province"):
        getattr(columns, name)[position] = getattr(row, name)[0]
    columns.first_period[position] = row.first_period[0]
    columns.tier_since[position] = row.tier_since[0]


def apply_changes(
    columns: CustomerColumns,
    positions: Mapping[str, int],
    changes: Sequence[TierChange | SegmentChange],
) -> None:
    """Apply tier and segment changes to ``columns`` in place, all or nothing.

    A tier change sets the tier and ``tier_since`` to the change's period; a
    segment change sets the segment and clears a sub-segment that does not
    belong to the new segment. Changes apply in order, so a batch may move one
    customer twice.

    Args:
        columns: The held customers.
        positions: Position of every held customer.
        changes: The changes, in order.

    Raises:
        UnknownCustomerError: a change for a customer not held.
        StaleChangeError: a change whose ``before`` is not the customer's
            current value.
        ValidationError: a change whose period is before the customer's
            ``first_period``.
        PortfolioValidationError: several of these at once. Nothing is applied.
    """
    tier = columns.tier.copy()
    tier_since = columns.tier_since.copy()
    segment = columns.segment.copy()
    sub_segment = columns.sub_segment.copy()
    problems: list[Exception] = []
    for n, change in enumerate(changes):
        where = f"change {n} ({change.customer_id}, {change.period})"
        i = positions.get(change.customer_id)
        if i is None:
            problems.append(
                UnknownCustomerError(f"{where}: unknown customer {change.customer_id!r}")
            )
            continue
        if change.period.ordinal < int(columns.first_period[i]):
            problems.append(
                ValidationError(f"{where}: period is before the customer's first_period")
            )
            continue
        if isinstance(change, TierChange):
            current_tier = TIERS[int(tier[i])]
            if current_tier is not change.before:
                problems.append(
                    StaleChangeError(
                        change.customer_id, "tier", change.before.name, current_tier.name
                    )
                )
                continue
            tier[i] = change.after.rank
            tier_since[i] = change.period.ordinal
        else:
            code = int(segment[i])
            current = None if code == NO_CODE else SEGMENTS[code]
            if current is not change.before:
                problems.append(
                    StaleChangeError(
                        change.customer_id,
                        "segment",
                        change.before.name if change.before else None,
                        current.name if current else None,
                    )
                )
                continue
            segment[i] = NO_CODE if change.after is None else SEGMENTS.index(change.after)
            sub = int(sub_segment[i])
            if sub != NO_CODE and SUB_SEGMENTS[sub].segment is not change.after:
                sub_segment[i] = NO_CODE
    raise_problems(problems, "changes")
    columns.tier[:] = tier
    columns.tier_since[:] = tier_since
    columns.segment[:] = segment
    columns.sub_segment[:] = sub_segment
