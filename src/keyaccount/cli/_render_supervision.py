"""Terminal rendering of the supervision list (督办清单) and the project lifecycles.

Titles of supervision items written ``"English (中文)"`` show the half of the display
language; the title of an item opened by a KPI breach is written from the breach (KPI,
rate, minimum, customer, month) in the display language, the rate with two decimals (a
rate of 94.96% breaks a 95% minimum). Overdue due days are marked; an absent value is a
dash.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs
import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from keyaccount.cli._render import DASH, report_table
from keyaccount.domain import Department, Level, Period, Severity
from keyaccount.operations import (
    SubjectKind,
    default_kpi_registry,
    detect_kpi_breaches,
    rate_percent,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Mapping, Sequence

    from keyaccount.operations import (
        KpiBreach,
        KpiObservations,
        MeetingReport,
        OperationsData,
        ProjectLifecycle,
        SupervisionItem,
        SweepResult,
    )
    from keyaccount.portfolio import Portfolio

__all__ = [
    "SUPERVISION_LABELS",
    "ItemTitles",
    "group_name",
    "lifecycle_table",
    "meeting_report_table",
    "open_items_summary",
    "open_list_section",
    "orders_line",
    "supervision_table",
    "supervision_title",
    "sweep_table",
]

SUPERVISION_LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "group": "Project group",
        "total": "Total",
        "sv_title": "Open supervision list (督办清单) as of {day}: {n} items, {overdue} overdue",
        "sv_title_overdue": "Overdue supervision items as of {day}: {n}",
        "id": "ID",
        "level": "Level",
        "severity": "Severity",
        "province": "Province",
        "department": "Department",
        "title": "Item",
        "owner": "First\ncontact",
        "due": "Due",
        "overdue": "overdue",
        "nobody": "(not received)",
        "none_open": "No open items on the supervision list as of {day}.",
        "more": "... and {n} more: keyaccount escalations --demo lists them all.",
        "orders": "Dispatch orders (指挥调度令): {dispatch}. "
        "Supervision orders (工作督办单): {orders}.",
        "dispatch": "{id} on {day} to {n} provinces",
        "order_count": "{n} ({provinces}), the latest {id} on {day}",
        "by_title": "Open items by {by}",
        "open": "Open",
        "overdue_col": "Overdue",
        "severe": "Severe",
        "no_province": "(no province)",
        "sweep_title": "Sweep of {day}: {esc} escalated, {flag} flagged at headquarters",
        "from": "From",
        "to": "To",
        "new_due": "New due",
        "flagged": "flagged",
        "lc_title": "Project lifecycles (PM管理法)",
        "stage": "Stage",
        "since": "Since",
        "loops": "Loops",
        "next": "Next",
        "moves": "Moves",
        "kpi_below": "{kpi} {rate} < {bound}: {name} ({period})",
        "subject_title": "{title}: {name}",
        "week_title": "Weekly meeting report (两会一单), {start} to {end}, by {by}",
        "month_title": "Monthly meeting report (两会一单), {month}, by {by}",
        "opened": "Opened",
        "closed": "Closed",
        "escalated": "Escalated",
    },
    "zh": {
        "group": "项目组",
        "total": "合计",
        "sv_title": "督办清单（截至{day}）：在办{n}项，逾期{overdue}项",
        "sv_title_overdue": "逾期督办事项（截至{day}）：{n}项",
        "id": "编号",
        "level": "层级",
        "severity": "严重程度",
        "province": "省份",
        "department": "责任部门",
        "title": "督办事项",
        "owner": "首问责任人",
        "due": "计划完成",
        "overdue": "逾期",
        "nobody": "（未签收）",
        "none_open": "截至{day}，督办清单中没有在办事项。",
        "more": "……另有{n}项：keyaccount escalations --demo 可列出全部。",
        "orders": "指挥调度令：{dispatch}。工作督办单：{orders}。",
        "dispatch": "{id}（{day}，{n}个省）",
        "order_count": "{n}份（{provinces}），最近一份{id}（{day}）",
        "by_title": "在办事项（按{by}）",
        "open": "在办",
        "overdue_col": "逾期",
        "severe": "严重",
        "no_province": "（无省份）",
        "sweep_title": "{day}升级处理：升级{esc}项，总部标记{flag}项",
        "from": "原层级",
        "to": "新层级",
        "new_due": "新计划完成",
        "flagged": "已标记",
        "lc_title": "项目生命周期（PM管理法）",
        "stage": "阶段",
        "since": "进入日期",
        "loops": "闭环次数",
        "next": "下一阶段",
        "moves": "阶段变更",
        "kpi_below": "{kpi}{rate}，低于{bound}：{name}（{period}）",
        "subject_title": "{title}：{name}",
        "week_title": "周例会督办通报（{start}至{end}，按{by}）",
        "month_title": "月度分析会督办通报（{month}，按{by}）",
        "opened": "新增",
        "closed": "销号",
        "escalated": "升级",
    },
}
"""Display texts of the supervision and lifecycle tables by language and key."""

_BY_LABEL = {
    "en": {"level": "level", "province": "province", "department": "department"},
    "zh": {"level": "层级", "province": "省份", "department": "责任部门"},
}
_BILINGUAL = re.compile(r"^(?P<en>.*?)\s*\((?P<zh>[^()]*[\u3400-\u9fff][^()]*)\)\s*$")


def _t(lang: str, key: str, **fields: object) -> str:
    text = SUPERVISION_LABELS[lang][key]
    return text.format(**fields) if fields else text


def group_name(portfolio: Portfolio, group_id: str, lang: str) -> str:
    """The group's name in ``lang`` (its id when the portfolio does not list it)."""
    for group in portfolio.project_groups:
        if group.id == group_id:
            return group.name(lang)
    return group_id


