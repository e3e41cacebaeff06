"""The policies and metrics of keyaccount on Apache Spark: where a carrier's data lake is.

Given Spark frames of customers and revenue in the Arrow/Parquet layout of a
portfolio (``Portfolio.to_arrow``, a directory written as Parquet), Spark
computes the metrics of ``docs/metrics.md`` (roll-ups included, exact integer
fen) and evaluates a policy compiled from its AST to Spark column expressions
through the compiler interface every evaluator shares
(:mod:`keyaccount.rules.compiler`): the decisions and explanations equal the
in-memory evaluator's (``docs/spark.md``; the tests in ``tests/spark`` hold
them equal).

pyspark (the ``spark`` extra, with a Java 17 runtime) is imported when one of
these functions is first used, never by ``import keyaccount``.

Example:
    >>> from pyspark.sql import SparkSession  # doctest: +SKIP
    >>> from keyaccount import spark as ks  # doctest: +SKIP
    >>> session = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
    >>> customers = session.read.parquet("portfolio/customers.parquet")  # doctest: +SKIP
    >>> revenue = session.read.parquet("portfolio/revenue")  # doctest: +SKIP
    >>> ks.evaluate(default_policy(), customers, revenue, "2022-11").write.parquet("out")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyaccount.spark._api import (
        evaluate,
        evaluate_parquet,
        evaluate_portfolio,
        metrics,
        portfolio_frames,
    )
    from keyaccount.spark._backtest import (
        BACKTEST_COLUMNS,
        backtest,
        backtest_parquet,
        backtest_portfolio,
        to_backtest,
    )
    from keyaccount.spark._rules import DECISION_COLUMNS, EXPLANATION_FIELDS, to_evaluation

__all__ = [
    "BACKTEST_COLUMNS",
    "DECISION_COLUMNS",
    "EXPLANATION_FIELDS",
    "backtest",
    "backtest_parquet",
    "backtest_portfolio",
    "evaluate",
    "evaluate_parquet",
    "evaluate_portfolio",
    "metrics",
    "portfolio_frames",
    "to_backtest",
    "to_evaluation",
]

_WHERE = {
    "BACKTEST_COLUMNS": "keyaccount.spark._backtest",
    "DECISION_COLUMNS": "keyaccount.spark._rules",
    "EXPLANATION_FIELDS": "keyaccount.spark._rules",
    "backtest": "keyaccount.spark._backtest",
    "backtest_parquet": "keyaccount.spark._backtest",
    "backtest_portfolio": "keyaccount.spark._backtest",
    "evaluate": "keyaccount.spark._api",
    "evaluate_parquet": "keyaccount.spark._api",
    "evaluate_portfolio": "keyaccount.spark._api",
    "metrics": "keyaccount.spark._api",
    "portfolio_frames": "keyaccount.spark._api",
    "to_backtest": "keyaccount.spark._backtest",
    "to_evaluation": "keyaccount.spark._rules",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'keyaccount.spark' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
