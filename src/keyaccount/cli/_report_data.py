"""``keyaccount demo --format json|csv``: the report's tables as rows (see ``_output``).

The sections, in order (:data:`DEMO_SECTIONS`; ``top_customers`` is the main one):
``headline``, ``segments`` (customers and revenue per segment and tier, one row per
cell), ``top_customers``, ``group_accounts``, ``project_groups``, ``transitions`` (what
the default policy would change), ``recommendations``, and with the demo's operations
``attainment``, ``payouts`` and ``supervision``. Money is ``Decimal`` yuan, ratios
floats, enums by name; names of people in a project group are joined by ``"; "``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.cli._operations_data import attainment_section, item_section, payout_sections
from keyaccount.cli._output import Section
from keyaccount.cli._render import attributed_group_figures, ratio
from keyaccount.domain import Role, Tier, fen_to_yuan

if TYPE_CHECKING:
    from keyaccount.domain import Period, ProjectGroup
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import MetricsTable, Portfolio

__all__ = ["DEMO_SECTIONS", "operations_sections", "portfolio_sections"]

DEMO_SECTIONS = (
    "top_customers",
    "headline",
    "segments",
    "group_accounts",
    "project_groups",
    "transitions",
    "recommendations",
    "attainment",
    "payouts",
    "supervision",
)
"""The sections of ``keyaccount demo --format json|csv``; the first is the main one."""

CUSTOMER_KEYS = (
    "customer_id",
    "name",
    "segment",
    "tier",
    "t12m_revenue",
    "prev12m_revenue",
    "yoy_growth",
    "active_months",
    "product_count",
    "project_group",
)
GROUP_ACCOUNT_KEYS = (
    "customer_id",
    "name",
    "segment",
    "tier",
    "branches",
    "t12m_revenue",
    "prev12m_revenue",
    "yoy_growth",
    "own_t12m_revenue",
    "own_share",
)
PROJECT_GROUP_KEYS = (
    "group_id",
    "name_en",
    "name_zh",
    "project_manager",
    "account_managers",
    "business_development",
    "operations_optimisation",
    "service_improvement",
    "customers",
    "t12m_revenue",
    "prev12m_revenue",
    "yoy_growth",
)


def _yuan(fen: int) -> object:
    return fen_to_yuan(int(fen))


def _headline(portfolio: Portfolio, table: MetricsTable) -> Section:
    t12m = int(table.columns["t12m_revenue"].sum(dtype=np.int64))
    prev = int(table.columns["prev12m_revenue"].sum(dtype=np.int64))
    row = {
        "as_of": table.as_of,
        "customers": len(table),
        "active_customers": int(np.count_nonzero(table.columns["active_months"] > 0)),
        "strategic_customers": int(np.count_nonzero(table.tier == Tier.STRATEGIC.rank)),
        "key_customers": int(np.count_nonzero(table.tier == Tier.KEY.rank)),
        "group_accounts": len(portfolio.parents()),
        "project_groups": len(portfolio.project_groups),
        "t12m_revenue": _yuan(t12m),
        "prev12m_revenue": _yuan(prev),
        "yoy_growth": ratio(t12m, prev),
    }
    return Section("headline", tuple(row), [row])


def _segments(portfolio: Portfolio, as_of: Period) -> Section:
    summary = portfolio.summary(as_of)
    rows = [
        {
            "segment": segment,
            "tier": tier,
            "customers": int(summary.counts[r, c]),
            "t12m_revenue": _yuan(int(summary.revenue_fen[r, c])),
        }
        for r, segment in enumerate(summary.segments)
        for c, tier in enumerate(summary.tiers)
    ]
    return Section("segments", ("segment", "tier", "customers", "t12m_revenue"), rows)


def _customer_rows(portfolio: Portfolio, table: MetricsTable, n: int) -> Section:
    rows = []
    for cid in table.top(n):
        values = table.row(cid)
        group = portfolio.project_group_of(cid)
        rows.append(
            {
                "customer_id": cid,
                "name": portfolio.customer(cid).name,
                "segment": table.segment_of(cid),
                "tier": table.tier_of(cid),
                **{k: values[k] for k in CUSTOMER_KEYS[4:9]},
                "project_group": None if group is None else group.id,
            }
        )
    return Section("top_customers", CUSTOMER_KEYS, rows)


def _group_accounts(
    portfolio: Portfolio, own: MetricsTable, rollups: MetricsTable, n: int
) -> Section:
    rows = []
    for cid in rollups.top(n):
        i = rollups.position(cid)
        group_fen = int(rollups.columns["t12m_revenue"][i])
        own_fen = int(own.columns["t12m_revenue"][own.position(cid)]) if cid in own else 0
        rows.append(
            {
                "customer_id": cid,
                "name": portfolio.customer(cid).name,
                "segment": rollups.segment_of(cid),
                "tier": rollups.tier_of(cid),
                "branches": len(portfolio.descendants(cid)),
                "t12m_revenue": _yuan(group_fen),
                "prev12m_revenue": rollups.value("prev12m_revenue", i),
                "yoy_growth": rollups.value("yoy_growth", i),
                "own_t12m_revenue": _yuan(own_fen),
                "own_share": own_fen / group_fen if group_fen > 0 else None,
            }
        )
    return Section("group_accounts", GROUP_ACCOUNT_KEYS, rows)


def _project_groups(
    portfolio: Portfolio, table: MetricsTable, operations: OperationsData | None
) -> Section:
    attributed = (
        None if operations is None else attributed_group_figures(portfolio, operations, table.as_of)
    )
    ids = table.customer_ids
    rows = []
    for group in portfolio.project_groups:
        if attributed is None:
            mask = np.isin(ids, np.array(sorted(group.customer_ids), dtype=object))
            n = int(mask.sum())
            t12m = int(table.columns["t12m_revenue"][mask].sum(dtype=np.int64))
            prev = int(table.columns["prev12m_revenue"][mask].sum(dtype=np.int64))
        else:
            n, t12m, prev = attributed.get(group.id, (0, 0, 0))

        def names(role: Role, group: ProjectGroup = group) -> str | None:
            return "; ".join(m.name for m in group.members if m.role is role) or None

        rows.append(
            {
                "group_id": group.id,
                "name_en": group.name_en,
                "name_zh": group.name_zh,
                "project_manager": names(Role.PROJECT_MANAGER),
                "account_managers": names(Role.ACCOUNT_MANAGER),
                "business_development": names(Role.BUSINESS_DEVELOPMENT),
                "operations_optimisation": names(Role.OPERATIONS_OPTIMISATION),
                "service_improvement": names(Role.SERVICE_IMPROVEMENT),
                "customers": n,
                "t12m_revenue": _yuan(t12m),
                "prev12m_revenue": _yuan(prev),
                "yoy_growth": ratio(t12m, prev),
            }
        )
    return Section("project_groups", PROJECT_GROUP_KEYS, rows)


def portfolio_sections(
    portfolio: Portfolio,
    as_of: Period,
    *,
    top: int,
    operations: OperationsData | None = None,
) -> list[Section]:
    """The portfolio tables of the demo report: headline to project groups."""
    table = portfolio.metrics(as_of)
    rollups = portfolio.group_rollups(as_of)
    return [
        _customer_rows(portfolio, table, top),
        _headline(portfolio, table),
        _segments(portfolio, as_of),
        _group_accounts(portfolio, table, rollups, top),
        _project_groups(portfolio, table, operations),
    ]


def operations_sections(portfolio: Portfolio, data: OperationsData) -> list[Section]:
    """The operations tables of the demo report: attainment, payouts, the open items."""
    from keyaccount.cli._render_operations import last_full_year, year_figures, year_months
    from keyaccount.domain import Period

    span = portfolio.period_span
    if span is None:
        return []
    first, last = span
    year = last_full_year(last)
    if Period(year, 12) < first:
        year = last.year
    table = data.attainment(portfolio, year_months(year, last))
    pools = payout_sections(data.payouts(portfolio, str(year)))[0]
    items = [i for i in data.supervision_items if i.is_open]
    return [
        attainment_section(year_figures(table, year, last)),
        Section("payouts", pools.keys, pools.rows),
        item_section(items, data.as_of, name="supervision"),
    ]
