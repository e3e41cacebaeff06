"""Helpers shared by the benchmark scripts in this directory.

The scripts are run as ``python benchmarks/bench_x.py``, so Python puts this
directory on ``sys.path`` and they ``import _common``. Only the standard
library is imported at module level: a benchmark child process that measures
its own memory must not pay for numpy (or keyaccount) before it asks for it.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import numpy as np

MIB = 2**20
"""Bytes in a mebibyte."""
PAGE = os.sysconf("SC_PAGE_SIZE")
"""Bytes in a memory page (``/proc/self/statm`` counts pages)."""

# The default policy's product groups (segment rules) and the products it takes shares of.
JUDICIAL = (
    "court_express",
    "procuratorate_express",
    "labor_arbitration_express",
    "legal_document_express",
    "e_receipt",
)
AUTO = (
    "licence_mailing",
    "plate_mailing",
    "nonmotor_plate_service",
    "vehicle_inspection_service",
    "archive_warehousing",
)
SHARE_PRODUCTS = (*JUDICIAL, *AUTO, "card_letter", "policy_mailing")
YUAN = 100
"""Fen in a yuan."""


# ---------------------------------------------------------------- memory


def max_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_bytes() -> int:
    """The current resident set size of this process, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def mib(n: float) -> str:
    """``n`` bytes as whole MiB with thousands separators, e.g. ``1,234 MiB``."""
    return f"{n / MIB:,.0f} MiB"


class PeakSampler:
    """Samples this process's resident set size in a thread until stopped.

    Used as a context manager: ``start`` is the size when it was made,
    ``peak`` the largest size seen until the ``with`` block ended (both in
    bytes).

    Args:
        interval: Seconds between samples.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def traced_peak_mib(fn: Callable[[], Any]) -> float:
    """Memory allocated by ``fn`` at its peak, above what was live before (numpy included)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return (peak - base) / MIB


# ---------------------------------------------------------------- time


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    """Run ``fn`` ``repeat`` times; return the last result and each wall time.

    A garbage collection runs before each timed call, outside the timing.
    """
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


# ---------------------------------------------------------------- the run's conditions


def environment(libraries: Sequence[str] = ()) -> dict[str, Any]:
    """What a benchmark table must state about its run: machine, load and versions.

    ``libraries`` are distribution names (``"polars"``, ``"mlxtend"``); one that is not
    installed reads ``"not installed"``. The load averages are read at the call: call it
    at the start and at the end of a run (:func:`print_environment`) so that a table can
    say how busy the machine was.
    """
    from importlib import metadata

    versions: dict[str, str] = {"python": sys.version.split()[0]}
    for name in ("keyaccount", "numpy", *libraries):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpus": os.cpu_count(),
        "load_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "versions": versions,
        "huge_pages": huge_pages(),
    }


def huge_pages() -> dict[str, str]:
    """The kernel's transparent huge page settings and numpy's use of them.

    With ``defrag`` at ``madvise`` the kernel compacts memory on the spot to give a
    huge page to a region that asked for one, and numpy asks for every array of 4 MiB
    or more unless ``NUMPY_MADVISE_HUGEPAGE=0``: on a machine whose memory is
    fragmented, the first touch of fresh arrays then costs several times the work done
    with them (docs/benchmarks.md, "Huge pages").
    """
    settings = {}
    for name in ("enabled", "defrag"):
        path = Path("/sys/kernel/mm/transparent_hugepage") / name
        try:
            text = path.read_text()
        except OSError:
            continue
        chosen = text[text.find("[") + 1 : text.find("]")] if "[" in text else text.strip()
        settings[name] = chosen
    settings["NUMPY_MADVISE_HUGEPAGE"] = os.environ.get("NUMPY_MADVISE_HUGEPAGE", "(unset)")
    return settings


def print_environment(libraries: Sequence[str] = (), *, when: str = "start") -> None:
    """Print :func:`environment` as one ``# environment (when): ...`` JSON line."""
    print(f"# environment ({when}): {json.dumps(environment(libraries))}", flush=True)


# ---------------------------------------------------------------- child processes


def postgres_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by the PostgreSQL server processes here.

    Every process named ``postgres`` counts with its own time; the postmaster (the one
    whose parent is not ``postgres``) counts with its ended children's too, so a
    backend's time is not lost when its connection closes. Counts every server on the
    machine; 0.0 where ``/proc`` is missing.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for proc in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = proc.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name == "postgres":
            stats[int(proc.parent.name)] = text[text.rindex(")") + 2 :].split()
    total = 0
    for fields in stats.values():
        # fields from the state on: ppid is [1], utime [11], stime [12], cutime [13], cstime [14]
        total += int(fields[11]) + int(fields[12])
        if int(fields[1]) not in stats:
            total += int(fields[13]) + int(fields[14])
    return total / ticks


def run_child(script: str, args: Sequence[str], env: dict[str, str] | None = None) -> Any:
    """Run ``script`` with this Python and ``args``; the JSON of its last stdout line.

    ``env`` adds to (or replaces) variables of this process's environment.

    Raises:
        subprocess.CalledProcessError: The child failed.
    """
    done = subprocess.run(
        [sys.executable, script, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env} if env else None,
    )
    return last_json_line(done.stdout)


def last_json_line(stdout: str) -> Any:
    """The value of the last line of a child's output, which is JSON."""
    return json.loads(stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- evaluations


def final_codes(decision: Any) -> np.ndarray:
    """Tier or segment code after the month of a decision chain (int8).

    ``after`` where the outcome is a move, else ``before``.
    """
    import numpy as np

    from keyaccount.rules import Outcome

    return np.where(decision.outcome == Outcome.MOVE, decision.after, decision.before).astype(
        np.int8
    )


# ---------------------------------------------------------------- PostgreSQL


def start_postgres(
    workdir: Path, settings: Mapping[str, str]
) -> tuple[str, Callable[[], None]] | None:
    """Start a throwaway PostgreSQL server in ``workdir``.

    The newest server binaries in ``/usr/lib/postgresql/*/bin`` are used (run
    as the ``postgres`` user when this process is root); the server listens on
    a free port of 127.0.0.1 with trust authentication.

    Args:
        workdir: An empty directory for the data directory, socket and log.
        settings: Server settings passed as ``-c name=value``, in order.

    Returns:
        The admin URL (database ``postgres``) and a function that stops the
        server, or None when there are no server binaries.
    """
    import glob
    import pwd
    import socket

    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    bindir = next(
        (
            Path(d)
            for d in bindirs
            if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()
        ),
        None,
    )
    if bindir is None:
        return None
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = workdir / "data"
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ],
        check=True,
        capture_output=True,
    )
    options = " ".join(
        [
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={workdir}",
            *(f"-c {name}={value}" for name, value in settings.items()),
        ]
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(workdir / "log"),
            "-o",
            options,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


def psycopg_conninfo(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a plain psycopg connection string."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_database(admin_url: str, name: str, *, fresh: bool = True) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL.

    Args:
        admin_url: URL of a database on the server (its superuser's).
        name: The database to make.
        fresh: Drop and create it even when it exists (else keep an existing one).
    """
    import psycopg

    with psycopg.connect(psycopg_conninfo(admin_url), autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        if fresh or not conn.execute(query, (name,)).fetchone():
            conn.execute(f"DROP DATABASE IF EXISTS {name}".encode())
            conn.execute(f"CREATE DATABASE {name}".encode())
    return admin_url.rsplit("/", 1)[0] + "/" + name
