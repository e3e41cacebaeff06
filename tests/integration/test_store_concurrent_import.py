"""Concurrent imports: two writers on two real connections serialise, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import TYPE_CHECKING

import pytest

from keyaccount.exceptions import CsvImportError, KeyAccountError, StoreBusyError
from keyaccount.store import Store
from keyaccount.store._engine import WRITE_LOCK_KEY

if TYPE_CHECKING:
    from pathlib import Path

REPETITIONS = 20
CUSTOMERS_PER_IMPORT = 40
MONTHS = ("2023-01", "2023-02", "2023-03")


def _write_files(directory: Path, prefix: str, ids: range) -> tuple[Path, Path]:
    """A customers file and a revenue file for customers ``prefix<i>``, ``i`` in ``ids``."""
    customers = directory / f"{prefix}-{ids.start}-customers.csv"
    revenue = directory / f"{prefix}-{ids.start}-revenue.csv"
    customer_lines = ["customer_id,name,segment,sub_segment,tier,parent_id,province,first_period"]
    revenue_lines = ["customer_id,period,product_id,revenue,volume"]
    for i in ids:
        cid = f"{prefix}{i:04d}"
        customer_lines.append(f"{cid},客户{i},金融,,ACTIVE,,北京,2023-01")
        revenue_lines.extend(f"{cid},{month},card_letter,{i}.25,{i}" for month in MONTHS)
    customers.write_text("\n".join(customer_lines) + "\n", encoding="utf-8")
    revenue.write_text("\n".join(revenue_lines) + "\n", encoding="utf-8")
    return customers, revenue


def _race(url: str, jobs: list[tuple[Path, Path]]) -> list[BaseException | None]:
    """Run one ``import_csv`` per job at the same moment, each on its own ``Store``."""
    outcomes: list[BaseException | None] = [None] * len(jobs)
    gate = threading.Barrier(len(jobs))

    def run(n: int) -> None:
        customers, revenue = jobs[n]
        try:
            with Store(url) as mine:
                mine.counts()  # connected before the gate: the imports start together
                gate.wait()
                mine.import_csv(customers=customers, revenue=revenue, progress=False)
        except BaseException as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "an import hung"
    return outcomes


@pytest.mark.timeout(600)
def test_concurrent_imports_of_disjoint_customers_both_succeed(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """Two imports of different new customers, started together 20 times, all succeed."""
    store.counts()  # the schema exists before the racers open it
    expected = 0
    for round_ in range(REPETITIONS):
        base = round_ * 2 * CUSTOMERS_PER_IMPORT
        jobs = [
            _write_files(tmp_path, "A", range(base, base + CUSTOMERS_PER_IMPORT)),
            _write_files(
                tmp_path, "B", range(base + CUSTOMERS_PER_IMPORT, base + 2 * CUSTOMERS_PER_IMPORT)
            ),
        ]
        outcomes = _race(store_url, jobs)
        assert outcomes == [None, None], f"round {round_}: {outcomes!r}"
        expected += 2 * CUSTOMERS_PER_IMPORT
    assert store.counts()["customers"] == expected
    assert store.counts()["revenue"] == expected * len(MONTHS)


@pytest.mark.timeout(600)
def test_concurrent_imports_of_the_same_customers_one_wins_cleanly(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """Two imports of the same new customers: one writes them, the other fails with a clear error.

    Never a deadlock or a raw driver error, and never half of either import.
    """
    store.counts()
    for round_ in range(REPETITIONS):
        ids = range(round_ * CUSTOMERS_PER_IMPORT, (round_ + 1) * CUSTOMERS_PER_IMPORT)
        jobs = [_write_files(tmp_path / "x", "S", ids), _write_files(tmp_path / "y", "S", ids)]
        outcomes = _race(store_url, jobs)
        failures = [exc for exc in outcomes if exc is not None]
        assert len(failures) == 1, f"round {round_}: {outcomes!r}"
        (failure,) = failures
        assert isinstance(failure, KeyAccountError), repr(failure)
        assert isinstance(failure, CsvImportError), repr(failure)
        assert "already" in str(failure.exceptions[0]), str(failure.exceptions[0])
    assert store.counts()["customers"] == REPETITIONS * CUSTOMERS_PER_IMPORT
    # Each customer's revenue was written once, by the import that won.
    assert store.counts()["revenue"] == REPETITIONS * CUSTOMERS_PER_IMPORT * len(MONTHS)


def test_a_writer_waiting_past_the_timeout_gets_a_retryable_error(
    store: Store, store_url: str, backend: str, tmp_path: Path
) -> None:
    """A writer that cannot get the write lock in time fails retryably and writes nothing."""
    customers, revenue = _write_files(tmp_path, "W", range(5))
    with contextlib.ExitStack() as held:
        if backend == "sqlite":
            other = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
            held.callback(other.close)
            other.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            other_pg = psycopg.connect(store_url.replace("postgresql+psycopg", "postgresql"))
            held.callback(other_pg.close)
            other_pg.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK_KEY,))
        with Store(store_url, busy_timeout=0.2) as waiting, pytest.raises(StoreBusyError) as caught:
            waiting.import_csv(customers=customers, revenue=revenue, progress=False)
    assert caught.value.retryable
    assert "try again" in str(caught.value)
    assert store.counts()["customers"] == 0
    # Once the other writer is gone the same import goes through.
    with Store(store_url, busy_timeout=0.2) as again:
        again.import_csv(customers=customers, revenue=revenue, progress=False)
    assert store.counts()["customers"] == 5


@pytest.fixture(autouse=True)
def _directories(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
