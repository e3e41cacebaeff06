"""Attainment in plain Python, record by record: the readable specification and test oracle.

:func:`reference_attainment` gives the same :class:`AttainmentTable` as
:func:`~keyaccount.operations.attainment` (equal arrays, float64 ratios bit for bit),
computed from :meth:`Ownership.owner` and :meth:`Targets.target_fen` one record and
one span at a time. It is slow; use it on small portfolios.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from keyaccount.domain import Period, Segment, fen_to_yuan
from keyaccount.operations._attainment import (
    KINDS,
    AttainmentRow,
    AttainmentTable,
    attainment_months,
    check_target_groups,
    segment_order,
)
from keyaccount.operations._targets import PeriodSpan, SpanKind

if TYPE_CHECKING:
    from keyaccount.domain import PeriodRange
    from keyaccount.operations._ownership import Ownership
    from keyaccount.operations._targets import Targets
    from keyaccount.portfolio import Portfolio

__all__ = ["reference_attainment"]


def _spans(kind: SpanKind, months: PeriodRange) -> list[PeriodSpan]:
    """The spans of ``kind`` that overlap ``months``, in calendar order."""
    spans: list[PeriodSpan] = []
    for month in months:
        span = PeriodSpan.containing(kind, month)
        if not spans or spans[-1] != span:
            spans.append(span)
    return spans


def _year_so_far(span: PeriodSpan) -> list[PeriodSpan]:
    """The spans of the same kind from the first of its year to ``span``, both included."""
    first = PeriodSpan(span.kind, Period(span.start.year, 1))
    return [
        PeriodSpan(span.kind, first.start + step * span.kind.months)
        for step in range((span.start - first.start) // span.kind.months + 1)
    ]


def _ratio(attributed: int, target: int | None) -> float | None:
    if target is None or target <= 0:
        return None
    return float(attributed) / float(target)


def reference_attainment(
    portfolio: Portfolio,
    ownership: Ownership,
    targets: Targets,
    months: PeriodRange | PeriodSpan | str | None = None,
    *,
    by_segment: bool = False,
) -> AttainmentTable:
    """:func:`~keyaccount.operations.attainment`, computed one record and one span at a time.

    Takes the same arguments and raises the same errors (except
    ``PrecisionError``: Python integers never round).
    """
    rng = attainment_months(portfolio, months)
    check_target_groups(targets, ownership.group_ids)
    first_year, last_year = rng.start.year, rng.end.year

    # 1. Attribute every record to the group that owned its customer in its month.
    segment_of: dict[str, Segment | None] = {}
    attributed: dict[tuple[str, Segment | None, Period], int] = defaultdict(int)
    for record in portfolio.revenue_records():
        if not first_year <= record.period.year <= last_year:
            continue
        group = ownership.owner(record.customer_id, record.period)
        if group is None:
            continue
        segment: Segment | None = None
        if by_segment:
            if record.customer_id not in segment_of:
                segment_of[record.customer_id] = portfolio.customer(record.customer_id).segment
            segment = segment_of[record.customer_id]
        attributed[(group, segment, record.period)] += record.revenue_fen

    def revenue(group: str, segment: Segment | None, span: PeriodSpan) -> int:
        return sum(attributed.get((group, segment, month), 0) for month in span.months)

    # 2. One row per group (and segment), kind and span.
    rows: list[AttainmentRow] = []
    whole_years = Period.range(Period(first_year, 1), Period(last_year, 12))
    for group in ownership.group_ids:
        for segment in segment_order() if by_segment else (None,):
            if by_segment and not any(
                attributed.get((group, segment, month), 0) for month in whole_years
            ):
                continue
            for kind in KINDS:
                for span in _spans(kind, rng):
                    got = revenue(group, segment, span)
                    target = targets.target_fen(group, span)
                    so_far = _year_so_far(span)
                    ytd_got = sum(revenue(group, segment, s) for s in so_far)
                    ytd_targets = [targets.target_fen(group, s) for s in so_far]
                    ytd_target = None if None in ytd_targets else sum(t for t in ytd_targets if t)
                    rows.append(
                        AttainmentRow(
                            group_id=group,
                            segment=segment,
                            span=span,
                            attributed=fen_to_yuan(got),
                            target=None if target is None else fen_to_yuan(target),
                            variance=(
                                None if target is None or by_segment else fen_to_yuan(got - target)
                            ),
                            attainment=_ratio(got, target),
                            ytd_attributed=fen_to_yuan(ytd_got),
                            ytd_target=None if ytd_target is None else fen_to_yuan(ytd_target),
                            ytd_variance=(
                                None
                                if ytd_target is None or by_segment
                                else fen_to_yuan(ytd_got - ytd_target)
                            ),
                            ytd_attainment=_ratio(ytd_got, ytd_target),
                        )
                    )
    return AttainmentTable.from_rows(ownership.group_ids, rng, by_segment, rows)
