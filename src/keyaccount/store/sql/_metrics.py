"""Portfolio metrics computed inside the database, as one SQL query (SQLAlchemy Core).

The query states the definitions of :mod:`keyaccount.portfolio._metrics` in
SQL; ``P`` is the as-of month's ordinal, bound as a parameter:

1. ``monthly``: the store's revenue rows of months ``P-23 .. P`` summed per
   customer and month (fen, parcels, and the fen of each product that
   ``share()`` needs). With a roll-up, every row counts for its customer and
   each ancestor (a recursive walk down ``parent_key``), so each series is the
   combined series of a subtree.
2. ``window``: per customer, from ``monthly``: ``t12m`` (months ``P-11 .. P``),
   ``prev12m`` (``P-23 .. P-12``), parcels, ``active_months`` (months with
   revenue > 0), the last month with revenue > 0, and each product's
   trailing-12 fen.
3. The customers first seen by ``P``, left-joined to ``window``;
   ``months_since_last`` looks beyond the window only for customers without a
   positive month in it; ``product_count`` counts the products whose
   trailing-12 sum is > 0 (its own aggregation, made only when asked for).

Money comes out as integer fen (``BIGINT``). SQLite sums 64-bit integers;
PostgreSQL, whose ``SUM`` of ``BIGINT`` is a slow ``numeric`` sum, sums float64
values, exact while every total stays below 2**53, which the query checks per
customer (see :class:`_Sums`; beyond it the caller raises ``PrecisionError``).
The input limits (``docs/limits.md``: at most 10**13 - 1 absolute fen per
customer and month) keep every per-customer sum of 24 months below 2**53, so
neither check can fire on data this library wrote; a roll-up is checked
first by :func:`check_rollup`, with the bound and the message of the
in-memory metrics. Should a database still refuse a sum (rows beyond the
limits, written by other means), :func:`guarded` raises ``PrecisionError``
naming the customer and month.
``yoy_growth`` is ``CAST(t12m AS DOUBLE PRECISION) / CAST(prev12m AS DOUBLE
PRECISION) - 1.0`` with the constant bound as a float8 parameter, so SQLite and
PostgreSQL make the same IEEE operations as numpy. Absent values are ``NULL``.

Only the metrics a caller names are computed: a policy that never names
``product_count`` does not pay for the products' aggregation.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from keyaccount.domain import (
    MAX_MONTH_FEN,
    MAX_MONTH_VOLUME,
    NO_CODE,
    SEGMENTS,
    Period,
    default_catalog,
    format_yuan,
)
from keyaccount.exceptions import PrecisionError
from keyaccount.portfolio import METRICS, MetricsTable, limits
from keyaccount.portfolio.limits import EXACT_LIMIT
from keyaccount.store._tables import customer_table, product_table, revenue_table

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence

    from keyaccount.store._engine import Database


__all__ = [
    "BIGINT",
    "DOUBLE",
    "EXACT_LIMIT",
    "INEXACT",
    "REVENUE_METRICS",
    "WINDOW",
    "as_bigint",
    "as_double",
    "check_exact",
    "check_rollup",
    "guarded",
    "metrics_select",
    "product_fen_column",
    "product_keys",
    "read_metrics",
    "snapshot",
    "uses_float_sums",
]

WINDOW: Final = 24
"""Months of revenue the window aggregation reads (``P-23 .. P``)."""

BIGINT: Final = sa.BigInteger()
"""The SQL type of money (fen) and counts."""
DOUBLE: Final[sa.Double[float]] = sa.Double()
"""The SQL type of ratios: IEEE float64 (``DOUBLE PRECISION``)."""


INEXACT: Final = "ka_inexact"
"""Label of the column that is 1 where a float64 sum could be inexact (see :class:`_Sums`)."""

REVENUE_METRICS: Final = frozenset(
    {
        "t12m_revenue",
        "prev12m_revenue",
        "yoy_growth",
        "t12m_volume",
        "active_months",
        "months_since_last",
    }
)
"""Metrics read from the monthly window aggregation."""

_C = customer_table
_R = revenue_table
_P = product_table


def as_bigint(value: int) -> sa.ColumnElement[Any]:
    """``CAST(:param AS BIGINT)``: an integer bound as a parameter, typed explicitly."""
    return sa.cast(sa.literal(int(value), BIGINT), BIGINT)


def as_double(value: float) -> sa.ColumnElement[Any]:
    """``CAST(:param AS DOUBLE PRECISION)``: a float64 bound as a parameter (never ``numeric``)."""
    return sa.cast(sa.literal(float(value), DOUBLE), DOUBLE)


def product_fen_column(index: int) -> str:
    """The label of the trailing-12 fen of the ``index``-th product of :func:`metrics_select`."""
    return f"product_fen_{index}"


def _segment_code() -> sa.ColumnElement[Any]:
    return sa.case(
        {segment.name: code for code, segment in enumerate(SEGMENTS)},
        value=_C.c.segment,
        else_=NO_CODE,
    )


def _tree() -> sa.CTE:
    """``(member, anc)``: each customer with itself and every ancestor, walking down the links.

    Seeded with every customer as its own ancestor, then each child of a
    member joins its ancestor's subtree. ``UNION`` (not ``UNION ALL``) ends the
    walk even on a corrupted, cyclic hierarchy.
    """
    seed = sa.select(_C.c.customer_key.label("member"), _C.c.customer_key.label("anc"))
    tree = seed.cte("ka_tree", recursive=True)
    child = _C.alias("ka_child")
    return tree.union(
        sa.select(child.c.customer_key, tree.c.anc).join(tree, child.c.parent_key == tree.c.member)
    )


class _Revenue:
    """The revenue rows a query reads, and the customer key each row counts for.

    Without a roll-up a row counts for its own customer; with one, for its
    customer and every ancestor (the ``ka_tree`` CTE, made once per query).
    """

    def __init__(self, rollup: bool) -> None:
        self.rollup = rollup
        self._tree: sa.CTE | None = None

    def source(self) -> tuple[sa.FromClause, sa.ColumnElement[Any]]:
        """The ``FROM`` clause and the customer key rows count for."""
        if not self.rollup:
            return _R, _R.c.customer_key
        if self._tree is None:
            self._tree = _tree()
        tree = self._tree
        return _R.join(tree, tree.c.member == _R.c.customer_key), tree.c.anc


class _Sums:
    """Sums of integer fen (or parcels) over two levels of grouping, exact either way.

    Integer sums (``BIGINT``) by default. With ``float_sums`` the values are
    summed as float64, which PostgreSQL aggregates far faster than its
    ``numeric`` sums of ``BIGINT``; every such sum is exact while the absolute
    total it is part of stays below 2**53, which the query checks (the
    :data:`INEXACT` column) so that the caller can fail loudly.
    """

    def __init__(self, float_sums: bool) -> None:
        self.float_sums = float_sums

    def first(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``SUM(value)`` of raw integer values."""
        if self.float_sums:
            return sa.func.sum(sa.cast(value, DOUBLE))
        return sa.func.sum(value)

    def then(
        self, where: sa.ColumnElement[bool], value: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        """``SUM(CASE WHEN where THEN value ELSE 0 END)`` of sums made by :meth:`first`."""
        if self.float_sums:
            return sa.func.sum(sa.case((where, value), else_=as_double(0.0)))
        return sa.func.sum(sa.case((where, value), else_=0))


def metrics_select(
    as_of: Period,
    *,
    metrics: Collection[str] = tuple(METRICS),
    product_keys: Sequence[int] = (),
    rollup: bool = False,
    float_sums: bool = False,
    ordered: bool = True,
) -> sa.Select[Any]:
    """The ``SELECT`` of the metrics as of ``as_of``, one row per customer first seen by then.

    Args:
        as_of: The as-of month ``P``.
        metrics: The metrics to compute (built-in names; others are ignored).
        product_keys: ``ka_product`` keys whose trailing-12 fen to compute,
            labelled :func:`product_fen_column` of their position here.
        rollup: Include every customer's descendants in its revenue metrics.
        float_sums: Sum fen as float64 (for PostgreSQL, see :class:`_Sums`) and
            add the column :data:`INEXACT`, 1 where a sum may not be exact.
        ordered: Order the rows by ``customer_key`` (not needed in a subquery).

    Returns:
        Columns ``customer_key``, ``customer_id``, ``tier`` (rank),
        ``segment`` (code, ``-1`` unassigned), ``segment_name`` (the stored
        name, ``NULL`` unassigned: cheaper to test than the code), each asked metric under its
        name (``BIGINT`` fen and counts, ``DOUBLE PRECISION`` ratios, ``NULL``
        when absent) and the product columns; ordered by ``customer_key``
        (portfolio order).
    """
    wanted = set(metrics)
    p = as_of.ordinal
    recent = p - 11
    first = p - (WINDOW - 1)
    columns: list[sa.ColumnElement[Any]] = [
        _C.c.customer_key.label("customer_key"),
        _C.c.customer_id.label("customer_id"),
        _C.c.tier.label("tier"),
        _segment_code().label("segment"),
        _C.c.segment.label("segment_name"),
    ]
    joins: list[tuple[sa.FromClause, sa.ColumnElement[bool]]] = []
    revenue = _Revenue(rollup)

    if wanted & REVENUE_METRICS or product_keys:
        source, key = revenue.source()
        money = _Sums(float_sums)
        fen = _R.c.revenue_fen
        month_columns: list[sa.ColumnElement[Any]] = [
            key.label("ckey"),
            _R.c.period.label("period"),
            money.first(fen).label("fen"),
        ]
        if "t12m_volume" in wanted:
            month_columns.append(money.first(_R.c.volume).label("volume"))
        for i, product_key in enumerate(product_keys):
            month_columns.append(
                money.first(sa.case((_R.c.product_key == product_key, fen), else_=0)).label(
                    product_fen_column(i)
                )
            )
        if float_sums:
            month_columns.append(money.first(sa.func.abs(fen)).label("abs_fen"))
        monthly = (
            sa.select(*month_columns)
            .select_from(source)
            .where(_R.c.period.between(first, p))
            .group_by(key, _R.c.period)
            .cte("ka_monthly")
        )
        m = monthly.c
        in_recent = m.period >= recent
        window_columns: list[sa.ColumnElement[Any]] = [
            m.ckey.label("ckey"),
            money.then(in_recent, m.fen).label("t12m"),
            money.then(m.period < recent, m.fen).label("prev12m"),
            sa.func.sum(sa.case((sa.and_(in_recent, m.fen > 0), 1), else_=0)).label("active"),
            sa.func.max(sa.case((m.fen > 0, m.period))).label("last_positive"),
        ]
        if "t12m_volume" in wanted:
            window_columns.append(money.then(in_recent, m.volume).label("volume"))
        window_columns += [
            money.then(in_recent, m[product_fen_column(i)]).label(product_fen_column(i))
            for i in range(len(product_keys))
        ]
        if float_sums:
            # Every fen sum of a customer is a partial sum of its window's |fen|,
            # so all are exact in float64 when this total is below 2**53.
            window_columns.append(sa.func.sum(m.abs_fen).label("abs_total"))
            if "t12m_volume" in wanted:
                window_columns.append(sa.func.sum(m.volume).label("volume_total"))
        window = sa.select(*window_columns).group_by(m.ckey).cte("ka_window")
        w = window.c
        joins.append((window, w.ckey == _C.c.customer_key))
        t12m = sa.func.coalesce(w.t12m, 0)
        prev12m = sa.func.coalesce(w.prev12m, 0)
        if float_sums:
            beyond = [w.abs_total >= as_double(EXACT_LIMIT)]
            if "t12m_volume" in wanted:
                beyond.append(w.volume_total >= as_double(EXACT_LIMIT))
            columns.append(sa.case((sa.or_(*beyond), 1), else_=0).label(INEXACT))
        if "t12m_revenue" in wanted:
            columns.append(sa.cast(t12m, BIGINT).label("t12m_revenue"))
        if "prev12m_revenue" in wanted:
            columns.append(sa.cast(prev12m, BIGINT).label("prev12m_revenue"))
        if "yoy_growth" in wanted:
            columns.append(
                sa.case(
                    (
                        w.prev12m > 0,
                        sa.cast(w.t12m, DOUBLE) / sa.cast(w.prev12m, DOUBLE) - as_double(1.0),
                    ),
                    else_=sa.null(),
                ).label("yoy_growth")
            )
        if "t12m_volume" in wanted:
            columns.append(sa.cast(sa.func.coalesce(w.volume, 0), BIGINT).label("t12m_volume"))
        if "active_months" in wanted:
            columns.append(sa.cast(sa.func.coalesce(w.active, 0), BIGINT).label("active_months"))
        if "months_since_last" in wanted:
            last = sa.func.coalesce(w.last_positive, _last_positive_before(first, revenue, joins))
            columns.append(sa.cast(p - last, BIGINT).label("months_since_last"))
        columns += [
            sa.cast(sa.func.coalesce(w[product_fen_column(i)], 0), BIGINT).label(
                product_fen_column(i)
            )
            for i in range(len(product_keys))
        ]
    if "product_count" in wanted:
        source, key = revenue.source()
        per_product = (
            sa.select(key.label("ckey"))
            .select_from(source)
            .where(_R.c.period.between(recent, p))
            .group_by(key, _R.c.product_key)
            .having(sa.func.sum(_R.c.revenue_fen) > 0)
            .subquery("ka_positive_products")
        )
        counts = (
            sa.select(per_product.c.ckey, sa.func.count().label("products"))
            .group_by(per_product.c.ckey)
            .cte("ka_product_count")
        )
        joins.append((counts, counts.c.ckey == _C.c.customer_key))
        columns.append(
            sa.cast(sa.func.coalesce(counts.c.products, 0), BIGINT).label("product_count")
        )
    if "tenure_months" in wanted:
        columns.append(sa.cast(p - _C.c.first_period, BIGINT).label("tenure_months"))
    # months_in_tier is always computed: the tier chain needs it for held demotions.
    columns.append(
        sa.cast(p - sa.func.coalesce(_C.c.tier_since, _C.c.first_period), BIGINT).label(
            "months_in_tier"
        )
    )

    from_clause: sa.FromClause = _C
    for target, on in joins:
        from_clause = from_clause.outerjoin(target, on)
    stmt = sa.select(*columns).select_from(from_clause).where(_C.c.first_period <= p)
    return stmt.order_by(_C.c.customer_key) if ordered else stmt


def _last_positive_before(
    first: int, revenue: _Revenue, joins: list[tuple[sa.FromClause, sa.ColumnElement[bool]]]
) -> sa.ColumnElement[Any]:
    """The last month before the window with revenue > 0, for customers with none in it.

    Without a roll-up this is a correlated subquery on the ``(customer_key,
    period)`` index, evaluated (``COALESCE`` is lazy on both databases) only
    for customers without a positive month in the window. With a roll-up the
    older history is aggregated per subtree once, and joined.
    """
    if not revenue.rollup:
        older = _R.alias("ka_older")
        return (
            sa.select(older.c.period)
            .where(older.c.customer_key == _C.c.customer_key, older.c.period < first)
            .group_by(older.c.period)
            .having(sa.func.sum(older.c.revenue_fen) > 0)
            .order_by(older.c.period.desc())
            .limit(1)
            .correlate(_C)
            .scalar_subquery()
        )
    source, key = revenue.source()
    positive = (
        sa.select(key.label("ckey"), _R.c.period.label("period"))
        .select_from(source)
        .where(_R.c.period < first)
        .group_by(key, _R.c.period)
        # float64: cannot overflow; exact wherever the result depends on it (check_rollup)
        .having(sa.func.sum(sa.cast(_R.c.revenue_fen, DOUBLE)) > as_double(0.0))
        .subquery("ka_older_positive")
    )
    older_last = (
        sa.select(positive.c.ckey, sa.func.max(positive.c.period).label("last_positive"))
        .group_by(positive.c.ckey)
        .cte("ka_older_last")
    )
    joins.append((older_last, older_last.c.ckey == _C.c.customer_key))
    return older_last.c.last_positive


def product_keys(conn: sa.Connection) -> dict[str, int]:
    """Every stored product's key by id, in catalogue (key) order."""
    rows = conn.execute(sa.select(_P.c.product_id, _P.c.product_key).order_by(_P.c.product_key))
    return {str(pid): int(key) for pid, key in rows}


def _product_revenue_select(as_of: Period, rollup: bool) -> sa.Select[Any]:
    """Trailing-12 fen per customer and product (non-zero sums only), for the table's matrix."""
    p = as_of.ordinal
    source, key = _Revenue(rollup).source()
    total = sa.cast(sa.func.sum(_R.c.revenue_fen), BIGINT)
    return (
        sa.select(key.label("ckey"), _R.c.product_key, total)
        .select_from(source)
        .where(_R.c.period.between(p - 11, p))
        .group_by(key, _R.c.product_key)
        .having(sa.func.sum(_R.c.revenue_fen) != 0)
    )


def uses_float_sums(conn: sa.Connection) -> bool:
    """Whether queries on ``conn``'s database sum fen as float64 (PostgreSQL; see ``_Sums``)."""
    return conn.dialect.name == "postgresql"


def _beyond_limits(conn: sa.Connection) -> PrecisionError | None:
    """The error naming the first stored customer-month beyond the monthly limits, if any.

    Sums in float64, which cannot overflow (and is exact below the limits); a
    full scan, made only once a sum has failed.
    """
    absolute = sa.func.sum(sa.func.abs(sa.cast(_R.c.revenue_fen, DOUBLE)))
    volume = sa.func.sum(sa.cast(_R.c.volume, DOUBLE))
    stmt = (
        sa.select(_C.c.customer_id, _R.c.period, absolute, volume)
        .join(_C, _C.c.customer_key == _R.c.customer_key)
        .group_by(_R.c.customer_key, _C.c.customer_id, _R.c.period)
        .having(
            sa.or_(
                absolute > as_double(float(MAX_MONTH_FEN)),
                volume > as_double(float(MAX_MONTH_VOLUME)),
            )
        )
        .order_by(_R.c.customer_key, _R.c.period)
        .limit(1)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    cid, period, fen, parcels = row
    month = Period.from_ordinal(int(period))
    if float(fen) > MAX_MONTH_FEN:
        shown = f"{format_yuan(int(fen))} yuan" if fen < 2**63 else "more than 64-bit fen"
        what = f"absolute revenue of {shown}, beyond the limit of {format_yuan(MAX_MONTH_FEN)} yuan"
    else:
        shown = f"{int(parcels):,} parcels" if parcels < 2**63 else "more than 64 bits"
        what = f"a volume of {shown}, beyond the limit of {MAX_MONTH_VOLUME:,} parcels"
    return PrecisionError(
        f"customer {cid!r}, month {month}: the store holds {what} per customer and month "
        "(docs/limits.md), so its sums cannot be exact; correct or remove these revenue rows"
    )


def _is_overflow(error: sa.exc.DBAPIError) -> bool:
    """Whether the driver reports an integer or numeric overflow (SQLite or PostgreSQL)."""
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        return "integer overflow" in str(orig)
    # psycopg: numeric_value_out_of_range (22003), e.g. "bigint out of range"
    return getattr(orig, "sqlstate", None) == "22003"


@contextmanager
def guarded(conn: sa.Connection, what: str) -> Iterator[None]:
    """Run queries with a database's overflow of a sum translated to ``PrecisionError``.

    The queries run under a savepoint, so that after PostgreSQL's error the
    stored rows beyond the limits can be looked up and named.

    Args:
        conn: The connection, inside a transaction.
        what: What the queries compute, for the message when no row is to blame.

    Raises:
        PrecisionError: the database refused a sum as beyond 64 bits.
    """
    savepoint = conn.begin_nested()
    try:
        yield
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        if not _is_overflow(exc):
            raise
        found = _beyond_limits(conn)
        if found is not None:
            raise found from exc
        raise PrecisionError(
            f"{what}: the database refused a sum as beyond 64-bit integers "
            f"({str(exc.orig).strip()})"
        ) from exc
    else:
        savepoint.commit()


def check_exact(
    conn: sa.Connection, flags: Sequence[Any], customer_ids: Sequence[Any], as_of: Period
) -> None:
    """Raise :class:`~keyaccount.exceptions.PrecisionError` where a float64 sum may be inexact.

    Names the stored customer-month beyond the limits when there is one.

    Args:
        conn: The query's connection.
        flags: The :data:`INEXACT` column of a query's rows.
        customer_ids: The customer ids of the same rows.
        as_of: The month, for the message.
    """
    bad = [cid for flag, cid in zip(flags, customer_ids, strict=True) if flag]
    if bad:
        found = _beyond_limits(conn)
        if found is not None:
            raise found
        shown = ", ".join(repr(c) for c in bad[:5])
        raise PrecisionError(
            f"absolute revenue (fen) or volume totals of {len(bad)} customer(s) ({shown}) in "
            f"the 24 months up to {as_of} reach 2**53; the database path cannot sum them "
            "exactly in float64"
        )


def check_rollup(conn: sa.Connection, as_of: Period) -> None:
    """Refuse a roll-up as of ``as_of`` exactly where the in-memory metrics refuse it.

    The bound of :func:`keyaccount.portfolio._metrics.compute_metrics`: each
    group's (a customer with its descendants) absolute fen in the 24 months
    to ``as_of`` and its volume in the 12 months to it stay below 2**53, and
    so does its absolute fen in each older block of 24 months that
    ``months_since_last`` reads (the blocks back from the window, as long as
    some customer has no positive month since). Sums are float64 (exact
    below 2**53, and at or above it once the exact sum is; they cannot
    overflow). A single sum over the store's revenue to ``as_of`` skips the
    per-group sums when even all of it stays below 2**53.

    Raises:
        PrecisionError: a group beyond the bound, named with the message of
            the in-memory metrics; or, first, a stored customer-month beyond
            the input limits (see :func:`guarded`).
    """
    p = as_of.ordinal
    first = p - (WINDOW - 1)
    limit = as_double(float(EXACT_LIMIT))
    absolute = sa.func.sum(sa.func.abs(sa.cast(_R.c.revenue_fen, DOUBLE)))
    volume = sa.func.sum(sa.case((_R.c.period >= p - 11, sa.cast(_R.c.volume, DOUBLE))))
    fen_total, volume_total = conn.execute(
        sa.select(absolute, volume).where(_R.c.period <= p)
    ).one()
    if (fen_total or 0.0) < EXACT_LIMIT and (volume_total or 0.0) < EXACT_LIMIT:
        return
    tree = _tree()
    source = _R.join(tree, tree.c.member == _R.c.customer_key).join(
        _C, _C.c.customer_key == tree.c.anc
    )

    def refuse(group: str, what: str) -> None:
        found = _beyond_limits(conn)
        if found is not None:
            raise found
        limits.check_rollup(np.array([float(EXACT_LIMIT)]), np.array([group], dtype=object), what)

    def first_group(value: sa.ColumnElement[Any], lo: int) -> str | None:
        stmt = (
            sa.select(_C.c.customer_id)
            .select_from(source)
            .where(_R.c.period.between(lo, p))
            .group_by(tree.c.anc, _C.c.customer_id)
            .having(value >= limit)
            .order_by(tree.c.anc)
            .limit(1)
        )
        found = conn.execute(stmt).scalar()
        return None if found is None else str(found)

    group = first_group(absolute, first)
    if group is not None:
        refuse(group, f"absolute revenue (fen) in the 24 months to {as_of}")
    group = first_group(sa.func.sum(sa.cast(_R.c.volume, DOUBLE)), p - 11)
    if group is not None:
        refuse(group, f"volume in the 12 months to {as_of}")
    # older blocks of 24 months, numbered back from the window: block b is first-24(b+1)..
    block = sa.cast((first - 1 - _R.c.period) // WINDOW, BIGINT)
    older = conn.execute(
        sa.select(block, _C.c.customer_id)
        .select_from(source)
        .where(_R.c.period < first)
        .group_by(block, tree.c.anc, _C.c.customer_id)
        .having(absolute >= limit)
        .order_by(block, tree.c.anc)
        .limit(1)
    ).first()
    if older is None:
        return
    b, group = int(older[0]), str(older[1])
    # The walk reaches block b when some customer has no positive month in
    # lo..p (the window and blocks before b, all of whose sums are exact).
    lo = first - WINDOW * b
    positive = (
        sa.select(tree.c.anc)
        .select_from(_R.join(tree, tree.c.member == _R.c.customer_key))
        .where(_R.c.period.between(lo, p))
        .group_by(tree.c.anc, _R.c.period)
        .having(sa.func.sum(sa.cast(_R.c.revenue_fen, DOUBLE)) > as_double(0.0))
        .subquery("ka_positive")
    )
    resolved = conn.execute(sa.select(sa.func.count(sa.distinct(positive.c.anc)))).scalar_one()
    customers = conn.execute(sa.select(sa.func.count()).select_from(_C)).scalar_one()
    if int(resolved) < int(customers):
        last = Period.from_ordinal(first - 1 - WINDOW * b)
        refuse(group, f"absolute revenue (fen) in the 24 months to {last}")


def read_metrics(conn: sa.Connection, as_of: Period, *, rollup: bool = False) -> MetricsTable:
    """The :class:`~keyaccount.portfolio.MetricsTable` as of ``as_of``, computed in the database.

    Equal to ``Portfolio.metrics(as_of, rollup=rollup)`` of the stored
    portfolio: the same customers in the same order, the same integers, the
    same float64 ratios bit for bit, absent values masked (and held as ``0``,
    or NaN for ratios, as the in-memory table holds them).
    """
    names = tuple(METRICS)
    float_sums = uses_float_sums(conn)
    if rollup:
        check_rollup(conn, as_of)
    with guarded(conn, f"metrics as of {as_of}"):
        result = conn.execute(
            metrics_select(as_of, metrics=names, rollup=rollup, float_sums=float_sums)
        )
        labels = list(result.keys())
        rows = result.all()
        product_rows = conn.execute(_product_revenue_select(as_of, rollup)).all()
    n = len(rows)
    raw = list(zip(*rows, strict=True)) if rows else [() for _ in labels]
    position = {name: i for i, name in enumerate(labels)}
    if INEXACT in position:
        check_exact(conn, raw[position[INEXACT]], raw[1], as_of)
    keys = np.array(raw[0], dtype=np.int64)
    columns: dict[str, npt.NDArray[Any]] = {}
    absent: dict[str, npt.NDArray[np.bool_]] = {}
    for name in names:
        values = raw[position[name]]
        missing = np.fromiter((v is None for v in values), dtype=bool, count=n)
        if name == "yoy_growth":
            columns[name] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            ).reshape(n)
        else:
            columns[name] = np.array([0 if v is None else v for v in values], dtype=np.int64)
        absent[name] = missing

    catalog = product_keys(conn)
    # An empty ka_product reads back as the default catalogue (see Store.catalog).
    product_ids = tuple(catalog) if catalog else tuple(default_catalog())
    column_of = {key: j for j, key in enumerate(catalog.values())}
    matrix = np.zeros((n, len(product_ids)), dtype=np.int64)
    for ckey, pkey, fen in product_rows:
        row = int(np.searchsorted(keys, ckey))
        if row < n and keys[row] == ckey:
            matrix[row, column_of[int(pkey)]] = int(fen)
    return MetricsTable(
        as_of=as_of,
        customer_ids=np.array(raw[1], dtype=object).reshape(n),
        columns=columns,
        absent=absent,
        tier=np.array(raw[2], dtype=np.int8).reshape(n),
        segment=np.array(raw[3], dtype=np.int8).reshape(n),
        product_ids=product_ids,
        product_revenue=matrix,
        rollup=rollup,
    )


@contextmanager
def snapshot(db: Database) -> Iterator[sa.Connection]:
    """A read transaction in which every query sees the same snapshot of the database.

    PostgreSQL runs it at ``REPEATABLE READ`` (its default, ``READ COMMITTED``,
    gives each statement a snapshot of its own); a SQLite read transaction
    sees one snapshot already, and so does a caller's transaction the store
    was given (at the isolation level the caller chose).
    """
    with db.transaction(write=False, snapshot=True) as conn:
        yield conn
