"""Start-up time: ``import keyaccount``, the commonest first imports and ``keyaccount --help``.

    .venv/bin/python benchmarks/bench_startup.py [--runs 40] [--importtime]

Each variant is a fresh process, started ``--runs`` times; the rounds go round-robin over
the variants so that a busy moment of the machine hits all of them alike. The time of a
run is the wall time from starting the process to its exit, measured here (as
``hyperfine`` does); the floor is the bare interpreter (``python -c pass``), and the
tables give the best and the median run and the median minus the floor's median (what
the import itself costs). The first run of each variant is reported apart (``cold``:
the byte-code caches are warm, the page cache may not be). With ``--importtime`` each
variant is run once more under ``python -X importtime`` and its ten largest imports are
printed. Results are in docs/benchmarks.md ("Start-up").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common

BIN = Path(sys.executable).parent
PY = sys.executable

# name -> argv. The targets of the goal: `import keyaccount` < 100 ms, `keyaccount --help`
# < 150 ms; the others show what a first real import costs.
VARIANTS: dict[str, list[str]] = {
    "python -c pass (floor)": [PY, "-c", "pass"],
    "import keyaccount": [PY, "-c", "import keyaccount"],
    "from keyaccount import Portfolio": [PY, "-c", "from keyaccount import Portfolio"],
    "... Portfolio + rules.default_policy()": [
        PY,
        "-c",
        "from keyaccount import Portfolio; from keyaccount.rules import default_policy; "
        "default_policy()",
    ],
    "keyaccount --help": [str(BIN / "keyaccount"), "--help"],
    "python -m keyaccount --help": [PY, "-m", "keyaccount", "--help"],
    "import keyaccount.json": [PY, "-c", "import keyaccount.json"],
    "import numpy (reference)": [PY, "-c", "import numpy"],
    "import scipy.sparse (reference)": [PY, "-c", "import scipy.sparse"],
}


def _run(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _largest_imports(argv: list[str], count: int = 10) -> list[tuple[str, float]]:
    """The ``count`` imports with the largest cumulative time under ``-X importtime``."""
    if argv[0] != PY:  # the console script: run its entry point under the same interpreter
        code = "import sys; from keyaccount.cli import main; sys.argv[0] = 'keyaccount'; main()"
        argv = [PY, "-c", code, *argv[1:]]
    done = subprocess.run(
        [PY, "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=True
    )
    rows = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[1].strip().isdigit():
            rows.append((fields[2].rstrip(), int(fields[1]) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:count]


def main() -> None:
    """Run every variant ``--runs`` times and print one JSON line per variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    _common.print_environment(["scipy", "click", "attrs"])

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.runs + 1):
        for name, argv in VARIANTS.items():
            times[name].append(_run(argv))

    floor = statistics.median(times["python -c pass (floor)"][1:])
    print(f"{'variant':42s} {'cold ms':>8s} {'best ms':>8s} {'median ms':>10s} {'- floor':>8s}")
    for name, runs in times.items():
        cold, warm = runs[0], runs[1:]
        row = {
            "variant": name,
            "cold_ms": round(cold * 1000, 1),
            "best_ms": round(min(warm) * 1000, 1),
            "median_ms": round(statistics.median(warm) * 1000, 1),
            "median_minus_floor_ms": round((statistics.median(warm) - floor) * 1000, 1),
            "runs": len(warm),
        }
        print(
            f"{name:42s} {row['cold_ms']:8.1f} {row['best_ms']:8.1f} {row['median_ms']:10.1f}"
            f" {row['median_minus_floor_ms']:8.1f}"
        )
        print(json.dumps(row))
    if args.importtime:
        for name, argv in VARIANTS.items():
            print(f"# {name}: largest imports (cumulative ms, one run)")
            for module, ms in _largest_imports(argv):
                print(f"#   {ms:7.1f}  {module.strip()}")
    _common.print_environment(["scipy", "click", "attrs"], when="end")


if __name__ == "__main__":
    main()
