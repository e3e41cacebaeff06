"""``Store.metrics`` and ``Store.evaluate``: the queries of :mod:`keyaccount.store.sql`.

Both run on one snapshot of the store. :mod:`keyaccount.store.sql` loads the
rules package (the policy compiler) and takes a noticeable part of a second to
import, so it is imported on first use here, not whenever a store is opened.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from keyaccount.utils import elapsed, logger

if TYPE_CHECKING:
    from keyaccount.domain import Period
    from keyaccount.portfolio import MetricsTable
    from keyaccount.rules import Evaluation, Policy
    from keyaccount.store._engine import Database

__all__ = ["evaluate", "metrics"]

_log = logger("store")


def metrics(db: Database, as_of: Period, *, rollup: bool) -> MetricsTable:
    """The metrics table as of ``as_of``, computed in the database (see ``Store.metrics``)."""
    from keyaccount.store.sql import read_metrics, snapshot

    start = time.perf_counter()
    with snapshot(db) as conn:
        table = read_metrics(conn, as_of, rollup=rollup)
    _log.info(
        "metrics as of %s computed in the database%s: %d customers, in %.3f s",
        as_of,
        " with roll-ups" if rollup else "",
        len(table),
        elapsed(start),
    )
    return table


def evaluate(db: Database, policy: Policy, as_of: Period | str, *, rollup: bool) -> Evaluation:
    """``policy`` evaluated in the database as of ``as_of`` (see ``Store.evaluate``)."""
    from keyaccount.store.sql import evaluate_in_database, snapshot

    start = time.perf_counter()
    with snapshot(db) as conn:
        result = evaluate_in_database(conn, policy, as_of, rollup=rollup)
    seconds = elapsed(start)
    if _log.isEnabledFor(logging.INFO):
        counts = result.counts
        _log.info(
            "policy %r evaluated as of %s (sql): %d customers, %d tier and %d segment "
            "transitions, %d held, in %.3f s",
            policy.name,
            result.as_of,
            counts.customers,
            counts.tier_moves,
            counts.segment_moves,
            counts.held,
            seconds,
        )
    return result
