"""Portfolio.from_frames against its floor and against the CSV round trip.

    .venv/bin/python benchmarks/bench_frames.py [--customers 1000000] [--months 24] [--repeat 3]

The demo portfolio (``keyaccount.demo.generate``, seed 2022) is turned into frames
once (``to_frames`` for pandas, ``to_arrow`` for Arrow). Measured, in one process:

- floor: ``np.asarray`` over every column of both frames (the raw codes of the
  category columns, the ordinals of the period columns, fen and volume), plus
  building the portfolio from ready columns (``add_customer_columns`` and
  ``add_revenue_columns``: the checks every bulk path pays);
- ``Portfolio.from_frames`` on the pandas frames and ``Portfolio.from_arrow`` on the
  Arrow tables: cold (the first call in the process) and warm (best of ``--repeat``
  rounds that alternate floor, pandas and Arrow, so that load on a shared machine
  hits all three alike);
- the CSV round trip: ``write_portfolio_csv`` then ``read_portfolio_csv`` (one run).

Every portfolio built is checked to hold the same customers and revenue as the
demo's. Results are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np

LIBRARIES = ["numpy", "pandas", "pyarrow"]


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _same(a: Any, b: Any) -> None:
    ca, cb = a.customer_columns, b.customer_columns
    for name in ("id", "name", "segment", "sub_segment", "tier", "parent", "province"):
        assert np.array_equal(getattr(ca, name), getattr(cb, name)), name
    assert np.array_equal(ca.first_period, cb.first_period)
    assert np.array_equal(ca.tier_since, cb.tier_since)
    ra, rb = a.revenue_columns, b.revenue_columns
    for name in ("customer", "product", "period", "fen", "volume"):
        assert np.array_equal(getattr(ra, name), getattr(rb, name)), name


def _asarray_pandas(frames: tuple[Any, Any]) -> None:
    import pandas as pd

    for frame in frames:
        for name in frame.columns:
            column = frame[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                np.asarray(column.cat.codes)
            elif isinstance(column.dtype, pd.PeriodDtype):
                np.asarray(column.array.asi8)
            elif name == "revenue":
                continue  # the yuan twin of revenue_fen: from_frames reads the fen
            else:
                np.asarray(column)


def _asarray_arrow(tables: tuple[Any, Any]) -> None:
    import pyarrow as pa

    for table in tables:
        for name in table.column_names:
            column = table.column(name).combine_chunks()
            if pa.types.is_dictionary(column.type):
                np.asarray(column.indices)
            elif pa.types.is_date32(column.type):
                np.asarray(column.cast(pa.int32()))
            elif name == "revenue":
                continue
            else:
                column.to_numpy(zero_copy_only=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV round trip")
    args = parser.parse_args()
    _common.print_environment(LIBRARIES)

    from keyaccount import Portfolio
    from keyaccount.demo import generate
    from keyaccount.io import read_portfolio_csv, write_portfolio_csv

    seconds, pf = _timed(lambda: generate(customers=args.customers, months=args.months))
    records = len(pf.revenue_columns)
    print(f"generate: {len(pf):,} customers, {records:,} revenue records in {seconds:.1f} s")
    seconds, frames = _timed(pf.to_frames)
    print(f"to_frames: {seconds:.2f} s")
    seconds, tables = _timed(pf.to_arrow)
    print(f"to_arrow: {seconds:.2f} s")

    rows: list[tuple[str, float, float]] = []

    def floor_once() -> float:
        t_pd, _ = _timed(lambda: _asarray_pandas(frames))
        t_pa, _ = _timed(lambda: _asarray_arrow(tables))
        cols, rev = pf.customer_columns, pf.revenue_columns

        def build() -> None:
            built = Portfolio(products=pf.products)
            built.add_customer_columns(cols)
            built.add_revenue_columns(rev)

        t_build, _ = _timed(build)
        print(
            f"  floor parts: asarray pandas {t_pd:.2f} s, arrow {t_pa:.2f} s, build {t_build:.2f} s"
        )
        return min(t_pd, t_pa) + t_build

    cold_pandas, got = _timed(lambda: Portfolio.from_frames(*frames))
    _same(got, pf)
    cold_arrow, got = _timed(lambda: Portfolio.from_arrow(*tables))
    _same(got, pf)
    del got
    # Rounds alternate the three so that a load spike on the shared machine hits all alike;
    # the first round is cold for from_frames and from_arrow only in their first call above.
    times: dict[str, list[float]] = {"floor": [], "pandas": [], "arrow": []}
    for _ in range(args.repeat + 1):
        times["floor"].append(floor_once())
        times["pandas"].append(_timed(lambda: Portfolio.from_frames(*frames))[0])
        times["arrow"].append(_timed(lambda: Portfolio.from_arrow(*tables))[0])
    floor_warm = min(times["floor"][1:])
    rows.append(("floor: np.asarray + build from columns", times["floor"][0], floor_warm))
    rows.append(("from_frames (pandas)", cold_pandas, min(times["pandas"][1:])))
    rows.append(("from_arrow", cold_arrow, min(times["arrow"][1:])))
    print("  all rounds:", {k: [round(v, 2) for v in vs] for k, vs in times.items()})

    csv = None
    if not args.no_csv:
        with tempfile.TemporaryDirectory() as tmp:
            c, r = Path(tmp) / "customers.csv", Path(tmp) / "revenue.csv"
            t_write, _ = _timed(lambda: write_portfolio_csv(pf, c, r))
            t_read, got = _timed(lambda: read_portfolio_csv(c, r, catalog=pf.products))
            _same(got, pf)
            del got
        csv = t_write + t_read
        print(f"CSV round trip: write {t_write:.1f} s + read {t_read:.1f} s = {csv:.1f} s")

    print()
    print("| step | cold s | warm s | warm / floor | CSV round trip / warm |")
    print("|---|---:|---:|---:|---:|")
    for name, c_s, w_s in rows:
        ratio = w_s / floor_warm
        speedup = "" if csv is None or name.startswith("floor") else f"{csv / w_s:.1f}x"
        print(f"| {name} | {c_s:.2f} | {w_s:.2f} | {ratio:.2f} | {speedup} |")
    if csv is not None:
        print(f"| CSV round trip (write + read, one run) | {csv:.1f} | | | |")
    _common.print_environment(LIBRARIES, when="end")


if __name__ == "__main__":
    main()
