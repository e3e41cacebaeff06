"""The cross-sell graph: customers, products, segments and project groups in networkx.

Nodes (the node key is ``"<kind>:<id>"``; every node has ``kind`` and ``ref``,
the id without the kind, since node-link JSON keeps ``id`` for the node key):

- ``customer:<id>`` (``kind="customer"``): ``name``, ``tier`` (tier name),
  ``segment`` and ``sub_segment`` (names; left out when unassigned),
  ``province`` (left out when unknown), ``first_period`` (``YYYY-MM``).
- ``product:<id>`` (``kind="product"``): ``name_en``, ``name_zh``, ``buyers``
  (customers whose basket holds it).
- ``segment:<NAME>`` (``kind="segment"``): ``label_zh``.
- ``project_group:<id>`` (``kind="project_group"``): ``name_en``, ``name_zh``,
  ``international`` (bool), ``segment`` (left out when none).

Edges (directed; every edge has ``kind``):

- customer -> product, ``kind="buys"``: the product is in the customer's
  basket; ``revenue_fen`` (window revenue, integer fen, > 0) and ``volume``
  (window parcels).
- parent customer -> child customer, ``kind="parent_of"``.
- customer -> segment, ``kind="in_segment"``.
- customer -> project group, ``kind="in_project_group"``.

Customers first seen after the as-of month are left out, with their edges.
Attribute values are only ``str``, ``int`` and ``bool``, so the graph writes to
GraphML (Gephi, yEd) and node-link JSON (d3 and other web viewers) unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from keyaccount.crosssell._basket import DEFAULT_WINDOW, Basket, build_basket
from keyaccount.domain import NO_CODE, SEGMENTS, SUB_SEGMENTS, TIERS, Period
from keyaccount.utils import atomic_path

if TYPE_CHECKING:
    import networkx as nx

    from keyaccount.portfolio import Portfolio

__all__ = [
    "build_graph",
    "customer_node",
    "group_node",
    "product_node",
    "read_node_link_json",
    "segment_node",
    "write_graphml",
    "write_node_link_json",
]


def customer_node(customer_id: str) -> str:
    """The graph key of a customer node."""
    return f"customer:{customer_id}"


def product_node(product_id: str) -> str:
    """The graph key of a product node."""
    return f"product:{product_id}"


def segment_node(segment_name: str) -> str:
    """The graph key of a segment node (``segment_name`` is the enum name, ``JUDICIAL``)."""
    return f"segment:{segment_name}"


def group_node(group_id: str) -> str:
    """The graph key of a project-group node."""
    return f"project_group:{group_id}"


def build_graph(
    portfolio: Portfolio,
    as_of: Period | str,
    *,
    window: int = DEFAULT_WINDOW,
    basket: Basket | None = None,
) -> nx.DiGraph[str]:
    """The cross-sell graph of ``portfolio`` as of ``as_of`` (see the module docstring).

    Args:
        portfolio: The portfolio.
        as_of: The as-of month.
        window: Months of the basket window.
        basket: The baskets, if already built for the same month and window
            (with volume).

    Returns:
        A :class:`networkx.DiGraph`. It holds one Python object per customer and
        purchase: fine for exploring and exporting up to some hundred thousand
        customers; the bulk functions of this package never build it.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> pf = Portfolio([Customer("C1", "某中院", "2022-01", segment="司法")],
        ...                [RevenueRecord("C1", "court_express", "2022-05", "880.00")])
        >>> g = build_graph(pf, "2022-12")
        >>> g.edges["customer:C1", "product:court_express"]["revenue_fen"]
        88000
    """
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    period = Period.parse(as_of)
    if basket is None or basket.volume is None:
        basket = build_basket(portfolio, period, window=window)
    assert basket.volume is not None
    graph: nx.DiGraph[str] = nx.DiGraph(as_of=str(period), window=basket.window)
    buyers = np.bincount(basket.revenue.indices, minlength=len(basket.product_ids))
    for j, product in enumerate(portfolio.products.products):
        graph.add_node(
            product_node(product.id),
            kind="product",
            ref=product.id,
            name_en=product.name_en,
            name_zh=product.name_zh,
            buyers=int(buyers[j]),
        )
    for segment in SEGMENTS:
        graph.add_node(
            segment_node(segment.name), kind="segment", ref=segment.name, label_zh=segment.label_zh
        )
    cols = portfolio.customer_columns
    ids = basket.customer_ids.tolist()
    positions = basket.positions.tolist()
    for cid, pos in zip(ids, positions, strict=True):
        attrs: dict[str, Any] = {
            "kind": "customer",
            "ref": cid,
            "name": str(cols.name[pos]),
            "tier": TIERS[int(cols.tier[pos])].name,
            "first_period": str(Period.from_ordinal(int(cols.first_period[pos]))),
        }
        seg = int(cols.segment[pos])
        if seg != NO_CODE:
            attrs["segment"] = SEGMENTS[seg].name
        sub = int(cols.sub_segment[pos])
        if sub != NO_CODE:
            attrs["sub_segment"] = SUB_SEGMENTS[sub].name
        if cols.province[pos] is not None:
            attrs["province"] = str(cols.province[pos])
        graph.add_node(customer_node(cid), **attrs)
        if seg != NO_CODE:
            graph.add_edge(customer_node(cid), segment_node(SEGMENTS[seg].name), kind="in_segment")
    for row, parent in enumerate(basket.parent.tolist()):
        if parent != NO_CODE:
            graph.add_edge(customer_node(ids[parent]), customer_node(ids[row]), kind="parent_of")
    rev, vol = basket.revenue, basket.volume
    products = basket.product_ids
    for row in range(len(basket)):
        lo, hi = int(rev.indptr[row]), int(rev.indptr[row + 1])
        for j, fen, parcels in zip(
            rev.indices[lo:hi].tolist(),
            rev.data[lo:hi].tolist(),
            vol.data[lo:hi].tolist(),
            strict=True,
        ):
            graph.add_edge(
                customer_node(ids[row]),
                product_node(products[j]),
                kind="buys",
                revenue_fen=int(fen),
                volume=int(parcels),
            )
    for group in portfolio.project_groups:
        attrs = {
            "kind": "project_group",
            "ref": group.id,
            "name_en": group.name_en,
            "name_zh": group.name_zh,
            "international": group.international,
        }
        if group.segment is not None:
            attrs["segment"] = group.segment.name
        graph.add_node(group_node(group.id), **attrs)
        for cid in sorted(group.customer_ids):
            if cid in basket:
                graph.add_edge(customer_node(cid), group_node(group.id), kind="in_project_group")
    return graph


def write_graphml(graph: nx.DiGraph[str], path: str | Path) -> Path:
    """Write ``graph`` as GraphML (for Gephi, yEd, Cytoscape); returns the path."""
    target = Path(path)
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    with atomic_path(target) as temporary:
        nx.write_graphml(graph, temporary, named_key_ids=True)
    return target


def write_node_link_json(graph: nx.DiGraph[str], path: str | Path) -> Path:
    """Write ``graph`` as node-link JSON (``nodes`` and ``edges`` lists); returns the path.

    Read it back with :func:`read_node_link_json`, or in a browser with d3.
    """
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    target = Path(path)
    data = nx.node_link_data(graph, edges="edges")
    with atomic_path(target) as temporary:
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def read_node_link_json(path: str | Path) -> nx.DiGraph[str]:
    """Read a graph written by :func:`write_node_link_json`."""
    import networkx as nx  # here: importing the cross-sell package loads no networkx

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    graph = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    return cast("nx.DiGraph[str]", graph)
