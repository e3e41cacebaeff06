"""Store events: callbacks run once after the commit, with what was committed, never on failure.

Each test runs on SQLite and on a real PostgreSQL server (``store_url`` fixture). A
callback checks that the change is committed by reading it through a second store on
the same database.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa

from keyaccount import Customer, Portfolio, ProjectGroup, RevenueRecord
from keyaccount.domain import Member, TierChange
from keyaccount.exceptions import CsvImportError, StaleChangeError, StoreNotEmptyError
from keyaccount.operations import compute_payouts, default_payout_scheme
from keyaccount.store import (
    ImportCommitted,
    PayoutsRecorded,
    PortfolioSaved,
    Store,
    Subscription,
    SweepRecorded,
    TransitionsApplied,
)
from tests.scripts import expected_lines, python_blocks, run_python

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TEAM = (Member("Li Ming", "PROJECT_MANAGER"), Member("Wang Fang", "ACCOUNT_MANAGER"))


def portfolio() -> Portfolio:
    """Two customers with revenue, one project group with a team."""
    return Portfolio(
        [
            Customer("C1", "某中院", "2021-01", segment="JUDICIAL", province="江苏"),
            Customer("C2", "某金融公司", "2021-01", segment="FINANCE", tier="KEY"),
        ],
        [
            RevenueRecord("C1", "court_express", "2022-05", "880.00", volume=3),
            RevenueRecord("C2", "card_letter", "2022-06", "1200.50", volume=7),
        ],
        project_groups=[
            ProjectGroup("courts", "Courts", "法院项目组", members=TEAM, customer_ids=["C1"])
        ],
    )


PROMOTE = TierChange("C1", "2022-07", before="ACTIVE", after="KEY", rule="promote")


@pytest.fixture
def saved(store_url: str) -> Iterator[Store]:
    """A store holding :func:`portfolio`."""
    with Store(store_url) as store:
        store.save(portfolio())
        yield store


class Recorder:
    """A callback that keeps each event and what a second store sees when it is called."""

    def __init__(self, url: str, look: Callable[[Store], Any] | None = None) -> None:
        self.url = url
        self.look = look
        self.events: list[Any] = []
        self.seen: list[Any] = []

    def __call__(self, event: Any) -> None:
        """Keep ``event`` and what a second store sees now."""
        self.events.append(event)
        if self.look is not None:
            with Store(self.url, create=False) as other:
                self.seen.append(self.look(other))


# ---------------------------------------------------------------- after the commit


def test_transitions_applied_runs_once_after_commit(saved: Store, store_url: str) -> None:
    """The callback gets the recorded changes once, when another connection already sees them."""
    recorder = Recorder(store_url, lambda other: other.customer("C1").tier.name)
    saved.on_transitions_applied(recorder)
    recorded = saved.apply([PROMOTE])
    assert recorder.events == [TransitionsApplied(saved.url, recorded)]
    assert recorder.seen == ["KEY"]
    assert recorder.events[0].changes[0].change == PROMOTE
    assert "password" not in recorder.events[0].store_url


def test_record_change_fires_the_same_event(saved: Store, store_url: str) -> None:
    """``record_change`` is ``apply`` of one change: one event holding that change."""
    recorder = Recorder(store_url)
    saved.on_transitions_applied(recorder)
    recorded = saved.record_change(PROMOTE)
    assert recorder.events == [TransitionsApplied(saved.url, (recorded,))]


def test_import_committed_carries_the_report(store_url: str, tmp_path: Path) -> None:
    """An import's callback gets its report after the rows are committed."""
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "C1,某中院,JUDICIAL,COURT,ACTIVE,,江苏,2021-01\n"
        "C2,某银行,FINANCE,,KEY,,,2021-03\n",
        encoding="utf-8",
    )
    revenue = tmp_path / "revenue.csv"
    revenue.write_text(
        "customer_id,period,product_id,revenue,volume\nC1,2022-05,court_express,880.00,3\n",
        encoding="utf-8",
    )
    with Store(store_url) as store:
        recorder = Recorder(store_url, lambda other: other.counts()["revenue"])
        store.on_import_committed(recorder)
        report = store.import_csv(customers, revenue)
    assert recorder.events == [ImportCommitted(store.url, report)]
    assert (report.customers, report.revenue_rows) == (2, 1)
    assert recorder.seen == [1]


