"""Benchmark: the policy compiled to SQL against a hand-written SQL query, inside the database.

Usage::

    .venv/bin/python benchmarks/bench_sql_rules.py                      # 1,000,000 customers
    .venv/bin/python benchmarks/bench_sql_rules.py --customers 100000 --repeat 5
    .venv/bin/python benchmarks/bench_sql_rules.py --backends sqlite --workdir /tmp/b --reuse

The demo generator builds the portfolio (24 months ending 2022-11); it is
saved with ``Store.save`` into a SQLite file and into a PostgreSQL database
(``--postgres`` names a server's admin URL; without it a throwaway server is
started from ``/usr/lib/postgresql/*/bin`` with ``shared_buffers=2GB`` and
``work_mem=256MB``). Both databases are ``ANALYZE``d. Then, on each, timed
alternately ``--repeat`` times:

- ``compiled``: the decisions query of the default policy (10 rules: 6 tier
  rules, 4 segment rules with 12 shares) compiled by
  ``keyaccount.store.sql._rules.compile_policy``, executed and fetched;
- ``hand-written``: one SQL text computing the same metrics and decisions
  (the same float64 operations in the same order), executed and fetched the
  same way;
- ``Store.evaluate``: the whole evaluator (compile, decisions, explanations of
  every transition and held demotion, the ``Evaluation``), then its
  ``transitions`` built;
- for contrast, ``Store.load`` of the whole portfolio and the in-memory
  evaluation (metrics and the columnar evaluator) of what it loaded.

Every run checks that the compiled and the hand-written decisions are equal,
and that ``Store.evaluate`` equals the in-memory columnar evaluation of the
loaded portfolio. Figures go to ``docs/benchmarks.md`` ("Rules in the database").
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from _common import (
    AUTO,
    JUDICIAL,
    SHARE_PRODUCTS,
    YUAN,
    final_codes,
    postgres_database,
    print_environment,
    start_postgres,
)

from keyaccount.demo import generate
from keyaccount.domain import Period
from keyaccount.rules import Outcome, default_policy
from keyaccount.store import Store
from keyaccount.store.sql._metrics import product_keys
from keyaccount.store.sql._rules import compile_policy

AS_OF = "2022-11"
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "work_mem": "256MB",
    "max_wal_size": "4GB",
    "fsync": "off",
}


# ---------------------------------------------------------------- the hand-written query


def hand_written_sql(*, float_sums: bool = False) -> str:
    """The default policy's metrics and decisions, written by hand (both databases).

    ``float_sums`` sums fen as float64 (exact below 2**53), as the compiled
    query does on PostgreSQL, where ``SUM`` of ``BIGINT`` is a ``numeric`` sum.
    """
    dp = "DOUBLE PRECISION"
    fen = f"CAST(revenue_fen AS {dp})" if float_sums else "revenue_fen"
    product_sums = ",\n".join(
        f"    SUM(CASE WHEN product_key = :k_{p} THEN {fen} ELSE 0 END) AS {p}"
        for p in SHARE_PRODUCTS
    )
    recent_sums = ",\n".join(
        f"    SUM(CASE WHEN period >= :recent THEN {p} ELSE 0 END) AS {p}" for p in SHARE_PRODUCTS
    )
    coalesced = ",\n".join(f"    COALESCE(w.{p}, 0) AS {p}" for p in SHARE_PRODUCTS)

    def share_sum(products: tuple[str, ...]) -> str:
        return " + ".join(f"CAST({p} AS {dp}) / total" for p in products)

    return f"""
