from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "segmentation.ipynb"
KERNEL = "keyaccount-tests"
TIMEOUT_S = 120
"""Per cell; the whole notebook runs in well under a minute."""

EXPECTED = (
    "客户编号,交易日期,金额,产品",  # the raw-transaction CSV, in the file's own column names,
    "transactions written",
    "amount_fen",  # ... read back with a column mapping,
    "monthly sums",  # ... and summed to months
    "JUDICIAL",  # the segment x tier table's row labels
    "INSURANCE",
    "UNASSIGNED",
    "STRATEGIC",  # ... and its column labels
    "司法",  # the same table with Chinese labels
    "r_score",  # RFM scores and segments
    "RFM segment",
    "growth-focus",  # the variant policy, compared with the default
    "tier moves",
    "image/png",  # the plots
    "score",  # recommendations with their evidence
    "whitespace cells",
)
"""Text each run of the notebook must show somewhere in its outputs."""
PLOTS = 5
"""Figures: the heatmaps, concentration, tier flows, whitespace and a customer's graph."""


def _kernel_manager(tmp_path: Path) -> KernelManager:
    """A kernel manager that starts this interpreter's ipykernel, whatever kernels are installed."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}), encoding="utf-8"
    )
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def _read() -> Any:
    """The committed notebook, as nbformat 4."""
    return nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]


def _outputs_text(notebook: Any) -> str:
    """Every output of every code cell as one text: streams, results, displays, errors."""
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("output_type", ""))
            parts.append(output.get("text", ""))
            for mime, value in output.get("data", {}).items():
                parts.append(mime)
                if mime.startswith("text/"):
                    parts.append(value if isinstance(value, str) else "".join(value))
            parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def test_committed_notebook_has_no_outputs() -> None:
    """The notebook is committed with its outputs cleared and valid as nbformat 4."""
    notebook = _read()
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_notebook_runs_and_shows_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executed top to bottom in a fresh kernel, no cell errs and the key results appear."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = _read()
    kernel = _kernel_manager(tmp_path)
    client = nbclient.NotebookClient(
        notebook, km=kernel, timeout=TIMEOUT_S, resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.perf_counter()
    try:
        client.execute(cleanup_kc=True)  # closes the client's sockets ...
    finally:
        if kernel.has_kernel:  # ... and a kernel manager we made is ours to stop
            kernel.shutdown_kernel(now=True)
        kernel.context.term()
    elapsed = time.perf_counter() - started
    text = _outputs_text(notebook)
    assert "error" not in {
        output.get("output_type") for cell in notebook.cells for output in cell.get("outputs", [])
    }, text
    missing = [expected for expected in EXPECTED if expected not in text]
    assert text.count("image/png") >= PLOTS, f"fewer than {PLOTS} figures shown"
    assert not missing, text[-5000:]
    assert elapsed < 4 * 60, f"the notebook took {elapsed:.0f} s"
