"""A customer's cross-sell neighbourhood: what it buys and what is bought with that.

The neighbourhood is a small graph on products, read from a fitted
:class:`~keyaccount.crosssell.CrossSellModel` or from the cross-sell graph of
:func:`~keyaccount.crosssell.build_graph`:

- ring 0: the customer;
- ring 1: the products in its basket (edges ``buys``, with the window revenue);
- ring ``d + 1`` (``d`` < ``depth``): the products not in an inner ring that are
  *linked* to a product of ring ``d``: bought together by at least ``min_co_buyers``
  customers with a lift above ``min_lift`` (edges ``co_purchase``, with the lift).

Lift is that of :mod:`keyaccount.crosssell` (``support({a, b}) / (support({a}) x
support({b}))`` over the customers active in the window), so a model and the graph
of the same portfolio, month and window give the same neighbourhood.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from keyaccount.crosssell import CrossSellModel, customer_node, product_node
from keyaccount.domain import check_lang
from keyaccount.exceptions import UnknownCustomerError, ValidationError, shorten
from keyaccount.plot._mpl import apply_fonts, axes_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["crosssell_neighbourhood", "neighbourhood"]

_RING_COLOURS = ("#aab7b8", "#85c1e9", "#f8c471", "#fae5d3")
"""Node colours by ring: the customer, its products, then each further ring."""


class _Source:
    """What the neighbourhood needs, read from a model or a graph."""

    def __init__(
        self,
        product_ids: list[str],
        names: dict[str, tuple[str, str]],
        owned: dict[str, int],
        counts: npt.NDArray[np.int64],
        transactions: int,
        customer_name: str | None,
    ) -> None:
        self.product_ids = product_ids
        self.names = names
        self.owned = owned
        self.counts = counts
        self.transactions = transactions
        self.customer_name = customer_name


def _from_model(model: CrossSellModel, customer_id: str) -> _Source:
    basket = model.basket
    if customer_id not in basket:
        raise UnknownCustomerError(
            f"customer {shorten(customer_id)} is not in the cross-sell model as of {basket.as_of}"
        )
    row = basket.row(customer_id)
    lo, hi = int(basket.revenue.indptr[row]), int(basket.revenue.indptr[row + 1])
    owned = {
        basket.product_ids[j]: int(fen)
        for j, fen in zip(
            basket.revenue.indices[lo:hi].tolist(), basket.revenue.data[lo:hi].tolist(), strict=True
        )
    }
    catalog = basket.catalog
    names = {
        p: (catalog[p].name_en, catalog[p].name_zh) if p in catalog else (p, p)
        for p in basket.product_ids
    }
    counts = np.asarray(model.pairs.counts, dtype=np.int64)
    return _Source(list(basket.product_ids), names, owned, counts, model.pairs.transactions, None)


def _from_graph(graph: nx.DiGraph[str], customer_id: str) -> _Source:
    node = customer_node(customer_id)
    if node not in graph or graph.nodes[node].get("kind") != "customer":
        raise UnknownCustomerError(
            f"customer {shorten(customer_id)} is not in the cross-sell graph"
        )
    products = [n for n, node in graph.nodes(data=True) if node.get("kind") == "product"]
    product_ids = [str(graph.nodes[n]["ref"]) for n in products]
    column = {n: j for j, n in enumerate(products)}
    names = {
        str(graph.nodes[n]["ref"]): (
            str(graph.nodes[n].get("name_en", graph.nodes[n]["ref"])),
            str(graph.nodes[n].get("name_zh", graph.nodes[n]["ref"])),
        )
        for n in products
    }
    k = len(products)
    counts = np.zeros((k, k), dtype=np.int64)
    transactions = 0
    for source, attributes in graph.nodes(data=True):
        if attributes.get("kind") != "customer":
            continue
        bought = [
            column[target]
            for _, target, edge in graph.out_edges(source, data=True)
            if edge.get("kind") == "buys" and target in column
        ]
        if bought:
            transactions += 1
            index = np.asarray(bought, dtype=np.intp)
            counts[np.ix_(index, index)] += 1
    owned = {
        str(graph.nodes[target]["ref"]): int(data.get("revenue_fen", 0))
        for _, target, data in graph.out_edges(node, data=True)
        if data.get("kind") == "buys" and target in column
    }
    name = graph.nodes[node].get("name")
    return _Source(
        product_ids, names, owned, counts, transactions, None if name is None else str(name)
    )


def _lift(counts: npt.NDArray[np.int64], transactions: int) -> npt.NDArray[np.float64]:
    """Lift of every pair, float64 in the order of :mod:`keyaccount.crosssell._copurchase`."""
    n = float(transactions)
    if n == 0:
        return np.zeros(counts.shape, dtype=np.float64)
    support = counts.astype(np.float64) / n
    item = np.diagonal(support).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = support / item[:, None]
        lift: npt.NDArray[np.float64] = confidence / item[None, :]
    return np.nan_to_num(lift, nan=0.0, posinf=0.0)


def neighbourhood(
    source: CrossSellModel | nx.DiGraph[str],
    customer_id: str,
    depth: int = 1,
    *,
    min_lift: float = 1.0,
    min_co_buyers: int | None = None,
) -> nx.Graph[str]:
    """The cross-sell neighbourhood of one customer (see the module docstring).

    Args:
        source: A fitted cross-sell model, or the graph of ``build_graph``.
        customer_id: The customer.
        depth: Rings of linked products beyond the customer's own (0: its own only).
        min_lift: A pair links when its lift is above this.
        min_co_buyers: Fewest customers buying both for a pair to link (default: the
            model's ``min_co_buyers``; 1 for a graph).

    Returns:
        An undirected graph whose nodes are ``customer:<id>`` and ``product:<id>``
        keys with ``kind``, ``ring``, ``name_en`` and ``name_zh``; edges have ``kind``
        (``"buys"`` with ``revenue_fen``, or ``"co_purchase"`` with ``lift`` and
        ``co_buyers``). A linked product is joined to every product of the ring
        inside it that it is linked to.

    Raises:
        UnknownCustomerError: the customer is not in the model or the graph.
        ValidationError: ``depth`` below 0, or ``source`` is neither a model nor a graph.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValidationError(f"neighbourhood depth must be an integer >= 0, got {depth!r}")
    if isinstance(source, CrossSellModel):
        data = _from_model(source, customer_id)
        least = source.min_co_buyers if min_co_buyers is None else min_co_buyers
    elif isinstance(source, nx.DiGraph):
        data = _from_graph(source, customer_id)
        least = 1 if min_co_buyers is None else min_co_buyers
    else:
        raise ValidationError(
            f"neighbourhood needs a CrossSellModel or a cross-sell graph, got {shorten(source)}"
        )
    lift = _lift(data.counts, data.transactions)
    linked = (data.counts >= least) & (lift > min_lift)
    np.fill_diagonal(linked, False)
    column = {p: j for j, p in enumerate(data.product_ids)}
    graph: nx.Graph[str] = nx.Graph(customer_id=customer_id)
    centre = customer_node(customer_id)
    name = data.customer_name or customer_id
    graph.add_node(centre, kind="customer", ring=0, name_en=customer_id, name_zh=name)

    def add_product(product: str, ring: int) -> None:
        en, zh = data.names[product]
        graph.add_node(product_node(product), kind="product", ring=ring, name_en=en, name_zh=zh)

    ring = sorted(data.owned, key=lambda p: (-data.owned[p], column[p]))
    for product in ring:
        add_product(product, 1)
        graph.add_edge(centre, product_node(product), kind="buys", revenue_fen=data.owned[product])
    seen = set(ring)
    for level in range(2, depth + 2):
        inner = [column[p] for p in ring]
        found: list[str] = []
        for j in np.flatnonzero(linked[inner].any(axis=0)).tolist() if inner else []:
            product = data.product_ids[j]
            if product in seen:
                continue
            found.append(product)
            add_product(product, level)
            for i in inner:
                if linked[i, j]:
                    graph.add_edge(
                        product_node(data.product_ids[i]),
                        product_node(product),
                        kind="co_purchase",
                        lift=float(lift[i, j]),
                        co_buyers=int(data.counts[i, j]),
                    )
        if not found:
            break
        seen.update(found)
        ring = found
    return graph


def crosssell_neighbourhood(
    source: CrossSellModel | nx.DiGraph[str],
    customer_id: str,
    depth: int = 1,
    *,
    min_lift: float = 1.0,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """Draw a customer's cross-sell neighbourhood (:func:`neighbourhood`) in rings.

    The customer is in the centre, its products on the first ring (edge widths
    follow their window revenue), linked products on the rings outside (edge
    widths follow the lift). Nodes are drawn one collection per ring (gid
    ``"ring <n>"``), labelled with product names in ``lang`` (the customer with its
    id; in ``"zh"`` with its name when the graph has it).

    Args:
        source: A fitted cross-sell model, or the graph of ``build_graph``.
        customer_id: The customer.
        depth: Rings of linked products beyond the customer's own.
        min_lift: A pair links when its lift is above this.
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: product names.
        title: The title (default: the customer).

    Returns:
        The axes drawn into.

    Raises:
        UnknownCustomerError: the customer is not in the model or the graph.
        ValidationError: ``depth`` below 0, or ``lang`` not ``"en"`` or ``"zh"``.
    """
    language = check_lang(lang, where="crosssell_neighbourhood")
    graph = neighbourhood(source, customer_id, depth, min_lift=min_lift)
    axes = axes_for(ax, (8.0, 8.0))
    rings: dict[int, list[str]] = {}
    for node, attributes in graph.nodes(data=True):
        rings.setdefault(int(attributes["ring"]), []).append(node)
    shells = [rings[r] for r in sorted(rings)]
    positions: dict[str, Any] = (
        nx.shell_layout(graph, nlist=shells)
        if len(graph) > 1
        else {customer_node(customer_id): np.zeros(2)}
    )
    edges: list[tuple[str, str, dict[str, Any]]] = list(graph.edges(data=True))
    buys = [(a, b) for a, b, edge in edges if edge["kind"] == "buys"]
    links = [(a, b) for a, b, edge in edges if edge["kind"] == "co_purchase"]
    if buys:
        revenue = np.array([graph.edges[e]["revenue_fen"] for e in buys], dtype=np.float64)
        scale = float(np.abs(revenue).max()) or 1.0
        nx.draw_networkx_edges(
            graph,
            positions,
            edgelist=buys,
            width=(1.0 + 5.0 * np.abs(revenue) / scale).tolist(),
            edge_color="#2e86c1",
            alpha=0.7,
            ax=axes,
        )
    if links:
        lifts = np.array([graph.edges[e]["lift"] for e in links], dtype=np.float64)
        nx.draw_networkx_edges(
            graph,
            positions,
            edgelist=links,
            width=(0.5 + 2.5 * lifts / float(lifts.max())).tolist(),
            edge_color="#e67e22",
            style="dashed",
            alpha=0.6,
            ax=axes,
        )
    for r, nodes in enumerate(shells):
        collection = nx.draw_networkx_nodes(
            graph,
            positions,
            nodelist=nodes,
            node_color=_RING_COLOURS[min(r, len(_RING_COLOURS) - 1)],
            node_size=900 if r == 0 else 450,
            ax=axes,
        )
        collection.set_gid(f"ring {r}")
    key = "name_zh" if language == "zh" else "name_en"
    labels = {node: str(graph.nodes[node][key]) for node in graph}
    nx.draw_networkx_labels(graph, positions, labels=labels, font_size=8, ax=axes)
    axes.set_axis_off()
    axes.margins(0.15)
    name = str(graph.nodes[customer_node(customer_id)]["name_zh"])
    default = (
        f"{name}的交叉销售邻域"
        if language == "zh"
        else f"Cross-sell neighbourhood of {customer_id}"
    )
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes)
    return axes
