from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mlxtend.frequent_patterns import apriori
from mlxtend.frequent_patterns import association_rules as mlxtend_rules

from keyaccount.crosssell import (
    association_rules,
    build_basket,
    frequent_itemsets,
    pair_statistics,
)
from keyaccount.crosssell._reference import reference_itemsets, reference_rules
from keyaccount.exceptions import UnknownProductError, ValidationError
from tests.unit.crosssell_data import random_portfolio

METRICS = (
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
)


def _one_hot(seed: int, n: int, k: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Transactions with correlated columns and a column implied by another (confidence 1)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, k)) < rng.uniform(0.05, 0.5, k)
    x[:, 1::2] |= x[:, 0::2][:, : x[:, 1::2].shape[1]] & (rng.random((n, k // 2)) < 0.5)
    x[:, -1] |= x[:, 0]  # every buyer of column 0 buys the last column
    return x


def _mlxtend(x: np.ndarray[Any, Any], names: list[str], min_support: float) -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=names)
    itemsets: pd.DataFrame = apriori(frame, min_support=min_support, use_colnames=True)
    return itemsets


def _by_rule(frame: pd.DataFrame) -> dict[tuple[frozenset[str], frozenset[str]], pd.Series]:
    return {(r.antecedents, r.consequents): r for r in frame.itertuples(index=False)}  # type: ignore[misc]


@pytest.mark.parametrize(
    ("seed", "n", "k", "min_support"), [(1, 400, 8, 0.02), (2, 1000, 10, 0.02), (3, 150, 6, 0.1)]
)
def test_itemsets_and_rules_equal_mlxtend(seed: int, n: int, k: int, min_support: float) -> None:
    """Itemsets and every rule statistic equal mlxtend's apriori + association_rules."""
    x = _one_hot(seed, n, k)
    names = [f"p{j}" for j in range(k)]
    ours = frequent_itemsets(sp.csr_array(x), min_support, product_ids=names)
    theirs = _mlxtend(x, names, min_support)
    assert dict(zip(ours.to_pandas().itemsets, ours.support, strict=True)) == dict(
        zip(theirs.itemsets, theirs.support, strict=True)
    )

    rules = association_rules(ours, min_confidence=0.0).to_pandas()
    expected = mlxtend_rules(theirs, num_itemsets=n, metric="confidence", min_threshold=0.0)
    mine, other = _by_rule(rules), _by_rule(expected)
    assert set(mine) == set(other)
    assert any(math.isinf(r.conviction) for r in mine.values())  # confidence-1 rules present
    columns = list(expected.columns)
    for key, row in mine.items():
        theirs_row = other[key]
        for metric in METRICS:
            a = row[list(rules.columns).index(metric)]
            b = theirs_row[columns.index(metric)]
            if math.isinf(b):
                assert math.isinf(a), (key, metric)
            else:
                assert a == pytest.approx(b, rel=1e-12, abs=0), (key, metric)


def test_thresholds_match_mlxtend_filter() -> None:
    """A confidence threshold keeps exactly the rules mlxtend keeps at that threshold."""
    x = _one_hot(5, 800, 8)
    names = [f"p{j}" for j in range(8)]
    ours = association_rules(
        frequent_itemsets(x, 0.03, product_ids=names), min_confidence=0.4
    ).to_pandas()
    theirs = mlxtend_rules(
        _mlxtend(x, names, 0.03), num_itemsets=800, metric="confidence", min_threshold=0.4
    )
    assert set(_by_rule(ours)) == set(_by_rule(theirs))


def test_frequent_itemsets_of_a_basket_use_active_customers() -> None:
    """A basket's transactions are its active customers, one-hot by product."""
    gen = random_portfolio(11, 40)
    basket = build_basket(gen.portfolio, gen.as_of)
    fi = frequent_itemsets(basket, 0.05)
    assert fi.transactions == int(basket.active.sum())
    baskets = [frozenset(basket.products_of(c)) for c in basket.customer_ids[basket.active]]
    expected = reference_itemsets(baskets, 0.05)
    got = {frozenset(items): int(fi.count[i]) for i, (items, _) in enumerate(fi)}
    assert got == expected


transactions = hnp.arrays(
    np.bool_,
    st.tuples(st.integers(1, 40), st.integers(1, 7)),
    elements=st.booleans(),
)


@given(transactions, st.sampled_from([0.05, 0.1, 0.25, 0.5]), st.none() | st.integers(1, 3))
def test_itemsets_equal_reference(
    x: np.ndarray[Any, Any], min_support: float, max_len: int | None
) -> None:
    """Bit-column counting finds exactly the reference apriori's itemsets and counts."""
    names = [f"p{j}" for j in range(x.shape[1])]
    fi = frequent_itemsets(x, min_support, max_len=max_len, product_ids=names)
    baskets = [frozenset(n for n, b in zip(names, row, strict=True) if b) for row in x.tolist()]
    expected = reference_itemsets(baskets, min_support, max_len)
    assert {frozenset(items): int(fi.count[i]) for i, (items, _) in enumerate(fi)} == expected


@given(transactions, st.sampled_from([0.05, 0.2]), st.sampled_from([0.0, 0.3, 0.9]))
def test_rules_equal_reference(x: np.ndarray[Any, Any], min_support: float, conf: float) -> None:
    """Every rule and its statistics equal the plain-Python definitions."""
    names = [f"p{j}" for j in range(x.shape[1])]
    fi = frequent_itemsets(x, min_support, product_ids=names)
    baskets = [frozenset(n for n, b in zip(names, row, strict=True) if b) for row in x.tolist()]
    expected = reference_rules(reference_itemsets(baskets, min_support), x.shape[0], conf)
    rules = association_rules(fi, min_confidence=conf)
    got = {(frozenset(r.antecedents), frozenset(r.consequents)): r for r in rules}
    assert set(got) == set(expected)
    for key, rule in got.items():
        ref = expected[key]
        assert rule.support == ref["support"]
        assert rule.confidence == ref["confidence"]
        assert rule.lift == ref["lift"]
        assert rule.leverage == ref["leverage"]
        assert rule.conviction == ref["conviction"]


@given(transactions)
def test_pair_lift_is_symmetric(x: np.ndarray[Any, Any]) -> None:
    """lift(a -> b) equals lift(b -> a) for every pair bought at all."""
    ps = pair_statistics(x)
    lift = ps.lift
    bought = ps.item_support > 0
    sub = lift[np.ix_(bought, bought)]
    np.testing.assert_allclose(sub, sub.T, rtol=1e-12)


@given(transactions, st.sampled_from([0.05, 0.2]))
def test_itemset_support_never_exceeds_its_items(
    x: np.ndarray[Any, Any], min_support: float
) -> None:
    """The support of an itemset is at most the support of each of its products."""
    fi = frequent_itemsets(x, min_support)
    support = fi.support
    for i in range(len(fi)):
        items = fi.itemset(i)
        for item in items:
            single = fi.support_of([item])
            assert single is not None
            assert support[i] <= single


@given(transactions)
def test_confidence_is_a_probability(x: np.ndarray[Any, Any]) -> None:
    """Every rule's confidence and every pair confidence lies in [0, 1]."""
    rules = association_rules(frequent_itemsets(x, 0.05))
    assert np.all((rules.confidence >= 0) & (rules.confidence <= 1))
    conf = pair_statistics(x).confidence
    finite = conf[~np.isnan(conf)]
    assert np.all((finite >= 0) & (finite <= 1))


@given(transactions)
def test_pair_counts_equal_matrix_product(x: np.ndarray[Any, Any]) -> None:
    """Pair counts equal the one-hot matrix's Gram matrix."""
    counts = pair_statistics(x).counts
    gram = x.astype(np.int64).T @ x.astype(np.int64)
    np.testing.assert_array_equal(counts, gram)


def test_left_and_right_restrictions() -> None:
    """Rules keep only allowed products on each side; unrestricted rules include the rest."""
    x = _one_hot(7, 600, 6)
    names = ["a", "b", "c", "d", "e", "f"]
    fi = frequent_itemsets(x, 0.02, product_ids=names)
    everything = association_rules(fi)
    left, right = {"a", "b"}, {"f"}
    restricted = association_rules(fi, antecedents=left, consequents=right)
    assert len(restricted) > 0
    for rule in restricted:
        assert set(rule.antecedents) <= left
        assert set(rule.consequents) <= right
    expected = {
        (r.antecedents, r.consequents)
        for r in everything
        if set(r.antecedents) <= left and set(r.consequents) <= right
    }
    assert {(r.antecedents, r.consequents) for r in restricted} == expected


def test_min_lift_and_ordering() -> None:
    """min_lift filters by lift; rules come strongest lift first."""
    x = _one_hot(8, 500, 6)
    fi = frequent_itemsets(x, 0.02)
    rules = association_rules(fi, min_lift=1.2)
    assert np.all(rules.lift >= 1.2)
    assert np.all(np.diff(rules.lift) <= 0)


def test_multi_antecedent_rules_are_found() -> None:
    """Rules with two products on the left appear when three-product itemsets are frequent."""
    x = np.array([[1, 1, 1]] * 6 + [[1, 1, 0]] * 2 + [[0, 0, 1]] * 2, dtype=bool)
    fi = frequent_itemsets(x, 0.3, product_ids=["a", "b", "c"])
    rule = next(
        r for r in association_rules(fi) if r.antecedents == ("a", "b") and r.consequents == ("c",)
    )
    assert rule.count == 6
    assert rule.confidence == (6 / 10) / (8 / 10)  # support(abc) / support(ab)
    assert rule.lift == rule.confidence / (8 / 10)


def test_bad_arguments_are_reported() -> None:
    """Thresholds out of range and unknown products raise errors naming the value."""
    x = np.eye(3, dtype=bool)
    with pytest.raises(ValidationError, match="min_support"):
        frequent_itemsets(x, 0.0)
    with pytest.raises(ValidationError, match="max_len"):
        frequent_itemsets(x, 0.1, max_len=0)
    with pytest.raises(ValidationError, match="3 transaction columns"):
        frequent_itemsets(x, 0.1, product_ids=["a"])
    fi = frequent_itemsets(x, 0.1, product_ids=["a", "b", "c"])
    with pytest.raises(UnknownProductError, match="'zzz'"):
        association_rules(fi, antecedents=["zzz"])
    with pytest.raises(ValidationError, match="min_confidence"):
        association_rules(fi, min_confidence=1.5)


def test_no_transactions_gives_no_itemsets() -> None:
    """An empty transaction set has no frequent itemsets and no rules."""
    fi = frequent_itemsets(np.zeros((0, 4), dtype=bool), 0.1)
    assert len(fi) == 0
    assert len(association_rules(fi)) == 0
