"""Spark local[2]: the compiled default policy against hand-written Spark SQL, and a scaling table.

    .venv/bin/python benchmarks/bench_spark.py --customers 1000000 --repeat 3   # the comparison
    .venv/bin/python benchmarks/bench_spark.py --scale 1000000,5000000,10000000 --reuse
    .venv/bin/python benchmarks/bench_spark.py --customers 200000 --repeat 2    # iterate here

The demo portfolio (``keyaccount.demo.generate``, seed 2022, 24 months ending 2022-11) is
written as Parquet with ``keyaccount.io.write_portfolio_parquet`` into
``<workdir>/data/<customers>/`` once and reused by later runs with ``--reuse``. Up to
``--chunk`` customers (1,000,000) that is one ``generate`` call: the 1M directory is the
1M-customer demo itself. Larger sizes are built from chunks of ``--chunk`` customers, chunk
``k`` generated with seed ``2022 + k`` (chunk 0 is the 1M demo) and written by
``write_portfolio_parquet``, its ids renumbered ``C00000001`` ... over all chunks, its keys
offset, and its month files placed as ``revenue/period=YYYY-MM/part-<k>.parquet``
(hard links shared by the sizes); the generator never holds more than one chunk.

Each Spark variant runs in a child process of its own with a fresh ``SparkSession``
(``local[2]``, ``spark.driver.memory`` from ``--driver-memory``, default 6g: the machine
has 24 GiB shared with other work; UI off; partition type inference off, so the hive
``period=YYYY-MM`` directories read as text). The session start is timed apart
(``session s``); *cold* is the first run of the variant in that session (plan, file
listing, JIT), *warm* the best of the later runs in the same session. Every run writes
the decisions as Parquet (``<workdir>/out/<customers>/<variant>``, overwritten):

- ``keyaccount``: ``keyaccount.spark.evaluate(default_policy(), customers, revenue,
  "2022-11")``: the metrics, the two first-match chains with held demotions and the
  explanation columns;
- ``keyaccount-key``: the same with ``join_key="customer_key"`` (the revenue grouped and
  joined by the integer key the keyaccount Parquet layout carries);
- ``sql``: one hand-written Spark SQL query over temporary views of the same Parquet
  (``spark.sql``, no UDFs) computing the metrics the default policy reads and its
  decisions: per customer the tier after the month, whether a demotion is held, and the
  segment after the month; grouped by ``customer_id`` like ``keyaccount``;
- ``sql-key``: the same query grouped and joined by the integer ``customer_key`` the
  files also hold, the fastest hand-written form.

A check step (pyarrow, untimed) reads the written decisions and compares every
hand-written variant with ``keyaccount`` customer by customer (tier after the month, held,
segment after the month); a mismatch fails the run. ``--memory`` (on by default with
``--scale``) also runs the in-memory path in a child per size:
``read_portfolio_parquet`` + ``Portfolio.metrics`` + ``Policy.evaluate``, skipped with the
reason when its estimated peak (``--memory-mib-per-million``, or the measured one of a
smaller size) exceeds the memory available less 2 GiB, or 18 GiB. Peak memory: the
Python driver's ``ru_maxrss`` and the Spark JVM's ``VmHWM`` (``/proc/<pid>/status`` of the
child ``java`` process, read before the session stops). Results are in
docs/benchmarks.md ("Spark").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common

LIBRARIES = ["numpy", "pyarrow", "pyspark"]
SEED = 2022
MONTHS = 24
AS_OF = "2022-11"
VARIANTS = ("keyaccount", "keyaccount-key", "sql", "sql-key")
GIB = 2**30
MEMORY_CAP = 18 * GIB
"""The in-memory path is skipped when its estimated peak exceeds this."""


# ---------------------------------------------------------------- data


def _data(workdir: Path, customers: int) -> Path:
    return workdir / "data" / str(customers)


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / _common.MIB


def generate_one(folder: Path, customers: int, seed: int) -> None:
    """``generate(seed, customers)`` written to ``folder`` with ``write_portfolio_parquet``."""
    from keyaccount.demo import generate
    from keyaccount.io import write_portfolio_parquet

    portfolio = generate(seed=seed, customers=customers, months=MONTHS, end=AS_OF)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    write_portfolio_parquet(portfolio, folder)


def _renumbered(pa: Any, pc: Any, ids: Any, new_ids: Any) -> Any:
    """Ids ``C<position + 1>`` of a chunk replaced by the chunk's ``new_ids`` (nulls kept)."""
    positions = pc.subtract(pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64()), 1)
    return pc.take(new_ids, positions)


