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

import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any

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

try:
    __version__ = importlib.metadata.version("keyaccount")
except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
    __version__ = "unknown"

# Quiet by default: records reach the application's handlers, never Python's last resort.
logging.getLogger("keyaccount").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from keyaccount.store import Store

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
    "Store",
    "SubSegment",
    "Tier",
    "__version__",
    "default_catalog",
    "default_project_groups",
    "fen_to_yuan",
    "yuan_to_fen",
]


def __getattr__(name: str) -> Any:
    """Import the store on first use, so ``import keyaccount`` loads no database code."""
    if name == "Store":
        from keyaccount.store import Store

        return Store
    raise AttributeError(f"module 'keyaccount' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
