"""``keyaccount targets``, ``payout``, ``kpi check``, ``escalations`` and ``lifecycle``.

Commands on how the project groups are run (:mod:`keyaccount.operations`), registered in
the command table as ``"targets": "keyaccount.cli._operations_commands:targets"`` and so
on. Each reads a portfolio and its operations data (:class:`keyaccount.operations.OperationsData`)
from exactly one source (:func:`~keyaccount.cli._source.portfolio_source`):

- ``--demo``: the generated demo portfolio (``--seed``, ``--customers``) and
  :func:`keyaccount.demo.demo_operations` for it;
- ``--db URL``: a store; it holds no operations data yet, which is a usage error
  (:data:`NO_STORED_OPERATIONS`). :func:`load_operations` is the one place that reads the
  data: a store that keeps operations data returns the same ``OperationsData`` there.

Exit codes: 0, or 1 for ``kpi check`` when a KPI breaks its threshold (a finding, as
``rules check`` has); 2 for a usage error (an unknown group, a period without data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from keyaccount.cli._app import PERIOD, count_option, lang_option
from keyaccount.cli._numbers import count, percent
from keyaccount.cli._operations_data import (
    attainment_section,
    breach_section,
    item_section,
    kpi_section,
    lifecycle_section,
    meeting_section,
    moves_section,
    orders_section,
    payout_sections,
    span_section,
    summary_section,
    sweep_section,
)
from keyaccount.cli._output import Section, emit, format_option, message, section_option
from keyaccount.cli._render import DASH, make_console, report_table, tier_label
from keyaccount.cli._render_operations import (
    attainment_table,
    group_months_table,
    last_full_year,
    payout_pools_table,
    payout_shares_table,
    period_label,
    segment_table,
    year_figures,
    year_months,
)
from keyaccount.cli._render_supervision import (
    ItemTitles,
    group_name,
    lifecycle_table,
    meeting_report_table,
    open_items_summary,
    orders_line,
    supervision_table,
    supervision_title,
    sweep_table,
)
from keyaccount.cli._source import portfolio_source
from keyaccount.domain import Period
from keyaccount.exceptions import KeyAccountError
from keyaccount.operations import rate_percent

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping, Sequence

    from rich.console import Console, RenderableType

    from keyaccount.cli._source import PortfolioSource
    from keyaccount.operations import (
        AttainmentTable,
        KpiBreach,
        KpiObservations,
        KpiRegistry,
        OperationsData,
        PeriodSpan,
        ProjectLifecycle,
        SupervisionItem,
    )
    from keyaccount.portfolio import Portfolio
    from keyaccount.store import Store

__all__ = [
    "NO_STORED_OPERATIONS",
    "escalations",
    "kpi",
    "lifecycle",
    "load_operations",
    "operations_source",
    "payout",
    "targets",
]

NO_STORED_OPERATIONS = (
    "--db: the store holds no operations data yet (targets, teams, KPIs, the supervision "
    "list); `keyaccount demo --db URL` writes the demo's, or use --demo"
)
"""The usage error of an operations command given ``--db``."""

NO_REVENUE = "the portfolio has no revenue: nothing to attribute or check"
"""The usage error of an operations command on a portfolio without revenue."""

KPI_CHECK_WHO = "keyaccount kpi check"
"""Who opens the items of a KPI check run from the command line."""
SWEEP_WHO = "keyaccount escalations --sweep"
"""Who runs a sweep from the command line."""


def operations_source(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--db URL`` / ``--demo`` (one of them), with ``--seed`` and ``--customers`` for the demo."""
    with_customers = count_option(
        "--customers",
        default=None,
        help="Customers in the demo portfolio [default: the generator's, as keyaccount demo].",
    )(function)
    with_seed = count_option(
        "--seed",
        default=None,
        minimum=0,
        help="Seed of the demo portfolio and its operations [default: the generator's].",
    )(with_customers)
    return portfolio_source(with_seed)


