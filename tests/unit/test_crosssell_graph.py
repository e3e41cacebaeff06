from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pytest
from hypothesis import given

from keyaccount import ProjectGroup
from keyaccount.crosssell import (
    build_basket,
    build_graph,
    customer_node,
    group_node,
    product_node,
    read_node_link_json,
    segment_node,
    write_graphml,
    write_node_link_json,
)
from keyaccount.crosssell._reference import reference_baskets
from keyaccount.exceptions import ValidationError
from tests.unit.crosssell_data import Generated, crosssell_portfolios, insurer_portfolio

if TYPE_CHECKING:
    from pathlib import Path


def _same(a: nx.Graph[str], b: nx.Graph[str]) -> None:
    assert dict(a.nodes.items()) == dict(b.nodes.items())
    assert {(u, v): d for u, v, d in a.edges(data=True)} == {
        (u, v): d for u, v, d in b.edges(data=True)
    }


def test_graph_nodes_edges_and_attributes() -> None:
    """Customers, products, segments and groups are nodes; purchases carry fen and parcels."""
    pf = insurer_portfolio()
    pf.add_project_group(ProjectGroup("insurers", "Insurers", "保险", customer_ids=["HQ"]))
    g = build_graph(pf, "2022-12")
    hq = g.nodes[customer_node("HQ")]
    assert hq == {
        "kind": "customer",
        "ref": "HQ",
        "name": "保险总公司",
        "tier": "STRATEGIC",
        "segment": "INSURANCE",
        "first_period": "2021-01",
    }
    assert g.nodes[customer_node("INS-GD")]["province"] == "广东"
    buys = g.edges[customer_node("HQ"), product_node("policy_mailing")]
    assert buys == {"kind": "buys", "revenue_fen": 9_000_000, "volume": 10}
    assert g.edges[customer_node("HQ"), customer_node("INS-BJ")]["kind"] == "parent_of"
    assert g.edges[customer_node("HQ"), segment_node("INSURANCE")]["kind"] == "in_segment"
    assert g.edges[customer_node("HQ"), group_node("insurers")]["kind"] == "in_project_group"
    assert g.nodes[product_node("policy_mailing")]["buyers"] == 3
    assert g.nodes[group_node("insurers")]["international"] is False
    assert len([n for n, d in g.nodes(data=True) if d["kind"] == "product"]) == len(pf.products)


@given(crosssell_portfolios(max_customers=15))
def test_buys_edges_are_the_baskets(gen: Generated) -> None:
    """There is a buys edge exactly for each basket entry, weighted by window fen."""
    g = build_graph(gen.portfolio, gen.as_of)
    baskets = reference_baskets(gen.customers, gen.records, gen.as_of)
    edges = {
        (g.nodes[u]["ref"], g.nodes[v]["ref"]): d["revenue_fen"]
        for u, v, d in g.edges(data=True)
        if d["kind"] == "buys"
    }
    assert edges == {(c, p): fen for c, b in baskets.items() for p, fen in b.items()}
    customers = {d["ref"] for _, d in g.nodes(data=True) if d["kind"] == "customer"}
    assert customers == set(baskets)


def test_graphml_and_node_link_json_round_trip(tmp_path: Path) -> None:
    """Both exports read back with networkx to the same nodes, edges and attributes."""
    pf = insurer_portfolio()
    g = build_graph(pf, "2022-12")
    back = nx.read_graphml(write_graphml(g, tmp_path / "g.graphml"))
    _same(g, back)
    assert isinstance(
        back.edges[customer_node("HQ"), product_node("policy_mailing")]["revenue_fen"], int
    )
    _same(g, read_node_link_json(write_node_link_json(g, tmp_path / "g.json")))
    assert "保险总公司" in (tmp_path / "g.json").read_text(encoding="utf-8")


def test_basket_window_and_validation() -> None:
    """The window decides which months count; a bad window is an error naming it."""
    pf = insurer_portfolio()
    # the records are in 2022-06: seven months back from 2022-12, not six
    assert build_basket(pf, "2022-12", window=7).products_of("HQ") == (
        "standard_express",
        "policy_mailing",
    )
    assert build_basket(pf, "2022-12", window=6).products_of("HQ") == ()
    with pytest.raises(ValidationError, match="window"):
        build_basket(pf, "2022-12", window=0)


@given(crosssell_portfolios())
def test_basket_equals_reference_and_metrics(gen: Generated) -> None:
    """Baskets equal the plain definition and the metrics' positive product revenue."""
    basket = build_basket(gen.portfolio, gen.as_of)
    expected = reference_baskets(gen.customers, gen.records, gen.as_of)
    order = list(gen.portfolio.products)
    assert {c: basket.products_of(c) for c in basket.customer_ids.tolist()} == {
        c: tuple(sorted(b, key=order.index)) for c, b in expected.items()
    }
    for c, b in expected.items():
        row = basket.row(c)
        for p, fen in b.items():
            assert basket.revenue[row, basket.product_column(p)] == fen
    table = gen.portfolio.metrics(gen.as_of)
    np.testing.assert_array_equal(basket.customer_ids, table.customer_ids)
    np.testing.assert_array_equal(basket.matrix.toarray(), table.product_revenue > 0)
    rolled = build_basket(gen.portfolio, gen.as_of, rollup=True, volume=False)
    assert rolled.volume is None
    rolled_table = gen.portfolio.metrics(gen.as_of, rollup=True)
    np.testing.assert_array_equal(rolled.matrix.toarray(), rolled_table.product_revenue > 0)


@given(crosssell_portfolios())
def test_sorted_sums_equal_dense_sums(gen: Generated) -> None:
    """The sort-based path for large catalogues gives the same baskets as the dense path."""
    import keyaccount.crosssell._basket as basket_module

    dense = build_basket(gen.portfolio, gen.as_of)
    limit = basket_module._DENSE_LIMIT
    basket_module._DENSE_LIMIT = 0
    try:
        sparse = build_basket(gen.portfolio, gen.as_of)
    finally:
        basket_module._DENSE_LIMIT = limit
    assert (dense.revenue != sparse.revenue).nnz == 0
    assert dense.volume is not None
    assert sparse.volume is not None
    assert (dense.volume != sparse.volume).nnz == 0
