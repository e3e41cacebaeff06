"""The words of the report page in English and Chinese, and its number formats.

Tiers, segments, metrics, products, levels and severities take their labels from
:mod:`keyaccount.domain`; the headings of the page are here. Money is formatted from
integer fen exactly, ratios as percentages with one decimal, an absent value as a dash,
by the same functions as the command line (:mod:`keyaccount.domain.numbers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from keyaccount.domain.numbers import DASH, count, money, percent

if TYPE_CHECKING:
    from collections.abc import Mapping

    from keyaccount.domain import Lang, Segment, Tier

__all__ = ["DASH", "LABELS", "count", "label", "money", "percent", "ratio", "text"]

LABELS: Final[Mapping[Lang, Mapping[str, str]]] = {
    "en": {
        "title": "Key-account portfolio report",
        "as_of": "As of",
        "generated_from": "Source",
        "contents": "Contents",
        "headline": "Headline",
        "customers": "Customers",
        "active_customers": "Active customers (revenue in the last 12 months)",
        "group_accounts": "Group accounts (with branches)",
        "project_groups": "Project groups",
        "revenue_t12m": "Revenue, trailing 12 months",
        "revenue_prev12m": "Revenue, previous 12 months",
        "yoy": "Year-on-year growth",
        "yuan": "yuan",
        "by_tier": "By tier",
        "tier": "Tier",
        "segment": "Segment",
        "revenue_wan": "Revenue 12m (10k yuan)",
        "share": "Share",
        "total": "Total",
        "unassigned": "UNASSIGNED",
        "segments": "Segments and tiers",
        "counts_title": "Customers by segment and tier",
        "revenue_title": "Revenue, trailing 12 months, by segment and tier (10k yuan)",
        "concentration": "Revenue concentration",
        "top_title": "Top {n} customers by revenue, trailing 12 months",
        "id": "ID",
        "name": "Name",
        "project_group": "Project group",
        "transitions": "Transitions this month",
        "transitions_lead": "Policy {policy!r} as of {as_of}: {tier} tier and {segment} "
        "segment transitions, {held} demotions held.",
        "moves_title": "Transitions by rule",
        "rule": "Rule",
        "from": "From",
        "to": "To",
        "kind": "Kind",
        "change": "Change",
        "deciding": "Deciding values",
        "explanation": "Explanation",
        "list_title": "Transitions with their reasons",
        "none": "None.",
        "shown": "Showing {shown} of {total}.",
        "flows": "Tier flows over {start} to {end} (backtest of the policy)",
        "recommendations": "Cross-sell recommendations",
        "rec_lead": "The best {k} products for {n} customers, each with its evidence.",
        "rank": "Rank",
        "product": "Product",
        "score": "Score",
        "whitespace": "Whitespace",
        "neighbourhood": "Cross-sell neighbourhood of {customer}",
        "rfm": "RFM segments",
        "rfm_segment": "RFM segment",
        "rfm_lead": "Each month's revenue of a customer counted as one purchase (frequency "
        "in months), segments as keyaccount.analysis.rfm_scores names them.",
        "operations": "Targets and supervision",
        "attainment_title": "Attainment by project group, {span}",
        "attributed": "Attributed (yuan)",
        "target": "Target (yuan)",
        "variance": "Variance (yuan)",
        "attainment": "Attainment",
        "escalations_title": "Overdue supervision items as of {day}: {overdue} of {open} "
        "open items",
        "level": "Level",
        "severity": "Severity",
        "province": "Province",
        "item": "Item",
        "responsible": "Responsible",
        "due": "Due",
        "days_overdue": "Days overdue",
        "flagged": "flagged",
        "no_operations": "No operations data (targets, supervision list) in this source.",
        "empty": "The portfolio holds no customers as of {as_of}.",
        "figure_failed": "This plot could not be drawn: {reason}",
    },
    "zh": {
        "title": "大客户经营报告",
        "as_of": "统计月份",
        "generated_from": "数据来源",
        "contents": "目录",
        "headline": "概览",
        "customers": "客户数",
        "active_customers": "活跃客户（近12个月有收入）",
        "group_accounts": "集团客户（含下属机构）",
        "project_groups": "项目组",
        "revenue_t12m": "近12个月收入",
        "revenue_prev12m": "上年同期12个月收入",
        "yoy": "同比增长",
        "yuan": "元",
        "by_tier": "各层级",
        "tier": "层级",
        "segment": "行业",
        "revenue_wan": "近12个月收入（万元）",
        "share": "占比",
        "total": "合计",
        "unassigned": "未分配",
        "segments": "行业与层级",
        "counts_title": "各行业、各层级客户数",
        "revenue_title": "各行业、各层级近12个月收入（万元）",
        "concentration": "收入集中度",
        "top_title": "近12个月收入前{n}名客户",
        "id": "客户编号",
        "name": "客户名称",
        "project_group": "项目组",
        "transitions": "本月层级与行业调整",
        "transitions_lead": "规则集“{policy}”（截至{as_of}）：层级调整{tier}个，"
        "行业调整{segment}个，暂缓降级{held}个。",
        "moves_title": "按规则统计的调整",
        "rule": "规则",
        "from": "原",
        "to": "新",
        "kind": "类别",
        "change": "调整",
        "deciding": "触发规则的指标值",
        "explanation": "说明",
        "list_title": "调整明细及原因",
        "none": "无。",
        "shown": "显示{total}条中的{shown}条。",
        "flows": "{start}至{end}层级流转（规则集回测）",
        "recommendations": "交叉销售推荐",
        "rec_lead": "为{n}个客户推荐的前{k}个产品及其依据。",
        "rank": "排名",
        "product": "产品",
        "score": "得分",
        "whitespace": "产品渗透空白",
        "neighbourhood": "{customer}的交叉销售关系",
        "rfm": "RFM客户分群",
        "rfm_segment": "客户分群",
        "rfm_lead": "客户每月收入计为一次购买（频次以月计），分群名称取自"
        "keyaccount.analysis.rfm_scores。",
        "operations": "目标完成与督办",
        "attainment_title": "{span}各项目组目标完成情况",
        "attributed": "归属收入（元）",
        "target": "目标（元）",
        "variance": "差额（元）",
        "attainment": "完成率",
        "escalations_title": "截至{day}超期督办事项：{open}项未销号中{overdue}项超期",
        "level": "层级",
        "severity": "严重程度",
        "province": "省份",
        "item": "事项",
        "responsible": "责任人",
        "due": "到期日",
        "days_overdue": "超期天数",
        "flagged": "已标记",
        "no_operations": "该数据源中没有经营数据（目标、督办清单）。",
        "empty": "截至{as_of}，该组合中没有客户。",
        "figure_failed": "该图无法绘制：{reason}",
    },
}
"""Headings and sentences of the page by language and key."""

_KINDS: Final[Mapping[Lang, Mapping[str, str]]] = {
    "en": {"tier": "tier", "segment": "segment"},
    "zh": {"tier": "层级", "segment": "行业"},
}


def text(lang: Lang, key: str, **fields: object) -> str:
    """The text ``key`` in ``lang``, with ``fields`` filled in."""
    if key.startswith("kind:"):
        return _KINDS[lang][key[5:]]
    template = LABELS[lang][key]
    return template.format(**fields) if fields else template


def label(value: Tier | Segment | None, lang: Lang) -> str:
    """A tier's or segment's label in ``lang``; no segment is 未分配 (``UNASSIGNED``)."""
    return text(lang, "unassigned") if value is None else value.label(lang)


def ratio(numerator: int, denominator: int | None) -> float | None:
    """``float64(numerator) / float64(denominator)``; ``None`` unless the denominator is > 0."""
    if denominator is None or denominator <= 0:
        return None
    return float(np.float64(numerator) / np.float64(denominator))
