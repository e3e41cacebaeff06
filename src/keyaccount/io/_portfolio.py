"""A whole :class:`~keyaccount.Portfolio` to and from a customers and a revenue file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from keyaccount.domain import Period, ProductCatalog
from keyaccount.exceptions import ValidationError
from keyaccount.io._customers import read_customers_csv
from keyaccount.io._revenue import iter_revenue_csv
from keyaccount.io._write import Lang, write_customers_csv, write_revenue_csv
from keyaccount.io.problems import ErrorPolicy
from keyaccount.portfolio import Portfolio, RevenueColumns

if TYPE_CHECKING:
    from keyaccount.io._rows import RevenueRows
    from keyaccount.io.problems import ProgressCallback

__all__ = ["read_portfolio_csv", "write_portfolio_csv"]

_RAISE = ErrorPolicy()


def read_portfolio_csv(
    customers_path: str | os.PathLike[str],
    revenue_path: str | os.PathLike[str],
    *,
    catalog: ProductCatalog | None = None,
    errors: ErrorPolicy = _RAISE,
    revenue_errors: ErrorPolicy | None = None,
    progress: ProgressCallback | None = None,
) -> Portfolio:
    """Build a :class:`~keyaccount.Portfolio` from a customers file and a revenue file.

    Customers go in through :meth:`~keyaccount.Portfolio.add_customer_columns`
    and revenue, batch by batch, through
    :meth:`~keyaccount.Portfolio.add_revenue_columns`; no object is made per
    record. Besides the checks of each file, every parent must be in the
    customers file, every revenue row's customer too, and no revenue row may
    come before its customer's ``first_period``. Project groups are not part
    of the files.

    Args:
        customers_path: The customers file.
        revenue_path: The revenue file.
        catalog: The product catalogue (default: :func:`~keyaccount.default_catalog`).
        errors: What to do with bad rows of the customers file. With the raise
            policy (the default) the first file with a bad row raises and no
            portfolio is built.
        revenue_errors: The same for the revenue file; defaults to ``errors``
            in raise mode and must be given (with a reject file of its own)
            when ``errors`` rejects. Revenue of a rejected customer is rejected.
        progress: Passed to both readers (the customers file first).

    Returns:
        The portfolio.

    Raises:
        CsvFileNotFoundError, CsvHeaderError: a missing file or a bad header.
        CsvImportError: with the raise policy, every bad row of the first
            file that has one.
        ValidationError: ``errors`` rejects and ``revenue_errors`` is not
            given, or both name the same reject file.
    """
    if revenue_errors is None:
        if errors.mode == "reject":
            raise ValidationError(
                "revenue_errors must name a reject file of its own when errors rejects "
                f"(customers rejects go to {errors.reject_path})"
            )
        revenue_errors = errors
    if (
        errors.reject_path is not None
        and revenue_errors.reject_path is not None
        and os.path.abspath(errors.reject_path) == os.path.abspath(revenue_errors.reject_path)
    ):
        raise ValidationError(
            f"customers and revenue rejects would both go to {errors.reject_path}"
        )
    rows = read_customers_csv(
        customers_path, errors=errors, known_customers=frozenset(), progress=progress
    )
    portfolio = Portfolio(products=catalog)
    portfolio.add_customer_columns(rows.to_columns())
    positions = {cid: i for i, cid in enumerate(rows.id.tolist())}
    first_period = rows.first_period

    def locate(batch: RevenueRows) -> np.ndarray[tuple[int], np.dtype[np.int32]]:
        return np.fromiter(
            map(positions.__getitem__, batch.customer_id.tolist()), dtype=np.int32, count=len(batch)
        )

    def before_first(batch: RevenueRows) -> list[tuple[int, str, str, str]]:
        first = first_period[locate(batch)]
        bad = np.flatnonzero(batch.period < first).tolist()
        return [
            (
                i,
                "period",
                str(Period.from_ordinal(int(batch.period[i]))),
                f"before customer {batch.customer_id[i]!r}'s first_period "
                f"{Period.from_ordinal(int(first[i]))}",
            )
            for i in bad
        ]

    for batch in iter_revenue_csv(
        revenue_path,
        catalog=portfolio.products,
        errors=revenue_errors,
        known_customers=positions,
        progress=progress,
        _check=before_first,
    ):
        portfolio.add_revenue_columns(
            RevenueColumns(locate(batch), batch.product, batch.period, batch.fen, batch.volume)
        )
    return portfolio


def write_portfolio_csv(
    portfolio: Portfolio,
    customers_path: str | os.PathLike[str],
    revenue_path: str | os.PathLike[str],
    *,
    lang: Lang = "en",
) -> None:
    """Write a portfolio's customers and revenue files.

    :func:`read_portfolio_csv` on the two files (with the portfolio's
    catalogue) gives back the same customers and the same revenue records.

    Args:
        portfolio: The portfolio.
        customers_path: The customers file to create or overwrite.
        revenue_path: The revenue file to create or overwrite.
        lang: Labels in ``"en"`` (names) or ``"zh"`` (Chinese labels).
    """
    write_customers_csv(customers_path, portfolio, lang=lang)
    write_revenue_csv(revenue_path, portfolio)
