"""Every failure that is not a bug is one line, ``Error: ...``, exit code 1, and changes nothing.

The walk runs every subcommand that takes ``--db`` against broken stores (a
text file, a CSV, a truncated store, a directory, a path in a missing
directory, ``''``, ``/dev/null``, a PostgreSQL port that refuses the
connection, and for reading commands a store that does not exist), and the
export and import outputs against paths that cannot be written. It checks
the exit code, that stderr is exactly one ``Error:`` line, and that the
directory holds the same files with the same contents afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING, Any

import click
import pytest
from click.testing import CliRunner

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.cli._app import cli
from keyaccount.exceptions import (
    KeyAccountError,
    OutputError,
    StoreBusyError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from keyaccount.io import write_portfolio_csv
from keyaccount.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

PORTFOLIO = Portfolio(
    [
        Customer("HQ", "保险总公司", "2021-01", segment="保险"),
        Customer("GD", "广东分公司", "2021-02", segment="保险", parent_id="HQ"),
    ],
    [
        RevenueRecord("GD", "policy_mailing", "2022-01", "1200.50", volume=3),
        RevenueRecord("HQ", "standard_express", "2022-02", "500.00"),
    ],
)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and directory under ``root`` with its content (``None`` for directories)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        key = os.fspath(path.relative_to(root))
        found[key] = None if path.is_dir() else path.read_bytes()
    return found


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _assert_one_error_line(result: Any, *names: str) -> None:
    assert result.exit_code == 1, (result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in result.output + result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with input files, a real store and broken --db targets; the cwd."""
    monkeypatch.chdir(tmp_path)
    write_portfolio_csv(PORTFOLIO, tmp_path / "customers.csv", tmp_path / "revenue.csv")
    with Store(tmp_path / "good.db") as store:
        store.save(PORTFOLIO)
    (tmp_path / "text.txt").write_text("just some words\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    whole = (tmp_path / "good.db").read_bytes()
    (tmp_path / "truncated.db").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "folder").mkdir()
    return tmp_path


BROKEN_DB: dict[str, Callable[[], tuple[str, str]]] = {
    # name: () -> (--db value, text the message must contain)
    "text file": lambda: ("text.txt", "text.txt"),
    "csv file": lambda: ("data.csv", "data.csv"),
    "truncated store": lambda: ("truncated.db", "truncated.db"),
    "directory": lambda: ("folder", "folder"),
    "missing directory": lambda: ("nowhere/store.db", "nowhere"),
    "empty": lambda: ("", "empty path"),
    "/dev/null": lambda: ("/dev/null", "/dev/null"),
    "refused postgresql": lambda: _refused_postgresql(),
}


def _refused_postgresql() -> tuple[str, str]:
    port = _closed_port()
    return (
        f"postgresql://ka:s3cret@127.0.0.1:{port}/ka",
        f"postgresql+psycopg://ka:***@127.0.0.1:{port}/ka",
    )


COMMANDS: dict[str, list[str]] = {
    "import": ["import", "--customers", "customers.csv", "--revenue", "revenue.csv"],
    "export": ["export", "--customers", "out.csv", "--revenue", "out-revenue.csv"],
    "evaluate": ["evaluate"],
    "evaluate --apply": ["evaluate", "--apply"],
    "backtest": ["backtest"],
    "recommend": ["recommend", "GD"],
    "report": ["report", "--out", "out.html"],
    "whitespace": ["whitespace"],
    "demo --db": ["demo", "--customers", "20", "--months", "6"],
    "targets": ["targets"],
    "payout": ["payout"],
    "kpi check": ["kpi", "check"],
    "escalations": ["escalations"],
    "escalations --sweep": ["escalations", "--sweep", "2023-01-01"],
    "lifecycle": ["lifecycle"],
    "metrics": ["metrics", "--as-of", "2023-12"],
    "db current": ["db", "current"],
    "db upgrade": ["db", "upgrade"],
    "db validate": ["db", "validate"],
}
READING = (
    "export",
    "evaluate",
    "evaluate --apply",
    "backtest",
    "recommend",
    "report",
    "whitespace",
    "targets",
    "payout",
    "kpi check",
    "escalations",
    "lifecycle",
    "metrics",
    "db current",
    "db upgrade",
    "db validate",
)


