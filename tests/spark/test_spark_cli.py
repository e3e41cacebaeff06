"""``keyaccount spark evaluate`` under ``spark-submit --master local[2]``, on Parquet files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