def load_operations(
    source: PortfolioSource, *, seed: int | None, customers: int | None
) -> tuple[Portfolio, OperationsData]:
    """The portfolio and its operations data from the command's source.

    Raises:
        click.UsageError: ``--db`` (:data:`NO_STORED_OPERATIONS`), or a portfolio without
            revenue.
    """
    if source.db is not None:
        with source.open() as (portfolio, store):
            assert store is not None  # a --db source opens its store
            if store.operations.is_empty():
                raise click.UsageError(NO_STORED_OPERATIONS)
            if portfolio.period_span is None:
                raise click.UsageError(
                    "the portfolio has no revenue: nothing to attribute or check"
                )
            return portfolio, store.operations.data(_stored_as_of(portfolio, store))
    from keyaccount.demo import DEFAULT_SEED, demo_operations  # imported when a command runs

    portfolio = source.load(seed=seed, customers=customers)
    if portfolio.period_span is None:
        raise click.UsageError(NO_REVENUE)
    data = demo_operations(portfolio, seed=DEFAULT_SEED if seed is None else seed)
    return portfolio, data


def _stored_as_of(portfolio: Portfolio, store: Store) -> dt.date:
    """The day stored operations data is read as of.

    The last day the supervision history records, or the first day after the portfolio's
    last revenue month when that is later.
    """
    import datetime as dt  # imported when a command runs

    span = portfolio.period_span
    assert span is not None
    last = span[1]
    after = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    recorded = store.operations.last_history_day()
    return after if recorded is None or recorded < after else recorded


def _span(portfolio: Portfolio) -> tuple[Period, Period]:
    span = portfolio.period_span
    assert span is not None  # load_operations refuses a portfolio without revenue
    return span


def _resolve_group(text: str | None, portfolio: Portfolio, data: OperationsData) -> str | None:
    """The group id ``--group`` names (an id, or a name in English or Chinese)."""
    if text is None:
        return None
    wanted = text.strip().casefold()
    for group_id in data.group_ids:
        zh = group_name(portfolio, group_id, "zh")
        names = {group_id, group_name(portfolio, group_id, "en"), zh, zh.removesuffix("项目组")}
        if wanted in {n.casefold() for n in names}:
            return group_id
    raise click.BadParameter(
        f"no project group {text!r}; the groups are {', '.join(data.group_ids)}",
        param_hint="--group",
    )


def _covers(data: OperationsData, first: Period, last: Period, start: Period, end: Period) -> bool:
    """Whether the data has revenue or a target in ``start .. end``."""
    if start <= last and end >= first:
        return True
    return any(t.span.start <= end and t.span.end >= start for t in data.targets)


# ---------------------------------------------------------------- targets


@click.command()
@click.option(
    "--year",
    type=click.IntRange(1900, 9999),
    default=None,
    help="The year [default: the last full year with revenue; a year still running shows "
    "the year to date].",
)
@click.option(
    "--group", default=None, metavar="GROUP", help="One project group (id or name): by month."
)
@click.option(
    "--by-segment", is_flag=True, help="Attributed revenue by group and customer segment."
)
@operations_source
@format_option
@lang_option
def targets(
    year: int | None,
    group: str | None,
    by_segment: bool,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    lang: str,
) -> None:
    """Attainment of the project groups' revenue targets (目标完成率).

    Revenue is attributed to the group that owned the customer in each month; the
    target of a quarter or year without one of its own is the sum of its months.
    Without --group: every group's attributed revenue, target, variance and attainment
    for the year (and each quarter that ended), highest attainment first, with a total
    row. With --group: that group month by month with the year to date, then its
    quarters and its year. With --format json or csv, one table: the groups' year
    (attainment), the group's months, quarters and year (group), or the groups by
    segment (segments).
    """
    lang = lang.lower()
    portfolio, data = load_operations(source, seed=seed, customers=customers)
    first, last = _span(portfolio)
    chosen = last_full_year(last) if year is None else year
    if chosen < first.year and year is None:
        chosen = last.year
    if not _covers(data, first, last, Period(chosen, 1), Period(chosen, 12)):
        raise click.BadParameter(
            f"no revenue or targets in {chosen} (the revenue covers {first}..{last})",
            param_hint="--year",
        )
    group_id = _resolve_group(group, portfolio, data)
    table = data.attainment(portfolio, year_months(chosen, last), by_segment=by_segment)
    if output_format.lower() != "table":
        emit(_targets_section(table, group_id, by_segment, chosen, (first, last)), output_format)
        return
    console = make_console()
    if by_segment:
        ids = [group_id] if group_id else list(data.group_ids)
        console.print(segment_table(portfolio, table, ids, chosen, last, lang))
    elif group_id is not None:
        console.print(group_months_table(portfolio, table, group_id, chosen, (first, last), lang))
    else:
        rows = year_figures(table, chosen, last)
        console.print(attainment_table(portfolio, rows, chosen, last, lang))


