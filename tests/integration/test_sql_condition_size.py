"""Long chains and deep nestings evaluate in the database, with SQL growing linearly, on both.

Conditions may nest up to ``MAX_DEPTH`` levels, which allows a 64-term
``a or b or c ...`` chain. The SQL of a rule's explanation (which operand of
an ``or`` is its leftmost true one, which of an ``and`` its leftmost false
one) must not repeat the conditions to the left of each operand at every
level of the chain, and no SQL expression may nest deeper than SQLite's
parser takes. The tests below evaluate chains and nestings at the depth limit
in the database and compare with the reference evaluator (decisions,
transitions, holds, explanations) under a time bound, and check that the
compiled SQL grows about linearly with the condition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from unittest.mock import patch

import pytest
from hypothesis import given

from keyaccount import Portfolio
from keyaccount.demo import generate
from keyaccount.exceptions import PolicyError, RuleSyntaxError
from keyaccount.rules import Policy, Rule
from keyaccount.rules._parser import MAX_DEPTH
from keyaccount.store import Store
from keyaccount.store.sql import _rules as _sql_rules
from keyaccount.store.sql._metrics import product_keys
from keyaccount.store.sql._rules import compile_policy
from tests.integration.conftest import BACKENDS, _postgres_database
from tests.integration.test_sql_evaluator import _assert_same_evaluation
from tests.strategies import PortfolioData, policies, portfolios

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

AS_OF = "2022-11"
PRODUCTS = ("court_express", "card_letter", "licence_mailing", "policy_mailing")


@pytest.fixture(scope="module", params=BACKENDS)
def filled_store(request: pytest.FixtureRequest) -> Iterator[tuple[Store, Portfolio]]:
    """A store per backend holding a small demo portfolio, for the whole module."""
    portfolio = generate(customers=120, months=30, end=AS_OF)
    if request.param == "sqlite":
        with Store("sqlite://") as store:
            store.save(portfolio)
            yield store, portfolio
        return
    server = request.getfixturevalue("postgres_server")
    with _postgres_database(server) as url, Store(url) as store:
        store.save(portfolio)
        yield store, portfolio


# ---------------------------------------------------------------- conditions


def term(k: int) -> str:
    """The ``k``-th comparison of a chain: metrics, money, ratios, shares, NULLs, in turn."""
    kind = k % 5
    if kind == 0:
        return f"active_months == {k % 13}"
    if kind == 1:
        return f"t12m_revenue >= {(k * 7919) % 500_000}"
    if kind == 2:
        return f"yoy_growth > {((k * 37) % 200) / 100 - 1}"  # absent without a previous year
    if kind == 3:
        return f"share('{PRODUCTS[k % 4]}') >= {((k * 13) % 100) / 100}"
    return f"months_since_last <= {k % 7}"  # absent without a positive month


def often(k: int) -> str:
    """The ``k``-th of comparisons true for most customers (``yoy_growth`` absent for new ones)."""
    kind = k % 5
    if kind == 0:
        return f"tenure_months >= {k % 4}"
    if kind == 1:
        return f"t12m_revenue >= {k}"
    if kind == 2:
        return "yoy_growth > -1"
    if kind == 3:
        return f"active_months >= {k % 3}"
    return "months_in_tier >= 0"


def chain(op: str, n: int, start: int = 0) -> str:
    """``term(start) op term(start + 1) op ...``: ``n`` terms, left-associated."""
    return f" {op} ".join(term(start + k) for k in range(n))


def alternating(n: int) -> str:
    """``((t0 or t1) and t2) or t3 ...``: ``n`` terms, ``or`` and ``and`` alternating."""
    text = term(0)
    for k in range(1, n):
        text = f"({text}) {'or' if k % 2 else 'and'} {term(k)}"
    return text


def negated(n: int) -> str:
    """``not (t0 or not (t1 or not (t2 and ...)))``: ``n`` levels of ``not``."""
    text = term(n)
    for k in reversed(range(n)):
        text = f"not ({term(k)} {'or' if k % 4 < 2 else 'and'} {text})"
    return text


def arithmetic(n: int) -> str:
    """``active_months / (yoy_growth * (product_count - (...))) > 0.5``: ``n`` operators."""
    names = ("active_months", "yoy_growth", "product_count", "share('court_express')")
    text = "tenure_months"
    for k in range(n):
        text = f"{names[k % 4]} {'/*-+'[k % 4]} ({text})"
    return f"{text} > 0.5"


def blocks(n: int) -> str:
    """``(t0 and t1 and not t2) or (t3 and t4 and not t5) or ...``: ``n`` blocks."""
    return " or ".join(f"({chain('and', 2, 3 * k)} and not {term(3 * k + 2)})" for k in range(n))


def parses(text: str) -> bool:
    """Whether ``text`` is a condition within the nesting limit."""
    try:
        Rule("probe", text, to="KEY")
    except RuleSyntaxError:
        return False
    return True


def deepest(make: Callable[[int], str]) -> str:
    """The largest ``make(n)`` that parses: a condition at the nesting limit."""
    n = 1
    while parses(make(n + 1)):
        n += 1
    return make(n)


def assert_evaluates_as_in_memory(store: Store, portfolio: Portfolio, policy: Policy) -> None:
    """Store.evaluate gives the reference evaluation, and some rule explains a transition."""
    expected = policy.evaluate(portfolio, AS_OF, engine="reference")
    assert expected.transitions, "the policy should make transitions to explain"
    _assert_same_evaluation(store.evaluate(policy, AS_OF), expected)


# ---------------------------------------------------------------- at the depth limit


def test_the_chains_below_are_at_the_depth_limit() -> None:
    """A 64-term chain is the longest the nesting limit allows, so the tests reach the limit."""
    assert MAX_DEPTH == 64
    for op in ("or", "and"):
        assert parses(chain(op, 64))
        assert not parses(chain(op, 65))
    assert deepest(alternating).count(" and ") + deepest(alternating).count(" or ") >= 60


@pytest.mark.timeout(60)
def test_a_64_term_or_chain_evaluates_as_in_memory(
    filled_store: tuple[Store, Portfolio],
) -> None:
    """A 64-term ``or`` in a tier and a segment rule: decisions and leftmost-true explanations."""
    store, portfolio = filled_store
    policy = Policy(
        "or-chain",
        [
            Rule("or", chain("or", 64), to="STRATEGIC"),
            Rule("or-segment", chain("or", 64, 5), to_segment="FINANCE"),
        ],
    )
    assert_evaluates_as_in_memory(store, portfolio, policy)


@pytest.mark.timeout(60)
def test_a_64_term_and_chain_evaluates_as_in_memory(
    filled_store: tuple[Store, Portfolio],
) -> None:
    """A 64-term ``and`` (all cited) and a negated 62-term one (leftmost false cited)."""
    store, portfolio = filled_store
    every = " and ".join(often(k) for k in range(64))
    policy = Policy(
        "and-chain",
        [
            Rule("and", every, to="DORMANT"),
            Rule("not-and", f"not ({chain('and', 62)})", to="KEY"),
            Rule("and-segment", every, to_segment="INTERNET"),
        ],
    )
    assert_evaluates_as_in_memory(store, portfolio, policy)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "make",
    [alternating, negated, blocks, arithmetic],
    ids=["alternating", "negated", "blocks", "arithmetic"],
)
def test_mixed_nestings_at_the_depth_limit_evaluate_as_in_memory(
    filled_store: tuple[Store, Portfolio], make: Callable[[int], str]
) -> None:
    """Nestings of ``not``, ``or``, ``and`` or arithmetic as deep as allowed, and negated."""
    store, portfolio = filled_store
    deep = deepest(make)
    policy = Policy(
        "mixed",
        [
            Rule("deep", deep, to="STRATEGIC"),
            Rule("not-deep", deepest(lambda n: f"not ({make(n)})"), to="DORMANT"),
            Rule("deep-segment", deep, to_segment="JUDICIAL"),
        ],
    )
    assert_evaluates_as_in_memory(store, portfolio, policy)


@pytest.mark.timeout(60)
def test_a_64_term_or_chain_with_one_name_per_bit_mask_column(
    filled_store: tuple[Store, Portfolio],
) -> None:
    """Citations of a 64-term ``or`` spread over one column per name give the same result."""
    store, portfolio = filled_store
    policy = Policy("or-chain", [Rule("or", chain("or", 64), to="STRATEGIC")])
    expected = policy.evaluate(portfolio, AS_OF, engine="reference")
    with patch.object(_sql_rules, "BITS_PER_WORD", 1):
        _assert_same_evaluation(store.evaluate(policy, AS_OF), expected)


@pytest.mark.parametrize("levels", [1, 2])
@given(data=portfolios(max_customers=8, max_records=50), policy=policies(user_metrics=False))
def test_random_policies_computed_in_steps_agree_with_the_reference(
    sql_store: Store, levels: int, data: PortfolioData, policy: Policy
) -> None:
    """With every level or two of a condition computed in its own step, the result is the same."""
    portfolio = Portfolio(data.customers, data.records)
    sql_store.save(portfolio, replace=True)
    expected = policy.evaluate(portfolio, data.as_of, engine="reference")
    with patch.object(_sql_rules, "STEP_LEVELS", levels):
        _assert_same_evaluation(sql_store.evaluate(policy, data.as_of), expected)


@pytest.mark.timeout(60)
def test_too_many_deep_conditions_are_refused(filled_store: tuple[Store, Portfolio]) -> None:
    """A policy whose deep conditions need more step columns than allowed is a PolicyError."""
    store, _ = filled_store
    deep = deepest(alternating)
    policy = Policy("deep", [Rule(f"r{i}", deep, to="STRATEGIC") for i in range(1_000)])
    with pytest.raises(PolicyError, match=r"policy 'deep': .*more than 1,600\); evaluate"):
        store.evaluate(policy, AS_OF)


# ---------------------------------------------------------------- SQL size


def sql_size(store: Store, when: str) -> int:
    """The length of the compiled evaluation SQL of a one-rule policy."""
    policy = Policy("size", [Rule("r", when, to="STRATEGIC")])
    with store.engine.connect() as conn:
        catalog = product_keys(conn)
    compiled = compile_policy(
        policy, AS_OF, catalog=catalog, postgresql=store.backend == "postgresql"
    )
    return len(str(compiled.evaluation.compile(dialect=store.engine.dialect)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("short", "long"),
    [
        (chain("or", 16), chain("or", 64)),
        (f"not ({chain('and', 16)})", f"not ({chain('and', 62)})"),
        (chain("and", 16), chain("and", 64)),
        (blocks(4), blocks(16)),
        (alternating(16), deepest(alternating)),
        (negated(8), deepest(negated)),
        (arithmetic(16), deepest(arithmetic)),
    ],
    ids=["or", "not-and", "and", "blocks", "alternating", "negated", "arithmetic"],
)
def test_the_sql_grows_about_linearly_with_the_condition(
    filled_store: tuple[Store, Portfolio], short: str, long: str
) -> None:
    """Four times the terms give less than six times the SQL, not a copy per level of nesting."""
    store, _ = filled_store
    assert sql_size(store, long) < 6 * sql_size(store, short)