def test_the_walk_covers_every_subcommand_that_takes_db() -> None:
    """Every subcommand whose --help lists --db is in the walk."""
    with_db = set()
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        subcommands = command.list_commands(None) if isinstance(command, click.Group) else [""]  # type: ignore[arg-type]
        for sub in subcommands:
            args = [name, sub] if sub else [name]
            if "--db" in _run(*args, "--help").output:
                with_db.add(" ".join(args))
    assert with_db == {_command_path(args) for args in COMMANDS.values()}


def _command_path(args: list[str]) -> str:
    """The command (and subcommand of a group) that ``args`` run: ``kpi check``."""
    path = [args[0]]
    command = cli.get_command(None, args[0])  # type: ignore[arg-type]
    if isinstance(command, click.Group):
        path.append(args[1])
    return " ".join(path)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("broken", sorted(BROKEN_DB))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_broken_db_is_one_error_line_and_changes_nothing(
    workdir: Path, command: str, broken: str
) -> None:
    """Each subcommand with each broken --db: exit 1, one `Error:` line naming it, no change."""
    db, named = BROKEN_DB[broken]()
    before = _snapshot(workdir)
    result = _run(*COMMANDS[command], "--db", db)
    _assert_one_error_line(result, named)
    assert "s3cret" not in result.stderr
    assert _snapshot(workdir) == before


@pytest.mark.parametrize("command", READING)
def test_a_missing_store_is_not_created_by_reading_commands(workdir: Path, command: str) -> None:
    """A reading command on a store that does not exist fails and creates no file."""
    before = _snapshot(workdir)
    result = _run(*COMMANDS[command], "--db", "typo.db")
    _assert_one_error_line(result, "typo.db", "does not exist")
    assert _snapshot(workdir) == before


def test_export_of_a_missing_store_does_not_report_zero_rows(workdir: Path) -> None:
    """`export --db typo.db` is an error, not "exported 0" and an empty store."""
    result = _run("export", "--db", "typo.db", "--customers", "out.csv")
    assert "exported" not in result.output
    assert not (workdir / "typo.db").exists()
    assert not (workdir / "out.csv").exists()


def test_an_empty_database_file_is_not_a_store_for_reading(workdir: Path) -> None:
    """An existing empty file is refused by reading commands and left empty."""
    (workdir / "empty.db").write_bytes(b"")
    result = _run("export", "--db", "empty.db", "--customers", "out.csv")
    _assert_one_error_line(result, "empty.db")
    assert (workdir / "empty.db").read_bytes() == b""


def test_a_failed_import_into_a_new_store_leaves_no_store_file(workdir: Path) -> None:
    """An import that fails into a store it created removes that store file again."""
    (workdir / "bad.csv").write_text("customer_id,name\n", encoding="utf-8")
    before = _snapshot(workdir)
    result = _run("import", "--db", "new.db", "--customers", "bad.csv")
    _assert_one_error_line(result, "bad.csv")
    assert _snapshot(workdir) == before


# ---------------------------------------------------------------- outputs


def test_export_keeps_an_earlier_file_when_a_later_output_fails(workdir: Path) -> None:
    """`export --customers keep.csv --revenue /missing/r.csv` leaves keep.csv as it was."""
    (workdir / "keep.csv").write_text("precious\n", encoding="utf-8")
    before = _snapshot(workdir)
    result = _run(
        "export", "--db", "good.db", "--customers", "keep.csv", "--revenue", "missing/r.csv"
    )
    _assert_one_error_line(result, "missing/r.csv")
    assert _snapshot(workdir) == before


def test_export_to_a_missing_directory_names_it(workdir: Path) -> None:
    """Export into a directory that does not exist: one line naming the file, nothing written."""
    before = _snapshot(workdir)
    result = _run("export", "--db", "good.db", "--customers", "nowhere/c.csv")
    _assert_one_error_line(result, "nowhere/c.csv")
    assert _snapshot(workdir) == before


