"""Atomic outputs: files renamed into place together, only when everything succeeded."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.crosssell import build_graph, write_graphml, write_node_link_json
from keyaccount.exceptions import OutputError
from keyaccount.io import (
    ErrorPolicy,
    iter_revenue_csv,
    write_customers_csv,
    write_revenue_csv,
)
from keyaccount.utils import atomic_outputs, atomic_path

if TYPE_CHECKING:
    from pathlib import Path

PORTFOLIO = Portfolio(
    [Customer("A", "甲", "2022-01")],
    [RevenueRecord("A", "standard_express", "2022-01", "1.00")],
)


def test_a_failure_inside_the_group_leaves_every_target_as_it_was(tmp_path: Path) -> None:
    """An error after the first of two outputs keeps both earlier files and no temporaries."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("old a\n")
    second.write_text("old b\n")

    def both() -> None:
        with atomic_outputs():
            write_customers_csv(first, PORTFOLIO)
            write_revenue_csv(tmp_path / "missing" / "b.csv", PORTFOLIO)

    with pytest.raises(OutputError, match="missing"):
        both()
    assert first.read_text() == "old a\n"
    assert second.read_text() == "old b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_outputs_of_a_group_appear_only_at_its_end(tmp_path: Path) -> None:
    """Inside a group a written file is not yet at its target; after the group it is."""
    target = tmp_path / "r.csv"
    with atomic_outputs():
        write_revenue_csv(target, PORTFOLIO)
        assert not target.exists()
    assert target.read_text(encoding="utf-8").startswith("customer_id,period")


def test_a_missing_directory_is_an_output_error_naming_the_file(tmp_path: Path) -> None:
    """Writing into a missing directory raises OutputError (an OSError) naming the file."""
    with pytest.raises(OutputError, match="nowhere") as caught:
        write_customers_csv(tmp_path / "nowhere" / "c.csv", PORTFOLIO)
    assert isinstance(caught.value, OSError)


def test_a_new_output_gets_the_usual_permissions(tmp_path: Path) -> None:
    """A new file gets 0o666 less the umask, not the 0o600 of a temporary file."""
    mask = os.umask(0o022)
    try:
        write_customers_csv(tmp_path / "c.csv", PORTFOLIO)
    finally:
        os.umask(mask)
    assert (tmp_path / "c.csv").stat().st_mode & 0o777 == 0o666 & ~0o022


def test_an_existing_output_keeps_its_permissions(tmp_path: Path) -> None:
    """Replacing a file keeps its mode."""
    target = tmp_path / "c.csv"
    target.write_text("old")
    target.chmod(0o640)
    write_customers_csv(target, PORTFOLIO)
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_device_is_written_in_place(tmp_path: Path) -> None:
    """A character device target (/dev/null) is written directly, never replaced by a file."""
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with atomic_path("/dev/null") as path:
        path.write_text("discarded")
    assert not os.path.isfile("/dev/null")


def test_graph_exports_are_atomic(tmp_path: Path) -> None:
    """GraphML and node-link JSON exports leave an earlier file intact on failure."""
    graph = build_graph(PORTFOLIO, "2022-01")
    target = tmp_path / "g.json"
    target.write_text("earlier")

    def export() -> None:
        with atomic_outputs():
            write_node_link_json(graph, target)
            write_graphml(graph, tmp_path / "g.graphml")
            raise RuntimeError("later failure")

    with pytest.raises(RuntimeError):
        export()
    assert target.read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


def _revenue_file(path: Path, rows: list[str]) -> Path:
    path.write_text("customer_id,period,product_id,revenue,volume\n" + "".join(rows), "utf-8")
    return path


def _many_rows(count: int) -> list[str]:
    return [f"A,2022-{1 + i % 12:02d},,1.00,\n" for i in range(count)] + ["A,2022-13,,2.00,\n"]


def test_a_readers_reject_file_appears_when_the_read_ends(tmp_path: Path) -> None:
    """A reader in reject mode renames its reject file into place only after the last row."""
    source = _revenue_file(tmp_path / "r.csv", _many_rows(2000))
    rejects = tmp_path / "r.rejects.csv"
    batches = iter_revenue_csv(
        source, errors=ErrorPolicy.reject(rejects), batch_rows=100, _block_bytes=1024
    )
    next(batches)
    assert not rejects.exists()
    assert sum(len(b) for b in batches) == 2000 - 100
    assert "2022-13" in rejects.read_text("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.rejects.csv"]


def test_a_read_stopped_early_leaves_no_reject_file(tmp_path: Path) -> None:
    """A reader closed before its end keeps an earlier reject file and leaves no temporary."""
    source = _revenue_file(tmp_path / "r.csv", _many_rows(2000))
    rejects = tmp_path / "r.rejects.csv"
    rejects.write_text("earlier\n", "utf-8")
    batches = iter_revenue_csv(
        source, errors=ErrorPolicy.reject(rejects), batch_rows=100, _block_bytes=1024
    )
    next(batches)
    batches.close()
    assert rejects.read_text("utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.rejects.csv"]
