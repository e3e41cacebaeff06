"""The store's SQL: the metrics and the policy evaluator as queries over the stored tables.

:func:`read_metrics` computes :class:`~keyaccount.portfolio.MetricsTable` in the
database with the in-memory definitions (``keyaccount.portfolio``) and the same
limits; :func:`compile_policy` turns a :class:`~keyaccount.rules.Policy` into one
query and :func:`evaluate_in_database` runs it, giving the transitions and
explanations of the in-memory evaluators. :class:`~keyaccount.store.Store` calls
these through ``Store.metrics`` and ``Store.evaluate``; a caller with its own
connection can use them directly. See ``docs/store.md``.
"""

from __future__ import annotations

from keyaccount.store.sql._metrics import metrics_select, product_keys, read_metrics, snapshot
from keyaccount.store.sql._rules import compile_policy, evaluate_in_database

__all__ = [
    "compile_policy",
    "evaluate_in_database",
    "metrics_select",
    "product_keys",
    "read_metrics",
    "snapshot",
]
