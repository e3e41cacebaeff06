"""Draw the pictures of docs/plots.md from the demo portfolio into docs/img/ (run by hand).

Run from the repository root, with the ``plot`` extra installed:

    python docs/make_plots.py

Each picture is written only when it stays under 150 KB (the pages are read offline and
kept in the repository); a larger one is reported and left out.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from keyaccount import demo
from keyaccount.analysis import rfm, rfm_scores
from keyaccount.crosssell import CrossSellModel, whitespace
from keyaccount.io import transactions_from_frame
from keyaccount.operations import attainment
from keyaccount.plot import (
    attainment_by_group,
    crosssell_neighbourhood,
    revenue_concentration,
    rfm_segment_map,
    segment_tier_heatmap,
    tier_flows,
    whitespace_heatmap,
)
from keyaccount.rules import default_policy

IMAGES = Path(__file__).resolve().parent / "img"
LIMIT = 150 * 1024
"""The largest picture kept, in bytes."""


def main() -> int:
    """Draw every picture; returns 1 when one was too large to keep."""
    portfolio = demo.generate(customers=2000)
    span = portfolio.period_span
    assert span is not None
    as_of = span[1]
    operations = demo.demo_operations(portfolio)
    backtest = default_policy().backtest(portfolio, as_of - 11, as_of)
    model = CrossSellModel.fit(portfolio, as_of)
    customer = str(model.basket.customer_ids[int((model.basket.sizes == 2).argmax())])
    # each month's revenue of a customer as one purchase on the month's first day
    records = [r for r in portfolio.revenue_records() if r.revenue_fen > 0]
    purchases = pd.DataFrame(
        {
            "customer_id": [r.customer_id for r in records],
            "date": [r.period.first_day for r in records],
            "amount": [r.revenue_fen for r in records],
        }
    )
    transactions = transactions_from_frame(purchases, amount_unit="fen")
    last_day = (as_of + 1).first_day - dt.timedelta(days=1)
    scores = rfm_scores(rfm(transactions, last_day, freq="M"))
    drawings = {
        "plot_segment_tier_zh.png": lambda: segment_tier_heatmap(
            portfolio.summary(as_of), lang="zh"
        ),
        "plot_tier_flows.png": lambda: tier_flows(backtest, [as_of - 11, as_of - 5, as_of]),
        "plot_concentration.png": lambda: revenue_concentration(portfolio, as_of, top=20),
        "plot_whitespace.png": lambda: whitespace_heatmap(
            whitespace(portfolio, as_of, threshold=0.05)
        ),
        "plot_attainment.png": lambda: attainment_by_group(
            attainment(portfolio, operations.ownership, operations.targets, by_segment=True)
        ),
        "plot_rfm.png": lambda: rfm_segment_map(scores),
        "plot_neighbourhood_zh.png": lambda: crosssell_neighbourhood(model, customer, lang="zh"),
    }
    IMAGES.mkdir(exist_ok=True)
    status = 0
    for name, draw in drawings.items():
        ax = draw()
        target = IMAGES / name
        ax.figure.savefig(target, dpi=80)  # type: ignore[union-attr]
        size = target.stat().st_size
        if size >= LIMIT:
            target.unlink()
            print(f"{name}: {size:,} bytes, over {LIMIT:,}: left out", file=sys.stderr)
            status = 1
        else:
            print(f"{name}: {size:,} bytes")
        plt.close("all")
    return status


if __name__ == "__main__":
    sys.exit(main())
