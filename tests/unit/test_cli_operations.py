"""The operations commands and the operations sections of ``keyaccount demo``.

``targets``, ``payout``, ``kpi check``, ``escalations`` and ``lifecycle``: every figure
checked against what the API computes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import TYPE_CHECKING

import attrs
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from keyaccount.cli import cli
from keyaccount.cli._demo import report_month
from keyaccount.cli._render import attributed_group_figures, format_money, project_groups_table
from keyaccount.cli._source import SOURCE_ERROR
from keyaccount.demo import demo_operations, generate
from keyaccount.domain import Level, Period, PeriodRange, Role, format_yuan, yuan_to_fen
from keyaccount.operations import (
    OperationsData,
    OwnershipMove,
    SpanKind,
    SubjectAttributes,
    compute_payouts,
    default_kpi_registry,
    detect_kpi_breaches,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from keyaccount import Portfolio
    from keyaccount.operations import KpiBreach

SEED = 5
CUSTOMERS = 600
DEMO = ["--demo", "--seed", str(SEED), "--customers", str(CUSTOMERS)]
"""The demo source of every command here: small enough for unit tests."""


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """The portfolio the commands generate with DEMO."""
    return generate(seed=SEED, customers=CUSTOMERS)


@pytest.fixture(scope="module")
def ops(portfolio: Portfolio) -> OperationsData:
    """Its operations data, as the commands make it."""
    return demo_operations(portfolio, seed=SEED)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _line_with(text: str, needle: str) -> str:
    """The one line of ``text`` holding ``needle``."""
    found = [line for line in text.splitlines() if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def _row_starting(text: str, prefix: str) -> str:
    """The one line of ``text`` that starts with ``prefix``."""
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _signed(fen: int) -> str:
    return ("+" if fen > 0 else "") + format_yuan(fen)


def _fen(amount: Decimal | None) -> int:
    assert amount is not None
    return yuan_to_fen(amount)


# ---------------------------------------------------------------- targets


def test_targets_show_each_groups_year(portfolio: Portfolio, ops: OperationsData) -> None:
    """`targets --year 2021`: each group's attributed, target, variance and attainment."""
    result = _run("targets", *DEMO, "--year", "2021")
    assert result.exit_code == 0, result.output
    assert "Attainment by project group, 2021" in result.output
    table = ops.attainment(portfolio, "2021")
    rows = sorted(table.rows(kind=SpanKind.YEAR), key=lambda r: -(r.attainment or 0.0))
    positions = []
    for row in rows:
        assert row.target is not None
        assert row.attainment is not None
        line = _line_with(result.output, format_yuan(_fen(row.attributed)))
        assert format_yuan(_fen(row.target)) in line
        assert _signed(_fen(row.attributed) - _fen(row.target)) in line
        assert line.rstrip().endswith(_pct(row.attainment))
        positions.append(result.output.index(line))
    assert positions == sorted(positions)  # highest attainment first
    total = sum(_fen(r.attributed) for r in rows)
    target = sum(_fen(r.target) for r in rows)
    footer = _line_with(result.output, "Total")
    assert format_yuan(total) in footer
    assert footer.rstrip().endswith(_pct(total / target))


def test_targets_default_to_the_last_full_year() -> None:
    """Without --year the table is of the last year that ended (2021 for data to 2022-11)."""
    result = _run("targets", *DEMO)
    assert result.exit_code == 0, result.output
    assert "Attainment by project group, 2021" in result.output


