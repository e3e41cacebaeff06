from __future__ import annotations

import itertools
from collections import defaultdict

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Tier
from keyaccount.crosssell import (
    CrossSellModel,
    Recommendation,
    RecommendationTable,
    ScoreWeights,
    build_basket,
    networkx_proximity,
    purchase_graph,
    recommend,
    recommend_all,
)
from keyaccount.crosssell._reference import reference_baskets, reference_pagerank
from keyaccount.exceptions import (
    KeyAccountError,
    UnknownCustomerError,
    UnknownProductError,
    UnknownProjectGroupError,
    ValidationError,
)
from tests.unit.crosssell_data import (
    PRODUCTS,
    Generated,
    crosssell_portfolios,
    insurer_portfolio,
    random_portfolio,
)


def _ranking(values: dict[str, float]) -> list[str]:
    """Products by value (rounded away from float noise), ties by product id."""
    return sorted(values, key=lambda p: (-round(values[p], 9), p))


@pytest.mark.parametrize("proximity", ["binary", "revenue"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_proximity_equals_networkx(seed: int, proximity: str) -> None:
    """The bulk personalised PageRank equals networkx's per-customer walk, value and ranking."""
    gen = random_portfolio(seed, 25)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of, proximity=proximity)  # type: ignore[arg-type]
    graph = purchase_graph(model.basket, proximity=proximity)  # type: ignore[arg-type]
    ids = model.basket.product_ids
    checked = 0
    for row, cid in enumerate(model.basket.customer_ids.tolist()):
        if model.basket.sizes[row] == 0:
            continue
        bulk = model.proximity_scores(np.array([row]))[0]
        walk = networkx_proximity(graph, cid, alpha=model.alpha, tol=1e-14)
        np.testing.assert_allclose(bulk, [walk[p] for p in ids], atol=1e-11, rtol=0)
        not_owned = set(ids) - set(model.basket.products_of(cid))
        mine = {p: float(bulk[ids.index(p)]) for p in not_owned}
        assert _ranking(mine) == _ranking({p: walk[p] for p in not_owned})
        checked += 1
    assert checked > 10


def test_bulk_proximity_equals_plain_power_iteration() -> None:
    """The bulk PageRank equals a plain-Python power iteration on the same graph."""
    gen = random_portfolio(4, 12)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    edges = {(f"c:{c}", f"p:{p}"): 1.0 for c, b in baskets.items() for p in b}
    for cid, basket in baskets.items():
        if not basket:
            continue
        ranks = reference_pagerank(edges, f"c:{cid}", alpha=model.alpha)
        bulk = model.proximity_scores(np.array([model.basket.row(cid)]))[0]
        expected = [ranks.get(f"p:{p}", 0.0) for p in model.basket.product_ids]
        np.testing.assert_allclose(bulk, expected, atol=1e-12)


def _check_explanation(gen: Generated, model: CrossSellModel, rec: Recommendation) -> None:
    """Recompute every figure ``rec`` cites from the customers and records."""
    baskets = {
        c: set(b) for c, b in reference_baskets(gen.customers, gen.records, gen.as_of).items()
    }
    by_id = {c.id: c for c in gen.customers if c.id in baskets}
    me = by_id[rec.customer_id]
    mine = baskets[me.id]
    p = rec.product_id
    ev = rec.evidence
    assert p not in mine

    peers = [
        c for c in by_id.values() if c.id != me.id and c.segment == me.segment and c.tier == me.tier
    ]
    assert ev.peers == len(peers)
    assert ev.peer_buyers == sum(1 for c in peers if p in baskets[c.id])
    assert ev.segment == me.segment
    assert ev.tier == me.tier

    active = [b for b in baskets.values() if b]
    n = len(active)
    assert ev.active_customers == n
    buyers_p = sum(1 for b in active if p in b)
    assert ev.popularity == buyers_p / n

    def stats(a: str) -> tuple[int, int, float, float]:
        both = sum(1 for b in active if a in b and p in b)
        ante = sum(1 for b in active if a in b)
        conf = (both / n) / (ante / n)
        return both, ante, conf, conf / (buyers_p / n)

    usable = {}
    for a in sorted(mine):
        both, _, conf, lift = stats(a)
        if both >= model.min_co_buyers and lift > 1.0:
            usable[a] = conf
    if ev.rule_product is None:
        assert not usable
        assert ev.rule_component == 0.0
    else:
        best = max(usable.values())
        order = list(gen.portfolio.products)  # ties go to the first in the catalogue
        assert ev.rule_product == min((a for a, c in usable.items() if c == best), key=order.index)
        both, ante, conf, lift = stats(ev.rule_product)
        assert (ev.rule_co_buyers, ev.rule_antecedent_buyers) == (both, ante)
        assert ev.rule_confidence == conf
        assert ev.rule_lift == pytest.approx(lift, rel=1e-12)
        assert ev.rule_component == conf

    parent = me.parent_id if me.parent_id in by_id else None
    assert ev.parent_id == parent
    assert ev.parent_buys == (parent is not None and p in baskets[parent])
    siblings = sorted(
        c.id
        for c in by_id.values()
        if parent is not None and c.parent_id == parent and c.id != me.id
    )
    assert sorted(ev.sibling_ids) == siblings
    assert sorted(ev.sibling_buyer_ids) == [s for s in siblings if p in baskets[s]]
    sib_share = len(ev.sibling_buyer_ids) / len(siblings) if siblings else 0.0
    assert ev.hierarchy_component == max(float(ev.parent_buys), sib_share)

    assert ev.graph_fallback == (not mine)
    if mine:
        graph = purchase_graph(model.basket)
        walk = networkx_proximity(graph, me.id, alpha=model.alpha, tol=1e-14)
        # products the walk cannot reach keep float noise from networkx's start vector
        walk = {q: (v if v > 1e-12 else 0.0) for q, v in walk.items()}
        assert ev.proximity == pytest.approx(walk[p], abs=1e-11)
        top = max(walk[q] for q in PRODUCTS if q not in mine)
        assert ev.graph_component == pytest.approx(walk[p] / top if top else 0.0, rel=1e-7)
    else:
        assert ev.proximity == 0.0
        counts: dict[str, int] = defaultdict(int)
        for b in active:
            for q in b:
                counts[q] += 1
        assert ev.graph_component == pytest.approx(counts[p] / max(counts.values()), rel=1e-12)

    w = model.weights
    score = (
        w.peers * ev.peer_component
        + w.rules * ev.rule_component
        + w.hierarchy * ev.hierarchy_component
        + w.graph * ev.graph_component
    ) * ev.boost
    assert rec.score == pytest.approx(score, rel=1e-12)
    assert ev.peer_component == (ev.peer_buyers / ev.peers if ev.peers else 0.0)

    text = rec.explanation()
    if ev.peer_buyers:
        assert f"{ev.peer_buyers} of {ev.peers} peers" in text
    if ev.rule_product is not None:
        assert f"{ev.rule_co_buyers} of the {ev.rule_antecedent_buyers} active customers" in text
        assert f"that buy {ev.rule_product}" in text
        assert f"lift {ev.rule_lift:.2f}" in text
    if ev.parent_buys:
        assert f"its parent {ev.parent_id} buys it" in text
    if ev.sibling_buyer_ids:
        assert f"{len(ev.sibling_buyer_ids)} of {len(ev.sibling_ids)} sibling accounts" in text
    if ev.graph_fallback:
        assert "popularity" in text


@settings(max_examples=15)
@given(crosssell_portfolios(max_customers=20))
def test_explanations_match_the_numbers_they_cite(gen: Generated) -> None:
    """Every figure an explanation cites equals the figure recomputed from the data."""
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    for _, recs in model.recommend_all(3):
        for rec in recs:
            _check_explanation(gen, model, rec)


@given(
    crosssell_portfolios(),
    st.sets(st.sampled_from(PRODUCTS), max_size=4),
    st.dictionaries(
        st.sampled_from(["广东", "浙江", "北京"]),
        st.sets(st.sampled_from(PRODUCTS), max_size=4),
        max_size=2,
    ),
    st.integers(1, 9),
)
def test_never_recommends_owned_or_excluded_products(
    gen: Generated, excluded: set[str], by_province: dict[str, set[str]], k: int
) -> None:
    """No recommendation is a product the customer buys or one excluded for it."""
    table = CrossSellModel.fit(gen.portfolio, gen.as_of).recommend_all(
        k, exclude=excluded, exclude_in_province=by_province
    )
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    province = {c.id: c.province for c in gen.customers}
    for cid, recs in table:
        assert len(recs) <= k
        assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
        for rec in recs:
            assert rec.product_id not in baskets[cid]
            assert rec.product_id not in excluded
            assert rec.product_id not in by_province.get(province[cid] or "", set())
            assert rec.score > 0


@given(crosssell_portfolios())
def test_scores_are_deterministic_and_ranked(gen: Generated) -> None:
    """Two runs and any chunking give identical results; scores descend, ties by product id."""
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    a = model.recommend_all(5)
    b = CrossSellModel.fit(gen.portfolio, gen.as_of).recommend_all(5, chunk_size=3)
    np.testing.assert_array_equal(a.product, b.product)
    np.testing.assert_array_equal(a.score, b.score)
    for _, recs in a:
        keys = [(-r.score, r.product_id) for r in recs]
        assert keys == sorted(keys)


def test_chunks_give_the_same_table_field_for_field() -> None:
    """Scoring in chunks of any size gives the same table as one chunk, every field equal."""
    gen = random_portfolio(5, 40)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    whole = model.recommend_all(4)
    for chunk_size in (1, 7, len(whole) - 1):
        chunked = model.recommend_all(4, chunk_size=chunk_size)
        assert chunked.model is whole.model
        for field in attrs.fields(RecommendationTable):
            if field.name != "model":
                np.testing.assert_array_equal(
                    getattr(chunked, field.name), getattr(whole, field.name), err_msg=field.name
                )
        assert list(chunked) == list(whole)


def test_unknown_project_group_is_the_public_error() -> None:
    """An unknown project group raises UnknownProjectGroupError, which is a LookupError."""
    model = CrossSellModel.fit(insurer_portfolio())
    for select in (
        lambda: model.recommend_all(project_group="nike"),
        lambda: recommend_all(model, project_group="nike"),
        lambda: model.rows_for(project_group="nike"),
    ):
        with pytest.raises(UnknownProjectGroupError, match=r"^unknown project group 'nike'$"):
            select()
        with pytest.raises(LookupError):
            select()


def test_ties_are_broken_by_product_id() -> None:
    """Products with equal scores come in product-id order."""
    gen = random_portfolio(21, 40, density=0.5)
    model = CrossSellModel.fit(
        gen.portfolio, gen.as_of, weights=ScoreWeights(peers=1, rules=0, hierarchy=0, graph=0)
    )
    ties = 0
    for _, recs in model.recommend_all(9):
        for first, second in itertools.pairwise(recs):
            assert first.score >= second.score
            if first.score == second.score:
                ties += 1
                assert first.product_id < second.product_id
    assert ties > 0


def test_one_customer_equals_its_bulk_row() -> None:
    """recommend() for one customer gives exactly that customer's row of the bulk table."""
    gen = random_portfolio(5, 30)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    table = model.recommend_all(4)
    for cid in table.customer_ids.tolist()[:10]:
        assert model.recommend(cid, 4) == table.for_customer(cid)
    first = str(table.customer_ids[0])
    assert recommend(gen.portfolio, first, 4, as_of=gen.as_of) == table.for_customer(first)


def test_branch_without_a_product_gets_it_from_parent_and_siblings() -> None:
    """A branch is told its parent and which siblings buy the product it lacks."""
    pf = insurer_portfolio()
    rec = next(r for r in recommend(pf, "INS-BJ", 3) if r.product_id == "policy_mailing")
    ev = rec.evidence
    assert ev.parent_id == "HQ"
    assert ev.parent_buys
    assert sorted(ev.sibling_ids) == ["INS-GD", "INS-SH", "INS-ZJ"]
    assert sorted(ev.sibling_buyer_ids) == ["INS-GD", "INS-ZJ"]
    assert ev.peers == 3
    assert ev.peer_buyers == 2
    assert ev.graph_fallback  # BJ buys nothing
    assert "its parent HQ buys it" in rec.explanation()
    assert "2 of 3 sibling accounts buy it: INS-GD, INS-ZJ" in rec.explanation()
    assert "同行业同层级的 3 家客户" in rec.explanation("zh")


def test_rule_evidence_names_the_owned_product() -> None:
    """A court that buys court express is told e_receipt buyers of court express also buy it."""
    pf = insurer_portfolio()
    rec = recommend(pf, "COURT-B", 1)[0]
    assert rec.product_id == "e_receipt"
    ev = rec.evidence
    assert ev.rule_product == "court_express"
    assert (ev.rule_co_buyers, ev.rule_antecedent_buyers) == (1, 2)


def test_boost_multiplies_the_score() -> None:
    """A campaign boost multiplies a product's score and is cited."""
    gen = random_portfolio(8, 30)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    plain = model.recommend_all(9)
    boosted = model.recommend_all(9, boost={"custom_route": 2.5})
    for (cid, before), (_, after) in zip(plain, boosted, strict=True):
        old = {r.product_id: r.score for r in before}
        new = {r.product_id: r for r in after}
        if "custom_route" in old:
            assert new["custom_route"].score == pytest.approx(old["custom_route"] * 2.5, rel=1e-12)
            assert "campaign boost x2.5" in new["custom_route"].explanation(), cid


def test_selections_by_segment_tier_and_group() -> None:
    """Bulk recommendations can be limited to a segment, a tier or a project group."""
    gen = random_portfolio(9, 40)
    model = CrossSellModel.fit(gen.portfolio, gen.as_of)
    seen = {c.id: c for c in gen.customers if c.first_period <= gen.as_of}
    judicial = model.recommend_all(2, segment="司法")
    assert {str(c) for c in judicial.customer_ids} == {
        c for c, x in seen.items() if x.segment is not None and x.segment.name == "JUDICIAL"
    }
    key = model.recommend_all(2, tier=Tier.KEY)
    assert {str(c) for c in key.customer_ids} == {c for c, x in seen.items() if x.tier is Tier.KEY}
    group = model.recommend_all(2, project_group="insurers")
    assert {str(c) for c in group.customer_ids} == set(
        gen.portfolio.project_group("insurers").customer_ids
    ) & set(seen)
    frame = judicial.to_pandas(explanations=True)
    assert len(frame) == judicial.count
    assert frame["explanation"].str.startswith("Recommend").all()


def test_bad_requests_are_reported() -> None:
    """Unknown customers, products and groups and bad parameters raise errors naming them."""
    pf = insurer_portfolio()
    model = CrossSellModel.fit(pf)
    with pytest.raises(UnknownCustomerError, match="'NOPE'"):
        model.recommend("NOPE")
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        model.recommend("HQ", exclude=["cold_chain"])
    with pytest.raises(ValidationError, match="boost of 'e_receipt'"):
        model.recommend("HQ", boost={"e_receipt": 0})
    with pytest.raises(ValidationError, match="k must be"):
        model.recommend("HQ", 0)
    with pytest.raises(KeyAccountError, match="'nike'"):
        model.recommend_all(project_group="nike")
    with pytest.raises(ValidationError, match="alpha"):
        CrossSellModel.fit(pf, alpha=1.0)
    with pytest.raises(ValidationError, match="score weight peers"):
        ScoreWeights(peers=-1)


def test_model_needs_revenue_or_a_month() -> None:
    """Fitting a portfolio without revenue needs an explicit as-of month."""
    from keyaccount import Customer, Portfolio

    pf = Portfolio([Customer("A", "甲", "2022-01")])
    with pytest.raises(ValidationError, match="as_of"):
        CrossSellModel.fit(pf)
    assert CrossSellModel.fit(pf, "2022-06").recommend("A") == []
    assert len(build_basket(pf, "2022-06")) == 1