WITH monthly AS (
  SELECT customer_key, period, SUM({fen}) AS fen,
{product_sums}
  FROM ka_revenue
  WHERE period BETWEEN :first AND :p
  GROUP BY customer_key, period
),
w AS (
  SELECT customer_key,
    SUM(CASE WHEN period >= :recent THEN fen ELSE 0 END) AS t12m,
    SUM(CASE WHEN period < :recent THEN fen ELSE 0 END) AS prev,
    SUM(CASE WHEN period >= :recent AND fen > 0 THEN 1 ELSE 0 END) AS active,
    MAX(CASE WHEN fen > 0 THEN period END) AS last_positive,
{recent_sums}
  FROM monthly
  GROUP BY customer_key
),
m AS (
  SELECT c.customer_key, c.customer_id, c.tier, c.segment,
    COALESCE(w.t12m, 0) AS t12m,
    COALESCE(w.active, 0) AS active,
    :p - COALESCE(w.last_positive, (
      SELECT r.period FROM ka_revenue r
      WHERE r.customer_key = c.customer_key AND r.period < :first
      GROUP BY r.period HAVING SUM(r.revenue_fen) > 0
      ORDER BY r.period DESC LIMIT 1)) AS since,
    :p - c.first_period AS tenure,
    :p - COALESCE(c.tier_since, c.first_period) AS months_in_tier,
    CASE WHEN w.prev > 0
      THEN CAST(w.t12m AS {dp}) / CAST(w.prev AS {dp}) - CAST(1 AS {dp}) END AS yoy,
    CASE WHEN w.t12m > 0 THEN CAST(w.t12m AS {dp}) END AS total,
{coalesced}
  FROM ka_customer c LEFT JOIN w ON w.customer_key = c.customer_key
  WHERE c.first_period <= :p
),
d AS (
  SELECT customer_key, customer_id, tier, segment, months_in_tier,
    CASE
      WHEN tier >= 1 AND (since >= 6 OR (t12m <= 0 AND tenure >= 6)) THEN 0
      WHEN tier = 0 AND since <= 1 AND active >= 2 THEN 1
      WHEN tier = 2 AND t12m >= {10_000_000 * YUAN} AND active >= 11 THEN 3
      WHEN tier = 1 AND t12m >= {1_000_000 * YUAN} AND active >= 10 THEN 2
      WHEN tier = 3 AND (t12m < {6_000_000 * YUAN} OR yoy < CAST(-0.4 AS {dp})) THEN 2
      WHEN tier = 2 AND t12m < {600_000 * YUAN} THEN 1
    END AS target,
    CASE WHEN segment IS NULL THEN
      CASE
        WHEN {share_sum(JUDICIAL)} >= CAST(0.5 AS {dp}) THEN 'JUDICIAL'
        WHEN {share_sum(AUTO)} >= CAST(0.5 AS {dp}) THEN 'AUTO_ECOSYSTEM'
        WHEN CAST(card_letter AS {dp}) / total >= CAST(0.5 AS {dp}) THEN 'FINANCE'
        WHEN CAST(policy_mailing AS {dp}) / total >= CAST(0.5 AS {dp}) THEN 'INSURANCE'
      END
    END AS new_segment
  FROM m
)
SELECT customer_key, customer_id,
  CASE WHEN target < tier AND months_in_tier < 3 THEN tier ELSE COALESCE(target, tier) END,
  CASE WHEN target < tier AND months_in_tier < 3 THEN 1 ELSE 0 END,
  COALESCE(new_segment, segment)