def _targets_section(
    table: AttainmentTable,
    group_id: str | None,
    by_segment: bool,
    year: int,
    span: tuple[Period, Period],
) -> Section:
    """The one table ``targets --format json|csv`` writes (the table mode's rows)."""
    from keyaccount.operations import PeriodSpan, SpanKind  # imported when a command runs

    first, last = span
    if not by_segment and group_id is None:
        return attainment_section(year_figures(table, year, last))
    ended = Period(year, 12) <= last
    if by_segment:
        wanted = PeriodSpan.year(year) if ended else PeriodSpan.month(last)
        rows = [r for r in table.rows(group_id=group_id, kind=wanted.kind) if r.span == wanted]
        return span_section(rows, "segments")
    rows = [
        r
        for kind in (SpanKind.MONTH, SpanKind.QUARTER, SpanKind.YEAR)
        for r in table.rows(group_id=group_id, kind=kind)
        if r.span.start.year == year and first <= r.span.end <= last
    ]
    return span_section(rows, "group")


# ---------------------------------------------------------------- payout


def _parse_span(text: str | None, last: Period) -> PeriodSpan:
    from keyaccount.operations import PeriodSpan  # imported when a command runs

    if text is None:
        return PeriodSpan.year(last_full_year(last))
    try:
        return PeriodSpan.parse(text)
    except KeyAccountError as exc:
        raise click.BadParameter(
            f"{text!r} is not a year, quarter or month (2022, 2022Q3, 2022-07): {exc}",
            param_hint="--period",
        ) from None


@click.command()
@click.option(
    "--period",
    "period_text",
    default=None,
    metavar="PERIOD",
    help="The period paid for: a year (2022), a quarter (2022Q3) or a month (2022-07) "
    "[default: the last full year].",
)
@click.option(
    "--group", default=None, metavar="GROUP", help="List the member shares of this group only."
)
@operations_source
@format_option
@section_option("pools", "shares")
@lang_option
def payout(
    period_text: str | None,
    group: str | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    section: str | None,
    lang: str,
) -> None:
    """Incentive payouts (市场化激励): the reward pool of each group and every member's share.

    The pool is paid on attributed revenue above target under the payout scheme; the
    project manager gets at least 40% of it, the rest is split by role weight and
    performance score (part-time support managers count 50%). Shares are whole fen that
    add up to the pool. A group without a positive target for the period has no payout.
    With --format json: the sections pools and shares (csv: --section, default pools).
    """
    lang = lang.lower()
    portfolio, data = load_operations(source, seed=seed, customers=customers)
    first, last = _span(portfolio)
    span = _parse_span(period_text, last)
    group_id = _resolve_group(group, portfolio, data)
    run = data.payouts(portfolio, span)
    if not len(run):
        raise click.BadParameter(
            f"no project group has a positive target for {span} (the revenue covers "
            f"{first}..{last})",
            param_hint="--period",
        )
    zh = lang == "zh"
    if span.end > last:
        message(
            f"注：收入数据截至{last}，{period_label(str(span), lang)}尚未结束，"
            "按已实现收入对照全期目标计算。"
            if zh
            else f"Note: revenue only up to {last}; {span} has not ended, so the pool is on "
            "the revenue so far against the whole period's target."
        )
    shown = [group_id] if group_id else run.group_ids
    if output_format.lower() != "table":
        emit(payout_sections(run, shown), output_format, section)
    else:
        console = make_console()
        console.print(payout_pools_table(portfolio, run, lang))
        console.print()
        console.print(payout_shares_table(portfolio, run, shown, lang))
    left_out = [g for g in data.group_ids if g not in run.group_ids]
    if left_out:
        names = "、".join if zh else ", ".join
        text = names(group_name(portfolio, g, lang) for g in left_out)
        message(f"无目标、不计奖励：{text}" if zh else f"No target for {span}, no payout: {text}")


