"""The documentation of the rules: its Python examples run, its example policy is clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from keyaccount.rules import Policy, Severity

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"
EXAMPLE_POLICY = ROOT / "examples" / "policy.toml"


def test_rules_doc_examples_run(tmp_path: Path) -> None:
    """The Python blocks of docs/rules.md, run in order as one script, succeed."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 4
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE_POLICY, tmp_path / "examples" / "policy.toml")
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert " -> " in proc.stdout  # the first block prints transitions
    assert " by '" in proc.stdout


def test_example_policy_is_clean() -> None:
    """examples/policy.toml loads and has no errors or warnings."""
    policy = Policy.load(EXAMPLE_POLICY)
    assert policy.name == "growth-focus"
    assert not [f for f in policy.validate() if f.severity is not Severity.INFO]


def test_doc_lists_every_finding_code() -> None:
    """Every finding code the validator can report is documented."""
    text = DOC.read_text(encoding="utf-8")
    for code in (
        "never-fires",
        "shadowed-rule",
        "unreachable-tier",
        "inescapable-tier",
        "flip-flop",
        "stay-rule",
        "unreachable-segment",
    ):
        assert f"`{code}`" in text