def make_part(workdir: Path, chunk: int, k: int) -> None:
    """Chunk ``k`` renumbered into ``<workdir>/parts/<chunk>/<k>/`` (customers, groups, revenue)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if k == 0:  # chunk 0 is the demo of ``chunk`` customers itself
        source = _data(workdir, chunk)
        if not (source / "facts.json").exists():
            generate_one(source, chunk, SEED)
            _facts(source, chunk)
        keep = True
    else:
        source = workdir / "chunks" / f"{chunk}-{k}"
        generate_one(source, chunk, SEED + k)
        keep = False
    target = workdir / "parts" / str(chunk) / str(k)
    work = target.with_name(f"{k}.tmp")
    if work.exists():
        shutil.rmtree(work)
    (work / "revenue").mkdir(parents=True)
    offset = k * chunk
    new_ids = pa.array([f"C{offset + i + 1:08d}" for i in range(chunk)], type=pa.string())
    options = {"compression": "snappy", "dictionary_pagesize_limit": 256 * _common.MIB}

    customers = pq.ParquetFile(source / "customers.parquet").read()
    schema = customers.schema
    keys = pc.add(customers.column("customer_key"), pa.scalar(offset, pa.int32()))
    customers = customers.set_column(0, schema.field("customer_key"), keys)
    at = schema.get_field_index("customer_id")
    customers = customers.set_column(at, schema.field("customer_id"), new_ids)
    at = schema.get_field_index("parent_id")
    parents = _renumbered(pa, pc, customers.column("parent_id"), new_ids)
    customers = customers.set_column(at, schema.field("parent_id"), parents)
    pq.write_table(customers.replace_schema_metadata(schema.metadata), work / "customers.parquet")

    groups = pq.ParquetFile(source / "groups.parquet").read()
    owned = groups.column("customer_ids").combine_chunks()
    values = _renumbered(pa, pc, owned.flatten(), new_ids)
    relabelled = pa.ListArray.from_arrays(owned.offsets, values)
    at = groups.schema.get_field_index("customer_ids")
    groups = groups.set_column(at, groups.schema.field("customer_ids"), relabelled)
    pq.write_table(groups.replace_schema_metadata(groups.schema.metadata), work / "groups.parquet")
    shutil.copy(source / "products.parquet", work / "products.parquet")

    for folder in sorted((source / "revenue").iterdir()):
        table = pq.ParquetFile(folder / "part-0.parquet").read()
        schema = table.schema
        local = table.column("customer_key").combine_chunks()
        table = table.set_column(
            0, schema.field("customer_key"), pc.add(local, pa.scalar(offset, pa.int32()))
        )
        at = schema.get_field_index("customer_id")
        ids = pa.DictionaryArray.from_arrays(local, new_ids)
        table = table.set_column(at, schema.field("customer_id"), ids)
        (work / "revenue" / folder.name).mkdir()
        pq.write_table(
            table.replace_schema_metadata(schema.metadata),
            work / "revenue" / folder.name / f"part-{k}.parquet",
            row_group_size=max(1, table.num_rows),
            **options,
        )
    if target.exists():
        shutil.rmtree(target)
    work.rename(target)
    if not keep:
        shutil.rmtree(source)


def assemble(workdir: Path, customers: int, chunk: int) -> None:
    """``<workdir>/data/<customers>`` from the parts: one customers file, linked month files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = [workdir / "parts" / str(chunk) / str(k) for k in range(customers // chunk)]
    folder = _data(workdir, customers)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "revenue").mkdir(parents=True)
    tables = [pq.ParquetFile(p / "customers.parquet").read() for p in parts]
    table = pa.concat_tables(tables)
    pq.write_table(table, folder / "customers.parquet", compression="snappy")
    del tables, table
    groups = [pq.ParquetFile(p / "groups.parquet").read() for p in parts]
    first = groups[0]
    lists = [g.column("customer_ids").combine_chunks() for g in groups]
    merged = []
    for row in range(first.num_rows):
        merged.append(pa.concat_arrays([owned[row].values for owned in lists]))
    offsets = [0]
    for values in merged:
        offsets.append(offsets[-1] + len(values))
    owned = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.concat_arrays(merged) if merged else pa.array([])
    )
    at = first.schema.get_field_index("customer_ids")
    first = first.set_column(at, first.schema.field("customer_ids"), owned)
    pq.write_table(first.replace_schema_metadata(first.schema.metadata), folder / "groups.parquet")
    shutil.copy(parts[0] / "products.parquet", folder / "products.parquet")
    for part in parts:
        for month in sorted((part / "revenue").iterdir()):
            (folder / "revenue" / month.name).mkdir(exist_ok=True)
            for file in month.iterdir():
                target = folder / "revenue" / month.name / file.name
                try:
                    os.link(file, target)
                except OSError:
                    shutil.copy(file, target)
    _facts(folder, customers)


