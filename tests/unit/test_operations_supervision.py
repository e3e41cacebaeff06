"""The supervision list (督办清单): first contact, close-out, escalation, orders, reports."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Department, ItemStatus, Level, Severity
from keyaccount.exceptions import (
    IllegalMoveError,
    UnknownCustomerError,
    UnknownItemError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.operations import (
    EscalationPolicy,
    SubjectKind,
    SupervisionItem,
    SupervisionList,
    SweepColumns,
    plan_sweep,
    reference_sweep_item,
)

D0 = dt.date(2024, 3, 1)


def day(n: int) -> dt.date:
    """The day ``n`` days after D0."""
    return D0 + dt.timedelta(days=n)


def _open(sl: SupervisionList, **kwargs: object) -> SupervisionItem:
    args: dict[str, object] = {
        "subject_id": "C1",
        "department": Department.SERVICE,
        "responsible_person": "Li",
        "province": "广东",
        "who": "Wang",
        "on": D0,
    }
    args.update(kwargs)
    return sl.open("late receipts", **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "module",
    [
        "keyaccount.operations._supervision",
        "keyaccount.operations._supervision_items",
        "keyaccount.operations._supervision_sweep",
        "keyaccount.operations._supervision_reports",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    """The examples in the supervision modules' docstrings run and give what they show."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# -- opening and first contact ---------------------------------------------------------------


def test_whoever_opens_an_item_owns_it_and_it_is_due_after_its_levels_days() -> None:
    """The opener is the first contact; the default due day is opened + days(level)."""
    sl = SupervisionList(policy=EscalationPolicy(days_per_level={"CITY": 3}))
    item = _open(sl)
    assert item.owner == "Wang"
    assert item.level is Level.CITY
    assert item.status is ItemStatus.OPEN
    assert item.due_on == D0 + dt.timedelta(days=3)
    (row,) = sl.history
    assert (row.item_id, row.who, row.when, row.what, row.before, row.after) == (
        item.id,
        "Wang",
        D0,
        "open",
        None,
        "CITY",
    )


def test_an_item_for_an_unknown_customer_or_group_is_refused_with_nothing_written() -> None:
    """A list given the portfolio's ids refuses other subjects and writes nothing."""
    sl = SupervisionList(customer_ids={"C1"}, group_ids={"courts"})
    with pytest.raises(UnknownCustomerError, match="C2"):
        _open(sl, subject_id="C2")
    with pytest.raises(UnknownProjectGroupError, match="banks"):
        _open(sl, subject_id="banks", subject_kind=SubjectKind.GROUP)
    assert len(sl) == 0
    assert sl.history == ()
    assert _open(sl, subject_id="courts", subject_kind="GROUP").subject_kind is SubjectKind.GROUP


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due_on", dt.date(2024, 2, 28)),
        ("on", dt.datetime(2024, 3, 1, 9, 0)),
        ("responsible_person", " "),
        ("department", "LEGAL"),
        ("who", ""),
    ],
)
def test_a_bad_item_is_refused_with_nothing_written(field: str, value: object) -> None:
    """A due day before opening, a moment instead of a day, blanks and unknown labels."""
    sl = SupervisionList()
    with pytest.raises((ValidationError, LookupError)):
        _open(sl, **{field: value})
    assert len(sl) == 0
    assert sl.history == ()


def test_opening_with_a_source_key_is_idempotent() -> None:
    """A second open with the same source key returns the first item and writes nothing."""
    sl = SupervisionList()
    first = _open(sl, source_key="kpi-breach:x")
    rows = sl.history
    assert _open(sl, source_key="kpi-breach:x", who="Zhao") == first
    assert sl.history == rows
    assert sl.by_source("kpi-breach:x") == first


