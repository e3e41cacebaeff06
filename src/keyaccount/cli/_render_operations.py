"""Terminal rendering of attainment and payouts, and the operations sections of the demo.

Money is yuan with thousands separators and two decimals, from integer fen
(:func:`keyaccount.cli._numbers.money`); a variance carries its sign. Attainment and
shares are percentages with one decimal (:func:`~keyaccount.cli._render.format_ratio`).
An absent value is a dash. The supervision list is drawn by
:mod:`keyaccount.cli._render_supervision`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
from rich.console import Group
from rich.text import Text

from keyaccount.cli._numbers import money
from keyaccount.cli._render import DASH, format_ratio, report_table, segment_label
from keyaccount.cli._render_supervision import group_name, open_list_section
from keyaccount.domain import Period, PeriodRange, yuan_to_fen
from keyaccount.exceptions import KeyAccountError
from keyaccount.operations import PeriodSpan, SpanKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from decimal import Decimal

    from rich.console import RenderableType

    from keyaccount.operations import AttainmentRow, AttainmentTable, OperationsData, PayoutRun
    from keyaccount.portfolio import Portfolio

__all__ = [
    "DEMO_OPEN_ITEMS",
    "OPS_LABELS",
    "GroupYear",
    "attainment_table",
    "group_months_table",
    "last_full_year",
    "operations_report",
    "payout_pools_table",
    "payout_shares_table",
    "period_label",
    "segment_table",
    "year_figures",
    "year_months",
]

OPS_LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "att_title": "Attainment by project group, {year}",
        "att_title_ytd": "Attainment by project group, {year} to date (to {last})",
        "group": "Project group",
        "attributed": "Attributed\n(yuan)",
        "target": "Target\n(yuan)",
        "variance": "Variance\n(yuan)",
        "attainment": "Attainment",
        "total": "Total",
        "year_note": "Full-year target {year}: {target} yuan; {share} of it attributed so far.",
        "pay_title": "Payouts for {period} (scheme {scheme!r} version {version})",
        "above": "Above target\n(yuan)",
        "pool": "Reward pool\n(yuan)",
        "pm": "Project\nmanager",
        "pm_share": "PM share\n(yuan)",
        "pm_pct": "PM share\nof pool",
        "others": "Rest of team\n(yuan)",
        "below": "below target: no pool",
        "shares_title": "Shares of the pool by member, {period}",
        "member": "Member",
        "role": "Role",
        "time": "Time",
        "full": "full-time",
        "part": "part-time",
        "score": "Score",
        "weight": "Weight",
        "share": "Share\n(yuan)",
        "of_pool": "Of pool",
        "group_title": "Attainment of {group}, {year}",
        "span": "Period",
        "ytd_attributed": "YTD attributed\n(yuan)",
        "ytd_target": "YTD target\n(yuan)",
        "ytd_attainment": "YTD\nattainment",
        "seg_title": "Attributed revenue by project group and segment, {year}",
        "seg_title_ytd": "Attributed revenue by project group and segment, "
        "{year} to date (to {last})",
        "segment": "Segment",
        "share_of_group": "Share of\ngroup",
        "contribution": "Contribution\nto attainment",
        "group_total": "Group",
    },
    "zh": {
        "att_title": "{year}年各项目组目标完成情况",
        "att_title_ytd": "{year}年各项目组目标完成情况（截至{last}）",
        "group": "项目组",
        "attributed": "归属收入\n（元）",
        "target": "目标\n（元）",
        "variance": "差额\n（元）",
        "attainment": "完成率",
        "total": "合计",
        "year_note": "{year}年全年目标{target}元，已完成{share}。",
        "pay_title": "{period}激励兑现（方案“{scheme}”第{version}版）",
        "above": "超目标收入\n（元）",
        "pool": "奖励池\n（元）",
        "pm": "项目经理",
        "pm_share": "项目经理奖励\n（元）",
        "pm_pct": "项目经理\n占比",
        "others": "团队其他成员\n（元）",
        "below": "未完成目标，无奖励",
        "shares_title": "{period}奖励分配（按成员）",
        "member": "成员",
        "role": "角色",
        "time": "投入",
        "full": "专职",
        "part": "兼职",
        "score": "绩效得分",
        "weight": "权重",
        "share": "奖励\n（元）",
        "of_pool": "占比",
        "group_title": "{group}{year}年目标完成情况",
        "span": "期间",
        "ytd_attributed": "累计归属收入\n（元）",
        "ytd_target": "累计目标\n（元）",
        "ytd_attainment": "累计\n完成率",
        "seg_title": "{year}年各项目组分行业归属收入",
        "seg_title_ytd": "{year}年各项目组分行业归属收入（截至{last}）",
        "segment": "行业",
        "share_of_group": "占项目组",
        "contribution": "对完成率\n的贡献",
        "group_total": "项目组合计",
    },
}
"""Display texts of the operations tables by language and key."""

_QUARTERS_ZH = ("一季度", "二季度", "三季度", "四季度")


GROUP_CELLS = 22
"""The widest a project group's name is shown before it wraps."""


