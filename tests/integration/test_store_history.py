"""Tier and segment history: atomic changes, as-of queries, crashes, concurrent writers."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from keyaccount import Customer, Portfolio, RevenueRecord, Segment, SubSegment, Tier
from keyaccount.domain import Change, SegmentChange, TierChange
from keyaccount.exceptions import StaleChangeError, UnknownCustomerError, ValidationError
from keyaccount.store import CustomerState, RecordedChange, Store
from keyaccount.store._history import CHUNK

if TYPE_CHECKING:
    from collections.abc import Iterator

TIERS = [Tier.ACTIVE, Tier.KEY, Tier.STRATEGIC]


def small_portfolio() -> Portfolio:
    """Three customers: a court (with a sub-segment), a bank, and one without a segment."""
    return Portfolio(
        [
            Customer("COURT", "某中院", "2021-01", segment="JUDICIAL", sub_segment="COURT"),
            Customer("BANK", "某银行", "2021-06", segment="FINANCE", tier="KEY"),
            Customer("NEW", "新客户", "2022-03"),
        ],
        [RevenueRecord("COURT", "court_express", "2022-01", "100.00")],
    )


@pytest.fixture
def history_store(store: Store) -> Store:
    """A store holding :func:`small_portfolio`."""
    store.save(small_portfolio())
    return store


def tier_change(cid: str, period: str, before: Tier, after: Tier, **kw: object) -> TierChange:
    """A tier change made by a rule unless ``actor`` is given."""
    kw.setdefault("rule", "test-rule")
    return TierChange(cid, period, before=before, after=after, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- applying


def test_apply_updates_customers_and_records_changes(history_store: Store) -> None:
    """Changes set tier, tier_since and segment (clearing a foreign sub-segment); all recorded."""
    moment = dt.datetime(2022, 12, 1, 9, 30, tzinfo=dt.UTC)
    recorded = history_store.apply(
        [
            tier_change(
                "COURT",
                "2022-11",
                Tier.ACTIVE,
                Tier.STRATEGIC,
                rule="promote-strategic",
                reason="t12m above 1,000,000 yuan",
                explanation={"t12m_revenue": "1200000.00", "active_months": 12},
            ),
            SegmentChange("COURT", "2022-12", before="JUDICIAL", after="FINANCE", actor="王经理"),
        ],
        recorded_at=moment,
    )
    assert [r.recorded_at for r in recorded] == [moment, moment]
    assert recorded[0].sequence < recorded[1].sequence
    court = history_store.customer("COURT")
    assert (court.tier, court.tier_since) == (Tier.STRATEGIC, court.tier_since)
    assert str(court.tier_since) == "2022-11"
    assert (court.segment, court.sub_segment) == (Segment.FINANCE, None)
    assert history_store.changes() == list(recorded)
    assert history_store.changes()[0].change.explanation_dict == {
        "t12m_revenue": "1200000.00",
        "active_months": 12,
    }


def test_a_segment_change_keeps_a_sub_segment_of_the_new_segment(history_store: Store) -> None:
    """Moving a customer to no segment and back keeps nothing stale; a matching sub stays."""
    history_store.apply(
        [SegmentChange("COURT", "2022-05", before="JUDICIAL", after=None, actor="李")]
    )
    assert history_store.customer("COURT").sub_segment is None
    store_portfolio = history_store.load()
    assert store_portfolio.customer("COURT").segment is None
    # The in-memory rule gives the same result.
    expected = small_portfolio()
    expected.apply_changes(
        [SegmentChange("COURT", "2022-05", before="JUDICIAL", after=None, actor="李")]
    )
    assert list(store_portfolio.customers()) == list(expected.customers())
    assert SubSegment.COURT.segment is Segment.JUDICIAL


def test_changes_apply_in_order_within_a_batch(history_store: Store) -> None:
    """A batch may move one customer twice: the second change sees the first."""
    history_store.apply(
        [
            tier_change("NEW", "2022-06", Tier.ACTIVE, Tier.KEY),
            tier_change("NEW", "2022-09", Tier.KEY, Tier.STRATEGIC),
        ]
    )
    assert history_store.customer("NEW").tier is Tier.STRATEGIC
    assert len(history_store.changes(customer_id="NEW")) == 2


def test_state_as_of_follows_the_history(history_store: Store) -> None:
    """Tier and segment as of a month: the last change in or before it decides."""
    history_store.apply(
        [
            tier_change("BANK", "2022-03", Tier.KEY, Tier.STRATEGIC),
            SegmentChange("BANK", "2022-05", before="FINANCE", after="INSURANCE", actor="张"),
            tier_change("BANK", "2022-08", Tier.STRATEGIC, Tier.ACTIVE),
        ]
    )

    def state(period: str) -> tuple[Tier, Segment | None]:
        s = history_store.state_as_of("BANK", period)
        assert isinstance(s, CustomerState)
        return s.tier, s.segment

    assert state("2021-06") == (Tier.KEY, Segment.FINANCE)
    assert state("2022-02") == (Tier.KEY, Segment.FINANCE)
    assert state("2022-03") == (Tier.STRATEGIC, Segment.FINANCE)
    assert state("2022-05") == (Tier.STRATEGIC, Segment.INSURANCE)
    assert state("2022-08") == (Tier.ACTIVE, Segment.INSURANCE)
    assert state("2030-01") == (Tier.ACTIVE, Segment.INSURANCE)
    assert history_store.state_as_of("NEW", "2022-03").tier is Tier.ACTIVE
    with pytest.raises(ValidationError, match="first seen in 2021-06"):
        history_store.state_as_of("BANK", "2021-05")
    with pytest.raises(UnknownCustomerError):
        history_store.state_as_of("GHOST", "2022-01")


def test_changes_between_two_months(history_store: Store) -> None:
    """changes(P1, P2) lists the changes taking effect in P1..P2, by month then record order."""
    history_store.apply(
        [
            tier_change("BANK", "2022-03", Tier.KEY, Tier.STRATEGIC),
            tier_change("NEW", "2022-03", Tier.ACTIVE, Tier.KEY),
            SegmentChange("NEW", "2022-04", before=None, after="INTERNET", actor="赵"),
            tier_change("COURT", "2022-07", Tier.ACTIVE, Tier.DORMANT),
        ]
    )
    listed = history_store.changes("2022-03", "2022-04")
    assert [(r.change.customer_id, str(r.change.period)) for r in listed] == [
        ("BANK", "2022-03"),
        ("NEW", "2022-03"),
        ("NEW", "2022-04"),
    ]
    assert [r.change.customer_id for r in history_store.changes("2022-04")] == ["NEW", "COURT"]
    assert len(history_store.changes(attribute="segment")) == 1
    assert [r.change.customer_id for r in history_store.changes(customer_id="COURT")] == ["COURT"]
    with pytest.raises(ValidationError, match="'colour'"):
        history_store.changes(attribute="colour")  # type: ignore[arg-type]


def test_record_change_applies_one_change(history_store: Store) -> None:
    """record_change applies one change and returns it as recorded."""
    recorded = history_store.record_change(
        tier_change("COURT", "2022-02", Tier.ACTIVE, Tier.KEY, actor="王", rule=None)
    )
    assert isinstance(recorded, RecordedChange)
    assert recorded.change.actor == "王"
    assert recorded.recorded_at.tzinfo is not None


# ---------------------------------------------------------------- refused changes


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        pytest.param(
            tier_change("BANK", "2022-04", Tier.ACTIVE, Tier.KEY),
            StaleChangeError,
            "current tier is KEY",
            id="stale-tier",
        ),
        pytest.param(
            SegmentChange("BANK", "2022-04", before="JUDICIAL", after="INTERNET", actor="a"),
            StaleChangeError,
            "current segment is FINANCE",
            id="stale-segment",
        ),
        pytest.param(
            tier_change("GHOST", "2022-04", Tier.ACTIVE, Tier.KEY),
            UnknownCustomerError,
            "'GHOST'",
            id="unknown-customer",
        ),
        pytest.param(
            tier_change("BANK", "2021-01", Tier.KEY, Tier.STRATEGIC),
            ValidationError,
            "first_period",
            id="before-first-period",
        ),
        pytest.param(
            tier_change("COURT", "2022-01", Tier.KEY, Tier.STRATEGIC),
            ValidationError,
            "period order",
            id="before-the-last-change",
        ),
        pytest.param(
            tier_change("BANK", "2022-04", Tier.KEY, Tier.KEY),
            ValidationError,
            "change something",
            id="no-op",
        ),
    ],
)
def test_a_refused_change_rolls_back_its_whole_batch(
    history_store: Store, bad: Change, error: type[Exception], match: str
) -> None:
    """A refused change anywhere in a batch raises and leaves no change of the batch behind."""
    history_store.record_change(tier_change("COURT", "2022-03", Tier.ACTIVE, Tier.KEY))
    before = history_store.load()
    with pytest.raises(error, match=match):
        history_store.apply(
            [
                tier_change("NEW", "2022-04", Tier.ACTIVE, Tier.KEY),
                SegmentChange("NEW", "2022-04", before=None, after="INTERNET", actor="a"),
                bad,
                tier_change("BANK", "2022-05", Tier.KEY, Tier.STRATEGIC),
            ]
        )
    assert list(history_store.load().customers()) == list(before.customers())
    assert len(history_store.changes()) == 1


def test_a_database_error_part_way_rolls_back_the_batch(history_store: Store) -> None:
    """A constraint failing inside the database mid-batch (a trigger here) leaves nothing."""
    if history_store.backend == "sqlite":
        ddl = [
            "CREATE TRIGGER refuse BEFORE INSERT ON ka_change WHEN NEW.reason = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
        ]
    else:
        ddl = [
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
            "IF NEW.reason = 'boom' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON ka_change "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    with history_store.engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    changes = [
        tier_change("NEW", "2022-04", Tier.ACTIVE, Tier.KEY),
        tier_change("BANK", "2022-04", Tier.KEY, Tier.STRATEGIC, reason="boom"),
    ]
    with pytest.raises(sa.exc.DatabaseError, match="refused by trigger"):
        history_store.apply(changes)
    assert history_store.customer("NEW").tier is Tier.ACTIVE
    assert history_store.changes() == []


def _flip_flop(cid: str, period: str, count: int) -> Iterator[TierChange]:
    """``count`` changes moving a customer between ACTIVE and KEY, starting from ACTIVE."""
    for i in range(count):
        before, after = (Tier.ACTIVE, Tier.KEY) if i % 2 == 0 else (Tier.KEY, Tier.ACTIVE)
        yield tier_change(cid, period, before, after)


def test_an_exception_from_the_changes_after_writes_rolls_back(history_store: Store) -> None:
    """An exception raised by the iterable after whole chunks were written leaves nothing."""

    def changes() -> Iterator[TierChange]:
        yield from _flip_flop("NEW", "2022-05", CHUNK + 10)
        raise RuntimeError("the rules engine stopped")

    with pytest.raises(RuntimeError, match="rules engine"):
        history_store.apply(changes())
    assert history_store.changes() == []
    assert history_store.customer("NEW").tier_since is None


# ---------------------------------------------------------------- killed processes

_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from keyaccount import Tier
    from keyaccount.domain import TierChange
    from keyaccount.store import Store
    from keyaccount.store._history import CHUNK

    url, marker, kind = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

    def changes():
        for i in range(CHUNK * 2 + 1):
            if i == CHUNK * 2:
                marker.write_text("written")   # two whole chunks are in the transaction
                time.sleep(600)
            before, after = (Tier.ACTIVE, Tier.KEY) if i % 2 == 0 else (Tier.KEY, Tier.ACTIVE)
            yield TierChange("NEW", "2022-05", before=before, after=after, rule="r")

    def batches():
        import numpy as np
        from keyaccount.io import RevenueRows
        for n in range(3):
            if n == 2:
                marker.write_text("written")
                time.sleep(600)
            yield RevenueRows.from_tuples(
                list(range(2, 1002)), [("COURT", 1, 24264, 100, 1)] * 1000)

    with Store(url) as store:
        if kind == "changes":
            store.apply(changes())
        else:
            store.import_rows(revenue=batches())
    """
)


