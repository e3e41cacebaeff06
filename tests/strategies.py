"""Shared Hypothesis strategies for the keyaccount test suite.

Strategies build valid domain objects (periods, money, labels, customers,
customer forests) and whole small portfolios: customers plus revenue records
whose periods are never before their customer's ``first_period``, including
refunds (negative records), duplicate ``(customer, product, period)`` records
and customers first seen after the as-of month; and random policies whose
conditions are generated as text from a typed grammar, so every one parses.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from hypothesis import strategies as st

from keyaccount.crosssell import BASES, Opportunity
from keyaccount.domain import (
    Customer,
    ItemStatus,
    Level,
    Member,
    Period,
    Product,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    Role,
    Segment,
    SegmentChange,
    SubSegment,
    Tier,
    TierChange,
    fen_to_yuan,
)
from keyaccount.operations import (
    ALLOWED_MOVES,
    MAX_KPI_COUNT,
    EscalationPolicy,
    ItemHistoryRow,
    KpiDefinition,
    KpiObservation,
    KpiThreshold,
    OwnershipMove,
    PeriodSpan,
    ProjectLifecycle,
    SupervisionItem,
    Target,
)
from keyaccount.rules import MetricRegistry, Policy, Rule, Transition, UserMetric

if TYPE_CHECKING:
    from collections.abc import Callable

    from keyaccount.portfolio import MetricsTable, Portfolio

__all__ = [
    "FIRST_ORDINAL",
    "LAST_ORDINAL",
    "PRODUCT_IDS",
    "USER_METRICS",
    "PortfolioData",
    "conditions",
    "customer_forests",
    "customer_ids",
    "customers",
    "documents",
    "explanations",
    "fen_amounts",
    "period_texts",
    "periods",
    "policies",
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


# ---------------------------------------------------------------- random policies


def _avg_month(table: MetricsTable, portfolio: Portfolio | None) -> tuple[object, object]:
    active = table.columns["active_months"]
    return table.columns["t12m_revenue"] // np.maximum(active, 1), active == 0


def _volume_per_yuan(table: MetricsTable, portfolio: Portfolio | None) -> object:
    with np.errstate(all="ignore"):
        return table.columns["t12m_volume"] / (table.columns["t12m_revenue"] / 100)


USER_METRICS = MetricRegistry().with_metrics(
    [
        UserMetric("avg_month", "money", _avg_month),
        UserMetric("volume_per_yuan", "ratio", _volume_per_yuan),
    ]
)
"""The metric registry of ``policies(user_metrics=True)``: two user metrics.

