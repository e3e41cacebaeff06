"""The SQL evaluator and SQL metrics agree exactly with the in-memory ones, on both databases.

Random policies (conditions generated as text from a typed grammar over the
built-in metrics, so every one parses) over random small portfolios saved
into the store: ``Store.evaluate`` gives the reference evaluator's decisions,
transitions, held demotions and explanations; ``Store.metrics`` gives
``Portfolio.metrics`` (integers equal, float64 ratios bit for bit, absent
values as ``NULL``). One database per backend serves a whole module; each
example replaces the stored portfolio.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import Period, Product, default_catalog
from keyaccount.exceptions import (
    PolicyError,
    PrecisionError,
    RuleSyntaxError,
    UnknownProductError,
)
from keyaccount.portfolio import METRICS
from keyaccount.rules import (
    MetricRegistry,
    Policy,
    Rule,
    UserMetric,
    default_policy,
)
from keyaccount.store.sql import _rules as _sql_rules
from keyaccount.store.sql._metrics import metrics_select
from keyaccount.store.sql._rules import compile_policy
from tests.strategies import PortfolioData, policies, portfolios

if TYPE_CHECKING:
    from keyaccount.portfolio import MetricsTable
    from keyaccount.rules import Evaluation
    from keyaccount.store import Store


def _saved(store: Store, data: PortfolioData) -> Portfolio:
    portfolio = Portfolio(data.customers, data.records)
    store.save(portfolio, replace=True)
    return portfolio


# ---------------------------------------------------------------- helpers


def _assert_same_evaluation(sql: Evaluation, expected: Evaluation) -> None:
    assert list(sql.customer_ids) == list(expected.customer_ids)
    assert sql.as_of == expected.as_of
    for chain in ("tier", "segment"):
        a, b = getattr(sql, chain), getattr(expected, chain)
        for field in ("rule", "outcome", "before", "after"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
            assert getattr(a, field).dtype == getattr(b, field).dtype
    assert sql.transitions == expected.transitions
    assert sql.held == expected.held
    assert sql.counts == expected.counts


def _bits(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.float64).tobytes()


def _assert_same_table(sql: MetricsTable, expected: MetricsTable) -> None:
    assert list(sql.customer_ids) == list(expected.customer_ids)
    assert sql.as_of == expected.as_of
    assert sql.rollup == expected.rollup
    assert sql.names == expected.names == tuple(METRICS)
    for name in METRICS:
        np.testing.assert_array_equal(sql.absent[name], expected.absent[name], err_msg=name)
        got, want = sql.columns[name], expected.columns[name]
        assert got.dtype == want.dtype, name
        if want.dtype.kind == "f":
            assert _bits(got) == _bits(want), name  # bit for bit, NaN where absent
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    np.testing.assert_array_equal(sql.tier, expected.tier)
    np.testing.assert_array_equal(sql.segment, expected.segment)
    assert sql.product_ids == expected.product_ids
    np.testing.assert_array_equal(sql.product_revenue, expected.product_revenue)


# ---------------------------------------------------------------- equivalence


@given(
    data=portfolios(max_customers=8, max_records=50),
    policy=policies(user_metrics=False),
    rollup=st.booleans(),
)
def test_sql_evaluator_agrees_with_the_reference(
    sql_store: Store, data: PortfolioData, policy: Policy, rollup: bool
) -> None:
    """Store.evaluate gives the reference's decisions, transitions, holds and explanations."""
    portfolio = _saved(sql_store, data)
    expected = policy.evaluate(portfolio, data.as_of, engine="reference", rollup=rollup)
    _assert_same_evaluation(sql_store.evaluate(policy, data.as_of, rollup=rollup), expected)


@given(data=portfolios(max_customers=8, max_records=50), rollup=st.booleans())
def test_sql_metrics_equal_portfolio_metrics(
    sql_store: Store, data: PortfolioData, rollup: bool
) -> None:
    """Store.metrics equals Portfolio.metrics: fen, counts, ratios bit for bit, absent masks."""
    portfolio = _saved(sql_store, data)
    _assert_same_table(
        sql_store.metrics(data.as_of, rollup=rollup),
        portfolio.metrics(data.as_of, rollup=rollup),
    )


