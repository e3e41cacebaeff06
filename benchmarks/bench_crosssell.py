"""Time cross-selling at scale: co-purchase statistics against mlxtend, bulk recommendations
for every customer, and the per-customer networkx path as the contrast.

The portfolio is the demo portfolio (``keyaccount.demo.generate``, seed 2022, 12 months
ending 2022-11; 23 catalogue products) plus ``--extra-products`` products of our own
(``extra_01``, ...), added to the catalogue with one revenue record each for a share of
customers: every extra product has a "partner" catalogue product whose buyers take it far
more often than others, so the rules and recommendations have something to find.

Steps, side by side in one run, for each size:

1. ``build_basket``: the baskets (CSR) from the revenue records.
2. (co-purchase statistics, ``frequent_itemsets`` + ``association_rules``, against
   mlxtend's apriori, fpgrowth and hmine, are ``bench_copurchase.py``)
3. ``CrossSellModel.fit`` and ``recommend_all(5)`` for every customer, with the evidence
   behind each recommendation; the explanation text is made on demand, timed here for
   ``--explain`` customers.
4. the per-customer networkx path at ``--nx-customers`` customers: ``nx.pagerank`` with
   the restart on one customer, on the purchase graph, for ``--nx-sample`` customers,
   against the bulk proximity of every customer of that portfolio (and checked equal).

    .venv/bin/python benchmarks/bench_crosssell.py                       # 100k and 1M, 4 calls
    .venv/bin/python benchmarks/bench_crosssell.py --sizes 100000 --repeat 3

Results and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np
from _common import max_rss_mib, print_environment, timed, traced_peak_mib

from keyaccount import Portfolio, Product
from keyaccount.crosssell import (
    CrossSellModel,
    build_basket,
    networkx_proximity,
    purchase_graph,
)
from keyaccount.demo import generate
from keyaccount.portfolio import RevenueColumns

END = "2022-11"


def portfolio(customers: int, extra: int, seed: int = 2022) -> Portfolio:
    """The demo portfolio with ``extra`` products of our own and their revenue."""
    pf = generate(seed=seed, customers=customers, months=12, end=END)
    rng = np.random.default_rng(seed)
    base = build_basket(pf, END, volume=False).matrix.tocsc()
    k0 = len(pf.products)
    end_ordinal = pf.period_span[1].ordinal if pf.period_span else 0
    first = pf.customer_columns.first_period
    blocks = []
    for i in range(extra):
        pf.add_product(Product(f"extra_{i + 1:02d}", f"Extra product {i + 1}", f"自有产品{i + 1}"))
        partner = int(rng.integers(1, k0))
        bought = np.zeros(customers, dtype=bool)
        bought[base.indices[base.indptr[partner] : base.indptr[partner + 1]]] = True
        chance = np.where(bought, rng.uniform(0.2, 0.5), rng.uniform(0.002, 0.03))
        buyers = np.flatnonzero(rng.random(customers) < chance)
        period = np.maximum(first[buyers], end_ordinal - rng.integers(0, 12, buyers.shape[0]))
        blocks.append(
            RevenueColumns(
                buyers.astype(np.int32),
                np.full(buyers.shape[0], k0 + i, dtype=np.int32),
                period.astype(np.int32),
                rng.integers(1_000, 5_000_000, buyers.shape[0]).astype(np.int64),
                rng.integers(1, 500, buyers.shape[0]).astype(np.int64),
            )
        )
    pf.add_revenue_columns(RevenueColumns.concat(blocks))
    return pf


def row(name: str, times: list[float], peak: float | str = "") -> str:
    """A table row: the first call (cold), the best and median of the repeats after it."""
    first, warm = times[0], times[1:]
    best = f"{min(warm):.2f}" if warm else ""
    med = f"{statistics.median(warm):.2f}" if len(warm) > 1 else ""
    mem = f"{peak:,.0f}" if isinstance(peak, float) else peak
    return f"| {name} | {first:.2f} | {best} | {med} | {mem} |"


def bench_size(n: int, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    pf = portfolio(n, args.extra_products)
    made = time.perf_counter() - start
    records = len(pf.revenue_columns)
    lines = [
        f"**{n:,} customers, {len(pf.products)} products** ({records:,} records; "
        f"generated in {made:.1f} s)",
        "",
        "| step | first s | warm best s | warm median s | peak MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    basket, t_basket = timed(lambda: build_basket(pf, END, volume=False), args.repeat)
    lines.append(row("`build_basket`", t_basket, traced_peak_mib(lambda: build_basket(pf, END))))
    active = int(basket.active.sum())
    sizes = basket.sizes[basket.active]

    model, t_fit = timed(lambda: CrossSellModel.fit(pf, END), args.repeat)
    lines.append(
        row("`CrossSellModel.fit`", t_fit, traced_peak_mib(lambda: CrossSellModel.fit(pf, END)))
    )
    table, t_all = timed(lambda: model.recommend_all(5), args.repeat)
    lines.append(
        row(
            "`recommend_all(5)`, every customer",
            t_all,
            traced_peak_mib(lambda: model.recommend_all(5)),
        )
    )
    sample = table.customer_ids[: args.explain].tolist()
    _, t_text = timed(lambda: [r.explanation() for c in sample for r in table.for_customer(c)], 1)
    lines.append(row(f"explanation text, {len(sample):,} customers", t_text))
    lines += [
        "",
        f"Transactions (active customers): {active:,}; products per basket: mean "
        f"{sizes.mean():.2f}, max {sizes.max()}. Recommendations: {table.count:,} for "
        f"{len(table):,} customers; "
        f"fit + recommend_all {t_fit[0] + t_all[0]:.2f} s first, "
        f"{min(t_fit[1:] or t_fit) + min(t_all[1:] or t_all):.2f} s warm. Process peak RSS: "
        f"{max_rss_mib():,.0f} MiB.",
        "",
    ]
    print("\n".join(lines), flush=True)


def bench_networkx(args: argparse.Namespace) -> None:
    n = args.nx_customers
    pf = portfolio(n, args.extra_products)
    model = CrossSellModel.fit(pf, END)
    graph, t_graph = timed(lambda: purchase_graph(model.basket), 1)
    rows = np.flatnonzero(model.basket.active)
    rng = np.random.default_rng(1)
    sample = rng.choice(rows, size=min(args.nx_sample, rows.shape[0]), replace=False)
    ids = model.basket.customer_ids
    per: list[float] = []
    worst = 0.0
    for r in sample.tolist():
        start = time.perf_counter()
        walk = networkx_proximity(graph, str(ids[r]), alpha=model.alpha, tol=1e-6)
        per.append(time.perf_counter() - start)
        bulk = model.proximity_scores(np.array([r]))[0]
        expected = np.array([walk[p] for p in model.basket.product_ids])
        worst = max(worst, float(np.abs(bulk - expected).max()))
    _, t_bulk = timed(lambda: model.proximity_scores(np.arange(len(model.basket))), args.repeat)
    mean = statistics.mean(per)
    print(
        "\n".join(
            [
                f"**Per-customer networkx path, {n:,} customers** "
                f"({graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges; "
                f"graph built in {t_graph[0]:.1f} s)",
                "",
                "| step | seconds |",
                "|---|---:|",
                f"| `nx.pagerank`, one customer (mean of {len(per)}) | {mean:.3f} |",
                f"| networkx, every customer (extrapolated) | {mean * len(model.basket):,.0f} |",
                f"| bulk proximity, every customer | {min(t_bulk):.3f} |",
                f"| `recommend_all(5)`, every customer | "
                f"{min(timed(lambda: model.recommend_all(5), args.repeat)[1]):.3f} |",
                "",
                f"Largest difference between networkx (tol 1e-6) and the bulk proximity: "
                f"{worst:.1e}. At 1,000,000 customers the per-customer path would take about "
                f"{mean * 1_000_000 / 86_400 * (1_000_000 / n):,.0f} days (the walk's cost "
                f"grows with the graph, so per customer about {1_000_000 // n}x the time above).",
                "",
            ]
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--extra-products", type=int, default=17)
    parser.add_argument(
        "--repeat", type=int, default=4, help="calls of each step: the first (cold), then warm"
    )
    parser.add_argument("--explain", type=int, default=10_000)
    parser.add_argument("--nx-customers", type=int, default=10_000)
    parser.add_argument("--nx-sample", type=int, default=30)
    args = parser.parse_args(argv)
    print_environment(["networkx", "scipy"])
    for n in args.sizes:
        bench_size(n, args)
        gc.collect()
    bench_networkx(args)
    print_environment(["networkx", "scipy"], when="end")


if __name__ == "__main__":
    main()
