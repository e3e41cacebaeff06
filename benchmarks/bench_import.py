"""Bulk import speed: keyaccount.store against the plain driver, on SQLite and PostgreSQL.

Loads the demo portfolio's revenue (``keyaccount.demo.generate``: 1 million
customers x 24 months, about 26 million revenue rows by default) in batches
of 500,000 rows, and compares in one run:

- SQLite: ``Store.import_rows`` (customer ids mapped to keys and checked,
  revenue written in one transaction, the index built, committed) against
  the fastest plain ``sqlite3.executemany`` of the same rows as tuples (one
  row per ``INSERT``) into a table without indexes or constraints, with
  ``journal_mode=OFF`` and ``synchronous=OFF`` (no crash safety at all); and,
  for reference, the same plain load with 100 rows per ``INSERT``, the
  statement shape the store uses;
- PostgreSQL: the same ``Store.import_rows`` against a plain psycopg ``COPY``
  with ``write_row`` into a table without indexes or constraints; and, for
  reference, the same plain COPY followed by building the primary key and
  the (customer, period) index the store's table has (but no foreign keys).

With ``--csv`` it also times ``Store.import_csv`` of the same portfolio
written as a customers and a revenue file (reading and checking the CSV
included) against the same plain baselines.

Each measurement runs in a fresh child process that generates the data the
same way; memory is the child's resident set size, sampled every 20 ms
during the load, reported as the peak and as the peak above what the child
held before the load (the generated portfolio).

Usage::

    .venv/bin/python benchmarks/bench_import.py                 # 1M customers, both backends
    .venv/bin/python benchmarks/bench_import.py --customers 100000 --backends sqlite
    .venv/bin/python benchmarks/bench_import.py --postgres postgresql://user@host/db
    .venv/bin/python benchmarks/bench_import.py --repeat 3      # fastest of three runs each
    .venv/bin/python benchmarks/bench_import.py --csv           # also the whole CSV path

Without ``--postgres`` a throwaway PostgreSQL server is started from the
binaries in ``/usr/lib/postgresql/*/bin`` (as the ``postgres`` user when run
as root); PostgreSQL is skipped when there are none.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from _common import (
    PeakSampler,
    mib,
    postgres_database,
    psycopg_conninfo,
    run_child,
    start_postgres,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BATCH_ROWS = 500_000
PG_SETTINGS = {"shared_buffers": "256MB", "max_wal_size": "4GB"}


# ---------------------------------------------------------------- data


def make_data(customers: int, months: int, seed: int) -> Any:
    from keyaccount.demo import generate

    return generate(seed=seed, customers=customers, months=months)


def revenue_batches(portfolio: Any) -> Iterator[Any]:
    from keyaccount.io import RevenueRows

    ids = portfolio.customer_columns.id
    rev = portfolio.revenue_columns
    for cut in range(0, len(rev), BATCH_ROWS):
        part = slice(cut, cut + BATCH_ROWS)
        customer = rev.customer[part]
        yield RevenueRows(
            np.zeros(len(customer), dtype=np.int64),
            ids[customer],
            rev.product[part],
            rev.period[part],
            rev.fen[part],
            rev.volume[part],
        )


def key_batches(portfolio: Any) -> Iterator[tuple[Any, ...]]:
    rev = portfolio.revenue_columns
    for cut in range(0, len(rev), BATCH_ROWS):
        part = slice(cut, cut + BATCH_ROWS)
        yield (
            rev.customer[part],
            rev.product[part],
            rev.period[part],
            rev.fen[part],
            rev.volume[part],
        )


# ---------------------------------------------------------------- the loads


def run_store(portfolio: Any, url: str) -> dict[str, float]:
    from keyaccount.io import CustomerRows
    from keyaccount.store import Store

    customers = CustomerRows.from_columns(portfolio.customer_columns)
    with Store(url) as store:
        t0 = time.perf_counter()
        store.import_rows(customers, catalog=portfolio.products, progress=False)
        t1 = time.perf_counter()
        with PeakSampler() as memory:
            report = store.import_rows(
                revenue=revenue_batches(portfolio), catalog=portfolio.products, progress=False
            )
        t2 = time.perf_counter()
    return {
        "rows": report.revenue_rows,
        "seconds": t2 - t1,
        "customers_seconds": t1 - t0,
        "peak": memory.peak,
        "peak_above_start": memory.peak - memory.start,
    }


def run_store_csv(portfolio: Any, url: str, workdir: Path) -> dict[str, float]:
    """The whole CSV path: ``Store.import_csv`` of a customers and a revenue file."""
    from keyaccount.io import write_portfolio_csv
    from keyaccount.store import Store

    customers, revenue = workdir / "bench_customers.csv", workdir / "bench_revenue.csv"
    write_portfolio_csv(portfolio, customers, revenue)
    rows = len(portfolio.revenue_columns)
    try:
        with Store(url) as store, PeakSampler() as memory:
            t0 = time.perf_counter()
            report = store.import_csv(
                customers, revenue, catalog=portfolio.products, progress=False
            )
            t1 = time.perf_counter()
        assert report.revenue_rows == rows
    finally:
        customers.unlink(missing_ok=True)
        revenue.unlink(missing_ok=True)
    return {
        "rows": rows,
        "seconds": t1 - t0,
        "peak": memory.peak,
        "peak_above_start": memory.peak - memory.start,
    }


def run_plain_sqlite(portfolio: Any, path: str, rows_per_statement: int = 1) -> dict[str, float]:
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute(
        "CREATE TABLE revenue (customer_key INTEGER, product_key INTEGER, period INTEGER, "
        "revenue_fen INTEGER, volume INTEGER)"
    )
    rows = 0
    with PeakSampler() as memory:
        t0 = time.perf_counter()
        con.execute("BEGIN")
        one = "INSERT INTO revenue VALUES (?, ?, ?, ?, ?)"
        many = "INSERT INTO revenue VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * rows_per_statement)
        k = rows_per_statement
        for c, p, per, fen, vol in key_batches(portfolio):
            if k == 1:
                con.executemany(
                    one,
                    zip(
                        c.tolist(),
                        p.tolist(),
                        per.tolist(),
                        fen.tolist(),
                        vol.tolist(),
                        strict=True,
                    ),
                )
            else:
                block = np.column_stack([c, p, per, fen, vol]).astype(np.int64)
                full = len(block) // k * k
                flat = iter(block[:full].ravel().tolist())
                con.executemany(many, zip(*[flat] * (5 * k), strict=True))
                con.executemany(one, block[full:].tolist())
            rows += len(c)
        con.execute("COMMIT")
        t1 = time.perf_counter()
    con.close()
    return {
        "rows": rows,
        "seconds": t1 - t0,
        "peak": memory.peak,
        "peak_above_start": memory.peak - memory.start,
    }


def run_plain_copy(portfolio: Any, url: str, keys: bool = False) -> dict[str, float]:
    """Plain COPY with write_row; with ``keys``, then the store's primary key and index."""
    import psycopg

    conninfo = psycopg_conninfo(url)
    identity = "revenue_key bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 10000), " if keys else ""
    rows = 0
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            f"CREATE TABLE revenue ({identity}customer_key integer, product_key integer, "
            "period integer, revenue_fen bigint, volume bigint)".encode()
        )
        conn.commit()
        with PeakSampler() as memory:
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                for c, p, per, fen, vol in key_batches(portfolio):
                    with cur.copy(
                        "COPY revenue (customer_key, product_key, period, revenue_fen, volume) "
                        "FROM STDIN"
                    ) as copy:
                        for row in zip(
                            c.tolist(),
                            p.tolist(),
                            per.tolist(),
                            fen.tolist(),
                            vol.tolist(),
                            strict=True,
                        ):
                            copy.write_row(row)
                    rows += len(c)
            if keys:
                conn.execute("ALTER TABLE revenue ADD PRIMARY KEY (revenue_key)")
                conn.execute("CREATE INDEX ON revenue (customer_key, period)")
            conn.commit()
            t1 = time.perf_counter()
    return {
        "rows": rows,
        "seconds": t1 - t0,
        "peak": memory.peak,
        "peak_above_start": memory.peak - memory.start,
    }


