"""Benchmark: the store's escalation sweep against one hand-written UPDATE and its history INSERT.

Usage::

    .venv/bin/python benchmarks/bench_sweep.py                       # 1,000,000 open items
    .venv/bin/python benchmarks/bench_sweep.py --items 200000 --repeat 5
    .venv/bin/python benchmarks/bench_sweep.py --backends sqlite --workdir /tmp/b

A store (a SQLite file, and a PostgreSQL database: ``--postgres`` names a server's
admin URL; without it a throwaway server is started from ``/usr/lib/postgresql/*/bin``
the way ``_common.start_postgres`` does) gets ``--items`` open supervision items,
written in bulk (``COPY`` on PostgreSQL, multi-row ``INSERT`` on SQLite): 90% overdue
on the sweep day, the rest not yet due, at city or province level, none severe, none
escalated. A copy of the items is kept aside. Then, on each backend, alternately
``--repeat`` times, each run starting from that copy (restored, and ``VACUUM ANALYZE``
on PostgreSQL, outside the timing):

- ``OperationsStore.sweep(day)``: the store's statement set (the history ``INSERT ...
  SELECT`` numbered after the stored rows and the ``UPDATE`` of the items, with the full
  rule: open, opened by the day, not escalated that day, overdue or severe, below
  headquarters or not yet flagged), in one write transaction;
- ``hand-written``: one ``UPDATE ... WHERE status = 'OPEN' AND due_on < :day`` and its
  history ``INSERT ... SELECT`` of the same rows (numbered the same way), in one
  transaction: the floor, which knows that no item is severe, escalated or at
  headquarters.

``cold`` is the first run of each (a new connection right after the load), ``warm`` the
median of the others. Both write the same items and history rows; every run checks it.
Figures go to ``docs/benchmarks.md`` ("Escalation sweep").
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from _common import postgres_database, print_environment, start_postgres

from keyaccount import Customer, Portfolio
from keyaccount.store import Store

PG_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "synchronous_commit": "off",
}
DAY = dt.date(2024, 6, 1)
ITEM_COLUMNS = (
    "item_id",
    "title",
    "subject_kind",
    "subject_id",
    "department",
    "responsible_person",
    "level",
    "province",
    "severity",
    "opened_on",
    "due_on",
    "status",
    "flagged",
)
PROVINCES = ("广东", "江苏", "浙江", "山东", "河南", "四川")
DEPARTMENTS = ("MARKET", "OPERATIONS", "SERVICE", "IT")


def item_rows(n: int, seed: int = 7) -> list[tuple[Any, ...]]:
    """``n`` open items: 90% overdue on DAY, levels city or province, none severe."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 2, n)
    overdue = rng.random(n) < 0.9
    due = np.where(overdue, -rng.integers(1, 30, n), rng.integers(0, 30, n))
    opened = due - rng.integers(0, 14, n) - 1
    day0 = DAY.toordinal()
    province = rng.integers(0, len(PROVINCES), n)
    dept = rng.integers(0, len(DEPARTMENTS), n)
    customer = rng.integers(0, 1000, n)
    return [
        (
            f"SV-{i + 1:07d}",
            "receipts late",
            "CUSTOMER",
            f"C{customer[i]}",
            DEPARTMENTS[dept[i]],
            "Li",
            int(level[i]),
            PROVINCES[province[i]],
            "NORMAL",
            dt.date.fromordinal(day0 + int(opened[i])).isoformat(),
            dt.date.fromordinal(day0 + int(due[i])).isoformat(),
            "OPEN",
            False,
        )
        for i in range(n)
    ]


def load(url: str, n: int) -> None:
    """A store with 1,000 customers and ``n`` open items, and a copy of the items aside."""
    with Store(url) as store:
        store.save(Portfolio([Customer(f"C{i}", f"客户{i}", "2020-01") for i in range(1000)]))
        rows = item_rows(n)
        start = time.perf_counter()
        with store.engine.begin() as conn:
            raw: Any = conn.connection.dbapi_connection
            names = ", ".join(ITEM_COLUMNS)
            if store.backend == "sqlite":
                marks = ", ".join("?" * len(ITEM_COLUMNS))
                raw.executemany(f"INSERT INTO ka_supervision_item ({names}) VALUES ({marks})", rows)
            else:
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY ka_supervision_item ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            conn.exec_driver_sql("CREATE TABLE bench_items AS SELECT * FROM ka_supervision_item")
        print(f"{store.backend}: loaded {n:,} items in {time.perf_counter() - start:.1f} s")


