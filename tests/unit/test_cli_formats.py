"""`--format table|json|csv` and `--lang zh` on every command that prints results."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.cli import cli
from keyaccount.cli._numbers import count, json_money, money, money_heading, percent
from keyaccount.cli._output import csv_value, json_value
from keyaccount.demo import demo_operations, generate
from keyaccount.domain import Period, Tier
from keyaccount.rules import default_policy

if TYPE_CHECKING:
    from keyaccount.portfolio import Portfolio

SMALL = ["--seed", "7", "--customers", "300"]
"""The demo portfolio of these tests (operations commands and `metrics`)."""

AS_OF = "2022-11"
"""The last month of the demo's revenue."""

COMMANDS: dict[str, tuple[list[str], int]] = {
    # name: (arguments, exit code)
    "demo": (["demo", *SMALL, "--months", "24", "--top", "3"], 0),
    "metrics": (["metrics", "--demo", *SMALL, "--as-of", AS_OF, "--top", "20"], 0),
    "evaluate": (["evaluate", "--demo", *SMALL, "--as-of", AS_OF], 0),
    "backtest": (["backtest", "--demo", *SMALL, "--start", "2022-09", "--customer", "C0000001"], 0),
    "recommend": (["recommend", "C0000003", "--demo", "--k", "3"], 0),
    "whitespace": (["whitespace", "--demo", "--top", "5"], 0),
    "targets": (["targets", "--demo", *SMALL], 0),
    "targets --group": (["targets", "--demo", *SMALL, "--group", "courts"], 0),
    "targets --by-segment": (["targets", "--demo", *SMALL, "--by-segment"], 0),
    "payout": (["payout", "--demo", *SMALL], 0),
    "kpi check": (["kpi", "check", "--demo"], 1),
    "escalations": (["escalations", "--demo", *SMALL], 0),
    "escalations --sweep": (["escalations", "--demo", *SMALL, "--sweep", "2022-12-12"], 0),
    "escalations --report": (["escalations", "--demo", *SMALL, "--report", "month"], 0),
    "lifecycle": (["lifecycle", "--demo", *SMALL], 0),
    "lifecycle --group": (["lifecycle", "--demo", *SMALL, "--group", "courts"], 0),
    "rules check": (["rules", "check", "POLICY"], 0),
}
"""Every printing command (import and export: tests/integration/test_store_cli.py)."""

MONEY_KEYS = {
    "t12m_revenue",
    "prev12m_revenue",
    "own_t12m_revenue",
    "attributed",
    "target",
    "variance",
    "year_target",
    "ytd_attributed",
    "ytd_target",
    "ytd_variance",
    "excess",
    "pool",
    "project_manager_share",
    "rest",
    "share",
    "estimated_revenue",
}
"""Keys whose values are money: a decimal string in yuan with two decimals, or null."""