def test_first_contact_owns_an_item_until_an_explicit_hand_over() -> None:
    """The first to receive an unowned item owns it; later receivers change nothing."""
    sl = SupervisionList()
    item = _open(sl, received=False)
    assert item.owner is None
    with pytest.raises(ValidationError, match="no owner"):
        sl.hand_over(item.id, "Zhao", who="Wang", on=D0)
    assert sl.receive(item.id, who="Zhao", on=day(1)).owner == "Zhao"
    assert sl.receive(item.id, who="Qian", on=day(1)).owner == "Zhao"
    with pytest.raises(ValidationError, match="only the owner"):
        sl.hand_over(item.id, "Qian", who="Qian", on=day(2))
    assert sl.item(item.id).owner == "Zhao"
    assert sl.hand_over(item.id, "Qian", who="Zhao", on=day(2)).owner == "Qian"
    owners = [(r.what, r.before, r.after) for r in sl.history_of(item.id) if r.field == "owner"]
    assert owners == [("receive", None, "Zhao"), ("hand_over", "Zhao", "Qian")]


def test_an_unknown_item_is_refused() -> None:
    """Acting on an id the list does not hold raises UnknownItemError."""
    sl = SupervisionList()
    with pytest.raises(UnknownItemError, match="SV-9"):
        sl.close_out("SV-9", "done", who="Li", on=D0)


# -- close-out -------------------------------------------------------------------------------


def test_close_out_records_the_resolution_and_cannot_be_repeated() -> None:
    """销号 records the resolution and day; closing a closed item names both states."""
    sl = SupervisionList()
    item = _open(sl)
    closed = sl.close_out(item.id, "route changed", who="Li", on=day(2))
    assert (closed.status, closed.resolution, closed.closed_on) == (
        ItemStatus.CLOSED,
        "route changed",
        day(2),
    )
    rows = sl.history
    with pytest.raises(IllegalMoveError) as info:
        sl.close_out(item.id, "again", who="Li", on=day(3))
    assert (info.value.current, info.value.requested) == ("CLOSED", "CLOSED")
    assert "CLOSED" in str(info.value)
    assert sl.history == rows
    assert sl.item(item.id).resolution == "route changed"


def test_a_closed_item_cannot_change_and_an_open_one_needs_a_resolution() -> None:
    """Hand-over or severity of a closed item, or a blank resolution, is refused."""
    sl = SupervisionList()
    item = _open(sl)
    with pytest.raises(ValidationError, match="resolution"):
        sl.close_out(item.id, "  ", who="Li", on=day(1))
    with pytest.raises(ValidationError, match="before it was opened"):
        sl.close_out(item.id, "done", who="Li", on=day(-1))
    assert sl.item(item.id).is_open
    sl.close_out(item.id, "done", who="Li", on=day(1))
    rows = sl.history
    with pytest.raises(ValidationError, match="closed"):
        sl.hand_over(item.id, "Zhao", who="Wang", on=day(2))
    with pytest.raises(ValidationError, match="closed"):
        sl.set_severity(item.id, "SEVERE", who="Wang", on=day(2))
    assert sl.history == rows


# -- the sweep -------------------------------------------------------------------------------


def test_an_overdue_item_escalates_one_level_with_a_new_due_day() -> None:
    """Due before the sweep day: up one level, due sweep day + days(new level)."""
    sl = SupervisionList(policy=EscalationPolicy(days_per_level={"CITY": 2, "PROVINCE": 4}))
    item = _open(sl)
    assert sl.sweep(day(2), who="sweep").escalated == ()  # due on day 2: not yet overdue
    result = sl.sweep(day(3), who="sweep")
    assert result.escalated == (item.id,)
    now = sl.item(item.id)
    assert now.level is Level.PROVINCE
    assert now.due_on == day(3) + dt.timedelta(days=4)
    assert [(r.field, r.before, r.after) for r in result.rows] == [
        ("level", "CITY", "PROVINCE"),
        ("due_on", day(2).isoformat(), (day(3) + dt.timedelta(days=4)).isoformat()),
    ]


