"""Logging: quiet by default, counts and durations at INFO, no personal data, ``keyaccount -v``."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from keyaccount.cli import cli
from keyaccount.demo import generate
from keyaccount.io import ErrorPolicy, iter_revenue_csv, read_customers_csv, write_portfolio_csv
from keyaccount.rules import default_policy
from keyaccount.store import Store
from keyaccount.utils import LOGGER_NAME, logging_to_stderr
from tests.scripts import run_python

if TYPE_CHECKING:
    from keyaccount import Portfolio

SMALL = ["--customers", "120", "--months", "24", "--seed", "5"]
"""A demo small enough for unit tests."""

LOG_LINE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) keyaccount[.\w]*: ", re.M)
"""A line written by ``keyaccount -v`` (the format of ``keyaccount.utils.LOG_FORMAT``)."""


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """A small demo portfolio."""
    return generate(customers=120, months=24, seed=5, end="2022-11")


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("keyaccount")]


# ---------------------------------------------------------------- the library


def test_the_package_logger_has_a_null_handler() -> None:
    """``keyaccount`` carries a NullHandler, so records never reach Python's last resort."""
    handlers = logging.getLogger(LOGGER_NAME).handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_the_library_is_quiet_by_default(tmp_path: Path) -> None:
    """Evaluating, importing and a failing event callback write nothing to stderr unconfigured."""
    code = """
import logging
from keyaccount.demo import generate
from keyaccount.rules import default_policy
from keyaccount.store import Store
pf = generate(customers=40, months=18, seed=1, end="2022-11")
default_policy().evaluate(pf, "2022-11")
with Store("sqlite://") as store:
    store.on_portfolio_saved(lambda event: 1 / 0)
    store.save(pf)
    assert store.counts()["customers"] == 40
    store.evaluate(default_policy(), "2022-11")
assert logging.getLogger("keyaccount").getEffectiveLevel() == logging.WARNING
"""
    proc = run_python(cwd=tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == ""


def test_evaluating_a_policy_logs_its_counts(
    demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO record on keyaccount.rules names the policy, month, customers and transitions."""
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        evaluation = default_policy().evaluate(demo, "2022-11")
    records = [r for r in caplog.records if r.name == "keyaccount.rules"]
    assert [r.levelno for r in records] == [logging.INFO]
    counts = evaluation.counts
    assert (
        records[0]
        .getMessage()
        .startswith(
            f"policy 'default' evaluated as of 2022-11 (columnar): {counts.customers} customers, "
            f"{counts.tier_moves} tier and {counts.segment_moves} segment transitions, "
            f"{counts.held} held, in "
        )
    )


def test_evaluating_a_metrics_table_logs_too(
    demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """Evaluating a metrics table with the reference engine logs which engine ran."""
    table = demo.metrics("2022-11")
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        default_policy().evaluate(table, engine="reference")
    assert any("(reference)" in m for m in _messages(caplog))


def test_debug_adds_the_decisions_by_rule(
    demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG the evaluation also logs how many customers each rule decided."""
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        evaluation = default_policy().evaluate(demo, "2022-11")
    assert f"policy 'default' decisions by rule: {dict(evaluation.counts.by_rule)}" in _messages(
        caplog
    )


def test_csv_readers_log_a_summary(
    tmp_path: Path, demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """Each reader logs the file, its good and bad rows and the time, once it is read."""
    customers, revenue = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    write_portfolio_csv(demo, customers, revenue)
    with revenue.open("a", encoding="utf-8") as f:
        f.write("C0000001,2022-13,court_express,1.00,1\n")
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        read_customers_csv(customers)
        batches = iter_revenue_csv(
            revenue, errors=ErrorPolicy.reject(tmp_path / "rejects.csv"), batch_rows=1000
        )
        good = sum(len(batch) for batch in batches)
    io_messages = [r.getMessage() for r in caplog.records if r.name == "keyaccount.io"]
    assert len(io_messages) == 2
    assert re.fullmatch(
        rf"read customers .*customers\.csv: {len(demo)} good rows, 0 bad, in \d+\.\d{{3}} s",
        io_messages[0],
    )
    assert re.fullmatch(
        rf"read .*revenue\.csv: {good + 1} rows, 1 bad, \d+ bytes, streamed in \d+\.\d{{3}} s",
        io_messages[1],
    )


def test_info_logs_hold_no_personal_data(
    tmp_path: Path, demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """Import, evaluation, apply and export at INFO log no customer id, name or province."""
    customers, revenue = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    write_portfolio_csv(demo, customers, revenue)
    policy = default_policy()
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME), Store(tmp_path / "s.db") as store:
        store.import_csv(customers, revenue)
        evaluation = policy.evaluate(demo, "2022-11")
        store.evaluate(policy, "2022-11")
        store.apply(evaluation.changes())
        store.export_csv(tmp_path / "c2.csv", tmp_path / "r2.csv")
    messages = _messages(caplog)
    assert len(evaluation.changes()) > 0
    assert {"keyaccount.io", "keyaccount.rules", "keyaccount.store"} <= {
        r.name for r in caplog.records
    }
    assert any(m.startswith("apply: ") for m in messages)
    text = "\n".join(messages)
    for customer in demo.customers():
        for personal in (customer.id, customer.name, customer.province):
            assert not personal or personal not in text, personal


def test_debug_logs_name_the_customers_of_applied_changes(
    demo: Portfolio, caplog: pytest.LogCaptureFixture
) -> None:
    """Customer ids appear at DEBUG only: each applied change is logged with its customer."""
    changes = default_policy().evaluate(demo, "2022-11").changes()
    with Store("sqlite://") as store:
        store.save(demo)
        with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
            store.apply(changes)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert all(any(f" of {c.customer_id} in " in m for m in debug) for c in changes)


# ---------------------------------------------------------------- the switch


def test_logging_to_stderr_shows_records_and_undoes_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Inside the block INFO records go to stderr in LOG_FORMAT; after it, nothing is left."""
    library = logging.getLogger(LOGGER_NAME)
    before = (list(library.handlers), library.level)
    with logging_to_stderr(logging.INFO):
        logging.getLogger("keyaccount.store").info("saved %d rows", 3)
        logging.getLogger("keyaccount.store").debug("not shown")
    logging.getLogger("keyaccount.store").info("after the block")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.fullmatch(r"\S+ \S+ INFO keyaccount\.store: saved 3 rows\n", captured.err)
    assert (list(library.handlers), library.level) == before


# ---------------------------------------------------------------- keyaccount -v


def test_verbose_demo_logs_to_stderr_and_leaves_stdout_alone() -> None:
    """`keyaccount -v demo` prints the same report; stderr holds INFO lines and nothing else."""
    runner = CliRunner()
    quiet = runner.invoke(cli, ["demo", *SMALL])
    verbose = runner.invoke(cli, ["-v", "demo", *SMALL])
    assert quiet.exit_code == verbose.exit_code == 0, verbose.output
    assert verbose.stdout == quiet.stdout
    assert quiet.stderr == ""
    lines = verbose.stderr.splitlines()
    assert lines
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert any(" INFO keyaccount.rules: policy 'default' evaluated as of " in x for x in lines)
    assert not any(" DEBUG " in line for line in lines)
    assert logging.getLogger(LOGGER_NAME).level == logging.NOTSET


def test_double_verbose_adds_debug_lines() -> None:
    """`keyaccount -vv` shows DEBUG records too."""
    result = CliRunner().invoke(cli, ["-vv", "demo", *SMALL])
    assert result.exit_code == 0, result.output
    assert " DEBUG keyaccount.rules: policy 'default' decisions by rule: " in result.stderr


def test_verbose_import_in_a_real_process(tmp_path: Path, demo: Portfolio) -> None:
    """A real `keyaccount -v import` logs reads and the import on stderr; without -v, none."""
    customers, revenue = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    write_portfolio_csv(demo, customers, revenue)
    script = Path(sys.executable).with_name("keyaccount")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}

    def run(*flags: str, db: str) -> subprocess.CompletedProcess[str]:
        args = [str(script), *flags, "import", "--db", str(tmp_path / db)]
        args += ["--customers", str(customers), "--revenue", str(revenue)]
        return subprocess.run(
            args, capture_output=True, text=True, encoding="utf-8", env=env, timeout=300
        )

    verbose, quiet = run("-v", db="a.db"), run(db="b.db")
    assert verbose.returncode == quiet.returncode == 0, verbose.stderr
    assert verbose.stdout == quiet.stdout
    assert not LOG_LINE.search(verbose.stdout)
    assert not LOG_LINE.search(quiet.stderr)
    logged = LOG_LINE.findall(verbose.stderr)
    assert logged
    assert set(logged) == {"INFO"}
    assert re.search(r" INFO keyaccount\.io: read customers .*customers\.csv: ", verbose.stderr)
    assert re.search(
        rf" INFO keyaccount\.store: import: {len(demo)} customers and "
        rf"{len(demo.revenue_columns)} revenue rows written, 0 rows rejected, in ",
        verbose.stderr,
    )