MONEY = re.compile(r"^-?\d+\.\d{2}$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
CJK = "\u3400-\u9fff"
ASCII_PAREN_BY_CHINESE = re.compile(rf"[{CJK}]\s*[()]|[()]\s*[{CJK}]")


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default policy saved to a file, for `rules check`."""
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    default_policy().save(path)
    return str(path)


def _invoke(args: list[str], policy: str) -> Result:
    args = [policy if a == "POLICY" else a for a in args]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def outputs(policy_file: str) -> dict[tuple[str, str], Result]:
    """Each command run once per format: ``(name, format) -> result``."""
    found: dict[tuple[str, str], Result] = {}
    for name, (args, code) in COMMANDS.items():
        for fmt in ("json", "csv"):
            result = _invoke([*args, "--format", fmt], policy_file)
            assert result.exit_code == code, (name, fmt, result.output)
            found[name, fmt] = result
    return found


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """The demo portfolio the commands with SMALL read."""
    return generate(seed=7, customers=300)


def _main_rows(document: Any) -> list[dict[str, Any]]:
    """The rows of the main section: the array, or the object's first section."""
    if isinstance(document, dict):
        document = next(iter(document.values()))
    assert isinstance(document, list)
    return document


def _sections(document: Any) -> dict[str, list[dict[str, Any]]]:
    return document if isinstance(document, dict) else {"": document}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_output_is_one_document_of_flat_rows(
    outputs: dict[tuple[str, str], Result], name: str
) -> None:
    """Stdout of --format json is one JSON document: arrays of flat objects, snake_case keys."""
    document = json.loads(outputs[name, "json"].stdout)
    for section, rows in _sections(document).items():
        assert isinstance(rows, list), section
        keys = None
        for row in rows:
            assert isinstance(row, dict)
            assert all(KEY.match(k) for k in row), row
            assert all(v is None or isinstance(v, str | int | float | bool) for v in row.values())
            assert keys is None or list(row) == keys, section
            keys = list(row)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_csv_has_the_columns_and_values_of_json(
    outputs: dict[tuple[str, str], Result], name: str
) -> None:
    """--format csv is the main section of the JSON: same header keys, rows and values."""
    rows = _main_rows(json.loads(outputs[name, "json"].stdout))
    raw = outputs[name, "csv"].stdout_bytes
    assert raw.endswith(b"\r\n")  # RFC 4180 line ends
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    read = list(reader)
    assert reader.fieldnames
    if rows:
        assert reader.fieldnames == list(rows[0])
    assert len(read) == len(rows)
    for got, row in zip(read, rows, strict=True):
        assert got == {k: csv_value(v) for k, v in row.items()}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_money_in_json_is_a_decimal_string_in_yuan(
    outputs: dict[tuple[str, str], Result], name: str
) -> None:
    """Every money value in JSON is a string with two decimals (or null), never a number."""
    document = json.loads(outputs[name, "json"].stdout)
    for rows in _sections(document).values():
        for row in rows:
            for key in MONEY_KEYS & set(row):
                value = row[key]
                assert value is None or (isinstance(value, str) and MONEY.match(value)), (key, row)


def test_messages_go_to_stderr(outputs: dict[tuple[str, str], Result]) -> None:
    """Notes (the dry run, the KPI items opened) are on stderr, never in the data."""
    evaluate = outputs["evaluate", "json"]
    assert "dry run: nothing was changed" in evaluate.stderr
    assert "dry run" not in evaluate.stdout
    kpi = outputs["kpi check", "csv"]
    assert "already on the supervision list" in kpi.stderr
    assert "supervision list" not in kpi.stdout


def test_metrics_equal_the_portfolio_metrics(
    outputs: dict[tuple[str, str], Result], portfolio: Portfolio
) -> None:
    """`metrics --format json` rows are Portfolio.metrics, exactly, largest revenue first."""
    rows = json.loads(outputs["metrics", "json"].stdout)
    table = portfolio.metrics(AS_OF)
    assert [r["customer_id"] for r in rows] == table.top(20)
    for row in rows[:5]:
        expected = table.row(row["customer_id"])
        for name, value in expected.items():
            assert row[name] == json_value(value), name
        assert row["tier"] == table.tier_of(row["customer_id"]).name
        assert row["name"] == portfolio.customer(row["customer_id"]).name


def test_metrics_rollup_and_segment(portfolio: Portfolio) -> None:
    """--rollup gives the roll-up figures; --segment keeps that segment's customers."""
    args = ["metrics", "--demo", *SMALL, "--as-of", AS_OF, "--format", "json"]
    rolled = json.loads(CliRunner().invoke(cli, [*args, "--rollup", "--top", "3"]).stdout)
    table = portfolio.metrics(AS_OF, rollup=True)
    for row in rolled:
        assert row["t12m_revenue"] == json_value(table.row(row["customer_id"])["t12m_revenue"])
    courts = json.loads(CliRunner().invoke(cli, [*args, "--segment", "司法"]).stdout)
    expected = [cid for cid in table.top(len(table)) if table.segment_of(cid) is not None]
    judicial = {cid for cid in expected if table.segment_of(cid).name == "JUDICIAL"}  # type: ignore[union-attr]
    assert {r["customer_id"] for r in courts} == judicial
    assert all(r["segment"] == "JUDICIAL" for r in courts)
    none = json.loads(CliRunner().invoke(cli, [*args, "--segment", "unassigned"]).stdout)
    assert none
    assert all(r["segment"] is None for r in none)


def test_metrics_bad_segment_is_a_usage_error() -> None:
    """An unknown --segment exits 2 and names the value."""
    result = CliRunner().invoke(
        cli, ["metrics", "--demo", *SMALL, "--as-of", AS_OF, "--segment", "bakery"]
    )
    assert result.exit_code == 2
    assert "bakery" in result.output


def test_demo_json_money_equals_the_library(
    outputs: dict[tuple[str, str], Result],
) -> None:
    """The demo's headline and payouts in JSON are the library's exact figures."""
    document = json.loads(outputs["demo", "json"].stdout)
    pf = generate(seed=7, customers=300, months=24)
    table = pf.metrics(AS_OF)
    total = sum(int(v) for v in table.columns["t12m_revenue"])
    assert document["headline"][0]["t12m_revenue"] == json_money(total)
    run = demo_operations(pf, seed=7).payouts(pf, "2021")
    pools = {p.group_id: json_money(p.pool_fen) for p in run}
    assert {r["group_id"]: r["pool"] for r in document["payouts"]} == pools
    assert [r["customer_id"] for r in document["top_customers"]] == table.top(3)


def test_evaluate_json_is_the_evaluation(
    outputs: dict[tuple[str, str], Result], portfolio: Portfolio
) -> None:
    """Every transition is listed (no --limit), with the exact explanation and enum names."""
    document = json.loads(outputs["evaluate", "json"].stdout)
    evaluation = default_policy().evaluate(portfolio, AS_OF)
    listed = document["transitions"]
    assert len(listed) == len(evaluation.transitions)
    for row, t in zip(listed, evaluation.transitions, strict=True):
        assert row["customer_id"] == t.customer_id
        assert row["before"] == (t.before.name if t.before else None)
        assert row["explanation"] == t.reason("en")
    assert document["summary"][0]["tier_moves"] == evaluation.counts.tier_moves
    money_cited = [
        value
        for t in evaluation.transitions
        for _, value in t.explanation
        if isinstance(value, Decimal)
    ]
    assert money_cited
    assert f"t12m_revenue={money_cited[0]}" in listed[0]["explanation"]


def test_whitespace_json_estimates_are_exact(outputs: dict[tuple[str, str], Result]) -> None:
    """Whitespace estimates in JSON are the library's Decimal yuan."""
    from keyaccount.crosssell import whitespace

    cells = list(whitespace(generate()))[:5]
    rows = json.loads(outputs["whitespace", "json"].stdout)
    assert [r["estimated_revenue"] for r in rows] == [
        json_money(c.estimated_revenue) for c in cells
    ]


@pytest.mark.parametrize(
    ("args", "section", "first"),
    [
        (COMMANDS["evaluate"][0], "held", "customer_id"),
        (COMMANDS["payout"][0], "shares", "group_id"),
        (COMMANDS["demo"][0], "headline", "as_of"),
        (COMMANDS["backtest"][0], "timelines", "policy"),
    ],
)
def test_section_chooses_the_csv_table(args: list[str], section: str, first: str) -> None:
    """--section NAME writes that table; JSON with --section is that table's array."""
    result = CliRunner().invoke(cli, [*args, "--format", "csv", "--section", section])
    assert result.exit_code == 0, result.output
    assert result.stdout.split(",", 1)[0] == first
    as_json = CliRunner().invoke(cli, [*args, "--format", "json", "--section", section])
    assert isinstance(json.loads(as_json.stdout), list)


def test_unknown_section_names_the_allowed_ones() -> None:
    """A --section the command does not have is a usage error listing its sections."""
    result = CliRunner().invoke(cli, [*COMMANDS["payout"][0], "--format", "csv", "--section", "x"])
    assert result.exit_code == 2
    assert "'pools', 'shares'" in result.output
    absent = CliRunner().invoke(
        cli, [*COMMANDS["escalations"][0], "--format", "csv", "--section", "sweep"]
    )
    assert absent.exit_code == 2
    assert "the sections are items, summary, orders" in absent.output


# ---------------------------------------------------------------- real pipes


def _pipe_through_json_tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    script = Path(sys.executable).with_name("keyaccount")
    with subprocess.Popen(
        [str(script), *args, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as producer:
        tool = subprocess.run(
            [sys.executable, "-m", "json.tool"],
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            check=False,
        )
        assert producer.wait(timeout=300) == 0
    return tool


@pytest.mark.parametrize("name", ["demo", "evaluate", "metrics"])
def test_json_pipes_into_json_tool(name: str) -> None:
    """`keyaccount ... --format json | python -m json.tool` works from the real command line."""
    tool = _pipe_through_json_tool(*COMMANDS[name][0])
    assert tool.returncode == 0, tool.stderr
    assert json.loads(tool.stdout)


# ---------------------------------------------------------------- Chinese


ENGLISH_HEADINGS = (
    "policy",
    "Policy",
    "transitions",
    "held",
    "dry run",
    "customers",
    "Customers",
    "Revenue",
    "revenue",
    "Top",
    "month",
    "total",
    "Total",
    "backtest",
    "Project",
    "Segment",
    "Tier",
    "YoY",
    "Attainment",
    "Payout",
    "Whitespace",
    "Rule",
    "Examples",
    "yuan",
    "buys",
    "under",
    "Cross-sell",
    "Metrics",
    "Stage",
    "Level",
    "Breaches",
)
"""English heading words that must not appear in `--lang zh` output."""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_chinese_output_has_no_english_headings_or_ascii_parentheses(
    policy_file: str, name: str
) -> None:
    """With --lang zh, headings and messages are Chinese with full-width parentheses."""
    args, code = COMMANDS[name]
    result = CliRunner().invoke(
        cli, [*[policy_file if a == "POLICY" else a for a in args], "--lang", "zh"]
    )
    assert result.exit_code == code, result.output
    text = result.stdout + result.stderr
    assert re.search(f"[{CJK}]", text)
    if name == "rules check":  # the findings are the library's English messages
        text = "\n".join(line for line in text.splitlines() if "［" not in line)
    for word in ENGLISH_HEADINGS:  # as a word, not inside an identifier (policy_mailing)
        assert not re.search(rf"(?<![\w/.-]){re.escape(word)}(?![\w-])", text), word
    assert not ASCII_PAREN_BY_CHINESE.search(text), ASCII_PAREN_BY_CHINESE.search(text)
    assert "近12月" not in text


def test_chinese_names_products(policy_file: str) -> None:
    """Products are shown by their Chinese names in Chinese (ids only in full-width brackets)."""
    rec = CliRunner().invoke(cli, [*COMMANDS["recommend"][0], "--lang", "zh"]).stdout
    assert "在用标准快递" in rec
    assert "standard_express," not in rec
    ws = CliRunner().invoke(cli, [*COMMANDS["whitespace"][0], "--lang", "zh"]).stdout
    assert "海外仓" in ws
    assert "overseas_warehouse" not in ws


def test_chinese_reasons_use_the_glossary() -> None:
    """`evaluate --lang zh` cites metrics by their Chinese names, money in 元."""
    result = CliRunner().invoke(cli, [*COMMANDS["evaluate"][0], "--lang", "zh"])
    assert "近12个月收入：" in result.stdout
    assert "t12m_revenue" not in result.stdout
    assert "试运行" in result.stderr


# ---------------------------------------------------------------- numbers


def test_one_number_format_in_every_table() -> None:
    """Evaluate and demo write money the same way: thousands separators, two decimals."""
    evaluate = CliRunner().invoke(cli, [*COMMANDS["evaluate"][0], "--limit", "3"]).stdout
    assert re.search(r"t12m_revenue = \d{1,3}(,\d{3})+\.\d{2} yuan", evaluate)
    assert not re.search(r"= \d{5,}\.\d{2}", evaluate)
    demo = CliRunner().invoke(cli, COMMANDS["demo"][0]).stdout
    assert re.search(r"Revenue, trailing 12 months\s+\d{1,3}(,\d{3})+\.\d{2} yuan", demo)


def test_number_helpers() -> None:
    """money, count and percent: exact, separated, one decimal; absent is a dash."""
    assert money(10**15 + 1) == "10,000,000,000,000.01"
    assert money(Decimal("0.10"), "wan") == "0.00"
    assert money(-150, signed=True) == "-1.50"
    assert money(150, signed=True) == "+1.50"
    assert money(None) == percent(None) == count(None) == "–"
    assert count(1234567) == "1,234,567"
    assert percent(-0.0449, signed=True) == "-4.5%"
    assert percent(0.98765, decimals=2) == "98.77%"
    assert json_money(10**17 + 5) == "1000000000000000.05"
    assert money_heading("收入", "yuan", "zh") == "收入（元）"
    assert money_heading("Revenue", "wan", "en", wrap=True) == "Revenue\n(10k yuan)"


def test_json_values() -> None:
    """JSON values follow the contract: money strings, enums by name, periods, no NaN."""
    assert json_value(Decimal("1.5")) == "1.50"
    assert json_value(Tier.KEY) == "KEY"
    assert json_value(Period.parse("2022-03")) == "2022-03"
    assert json_value(float("nan")) is None
    assert csv_value(None) == ""
    assert csv_value(True) == "true"
    with pytest.raises(TypeError):
        json_value(object())


@given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
def test_money_texts_are_exact(fen: int) -> None:
    """Any 64-bit fen: the JSON text reads back exactly; the table text has the same digits."""
    text = json_money(fen)
    assert MONEY.match(text)
    assert Decimal(text) * 100 == fen
    assert money(fen).replace(",", "") == text
    assert json_money(Decimal(text)) == text
