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
    FrequentItemsets,
    association_rules,
    build_basket,
    frequent_itemsets,
    pair_statistics,
)
from keyaccount.crosssell._copurchase import _distinct_rows
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


@st.composite
def wide_baskets(draw: st.DrawFn) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Up to 30 baskets over up to 140 products (more than one 64-bit word), some empty.

    A few popular products make itemsets repeat; each basket holds at most five
    products so the reference stays quick.
    """
    k = draw(st.integers(1, 140))
    n = draw(st.integers(0, 30))
    popular = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=6, unique=True))
    product = st.sampled_from(popular) | st.integers(0, k - 1)
    rows = draw(st.lists(st.sets(product, max_size=5), min_size=n, max_size=n))
    x = np.zeros((n, k), dtype=bool)
    for i, row in enumerate(rows):
        x[i, sorted(row)] = True
    return x


def _baskets_of(x: np.ndarray[Any, Any], names: list[str]) -> list[frozenset[str]]:
    return [frozenset(n for n, b in zip(names, row, strict=True) if b) for row in x.tolist()]


@given(wide_baskets(), st.integers(1, 30) | st.floats(0.01, 1.0), st.none() | st.integers(1, 4))
def test_wide_itemsets_and_rules_equal_reference(
    x: np.ndarray[Any, Any], threshold: int | float, max_len: int | None
) -> None:
    """On wide random baskets, itemsets, counts and rules equal the plain-Python reference.

    An integer threshold ``c`` sets ``min_support = c / n``, so itemsets bought
    exactly ``c`` times sit on the threshold and must be kept.
    """
    n = x.shape[0]
    min_support = min(1.0, threshold / max(n, 1)) if isinstance(threshold, int) else threshold
    names = [f"p{j:03d}" for j in range(x.shape[1])]
    fi = frequent_itemsets(x, min_support, max_len=max_len, product_ids=names)
    baskets = _baskets_of(x, names)
    expected = reference_itemsets(baskets, min_support, max_len)
    got = {frozenset(items): int(fi.count[i]) for i, (items, _) in enumerate(fi)}
    assert got == expected
    assert list(fi.length) == sorted(fi.length)  # shortest first
    rules = {(frozenset(r.antecedents), frozenset(r.consequents)): r for r in association_rules(fi)}
    reference = reference_rules(expected, n)
    assert set(rules) == set(reference)
    for key, rule in rules.items():
        assert rule.confidence == reference[key]["confidence"]
        assert rule.lift == reference[key]["lift"]
        assert rule.conviction == reference[key]["conviction"]


def test_itemset_exactly_at_the_threshold_is_frequent() -> None:
    """An itemset whose support equals min_support is frequent; one transaction fewer is not."""
    x = np.array([[1, 1, 0]] * 3 + [[1, 0, 1]] * 2 + [[0, 0, 0]] * 5, dtype=bool)
    fi = frequent_itemsets(x, 0.3, product_ids=["a", "b", "c"])
    assert fi.support_of(["a", "b"]) == 0.3
    assert fi.support_of(["a", "c"]) is None  # 0.2 < 0.3
    assert [items for items, _ in fi] == [("a",), ("b",), ("a", "b")]


def test_single_product_and_empty_baskets() -> None:
    """One product gives one itemset and no rules; all-empty baskets give none at all."""
    one = frequent_itemsets(np.array([[1], [0], [1]], dtype=bool), 0.5, product_ids=["a"])
    assert [(items, round(s, 3)) for items, s in one] == [(("a",), 0.667)]
    assert len(association_rules(one)) == 0
    empty = frequent_itemsets(np.zeros((4, 3), dtype=bool), 0.1)
    assert len(empty) == 0
    assert empty.transactions == 4


def test_more_than_sixty_four_frequent_products() -> None:
    """Baskets spread over 130 frequent products (three 64-bit words) count every pair."""
    rng = np.random.default_rng(4)
    x = rng.random((3000, 130)) < 0.05
    fi = frequent_itemsets(x, 0.002, max_len=2)
    pairs = pair_statistics(x).counts
    for i in np.flatnonzero(fi.length == 2):
        a, b = fi.items[i, :2]
        assert fi.count[i] == pairs[a, b]
    expected = int(np.count_nonzero(np.triu(pairs, 1) >= 6))  # 6 / 3000 == 0.002
    assert int(np.count_nonzero(fi.length == 2)) == expected


@given(
    st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=2), max_size=6),
    st.lists(st.integers(0, 5), max_size=400),
)
def test_distinct_rows_count_each_key_exactly(pool: list[list[int]], picks: list[int]) -> None:
    """Hashing baskets into buckets never merges two different baskets, whatever they collide on."""
    rows = [pool[i % len(pool)] for i in picks] if pool else []
    keys = np.array(rows, dtype=np.uint64).reshape(-1, 2).T.copy()
    found, counts = _distinct_rows(keys)
    got = {tuple(int(v) for v in found[:, j]): int(counts[j]) for j in range(found.shape[1])}
    expected: dict[tuple[int, ...], int] = {}
    for row in rows:
        expected[tuple(row)] = expected.get(tuple(row), 0) + 1
    assert got == expected


def test_user_built_itemsets_without_their_subsets_are_refused() -> None:
    """Rules from itemsets missing a subset raise an error naming the itemset."""
    items = np.array([[0, -1], [0, 1]], dtype=np.int64)
    fi = FrequentItemsets(("a", "b"), 4, 0.1, items, np.array([1, 2]), np.array([3, 2]))
    with pytest.raises(ValidationError, match=r"\('a', 'b'\)"):
        association_rules(fi)


def test_user_built_itemsets_in_any_order_give_the_same_rules() -> None:
    """Itemsets rebuilt by hand, shuffled, find their subsets and give the same rules."""
    x = _one_hot(9, 500, 7)
    fi = frequent_itemsets(x, 0.03, product_ids=list("abcdefg"))
    order = np.random.default_rng(0).permutation(len(fi))
    again = FrequentItemsets(
        fi.product_ids, fi.transactions, fi.min_support,
        fi.items[order], fi.length[order], fi.count[order],
    )  # fmt: skip
    longest = max(range(len(fi)), key=lambda i: int(fi.length[i]))
    assert again.index_of(fi.itemset(longest)) == int(np.flatnonzero(order == longest)[0])
    ours = {(r.antecedents, r.consequents, r.count, r.lift) for r in association_rules(fi)}
    theirs = {(r.antecedents, r.consequents, r.count, r.lift) for r in association_rules(again)}
    assert ours == theirs
    assert max(fi.length) >= 3