def _run_and_kill(url: str, marker: Path, kind: str, check: object = None) -> None:
    log = marker.with_suffix(".log")
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILLED_WRITER, url, str(marker), kind],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 120
            while not marker.exists():
                if proc.poll() is not None:
                    raise AssertionError(f"the writer exited: {log.read_text()}")
                if time.monotonic() > deadline:
                    raise AssertionError("the writer never reached the middle of its batch")
                time.sleep(0.05)
            if callable(check):
                check()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _uncommitted_writes_are_pending(store: Store, table: str) -> None:
    """Evidence that the killed writer had written inside its open transaction."""
    if store.backend == "sqlite":
        path = Path(store.engine.url.database or "")
        assert Path(f"{path}-journal").exists() or Path(f"{path}-wal").exists()
        return
    with store.engine.connect() as conn:
        locks = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            f"WHERE c.relname = '{table}' AND l.mode = 'RowExclusiveLock'"
        ).scalar_one()
    assert locks >= 1


@pytest.mark.parametrize("kind", ["changes", "import"])
def test_a_writer_killed_mid_batch_leaves_nothing(
    history_store: Store, store_url: str, tmp_path: Path, kind: str
) -> None:
    """SIGKILL in the middle of a batch (changes or an import): on reopening, nothing of it."""
    before = history_store.load()
    table = "ka_change" if kind == "changes" else "ka_revenue"
    _run_and_kill(
        store_url,
        tmp_path / "marker",
        kind,
        check=lambda: _uncommitted_writes_are_pending(history_store, table),
    )
    history_store.close()
    with Store(store_url) as reopened:
        assert reopened.changes() == []
        back = reopened.load()
        assert list(back.customers()) == list(before.customers())
        assert list(back.revenue_records()) == list(before.revenue_records())
        if reopened.backend == "sqlite":
            with reopened.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        # The store still takes writes after the crash.
        reopened.record_change(tier_change("NEW", "2022-05", Tier.ACTIVE, Tier.KEY))
        assert reopened.customer("NEW").tier is Tier.KEY