@given(data=portfolios(max_customers=8, max_records=40), policy=policies(user_metrics=False))
def test_explanation_bits_split_over_several_columns_are_the_same(
    sql_store: Store, data: PortfolioData, policy: Policy
) -> None:
    """Citations spread over one bit mask column per name give the same explanations."""
    portfolio = _saved(sql_store, data)
    expected = policy.evaluate(portfolio, data.as_of, engine="reference")
    with patch.object(_sql_rules, "BITS_PER_WORD", 1):
        sql = sql_store.evaluate(policy, data.as_of)
    assert sql.transitions == expected.transitions
    assert sql.held == expected.held


@pytest.mark.parametrize("rollup", [False, True])
def test_default_policy_on_a_demo_portfolio(sql_store: Store, rollup: bool) -> None:
    """On a generated demo portfolio the default policy gives the in-memory result."""
    from keyaccount.demo import generate

    portfolio = generate(customers=250, months=30, end="2022-11")
    sql_store.save(portfolio, replace=True)
    policy = default_policy()
    for as_of in ("2022-11", "2021-12"):
        expected = policy.evaluate(portfolio, as_of, rollup=rollup)
        sql = sql_store.evaluate(policy, as_of, rollup=rollup)
        _assert_same_evaluation(sql, expected)
        assert sql.transitions, "the demo portfolio should have transitions to explain"
        _assert_same_table(
            sql_store.metrics(as_of, rollup=rollup), portfolio.metrics(as_of, rollup=rollup)
        )


# ---------------------------------------------------------------- edge cases


def _one_customer(store: Store, records: list[RevenueRecord]) -> Portfolio:
    portfolio = Portfolio([Customer("C1", "某中院", "2020-01", tier="KEY")], records)
    store.save(portfolio, replace=True)
    return portfolio


def test_absent_values_are_null_in_sql(sql_store: Store) -> None:
    """Without a previous year and without a positive month, yoy and months_since_last are NULL."""
    _one_customer(sql_store, [RevenueRecord("C1", "court_express", "2022-03", "-5.00")])
    stmt = metrics_select(Period.parse("2022-11"))
    with sql_store.engine.connect() as conn:
        row = conn.execute(stmt).one()._mapping
    assert row["yoy_growth"] is None
    assert row["months_since_last"] is None
    assert row["t12m_revenue"] == -500
    assert row["active_months"] == 0


def test_months_since_last_looks_beyond_the_window(sql_store: Store) -> None:
    """A positive month older than 24 months still gives months_since_last."""
    portfolio = _one_customer(
        sql_store,
        [
            RevenueRecord("C1", "court_express", "2020-02", "10.00"),
            RevenueRecord("C1", "court_express", "2020-03", "10.00"),
            RevenueRecord("C1", "card_letter", "2020-03", "-20.00"),
        ],
    )
    for rollup in (False, True):
        table = sql_store.metrics("2022-11", rollup=rollup)
        assert table.row("C1")["months_since_last"] == Period.parse("2022-11") - Period.parse(
            "2020-02"
        )
        _assert_same_table(table, portfolio.metrics("2022-11", rollup=rollup))


def test_division_by_zero_and_nan_are_absent(sql_store: Store) -> None:
    """Division by zero and NaN (inf - inf) are absent: the rule does not fire."""
    portfolio = _one_customer(
        sql_store, [RevenueRecord("C1", "court_express", "2022-03", "100.00")]
    )
    policy = Policy(
        "p",
        [
            Rule("by-zero", "t12m_revenue / (active_months - 1) > 0", to="STRATEGIC"),
            Rule("by-neg-zero", "t12m_revenue / -0.0 != 1", to="STRATEGIC"),
            Rule(
                "nan",
                "not (t12m_revenue * 1e99 * 1e99 * 1e99 * 1e99 - 1e99 * 1e99 * 1e99 * 1e99 > 0)",
                to="DORMANT",
            )
            if sql_store.backend == "sqlite"
            else Rule("zero-times", "share('court_express') * 0.0 == 0", to="DORMANT"),
            Rule("fallback", "true", to="ACTIVE"),
        ],
    )
    expected = policy.evaluate(portfolio, "2022-11", engine="reference")
    sql = sql_store.evaluate(policy, "2022-11")
    _assert_same_evaluation(sql, expected)