def test_portfolio_saved_counts_what_was_written(store_url: str) -> None:
    """A save's event counts customers, revenue rows, products and groups; replace is reported."""
    pf = portfolio()
    with Store(store_url) as store:
        recorder = Recorder(store_url, lambda other: len(other.customers()))
        store.on_portfolio_saved(recorder)
        store.save(pf)
        store.save(pf, replace=True)
    first = PortfolioSaved(store.url, 2, 2, len(pf.products.products), 1, replaced=False)
    assert recorder.events == [first, attrs.evolve(first, replaced=True)]
    assert recorder.seen == [2, 2]


def test_portfolio_saved_counts_the_history_recorded(store_url: str) -> None:
    """A save with ``history=`` counts the changes it recorded."""
    pf = portfolio()
    pf.apply_changes([PROMOTE])
    events: list[PortfolioSaved] = []
    with Store(store_url) as store:
        store.on_portfolio_saved(events.append)
        store.save(pf, history=[PROMOTE])
        assert len(store.changes()) == 1
    assert [(e.customers, e.changes) for e in events] == [(2, 1)]


def test_operations_events_reach_callbacks_registered_on_store_operations(
    saved: Store, store_url: str
) -> None:
    """Sweeps and payouts registered on one ``store.operations`` fire from another one."""
    sweeps = Recorder(store_url, lambda other: other.operations.item("SV-000001").level.name)
    payouts = Recorder(store_url, lambda other: other.operations.payout_periods())
    saved.operations.on_sweep_recorded(sweeps)
    saved.operations.on_payouts_recorded(payouts)
    ops = saved.operations
    ops.open("late receipts", subject_id="C1", department="SERVICE", responsible_person="Li",
             who="Wang", on="2024-03-01")  # fmt: skip
    report = ops.sweep("2024-03-09", who="sweep")
    again = ops.sweep("2024-03-09", who="sweep")
    scheme = default_payout_scheme()
    run = compute_payouts(scheme, "2022", {"courts": ("11000000.00", "10000000")}, {"courts": TEAM})
    ops.record_payouts(run, scheme=scheme)
    assert sweeps.events == [SweepRecorded(saved.url, report), SweepRecorded(saved.url, again)]
    assert (report.escalated, again.escalated) == (1, 0)
    assert sweeps.seen == ["PROVINCE", "PROVINCE"]
    assert payouts.events == [PayoutsRecorded(saved.url, run)]
    assert payouts.seen == [("2022",)]


# ---------------------------------------------------------------- nothing on failure


def test_a_failed_import_calls_nothing(store_url: str, tmp_path: Path) -> None:
    """An import refused for a bad row commits nothing and calls no callback."""
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "C1,某中院,JUDICIAL,,ACTIVE,,,2021-01\n"
        "C2,某银行,FINANCE,,KEY,,,2021-13\n",
        encoding="utf-8",
    )
    with Store(store_url) as store:
        events: list[object] = []
        store.on_import_committed(events.append)
        with pytest.raises(CsvImportError):
            store.import_csv(customers)
        assert events == []
        assert store.is_empty()


def test_a_refused_save_calls_nothing(saved: Store) -> None:
    """Saving into a store that holds data is refused and calls no callback."""
    events: list[object] = []
    saved.on_portfolio_saved(events.append)
    with pytest.raises(StoreNotEmptyError):
        saved.save(portfolio())
    assert events == []


