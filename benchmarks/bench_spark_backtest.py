"""Spark local[2]: the default policy backtested month by month, against the in-memory backtest.

    .venv/bin/python benchmarks/bench_spark.py --customers 1000000 --variants keyaccount  # data
    .venv/bin/python benchmarks/bench_spark_backtest.py --customers 1000000 --months 3

Reads the Parquet portfolio that ``bench_spark.py`` writes (``<workdir>/data/<customers>/``,
the demo of 24 months ending 2022-11; run that script first with the same ``--customers``).
Two child processes, one after the other:

- ``spark``: a fresh ``local[2]`` session (``spark.driver.memory`` from ``--driver-memory``,
  UI off, partition type inference off), then ``keyaccount.spark.backtest(default_policy(),
  customers, revenue, start, end)`` over the last ``--months`` months, written as Parquet
  partitioned by period; the session start is timed apart; the JVM's peak (``VmHWM``).
- ``memory``: ``read_portfolio_parquet`` then ``Policy.backtest`` over the same months; the
  process's peak resident set.

Each prints the tier moves and held demotions per month; the parent compares them and fails
on a difference. Figures go to docs/benchmarks.md ("Spark").
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common
import bench_spark

AS_OF = "2022-11"


def _months(count: int) -> tuple[str, str]:
    from keyaccount.domain import Period

    end = Period.parse(AS_OF)
    return str(Period.from_ordinal(end.ordinal - count + 1)), str(end)


def spark_child(folder: Path, out: Path, months: int, driver_memory: str) -> None:
    """The backtest on Spark; one JSON line: times, peaks, counts per month."""
    start = time.perf_counter()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("bench_spark_backtest")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - start
    java = bench_spark._descendants_named("java")

    from keyaccount import spark as ks
    from keyaccount.rules import default_policy

    first, last = _months(months)
    t = time.perf_counter()
    customers = session.read.parquet(str(folder / "customers.parquet"))
    revenue = session.read.parquet(str(folder / "revenue"))
    frame = ks.backtest(default_policy(), customers, revenue, first, last)
    frame.write.mode("overwrite").partitionBy("period").parquet(str(out))
    wall = time.perf_counter() - t
    counts = {
        str(row["period"]): [int(row["moves"]), int(row["held"])]
        for row in session.read.parquet(str(out))
        .selectExpr(
            "period",
            "CASE WHEN tier_outcome = 'MOVE' THEN 1 ELSE 0 END AS moves",
            "CASE WHEN tier_outcome = 'HELD' THEN 1 ELSE 0 END AS held",
        )
        .groupBy("period")
        .sum("moves", "held")
        .withColumnRenamed("sum(moves)", "moves")
        .withColumnRenamed("sum(held)", "held")
        .collect()
    }
    jvm = [bench_spark._vm_hwm_mib(pid) for pid in java]
    session.stop()
    print(
        json.dumps(
            {
                "session_s": round(session_s, 2),
                "wall": round(wall, 3),
                "jvm_peak_mib": round(max((m for m in jvm if m is not None), default=0)),
                "python_peak_mib": round(_common.max_rss_mib()),
                "counts": counts,
            }
        )
    )


def memory_child(folder: Path, months: int) -> None:
    """The in-memory backtest; one JSON line."""
    from keyaccount.io import read_portfolio_parquet
    from keyaccount.rules import default_policy

    t = time.perf_counter()
    portfolio = read_portfolio_parquet(folder)
    read_s = time.perf_counter() - t
    first, last = _months(months)
    t = time.perf_counter()
    run = default_policy().backtest(portfolio, first, last)
    wall = time.perf_counter() - t
    counts = {}
    for i, month in enumerate(run.months):
        moves = run.tier_moves[i]
        counts[str(month)] = [int(moves.sum() - moves.trace()), int(run.held[i])]
    print(
        json.dumps(
            {
                "read_s": round(read_s, 2),
                "wall": round(wall, 3),
                "peak_mib": round(_common.max_rss_mib()),
                "counts": counts,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/spark"))
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir: Path = args.workdir.resolve()
    folder = workdir / "data" / str(args.customers)
    out = workdir / "out" / str(args.customers) / "backtest"
    if args.step == "spark":
        spark_child(folder, out, args.months, args.driver_memory)
        return
    if args.step == "memory":
        memory_child(folder, args.months)
        return
    if not (folder / "customers.parquet").exists():
        raise SystemExit(
            f"no Parquet portfolio in {folder}: run bench_spark.py --customers {args.customers} "
            "first"
        )
    _common.print_environment(bench_spark.LIBRARIES)
    common = ["--customers", str(args.customers), "--months", str(args.months)]
    common += ["--workdir", str(workdir), "--driver-memory", args.driver_memory]
    results: dict[str, Any] = {}
    for step in ("spark", "memory"):
        done = subprocess.run(
            [sys.executable, __file__, "--step", step, *common],
            check=True,
            capture_output=True,
            text=True,
        )
        results[step] = _common.last_json_line(done.stdout)
        print(f"  {step}: {json.dumps(results[step])}", flush=True)
    if out.exists():
        shutil.rmtree(out)
    spark, memory = results["spark"], results["memory"]
    if spark["counts"] != memory["counts"]:
        raise SystemExit(
            f"the backtests differ: Spark {spark['counts']}, memory {memory['counts']}"
        )
    first, last = _months(args.months)
    print()
    print(f"{args.customers:,} customers, {first} .. {last} ({args.months} months):")
    print("| path | session s | backtest s | per month s | peak MiB |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| Spark `keyaccount.spark.backtest`, written | {spark['session_s']:.1f} | "
        f"{spark['wall']:.1f} | {spark['wall'] / args.months:.1f} | JVM {spark['jvm_peak_mib']:,} |"
    )
    print(
        f"| in memory `Policy.backtest` (read {memory['read_s']:.1f} s) | | "
        f"{memory['wall']:.2f} | {memory['wall'] / args.months:.2f} | {memory['peak_mib']:,} |"
    )
    print(f"tier moves and held per month, equal: {json.dumps(memory['counts'])}")
    _common.print_environment(bench_spark.LIBRARIES, when="end")


if __name__ == "__main__":
    main()
