"""Tier and segment transition rules: a declarative policy language with explanations.

A :class:`Policy` is an ordered list of :class:`Rule` objects, written in
Python or in a TOML file a non-programmer can edit. Each rule has a
condition over the portfolio metrics (``t12m_revenue >= 1_000_000 and
active_months >= 10``), parsed into a typed AST (never ``eval``). A policy is
a value; evaluating, validating and backtesting it are functions
(:func:`evaluate`, :func:`validate`, :func:`backtest`; the policy's methods of
the same names delegate to them) that take any :class:`PolicyRules`.
Policies evaluate with a columnar numpy evaluator (the default) or the
plain-Python reference evaluator (the specification); both give the same
transitions, held demotions and explanations. Each evaluator compiles the AST
through the public interface of :mod:`keyaccount.rules.compiler`, which a new
backend implements too. ``docs/rules.md`` states the language and its
semantics, ``docs/compiler.md`` the compiler interface.

Example:
    >>> from keyaccount import Customer, Portfolio, RevenueRecord
    >>> from keyaccount.rules import Policy, Rule
    >>> pf = Portfolio([Customer("C1", "某中院", "2022-01")],
    ...                [RevenueRecord("C1", "court_express", "2022-06", "1200000")])
    >>> policy = Policy("p", [Rule("promote-key", "t12m_revenue >= 1_000_000", to="KEY")])
    >>> [str(t) for t in policy.evaluate(pf, "2022-12")]
    ["C1: ACTIVE -> KEY by 'promote-key' (t12m_revenue=1200000.00)"]
"""

from __future__ import annotations

from keyaccount.rules._ast import (
    And,
    Arith,
    Compare,
    Expr,
    Literal,
    MetricRef,
    Neg,
    Not,
    Or,
    ShareRef,
    ValueType,
    format_condition,
    references,
    walk,
)
from keyaccount.rules._backtest import Backtest, BacktestComparison, backtest, compare_backtests
from keyaccount.rules._columnar import evaluate_columnar
from keyaccount.rules._default import default_policy, default_policy_text
from keyaccount.rules._evaluate import evaluate
from keyaccount.rules._evaluation import (
    ChainDecisions,
    Evaluation,
    EvaluationCounts,
    Explanation,
    Outcome,
    Transition,
    TransitionKind,
)
from keyaccount.rules._parser import parse_condition
from keyaccount.rules._policy import Policy
from keyaccount.rules._reference import CustomerFacts, evaluate_reference, facts_from_table
from keyaccount.rules._registry import (
    MetricRegistry,
    UserMetric,
    default_registry,
    register_metric,
)
from keyaccount.rules._rule import UNASSIGNED, PolicyRules, Rule
from keyaccount.rules._validate import Finding, Severity, transition_graph, validate

__all__ = [
    "UNASSIGNED",
    "And",
    "Arith",
    "Backtest",
    "BacktestComparison",
    "ChainDecisions",
    "Compare",
    "CustomerFacts",
    "Evaluation",
    "EvaluationCounts",
    "Explanation",
    "Expr",
    "Finding",
    "Literal",
    "MetricRef",
    "MetricRegistry",
    "Neg",
    "Not",
    "Or",
    "Outcome",
    "Policy",
    "PolicyRules",
    "Rule",
    "Severity",
    "ShareRef",
    "Transition",
    "TransitionKind",
    "UserMetric",
    "ValueType",
    "backtest",
    "compare_backtests",
    "default_policy",
    "default_policy_text",
    "default_registry",
    "evaluate",
    "evaluate_columnar",
    "evaluate_reference",
    "facts_from_table",
    "format_condition",
    "parse_condition",
    "references",
    "register_metric",
    "transition_graph",
    "validate",
    "walk",
]