FROM d
ORDER BY customer_key
"""


def hand_written(conn: sa.Connection, *, float_sums: bool = False) -> list[Any]:
    p = Period.parse(AS_OF).ordinal
    keys = product_keys(conn)
    params: dict[str, int] = {"p": p, "recent": p - 11, "first": p - 23}
    params |= {f"k_{name}": keys[name] for name in SHARE_PRODUCTS}
    return conn.execute(sa.text(hand_written_sql(float_sums=float_sums)), params).all()


# ---------------------------------------------------------------- the compiled query


def compiled(conn: sa.Connection) -> list[Any]:
    stmt = compile_policy(
        default_policy(),
        AS_OF,
        catalog=product_keys(conn),
        postgresql=conn.dialect.name == "postgresql",
    ).decisions
    return conn.execute(stmt).all()


def decisions_of_compiled(rows: list[Any]) -> tuple[np.ndarray, ...]:
    """Tier after the month, held, segment code after the month."""
    from keyaccount.domain import segment_code
    from keyaccount.store.sql._rules import _chain

    policy = default_policy()
    cols = list(zip(*rows, strict=True))
    tier = _chain(
        cols[4],
        np.array(cols[2], dtype=np.int8),
        [r.to.rank for r in policy.tier_rules if r.to is not None],
    )
    segment = _chain(
        cols[5],
        np.array(cols[3], dtype=np.int8),
        [segment_code(r.to_segment) for r in policy.segment_rules],
    )
    return (
        np.array(cols[0], dtype=np.int64),
        final_codes(tier),
        tier.outcome == Outcome.HELD,
        final_codes(segment),
    )


def decisions_of_hand_written(rows: list[Any]) -> tuple[np.ndarray, ...]:
    from keyaccount.domain import SEGMENTS

    code = {s.name: i for i, s in enumerate(SEGMENTS)}
    cols = list(zip(*rows, strict=True))
    return (
        np.array(cols[0], dtype=np.int64),
        np.array(cols[2], dtype=np.int8),
        np.array(cols[3]) == 1,
        np.array([-1 if s is None else code[s] for s in cols[4]], dtype=np.int8),
    )


# ---------------------------------------------------------------- driver


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cpu_timed(fn: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of this process (all of SQLite's work, none of PostgreSQL's)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def run_backend(name: str, url: str, portfolio: Any, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": name}
    with Store(url) as store:
        if not (args.reuse and store.counts()["customers"] == len(portfolio)):
            seconds, _ = timed(lambda: store.save(portfolio, replace=True))
            result["save"] = seconds
            print(f"  {name}: saved in {seconds:.1f} s", flush=True)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        result["revenue_rows"] = store.counts()["revenue"]
        variants: dict[str, Any] = {
            "hand-written": hand_written,
            "compiled": compiled,
        }
        if name == "postgresql":
            variants["hand-written, float64 sums"] = lambda conn: hand_written(
                conn, float_sums=True
            )
        times: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        reference: tuple[np.ndarray, ...] | None = None
        for i in range(args.repeat):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for variant in order:
                with store.engine.connect() as conn:
                    fn = variants[variant]
                    seconds, cpu_seconds, rows = cpu_timed(lambda: fn(conn))  # noqa: B023
                    conn.rollback()
                times[variant].append(seconds)
                cpu[variant].append(cpu_seconds)
                got = (
                    decisions_of_compiled(rows)
                    if variant == "compiled"
                    else decisions_of_hand_written(rows)
                )
                if reference is None:
                    reference = got
                same = all(np.array_equal(a, b) for a, b in zip(reference, got, strict=True))
                if not same:
                    raise SystemExit(f"{name}: {variant} decisions differ")
                print(
                    f"  {name}: {variant} {seconds:.2f} s, CPU {cpu_seconds:.2f} s "
                    f"({len(rows):,} rows)",
                    flush=True,
                )
        result["times"] = times
        result["cpu"] = cpu
        policy = default_policy()
        evaluate_times: list[float] = []
        evaluation = None
        for _ in range(max(1, args.repeat // 2)):
            start = time.perf_counter()
            evaluation = store.evaluate(policy, AS_OF)
            _ = evaluation.transitions, evaluation.held
            evaluate_times.append(time.perf_counter() - start)
        assert evaluation is not None
        result["evaluate"] = evaluate_times
        result["transitions"] = len(evaluation.transitions)
        result["held"] = len(evaluation.held)
        seconds, loaded = timed(store.load)
        result["load"] = seconds
        seconds, in_memory = timed(lambda: policy.evaluate(loaded, AS_OF))
        result["in_memory"] = seconds
        print(
            f"  {name}: Store.load {result['load']:.1f} s, then in memory "
            f"(metrics + columnar evaluation) {seconds:.1f} s",
            flush=True,
        )
        if evaluation.transitions != in_memory.transitions or evaluation.held != in_memory.held:
            raise SystemExit(f"{name}: Store.evaluate differs from the in-memory evaluation")
        print(
            f"  {name}: Store.evaluate {min(evaluate_times):.2f} s, "
            f"{result['transitions']:,} transitions, {result['held']:,} held; "
            "equal to the in-memory evaluation",
            flush=True,
        )
    return result


def report(results: list[dict[str, Any]]) -> None:
    print("\n| backend | step | best s | median s | vs hand-written | best CPU s (client) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        hand = min(r["times"]["hand-written"])
        if "save" in r:
            print(f"| {r['backend']} | `Store.save` | {r['save']:.1f} | | | |")
        for variant, t in r["times"].items():
            print(
                f"| {r['backend']} | {variant} query | {min(t):.2f} | "
                f"{statistics.median(t):.2f} | {min(t) / hand:.2f}x | "
                f"{min(r['cpu'][variant]):.2f} |"
            )
        e = r["evaluate"]
        print(
            f"| {r['backend']} | `Store.evaluate` + transitions | {min(e):.2f} | "
            f"{statistics.median(e):.2f} | {min(e) / hand:.2f}x | |"
        )
        print(f"| {r['backend']} | `Store.load` | {r['load']:.1f} | | | |")
        print(f"| {r['backend']} | then in memory | {r['in_memory']:.1f} | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--workdir", default=None, help="where the SQLite file goes")
    parser.add_argument("--reuse", action="store_true", help="keep a store already filled")
    args = parser.parse_args()
    backends = args.backends.split(",")

    seconds, portfolio = timed(
        lambda: generate(customers=args.customers, months=args.months, end=AS_OF)
    )
    print(f"generated {args.customers:,} customers in {seconds:.1f} s", flush=True)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="ka-sqlb-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    stop = None
    pgdir: Path | None = None
    try:
        if "sqlite" in backends:
            path = workdir / f"rules-{args.customers}.db"
            results.append(run_backend("sqlite", f"sqlite:///{path}", portfolio, args))
        if "postgresql" in backends:
            admin = args.postgres
            if admin is None:
                pgdir = Path(tempfile.mkdtemp(prefix="ka-sqlb-pg-"))
                started = start_postgres(pgdir, PG_SETTINGS)
                if started is None:
                    raise SystemExit("PostgreSQL: no server binaries in /usr/lib/postgresql/*/bin")
                admin, stop = started
            url = postgres_database(admin, f"ka_rules_{args.customers}", fresh=not args.reuse)
            results.append(run_backend("postgresql", url, portfolio, args))
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