def test_targets_of_a_running_year_are_year_to_date(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """`--year 2022` (data to 2022-11) shows January to November and the full-year target."""
    result = _run("targets", *DEMO, "--year", "2022")
    assert result.exit_code == 0, result.output
    assert "2022 to date (to 2022-11)" in result.output
    table = ops.attainment(portfolio, "2022")
    for group_id in ops.group_ids:
        row = table.row(group_id, "2022-11")
        assert row.ytd_target is not None
        line = _line_with(result.output, format_yuan(_fen(row.ytd_attributed)))
        assert format_yuan(_fen(row.ytd_target)) in line
    year_target = sum(ops.targets.target_fen(g, "2022") or 0 for g in ops.group_ids)
    assert f"Full-year target 2022: {format_yuan(year_target)} yuan" in result.output
    assert "Q4" not in result.output  # the fourth quarter has not ended


def test_targets_of_one_group_by_month(portfolio: Portfolio, ops: OperationsData) -> None:
    """`--group courts`: every month with its year to date, then quarters and the year."""
    result = _run("targets", *DEMO, "--year", "2021", "--group", "courts")
    assert result.exit_code == 0, result.output
    table = ops.attainment(portfolio, "2021")
    for row in table.rows(group_id="courts"):
        line = _row_starting(result.output, f"{row.span} ")
        assert format_yuan(_fen(row.attributed)) in line
        assert format_yuan(_fen(row.ytd_attributed)) in line
    for other in ("banks", "2020-12", "2022-01"):
        assert other not in result.output


def test_targets_group_by_chinese_name() -> None:
    """--group takes a group's Chinese name too, and --lang zh gives Chinese labels."""
    result = _run("targets", *DEMO, "--year", "2021", "--group", "法院", "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "法院项目组2021年目标完成情况" in result.output
    assert "2021年一季度" in result.output
    assert "Attainment" not in result.output


def test_targets_by_segment_add_up_to_the_group(portfolio: Portfolio, ops: OperationsData) -> None:
    """--by-segment: segment rows of a group add up to its attributed revenue."""
    result = _run("targets", *DEMO, "--year", "2021", "--by-segment")
    assert result.exit_code == 0, result.output
    by_group = ops.attainment(portfolio, "2021")
    by_segment = ops.attainment(portfolio, "2021", by_segment=True)
    for group_id in ops.group_ids:
        group_row = by_group.row(group_id, "2021")
        segments = [
            r
            for r in by_segment.rows(group_id=group_id, kind=SpanKind.YEAR)
            if r.span.start.year == 2021
        ]
        assert sum(_fen(r.attributed) for r in segments) == _fen(group_row.attributed)
        for r in segments:
            assert format_yuan(_fen(r.attributed)) in result.output


def test_targets_in_chinese() -> None:
    """With --lang zh the headers and group names are Chinese."""
    result = _run("targets", *DEMO, "--year", "2021", "--lang", "zh")
    assert result.exit_code == 0, result.output
    for label in ("2021年各项目组目标完成情况", "完成率", "合计", "法院项目组", "一季度"):
        assert label in result.output
    for word in ("Attainment", "Courts", "Total"):
        assert word not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "nosuch"], "no project group 'nosuch'"),
        (["--year", "1990"], "no revenue or targets in 1990"),
        (["--year", "20x1"], "'20x1' is not a valid integer"),
        (["--lang", "fr"], "'fr' is not one of"),
    ],
)
def test_targets_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    """A bad option is exit code 2 with a message naming the value."""
    result = _run("targets", *DEMO, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


# ---------------------------------------------------------------- sources


@pytest.mark.parametrize(
    "command", [["targets"], ["payout"], ["kpi", "check"], ["escalations"], ["lifecycle"]]
)
def test_every_operations_command_needs_one_source(command: list[str]) -> None:
    """Neither --db nor --demo is the shared usage error."""
    result = _run(*command)
    assert result.exit_code == 2, result.output
    assert SOURCE_ERROR in result.output


# ---------------------------------------------------------------- payout


def test_payout_pools_and_shares(portfolio: Portfolio, ops: OperationsData) -> None:
    """`payout --period 2021`: pools and member shares as compute_payouts gives them."""
    result = _run("payout", *DEMO, "--period", "2021")
    assert result.exit_code == 0, result.output
    table = ops.attainment(portfolio, "2021")
    figures = {
        r.group_id: (r.attributed, r.target)
        for r in table.rows(kind=SpanKind.YEAR)
        if r.target is not None and r.target > 0
    }
    teams = {g.id: g.members for g in portfolio.project_groups}
    run = compute_payouts(ops.payout_scheme, "2021", figures, teams, scores=ops.scores_for(2021))
    assert "Payouts for 2021 (scheme 'default' version 1)" in result.output
    paid = [p for p in run if p.pool_fen]
    assert paid
    for payout in paid:
        pm = payout.project_manager
        line = _line_with(result.output, format_yuan(payout.pool_fen))
        assert pm.member in line
        assert format_yuan(pm.fen) in line
        assert line.split()[-2] == _pct(pm.fen / payout.pool_fen)
        assert pm.fen * 10 >= payout.pool_fen * 4  # the 40% floor
        for share in payout.shares:
            assert format_yuan(share.fen) in result.output
    for payout in run:
        if not payout.pool_fen:
            assert "below target: no pool" in _line_with(
                result.output, payout.project_manager.member + " "
            )
    footer = _line_with(result.output, "Total")
    assert format_yuan(run.total_fen) in footer


def test_payout_of_one_group_lists_its_members(portfolio: Portfolio, ops: OperationsData) -> None:
    """--group lists only that group's members, part-time support managers marked."""
    run = ops.payouts(portfolio, "2021")
    group = next(p for p in run if p.pool_fen)
    result = _run("payout", *DEMO, "--period", "2021", "--group", group.group_id)
    assert result.exit_code == 0, result.output
    shares = result.output[result.output.index("Shares of the pool by member") :]
    for share in group.shares:
        line = _line_with(shares, f" {share.member} ")
        assert format_yuan(share.fen) in line
        assert ("full-time" if share.full_time else "part-time") in line
        if share.role is not Role.PROJECT_MANAGER:
            assert share.score is not None
            assert f" {share.score} " in line
    others = [p for p in run if p.pool_fen and p.group_id != group.group_id]
    for payout in others:
        for share in payout.shares[1:]:
            assert f" {share.member} " not in shares


def test_payout_in_chinese_shows_the_year_and_labels() -> None:
    """--lang zh: 2021年, 奖励池, 项目经理, 专职/兼职."""
    result = _run("payout", *DEMO, "--period", "2021", "--lang", "zh")
    assert result.exit_code == 0, result.output
    for label in ("2021年激励兑现", "奖励池", "项目经理", "兼职", "专职", "合计"):
        assert label in result.output
    for word in ("Payouts", "part-time", "Total"):
        assert word not in result.output


def test_payout_of_a_running_year_says_so() -> None:
    """A period that has not ended is paid on revenue so far, with a note saying so."""
    result = _run("payout", *DEMO, "--period", "2022")
    assert result.exit_code == 0, result.output
    assert "revenue only up to 2022-11; 2022 has not ended" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2022Q5", "'2022Q5' is not a year, quarter or month"),
        ("1999", "no project group has a positive target for 1999"),
    ],
)
def test_payout_bad_period_is_a_usage_error(period: str, message: str) -> None:
    """A malformed period or one without targets is exit code 2 naming it."""
    result = _run("payout", *DEMO, "--period", period)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# ---------------------------------------------------------------- kpi check


