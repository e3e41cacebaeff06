"""The metrics of ``docs/metrics.md`` as Spark columns: one aggregation per window, exact fen.

``P`` is the as-of month's ordinal. From the coded revenue (``_frames``):

1. ``monthly``: the rows of months ``<= P`` summed per customer (with a
   roll-up: per customer and each ancestor, so each series is a subtree's) and
   month: fen, parcels, and the fen of each product a ``share()`` needs;
2. ``window``: per customer, ``t12m`` (``P-11 .. P``), ``prev12m``
   (``P-23 .. P-12``), parcels of ``P-11 .. P``, active months, the last month
   with revenue ``> 0`` (any month ``<= P``), each product's trailing-12 fen;
3. ``product_count``: products whose ``P-11 .. P`` sum is ``> 0``, counted;
4. the customers first seen by ``P``, left-joined to both.

Sums are Spark's exact 64-bit integer sums; ``yoy_growth`` is
``double(t12m) / double(prev12m) - 1.0``, absent when ``prev12m <= 0``. The
hierarchy of a roll-up is read to the driver (the ``parent_id`` links only)
and its (member, ancestor) pairs go back as a small frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from keyaccount.exceptions import ValidationError
from keyaccount.portfolio import METRICS
from keyaccount.spark._frames import coded_customers, coded_revenue, sql_text

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from pyspark.sql import Column, DataFrame

    from keyaccount.domain import Period

__all__ = ["JOIN_KEYS", "MAX_DEPTH", "check_join_key", "metric_columns", "product_fen_column"]

JOIN_KEYS: Final = ("customer_id", "customer_key")
"""What the revenue may be grouped and joined to the customers by (``join_key=``)."""

MAX_DEPTH: Final = 1_000
"""Levels of a customer hierarchy a roll-up walks before it refuses the links as a cycle."""


def check_join_key(join_key: str) -> str:
    """``join_key`` when it is one of :data:`JOIN_KEYS`.

    Raises:
        ValidationError: another value.
    """
    if join_key not in JOIN_KEYS:
        raise ValidationError(
            f"join_key {join_key!r} is not one of {', '.join(map(repr, JOIN_KEYS))}"
        )
    return join_key


def product_fen_column(index: int) -> str:
    """The name of the trailing-12 fen column of the ``index``-th product asked for."""
    return f"product_fen_{index}"


def _ancestors(customers: DataFrame) -> DataFrame:
    """``(member, anc)``: every customer with itself and each of its ancestors.

    Raises:
        ValidationError: the ``parent_id`` links form a cycle.
    """
    from pyspark.sql import functions as sf

    links = {
        str(row[0]): str(row[1])
        for row in customers.where(sf.col("parent_id").isNotNull())
        .select("customer_id", "parent_id")
        .collect()
    }
    pairs: list[tuple[str, str]] = []
    for member, parent in links.items():
        seen = {member}
        current: str | None = parent
        while current is not None:
            if current in seen or len(seen) > MAX_DEPTH:
                raise ValidationError(
                    f"customers frame: the parent_id links of customer {member!r} form a cycle "
                    f"(through {current!r})"
                )
            seen.add(current)
            pairs.append((member, current))
            current = links.get(current)
    spark = customers.sparkSession
    extra = spark.createDataFrame(pairs, "member string, anc string")
    own = customers.select(
        sf.col("customer_id").alias("member"), sf.col("customer_id").alias("anc")
    )
    return own.unionByName(extra)


def metric_columns(
    customers: DataFrame,
    revenue: DataFrame,
    as_of: Period,
    *,
    rollup: bool = False,
    names: Collection[str] = tuple(METRICS),
    products: Sequence[str] = (),
    join_key: str = "customer_id",
) -> DataFrame:
    """Every customer first seen by ``as_of`` with its metrics (Spark frames in, a frame out).

    Args:
        customers: The customers frame (the layout of ``_frames``).
        revenue: The revenue frame.
        as_of: The month ``P``.
        rollup: Each customer's revenue metrics over it and all its descendants.
        names: The metrics to compute (``months_in_tier`` always is).
        products: Products whose trailing-12 fen to add, as
            :func:`product_fen_column` of their position.
        join_key: ``"customer_id"``, or ``"customer_key"``: the revenue grouped
            and joined to the customers by the integer ``customer_key`` both
            frames carry (without a roll-up; a roll-up's hierarchy is by id).

    Returns:
        ``customer_id``, ``tier`` (rank), ``segment`` (code, -1 unassigned),
        each metric named (``long`` fen and counts, ``double`` ratios, null
        where absent) and the product columns.
    """
    from pyspark.sql import functions as sf

    e = sf.expr  # expressions as Spark SQL text: one call into the JVM each
    wanted = set(names) | {"months_in_tier"}
    p = as_of.ordinal
    recent = p - 11
    first = p - 23
    keyed = check_join_key(join_key) == "customer_key" and not rollup
    coded = coded_customers(customers, with_key=keyed)
    frame = coded.where(e(f"first <= {p}")).alias("c")
    joined = "c.customer_key" if keyed else "c.customer_id"
    columns: list[Column] = [e("c.customer_id"), e("c.tier"), e("c.segment")]
    count = len(products)
    revenue_metrics = {
        "t12m_revenue",
        "prev12m_revenue",
        "yoy_growth",
        "t12m_volume",
        "active_months",
        "months_since_last",
    }
    need_window = bool(wanted & revenue_metrics) or bool(products)
    need_count = "product_count" in wanted
    if need_window or need_count:
        rev = coded_revenue(revenue, with_key=keyed).where(e(f"period <= {p}"))
        if rollup:
            tree = _ancestors(coded)
            rev = rev.join(tree, rev.customer_id == tree.member).select(
                e("anc AS key"), "period", "product_id", "fen", "volume"
            )
        elif keyed:
            rev = rev.drop("customer_id").withColumnRenamed("customer_key", "key")
        else:
            rev = rev.withColumnRenamed("customer_id", "key")
    if need_window:
        shares = [
            e(
                f"SUM(CASE WHEN product_id = {sql_text(product)} AND period >= {recent} "
                f"THEN fen ELSE 0 END) AS {product_fen_column(i)}"
            )
            for i, product in enumerate(products)
        ]
        monthly = rev.groupBy("key", "period").agg(
            e("SUM(fen) AS fen"),
            e(f"SUM(CASE WHEN period >= {recent} THEN volume ELSE 0 END) AS volume"),
            *shares,
        )
        window = monthly.groupBy("key").agg(
            e(f"SUM(CASE WHEN period >= {recent} THEN fen ELSE 0 END) AS t12m"),
            e(f"SUM(CASE WHEN period BETWEEN {first} AND {recent - 1} THEN fen ELSE 0 END)").alias(
                "prev12m"
            ),
            e("SUM(volume) AS parcels"),
            e(f"SUM(CASE WHEN period >= {recent} AND fen > 0 THEN 1 ELSE 0 END) AS active"),
            e("MAX(CASE WHEN fen > 0 THEN period END) AS last_positive"),
            *(e(f"SUM({product_fen_column(i)}) AS {product_fen_column(i)}") for i in range(count)),
        )
        frame = frame.join(window.alias("w"), e(f"{joined} = w.key"), "left")
        t12m = "COALESCE(w.t12m, CAST(0 AS BIGINT))"
        prev12m = "COALESCE(w.prev12m, CAST(0 AS BIGINT))"
        metric = {
            "t12m_revenue": t12m,
            "prev12m_revenue": prev12m,
            "yoy_growth": (
                f"CASE WHEN {prev12m} > 0 THEN CAST({t12m} AS DOUBLE) / CAST({prev12m} AS DOUBLE)"
                " - CAST('1.0' AS DOUBLE) END"
            ),
            "t12m_volume": "COALESCE(w.parcels, CAST(0 AS BIGINT))",
            "active_months": "CAST(COALESCE(w.active, 0) AS BIGINT)",
            "months_since_last": f"CAST({p} - w.last_positive AS BIGINT)",
        }
        columns += [e(f"{metric[n]} AS {n}") for n in METRICS if n in wanted and n in metric]
        columns += [
            e(f"COALESCE(w.{product_fen_column(i)}, CAST(0 AS BIGINT)) AS {product_fen_column(i)}")
            for i in range(count)
        ]
    if need_count:
        positive = (
            rev.where(e(f"period >= {recent}"))
            .groupBy("key", "product_id")
            .agg(e("SUM(fen) AS fen"))
            .where(e("fen > 0"))
            .groupBy("key")
            .agg(e("COUNT(1) AS products"))
        )
        frame = frame.join(positive.alias("n"), e(f"{joined} = n.key"), "left")
        columns.append(e("CAST(COALESCE(n.products, 0) AS BIGINT) AS product_count"))
    if "tenure_months" in wanted:
        columns.append(e(f"CAST({p} - c.first AS BIGINT) AS tenure_months"))
    columns.append(e(f"CAST({p} - c.since AS BIGINT) AS months_in_tier"))
    return frame.select(*columns)
