from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyaccount import Segment, Tier, fen_to_yuan
from keyaccount.crosssell import BASES, build_basket, penetration, whitespace
from keyaccount.crosssell._reference import reference_baskets, reference_lower_median
from keyaccount.exceptions import UnknownProductError, ValidationError
from tests.unit.crosssell_data import Generated, crosssell_portfolios, insurer_portfolio


def _group(c: object, by: str) -> Segment | Tier | None:
    return getattr(c, by)  # type: ignore[no-any-return]


@given(crosssell_portfolios(), st.sampled_from(["segment", "tier"]))
def test_penetration_counts_buyers_per_group(gen: Generated, by: str) -> None:
    """Each cell counts the group's customers and those whose basket holds the product."""
    pen = penetration(gen.portfolio, gen.as_of, by=by)  # type: ignore[arg-type]
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    seen = [c for c in gen.customers if c.id in baskets]
    for r, group in enumerate(pen.groups):
        members = [c for c in seen if _group(c, by) == group]
        assert pen.customers[r] == len(members)
        for j, p in enumerate(pen.product_ids):
            assert pen.buyers[r, j] == sum(1 for c in members if p in baskets[c.id])
    share = pen.share
    empty = pen.customers == 0
    assert np.isnan(share[empty]).all()
    assert ((share[~empty] >= 0) & (share[~empty] <= 1)).all()


@settings(max_examples=20)
@given(
    crosssell_portfolios(),
    st.sampled_from(["segment", "tier"]),
    st.sampled_from([0.0, 0.2, 0.5]),
    st.booleans(),
)
def test_opportunities_list_candidates_and_peer_medians(
    gen: Generated, by: str, threshold: float, relevant_only: bool
) -> None:
    """Every low-penetration cell is listed with its non-buyers, each at its peers' lower median."""
    table = whitespace(
        gen.portfolio,
        gen.as_of,
        by=by,  # type: ignore[arg-type]
        threshold=threshold,
        relevant_only=relevant_only,
    )
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    seen = [c for c in gen.customers if c.id in baskets]
    catalog = gen.portfolio.products
    expected_cells = set()
    for group in table.penetration.groups:
        members = [c for c in seen if _group(c, by) == group]
        if not members:
            continue
        for p in catalog:
            serves = catalog[p].segments
            if relevant_only and by == "segment" and serves and group not in serves:
                continue
            if sum(1 for c in members if p in baskets[c.id]) / len(members) <= threshold:
                expected_cells.add((group, p))
    assert {(o.group, o.product_id) for o in table} == expected_cells

    for o in table:
        members = [c for c in seen if _group(c, by) == o.group]
        candidates = [c for c in members if o.product_id not in baskets[c.id]]
        assert list(o.candidate_ids) == [c.id for c in candidates]
        assert o.customers == len(members)
        assert o.buyers == len(members) - len(candidates)
        for c, (cid, estimate, basis) in zip(candidates, o.estimates(), strict=True):
            assert cid == c.id
            buyers = [b for b in seen if o.product_id in baskets[b.id]]
            pools = [
                ("segment_tier", [b for b in buyers if (b.segment, b.tier) == (c.segment, c.tier)]),
                ("tier", [b for b in buyers if b.tier == c.tier]),
                ("all", buyers),
            ]
            name, pool = next(((n, pl) for n, pl in pools if pl), ("none", []))
            assert basis == name
            fen = reference_lower_median(baskets[b.id][o.product_id] for b in pool) if pool else 0
            assert estimate == fen_to_yuan(fen)
        assert o.estimated_revenue_fen == sum(int(x) for x in o.estimates_fen)
        assert isinstance(o.estimated_revenue, Decimal)
    revenue = [o.estimated_revenue_fen for o in table]
    assert revenue == sorted(revenue, reverse=True)
    assert table.total_estimated_revenue_fen == sum(revenue)


def test_insurer_whitespace() -> None:
    """The courts lack policy mailing; their estimate is the median of the insurers buying it."""
    pf = insurer_portfolio()
    table = whitespace(pf, "2022-12", relevant_only=False)
    cell = next(
        o for o in table if o.group is Segment.JUDICIAL and o.product_id == "policy_mailing"
    )
    assert list(cell.candidate_ids) == ["COURT-A", "COURT-B"]
    # no ACTIVE buyer of policy_mailing, so all buyers: 3000, 5000, 90000 -> 5000 yuan
    assert [(b, e) for _, e, b in cell.estimates()] == [("all", Decimal("5000.00"))] * 2
    assert cell.estimated_revenue == Decimal("10000.00")
    relevant = whitespace(pf, "2022-12")
    assert all(o.product_id != "policy_mailing" or o.group is Segment.INSURANCE for o in relevant)
    frame = relevant.to_pandas(lang="zh")
    assert list(frame.columns)[:2] == ["segment", "product_id"]
    assert set(BASES) == {"segment_tier", "tier", "all", "none"}


def test_whitespace_accepts_a_basket_and_filters_products() -> None:
    """Baskets built once can be reused; a product filter keeps only those products."""
    pf = insurer_portfolio()
    basket = build_basket(pf, "2022-12")
    table = whitespace(basket, products=["e_receipt"], by="tier")
    assert {o.product_id for o in table} == {"e_receipt"}
    assert table.penetration.to_pandas().shape == (len(Tier), len(pf.products))


def test_bad_whitespace_arguments() -> None:
    """A threshold outside [0, 1), an unknown product or dimension is an error naming it."""
    pf = insurer_portfolio()
    with pytest.raises(ValidationError, match="threshold"):
        whitespace(pf, threshold=1.0)
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        whitespace(pf, products=["cold_chain"])
    with pytest.raises(ValidationError, match="'province'"):
        penetration(pf, by="province")  # type: ignore[arg-type]