def test_a_severe_item_escalates_once_per_sweep_day_up_to_headquarters_and_is_flagged() -> None:
    """Severe: one level per sweep day; a second sweep of a day does nothing; HQ is flagged."""
    sl = SupervisionList()
    item = _open(sl, severity="SEVERE")
    steps = []
    for n in (0, 0, 1, 2, 3):
        result = sl.sweep(day(n), who="sweep")
        now = sl.item(item.id)
        steps.append((now.level, now.flagged, len(result.rows)))
    assert steps == [
        (Level.PROVINCE, False, 2),
        (Level.PROVINCE, False, 0),
        (Level.HEADQUARTERS, False, 2),
        (Level.HEADQUARTERS, True, 1),
        (Level.HEADQUARTERS, True, 0),
    ]


def test_marking_an_item_severe_makes_the_next_sweep_escalate_it() -> None:
    """An item marked severe escalates on the next sweep although it is not due."""
    sl = SupervisionList()
    item = _open(sl)
    assert sl.sweep(day(1), who="sweep").escalated == ()
    sl.set_severity(item.id, Severity.SEVERE, who="Wang", on=day(1))
    assert sl.sweep(day(2), who="sweep").escalated == (item.id,)


def test_closed_items_and_items_opened_after_the_sweep_day_are_left_alone() -> None:
    """The sweep considers only items open and opened on or before its day."""
    sl = SupervisionList()
    closed = _open(sl, severity="SEVERE")
    sl.close_out(closed.id, "done", who="Li", on=D0)
    later = _open(sl, severity="SEVERE", on=day(5))
    assert sl.sweep(day(4), who="sweep").rows == ()
    assert sl.item(later.id).level is Level.CITY
    assert sl.item(closed.id).level is Level.CITY


def test_the_sweep_of_an_earlier_day_does_not_undo_or_repeat_a_later_one() -> None:
    """After sweeping day 10, sweeping day 9 changes nothing for the items swept on day 10."""
    sl = SupervisionList()
    item = _open(sl, severity="SEVERE")
    sl.sweep(day(10), who="sweep")
    assert sl.sweep(day(9), who="sweep").rows == ()
    assert sl.item(item.id).level is Level.PROVINCE


@st.composite
def items(draw: st.DrawFn, index: int) -> SupervisionItem:
    """A random item: any level, severity and state, days in a 30-day window."""
    opened = draw(st.integers(0, 20))
    level = draw(st.sampled_from(list(Level)))
    closed = draw(st.booleans())
    escalated = draw(st.none() | st.integers(opened, 30))
    return SupervisionItem(
        f"SV-{index}",
        "problem",
        "CUSTOMER",
        "C1",
        draw(st.sampled_from(list(Department))),
        "Li",
        level,
        draw(st.sampled_from([None, "广东", "江苏"])),
        draw(st.sampled_from(list(Severity))),
        day(opened),
        day(opened + draw(st.integers(0, 10))),
        status=ItemStatus.CLOSED if closed else ItemStatus.OPEN,
        resolution="done" if closed else None,
        closed_on=day(opened + 1) if closed else None,
        escalated_on=None if escalated is None else day(escalated),
        flagged=level is Level.HEADQUARTERS and draw(st.booleans()),
    )


@st.composite
def item_sets(draw: st.DrawFn) -> list[SupervisionItem]:
    """Up to 30 random items with distinct ids."""
    n = draw(st.integers(0, 30))
    return [draw(items(i)) for i in range(n)]


def _list_of(rows: list[SupervisionItem], policy: EscalationPolicy) -> SupervisionList:
    """A list holding ``rows`` in the states drawn (as if read back from a store)."""
    return SupervisionList.from_records(rows, policy=policy)


POLICIES = st.builds(
    EscalationPolicy,
    days_per_level=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)),
)


