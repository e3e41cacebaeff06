"""Bulk import speed: keyaccount.store against the plain drivers at their fastest.

Loads the demo portfolio's revenue (``keyaccount.demo.generate``: 1 million
customers x 24 months, about 26 million revenue rows by default) in batches
of 500,000 rows, and compares in one run:

- SQLite: ``Store.import_rows`` (customer ids mapped to keys and checked,
  products, months and limits checked, revenue written in one transaction,
  the (customer, period) index in place or built, committed) against plain
  loads of the same integer rows into a table without indexes or
  constraints, with ``journal_mode=OFF`` and ``synchronous=OFF`` (no crash
  safety at all): ``sqlite3.executemany`` of a prepared multi-row
  ``INSERT ... VALUES`` with 100, 500 and 6,553 rows per statement (6,553 x 5
  columns is the limit of 32,766 parameters), and the ADBC SQLite driver's
  ``adbc_ingest`` of Arrow tables. Each plain load then builds the index
  the store's table has, timed apart; one more, 500 rows per statement into
  a table that has the index from the start (the store's way for rows
  grouped by customer, with its 64 MiB page cache), is a plain load with the
  same index but not a bare one;
- PostgreSQL: the same ``Store.import_rows`` against plain ``COPY`` into a
  bare table: binary ``COPY ... FROM STDIN`` of blocks encoded by numpy
  (``copy.write`` of one record array per 100,000 rows), the ADBC
  PostgreSQL driver's ``adbc_ingest`` (binary COPY from Arrow), and psycopg's
  ``write_row`` (a Python call per row); each then builds the primary key
  and the (customer, period) index the store's table has, timed apart.

With ``--csv`` it also times ``Store.import_csv`` of the same portfolio
written as a customers and a revenue file (reading and checking included).

Each round runs in a fresh child process that generates the data once and
then runs every load of its backend, one after the other, each into a
fresh file or database (the order alternates between rounds); the table
gives the best and the median of the rounds. The store's load is split
into phases from SQLAlchemy's events: the statements that build indexes and
keys, the commit, and the rest (reading the customer ids, checking and
writing the rows). Memory is the child's
resident set size, sampled every 20 ms during a load, as the peak above
what the child held before it (the generated portfolio).

Usage::

    .venv/bin/python benchmarks/bench_import.py                 # 1M customers, both backends
    .venv/bin/python benchmarks/bench_import.py --customers 100000 --backends sqlite
    .venv/bin/python benchmarks/bench_import.py --postgres postgresql://user@host/db
    .venv/bin/python benchmarks/bench_import.py --repeat 3      # three rounds
    .venv/bin/python benchmarks/bench_import.py --csv           # also the whole CSV path

Without ``--postgres`` a throwaway PostgreSQL server is started from the
binaries in ``/usr/lib/postgresql/*/bin`` (as the ``postgres`` user when run
as root); PostgreSQL is skipped when there are none.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
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
    print_environment,
    psycopg_conninfo,
    run_child,
    start_postgres,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BATCH_ROWS = 500_000
PG_SETTINGS = {"shared_buffers": "256MB", "max_wal_size": "4GB"}
LIBRARIES = ["SQLAlchemy", "psycopg", "pyarrow", "adbc-driver-sqlite", "adbc-driver-postgresql"]
COLUMNS = ("customer_key", "product_key", "period", "revenue_fen", "volume")
BARE_TABLE = (
    "CREATE TABLE revenue ({identity}customer_key integer, product_key integer, "
    "period integer, revenue_fen bigint, volume bigint)"
)

SQLITE_LOADS = [
    "sqlite_rows_100",
    "sqlite_rows_500",
    "sqlite_rows_6553",
    "sqlite_rows_500_indexed",
    "sqlite_adbc",
    "store",
]
INDEXED = {"sqlite_rows_500_indexed"}
"""Plain loads into a table that has the store's index during the load: not bare loads."""
POSTGRES_LOADS = ["pg_copy_numpy", "pg_adbc", "pg_copy_write_row", "store"]
LABELS = {
    "sqlite_rows_100": "plain executemany, 100 rows per INSERT",
    "sqlite_rows_500": "plain executemany, 500 rows per INSERT",
    "sqlite_rows_6553": "plain executemany, 6,553 rows per INSERT",
    "sqlite_rows_500_indexed": "plain executemany, 500 rows per INSERT, index in place",
    "sqlite_adbc": "plain ADBC `adbc_ingest` (Arrow)",
    "pg_copy_numpy": "plain binary COPY, numpy-encoded blocks",
    "pg_adbc": "plain ADBC `adbc_ingest` (binary COPY from Arrow)",
    "pg_copy_write_row": "plain COPY, psycopg `write_row` per row",
    "store": "`Store.import_rows`",
    "csv": "`Store.import_csv` (CSV files, parsing included)",
}


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


