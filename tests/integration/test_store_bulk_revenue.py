"""Revenue bulk writes: rows arrive intact in any order, with the index in place afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyaccount import default_catalog
from keyaccount.domain import MAX_MONTH_FEN, MAX_MONTH_VOLUME
from keyaccount.exceptions import CsvImportError
from keyaccount.io import CustomerRows, RevenueRows

if TYPE_CHECKING:
    from collections.abc import Iterator

    from keyaccount.store import Store

CATALOG = default_catalog()
CUSTOMERS = 3_000
MONTHS = 20
FIRST = 24_000  # the ordinal of the customers' first period


def customers_batch() -> CustomerRows:
    """``CUSTOMERS`` customers C0000.. with no segment, all starting at month ``FIRST``."""
    rows = [
        (f"C{i:04d}", f"customer {i}", -1, -1, 1, None, None, FIRST, -1) for i in range(CUSTOMERS)
    ]
    return CustomerRows.from_values(list(range(2, CUSTOMERS + 2)), rows)


def revenue_columns(order: str) -> tuple[np.ndarray, ...]:
    """Customer, product, period, fen and volume of 60,000 rows, in the ``order`` named."""
    customer = np.repeat(np.arange(CUSTOMERS), MONTHS)
    period = FIRST + np.tile(np.arange(MONTHS), CUSTOMERS)
    product = (customer + period) % len(CATALOG)
    fen = (customer * 1_000 - period) * 7
    volume = customer % 13
    if order == "shuffled":
        index = np.random.default_rng(5).permutation(len(customer))
    elif order == "reversed":
        index = np.arange(len(customer))[::-1]
    else:
        index = np.arange(len(customer))
    return tuple(a[index] for a in (customer, product, period, fen, volume))


def batches(columns: tuple[np.ndarray, ...], size: int) -> Iterator[RevenueRows]:
    """``columns`` as revenue batches of ``size`` rows, customers named by id."""
    customer, product, period, fen, volume = columns
    ids = np.array([f"C{i:04d}" for i in range(CUSTOMERS)], dtype=object)
    for cut in range(0, len(customer), size):
        part = slice(cut, cut + size)
        yield RevenueRows(
            np.arange(len(customer[part]), dtype=np.int64),
            ids[customer[part]],
            product[part].astype(np.int32),
            period[part].astype(np.int32),
            fen[part].astype(np.int64),
            volume[part].astype(np.int64),
        )


def stored_rows(store: Store) -> np.ndarray:
    """The stored revenue as an (n, 5) array in key order."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT customer_key, product_key, period, revenue_fen, volume "
            "FROM ka_revenue ORDER BY revenue_key"
        ).all()
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def revenue_indexes(store: Store) -> set[str]:
    """The names of the indexes of ``ka_revenue``."""
    indexes = sa.inspect(store.engine).get_indexes("ka_revenue")
    return {str(index["name"]) for index in indexes}


@pytest.mark.parametrize("order", ["grouped", "shuffled", "reversed", "grouped then shuffled"])
def test_a_large_revenue_import_keeps_every_row_and_ends_with_the_index(
    store: Store, order: str
) -> None:
    """Rows grouped by customer or in any order are written as given; the index exists after."""
    store.import_rows(customers_batch(), progress=False)
    if order == "grouped then shuffled":
        grouped, shuffled = revenue_columns("grouped"), revenue_columns("shuffled")
        half = len(grouped[0]) // 2
        columns = tuple(
            np.concatenate([g[:half], s[half:]]) for g, s in zip(grouped, shuffled, strict=True)
        )
    else:
        columns = revenue_columns(order)
    report = store.import_rows(revenue=batches(columns, 7_000), progress=False)
    assert report.revenue_rows == len(columns[0])
    expected = np.column_stack(columns).astype(np.int64)
    assert np.array_equal(stored_rows(store), expected)
    assert "ix_ka_revenue_customer_period" in revenue_indexes(store)
    loaded = store.load()
    assert len(loaded.revenue_columns) == len(columns[0])


def test_a_failed_large_import_leaves_the_index_as_it_was(store: Store) -> None:
    """An import that fails after the index was dropped leaves no row and the index in place."""
    store.import_rows(customers_batch(), progress=False)
    good = list(batches(revenue_columns("shuffled"), 20_000))
    bad = next(batches(revenue_columns("grouped"), 1_000))
    bad.customer_id[-1] = "NOBODY"
    with pytest.raises(CsvImportError) as caught:
        store.import_rows(revenue=[*good, bad], progress=False)
    assert "NOBODY" in str(caught.value.exceptions[0])
    assert len(stored_rows(store)) == 0
    assert "ix_ka_revenue_customer_period" in revenue_indexes(store)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.integers(0, len(CATALOG) - 1),
            st.integers(FIRST, FIRST + 40),
            st.integers(-(MAX_MONTH_FEN // 20), MAX_MONTH_FEN // 20),
            st.integers(0, MAX_MONTH_VOLUME // 20),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_every_value_the_bulk_writer_encodes_reads_back_equal(
    store: Store, rows: list[tuple[int, int, int, int, int]]
) -> None:
    """The bulk writer's encoding of a revenue row (binary COPY on PostgreSQL) is exact."""
    if not store.counts()["customers"]:
        store.import_rows(
            CustomerRows.from_values(
                [2, 3, 4, 5, 6],
                [(f"C{i:04d}", "c", -1, -1, 1, None, None, FIRST, -1) for i in range(5)],
            ),
            progress=False,
        )
    before = len(stored_rows(store))
    columns = tuple(np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    store.import_rows(revenue=list(batches(columns, 16)), progress=False)
    assert stored_rows(store)[before:].tolist() == [list(r) for r in rows]