@attrs.frozen
class ItemTitles:
    """Display titles of supervision items, in a language (see the module docstring)."""

    portfolio: Portfolio
    breaches: Mapping[str, KpiBreach]
    lang: str

    @classmethod
    def build(
        cls,
        portfolio: Portfolio,
        observations: KpiObservations,
        data: OperationsData,
        items: Iterable[SupervisionItem],
        lang: str,
    ) -> ItemTitles:
        """Titles for ``items``: the KPI breaches behind them are found once, in bulk."""
        months = {k.rsplit(":", 1)[1] for i in items if (k := i.source_key) and ":" in k}
        ordinals = [Period.parse(m).ordinal for m in months if _is_month(m)]
        found: dict[str, KpiBreach] = {}
        if ordinals:
            subset = observations.take(np.isin(observations.period, ordinals))
            subjects = data.subject_attributes(portfolio)
            known = [subjects.contains(SubjectKind.CUSTOMER, str(s)) for s in subset.subject_id]
            subset = subset.take(np.array(known, dtype=bool))
            for b in detect_kpi_breaches(subset, data.kpi_thresholds, subjects):
                found[b.source_key] = b
        return cls(portfolio, found, lang)

    def _name(self, kind: SubjectKind, subject_id: str) -> str:
        if kind is SubjectKind.GROUP:
            return group_name(self.portfolio, subject_id, self.lang)
        if subject_id in self.portfolio:
            return self.portfolio.customer(subject_id).name
        return subject_id

    def __call__(self, item: SupervisionItem) -> str:
        """The title of ``item`` in the language."""
        breach = self.breaches.get(item.source_key or "")
        if breach is not None:
            kpi = default_kpi_registry().get(breach.kpi_id)
            return _t(
                self.lang,
                "kpi_below",
                kpi=breach.kpi_id if kpi is None else kpi.name(self.lang),
                rate=rate_percent(breach.rate, breach.threshold.bound),
                bound=rate_percent(breach.threshold.bound),
                name=self._name(breach.subject_kind, breach.subject_id),
                period=breach.period,
            )
        title = item.title
        match = _BILINGUAL.match(title)
        if match is not None:
            title = match.group("zh" if self.lang == "zh" else "en")
        name = self._name(item.subject_kind, item.subject_id)
        return _t(self.lang, "subject_title", title=title, name=name)


def _is_month(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}", text))


def _item_order(item: SupervisionItem) -> tuple[int, int, object, str]:
    return (-item.level.rank, -item.severity.rank, item.due_on, item.id)


def _due(item: SupervisionItem, day: dt.date, lang: str) -> Text:
    text = Text(item.due_on.isoformat())
    if item.is_overdue(day):
        text.append(f" {_t(lang, 'overdue')}", style="bold red")
        text.stylize("red", 0, 10)
    return text