def test_export_to_a_full_device_is_one_error_line(workdir: Path) -> None:
    """Export to /dev/full (every write fails with ENOSPC): one line naming the file."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    # A device is written in place (a rename over it would replace the device node).
    before = _snapshot(workdir)
    result = _run("export", "--db", "good.db", "--customers", "/dev/full")
    _assert_one_error_line(result, "/dev/full", "No space left")
    assert _snapshot(workdir) == before
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_successful_export_writes_both_files_and_no_temporaries(workdir: Path) -> None:
    """A successful export leaves exactly the two files, no temporary ones."""
    result = _run("export", "--db", "good.db", "--customers", "c.csv", "--revenue", "r.csv")
    assert result.exit_code == 0, result.stderr
    assert (workdir / "c.csv").read_text(encoding="utf-8").startswith("customer_id,")
    assert not [p for p in workdir.iterdir() if p.name.endswith(".tmp")]


def test_reject_files_are_not_left_when_the_import_fails_later(workdir: Path) -> None:
    """A reject file is written only when the import commits; a later header error leaves none."""
    (workdir / "bad_header.csv").write_text("what,ever\nx,y\n", encoding="utf-8")
    (workdir / "some.csv").write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "N1,新客户,保险,,,,,2022-01\nN2,坏客户,NOPE,,,,,2022-01\n",
        encoding="utf-8",
    )
    before = _snapshot(workdir)
    result = _run(
        "import",
        "--db",
        "good.db",
        "--customers",
        "some.csv",
        "--revenue",
        "bad_header.csv",
        "--reject-dir",
        "rejects",
    )
    _assert_one_error_line(result, "bad_header.csv")
    assert _snapshot(workdir) == before


def test_reject_files_appear_when_the_import_commits(workdir: Path) -> None:
    """With --reject-dir and a successful import, the reject file is in place, complete."""
    (workdir / "some.csv").write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "N1,新客户,保险,,,,,2022-01\nN2,坏客户,NOPE,,,,,2022-01\n",
        encoding="utf-8",
    )
    result = _run("import", "--db", "good.db", "--customers", "some.csv", "--reject-dir", "rejects")
    assert result.exit_code == 0, result.stderr
    rejects = (workdir / "rejects" / "some.csv.rejects.csv").read_text(encoding="utf-8")
    assert "N2" in rejects
    assert "N1" not in rejects
    assert [p.name for p in (workdir / "rejects").iterdir()] == ["some.csv.rejects.csv"]


def test_reject_dir_that_is_a_file_is_one_error_line(workdir: Path) -> None:
    """--reject-dir under a path that is a file ('not a directory'): one line, nothing changed."""
    before = _snapshot(workdir)
    result = _run(
        "import",
        "--db",
        "good.db",
        "--customers",
        "customers.csv",
        "--reject-dir",
        "text.txt/rejects",
    )
    assert result.exit_code in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error:")
    assert "text.txt" in lines[-1]
    assert "Traceback" not in result.stderr
    assert _snapshot(workdir) == before


# ---------------------------------------------------------------- real mounts


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small tmpfs file systems (needs root and mount rights; skips without them)."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", os.fspath(target)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
        mounted.append(target)
        return target

    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and the mount command")
    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", os.fspath(target)], capture_output=True, check=False)


def _remount_ro(target: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", os.fspath(target)], check=True)


def test_a_store_on_a_read_only_file_system(workdir: Path, mount_tmpfs: Any) -> None:
    """Import into a store on a read-only file system: one line naming it; reading still works."""
    mnt = mount_tmpfs("size=4m")
    shutil.copy(workdir / "good.db", mnt / "store.db")
    _remount_ro(mnt)
    before = _snapshot(mnt)
    (workdir / "more.csv").write_text(
        "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
        "N1,新客户,保险,,,,,2022-01\n",
        encoding="utf-8",
    )
    result = _run("import", "--db", os.fspath(mnt / "store.db"), "--customers", "more.csv")
    _assert_one_error_line(result, "store.db", "read-only")
    assert _snapshot(mnt) == before
    exported = _run("export", "--db", os.fspath(mnt / "store.db"), "--customers", "c.csv")
    assert exported.exit_code == 0, exported.stderr
    new = _run("import", "--db", os.fspath(mnt / "new.db"), "--customers", "customers.csv")
    _assert_one_error_line(result, "store.db")
    assert new.exit_code == 1
    assert _snapshot(mnt) == before


def test_outputs_on_a_read_only_file_system(workdir: Path, mount_tmpfs: Any) -> None:
    """Export and --reject-dir on a read-only file system: one line naming the path."""
    mnt = mount_tmpfs("size=64k")
    (mnt / "keep.csv").write_text("precious\n", encoding="utf-8")
    _remount_ro(mnt)
    result = _run("export", "--db", "good.db", "--customers", os.fspath(mnt / "keep.csv"))
    _assert_one_error_line(result, "keep.csv", "Read-only")
    assert (mnt / "keep.csv").read_text(encoding="utf-8") == "precious\n"
    before = _snapshot(workdir)
    rejected = _run(
        "import",
        "--db",
        "good.db",
        "--customers",
        "customers.csv",
        "--reject-dir",
        os.fspath(mnt / "rejects"),
    )
    _assert_one_error_line(rejected, "rejects")
    assert _snapshot(workdir) == before


def test_export_to_a_full_disk_keeps_the_earlier_file(workdir: Path, mount_tmpfs: Any) -> None:
    """Export that fills a small disk: one line naming the file; the earlier file stays whole."""
    mnt = mount_tmpfs("size=16k")
    (mnt / "r.csv").write_text("earlier\n", encoding="utf-8")
    big = Portfolio(
        [Customer(f"C{i:05d}", f"客户{i}", "2021-01") for i in range(2000)],
        [RevenueRecord(f"C{i:05d}", "standard_express", "2022-01", "10.00") for i in range(2000)],
    )
    with Store(workdir / "big.db") as store:
        store.save(big)
    result = _run("export", "--db", "big.db", "--revenue", os.fspath(mnt / "r.csv"))
    _assert_one_error_line(result, "r.csv")
    assert (mnt / "r.csv").read_text(encoding="utf-8") == "earlier\n"
    assert [p.name for p in mnt.iterdir()] == ["r.csv"]


# ---------------------------------------------------------------- library


def test_library_reads_of_a_missing_store_raise_store_not_found(tmp_path: Path) -> None:
    """Store(path, create=False) on a missing file raises StoreNotFoundError and creates nothing."""
    with pytest.raises(StoreNotFoundError, match=r"typo\.db"):
        Store(tmp_path / "typo.db", create=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda p: (p / "t.txt").write_text("hello") and p / "t.txt",
        lambda p: (p / "d").mkdir() or p / "d",
        lambda p: p / "missing" / "x.db",
        lambda _: "/dev/null",
    ],
    ids=["text", "directory", "missing-directory", "dev-null"],
)
def test_library_open_raises_store_unavailable(tmp_path: Path, make: Any) -> None:
    """Store() on an unusable path raises StoreUnavailableError (an OSError), not a raw error."""
    target = make(tmp_path)
    with pytest.raises(StoreUnavailableError) as caught:
        Store(target)
    assert isinstance(caught.value, OSError)
    assert isinstance(caught.value, KeyAccountError)
    assert os.path.basename(os.fspath(target)) in str(caught.value)


def test_a_truncated_store_raises_store_unavailable_on_first_use(tmp_path: Path) -> None:
    """A store cut in half raises StoreUnavailableError when opened or first read."""
    with Store(tmp_path / "good.db") as store:
        store.save(PORTFOLIO)
    whole = (tmp_path / "good.db").read_bytes()
    (tmp_path / "half.db").write_bytes(whole[: len(whole) // 2])
    with (
        pytest.raises(StoreUnavailableError, match=r"half\.db"),
        Store(tmp_path / "half.db", create=False) as half,
    ):
        half.load()


def test_a_refused_postgresql_connection_hides_the_password() -> None:
    """A PostgreSQL server that refuses the connection: StoreUnavailableError, password hidden."""
    port = _closed_port()
    with pytest.raises(StoreUnavailableError) as caught:
        Store(f"postgresql://ka:s3cret@127.0.0.1:{port}/ka")
    assert "s3cret" not in str(caught.value)
    assert str(port) in str(caught.value)


@pytest.mark.timeout(60)
def test_a_write_lock_held_past_the_timeout_is_store_busy(tmp_path: Path) -> None:
    """A second connection holding BEGIN IMMEDIATE past busy_timeout: StoreBusyError, no write."""
    path = tmp_path / "busy.db"
    with Store(path) as store:
        store.save(PORTFOLIO)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with Store(path, busy_timeout=0.2) as store:
            started = time.monotonic()
            with pytest.raises(StoreBusyError) as caught:
                store.save(PORTFOLIO, replace=True)
            assert time.monotonic() - started < 30
            assert "busy.db" in str(caught.value)
            assert caught.value.retryable
            assert isinstance(caught.value, TimeoutError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Store(path, create=False) as store:
        assert store.counts()["customers"] == 2


@pytest.mark.timeout(60)
def test_the_cli_reports_a_busy_store_in_one_line(workdir: Path, monkeypatch: Any) -> None:
    """`import` while another writer holds the lock: one `Error:` line saying to try again."""
    import keyaccount.store._engine as engine_module

    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(workdir / "good.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        (workdir / "more.csv").write_text(
            "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period\n"
            "N1,新客户,保险,,,,,2022-01\n",
            encoding="utf-8",
        )
        result = _run("import", "--db", "good.db", "--customers", "more.csv")
    finally:
        other.execute("ROLLBACK")
        other.close()
    _assert_one_error_line(result, "good.db", "try again")


def test_output_error_is_an_os_error_naming_the_path(tmp_path: Path) -> None:
    """A library export to a missing directory raises OutputError (an OSError) naming the path."""
    with Store("sqlite://") as store:
        store.save(PORTFOLIO)
        with pytest.raises(OutputError, match="nowhere") as caught:
            store.export_csv(tmp_path / "nowhere" / "c.csv")
    assert isinstance(caught.value, OSError)


# ---------------------------------------------------------------- signals and pipes

_PYTHON = [sys.executable, "-m", "keyaccount"]


@pytest.mark.timeout(120)
def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`keyaccount demo | head -1`: no traceback, no 'Exception ignored' on stderr."""
    shell = f"{' '.join(_PYTHON)} demo --customers 200 --months 12 | head -1"
    done = subprocess.run(
        ["sh", "-c", shell], capture_output=True, text=True, timeout=100, cwd=tmp_path, check=False
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


def _default_sigint() -> None:
    """In the child before it runs: SIGINT's default action, whatever the parent ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_slow_export(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A `keyaccount export` of a large store to r.csv, started in a subprocess."""
    script = textwrap.dedent(
        """
        import sys, time
        import keyaccount.io._write as w
        real = w._Lines.text
        def slow(self, *args):
            sys.stderr.write("writing\\n"); sys.stderr.flush()
            time.sleep(30)
            return real(self, *args)
        w._Lines.text = slow
        from keyaccount.cli import main
        main(sys.argv[1:])
        """
    )
    with Store(tmp_path / "s.db") as store:
        store.save(PORTFOLIO)
    (tmp_path / "r.csv").write_text("earlier\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "export", "--db", "s.db", "--revenue", "r.csv"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a shell starts background jobs with SIGINT ignored, and
        # Python installs its Ctrl-C handler only where SIGINT is not ignored.
        preexec_fn=_default_sigint,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "writing"
    return proc, tmp_path / "r.csv"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)]
)
def test_a_signal_mid_export_leaves_no_half_written_output(
    tmp_path: Path, signum: int, code: int
) -> None:
    """SIGINT exits 130 with one line, SIGTERM as by default; no temporary left, r.csv kept."""
    proc, out = _start_slow_export(tmp_path)
    timer = threading.Timer(0.3, proc.send_signal, (signum,))
    timer.start()
    _, err = proc.communicate(timeout=100)
    timer.cancel()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    if signum == signal.SIGINT:
        assert len(err.strip().splitlines()) == 1
        assert "Interrupted" in err
    assert out.read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "s.db"]
