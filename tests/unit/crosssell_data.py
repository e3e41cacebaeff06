"""Small portfolios for the cross-sell tests: random ones with dense baskets, and a hand-made one.

:func:`random_portfolio` draws customers in a few segments, tiers and
provinces, some of them branches of others, and revenue records in and
outside the basket window, with correlated products (buyers of one product
are likelier to buy its "partner"), refunds that cancel a product, and
customers that buy nothing. :func:`crosssell_portfolios` wraps it for
Hypothesis.
"""

from __future__ import annotations

import attrs
import numpy as np
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, ProjectGroup, RevenueRecord
from keyaccount.domain import Period

__all__ = [
    "AS_OF",
    "PRODUCTS",
    "Generated",
    "crosssell_portfolios",
    "insurer_portfolio",
    "random_portfolio",
]

AS_OF = Period(2022, 12)
PRODUCTS: tuple[str, ...] = (
    "standard_express",
    "court_express",
    "legal_document_express",
    "e_receipt",
    "card_letter",
    "policy_mailing",
    "warehouse_delivery",
    "intra_province_delivery",
    "custom_route",
)
_SEGMENTS = (None, "JUDICIAL", "FINANCE", "INSURANCE", "ECOMMERCE_TOP")
_TIERS = ("DORMANT", "ACTIVE", "KEY", "STRATEGIC")
_PROVINCES = (None, "广东", "浙江", "北京")


@attrs.frozen
class Generated:
    """A generated portfolio with the objects it was built from."""

    portfolio: Portfolio
    customers: tuple[Customer, ...]
    records: tuple[RevenueRecord, ...]
    as_of: Period


def random_portfolio(seed: int, customers: int = 30, *, density: float = 0.35) -> Generated:
    """A random portfolio of ``customers`` customers, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    made: list[Customer] = []
    for i in range(customers):
        parent = None
        if made and rng.random() < 0.3:
            parent = made[int(rng.integers(len(made)))].id
        made.append(
            Customer(
                f"C{i:03d}",
                f"客户{i}",
                AS_OF - int(rng.integers(0, 30)) + (1 if rng.random() < 0.05 else 0) * 2,
                segment=_SEGMENTS[int(rng.integers(len(_SEGMENTS)))],
                tier=_TIERS[int(rng.integers(len(_TIERS)))],
                parent_id=parent,
                province=_PROVINCES[int(rng.integers(len(_PROVINCES)))],
            )
        )
    records: list[RevenueRecord] = []
    k = len(PRODUCTS)
    for c in made:
        if rng.random() < 0.1:
            continue  # buys nothing at all
        owned = rng.random(k) < density
        partners = np.roll(owned, 1) & (rng.random(k) < 0.5)
        for j in np.flatnonzero(owned | partners).tolist():
            months = int(rng.integers(1, 4))
            for _ in range(months):
                period = AS_OF - int(rng.integers(0, 20))
                if period < c.first_period:
                    period = c.first_period
                fen = int(rng.integers(1, 500_000))
                records.append(
                    RevenueRecord.from_fen(
                        c.id, PRODUCTS[j], period, fen, volume=int(rng.integers(0, 40))
                    )
                )
                if rng.random() < 0.05:  # a refund that cancels the month
                    records.append(RevenueRecord.from_fen(c.id, PRODUCTS[j], period, -fen))
    groups = [
        ProjectGroup(
            "courts",
            "Courts",
            "法院项目组",
            segment="JUDICIAL",
            customer_ids=[
                c.id for c in made if c.segment is not None and c.segment.name == "JUDICIAL"
            ],
        ),
        ProjectGroup(
            "insurers",
            "Leading insurers",
            "保险龙头客户项目组",
            segment="INSURANCE",
            customer_ids=[
                c.id for c in made if c.segment is not None and c.segment.name == "INSURANCE"
            ],
        ),
    ]
    portfolio = Portfolio(made, records, project_groups=groups)
    return Generated(portfolio, tuple(made), tuple(records), AS_OF)


def crosssell_portfolios(
    min_customers: int = 2, max_customers: int = 30
) -> st.SearchStrategy[Generated]:
    """Random portfolios (see :func:`random_portfolio`) of varying size and density."""
    return st.builds(
        random_portfolio,
        st.integers(0, 2**32 - 1),
        st.integers(min_customers, max_customers),
        density=st.sampled_from([0.1, 0.35, 0.6]),
    )


def insurer_portfolio() -> Portfolio:
    """An insurer headquarters with four provincial branches, and two unrelated courts.

    As of 2022-12: HQ buys policy_mailing and standard_express; GD and ZJ buy
    policy_mailing; SH buys standard_express; BJ buys nothing; court A buys
    court_express and e_receipt, court B court_express only.
    """
    customers = [
        Customer("HQ", "保险总公司", "2021-01", segment="INSURANCE", tier="STRATEGIC"),
        *(
            Customer(
                f"INS-{p}",
                f"{p}分公司",
                "2021-01",
                segment="INSURANCE",
                tier="KEY",
                parent_id="HQ",
                province=prov,
            )
            for p, prov in (("GD", "广东"), ("ZJ", "浙江"), ("SH", "上海"), ("BJ", "北京"))
        ),
        Customer("COURT-A", "甲法院", "2021-01", segment="JUDICIAL"),
        Customer("COURT-B", "乙法院", "2021-01", segment="JUDICIAL"),
    ]
    rows = [
        ("HQ", "policy_mailing", "90000"),
        ("HQ", "standard_express", "1000"),
        ("INS-GD", "policy_mailing", "5000"),
        ("INS-ZJ", "policy_mailing", "3000"),
        ("INS-SH", "standard_express", "800"),
        ("COURT-A", "court_express", "700"),
        ("COURT-A", "e_receipt", "50"),
        ("COURT-B", "court_express", "400"),
    ]
    records = [RevenueRecord(c, p, "2022-06", amount, volume=10) for c, p, amount in rows]
    return Portfolio(customers, records)
