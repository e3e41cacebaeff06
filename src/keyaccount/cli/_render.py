"""Terminal rendering with rich: headline, segment x tier summary, top customers, roll-ups.

Numbers are written by :mod:`keyaccount.cli._numbers`: money exactly from integer
fen, in 万元 (10,000 yuan) in tables, with the unit in the heading; in the headline
the exact amount in yuan (in Chinese also in 亿元 or 万元). Ratios are percentages
with one decimal; an absent ratio is a dash.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from keyaccount.cli._numbers import DASH, count, money, percent
from keyaccount.domain import Role, Tier

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from keyaccount.domain import Period, ProjectGroup, Segment
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import MetricsTable, Portfolio, SegmentTierSummary

__all__ = [
    "DASH",
    "LABELS",
    "REPORT_WIDTH",
    "attributed_group_figures",
    "format_money",
    "format_ratio",
    "group_rollups_table",
    "headline",
    "make_console",
    "portfolio_report",
    "project_groups_table",
    "ratio",
    "report_table",
    "segment_label",
    "segment_tier_tables",
    "tier_label",
    "top_customers_table",
]

REPORT_WIDTH = 120
"""Columns used when the output is not a terminal (piped to a file or a pager)."""

_YI_FEN = 100_000_000 * 100
"""One 亿元 in fen: headline amounts at or above it are shown in 亿元."""

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Key-account portfolio",
        "as_of": "As of",
        "customers": "Customers",
        "active_customers": "Active customers (revenue in the last 12 months)",
        "strategic_key": "Strategic / key customers",
        "group_accounts": "Group accounts (with branches)",
        "project_groups_n": "Project groups",
        "revenue_t12m": "Revenue, trailing 12 months",
        "revenue_prev12m": "Revenue, previous 12 months",
        "yoy": "Year-on-year growth",
        "counts_title": "Customers by segment and tier",
        "revenue_title": "Revenue, trailing 12 months, by segment and tier (10k yuan)",
        "segment": "Segment",
        "tier": "Tier",
        "total": "Total",
        "share": "Share",
        "unassigned": "(unassigned)",
        "top_title": "Top {n} customers by revenue, trailing 12 months",
        "id": "ID",
        "name": "Name",
        "revenue_col": "Revenue 12m\n(10k yuan)",
        "yoy_col": "YoY",
        "active_col": "Active\nmonths",
        "products_col": "Products",
        "group_col": "Project group",
        "rollup_title": "Group accounts rolled up with their branches (top {n} of {total})",
        "descendants": "Branches",
        "group_revenue": "Group revenue\n12m (10k yuan)",
        "group_yoy": "Group\nYoY",
        "own_share": "Own\nshare",
        "pg_title": "Project groups (项目组)",
        "pg_title_attributed": "Project groups (项目组), revenue attributed by month of ownership",
        "pg_name": "Project group",
        "pm": "Project\nmanager",
        "am": "Account\nmanagers",
        "support": "Support managers\n(business / ops / service)",
        "pg_customers": "Customers",
        "none": "no customers yet",
        "no_rollups": "No group accounts: no customer has a parent account.",
        "no_groups": "No project groups in this portfolio.",
        "empty": "The portfolio holds no customers as of {as_of}.",
        "sep": ", ",
    },
    "zh": {
        "title": "大客户经营概览",
        "as_of": "统计月份",
        "customers": "客户数",
        "active_customers": "活跃客户（近12个月有收入）",
        "strategic_key": "战略客户 / 重点客户",
        "group_accounts": "集团客户（含下属机构）",
        "project_groups_n": "项目组",
        "revenue_t12m": "近12个月收入",
        "revenue_prev12m": "上年同期12个月收入",
        "yoy": "同比增长",
        "counts_title": "各行业、各层级客户数",
        "revenue_title": "各行业、各层级近12个月收入（万元）",
        "segment": "行业",
        "tier": "层级",
        "total": "合计",
        "share": "占比",
        "unassigned": "（未分配行业）",
        "top_title": "近12个月收入前{n}名客户",
        "id": "客户编号",
        "name": "客户名称",
        "revenue_col": "近12个月收入\n（万元）",
        "yoy_col": "同比",
        "active_col": "活跃月数",
        "products_col": "产品数",
        "group_col": "项目组",
        "rollup_title": "集团客户汇总（含下属机构，{total}家中前{n}家）",
        "descendants": "下属机构",
        "group_revenue": "集团近12个月\n收入（万元）",
        "group_yoy": "集团同比",
        "own_share": "本级占比",
        "pg_title": "项目组",
        "pg_title_attributed": "项目组（收入按各月归属项目组计）",
        "pg_name": "项目组",
        "pm": "项目经理",
        "am": "客户经理",
        "support": "支撑经理\n（商务拓展/运营优化/服务提升）",
        "pg_customers": "客户数",
        "none": "暂无客户",
        "no_rollups": "没有集团客户：没有客户设置上级机构。",
        "no_groups": "该组合中没有项目组。",
        "empty": "截至{as_of}，该组合中没有客户。",
        "sep": "、",
    },
}
"""Display texts by language (``"en"``, ``"zh"``) and key."""


def _t(lang: str, key: str, **fields: object) -> str:
    text = LABELS[lang][key]
    return text.format(**fields) if fields else text


def format_money(fen: int, unit: str = "wan") -> str:
    """Format fen exactly in ``unit`` (``"yuan"``, ``"wan"`` 万元 or ``"yi"`` 亿元), two decimals.

    Example:
        >>> format_money(123_456_789)
        '123.46'
    """
    return money(int(fen), unit)


def ratio(t12m_fen: int, prev12m_fen: int) -> float | None:
    """Year-on-year growth ``float64(t12m) / float64(prev12m) - 1``; ``None`` if prev12m <= 0."""
    if prev12m_fen <= 0:
        return None
    return float(np.float64(t12m_fen) / np.float64(prev12m_fen) - 1.0)


def format_ratio(value: float | None, *, signed: bool = True) -> str:
    """A ratio as a percentage with one decimal (``+12.3%``); absent gives :data:`DASH`.

    Example:
        >>> format_ratio(0.1234), format_ratio(None)
        ('+12.3%', '–')
    """
    return percent(value, signed=signed)


def tier_label(tier: Tier, lang: str) -> str:
    """The tier's display label: its name in English, its Chinese label in Chinese."""
    return tier.label(lang)


