"""Customer segmentation as an analyst scripts it in a notebook (needs pandas).

Generate the demo portfolio, turn its metrics into a DataFrame, and look at it
the way a key-account center does every month: the segment x tier table, how
concentrated revenue is, who grows and who declines, the group accounts rolled
up with their branches, the project groups, and which customers a simple
promotion rule would move up.

Money stays exact: metrics give integer fen (``*_fen`` columns, nullable
``Int64``); sums of them are exact, and ``format_yuan`` shows them in 万元.

Run: python examples/segmentation_notebook.py
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from keyaccount import Tier, demo
from keyaccount.domain import format_yuan

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)


def wan(fen: Any) -> str:
    """Fen as 万元 text, exactly (pandas gives numpy integers; <NA> stays a dash)."""
    return "-" if pd.isna(fen) else format_yuan(int(fen), unit="wan")


# %% Load: the demo portfolio (a stand-in for your own Store or CSV import).
portfolio = demo.generate(seed=2022, customers=1500, months=36)
span = portfolio.period_span
assert span is not None, "the demo portfolio has revenue"
as_of = span[1]
print(f"{portfolio!r}, as of {as_of}")

# %% One row per customer: metrics plus name, project group and number of branches.
metrics = portfolio.metrics(as_of)
frame = metrics.to_pandas()
frame["segment"] = frame["segment"].cat.add_categories("UNASSIGNED").fillna("UNASSIGNED")
frame["name"] = [portfolio.customer(cid).name for cid in frame.index]
frame["project_group"] = [
    group.id if (group := portfolio.project_group_of(cid)) is not None else "-"
    for cid in frame.index
]
print(frame.head(5).to_string())

# %% Segment x tier: customers and trailing-12 revenue (万元), with totals.
counts = pd.crosstab(frame["segment"], frame["tier"], margins=True, margins_name="TOTAL")
print("\nCustomers by segment x tier\n" + counts.to_string())
revenue = frame.pivot_table(
    index="segment",
    columns="tier",
    values="t12m_revenue_fen",
    aggfunc="sum",
    fill_value=0,
    observed=False,
    margins=True,
    margins_name="TOTAL",
)
print("\nRevenue t12m by segment x tier (万元)\n" + revenue.map(wan).to_string())

# The library's own summary gives the same totals, to the fen.
summary = portfolio.summary(as_of)
assert summary.total_customers == int(counts.to_numpy()[-1, -1])
assert summary.total_revenue_fen == int(revenue.to_numpy()[-1, -1])

# %% Concentration: what share of revenue the largest customers bring.
t12m = frame["t12m_revenue_fen"].fillna(0).sort_values(ascending=False)
total_fen = int(t12m.sum())
for share_of_customers in (0.01, 0.05, 0.20):
    n = max(1, round(len(t12m) * share_of_customers))
    top_fen = int(t12m.iloc[:n].sum())
    print(
        f"top {share_of_customers:>4.0%} of customers ({n:>4}): "
        f"{wan(top_fen):>12} 万元 = {top_fen / total_fen:.1%} of revenue"
    )

# %% Growth buckets by tier: who grows, who declines, who is new this year.
growth = pd.cut(
    frame["yoy_growth"].astype("float64"),
    bins=[-float("inf"), -0.10, 0.10, float("inf")],
    labels=["declining (< -10%)", "flat", "growing (> +10%)"],
)
frame["growth"] = growth.cat.add_categories("new (no prior year)").fillna("new (no prior year)")
print("\nGrowth by tier\n" + pd.crosstab(frame["tier"], frame["growth"]).to_string())

# %% Group accounts (headquarters with branches), rolled up with all descendants.
rollups = portfolio.group_rollups(as_of).to_pandas()
rollups["branches"] = [len(portfolio.descendants(cid)) for cid in rollups.index]
rollups["name"] = [portfolio.customer(cid).name for cid in rollups.index]
biggest = rollups.sort_values("t12m_revenue_fen", ascending=False).head(5)
print("\nLargest group accounts (roll-ups)")
for cid, row in biggest.iterrows():
    print(
        f"  {cid:<12} {row['name']:<20} branches {row['branches']:>4}  "
        f"t12m {wan(row['t12m_revenue_fen']):>12} 万元"
    )

# %% Project groups: customers owned and revenue.
by_group = frame.groupby("project_group")["t12m_revenue_fen"].agg(["count", "sum"])
by_group["sum"] = by_group["sum"].map(wan)
print("\nProject groups (customers, t12m 万元)\n" + by_group.to_string())

# %% A promotion rule, tried in pandas: ACTIVE customers with >= 1,000,000 yuan
#    over the last 12 months and revenue in at least 10 of them.
threshold_fen = 1_000_000 * 100
candidates = frame[
    (frame["tier"] == Tier.ACTIVE.name)
    & (frame["t12m_revenue_fen"] >= threshold_fen)
    & (frame["active_months"] >= 10)
]
print(f"\nPromotion candidates ACTIVE -> KEY: {len(candidates)}")
for cid, row in candidates.sort_values("t12m_revenue_fen", ascending=False).head(10).iterrows():
    print(f"  {cid:<12} {row['segment']:<16} {wan(row['t12m_revenue_fen']):>10} 万元")