``avg_month`` (money) is the trailing-twelve-month revenue per active month,
absent without an active month; ``volume_per_yuan`` (ratio) is the volume per
yuan of that revenue.
"""


@attrs.frozen
class _Grammar:
    """One flavour of the policy grammar (see :func:`policies`)."""

    money_refs: tuple[str, ...]
    count_refs: tuple[str, ...]
    ratio_refs: tuple[str, ...]
    money_literals: tuple[str, ...]
    count_literals: tuple[str, ...]
    ratio_literals: tuple[str, ...]
    max_leaves: int  # of a money or count expression
    negation: str  # how a unary minus is written around its operand
    group_products: bool  # ``a * b`` and ``a / b`` in parentheses
    group_ratios: bool  # a parenthesised ratio as an alternative of its own
    max_rules: int
    max_months_in_tier: int
    descriptions: tuple[str, ...] | None  # None: no description
    metrics: MetricRegistry | None


_COUNT_REFS = (
    "t12m_volume",
    "active_months",
    "months_since_last",
    "product_count",
    "tenure_months",
    "months_in_tier",
)
_SHARE_REFS = tuple(f"share('{p}')" for p in PRODUCT_IDS)

_WITH_USER_METRICS = _Grammar(
    money_refs=("t12m_revenue", "prev12m_revenue", "avg_month"),
    count_refs=_COUNT_REFS,
    ratio_refs=("yoy_growth", "volume_per_yuan", *_SHARE_REFS),
    money_literals=("0", "1", "0.01", "-0.5", "50", "100.25", "200", "1_000", "12_345.67", "-10"),
    count_literals=("0", "1", "2", "3", "6", "12", "24", "100"),
    ratio_literals=("0", "0.5", "-0.3", "1", "1e-3", "0.1", "2.5", "100", "0.333", "1e15"),
    max_leaves=4,
    negation="-{}",
    group_products=False,
    group_ratios=True,
    max_rules=5,
    max_months_in_tier=4,
    descriptions=("", 'a "quoted" policy\nwith 中文'),
    metrics=USER_METRICS,
)

_BUILT_IN_ONLY = _Grammar(
    money_refs=("t12m_revenue", "prev12m_revenue"),
    count_refs=_COUNT_REFS,
    ratio_refs=("yoy_growth", *_SHARE_REFS),
    money_literals=(
        "0",
        "1",
        "0.01",
        "-0.5",
        "50",
        "100.25",
        "200",
        "1_000",
        "12_345.67",
        "-10",
        "9_999_999",
    ),
    count_literals=("0", "1", "2", "3", "6", "11", "12", "24", "100"),
    ratio_literals=(
        "0",
        "0.0",
        "-0.0",
        "0.5",
        "-0.3",
        "1",
        "1e-3",
        "0.1",
        "2.5",
        "100",
        "0.333",
        "1e15",
        "3",
    ),
    max_leaves=3,
    negation="-({})",
    group_products=True,
    group_ratios=False,
    max_rules=6,
    max_months_in_tier=6,
    descriptions=None,
    metrics=None,
)

_TIER_NAMES = ("DORMANT", "ACTIVE", "KEY", "STRATEGIC")
_SEGMENT_NAMES = ("JUDICIAL", "FINANCE", "INSURANCE", "UNASSIGNED")


def _grammar(user_metrics: bool) -> _Grammar:
    return _WITH_USER_METRICS if user_metrics else _BUILT_IN_ONLY


def conditions(*, user_metrics: bool = True) -> st.SearchStrategy[str]:
    """Condition texts from a typed grammar, so every one parses.

    Money, count and ratio expressions (metric names, ``share('...')`` of
    :data:`PRODUCT_IDS` and literals, combined with ``+ - * /``, unary minus
    and parentheses) are compared, and the comparisons combined with ``and``,
    ``or``, ``not`` and parentheses. See :func:`policies` for the two flavours;
    with ``user_metrics`` the texts parse only with ``metrics=USER_METRICS``.
    """
    g = _grammar(user_metrics)
    ratio_literals = st.sampled_from(g.ratio_literals)

    def leaf(refs: tuple[str, ...], literals: tuple[str, ...]) -> st.SearchStrategy[str]:
        return st.one_of(st.sampled_from(refs), st.sampled_from(literals))

    def additive(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-"]), inner).map(" ".join),
            inner.map(g.negation.format),
            inner.map(lambda t: f"({t})"),
        )

    money = st.recursive(leaf(g.money_refs, g.money_literals), additive, max_leaves=g.max_leaves)
    count = st.recursive(leaf(g.count_refs, g.count_literals), additive, max_leaves=g.max_leaves)

    def numbers(ratio: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(money, count, ratio)

    def product(parts: tuple[str, str, str]) -> str:
        text = " ".join(parts)
        return f"({text})" if g.group_products else text

    def ratios(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        options = [
            additive(inner),
            st.tuples(numbers(inner), st.sampled_from(["*", "/"]), numbers(inner)).map(product),
            st.tuples(inner, st.sampled_from(["+", "-"]), st.one_of(money, count)).map(" ".join),
        ]
        if g.group_ratios:
            options.append(inner.map(lambda t: f"({t})"))
        return st.one_of(options)

    ratio = st.recursive(
        st.one_of(st.sampled_from(g.ratio_refs), ratio_literals.map(lambda t: f"({t} * 1)")),
        ratios,
        max_leaves=4,
    )

    def compare(
        left: st.SearchStrategy[str], right: st.SearchStrategy[str]
    ) -> st.SearchStrategy[str]:
        operators = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
        return st.tuples(left, operators, right).map(" ".join)

    comparisons = st.one_of(
        compare(money, money),
        compare(count, count),
        compare(ratio, numbers(ratio)),
        compare(count, ratio_literals),
        compare(ratio, ratio_literals),
    )
    return st.recursive(
        st.one_of(comparisons, st.sampled_from(["true", "false"])),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            inner.map(lambda t: f"not {t}"),
            inner.map(lambda t: f"({t})"),
        ),
        max_leaves=5,
    )


@st.composite
def _rules(draw: st.DrawFn, name: str, when: st.SearchStrategy[str], g: _Grammar) -> Rule:
    """A random tier or segment rule over a random condition."""
    condition = draw(when)
    from_tiers = draw(st.none() | st.lists(st.sampled_from(_TIER_NAMES), min_size=1, max_size=3))
    from_segments = draw(
        st.none() | st.lists(st.sampled_from(_SEGMENT_NAMES), min_size=1, max_size=2)
    )
    if draw(st.booleans()):
        return Rule(
            name,
            condition,
            to=draw(st.sampled_from(_TIER_NAMES)),
            from_tiers=from_tiers,
            from_segments=from_segments,
            metrics=g.metrics,
        )
    return Rule(
        name,
        condition,
        to_segment=draw(st.sampled_from(_SEGMENT_NAMES[:-1])),
        from_tiers=from_tiers,
        from_segments=from_segments,
        metrics=g.metrics,
    )


@st.composite
def policies(draw: st.DrawFn, *, user_metrics: bool = True) -> Policy:
    """A random policy named ``random`` over conditions from :func:`conditions`.

    Each rule moves a tier or a segment, optionally only from some tiers and
    segments. Two flavours:

    - ``user_metrics=True``: conditions may name the user metrics of
      :data:`USER_METRICS` (the policy and its rules carry that registry);
      one to five rules, ``min_months_in_tier`` 0 to 4, and a description
      that is empty or holds quotes, a newline and Chinese.
    - ``user_metrics=False``: built-in metrics only (what the SQL evaluator
      accepts); a few more edge-case literals (``-0.0``, ``9_999_999``...),
      unary minus always parenthesised, ``*`` and ``/`` parenthesised, money
      and count expressions of at most three leaves; one to six rules,
      ``min_months_in_tier`` 0 to 6, no description.
    """
    g = _grammar(user_metrics)
    when = conditions(user_metrics=user_metrics)
    n = draw(st.integers(1, g.max_rules))
    rules = [draw(_rules(f"rule-{i}", when, g)) for i in range(n)]
    min_months = draw(st.integers(0, g.max_months_in_tier))
    if g.descriptions is None:
        return Policy("random", rules, min_months_in_tier=min_months, metrics=g.metrics)
    return Policy(
        "random",
        rules,
        min_months_in_tier=min_months,
        description=draw(st.sampled_from(g.descriptions)),
        metrics=g.metrics,
    )


def generated_policy_text(n: int) -> str:
    """A policy file of ``n`` varied tier and segment rules (thresholds on shared metrics).

    Seven rule shapes cycle (promotions, demotions, dormancy, segment assignment, ...)
    with thresholds that differ from rule to rule, as in a large real policy; used by
    the test of a 150,000-rule policy and by ``benchmarks/bench_policy_check.py``.
    """
    tiers = ["DORMANT", "ACTIVE", "KEY", "STRATEGIC"]
    segments = ["JUDICIAL", "FINANCE", "INSURANCE", "AUTO_ECOSYSTEM"]
    out = ['[policy]\nname = "big"\nmin_months_in_tier = 3\n']
    for i in range(n):
        head = f'[[rule]]\nname = "r{i}"\n'
        k = i % 7
        if k == 0:
            body = (
                'from = ["ACTIVE"]\nto = "KEY"\n'
                f'when = "t12m_revenue >= {1_000_000 + i}.50 and active_months >= {i % 12}"\n'
            )
        elif k == 1:
            body = (
                'from = ["KEY"]\nto = "ACTIVE"\n'
                f'when = "t12m_revenue < {600_000 + i} or yoy_growth <= -0.4"\n'
            )
        elif k == 2:
            body = f'to = "DORMANT"\nwhen = "months_since_last >= {6 + i % 30}"\n'
        elif k == 3:
            body = (
                f'from = ["{tiers[i % 4]}", "{tiers[(i + 1) % 4]}"]\nto = "{tiers[(i + 2) % 4]}"\n'
                f"when = \"product_count >= {i % 20} and share('court_express') > 0.{i % 9 + 1}\"\n"
            )
        elif k == 4:
            body = (
                f'from_segment = "UNASSIGNED"\nto_segment = "{segments[i % 4]}"\n'
                f"when = \"share('court_express') >= 0.{i % 9 + 1}\"\n"
            )
        elif k == 5:
            body = (
                'from = "DORMANT"\nto = "ACTIVE"\n'
                'when = "months_since_last == 0 and t12m_revenue - prev12m_revenue > '
                f'{i}"\n'
            )
        else:
            body = (
                'from = ["STRATEGIC"]\nto = "KEY"\n'
                f'when = "not (t12m_revenue >= {6_000_000 + i}) and tenure_months > {i % 100}"\n'
            )
        out.append(head + body)
    return "\n".join(out)


# ----------------------------------------------------- keyaccount.json documents
# Values of every class keyaccount.json publishes, for its round-trip properties.

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10)
_WORD = _TEXT.map(str.strip).filter(bool)
"""Non-empty text without surrounding spaces (ids, names)."""
_RATIO = st.floats(allow_nan=False, allow_infinity=False)
_COUNT = st.integers(0, 10**9)
_DAY = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))
_EXACT = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False)
"""Exact decimals that are not money (scores, weights)."""
_EXACT_NAMES = frozenset({"score", "role_weight", "weight"})
_SLUG = st.from_regex(r"[a-z][a-z0-9]{0,5}(_[a-z0-9]{1,3}){0,2}", fullmatch=True)


def explanations() -> st.SearchStrategy[tuple[tuple[str, Any], ...]]:
    """Cited values: money in Decimal yuan, counts, finite ratios, text or absent."""
    value = st.one_of(yuan_decimals(), st.integers(-(10**12), 10**12), _RATIO, _TEXT, st.none())
    return st.lists(st.tuples(_WORD, value), max_size=4).map(tuple)


def _labels() -> st.SearchStrategy[Tier | Segment | None]:
    return st.one_of(tiers(), segments(), st.none())


def _spans() -> st.SearchStrategy[PeriodSpan]:
    return st.one_of(
        periods("2000-01", "2030-12").map(PeriodSpan.month),
        st.builds(PeriodSpan.quarter, st.integers(2000, 2030), st.integers(1, 4)),
        st.integers(2000, 2030).map(PeriodSpan.year),
    )


_ANNOTATION_NAMES: dict[str, Any] = {
    "Decimal": Decimal,
    "dt": dt,
    "ItemHistoryRow": ItemHistoryRow,
    "KpiThreshold": KpiThreshold,
    "Mapping": Mapping,
    "Period": Period,
}
"""Names some classes import for type checking only, to resolve their annotations."""


def _for_type(tp: Any, name: str) -> st.SearchStrategy[Any]:
    """A strategy for a field of type ``tp`` named ``name`` of a plain attrs class."""
    args = typing.get_args(tp)
    if tp is int:
        return fen_amounts() if name == "fen" or name.endswith("_fen") else _COUNT
    if tp is Decimal:
        return _EXACT if name in _EXACT_NAMES else yuan_decimals()
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: _WORD,
        float: _RATIO,
        bool: st.booleans(),
        Period: periods("2000-01", "2030-12"),
        dt.date: _DAY,
        PeriodSpan: _spans(),
    }
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if attrs.has(tp):
        return documents(tp)
    if type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        return st.none() | st.one_of(*(_for_type(a, name) for a in rest))
    if args and typing.get_origin(tp) in (typing.Union, types.UnionType):
        return st.one_of(*(_for_type(a, name) for a in args))
    if typing.get_origin(tp) is tuple and args[1:] == (Ellipsis,):
        return st.lists(_for_type(args[0], name), max_size=3).map(tuple)
    raise TypeError(f"no strategy for {tp!r} ({name})")


def _plain(cls: type, **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Instances of an attrs class without validators, every field drawn by its type."""
    hints = typing.get_type_hints(cls, localns=_ANNOTATION_NAMES)
    fields = {
        f.alias: fixed[f.name] if f.name in fixed else _for_type(hints[f.name], f.name)
        for f in attrs.fields(cls)
        if f.init
    }
    return st.builds(cls, **fields)