def segment_label(segment: Segment | None, lang: str) -> str:
    """The segment's display label; an unassigned segment is shown as such."""
    return _t(lang, "unassigned") if segment is None else segment.label(lang)


def _headline_money(fen: int, lang: str) -> str:
    """In Chinese ``4.65亿元（465,314,882.66元）``; in English the exact yuan."""
    exact = money(fen)
    if lang != "zh":
        return f"{exact} yuan"
    unit, suffix = ("yi", "亿元") if abs(fen) >= _YI_FEN else ("wan", "万元")
    return f"{money(fen, unit)}{suffix}（{exact}元）"


def _style_ratio(value: float | None) -> Text:
    text = format_ratio(value)
    if value is None or not np.isfinite(value):
        return Text(text, style="dim")
    return Text(text, style="green" if value > 0 else "red" if value < 0 else "")


def make_console(*, width: int = REPORT_WIDTH) -> Console:
    """A console for reports: the terminal's width, or ``width`` columns when output is piped.

    Piped output (not a terminal, not Jupyter) would otherwise be 80 columns
    wide, too narrow for the customer tables; ``COLUMNS`` in the environment
    still wins. Colour follows rich's rules (none when piped or ``NO_COLOR``).
    """
    console = Console()
    if not console.is_terminal and not console.is_jupyter and "COLUMNS" not in os.environ:
        console.width = width
    return console