def test_float_overflow_matches_ieee_on_sqlite_and_is_refused_by_postgresql(
    sql_store: Store,
) -> None:
    """An overflow to inf: SQLite gives the IEEE result, PostgreSQL a PrecisionError."""
    portfolio = _one_customer(
        sql_store, [RevenueRecord("C1", "court_express", "2022-03", "100.00")]
    )
    policy = Policy(
        "p", [Rule("huge", "t12m_revenue * 1e99 * 1e99 * 1e99 * 1e99 > 1e99", to="STRATEGIC")]
    )
    expected = policy.evaluate(portfolio, "2022-11", engine="reference")
    assert [t.rule for t in expected.transitions] == ["huge"]  # inf > 1e99
    if sql_store.backend == "sqlite":
        _assert_same_evaluation(sql_store.evaluate(policy, "2022-11"), expected)
    else:
        with pytest.raises(PrecisionError, match=r"'p'.*overflow"):
            sql_store.evaluate(policy, "2022-11")


def test_held_demotion_and_explanation(sql_store: Store) -> None:
    """A demotion within min_months_in_tier is held and explained with the cited values."""
    portfolio = Portfolio(
        [Customer("C1", "某中院", "2020-01", tier="KEY", tier_since="2022-10")],
        [RevenueRecord("C1", "court_express", "2022-03", "1234.56")],
    )
    sql_store.save(portfolio, replace=True)
    policy = Policy(
        "p",
        [Rule("demote", "t12m_revenue < 1_000_000 or yoy_growth < 0", to="ACTIVE")],
        min_months_in_tier=3,
    )
    sql = sql_store.evaluate(policy, "2022-11")
    assert sql.transitions == ()
    (held,) = sql.held
    assert held.explanation == (("t12m_revenue", Decimal("1234.56")),)
    _assert_same_evaluation(sql, policy.evaluate(portfolio, "2022-11", engine="reference"))


def test_customers_first_seen_later_are_left_out(sql_store: Store) -> None:
    """Customers whose first period is after the as-of month are not evaluated."""
    portfolio = Portfolio(
        [Customer("A", "甲", "2021-01"), Customer("B", "乙", "2023-01")],
        [RevenueRecord("B", "card_letter", "2023-02", "5.00")],
    )
    sql_store.save(portfolio, replace=True)
    policy = Policy("p", [Rule("all", "true", to="KEY")])
    assert list(sql_store.evaluate(policy, "2022-11").customer_ids) == ["A"]
    assert list(sql_store.metrics("2022-11").customer_ids) == ["A"]


def test_empty_store_gives_an_empty_evaluation(sql_store: Store) -> None:
    """A store without customers evaluates to no decisions."""
    sql_store.save(Portfolio(), replace=True)
    ev = sql_store.evaluate(default_policy(), "2022-11")
    assert len(ev.customer_ids) == 0
    assert ev.transitions == ()
    assert len(sql_store.metrics("2022-11")) == 0


def test_user_metrics_are_refused(sql_store: Store) -> None:
    """A policy naming a user metric (computed in Python) cannot be evaluated in the database."""
    _one_customer(sql_store, [])
    registry = MetricRegistry().with_metric(
        UserMetric("court_months", "count", lambda table, pf: table.columns["active_months"])
    )
    policy = Policy(
        "p", [Rule("r", "court_months >= 3", to="KEY", metrics=registry)], metrics=registry
    )
    with pytest.raises(PolicyError, match=r"rule 'r': metric 'court_months' is a user metric"):
        sql_store.evaluate(policy, "2022-11")


def test_share_of_a_product_the_store_lacks_is_refused(sql_store: Store) -> None:
    """share() of a product outside the store's catalogue raises UnknownProductError."""
    _one_customer(sql_store, [])
    catalog = default_catalog().with_products([Product("cold_chain", "Cold chain", "冷链")])
    policy = Policy("p", [Rule("cold", "share('cold_chain') > 0.5", to="KEY", catalog=catalog)])
    with pytest.raises(UnknownProductError, match=r"rule 'cold': product 'cold_chain'"):
        sql_store.evaluate(policy, "2022-11")


# ---------------------------------------------------------------- no SQL injection


@pytest.mark.parametrize(
    "when",
    [
        "t12m_revenue; drop table x",
        "t12m_revenue >= 1 -- comment",
        "drop >= 1",
        "t12m_revenue >= 1 or 1 = 1",
        "share('x\\') or 1=1 --') > 0",
    ],
)
def test_rule_text_cannot_inject_sql(when: str) -> None:
    """Text that is not a condition of known metrics is refused when the rule is parsed."""
    with pytest.raises(RuleSyntaxError, match="rule 'evil'"):
        Rule("evil", when, to="KEY")


