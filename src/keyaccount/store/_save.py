"""Writing a whole portfolio, and its history, into the store (``Store.save``), in bulk."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from keyaccount.exceptions import StoreNotEmptyError
from keyaccount.store._bulk import LARGE_ROWS, BulkWriter
from keyaccount.store._history import HISTORY_COLUMNS
from keyaccount.store._mapping import (
    PRODUCT_COLUMN_ORDER,
    customer_tuples,
    group_to_db,
    member_to_db,
    product_tuples,
)
from keyaccount.store._tables import TABLES, change_table
from keyaccount.utils import elapsed, logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    import sqlalchemy as sa

    from keyaccount.portfolio import Portfolio

__all__ = ["save_portfolio"]

_GROUP_COLUMNS: Final = ("group_key", "group_id", "name_en", "name_zh", "segment", "international")
_MEMBER_COLUMNS: Final = ("group_key", "member_index", "name", "role", "full_time")
_REVENUE_CHUNK: Final = 500_000
_log = logger("store")


def save_portfolio(
    conn: sa.Connection,
    portfolio: Portfolio,
    *,
    replace: bool,
    url: str,
    history: Sequence[tuple[Any, ...]] = (),
) -> bool:
    """Write ``portfolio`` (customers, catalogue, revenue, groups) in ``conn``'s transaction.

    Args:
        conn: A connection inside the store's bulk write transaction.
        portfolio: The portfolio; customers are stored in its order (their
            position is their key).
        replace: Delete everything the store holds first (the change history too).
        url: The store, for messages.
        history: Its change history as ``ka_change`` rows in
            :data:`~keyaccount.store._history.HISTORY_COLUMNS` (checked by
            :func:`~keyaccount.store._history.history_rows`), written after the customers.

    Returns:
        Whether data the store held was deleted first.

    Raises:
        StoreNotEmptyError: the store holds data and ``replace`` is false.
    """
    start = time.perf_counter()
    held = conn.exec_driver_sql(
        "SELECT (SELECT COUNT(*) FROM ka_customer) + (SELECT COUNT(*) FROM ka_product)"
        " + (SELECT COUNT(*) FROM ka_project_group)"
    ).scalar_one()
    if held:
        if not replace:
            raise StoreNotEmptyError(
                f"store {url} already holds a portfolio; pass replace=True to "
                "replace it (its change history is deleted too), or import into it"
            )
        _delete_all(conn)
    large = max(len(portfolio), len(portfolio.revenue_columns)) >= LARGE_ROWS
    with BulkWriter(conn, large=large) as writer:
        _write_portfolio(writer, portfolio)
        if history:
            _write_history(writer, conn, history)
    _log.info(
        "save: %d customers, %d revenue rows, %d products, %d project groups and %d changes "
        "written%s, in %.3f s",
        len(portfolio),
        len(portfolio.revenue_columns),
        len(portfolio.products.products),
        len(portfolio.project_groups),
        len(history),
        " (what the store held was deleted first)" if held else "",
        elapsed(start),
    )
    return bool(held)


def _delete_all(conn: sa.Connection) -> None:
    names = [t.name for t in reversed(TABLES) if t.name != "ka_schema"]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)}")
        return
    for name in names:
        conn.exec_driver_sql(f"DELETE FROM {name}")


def _write_history(
    writer: BulkWriter, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert the history rows in bulk, with their own keys; PostgreSQL's key sequence follows."""
    process = change_table.c.recorded_at.type.bind_processor(conn.dialect)
    if process is not None:  # SQLite: the text SQLAlchemy writes for a DateTime
        rows = [(*row[:-1], process(row[-1])) for row in rows]
    writer.insert("ka_change", HISTORY_COLUMNS, rows)
    if conn.dialect.name == "postgresql":
        # Changes applied later get keys after these.
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('ka_change', 'change_key'), "
            "(SELECT MAX(change_key) FROM ka_change))"
        )


def _write_portfolio(writer: BulkWriter, portfolio: Portfolio) -> None:
    writer.insert("ka_product", PRODUCT_COLUMN_ORDER, product_tuples(portfolio.products.products))
    cols = portfolio.customer_columns
    keys = np.arange(len(cols), dtype=np.int64)
    writer.customers(customer_tuples(cols, keys, cols.parent.astype(np.int64)))
    rev = portfolio.revenue_columns
    for cut in range(0, len(rev), _REVENUE_CHUNK):
        part = slice(cut, cut + _REVENUE_CHUNK)
        writer.revenue(
            rev.customer[part], rev.product[part], rev.period[part], rev.fen[part], rev.volume[part]
        )
    groups: list[tuple[object, ...]] = []
    members: list[tuple[object, ...]] = []
    owned: list[tuple[int, int]] = []
    position = portfolio.position
    for gk, group in enumerate(portfolio.project_groups):
        row = group_to_db(group, key=gk)
        groups.append(tuple(getattr(row, c) for c in _GROUP_COLUMNS))
        for index, member in enumerate(group.members):
            m = member_to_db(member, group_key=gk, index=index)
            members.append(tuple(getattr(m, c) for c in _MEMBER_COLUMNS))
        owned.extend((position(cid), gk) for cid in sorted(group.customer_ids))
    writer.insert("ka_project_group", _GROUP_COLUMNS, groups)
    writer.insert("ka_project_member", _MEMBER_COLUMNS, members)
    writer.insert("ka_project_customer", ("customer_key", "group_key"), owned)
    writer.finish()