@given(item_sets(), st.integers(0, 35), POLICIES)
def test_bulk_sweep_equals_the_item_by_item_reference(
    rows: list[SupervisionItem], n: int, policy: EscalationPolicy
) -> None:
    """The numpy sweep plan changes exactly what the per-item loop changes, the same way."""
    plan = plan_sweep(SweepColumns.from_items(rows), day(n), policy)
    for i, item in enumerate(rows):
        expected = reference_sweep_item(item, day(n), policy)
        assert bool(plan.changed[i]) == (expected is not item)
        assert int(plan.level[i]) == expected.level.rank
        assert dt.date.fromordinal(int(plan.due_on[i])) == expected.due_on
        assert bool(plan.flag[i]) == (expected.flagged and not item.flagged)
    bulk, ref = _list_of(rows, policy), _list_of(rows, policy)
    assert bulk.sweep(day(n), who="s") == ref.sweep(day(n), who="s", engine="reference")
    assert bulk.items == ref.items
    assert bulk.history == ref.history


@given(item_sets(), st.integers(0, 35))
def test_the_sweep_is_idempotent_per_day(rows: list[SupervisionItem], n: int) -> None:
    """Sweeping the same day twice changes nothing the second time."""
    sl = _list_of(rows, EscalationPolicy())
    sl.sweep(day(n), who="s")
    items_after, history_after = sl.items, sl.history
    second = sl.sweep(day(n), who="s")
    assert second.rows == ()
    assert sl.items == items_after
    assert sl.history == history_after


@given(item_sets(), st.lists(st.integers(0, 40), max_size=8))
def test_levels_never_go_down_nor_past_headquarters_and_history_is_only_appended(
    rows: list[SupervisionItem], days: list[int]
) -> None:
    """Over any sequence of sweeps, each item's level only rises and rows are only appended."""
    sl = _list_of(rows, EscalationPolicy())
    for n in days:
        before_items = {i.id: i for i in sl.items}
        before_history = sl.history
        sl.sweep(day(n), who="s")
        assert sl.history[: len(before_history)] == before_history
        for item in sl.items:
            old = before_items[item.id]
            assert old.level <= item.level <= Level.HEADQUARTERS
            assert item.level.rank - old.level.rank <= 1
            if item.level is not old.level:
                assert old.is_open


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["open", "receive", "hand_over", "severe", "close", "sweep"]),
            st.integers(0, 5),
            st.integers(0, 20),
        ),
        max_size=30,
    )
)
def test_history_rows_are_only_appended_and_refused_actions_write_nothing(
    actions: list[tuple[str, int, int]],
) -> None:
    """Whatever the operations, each leaves the earlier rows as they were; refusals none."""
    sl = SupervisionList(customer_ids={"C1"})
    people = ["Wang", "Zhao", "Qian"]
    for action, k, n in actions:
        before = sl.history
        ids = [i.id for i in sl.items]
        target = ids[k % len(ids)] if ids else "SV-000001"
        try:
            if action == "open":
                _open(sl, on=day(n), received=k % 2 == 0, severity="SEVERE" if k == 5 else "NORMAL")
            elif action == "receive":
                sl.receive(target, who=people[k % 3], on=day(n))
            elif action == "hand_over":
                sl.hand_over(target, people[(k + 1) % 3], who=people[k % 3], on=day(n))
            elif action == "severe":
                sl.set_severity(target, "SEVERE", who="Wang", on=day(n))
            elif action == "close":
                sl.close_out(target, "done", who="Li", on=day(n))
            else:
                sl.sweep(day(n), who="sweep")
        except (ValidationError, IllegalMoveError, UnknownItemError):
            assert sl.history == before
        assert sl.history[: len(before)] == before
        assert [r.seq for r in sl.history] == list(range(1, len(sl.history) + 1))


# -- dispatch and supervision orders ---------------------------------------------------------


