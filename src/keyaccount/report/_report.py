"""The portfolio report page: the figures, tables and plots of one as-of month, as HTML.

:func:`render_report` gathers everything from the library's results (the metrics table,
the segment x tier summary, a policy's evaluation and backtest, a cross-sell model,
RFM scores, and operations data when given) and writes one self-contained page;
:func:`write_report` writes it to a file atomically. Long lists show their head with a
count, so the page stays readable for a portfolio of a million customers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from keyaccount.domain import Period, PeriodRange, Tier, check_lang
from keyaccount.exceptions import KeyAccountError, ValidationError, shorten
from keyaccount.report._html import Cell, Section, esc, figure, page, paragraph, table
from keyaccount.report._labels import count, label, money, percent, ratio, text
from keyaccount.utils import atomic_path

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

    from matplotlib.axes import Axes

    from keyaccount.analysis import RfmScores
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.domain import Lang
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import MetricsTable, Portfolio, SegmentTierSummary
    from keyaccount.rules import Evaluation, Policy

__all__ = ["RECOMMENDED", "monthly_rfm", "render_report", "report_month", "write_report"]

RECOMMENDED: Final = 5
"""How many of the largest customers the page recommends products to by default."""

_FIGURE_ERRORS: Final = (KeyAccountError, ImportError)
"""What a plot may raise that leaves a note on the page instead of failing it."""


def report_month(portfolio: Portfolio) -> Period | None:
    """The month a report on ``portfolio`` is as of by default: its last month with revenue.

    Without revenue, the latest first month of its customers; ``None`` without customers.
    """
    span = portfolio.period_span
    if span is not None:
        return span[1]
    firsts = portfolio.customer_columns.first_period
    return Period.from_ordinal(int(np.max(firsts))) if len(firsts) else None


def _figure(
    draw: Callable[[Axes], object],
    caption: str,
    fig_id: str,
    lang: Lang,
    figsize: tuple[float, float] = (8.0, 5.0),
) -> str:
    from keyaccount.report._figures import svg_data_uri

    try:
        uri = svg_data_uri(draw, figsize)
    except _FIGURE_ERRORS as exc:
        return paragraph(text(lang, "figure_failed", reason=str(exc)), "note")
    return figure(uri, caption, id=fig_id)


def _figures(*parts: str, single: bool = False, wide: bool = False) -> str:
    shown = [p for p in parts if p]
    if not shown:
        return ""
    css = "figures wide" if wide else "figures single" if single else "figures"
    return f'<div class="{css}">{"".join(shown)}</div>'


def _yuan(fen: int, lang: Lang) -> str:
    return f"{money(fen)}元" if lang == "zh" else f"{money(fen)} yuan"


def _signed_class(value: float | None) -> str:
    if value is None or not np.isfinite(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


# ---------------------------------------------------------------- headline


def _headline(portfolio: Portfolio, metrics: MetricsTable, lang: Lang) -> Section:
    t12m = int(metrics.columns["t12m_revenue"].sum(dtype=np.int64))
    prev = int(metrics.columns["prev12m_revenue"].sum(dtype=np.int64))
    active = int(np.count_nonzero(metrics.columns["active_months"] > 0))
    growth = ratio(t12m, prev)
    growth = None if growth is None else growth - 1.0
    items = [
        ("as-of", "as_of", str(metrics.as_of)),
        ("customers", "customers", count(len(metrics))),
        ("active", "active_customers", count(active)),
        ("revenue", "revenue_t12m", _yuan(t12m, lang)),
        ("prev-revenue", "revenue_prev12m", _yuan(prev, lang)),
        ("yoy", "yoy", percent(growth, signed=True)),
        ("group-accounts", "group_accounts", count(len(portfolio.parents()))),
        ("project-groups", "project_groups", count(len(portfolio.project_groups))),
    ]
    cards = "".join(
        f'<div><dt>{esc(text(lang, key))}</dt><dd id="headline-{name}">{esc(value)}</dd></div>'
        for name, key, value in items
    )
    tiers = metrics.tier
    fen = metrics.columns["t12m_revenue"]
    rows: list[list[Cell | str]] = []
    for tier in sorted(Tier, reverse=True):
        mask = tiers == tier.rank
        tier_fen = int(fen[mask].sum(dtype=np.int64))
        rows.append(
            [
                tier.label(lang),
                Cell(count(int(mask.sum())), number=True, id=f"tier-{tier.name}-customers"),
                Cell(money(tier_fen, "wan"), number=True, id=f"tier-{tier.name}-revenue"),
                Cell(percent(ratio(tier_fen, t12m)), number=True),
            ]
        )
    by_tier = table(
        [
            text(lang, "tier"),
            Cell(text(lang, "customers"), number=True),
            Cell(text(lang, "revenue_wan"), number=True),
            Cell(text(lang, "share"), number=True),
        ],
        rows,
        caption=text(lang, "by_tier"),
        footer=[
            text(lang, "total"),
            Cell(count(len(metrics)), number=True),
            Cell(money(t12m, "wan"), number=True),
            Cell(percent(1.0 if t12m > 0 else None), number=True),
        ],
        id="tier-table",
    )
    body = f'<dl class="headline">{cards}</dl>{by_tier}'
    return Section("headline", text(lang, "headline"), body)


# ---------------------------------------------------------------- segments x tiers


def _segment_tables(summary: SegmentTierSummary, lang: Lang) -> str:
    tiers = list(summary.tiers)
    total_fen = summary.total_revenue_fen
    head_counts: list[Cell | str] = [text(lang, "segment")]
    head_counts += [Cell(t.label(lang), number=True) for t in tiers]
    head_counts.append(Cell(text(lang, "total"), number=True))
    head_revenue: list[Cell | str] = [*head_counts, Cell(text(lang, "share"), number=True)]
    count_rows: list[list[Cell | str]] = []
    revenue_rows: list[list[Cell | str]] = []
    for r, segment in enumerate(summary.segments):
        n_row = summary.counts[r]
        fen_row = summary.revenue_fen[r]
        row_fen = int(fen_row.sum(dtype=np.int64))
        name = label(segment, lang)
        count_rows.append(
            [
                name,
                *(Cell(count(int(v)), number=True) for v in n_row),
                Cell(count(int(n_row.sum())), number=True),
            ]
        )
        revenue_rows.append(
            [
                name,
                *(Cell(money(int(v), "wan"), number=True) for v in fen_row),
                Cell(money(row_fen, "wan"), number=True),
                Cell(percent(ratio(row_fen, total_fen)), number=True),
            ]
        )
    col_counts = summary.counts.sum(axis=0)
    col_fen = summary.revenue_fen.sum(axis=0, dtype=np.int64)
    counts = table(
        head_counts,
        count_rows,
        caption=text(lang, "counts_title"),
        footer=[
            text(lang, "total"),
            *(Cell(count(int(v)), number=True) for v in col_counts),
            Cell(count(summary.total_customers), number=True),
        ],
        id="segment-counts",
    )
    revenue = table(
        head_revenue,
        revenue_rows,
        caption=text(lang, "revenue_title"),
        footer=[
            text(lang, "total"),
            *(Cell(money(int(v), "wan"), number=True) for v in col_fen),
            Cell(money(total_fen, "wan"), number=True),
            Cell(percent(1.0 if total_fen > 0 else None), number=True),
        ],
        id="segment-revenue",
    )
    return counts + revenue


def _segments(summary: SegmentTierSummary, lang: Lang, figures: bool) -> Section:
    from keyaccount.plot import segment_tier_heatmap

    plots = ""
    if figures:
        plots = _figures(
            _figure(
                lambda ax: segment_tier_heatmap(summary, "customers", ax=ax, lang=lang),
                text(lang, "counts_title"),
                "figure-segment-customers",
                lang,
                (7.0, 4.6),
            ),
            _figure(
                lambda ax: segment_tier_heatmap(summary, "revenue", ax=ax, lang=lang),
                text(lang, "revenue_title"),
                "figure-segment-revenue",
                lang,
                (7.0, 4.6),
            ),
        )
    return Section("segments", text(lang, "segments"), _segment_tables(summary, lang) + plots)


# ---------------------------------------------------------------- concentration, top customers


def _group_names(portfolio: Portfolio, lang: Lang) -> dict[str, str]:
    names: dict[str, str] = {}
    for group in portfolio.project_groups:
        for cid in group.customer_ids:
            names[cid] = group.name(lang)
    return names


def _concentration(
    portfolio: Portfolio, metrics: MetricsTable, top: int, lang: Lang, figures: bool
) -> Section:
    from keyaccount.plot import revenue_concentration

    groups = _group_names(portfolio, lang)
    ids = metrics.top(top)
    rows: list[list[Cell | str]] = []
    for cid in ids:
        i = metrics.position(cid)
        yoy = metrics.value("yoy_growth", i)
        growth = None if yoy is None else float(yoy)
        rows.append(
            [
                Cell(cid, css="nowrap"),
                portfolio.customer(cid).name,
                label(metrics.segment_of(cid), lang),
                metrics.tier_of(cid).label(lang),
                Cell(money(int(metrics.columns["t12m_revenue"][i]), "wan"), number=True),
                Cell(percent(growth, signed=True), number=True, css=_signed_class(growth)),
                groups.get(cid, "–"),
            ]
        )
    heading: list[Cell | str] = [
        text(lang, "id"),
        text(lang, "name"),
        text(lang, "segment"),
        text(lang, "tier"),
        Cell(text(lang, "revenue_wan"), number=True),
        Cell(text(lang, "yoy"), number=True),
        text(lang, "project_group"),
    ]
    body = table(heading, rows, caption=text(lang, "top_title", n=len(ids)), id="top-customers")
    if figures and len(metrics):
        body += _figures(
            _figure(
                lambda ax: revenue_concentration(metrics, top=20, ax=ax, lang=lang),
                text(lang, "concentration"),
                "figure-concentration",
                lang,
            ),
            single=True,
        )
    return Section("concentration", text(lang, "concentration"), body)


# ---------------------------------------------------------------- transitions


def _kind_label(kind: str, lang: Lang) -> str:
    return text(lang, f"kind:{kind}")


def _transitions(
    portfolio: Portfolio,
    policy: Policy,
    evaluation: Evaluation,
    max_rows: int,
    lang: Lang,
    figures: bool,
) -> Section:
    counts = evaluation.counts
    lead = text(
        lang,
        "transitions_lead",
        policy=evaluation.policy.name,
        as_of=evaluation.as_of,
        tier=count(counts.tier_moves),
        segment=count(counts.segment_moves),
        held=count(counts.held),
    )
    total = counts.tier_moves + counts.segment_moves
    shown = evaluation.transitions[:max_rows] if total else ()
    moves = _moves_by_rule(evaluation, lang)
    by_rule = table(
        [
            text(lang, "rule"),
            text(lang, "kind"),
            text(lang, "from"),
            text(lang, "to"),
            Cell(text(lang, "customers"), number=True),
        ],
        (
            [*key, Cell(count(n), number=True)]
            for key, n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        caption=text(lang, "moves_title"),
        id="moves-by-rule",
    )
    rows: list[list[Cell | str]] = [
        [
            Cell(t.customer_id, css="nowrap"),
            portfolio.customer(t.customer_id).name,
            _kind_label(t.kind, lang),
            f"{label(t.before, lang)} → {label(t.after, lang)}",
            t.rule,
            Cell(t.reason(lang), css="why"),
        ]
        for t in shown
    ]
    listed = table(
        [
            text(lang, "id"),
            text(lang, "name"),
            text(lang, "kind"),
            text(lang, "change"),
            text(lang, "rule"),
            text(lang, "deciding"),
        ],
        rows,
        caption=text(lang, "list_title"),
        id="transitions-table",
    )
    note = paragraph(text(lang, "shown", shown=count(len(shown)), total=count(total)), "note")
    flows = _flows(portfolio, policy, evaluation.as_of, lang) if figures else ""
    if total:
        body = paragraph(lead) + by_rule + flows + listed + note
    else:
        body = paragraph(lead) + flows + paragraph(text(lang, "none"))
    return Section("transitions", text(lang, "transitions"), body)


def _moves_by_rule(evaluation: Evaluation, lang: Lang) -> dict[tuple[str, ...], int]:
    """Transitions per (rule, kind, from, to), counted on the decision arrays."""
    from keyaccount.domain import NO_CODE, SEGMENTS, TIERS
    from keyaccount.rules import Outcome

    out: dict[tuple[str, ...], int] = {}
    for kind in ("tier", "segment"):
        chain = evaluation.tier if kind == "tier" else evaluation.segment
        rules = evaluation.policy.tier_rules if kind == "tier" else evaluation.policy.segment_rules
        move = chain.outcome == Outcome.MOVE
        if not move.any():
            continue
        keys = np.stack(
            [chain.rule[move].astype(np.int64), chain.before[move], chain.after[move]], axis=1
        )
        unique, times = np.unique(keys, axis=0, return_counts=True)
        for (rule, before, after), n in zip(unique.tolist(), times.tolist(), strict=True):
            names: tuple[str, ...]
            if kind == "tier":
                names = (TIERS[before].label(lang), TIERS[after].label(lang))
            else:
                names = tuple(
                    label(None if c == NO_CODE else SEGMENTS[c], lang) for c in (before, after)
                )
            key = (rules[rule].name, _kind_label(kind, lang), *names)
            out[key] = out.get(key, 0) + int(n)
    return out


def _flows(portfolio: Portfolio, policy: Policy, as_of: Period, lang: Lang) -> str:
    from keyaccount.plot import tier_flows

    span = portfolio.period_span
    first = as_of - 11 if span is None else max(as_of - 11, span[0])
    if first >= as_of:
        return ""
    backtest = policy.backtest(portfolio, first, as_of)
    months = [first, first + (as_of - first) // 2, as_of]
    months = sorted(set(months))
    caption = text(lang, "flows", start=first, end=as_of)
    return _figures(
        _figure(
            lambda ax: tier_flows(backtest, months, ax=ax, lang=lang),
            caption,
            "figure-tier-flows",
            lang,
            (9.0, 5.2),
        ),
        single=True,
    )


# ---------------------------------------------------------------- recommendations


def _recommendations(
    portfolio: Portfolio,
    model: CrossSellModel,
    customers: Sequence[str],
    k: int,
    lang: Lang,
    figures: bool,
) -> Section:
    from keyaccount.crosssell import whitespace
    from keyaccount.plot import crosssell_neighbourhood, whitespace_heatmap

    ids = [c for c in dict.fromkeys(customers) if c in model.basket]
    rows: list[list[Cell | str]] = []
    if ids:
        for cid, recommendations in model.recommend_all(k, customers=ids):
            for r in recommendations:
                rows.append(
                    [
                        Cell(cid, css="nowrap"),
                        Cell(portfolio.customer(cid).name, css="name"),
                        Cell(str(r.rank), number=True),
                        Cell(
                            r.product_name_zh
                            if lang == "zh"
                            else f"{r.product_name} ({r.product_id})",
                            css="name",
                        ),
                        Cell(f"{r.score:.4f}", number=True),
                        Cell(r.explanation(lang), css="why"),
                    ]
                )
    body = paragraph(text(lang, "rec_lead", k=k, n=len(ids)))
    body += table(
        [
            text(lang, "id"),
            text(lang, "name"),
            Cell(text(lang, "rank"), number=True),
            text(lang, "product"),
            Cell(text(lang, "score"), number=True),
            text(lang, "explanation"),
        ],
        rows,
        id="recommendations-table",
    )
    if figures:
        body += _figures(
            _figure(
                lambda ax: whitespace_heatmap(
                    whitespace(model.basket, threshold=0.05), ax=ax, lang=lang
                ),
                text(lang, "whitespace"),
                "figure-whitespace",
                lang,
                (11.0, 5.5),
            ),
            wide=True,
        )
        centre = next((c for c in ids if model.basket.sizes[model.basket.row(c)] > 0), None)
        if centre is not None:
            name = portfolio.customer(centre).name
            body += _figures(
                _figure(
                    lambda ax: crosssell_neighbourhood(model, centre, ax=ax, lang=lang),
                    text(lang, "neighbourhood", customer=f"{name} ({centre})"),
                    "figure-neighbourhood",
                    lang,
                    (7.0, 6.0),
                ),
                single=True,
            )
    return Section("recommendations", text(lang, "recommendations"), body)


# ---------------------------------------------------------------- RFM


def monthly_rfm(portfolio: Portfolio, as_of: Period) -> RfmScores | None:
    """RFM scores from monthly revenue: each customer's month with revenue is one purchase.

    The purchase is dated the month's first day, its amount the month's positive
    records; ``freq="M"``, observation end the last day of ``as_of``. ``None`` when no
    customer has revenue by ``as_of``.
    """
    from keyaccount.analysis import rfm, rfm_scores
    from keyaccount.io import Transactions

    columns = portfolio.revenue_columns
    keep = (columns.fen > 0) & (columns.period <= as_of.ordinal)
    if not keep.any():
        return None
    customer = columns.customer[keep]
    # customers with a purchase, numbered in portfolio order (np.unique without its sort)
    held = np.bincount(customer, minlength=len(portfolio)) > 0
    positions = np.flatnonzero(held)
    number = np.cumsum(held, dtype=np.int32) - np.int32(1)
    ids = np.asarray(portfolio.customer_columns.id, dtype=object)[positions]
    names = np.asarray(portfolio.customer_columns.name, dtype=object)[positions]
    # each month's first day, looked up per record (a handful of distinct months)
    period = columns.period[keep]
    low = int(period.min())
    offsets = np.arange(int(period.max()) - low + 1, dtype=np.int64)
    first_days = np.datetime64(Period.from_ordinal(low).first_day, "M") + offsets
    day_of = first_days.astype("datetime64[D]").astype(np.int64).astype(np.int32)
    n = int(customer.shape[0])
    transactions = Transactions(
        customer_ids=ids,
        names=names,
        customer=number[customer],
        day=day_of[period - np.int32(low)],
        fen=columns.fen[keep].astype(np.int64, copy=False),
        product=columns.product[keep].astype(np.int32, copy=False),
        quantity=np.broadcast_to(np.int64(1), (n,)),  # one purchase a month; a view, no copy
        line=np.arange(n, dtype=np.int64),
        catalog=portfolio.products,
        source="monthly revenue",
    )
    last_day = (as_of + 1).first_day - dt.timedelta(days=1)
    return rfm_scores(rfm(transactions, last_day, freq="M"))


def _rfm(scores: RfmScores, lang: Lang, figures: bool) -> Section:
    from keyaccount.plot import rfm_segment_map

    counts = scores.counts()
    rows: list[list[Cell | str]] = [
        [name, Cell(count(n), number=True), Cell(percent(ratio(n, len(scores))), number=True)]
        for name, n in counts.most_common()
    ]
    body = paragraph(text(lang, "rfm_lead"), "note") + table(
        [
            text(lang, "rfm_segment"),
            Cell(text(lang, "customers"), number=True),
            Cell(text(lang, "share"), number=True),
        ],
        rows,
        id="rfm-segments",
    )
    if figures:
        body += _figures(
            _figure(
                lambda ax: rfm_segment_map(scores, ax=ax, lang=lang),
                text(lang, "rfm"),
                "figure-rfm",
                lang,
                (9.0, 5.5),
            ),
            single=True,
        )
    return Section("rfm", text(lang, "rfm"), body)


# ---------------------------------------------------------------- operations


def _attainment_year(portfolio: Portfolio) -> tuple[int, Period] | None:
    """The last calendar year that ended by the last month with revenue (or the running one)."""
    span = portfolio.period_span
    if span is None:
        return None
    first, last = span
    year = last.year if last.month == 12 else last.year - 1
    if Period(year, 12) < first:
        year = last.year
    return year, last


_HALVES = re.compile(r"^(?P<en>.+?) \((?P<zh>[^()]+)\)$")
"""A supervision title written ``English (中文)``."""


def _item_title(title: str, lang: Lang) -> str:
    match = _HALVES.match(title)
    if match is None or not re.search(r"[\u4e00-\u9fff]", match["zh"]):
        return title
    return match["zh"] if lang == "zh" else match["en"]


def _operations(
    portfolio: Portfolio,
    data: OperationsData,
    max_rows: int,
    lang: Lang,
    figures: bool,
) -> Section:
    from keyaccount.operations import PeriodSpan
    from keyaccount.plot import attainment_by_group

    body = ""
    when = _attainment_year(portfolio)
    if when is not None:
        year, last = when
        ended = Period(year, 12) <= last
        attainment = data.attainment(
            portfolio, PeriodRange(Period(year, 1), min(Period(year, 12), last))
        )
        span = PeriodSpan.parse(str(year)) if ended else PeriodSpan.parse(str(last))
        names = {g.id: g.name(lang) for g in portfolio.project_groups}
        rows: list[tuple[float | None, list[Cell | str]]] = []
        for group_id in attainment.group_ids:
            r = attainment.row(group_id, span)
            attributed = r.attributed if ended else r.ytd_attributed
            target = r.target if ended else r.ytd_target
            variance = r.variance if ended else r.ytd_variance
            value = r.attainment if ended else r.ytd_attainment
            rows.append(
                (
                    value,
                    [
                        names.get(group_id, group_id),
                        Cell(_decimal(attributed), number=True),
                        Cell(_decimal(target), number=True),
                        Cell(_decimal(variance, signed=True), number=True),
                        Cell(percent(value), number=True, css=_attained(value)),
                    ],
                )
            )
        rows.sort(key=lambda pair: (pair[0] is None, -(pair[0] or 0.0)))
        shown_span = str(year) if ended else f"{year}-01..{last}"
        body += table(
            [
                text(lang, "project_group"),
                Cell(text(lang, "attributed"), number=True),
                Cell(text(lang, "target"), number=True),
                Cell(text(lang, "variance"), number=True),
                Cell(text(lang, "attainment"), number=True),
            ],
            (row for _, row in rows),
            caption=text(lang, "attainment_title", span=shown_span),
            id="attainment-table",
        )
        if figures and attainment.group_ids:
            body += _figures(
                _figure(
                    lambda ax: attainment_by_group(
                        attainment,
                        span,
                        ytd=not ended,
                        groups=portfolio.project_groups,
                        ax=ax,
                        lang=lang,
                    ),
                    text(lang, "attainment_title", span=shown_span),
                    "figure-attainment",
                    lang,
                    (9.0, 5.0),
                ),
                single=True,
            )
    body += _escalations(data, max_rows, lang)
    return Section("operations", text(lang, "operations"), body)


def _decimal(value: object, *, signed: bool = False) -> str:
    from decimal import Decimal

    if not isinstance(value, Decimal):
        return "–"
    formatted = f"{value:,.2f}"
    return f"+{formatted}" if signed and value > 0 else formatted


def _attained(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return ""
    return "up" if value >= 1.0 else "down"


def _escalations(data: OperationsData, max_rows: int, lang: Lang) -> str:
    day = data.as_of
    open_items = [i for i in data.supervision_items if i.is_open]
    overdue = sorted(
        (i for i in open_items if i.is_overdue(day)),
        key=lambda i: (-i.level.rank, -i.severity.rank, i.due_on, i.id),
    )
    rows: list[list[Cell | str]] = [
        [
            Cell(i.id, css="nowrap"),
            Cell(i.level.label(lang), css="nowrap"),
            Cell(i.severity.label(lang), css="nowrap"),
            Cell(i.province or "–", css="nowrap"),
            Cell(_item_title(i.title, lang), css="why"),
            Cell(i.responsible_person, css="nowrap"),
            Cell(i.due_on.isoformat(), number=True),
            Cell(count((day - i.due_on).days), number=True),
            Cell(text(lang, "flagged") if i.flagged else "", css="nowrap"),
        ]
        for i in overdue[:max_rows]
    ]
    caption = text(
        lang,
        "escalations_title",
        day=day.isoformat(),
        overdue=count(len(overdue)),
        open=count(len(open_items)),
    )
    listed = table(
        [
            "ID",
            text(lang, "level"),
            text(lang, "severity"),
            text(lang, "province"),
            text(lang, "item"),
            text(lang, "responsible"),
            Cell(text(lang, "due"), number=True),
            Cell(text(lang, "days_overdue"), number=True),
            "",
        ],
        rows,
        caption=caption,
        id="escalations-table",
    )
    note = paragraph(text(lang, "shown", shown=count(len(rows)), total=count(len(overdue))), "note")
    return listed + note


# ---------------------------------------------------------------- the page


def render_report(
    portfolio: Portfolio,
    as_of: Period | str | None = None,
    *,
    policy: Policy | None = None,
    operations: OperationsData | None = None,
    rfm: RfmScores | None = None,
    recommend_for: Sequence[str] | None = None,
    lang: str = "en",
    top: int = 10,
    max_rows: int = 50,
    figures: bool = True,
    source: str = "",
) -> str:
    """The portfolio report as one self-contained HTML page.

    The page holds, as of ``as_of``: the headline (customers, active customers,
    trailing-12 revenue and its growth, group accounts, project groups) and customers
    and revenue by tier; customers and revenue by segment and tier (tables and
    heatmaps); the top customers and the revenue concentration; the policy's
    transitions of the month with the rule and the values that decided each, counted
    by rule, and its tier flows over the last twelve months (a backtest); cross-sell
    recommendations with their explanations, the whitespace heatmap and one
    customer's cross-sell neighbourhood; RFM segments; and with ``operations``, target
    attainment by project group and the overdue items of the supervision list.

    The page needs no network: the style is inline, plots are SVG ``data:`` images
    with text drawn as outlines (Chinese labels need no font in the browser), there is
    no script, and its Content Security Policy refuses any other load. Every text is
    HTML-escaped. Lists show their first ``max_rows`` with the count of all.

    Args:
        portfolio: The portfolio.
        as_of: The month (default: the last month with revenue).
        policy: The policy whose transitions are shown (default: the shipped
            :func:`~keyaccount.rules.default_policy`).
        operations: Targets, ownership and the supervision list, when there are any.
        rfm: RFM scores to show (default: scored from monthly revenue,
            :func:`monthly_rfm`).
        recommend_for: The customers whose best three products are listed, with
            their explanations (default: the :data:`RECOMMENDED` largest customers by
            trailing-12 revenue); ids the cross-sell model does not hold are skipped.
        lang: ``"en"`` or ``"zh"`` (headings and labels in Chinese).
        top: How many of the largest customers to list.
        max_rows: The most transitions and supervision items listed.
        figures: Draw the plots (needs the ``plot`` extra, matplotlib).
        source: Where the portfolio came from, shown under the title.

    Returns:
        The page, a complete HTML document.

    Raises:
        ValidationError: ``lang`` is not ``"en"`` or ``"zh"``, or ``top`` or
            ``max_rows`` is below 1.
    """
    language = check_lang(lang, where="render_report")
    for name, value in (("top", top), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                f"render_report: {name} must be a whole number >= 1, got {shorten(value)}"
            )
    month = report_month(portfolio) if as_of is None else Period.parse(as_of)
    title = text(language, "title")
    subtitle = " · ".join(
        part
        for part in (
            f"{text(language, 'as_of')} {month}" if month is not None else "",
            f"{text(language, 'generated_from')}: {source}" if source else "",
        )
        if part
    )
    if month is None or len(metrics := portfolio.metrics(month)) == 0:
        empty = Section(
            "headline",
            text(language, "headline"),
            paragraph(text(language, "empty", as_of=month if month is not None else "–")),
        )
        return page(
            title=title,
            subtitle=subtitle,
            sections=[empty],
            lang=language,
            contents=text(language, "contents"),
        )
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.rules import default_policy

    chosen = default_policy() if policy is None else policy
    evaluation = chosen.evaluate(portfolio, month)
    sections = [
        _headline(portfolio, metrics, language),
        _segments(portfolio.summary(month), language, figures),
        _concentration(portfolio, metrics, top, language, figures),
        _transitions(portfolio, chosen, evaluation, max_rows, language, figures),
    ]
    if portfolio.period_span is not None:
        model = CrossSellModel.fit(portfolio, month)
        wanted = metrics.top(RECOMMENDED) if recommend_for is None else list(recommend_for)
        sections.append(_recommendations(portfolio, model, wanted, 3, language, figures))
    scores = monthly_rfm(portfolio, month) if rfm is None else rfm
    if scores is not None and len(scores):
        sections.append(_rfm(scores, language, figures))
    if operations is not None:
        sections.append(_operations(portfolio, operations, max_rows, language, figures))
    return page(
        title=title,
        subtitle=subtitle,
        sections=sections,
        lang=language,
        contents=text(language, "contents"),
    )


def write_report(path: str | os.PathLike[str], portfolio: Portfolio, **options: Any) -> Path:
    """Write :func:`render_report`'s page to ``path`` (UTF-8), atomically.

    The page is rendered first and written to a temporary file beside ``path``, renamed
    onto it only when complete; a failure leaves an earlier file as it was.

    Args:
        path: The HTML file to write.
        portfolio: The portfolio.
        **options: The arguments of :func:`render_report`.

    Returns:
        The path written.

    Raises:
        OutputError: the directory is missing or not writable (nothing is written).
    """
    target = Path(path)
    with atomic_path(target) as temp:
        temp.write_text(render_report(portfolio, **options), encoding="utf-8")
    return target
