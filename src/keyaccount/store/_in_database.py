"""``Store.metrics`` and ``Store.evaluate``: the queries of :mod:`keyaccount.store.sql`.

Both run on one snapshot of the store. :mod:`keyaccount.store.sql` loads the
rules package (the policy compiler) and takes a noticeable part of a second to
import, so it is imported on first use here, not whenever a store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

    from keyaccount.domain import Period
    from keyaccount.portfolio import MetricsTable
    from keyaccount.rules import Evaluation, Policy

__all__ = ["evaluate", "metrics"]


def metrics(engine: sa.Engine, as_of: Period, *, rollup: bool) -> MetricsTable:
    """The metrics table as of ``as_of``, computed in the database (see ``Store.metrics``)."""
    from keyaccount.store.sql import read_metrics, snapshot

    with snapshot(engine) as conn:
        return read_metrics(conn, as_of, rollup=rollup)


def evaluate(engine: sa.Engine, policy: Policy, as_of: Period | str, *, rollup: bool) -> Evaluation:
    """``policy`` evaluated in the database as of ``as_of`` (see ``Store.evaluate``)."""
    from keyaccount.store.sql import evaluate_in_database, snapshot

    with snapshot(engine) as conn:
        return evaluate_in_database(conn, policy, as_of, rollup=rollup)
