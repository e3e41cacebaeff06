"""CSV parse speed and memory: keyaccount.io on a revenue file of about 25 million rows.

Writes the demo portfolio (``keyaccount.demo.generate``, seed 2022, 1 million
customers x 24 months ending 2022-11: about 26 million revenue rows) as a
customers file and a revenue file with ``keyaccount.io`` (kept in
``bench-out/csv`` and reused by later runs), then measures, each step in a
fresh child process:

- ``iter_revenue_csv``: the streaming revenue reader, batches of 500,000 rows,
  every row checked and converted (the sum of fen is checked against the
  portfolio's);
- ``csv.reader`` alone: a loop over the rows that converts nothing, the
  floor of any reader built on the ``csv`` module;
- the reference parser (``csv.reader`` and the plain-Python row parser, the
  specification the fast reader is tested against), on the first 2 million
  rows only;
- ``read_customers_csv`` on the million customers;
- the writers, timed while the files are made (first run only).

Memory is the child's resident set size, sampled every 20 ms, reported as the
peak and as the peak above what the child held before the step.

Usage::

    .venv/bin/python benchmarks/bench_csv.py                    # 1M customers x 24 months
    .venv/bin/python benchmarks/bench_csv.py --customers 100000 --repeat 3
    .venv/bin/python benchmarks/bench_csv.py --regenerate       # write the files again
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

from _common import MIB, PeakSampler, mib, print_environment, run_child

SEED = 2022
END = "2022-11"
REFERENCE_ROWS = 2_000_000


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def files(out: Path, customers: int, months: int) -> tuple[Path, Path, Path]:
    stem = f"{customers}x{months}"
    return out / f"customers-{stem}.csv", out / f"revenue-{stem}.csv", out / f"meta-{stem}.json"


# ------------------------------------------------------------------ steps (child side)


def step_generate(out: Path, customers: int, months: int) -> dict[str, Any]:
    from keyaccount.demo import generate
    from keyaccount.io import write_customers_csv, write_revenue_csv

    c_path, r_path, meta = files(out, customers, months)
    t = time.perf_counter()
    portfolio = generate(seed=SEED, customers=customers, months=months, end=END)
    generated = time.perf_counter() - t
    t = time.perf_counter()
    write_customers_csv(c_path, portfolio)
    customers_s = time.perf_counter() - t
    t = time.perf_counter()
    rows = write_revenue_csv(r_path, portfolio)
    revenue_s = time.perf_counter() - t
    fen = int(portfolio.revenue_columns.fen.sum())
    result = {
        "rows": rows,
        "customers": customers,
        "fen": fen,
        "bytes": r_path.stat().st_size,
        "generate_s": generated,
        "write_customers_s": customers_s,
        "write_revenue_s": revenue_s,
    }
    meta.write_text(json.dumps(result))
    return result


def step_parse(path: Path) -> dict[str, Any]:
    from keyaccount.io import iter_revenue_csv

    rows = 0
    fen = 0
    with PeakSampler() as memory:
        t, cpu = time.perf_counter(), cpu_seconds()
        for batch in iter_revenue_csv(path):
            rows += len(batch)
            fen += int(batch.fen.sum())
        seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    return {
        "rows": rows,
        "fen": fen,
        "s": seconds,
        "cpu": cpu,
        "peak": memory.peak,
        "start": memory.start,
    }


def step_csv_reader(path: Path) -> dict[str, Any]:
    rows = 0
    with PeakSampler() as memory:
        t, cpu = time.perf_counter(), cpu_seconds()
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            for _ in reader:
                rows += 1
        seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    return {"rows": rows, "s": seconds, "cpu": cpu, "peak": memory.peak, "start": memory.start}


def step_reference(path: Path, limit: int) -> dict[str, Any]:
    import itertools

    from keyaccount.domain import default_catalog
    from keyaccount.io._fields import REVENUE_RECORDS, RecordSpec, record_row
    from keyaccount.io._lines import csv_records, open_csv
    from keyaccount.io.problems import Problem

    rows = 0
    with PeakSampler() as memory, open_csv(path, _revenue_format()) as source:
        spec = RecordSpec.build(source.header, REVENUE_RECORDS, default_catalog(), None)
        t, cpu = time.perf_counter(), cpu_seconds()
        for line, fields in itertools.islice(csv_records(iter(source.file), 2), limit):
            if isinstance(record_row(line, fields, spec), Problem):
                raise SystemExit(f"reference parser refused line {line}")
            rows += 1
        seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    return {"rows": rows, "s": seconds, "cpu": cpu, "peak": memory.peak, "start": memory.start}


def _revenue_format() -> Any:
    from keyaccount.io._formats import REVENUE

    return REVENUE


def step_customers(path: Path) -> dict[str, Any]:
    from keyaccount.io import read_customers_csv

    with PeakSampler() as memory:
        t, cpu = time.perf_counter(), cpu_seconds()
        rows = read_customers_csv(path)
        seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    return {
        "rows": len(rows),
        "s": seconds,
        "cpu": cpu,
        "peak": memory.peak,
        "start": memory.start,
    }


def child(args: argparse.Namespace) -> None:
    out = Path(args.out)
    c_path, r_path, _ = files(out, args.customers, args.months)
    if args.step == "generate":
        result = step_generate(out, args.customers, args.months)
    elif args.step == "parse":
        result = step_parse(r_path)
    elif args.step == "csv_reader":
        result = step_csv_reader(r_path)
    elif args.step == "reference":
        result = step_reference(r_path, REFERENCE_ROWS)
    elif args.step == "customers":
        result = step_customers(c_path)
    else:
        raise SystemExit(f"unknown step {args.step}")
    print(json.dumps(result))


# ------------------------------------------------------------------ driver


def run_step(args: argparse.Namespace, step: str) -> dict[str, Any]:
    result: dict[str, Any] = run_child(
        __file__,
        [
            "--step",
            step,
            "--customers",
            str(args.customers),
            "--months",
            str(args.months),
            "--out",
            str(args.out),
        ],
    )
    return result


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest wall-clock time."""
    return min(runs, key=lambda r: r["s"])


