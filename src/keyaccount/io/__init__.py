"""CSV import and export: customers, monthly revenue and raw transactions.

Three formats, described column by column in ``docs/import-export.md``:

- customers: ``customer_id,name,segment,sub_segment,tier,parent_id,province,
  first_period[,tier_since]``, read whole by :func:`read_customers_csv`;
- revenue: ``customer_id,period,product_id,revenue,volume``, streamed in
  batches of columns by :func:`iter_revenue_csv`;
- raw transactions: ``customer_id,date,amount[,product_id][,quantity][,name]``
  (under the user's column names, dates in the user's format, any text
  encoding), summed to monthly revenue by :func:`iter_transactions_csv`, or
  kept one by one with their day in a :class:`Transactions` table by
  :func:`read_transactions_csv` and :func:`transactions_from_frame` (the
  input of RFM, :mod:`keyaccount.analysis`).

Readers return validated columns (numpy arrays), never one object per row;
revenue files are parsed a block of bytes at a time with array operations.
A bad row is named by file, line, column, value and reason: by default the
reader reads the whole file and raises
:class:`~keyaccount.exceptions.CsvImportError` listing them all; with
``errors=ErrorPolicy.reject(path)`` it goes on with the good rows and writes
the bad ones to a reject file. A caller with checks of its own passes a
:class:`~keyaccount.io.problems.ProblemSink` as ``errors`` and adds its bad
rows to the reader's (:mod:`keyaccount.io.problems`, which also makes the
reject files of a multi-file import). :func:`read_portfolio_csv` and
:func:`write_portfolio_csv` move a whole :class:`~keyaccount.Portfolio`;
:func:`write_portfolio_parquet` and :func:`read_portfolio_parquet` move it
(with its project groups, and :func:`read_changes_parquet` its history) as a
directory of Parquet files, revenue partitioned by month (the ``arrow`` extra).

Example:
    >>> import pathlib, tempfile
    >>> from keyaccount import Customer, Portfolio, RevenueRecord
    >>> from keyaccount.io import read_portfolio_csv, write_portfolio_csv
    >>> pf = Portfolio([Customer("C1", "某中院, 民一庭", "2022-01", segment="司法")],
    ...                [RevenueRecord("C1", "court_express", "2022-05", "-880.50")])
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_portfolio_csv(pf, d / "customers.csv", d / "revenue.csv")
    >>> back = read_portfolio_csv(d / "customers.csv", d / "revenue.csv")
    >>> back.customer("C1") == pf.customer("C1"), list(back.revenue_records())[0].revenue
    (True, Decimal('-880.50'))
"""

from __future__ import annotations

from keyaccount.io._customers import CustomerRows, read_customers_csv
from keyaccount.io._formats import CUSTOMER_COLUMNS, REVENUE_COLUMNS, TRANSACTION_COLUMNS
from keyaccount.io._parquet import (
    ChangeRecord,
    read_change_records_parquet,
    read_changes_parquet,
    read_portfolio_parquet,
    write_portfolio_parquet,
)
from keyaccount.io._portfolio import read_portfolio_csv, write_portfolio_csv
from keyaccount.io._revenue import iter_revenue_csv, iter_transactions_csv
from keyaccount.io._rows import ReadStats, RevenueBatches, RevenueRows
from keyaccount.io._transactions import (
    Transactions,
    read_transactions_csv,
    transactions_from_frame,
)
from keyaccount.io._write import write_customers_csv, write_revenue_csv
from keyaccount.io.problems import REJECT_COLUMNS, ErrorPolicy, ProgressCallback

__all__ = [
    "CUSTOMER_COLUMNS",
    "REJECT_COLUMNS",
    "REVENUE_COLUMNS",
    "TRANSACTION_COLUMNS",
    "ChangeRecord",
    "CustomerRows",
    "ErrorPolicy",
    "ProgressCallback",
    "ReadStats",
    "RevenueBatches",
    "RevenueRows",
    "Transactions",
    "iter_revenue_csv",
    "iter_transactions_csv",
    "read_change_records_parquet",
    "read_changes_parquet",
    "read_customers_csv",
    "read_portfolio_csv",
    "read_portfolio_parquet",
    "read_transactions_csv",
    "transactions_from_frame",
    "write_customers_csv",
    "write_portfolio_csv",
    "write_portfolio_parquet",
    "write_revenue_csv",
]
