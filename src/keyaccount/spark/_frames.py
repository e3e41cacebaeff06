"""The input frames of the Spark backend: customers and revenue, coded as the metrics need them.

The frames have the columns of the Arrow and Parquet layout of a portfolio
(``Portfolio.to_arrow``, ``docs/frames.md``), matched by name in any case:

- customers: ``customer_id``, ``first_period`` (required); ``tier`` (name in
  any case or Chinese label; empty: ``ACTIVE``), ``segment`` (likewise; empty:
  unassigned), ``parent_id``, ``tier_since`` (optional; other columns are
  ignored);
- revenue: ``customer_id``, ``period``, ``revenue_fen`` (whole fen, an integer
  column), ``product_id`` and ``volume`` (optional; empty: no product, 0).

A month is a date or timestamp (its month) or ``YYYY-MM`` text (a hive
partition directory ``period=2022-11`` reads as text). A value that is not a
month, a tier or a segment stops the Spark job with an error naming the frame,
the column and the value.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from keyaccount.domain import DEFAULT_PRODUCT_ID, NO_CODE, SEGMENTS, TIERS, Tier
from keyaccount.exceptions import ValidationError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "CUSTOMER_COLUMNS",
    "REVENUE_COLUMNS",
    "UNNAMED_PRODUCT",
    "coded_customers",
    "coded_revenue",
    "month_ordinal",
    "require_pyspark",
    "sql_text",
]

CUSTOMER_COLUMNS: Final = ("customer_id", "parent_id", "tier", "segment", "first", "since")
"""Columns of :func:`coded_customers`."""
REVENUE_COLUMNS: Final = ("customer_id", "period", "product_id", "fen", "volume")
"""Columns of :func:`coded_revenue`."""

UNNAMED_PRODUCT: Final = DEFAULT_PRODUCT_ID
"""The product of revenue that names none."""

_MONTH_TEXT: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])(-[0-9]{2})?$"


def sql_text(value: str) -> str:
    """A Spark SQL string literal of ``value`` (backslashes and quotes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def require_pyspark() -> Any:
    """Import ``pyspark.sql``, or raise an ``ImportError`` naming the ``spark`` extra."""
    try:
        return importlib.import_module("pyspark.sql")
    except ImportError:
        raise ImportError(
            "pyspark is not installed; install it with pip install 'keyaccount[spark]' "
            "(Spark also needs a Java 17 runtime)"
        ) from None


def _columns(frame: DataFrame, what: str, required: tuple[str, ...]) -> dict[str, str]:
    """The frame's column names by their lower-case name; refuses a missing or repeated one."""
    found: dict[str, str] = {}
    for name in frame.columns:
        key = name.lower()
        if key in found:
            raise ValidationError(f"{what} frame: column {name!r} appears twice")
        found[key] = name
    missing = [name for name in required if name not in found]
    if missing:
        raise ValidationError(
            f"{what} frame: missing column(s) {', '.join(map(repr, missing))} "
            f"(it has {', '.join(map(repr, frame.columns))})"
        )
    return found


def _bad(what: str, column: str, value: Column) -> Column:
    """A Spark expression that stops the job naming the frame, the column and the value."""
    from pyspark.sql import functions as sf

    return sf.raise_error(
        sf.concat(sf.lit(f"{what} frame, column {column!r}: not a valid value: "), value)
    )


def month_ordinal(frame: DataFrame, name: str, what: str, *, required: bool) -> Column:
    """The column ``name`` of ``frame`` as a month ordinal (``Period.ordinal``), null where empty.

    Raises:
        ValidationError: the column is neither a date, a timestamp nor text.
    """
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    column = sf.col(name)
    dtype = frame.schema[name].dataType
    empty = sf.lit(None).cast("int") if not required else _bad(what, name, sf.lit("(empty)"))
    if isinstance(dtype, st.DateType | st.TimestampType | st.TimestampNTZType):
        months = sf.year(column) * 12 + sf.month(column) - 1
        return sf.when(column.isNull(), empty).otherwise(months)
    if isinstance(dtype, st.StringType):
        text = sf.trim(column)
        months = (
            sf.substring(text, 1, 4).cast("int") * 12 + sf.substring(text, 6, 2).cast("int") - 1
        )
        return (
            sf.when(column.isNull() | (text == ""), empty)
            .when(text.rlike(_MONTH_TEXT), months)
            .otherwise(_bad(what, name, column))
        )
    raise ValidationError(
        f"{what} frame: column {name!r} is {dtype.simpleString()}; a month is a date, a "
        "timestamp or YYYY-MM text"
    )


def _label_code(
    column: Column, spellings: dict[str, int], default: int, what: str, name: str
) -> Column:
    """A label column (name in any case, or Chinese label) as its integer code."""
    from pyspark.sql import functions as sf

    text = sf.trim(column.cast("string"))
    pairs = ", ".join(f"{sql_text(key)}, {code}" for key, code in spellings.items())
    lookup = sf.expr(f"map({pairs})")  # one call into the JVM, not one per literal
    code = sf.element_at(lookup, sf.upper(text))
    return (
        sf.when(column.isNull() | (text == ""), sf.lit(default))
        .when(code.isNotNull(), code)
        .otherwise(_bad(what, name, column.cast("string")))
    )


def _spellings(members: tuple[Any, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, member in enumerate(members):
        out[member.name.upper()] = code
        out[member.label_zh] = code
    return out


def _customer_key(frame: DataFrame, cols: dict[str, str], what: str) -> Column:
    """The frame's integer ``customer_key`` column as ``long``.

    Raises:
        ValidationError: the column is missing or not an integer column.
    """
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    if "customer_key" not in cols:
        raise ValidationError(
            f"{what} frame: join_key='customer_key' needs a 'customer_key' column "
            f"(it has {', '.join(map(repr, frame.columns))})"
        )
    key_type = frame.schema[cols["customer_key"]].dataType
    if not isinstance(key_type, st.ByteType | st.ShortType | st.IntegerType | st.LongType):
        raise ValidationError(
            f"{what} frame: column 'customer_key' is {key_type.simpleString()}; "
            "join_key='customer_key' needs an integer column"
        )
    return sf.col(cols["customer_key"]).cast("long").alias("customer_key")


def coded_customers(customers: DataFrame, *, with_key: bool = False) -> DataFrame:
    """Customers with their tier, segment and months as integer codes.

    Columns ``customer_id``, ``parent_id``, ``tier`` (rank), ``segment`` (code,
    -1 unassigned), ``first`` and ``since`` (month ordinals; ``since``
    defaults to ``first``); with ``with_key`` also ``customer_key`` (``long``).

    Raises:
        ValidationError: a required column is missing, or a month column has another type.
    """
    from pyspark.sql import functions as sf

    what = "customers"
    cols = _columns(customers, what, ("customer_id", "first_period"))
    tier_spellings = {t.name.upper(): t.rank for t in TIERS} | {t.label_zh: t.rank for t in TIERS}
    parts: list[Column] = [sf.col(cols["customer_id"]).cast("string").alias("customer_id")]
    parts.append(
        sf.col(cols["parent_id"]).cast("string").alias("parent_id")
        if "parent_id" in cols
        else sf.lit(None).cast("string").alias("parent_id")
    )
    parts.append(
        _label_code(sf.col(cols["tier"]), tier_spellings, Tier.ACTIVE.rank, what, "tier").alias(
            "tier"
        )
        if "tier" in cols
        else sf.lit(Tier.ACTIVE.rank).alias("tier")
    )
    parts.append(
        _label_code(sf.col(cols["segment"]), _spellings(SEGMENTS), NO_CODE, what, "segment").alias(
            "segment"
        )
        if "segment" in cols
        else sf.lit(NO_CODE).alias("segment")
    )
    first = month_ordinal(customers, cols["first_period"], what, required=True)
    parts.append(first.alias("first"))
    since = (
        month_ordinal(customers, cols["tier_since"], what, required=False)
        if "tier_since" in cols
        else sf.lit(None).cast("int")
    )
    parts.append(sf.coalesce(since, first).alias("since"))
    if with_key:
        parts.append(_customer_key(customers, cols, what))
    return customers.select(*parts)


def coded_revenue(revenue: DataFrame, *, with_key: bool = False) -> DataFrame:
    """Revenue as ``customer_id``, ``period`` (month ordinal), ``product_id``, ``fen``, ``volume``.

    With ``with_key`` also ``customer_key`` (``long``).

    Raises:
        ValidationError: a required column is missing, ``revenue_fen`` is not an
            integer column, or ``period`` has a type other than a month's.
    """
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    what = "revenue"
    cols = _columns(revenue, what, ("customer_id", "period", "revenue_fen"))
    fen_type = revenue.schema[cols["revenue_fen"]].dataType
    if not isinstance(fen_type, st.ByteType | st.ShortType | st.IntegerType | st.LongType):
        raise ValidationError(
            f"revenue frame: column 'revenue_fen' is {fen_type.simpleString()}; it holds whole "
            "fen as integers (money is never a float)"
        )
    parts = [
        sf.col(cols["customer_id"]).cast("string").alias("customer_id"),
        month_ordinal(revenue, cols["period"], what, required=True).alias("period"),
        (
            sf.coalesce(
                sf.nullif(sf.trim(sf.col(cols["product_id"]).cast("string")), sf.lit("")),
                sf.lit(UNNAMED_PRODUCT),
            )
            if "product_id" in cols
            else sf.lit(UNNAMED_PRODUCT)
        ).alias("product_id"),
        sf.coalesce(sf.col(cols["revenue_fen"]).cast("long"), sf.lit(0).cast("long")).alias("fen"),
        (
            sf.coalesce(sf.col(cols["volume"]).cast("long"), sf.lit(0).cast("long"))
            if "volume" in cols
            else sf.lit(0).cast("long")
        ).alias("volume"),
    ]
    if with_key:
        parts.append(_customer_key(revenue, cols, what))
    return revenue.select(*parts)