def row(label: str, runs: list[dict[str, Any]]) -> str:
    fastest = best(runs)
    median = sorted(r["s"] for r in runs)[len(runs) // 2]
    cpu = min(r["cpu"] for r in runs)
    rate = fastest["rows"] / fastest["s"]
    cpu_rate = fastest["rows"] / cpu
    peak = max(r["peak"] for r in runs) / MIB
    above = max(r["peak"] - r["start"] for r in runs) / MIB
    return (
        f"| {label} | {fastest['rows']:,} | {fastest['s']:.2f} | {median:.2f} | "
        f"{rate / 1e6:.2f} | {cpu:.2f} | {cpu_rate / 1e6:.2f} | {peak:,.0f} | {above:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", default="bench-out/csv")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        child(args)
        return
    print_environment()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    c_path, r_path, meta_path = files(out, args.customers, args.months)
    if args.regenerate or not (c_path.exists() and r_path.exists() and meta_path.exists()):
        print(f"writing {c_path} and {r_path} ...", flush=True)
        meta = run_step(args, "generate")
        print(
            f"generate {meta['generate_s']:.1f} s; write_customers_csv "
            f"{meta['write_customers_s']:.1f} s; write_revenue_csv {meta['write_revenue_s']:.1f} s "
            f"({meta['rows'] / meta['write_revenue_s'] / 1e6:.2f} M rows/s)",
            flush=True,
        )
    meta = json.loads(meta_path.read_text())
    print(
        f"revenue file: {meta['rows']:,} rows, {mib(meta['bytes'])}; "
        f"customers file: {meta['customers']:,} rows",
        flush=True,
    )
    results: dict[str, list[dict[str, Any]]] = {}
    for step in ("parse", "csv_reader", "reference", "customers"):
        results[step] = []
        for _ in range(args.repeat):
            result = run_step(args, step)
            results[step].append(result)
            print(f"  {step}: {result['rows']:,} rows in {result['s']:.2f} s", flush=True)
    for result in results["parse"]:
        if result["rows"] != meta["rows"] or result["fen"] != meta["fen"]:
            raise SystemExit("iter_revenue_csv did not read back the rows that were written")
    print()
    print(
        "| step | rows | best s | median s | M rows/s | CPU s | M rows/CPU s "
        "| peak RSS MiB | above start MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(row("`iter_revenue_csv` (checked columns)", results["parse"]))
    print(row("`csv.reader` loop, no conversion", results["csv_reader"]))
    print(row("reference row parser (first 2M rows)", results["reference"]))
    print(row("`read_customers_csv`", results["customers"]))

    def rate(step: str, key: str) -> float:
        return max(r["rows"] / r[key] for r in results[step])

    print()
    for key, what in (("s", "wall-clock"), ("cpu", "CPU")):
        print(
            f"{what}: iter_revenue_csv reads {rate('parse', key) / rate('csv_reader', key):.1f}x "
            f"the rows per second of a bare csv.reader loop and "
            f"{rate('parse', key) / rate('reference', key):.0f}x the reference parser's"
        )
    print_environment(when="end")


if __name__ == "__main__":
    main()
