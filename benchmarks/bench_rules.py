"""Benchmark: portfolio metrics plus policy evaluation, against hand-written baselines.

Usage::

    .venv/bin/python benchmarks/bench_rules.py                 # 1,000,000 customers x 24 months
    .venv/bin/python benchmarks/bench_rules.py --customers 200000 --reference-customers 20000

The demo generator builds the portfolio once; each variant then runs in its
own process (so its peak memory can be measured) on the same arrays, loaded
from a temporary directory:

- ``keyaccount``: ``Portfolio.metrics`` then ``Policy.evaluate`` (columnar) of
  the default policy (10 rules: 6 tier rules, 4 segment rules with shares);
  the transition objects with their explanations are timed separately.
- ``dense``: the floor. The records are first laid out as dense
  customers x months and customers x products arrays (timed apart, not part
  of the floor); the same metrics and decisions are then computed with
  plain numpy.
- ``pandas``, ``polars``, ``duckdb``: hand-written computations of the same
  metrics from the records table as it is held (polars and duckdb when
  installed, the ``bench`` extra); the decisions are the same numpy code as
  the floor's.
- ``polars-expert``: ``polars_expert.py``, the policy's metrics in polars
  written for speed over the records pre-sorted by (customer, period); the
  sort is timed apart (once per process, reported as set-up).
- ``reference``: the plain-Python reference evaluator at
  ``--reference-customers`` (default 100,000), as the contrast.

Every variant's decisions (tier after the month, held demotions, segment
after the month) are checked against keyaccount's. Each variant reports its
cold figure (the first call in its fresh process: for keyaccount that call
sorts the revenue into month order) and its warm figures (best and median of
the repeats after it). Beside the wall-clock seconds, ``cpu`` figures give the
process's CPU seconds (``time.process_time``, all threads) for the same span:
on a loaded machine they show the work done, which waiting for a core does not
inflate. Figures go to ``docs/benchmarks.md`` ("Rules").
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    AUTO,
    JUDICIAL,
    SHARE_PRODUCTS,
    YUAN,
    final_codes,
    last_json_line,
    print_environment,
)

AS_OF = "2022-11"


# ---------------------------------------------------------------- data


def build(directory: Path, customers: int, months: int) -> float:
    """Generate the demo portfolio and save its columns; return the generation time."""
    from keyaccount.demo import generate

    start = time.perf_counter()
    pf = generate(customers=customers, months=months, end=AS_OF)
    elapsed = time.perf_counter() - start
    cols = pf.customer_columns
    np.savez(
        directory / "customers.npz",
        **{
            name: getattr(cols, name)
            for name in (
                "id",
                "name",
                "segment",
                "sub_segment",
                "tier",
                "parent",
                "province",
                "first_period",
                "tier_since",
            )
        },
    )
    rev = pf.revenue_columns
    np.savez(
        directory / "revenue.npz",
        customer=rev.customer,
        product=rev.product,
        period=rev.period,
        fen=rev.fen,
        volume=rev.volume,
    )
    return elapsed


def load(directory: Path) -> Any:
    """The saved portfolio."""
    from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns

    c = np.load(directory / "customers.npz", allow_pickle=True)
    r = np.load(directory / "revenue.npz")
    pf = Portfolio()
    pf.add_customer_columns(CustomerColumns(**{k: c[k] for k in c.files}))
    pf.add_revenue_columns(RevenueColumns(**{k: r[k] for k in r.files}))
    return pf


def rss_mib() -> float:
    """The current resident set size in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    """The peak resident set size of this process so far (``VmHWM``), in MiB.

    ``ru_maxrss`` is not used: after ``fork`` it starts from the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- decisions (hand-written)


def decide(m: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The default policy's decisions in plain numpy: tier after, held, segment after."""
    tier, segment, t12m = m["tier"], m["segment"], m["t12m"]
    since, since_known = m["since"], m["since_known"]
    active = m["active"]
    dormant = (tier >= 1) & ((since_known & (since >= 6)) | ((t12m <= 0) & (m["tenure"] >= 6)))
    reactivate = (tier == 0) & since_known & (since <= 1) & (active >= 2)
    promote_s = (tier == 2) & (t12m >= 10_000_000 * YUAN) & (active >= 11)
    promote_k = (tier == 1) & (t12m >= 1_000_000 * YUAN) & (active >= 10)
    demote_s = (tier == 3) & ((t12m < 6_000_000 * YUAN) | (m["yoy_known"] & (m["yoy"] < -0.4)))
    demote_k = (tier == 2) & (t12m < 600_000 * YUAN)
    rules = [dormant, reactivate, promote_s, promote_k, demote_s, demote_k]
    target = np.select(rules, [0, 1, 3, 2, 2, 1], default=tier).astype(np.int8)
    fired = np.logical_or.reduce(rules)
    held = fired & (target < tier) & (m["months_in_tier"] < 3)
    after = np.where(held, tier, target).astype(np.int8)

    known = t12m > 0
    total = np.where(known, t12m, 1).astype(np.float64)
    share = {p: m[f"share:{p}"].astype(np.float64) / total for p in SHARE_PRODUCTS}

    def summed(products: tuple[str, ...]) -> np.ndarray:
        out = share[products[0]]
        for p in products[1:]:
            out = out + share[p]
        return out

    unassigned = (segment == -1) & known
    seg_rules = [
        unassigned & (summed(JUDICIAL) >= 0.5),
        unassigned & (summed(AUTO) >= 0.5),
        unassigned & (share["card_letter"] >= 0.5),
        unassigned & (share["policy_mailing"] >= 0.5),
    ]
    seg_after = np.select(seg_rules, [0, 1, 2, 3], default=segment).astype(np.int8)
    return after, held, seg_after


