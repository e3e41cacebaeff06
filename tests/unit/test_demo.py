from __future__ import annotations

import re

import attrs
import numpy as np
import pytest

import keyaccount.demo
from keyaccount import (
    Period,
    Portfolio,
    Role,
    Segment,
    SubSegment,
    Tier,
    default_catalog,
    default_project_groups,
)
from keyaccount.demo import NOTABLE_CUSTOMERS, generate
from keyaccount.exceptions import KeyAccountError, ValidationError
from keyaccount.portfolio import METRICS, MetricKind, reference_metrics

SEGMENTS = tuple(Segment)
SUB_SEGMENTS = tuple(SubSegment)
END = Period(2022, 11)
PROVINCES = {
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆",
    "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """A mid-sized demo portfolio: 1,500 customers over 36 months ending 2022-11."""
    return generate(seed=2022, customers=1500, months=36)


def _sub(sub: SubSegment) -> int:
    return SUB_SEGMENTS.index(sub)


def _monthly_revenue(pf: Portfolio, mask: np.ndarray) -> dict[Period, int]:
    rev = pf.revenue_columns
    keep = mask[rev.customer]
    periods = rev.period[keep].astype(np.int64)
    lo = int(periods.min())
    sums = np.bincount(periods - lo, weights=rev.fen[keep].astype(np.float64))
    return {Period.from_ordinal(lo + i): int(v) for i, v in enumerate(sums)}


def test_same_seed_gives_the_same_portfolio() -> None:
    """Two portfolios generated with one seed are identical, column by column."""
    a = generate(seed=11, customers=400, months=24)
    b = generate(seed=11, customers=400, months=24)
    for field in attrs.fields(type(a.customer_columns)):
        assert np.array_equal(
            getattr(a.customer_columns, field.name), getattr(b.customer_columns, field.name)
        ), field.name
    for field in attrs.fields(type(a.revenue_columns)):
        assert np.array_equal(
            getattr(a.revenue_columns, field.name), getattr(b.revenue_columns, field.name)
        ), field.name
    assert a.project_groups == b.project_groups


def test_different_seeds_give_different_portfolios() -> None:
    """Another seed changes revenue, names and the tiers drawn."""
    a = generate(seed=1, customers=400, months=24)
    b = generate(seed=2, customers=400, months=24)
    assert len(a.revenue_columns) != len(b.revenue_columns) or not np.array_equal(
        a.revenue_columns.fen, b.revenue_columns.fen
    )
    assert a.customer_columns.name.tolist() != b.customer_columns.name.tolist()


@pytest.mark.parametrize("customers", [1, 5, 17, 50, 333, 1000])
def test_customer_count_is_exact(customers: int) -> None:
    """The portfolio holds exactly the number of customers asked for, with unique ids."""
    pf = generate(seed=3, customers=customers, months=13)
    assert len(pf) == customers
    assert len(set(pf.customer_ids)) == customers
    assert all(re.fullmatch(r"C\d{7}", cid) for cid in pf.customer_ids)


def test_small_sizes_work() -> None:
    """Tiny portfolios (50 customers, 13 months; one customer, one month) generate and compute."""
    pf = generate(seed=5, customers=50, months=13)
    table = pf.metrics(END)
    assert 0 < len(table) <= 50
    assert len(pf.revenue_columns) > 0
    one = generate(seed=5, customers=1, months=1)
    assert len(one) == 1
    assert one.period_span == (END, END)


@pytest.mark.parametrize(
    ("kwargs", "offending"),
    [
        ({"customers": 0}, "0"),
        ({"customers": -5}, "-5"),
        ({"months": 0}, "0"),
        ({"customers": 2.5}, "2.5"),
        ({"months": True}, "True"),
        ({"seed": -1}, "-1"),
    ],
)
def test_bad_arguments_raise_validation_error(kwargs: dict[str, object], offending: str) -> None:
    """Counts below one, non-integers and negative seeds raise ValidationError naming the value."""
    name = next(iter(kwargs))
    with pytest.raises(ValidationError, match=rf"{name} must be .*got {re.escape(offending)}"):
        generate(**kwargs)  # type: ignore[arg-type]
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ValidationError, KeyAccountError)


def test_bad_end_month_raises() -> None:
    """An end month that is no month is refused with a keyaccount error."""
    with pytest.raises(ValidationError):
        generate(customers=10, end="2022-13")


def test_end_and_months_bound_the_records() -> None:
    """Records fall within the ``months`` months ending with ``end`` (text or Period)."""
    pf = generate(seed=4, customers=300, months=12, end="2021-06")
    assert pf.period_span == (Period(2020, 7), Period(2021, 6))
    same = generate(seed=4, customers=300, months=12, end=Period(2021, 6))
    assert np.array_equal(pf.revenue_columns.fen, same.revenue_columns.fen)


def test_every_segment_sub_segment_and_group_is_present(demo: Portfolio) -> None:
    """All seven segments, every sub-segment and the nine project groups hold customers."""
    cols = demo.customer_columns
    assert set(cols.segment.tolist()) - {-1} == set(range(len(SEGMENTS)))
    assert set(cols.sub_segment.tolist()) - {-1} == set(range(len(SUB_SEGMENTS)))
    assert [g.id for g in demo.project_groups] == [g.id for g in default_project_groups()]
    assert all(g.customer_ids for g in demo.project_groups)
    assert (cols.segment == -1).any()


def test_every_sub_segment_shows_in_a_small_portfolio() -> None:
    """Even 40 customers cover every sub-segment and every project group."""
    pf = generate(seed=8, customers=40, months=13)
    cols = pf.customer_columns
    assert set(cols.sub_segment.tolist()) - {-1} == set(range(len(SUB_SEGMENTS)))
    assert all(g.customer_ids for g in pf.project_groups)


def test_project_groups_own_customers_by_segment(demo: Portfolio) -> None:
    """Segment customers belong to their segment's group, international ones have no segment."""
    cols = demo.customer_columns
    owner: dict[str, str] = {}
    for group in demo.project_groups:
        for cid in group.customer_ids:
            assert cid not in owner, cid
            owner[cid] = group.id
    by_segment = {g.segment: g.id for g in demo.project_groups if g.segment is not None}
    international = {g.id for g in demo.project_groups if g.international}
    for i, cid in enumerate(demo.customer_ids):
        code = int(cols.segment[i])
        if code >= 0:
            assert owner[cid] == by_segment[SEGMENTS[code]], cid
        elif cid in owner:
            assert owner[cid] in international, cid
    assert len(owner) < len(demo)  # single-customer projects belong to no group


def test_project_groups_have_named_members(demo: Portfolio) -> None:
    """Each group names one project manager, account managers and three part-time supports."""
    for group in demo.project_groups:
        roles = [m.role for m in group.members]
        assert roles.count(Role.PROJECT_MANAGER) == 1, group.id
        assert roles.count(Role.ACCOUNT_MANAGER) >= 1, group.id
        for support in (
            Role.BUSINESS_DEVELOPMENT,
            Role.OPERATIONS_OPTIMISATION,
            Role.SERVICE_IMPROVEMENT,
        ):
            assert roles.count(support) == 1, (group.id, support)
        for member in group.members:
            assert member.full_time is not member.role.is_support
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", member.name), member.name
    names = [m.name for g in demo.project_groups for m in g.members]
    assert len(names) == len(set(names))


def test_named_customers_come_first(demo: Portfolio) -> None:
    """The customers the text names take the first ids, in their groups and segments."""
    assert list(NOTABLE_CUSTOMERS.values()) == demo.customer_ids[: len(NOTABLE_CUSTOMERS)]
    for name, cid in NOTABLE_CUSTOMERS.items():
        assert demo.customer(cid).name == name
    expected_groups = {
        "耐克": "nike",
        "腾讯": "tencent",
        "当当网": "ecommerce",
        "巧厨商贸": "ecommerce",
        "来伊份": "ecommerce",
        "中国工商银行": "banks",
        "中国人寿": "insurers",
        "广东省高级人民法院": "courts",
    }
    for name, group_id in expected_groups.items():
        group = demo.project_group_of(NOTABLE_CUSTOMERS[name])
        assert group is not None
        assert group.id == group_id
    assert demo.customer(NOTABLE_CUSTOMERS["中国人寿"]).sub_segment is SubSegment.INSURER_HQ
    assert demo.customer(NOTABLE_CUSTOMERS["耐克"]).tier is Tier.STRATEGIC


def test_every_customer_has_a_mainland_province(demo: Portfolio) -> None:
    """Each customer is placed in one of the 31 mainland provinces (short names)."""
    assert set(demo.customer_columns.province.tolist()) <= PROVINCES


def test_insurer_headquarters_have_many_provincial_branches(demo: Portfolio) -> None:
    """Branches hang under insurer headquarters, many to one as in the text (1,439 to 40)."""
    cols = demo.customer_columns
    hq = cols.sub_segment == _sub(SubSegment.INSURER_HQ)
    branch = cols.sub_segment == _sub(SubSegment.INSURER_BRANCH)
    assert hq.sum() >= 2
    assert branch.sum() >= 10 * hq.sum()
    parents = cols.parent[branch]
    assert (parents >= 0).all()
    assert (cols.sub_segment[parents] == _sub(SubSegment.INSURER_HQ)).all()
    hq_id = NOTABLE_CUSTOMERS["中国人寿"]
    branches = demo.children(hq_id)
    assert len(branches) >= 2
    assert all(demo.customer(b).name.startswith("中国人寿") for b in branches)


def test_other_hierarchies(demo: Portfolio) -> None:
    """Bank branches sit under national banks, lower courts under courts, with valid parents."""
    cols = demo.customer_columns
    has_parent = cols.parent >= 0
    parent = cols.parent[has_parent]
    assert (parent < len(demo)).all()
    assert (parent != np.flatnonzero(has_parent)).all()
    assert (cols.segment[parent] == cols.segment[has_parent]).all()
    assert (cols.first_period[parent] <= cols.first_period[has_parent]).all()
    for sub in (SubSegment.NATIONAL_BANK, SubSegment.COURT, SubSegment.DRIVING_LICENCE):
        children = has_parent & (cols.sub_segment == _sub(sub))
        assert children.any(), sub
    bank = NOTABLE_CUSTOMERS["中国工商银行"]
    assert demo.children(bank)
    assert all(
        demo.customer(c).sub_segment is SubSegment.NATIONAL_BANK for c in demo.children(bank)
    )
    courts = demo.descendants(NOTABLE_CUSTOMERS["广东省高级人民法院"])
    assert all(demo.customer(c).province == "广东" for c in courts)


def test_no_record_before_first_period(demo: Portfolio) -> None:
    """Every revenue record is in or after its customer's first_period."""
    rev = demo.revenue_columns
    assert (rev.period >= demo.customer_columns.first_period[rev.customer]).all()


def test_some_customers_start_inside_the_range(demo: Portfolio) -> None:
    """Late starters have a first_period inside the generated months, and revenue after it."""
    cols = demo.customer_columns
    start = (END - 35).ordinal
    late = np.flatnonzero(cols.first_period > start)
    assert late.size > 0
    with_revenue = np.unique(demo.revenue_columns.customer)
    assert np.isin(late, with_revenue).mean() > 0.8


def test_revenue_is_integer_fen_with_rare_small_refunds(demo: Portfolio) -> None:
    """Revenue and volume are int64; negative records are rare and smaller than typical ones."""
    rev = demo.revenue_columns
    assert rev.fen.dtype == np.int64
    assert rev.volume.dtype == np.int64
    assert (rev.volume >= 0).all()
    refunds = rev.fen < 0
    assert 0 < refunds.sum() < 0.01 * len(rev)
    assert (rev.volume[refunds] == 0).all()
    assert np.median(-rev.fen[refunds]) < np.median(rev.fen[~refunds])


def test_about_one_or_two_records_per_customer_month(demo: Portfolio) -> None:
    """The record count is in the order of one to two per customer and month."""
    per_customer_month = len(demo.revenue_columns) / (len(demo) * 36)
    assert 0.7 < per_customer_month < 2.5


def test_revenue_is_heavy_tailed(demo: Portfolio) -> None:
    """A few customers bring tens of millions of yuan a year, most far less."""
    t12m = demo.metrics(END).columns["t12m_revenue"]
    yuan = t12m / 100
    assert yuan.max() >= 10e6
    assert np.median(yuan) < 1e6
    top = np.sort(t12m)[::-1]
    assert top[: len(top) // 100].sum() > 0.2 * t12m.sum()


def test_ecommerce_peaks_in_june_and_november(demo: Portfolio) -> None:
    """E-commerce revenue in June and November beats the neighbouring months on aggregate."""
    ecommerce = demo.customer_columns.segment == SEGMENTS.index(Segment.ECOMMERCE_TOP)
    monthly = _monthly_revenue(demo, ecommerce)
    for year in (2020, 2021, 2022):
        for peak in (6, 11):
            here = monthly[Period(year, peak)]
            before = monthly[Period(year, peak) - 1]
            after = monthly.get(Period(year, peak) + 1)
            assert here > before, (year, peak)
            if after is not None:
                assert here > after, (year, peak)


def test_customers_grow_and_decline(demo: Portfolio) -> None:
    """Year-on-year growth as of the end month takes both signs."""
    table = demo.metrics(END)
    yoy = table.columns["yoy_growth"][~table.absent["yoy_growth"]]
    assert (yoy > 0.1).sum() > 0.1 * yoy.size
    assert (yoy < -0.1).sum() > 0.1 * yoy.size


def test_some_customers_churn(demo: Portfolio) -> None:
    """Some customers sent nothing in the last six months after sending earlier."""
    table = demo.metrics(END)
    since = table.columns["months_since_last"][~table.absent["months_since_last"]]
    assert (since >= 6).any()


def test_tiers_follow_size(demo: Portfolio) -> None:
    """Bigger customers hold higher tiers; most are ACTIVE; some are DORMANT."""
    table = demo.metrics(END)
    t12m = table.columns["t12m_revenue"]
    counts = np.bincount(table.tier, minlength=4)
    assert counts.argmax() == Tier.ACTIVE.rank
    assert counts[Tier.DORMANT.rank] > 0
    assert counts[Tier.STRATEGIC.rank] > 0
    medians = [np.median(t12m[table.tier == rank]) for rank in range(4)]
    assert medians[Tier.ACTIVE.rank] < medians[Tier.KEY.rank] < medians[Tier.STRATEGIC.rank]
    assert medians[Tier.DORMANT.rank] < medians[Tier.ACTIVE.rank]


def test_tier_since_is_within_the_customers_life(demo: Portfolio) -> None:
    """tier_since is unset or between first_period and the end month, and often a review month."""
    cols = demo.customer_columns
    since = cols.tier_since
    is_set = since >= 0
    assert is_set.any()
    assert (~is_set).any()
    assert (since[is_set] > cols.first_period[is_set]).all()
    assert (since[is_set] <= END.ordinal).all()
    january_or_july = since[is_set] % 6 == 0
    assert january_or_july.mean() > 0.5


def test_products_follow_the_segment(demo: Portfolio) -> None:
    """Customers use their segment's products, standard express or (rarely) luggage to home."""
    catalog = default_catalog()
    allowed_any = {catalog.position("standard_express"), catalog.position("luggage_to_home")}
    international = {
        catalog.position("overseas_warehouse"),
        catalog.position("cross_border_parcel"),
    }
    by_segment = {
        code: {catalog.position(p.id) for p in catalog.for_segment(seg)} | allowed_any
        for code, seg in enumerate(SEGMENTS)
    }
    rev = demo.revenue_columns
    cols = demo.customer_columns
    segment = cols.segment[rev.customer]
    for code, allowed in by_segment.items():
        used = set(np.unique(rev.product[segment == code]).tolist())
        assert used <= allowed, SEGMENTS[code]
        if catalog.for_segment(SEGMENTS[code]):
            assert used & (allowed - allowed_any), SEGMENTS[code]
    intl_groups = [g for g in demo.project_groups if g.international]
    intl = np.isin(cols.id, [c for g in intl_groups for c in g.customer_ids])
    used = set(np.unique(rev.product[intl[rev.customer]]).tolist())
    assert international <= used <= international | allowed_any
    luggage = rev.product == catalog.position("luggage_to_home")
    assert 0 < np.unique(rev.customer[luggage]).size < 0.05 * len(demo)


def test_customers_adopt_products_over_time(demo: Portfolio) -> None:
    """Product counts change between two years: some customers use more products than before."""
    now = demo.metrics(END)
    before = demo.metrics(END - 12)
    common = [cid for cid in before if cid in now]
    pos_now = np.array([now.position(c) for c in common])
    pos_before = np.array([before.position(c) for c in common])
    more = now.columns["product_count"][pos_now] > before.columns["product_count"][pos_before]
    assert more.sum() > 0.02 * len(common)


def test_parcels_match_revenue_per_parcel(demo: Portfolio) -> None:
    """Revenue per parcel is steady within each product (parcels follow revenue)."""
    rev = demo.revenue_columns
    big = rev.volume >= 20
    per_parcel = rev.fen[big] / rev.volume[big]
    for product in np.unique(rev.product[big]).tolist():
        values = per_parcel[rev.product[big] == product]
        ratio = values / np.median(values)
        assert np.mean((ratio > 0.8) & (ratio < 1.25)) > 0.95, product


def test_public_api() -> None:
    """keyaccount.demo exports exactly generate and NOTABLE_CUSTOMERS."""
    assert keyaccount.demo.__all__ == [
        "DEFAULT_SEED",
        "NOTABLE_CUSTOMERS",
        "demo_operations",
        "generate",
    ]
    namespace: dict[str, object] = {}
    exec("from keyaccount.demo import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(keyaccount.demo.__all__)


@pytest.mark.parametrize("months", [24, 36])
@pytest.mark.parametrize("rollup", [False, True])
def test_demo_metrics_equal_the_reference(months: int, rollup: bool) -> None:
    """On demo data (hierarchies, refunds, late starters) bulk metrics equal the reference."""
    pf = generate(seed=9, customers=400, months=months)
    customers = list(pf.customers())
    records = list(pf.revenue_records())
    for as_of in (END, END - 8):
        expected = reference_metrics(customers, records, as_of, rollup=rollup)
        table = pf.metrics(as_of, rollup=rollup)
        assert list(table) == list(expected)
        for cid, row in expected.items():
            i = table.position(cid)
            for name, value in row.items():
                assert bool(table.absent[name][i]) == (value is None), (cid, name)
                if value is None:
                    continue
                raw = table.columns[name][i]
                got = float(raw) if METRICS[name].kind is MetricKind.RATIO else int(raw)
                assert got == value, (cid, name)
