"""Analyst helpers on raw transactions: RFM summaries, scores and segments.

:func:`rfm` summarises :class:`~keyaccount.io.Transactions` per customer as
``lifetimes``' ``summary_data_from_transaction_data`` does (frequency,
recency, T, monetary), with money exact; :func:`rfm_scores` scores the
customers and names their segments (pymc-marketing's ``rfm_segments`` by
default); both give user metrics for policies (``as_metrics``). See
``docs/rfm.md``.

Example:
    >>> import pandas as pd
    >>> from keyaccount.io import transactions_from_frame
    >>> tx = transactions_from_frame(pd.DataFrame({
    ...     "customer_id": ["A", "A", "B"],
    ...     "date": ["2023-01-03", "2023-02-10", "2023-03-01"],
    ...     "amount": ["100", "250.50", "80"]}))
    >>> table = rfm(tx, "2023-03-31", freq="M")
    >>> table
    <RfmTable: 2 customers, freq 'M', observation end 2023-03-31>
    >>> table.frequency.tolist(), table.row("A").monetary
    ([1, 0], Decimal('250.50'))
"""

from __future__ import annotations

from keyaccount.analysis._rfm import FREQS, MONTH_DAYS, RfmRow, RfmTable, rfm
from keyaccount.analysis._scores import DEFAULT_SEGMENTS, OTHER, RfmScores, rfm_scores

__all__ = [
    "DEFAULT_SEGMENTS",
    "FREQS",
    "MONTH_DAYS",
    "OTHER",
    "RfmRow",
    "RfmScores",
    "RfmTable",
    "rfm",
    "rfm_scores",
]