# ---------------------------------------------------------------- kpi check


@click.group()
def kpi() -> None:
    """Service KPIs (服务指标): the court project's four, against the thresholds."""


def _breach_cells(portfolio: Portfolio, breach: KpiBreach, lang: str) -> tuple[str, str, str, str]:
    from keyaccount.operations import default_kpi_registry  # imported when a command runs

    if breach.subject_id in portfolio:
        customer = portfolio.customer(breach.subject_id)
        name, tier = customer.name, tier_label(customer.tier, lang)
    else:
        name, tier = breach.subject_id, DASH
    definition = default_kpi_registry().get(breach.kpi_id)
    kpi_name = breach.kpi_id if definition is None else definition.name(lang)
    return name, breach.province or DASH, tier, kpi_name


@kpi.command("check")
@click.option(
    "--period",
    type=PERIOD,
    default=None,
    help="The month to check [default: the last month with observations].",
)
@operations_source
@format_option
@section_option("breaches", "kpis")
@lang_option
def check(
    period: Period | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    section: str | None,
    lang: str,
) -> None:
    """Check a month's KPI observations against the thresholds (tighter for SVIP customers).

    Lists the breaches (rate below the minimum) and the supervision item each one has:
    a breach opens one item per customer, KPI and month, so checking a month again
    opens nothing twice. Exit status 1 when there are breaches. With --format json: the
    sections breaches and kpis (csv: --section, default breaches).
    """
    from keyaccount.operations import (  # imported when the command runs
        default_kpi_registry,
        detect_kpi_breaches,
        open_breach_items,
    )

    lang = lang.lower()
    zh = lang == "zh"
    portfolio, data = load_operations(source, seed=seed, customers=customers)
    covered = data.kpi_months
    if covered is None:
        raise click.UsageError("the data holds no KPI observations")
    month = covered[1] if period is None else period
    if not covered[0] <= month <= covered[1]:
        raise click.BadParameter(
            f"no KPI observations for {month}; they cover {covered[0]}..{covered[1]}",
            param_hint="--period",
        )
    observations = data.kpi_observations.take(data.kpi_observations.period == month.ordinal)
    subjects = data.subject_attributes(portfolio)
    breaches = detect_kpi_breaches(observations, data.kpi_thresholds, subjects)
    supervision = data.supervision_list(portfolio)
    on = max(data.as_of, (month + 1).first_day)
    before = {b.source_key: supervision.by_source(b.source_key) for b in breaches}
    opened = open_breach_items(
        supervision,
        breaches,
        who=KPI_CHECK_WHO,
        on=on,
        responsible_person=data.breach_responsible(subjects),
    )
    new = len(opened)
    kept = len(breaches) - new
    note = (
        f"本次新开督办事项{new}项；已在督办清单{kept}项（每个客户、指标、月份只开一项）。"
        if zh
        else f"Opened now: {new} items; already on the supervision list: {kept} "
        "(one item per customer, KPI and month)."
    )
    if output_format.lower() != "table":
        new_items = {item.source_key: item for item in opened}

        def item_of(breach: KpiBreach) -> tuple[str, bool]:
            earlier = before.get(breach.source_key)
            if earlier is not None:
                return earlier.id, False
            return new_items[breach.source_key].id, True

        emit(
            [
                breach_section(breaches, item_of),
                kpi_section(observations, breaches, default_kpi_registry()),
            ],
            output_format,
            section,
        )
        if breaches:
            message(note)
            raise SystemExit(1)
        return
    console = make_console()
    customers_seen = len(set(observations.subject_id.tolist()))
    head = (
        f"{month}服务指标检查（阈值“{data.kpi_thresholds.name}”）：{customers_seen:,}个客户"
        f"{len(observations):,}条观测，未达标{len(breaches):,}条"
        if zh
        else f"KPI check for {month} (thresholds {data.kpi_thresholds.name!r}): "
        f"{len(observations):,} observations of {customers_seen:,} customers, "
        f"{len(breaches):,} breaches"
    )
    console.print(Text(head, style="bold"))
    console.print()
    console.print(_kpi_summary(observations, breaches, default_kpi_registry(), lang))
    if breaches:
        console.print()
        console.print(_breach_table(portfolio, breaches, before, opened, lang))
        message(note)
        raise SystemExit(1)


