"""Database fixtures: every store test runs on SQLite and on a real, throwaway PostgreSQL.

The PostgreSQL server is ``pytest-postgresql``'s: its executor runs ``pg_ctl``
to create a cluster in a temporary directory, start it on a free loopback port
once per session and stop it at the end; its janitor creates and drops the
database each test gets. ``pg_ctl`` and ``initdb`` refuse to run as root and
the plugin cannot run them as another user, so under root the executor is
given a two-line script that runs the real ``pg_ctl`` as the ``postgres`` user
(``runuser``), and the server's directory belongs to that user.

The binaries are taken from ``$KEYACCOUNT_POSTGRES_BINDIR``, else the newest
``/usr/lib/postgresql/*/bin``, else ``PATH``. When no server can be started the
PostgreSQL tests are skipped with the reason, unless
``KEYACCOUNT_REQUIRE_POSTGRES=1`` is set (as in CI): then they fail.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import port_for
import pytest
from mirakuru.exceptions import ExecutorError
from pytest_postgresql.exceptions import PostgreSQLUnsupported
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

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
        candidates = [explicit]
    else:
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
            reverse=True,
        )
        on_path = shutil.which("initdb")
        if on_path is not None:
            candidates.append(str(Path(on_path).parent))
    for directory in map(Path, candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


class _UnavailableError(Exception):
    """PostgreSQL cannot be started here; the message says why."""


def _pg_ctl(bindir: Path, workdir: Path, serverdir: Path) -> str:
    """``pg_ctl``; under root, a script in ``workdir`` that runs it as ``postgres``."""
    if os.geteuid() != 0:
        return str(bindir / "pg_ctl")
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise _UnavailableError(
            "running as root and there is no 'postgres' user to run initdb as"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise _UnavailableError("running as root and runuser is not available")
    workdir.chmod(0o711)  # the script stays root's; only serverdir is the server's
    os.chown(serverdir, user.pw_uid, user.pw_gid)
    script = workdir / "pg_ctl"
    script.write_text(
        f"#!/bin/sh\nexec {shlex.quote(runuser)} -u postgres -- "
        f'{shlex.quote(str(bindir / "pg_ctl"))} "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


def _executor(workdir: Path) -> PostgreSQLExecutor:
    """An executor for a server in ``workdir/server`` (not started yet)."""
    bindir = _postgres_bindir()
    if bindir is None:
        raise _UnavailableError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in "
            "$KEYACCOUNT_POSTGRES_BINDIR, /usr/lib/postgresql/*/bin or on PATH; install them "
            "with `apt-get install -y postgresql`"
        )
    serverdir = workdir / "server"
    serverdir.mkdir()
    return PostgreSQLExecutor(
        executable=_pg_ctl(bindir, workdir, serverdir),
        host="127.0.0.1",
        port=port_for.select_random(),
        datadir=str(serverdir / "data"),
        unixsocketdir=str(serverdir),
        logfile=str(serverdir / "server.log"),
        startparams="-w",
        dbname="postgres",
        postgres_options=(
            "-c listen_addresses=127.0.0.1 -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        ),
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgreSQLExecutor]:
    """A throwaway PostgreSQL server for the whole session (skips when none can start)."""
    workdir = Path(tempfile.mkdtemp(prefix="keyaccount-pg-"))
    executor: PostgreSQLExecutor | None = None
    try:
        try:
            executor = _executor(workdir)
            executor.start()
        except (
            _UnavailableError,
            OSError,
            subprocess.SubprocessError,
            ExecutorError,
            PostgreSQLUnsupported,
        ) as exc:
            log = Path(executor.logfile) if executor is not None else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            reason = f"{exc} {tail}".strip()
            if _require_postgres():
                pytest.fail(f"KEYACCOUNT_REQUIRE_POSTGRES is set but {reason}", pytrace=False)
            pytest.skip(f"PostgreSQL tests skipped: {reason}")
        yield executor
    finally:
        if executor is not None:
            with contextlib.suppress(subprocess.SubprocessError, ExecutorError):
                executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


_numbers = itertools.count()


@contextlib.contextmanager
def _postgres_database(server: PostgreSQLExecutor) -> Iterator[str]:
    """A fresh database on ``server``, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"ka_test_{os.getpid()}_{next(_numbers)}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name):
        yield f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{name}"


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
    server: PostgreSQLExecutor = request.getfixturevalue("postgres_server")
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


@pytest.fixture(scope="module", params=BACKENDS)
def sql_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """One store per backend for a whole module (its examples replace the portfolio)."""
    if request.param == "sqlite":
        with Store("sqlite://") as store:
            yield store
        return
    server = request.getfixturevalue("postgres_server")
    with _postgres_database(server) as url, Store(url) as store:
        yield store
