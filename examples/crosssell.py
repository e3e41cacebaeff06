"""Cross-selling on the demo portfolio: rules, explained recommendations, whitespace, branches.

Run it as a script: ``python examples/crosssell.py``. It prints what an analyst
looks at first and writes the cross-sell graph for Gephi to a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from keyaccount.crosssell import (
    CrossSellModel,
    association_rules,
    build_graph,
    frequent_itemsets,
    hierarchy_gaps,
    whitespace,
    write_graphml,
    write_node_link_json,
)
from keyaccount.demo import NOTABLE_CUSTOMERS, generate
from keyaccount.domain import format_yuan

portfolio = generate(customers=2000)
model = CrossSellModel.fit(portfolio)  # as of the last month with revenue
basket = model.basket
print(f"As of {model.as_of}: {len(basket)} customers, {int(basket.active.sum())} active")

# --- co-purchase rules: what sells with what (two products on the left allowed)
itemsets = frequent_itemsets(basket, min_support=0.005)
rules = association_rules(itemsets, min_confidence=0.3, min_lift=2.0)
print(f"\n{len(itemsets)} frequent itemsets, {len(rules)} rules; the strongest:")
for rule in list(rules)[:8]:
    print(
        f"  {' + '.join(rule.antecedents)} -> {', '.join(rule.consequents)}: "
        f"confidence {rule.confidence:.0%}, lift {rule.lift:.1f}, {rule.count} customers"
    )
leads = association_rules(itemsets, min_confidence=0.1, consequents=["custom_route"])
print(f"  rules that lead to a custom mail route: {len(leads)}")

# --- explained recommendations for a few notable customers
for name in ("当当网", "耐克", "中国人寿"):
    cid = NOTABLE_CUSTOMERS[name]
    print(f"\n{name} ({cid}) buys {', '.join(basket.products_of(cid))}")
    for rec in model.recommend(cid, 3, exclude=["luggage_to_home"]):
        print(f"  {rec.rank}. {rec.product_name_zh} ({rec.product_id}) score {rec.score:.3f}")
        for reason in rec.reasons():
            print(f"     - {reason}")

# --- every customer at once, with a campaign boost, as a table
table = model.recommend_all(3, boost={"e_receipt": 1.5})
frame = table.to_pandas()
print(f"\nBulk: {table.count} recommendations for {len(table)} customers")
print(frame.groupby("product_id").size().sort_values(ascending=False).head(5).to_string())

# --- whitespace: the opportunity table a sales director reads
opportunities = whitespace(basket, threshold=0.05)
print(
    f"\nWhitespace: {len(opportunities)} cells, about "
    f"{format_yuan(opportunities.total_estimated_revenue_fen, unit='wan')} 万元 in all"
)
for cell in list(opportunities)[:5]:
    group = cell.group.label("zh") if cell.group is not None else "未分配"
    print(
        f"  {group} x {cell.product_id}: penetration {cell.penetration:.0%}, "
        f"{len(cell.candidate_ids)} customers, {format_yuan(cell.estimated_revenue_fen)} yuan"
    )

# --- branches that lack what their headquarters (or their sister branches) buy
insurer = NOTABLE_CUSTOMERS["中国人寿"]
for gap in hierarchy_gaps(portfolio, model.as_of, parents=[insurer])[:3]:
    print(
        f"\n{gap.kind.value}: {gap.product_id} - {len(gap.buyer_ids)} branches buy it, "
        f"{len(gap.non_buyer_ids)} do not (first leads: {', '.join(gap.non_buyer_ids[:3])})"
    )

# --- the graph, for Gephi (GraphML) and a web viewer (node-link JSON)
graph = build_graph(portfolio, model.as_of)
with tempfile.TemporaryDirectory() as folder:
    graphml = write_graphml(graph, Path(folder) / "crosssell.graphml")
    json_file = write_node_link_json(graph, Path(folder) / "crosssell.json")
    print(
        f"\nGraph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges "
        f"({graphml.stat().st_size // 1024} KiB GraphML, "
        f"{json_file.stat().st_size // 1024} KiB JSON)"
    )
