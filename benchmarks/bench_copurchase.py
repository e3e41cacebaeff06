"""Time co-purchase statistics against mlxtend's apriori, fpgrowth and hmine, each in its
fastest configuration, on the same one-hot baskets, with the numbers checked equal.

The portfolio is ``bench_crosssell.portfolio`` (the demo portfolio, seed 2022, 12 months
ending 2022-11, 23 catalogue products plus 17 products of our own, each bought far more
often by the buyers of a "partner" catalogue product): 40 products. The wider catalogue
adds province-level products (``province_001``, ...): each is sold in one province, to
10-40% of that province's buyers of its partner catalogue product and 0.1-2% of the
province's other customers, and to no one elsewhere; 160 of them make 200 products.

For each case (customers, products, min_support), one run, side by side:

- ours: ``frequent_itemsets`` + ``association_rules`` (every rule, confidence >= 0), on the
  ``Basket`` and on the one-hot CSR matrix of its active customers;
- mlxtend 0.25's ``apriori`` (dense and sparse DataFrame, with and without
  ``low_memory``), ``fpgrowth`` and ``hmine`` (dense and sparse DataFrame), each followed by
  mlxtend's ``association_rules(metric="confidence", min_threshold=0)``.

Every result is checked equal to ours: the same itemsets and support, the same rules, and
confidence, lift, leverage and conviction to 1e-12 relative (``inf`` where the confidence
is 1). *Cold* is the first call on freshly built data, *warm* the best of ``--repeat``
further calls (neither side caches anything between calls, so the two differ only by
allocator and cache warm-up). Every variant runs cold; the fastest variant of each
algorithm also runs warm. The ratio compares the fastest run of any mlxtend variant, cold
or warm, with ours' fastest run. apriori without ``low_memory`` materialises transactions x
candidates x length booleans and is run only up to ``--apriori-full-max`` transactions
(a million transactions and 780 pair candidates would be 1.5 GB).

    .venv/bin/python benchmarks/bench_copurchase.py                   # 100k and 1M, 40 and 200
    .venv/bin/python benchmarks/bench_copurchase.py --sizes 100000 --repeat 3

Results and how to read them: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Any

import _common
import numpy as np
import pandas as pd
from bench_crosssell import END, portfolio
from mlxtend.frequent_patterns import apriori, fpgrowth, hmine
from mlxtend.frequent_patterns import association_rules as mlxtend_rules

from keyaccount import Portfolio, Product
from keyaccount.crosssell import association_rules, build_basket, frequent_itemsets
from keyaccount.portfolio import RevenueColumns

BASE_PRODUCTS = 40
"""Products of ``bench_crosssell.portfolio`` (23 catalogue + 17 of our own)."""

ALGORITHMS = {"apriori": apriori, "fpgrowth": fpgrowth, "hmine": hmine}
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("apriori", "dense", {}),
    ("apriori", "dense", {"low_memory": True}),
    ("apriori", "sparse", {}),
    ("apriori", "sparse", {"low_memory": True}),
    ("fpgrowth", "dense", {}),
    ("fpgrowth", "sparse", {}),
    ("hmine", "dense", {}),
    ("hmine", "sparse", {}),
]


def with_province_products(pf: Portfolio, count: int, seed: int = 7) -> Portfolio:
    """Add ``count`` province-level products, each sold in one province (round robin)."""
    customers = len(pf.customer_columns)
    rng = np.random.default_rng(seed)
    base = build_basket(pf, END, volume=False).matrix.tocsc()
    k0 = len(pf.products)
    province = pf.customer_columns.province
    names = sorted({p for p in province.tolist() if p is not None})
    end = pf.period_span[1].ordinal if pf.period_span else 0
    first = pf.customer_columns.first_period
    blocks = []
    for i in range(count):
        where = names[i % len(names)]
        pf.add_product(
            Product(f"province_{i + 1:03d}", f"Province product {i + 1}", f"省级产品{i + 1}")
        )
        partner = int(rng.integers(1, 23))  # a catalogue product
        bought = np.zeros(customers, dtype=bool)
        bought[base.indices[base.indptr[partner] : base.indptr[partner + 1]]] = True
        chance = np.where(bought, rng.uniform(0.1, 0.4), rng.uniform(0.001, 0.02))
        chance = chance * (province == where)
        buyers = np.flatnonzero(rng.random(customers) < chance)
        period = np.maximum(first[buyers], end - rng.integers(0, 12, buyers.shape[0]))
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


def check_equal(ours: Any, rules: Any, theirs: pd.DataFrame, their_rules: pd.DataFrame) -> str:
    """Compare itemsets and rules with mlxtend's; raise on any difference."""
    mine = ours.to_pandas()
    if dict(zip(mine.itemsets, mine.support, strict=True)) != dict(
        zip(theirs.itemsets, theirs.support, strict=True)
    ):
        raise SystemExit("itemsets or support differ from mlxtend")
    a = rules.to_pandas().set_index(["antecedents", "consequents"])
    b = their_rules.set_index(["antecedents", "consequents"])
    if len(a) != len(b) or set(a.index) != set(b.index):
        raise SystemExit("rules differ from mlxtend")
    b = b.loc[a.index]
    for column in ("support", "confidence", "lift", "leverage", "conviction"):
        x, y = a[column].to_numpy(), b[column].to_numpy()
        same_inf = np.isinf(x) == np.isinf(y)
        finite = np.isfinite(y)
        if not same_inf.all() or not np.allclose(x[finite], y[finite], rtol=1e-12, atol=0):
            raise SystemExit(f"{column} differs from mlxtend")
    return f"{len(mine):,} itemsets, {len(a):,} rules"


