"""The demo operations data: deterministic, consistent with the portfolio and the rules."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import attrs
import numpy as np
import pytest

from keyaccount import Portfolio
from keyaccount.demo import (
    DEFAULT_SEED,
    demo_operations,
    generate,
)
from keyaccount.demo._operations import TEXT_ATTAINMENT
from keyaccount.domain import ItemStatus, Level, Period, Role, Segment, Severity, Stage
from keyaccount.exceptions import ValidationError
from keyaccount.operations import (
    COURT_KPIS,
    MemberScore,
    OperationsData,
    ProjectLifecycle,
    SpanKind,
    SubjectAttributes,
    SubjectKind,
    SupervisionList,
    compute_payouts,
    detect_kpi_breaches,
    open_breach_items,
)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """The demo portfolio at its default size (3,000 customers, 36 months to 2022-11)."""
    return generate()


@pytest.fixture(scope="module")
def ops(portfolio: Portfolio) -> OperationsData:
    """Its operations data with the default seed."""
    return demo_operations(portfolio)


@pytest.fixture(scope="module")
def small() -> Portfolio:
    """A small demo portfolio (300 customers, 24 months)."""
    return generate(seed=5, customers=300, months=24)


def _escalations(ops: OperationsData) -> list[str]:
    return [
        r.item_id for r in ops.supervision_history if r.what == "escalate" and r.field == "level"
    ]


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_an_equal_bundle(small: Portfolio) -> None:
    """Two runs with one seed give equal values, field by field."""
    a = demo_operations(small, seed=5)
    b = demo_operations(small, seed=5)
    assert a == b
    for field in attrs.fields(OperationsData):
        if field.name != "kpi_observations":  # KpiObservations compares by identity
            assert getattr(a, field.name) == getattr(b, field.name), field.name
    for column in ("subject_id", "kpi_id", "period", "numerator", "denominator"):
        assert np.array_equal(
            getattr(a.kpi_observations, column), getattr(b.kpi_observations, column)
        )


def test_different_seeds_give_different_bundles(small: Portfolio) -> None:
    """Another seed changes the targets, the KPI counts and the supervision list."""
    a = demo_operations(small, seed=5)
    b = demo_operations(small, seed=6)
    assert a != b
    assert a.targets != b.targets
    assert a.supervision_items != b.supervision_items


def test_default_seed_is_the_generators(portfolio: Portfolio, ops: OperationsData) -> None:
    """Without a seed the bundle is that of DEFAULT_SEED, the generator's default seed."""
    assert demo_operations(portfolio, seed=DEFAULT_SEED) == ops


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_bad_seed_is_refused(small: Portfolio, seed: object) -> None:
    """A seed that is not a whole number >= 0 is a ValidationError naming it."""
    with pytest.raises(ValidationError, match="seed"):
        demo_operations(small, seed=seed)  # type: ignore[arg-type]


def test_portfolio_without_revenue_is_refused() -> None:
    """A portfolio without revenue has nothing to attribute: refused with a clear message."""
    with pytest.raises(ValidationError, match="no revenue"):
        demo_operations(Portfolio())


# ---------------------------------------------------------------- ownership and targets


