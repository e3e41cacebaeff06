"""A portfolio as Parquet: write and read, against ``pyarrow.parquet.read_table`` and the CSV.

    .venv/bin/python benchmarks/bench_parquet.py [--customers 1000000] [--months 24] [--repeat 3]

The demo portfolio (``keyaccount.demo.generate``, seed 2022, ending 2022-11) is written
once with ``write_portfolio_parquet`` and ``write_portfolio_csv`` into
``bench-out/parquet/<customers>x<months>/`` (reused by later runs; ``--regenerate``
writes it again). Then each step runs in a fresh child process, ``--repeat`` times:
the first call is *cold* (the process imports pyarrow and keyaccount and touches
fresh memory), *warm* is the best of the later calls. The files are in the page cache
for every step alike. Steps:

- ``read_table``: ``pyarrow.parquet.read_table`` of ``customers.parquet`` and of the
  ``revenue`` directory (hive partitions), every column (the revenue's ``customer_id``
  text too, which ``read_portfolio_parquet`` does not read: it follows ``customer_key``);
- ``read_portfolio_parquet``: the portfolio from the same files, every check run
  (the customers' checks of ``Portfolio.from_arrow``, the revenue's array checks by
  ``customer_key``, the groups);
- ``read_portfolio_csv``: the portfolio from the CSV files (the import it replaces);
- ``iter_revenue_csv``: the streaming revenue reader alone, every field checked;
- ``pyarrow.csv``: ``pyarrow.csv.read_csv`` of the same revenue file with explicit
  column types (``string`` ids and months, ``decimal128(13, 2)`` yuan, ``int64``
  volume), converting without the CSV format's checks (exponents, digits, spaces):
  the best a pyarrow-based reader could do before any check of its own;
- ``pyarrow.csv+checks``: ``pyarrow.csv.open_csv`` streaming text columns, screened by
  the format's main rules with Arrow regular expressions, products looked up, amounts
  made fen (no line numbers or reasons yet): a lower bound of a pyarrow-based reader at
  the same checks.

Each read is checked to hold the written customers and the sum of fen. Results are in
docs/benchmarks.md ("Parquet").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import _common

LIBRARIES = ["numpy", "pyarrow"]
SEED = 2022
END = "2022-11"
STEPS = (
    "read_table",
    "read_portfolio_parquet",
    "read_portfolio_csv",
    "iter_revenue_csv",
    "pyarrow.csv",
    "pyarrow.csv+checks",
)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _folder(out: Path, customers: int, months: int) -> Path:
    return out / f"{customers}x{months}"


def prepare(folder: Path, customers: int, months: int) -> dict[str, Any]:
    """Generate the demo and write it as Parquet and as CSV; the facts of the data."""
    from keyaccount.demo import generate
    from keyaccount.io import write_portfolio_csv, write_portfolio_parquet

    t = time.perf_counter()
    portfolio = generate(seed=SEED, customers=customers, months=months, end=END)
    generated = time.perf_counter() - t
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    write_portfolio_parquet(portfolio, folder / "parquet")
    parquet_s = time.perf_counter() - t
    t = time.perf_counter()
    write_portfolio_csv(portfolio, folder / "customers.csv", folder / "revenue.csv")
    csv_s = time.perf_counter() - t
    size = sum(p.stat().st_size for p in (folder / "parquet").rglob("*") if p.is_file())
    facts = {
        "customers": len(portfolio),
        "rows": len(portfolio.revenue_columns),
        "fen": int(portfolio.revenue_columns.fen.sum()),
        "generate_s": round(generated, 2),
        "write_parquet_s": round(parquet_s, 2),
        "write_csv_s": round(csv_s, 2),
        "parquet_mib": round(size / _common.MIB, 1),
        "csv_mib": round(
            sum((folder / n).stat().st_size for n in ("customers.csv", "revenue.csv"))
            / _common.MIB,
            1,
        ),
    }
    (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")
    return facts


def _run_step(step: str, folder: Path) -> tuple[int, int]:
    """Run one step once; the customers and the sum of fen it saw."""
    if step == "read_table":
        import pyarrow.parquet as pq

        customers = pq.read_table(folder / "parquet" / "customers.parquet")
        revenue = pq.read_table(folder / "parquet" / "revenue")
        import pyarrow.compute as pc

        return customers.num_rows, int(pc.sum(revenue.column("revenue_fen")).as_py())
    if step == "read_portfolio_parquet":
        from keyaccount.io import read_portfolio_parquet

        pf = read_portfolio_parquet(folder / "parquet")
        return len(pf), int(pf.revenue_columns.fen.sum())
    if step == "read_portfolio_csv":
        from keyaccount.io import read_portfolio_csv

        pf = read_portfolio_csv(folder / "customers.csv", folder / "revenue.csv")
        return len(pf), int(pf.revenue_columns.fen.sum())
    if step == "iter_revenue_csv":
        from keyaccount.io import iter_revenue_csv

        fen = 0
        for batch in iter_revenue_csv(folder / "revenue.csv"):
            fen += int(batch.fen.sum())
        return -1, fen
    if step == "pyarrow.csv":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        types = {
            "customer_id": pa.string(),
            "period": pa.string(),
            "product_id": pa.string(),
            "revenue": pa.decimal128(13, 2),
            "volume": pa.int64(),
        }
        table = pacsv.read_csv(
            folder / "revenue.csv", convert_options=pacsv.ConvertOptions(column_types=types)
        )
        fen = pc.sum(pc.multiply(table.column("revenue").cast(pa.decimal128(15, 2)), 100))
        return -1, int(fen.as_py())
    if step == "pyarrow.csv+checks":
        return -1, _pyarrow_checked(folder / "revenue.csv")
    raise SystemExit(f"unknown step {step}")


def _pyarrow_checked(path: Path) -> int:
    """The revenue file through ``pyarrow.csv.open_csv`` with the format's main checks.

    Every field is read as text and screened with Arrow's regular expressions (period
    ``YYYY-MM`` with month 01..12, yuan with at most 11 digits and two decimals, volume
    of at most 13 digits, ids without spaces around them), products are looked up in the
    catalogue, amounts become fen: a lower bound of what a pyarrow-based reader with the
    CSV format's checks costs (no line numbers, no reasons; a bad row would go to the
    row-by-row reference for those). The sum of fen.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from keyaccount.domain import default_catalog

    names = ["customer_id", "period", "product_id", "revenue", "volume"]
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
    )
    products = pa.array(list(default_catalog()))
    screens = {
        "period": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        "revenue": r"^-?[0-9]{1,11}(\.[0-9]{1,2})?$",
        "volume": r"^[0-9]{0,13}$",
        "customer_id": r"^[^\s](.*[^\s])?$",
    }
    fen = 0
    with pacsv.open_csv(path, convert_options=options) as reader:
        for batch in reader:
            for name, pattern in screens.items():
                ok = pc.match_substring_regex(batch.column(name), pattern)
                if not pc.all(ok).as_py():
                    raise ValueError(f"bad {name}: the reference parser would name the row")
            product = batch.column("product_id")
            if pc.any(pc.is_null(pc.index_in(product, value_set=products))).as_py():
                raise ValueError("unknown product")
            yuan = batch.column("revenue").cast(pa.decimal128(13, 2))
            cents = pc.multiply(yuan.cast(pa.decimal128(15, 2)), 100).cast(pa.int64())
            volume = batch.column("volume").cast(pa.int64())
            if pc.min(volume).as_py() < 0:
                raise ValueError("negative volume")
            fen += int(pc.sum(cents).as_py())
    return fen


