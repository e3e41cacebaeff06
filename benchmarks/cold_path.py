"""Benchmark: the cold path from a store to decisions, against the ADBC read plus the dense floor.

Usage::

    .venv/bin/python benchmarks/cold_path.py --workdir /tmp/cold            # 1,000,000 customers
    .venv/bin/python benchmarks/cold_path.py --workdir /tmp/cold --customers 100000
    .venv/bin/python benchmarks/cold_path.py --workdir /tmp/cold --backends sqlite

The demo portfolio (24 months ending 2022-11) is generated once and kept in
``--workdir``: saved with ``Store.save`` into a SQLite file, and into a PostgreSQL
database of a throwaway server whose data directory stays in ``--workdir`` too (later
runs start it again). Its columns are kept as ``.npz`` files for the dense floor.

Every step runs in a fresh process (cold: nothing of an earlier step is in memory;
the operating system's file cache is warm, as it is for every variant), ``--repeats``
times, alternating the variants:

- ``keyaccount``: ``Store.open``, ``load()``, the first ``metrics`` and the default
  policy's ``evaluate``; then, in the same process, ``load()`` again and the warm
  ``metrics`` + ``evaluate`` (best of three).
- ``keyaccount plain``: the same with the plain driver path (``sqlite3`` rows, or
  psycopg's binary ``COPY``), the path taken without the ``adbc`` extra (no warm load).
- ``adbc``: the ADBC driver (``adbc-driver-sqlite`` / ``adbc-driver-postgresql``, in
  its fastest setting: 65,536 rows per batch on SQLite) reading ``ka_customer`` and
  ``ka_revenue`` to Arrow tables; cold, then again in the same process.
- ``copy`` (PostgreSQL): psycopg's ``COPY (...) TO STDOUT (FORMAT BINARY)`` of the
  same two tables into bytes (no parsing), once, for the choice between the two.
- ``dense``: the floor of ``bench_rules.py``: the same metrics and decisions in plain
  numpy on dense customers x months arrays, whose building is not counted.

``keyaccount`` and ``dense`` run twice over: as they are, and with
``NUMPY_MADVISE_HUGEPAGE=0`` ("no huge pages"): numpy asks the kernel for huge pages
for every large array, which on a machine whose memory is fragmented (transparent huge
pages with ``defrag`` at ``madvise``) makes the first touch of fresh memory cost more
than the work done in it; the environment lines give the kernel's settings. The floor
is the faster of its two runs.

Beside the wall clock, the load and the ADBC read report CPU seconds: the child's own
(all its threads: the driver's reading thread, numpy, SQLite's work) and the PostgreSQL
server's (every ``postgres`` process on the machine, from ``/proc``), which show where
the time goes when both share the 2 cores.

Imports are timed apart (``import keyaccount.store, keyaccount.rules``; ``import
pyarrow, adbc_driver_*``, on both sides) and not counted in the steps.
The ratio is keyaccount's cold total over (the ADBC read's cold time + the floor).
Figures go to ``docs/benchmarks.md`` ("The cold path").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import _common

AS_OF = "2022-11"
LIBRARIES = ["adbc-driver-sqlite", "adbc-driver-postgresql", "pyarrow", "psycopg", "sqlalchemy"]
PG_SETTINGS = {"shared_buffers": "1GB", "work_mem": "256MB", "max_wal_size": "8GB"}
TABLES = (
    "SELECT customer_key, customer_id, name, segment, sub_segment, tier, parent_key, "
    "province, first_period, tier_since FROM ka_customer",
    "SELECT customer_key, product_key, period, revenue_fen, volume FROM ka_revenue",
)


# ---------------------------------------------------------------- building (once)


def build(data: Path, customers: int, months: int) -> None:
    """Generate the portfolio; keep its columns and save it into the SQLite store."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_rules import build as save_columns

    from keyaccount.demo import generate
    from keyaccount.store import Store

    save_columns(data, customers, months)
    pf = generate(customers=customers, months=months, end=AS_OF)
    start = time.perf_counter()
    with Store.create(data / "store.db") as store:
        store.save(pf)
    print(json.dumps({"saved_sqlite_s": time.perf_counter() - start}))


def save_postgres(data: Path, url: str, customers: int, months: int) -> None:
    """Save the portfolio into the PostgreSQL database ``url``."""
    from keyaccount.demo import generate
    from keyaccount.store import Store

    pf = generate(customers=customers, months=months, end=AS_OF)
    start = time.perf_counter()
    with Store.create(url) as store:
        store.save(pf)
    print(json.dumps({"saved_postgresql_s": time.perf_counter() - start}))