def _tier_changes() -> st.SearchStrategy[TierChange]:
    return st.builds(
        TierChange,
        customer_ids(),
        periods("2000-01", "2030-12"),
        before=tiers(),
        after=tiers(),
        rule=_WORD,
        actor=st.none() | _WORD,
        reason=_TEXT,
        explanation=explanations(),
    )


def _segment_changes() -> st.SearchStrategy[SegmentChange]:
    return st.builds(
        SegmentChange,
        customer_ids(),
        periods("2000-01", "2030-12"),
        before=st.none() | segments(),
        after=st.none() | segments(),
        rule=st.none() | _WORD,
        actor=_WORD,
        reason=_TEXT,
        explanation=explanations(),
    )


def _transitions() -> st.SearchStrategy[Transition]:
    tier = st.tuples(st.just("tier"), tiers(), tiers())
    segment = st.tuples(st.just("segment"), st.none() | segments(), st.none() | segments())
    return st.builds(
        lambda kba, cid, rule, period, why: Transition(
            cid, kba[0], kba[1], kba[2], rule, period, why
        ),
        tier | segment,
        customer_ids(),
        _WORD,
        periods("2000-01", "2030-12"),
        explanations(),
    )


def _products() -> st.SearchStrategy[Product]:
    return st.builds(Product, _SLUG, _TEXT, _TEXT, st.frozensets(segments()))


