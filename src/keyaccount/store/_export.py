"""Exporting the store as the CSV files an import reads back (``Store.export_csv``)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.io import RevenueRows, write_customers_csv, write_revenue_csv
from keyaccount.store._progress import reporter
from keyaccount.store._reads import iter_revenue_blocks, read_catalog, read_customer_columns
from keyaccount.utils import atomic_outputs, elapsed, logger, paused_gc

if TYPE_CHECKING:
    import os
    from collections.abc import Generator
    from typing import Literal

    import sqlalchemy as sa

    from keyaccount.store._engine import Database

__all__ = ["ExportReport", "export_csv"]

_log = logger("store")


@attrs.frozen
class ExportReport:
    """What an export wrote.

    Attributes:
        customers: Customers written.
        revenue_rows: Revenue rows written.
    """

    customers: int = 0
    revenue_rows: int = 0


def export_csv(
    db: Database,
    customers: str | os.PathLike[str] | None,
    revenue: str | os.PathLike[str] | None,
    *,
    lang: Literal["en", "zh"],
    progress: bool | None,
) -> ExportReport:
    """Write the stored customers and revenue files (see ``Store.export_csv``).

    Both files are written to temporaries and renamed into place when both
    are complete; revenue is streamed from the database in batches.
    """
    start = time.perf_counter()
    n_customers = n_revenue = 0
    with (
        atomic_outputs(),
        reporter(progress) as bars,
        paused_gc(),
        db.transaction(write=False) as conn,
    ):
        keys, columns = read_customer_columns(conn, None)
        if customers is not None:
            n_customers = write_customers_csv(customers, columns, lang=lang)
        if revenue is not None:
            # Closed here, while the connection is open, even when writing fails.
            with contextlib.closing(_revenue_rows(conn, keys, columns.id)) as blocks:
                n_revenue = write_revenue_csv(
                    revenue,
                    blocks,
                    catalog=read_catalog(conn),
                    progress=bars.file(f"revenue {Path(revenue).name}"),
                )
    _log.info(
        "export: %d customers and %d revenue rows written, in %.3f s",
        n_customers,
        n_revenue,
        elapsed(start),
    )
    return ExportReport(n_customers, n_revenue)


def _revenue_rows(
    conn: sa.Connection, keys: npt.NDArray[np.int64], ids: npt.NDArray[np.object_]
) -> Generator[RevenueRows]:
    """The stored revenue as batches of rows, customer keys turned into ids."""
    for block in iter_revenue_blocks(conn):
        yield RevenueRows(
            np.zeros(len(block), dtype=np.int64),
            ids[np.searchsorted(keys, block[:, 0])],
            block[:, 1].astype(np.int32),
            block[:, 2].astype(np.int32),
            block[:, 3].copy(),
            block[:, 4].copy(),
        )
