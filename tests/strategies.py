"""Shared Hypothesis strategies for the keyaccount test suite.

Strategies build valid domain objects (periods, money, labels, customers,
customer forests) and whole small portfolios: customers plus revenue records
whose periods are never before their customer's ``first_period``, including
refunds (negative records), duplicate ``(customer, product, period)`` records
and customers first seen after the as-of month.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
from hypothesis import strategies as st

from keyaccount.domain import (
    Customer,
    Period,
    RevenueRecord,
    Segment,
    SubSegment,
    Tier,
    fen_to_yuan,
)

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "FIRST_ORDINAL",
    "LAST_ORDINAL",
    "PRODUCT_IDS",
    "PortfolioData",
    "customer_forests",
    "customer_ids",
    "customers",
    "fen_amounts",
    "period_texts",
    "periods",
    "portfolios",
    "segment_pairs",
    "segments",
    "sub_segments",
    "tiers",
    "yuan_decimals",
    "yuan_texts",
]

FIRST_ORDINAL = Period(1900, 1).ordinal
"""Ordinal of the earliest valid period."""
LAST_ORDINAL = Period(9999, 12).ordinal
"""Ordinal of the latest valid period."""

PRODUCT_IDS: tuple[str, ...] = (
    "standard_express",
    "court_express",
    "card_letter",
    "policy_mailing",
    "warehouse_delivery",
)
"""A few products of the default catalogue used by generated revenue."""

# The calendar window generated portfolios live in.
_BASE = Period(2019, 1)
_SPAN = 72  # months 2019-01 .. 2024-12


def periods(
    min_value: Period | str = "1900-01", max_value: Period | str = "9999-12"
) -> st.SearchStrategy[Period]:
    """Periods between ``min_value`` and ``max_value``, both included."""
    lo, hi = Period.parse(min_value), Period.parse(max_value)
    return st.integers(lo.ordinal, hi.ordinal).map(Period.from_ordinal)


@st.composite
def period_texts(draw: st.DrawFn) -> tuple[Period, str]:
    """A period and one of the texts ``Period.parse`` accepts for it."""
    period = draw(periods())
    year, month = period.year, period.month
    forms = [
        f"{year:04d}-{month:02d}",
        f"{year:04d}-{month}",
        f"{year:04d}/{month:02d}",
        f"{year:04d}.{month:02d}",
        f"{year}年{month}月",
        f"{year}年{month:02d}月",
        f"  {year:04d}-{month:02d}  ",
    ]
    return period, draw(st.sampled_from(forms))


def fen_amounts(min_value: int = -(10**12), max_value: int = 10**12) -> st.SearchStrategy[int]:
    """Integer amounts of fen."""
    return st.integers(min_value, max_value)


def yuan_decimals(min_fen: int = -(10**12), max_fen: int = 10**12) -> st.SearchStrategy[Decimal]:
    """``Decimal`` yuan with at most two decimal places."""
    return fen_amounts(min_fen, max_fen).map(fen_to_yuan)


@st.composite
def yuan_texts(draw: st.DrawFn) -> tuple[int, str]:
    """An amount in fen and a decimal text in yuan that spells it."""
    fen = draw(fen_amounts())
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    forms = [f"{sign}{whole}.{cents:02d}", f"{sign}{whole:,}.{cents:02d}"]
    if cents == 0:
        forms += [f"{sign}{whole}", f"{sign}{whole}.0"]
    elif cents % 10 == 0:
        forms.append(f"{sign}{whole}.{cents // 10}")
    return fen, draw(st.sampled_from(forms))


def tiers() -> st.SearchStrategy[Tier]:
    """Any tier."""
    return st.sampled_from(Tier)


def segments() -> st.SearchStrategy[Segment]:
    """Any segment."""
    return st.sampled_from(Segment)


def sub_segments() -> st.SearchStrategy[SubSegment]:
    """Any sub-segment."""
    return st.sampled_from(SubSegment)


def segment_pairs() -> st.SearchStrategy[tuple[Segment | None, SubSegment | None]]:
    """A segment (or none) with a matching sub-segment (or none)."""
    assigned = segments().flatmap(
        lambda seg: st.tuples(st.just(seg), st.none() | st.sampled_from(seg.sub_segments))
    )
    return st.just((None, None)) | assigned


def customer_ids() -> st.SearchStrategy[str]:
    """Valid customer ids: non-empty, no surrounding spaces (Latin or Chinese)."""
    return st.from_regex(
        r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9_\-.\u4e00-\u9fff]{0,9}", fullmatch=True
    )


@st.composite
def customers(
    draw: st.DrawFn,
    *,
    ids: st.SearchStrategy[str] | None = None,
    first_period: st.SearchStrategy[Period] | None = None,
    parent_id: str | None = None,
) -> Customer:
    """One valid customer, with an optional fixed parent."""
    cid = draw(ids if ids is not None else customer_ids())
    first = draw(first_period if first_period is not None else periods("2000-01", "2030-12"))
    segment, sub = draw(segment_pairs())
    tier_since = draw(st.none() | periods(first, first + 36))
    return Customer(
        cid,
        draw(st.sampled_from(["某市中级人民法院", "中国人寿保险", "当当网", "Acme"])),
        first,
        segment=segment,
        sub_segment=sub,
        tier=draw(tiers()),
        parent_id=parent_id,
        province=draw(st.none() | st.sampled_from(["广东", "北京", "浙江"])),
        tier_since=tier_since,
    )


@st.composite
def customer_forests(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 8,
    first_period: st.SearchStrategy[Period] | None = None,
) -> list[Customer]:
    """Customers with valid parent links (a forest), in random order.

    Parents are chosen among customers generated earlier, so links never form
    a cycle; the list is then shuffled, so a parent may come after its child.
    """
    n = draw(st.integers(min_size, max_size))
    made: list[Customer] = []
    for i in range(n):
        parent = draw(st.none() | st.sampled_from(made)) if made else None
        made.append(
            draw(
                customers(
                    ids=st.just(f"C{i:02d}"),
                    first_period=first_period,
                    parent_id=None if parent is None else parent.id,
                )
            )
        )
    return draw(st.permutations(made))


@attrs.frozen
class PortfolioData:
    """A generated portfolio: customers, revenue records and an as-of month."""

    customers: tuple[Customer, ...]
    records: tuple[RevenueRecord, ...]
    as_of: Period


_FEN = st.one_of(
    st.integers(-5_000, 20_000),
    st.sampled_from([0, 1, -1, 100]),
    st.integers(-(10**9), 10**9),
)


@st.composite
def portfolios(draw: st.DrawFn, *, max_customers: int = 6, max_records: int = 30) -> PortfolioData:
    """A small valid portfolio and an as-of month.

    Customers are first seen in 2019-01 .. 2024-12 and the as-of month lies in
    2019-06 .. 2025-03, so some customers are first seen after it and some
    history is older than 24 months. Records include refunds, records after
    the as-of month and duplicates of earlier ``(customer, product, period)``
    keys.
    """
    forest = draw(
        customer_forests(
            min_size=1, max_size=max_customers, first_period=periods(_BASE, _BASE + _SPAN - 1)
        )
    )
    last = _BASE + _SPAN - 1
    records: list[RevenueRecord] = []
    for _ in range(draw(st.integers(0, max_records))):
        customer = draw(st.sampled_from(forest))
        period = draw(periods(customer.first_period, last))
        records.append(
            RevenueRecord.from_fen(
                customer.id,
                draw(st.sampled_from(PRODUCT_IDS)),
                period,
                draw(_FEN),
                volume=draw(st.integers(0, 50)),
            )
        )
    if records:
        for original in draw(st.lists(st.sampled_from(records), max_size=4)):
            records.append(
                RevenueRecord.from_fen(
                    original.customer_id,
                    original.product_id,
                    original.period,
                    draw(st.just(original.revenue_fen) | _FEN),
                    volume=draw(st.integers(0, 50)),
                )
            )
    records = draw(st.permutations(records))
    as_of = draw(periods(_BASE + 5, last + 3))
    return PortfolioData(tuple(forest), tuple(records), as_of)
