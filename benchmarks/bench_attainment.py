"""Time attainment for all project groups and months against a plain-numpy floor.

The demo portfolio (``keyaccount.demo.generate``) gets ownership from its project groups
(from its first month on) plus random dated moves: a share of the customers move once
or twice to another group or leave theirs. The script then times
``keyaccount.operations.attainment`` for every group and every month (with quarter,
year and year-to-date roll-ups, targets, variance and the 2**53 check) next to the
**floor**: the same attributed sums by group x month with one ``np.bincount`` over
group codes computed beforehand (not timed). *Cold* runs use a new ``Ownership`` value
(its per-customer index is built inside the timing); *warm* runs reuse it. Every run
checks that the table's attributed revenue equals the floor's exactly.

    .venv/bin/python benchmarks/bench_attainment.py                    # 1M customers, 24 months
    .venv/bin/python benchmarks/bench_attainment.py --customers 300000 --repeat 5

Results and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from _common import max_rss_mib, print_environment, timed, traced_peak_mib

from keyaccount import Period, Portfolio
from keyaccount.demo import generate
from keyaccount.operations import (
    Ownership,
    OwnershipMove,
    SpanKind,
    Target,
    Targets,
    attainment,
)

if TYPE_CHECKING:
    from collections.abc import Callable


def random_moves(
    pf: Portfolio, group_ids: tuple[str, ...], share: float, months: int, end: Period, seed: int
) -> list[OwnershipMove]:
    """One or two moves for ``share`` of the customers, to a random group or to none."""
    rng = np.random.default_rng(seed)
    ids = pf.customer_columns.id
    chosen = rng.choice(len(ids), int(share * len(ids)), replace=False)
    moves: list[OwnershipMove] = []
    first = end - (months - 1)
    for c in chosen.tolist():
        count = int(rng.integers(1, 3))
        for step in sorted(rng.choice(np.arange(1, months), count, replace=False).tolist()):
            g = int(rng.integers(-1, len(group_ids)))
            moves.append(
                OwnershipMove(
                    str(ids[c]),
                    None if g < 0 else group_ids[g],
                    first + step,
                    "benchmark",
                    "random move",
                )
            )
    return moves


def build_ownership(pf: Portfolio, moves: list[OwnershipMove], start: Period) -> Ownership:
    """Ownership from the portfolio's project groups from ``start`` on, plus ``moves``."""
    return Ownership.from_portfolio(pf, start, actor="benchmark").add(moves)


def demo_targets(group_ids: tuple[str, ...], first: Period, months: int) -> Targets:
    """A monthly target for every group and month, and a year target for the last year."""
    rng = np.random.default_rng(7)
    targets = [
        Target(g, first + m, int(rng.integers(1_000_000, 50_000_000)))
        for g in group_ids
        for m in range(months)
    ]
    last_year = (first + (months - 1)).year
    targets += [Target(g, str(last_year), 400_000_000) for g in group_ids[:3]]
    return Targets(targets)


def floor(
    pf: Portfolio, codes: npt.NDArray[np.int32], n_groups: int, first: Period, width: int
) -> npt.NDArray[np.int64]:
    """Attributed fen by group x month of the window: one bincount over precomputed codes."""
    rev = pf.revenue_columns
    offset = rev.period - first.ordinal
    keep = (codes >= 0) & (offset >= 0) & (offset < width)
    cell = codes[keep].astype(np.intp) * width + offset[keep]
    sums = np.bincount(cell, weights=rev.fen[keep].astype(np.float64), minlength=n_groups * width)
    return sums.astype(np.int64).reshape(n_groups, width)


def cold_run(pf: Portfolio, ownership: Ownership, targets: Targets, months: Any) -> float:
    """Seconds of one attainment call with an ownership value used for the first time."""
    gc.collect()
    start = time.perf_counter()
    attainment(pf, ownership, targets, months)
    return time.perf_counter() - start