def _t(lang: str, key: str, **fields: object) -> str:
    text = OPS_LABELS[lang][key]
    return text.format(**fields) if fields else text


def _money(fen: int | None, *, signed: bool = False) -> Text:
    if fen is None:
        return Text(DASH, style="dim")
    text = money(fen, signed=signed)
    style = ("green" if fen > 0 else "red" if fen < 0 else "") if signed else ""
    return Text(text, style=style)


def _percent(value: float | None, *, against: float | None = 1.0) -> Text:
    text = format_ratio(value, signed=False)
    if value is None or not np.isfinite(value):
        return Text(text, style="dim")
    if against is None:
        return Text(text)
    return Text(text, style="green" if value >= against else "red")


# ---------------------------------------------------------------- attainment


def last_full_year(last: Period) -> int:
    """The last calendar year that ended by month ``last`` (``last``'s year if it is December)."""
    return last.year if last.month == 12 else last.year - 1


def year_months(year: int, last: Period) -> PeriodRange:
    """The months of ``year`` up to ``last``, for an attainment table of the year (to date)."""
    return PeriodRange(Period(year, 1), min(Period(year, 12), last))


@attrs.frozen
class GroupYear:
    """A group's figures for a year, or for the year to date when the year has not ended.

    Attributes:
        group_id: The group.
        attributed_fen: Attributed revenue (to date), fen.
        target_fen: The target (to date), fen; ``None`` when absent.
        attainment: ``float64(attributed) / float64(target)``; ``None`` when absent.
        quarters: The attainment of each quarter that has ended (``None`` otherwise).
        year_target_fen: The full year's target (``None`` when absent).
    """

    group_id: str
    attributed_fen: int
    target_fen: int | None
    attainment: float | None
    quarters: tuple[float | None, ...]
    year_target_fen: int | None

    @property
    def variance_fen(self) -> int | None:
        """``attributed - target``, exact; ``None`` without a target."""
        return None if self.target_fen is None else self.attributed_fen - self.target_fen


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else yuan_to_fen(value)


def year_figures(table: AttainmentTable, year: int, last: Period) -> list[GroupYear]:
    """Each group's :class:`GroupYear` for ``year`` from an attainment table covering it.

    A year that ended by ``last`` gives its year rows; a year still running gives the
    year-to-date figures of month ``last`` (January to ``last``).
    """
    out: list[GroupYear] = []
    ended = Period(year, 12) <= last
    for group_id in table.group_ids:
        year_row = table.row(group_id, str(year))
        row = year_row if ended else table.row(group_id, last)
        if ended:
            attributed, target, ratio = row.attributed, row.target, row.attainment
        else:
            attributed, target, ratio = row.ytd_attributed, row.ytd_target, row.ytd_attainment
        quarters = tuple(
            table.row(group_id, f"{year}Q{q}").attainment if Period(year, 3 * q) <= last else None
            for q in range(1, 5)
        )
        out.append(
            GroupYear(
                group_id,
                yuan_to_fen(attributed),
                _fen(target),
                ratio,
                quarters,
                _fen(year_row.target),
            )
        )
    return out


def _by_attainment(rows: Iterable[GroupYear], order: Sequence[str]) -> list[GroupYear]:
    """Highest attainment first; groups without one last; ties in group order."""
    return sorted(
        rows,
        key=lambda r: (
            r.attainment is None,
            -(r.attainment or 0.0),
            order.index(r.group_id),
        ),
    )