def test_a_refused_batch_of_changes_calls_nothing(saved: Store) -> None:
    """A batch whose second change is stale rolls back whole; no callback runs."""
    events: list[object] = []
    saved.on_transitions_applied(events.append)
    stale = TierChange("C2", "2022-07", before="ACTIVE", after="STRATEGIC", actor="王经理")
    with pytest.raises(StaleChangeError):
        saved.apply([PROMOTE, stale])
    assert events == []
    assert saved.customer("C1").tier.name == "ACTIVE"


# ---------------------------------------------------------------- failing callbacks


def test_a_raising_callback_leaves_the_change_and_the_other_callbacks(
    saved: Store, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback that raises is logged on keyaccount.events; the change stays, later ones run."""
    calls: list[str] = []

    def broken(event: TransitionsApplied) -> None:
        calls.append("broken")
        raise RuntimeError("the queue is down")

    saved.on_transitions_applied(lambda event: calls.append("first"))
    saved.on_transitions_applied(broken)
    saved.on_transitions_applied(lambda event: calls.append("last"))
    with caplog.at_level(logging.ERROR, logger="keyaccount.events"):
        recorded = saved.apply([PROMOTE])
    assert calls == ["first", "broken", "last"]
    assert len(recorded) == 1
    with Store(store_url, create=False) as other:
        assert other.customer("C1").tier.name == "KEY"
        assert len(other.changes()) == 1
    errors = [r for r in caplog.records if r.name == "keyaccount.events"]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert str(errors[0].exc_info[1]) == "the queue is down"
    assert "TransitionsApplied" in errors[0].getMessage()


# ---------------------------------------------------------------- subscriptions


def test_removed_callbacks_are_not_called(saved: Store) -> None:
    """``remove()`` (or leaving its ``with`` block) unregisters a callback; others stay."""
    kept: list[object] = []
    removed: list[object] = []
    subscription = saved.on_transitions_applied(removed.append)
    saved.on_transitions_applied(kept.append)
    assert isinstance(subscription, Subscription)
    states = [subscription.active]
    subscription.remove()
    subscription.remove()
    states.append(subscription.active)
    assert states == [True, False]
    with saved.on_transitions_applied(removed.append):
        pass
    saved.apply([PROMOTE])
    assert removed == []
    assert len(kept) == 1


def test_registering_from_many_threads_loses_no_callback(saved: Store) -> None:
    """Eight threads registering 50 callbacks each at once: every one is called once."""
    calls: list[int] = []
    lock = threading.Lock()

    def record(n: int) -> Callable[[TransitionsApplied], None]:
        def callback(event: TransitionsApplied) -> None:
            with lock:
                calls.append(n)

        return callback

    def register(worker: int) -> None:
        for i in range(50):
            saved.on_transitions_applied(record(worker * 50 + i))

    threads = [threading.Thread(target=register, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved.apply([PROMOTE])
    assert sorted(calls) == list(range(400))


def test_a_callback_may_unsubscribe_itself(saved: Store) -> None:
    """A callback removing its own subscription runs once; the commit's other callbacks run."""
    calls: list[str] = []
    holder: list[Subscription] = []

    def once(event: TransitionsApplied) -> None:
        calls.append("once")
        holder[0].remove()

    holder.append(saved.on_transitions_applied(once))
    saved.on_transitions_applied(lambda event: calls.append("always"))
    saved.apply([PROMOTE])
    saved.apply([TierChange("C1", "2022-08", before="KEY", after="STRATEGIC", rule="top")])
    assert calls == ["once", "always", "always"]


def test_callbacks_belong_to_their_store(saved: Store, store_url: str) -> None:
    """A second Store on the same database has its own callbacks."""
    events: list[object] = []
    saved.on_transitions_applied(events.append)
    with Store(store_url, create=False) as other:
        other.apply([PROMOTE])
    assert events == []


def test_registering_a_non_callable_is_refused(saved: Store) -> None:
    """A callback that cannot be called is a TypeError at registration, not at commit."""
    with pytest.raises(TypeError, match="callable"):
        saved.on_transitions_applied("print")  # type: ignore[arg-type]


def test_events_are_frozen_values(saved: Store) -> None:
    """Events are frozen attrs values: a callback cannot change what the next one sees."""
    events: list[TransitionsApplied] = []
    saved.on_transitions_applied(events.append)
    saved.apply([PROMOTE])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].changes = ()  # type: ignore[misc]


