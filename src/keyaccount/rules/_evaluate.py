"""Evaluating a policy as of a month, on a portfolio or a metrics table, with either engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from keyaccount.domain import Period
from keyaccount.exceptions import PolicyError, shorten
from keyaccount.portfolio import MetricsTable
from keyaccount.rules._columnar import evaluate_columnar
from keyaccount.rules._reference import evaluate_reference, facts_from_table

if TYPE_CHECKING:
    from keyaccount.portfolio import Portfolio
    from keyaccount.rules._evaluation import Evaluation
    from keyaccount.rules._rule import PolicyRules

__all__ = ["Engine", "evaluate"]

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
        return evaluate_columnar(policy, table, portfolio)
    if engine == "reference":
        facts = facts_from_table(table, policy, portfolio)
        return evaluate_reference(policy, facts, table.as_of)
    raise PolicyError(f"unknown engine {shorten(engine)}; expected 'columnar' or 'reference'")