def attainment_table(
    portfolio: Portfolio,
    rows: Sequence[GroupYear],
    year: int,
    last: Period,
    lang: str,
    *,
    quarters: bool = True,
) -> RenderableType:
    """Attainment by group for a year (or the year to date): the sales director's table.

    Rows sorted by attainment, highest first; a total row adds up attributed revenue, and
    targets when every group has one (else the total target is absent). With
    ``quarters``, the attainment of each quarter that ended. For a year still running, a
    line under the table gives the full-year target and the share of it attributed so far.
    """
    ended = Period(year, 12) <= last
    title = (
        _t(lang, "att_title", year=year)
        if ended
        else _t(lang, "att_title_ytd", year=year, last=last)
    )
    out = report_table(title, footer=True)
    out.add_column(_t(lang, "group"), footer=_t(lang, "total"), max_width=GROUP_CELLS)
    shown_quarters = [q for q in range(4) if quarters and Period(year, 3 * q + 3) <= last]
    for q in shown_quarters:
        header = _QUARTERS_ZH[q] if lang == "zh" else f"Q{q + 1}"
        out.add_column(header, justify="right", no_wrap=True)
    total_fen = sum(r.attributed_fen for r in rows)
    total_target = _total([r.target_fen for r in rows])
    footers = [
        _money(total_fen),
        _money(total_target),
        _money(None if total_target is None else total_fen - total_target, signed=True),
        _percent(_ratio(total_fen, total_target)),
    ]
    keys = ["attributed", "target", "variance", "attainment"]
    for key, footer in zip(keys, footers, strict=True):
        out.add_column(_t(lang, key), footer=footer, justify="right", no_wrap=True)
    for r in _by_attainment(rows, [g.group_id for g in rows]):
        cells: list[RenderableType] = [group_name(portfolio, r.group_id, lang)]
        cells += [_percent(r.quarters[q]) for q in shown_quarters]
        cells += [
            _money(r.attributed_fen),
            _money(r.target_fen),
            _money(r.variance_fen, signed=True),
            _percent(r.attainment),
        ]
        out.add_row(*cells)
    if ended:
        return out
    year_total = _total([r.year_target_fen for r in rows])
    if year_total is None:
        return out
    share = format_ratio(_ratio(total_fen, year_total), signed=False)
    note = _t(lang, "year_note", year=year, target=money(year_total), share=share)
    return Group(out, Text(note, style="dim"))


def _total(values: Sequence[int | None]) -> int | None:
    """The sum, absent when one value is absent (a partial sum would understate it)."""
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def _ratio(numerator_fen: int, denominator_fen: int | None) -> float | None:
    """``float64(numerator) / float64(denominator)``; absent unless the denominator is positive."""
    if denominator_fen is None or denominator_fen <= 0:
        return None
    return float(np.float64(numerator_fen) / np.float64(denominator_fen))


# ---------------------------------------------------------------- payouts


def payout_pools_table(
    portfolio: Portfolio,
    run: PayoutRun,
    lang: str,
) -> RenderableType:
    """Pool per group with the project manager's share; largest pool first, a total row.

    The project manager's share of the pool is shown as a percentage: at least 40%.
    """
    payouts = sorted(run, key=lambda p: (-p.pool_fen, run.group_ids.index(p.group_id)))
    title = _t(
        lang,
        "pay_title",
        period=period_label(run.period, lang),
        scheme=run.scheme,
        version=run.scheme_version,
    )
    out = report_table(title, footer=True)
    pool_total = run.total_fen
    pm_total = sum(p.project_manager.fen for p in payouts)
    above_total = sum(max(p.excess_fen, 0) for p in payouts)
    out.add_column(_t(lang, "group"), footer=_t(lang, "total"), max_width=GROUP_CELLS)
    out.add_column(_t(lang, "attainment"), justify="right", no_wrap=True)
    out.add_column(_t(lang, "above"), footer=_money(above_total), justify="right", no_wrap=True)
    out.add_column(_t(lang, "pool"), footer=_money(pool_total), justify="right", no_wrap=True)
    out.add_column(_t(lang, "pm"), no_wrap=True)
    out.add_column(_t(lang, "pm_share"), footer=_money(pm_total), justify="right", no_wrap=True)
    out.add_column(
        _t(lang, "pm_pct"),
        footer=_percent(pm_total / pool_total if pool_total else None, against=None),
        justify="right",
        no_wrap=True,
    )
    out.add_column(
        _t(lang, "others"), footer=_money(pool_total - pm_total), justify="right", no_wrap=True
    )
    for p in payouts:
        pm = p.project_manager
        ratio = float(np.float64(p.attributed_fen) / np.float64(p.target_fen))
        pm_cells: list[RenderableType] = (
            [
                _money(pm.fen),
                _percent(pm.fen / p.pool_fen, against=None),
                _money(p.pool_fen - pm.fen),
            ]
            if p.pool_fen
            else [Text(_t(lang, "below"), style="dim"), Text(""), Text("")]
        )
        out.add_row(
            group_name(portfolio, p.group_id, lang),
            _percent(ratio),
            _money(max(p.excess_fen, 0)),
            _money(p.pool_fen),
            pm.member,
            *pm_cells,
        )
    return out


