from __future__ import annotations

import pytest
from hypothesis import given

from keyaccount.crosssell import GapKind, group_purchases, hierarchy_gaps
from keyaccount.crosssell._reference import reference_baskets, reference_gaps
from keyaccount.exceptions import UnknownCustomerError, UnknownProductError
from tests.unit.crosssell_data import Generated, crosssell_portfolios, insurer_portfolio


@given(crosssell_portfolios())
def test_gaps_equal_reference(gen: Generated) -> None:
    """Parent-only and partial gaps are exactly those of the plain definitions."""
    gaps = hierarchy_gaps(gen.portfolio, gen.as_of)
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    parent_of = {c.id: c.parent_id for c in gen.customers}
    expected = reference_gaps(parent_of, baskets)
    got = {(g.parent_id, g.product_id): (g.kind.value, frozenset(g.buyer_ids)) for g in gaps}
    assert got == expected
    for g in gaps:
        children = {c for c, p in parent_of.items() if p == g.parent_id and c in baskets}
        assert set(g.buyer_ids) | set(g.non_buyer_ids) == children
        assert not set(g.buyer_ids) & set(g.non_buyer_ids)
        assert g.parent_buys == (g.product_id in baskets[g.parent_id])


@given(crosssell_portfolios())
def test_group_roll_up_sums_the_whole_group(gen: Generated) -> None:
    """A group's roll-up holds the products with positive combined revenue and their buyers."""
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    children: dict[str, list[str]] = {}
    for c in gen.customers:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c.id)
    first = gen.as_of - 11
    for top in [c.id for c in gen.customers if c.id in baskets][:8]:
        group = group_purchases(gen.portfolio, top, gen.as_of)
        members, stack = set(), [top]
        while stack:
            m = stack.pop()
            members.add(m)
            stack.extend(children.get(m, []))
        totals: dict[str, int] = {}
        for r in gen.records:
            if r.customer_id in members and first <= r.period <= gen.as_of:
                totals[r.product_id] = totals.get(r.product_id, 0) + r.revenue_fen
        expected = {p: fen for p, fen in totals.items() if fen > 0}
        assert {p.product_id: p.revenue_fen for p in group.products} == expected
        assert set(group.member_ids) == members & set(baskets)
        for p in group.products:
            assert set(p.buyer_ids) == {m for m in group.member_ids if p.product_id in baskets[m]}


def test_insurer_headquarters_and_provinces() -> None:
    """HQ's policy mailing is missing in SH and BJ; SH alone buys standard express besides HQ."""
    pf = insurer_portfolio()
    gaps = {(g.product_id): g for g in hierarchy_gaps(pf, "2022-12", parents=["HQ"])}
    policy = gaps["policy_mailing"]
    assert policy.kind is GapKind.PARTIAL
    assert policy.buyer_ids == ("INS-GD", "INS-ZJ")
    assert policy.non_buyer_ids == ("INS-SH", "INS-BJ")
    assert gaps["standard_express"].buyer_ids == ("INS-SH",)
    group = group_purchases(pf, "HQ", "2022-12")
    assert group.product_ids == ("policy_mailing", "standard_express")
    assert group.products[0].revenue == pytest.approx(98000)
    assert group.products[0].buyer_ids == ("HQ", "INS-GD", "INS-ZJ")


def test_parent_only_gap() -> None:
    """A product only the parent buys is a parent-only gap listing every branch as a lead."""
    from keyaccount import RevenueRecord

    pf = insurer_portfolio()
    pf.add_revenue([RevenueRecord("HQ", "e_receipt", "2022-07", "10")])
    gap = next(g for g in hierarchy_gaps(pf, "2022-12") if g.product_id == "e_receipt")
    assert gap.kind is GapKind.PARENT_ONLY
    assert gap.buyer_ids == ()
    assert set(gap.non_buyer_ids) == {"INS-GD", "INS-ZJ", "INS-SH", "INS-BJ"}


def test_hierarchy_errors_name_the_value() -> None:
    """Unknown parents and products are reported by name."""
    pf = insurer_portfolio()
    with pytest.raises(UnknownCustomerError, match="'NOPE'"):
        hierarchy_gaps(pf, parents=["NOPE"])
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        hierarchy_gaps(pf, products=["cold_chain"])
    with pytest.raises(UnknownCustomerError, match="'NOPE'"):
        group_purchases(pf, "NOPE")