def supervision_table(
    items: Sequence[SupervisionItem],
    titles: ItemTitles,
    day: dt.date,
    lang: str,
    *,
    title: str,
    limit: int | None = None,
    owner: bool = True,
) -> RenderableType:
    """Open items, headquarters first, then severe ones, then by due day.

    Args:
        items: The items to list.
        titles: Their display titles.
        day: The day overdue items are marked on.
        lang: ``"en"`` or ``"zh"``.
        title: The table's title.
        limit: List at most this many, with a line saying how many more there are.
        owner: Show the first contact (owner) column.
    """
    ordered = sorted(items, key=_item_order)
    shown = ordered if limit is None else ordered[:limit]
    out = report_table(title)
    out.add_column(_t(lang, "id"), no_wrap=True)
    out.add_column(_t(lang, "level"), no_wrap=True)
    out.add_column(_t(lang, "severity"))
    out.add_column(_t(lang, "province"))
    out.add_column(_t(lang, "department"))
    out.add_column(_t(lang, "title"), ratio=1, overflow="fold")
    if owner:
        out.add_column(_t(lang, "owner"), no_wrap=True)
    out.add_column(_t(lang, "due"), no_wrap=True)
    for item in shown:
        severe = item.severity is Severity.SEVERE
        cells: list[RenderableType] = [
            item.id,
            Text(item.level.label(lang), style="bold" if item.level is Level.HEADQUARTERS else ""),
            Text(item.severity.label(lang) if severe else "", style="bold red"),
            item.province or DASH,
            item.department.label(lang),
            titles(item),
        ]
        if owner:
            cells.append(item.owner or Text(_t(lang, "nobody"), style="dim"))
        cells.append(_due(item, day, lang))
        out.add_row(*cells)
    if limit is not None and len(ordered) > limit:
        return Group(out, Text(_t(lang, "more", n=len(ordered) - limit), style="dim"))
    return out


def open_items_summary(
    items: Sequence[SupervisionItem], by: str, day: dt.date, lang: str
) -> RenderableType:
    """Open items counted by ``level``, ``province`` or ``department``, with a total row.

    Columns: open, overdue (due before ``day``), severe. Every level and department has a
    row; provinces only those with open items, most first.
    """
    counts: dict[str, list[int]] = {}

    def key(item: SupervisionItem) -> str:
        if by == "level":
            return item.level.name
        if by == "department":
            return item.department.name
        return item.province or ""

    for item in items:
        row = counts.setdefault(key(item), [0, 0, 0])
        row[0] += 1
        row[1] += item.is_overdue(day)
        row[2] += item.severity is Severity.SEVERE
    if by == "level":
        keys = [lv.name for lv in reversed(Level)]
    elif by == "department":
        keys = [d.name for d in Department]
    else:
        keys = sorted(counts, key=lambda k: (-counts[k][0], k == "", k))
    title = _t(lang, "by_title", by=_BY_LABEL[lang][by])
    out = report_table(title, footer=True)
    totals = [sum(r[i] for r in counts.values()) for i in range(3)]
    out.add_column(_BY_LABEL[lang][by].capitalize(), footer=_t(lang, "total"), no_wrap=True)
    for label, total in zip(("open", "overdue_col", "severe"), totals, strict=True):
        out.add_column(_t(lang, label), footer=f"{total:,}", justify="right", no_wrap=True)
    for k in keys:
        row = counts.get(k, [0, 0, 0])
        out.add_row(_key_label(by, k, lang), *(f"{v:,}" for v in row))
    return out


def meeting_report_table(report: MeetingReport, kind: str, lang: str) -> RenderableType:
    """A meeting report (两会一单): opened, closed, overdue and escalated by its dimension.

    ``kind`` is ``"week"`` (the weekly meeting: the report's Monday to Sunday) or
    ``"month"`` (the monthly analysis meeting); the rows are the report's, in its
    order, with a total row of :attr:`MeetingReport.total`.
    """
    by = _BY_LABEL[lang][report.by]
    if kind == "week":
        title = _t(
            lang, "week_title", start=report.start.isoformat(), end=report.end.isoformat(), by=by
        )
    else:
        month = Period(report.start.year, report.start.month)
        title = _t(lang, "month_title", month=str(month), by=by)
    out = report_table(title, footer=True)
    out.add_column(by.capitalize(), footer=_t(lang, "total"), no_wrap=True)
    measures = ("opened", "closed", "overdue", "escalated")
    for name in measures:
        label = _t(lang, "overdue_col" if name == "overdue" else name)
        total = getattr(report.total, name)
        out.add_column(label, footer=f"{total:,}", justify="right", no_wrap=True)
    for row in report.rows:
        out.add_row(
            _key_label(report.by, row.key, lang), *(f"{getattr(row, n):,}" for n in measures)
        )
    return out