def payout_shares_table(
    portfolio: Portfolio, run: PayoutRun, group_ids: Sequence[str], lang: str
) -> RenderableType:
    """Every member's share of the pool of the groups ``group_ids`` that have a pool."""
    out = report_table(_t(lang, "shares_title", period=period_label(run.period, lang)))
    out.add_column(_t(lang, "group"), no_wrap=True)
    out.add_column(_t(lang, "member"), no_wrap=True)
    out.add_column(_t(lang, "role"), no_wrap=True)
    out.add_column(_t(lang, "time"), no_wrap=True)
    for key in ("score", "weight", "share", "of_pool"):
        out.add_column(_t(lang, key), justify="right", no_wrap=True)
    for p in sorted(run, key=lambda p: (-p.pool_fen, run.group_ids.index(p.group_id))):
        if p.group_id not in group_ids or not p.pool_fen:
            continue
        name = group_name(portfolio, p.group_id, lang)
        for n, s in enumerate(p.shares):
            last = n == len(p.shares) - 1
            out.add_row(
                name if n == 0 else "",
                s.member,
                s.role.label(lang),
                _t(lang, "full" if s.full_time else "part"),
                DASH if s.score is None else _number(s.score),
                DASH if s.weight is None else _number(s.weight),
                _money(s.fen),
                _percent(s.fen / p.pool_fen, against=None),
                end_section=last,
            )
    return out


def _number(value: Decimal) -> str:
    """A score or weight as people write it: ``90``, ``35.5`` (no exponent, no trailing 0)."""
    return format(value.normalize(), ",f")


# ---------------------------------------------------------------- the demo's sections


DEMO_OPEN_ITEMS = 20
"""How many open supervision items ``keyaccount demo`` lists."""


def operations_report(
    portfolio: Portfolio, data: OperationsData, lang: str
) -> list[RenderableType]:
    """The demo's operations sections: attainment and payouts of the last full year, open items.

    The last full year is the last calendar year that ended by the portfolio's last month
    with revenue (its year to date when none did).
    """
    span = portfolio.period_span
    if span is None:
        return []
    first, last = span
    year = last_full_year(last)
    if Period(year, 12) < first:
        year = last.year
    table = data.attainment(portfolio, year_months(year, last))
    parts: list[RenderableType] = [
        attainment_table(
            portfolio, year_figures(table, year, last), year, last, lang, quarters=False
        )
    ]
    run = data.payouts(portfolio, str(year))
    if len(run):
        parts.append(payout_pools_table(portfolio, run, lang))
    parts.append(open_list_section(portfolio, data, lang, limit=DEMO_OPEN_ITEMS))
    return parts


# ---------------------------------------------------------------- one group, by segment


def _span_rows(table: AttainmentTable, group_id: str | None, kind: SpanKind) -> list[AttainmentRow]:
    return list(table.rows(group_id=group_id, kind=kind))