def once(fn: Any) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_mlxtend(
    variant: tuple[str, str, dict[str, Any]],
    frames: dict[str, pd.DataFrame],
    n: int,
    min_support: float,
) -> tuple[float, float, pd.DataFrame, pd.DataFrame]:
    """One call of an mlxtend variant and of its association_rules: times and results."""
    name, kind, options = variant
    algorithm = ALGORITHMS[name]
    theirs, t_items = once(
        lambda: algorithm(frames[kind], min_support=min_support, use_colnames=True, **options)
    )
    their_rules, t_rules = once(
        lambda: mlxtend_rules(theirs, num_itemsets=n, metric="confidence", min_threshold=0)
    )
    return t_items, t_rules, theirs, their_rules


def label(variant: tuple[str, str, dict[str, Any]]) -> str:
    name, kind, options = variant
    return f"`{name}`, {kind}" + (", `low_memory`" if options.get("low_memory") else "")


def bench_case(n: int, products: int, min_support: float, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    pf = portfolio(n, BASE_PRODUCTS - 23)
    if products > BASE_PRODUCTS:
        with_province_products(pf, products - BASE_PRODUCTS)
    made = time.perf_counter() - start
    basket = build_basket(pf, END, volume=False)
    matrix = basket.active_matrix()
    active = int(matrix.shape[0])
    names = list(basket.product_ids)
    frames = {
        "dense": pd.DataFrame(matrix.toarray(), columns=names),
        "sparse": pd.DataFrame.sparse.from_spmatrix(matrix.tocsc(), columns=names),
    }

    def ours_basket() -> Any:
        fi = frequent_itemsets(basket, min_support)
        return fi, association_rules(fi)

    def ours_matrix() -> Any:
        fi = frequent_itemsets(matrix, min_support, product_ids=names)
        return fi, association_rules(fi)

    (fi, rules), cold_ours = once(ours_basket)
    _, warm_ours = _common.timed(ours_basket, args.repeat)
    _, warm_matrix = _common.timed(ours_matrix, args.repeat)
    ours = min(cold_ours, *warm_ours)
    sizes = np.diff(matrix.indptr)
    lines = [
        f"**{n:,} customers, {len(names)} products, min_support {min_support}** "
        f"({active:,} transactions, {sizes.mean():.2f} products per basket, at most "
        f"{sizes.max()}; {len(fi):,} itemsets, {len(rules):,} rules; generated in {made:.0f} s)",
        "",
        "| variant | cold s | warm s | itemsets s (warm) | rules s (warm) | fastest / ours |",
        "|---|---:|---:|---:|---:|---:|",
        f"| ours, `Basket` | {cold_ours:.3f} | {min(warm_ours):.3f} | | | 1 |",
        f"| ours, one-hot CSR | | {min(warm_matrix):.3f} | | | |",
    ]
    best: dict[str, tuple[float, tuple[str, str, dict[str, Any]]]] = {}
    cold: dict[str, float] = {}
    checked = ""
    for variant in VARIANTS:
        name, _, options = variant
        if name == "apriori" and not options and active > args.apriori_full_max:
            lines.append(f"| {label(variant)} | not run (memory) | | | | |")
            continue
        t_items, t_rules, theirs, their_rules = run_mlxtend(variant, frames, active, min_support)
        checked = check_equal(fi, rules, theirs, their_rules)
        total = t_items + t_rules
        cold[label(variant)] = total
        if name not in best or total < best[name][0]:
            best[name] = (total, variant)
        del theirs, their_rules
    fastest_name, fastest_time = "", float("inf")
    for name, (_, variant) in best.items():
        items_runs: list[float] = []
        rules_runs: list[float] = []
        for _ in range(args.repeat):
            t_items, t_rules, theirs, their_rules = run_mlxtend(
                variant, frames, active, min_support
            )
            check_equal(fi, rules, theirs, their_rules)
            items_runs.append(t_items)
            rules_runs.append(t_rules)
        warm = min(a + b for a, b in zip(items_runs, rules_runs, strict=True))
        # nothing is cached between calls: the fastest run, cold or warm, is the baseline
        fastest = min(warm, cold[label(variant)])
        best[name] = (fastest, variant)
        if fastest < fastest_time:
            fastest_name, fastest_time = label(variant), fastest
        lines.append(
            f"| {label(variant)} (its fastest) | {cold[label(variant)]:.3f} | {warm:.3f} | "
            f"{min(items_runs):.3f} | {min(rules_runs):.3f} | {fastest / ours:,.1f} |"
        )
    others = [
        f"{v} {t:.3f}"
        for v, t in cold.items()
        if v not in {label(variant) for _, variant in best.values()}
    ]
    lines += [
        "",
        f"Other variants, cold (itemsets + rules, s): {'; '.join(others) or 'none'}.",
        f"Every result equal to ours ({checked}). Fastest mlxtend run: {fastest_name}, "
        f"{fastest_time:.3f} s; ours' fastest {ours:.3f} s: **{fastest_time / ours:,.1f}x**. "
        f"Process peak RSS {_common.max_rss_mib():,.0f} MiB.",
        "",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["40:0.001", "200:0.0005"],
        help="products:min_support pairs",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--apriori-full-max", type=int, default=200_000)
    args = parser.parse_args(argv)
    libraries = ["mlxtend", "pandas", "scipy"]
    _common.print_environment(libraries)
    for n in args.sizes:
        for case in args.cases:
            products, support = case.split(":")
            bench_case(n, int(products), float(support), args)
            gc.collect()
    _common.print_environment(libraries, when="end")


if __name__ == "__main__":
    sys.exit(main())