def _key_label(by: str, key: str, lang: str) -> str:
    if by == "level":
        return Level[key].label(lang)
    if by == "department":
        return Department[key].label(lang)
    return key or _t(lang, "no_province")


def sweep_table(
    result: SweepResult,
    before: Mapping[str, SupervisionItem],
    after: Mapping[str, SupervisionItem],
    titles: ItemTitles,
    lang: str,
) -> RenderableType:
    """What a sweep did: each item escalated (from, to, new due day) or flagged."""
    out = report_table(
        _t(
            lang,
            "sweep_title",
            day=result.day.isoformat(),
            esc=len(result.escalated),
            flag=len(result.flagged),
        )
    )
    out.add_column(_t(lang, "id"), no_wrap=True)
    out.add_column(_t(lang, "province"), no_wrap=True)
    out.add_column(_t(lang, "from"), no_wrap=True)
    out.add_column(_t(lang, "to"), no_wrap=True)
    out.add_column(_t(lang, "new_due"), no_wrap=True)
    out.add_column(_t(lang, "title"), ratio=1, overflow="fold")
    for item_id in (*result.escalated, *result.flagged):
        old, new = before[item_id], after[item_id]
        flagged = item_id in result.flagged
        out.add_row(
            item_id,
            new.province or DASH,
            old.level.label(lang),
            _t(lang, "flagged") if flagged else new.level.label(lang),
            new.due_on.isoformat(),
            titles(new),
        )
    return out


# ---------------------------------------------------------------- lifecycles


def lifecycle_table(
    portfolio: Portfolio, lifecycles: Sequence[ProjectLifecycle], lang: str
) -> RenderableType:
    """Each group's stage, since when, how many loops it closed and where it may go next."""
    out = report_table(_t(lang, "lc_title"))
    for key in ("group", "stage", "since", "loops", "next", "moves"):
        out.add_column(
            _t(lang, key), justify="right" if key in ("loops", "moves") else "left", no_wrap=True
        )
    for lc in lifecycles:
        since = lc.moves[-1].when.isoformat() if lc.moves else DASH
        out.add_row(
            group_name(portfolio, lc.project_id, lang),
            lc.stage.label(lang),
            since,
            str(lc.loops),
            ("、" if lang == "zh" else ", ").join(s.label(lang) for s in lc.allowed),
            str(len(lc.moves)),
        )
    return out


def orders_line(data: OperationsData, lang: str) -> str:
    """One line on the orders headquarters issued: dispatch orders, supervision orders."""
    sep = "、" if lang == "zh" else ", "
    dispatch = sep.join(
        _t(lang, "dispatch", id=d.id, day=d.issued_on.isoformat(), n=len(d.provinces))
        for d in data.dispatch_orders
    )
    orders = data.supervision_orders
    summary = DASH
    if orders:
        counts: dict[str, int] = {}
        for o in orders:
            counts[o.province] = counts.get(o.province, 0) + 1
        provinces = sep.join(f"{p} ×{n}" for p, n in sorted(counts.items(), key=lambda x: -x[1]))
        latest = orders[-1]
        summary = _t(
            lang,
            "order_count",
            n=len(orders),
            provinces=provinces,
            id=latest.id,
            day=latest.issued_on.isoformat(),
        )
    return _t(lang, "orders", dispatch=dispatch or DASH, orders=summary)


def open_list_section(
    portfolio: Portfolio, data: OperationsData, lang: str, *, limit: int | None = None
) -> RenderableType:
    """The open items as of the data's day, with the line on headquarters' orders.

    Args:
        portfolio: The portfolio (names of customers and groups).
        data: The operations data.
        lang: ``"en"`` or ``"zh"``.
        limit: List at most this many items (without the first-contact column).
    """
    items = [i for i in data.supervision_items if i.is_open]
    day = data.as_of
    if not items:
        return Text(_t(lang, "none_open", day=day.isoformat()), style="dim")
    titles = ItemTitles.build(portfolio, data.kpi_observations, data, items, lang)
    overdue = sum(i.is_overdue(day) for i in items)
    title = _t(lang, "sv_title", day=day.isoformat(), n=len(items), overdue=overdue)
    return Group(
        supervision_table(items, titles, day, lang, title=title, limit=limit, owner=limit is None),
        Text(orders_line(data, lang), style="dim"),
    )


def supervision_title(lang: str, key: str, **fields: object) -> str:
    """A title of :data:`SUPERVISION_LABELS` in ``lang``, its fields filled in."""
    return _t(lang, key, **fields)