def _facts(folder: Path, customers: int) -> dict[str, Any]:
    """Customers, revenue records and size of a written portfolio (``facts.json``)."""
    import pyarrow.parquet as pq

    rows = sum(
        pq.ParquetFile(f).metadata.num_rows for f in (folder / "revenue").glob("*/*.parquet")
    )
    facts = {"customers": customers, "rows": rows, "parquet_mib": round(_size_mib(folder), 1)}
    (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")
    return facts


def prepare(workdir: Path, customers: int, chunk: int, reuse: bool) -> dict[str, Any]:
    """The portfolio of ``customers`` as Parquet (made in child processes); its facts."""
    folder = _data(workdir, customers)
    facts_file = folder / "facts.json"
    if reuse and facts_file.exists():
        return dict(json.loads(facts_file.read_text(encoding="utf-8")))
    start = time.perf_counter()
    if customers <= chunk:
        _child(["--step", "generate", "--customers", str(customers), "--workdir", str(workdir)])
        _facts(folder, customers)
    else:
        if customers % chunk:
            raise SystemExit(f"--customers {customers} is not a multiple of --chunk {chunk}")
        need = customers // chunk * 2 * 600 * _common.MIB * chunk / 1_000_000
        free = shutil.disk_usage(workdir).free
        if free < need + 5 * GIB:
            raise SystemExit(f"{workdir}: {free / GIB:.1f} GiB free, about {need / GIB:.1f} needed")
        for k in range(customers // chunk):
            done = workdir / "parts" / str(chunk) / str(k) / "customers.parquet"
            if not (reuse and done.exists()):
                step = ["--step", "part", "--part", str(k), "--chunk", str(chunk)]
                _child([*step, "--workdir", str(workdir)])
        _child(
            [
                *("--step", "assemble", "--customers", str(customers)),
                *("--chunk", str(chunk), "--workdir", str(workdir)),
            ]
        )
    facts = dict(json.loads(facts_file.read_text(encoding="utf-8")))
    facts["prepare_s"] = round(time.perf_counter() - start, 1)
    print(f"  prepared {folder}: {json.dumps(facts)}", flush=True)
    return facts


# ---------------------------------------------------------------- the hand-written query


def _month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def _text(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def hand_written_sql(by_key: bool) -> str:
    """The default policy as one Spark SQL query over the views ``customers`` and ``revenue``.

    Written for this policy as a Spark engineer would: one aggregation per (customer,
    month) with the twelve share products' sums beside it, one per customer over the
    months, compared as ``YYYY-MM`` text (the partition values), a left join to the
    customers, the two chains as ``CASE`` expressions. The float64 operations are the
    contract's (``docs/rules.md``): a share is ``double(fen of p) / double(t12m fen)``,
    the shares of a rule added left to right, growth ``double(t12m) / double(prev12m) - 1``.
    """
    p = _month(AS_OF)
    last, recent, first = AS_OF, _text(p - 11), _text(p - 23)
    key = "customer_key" if by_key else "customer_id"
    products = _common.SHARE_PRODUCTS
    monthly_sums = ",\n    ".join(
        f"SUM(CASE WHEN product_id = '{name}' THEN revenue_fen ELSE 0 END) AS p{i}"
        for i, name in enumerate(products)
    )
    customer_sums = ",\n    ".join(
        f"SUM(CASE WHEN period >= '{recent}' THEN p{i} ELSE 0 END) AS p{i}"
        for i in range(len(products))
    )
    picked = ", ".join(f"COALESCE(a.p{i}, 0L) AS p{i}" for i in range(len(products)))

    def shares(names: tuple[str, ...]) -> str:
        return " + ".join(
            f"CAST(p{products.index(n)} AS DOUBLE) / CAST(t12m AS DOUBLE)" for n in names
        )

    month_of = "(year({0}) * 12 + month({0}) - 1)"
    last_month = (
        "(CAST(substr(last_positive, 1, 4) AS INT) * 12"
        " + CAST(substr(last_positive, 6, 2) AS INT) - 1)"
    )
    return f"""
WITH monthly AS (
  SELECT {key} AS k, period,
    SUM(revenue_fen) AS fen,
    {monthly_sums}
  FROM revenue
  WHERE period <= '{last}'
  GROUP BY {key}, period
),
per_customer AS (
  SELECT k,
    SUM(CASE WHEN period >= '{recent}' THEN fen ELSE 0 END) AS t12m,
    SUM(CASE WHEN period >= '{first}' AND period < '{recent}' THEN fen ELSE 0 END) AS prev12m,
    COUNT(CASE WHEN period >= '{recent}' AND fen > 0 THEN 1 END) AS active,
    MAX(CASE WHEN fen > 0 THEN period END) AS last_positive,
    {customer_sums}
  FROM monthly
  GROUP BY k
),
metrics AS (
  SELECT c.customer_id, c.tier, c.segment,
    COALESCE(a.t12m, 0L) AS t12m,
    COALESCE(a.prev12m, 0L) AS prev12m,
    COALESCE(a.active, 0L) AS active,
    {p} - {last_month} AS since_last,
    {p} - {month_of.format("c.first_period")} AS tenure,
    {p} - {month_of.format("COALESCE(c.tier_since, c.first_period)")} AS in_tier,
    {picked}
  FROM customers c LEFT JOIN per_customer a ON a.k = c.{key}
  WHERE c.first_period < DATE'{_text(p + 1)}-01'
),
decided AS (
  SELECT customer_id, tier, segment, in_tier,
    CASE
      WHEN tier IN ('ACTIVE', 'KEY', 'STRATEGIC')
        AND (since_last >= 6 OR (t12m <= 0 AND tenure >= 6)) THEN 'DORMANT'
      WHEN tier = 'DORMANT' AND since_last <= 1 AND active >= 2 THEN 'ACTIVE'
      WHEN tier = 'KEY' AND t12m >= 1000000000 AND active >= 11 THEN 'STRATEGIC'
      WHEN tier = 'ACTIVE' AND t12m >= 100000000 AND active >= 10 THEN 'KEY'
      WHEN tier = 'STRATEGIC' AND (t12m < 600000000
        OR (prev12m > 0 AND CAST(t12m AS DOUBLE) / CAST(prev12m AS DOUBLE) - 1.0D < -0.4D))
        THEN 'KEY'
      WHEN tier = 'KEY' AND t12m < 60000000 THEN 'ACTIVE'
      ELSE tier
    END AS target,
    CASE
      WHEN segment IS NOT NULL OR t12m <= 0 THEN segment
      WHEN {shares(_common.JUDICIAL)} >= 0.5D THEN 'JUDICIAL'
      WHEN {shares(_common.AUTO)} >= 0.5D THEN 'AUTO_ECOSYSTEM'
      WHEN {shares(("card_letter",))} >= 0.5D THEN 'FINANCE'
      WHEN {shares(("policy_mailing",))} >= 0.5D THEN 'INSURANCE'
    END AS segment_to
  FROM metrics
)
SELECT customer_id,
  CASE WHEN held THEN tier ELSE target END AS tier_to,
  held AS tier_held,
  segment_to
FROM (
  SELECT *, array_position(array('DORMANT', 'ACTIVE', 'KEY', 'STRATEGIC'), target)
      < array_position(array('DORMANT', 'ACTIVE', 'KEY', 'STRATEGIC'), tier)
    AND in_tier < 3 AS held
  FROM decided
)
"""


# ---------------------------------------------------------------- Spark children


def _descendants_named(name: str) -> list[int]:
    """Process ids of this process's descendants whose command is ``name``."""
    parents: dict[int, int] = {}
    comms: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        pid = int(entry)
        comms[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[pid] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found = []
    for pid, comm in comms.items():
        if comm != name:
            continue
        up = parents.get(pid)
        while up is not None and up > 1:
            if up == os.getpid():
                found.append(pid)
                break
            up = parents.get(up)
    return found


def _vm_hwm_mib(pid: int) -> float | None:
    """``VmHWM`` (peak resident memory) of process ``pid`` in MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def spark_child(variant: str, folder: Path, out: Path, repeat: int, args: Any) -> None:
    """Run ``variant`` ``repeat`` times in one fresh session; print one JSON line of figures."""
    start = time.perf_counter()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(args.master)
        .appName(f"bench_spark {variant}")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for item in args.conf:
        name, _, value = item.partition("=")
        builder = builder.config(name, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - start
    java = _descendants_named("java")
    customers_path = str(folder / "customers.parquet")
    revenue_path = str(folder / "revenue")

    def run() -> None:
        customers = session.read.parquet(customers_path)
        revenue = session.read.parquet(revenue_path)
        if variant.startswith("keyaccount"):
            from keyaccount import spark as ks
            from keyaccount.rules import default_policy

            key = "customer_key" if variant == "keyaccount-key" else "customer_id"
            frame = ks.evaluate(default_policy(), customers, revenue, AS_OF, join_key=key)
        else:
            customers.createOrReplaceTempView("customers")
            revenue.createOrReplaceTempView("revenue")
            frame = session.sql(hand_written_sql(by_key=variant == "sql-key"))
        frame.write.mode("overwrite").parquet(str(out))

    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        run()
        wall.append(time.perf_counter() - t)
        cpu.append(_cpu() - c)
    jvm = [_vm_hwm_mib(pid) for pid in java]
    session.stop()
    print(
        json.dumps(
            {
                "session_s": round(session_s, 2),
                "wall": [round(w, 3) for w in wall],
                "driver_cpu": [round(c, 3) for c in cpu],
                "python_peak_mib": round(_common.max_rss_mib()),
                "jvm_peak_mib": round(max((m for m in jvm if m is not None), default=0)),
                "jvm_pids": java,
            }
        )
    )


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def check_child(out: Path, variants: list[str]) -> None:
    """Compare the written decisions of each hand-written variant with keyaccount's."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    def final(kind: str, table: Any) -> Any:
        moved = pc.equal(table.column(f"{kind}_outcome"), "MOVE")
        return pc.if_else(moved, table.column(f"{kind}_to"), table.column(f"{kind}_from"))

    def ordered(table: Any) -> Any:
        return table.take(pc.sort_indices(table.column("customer_id")))

    def decided(table: Any) -> dict[str, Any]:
        """A keyaccount decisions table as the hand-written variants' columns."""
        return {
            "customer_id": table.column("customer_id"),
            "tier_to": final("tier", table),
            "tier_held": pc.equal(table.column("tier_outcome"), "HELD"),
            "segment_to": final("segment", table),
        }

    columns = [f"{k}_{c}" for k in ("tier", "segment") for c in ("from", "to", "outcome")]
    ours = ordered(pq.read_table(out / "keyaccount", columns=["customer_id", *columns]))
    reference = decided(ours)
    result: dict[str, Any] = {
        "customers": ours.num_rows,
        "tier_moves": pc.sum(pc.equal(ours.column("tier_outcome"), "MOVE")).as_py(),
        "held": pc.sum(reference["tier_held"]).as_py(),
        "segment_moves": pc.sum(pc.equal(ours.column("segment_outcome"), "MOVE")).as_py(),
    }
    for variant in (v for v in variants if v and v != "keyaccount"):
        theirs = ordered(pq.read_table(out / variant))
        if theirs.num_rows != ours.num_rows:
            result[variant] = {"rows": theirs.num_rows, "mismatches": ours.num_rows}
            continue
        given = decided(theirs) if "tier_outcome" in theirs.column_names else None
        counts = {}
        for name, mine in reference.items():
            other = theirs.column(name) if given is None else given[name]
            if pa.types.is_string(mine.type) or pa.types.is_dictionary(mine.type):
                mine, other = pc.fill_null(mine.cast(pa.string()), ""), pc.fill_null(other, "")
            else:
                mine, other = pc.fill_null(mine, False), pc.fill_null(other, False)
            counts[name] = ours.num_rows - pc.sum(pc.equal(mine, other)).as_py()
        result[variant] = counts
    print(json.dumps(result))


def memory_child(folder: Path, repeat: int) -> None:
    """``read_portfolio_parquet`` + ``metrics`` + ``evaluate`` in this process; one JSON line."""
    import numpy as np

    from keyaccount.io import read_portfolio_parquet
    from keyaccount.rules import Outcome, default_policy

    policy = default_policy()
    t = time.perf_counter()
    portfolio = read_portfolio_parquet(folder)
    read_s = time.perf_counter() - t
    wall: list[float] = []
    evaluation = None
    for _ in range(repeat):
        t = time.perf_counter()
        evaluation = policy.evaluate(portfolio.metrics(AS_OF))
        wall.append(time.perf_counter() - t)
    assert evaluation is not None
    print(
        json.dumps(
            {
                "read_s": round(read_s, 2),
                "wall": [round(w, 3) for w in wall],
                "peak_mib": round(_common.max_rss_mib()),
                "customers": len(evaluation.customer_ids),
                "tier_moves": int(np.sum(evaluation.tier.outcome == Outcome.MOVE)),
                "held": int(np.sum(evaluation.tier.outcome == Outcome.HELD)),
                "segment_moves": int(np.sum(evaluation.segment.outcome == Outcome.MOVE)),
            }
        )
    )


# ---------------------------------------------------------------- the parent


def _child(args: list[str]) -> Any:
    """Run this script as a child with ``args``; the JSON of its last output line, if any."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True
    )
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None


def _available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _warm(wall: list[float]) -> float | None:
    return min(wall[1:]) if len(wall) > 1 else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--scale", default=None, help="Comma-separated sizes (customers).")
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/spark"))
    parser.add_argument("--reuse", action="store_true", help="Reuse Parquet written before.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--variants", default=None, help="Comma-separated Spark variants.")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--memory-mib-per-million", type=float, default=2_100.0)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--conf", action="append", default=[], help="More Spark conf: k=v.")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)  # child side
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir: Path = args.workdir.resolve()
    if args.step == "generate":
        generate_one(_data(workdir, args.customers), args.customers, SEED)
        return
    if args.step == "part":
        make_part(workdir, args.chunk, args.part)
        return
    if args.step == "assemble":
        assemble(workdir, args.customers, args.chunk)
        return
    out_root = workdir / "out"
    if args.step == "spark":
        folder = _data(workdir, args.customers)
        out = out_root / str(args.customers) / args.variant
        spark_child(args.variant, folder, out, args.repeat, args)
        return
    if args.step == "check":
        check_child(out_root / str(args.customers), args.variants.split(","))
        return
    if args.step == "memory":
        memory_child(_data(workdir, args.customers), args.repeat)
        return

    scale = args.scale is not None
    sizes = [int(s) for s in args.scale.split(",")] if scale else [args.customers]
    chosen = (
        ("keyaccount" if scale else ",".join(VARIANTS)) if args.variants is None else args.variants
    )
    variants = [v for v in chosen.split(",") if v]
    in_memory = scale if args.memory is None else args.memory
    _common.print_environment(LIBRARIES)
    print(
        f"# spark: master {args.master}, spark.driver.memory {args.driver_memory}, "
        f"conf {args.conf}; workdir {workdir}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    per_million = args.memory_mib_per_million
    for size in sizes:
        print(f"customers {size:,}: free {_available() / GIB:.1f} GiB", flush=True)
        facts = prepare(workdir, size, args.chunk, args.reuse)
        row: dict[str, Any] = {"customers": size, "facts": facts, "spark": {}}
        common = ["--customers", str(size), "--workdir", str(workdir), "--repeat"]
        for variant in variants:
            figures = _child(
                ["--step", "spark", "--variant", variant, *common, str(args.repeat)]
                + ["--master", args.master, "--driver-memory", args.driver_memory]
                + [f"--conf={c}" for c in args.conf]
            )
            row["spark"][variant] = figures
            print(f"  spark {variant}: {json.dumps(figures)}", flush=True)
        checks = None
        if "keyaccount" in variants:
            others = [v for v in variants if v != "keyaccount"]
            checks = _child(
                [
                    *("--step", "check", "--variants", ",".join(others) or "keyaccount"),
                    *("--customers", str(size), "--workdir", str(workdir)),
                ]
            )
            print(f"  check: {json.dumps(checks)}", flush=True)
            row["check"] = checks
        if in_memory:
            estimate = per_million * size / 1_000_000 * _common.MIB
            room = min(MEMORY_CAP, _available() - 2 * GIB)
            if estimate > room:
                row["memory"] = {
                    "skipped": f"estimated peak {estimate / GIB:.1f} GiB > {room / GIB:.1f} GiB "
                    f"(the lesser of 18 GiB and the memory available less 2 GiB)"
                }
            else:
                row["memory"] = _child(["--step", "memory", *common, str(args.repeat)])
                per_million = max(per_million, row["memory"]["peak_mib"] / size * 1_000_000)
            print(f"  in memory: {json.dumps(row['memory'])}", flush=True)
        rows.append(row)
        if checks is not None:
            bad = {v: c for v, c in checks.items() if isinstance(c, dict) and any(c.values())}
            memory = row.get("memory", {})
            if "tier_moves" in memory:
                for name in ("customers", "tier_moves", "held", "segment_moves"):
                    if memory[name] != checks[name]:
                        bad[f"in memory {name}"] = (memory[name], checks[name])
            if bad:
                raise SystemExit(f"decisions differ from keyaccount's: {bad}")

    print()
    print(
        "| customers | records | variant | session s | cold s | warm s | JVM peak MiB | "
        "Python peak MiB |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        for variant, fig in row["spark"].items():
            print(
                f"| {row['customers']:,} | {row['facts']['rows']:,} | Spark `{variant}` | "
                f"{fig['session_s']:.1f} | {fig['wall'][0]:.2f} | {_fmt(_warm(fig['wall']))} | "
                f"{fig['jvm_peak_mib']:,} | {fig['python_peak_mib']:,} |"
            )
        memory = row.get("memory")
        if memory is not None:
            if "skipped" in memory:
                print(f"| {row['customers']:,} | | in memory | skipped: {memory['skipped']} |")
            else:
                print(
                    f"| {row['customers']:,} | {row['facts']['rows']:,} | in memory "
                    f"(read {memory['read_s']:.1f} s) | | {memory['wall'][0]:.2f} | "
                    f"{_fmt(_warm(memory['wall']))} | | {memory['peak_mib']:,} |"
                )
    for row in rows:
        spark = row["spark"]
        if "keyaccount" not in spark:
            continue
        ours = spark["keyaccount"]["wall"]
        for variant in spark:
            if variant == "keyaccount":
                continue
            theirs = spark[variant]["wall"]
            warm = _warm(ours), _warm(theirs)
            warm_ratio = f"{warm[0] / warm[1]:.2f}x" if warm[0] and warm[1] else "-"
            print(
                f"{row['customers']:,}: keyaccount / {variant}: cold {ours[0] / theirs[0]:.2f}x, "
                f"warm {warm_ratio}; mismatches {row['check'][variant]}"
            )
    _common.print_environment(LIBRARIES, when="end")


if __name__ == "__main__":
    main()