def _breaches(portfolio: Portfolio, ops: OperationsData, month: Period) -> list[KpiBreach]:
    obs = ops.kpi_observations.take(ops.kpi_observations.period == month.ordinal)
    return list(
        detect_kpi_breaches(obs, ops.kpi_thresholds, SubjectAttributes.from_portfolio(portfolio))
    )


def test_kpi_check_lists_the_breaches_and_their_items(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """`kpi check` (last month): every breach with its rate and item; exit 1 on breaches."""
    covered = ops.kpi_months
    assert covered is not None
    breaches = _breaches(portfolio, ops, covered[1])
    assert breaches
    result = _run("kpi", "check", *DEMO)
    assert result.exit_code == 1, result.output
    assert f"KPI check for {covered[1]}" in result.output
    assert f"{len(breaches)} breaches" in result.output
    by_key = {i.source_key: i for i in ops.supervision_items if i.source_key}
    for b in breaches:
        line = _line_with(result.output, f"{b.numerator:,}/{b.denominator:,}")
        assert b.subject_id in line
        assert f"{b.rate:.2%}" in line
        assert f"{b.threshold.bound:.2%}" in line
        assert by_key[b.source_key].id in line
    assert f"Opened now: 0 items; already on the supervision list: {len(breaches)}" in " ".join(
        result.output.split()
    )


def test_kpi_check_pools_rates_by_kpi(portfolio: Portfolio, ops: OperationsData) -> None:
    """The summary adds numerators and denominators per KPI before dividing."""
    month = Period.parse("2022-06")
    result = _run("kpi", "check", *DEMO, "--period", str(month), "--lang", "zh")
    obs = ops.kpi_observations.take(ops.kpi_observations.period == month.ordinal)
    breaches = _breaches(portfolio, ops, month)
    assert result.exit_code == (1 if breaches else 0), result.output
    for key, num, den in obs.rollup(("kpi",)).rows():
        name = default_kpi_registry()[str(key[0])].name("zh")
        line = _row_starting(result.output, f"{name} ")
        assert f"{num:,}" in line
        assert f"{den:,}" in line
        assert f"{num / den:.2%}" in line
    assert "服务指标检查" in result.output


def test_kpi_check_outside_the_observations_is_a_usage_error(ops: OperationsData) -> None:
    """A month without observations is exit code 2 naming the months covered."""
    covered = ops.kpi_months
    assert covered is not None
    result = _run("kpi", "check", *DEMO, "--period", "2020-01")
    assert result.exit_code == 2, result.output
    assert f"they cover {covered[0]}..{covered[1]}" in " ".join(result.output.split())
    result = _run("kpi", "check", *DEMO, "--period", "2022-13")
    assert result.exit_code == 2, result.output


# ---------------------------------------------------------------- escalations


def test_escalations_list_every_open_item(portfolio: Portfolio, ops: OperationsData) -> None:
    """`escalations`: the open items (headquarters first) and their count by level."""
    result = _run("escalations", *DEMO)
    assert result.exit_code == 0, result.output
    open_items = [i for i in ops.supervision_items if i.is_open]
    for item in open_items:
        assert item.id in result.output
    first_rows = [line.split()[0] for line in result.output.splitlines() if line.startswith("SV-")]
    levels = [next(i for i in open_items if i.id == x).level for x in first_rows]
    assert levels == sorted(levels, reverse=True)
    for level in Level:
        count = sum(i.level is level for i in open_items)
        line = next(
            line for line in result.output.splitlines() if line.startswith(level.name + " ")
        )
        assert line.split()[1] == str(count)
    overdue = sum(i.is_overdue(ops.as_of) for i in open_items)
    assert f"as of {ops.as_of}: {len(open_items)} items, {overdue} overdue" in result.output


def test_escalations_overdue_only(ops: OperationsData) -> None:
    """--overdue lists only the items whose due day is before the day."""
    result = _run("escalations", *DEMO, "--overdue", "--by", "province")
    assert result.exit_code == 0, result.output
    for item in ops.supervision_items:
        if item.is_open:
            assert (item.id in result.output) == item.is_overdue(ops.as_of)


def test_escalations_sweep_escalates_what_the_api_does(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """--sweep DATE runs the sweep of that day and shows the items it escalated."""
    day = ops.as_of + dt.timedelta(days=5)
    expected = ops.supervision_list(portfolio).sweep(day, who="test")
    assert expected.escalated
    result = _run("escalations", *DEMO, "--sweep", day.isoformat(), "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert f"{day}升级处理：升级{len(expected.escalated)}项" in result.output
    for item_id in expected.escalated:
        assert item_id in result.output
    assert "督办清单" in result.output
    assert "HEADQUARTERS" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sweep", "2022-13-01"], "'2022-13-01' does not match the format"),
        (["--by", "city"], "'city' is not one of"),
    ],
)
def test_escalations_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    """A malformed day or dimension is exit code 2."""
    result = _run("escalations", *DEMO, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


# ---------------------------------------------------------------- lifecycle


def test_lifecycle_shows_each_groups_stage(portfolio: Portfolio, ops: OperationsData) -> None:
    """`lifecycle`: each group's stage and loops; --group lists its moves in Chinese."""
    result = _run("lifecycle", *DEMO)
    assert result.exit_code == 0, result.output
    for lc in ops.lifecycles:
        group = portfolio.project_group(lc.project_id)
        line = _line_with(result.output, group.name("en") + " ")
        assert lc.stage.name in line
    courts = ops.lifecycle("courts")
    assert courts is not None
    result = _run("lifecycle", *DEMO, "--group", "courts", "--lang", "zh")
    assert result.exit_code == 0, result.output
    for move in courts.moves:
        line = _line_with(result.output, move.when.isoformat())
        assert move.before.label_zh in line
        assert move.after.label_zh in line


# ---------------------------------------------------------------- keyaccount demo


def _demo(*args: str) -> str:
    result = _run("demo", "--customers", str(CUSTOMERS), "--seed", str(SEED), *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_shows_attainment_payouts_and_open_items(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """`keyaccount demo` ends with attainment and payouts of 2021 and the open items."""
    text = _demo()
    attainment = text.index("Attainment by project group, 2021")
    payouts = text.index("Payouts for 2021")
    supervision = text.index("Open supervision list")
    assert text.index("Cross-sell recommendations") < attainment < payouts < supervision
    table = ops.attainment(portfolio, "2021")
    total = sum(_fen(r.attributed) for r in table.rows(kind=SpanKind.YEAR))
    assert format_yuan(total) in _line_with(text[attainment:payouts], "Total")
    run = ops.payouts(portfolio, "2021")
    assert format_yuan(run.total_fen) in _line_with(text[payouts:supervision], "Total")
    open_items = [i for i in ops.supervision_items if i.is_open]
    for item in open_items[:20]:
        assert item.id in text[supervision:]
    assert re.search(r"Dispatch orders \(指挥调度令\): DO-000001", text[supervision:])


def test_demo_operations_sections_in_chinese() -> None:
    """In Chinese the three sections have Chinese titles and labels."""
    text = _demo("--lang", "zh")
    for label in (
        "2021年各项目组目标完成情况",
        "2021年激励兑现",
        "督办清单（截至",
        "总部",
        "计划完成",
    ):
        assert label in text
    for word in ("Attainment by project group", "Payouts for", "Open supervision list"):
        assert word not in text


# ---------------------------------------------------------------- project groups, attributed


def _moved(
    portfolio: Portfolio, ops: OperationsData, as_of: Period
) -> tuple[OperationsData, str, str, str, Period]:
    """The demo data with one customer with revenue moved to another group mid-window."""
    own = ops.ownership
    move_at = as_of - 5
    for cid in portfolio.customer_ids:
        before = own.owner(cid, move_at - 1)
        if (
            before is not None
            and own.owner(cid, as_of) == before
            and own.history(cid)[-1].period < move_at
        ):
            target = next(g for g in own.group_ids if g != before)
            moved = own.add([OwnershipMove(cid, target, move_at, "tester", "moved for the test")])
            if _customer_revenue(portfolio, cid, move_at, as_of) > 0:
                return attrs.evolve(ops, ownership=moved), cid, before, target, move_at
    raise AssertionError("no customer to move")


def _customer_revenue(portfolio: Portfolio, cid: str, first: Period, last: Period) -> int:
    rev = portfolio.revenue_columns
    position = portfolio.customer_ids.index(cid)
    keep = (rev.customer == position) & (rev.period >= first.ordinal) & (rev.period <= last.ordinal)
    return int(rev.fen[keep].sum())


def test_project_groups_use_attributed_revenue(portfolio: Portfolio, ops: OperationsData) -> None:
    """With operations data, a group's 12-month figures are attainment's attributed month sums."""
    as_of = report_month(portfolio)
    assert as_of is not None
    data, cid, old, new, move_at = _moved(portfolio, ops, as_of)
    figures = attributed_group_figures(portfolio, data, as_of)
    table = data.attainment(portfolio, PeriodRange(as_of - 23, as_of))
    for group_id in data.ownership.group_ids:
        months = list(table.rows(group_id=group_id, kind=SpanKind.MONTH))
        recent = sum(_fen(r.attributed) for r in months if r.span.start > as_of - 12)
        earlier = sum(_fen(r.attributed) for r in months if r.span.start <= as_of - 12)
        owned = sum(data.ownership.owner(c, as_of) == group_id for c in portfolio.customer_ids)
        assert figures[group_id] == (owned, recent, earlier)
    before = attributed_group_figures(portfolio, ops, as_of)
    share = _customer_revenue(portfolio, cid, move_at, as_of)
    assert figures[old][1] == before[old][1] - share
    assert figures[new][1] == before[new][1] + share
    assert (figures[old][0], figures[new][0]) == (before[old][0] - 1, before[new][0] + 1)


def test_project_groups_table_shows_attributed_figures(
    portfolio: Portfolio, ops: OperationsData
) -> None:
    """The demo's project-group rows show the attributed revenue and the owned count."""
    as_of = report_month(portfolio)
    assert as_of is not None
    figures = attributed_group_figures(portfolio, ops, as_of)
    text = _demo()
    start = text.index("Project groups (项目组), revenue attributed by month of ownership")
    section = text[start : text.index("Policy 'default'", start)]
    for group in portfolio.project_groups:
        count, t12m, _ = figures[group.id]
        line = _line_with(section, group.name("en")[:18])
        assert f"{count:,}" in line
        assert format_money(t12m) in line


def test_project_groups_without_operations_keep_current_membership(portfolio: Portfolio) -> None:
    """Without operations data a group counts the customers it holds now, as before."""
    as_of = report_month(portfolio)
    assert as_of is not None
    metrics = portfolio.metrics(as_of)
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(project_groups_table(portfolio, metrics, "en"))
    text = console.export_text()
    assert "attributed" not in text
    for group in portfolio.project_groups:
        position = {c: i for i, c in enumerate(metrics.customer_ids.tolist())}
        held = [position[c] for c in group.customer_ids if c in position]
        t12m = sum(int(metrics.columns["t12m_revenue"][i]) for i in held)
        line = _line_with(text, group.name("en")[:18])
        assert f" {len(held):,} " in line
        assert format_money(t12m) in line


# ---------------------------------------------------------------- meeting reports


@pytest.mark.parametrize(("report", "by"), [("week", "level"), ("month", "province")])
def test_escalations_meeting_report_counts_what_the_api_does(
    portfolio: Portfolio, ops: OperationsData, report: str, by: str
) -> None:
    """--report week|month prints the API's opened, closed, overdue and escalated counts."""
    day = ops.as_of - dt.timedelta(days=10)
    result = _run("escalations", *DEMO, "--report", report, "--day", day.isoformat(), "--by", by)
    assert result.exit_code == 0, result.output
    supervision = ops.supervision_list(portfolio)
    meeting = (
        supervision.weekly_report(day, by=by)
        if report == "week"
        else supervision.monthly_report(Period(day.year, day.month), by=by)
    )
    assert meeting.total.opened + meeting.total.closed + meeting.total.escalated > 0
    for row in (*meeting.rows, meeting.total):
        label = "Total" if row is meeting.total else row.key or "(no province)"
        line = _row_starting(result.output, label + " ")
        counts = [int(v.replace(",", "")) for v in line.split()[-4:]]
        assert counts == [row.opened, row.closed, row.overdue, row.escalated]


def test_escalations_meeting_report_in_chinese(ops: OperationsData) -> None:
    """The weekly report in Chinese has a Chinese title and column labels."""
    result = _run("escalations", *DEMO, "--report", "week", "--lang", "zh")
    assert result.exit_code == 0, result.output
    for label in ("周例会督办通报", "新增", "销号", "逾期", "升级", "合计"):
        assert label in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2022-11-01"], "--day needs --report"),
        (["--report", "week", "--overdue"], "cannot be combined"),
        (["--report", "year"], "'year' is not one of"),
    ],
)
def test_escalations_meeting_report_bad_options(args: list[str], message: str) -> None:
    """Bad --report / --day combinations are usage errors."""
    result = _run("escalations", *DEMO, *args)
    assert result.exit_code == 2
    assert message in result.output
