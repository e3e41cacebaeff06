"""keyaccount.analysis.rfm against lifetimes' summary_data_from_transaction_data.

    .venv/bin/python benchmarks/bench_rfm.py [--transactions 10000000] [--customers 200000]
    .venv/bin/python benchmarks/bench_rfm.py --repeat 3

Generated transactions (seed 11): customers drawn with a skewed weight, dates over two
years, whole-fen amounts (refunds included). Measured, in one process, ``--repeat``
times each, alternating (the first call of each is the cold figure, the best of the
others the warm one):

- ``transactions_from_frame`` (the import of the DataFrame, for reference);
- ``rfm(tx, end, freq=...)`` for ``D`` and ``W``;
- lifetimes 0.11.3's ``summary_data_from_transaction_data`` on the same DataFrame
  (amounts as float yuan, as lifetimes takes them) for ``D`` and ``W``; lifetimes cannot
  run ``M`` with pandas 3 (``Timedelta`` refuses the month unit).

Both results are checked to be the same numbers (frequency, recency, T exactly;
monetary within 1e-9 relative). Results are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from _common import print_environment


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--freqs", default="D,W")
    parser.add_argument(
        "--repeat", type=int, default=2, help="calls of each: the first (cold), then warm"
    )
    args = parser.parse_args()

    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    from keyaccount.analysis import rfm
    from keyaccount.io import transactions_from_frame

    rng = np.random.default_rng(11)
    n = args.transactions
    weight = rng.pareto(1.2, args.customers) + 1
    customer = rng.choice(args.customers, size=n, p=weight / weight.sum())
    ids = np.array([f"C{i:07d}" for i in range(args.customers)], dtype=object)
    day = rng.integers(0, 730, size=n)
    fen = rng.integers(-5_000, 2_000_000, size=n)
    frame = pd.DataFrame(
        {
            "customer_id": ids[customer],
            "date": pd.Timestamp("2022-01-01") + pd.to_timedelta(day, unit="D"),
            "amount": fen,
        }
    )
    end = "2023-09-30"
    print(f"{n:,} transactions, {args.customers:,} customers, observation end {end}")

    seconds, tx = _timed(lambda: transactions_from_frame(frame, amount_unit="fen"))
    print(f"transactions_from_frame: {seconds:.2f} s")
    frame["amount"] = frame["amount"] / 100
    for freq in args.freqs.split(","):
        ours_s: list[float] = []
        theirs_s: list[float] = []
        for _ in range(args.repeat):  # alternating; the first call of each is the cold one
            seconds, table = _timed(lambda freq=freq: rfm(tx, end, freq=freq))
            ours_s.append(seconds)
            seconds, expected = _timed(
                lambda freq=freq: summary_data_from_transaction_data(
                    frame, "customer_id", "date", "amount", observation_period_end=end, freq=freq
                )
            )
            theirs_s.append(seconds)
        ours = pd.DataFrame(
            {
                "frequency": table.frequency,
                "recency": table.recency,
                "T": table.T,
                "monetary": np.where(
                    table.frequency > 0,
                    table.repeat_fen / np.maximum(table.frequency, 1) / 100,
                    0.0,
                ),
            },
            index=pd.Index(table.customer_ids, name="customer_id"),
        ).loc[expected.index]
        assert len(ours) == len(expected) == len(table)
        assert np.array_equal(ours["frequency"].to_numpy(), expected["frequency"].to_numpy())
        assert np.array_equal(ours["recency"].to_numpy(), expected["recency"].to_numpy())
        assert np.array_equal(ours["T"].to_numpy(), expected["T"].to_numpy())
        np.testing.assert_allclose(
            ours["monetary"].to_numpy(), expected["monetary_value"].to_numpy(), rtol=1e-9
        )
        cold = f"first: rfm {ours_s[0]:.2f} s, lifetimes {theirs_s[0]:.2f} s "
        cold += f"({theirs_s[0] / ours_s[0]:.1f}x)"
        if args.repeat > 1:
            ours_w, theirs_w = min(ours_s[1:]), min(theirs_s[1:])
            cold += f"; warm best: rfm {ours_w:.2f} s, lifetimes {theirs_w:.2f} s "
            cold += f"({theirs_w / ours_w:.1f}x)"
        print(f"freq {freq}: {cold}; {len(table):,} customers, same numbers", flush=True)


if __name__ == "__main__":
    print_environment(["numpy", "pandas", "lifetimes"])
    main()
    print_environment(["numpy", "pandas", "lifetimes"], when="end")
