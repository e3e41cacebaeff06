"""The public API of keyaccount.io."""

from __future__ import annotations

import keyaccount.io
from keyaccount import exceptions

EXPECTED = [
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


def test_all_is_pinned() -> None:
    """keyaccount.io exports exactly the pinned names, and star-import gives just those."""
    assert keyaccount.io.__all__ == EXPECTED
    namespace: dict[str, object] = {}
    exec("from keyaccount.io import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(EXPECTED)


def test_column_tuples_match_the_formats() -> None:
    """The column tuples spell the three formats of the issue."""
    assert ",".join(keyaccount.io.CUSTOMER_COLUMNS) == (
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period,tier_since"
    )
    assert ",".join(keyaccount.io.REVENUE_COLUMNS) == "customer_id,period,product_id,revenue,volume"
    assert ",".join(keyaccount.io.TRANSACTION_COLUMNS) == (
        "customer_id,date,amount,product_id,quantity,name"
    )


def test_csv_errors_are_keyaccount_errors_and_builtins() -> None:
    """The CSV errors derive from KeyAccountError and from a fitting built-in."""
    assert issubclass(exceptions.CsvRowError, exceptions.ValidationError)
    assert issubclass(exceptions.CsvRowError, ValueError)
    assert issubclass(exceptions.CsvHeaderError, ValueError)
    assert issubclass(exceptions.CsvFileNotFoundError, FileNotFoundError)
    assert issubclass(exceptions.CsvImportError, exceptions.PortfolioValidationError)
    assert issubclass(exceptions.CsvImportError, ExceptionGroup)
    for name in ("CsvRowError", "CsvHeaderError", "CsvFileNotFoundError", "CsvImportError"):
        assert name in exceptions.__all__
        assert issubclass(getattr(exceptions, name), exceptions.KeyAccountError)