# ---------------------------------------------------------------- concurrent writers


def test_concurrent_writers_lose_no_update(history_store: Store, store_url: str) -> None:
    """Two writers retrying read-decide-apply on shared customers leave an unbroken history."""
    customers = ["COURT", "NEW"]
    per_writer = 12
    applied: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            with Store(store_url) as mine:
                start.wait()
                done = stale = 0
                while done < per_writer:
                    cid = customers[(done + len(name)) % 2]
                    current = mine.customer(cid).tier
                    after = TIERS[(TIERS.index(current) + 1) % len(TIERS)]
                    try:
                        mine.apply([tier_change(cid, "2023-01", current, after, actor=name)])
                    except StaleChangeError:
                        stale += 1
                        continue
                    done += 1
                applied.append(done)
        except BaseException as exc:  # pragma: no cover  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("writer-a", "writer-bb")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert applied == [per_writer, per_writer]
    history = history_store.changes()
    assert len(history) == 2 * per_writer
    for cid in customers:
        chain = [r.change for r in history if r.change.customer_id == cid]
        assert isinstance(chain[0], TierChange)
        assert chain[0].before is Tier.ACTIVE
        for earlier, later in itertools.pairwise(chain):
            assert later.before == earlier.after
        assert history_store.customer(cid).tier == chain[-1].after
    assert {r.change.actor for r in history} == {"writer-a", "writer-bb"}


def test_the_second_of_two_simultaneous_writers_sees_the_first(
    history_store: Store, store_url: str
) -> None:
    """Of two writers deciding on the same state at once, one applies and one gets stale."""
    results: list[str] = []
    gate = threading.Barrier(2)

    def writer(after: Tier) -> None:
        with Store(store_url) as mine:
            current = mine.customer("BANK").tier
            gate.wait()
            try:
                mine.apply([tier_change("BANK", "2022-06", current, after)])
                results.append(f"applied {after.name}")
            except StaleChangeError:
                results.append("stale")

    threads = [threading.Thread(target=writer, args=(t,)) for t in (Tier.STRATEGIC, Tier.ACTIVE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results)[-1] == "stale"
    assert len(results) == 2
    winner = Tier[results[0].split()[1]] if results[0] != "stale" else Tier[results[1].split()[1]]
    assert history_store.customer("BANK").tier is winner
    assert len(history_store.changes()) == 1