def test_literals_and_products_are_bound_parameters(sql_store: Store) -> None:
    """The compiled SQL holds no literal of the rule text: every value is a bound parameter."""
    policy = Policy(
        "p",
        [
            Rule("money", "t12m_revenue >= 7_654_321.09", to="KEY"),
            Rule("ratio", "yoy_growth > 0.123456789 or active_months == 987", to="STRATEGIC"),
            Rule("share", "share('policy_mailing') >= 0.4321", to_segment="INSURANCE"),
        ],
    )
    catalog = {pid: key for key, pid in enumerate(default_catalog())}
    compiled = compile_policy(
        policy, "2022-11", catalog=catalog, postgresql=sql_store.backend == "postgresql"
    )
    dialect = sql_store.engine.dialect
    for stmt in (compiled.decisions, compiled.evaluation):
        sql = stmt.compile(dialect=dialect)
        text = str(sql)
        for literal in ("765432109", "7654321", "0.123456789", "987", "0.4321", "policy_mailing"):
            assert literal not in text
        params = set(sql.params.values())
        assert {765432109, 0.123456789, 987, 0.4321} <= params
        assert catalog["policy_mailing"] in params
    # and the store still works after evaluating it
    _one_customer(sql_store, [RevenueRecord("C1", "policy_mailing", "2022-01", "7654321.09")])
    ev = sql_store.evaluate(policy, "2022-11")
    # exactly at the bound literal: a stay at KEY (no transition), then the segment move
    assert ev.counts.by_rule == {"money": 1, "ratio": 0, "share": 1}
    assert [(t.rule, t.kind) for t in ev.transitions] == [("share", "segment")]
    assert ev.transitions[0].explanation == (("share('policy_mailing')", 1.0),)
    assert sql_store.counts()["customers"] == 1


def test_compiled_float_operations_are_cast_to_double(sql_store: Store) -> None:
    """Money enters float64 arithmetic through an explicit CAST, never as PostgreSQL numeric."""
    policy = Policy("p", [Rule("r", "t12m_revenue / active_months > 2.5", to="KEY")])
    compiled = compile_policy(
        policy,
        "2022-11",
        catalog={},
        postgresql=sql_store.backend == "postgresql",
    )
    text = str(compiled.decisions.compile(dialect=sql_store.engine.dialect))
    double = "DOUBLE PRECISION" if sql_store.backend == "postgresql" else "DOUBLE"
    assert f"CAST(ka_metrics.t12m_revenue AS {double})" in text
    assert f"CAST(ka_metrics.active_months AS {double})" in text
    assert "NUMERIC" not in text.upper()
    assert "nullif" in text.lower()


def test_each_chain_is_one_case_expression(sql_store: Store) -> None:
    """Each chain's conditions appear once in the decisions SQL (not once per reference)."""
    policy = Policy(
        "p",
        [
            Rule("a", "t12m_revenue >= 123_456.78", to="KEY"),
            Rule("b", "share('card_letter') >= 0.777", to_segment="FINANCE"),
        ],
        min_months_in_tier=5,
    )
    compiled = compile_policy(
        policy,
        "2022-11",
        catalog={pid: key for key, pid in enumerate(default_catalog())},
        postgresql=sql_store.backend == "postgresql",
    )
    sql = compiled.decisions.compile()  # named parameters, whatever the database
    for value in (12345678, 0.777):
        names = [name for name, v in sql.params.items() if v == value]
        assert len(names) == 1
        assert len(re.findall(rf":{names[0]}\b", str(sql))) == 1


def test_store_import_does_not_import_the_rules_and_rules_never_import_the_store() -> None:
    """Importing the store loads no rules module, and the rules load neither store nor sqlmodel."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import keyaccount.store\n"
        "assert not any(m.startswith('keyaccount.rules') for m in sys.modules), 'rules'\n"
        "for m in [m for m in sys.modules if m.startswith(('keyaccount', 'sqlmodel'))]:\n"
        "    del sys.modules[m]\n"
        "import keyaccount.rules\n"
        "assert 'keyaccount.store' not in sys.modules and 'sqlmodel' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