def measured(load: Callable[[], Any], keys: Callable[[], Any] | None = None) -> dict[str, float]:
    """Time ``load`` (and then ``keys``, apart) with the resident set sampled."""
    with PeakSampler() as memory:
        t0 = time.perf_counter()
        rows = load()
        t1 = time.perf_counter()
        if keys is not None:
            keys()
        t2 = time.perf_counter()
    return {
        "rows": rows,
        "seconds": t1 - t0,
        "keys_seconds": t2 - t1,
        "peak": memory.peak,
        "peak_above_start": memory.peak - memory.start,
    }


# ---------------------------------------------------------------- the store


def run_store(portfolio: Any, url: str) -> dict[str, float]:
    """``Store.import_rows`` of the revenue, with its phases timed (see :func:`watch_phases`)."""
    from keyaccount.io import CustomerRows
    from keyaccount.store import Store

    customers = CustomerRows.from_columns(portfolio.customer_columns)
    with Store(url) as store:
        t0 = time.perf_counter()
        store.import_rows(customers, catalog=portfolio.products, progress=False)
        customers_seconds = time.perf_counter() - t0
        phases = watch_phases(store.engine)
        result = measured(
            lambda: (
                store.import_rows(
                    revenue=revenue_batches(portfolio), catalog=portfolio.products, progress=False
                ).revenue_rows
            )
        )
    result["customers_seconds"] = customers_seconds
    result["ddl_seconds"] = phases["ddl"]
    result["commit_seconds"] = phases["committed_at"] - phases["commit_at"]
    return result


def watch_phases(engine: Any) -> dict[str, float]:
    """Time, on ``engine``, the statements that build indexes and keys, and the commit.

    Returns a dictionary filled as the import runs: ``ddl`` (seconds in ``CREATE``,
    ``ALTER`` and ``DROP`` statements), ``commit_at`` and ``committed_at``
    (``perf_counter`` readings as the last commit began and as its connection went
    back to the pool).
    """
    from sqlalchemy import event

    phases = {"ddl": 0.0, "commit_at": 0.0, "committed_at": 0.0}
    started: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(conn)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("CREATE", "ALTER", "DROP")):
            phases["ddl"] += time.perf_counter() - started.pop(id(conn), time.perf_counter())

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        phases["commit_at"] = time.perf_counter()

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        phases["committed_at"] = time.perf_counter()

    return phases


def run_store_csv(portfolio: Any, url: str, workdir: Path) -> dict[str, float]:
    """The whole CSV path: ``Store.import_csv`` of a customers and a revenue file."""
    from keyaccount.io import write_portfolio_csv
    from keyaccount.store import Store

    customers, revenue = workdir / "bench_customers.csv", workdir / "bench_revenue.csv"
    write_portfolio_csv(portfolio, customers, revenue)
    try:
        with Store(url) as store:
            return measured(
                lambda: (
                    store.import_csv(
                        customers, revenue, catalog=portfolio.products, progress=False
                    ).revenue_rows
                )
            )
    finally:
        customers.unlink(missing_ok=True)
        revenue.unlink(missing_ok=True)