def test_a_dispatch_order_opens_linked_items_in_every_province() -> None:
    """指挥调度令: one province-level item per province, unowned, linked to the order."""
    sl = SupervisionList(customer_ids={"C1"})
    order = sl.dispatch(
        "court mail backlog",
        provinces={"广东": "Li", "江苏": "Zhou", "浙江": "Wu"},
        subject_id="C1",
        department="OPERATIONS",
        who="HQ command centre",
        on=D0,
    )
    assert order.provinces == ("广东", "江苏", "浙江")
    linked = [sl.item(i) for i in order.item_ids]
    assert [i.province for i in linked] == ["广东", "江苏", "浙江"]
    assert [i.responsible_person for i in linked] == ["Li", "Zhou", "Wu"]
    assert {(i.level, i.owner, i.dispatch_id) for i in linked} == {(Level.PROVINCE, None, order.id)}
    assert sl.dispatch_orders == (order,)


@pytest.mark.parametrize(
    ("provinces", "subject"),
    [({"广东": "Li", "江苏": " "}, "C1"), ({"广东": "Li"}, "C2"), ({}, "C1")],
)
def test_a_dispatch_order_opens_all_or_none(provinces: dict[str, str], subject: str) -> None:
    """A blank person, an unknown subject or no province: nothing is opened or issued."""
    sl = SupervisionList(customer_ids={"C1"})
    with pytest.raises((ValidationError, UnknownCustomerError)):
        sl.dispatch(
            "backlog", provinces=provinces, subject_id=subject, department="IT", who="HQ", on=D0
        )
    assert len(sl) == 0
    assert sl.history == ()
    assert sl.dispatch_orders == ()


def _escalate_in(sl: SupervisionList, province: str | None, count: int, on: dt.date) -> None:
    """Open ``count`` items in ``province`` overdue on ``on`` and sweep them up once then."""
    for _ in range(count):
        _open(
            sl,
            province=province,
            on=on - dt.timedelta(days=2),
            due_on=on - dt.timedelta(days=1),
        )
    sl.sweep(on, who="sweep")


def test_a_province_whose_items_keep_escalating_gets_one_supervision_order() -> None:
    """工作督办单: N escalations in the window qualify a province; asking again issues none."""
    policy = EscalationPolicy(order_escalations=3, order_window_days=10)
    sl = SupervisionList(policy=policy)
    _escalate_in(sl, "广东", 3, day(0))
    _escalate_in(sl, "江苏", 2, day(0))
    _escalate_in(sl, None, 5, day(0))
    orders = sl.issue_supervision_orders(day(1), who="HQ")
    assert [(o.province, o.escalations, len(o.item_ids)) for o in orders] == [("广东", 3, 3)]
    assert sl.issue_supervision_orders(day(1), who="HQ") == ()
    assert sl.issue_supervision_orders(day(2), who="HQ") == ()
    _escalate_in(sl, "广东", 3, day(3))
    assert [o.province for o in sl.issue_supervision_orders(day(3), who="HQ")] == ["广东"]


def test_escalations_outside_the_window_do_not_count() -> None:
    """Only escalations on the days (day - window, day] count towards a supervision order."""
    sl = SupervisionList(policy=EscalationPolicy(order_escalations=2, order_window_days=5))
    _escalate_in(sl, "广东", 1, day(0))
    _escalate_in(sl, "广东", 1, day(4))
    assert list(sl.supervision_order_candidates(day(4))) == ["广东"]
    assert sl.supervision_order_candidates(day(5)) == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days_per_level": {"CITY": 0}},
        {"days_per_level": {"TOWN": 3}},
        {"order_escalations": 0},
        {"order_window_days": True},
    ],
)
def test_a_bad_escalation_policy_is_refused(kwargs: dict[str, object]) -> None:
    """Days per level are whole days >= 1 for known levels; order thresholds >= 1."""
    with pytest.raises(ValidationError):
        EscalationPolicy(**kwargs)  # type: ignore[arg-type]


# -- meeting reports (两会一单) ---------------------------------------------------------------


