"""The escalation sweep in SQL: the in-memory reference is the oracle; idempotent; concurrent.

The store runs the sweep as one statement set (``keyaccount.store._operations_sweep``);
``SupervisionList.sweep(engine="reference")`` is the item-by-item specification. A
Hypothesis property holds the store's items and history after a sweep equal to the
in-memory list's on generated item sets, days and policies, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, ProjectGroup
from keyaccount.domain import Department, ItemStatus, Level, Severity
from keyaccount.exceptions import ValidationError
from keyaccount.operations import EscalationPolicy, SupervisionItem, SupervisionList
from keyaccount.store import Store, SweepReport

if TYPE_CHECKING:
    from keyaccount.store import OperationsStore

START = dt.date(2024, 3, 1)
SUBJECTS = ("C1", "C2", "C3")


def portfolio() -> Portfolio:
    """Three customers and one group: the subjects of the generated items."""
    return Portfolio(
        [Customer(c, f"客户{c}", "2021-01") for c in SUBJECTS],
        project_groups=[ProjectGroup("courts", "Courts", "法院项目组", customer_ids=["C1"])],
    )


def clear(store: Store) -> None:
    """Remove the supervision list from ``store`` (a module-scoped store between examples)."""
    with store.engine.begin() as conn:
        for table in (
            "ka_supervision_order_item",
            "ka_supervision_order",
            "ka_item_history",
            "ka_supervision_item",
            "ka_dispatch_order",
        ):
            conn.exec_driver_sql(f"DELETE FROM {table}")


@st.composite
def items(draw: st.DrawFn) -> SupervisionItem:
    """An item in any state the list can hold: open or closed, any level, maybe flagged."""
    opened = START + dt.timedelta(days=draw(st.integers(0, 20)))
    due = opened + dt.timedelta(days=draw(st.integers(0, 20)))
    level = draw(st.sampled_from(list(Level)))
    closed = draw(st.booleans()) and draw(st.booleans())
    escalated = draw(st.none() | st.integers(0, 30).map(lambda d: opened + dt.timedelta(days=d)))
    group = draw(st.booleans()) and draw(st.booleans())
    return SupervisionItem(
        f"I{draw(st.integers(0, 10**6))}",
        "late receipts",
        "GROUP" if group else "CUSTOMER",
        "courts" if group else draw(st.sampled_from(SUBJECTS)),
        draw(st.sampled_from(list(Department))),
        "Li",
        level,
        draw(st.none() | st.sampled_from(["广东", "江苏"])),
        draw(st.sampled_from(list(Severity))),
        opened,
        due,
        status=ItemStatus.CLOSED if closed else ItemStatus.OPEN,
        resolution="done" if closed else None,
        closed_on=due if closed else None,
        escalated_on=escalated,
        flagged=level is Level.HEADQUARTERS and draw(st.booleans()),
    )


item_lists = st.lists(items(), max_size=25, unique_by=lambda i: i.id)
days = st.integers(0, 50).map(lambda d: START + dt.timedelta(days=d))
policies = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)).map(
    lambda t: EscalationPolicy(days_per_level=t)
)


def stored(
    store: Store, given_items: list[SupervisionItem], policy: EscalationPolicy
) -> OperationsStore:
    """``store`` holding exactly ``given_items`` (no history), with ``policy``."""
    if store.is_empty():
        store.save(portfolio())
    clear(store)
    ops = store.operations.with_policy(policy)
    ops.save_supervision(SupervisionList.from_records(given_items, policy=policy))
    return ops


@given(given_items=item_lists, sweep_days=st.lists(days, min_size=1, max_size=3), policy=policies)
def test_the_sql_sweep_equals_the_reference(
    sql_store: Store,
    given_items: list[SupervisionItem],
    sweep_days: list[dt.date],
    policy: EscalationPolicy,
) -> None:
    """After each sweep the stored items and history equal the in-memory reference's."""
    ops = stored(sql_store, given_items, policy)
    memory = SupervisionList.from_records(given_items, policy=policy)
    for day in sweep_days:
        result = memory.sweep(day, who="sweep", engine="reference")
        report = ops.sweep(day, who="sweep")
        assert (report.escalated, report.flagged) == (len(result.escalated), len(result.flagged))
        assert report.rows == len(result.rows)
        if result.rows:
            assert report.first_seq == result.rows[0].seq
        back = ops.supervision()
        assert back.items == memory.items
        assert back.history == memory.history


@given(given_items=item_lists, day=days, policy=policies)
def test_a_second_sweep_of_the_same_day_changes_nothing(
    sql_store: Store, given_items: list[SupervisionItem], day: dt.date, policy: EscalationPolicy
) -> None:
    """Sweeping a day twice: the second sweep escalates, flags and writes nothing."""
    ops = stored(sql_store, given_items, policy)
    ops.sweep(day, who="sweep")
    after = (ops.items(), ops.history())
    again = ops.sweep(day, who="sweep")
    assert again == SweepReport(day, "sweep", 0, 0, None)
    assert (ops.items(), ops.history()) == after