# ---------------------------------------------------------------- plain SQLite


def run_sqlite_rows(portfolio: Any, path: str, k: int, *, indexed: bool) -> dict[str, float]:
    """``executemany`` of a prepared ``k``-row ``INSERT``, then the store's index.

    With ``indexed`` the index is there before the load, as the store keeps it for
    rows grouped by customer, and the cache is the store's 64 MiB.
    """
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute(BARE_TABLE.format(identity=""))
    if indexed:
        con.execute("PRAGMA cache_size = -65536")
        con.execute("CREATE INDEX ix_revenue ON revenue (customer_key, period)")
    one = "INSERT INTO revenue VALUES (?, ?, ?, ?, ?)"
    many = "INSERT INTO revenue VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * k)

    def load() -> int:
        rows = 0
        con.execute("BEGIN")
        for columns in key_batches(portfolio):
            block = np.empty((len(columns[0]), 5), dtype=np.int64)
            for i, column in enumerate(columns):
                block[:, i] = column
            full = len(block) // k * k
            flat = iter(block[:full].ravel().tolist())
            con.executemany(many, zip(*[flat] * (5 * k), strict=True))
            con.executemany(one, block[full:].tolist())
            rows += len(block)
        con.execute("COMMIT")
        return rows

    def index() -> None:
        con.execute("CREATE INDEX ix_revenue ON revenue (customer_key, period)")

    try:
        return measured(load, None if indexed else index)
    finally:
        con.close()


def run_sqlite_adbc(portfolio: Any, path: str) -> dict[str, float]:
    """The ADBC SQLite driver's ``adbc_ingest`` of one Arrow table per batch."""
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    con = adbc.connect(path, autocommit=True)
    cur = con.cursor()
    cur.execute("PRAGMA journal_mode = OFF")
    cur.execute("PRAGMA synchronous = OFF")
    cur.execute(BARE_TABLE.format(identity=""))

    def load() -> int:
        rows = 0
        cur.execute("BEGIN")
        for columns in key_batches(portfolio):
            cur.adbc_ingest(
                "revenue", pa.table(dict(zip(COLUMNS, columns, strict=True))), mode="append"
            )
            rows += len(columns[0])
        cur.execute("COMMIT")
        return rows

    def index() -> None:
        cur.execute("CREATE INDEX ix_revenue ON revenue (customer_key, period)")

    try:
        return measured(load, index)
    finally:
        cur.close()
        con.close()


# ---------------------------------------------------------------- plain PostgreSQL


def _pg_keys(conn: Any) -> None:
    conn.execute("ALTER TABLE revenue ADD PRIMARY KEY (revenue_key)")
    conn.execute("CREATE INDEX ON revenue (customer_key, period)")
    conn.commit()


def _pg_bare(conn: Any) -> None:
    identity = "revenue_key bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 10000), "
    conn.execute(BARE_TABLE.format(identity=identity).encode())
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.commit()


def run_pg_copy(portfolio: Any, url: str, *, numpy_blocks: bool) -> dict[str, float]:
    """``COPY ... FROM STDIN (FORMAT BINARY)``: numpy-encoded blocks or ``write_row``."""
    import psycopg

    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    record = np.dtype(
        [("n", ">i2")]
        + [
            item
            for i, size in enumerate((4, 4, 4, 8, 8))
            for item in ((f"l{i}", ">i4"), (f"v{i}", f">i{size}"))
        ]
    )
    sql = f"COPY revenue ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"

    with psycopg.connect(psycopg_conninfo(url)) as conn:
        _pg_bare(conn)

        def load() -> int:
            rows = 0
            with conn.cursor() as cur:
                for columns in key_batches(portfolio):
                    with cur.copy(sql) as copy:
                        if numpy_blocks:
                            copy.write(header)
                            for cut in range(0, len(columns[0]), 100_000):
                                part = np.empty(len(columns[0][cut : cut + 100_000]), dtype=record)
                                part["n"] = 5
                                for i, column in enumerate(columns):
                                    part[f"l{i}"] = part.dtype[f"v{i}"].itemsize
                                    part[f"v{i}"] = column[cut : cut + 100_000]
                                copy.write(part.view(np.uint8).data)
                            copy.write(b"\xff\xff")
                        else:
                            copy.set_types(["int4", "int4", "int4", "int8", "int8"])
                            for row in zip(*(c.tolist() for c in columns), strict=True):
                                copy.write_row(row)
                    rows += len(columns[0])
            conn.commit()
            return rows

        return measured(load, lambda: _pg_keys(conn))


