"""Cross-selling as a graph: baskets, co-purchase rules, recommendations, whitespace.

A customer's **basket** as of a month is the set of products with positive
revenue in the trailing window (12 months unless told otherwise). On top of
the baskets this package builds:

- the cross-sell graph in networkx (customers, products, segments, project
  groups; GraphML and node-link JSON export): :func:`build_graph`;
- co-purchase statistics equal to mlxtend's ``apriori`` +
  ``association_rules``, counted over the distinct baskets as bit sets:
  :func:`frequent_itemsets`, :func:`association_rules`, :func:`pair_statistics`;
- explained recommendations for one customer or, in bulk with sparse linear
  algebra, for every customer: :func:`recommend`, :class:`CrossSellModel`;
- whitespace (penetration and the revenue left on the table):
  :func:`penetration`, :func:`whitespace`;
- account hierarchies (group roll-ups, products the branches lack):
  :func:`group_purchases`, :func:`hierarchy_gaps`.

Example:
    >>> from keyaccount import Customer, Portfolio, RevenueRecord
    >>> from keyaccount.crosssell import recommend
    >>> cs = [Customer(f"C{i}", f"法院{i}", "2022-01", segment="司法") for i in range(3)]
    >>> rs = [RevenueRecord("C0", "court_express", "2022-05", "100"),
    ...       RevenueRecord("C1", "court_express", "2022-05", "100"),
    ...       RevenueRecord("C1", "e_receipt", "2022-05", "50")]
    >>> rec = recommend(Portfolio(cs, rs), "C0", 1)[0]
    >>> rec.product_id, rec.evidence.peer_buyers, rec.evidence.peers
    ('e_receipt', 1, 2)
"""

from __future__ import annotations

from keyaccount.crosssell._basket import DEFAULT_WINDOW, Basket, build_basket
from keyaccount.crosssell._copurchase import (
    AssociationRule,
    FrequentItemsets,
    PairStatistics,
    RuleTable,
    association_rules,
    frequent_itemsets,
    pair_statistics,
)
from keyaccount.crosssell._graph import (
    build_graph,
    customer_node,
    group_node,
    product_node,
    read_node_link_json,
    segment_node,
    write_graphml,
    write_node_link_json,
)
from keyaccount.crosssell._hierarchy import (
    GapKind,
    GroupProduct,
    GroupPurchases,
    HierarchyGap,
    group_purchases,
    hierarchy_gaps,
)
from keyaccount.crosssell._recommend import (
    CrossSellModel,
    Evidence,
    Recommendation,
    RecommendationTable,
    ScoreWeights,
    networkx_proximity,
    purchase_graph,
    recommend,
    recommend_all,
)
from keyaccount.crosssell._whitespace import (
    BASES,
    Opportunity,
    OpportunityTable,
    Penetration,
    penetration,
    whitespace,
)

__all__ = [
    "BASES",
    "DEFAULT_WINDOW",
    "AssociationRule",
    "Basket",
    "CrossSellModel",
    "Evidence",
    "FrequentItemsets",
    "GapKind",
    "GroupProduct",
    "GroupPurchases",
    "HierarchyGap",
    "Opportunity",
    "OpportunityTable",
    "PairStatistics",
    "Penetration",
    "Recommendation",
    "RecommendationTable",
    "RuleTable",
    "ScoreWeights",
    "association_rules",
    "build_basket",
    "build_graph",
    "customer_node",
    "frequent_itemsets",
    "group_node",
    "group_purchases",
    "hierarchy_gaps",
    "networkx_proximity",
    "pair_statistics",
    "penetration",
    "product_node",
    "purchase_graph",
    "read_node_link_json",
    "recommend",
    "recommend_all",
    "segment_node",
    "whitespace",
    "write_graphml",
    "write_node_link_json",
]