def customer_static(pf: Any, p: int) -> dict[str, np.ndarray]:
    """Tier, segment, tenure and months in tier of the customers first seen by ``p``."""
    cols = pf.customer_columns
    keep = cols.first_period <= p
    since = np.where(cols.tier_since == -1, cols.first_period, cols.tier_since)
    return {
        "keep": keep,
        "tier": cols.tier[keep],
        "segment": cols.segment[keep],
        "tenure": (p - cols.first_period.astype(np.int64))[keep],
        "months_in_tier": (p - since.astype(np.int64))[keep],
    }


def finish(m: dict[str, np.ndarray], p: int) -> dict[str, np.ndarray]:
    """Derived metrics: yoy growth and absent masks."""
    m["yoy_known"] = m["prev"] > 0
    with np.errstate(all="ignore"):
        m["yoy"] = m["t12m"].astype(np.float64) / m["prev"].astype(np.float64) - 1.0
    return m


# ---------------------------------------------------------------- variants


def run_keyaccount(pf: Any, p_text: str) -> dict[str, Any]:
    from keyaccount.rules import Outcome, default_policy

    policy = default_policy()
    c0, t0 = time.process_time(), time.perf_counter()
    table = pf.metrics(p_text)
    t1 = time.perf_counter()
    evaluation = policy.evaluate(table)
    t2, c2 = time.perf_counter(), time.process_time()
    transitions = evaluation.transitions
    t3 = time.perf_counter()
    tier = evaluation.tier
    after, seg_after = final_codes(tier), final_codes(evaluation.segment)
    return {
        "times": {
            "metrics": t1 - t0,
            "evaluate": t2 - t1,
            "total": t2 - t0,
            "total cpu": c2 - c0,
            "transitions": t3 - t2,
        },
        "decisions": (after, tier.outcome == Outcome.HELD, seg_after),
        "transitions": len(transitions),
    }


def dense_arrays(pf: Any, p: int) -> dict[str, np.ndarray]:
    """Lay the records out as dense arrays (the floor's input)."""
    rev = pf.revenue_columns
    n = len(pf)
    products = list(pf.products)
    start = p - 23
    w = (rev.period >= start) & (rev.period <= p)
    cust = rev.customer[w].astype(np.int64)
    offset = (rev.period[w] - start).astype(np.int64)
    fen = rev.fen[w].astype(np.float64)
    monthly = np.bincount(cust * 24 + offset, weights=fen, minlength=n * 24).reshape(n, 24)
    recent = offset >= 12
    volume = np.bincount(
        cust[recent], weights=rev.volume[w][recent].astype(np.float64), minlength=n
    )
    prod = np.bincount(
        cust[recent] * len(products) + rev.product[w][recent],
        weights=fen[recent],
        minlength=n * len(products),
    ).reshape(n, -1)
    return {
        "monthly": monthly,
        "volume": volume,
        "prod": prod,
        "share_cols": np.array([products.index(x) for x in SHARE_PRODUCTS]),
    }