def _members() -> st.SearchStrategy[Member]:
    return st.builds(Member, _TEXT, st.sampled_from(Role), full_time=st.booleans())


def _supervision_items() -> st.SearchStrategy[SupervisionItem]:
    @st.composite
    def build(draw: st.DrawFn) -> SupervisionItem:
        opened = draw(_DAY)
        closed = draw(st.booleans())
        level = draw(st.sampled_from(Level))
        return SupervisionItem(
            draw(_WORD),
            draw(_WORD),
            draw(st.sampled_from(("CUSTOMER", "GROUP"))),
            draw(_WORD),
            draw(st.sampled_from(("MARKET", "OPERATIONS", "SERVICE", "IT"))),
            draw(_WORD),
            level,
            draw(st.none() | _WORD),
            draw(st.sampled_from(("NORMAL", "SEVERE"))),
            opened,
            opened + dt.timedelta(days=draw(st.integers(0, 60))),
            status=ItemStatus.CLOSED if closed else ItemStatus.OPEN,
            owner=draw(st.none() | _WORD),
            resolution=draw(_WORD) if closed else None,
            closed_on=opened + dt.timedelta(days=draw(st.integers(0, 90))) if closed else None,
            source_key=draw(st.none() | _WORD),
            dispatch_id=draw(st.none() | _WORD),
            escalated_on=draw(st.none() | _DAY),
            flagged=level is Level.HEADQUARTERS and draw(st.booleans()),
        )

    return build()