def _kpi_summary(
    observations: KpiObservations,
    breaches: Sequence[KpiBreach],
    registry: KpiRegistry,
    lang: str,
) -> RenderableType:
    """Per KPI: observations, the pooled rate (numerators and denominators added), breaches."""
    rollup = observations.rollup(("kpi",))
    counts: dict[str, int] = {}
    for b in breaches:
        counts[b.kpi_id] = counts.get(b.kpi_id, 0) + 1
    zh = lang == "zh"
    out = report_table(
        "各指标汇总" if zh else "By KPI (rates pooled: numerators and denominators added)"
    )
    out.add_column("指标" if zh else "KPI", no_wrap=True)
    for header in (
        ("观测" if zh else "Observations"),
        ("达成" if zh else "Met"),
        ("总数" if zh else "Counted"),
        ("比率" if zh else "Rate"),
        ("未达标" if zh else "Breaches"),
    ):
        out.add_column(header, justify="right", no_wrap=True)
    per_kpi = {key[0]: (num, den) for key, num, den in rollup.rows()}
    n_obs: dict[str, int] = {}
    for k in observations.kpi_id.tolist():
        n_obs[k] = n_obs.get(k, 0) + 1
    for kpi_id in registry:
        num, den = per_kpi.get(kpi_id, (0, 0))
        out.add_row(
            registry[kpi_id].name(lang),
            count(n_obs.get(kpi_id, 0)),
            count(num),
            count(den),
            percent(num / den if den else None, decimals=2),
            count(counts.get(kpi_id, 0)),
        )
    return out


def _breach_table(
    portfolio: Portfolio,
    breaches: Sequence[KpiBreach],
    before: Mapping[str, SupervisionItem | None],
    opened: Sequence[SupervisionItem],
    lang: str,
) -> RenderableType:
    """The breaches, worst first (furthest below the minimum), with their supervision items."""
    zh = lang == "zh"
    out = report_table("未达标明细" if zh else "Breaches")
    out.add_column("客户" if zh else "Customer", no_wrap=True)
    out.add_column("省份" if zh else "Province", no_wrap=True)
    out.add_column("层级" if zh else "Tier", no_wrap=True)
    out.add_column("指标" if zh else "KPI", max_width=26)
    for header in (
        "比率" if zh else "Rate",
        "计数" if zh else "Count",
        "最低要求" if zh else "Minimum",
    ):
        out.add_column(header, justify="right", no_wrap=True)
    out.add_column("督办事项（状态）" if zh else "Item (status)", no_wrap=True)
    new_items = {item.source_key: item for item in opened}
    for b in sorted(breaches, key=lambda x: (x.rate - x.threshold.bound, x.subject_id, x.kpi_id)):
        name, province, tier, kpi_name = _breach_cells(portfolio, b, lang)
        earlier = before.get(b.source_key)
        if earlier is not None:
            status = earlier.status.label(lang)
            state = f"{earlier.id}（{status}）" if zh else f"{earlier.id} ({status})"
        else:
            item = new_items[b.source_key]
            state = f"{item.id}（本次新开）" if zh else f"{item.id} (opened now)"
        customer = Text(f"{b.subject_id} ")
        customer.append_text(_clip(name, 12))
        out.add_row(
            customer,
            province,
            tier,
            kpi_name,
            Text(rate_percent(b.rate, b.threshold.bound), style="red"),
            f"{b.numerator:,}/{b.denominator:,}",
            rate_percent(b.threshold.bound),
            state,
        )
    return out