# ---------------------------------------------------------------- in the caller's transaction


@pytest.fixture
def caller_engine(store_url: str) -> Iterator[sa.Engine]:
    """The caller's own engine on a database holding :func:`portfolio`."""
    with Store(store_url) as setup:
        setup.save(portfolio())
    engine = sa.create_engine(store_url)
    yield engine
    engine.dispose()


def test_in_a_callers_connection_callbacks_wait_for_its_commit(caller_engine: sa.Engine) -> None:
    """``Store(connection)``: nothing is called until the caller's transaction commits."""
    applied: list[TransitionsApplied] = []
    sweeps: list[SweepRecorded] = []
    with caller_engine.begin() as conn:
        store = Store(conn)
        store.on_transitions_applied(applied.append)
        store.operations.on_sweep_recorded(sweeps.append)
        recorded = store.apply([PROMOTE])
        store.operations.sweep("2024-03-09", who="sweep")
        assert (applied, sweeps) == ([], [])
    assert applied == [TransitionsApplied(store.url, recorded)]
    assert len(sweeps) == 1


def test_in_a_callers_connection_a_rollback_calls_nothing(
    caller_engine: sa.Engine, tmp_path: Path
) -> None:
    """A caller's transaction rolled back after the store's writes calls no callback."""
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "C9,某法院,JUDICIAL,,ACTIVE,,,2021-01\n",
        encoding="utf-8",
    )
    events: list[object] = []

    def write_then_fail() -> None:
        with caller_engine.begin() as conn:
            store = Store(conn)
            store.on_transitions_applied(events.append)
            store.on_import_committed(events.append)
            store.apply([PROMOTE])
            store.import_csv(customers)
            raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError, match="the caller changed its mind"):
        write_then_fail()
    assert events == []
    with Store.open(caller_engine) as after:
        assert after.customer("C1").tier.name == "ACTIVE"
        assert after.counts()["customers"] == 2


# ---------------------------------------------------------------- the documentation

DOC = Path(__file__).resolve().parents[2] / "docs" / "events-and-logging.md"
ON_STDERR = re.compile(r"#\s*\(stderr\)\s*(.+?)\s*$")


def _matches(pattern: str, text: str) -> bool:
    """Whether ``text`` is ``pattern`` with each ``...`` standing for any text.

    Runs of white space (line breaks too) compare as one space.
    """
    parts = (re.escape(p) for p in pattern.split("..."))
    return re.fullmatch(".*".join(parts), " ".join(text.split()), re.S) is not None


def test_events_page_examples_run_and_print_what_they_say(tmp_path: Path) -> None:
    """The Python blocks of the page, run in order, print their `# ->` lines and log to stderr."""
    code = python_blocks(DOC)
    expected = expected_lines(code)
    on_stderr = [m.group(1) for line in code.splitlines() if (m := ON_STDERR.search(line))]
    assert len(expected) >= 7
    assert len(on_stderr) >= 2
    proc = run_python(cwd=tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    assert len(printed) == len(expected)
    for want, got in zip(expected, printed, strict=True):
        assert _matches(want, got), (want, got)
    assert _matches("..." + "...".join(on_stderr) + "...", proc.stderr), proc.stderr


def test_events_page_is_linked_from_the_index() -> None:
    """docs/index.md links the page, and the page's relative links resolve."""
    assert "(events-and-logging.md)" in (DOC.parent / "index.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?:)([^)#]+)\)", DOC.read_text(encoding="utf-8"))
    assert [t for t in targets if not (DOC.parent / t).exists()] == []
