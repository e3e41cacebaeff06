"""keyaccount: key-account customer portfolios for a postal express carrier.

Customers in tiers (``DORMANT < ACTIVE < KEY < STRATEGIC``) and industry
segments, the project groups that own them, monthly revenue kept in columnar
arrays of integer fen, and portfolio metrics computed in bulk.

Example:
    >>> import keyaccount as ka
    >>> pf = ka.Portfolio([ka.Customer("C1", "某中院", "2022-01", segment="司法")])
    >>> pf.add_revenue([ka.RevenueRecord("C1", "court_express", "2022-05", "880.00")])
    >>> pf.metrics("2022-12").row("C1")["active_months"]
    1
"""

from __future__ import annotations

from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    Customer,
    Member,
    Period,
    PeriodRange,
    Product,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    Role,
    Segment,
    SubSegment,
    Tier,
    default_catalog,
    default_project_groups,
    fen_to_yuan,
    yuan_to_fen,
)
from keyaccount.exceptions import KeyAccountError
from keyaccount.portfolio import (
    METRICS,
    MetricsTable,
    Portfolio,
    SegmentTierSummary,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PRODUCT_ID",
    "METRICS",
    "Customer",
    "KeyAccountError",
    "Member",
    "MetricsTable",
    "Period",
    "PeriodRange",
    "Portfolio",
    "Product",
    "ProductCatalog",
    "ProjectGroup",
    "RevenueRecord",
    "Role",
    "Segment",
    "SegmentTierSummary",
    "SubSegment",
    "Tier",
    "__version__",
    "default_catalog",
    "default_project_groups",
    "fen_to_yuan",
    "yuan_to_fen",
]
