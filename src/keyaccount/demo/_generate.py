"""The demo-portfolio generator, vectorised with numpy.

The generator works in three passes, none of which creates a Python object per
revenue record:

1. *Customers*, block by block: the named anchors first, then each kind of
   :data:`~keyaccount.demo._kinds.KINDS` in order (parents before children).
   Each block draws its parents, names, provinces, first month, revenue scale
   and the products it uses (one *line* per customer and product, with the
   months it runs).
2. *Dynamics*, for all customers at once: yearly growth (growers, steady
   ones and decliners), churn, the month the tier was set and the tier that
   fitted the customer's size then.
3. *Revenue*, in chunks of customers: every line is expanded to its months,
   thinned by the customer's activity, and priced with trend, season and
   noise into integer fen and parcels.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.demo._kinds import (
    ANCHORS,
    COMMERCE,
    DEFAULT_EXTRA,
    FINANCE,
    INTERNATIONAL,
    KINDS,
    LUGGAGE_EXTRA,
    PUBLIC,
    SEASONS,
    Kind,
    NameContext,
    province_index,
    province_names,
)
from keyaccount.demo._names import GIVEN_NAMES, SURNAMES
from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    Member,
    Period,
    ProductCatalog,
    ProjectGroup,
    Role,
    Segment,
    SubSegment,
    Tier,
    default_catalog,
    default_project_groups,
)
from keyaccount.exceptions import InvalidPeriodError, ValidationError
from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["NOTABLE_CUSTOMERS", "generate"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]
ObjArray = npt.NDArray[np.object_]

ID_WIDTH = 7
"""Digits in customer ids (``C0000001``); more when there are more customers."""
CHUNK_CUSTOMERS = 65_536
"""Customers whose revenue is generated together (bounds the working memory)."""
MAX_TENURE = 96
"""Customers seen before the generated months were first seen up to this many months earlier."""
LATE_SHARE = 0.2
"""Share of generated customers first seen inside the generated months."""
CHURN_SHARE = 0.07
"""Share of generated customers that stop sending during the generated months."""
RETIER_SHARE = 0.5
"""Share of churned customers already moved to ``DORMANT``."""
REVIEW_MONTHS = 6
"""Tiers are reviewed in January and July."""
TIER_THRESHOLDS = (3e3, 1e6, 10e6)
"""Annual revenue in yuan from which a customer is ACTIVE, KEY and STRATEGIC."""
MISFIT_SHARE = 0.05
"""Share of customers whose tier is one step off their size (relationship decisions)."""
ACTIVITY = (0.7, 0.07, 0.4, 0.99)
"""Chance of revenue in a month: ``a + b * ln(annual / 20,000 yuan)`` clipped to ``[lo, hi]``."""
NOISE_SIGMA = 0.25
"""Month-to-month noise of revenue (log scale)."""
LINE_GAP = 0.03
"""Chance that a product has no revenue in a month the customer is active."""
LATER_ADOPTION = 0.4
"""Share of additional products adopted after the customer's first month."""
DROPPED_PRODUCT = 0.08
"""Share of additional products the customer stops using."""
RAMP_MONTHS = 4
"""New customers reach their level over this many months."""
REFUND_SHARE = 0.001
"""Share of records followed by a small refund (a negative record)."""

PARCEL_PRICES: Mapping[str, float] = {
    "standard_express": 9.0,
    "court_express": 22.0,
    "procuratorate_express": 22.0,
    "labor_arbitration_express": 20.0,
    "legal_document_express": 18.0,
    "e_receipt": 0.0,
    "licence_mailing": 15.0,
    "plate_mailing": 20.0,
    "nonmotor_plate_service": 12.0,
    "auto_finance_service": 16.0,
    "archive_warehousing": 35.0,
    "vehicle_inspection_service": 14.0,
    "card_letter": 8.0,
    "policy_mailing": 10.0,
    "warehouse_delivery": 7.0,
    "intra_province_delivery": 4.5,
    "regional_consolidation": 3.5,
    "custom_route": 2.8,
    "presale_staging": 8.0,
    "consolidated_payment": 0.0,
    "luggage_to_home": 45.0,
    "overseas_warehouse": 28.0,
    "cross_border_parcel": 24.0,
}
"""Revenue per parcel in yuan; ``0`` for services that carry no parcels."""