def check_equal(table: Any, expected: npt.NDArray[np.int64], first: Period) -> bool:
    """Whether the month rows' attributed revenue equals the floor's."""
    months = table.kind == SpanKind.MONTH.months
    got = np.zeros_like(expected)
    offset = table.start[months] - first.ordinal
    got[table.group[months], offset] = table.columns["attributed_fen"][months]
    inside = np.zeros(expected.shape[1], dtype=bool)
    inside[np.unique(offset)] = True
    return bool(np.array_equal(got[:, inside], expected[:, inside]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--end", default="2022-11")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step")
    parser.add_argument(
        "--move-share", type=float, default=0.02, help="share of customers given random moves"
    )
    parser.add_argument("--memory", action="store_true", help="also measure each step's peak")
    args = parser.parse_args(argv)
    end = Period.parse(args.end)
    first_month = end - (args.months - 1)

    start = time.perf_counter()
    pf = generate(seed=args.seed, customers=args.customers, months=args.months, end=end)
    records = len(pf.revenue_columns)
    print(
        f"demo portfolio: {len(pf):,} customers, {records:,} records, {args.months} months "
        f"ending {end} (generated in {time.perf_counter() - start:.1f} s)"
    )
    group_ids = tuple(g.id for g in pf.project_groups)
    moves = random_moves(pf, group_ids, args.move_share, args.months, end, args.seed)
    start = time.perf_counter()
    ownership = build_ownership(pf, moves, first_month)
    print(
        f"ownership: {len(ownership):,} moves ({len(moves):,} random), built in "
        f"{time.perf_counter() - start:.1f} s"
    )
    targets = demo_targets(group_ids, first_month, args.months)
    months = Period.range(first_month, end)

    # The window the table sums over: whole years (quarter and year rows are whole).
    window_first = Period(first_month.year, 1)
    width = 12 * (end.year - first_month.year + 1)
    codes = ownership.group_codes(pf.revenue_columns, pf.customer_columns.id)
    expected = floor(pf, codes, len(group_ids), window_first, width)

    # The first call also sums |fen| of the revenue once (the 2**53 screen, kept per array).
    first_times = [cold_run(pf, build_ownership(pf, moves, first_month), targets, months)]

    # Each step runs once untimed (numpy's large temporaries leave the allocator and the
    # page tables in a state that favours the next call of the same sizes), then
    # `--repeat` times timed. A cold run gets a new Ownership value each time.
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("floor: one bincount", lambda: floor(pf, codes, len(group_ids), window_first, width)),
        ("attainment, warm", lambda: attainment(pf, ownership, targets, months)),
        (
            "attainment by segment, warm",
            lambda: attainment(pf, ownership, targets, months, by_segment=True),
        ),
        (
            "group codes only, warm",
            lambda: ownership.group_codes(pf.revenue_columns, pf.customer_columns.id),
        ),
    ]
    rows: list[tuple[str, float, float, float | None]] = [
        ("attainment, first call", first_times[0], first_times[0], None)
    ]
    ok = True
    for label, fn in steps:
        fn()
        result, times = timed(fn, args.repeat)
        if label == "attainment, warm":
            ok = check_equal(result, expected, window_first)
        del result
        peak = traced_peak_mib(fn) if args.memory else None
        rows.append((label, min(times), statistics.median(times), peak))
    cold_times: list[float] = []
    for _ in range(args.repeat):  # a new value each time: no index yet
        cold_times.append(cold_run(pf, build_ownership(pf, moves, first_month), targets, months))
    rows.append(("attainment, cold", min(cold_times), statistics.median(cold_times), None))
    floor_best = next(r[1] for r in rows if r[0].startswith("floor"))
    print(f"\n{'step':<30} {'best s':>8} {'median s':>9} {'x floor':>8} {'peak MiB':>9}")
    for label, best, median, peak in rows:
        shown = "-" if peak is None else f"{peak:,.0f}"
        print(f"{label:<30} {best:>8.3f} {median:>9.3f} {best / floor_best:>8.2f} {shown:>9}")
    print(f"\nprocess peak RSS: {max_rss_mib():,.0f} MiB")
    if not ok:
        print("MISMATCH between attainment and the floor")
        return 1
    print("attainment's attributed revenue equals the floor's for every group and month")
    return 0


if __name__ == "__main__":
    print_environment(["numpy"])
    status = main()
    print_environment(["numpy"], when="end")
    sys.exit(status)