def group_months_table(
    portfolio: Portfolio,
    table: AttainmentTable,
    group_id: str,
    year: int,
    span: tuple[Period, Period],
    lang: str,
) -> RenderableType:
    """One group's months with revenue data, then its quarters and year that ended.

    ``span`` is the first and last month with revenue: months before the first are left
    out, quarters and the year only when they ended by the last.
    """
    first, last = span
    name = group_name(portfolio, group_id, lang)
    out = report_table(_t(lang, "group_title", group=name, year=year))
    out.add_column(_t(lang, "span"), no_wrap=True)
    for key in ("attributed", "target", "variance", "attainment", "ytd_attributed", "ytd_target"):
        out.add_column(_t(lang, key), justify="right", no_wrap=True)
    out.add_column(_t(lang, "ytd_attainment"), justify="right", no_wrap=True)
    sections = [
        [
            r
            for r in _span_rows(table, group_id, kind)
            if r.span.start.year == year and r.span.end <= last and r.span.end >= first
        ]
        for kind in (SpanKind.MONTH, SpanKind.QUARTER, SpanKind.YEAR)
    ]
    for rows in sections:
        for n, r in enumerate(rows):
            out.add_row(
                _span_label(r.span, lang),
                _money(yuan_to_fen(r.attributed)),
                _money(_fen(r.target)),
                _money(_fen(r.variance), signed=True),
                _percent(r.attainment),
                _money(yuan_to_fen(r.ytd_attributed)),
                _money(_fen(r.ytd_target)),
                _percent(r.ytd_attainment),
                end_section=n == len(rows) - 1,
            )
    return out


def period_label(text: str, lang: str) -> str:
    """A payout period (``2022``, ``2022Q3``, ``2022-07``) for display: in Chinese ``2022年``."""
    try:
        return _span_label(PeriodSpan.parse(text), lang)
    except KeyAccountError:
        return text


def _span_label(span: PeriodSpan, lang: str) -> str:
    if lang != "zh":
        return str(span)
    if span.kind is SpanKind.MONTH:
        return f"{span.start.year}年{span.start.month}月"
    if span.kind is SpanKind.QUARTER:
        return f"{span.start.year}年{_QUARTERS_ZH[(span.start.month - 1) // 3]}"
    return f"{span.start.year}年"


def segment_table(
    portfolio: Portfolio,
    table: AttainmentTable,
    group_ids: Sequence[str],
    year: int,
    last: Period,
    lang: str,
) -> RenderableType:
    """Attributed revenue by group and customer segment, each segment's share and contribution.

    A segment has no target of its own: its contribution is its attributed revenue over
    the group's target, and the contributions add up to the group's attainment (the
    group's bold row). A year still running shows the year to date.
    """
    ended = Period(year, 12) <= last
    span = PeriodSpan.year(year) if ended else PeriodSpan.month(last)
    key = "seg_title" if ended else "seg_title_ytd"
    out = report_table(_t(lang, key, year=year, last=last))
    out.add_column(_t(lang, "group"), no_wrap=True)
    out.add_column(_t(lang, "segment"), no_wrap=True)
    out.add_column(_t(lang, "attributed"), justify="right", no_wrap=True)
    out.add_column(_t(lang, "share_of_group"), justify="right", no_wrap=True)
    out.add_column(_t(lang, "target"), justify="right", no_wrap=True)
    out.add_column(_t(lang, "contribution"), justify="right", no_wrap=True)
    kind = SpanKind.YEAR if ended else SpanKind.MONTH
    for group_id in group_ids:
        rows = [r for r in _span_rows(table, group_id, kind) if r.span == span]
        if not rows:
            continue
        values = [
            (
                r.segment,
                yuan_to_fen(r.attributed if ended else r.ytd_attributed),
                _fen(r.target if ended else r.ytd_target),
                r.attainment if ended else r.ytd_attainment,
            )
            for r in rows
        ]
        total = sum(v[1] for v in values)
        target = values[0][2]
        name = group_name(portfolio, group_id, lang)
        for n, (segment, fen, _, contribution) in enumerate(values):
            share = float(np.float64(fen) / np.float64(total)) if total > 0 else None
            out.add_row(
                name if n == 0 else "",
                segment_label(segment, lang),
                _money(fen),
                _percent(share, against=None),
                Text(""),
                _percent(contribution, against=None),
            )
        ratio = (
            float(np.float64(total) / np.float64(target))
            if target is not None and target > 0
            else None
        )
        out.add_row(
            "",
            Text(_t(lang, "group_total"), style="bold"),
            Text(money(total), style="bold"),
            Text(""),
            _money(target),
            _percent(ratio),
            end_section=True,
        )
    return out