def _clip(text: str, cells: int) -> Text:
    clipped = Text(text)
    clipped.truncate(cells, overflow="ellipsis")
    return clipped


# ---------------------------------------------------------------- escalations


@click.command()
@click.option("--overdue", is_flag=True, help="Only the items whose due day has passed.")
@click.option(
    "--sweep",
    "sweep_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="Run the escalation sweep of this day first and show what it escalated.",
)
@click.option(
    "--by",
    type=click.Choice(["level", "province", "department"]),
    default="level",
    show_default=True,
    help="Count the open items (and the meeting report) by this.",
)
@click.option(
    "--report",
    type=click.Choice(["week", "month"]),
    default=None,
    help="Print the meeting report (两会一单) of the week or month holding --day instead: "
    "items opened, closed, overdue and escalated.",
)
@click.option(
    "--day",
    "report_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="The day whose week or month --report covers [default: the data's as-of day].",
)
@operations_source
@format_option
@section_option("items", "summary", "sweep", "candidates", "orders")
@lang_option
def escalations(
    overdue: bool,
    sweep_day: dt.datetime | None,
    by: str,
    report: str | None,
    report_day: dt.datetime | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    section: str | None,
    lang: str,
) -> None:
    """The open supervision list (督办清单) by level, province or department.

    An item not closed out by its due day, or marked severe, escalates one level (city,
    province, headquarters) at the next sweep, with a new due day. With --sweep DATE
    the sweep of that day runs first (sweeping a day twice changes nothing the second
    time); the list is then as of that day. With --db the sweep is recorded in the
    store (one bulk statement set); demo data is generated afresh on every run, so a
    sweep of it is not kept.

    With --report week|month the weekly or monthly meeting report (两会一单) of the
    week (Monday to Sunday) or month holding --day is printed instead: items opened,
    closed out and escalated in it, and items overdue at its end, by --by.

    With --format json: the sections items, summary, sweep and candidates (with
    --sweep) and orders; with --report one table, report (csv: --section, default
    items).
    """
    lang = lang.lower()
    if report_day is not None and report is None:
        raise click.UsageError("--day needs --report week or --report month")
    if report is not None and (sweep_day is not None or overdue):
        raise click.UsageError("--report cannot be combined with --sweep or --overdue")
    portfolio, data = load_operations(source, seed=seed, customers=customers)
    supervision = data.supervision_list(portfolio)
    table = output_format.lower() == "table"
    console = make_console()
    if report is not None:
        when = data.as_of if report_day is None else report_day.date()
        meeting = (
            supervision.weekly_report(when, by=by)
            if report == "week"
            else supervision.monthly_report(Period(when.year, when.month), by=by)
        )
        if table:
            console.print(meeting_report_table(meeting, report, lang))
        else:
            emit(meeting_section(meeting), output_format, section)
        return
    day = data.as_of if sweep_day is None else sweep_day.date()
    sections: list[Section] = []
    if sweep_day is not None:
        before = {i.id: i for i in supervision.open_items()}
        result = supervision.sweep(day, who=SWEEP_WHO)
        if source.db is not None:
            with source.open() as (_, store):
                assert store is not None  # a --db source opens its store
                store.operations.sweep(day, who=SWEEP_WHO)
        after = {i.id: i for i in supervision.items}
        candidates = supervision.supervision_order_candidates(day)
        if not table:
            sections.append(sweep_section(result, before, after))
            rows = [{"province": p, "escalations": n} for p, (n, _) in candidates.items()]
            sections.append(Section("candidates", ("province", "escalations"), rows))
        else:
            titles = ItemTitles.build(
                portfolio, data.kpi_observations, data, list(after.values()), lang
            )
            console.print(sweep_table(result, before, after, titles, lang))
        if candidates and table:
            listed = ("、" if lang == "zh" else ", ").join(
                f"{p}（{n}）" if lang == "zh" else f"{p} ({n})" for p, (n, _) in candidates.items()
            )
            console.print(
                Text(
                    f"应下发工作督办单的省份（升级次数）：{listed}"
                    if lang == "zh"
                    else f"Provinces due a supervision order (工作督办单), escalations: {listed}",
                    style="yellow",
                )
            )
        if table:
            console.print()
    items = [i for i in supervision.open_items() if i.opened_on <= day]
    if overdue:
        items = [i for i in items if i.is_overdue(day)]
    if not table:
        sections[:0] = [item_section(items, day), summary_section(items, by, day)]
        emit([*sections, orders_section(data)], output_format, section)
        return
    console.print(open_items_summary(items, by, day, lang))
    console.print()
    if items:
        titles = ItemTitles.build(portfolio, data.kpi_observations, data, items, lang)
        key = "sv_title_overdue" if overdue else "sv_title"
        title = supervision_title(
            lang,
            key,
            day=day.isoformat(),
            n=len(items),
            overdue=sum(i.is_overdue(day) for i in items),
        )
        console.print(supervision_table(items, titles, day, lang, title=title))
    console.print(Text(orders_line(data, lang), style="dim"))


# ---------------------------------------------------------------- lifecycle


@click.command()
@click.option(
    "--group", default=None, metavar="GROUP", help="One project group: the history of its moves."
)
@operations_source
@format_option
@lang_option
def lifecycle(
    group: str | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    lang: str,
) -> None:
    """Project lifecycles (PM管理法): start, plan, execute, monitor, review, improve, plan ...

    With --format json or csv, one table: the lifecycles, or with --group its moves.
    """
    lang = lang.lower()
    portfolio, data = load_operations(source, seed=seed, customers=customers)
    group_id = _resolve_group(group, portfolio, data)
    if output_format.lower() != "table":
        if group_id is None:
            emit(lifecycle_section(data.lifecycles), output_format)
        else:
            emit(moves_section(data.lifecycle(group_id)), output_format)
        return
    console = make_console()
    if group_id is None:
        console.print(lifecycle_table(portfolio, data.lifecycles, lang))
        return
    found = data.lifecycle(group_id)
    _print_moves(console, portfolio, group_id, found, lang)


def _print_moves(
    console: Console,
    portfolio: Portfolio,
    group_id: str,
    found: ProjectLifecycle | None,
    lang: str,
) -> None:
    zh = lang == "zh"
    name = group_name(portfolio, group_id, lang)
    out = report_table(f"{name}阶段变更记录" if zh else f"Lifecycle of {name}: moves")
    for header in (
        "#",
        "日期" if zh else "When",
        "操作人" if zh else "Who",
        "原阶段" if zh else "From",
        "新阶段" if zh else "To",
    ):
        out.add_column(header, no_wrap=True)
    for move in () if found is None else found.moves:
        out.add_row(
            str(move.seq),
            move.when.isoformat(),
            move.who,
            move.before.label(lang),
            move.after.label(lang),
        )
    console.print(out)