def run_pg_adbc(portfolio: Any, url: str) -> dict[str, float]:
    """The ADBC PostgreSQL driver's ``adbc_ingest`` (binary COPY of Arrow tables)."""
    import adbc_driver_postgresql.dbapi as adbc
    import psycopg
    import pyarrow as pa

    with psycopg.connect(psycopg_conninfo(url)) as conn:
        _pg_bare(conn)
        con = adbc.connect(psycopg_conninfo(url))
        try:
            cur = con.cursor()

            def load() -> int:
                rows = 0
                for columns in key_batches(portfolio):
                    table = pa.table(
                        [pa.array(c, type=t) for c, t in zip(columns, _ARROW_TYPES, strict=True)],
                        names=list(COLUMNS),
                    )
                    cur.adbc_ingest("revenue", table, mode="append")
                    rows += len(columns[0])
                con.commit()
                return rows

            return measured(load, lambda: _pg_keys(conn))
        finally:
            con.close()


def _arrow_types() -> list[Any]:
    import pyarrow as pa

    return [pa.int32(), pa.int32(), pa.int32(), pa.int64(), pa.int64()]


_ARROW_TYPES: list[Any] = []


# ---------------------------------------------------------------- driver


def run_load(name: str, portfolio: Any, url: str, workdir: Path) -> dict[str, float]:
    """Run the load ``name`` into the empty database at ``url``."""
    path = url.removeprefix("sqlite:///")
    if name.startswith("sqlite_rows_"):
        rows = int(name.split("_")[2])
        return run_sqlite_rows(portfolio, path, rows, indexed=name in INDEXED)
    if name == "sqlite_adbc":
        return run_sqlite_adbc(portfolio, path)
    if name.startswith("pg_copy_"):
        return run_pg_copy(portfolio, url, numpy_blocks=name == "pg_copy_numpy")
    if name == "pg_adbc":
        return run_pg_adbc(portfolio, url)
    if name == "store":
        return run_store(portfolio, url)
    return run_store_csv(portfolio, url, workdir)


def child(args: argparse.Namespace) -> None:
    _ARROW_TYPES.extend(_arrow_types())
    portfolio = make_data(args.customers, args.months, args.seed)
    names = args.loads.split(",")
    results: dict[str, dict[str, float]] = {}
    workdir = Path(args.csv_dir)
    for name in names:
        if args.backend == "sqlite":
            target = workdir / f"bench_{name}.db"
            target.unlink(missing_ok=True)
            url = f"sqlite:///{target}"
        else:
            url = postgres_database(args.target, f"bench_{name}")
        try:
            results[name] = run_load(name, portfolio, url, workdir)
        finally:
            if args.backend == "sqlite":
                target.unlink(missing_ok=True)
            else:
                postgres_database(args.target, f"bench_{name}")  # empty it again
    print(json.dumps({"customers": len(portfolio), "results": results}))


