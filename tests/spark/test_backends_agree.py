"""One policy file, four backends: memory, SQLite, PostgreSQL and Spark decide alike.

The policy is written as TOML and loaded once; its rules compare money,
counts and ratios (``yoy_growth``, money divided by a count, ``share()``),
filter by ``from`` and ``from_segment``, and hold demotions
(``min_months_in_tier``). On the demo portfolio, with and without roll-ups,
the reference evaluator, the columnar one, ``Store.evaluate`` on SQLite and
on PostgreSQL, and ``keyaccount.spark`` give the same decisions, transitions,
held demotions, explanation values and explanation texts (English and
Chinese).

PostgreSQL is the throwaway server of ``tests/integration/conftest.py``: its
session fixture is imported here by name (``postgres_server = ...``), so a run
of both directories starts one server for each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from keyaccount import spark as ks
from keyaccount.demo import generate
from keyaccount.rules import Policy
from keyaccount.store import Store
from tests.integration import conftest as databases

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession
    from pytest_postgresql.executors import PostgreSQLExecutor

    from keyaccount.rules import Evaluation

postgres_server = databases.postgres_server
"""The session's throwaway PostgreSQL server (skips, or fails under KEYACCOUNT_REQUIRE_POSTGRES)."""

AS_OF = "2022-11"

POLICY = """\
[policy]
name = "four-backends"
description = "One file for memory, SQLite, PostgreSQL and Spark."
min_months_in_tier = 36

[[rule]]
name = "dormant"
from = ["ACTIVE", "KEY", "STRATEGIC"]
to = "DORMANT"
when = "months_since_last >= 3 or t12m_revenue <= 0"

[[rule]]
name = "strategic"
from = ["KEY"]
to = "STRATEGIC"
when = "t12m_revenue >= 5_000_000 and (yoy_growth > 0.1 or product_count >= 4)"

[[rule]]
name = "key"
from = ["ACTIVE"]
to = "KEY"
when = "t12m_revenue / active_months >= 40_000 and active_months >= 6"

[[rule]]
name = "demote"
from = ["STRATEGIC", "KEY"]
to = "ACTIVE"
when = "t12m_revenue < 2_000_000 or yoy_growth < -0.3"

[[rule]]
name = "judicial"
from_segment = ["UNASSIGNED"]
to_segment = "JUDICIAL"
when = "share('court_express') + share('e_receipt') >= 0.05"

[[rule]]
name = "ecommerce"
from_segment = ["UNASSIGNED", "INTERNET"]
to_segment = "ECOMMERCE_TOP"
when = "share('warehouse_delivery') >= 0.2 or t12m_volume >= 100_000"
"""


def _assert_same(got: Evaluation, expected: Evaluation, backend: str) -> None:
    """Decisions, transitions, holds and explanation texts equal, naming the backend."""
    assert list(got.customer_ids) == list(expected.customer_ids), backend
    for chain in ("tier", "segment"):
        a, b = getattr(got, chain), getattr(expected, chain)
        for field in ("rule", "outcome", "before", "after"):
            np.testing.assert_array_equal(
                getattr(a, field), getattr(b, field), err_msg=f"{backend} {chain} {field}"
            )
    assert got.transitions == expected.transitions, backend
    assert got.held == expected.held, backend
    assert got.counts == expected.counts, backend
    for lang in ("en", "zh"):
        assert list(got.explanations(lang)) == list(expected.explanations(lang)), (backend, lang)


@pytest.mark.parametrize("rollup", [False, True], ids=["customers", "rollup"])
def test_one_policy_file_decides_alike_in_memory_sqlite_postgresql_and_spark(
    spark: SparkSession,
    postgres_server: PostgreSQLExecutor,
    tmp_path: Path,
    rollup: bool,
) -> None:
    """The same file gives the same transitions, holds and explanations on all four backends."""
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    policy = Policy.load(path)
    portfolio = generate(customers=80, months=30)
    expected = policy.evaluate(portfolio, AS_OF, engine="reference", rollup=rollup)
    rules = {t.rule for t in expected.transitions}
    assert {"dormant", "strategic", "key", "demote", "ecommerce"} <= rules
    assert {t.rule for t in expected.held} == {"dormant", "demote"}
    cited = {name for t in expected.transitions for name, _ in t.explanation}
    assert {"t12m_revenue", "active_months", "yoy_growth", "t12m_volume"} <= cited
    results = {"memory (columnar)": policy.evaluate(portfolio, AS_OF, rollup=rollup)}
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.save(portfolio)
        results["SQLite"] = store.evaluate(policy, AS_OF, rollup=rollup)
    with databases._postgres_database(postgres_server) as url, Store(url) as store:
        store.save(portfolio)
        results["PostgreSQL"] = store.evaluate(policy, AS_OF, rollup=rollup)
    results["Spark"] = ks.evaluate_portfolio(spark, policy, portfolio, AS_OF, rollup=rollup)
    for backend, got in results.items():
        _assert_same(got, expected, backend)