def _scenario() -> SupervisionList:
    """Four items in March 2024 with a known story (see the test below)."""
    sl = SupervisionList(policy=EscalationPolicy(days_per_level={"CITY": 2, "PROVINCE": 2}))
    a = _open(sl, on=day(0), department="SERVICE", province="广东")  # due day 2
    _open(sl, on=day(1), department="IT", province="江苏")  # due day 3
    c = _open(sl, on=day(1), department="SERVICE", province="广东", level="PROVINCE")
    _open(sl, on=day(10), department="MARKET", province=None)
    sl.close_out(c.id, "done", who="Li", on=day(2))
    sl.sweep(day(3), who="sweep")  # a overdue -> PROVINCE, due day 5
    sl.sweep(day(4), who="sweep")  # b (due day 3) overdue -> PROVINCE, due day 6
    sl.close_out(a.id, "done", who="Li", on=day(8))
    return sl


def test_a_weekly_report_counts_opened_closed_overdue_and_escalated() -> None:
    """Days 0..6: 3 opened, 1 closed, 2 escalated; at the end b is overdue, a is not yet."""
    sl = _scenario()
    report = sl.meeting_report(day(0), day(6), by="level")
    total = report.total
    assert (total.opened, total.closed, total.escalated) == (3, 1, 2)
    # a is due day 5 at the end of day 6: overdue; b is due day 6: not yet.
    assert total.overdue == 1
    assert report.row("CITY").opened == 2
    assert report.row("PROVINCE").opened == 1
    assert report.row("PROVINCE").escalated == 2
    assert report.row("PROVINCE").closed == 1
    assert report.row("HEADQUARTERS").opened == 0
    by_department = sl.meeting_report(day(0), day(6), by="department")
    assert (by_department.row("SERVICE").opened, by_department.row("IT").escalated) == (2, 1)
    by_province = sl.meeting_report(day(0), day(6), by="province")
    assert by_province.row("广东").closed == 1
    assert [r.key for r in by_province.rows] == ["广东", "江苏"]


def test_report_totals_do_not_depend_on_the_dimension() -> None:
    """By level, by department and by province the totals are the same."""
    sl = _scenario()
    for start, end in [(day(0), day(6)), (day(0), day(30)), (day(7), day(12))]:
        totals = {
            by: sl.meeting_report(start, end, by=by).total
            for by in ("level", "department", "province")
        }
        assert len(set(totals.values())) == 1


def test_weekly_and_monthly_reports_cover_the_week_and_the_month() -> None:
    """The weekly report runs Monday to Sunday; the monthly one the calendar month."""
    sl = _scenario()
    week = sl.weekly_report(day(2))  # 2024-03-03 is a Sunday
    assert (week.start, week.end) == (dt.date(2024, 2, 26), dt.date(2024, 3, 3))
    assert sl.weekly_report(day(3)).start == dt.date(2024, 3, 4)
    month = sl.monthly_report("2024-03")
    assert (month.start, month.end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert month.total.opened == len(sl)
    with pytest.raises(ValidationError, match="before it starts"):
        sl.meeting_report(day(5), day(4))
    with pytest.raises(ValidationError, match="colour"):
        sl.meeting_report(day(0), day(4), by="colour")


def test_a_list_read_back_from_records_behaves_as_the_original() -> None:
    """Items, history and orders restored with from_records give the same list and sweeps."""
    sl = _scenario()
    sl.dispatch(
        "backlog", provinces={"广东": "Li"}, subject_id="C1", department="IT", who="HQ", on=day(11)
    )
    copy = SupervisionList.from_records(
        sl.items, sl.history, dispatch_orders=sl.dispatch_orders, policy=sl.policy
    )
    assert (copy.items, copy.history, copy.dispatch_orders) == (
        sl.items,
        sl.history,
        sl.dispatch_orders,
    )
    assert copy.sweep(day(20), who="s") == sl.sweep(day(20), who="s")
    with pytest.raises(ValidationError, match="out of order"):
        SupervisionList.from_records(sl.items, sl.history[1:])
    with pytest.raises(ValidationError, match="two supervision items"):
        SupervisionList.from_records([*sl.items, sl.items[0]])
