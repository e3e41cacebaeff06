from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

import keyaccount
from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.cli import cli, main
from keyaccount.cli._app import KeyAccountGroup
from keyaccount.cli._demo import print_report
from keyaccount.domain import Member, Period, ProjectGroup, Role
from keyaccount.exceptions import (
    PortfolioValidationError,
    UnknownCustomerError,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SMALL = ["--customers", "200", "--months", "24", "--seed", "7"]
"""A demo small enough for unit tests."""

ENGLISH_ONLY = ("STRATEGIC", "DORMANT", "JUDICIAL", "INSURANCE", "Customers by segment")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    """A click test runner."""
    return CliRunner()


def _all_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*path, name))


def _section(text: str, title: str) -> list[str]:
    """The lines after the line starting with ``title``, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    out: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line.rstrip())
    return out


def _numbers(line: str) -> list[str]:
    return re.findall(r"[+-]?\d[\d,]*(?:\.\d+)?%?", line)


# ---------------------------------------------------------------- help and version


def test_group_help_lists_every_command(runner: CliRunner) -> None:
    """`keyaccount --help` exits 0 and lists every registered subcommand."""
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: keyaccount" in result.output
    for name in cli.list_commands(click.Context(cli)):
        assert re.search(rf"^\s+{re.escape(name)}\s", result.output, re.MULTILINE), name


@pytest.mark.parametrize("path", list(_all_commands(cli)), ids=" ".join)
def test_every_command_has_help(runner: CliRunner, path: tuple[str, ...]) -> None:
    """`keyaccount COMMAND --help` exits 0 and shows the command's usage line."""
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: keyaccount {' '.join(path)}" in result.output


def test_version(runner: CliRunner) -> None:
    """`keyaccount --version` prints the package version."""
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"keyaccount, version {keyaccount.__version__}"


def test_no_arguments_shows_usage(runner: CliRunner) -> None:
    """Running the group without a command shows its usage and the commands."""
    result = runner.invoke(cli, [])
    assert "Usage: keyaccount" in result.output
    assert "demo" in result.output


# ---------------------------------------------------------------- the demo command


@pytest.fixture(scope="module")
def demo_portfolio() -> Portfolio:
    """The portfolio that `keyaccount demo` with SMALL's options generates."""
    from keyaccount import demo

    return demo.generate(seed=7, customers=200, months=24)