def run_dense(pf: Any, p_text: str) -> dict[str, Any]:
    from keyaccount.domain import Period

    p = Period.parse(p_text).ordinal
    t0 = time.perf_counter()
    d = dense_arrays(pf, p)
    c1, t1 = time.process_time(), time.perf_counter()
    m = customer_static(pf, p)
    keep = m["keep"]
    monthly = d["monthly"][keep]
    recent = monthly[:, 12:]
    positive = monthly > 0
    last = 23 - np.argmax(positive[:, ::-1], axis=1)
    m["t12m"] = recent.sum(axis=1).astype(np.int64)
    m["prev"] = monthly[:, :12].sum(axis=1).astype(np.int64)
    m["active"] = positive[:, 12:].sum(axis=1)
    m["since_known"] = positive.any(axis=1)
    m["since"] = 23 - last
    m["volume"] = d["volume"][keep].astype(np.int64)
    prod = d["prod"][keep]
    m["product_count"] = (prod > 0).sum(axis=1)
    for p_id, j in zip(SHARE_PRODUCTS, d["share_cols"], strict=True):
        m[f"share:{p_id}"] = prod[:, j]
    finish(m, p)
    decisions = decide(m)
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "times": {
            "dense build": t1 - t0,
            "metrics + decisions": t2 - t1,
            "metrics + decisions cpu": c2 - c1,
        },
        "decisions": decisions,
    }


def records_frame(pf: Any) -> Any:
    import pandas as pd

    rev = pf.revenue_columns
    return pd.DataFrame(
        {
            "customer": rev.customer,
            "product": rev.product,
            "period": rev.period,
            "fen": rev.fen,
            "volume": rev.volume,
        }
    )


def _scatter(n: int, index: np.ndarray, values: np.ndarray, fill: Any = 0) -> np.ndarray:
    out = np.full(n, fill, dtype=np.asarray(values).dtype if fill == 0 else np.float64)
    out[index] = values
    return out


