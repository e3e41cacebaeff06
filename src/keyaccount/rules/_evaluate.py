"""Evaluating a policy as of a month, on a portfolio or a metrics table, with either engine."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Literal

from keyaccount.domain import Period
from keyaccount.exceptions import PolicyError, shorten
from keyaccount.portfolio import MetricsTable
from keyaccount.rules._columnar import evaluate_columnar
from keyaccount.rules._reference import evaluate_reference, facts_from_table
from keyaccount.utils import elapsed, logger

if TYPE_CHECKING:
    from keyaccount.portfolio import Portfolio
    from keyaccount.rules._evaluation import Evaluation
    from keyaccount.rules._rule import PolicyRules

__all__ = ["Engine", "evaluate"]

_log = logger("rules")

Engine = Literal["columnar", "reference"]
"""The in-memory evaluators: ``"columnar"`` (numpy) and ``"reference"`` (plain Python)."""


def evaluate(
    policy: PolicyRules,
    data: Portfolio | MetricsTable,
    as_of: Period | str | None = None,
    *,
    engine: Engine = "columnar",
    rollup: bool = False,
) -> Evaluation:
    """Evaluate ``policy`` as of a month.

    Args:
        policy: The policy.
        data: A portfolio (its metrics are computed as of ``as_of``) or a
            metrics table already computed.
        as_of: The as-of month; needed for a portfolio, optional for a table.
        engine: ``"columnar"`` (numpy, the default) or ``"reference"``
            (plain Python, one customer at a time: the specification).
        rollup: Compute a portfolio's metrics with group roll-ups.

    Returns:
        The :class:`~keyaccount.rules.Evaluation`.

    Raises:
        PolicyError: no ``as_of`` for a portfolio, an ``as_of`` that differs
            from the table's, or an unknown engine.

    Example:
        >>> from keyaccount.demo import generate
        >>> from keyaccount.rules import default_policy
        >>> table = generate(customers=200, end="2022-11").metrics("2022-11")
        >>> a = evaluate(default_policy(), table)
        >>> a.transitions == evaluate(default_policy(), table, engine="reference").transitions
        True
    """
    start = time.perf_counter()
    portfolio: Portfolio | None = None
    if isinstance(data, MetricsTable):
        table = data
        if as_of is not None and Period.parse(as_of) != table.as_of:
            raise PolicyError(
                f"as_of {as_of} differs from the metrics table's as-of month {table.as_of}"
            )
    else:
        if as_of is None:
            raise PolicyError("evaluating a portfolio needs the as-of month (as_of)")
        portfolio = data
        table = data.metrics(as_of, rollup=rollup)
    if engine == "columnar":
        result = evaluate_columnar(policy, table, portfolio)
    elif engine == "reference":
        facts = facts_from_table(table, policy, portfolio)
        result = evaluate_reference(policy, facts, table.as_of)
    else:
        raise PolicyError(f"unknown engine {shorten(engine)}; expected 'columnar' or 'reference'")
    _log_evaluation(result, engine, elapsed(start))
    return result


def _log_evaluation(evaluation: Evaluation, engine: str, seconds: float) -> None:
    """Log an evaluation: counts at ``INFO``, decisions per rule at ``DEBUG``; never a customer."""
    if not _log.isEnabledFor(logging.INFO):
        return
    counts = evaluation.counts
    _log.info(
        "policy %r evaluated as of %s (%s): %d customers, %d tier and %d segment "
        "transitions, %d held, in %.3f s",
        evaluation.policy.name,
        evaluation.as_of,
        engine,
        counts.customers,
        counts.tier_moves,
        counts.segment_moves,
        counts.held,
        seconds,
    )
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("policy %r decisions by rule: %s", evaluation.policy.name, dict(counts.by_rule))
