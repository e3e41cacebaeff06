"""Benchmark: checking a large policy file (``keyaccount rules check``: load, then validate).

Usage::

    .venv/bin/python benchmarks/bench_policy_check.py                  # 4,000 / 40,000 / 150,000
    .venv/bin/python benchmarks/bench_policy_check.py --sizes 150000 --repeat 5
    .venv/bin/python benchmarks/bench_policy_check.py --src /tmp/old/src  # another checkout

For each size the script writes a generated policy file into
``bench-out/policy/`` (the generator of the test suite's 150,000-rule case:
seven kinds of tier and segment rules over shared metrics, with thresholds that
grow with the rule number, so that many rules shadow one another and many
pairs flip-flop), then, in a fresh child process, times ``--repeat`` times:

- ``tomllib``: ``tomllib.loads`` of the file's text alone (the share of the
  standard library's TOML parser in loading);
- ``load``: ``Policy.load(path)`` (read, TOML, every condition parsed and
  type-checked, the policy built);
- ``validate``: ``policy.validate()`` (the transition graph's reachability,
  ``never-fires``, ``shadowed-rule``, ``flip-flop``, ``stay-rule``).

A garbage collection runs before each timed call, outside the timing. The
table gives the best and the median wall-clock seconds, the CPU seconds of the
best run, the number of findings and the child's peak resident memory.
``--src`` runs the children with another source tree first on ``PYTHONPATH``
(for example an older version of ``keyaccount`` extracted with ``git archive``)
to compare versions on the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import last_json_line, max_rss_mib, print_environment, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.strategies import generated_policy_text

SIZES = (4_000, 40_000, 150_000)


# ---------------------------------------------------------------- child


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """Time tomllib, load and validate ``repeat`` times each, in this process."""
    import tomllib

    import keyaccount
    from keyaccount.rules import Policy

    text = path.read_text(encoding="utf-8")
    _, toml_s = timed(lambda: tomllib.loads(text), repeat)
    load_s: list[float] = []
    load_cpu: list[float] = []
    validate_s: list[float] = []
    validate_cpu: list[float] = []
    findings: list[Any] = []
    rules = 0
    for _ in range(repeat):
        cpu = cpu_seconds()
        policy, seconds = timed(lambda: Policy.load(path), 1)
        load_cpu.append(cpu_seconds() - cpu)
        load_s += seconds
        rules = len(policy.rules)
        cpu = cpu_seconds()
        findings, seconds = timed(policy.validate, 1)
        validate_cpu.append(cpu_seconds() - cpu)
        validate_s += seconds
        del policy
    codes: dict[str, int] = {}
    for finding in findings:
        codes[finding.code] = codes.get(finding.code, 0) + 1
    return {
        "keyaccount": str(Path(keyaccount.__file__).parent),
        "rules": rules,
        "toml": toml_s,
        "load": load_s,
        "load_cpu": load_cpu,
        "validate": validate_s,
        "validate_cpu": validate_cpu,
        "findings": len(findings),
        "codes": codes,
        "rss_mib": max_rss_mib(),
    }


# ---------------------------------------------------------------- driver


def policy_file(out: Path, n: int) -> Path:
    path = out / f"policy-{n}.toml"
    if not path.exists():
        path.write_text(generated_policy_text(n), encoding="utf-8")
    return path


def run_size(path: Path, repeat: int, src: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = last_json_line(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="bench-out/policy")
    parser.add_argument("--src", help="a source tree to put first on the children's PYTHONPATH")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child), args.repeat)))
        return
    print_environment()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        t = time.perf_counter()
        path = policy_file(out, n)
        size = path.stat().st_size / 2**20
        print(f"{n:,} rules: {path} ({size:.1f} MiB, {time.perf_counter() - t:.1f} s)", flush=True)
        result = run_size(path, args.repeat, args.src)
        if result["rules"] != n:
            raise SystemExit(f"loaded {result['rules']} rules from a file of {n}")
        print(f"  keyaccount from {result['keyaccount']}; findings {result['codes']}", flush=True)
        rows.append((n, size, result))
    print()
    print(
        "| rules | file MiB | `tomllib.loads` s | load first s | load best s | load median s | "
        "validate first s | validate best s | validate median s | load + validate CPU s | "
        "findings | peak RSS MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, size, r in rows:
        best_load = min(range(len(r["load"])), key=r["load"].__getitem__)
        best_validate = min(range(len(r["validate"])), key=r["validate"].__getitem__)
        cpu = r["load_cpu"][best_load] + r["validate_cpu"][best_validate]
        print(
            f"| {n:,} | {size:.1f} | {min(r['toml']):.2f} | {r['load'][0]:.2f} | "
            f"{min(r['load']):.2f} | {statistics.median(r['load']):.2f} | "
            f"{r['validate'][0]:.2f} | {min(r['validate']):.2f} | "
            f"{statistics.median(r['validate']):.2f} | {cpu:.2f} | {r['findings']:,} | "
            f"{r['rss_mib']:,.0f} |"
        )
    print_environment(when="end")


if __name__ == "__main__":
    main()
