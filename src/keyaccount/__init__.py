"""keyaccount: key-account customer portfolios for a postal express carrier.

Customers in tiers (``DORMANT < ACTIVE < KEY < STRATEGIC``) and industry
segments, the project groups that own them, monthly revenue kept in columnar
arrays of integer fen, and portfolio metrics computed in bulk.

The names below are imported on first use (PEP 562), so ``import keyaccount``
costs almost nothing and ``keyaccount.Portfolio`` loads only what the portfolio
needs; ``keyaccount.Store`` loads the database code.

Example:
    >>> import keyaccount as ka
    >>> pf = ka.Portfolio([ka.Customer("C1", "某中院", "2022-01", segment="司法")])
    >>> pf.add_revenue([ka.RevenueRecord("C1", "court_express", "2022-05", "880.00")])
    >>> pf.metrics("2022-12").row("C1")["active_months"]
    1
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from keyaccount.store import Store

    __version__: str

# Quiet by default: records reach the application's handlers, never Python's last resort.
logging.getLogger("keyaccount").addHandler(logging.NullHandler())

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

_EXPORTS: dict[str, str] = {
    "DEFAULT_PRODUCT_ID": "keyaccount.domain",
    "Customer": "keyaccount.domain",
    "Member": "keyaccount.domain",
    "Period": "keyaccount.domain",
    "PeriodRange": "keyaccount.domain",
    "Product": "keyaccount.domain",
    "ProductCatalog": "keyaccount.domain",
    "ProjectGroup": "keyaccount.domain",
    "RevenueRecord": "keyaccount.domain",
    "Role": "keyaccount.domain",
    "Segment": "keyaccount.domain",
    "SubSegment": "keyaccount.domain",
    "Tier": "keyaccount.domain",
    "default_catalog": "keyaccount.domain",
    "default_project_groups": "keyaccount.domain",
    "fen_to_yuan": "keyaccount.domain",
    "yuan_to_fen": "keyaccount.domain",
    "KeyAccountError": "keyaccount.exceptions",
    "METRICS": "keyaccount.portfolio",
    "MetricsTable": "keyaccount.portfolio",
    "Portfolio": "keyaccount.portfolio",
    "SegmentTierSummary": "keyaccount.portfolio",
    "Store": "keyaccount.store",
}
"""Each public name and the public module it comes from, imported on first use."""


def _version() -> str:
    """The installed distribution's version (read once, on first use: it costs ~40 ms)."""
    from keyaccount.utils import installed_version

    return installed_version()


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use and keep it (PEP 562)."""
    if name == "__version__":
        value: Any = _version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'keyaccount' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