def test_ownership_starts_with_the_groups_and_moves_a_handful(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """Every group member is owned from the first month; a few customers move later."""
    span = portfolio.period_span
    assert span is not None
    first, last = span
    assert ops.group_ids == tuple(g.id for g in portfolio.project_groups)
    for group in portfolio.project_groups:
        for cid in sorted(group.customer_ids)[:20]:
            assert ops.ownership.owner(cid, first) == group.id
    moved = [m for m in ops.ownership if m.period != first]
    assert 3 <= len(moved) <= 10
    for move in moved:
        assert first < move.period <= last
        before = ops.ownership.owner(move.customer_id, move.period - 1)
        assert before is not None
        assert before != move.group_id
        assert ops.ownership.owner(move.customer_id, move.period) == move.group_id
    banks_to_insurers = [
        m
        for m in moved
        if m.group_id == "insurers"
        and ops.ownership.owner(m.customer_id, m.period - 1) == "banks"
        and portfolio.parent(m.customer_id) is not None
    ]
    assert banks_to_insurers, "a bank branch moves to the insurers group"


def test_targets_are_whole_thousands_and_never_negative(ops: OperationsData) -> None:
    """Targets are month targets of whole thousands of yuan, >= 0, for every group."""
    assert len(ops.targets) > 0
    for target in ops.targets:
        assert target.fen >= 0
        assert target.fen % 100_000 == 0
        assert target.span.kind is SpanKind.MONTH
        assert target.member is None
    assert ops.targets.group_ids == frozenset(ops.group_ids)


def test_targets_cover_the_rest_of_the_last_year(portfolio: Portfolio, ops: OperationsData) -> None:
    """The months after the last month with revenue, to December, have targets too."""
    span = portfolio.period_span
    assert span is not None
    last = span[1]
    for group_id in ops.group_ids:
        assert ops.targets.target_fen(group_id, str(last.year)) is not None
        for month in range(last.month + 1, 13):
            assert ops.targets.get(group_id, Period(last.year, month)) is not None


def test_last_full_year_is_ten_point_six_percent_above_target(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """Over 2021 the groups together are 5.33 / 4.82 of target; most above, some below."""
    table = ops.attainment(portfolio, "2021")
    rows = list(table.rows(kind=SpanKind.YEAR))
    attributed = sum(r.attributed for r in rows)
    target = sum(r.target for r in rows if r.target is not None)
    assert float(attributed / target) == pytest.approx(TEXT_ATTAINMENT, rel=2e-3)
    ratios = [r.attainment for r in rows]
    assert all(r is not None for r in ratios)
    above = [r for r in ratios if r is not None and r > 1]
    below = [r for r in ratios if r is not None and r < 1]
    assert len(above) > len(rows) / 2
    assert below
    assert all(0.85 < r < 1.35 for r in ratios if r is not None)


def test_teams_have_one_project_manager_and_scores_per_year(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """Each team has one project manager; every member has a score in each year with data."""
    span = portfolio.period_span
    assert span is not None
    assert set(ops.teams) == set(ops.group_ids)
    for group_id, team in ops.teams.items():
        assert sum(m.role is Role.PROJECT_MANAGER for m in team) == 1, group_id
        assert all(m.full_time == (not m.role.is_support) for m in team)
        for year in range(span[0].year, span[1].year + 1):
            scores = ops.scores_for(year)[group_id]
            assert set(scores) == {m.name for m in team}
            assert all(0 <= s <= 100 for s in scores.values())
    assert all(isinstance(s, MemberScore) for s in ops.scores)


def test_payouts_follow_the_scheme_with_the_pm_floor(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """The bundle's payouts equal compute_payouts on the attainment rows; PM >= 40% of a pool."""
    table = ops.attainment(portfolio, "2021")
    figures = {
        r.group_id: (r.attributed, r.target)
        for r in table.rows(kind=SpanKind.YEAR)
        if r.target is not None and r.target > 0
    }
    expected = compute_payouts(
        ops.payout_scheme, "2021", figures, ops.teams, scores=ops.scores_for(2021)
    )
    run = ops.payouts(portfolio, "2021")
    assert run == expected
    pools = [p for p in run if p.pool_fen > 0]
    assert pools
    assert len(pools) < len(run)  # groups below target have no pool
    for payout in pools:
        assert sum(s.fen for s in payout.shares) == payout.pool_fen
        assert payout.project_manager.fen * 10 >= payout.pool_fen * 4


# ---------------------------------------------------------------- KPIs


def test_kpi_observations_are_court_kpis_of_judicial_customers(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """Observations: the four court KPIs for judicial customers, over the last twelve months."""
    obs = ops.kpi_observations
    assert len(obs) > 0
    assert set(obs.kpi_id.tolist()) == {k.id for k in COURT_KPIS}
    assert (obs.subject_kind == SubjectKind.CUSTOMER.code).all()
    segments = {portfolio.customer(str(c)).segment for c in set(obs.subject_id.tolist())}
    assert segments == {Segment.JUDICIAL}
    span = portfolio.period_span
    assert span is not None
    assert ops.kpi_months == (span[1] - 11, span[1])
    assert (obs.numerator >= 0).all()
    assert (obs.numerator <= obs.denominator).all()
    per_subject_month = Counter(zip(obs.subject_id.tolist(), obs.period.tolist(), strict=True))
    assert set(per_subject_month.values()) == {len(COURT_KPIS)}


def test_some_breaches_and_more_in_a_few_provinces(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """Breaches are rare overall and concentrated: the top provinces have a higher rate."""
    subjects = SubjectAttributes.from_portfolio(portfolio)
    breaches = detect_kpi_breaches(ops.kpi_observations, ops.kpi_thresholds, subjects)
    assert 0 < len(breaches) < 0.05 * len(ops.kpi_observations)
    province = {c.id: c.province for c in portfolio.customers()}
    obs_by_province = Counter(province[str(s)] for s in ops.kpi_observations.subject_id)
    rate = {
        p: n / obs_by_province[p]
        for p, n in Counter(province[b.subject_id] for b in breaches).items()
    }
    overall = len(breaches) / len(ops.kpi_observations)
    assert max(rate.values()) > 3 * overall


def test_every_breach_has_its_item_once(portfolio: Portfolio, ops: OperationsData) -> None:
    """Each breach opened one item (its source key); checking again opens nothing."""
    subjects = SubjectAttributes.from_portfolio(portfolio)
    breaches = detect_kpi_breaches(ops.kpi_observations, ops.kpi_thresholds, subjects)
    keys = [i.source_key for i in ops.supervision_items if i.source_key]
    assert sorted(keys) == sorted(b.source_key for b in breaches)
    supervision = ops.supervision_list(portfolio)
    again = open_breach_items(
        supervision,
        breaches,
        who="test",
        on=ops.as_of,
        responsible_person=ops.breach_responsible(subjects),
    )
    assert again == ()
    assert len(supervision) == len(ops.supervision_items)


# ---------------------------------------------------------------- supervision list


def test_supervision_list_rebuilds_and_is_swept_up_to_date(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """The records rebuild a list; the last sweep day, swept again, changes nothing."""
    supervision = ops.supervision_list(portfolio)
    assert isinstance(supervision, SupervisionList)
    assert supervision.items == ops.supervision_items
    assert supervision.history == ops.supervision_history
    last_sweep = max(r.when for r in ops.supervision_history if r.what in ("escalate", "flag"))
    assert last_sweep.weekday() == 0
    assert last_sweep < ops.as_of
    result = supervision.sweep(last_sweep, who="test")
    assert result.escalated == ()
    assert result.flagged == ()


def test_items_escalate_close_and_stay_open(portfolio: Portfolio, ops: OperationsData) -> None:
    """Most items are closed out; some escalated; a few remain open at every level."""
    items = ops.supervision_items
    closed = [i for i in items if i.status is ItemStatus.CLOSED]
    assert len(closed) > 0.8 * len(items)
    assert all(i.resolution for i in closed)
    assert len(set(_escalations(ops))) >= 3
    open_levels = {i.level for i in items if i.is_open}
    assert open_levels == set(Level)
    assert any(i.is_overdue(ops.as_of) for i in items)
    known = set(portfolio.customer_ids)
    groups = set(ops.group_ids)
    for item in items:
        assert item.subject_id in (known if item.subject_kind is SubjectKind.CUSTOMER else groups)
        assert item.opened_on <= ops.as_of


def test_one_severe_item_at_headquarters(ops: OperationsData) -> None:
    """Exactly one item is severe; it escalated to headquarters and stays open."""
    severe = [i for i in ops.supervision_items if i.severity is Severity.SEVERE]
    assert len(severe) == 1
    item = severe[0]
    assert item.is_open
    assert item.level is Level.HEADQUARTERS
    assert item.source_key is not None
    assert "on_time_delivery_rate" in item.source_key


def test_dispatch_order_to_several_provinces(ops: OperationsData) -> None:
    """One dispatch order opened linked province-level items; one is still open."""
    assert len(ops.dispatch_orders) == 1
    order = ops.dispatch_orders[0]
    assert len(order.provinces) >= 3
    by_id = {i.id: i for i in ops.supervision_items}
    linked = [by_id[i] for i in order.item_ids]
    assert [i.province for i in linked] == list(order.provinces)
    assert all(i.dispatch_id == order.id for i in linked)
    assert all(i.subject_kind is SubjectKind.GROUP for i in linked)
    assert sum(i.is_open for i in linked) == 1
    assert all(i.level >= Level.PROVINCE for i in linked)


def test_first_contact_owns_items_and_some_are_handed_over(ops: OperationsData) -> None:
    """Every item has an owner (first contact); a few were handed over explicitly."""
    received = {r.item_id for r in ops.supervision_history if r.what == "receive"}
    handed = [r for r in ops.supervision_history if r.what == "hand_over"]
    assert received
    assert handed
    for item in ops.supervision_items:
        assert item.owner is not None, item.id
    for row in handed:
        assert row.before is not None
        assert row.after is not None
        assert row.before != row.after


def test_supervision_orders_count_escalations(portfolio: Portfolio, ops: OperationsData) -> None:
    """Every supervision order names a province with enough escalations in its window."""
    policy = ops.escalation_policy
    by_id = {i.id: i for i in ops.supervision_items}
    escalated_on = {
        (r.item_id, r.when)
        for r in ops.supervision_history
        if r.what == "escalate" and r.field == "level"
    }
    for order in ops.supervision_orders:
        assert order.escalations >= policy.order_escalations
        assert all(by_id[i].province == order.province for i in order.item_ids)
        window = order.issued_on - dt.timedelta(days=policy.order_window_days)
        counted = [
            (i, d) for i, d in escalated_on if i in order.item_ids and window < d <= order.issued_on
        ]
        assert counted


def test_small_portfolio_has_every_element(small: Portfolio) -> None:
    """A 300-customer portfolio still has breaches, escalations, a dispatch and a severe item."""
    ops = demo_operations(small, seed=5)
    subjects = SubjectAttributes.from_portfolio(small)
    assert detect_kpi_breaches(ops.kpi_observations, ops.kpi_thresholds, subjects)
    assert _escalations(ops)
    assert ops.dispatch_orders
    assert any(i.severity is Severity.SEVERE for i in ops.supervision_items)


# ---------------------------------------------------------------- lifecycles


def test_lifecycles_one_per_group_at_different_stages(ops: OperationsData) -> None:
    """One lifecycle per group, valid move by move, not all at the same stage."""
    assert [lc.project_id for lc in ops.lifecycles] == list(ops.group_ids)
    positions = set()
    for lc in ops.lifecycles:
        rebuilt = ProjectLifecycle(lc.project_id, lc.moves)  # checks every move again
        assert rebuilt == lc
        assert lc.moves
        assert lc.moves[-1].when <= ops.as_of
        positions.add((lc.stage, lc.loops))
        assert ops.lifecycle(lc.project_id) is lc
    assert len(positions) == len(ops.lifecycles)
    assert any(lc.loops for lc in ops.lifecycles)
    assert {lc.stage for lc in ops.lifecycles} - {Stage.START}


def test_as_of_follows_the_last_kpi_check() -> None:
    """The data is as of four days after the 3rd of the month after the last month."""
    pf = generate(seed=2, customers=400, months=12, end="2021-06")
    ops = demo_operations(pf, seed=2)
    assert np.unique(ops.kpi_observations.period).size == 12
    assert ops.as_of == dt.date(2021, 7, 7)
    check_day = dt.date(2021, 7, 3)
    assert max(i.opened_on for i in ops.supervision_items if i.source_key) == check_day


def test_subject_attributes_in_bulk_equal_the_customers(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """The columnar subject attributes equal those read customer by customer."""
    group_of = {cid: g.id for g in portfolio.project_groups for cid in g.customer_ids}
    expected = {
        c.id: (group_of.get(c.id), c.segment, c.tier, c.province) for c in portfolio.customers()
    }
    subjects = ops.subject_attributes(portfolio)
    assert subjects.customers == expected
    assert subjects.groups == {g.id: g.segment for g in portfolio.project_groups}