@pytest.fixture
def fresh(store: Store) -> OperationsStore:
    """The operations of a fresh store holding :func:`portfolio` (days: city 2, province 4)."""
    store.save(portfolio())
    return store.operations.with_policy(EscalationPolicy(days_per_level={"CITY": 2, "PROVINCE": 4}))


def test_overdue_items_escalate_a_day_after_their_due_day(fresh: OperationsStore) -> None:
    """Due 2024-03-03: the sweep of the 3rd leaves it, the 4th moves it to province due the 8th."""
    item = fresh.open(
        "x", subject_id="C1", department="IT", responsible_person="A", who="A", on="2024-03-01"
    )
    assert item.due_on == dt.date(2024, 3, 3)
    assert fresh.sweep("2024-03-03", who="sweep").escalated == 0
    assert fresh.sweep("2024-03-04", who="sweep").escalated == 1
    moved = fresh.item(item.id)
    assert (moved.level, moved.due_on, moved.escalated_on) == (
        Level.PROVINCE,
        dt.date(2024, 3, 8),
        dt.date(2024, 3, 4),
    )


def test_a_severe_item_escalates_every_sweep_day_then_is_flagged_once(
    fresh: OperationsStore,
) -> None:
    """Severe: province, headquarters, flagged, then left alone; closed items never move."""
    severe = fresh.open(
        "s",
        subject_id="C2",
        department="IT",
        responsible_person="A",
        who="A",
        on="2024-03-01",
        severity="SEVERE",
    )
    closed = fresh.open(
        "c",
        subject_id="C2",
        department="IT",
        responsible_person="A",
        who="A",
        on="2024-03-01",
        severity="SEVERE",
    )
    fresh.close_out(closed.id, "done", who="A", on="2024-03-01")
    reports = [fresh.sweep(f"2024-03-0{d}", who="sweep") for d in (1, 2, 3, 4)]
    assert [(r.escalated, r.flagged) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    final = fresh.item(severe.id)
    assert (final.level, final.flagged, final.escalated_on) == (
        Level.HEADQUARTERS,
        True,
        dt.date(2024, 3, 3),
    )
    assert fresh.item(closed.id).level is Level.CITY
    assert [r.what for r in fresh.history(severe.id)] == [
        "open",
        "escalate",
        "escalate",
        "escalate",
        "escalate",
        "flag",
    ]


def test_a_sweep_needs_a_day_and_a_name(fresh: OperationsStore) -> None:
    """A datetime or a blank sweeper is refused before anything is written."""
    with pytest.raises(ValidationError, match="a day"):
        fresh.sweep(dt.datetime(2024, 3, 1, 9, 0), who="sweep")
    with pytest.raises(ValidationError, match="'who'"):
        fresh.sweep("2024-03-01", who=" ")


def sweep_together(url: str, day: str) -> list[SweepReport]:
    """Two threads, each with its own store and connection, sweep ``day`` at the same moment."""
    barrier = threading.Barrier(2)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Store(url) as mine:
                ops = mine.operations
                barrier.wait()
                reports.append(ops.sweep(day, who=threading.current_thread().name))
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, name=f"worker-{k}") for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return reports


def test_two_workers_sweeping_at_once_escalate_each_item_once(store_url: str) -> None:
    """Two stores (two connections) sweep the same day together: every item moves exactly once."""
    n = 400
    with Store(store_url) as store:
        store.save(portfolio())
        memory = SupervisionList.from_records(
            [
                SupervisionItem(
                    f"I{i:04d}",
                    "x",
                    "CUSTOMER",
                    SUBJECTS[i % 3],
                    "IT",
                    "A",
                    (Level.CITY, Level.PROVINCE)[i % 2],
                    None,
                    "NORMAL",
                    START,
                    START,
                )
                for i in range(n)
            ]
        )
        store.operations.save_supervision(memory)
    for day in ("2024-03-02", "2024-03-12"):
        reports = sweep_together(store_url, day)
        assert min(r.escalated + r.flagged for r in reports) == 0  # the second found it done
        memory.sweep(day, who="sweep", engine="reference")
    with Store(store_url) as store:
        back = store.operations.supervision()
        assert [i.level for i in back.items] == [i.level for i in memory.items]
        assert [i.flagged for i in back.items] == [i.flagged for i in memory.items]
        assert [r.seq for r in back.history] == list(range(1, len(memory.history) + 1))
        assert [(r.item_id, r.field, r.before, r.after) for r in back.history] == [
            (r.item_id, r.field, r.before, r.after) for r in memory.history
        ]
        with store.engine.connect() as conn:
            moved = conn.execute(
                sa.text("SELECT COUNT(*) FROM ka_item_history WHERE what = 'escalate'")
            ).scalar_one()
    assert moved == 2 * (n + n // 2)  # day 1: every item once; day 2: the city ones again