def postgres(pgdir: Path) -> tuple[str, Any]:
    """The admin URL of a server on ``pgdir`` (started again when it exists) and its stop."""
    if not (pgdir / "data").exists():
        pgdir.mkdir(parents=True, exist_ok=True)
        started = _common.start_postgres(pgdir, PG_SETTINGS)
        if started is None:
            raise SystemExit("no PostgreSQL server binaries")
        return started
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)[0]
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = " ".join(
        [
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={pgdir}",
            *(f"-c {k}={v}" for k, v in PG_SETTINGS.items()),
        ]
    )
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(pgdir / "data")]
    subprocess.run(
        [*pg_ctl, "-l", str(pgdir / "log"), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


# ---------------------------------------------------------------- children (one step each)


def cpu_used(cpu: float, server: float) -> list[float]:
    """CPU seconds since ``cpu`` / ``server``: this process (all its threads), the server."""
    return [time.process_time() - cpu, _common.postgres_cpu_seconds() - server]


def child_keyaccount(url: str, plain: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    from keyaccount.rules import default_policy
    from keyaccount.store import Store
    from keyaccount.store import _store as store_module

    if not plain:  # as for the ADBC read: the libraries' import is not counted
        import adbc_driver_manager  # noqa: F401
        import pyarrow  # noqa: F401

        if url.startswith("sqlite"):
            import adbc_driver_sqlite  # noqa: F401
        else:
            import adbc_driver_postgresql  # noqa: F401
    imported = time.perf_counter() - t0
    if plain:  # the path taken without the adbc extra
        store_module.load_through_arrow = lambda *_: None  # type: ignore[assignment]
    policy = default_policy()
    times: dict[str, float] = {"imports (not counted)": imported}
    t = time.perf_counter()
    store = Store.open(url)
    times["open"] = time.perf_counter() - t
    t, cpu, server = time.perf_counter(), time.process_time(), _common.postgres_cpu_seconds()
    pf = store.load()
    times["load"] = time.perf_counter() - t
    used = {"load": cpu_used(cpu, server)}
    t = time.perf_counter()
    table = pf.metrics(AS_OF)
    times["first metrics"] = time.perf_counter() - t
    t = time.perf_counter()
    evaluation = policy.evaluate(table)
    times["evaluate"] = time.perf_counter() - t
    times["total"] = sum(v for k, v in times.items() if k != "imports (not counted)")
    del pf, table
    if not plain:  # the plain path's second load would only repeat its first
        t = time.perf_counter()
        pf = store.load()
        times["warm load"] = time.perf_counter() - t
    else:
        pf = store.load()
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        policy.evaluate(pf.metrics(AS_OF))
        warm.append(time.perf_counter() - t)
    times["warm metrics + evaluate"] = min(warm)
    store.close()
    del evaluation
    return {"times": times, "cpu": used}


def child_adbc(url: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    import adbc_driver_manager
    import pyarrow as pa

    if url.startswith("sqlite"):
        import adbc_driver_sqlite as driver

        target = url.removeprefix("sqlite:///")
    else:
        import adbc_driver_postgresql as driver  # type: ignore[no-redef]

        target = _common.psycopg_conninfo(url)
    times: dict[str, float] = {"imports (not counted)": time.perf_counter() - t0}
    used: dict[str, list[float]] = {}
    for label in ("read", "warm read"):
        t, cpu, server = time.perf_counter(), time.process_time(), _common.postgres_cpu_seconds()
        database = driver.connect(target)
        conn = adbc_driver_manager.AdbcConnection(database)
        rows = 0
        for sql in TABLES:
            stmt = adbc_driver_manager.AdbcStatement(conn)
            if url.startswith("sqlite"):
                stmt.set_options(**{"adbc.sqlite.query.batch_rows": "65536"})
            stmt.set_sql_query(sql)
            stream, _ = stmt.execute_query()
            table = pa.RecordBatchReader._import_from_c(stream.address).read_all()
            rows += table.num_rows
            del table
            stmt.close()
        conn.close()
        database.close()
        times[label] = time.perf_counter() - t
        used[label] = cpu_used(cpu, server)
    return {"times": times, "rows": rows, "cpu": used}


def child_copy(url: str) -> dict[str, Any]:
    import psycopg

    times: dict[str, float] = {}
    for label in ("read",):  # one row per message: slow enough to run once
        t = time.perf_counter()
        size = 0
        with psycopg.connect(_common.psycopg_conninfo(url)) as conn:
            for sql in TABLES:
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)") as copy,
                ):
                    size += len(b"".join(copy))
        times[label] = time.perf_counter() - t
    return {"times": times, "bytes": size}


def child_dense(data: Path) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_rules import load, run_dense

    pf = load(data)
    runs = [run_dense(pf, AS_OF)["times"]["metrics + decisions"] for _ in range(3)]
    return {"times": {"metrics + decisions": min(runs)}}


def child(args: argparse.Namespace) -> None:
    kind = args.child
    if kind == "build":
        build(Path(args.data), args.customers, args.months)
        return
    if kind == "save-postgres":
        save_postgres(Path(args.data), args.url, args.customers, args.months)
        return
    result = {
        "keyaccount": lambda: child_keyaccount(args.url, plain=False),
        "keyaccount plain": lambda: child_keyaccount(args.url, plain=True),
        "adbc": lambda: child_adbc(args.url),
        "copy": lambda: child_copy(args.url),
        "dense": lambda: child_dense(Path(args.data)),
    }[kind]()
    print(json.dumps(result))


# ---------------------------------------------------------------- the run


NO_HUGE_PAGES: Final = " (no huge pages)"
"""A variant's suffix: its child runs with ``NUMPY_MADVISE_HUGEPAGE=0``."""


def spawn(kind: str, **options: Any) -> dict[str, Any]:
    env = None
    if kind.endswith(NO_HUGE_PAGES):
        kind, env = kind.removesuffix(NO_HUGE_PAGES), {"NUMPY_MADVISE_HUGEPAGE": "0"}
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    result: dict[str, Any] = _common.run_child(__file__, ["--child", kind, *flags], env=env)
    return result


def best(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: min(r["times"][k] for r in runs) for k in runs[0]["times"]}


def median(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r["times"][k] for r in runs) for k in runs[0]["times"]}


def show(name: str, runs: list[dict[str, Any]]) -> None:
    b, m = best(runs), median(runs)
    cells = ", ".join(f"{k} {b[k]:.2f} ({m[k]:.2f})" for k in b)
    print(f"  {name:<17} best (median) s: {cells}", flush=True)
    for step in runs[0].get("cpu", {}):
        pairs = ", ".join(f"{r['cpu'][step][0]:.2f} + {r['cpu'][step][1]:.2f}" for r in runs)
        print(f"  {'':<17} {step} CPU s, this process + server, each run: {pairs}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workdir", required=False)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not args.workdir:
        parser.error("--workdir is required")
    _common.print_environment(LIBRARIES)
    data = Path(args.workdir) / f"c{args.customers}m{args.months}"
    if not (data / "store.db").exists():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        print(spawn("build", data=data, customers=args.customers, months=args.months))
    urls = {"sqlite": f"sqlite:///{data / 'store.db'}"}
    stop = None
    if "postgresql" in args.backends:
        admin, stop = postgres(data / "pg")
        name = "ka_cold"
        made = data / "pg-saved"
        urls["postgresql"] = _common.postgres_database(admin, name, fresh=not made.exists())
        if not made.exists():
            print(
                spawn(
                    "save-postgres",
                    data=data,
                    url=urls["postgresql"],
                    customers=args.customers,
                    months=args.months,
                )
            )
            made.touch()
    try:
        dense = {
            kind: [spawn(kind, data=data) for _ in range(args.repeats)]
            for kind in ("dense", "dense" + NO_HUGE_PAGES)
        }
        floor = min(best(runs)["metrics + decisions"] for runs in dense.values())
        print(f"{args.customers:,} customers x {args.months} months, as of {AS_OF}")
        for kind, runs in dense.items():
            show(kind.replace("dense", "dense floor"), runs)
        for backend in args.backends:
            url = urls[backend]
            kinds = ["keyaccount", "keyaccount" + NO_HUGE_PAGES, "keyaccount plain", "adbc"]
            if backend == "postgresql":
                kinds.append("copy")
            runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
            for repeat in range(args.repeats):
                for kind in kinds:
                    if kind != "copy" or repeat == 0:  # two minutes of bytes: once is enough
                        runs[kind].append(spawn(kind, url=url))
            print(f"{backend}:")
            for kind in kinds:
                show(kind, runs[kind])
            read = best(runs["adbc"])["read"]
            plain = best(runs["keyaccount plain"])
            for kind in ("keyaccount", "keyaccount" + NO_HUGE_PAGES):
                ours = best(runs[kind])
                print(
                    f"  {kind}: cold ratio {ours['total']:.2f} / ({read:.2f} + {floor:.2f}) "
                    f"= {ours['total'] / (read + floor):.2f}x (goal 1.3x); load alone / ADBC "
                    f"read {ours['load'] / read:.2f}x; warm metrics + evaluate / floor "
                    f"{ours['warm metrics + evaluate'] / floor:.2f}x",
                    flush=True,
                )
            print(f"  plain path: {plain['total'] / (read + floor):.2f}x", flush=True)
    finally:
        if stop is not None:
            stop()
        _common.print_environment(LIBRARIES, when="end")


if __name__ == "__main__":
    main()