@st.composite
def _lifecycles(draw: st.DrawFn) -> ProjectLifecycle:
    life = ProjectLifecycle(draw(_WORD))
    day = draw(_DAY)
    for _ in range(draw(st.integers(0, 8))):
        day += dt.timedelta(days=draw(st.integers(0, 40)))
        life = life.move(ALLOWED_MOVES[life.stage][0], who=draw(_WORD), on=day)
    return life


def _thresholds() -> st.SearchStrategy[KpiThreshold]:
    bound = st.floats(0, 10, allow_nan=False)
    return st.builds(
        lambda kpi, seg, tier, lower, value, text: KpiThreshold(
            kpi,
            segment=seg,
            tier=tier,
            minimum=value if lower else None,
            maximum=None if lower else value,
            description=text,
        ),
        _SLUG,
        st.none() | segments(),
        st.none() | tiers(),
        st.booleans(),
        bound,
        _TEXT,
    )


@st.composite
def _opportunities(draw: st.DrawFn) -> Opportunity:
    n = draw(st.integers(0, 4))
    return Opportunity(
        draw(_labels()),
        draw(_SLUG),
        draw(_COUNT),
        draw(_COUNT),
        np.array(draw(st.lists(customer_ids(), min_size=n, max_size=n)), dtype=object),
        np.array(draw(st.lists(fen_amounts(0), min_size=n, max_size=n)), dtype=np.int64),
        np.array(draw(st.lists(st.integers(0, len(BASES) - 1), min_size=n, max_size=n)), np.int8),
    )