def reset(url: str) -> None:
    """Restore the items from the copy and empty the history (outside the timing)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM ka_item_history")
        conn.exec_driver_sql("DELETE FROM ka_supervision_item")
        conn.exec_driver_sql("INSERT INTO ka_supervision_item SELECT * FROM bench_items")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE ka_supervision_item")
            conn.exec_driver_sql("VACUUM ANALYZE ka_item_history")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def hand_written(store: Store) -> None:
    """The floor: one UPDATE and its history INSERT, numbered after the stored rows."""
    pg = store.backend == "postgresql"
    new_due = DAY + dt.timedelta(days=7)
    due_text = "to_char(i.due_on, 'YYYY-MM-DD')" if pg else "i.due_on"
    day: Any = DAY if pg else DAY.isoformat()
    due: Any = new_due if pg else new_due.isoformat()
    with store.engine.begin() as conn:
        base = conn.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM ka_item_history").scalar()
        conn.execute(
            sa.text(
                "INSERT INTO ka_item_history "
                "(seq, item_key, who, acted_on, what, field, from_value, to_value) "
                "SELECT :base + row_number() OVER (ORDER BY i.item_key, f.k), i.item_key, "
                ":who, :day, 'escalate', CASE f.k WHEN 0 THEN 'level' ELSE 'due_on' END, "
                "CASE f.k WHEN 0 THEN CASE i.level WHEN 0 THEN 'CITY' ELSE 'PROVINCE' END "
                f"ELSE {due_text} END, "
                "CASE f.k WHEN 0 THEN CASE i.level WHEN 0 THEN 'PROVINCE' ELSE 'HEADQUARTERS' END "
                "ELSE :due_text END "
                "FROM ka_supervision_item i CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) f "
                "WHERE i.status = 'OPEN' AND i.due_on < :day"
            ),
            {"base": base, "who": "sweep", "day": day, "due_text": new_due.isoformat()},
        )
        conn.execute(
            sa.text(
                "UPDATE ka_supervision_item SET level = level + 1, due_on = :due, "
                "escalated_on = :day WHERE status = 'OPEN' AND due_on < :day"
            ),
            {"due": due, "day": day},
        )


def library(store: Store) -> None:
    """``OperationsStore.sweep``."""
    store.operations.sweep(DAY, who="sweep")


def snapshot(url: str) -> tuple[Any, Any]:
    """The items' swept columns and the history, to check that both variants agree."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        items = conn.exec_driver_sql(
            "SELECT item_key, level, due_on, escalated_on, flagged FROM ka_supervision_item "
            "ORDER BY item_key"
        ).all()
        history = conn.exec_driver_sql(
            "SELECT seq, item_key, who, acted_on, what, field, from_value, to_value "
            "FROM ka_item_history ORDER BY seq"
        ).all()
    engine.dispose()
    return items, history


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    load(url, args.items)
    variants = {"Store sweep": library, "hand-written": hand_written}
    times: dict[str, list[float]] = {v: [] for v in variants}
    seen: dict[str, Any] = {}
    for _ in range(args.repeat):
        for label, fn in variants.items():
            reset(url)
            with Store(url) as store:
                start = time.perf_counter()
                fn(store)
                times[label].append(time.perf_counter() - start)
            state = snapshot(url) if args.check else None
            if state is not None:
                if seen and state != next(iter(seen.values())):
                    raise SystemExit(f"{name}: {label} wrote other items or history")
                seen[label] = state
            print(f"{name}: {label}: {times[label][-1]:.2f} s", flush=True)
    out: dict[str, Any] = {"backend": name, "items": args.items}
    for label, values in times.items():
        out[label] = {
            "cold": values[0],
            "warm": statistics.median(values[1:]) if len(values) > 1 else values[0],
        }
    return out


def report(results: list[dict[str, Any]]) -> None:
    print()
    print("| backend | items | Store sweep cold / warm | hand-written cold / warm | ratio (warm) |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        lib, hand = r["Store sweep"], r["hand-written"]
        print(
            f"| {r['backend']} | {r['items']:,} | {lib['cold']:.2f} s / {lib['warm']:.2f} s | "
            f"{hand['cold']:.2f} s / {hand['warm']:.2f} s | {lib['warm'] / hand['warm']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--workdir", default=None, help="where the SQLite file goes")
    parser.add_argument(
        "--no-check", dest="check", action="store_false", help="skip comparing the results"
    )
    args = parser.parse_args()
    backends = args.backends.split(",")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="ka-sweep-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    stop = None
    pgdir: Path | None = None
    try:
        if "sqlite" in backends:
            path = workdir / f"sweep-{args.items}.db"
            path.unlink(missing_ok=True)
            results.append(run_backend("sqlite", f"sqlite:///{path}", args))
        if "postgresql" in backends:
            admin = args.postgres
            if admin is None:
                pgdir = Path(tempfile.mkdtemp(prefix="ka-sweep-pg-"))
                started = start_postgres(pgdir, PG_SETTINGS)
                if started is None:
                    raise SystemExit("PostgreSQL: no server binaries in /usr/lib/postgresql/*/bin")
                admin, stop = started
            url = postgres_database(admin, f"ka_sweep_{args.items}")
            results.append(run_backend("postgresql", url, args))
    finally:
        if stop is not None:
            stop()
        if pgdir is not None:
            shutil.rmtree(pgdir, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    print_environment(["numpy", "sqlalchemy", "psycopg"])
    main()
    print_environment(["numpy", "sqlalchemy", "psycopg"], when="end")
