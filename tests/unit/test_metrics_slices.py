"""Metrics summed in slices of records equal the reference, wherever the slice boundaries fall."""

from __future__ import annotations

import numpy as np
import pytest

from keyaccount.demo import generate
from keyaccount.domain import Period
from keyaccount.portfolio import _metrics, reference_metrics

END = Period(2022, 11)


@pytest.mark.parametrize("rollup", [False, True])
@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_product_sums_in_slices_equal_the_reference(rows: int, rollup: bool) -> None:
    """Slices of 1, 7 or 1000 records give the per-product revenue and metrics of one pass."""
    pf = generate(seed=7, customers=80, months=30, end=END)
    whole = pf.metrics(END, rollup=rollup)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_metrics, "SLICE_ROWS", rows)
        table = pf.metrics(END, rollup=rollup)
    assert table.product_revenue.dtype == np.int64
    assert np.array_equal(table.product_revenue, whole.product_revenue)
    for name in table.names:
        assert np.array_equal(table.columns[name], whole.columns[name], equal_nan=True), name
        assert np.array_equal(table.absent[name], whole.absent[name]), name
    expected = reference_metrics(
        list(pf.customers()), list(pf.revenue_records()), END, rollup=rollup
    )
    assert [table.columns["product_count"][table.position(c)] for c in expected] == [
        row["product_count"] for row in expected.values()
    ]
