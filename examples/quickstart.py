"""Quick start: build a small portfolio by hand and read its metrics.

An insurer headquarters with two provincial branches, a court, and a customer
not yet assigned to an industry; two years of monthly revenue; a project group.

Run: python examples/quickstart.py
"""

from __future__ import annotations

from decimal import Decimal

from keyaccount import (
    Customer,
    Member,
    Period,
    Portfolio,
    ProjectGroup,
    RevenueRecord,
    Role,
    Segment,
    Tier,
)

AS_OF = Period.parse("2022-12")

customers = [
    Customer(
        "INS-HQ",
        "某人寿保险总公司",
        "2020-01",
        segment="保险",
        sub_segment="INSURER_HQ",
        tier="战略客户",
    ),
    Customer(
        "INS-GD",
        "某人寿保险广东分公司",
        "2020-01",
        segment=Segment.INSURANCE,
        sub_segment="省级分支机构",
        tier=Tier.KEY,
        parent_id="INS-HQ",
        province="广东",
    ),
    Customer(
        "INS-ZJ",
        "某人寿保险浙江分公司",
        "2021-06",
        segment="INSURANCE",
        sub_segment="INSURER_BRANCH",
        parent_id="INS-HQ",
        province="浙江",
    ),
    Customer(
        "COURT-SZ",
        "深圳市中级人民法院",
        "2021-03",
        segment="司法",
        sub_segment="法院",
        province="广东",
    ),
    Customer("SOLO-1", "某航空公司", "2022-02"),  # no industry segment yet
]

records: list[RevenueRecord] = []
for month in Period.range("2021-01", "2022-12"):
    grows = month.year == 2022
    records.append(RevenueRecord("INS-HQ", "policy_mailing", month, "12000.00", volume=3000))
    records.append(
        RevenueRecord(
            "INS-GD", "policy_mailing", month, "8800.50" if grows else "6000", volume=2100
        )
    )
    if month >= Period.parse("2021-06"):
        records.append(RevenueRecord("INS-ZJ", "policy_mailing", month, "2500", volume=600))
    if month >= Period.parse("2021-03") and month.month % 2 == 0:
        records.append(RevenueRecord("COURT-SZ", "court_express", month, "1830.25", volume=900))
records.append(RevenueRecord("COURT-SZ", "e_receipt", "2022-11", "300.00"))
records.append(RevenueRecord("SOLO-1", "luggage_to_home", "2022-06", Decimal("45000.00")))
records.append(RevenueRecord("SOLO-1", "luggage_to_home", "2022-08", "-1200.00"))  # a refund

insurers = ProjectGroup(
    "insurers",
    "Leading insurers",
    "保险龙头客户项目组",
    segment="INSURANCE",
    members=(
        Member("周敏", Role.PROJECT_MANAGER),
        Member("吴刚", Role.ACCOUNT_MANAGER),
        Member("郑洁", Role.BUSINESS_DEVELOPMENT),
    ),
    customer_ids=["INS-HQ", "INS-GD", "INS-ZJ"],
)

portfolio = Portfolio(customers, records, project_groups=[insurers])
print(portfolio)

# Per-customer metrics as of December 2022 (trailing 12 months ending with it).
metrics = portfolio.metrics(AS_OF)
for customer_id in metrics.top(5):
    row = metrics.row(customer_id)
    growth = row["yoy_growth"]
    growth_text = "n/a" if growth is None else f"{growth:+.1%}"
    print(
        f"{customer_id:<9} t12m {row['t12m_revenue']:>12} yuan  yoy {growth_text:>7}  "
        f"active {row['active_months']:>2}/12  products {row['product_count']}"
    )

# The whole insurer group: headquarters plus all branches, recomputed together.
group = portfolio.metrics(AS_OF, rollup=True).row("INS-HQ")
print(f"INS-HQ group: t12m {group['t12m_revenue']} yuan, active {group['active_months']}/12")
print("INS-HQ branches:", portfolio.descendants("INS-HQ"))

# Segment x tier summary (the last row is customers without a segment).
summary = portfolio.summary(AS_OF)
cell = summary.cell(Segment.INSURANCE, Tier.KEY)
print(f"INSURANCE x KEY: {cell.customers} customer(s), {cell.t12m_revenue} yuan")
print(f"unassigned: {summary.cell(None, Tier.ACTIVE).customers} customer(s)")
print(f"all: {summary.total_customers} customers, {summary.total_revenue_fen} fen")