def assemble(pf: Any, p: int, per: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Scatter per-customer results (customer positions, values) into the decision inputs."""
    n = len(pf)
    m = customer_static(pf, p)
    keep = m["keep"]
    full = {k: _scatter(n, idx, vals) for k, (idx, vals) in per.items() if k != "last"}
    last_idx, last_vals = per["last"]
    since_known = np.zeros(n, dtype=bool)
    since_known[last_idx] = True
    since = np.zeros(n, dtype=np.int64)
    since[last_idx] = p - last_vals
    m.update({k: v[keep] for k, v in full.items()})
    m["since_known"], m["since"] = since_known[keep], since[keep]
    return finish(m, p)


def run_pandas(pf: Any, p_text: str) -> dict[str, Any]:
    from keyaccount.domain import Period

    p = Period.parse(p_text).ordinal
    df = records_frame(pf)
    products = list(pf.products)
    c0, t0 = time.process_time(), time.perf_counter()
    w = df[(df["period"] >= p - 23) & (df["period"] <= p)]
    recent = w[w["period"] >= p - 11]
    older = w[w["period"] < p - 11]
    t12m = recent.groupby("customer")["fen"].sum()
    prev = older.groupby("customer")["fen"].sum()
    volume = recent.groupby("customer")["volume"].sum()
    monthly = w.groupby(["customer", "period"], sort=False)["fen"].sum().reset_index()
    positive = monthly[monthly["fen"] > 0]
    active = positive[positive["period"] >= p - 11].groupby("customer").size()
    last = positive.groupby("customer")["period"].max()
    by_product = recent.groupby(["customer", "product"], sort=False)["fen"].sum().reset_index()
    product_count = by_product[by_product["fen"] > 0].groupby("customer").size()
    per: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "t12m": (t12m.index.to_numpy(), t12m.to_numpy()),
        "prev": (prev.index.to_numpy(), prev.to_numpy()),
        "volume": (volume.index.to_numpy(), volume.to_numpy()),
        "active": (active.index.to_numpy(), active.to_numpy()),
        "last": (last.index.to_numpy(), last.to_numpy()),
        "product_count": (product_count.index.to_numpy(), product_count.to_numpy()),
    }
    for p_id in SHARE_PRODUCTS:
        sel = by_product[by_product["product"] == products.index(p_id)]
        per[f"share:{p_id}"] = (sel["customer"].to_numpy(), sel["fen"].to_numpy())
    m = assemble(pf, p, per)
    decisions = decide(m)
    t1, c1 = time.perf_counter(), time.process_time()
    return {
        "times": {"metrics + decisions": t1 - t0, "metrics + decisions cpu": c1 - c0},
        "decisions": decisions,
    }


def run_polars(pf: Any, p_text: str) -> dict[str, Any]:
    import polars as pl

    from keyaccount.domain import Period

    p = Period.parse(p_text).ordinal
    rev = pf.revenue_columns
    products = list(pf.products)
    df = pl.DataFrame(
        {
            "customer": rev.customer,
            "product": rev.product,
            "period": rev.period,
            "fen": rev.fen,
            "volume": rev.volume,
        }
    )
    c0, t0 = time.process_time(), time.perf_counter()
    w = df.lazy().filter(pl.col("period").is_between(p - 23, p))
    rec = pl.col("period") >= p - 11
    monthly = (
        w.group_by(["customer", "period"])
        .agg(pl.col("fen").sum())
        .with_columns(
            recent_fen=pl.when(rec).then(pl.col("fen")).otherwise(0),
            older_fen=pl.when(rec).then(0).otherwise(pl.col("fen")),
            active=(rec & (pl.col("fen") > 0)).cast(pl.Int64),
            positive_period=pl.when(pl.col("fen") > 0).then(pl.col("period")),
        )
        .group_by("customer")
        .agg(
            t12m=pl.col("recent_fen").sum(),
            prev=pl.col("older_fen").sum(),
            active=pl.col("active").sum(),
            last=pl.col("positive_period").max(),
        )
    )
    by_product = (
        w.filter(rec)
        .group_by(["customer", "product"])
        .agg(pl.col("fen").sum(), pl.col("volume").sum())
        .with_columns(
            positive=(pl.col("fen") > 0).cast(pl.Int64),
            **{
                f"share:{x}": pl.when(pl.col("product") == products.index(x))
                .then(pl.col("fen"))
                .otherwise(0)
                for x in SHARE_PRODUCTS
            },
        )
        .group_by("customer")
        .agg(
            volume=pl.col("volume").sum(),
            product_count=pl.col("positive").sum(),
            **{f"share:{x}": pl.col(f"share:{x}").sum() for x in SHARE_PRODUCTS},
        )
    )
    a, b = pl.collect_all([monthly, by_product])
    ia, ib = a["customer"].to_numpy(), b["customer"].to_numpy()
    has_last = a["last"].is_not_null().to_numpy()
    per = {k: (ia, a[k].to_numpy()) for k in ("t12m", "prev", "active")}
    per["last"] = (ia[has_last], a["last"].to_numpy()[has_last].astype(np.int64))
    per.update({k: (ib, b[k].to_numpy()) for k in b.columns if k != "customer"})
    m = assemble(pf, p, per)
    decisions = decide(m)
    t1, c1 = time.perf_counter(), time.process_time()
    return {
        "times": {"metrics + decisions": t1 - t0, "metrics + decisions cpu": c1 - c0},
        "decisions": decisions,
    }


_SORTED: dict[int, Any] = {}
"""The polars frame sorted by (customer, period), made once per process (by portfolio id)."""


def run_polars_expert(pf: Any, p_text: str) -> dict[str, Any]:
    import polars_expert

    from keyaccount.domain import Period

    p = Period.parse(p_text).ordinal
    setup = {}
    if id(pf) not in _SORTED:
        t0 = time.perf_counter()
        _SORTED[id(pf)] = polars_expert.sorted_frame(pf)
        setup["sort by (customer, period)"] = time.perf_counter() - t0
    frame = _SORTED[id(pf)]
    products = list(pf.products)
    c0, t0 = time.process_time(), time.perf_counter()
    out = polars_expert.metrics(frame, p, products)
    m = assemble(pf, p, polars_expert.per_customer(out, products))
    decisions = decide(m)
    t1, c1 = time.perf_counter(), time.process_time()
    return {
        "times": {"metrics + decisions": t1 - t0, "metrics + decisions cpu": c1 - c0},
        "decisions": decisions,
        "setup": setup,
    }


def run_duckdb(pf: Any, p_text: str) -> dict[str, Any]:
    import duckdb

    from keyaccount.domain import Period

    p = Period.parse(p_text).ordinal
    products = list(pf.products)
    frame = records_frame(pf)  # noqa: F841  (read by name below)
    con = duckdb.connect()
    con.execute("CREATE TABLE rev AS SELECT * FROM frame")  # loading is not timed
    shares = ", ".join(
        f'sum(CASE WHEN product = {products.index(x)} THEN fen ELSE 0 END) AS "share:{x}"'
        for x in SHARE_PRODUCTS
    )
    query = f"""
        WITH w AS (
            SELECT customer, product, period, fen, volume FROM rev
            WHERE period BETWEEN {p - 23} AND {p}
        ), m AS (
            SELECT customer,
                   sum(CASE WHEN period >= {p - 11} THEN fen ELSE 0 END) AS t12m,
                   sum(CASE WHEN period < {p - 11} THEN fen ELSE 0 END) AS prev,
                   sum(CASE WHEN period >= {p - 11} AND fen > 0 THEN 1 ELSE 0 END) AS active,
                   max(CASE WHEN fen > 0 THEN period END) AS last
            FROM (SELECT customer, period, sum(fen) AS fen FROM w GROUP BY customer, period)
            GROUP BY customer
        ), q AS (
            SELECT customer, sum(volume) AS volume,
                   sum(CASE WHEN fen > 0 THEN 1 ELSE 0 END) AS product_count, {shares}
            FROM (SELECT customer, product, sum(fen) AS fen, sum(volume) AS volume
                  FROM w WHERE period >= {p - 11} GROUP BY customer, product)
            GROUP BY customer
        )
        SELECT m.*, q.* EXCLUDE (customer) FROM m LEFT JOIN q USING (customer)
    """
    c0, t0 = time.process_time(), time.perf_counter()
    out = con.execute(query).fetchnumpy()
    idx = out["customer"]
    last = out["last"]
    has_last = ~np.ma.getmaskarray(last)
    per: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, values in out.items():
        if k in ("customer", "last"):
            continue
        per[k] = (idx, np.asarray(np.ma.filled(values, 0)).astype(np.int64))
    per["last"] = (idx[has_last], np.ma.filled(last, 0)[has_last].astype(np.int64))
    m = assemble(pf, p, per)
    decisions = decide(m)
    t1, c1 = time.perf_counter(), time.process_time()
    return {
        "times": {"metrics + decisions": t1 - t0, "metrics + decisions cpu": c1 - c0},
        "decisions": decisions,
    }


def run_reference(pf: Any, p_text: str) -> dict[str, Any]:
    from keyaccount.rules import Outcome, default_policy, evaluate_reference, facts_from_table

    policy = default_policy()
    table = pf.metrics(p_text)
    t0 = time.perf_counter()
    columnar = policy.evaluate(table)
    t1 = time.perf_counter()
    facts = facts_from_table(table, policy)
    t2 = time.perf_counter()
    evaluation = evaluate_reference(policy, facts, table.as_of)
    t3 = time.perf_counter()
    assert evaluation.counts == columnar.counts
    tier = evaluation.tier
    after, seg_after = final_codes(tier), final_codes(evaluation.segment)
    return {
        "times": {
            "columnar evaluate": t1 - t0,
            "facts (rows)": t2 - t1,
            "reference evaluate": t3 - t2,
        },
        "decisions": (after, tier.outcome == Outcome.HELD, seg_after),
    }


VARIANTS = {
    "keyaccount": run_keyaccount,
    "dense": run_dense,
    "pandas": run_pandas,
    "polars": run_polars,
    "polars-expert": run_polars_expert,
    "duckdb": run_duckdb,
    "reference": run_reference,
}


def child(variant: str, directory: Path, repeats: int) -> None:
    """Run one variant ``repeats`` times; print a JSON line with times and memory."""
    if variant.startswith("build:"):
        customers, months = (int(x) for x in variant.split(":")[1:])
        elapsed = build(directory, customers, months)
        print(json.dumps({"variant": "build", "seconds": elapsed, "peak_mib": peak_mib()}))
        return
    pf = load(directory)
    base = rss_mib()
    runs = []
    setup: dict[str, float] = {}
    for _ in range(repeats):
        result = VARIANTS[variant](pf, AS_OF)
        runs.append(result["times"])
        setup.update(result.get("setup", {}))
    after, held, seg_after = result["decisions"]
    np.savez(directory / f"decisions-{variant}.npz", after=after, held=held, seg=seg_after)
    warm = runs[1:] or runs
    best = {k: min(r[k] for r in warm) for k in runs[0]}
    median = {k: statistics.median(r[k] for r in warm) for k in runs[0]}
    print(
        json.dumps(
            {
                "variant": variant,
                "cold": runs[0],
                "best": best,
                "median": median,
                "setup": setup,
                "rss_after_load_mib": base,
                "peak_mib": peak_mib(),
                "records": len(pf.revenue_columns),
                "customers": len(pf),
                "transitions": result.get("transitions"),
            }
        )
    )


def spawn(variant: str, directory: Path, repeats: int) -> dict[str, Any] | None:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--dir",
            str(directory),
            "--repeats",
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"{variant}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = last_json_line(proc.stdout)
    return result


def available(variant: str) -> bool:
    module = {
        "polars": "polars",
        "polars-expert": "polars",
        "duckdb": "duckdb",
        "pandas": "pandas",
    }.get(variant)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def same(directory: Path, variant: str, against: str = "keyaccount") -> bool:
    a = np.load(directory / f"decisions-{against}.npz")
    b = np.load(directory / f"decisions-{variant}.npz")
    return all(np.array_equal(a[k], b[k]) for k in ("after", "held", "seg"))


def report(variant: str, result: dict[str, Any], agree: bool) -> None:
    cold = ", ".join(f"{k} {v:.3f}" for k, v in result["cold"].items())
    best = ", ".join(f"{k} {v:.3f}" for k, v in result["best"].items())
    median = ", ".join(f"{v:.3f}" for v in result["median"].values())
    setup = "".join(f"; set-up: {k} {v:.3f} s" for k, v in result.get("setup", {}).items())
    print(
        f"{variant:<13} cold s: {cold}; warm best s: {best}; warm median s: {median}{setup}; "
        f"peak {result['peak_mib']:.0f} MiB (after load {result['rss_after_load_mib']:.0f} MiB); "
        f"{'same decisions' if agree else 'DECISIONS DIFFER'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--reference-customers", type=int, default=100_000)
    parser.add_argument(
        "--repeats", type=int, default=4, help="runs per variant: the first is cold"
    )
    parser.add_argument("--only", nargs="*", default=None, help="variants to run")
    parser.add_argument("--child")
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.dir), args.repeats)
        return
    wanted = set(args.only) if args.only else set(VARIANTS)
    libraries = ["numpy", "pandas", "polars", "duckdb"]
    print_environment(libraries)
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big", Path(tmp) / "small"
        big.mkdir()
        small.mkdir()
        made = spawn(f"build:{args.customers}:{args.months}", big, 1)
        assert made is not None
        print(
            f"generate({args.customers} customers, {args.months} months): "
            f"{made['seconds']:.1f} s, peak {made['peak_mib']:.0f} MiB",
            flush=True,
        )
        results = {}
        for variant in ("keyaccount", "dense", "pandas", "polars", "polars-expert", "duckdb"):
            if variant not in wanted and variant != "keyaccount":
                continue
            if not available(variant):
                print(f"{variant}: not installed, skipped")
                continue
            result = spawn(variant, big, args.repeats)
            if result is None:
                continue
            results[variant] = result
            if variant == "keyaccount":
                print(
                    f"{result['customers']} customers, {result['records']} records, "
                    f"as of {AS_OF}; {result['transitions']} transitions"
                )
            report(variant, result, same(big, variant))
        if "reference" in wanted:
            made = spawn(f"build:{args.reference_customers}:{args.months}", small, 1)
            assert made is not None
            for variant in ("keyaccount", "reference"):
                result = spawn(variant, small, 1)
                if result is not None:
                    report(f"{variant}@{args.reference_customers}", result, same(small, variant))
        floor = results.get("dense", {}).get("best", {})
        ours = results.get("keyaccount", {}).get("best", {})
        if floor and ours:
            dense = floor["metrics + decisions"]
            print(
                f"keyaccount warm metrics + evaluate / floor: {ours['total'] / dense:.2f}x "
                f"(floor with its dense build: "
                f"{ours['total'] / (dense + floor['dense build']):.2f}x; "
                f"in CPU seconds: {ours['total cpu'] / floor['metrics + decisions cpu']:.2f}x); "
                f"evaluate alone / floor: {ours['evaluate'] / dense:.2f}x"
            )
        expert = results.get("polars-expert", {}).get("best", {})
        if expert and ours:
            print(
                f"polars expert (pre-sorted) warm / keyaccount warm: "
                f"{expert['metrics + decisions'] / ours['total']:.2f}x "
                f"(in CPU seconds, both threads: "
                f"{expert['metrics + decisions cpu'] / ours['total cpu']:.2f}x)"
            )
    print_environment(libraries, when="end")


if __name__ == "__main__":
    main()