@pytest.fixture(scope="module")
def demo_en(runner: CliRunner) -> str:
    """Output of `keyaccount demo` (English) for the small demo."""
    result = runner.invoke(cli, ["demo", *SMALL, "--top", "5"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def demo_zh(runner: CliRunner) -> str:
    """Output of `keyaccount demo --lang zh` for the small demo."""
    result = runner.invoke(cli, ["demo", *SMALL, "--top", "5", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_prints_every_section(demo_en: str) -> None:
    """The demo report has the headline, both summaries, top customers, roll-ups, groups."""
    for title in (
        "Key-account portfolio",
        "Customers by segment and tier",
        "Revenue, trailing 12 months, by segment and tier",
        "Top 5 customers",
        "Group accounts rolled up",
        "Project groups",
    ):
        assert title in demo_en


def test_demo_totals_match_the_portfolio(demo_en: str, demo_portfolio: Portfolio) -> None:
    """The customer totals printed equal the generated portfolio's size."""
    customers_row = next(line for line in demo_en.splitlines() if "Customers  " in line)
    assert _numbers(customers_row) == [f"{len(demo_portfolio):,}"]
    total_row = _section(demo_en, "Customers by segment and tier")[-1]
    assert total_row.startswith("Total")
    assert _numbers(total_row)[-1] == f"{len(demo_portfolio):,}"


def test_demo_revenue_and_growth_match_the_metrics(demo_en: str, demo_portfolio: Portfolio) -> None:
    """The headline revenue is the exact sum of t12m revenue; growth is total over total - 1."""
    span = demo_portfolio.period_span
    assert span is not None
    as_of = span[1]
    table = demo_portfolio.metrics(as_of)
    t12m = sum(int(v) for v in table.columns["t12m_revenue"])
    prev = sum(int(v) for v in table.columns["prev12m_revenue"])
    yuan, fen = divmod(t12m, 100)
    assert f"  {yuan:,}.{fen:02d} yuan\n" in demo_en
    assert f"{(t12m / prev - 1) * 100:+.1f}%" in demo_en
    assert f"· {as_of}" in demo_en


def test_demo_top_customers_in_order(demo_en: str, demo_portfolio: Portfolio) -> None:
    """The top-customer table lists the five largest customers by t12m revenue, in order."""
    span = demo_portfolio.period_span
    assert span is not None
    expected = demo_portfolio.metrics(span[1]).top(5)
    rows = _section(demo_en, "Top 5 customers")
    listed = [line.split()[0] for line in rows if line.split()[0] in demo_portfolio]
    assert listed == expected


def test_demo_in_chinese(demo_zh: str) -> None:
    """With --lang zh, Chinese tier and segment labels appear and the English ones do not."""
    for label in ("战略客户", "重点客户", "活跃客户", "沉睡客户", "保险", "司法", "项目组", "万元"):
        assert label in demo_zh
    for word in ENGLISH_ONLY:
        assert word not in demo_zh


def test_demo_is_deterministic(runner: CliRunner, demo_en: str) -> None:
    """The same seed and options print the same report."""
    again = runner.invoke(cli, ["demo", *SMALL, "--top", "5"])
    assert again.output == demo_en


@pytest.mark.parametrize("bad", ["2022-13", "22-11", "next month"])
def test_demo_bad_end_is_a_usage_error(runner: CliRunner, bad: str) -> None:
    """A malformed --end exits 2 with a message naming the value and the option."""
    result = runner.invoke(cli, ["demo", "--end", bad])
    assert result.exit_code == 2
    assert bad in result.output
    assert "--end" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "value"),
    [("--lang", "fr"), ("--top", "0"), ("--customers", "x"), ("--seed", "-1")],
)
def test_demo_bad_option_is_a_usage_error(runner: CliRunner, option: str, value: str) -> None:
    """Bad --lang, --top, --customers or --seed values exit 2, naming option and value."""
    result = runner.invoke(cli, ["demo", option, value])
    assert result.exit_code == 2
    error = next(line for line in result.output.splitlines() if line.startswith("Error:"))
    assert option in error
    assert re.search(rf"(?<![\w-]){re.escape(value)}(?!\w)", error.split(":", 2)[-1])


# ---------------------------------------------------------------- errors from commands


def test_demo_generator_error_is_one_line(runner: CliRunner) -> None:
    """A history that would start before 1900 is a one-line `Error:` with exit code 1."""
    result = runner.invoke(cli, ["demo", "--end", "1900-06", "--months", "24"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "1900-06" in lines[0]


def _group_raising(error: Exception) -> click.Group:
    group = KeyAccountGroup(name="keyaccount")

    @group.command()
    def boom() -> None:
        """Raise the error."""
        raise error

    return group


def test_keyaccount_error_is_one_line(runner: CliRunner) -> None:
    """A KeyAccountError escaping a command prints `Error: ...` on one line and exits 1."""
    group = _group_raising(UnknownCustomerError("unknown customer 'C-404'"))
    result = runner.invoke(group, ["boom"])
    assert result.exit_code == 1
    assert result.output == "Error: unknown customer 'C-404'\n"


def test_error_group_is_one_line(runner: CliRunner) -> None:
    """A group of errors prints its count and the first problem on one line."""
    error = PortfolioValidationError(
        "2 problems in customers",
        [ValidationError("customer 'A':\nbad tier"), ValidationError("customer 'B'")],
    )
    result = runner.invoke(_group_raising(error), ["boom"])
    assert result.exit_code == 1
    assert result.output == "Error: 2 problems in customers; first: customer 'A': bad tier\n"


def test_other_errors_are_not_hidden(runner: CliRunner) -> None:
    """An error that is not a KeyAccountError (a bug) is not turned into a usage message."""
    result = runner.invoke(_group_raising(RuntimeError("bug")), ["boom"])
    assert isinstance(result.exception, RuntimeError)


def test_main_accepts_argv(capsys: pytest.CaptureFixture[str]) -> None:
    """`main([...])` runs the command line with the given arguments."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert keyaccount.__version__ in capsys.readouterr().out


# ---------------------------------------------------------------- the report itself


@pytest.fixture
def small_portfolio() -> Portfolio:
    """Five customers with hand-countable revenue, a hierarchy and a project group."""
    customers = [
        Customer("INS-HQ", "保险总公司", "2022-01", segment="INSURANCE", tier="STRATEGIC"),
        Customer("INS-GD", "广东分公司", "2022-01", segment="保险", tier="KEY", parent_id="INS-HQ"),
        Customer("INS-ZJ", "浙江分公司", "2022-01", segment="保险", parent_id="INS-HQ"),
        Customer("COURT-1", "某市中级人民法院", "2022-01", segment="JUDICIAL"),
        Customer("X-1", "某单客户项目", "2022-01", tier="DORMANT"),
        Customer("LATE", "新客户", "2025-03", segment="JUDICIAL"),
    ]
    records: list[RevenueRecord] = []
    for month in Period.range("2024-01", "2024-12"):
        records.append(RevenueRecord("INS-HQ", "policy_mailing", month, "1000.00"))
        records.append(RevenueRecord("INS-GD", "policy_mailing", month, "250.50"))
    for month in Period.range("2023-01", "2023-12"):
        records.append(RevenueRecord("INS-HQ", "policy_mailing", month, "500.00"))
    records += [
        RevenueRecord("INS-ZJ", "policy_mailing", "2024-06", "10000"),
        RevenueRecord("INS-ZJ", "policy_mailing", "2023-06", "10000"),
        RevenueRecord("X-1", "standard_express", "2024-03", "-100.00"),
        RevenueRecord("X-1", "standard_express", "2023-03", "5000.00"),
    ]
    for text in ("2023-02", "2023-05", "2023-09", "2024-02", "2024-05", "2024-09"):
        records.append(RevenueRecord("COURT-1", "court_express", text, "880.00"))
    courts = ProjectGroup(
        "courts",
        "Courts",
        "法院项目组",
        segment="JUDICIAL",
        members=(
            Member("赵敏", Role.PROJECT_MANAGER),
            Member("钱进", Role.ACCOUNT_MANAGER),
            Member("孙立", Role.ACCOUNT_MANAGER),
            Member("李强", Role.SERVICE_IMPROVEMENT),
        ),
        customer_ids=["COURT-1"],
    )
    return Portfolio(customers, records, project_groups=[courts])


def _report(portfolio: Portfolio, lang: str = "en", top: int = 10) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    print_report(console, portfolio, as_of=Period.parse("2024-12"), top=top, lang=lang)
    return out.getvalue()


def test_report_headline_sums(small_portfolio: Portfolio) -> None:
    """Headline: customers seen by the as-of month, exact revenue, growth of the totals."""
    text = _report(small_portfolio)
    # t12m: 12 x 1000 + 12 x 250.50 + 10000 + 3 x 880 - 100 = 27,546.00 yuan
    # prev: 12 x 500 + 10000 + 3 x 880 + 5000 = 23,640.00 yuan
    assert "  27,546.00 yuan\n" in text
    assert "  23,640.00 yuan\n" in text
    zh = _report(small_portfolio, lang="zh")
    assert "2.75万元（27,546.00元）" in zh
    assert "2.36万元（23,640.00元）" in zh
    assert f"{(27546 / 23640 - 1) * 100:+.1f}%" in text
    customers_row = next(line for line in text.splitlines() if "Customers  " in line)
    assert _numbers(customers_row) == ["5"]  # LATE is first seen after the as-of month


def test_report_segment_tier_summary(small_portfolio: Portfolio) -> None:
    """The summary has the unassigned row, per-tier counts and revenue, and totals."""
    text = _report(small_portfolio)
    counts = _section(text, "Customers by segment and tier")
    insurance = next(line for line in counts if line.startswith("INSURANCE"))
    assert _numbers(insurance) == ["0", "1", "1", "1", "3"]  # ZJ ACTIVE, GD KEY, HQ STRATEGIC
    unassigned = next(line for line in counts if line.startswith("(unassigned)"))
    assert _numbers(unassigned) == ["1", "0", "0", "0", "1"]
    assert _numbers(counts[-1]) == ["1", "2", "1", "1", "5"]
    revenue = _section(text, "Revenue, trailing 12 months, by segment and tier")
    unassigned_fen = next(line for line in revenue if line.startswith("(unassigned)"))
    assert _numbers(unassigned_fen)[0] == "-0.01"  # -100 yuan in 万元
    assert revenue[-1].endswith("100.0%")


def test_report_group_rollup(small_portfolio: Portfolio) -> None:
    """The roll-up row of a parent counts its branches and sums their revenue."""
    text = _report(small_portfolio)
    rows = _section(text, "Group accounts rolled up")
    hq = next(line for line in rows if line.startswith("INS-HQ"))
    # 12,000 + 3,006 + 10,000 = 25,006 yuan; prev 6,000 + 10,000 = 16,000 yuan
    assert _numbers(hq)[:3] == ["2", "2.50", f"{(25006 / 16000 - 1) * 100:+.1f}%"]
    assert hq.endswith(f"{12000 / 25006 * 100:.1f}%")
    assert not any(line.startswith("INS-GD") for line in rows)


def test_report_project_group_members_by_role(small_portfolio: Portfolio) -> None:
    """A project group row names its members under their roles and sums its customers."""
    text = _report(small_portfolio)
    rows = _section(text, "Project groups")
    courts = next(line for line in rows if line.startswith("Courts"))
    assert "赵敏" in courts
    assert "钱进, 孙立" in courts
    assert "李强" in courts
    assert courts.split()[-3:] == ["1", "0.26", "+0.0%"]  # 2,640 yuan both years


def test_report_top_limits_rows(small_portfolio: Portfolio) -> None:
    """--top limits the customer list, largest first, absent growth shown as a dash."""
    text = _report(small_portfolio, top=2)
    rows = _section(text, "Top 2 customers")
    ids = [line.split()[0] for line in rows if line.split()[0] in small_portfolio]
    assert ids == ["INS-HQ", "INS-ZJ"]
    text = _report(small_portfolio, top=5)
    gd = next(line for line in _section(text, "Top 5") if line.startswith("INS-GD"))
    assert "–" in gd.split()  # no revenue in the previous year


def test_report_in_chinese(small_portfolio: Portfolio) -> None:
    """In Chinese, labels, headers and the unassigned row are Chinese."""
    text = _report(small_portfolio, lang="zh")
    for label in ("战略客户", "重点客户", "（未分配行业）", "法院项目组", "项目经理", "服务提升"):
        assert label in text
    for word in (*ENGLISH_ONLY, "Courts", "(unassigned)"):
        assert word not in text


def test_report_without_hierarchy_or_groups() -> None:
    """A portfolio without parents or project groups says so instead of empty tables."""
    pf = Portfolio(
        [Customer("A", "A", "2024-01")], [RevenueRecord("A", "standard_express", "2024-12", 1)]
    )
    text = _report(pf)
    assert "No group accounts" in text
    assert "No project groups" in text


def test_report_of_an_empty_portfolio() -> None:
    """An empty portfolio prints one sentence."""
    out = io.StringIO()
    print_report(Console(file=out), Portfolio())
    assert out.getvalue() == "The portfolio holds no customers.\n"


# ---------------------------------------------------------------- real command-line runs


def _script() -> Path:
    return Path(sys.executable).with_name("keyaccount")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    return subprocess.run(
        args, capture_output=True, text=True, encoding="utf-8", env=env, timeout=300, check=False
    )


def test_python_dash_m_runs_the_demo() -> None:
    """`python -m keyaccount demo` runs, prints plain text (no colour codes) when piped."""
    proc = _run(sys.executable, "-m", "keyaccount", "demo", *SMALL, "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Top 3 customers" in proc.stdout
    assert "\x1b[" not in proc.stdout


def test_installed_script_runs() -> None:
    """The installed `keyaccount` executable prints its version and runs the demo in Chinese."""
    assert _script().exists(), f"console script missing: {_script()}"
    version = _run(str(_script()), "--version")
    assert version.returncode == 0
    assert keyaccount.__version__ in version.stdout
    proc = _run(str(_script()), "demo", *SMALL, "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert "战略客户" in proc.stdout


def test_installed_script_usage_error_exit_code() -> None:
    """A bad --end from the real command line exits 2 without a traceback."""
    proc = _run(str(_script()), "demo", "--end", "2022-13")
    assert proc.returncode == 2
    assert "2022-13" in proc.stderr
    assert "Traceback" not in proc.stderr