NOTABLE_CUSTOMERS: Mapping[str, str] = MappingProxyType(
    {anchor.name: f"C{i + 1:0{ID_WIDTH}d}" for i, anchor in enumerate(ANCHORS)}
)
"""Ids of the customers the source text names, by name (``NOTABLE_CUSTOMERS["耐克"]``).

They take the first positions of every demo portfolio, in this order, so a
portfolio of at least ``len(NOTABLE_CUSTOMERS)`` customers holds all of them
(ids get wider than ``C0000001`` only beyond 9,999,999 customers).
"""

_SEGMENTS: tuple[Segment, ...] = tuple(Segment)
_SUB_SEGMENTS: tuple[SubSegment, ...] = tuple(SubSegment)
_GROUP_IDS: tuple[str, ...] = tuple(g.id for g in default_project_groups())
_SUB_TO_SEGMENT = np.array([_SEGMENTS.index(s.segment) for s in _SUB_SEGMENTS], dtype=np.int8)


def _check_count(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValidationError(
            f"keyaccount.demo.generate: {name} must be a whole number >= {minimum}, got {value!r}"
        )
    return value


def generate(
    seed: int = 2022,
    customers: int = 3000,
    months: int = 36,
    *,
    end: Period | str = "2022-11",
) -> Portfolio:
    """A demo portfolio modelled on the key-account center the source text describes.

    The same ``seed`` always gives the same portfolio. It holds:

    - the nine project groups of :func:`~keyaccount.default_project_groups`, each
      with a project manager, account managers and the three kinds of support
      manager; every customer of a segment belongs to that segment's group,
      customers of the two international groups have no segment, and
      single-customer projects belong to no group;
    - the customers the text names (see :data:`NOTABLE_CUSTOMERS`) in the first
      positions, then generated ones in every segment and sub-segment:
      courts under provincial high courts, city traffic police under
      provincial bureaus under 公安部交通管理局, provincial branches of national
      banks and of insurer headquarters (40 headquarters to 1,439 branches,
      scaled), e-commerce merchants, fashion brands, internet companies,
      cross-border sellers, airports;
    - a tier per customer that fitted its size when the tier was set
      (``tier_since``, a January or July review, or its first month), so
      tier rules find changes to make as revenue moved since;
    - monthly revenue per customer and product over ``months`` months ending
      with ``end``: lognormal revenue scales (a few customers worth tens of
      millions of yuan a year, most far less), growth and decline, churn, new
      customers ramping up, products adopted later, peaks at 618 (June) and
      Singles' Day (November) for e-commerce and apparel, parcels priced by
      product, and rare small refunds.

    Customer ids are ``C0000001``, ``C0000002``, ...; names are plausible but may
    repeat in large portfolios. With around 10,000 customers a year's revenue
    is in the order of the text's 5.33 billion yuan; it grows with ``customers``.

    Args:
        seed: Seed of the random generator (``numpy`` ``PCG64``), ``>= 0``.
        customers: Number of customers, ``>= 1``.
        months: Number of months of revenue, ``>= 1``.
        end: The last month of revenue.

    Returns:
        A new :class:`~keyaccount.Portfolio` with the default catalogue.

    Raises:
        ValidationError: ``seed``, ``customers`` or ``months`` out of range.
        InvalidPeriodError: ``end`` is not a month, or the months reach before 1900.

    Example:
        >>> from keyaccount.demo import NOTABLE_CUSTOMERS, generate
        >>> pf = generate(seed=7, customers=200, months=24)
        >>> len(pf), pf.customer(NOTABLE_CUSTOMERS["耐克"]).name
        (200, '耐克')
    """
    seed = _check_count("seed", seed, 0)
    n = _check_count("customers", customers, 1)
    months = _check_count("months", months, 1)
    last = Period.parse(end)
    start = last.ordinal - months + 1
    if start < Period(1900, 1).ordinal:
        raise InvalidPeriodError(
            f"keyaccount.demo.generate: {months} months ending {last} start before 1900-01"
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    catalog = default_catalog()
    draft = _Draft.allocate(n, start, months, catalog)
    draft.add_anchors()
    for kind, count in zip(KINDS, allocate(n - draft.filled, KINDS), strict=True):
        draft.add_kind(kind, count, rng)
    dynamics = _dynamics(draft, rng)
    width = max(ID_WIDTH, len(str(n)))
    ids = np.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    portfolio = Portfolio(products=catalog)
    portfolio.add_customer_columns(_customer_columns(draft, dynamics, ids))
    portfolio.add_revenue_columns(_revenue(draft, dynamics, rng))
    for group in _project_groups(draft.group, ids, rng):
        portfolio.add_project_group(group)
    return portfolio


def allocate(total: int, kinds: tuple[Kind, ...]) -> list[int]:
    """Split ``total`` customers over ``kinds`` by share, within caps.

    Every kind gets at least one customer when there are enough (essential
    kinds first), the rest goes by share with largest remainders.
    """
    n = len(kinds)
    caps = [total if k.cap is None else k.cap for k in kinds]
    counts = [0] * n
    order = sorted(range(n), key=lambda i: (not kinds[i].essential, i))
    for i in order[: max(0, total)]:
        counts[i] = min(1, caps[i])
    rest = total - sum(counts)
    while rest > 0:
        open_ = [i for i in range(n) if counts[i] < caps[i]]
        weight = sum(kinds[i].share for i in open_)
        quota = {i: rest * kinds[i].share / weight for i in open_}
        given = 0
        for i in open_:
            add = min(int(quota[i]), caps[i] - counts[i])
            counts[i] += add
            given += add
        if given == 0:
            by_remainder = sorted(open_, key=lambda i: (-(quota[i] % 1), i))
            for i in by_remainder[:rest]:
                counts[i] += 1
                given += 1
        rest -= given
    return counts


def _season_of(segment: Segment | None, international: bool) -> int:
    if international:
        return INTERNATIONAL
    if segment in (Segment.ECOMMERCE_TOP, Segment.FOOTWEAR_APPAREL):
        return COMMERCE
    if segment in (Segment.FINANCE, Segment.INSURANCE):
        return FINANCE
    return PUBLIC


def _ranks(parent: IntArray) -> IntArray:
    """Each element's rank among the earlier elements with the same parent."""
    order = np.argsort(parent, kind="stable")
    ordered = parent[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if ordered.size else np.empty(0, bool)
    group_start = np.maximum.accumulate(np.where(first, np.arange(ordered.size), 0))
    rank = np.empty_like(parent)
    rank[order] = np.arange(ordered.size) - group_start
    return rank


@attrs.define
class _Lines:
    """Customer-product lines: a product a customer uses, and the months it runs."""

    customer: list[IntArray] = attrs.Factory(list)
    product: list[IntArray] = attrs.Factory(list)
    start: list[IntArray] = attrs.Factory(list)
    stop: list[IntArray] = attrs.Factory(list)
    weight: list[FloatArray] = attrs.Factory(list)

    def add(
        self,
        customer: IntArray,
        product: IntArray,
        start: IntArray,
        stop: IntArray,
        weight: FloatArray,
    ) -> None:
        self.customer.append(customer)
        self.product.append(product)
        self.start.append(start)
        self.stop.append(stop)
        self.weight.append(weight)

    def arrays(self) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
        return (
            np.concatenate(self.customer),
            np.concatenate(self.product),
            np.concatenate(self.start),
            np.concatenate(self.stop),
            np.concatenate(self.weight),
        )


@attrs.define
class _Draft:
    """Per-customer arrays, filled block by block (months are relative to ``start``)."""

    n: int
    start: int
    months: int
    catalog: ProductCatalog
    name: ObjArray
    province: IntArray
    sub: Int8Array
    group: Int8Array
    parent: IntArray
    first: IntArray
    base: FloatArray
    season: IntArray
    growth: FloatArray
    tier: Int8Array
    anchor: BoolArray
    lines: _Lines = attrs.Factory(_Lines)
    pools: dict[str, list[IntArray]] = attrs.Factory(dict)
    filled: int = 0

    @classmethod
    def allocate(cls, n: int, start: int, months: int, catalog: ProductCatalog) -> _Draft:
        return cls(
            n=n,
            start=start,
            months=months,
            catalog=catalog,
            name=np.empty(n, dtype=object),
            province=np.zeros(n, np.int64),
            sub=np.full(n, -1, np.int8),
            group=np.full(n, -1, np.int8),
            parent=np.full(n, -1, np.int64),
            first=np.zeros(n, np.int64),
            base=np.zeros(n, np.float64),
            season=np.zeros(n, np.int64),
            growth=np.full(n, np.nan),
            tier=np.full(n, -1, np.int8),
            anchor=np.zeros(n, bool),
        )

    @property
    def earliest(self) -> int:
        """The earliest relative month a customer may be first seen (1900-01)."""
        return Period(1900, 1).ordinal - self.start

    def _late_month(self, months_before_end: int) -> int:
        if self.months == 1:
            return 0
        return max(1, self.months - 1 - months_before_end)

    def add_anchors(self) -> None:
        """The named customers, in :data:`ANCHORS` order, as many as fit."""
        count = min(self.n, len(ANCHORS))
        for i, a in enumerate(ANCHORS[:count]):
            segment = a.sub.segment if a.sub is not None else None
            self.name[i] = a.name
            self.province[i] = province_index(a.province)
            self.sub[i] = -1 if a.sub is None else _SUB_SEGMENTS.index(a.sub)
            self.group[i] = -1 if a.group is None else _GROUP_IDS.index(a.group)
            self.first[i] = (
                max(-60, self.earliest) if a.started is None else self._late_month(a.started)
            )
            self.base[i] = a.annual
            self.season[i] = _season_of(segment, a.sub is None and a.group is not None)
            self.growth[i] = a.growth
            self.tier[i] = a.tier.rank
            self.anchor[i] = True
            if a.pool is not None:
                self.pools.setdefault(a.pool, []).append(np.array([i], np.int64))
            adopted = [
                self.first[i] if when is None else max(self.first[i], self.months - 1 - when)
                for _, _, when in a.products
            ]
            k = len(a.products)
            self.lines.add(
                np.full(k, i, np.int64),
                np.array([self.catalog.position(p) for p, _, _ in a.products], np.int64),
                np.array(adopted, np.int64),
                np.full(k, self.months, np.int64),
                np.array([w for _, w, _ in a.products], np.float64),
            )
        self.filled = count

    def add_kind(self, kind: Kind, count: int, rng: np.random.Generator) -> None:
        """``count`` customers of ``kind``, after those already filled."""
        lo, hi = self.filled, self.filled + count
        positions = np.arange(lo, hi, dtype=np.int64)
        self.pools.setdefault(kind.key, []).append(positions)
        if count == 0:
            return
        parent = np.full(count, -1, np.int64)
        if kind.parents:
            pool = next(
                (np.concatenate(self.pools[k]) for k in kind.parents if _pool_size(self.pools, k)),
                None,
            )
            if pool is not None:
                weights = 1.0 / np.sqrt(np.arange(1, pool.size + 1))
                parent = pool[rng.choice(pool.size, size=count, p=weights / weights.sum())]
        has_parent = parent >= 0
        safe = np.where(has_parent, parent, 0)
        context = NameContext(
            rng=rng,
            n=count,
            parent=parent,
            parent_name=np.where(has_parent, self.name[safe], ""),
            parent_province=np.where(has_parent, self.province[safe], -1),
            rank=_ranks(parent),
        )
        names, province = kind.namer(context)
        self.name[lo:hi] = names
        self.province[lo:hi] = province
        self.sub[lo:hi] = -1 if kind.sub is None else _SUB_SEGMENTS.index(kind.sub)
        self.group[lo:hi] = -1 if kind.group is None else _GROUP_IDS.index(kind.group)
        self.parent[lo:hi] = parent
        first = self._first_months(rng, count)
        self.first[lo:hi] = np.where(has_parent, np.maximum(first, self.first[safe]), first)
        self.base[lo:hi] = kind.median * np.exp(kind.sigma * rng.standard_normal(count))
        self.season[lo:hi] = kind.season
        self.filled = hi
        self._add_lines(kind, positions, rng)

    def _first_months(self, rng: np.random.Generator, count: int) -> IntArray:
        late = rng.random(count) < LATE_SHARE
        tenure = rng.integers(0, MAX_TENURE, count)
        inside = rng.integers(1, max(2, self.months), count) if self.months > 1 else 0
        first = np.where(late & (self.months > 1), inside, -tenure)
        return np.maximum(first, self.earliest).astype(np.int64)

    def _add_lines(self, kind: Kind, positions: IntArray, rng: np.random.Generator) -> None:
        """The products of the kind's customers: one line per customer and product used."""
        count = positions.size
        segment = kind.sub.segment if kind.sub is not None else None
        candidates: list[str] = [p for p, _ in kind.primary]
        chance: dict[str, float] = {}
        for product_id, p in kind.extras:
            candidates.append(product_id)
            chance[product_id] = p
        if segment is not None:
            for product in self.catalog.for_segment(segment):
                candidates.append(product.id)
                chance.setdefault(product.id, DEFAULT_EXTRA)
        candidates += [DEFAULT_PRODUCT_ID, "luggage_to_home"]
        chance.setdefault(DEFAULT_PRODUCT_ID, kind.standard)
        domestic = kind.group not in ("overseas_warehouse", "cainiao")
        chance.setdefault("luggage_to_home", LUGGAGE_EXTRA if domestic else 0.0)
        candidates = list(dict.fromkeys(candidates))
        prob = np.array([chance.get(p, 0.0) for p in candidates])
        primary_share = np.array([s for _, s in kind.primary])
        primary_col = np.array([candidates.index(p) for p, _ in kind.primary])[
            rng.choice(len(kind.primary), size=count, p=primary_share / primary_share.sum())
        ]
        adopt = rng.random((count, len(candidates))) < prob
        adopt[np.arange(count), primary_col] = True
        rows, cols = np.nonzero(adopt)
        is_primary = cols == primary_col[rows]
        first = self.first[positions[rows]]
        size = rows.size
        from_month = np.maximum(first, 0)
        later = ~is_primary & (rng.random(size) < LATER_ADOPTION)
        start = np.where(
            later,
            from_month + (rng.random(size) * (self.months - from_month)).astype(np.int64),
            first,
        )
        active_from = np.maximum(start, 0)
        dropped = ~is_primary & (rng.random(size) < DROPPED_PRODUCT)
        stop = np.where(
            dropped,
            active_from + 1 + (rng.random(size) * (self.months - active_from)).astype(np.int64),
            self.months,
        )
        is_standard = np.array([p == DEFAULT_PRODUCT_ID for p in candidates])[cols]
        spread = np.where(is_standard, 0.7, 0.8)
        level = np.where(is_standard, 0.2, 0.3)
        weight = np.where(is_primary, 1.0, level * np.exp(spread * rng.standard_normal(size)))
        product_codes = np.array([self.catalog.position(p) for p in candidates], np.int64)
        self.lines.add(
            positions[rows],
            product_codes[cols],
            start.astype(np.int64),
            np.minimum(stop, self.months).astype(np.int64),
            weight,
        )


def _pool_size(pools: dict[str, list[IntArray]], key: str) -> int:
    return sum(p.size for p in pools.get(key, []))


@attrs.frozen
class _Dynamics:
    """Per-customer trend, churn and tier (months relative to the first generated month)."""

    growth: FloatArray
    churn: IntArray
    reference: IntArray
    tier: Int8Array
    tier_since: IntArray
    activity: npt.NDArray[np.float32]


def _dynamics(draft: _Draft, rng: np.random.Generator) -> _Dynamics:
    n, months = draft.n, draft.months
    kind = rng.random(n)
    growth = rng.normal(0.06, 0.18, n)
    growth = np.where(kind < 0.10, rng.normal(0.45, 0.2, n), growth)
    growth = np.where((kind >= 0.10) & (kind < 0.22), rng.normal(-0.4, 0.2, n), growth)
    growth = np.clip(growth, -2.0, 1.2)
    growth = np.where(np.isnan(draft.growth), growth, draft.growth)

    alive_from = np.maximum(draft.first, 0) + 2
    churns = (rng.random(n) < CHURN_SHARE) & ~draft.anchor & (alive_from <= months - 1)
    churn_at = alive_from + (rng.random(n) * (months - alive_from)).astype(np.int64)
    churn = np.where(churns, churn_at, months)

    end = draft.start + months - 1
    last_review = (end - end % REVIEW_MONTHS) - draft.start
    back = rng.integers(0, 6, n) * REVIEW_MONTHS
    since = last_review - back
    use_first = (rng.random(n) < 0.35) | (since <= draft.first)
    tier_set = np.where(use_first, draft.first, since)
    # revenue levels are anchored no earlier than a year before the generated
    # months, so that trends do not compound over a long tenure
    reference = np.maximum(tier_set, -12)

    size = draft.base.copy()
    walk = draft.parent.copy()
    while (walk >= 0).any():
        up = walk >= 0
        np.add.at(size, walk[up], draft.base[up])
        walk = np.where(up, draft.parent[np.maximum(walk, 0)], -1)
    tier = np.searchsorted(np.array(TIER_THRESHOLDS), size, side="right").astype(np.int8)
    misfit = rng.random(n) < MISFIT_SHARE
    step = np.where(rng.random(n) < 0.5, -1, 1).astype(np.int8)
    tier = np.where(misfit, np.clip(tier + step, 0, 3), tier).astype(np.int8)
    tier_since = tier_set.copy()
    retier = churns & (rng.random(n) < RETIER_SHARE)
    tier = np.where(retier, np.int8(Tier.DORMANT.rank), tier).astype(np.int8)
    moved = np.minimum(churn + rng.integers(0, 3, n), months - 1)
    tier_since = np.where(retier, moved, tier_since)
    tier = np.where(draft.tier >= 0, draft.tier, tier).astype(np.int8)

    activity = np.clip(
        ACTIVITY[0] + ACTIVITY[1] * np.log(np.maximum(draft.base, 1.0) / 20e3), *ACTIVITY[2:]
    )
    return _Dynamics(
        growth=growth,
        churn=churn.astype(np.int64),
        reference=reference.astype(np.int64),
        tier=tier,
        tier_since=tier_since.astype(np.int64),
        activity=activity.astype(np.float32),
    )


def _customer_columns(draft: _Draft, dynamics: _Dynamics, ids: ObjArray) -> CustomerColumns:
    first = draft.start + draft.first
    since = draft.start + dynamics.tier_since
    segment = np.where(draft.sub >= 0, _SUB_TO_SEGMENT[np.maximum(draft.sub, 0)], -1)
    return CustomerColumns(
        id=ids,
        name=draft.name,
        segment=segment.astype(np.int8),
        sub_segment=draft.sub,
        tier=dynamics.tier,
        parent=draft.parent.astype(np.int32),
        province=province_names()[draft.province],
        first_period=first.astype(np.int32),
        tier_since=np.where(since <= first, -1, since).astype(np.int32),
    )


@attrs.frozen
class _LinePlan:
    """Per-line constants for pricing a month ``m`` (relative) of a line.

    The revenue of a line in an active month is
    ``exp(intercept + slope * m + noise) * season * ramp`` yuan, where
    ``intercept`` folds in the line's monthly scale and the customer's trend.
    """

    customer: npt.NDArray[np.int32]
    product: npt.NDArray[np.int32]
    start: npt.NDArray[np.int32]
    length: IntArray
    intercept: FloatArray
    slope: FloatArray
    first: npt.NDArray[np.int32]
    season_row: npt.NDArray[np.int32]
    per_parcel: FloatArray

    @classmethod
    def build(cls, draft: _Draft, dynamics: _Dynamics) -> _LinePlan:
        customer, product, start, stop, weight = draft.lines.arrays()
        if (np.diff(customer) < 0).any():  # pragma: no cover - blocks are built in order
            raise AssertionError("lines must be ordered by customer")
        total_weight = np.bincount(customer, weights=weight, minlength=draft.n)
        scale = draft.base[customer] / 12.0 * weight / total_weight[customer]
        growth = dynamics.growth[customer]
        first = draft.first[customer]
        start = np.maximum(start, np.maximum(first, 0))
        stop = np.minimum(stop, dynamics.churn[customer])
        prices = np.array([PARCEL_PRICES.get(p, 0.0) for p in draft.catalog], np.float64)
        per_parcel = np.divide(1.0, prices, out=np.zeros_like(prices), where=prices > 0)
        return cls(
            customer=customer.astype(np.int32),
            product=product.astype(np.int32),
            start=start.astype(np.int32),
            length=np.maximum(stop - start, 0),
            intercept=np.log(scale)
            - growth * dynamics.reference[customer] / 12.0
            - NOISE_SIGMA**2 / 2,
            slope=growth / 12.0,
            first=first.astype(np.int32),
            season_row=(draft.season[customer] * draft.months).astype(np.int32),
            per_parcel=per_parcel[product],
        )


def _revenue(draft: _Draft, dynamics: _Dynamics, rng: np.random.Generator) -> RevenueColumns:
    """Monthly revenue records of every line, generated chunk by chunk of customers.

    Records are written straight into arrays sized for every month of every
    line (an upper bound: inactive months are skipped), so nothing is copied
    at the end; the unused tail is never touched and takes no memory.
    """
    plan = _LinePlan.build(draft, dynamics)
    n, months = draft.n, draft.months
    calendar = (draft.start + np.arange(months)) % 12
    season = np.ascontiguousarray(SEASONS[:, calendar]).ravel()
    chunks = -(-n // CHUNK_CUSTOMERS)
    upper = int(plan.length.sum())
    capacity = upper + upper // 100 + chunks
    out = RevenueColumns(
        np.empty(capacity, np.int32),
        np.empty(capacity, np.int32),
        np.empty(capacity, np.int32),
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int64),
    )
    filled = 0
    for c0 in range(0, n, CHUNK_CUSTOMERS):
        c1 = min(n, c0 + CHUNK_CUSTOMERS)
        l0, l1 = np.searchsorted(plan.customer, [c0, c1]).tolist()
        filled = _revenue_chunk(
            plan,
            dynamics.activity,
            season,
            rng,
            (c0, c1),
            (l0, l1),
            draft.start,
            months,
            out,
            filled,
        )
    return out.take(np.s_[:filled])  # type: ignore[arg-type]


def _revenue_chunk(
    plan: _LinePlan,
    activity: npt.NDArray[np.float32],
    season: FloatArray,
    rng: np.random.Generator,
    customers: tuple[int, int],
    lines: tuple[int, int],
    start: int,
    months: int,
    out: RevenueColumns,
    filled: int,
) -> int:
    """Write the records of customers ``c0..c1`` (lines ``l0..l1``) from ``out[filled]`` on.

    Returns:
        The new fill level of ``out``.
    """
    c0, c1 = customers
    l0, l1 = lines
    length = plan.length[l0:l1]
    total = int(length.sum())
    if total == 0:
        return filled
    line = np.repeat(np.arange(l0, l1, dtype=np.int32), length)
    offset = (np.cumsum(length) - length - plan.start[l0:l1]).astype(np.int32)
    month = np.arange(total, dtype=np.int32) - np.repeat(offset, length)
    # a customer is active in a month or not, for all its products at once
    active = rng.random((c1 - c0, months), dtype=np.float32) < activity[c0:c1, None]
    keep = active.ravel()[(plan.customer[line] - c0) * months + month]
    keep &= rng.random(total, dtype=np.float32) >= LINE_GAP
    line, month = line[keep], month[keep]
    size = int(line.size)
    amount = plan.intercept[line] + plan.slope[line] * month
    amount += NOISE_SIGMA * rng.standard_normal(size, dtype=np.float32)
    np.exp(amount, out=amount)
    amount *= season[plan.season_row[line] + month]
    since_first = month - plan.first[line]
    young = since_first < RAMP_MONTHS - 1
    amount[young] *= (since_first[young] + 1) / RAMP_MONTHS
    end = filled + size
    np.take(plan.customer, line, out=out.customer[filled:end])
    np.take(plan.product, line, out=out.product[filled:end])
    np.add(month, start, out=out.period[filled:end])
    fen = out.fen[filled:end]
    fen[...] = np.rint(amount * 100.0)
    np.maximum(fen, 1, out=fen)
    jitter = 0.9 + 0.2 * rng.random(size, dtype=np.float32)
    out.volume[filled:end] = np.rint(amount * plan.per_parcel[line] * jitter)
    refunds = min(int(rng.binomial(size, REFUND_SHARE)), size // 100 + 1) if size else 0
    if refunds:
        pick = filled + rng.integers(0, size, refunds)
        stop = end + refunds
        for column in (out.customer, out.product, out.period):
            column[end:stop] = column[pick]
        out.fen[end:stop] = -np.maximum(1, np.rint(out.fen[pick] * rng.uniform(0.02, 0.3, refunds)))
        out.volume[end:stop] = 0
        end = stop
    return end


def _project_groups(
    group: Int8Array, ids: ObjArray, rng: np.random.Generator
) -> list[ProjectGroup]:
    """The nine project groups with named members and the customers each owns."""
    people = [s + g for s in SURNAMES for g in GIVEN_NAMES]
    order = iter(rng.permutation(len(people)).tolist())
    out: list[ProjectGroup] = []
    support = (Role.BUSINESS_DEVELOPMENT, Role.OPERATIONS_OPTIMISATION, Role.SERVICE_IMPROVEMENT)
    for code, base in enumerate(default_project_groups()):
        accounts = int(rng.integers(1, 3) if base.international else rng.integers(2, 5))
        roles = (Role.PROJECT_MANAGER, *([Role.ACCOUNT_MANAGER] * accounts), *support)
        members = tuple(Member(people[next(order)], role) for role in roles)
        owned = ids[group == code].tolist()
        out.append(
            ProjectGroup(
                base.id,
                base.name_en,
                base.name_zh,
                segment=base.segment,
                international=base.international,
                members=members,
                customer_ids=owned,
            )
        )
    return out