def run_rounds(args: argparse.Namespace, backend: str, loads: list[str], target: str) -> Any:
    rounds = []
    for r in range(args.repeat):
        order = loads if r % 2 == 0 else loads[::-1]
        cmd = [
            "--child",
            backend,
            "--loads",
            ",".join(order),
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
        rounds.append(run_child(__file__, cmd))
    return rounds


def report(backend: str, rounds: list[Any]) -> None:
    names = list(rounds[0]["results"])
    first = rounds[0]["results"][names[0]]
    print(
        f"\n{backend}: {rounds[0]['customers']:,} customers, {int(first['rows']):,} revenue rows, "
        f"batches of {BATCH_ROWS:,}, {len(rounds)} rounds"
    )

    def seconds(name: str, keys: bool) -> list[float]:
        return [
            r["results"][name]["seconds"] + (r["results"][name]["keys_seconds"] if keys else 0)
            for r in rounds
        ]

    plain = [n for n in names if n not in ("store", "csv")]
    fastest_load = min((n for n in plain if n not in INDEXED), key=lambda n: min(seconds(n, False)))
    fastest_keys = min(plain, key=lambda n: min(seconds(n, True)))
    print(f"fastest plain load: {LABELS[fastest_load]}; with the index: {LABELS[fastest_keys]}")
    if INDEXED & set(names):
        print(
            "(the bare loads write a table without the index the store's table ends with; "
            "'+ index' and 'index in place' are the plain loads with it)"
        )
    print(
        "| load | best s | median s | rows/s (best) | + index: best s | median s "
        "| store vs load (best, median) | store vs load + index | peak above start |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ref_load = seconds(fastest_load, False)
    ref_keys = seconds(fastest_keys, True)
    for name in sorted(names, key=lambda n: (n in ("store", "csv"), n)):
        s = seconds(name, False)
        k = seconds(name, True)
        rows = rounds[0]["results"][name]["rows"]
        peak = max(r["results"][name]["peak_above_start"] for r in rounds)
        with_keys = (
            f"{min(k):.1f} | {statistics.median(k):.1f}" if name not in ("store", "csv") else "| "
        )
        ratios = ""
        if name in ("store", "csv"):
            ratios = (
                f"{min(ref_load) / min(s):.2f}x, "
                f"{statistics.median(ref_load) / statistics.median(s):.2f}x | "
                f"{min(ref_keys) / min(s):.2f}x, "
                f"{statistics.median(ref_keys) / statistics.median(s):.2f}x"
            )
        else:
            ratios = " | "
        print(
            f"| {LABELS[name]} | {min(s):.1f} | {statistics.median(s):.1f} | "
            f"{rows / min(s):,.0f} | {with_keys} | {ratios} | {mib(peak)} |"
        )
    if "store" in names:
        customers = [r["results"]["store"]["customers_seconds"] for r in rounds]
        print(f"customers imported first in {min(customers):.1f} s (not in the figures)")
        best = min(rounds, key=lambda r: r["results"]["store"]["seconds"])["results"]["store"]
        rest = best["seconds"] - best["ddl_seconds"] - best["commit_seconds"]
        print(
            f"store phases (best round, {best['seconds']:.1f} s): reading the ids, checking and "
            f"writing the rows {rest:.1f} s, indexes and keys (DDL) {best['ddl_seconds']:.1f} s, "
            f"commit {best['commit_seconds']:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--workdir", default=None, help="where the SQLite and CSV files go")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (best and median)")
    parser.add_argument(
        "--csv", action="store_true", help="also time Store.import_csv of CSV files (slow)"
    )
    parser.add_argument("--loads", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--csv-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--target", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.backend = args.child
        child(args)
        return
    print_environment(LIBRARIES)
    backends = args.backends.split(",")
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.workdir_path = workdir
    extra = ["csv"] if args.csv else []
    try:
        if "sqlite" in backends:
            report("sqlite", run_rounds(args, "sqlite", SQLITE_LOADS + extra, ""))
        if "postgresql" in backends:
            run_postgres(args, extra)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print_environment(LIBRARIES, when="end")


def run_postgres(args: argparse.Namespace, extra: list[str]) -> None:
    stop: Callable[[], None] | None = None
    pgdir: Path | None = None
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
            report("postgresql", run_rounds(args, "postgresql", POSTGRES_LOADS + extra, admin))
    finally:
        if stop is not None:
            stop()
        if pgdir is not None:
            shutil.rmtree(pgdir, ignore_errors=True)


if __name__ == "__main__":
    main()
