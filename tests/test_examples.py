from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

EXPECTED_OUTPUT: dict[str, tuple[str, ...]] = {
    # INS-HQ group = HQ 12 x 12,000 + GD 12 x 8,800.50 + ZJ 12 x 2,500 (all of 2022).
    "quickstart.py": (
        "<Portfolio: 5 customers",
        "INS-HQ group: t12m 279606.00 yuan, active 12/12",
        "INS-HQ branches: ['INS-GD', 'INS-ZJ']",
        "INSURANCE x KEY: 1 customer(s), 105606.00 yuan",  # 12 x 8,800.50
        "unassigned: 1 customer(s)",
    ),
    "segmentation_notebook.py": (
        "Customers by segment x tier",
        "Revenue t12m by segment x tier (万元)",
        "Growth by tier",
        "Largest group accounts (roll-ups)",
        "Promotion candidates ACTIVE -> KEY:",
    ),
}
"""Lines each example must print; an example not listed must run and print something."""


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def test_every_expected_example_exists() -> None:
    """The examples this suite checks in detail are all present."""
    names = {path.name for path in _examples()}
    assert set(EXPECTED_OUTPUT) <= names


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_example_runs(path: Path, tmp_path: Path) -> None:
    """The example runs as a script from another directory, exits 0, prints what it should."""
    proc = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), f"{path.name} printed nothing"
    for expected in EXPECTED_OUTPUT.get(path.name, ()):
        assert expected in proc.stdout, f"{path.name}: missing {expected!r}"