# ---------------------------------------------------------------- driver


def child(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    portfolio = make_data(args.customers, args.months, args.seed)
    generated = time.perf_counter() - t0
    runs = {
        "store_sqlite": lambda: run_store(portfolio, f"sqlite:///{args.target}"),
        "plain_sqlite": lambda: run_plain_sqlite(portfolio, args.target),
        "plain_sqlite_multirow": lambda: run_plain_sqlite(portfolio, args.target, 100),
        "store_postgresql": lambda: run_store(portfolio, args.target),
        "plain_postgresql": lambda: run_plain_copy(portfolio, args.target),
        "plain_postgresql_keys": lambda: run_plain_copy(portfolio, args.target, keys=True),
        "csv_sqlite": lambda: run_store_csv(
            portfolio, f"sqlite:///{args.target}", Path(args.target).parent
        ),
        "csv_postgresql": lambda: run_store_csv(portfolio, args.target, Path(args.csv_dir)),
    }
    result = runs[args.child]()
    result["generate_seconds"] = generated
    result["customers"] = len(portfolio)
    print(json.dumps(result))


def measure(args: argparse.Namespace, name: str, target: str) -> dict[str, float]:
    cmd = [
        "--child",
        name,
        "--target",
        target,
        "--customers",
        str(args.customers),
        "--months",
        str(args.months),
        "--seed",
        str(args.seed),
        "--csv-dir",
        str(args.workdir_path),
    ]
    best: dict[str, float] | None = None
    for _ in range(args.repeat):
        result: dict[str, float] = run_child(__file__, cmd)
        if best is None or result["seconds"] < best["seconds"]:
            best = result
        if target.startswith("postgresql"):
            postgres_database(target.rsplit("/", 1)[0] + "/postgres", target.rsplit("/", 1)[1])
        else:
            Path(target).unlink(missing_ok=True)
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--workdir", default=None, help="where the SQLite files go")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each load this many times, keep the fastest"
    )
    parser.add_argument(
        "--csv", action="store_true", help="also time Store.import_csv of CSV files (slow)"
    )
    parser.add_argument("--csv-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--target", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    backends = args.backends.split(",")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.workdir_path = workdir
    results: list[tuple[str, str, dict[str, float]]] = []
    if "sqlite" in backends:
        names = ["plain_sqlite", "plain_sqlite_multirow", "store_sqlite"]
        for name in names + (["csv_sqlite"] if args.csv else []):
            target = workdir / f"{name}.db"
            target.unlink(missing_ok=True)
            results.append(("sqlite", name, measure(args, name, str(target))))
            target.unlink(missing_ok=True)
    stop: Callable[[], None] | None = None
    pgdir: Path | None = None
    if "postgresql" in backends:
        admin = args.postgres
        if admin is None:
            pgdir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
            started = start_postgres(pgdir, PG_SETTINGS)
            if started is None:
                print("PostgreSQL: no server binaries, skipped", file=sys.stderr)
            else:
                admin, stop = started
        try:
            if admin is not None:
                names = ["plain_postgresql", "plain_postgresql_keys", "store_postgresql"]
                for name in names + (["csv_postgresql"] if args.csv else []):
                    url = postgres_database(admin, f"bench_{name}")
                    results.append(("postgresql", name, measure(args, name, url)))
                    postgres_database(admin, f"bench_{name}")  # empty it again
        finally:
            if stop is not None:
                stop()
            if pgdir is not None:
                shutil.rmtree(pgdir, ignore_errors=True)
    print(
        f"{results[0][2]['customers']:,} customers, {int(results[0][2]['rows']):,} revenue rows, "
        f"batches of {BATCH_ROWS:,}"
    )
    print("| backend | load | rows/s | seconds | vs plain | peak RSS | peak above start |")
    print("|---|---|---:|---:|---:|---:|---:|")
    plain: dict[str, float] = {}
    for backend, name, r in results:
        rate = r["rows"] / r["seconds"]
        if name in ("plain_sqlite", "plain_postgresql"):
            plain[backend] = rate
        ratio = f"{rate / plain[backend]:.2f}x" if backend in plain else ""
        label = {
            "plain_sqlite": "plain executemany, 1 row per INSERT",
            "plain_sqlite_multirow": "plain executemany, 100 rows per INSERT",
            "plain_postgresql": "plain COPY (write_row)",
            "plain_postgresql_keys": "plain COPY, then the store's primary key and index",
            "csv_sqlite": "Store.import_csv (CSV files, parsing included)",
            "csv_postgresql": "Store.import_csv (CSV files, parsing included)",
        }.get(name, "Store.import_rows")
        print(
            f"| {backend} | {label} | {rate:,.0f} | {r['seconds']:.1f} | {ratio} | "
            f"{mib(r['peak'])} | {mib(r['peak_above_start'])} |"
        )
    for backend, _, r in results:
        if "customers_seconds" in r:
            print(
                f"{backend}: customers imported in {r['customers_seconds']:.1f} s "
                "(before the revenue load, not in the figures above)"
            )


if __name__ == "__main__":
    main()
