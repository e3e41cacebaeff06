"""``keyaccount spark evaluate`` under ``spark-submit --master local[2]`` and ``spark backtest``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from keyaccount import spark as ks
from keyaccount.demo import generate
from keyaccount.rules import default_policy, default_policy_text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def test_spark_submit_runs_the_command_line_entry(spark: SparkSession, tmp_path: Path) -> None:
    """spark-submit runs the CLI on Parquet files; the decisions equal the in-memory ones."""
    submit = shutil.which("spark-submit") or str(Path(sys.executable).parent / "spark-submit")
    portfolio = generate(customers=20, months=14)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    customers.write.parquet(str(tmp_path / "customers"))
    (
        revenue.selectExpr(
            "customer_id",
            "product_id",
            "revenue_fen",
            "volume",
            "date_format(period, 'yyyy-MM') AS period",
        )
        .write.partitionBy("period")
        .parquet(str(tmp_path / "revenue"))
    )
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(default_policy_text(), encoding="utf-8")
    main = tmp_path / "keyaccount_main.py"  # the application file spark-submit runs
    main.write_text("from keyaccount.cli import main\n\nmain()\n", encoding="utf-8")
    env = os.environ | {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    result = subprocess.run(
        [
            submit,
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            str(main),
            "spark",
            "evaluate",
            "--customers",
            str(tmp_path / "customers"),
            "--revenue",
            str(tmp_path / "revenue"),
            "--policy",
            str(policy_file),
            "--as-of",
            "2022-11",
            "--out",
            str(tmp_path / "decisions"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    expected = default_policy().evaluate(portfolio, "2022-11")
    assert "20 customers" in result.stdout
    got = ks.to_evaluation(
        spark.read.parquet(str(tmp_path / "decisions")),
        default_policy(),
        "2022-11",
        customer_ids=list(expected.customer_ids),
    )
    assert got.transitions == expected.transitions
    assert got.held == expected.held


def test_spark_backtest_command_writes_months_by_period(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The backtest command writes period=YYYY-MM directories of the in-memory months."""
    from click.testing import CliRunner

    from keyaccount.cli import cli
    from keyaccount.rules import backtest

    portfolio = generate(customers=20, months=14)
    customers, revenue = ks.portfolio_frames(spark, portfolio)
    customers.write.parquet(str(tmp_path / "customers"))
    revenue.write.parquet(str(tmp_path / "revenue"))
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(default_policy_text(), encoding="utf-8")
    args = ["spark", "backtest", "--customers", str(tmp_path / "customers")]
    args += ["--revenue", str(tmp_path / "revenue"), "--policy", str(policy_file)]
    args += ["--start", "2022-10", "--end", "2022-11", "--initial-tier", "active"]
    args += ["--out", str(tmp_path / "backtest"), "--master", "local[2]"]
    try:  # runs in the tests' session, which the command leaves reading partitions as text
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        back = spark.read.parquet(str(tmp_path / "backtest"))
        got = ks.to_backtest(back, default_policy(), customer_ids=portfolio.customer_ids)
    finally:
        spark.conf.unset("spark.sql.sources.partitionColumnTypeInference.enabled")
    expected = backtest(default_policy(), portfolio, "2022-10", "2022-11", initial_tier="ACTIVE")
    assert sorted(p.name for p in (tmp_path / "backtest").glob("period=*")) == [
        "period=2022-10",
        "period=2022-11",
    ]
    moves = expected.moves_per_month()
    assert sum(moves) > 0
    rows = [line.split() for line in result.output.splitlines()]
    assert ["2022-10", "20", str(moves[0])] in [row[:3] for row in rows], result.output
    assert ["2022-11", "20", str(moves[1])] in [row[:3] for row in rows], result.output
    np.testing.assert_array_equal(got.tiers, expected.tiers)
    np.testing.assert_array_equal(got.tier_moves, expected.tier_moves)
    assert got.months == expected.months