def _constrained() -> dict[type, Callable[[], st.SearchStrategy[Any]]]:
    """The classes whose values must meet checks: drawn by hand."""
    ids = _WORD.filter(lambda s: len(s) <= 200)
    return {
        Customer: customers,
        RevenueRecord: lambda: st.builds(
            RevenueRecord,
            customer_ids(),
            st.sampled_from(PRODUCT_IDS),
            periods(),
            yuan_decimals(),
            volume=_COUNT,
        ),
        Product: _products,
        ProductCatalog: lambda: st.lists(_products(), unique_by=lambda p: p.id, max_size=3).map(
            lambda products: ProductCatalog(tuple(products))
        ),
        Member: _members,
        ProjectGroup: lambda: st.builds(
            ProjectGroup,
            _WORD,
            _TEXT,
            _TEXT,
            segment=st.none() | segments(),
            international=st.booleans(),
            members=st.lists(_members(), max_size=3),
            customer_ids=st.frozensets(customer_ids(), max_size=4),
        ),
        TierChange: _tier_changes,
        SegmentChange: _segment_changes,
        Transition: _transitions,
        Target: lambda: st.builds(Target, ids, _spans(), yuan_decimals(0), member=st.none() | ids),
        OwnershipMove: lambda: st.builds(
            OwnershipMove, ids, st.none() | ids, periods(), ids, _TEXT
        ),
        KpiDefinition: lambda: st.builds(
            KpiDefinition,
            _SLUG,
            _WORD,
            _WORD,
            direction=st.sampled_from(("HIGHER_IS_BETTER", "LOWER_IS_BETTER")),
            proportion=st.booleans(),
            description=_TEXT,
        ),
        KpiObservation: lambda: st.builds(
            KpiObservation,
            _WORD,
            _SLUG,
            periods(),
            st.integers(0, MAX_KPI_COUNT),
            st.integers(0, MAX_KPI_COUNT),
            subject_kind=st.sampled_from(("CUSTOMER", "GROUP")),
        ),
        KpiThreshold: _thresholds,
        SupervisionItem: _supervision_items,
        EscalationPolicy: lambda: st.builds(
            EscalationPolicy,
            st.lists(st.integers(1, 3650), min_size=3, max_size=3).map(tuple),
            order_escalations=st.integers(1, 100),
            order_window_days=st.integers(1, 400),
        ),
        ProjectLifecycle: _lifecycles,
        Opportunity: _opportunities,
    }


def documents(cls: type) -> st.SearchStrategy[Any]:
    """Values of ``cls``, a class keyaccount.json publishes."""
    made = _constrained().get(cls)
    if made is not None:
        return made()
    fixed: dict[str, st.SearchStrategy[Any]] = {}
    names = {f.name for f in attrs.fields(cls)}
    if "moves" in names and "by_rule" in names:  # EvaluationCounts
        fixed["by_rule"] = st.dictionaries(_WORD, _COUNT, max_size=3)
        fixed["moves"] = st.dictionaries(st.tuples(_labels(), _labels()), _COUNT, max_size=3)
    if "transitions" in names:  # EvaluationDocument
        fixed["transitions"] = st.lists(_transitions(), max_size=3).map(tuple)
        fixed["held"] = st.lists(_transitions(), max_size=2).map(tuple)
    return st.deferred(lambda: _plain(cls, **fixed))