def child(step: str, folder: Path, repeat: int) -> None:
    """Run ``step`` ``repeat`` times in this process; print one JSON line of figures."""
    wall: list[float] = []
    cpu: list[float] = []
    seen: tuple[int, int] = (0, 0)
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        seen = _run_step(step, folder)
        wall.append(time.perf_counter() - t)
        cpu.append(_cpu() - c)
    print(
        json.dumps(
            {
                "wall": [round(w, 3) for w in wall],
                "cpu": [round(c, 3) for c in cpu],
                "seen": seen,
                "peak_rss_mib": round(_common.max_rss_mib()),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-out/parquet"))
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--steps", default=",".join(STEPS), help="Comma-separated steps.")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)  # child side
    args = parser.parse_args()
    folder = _folder(args.out, args.customers, args.months)
    if args.step == "prepare":  # a child of its own: the parent stays small for the steps
        print(json.dumps(prepare(folder, args.customers, args.months)))
        return
    if args.step is not None:
        child(args.step, folder, args.repeat)
        return
    _common.print_environment(LIBRARIES)
    facts_file = folder / "facts.json"

    def child_args(step: str) -> list[str]:
        return [
            *("--step", step, "--customers", str(args.customers)),
            *("--months", str(args.months), "--repeat", str(args.repeat), "--out", str(args.out)),
        ]

    if args.regenerate or not facts_file.exists():
        facts = _common.run_child(__file__, child_args("prepare"))
    else:
        facts = json.loads(facts_file.read_text(encoding="utf-8"))
    print(f"data: {json.dumps(facts)}", flush=True)
    results: dict[str, Any] = {}
    for step in args.steps.split(","):
        out = _common.run_child(__file__, child_args(step))
        customers, fen = out["seen"]
        assert fen == facts["fen"], (step, fen, facts["fen"])
        assert customers in (-1, facts["customers"]), (step, customers)
        results[step] = out
        warm = min(out["wall"][1:]) if len(out["wall"]) > 1 else None
        print(f"  {step}: {json.dumps(out)} cold {out['wall'][0]:.2f} s warm {warm}", flush=True)
    print()
    print("| step | cold s | warm s | CPU s (warm) | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for step, out in results.items():
        wall, cpu = out["wall"], out["cpu"]
        k = min(range(1, len(wall)), key=wall.__getitem__) if len(wall) > 1 else 0
        print(
            f"| {step} | {wall[0]:.2f} | {wall[k]:.2f} | {cpu[k]:.2f} | {out['peak_rss_mib']:,} |"
        )

    def ratio(a: str, b: str, at: int) -> str:
        if a not in results or b not in results:
            return "-"
        wa, wb = results[a]["wall"], results[b]["wall"]
        pick = (lambda w: w[0]) if at == 0 else (lambda w: min(w[1:]) if len(w) > 1 else w[0])
        return f"{pick(wa) / pick(wb):.2f}x"

    print()
    pairs = (
        ("read_portfolio_parquet", "read_table"),
        ("read_portfolio_csv", "read_portfolio_parquet"),
        ("pyarrow.csv", "iter_revenue_csv"),
        ("pyarrow.csv+checks", "iter_revenue_csv"),
    )
    for at, label in ((0, "cold"), (1, "warm")):
        print(f"{label}: " + "; ".join(f"{a} / {b} {ratio(a, b, at)}" for a, b in pairs))
    _common.print_environment(LIBRARIES, when="end")


if __name__ == "__main__":
    main()
