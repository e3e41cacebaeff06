"""Generate the demo portfolio and time Portfolio.metrics against a dense-numpy floor.

The floor is the least work any implementation must do for three of the
metrics: scatter every record of the 24-month window into a dense
customers x months array of fen, then reduce its rows to ``t12m_revenue``,
``prev12m_revenue`` and ``active_months``. The script checks that
``Portfolio.metrics`` gives exactly the floor's values for those columns.

    .venv/bin/python benchmarks/bench_metrics.py                      # 1M customers, 24 months
    .venv/bin/python benchmarks/bench_metrics.py --customers 100000 --repeat 3

Results and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from _common import max_rss_mib, print_environment, timed, traced_peak_mib

from keyaccount import Period, Portfolio
from keyaccount.demo import generate

if TYPE_CHECKING:
    from collections.abc import Callable

WINDOW = 24


def dense_monthly(pf: Portfolio, as_of: Period) -> npt.NDArray[np.int64]:
    """Fen per customer and month of ``as_of - 23 .. as_of``, as a dense array."""
    rev = pf.revenue_columns
    n = len(pf)
    start = as_of.ordinal - (WINDOW - 1)
    offset = rev.period.astype(np.int64) - start
    inside = (offset >= 0) & (offset < WINDOW)
    key = rev.customer[inside].astype(np.int64) * WINDOW + offset[inside]
    # exact: |fen| totals stay far below 2**53, where float64 sums are exact
    sums = np.bincount(key, weights=rev.fen[inside].astype(np.float64), minlength=n * WINDOW)
    return np.rint(sums).astype(np.int64).reshape(n, WINDOW)


def reduce_dense(monthly: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    """t12m, prev12m and active months from the dense array."""
    recent = monthly[:, WINDOW - 12 :]
    return {
        "t12m_revenue": recent.sum(axis=1),
        "prev12m_revenue": monthly[:, : WINDOW - 12].sum(axis=1),
        "active_months": (recent > 0).sum(axis=1).astype(np.int64),
    }


def floor(pf: Portfolio, as_of: Period) -> dict[str, npt.NDArray[np.int64]]:
    """The floor: build the dense array and reduce it."""
    return reduce_dense(dense_monthly(pf, as_of))


def check_equal(pf: Portfolio, as_of: Period, table: Any) -> list[str]:
    """Columns where ``metrics`` and the floor differ (empty when they agree)."""
    expected = floor(pf, as_of)
    keep = pf.customer_columns.first_period <= as_of.ordinal
    if table.customer_ids.tolist() != pf.customer_columns.id[keep].tolist():
        return ["customer order"]
    return [
        name
        for name, values in expected.items()
        if not np.array_equal(table.columns[name], values[keep]) or bool(table.absent[name].any())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--end", default="2022-11")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each step")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the tracemalloc runs of each step"
    )
    args = parser.parse_args(argv)
    as_of = Period.parse(args.end)

    start = time.perf_counter()
    pf = generate(seed=args.seed, customers=args.customers, months=args.months, end=as_of)
    gen_seconds = time.perf_counter() - start
    gen_rss = max_rss_mib()
    records = len(pf.revenue_columns)
    print(
        f"demo portfolio: {len(pf):,} customers, {records:,} records "
        f"({records / (len(pf) * args.months):.2f} per customer-month), {args.months} months "
        f"ending {as_of}"
    )
    print(f"generate: {gen_seconds:.1f} s, peak RSS {gen_rss:,.0f} MiB\n")

    # The first call sorts the revenue by period once (kept until the revenue changes);
    # later calls, for any month, work on slices of it. Timed apart, once.
    start = time.perf_counter()
    pf.metrics(as_of)
    first_call = time.perf_counter() - start

    monthly = dense_monthly(pf, as_of)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("metrics(end)", lambda: pf.metrics(as_of)),
        ("metrics(end, rollup=True)", lambda: pf.metrics(as_of, rollup=True)),
        ("floor: dense build + reduce", lambda: floor(pf, as_of)),
        ("floor: reduce only", lambda: reduce_dense(monthly)),
    ]
    rows: list[tuple[str, float, float, float | None]] = [
        ("metrics(end), first call", first_call, first_call, None)
    ]
    table: Any = None
    for label, fn in steps:
        result, times = timed(fn, args.repeat)
        if label == "metrics(end)":
            table = result
        del result
        peak = None if args.no_memory else traced_peak_mib(fn)
        rows.append((label, min(times), statistics.median(times), peak))

    print(f"{'step':<30} {'best s':>8} {'median s':>9} {'peak MiB':>9}")
    for label, best, median, peak in rows:
        shown = "-" if peak is None else f"{peak:,.0f}"
        print(f"{label:<30} {best:>8.2f} {median:>9.2f} {shown:>9}")
    print(f"\nprocess peak RSS: {max_rss_mib():,.0f} MiB")

    bad = check_equal(pf, as_of, table)
    if bad:
        print(f"MISMATCH between metrics and the floor: {', '.join(bad)}")
        return 1
    print("metrics equals the floor for t12m_revenue, prev12m_revenue and active_months")
    return 0


if __name__ == "__main__":
    print_environment(["numpy"])
    status = main()
    print_environment(["numpy"], when="end")
    sys.exit(status)