def headline(portfolio: Portfolio, table: MetricsTable, lang: str) -> RenderableType:
    """The headline: customers, trailing-12 revenue, growth of the whole portfolio, as-of month.

    Args:
        portfolio: The portfolio.
        table: Its metrics as of the report's month (not rolled up).
        lang: ``"en"`` or ``"zh"``.
    """
    t12m = int(table.columns["t12m_revenue"].sum(dtype=np.int64))
    prev = int(table.columns["prev12m_revenue"].sum(dtype=np.int64))
    active = int(np.count_nonzero(table.columns["active_months"] > 0))
    tiers = table.tier
    strategic = int(np.count_nonzero(tiers == Tier.STRATEGIC.rank))
    key = int(np.count_nonzero(tiers == Tier.KEY.rank))
    grid = Table.grid(padding=(0, 3))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, str | Text]] = [
        (_t(lang, "as_of"), str(table.as_of)),
        (_t(lang, "customers"), count(len(table))),
        (_t(lang, "active_customers"), count(active)),
        (_t(lang, "strategic_key"), f"{count(strategic)} / {count(key)}"),
        (_t(lang, "group_accounts"), count(len(portfolio.parents()))),
        (_t(lang, "project_groups_n"), count(len(portfolio.project_groups))),
        (_t(lang, "revenue_t12m"), _headline_money(t12m, lang)),
        (_t(lang, "revenue_prev12m"), _headline_money(prev, lang)),
        (_t(lang, "yoy"), _style_ratio(ratio(t12m, prev))),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    title = Text(f"{_t(lang, 'title')} · {table.as_of}", style="bold")
    return Group(title, Padding(grid, (1, 0, 0, 2), expand=False))


def _clip(text: str, cells: int) -> Text:
    """``text`` cut to ``cells`` terminal cells with an ellipsis (a CJK character is two cells).

    Cells are clipped here rather than by a column's ``max_width`` so that the
    column can still shrink further, by wrapping, in a narrow terminal, while
    numbers keep their full width.
    """
    clipped = Text(text)
    clipped.truncate(cells, overflow="ellipsis")
    return clipped


def report_table(title: str, *, footer: bool = False) -> Table:
    """An empty table in the reports' style: a bold title on the left, a simple box."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE,
        show_edge=False,
        collapse_padding=True,
        show_footer=footer,
        footer_style="bold",
        pad_edge=False,
    )


def segment_tier_tables(summary: SegmentTierSummary, lang: str) -> list[Table]:
    """Two tables: customer counts and trailing-12 revenue by segment (rows) and tier (columns).

    Each has a row for customers without a segment and a total row and
    column; the revenue table also has each segment's share of the total.
    """
    total_fen = summary.total_revenue_fen
    col_counts = summary.counts.sum(axis=0)
    col_fen = summary.revenue_fen.sum(axis=0, dtype=np.int64)
    counts = report_table(_t(lang, "counts_title"), footer=True)
    revenue = report_table(_t(lang, "revenue_title"), footer=True)
    counts.add_column(_t(lang, "segment"), footer=_t(lang, "total"), no_wrap=True)
    revenue.add_column(_t(lang, "segment"), footer=_t(lang, "total"), no_wrap=True)
    for c, tier in enumerate(summary.tiers):
        label = tier_label(tier, lang)
        counts.add_column(label, footer=count(int(col_counts[c])), justify="right", no_wrap=True)
        revenue.add_column(
            label, footer=format_money(int(col_fen[c])), justify="right", no_wrap=True
        )
    counts.add_column(
        _t(lang, "total"),
        footer=count(summary.total_customers),
        justify="right",
        style="bold",
        no_wrap=True,
    )
    revenue.add_column(
        _t(lang, "total"),
        footer=format_money(total_fen),
        justify="right",
        style="bold",
        no_wrap=True,
    )
    revenue.add_column(
        _t(lang, "share"),
        footer=format_ratio(1.0 if total_fen > 0 else None, signed=False),
        justify="right",
        no_wrap=True,
    )
    for r, segment in enumerate(summary.segments):
        n_row = summary.counts[r]
        fen_row = summary.revenue_fen[r]
        label = segment_label(segment, lang)
        counts.add_row(label, *(count(int(v)) for v in n_row), count(int(n_row.sum())))
        row_fen = int(fen_row.sum(dtype=np.int64))
        revenue.add_row(
            label,
            *(format_money(int(v)) for v in fen_row),
            format_money(row_fen),
            format_ratio(row_fen / total_fen if total_fen > 0 else None, signed=False),
        )
    return [counts, revenue]


def _group_name(group: ProjectGroup | None, lang: str) -> str:
    if group is None:
        return DASH
    return group.name(lang).removesuffix("项目组") if lang == "zh" else group.name(lang)


def _customer_columns(out: Table, lang: str) -> None:
    """The columns that name a customer: id, name, segment, tier."""
    out.add_column(_t(lang, "id"), no_wrap=True)
    for key in ("name", "segment", "tier"):
        out.add_column(_t(lang, key), overflow="ellipsis")


def _customer_cells(
    portfolio: Portfolio, table: MetricsTable, cid: str, name_cells: int, lang: str
) -> tuple[str | Text, ...]:
    """A customer's cells under :func:`_customer_columns`, its name cut to ``name_cells``."""
    return (
        cid,
        _clip(portfolio.customer(cid).name, name_cells),
        segment_label(table.segment_of(cid), lang),
        tier_label(table.tier_of(cid), lang),
    )


def _number_columns(out: Table, lang: str, *keys: str) -> None:
    """Right-aligned columns that never wrap, one per label key."""
    for key in keys:
        out.add_column(_t(lang, key), justify="right", no_wrap=True)


def top_customers_table(
    portfolio: Portfolio, table: MetricsTable, n: int, lang: str
) -> RenderableType:
    """The ``n`` customers with the largest trailing-12 revenue, with their main metrics."""
    out = report_table(_t(lang, "top_title", n=min(n, len(table))))
    _customer_columns(out, lang)
    _number_columns(out, lang, "revenue_col", "yoy_col", "active_col", "products_col")
    out.add_column(_t(lang, "group_col"), overflow="ellipsis")
    for cid in table.top(n):
        i = table.position(cid)
        yoy = table.value("yoy_growth", i)
        out.add_row(
            *_customer_cells(portfolio, table, cid, 18, lang),
            format_money(int(table.columns["t12m_revenue"][i])),
            _style_ratio(None if yoy is None else float(yoy)),
            f"{int(table.columns['active_months'][i])}/12",
            count(int(table.columns["product_count"][i])),
            _clip(_group_name(portfolio.project_group_of(cid), lang), 20),
        )
    return out


def group_rollups_table(
    portfolio: Portfolio, own: MetricsTable, rollups: MetricsTable, n: int, lang: str
) -> RenderableType:
    """Parent accounts with their number of descendants and rolled-up revenue and growth.

    Args:
        portfolio: The portfolio.
        own: Metrics of every customer on its own (for the parent's own share).
        rollups: Roll-up metrics of the parent accounts
            (:meth:`~keyaccount.Portfolio.group_rollups`).
        n: How many groups to show, largest rolled-up revenue first.
        lang: ``"en"`` or ``"zh"``.
    """
    if len(rollups) == 0:
        return Text(_t(lang, "no_rollups"), style="dim")
    shown = rollups.top(n)
    out = report_table(_t(lang, "rollup_title", n=len(shown), total=len(rollups)))
    _customer_columns(out, lang)
    _number_columns(out, lang, "descendants", "group_revenue", "group_yoy", "own_share")
    for cid in shown:
        i = rollups.position(cid)
        group_fen = int(rollups.columns["t12m_revenue"][i])
        own_fen = int(own.columns["t12m_revenue"][own.position(cid)]) if cid in own else 0
        yoy = rollups.value("yoy_growth", i)
        out.add_row(
            *_customer_cells(portfolio, rollups, cid, 20, lang),
            count(len(portfolio.descendants(cid))),
            format_money(group_fen),
            _style_ratio(None if yoy is None else float(yoy)),
            format_ratio(own_fen / group_fen if group_fen > 0 else None, signed=False),
        )
    return out


def _names(names: Iterable[str], lang: str) -> str:
    listed = list(names)
    return _t(lang, "sep").join(listed) if listed else DASH


_SUPPORT_ROLES = (
    Role.BUSINESS_DEVELOPMENT,
    Role.OPERATIONS_OPTIMISATION,
    Role.SERVICE_IMPROVEMENT,
)


def _members(group: ProjectGroup, role: Role, lang: str) -> str:
    return _names((m.name for m in group.members if m.role is role), lang)


def project_groups_table(
    portfolio: Portfolio,
    table: MetricsTable,
    lang: str,
    *,
    operations: OperationsData | None = None,
) -> RenderableType:
    """Project groups: members by role, customers owned, trailing-12 revenue and growth.

    Members are listed by name under their role: the project manager, the
    account managers, and the three kinds of support manager (business
    development / operations optimisation / service improvement, separated
    by ``/``).

    Without ``operations``, a group's figures are those of the customers it
    holds now. With ``operations``, revenue is attributed month by month to the
    group that owned the customer in that month (its ownership history, as
    attainment attributes it), so a customer that moved counts for each group
    for its months; the customer count is the customers the group owns in the
    as-of month (:func:`attributed_group_figures`).
    """
    groups: Sequence[ProjectGroup] = portfolio.project_groups
    if not groups:
        return Text(_t(lang, "no_groups"), style="dim")
    attributed = (
        None if operations is None else attributed_group_figures(portfolio, operations, table.as_of)
    )
    out = report_table(_t(lang, "pg_title" if attributed is None else "pg_title_attributed"))
    for key, cells in (("pg_name", 22), ("pm", 12), ("am", 26), ("support", 30)):
        out.add_column(_t(lang, key), max_width=cells)
    _number_columns(out, lang, "pg_customers", "revenue_col", "yoy_col")
    ids = table.customer_ids
    t12m_col = table.columns["t12m_revenue"]
    prev_col = table.columns["prev12m_revenue"]
    for group in groups:
        if attributed is None:
            mask = np.isin(ids, np.array(sorted(group.customer_ids), dtype=object))
            owned = int(mask.sum())
            t12m = int(t12m_col[mask].sum(dtype=np.int64))
            prev = int(prev_col[mask].sum(dtype=np.int64))
        else:
            owned, t12m, prev = attributed.get(group.id, (0, 0, 0))
        out.add_row(
            group.name(lang),
            _members(group, Role.PROJECT_MANAGER, lang),
            _members(group, Role.ACCOUNT_MANAGER, lang),
            " / ".join(_members(group, role, lang) for role in _SUPPORT_ROLES),
            count(owned),
            format_money(t12m),
            _style_ratio(ratio(t12m, prev)),
        )
    return out


def attributed_group_figures(
    portfolio: Portfolio, operations: OperationsData, as_of: Period
) -> dict[str, tuple[int, int, int]]:
    """Per project group of the ownership: customers owned in ``as_of``, attributed fen.

    Returns:
        Group id -> (customers of the portfolio the group owns in ``as_of``,
        revenue attributed to it in months ``as_of - 11 .. as_of``, in months
        ``as_of - 23 .. as_of - 12``), money in integer fen. The revenue is the
        month rows of :meth:`OperationsData.attainment` over those 24 months.
    """
    from keyaccount.domain import PeriodRange
    from keyaccount.operations import SpanKind

    ownership = operations.ownership
    n_groups = len(ownership.group_ids)
    codes = ownership.owner_codes(portfolio.customer_columns.id, as_of)
    owned = np.bincount(codes[codes >= 0], minlength=n_groups)
    months = operations.attainment(portfolio, PeriodRange(as_of - 23, as_of))
    rows = months.kind == SpanKind.MONTH.months
    fen = months.columns["attributed_fen"][rows]
    group = months.group[rows]
    recent = months.start[rows] > (as_of - 12).ordinal
    t12m = np.zeros(n_groups, dtype=np.int64)
    prev = np.zeros(n_groups, dtype=np.int64)
    np.add.at(t12m, group[recent], fen[recent])
    np.add.at(prev, group[~recent], fen[~recent])
    return {
        g: (int(owned[i]), int(t12m[i]), int(prev[i])) for i, g in enumerate(ownership.group_ids)
    }


def portfolio_report(
    portfolio: Portfolio,
    as_of: Period,
    *,
    top: int = 10,
    lang: str = "en",
    operations: OperationsData | None = None,
) -> list[RenderableType]:
    """Everything ``keyaccount demo`` prints, in order, for a portfolio as of ``as_of``.

    The headline; customers and revenue by segment and tier; the top ``top``
    customers; the top ``top`` group accounts rolled up with their branches;
    the project groups.

    Args:
        portfolio: The portfolio to report on.
        as_of: The as-of month (inclusive).
        top: How many customers and group accounts to list.
        lang: ``"en"`` (identifiers) or ``"zh"`` (Chinese labels).
        operations: When given, the project groups' revenue is attributed by
            ownership month by month (:func:`project_groups_table`).
    """
    table = portfolio.metrics(as_of)
    if len(table) == 0:
        return [Text(_t(lang, "empty", as_of=as_of))]
    rollups = portfolio.group_rollups(as_of)
    return [
        headline(portfolio, table, lang),
        *segment_tier_tables(portfolio.summary(as_of), lang),
        top_customers_table(portfolio, table, top, lang),
        group_rollups_table(portfolio, table, rollups, top, lang),
        project_groups_table(portfolio, table, lang, operations=operations),
    ]
