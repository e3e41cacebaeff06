"""Database fixtures: every store test runs on SQLite and on a real, throwaway PostgreSQL.

The PostgreSQL server is started once per test session from the binaries of
the machine (``initdb`` and ``pg_ctl``, found in ``/usr/lib/postgresql/*/bin``
or on ``PATH``) in a temporary directory, listening on a free loopback port
with its socket in that directory and trust authentication; it is stopped at
the end. ``initdb`` refuses to run as root, so under root the server runs as
the ``postgres`` user (``runuser``). Each test gets a database of its own.

When no server can be started the PostgreSQL tests are skipped with the
reason, unless ``KEYACCOUNT_REQUIRE_POSTGRES=1`` is set (as in CI): then
they fail. ``KEYACCOUNT_POSTGRES_BINDIR`` names the binaries' directory
when they are elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from keyaccount.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BACKENDS = ("sqlite", "postgresql")
"""The backends every store test runs on."""


def _require_postgres() -> bool:
    return os.environ.get("KEYACCOUNT_REQUIRE_POSTGRES", "").strip() not in ("", "0")


def _postgres_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: given, newest installed, or on ``PATH``."""
    explicit = os.environ.get("KEYACCOUNT_POSTGRES_BINDIR", "").strip()
    if explicit:
        found = Path(explicit)
        return found if (found / "initdb").exists() and (found / "pg_ctl").exists() else None
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(str(Path(on_path).parent))
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.frozen
class PostgresServer:
    """A running throwaway PostgreSQL server."""

    port: int
    datadir: Path

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run ``sql`` in autocommit mode on the ``postgres`` database."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())


class _UnavailableError(Exception):
    """PostgreSQL cannot be started here; the message says why."""


def _start_postgres(workdir: Path) -> tuple[PostgresServer, list[str]]:
    bindir = _postgres_bindir()
    if bindir is None:
        raise _UnavailableError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in "
            "$KEYACCOUNT_POSTGRES_BINDIR, /usr/lib/postgresql/*/bin or on PATH; install them "
            "with `apt-get install -y postgresql`"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise _UnavailableError(f"psycopg is not installed ({exc}); install the dev group") from exc
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise _UnavailableError(
                "running as root and there is no 'postgres' user to run initdb as"
            ) from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise _UnavailableError("running as root and runuser is not available") from None
        os.chown(workdir, user.pw_uid, user.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    datadir = workdir / "data"
    port = _free_port()

    def run(*args: str) -> None:
        result = subprocess.run(
            [*run_as, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            log = workdir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise _UnavailableError(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()} {tail}"
            )

    run(
        str(bindir / "initdb"),
        "-D",
        str(datadir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    )
    options = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={workdir}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=50",
        ]
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(datadir),
        "-l",
        str(workdir / "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    stop = [*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
    return PostgresServer(port, datadir), stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skips when none can start)."""
    workdir = Path(tempfile.mkdtemp(prefix="keyaccount-pg-"))
    stop: list[str] | None = None
    try:
        try:
            server, stop = _start_postgres(workdir)
        except _UnavailableError as exc:
            if _require_postgres():
                pytest.fail(f"KEYACCOUNT_REQUIRE_POSTGRES is set but {exc}", pytrace=False)
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        yield server
    finally:
        if stop is not None:
            subprocess.run(stop, capture_output=True, check=False, timeout=120)
        shutil.rmtree(workdir, ignore_errors=True)


_numbers = itertools.count()


@contextlib.contextmanager
def _postgres_database(server: PostgresServer) -> Iterator[str]:
    name = f"ka_test_{os.getpid()}_{next(_numbers)}"
    server.admin(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name, ``"sqlite"`` or ``"postgresql"``."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with _postgres_database(server) as url:
        yield url


@pytest.fixture
def new_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], contextlib.AbstractContextManager[str]]:
    """Make more fresh databases on ``backend``, each as a context manager giving its URL."""
    numbers = itertools.count()

    @contextlib.contextmanager
    def make() -> Iterator[str]:
        if backend == "sqlite":
            yield f"sqlite:///{tmp_path / f'extra-{next(numbers)}.db'}"
            return
        with _postgres_database(request.getfixturevalue("postgres_server")) as url:
            yield url

    return make


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on a fresh database of each backend, closed after the test."""
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def memory_store() -> Iterator[Store]:
    """An in-memory SQLite store (``sqlite://``, one shared connection)."""
    with Store("sqlite://") as opened:
        yield opened
