"""One Store shared by 8 threads: mixed reads and applies, no error and no lost change.

Runs on a SQLite file, in-memory SQLite (one shared connection) and PostgreSQL. Each
thread applies tier changes to customers of its own (so that no change is stale) and
reads any customer; afterwards every applied change is in the history, the counts
match and every customer has the tier its last change gave it.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from keyaccount.demo import generate
from keyaccount.domain import Period, Tier, TierChange
from keyaccount.store import Store

if TYPE_CHECKING:
    from keyaccount.store import RecordedChange

THREADS = 8
OPERATIONS = 200
CUSTOMERS = 48
FIRST_CHANGE = Period.parse("2023-01")


def _worker(
    store: Store,
    number: int,
    ids: list[str],
    tiers: dict[str, Tier],
    start: threading.Barrier,
) -> list[RecordedChange]:
    """200 operations: reads of any customer, tier changes of this thread's customers."""
    rng = random.Random(number)
    mine = ids[number::THREADS]
    made = dict.fromkeys(mine, 0)
    recorded: list[RecordedChange] = []
    start.wait()
    for _ in range(OPERATIONS):
        anyone = rng.choice(ids)
        roll = rng.random()
        if roll < 0.3:
            customer = rng.choice(mine)
            before = tiers[customer]
            after = Tier.KEY if before != Tier.KEY else Tier.ACTIVE
            period = FIRST_CHANGE + made[customer]
            change = TierChange(customer, period, before=before, after=after, actor=f"t{number}")
            if roll < 0.15:
                recorded.append(store.record_change(change))
            else:
                recorded.extend(store.apply([change]))
            tiers[customer] = after
            made[customer] += 1
        elif roll < 0.5:
            assert store.customer(anyone).id == anyone
        elif roll < 0.65:
            part = store.load(customer_ids=[anyone], start="2022-01")
            assert part.customer(anyone).id == anyone
        elif roll < 0.8:
            assert store.counts()["customers"] == CUSTOMERS
        else:
            assert all(r.change.customer_id == anyone for r in store.changes(customer_id=anyone))
    return recorded


def _share(url: str) -> None:
    """Run the threads on one store at ``url`` and check the history and the store after."""
    with Store(url) as store:
        store.save(generate(customers=CUSTOMERS, seed=11))
        customers = store.customers()
        ids = [c.id for c in customers]
        tiers = {c.id: c.tier for c in customers}
        start = threading.Barrier(THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(_worker, store, n, ids, tiers, start) for n in range(THREADS)]
            recorded = [r for future in futures for r in future.result()]
        history = store.changes()
        assert len(recorded) > THREADS * OPERATIONS // 5
        assert sorted(r.sequence for r in history) == sorted(r.sequence for r in recorded)
        assert {(r.sequence, r.change) for r in history} == {
            (r.sequence, r.change) for r in recorded
        }
        assert store.counts()["changes"] == len(recorded)
        assert {c.id: c.tier for c in store.customers()} == tiers


@pytest.mark.timeout(120)
def test_eight_threads_share_one_store_and_lose_no_change(store_url: str) -> None:
    """8 threads x 200 mixed reads and applies on one Store (a file, PostgreSQL): all recorded."""
    _share(store_url)


@pytest.mark.timeout(120)
def test_eight_threads_share_one_in_memory_store() -> None:
    """The same on in-memory SQLite, whose one shared connection serves one thread at a time."""
    _share("sqlite://")
