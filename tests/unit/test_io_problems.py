"""One sink for the bad rows of a reader and of its caller; reject files of a multi-file import."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import pytest

from keyaccount.exceptions import CsvImportError, OutputError, ValidationError
from keyaccount.io import iter_revenue_csv, read_customers_csv
from keyaccount.io.problems import ErrorPolicy, Problem, ProblemSink, reject_files

if TYPE_CHECKING:
    from pathlib import Path

REVENUE_HEADER = "customer_id,period,product_id,revenue,volume"
CUSTOMER_HEADER = "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period"


def write_csv(path: Path, header: str, *lines: str) -> Path:
    """A CSV file with ``header`` and ``lines``."""
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def rejects_of(path: Path) -> list[dict[str, str]]:
    """The rows of a reject file."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_caller_and_reader_problems_are_raised_together_in_line_order(tmp_path: Path) -> None:
    """The caller's bad rows and the reader's are listed in one error, sorted by line."""
    path = write_csv(
        tmp_path / "r.csv",
        REVENUE_HEADER,
        "A,2022-01,court_express,1.00,1",
        "B,2022-01,court_express,1.00,1",
        "C,2022-01,court_express,x,1",
    )

    def read() -> None:
        with ProblemSink(str(path), ErrorPolicy()) as sink:
            for batch in iter_revenue_csv(path, errors=sink, batch_rows=1, _block_bytes=40):
                for i in range(len(batch)):
                    if batch.customer_id[i] == "B":
                        sink.add(Problem(int(batch.line[i]), "customer_id", "B", "not ours"))

    with pytest.raises(CsvImportError) as caught:
        read()
    assert [(e.line, e.column) for e in caught.value.row_errors] == [
        (3, "customer_id"),
        (4, "revenue"),
    ]
    assert caught.value.total == 2


def test_a_caller_problem_does_not_stop_the_reader(tmp_path: Path) -> None:
    """Bad rows the caller adds do not stop the batches; the caller's close raises them."""
    lines = [f"A{i},2022-01,court_express,1.00,1" for i in range(10)]
    path = write_csv(tmp_path / "r.csv", REVENUE_HEADER, *lines)
    seen = 0
    sink = ProblemSink(str(path), ErrorPolicy())
    for batch in iter_revenue_csv(path, errors=sink, batch_rows=3):
        seen += len(batch)
        sink.add(Problem(int(batch.line[0]), "customer_id", str(batch.customer_id[0]), "no"))
        assert sink.failed
    assert seen == 10
    with pytest.raises(CsvImportError) as caught:
        sink.close()
    assert caught.value.total == 4


def test_caller_rows_go_to_the_same_reject_file(tmp_path: Path) -> None:
    """In reject mode the caller's rows land in the reader's reject file, under the header."""
    path = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        "A,甲,司法,,,,,2022-01",
        "B,乙,银河,,,,,2022-01",
    )
    target = tmp_path / "c.rejects.csv"
    with ProblemSink(str(path), ErrorPolicy.reject(target)) as sink:
        rows = read_customers_csv(path, errors=sink)
        assert list(rows.id) == ["A"]
        sink.add(Problem(2, "customer_id", "A", "held", sink.fields_of({"customer_id": "A"})))
        assert not sink.failed
    found = rejects_of(target)
    assert [(r["line"], r["column"], r["customer_id"]) for r in found] == [
        ("3", "segment", "B"),
        ("2", "customer_id", "A"),
    ]
    assert list(found[0])[:8] == CUSTOMER_HEADER.split(",")


def test_a_failed_block_leaves_no_reject_file(tmp_path: Path) -> None:
    """A sink closed because its block failed removes its reject file."""
    path = write_csv(tmp_path / "r.csv", REVENUE_HEADER, "A,2022-01,court_express,x,1")
    target = tmp_path / "rejects.csv"

    def read() -> None:
        with ProblemSink(str(path), ErrorPolicy.reject(target)) as sink:
            list(iter_revenue_csv(path, errors=sink))
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        read()
    assert not target.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_reject_files_are_renamed_into_place_when_the_block_succeeds(tmp_path: Path) -> None:
    """Each input gets <dir>/<name>.rejects.csv, created only when the whole block succeeds."""
    a = write_csv(tmp_path / "a.csv", REVENUE_HEADER, "A,2022-01,court_express,x,1")
    b = write_csv(tmp_path / "b.csv", REVENUE_HEADER, "B,2022-01,court_express,1.00,1")
    folder = tmp_path / "out" / "rejects"
    with reject_files(folder, [a, b]) as rejects:
        for path in (a, b):
            with rejects.sink(path) as sink:
                list(iter_revenue_csv(path, errors=sink))
        assert not (folder / "a.csv.rejects.csv").exists()
        assert rejects.rejected == 1
    assert rejects.files == [folder / "a.csv.rejects.csv", folder / "b.csv.rejects.csv"]
    assert [r["column"] for r in rejects_of(folder / "a.csv.rejects.csv")] == ["revenue"]
    assert rejects_of(folder / "b.csv.rejects.csv") == []


def test_reject_files_of_a_failed_import_are_removed_with_their_directory(tmp_path: Path) -> None:
    """A failure removes the reject files and the directories the call created."""
    a = write_csv(tmp_path / "a.csv", REVENUE_HEADER, "A,2022-01,court_express,x,1")
    folder = tmp_path / "new" / "rejects"

    def run() -> None:
        with reject_files(folder, [a]) as rejects, rejects.sink(a) as sink:
            list(iter_revenue_csv(a, errors=sink))
            raise RuntimeError("the database refused")

    with pytest.raises(RuntimeError):
        run()
    assert not (tmp_path / "new").exists()


def test_reject_files_refuse_inputs_that_share_a_name(tmp_path: Path) -> None:
    """Two inputs with the same file name would share a reject file: refused up front."""
    (tmp_path / "x").mkdir()
    with pytest.raises(ValidationError, match="share a name"):
        reject_files(
            tmp_path / "rejects", [tmp_path / "r.csv", tmp_path / "x" / "r.csv"]
        ).__enter__()
    assert not (tmp_path / "rejects").exists()


def test_without_a_directory_every_sink_raises(tmp_path: Path) -> None:
    """reject_files(None, ...) hands out raising sinks and writes nothing."""
    a = write_csv(tmp_path / "a.csv", REVENUE_HEADER, "A,2022-01,court_express,x,1")
    with reject_files(None, [a]) as rejects:
        sink = rejects.sink(a)
        with pytest.raises(CsvImportError):
            list(iter_revenue_csv(a, errors=sink))
    assert rejects.files == []
    assert rejects.rejected == 0


def test_an_unwritable_reject_directory_is_an_output_error(tmp_path: Path) -> None:
    """A reject directory that cannot be created raises OutputError naming it."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match="reject directory"):
        reject_files(blocker / "rejects", [tmp_path / "a.csv"]).__enter__()
