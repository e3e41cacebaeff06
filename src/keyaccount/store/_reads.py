"""Reading from the store: the whole portfolio, or parts of it, without loading everything."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlmodel import Session, col, select

from keyaccount.domain import (
    MAX_AMOUNT_FEN,
    MAX_VOLUME,
    SEGMENTS,
    SUB_SEGMENTS,
    Customer,
    Member,
    Period,
    ProductCatalog,
    ProjectGroup,
    RevenueRecord,
    Segment,
    Tier,
    default_catalog,
    format_yuan,
)
from keyaccount.exceptions import (
    KeyAccountError,
    PrecisionError,
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns
from keyaccount.store._mapping import (
    CUSTOMER_COLUMN_ORDER,
    customer_columns_from_tuples,
    customer_from_db,
    group_from_db,
    member_from_db,
    product_from_db,
)
from keyaccount.store._tables import (
    REVENUE_ROW,
    REVENUE_ROW_COLUMNS,
    DbCustomer,
    DbProduct,
    DbProjectGroup,
    DbProjectMember,
    customer_table,
    project_customer_table,
    project_group_table,
    revenue_table,
)
from keyaccount.utils.display import HEAD_ROWS, html_table, money, number, short_repr, span

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = [
    "RevenueTable",
    "Selection",
    "count_rows",
    "customer_index",
    "find_customers",
    "get_customer",
    "get_project_group",
    "iter_revenue_blocks",
    "load_portfolio",
    "read_catalog",
    "read_customer_columns",
    "read_project_groups",
    "read_revenue_table",
    "stored_catalog",
]

_FETCH_ROWS: Final = 500_000
_cursor_numbers = itertools.count()

_C = customer_table
_R = revenue_table
_PC = project_customer_table
_G = project_group_table


# ---------------------------------------------------------------- selections


def _segment_names(segment: Segment | str | Iterable[Segment | str]) -> list[str]:
    if isinstance(segment, (Segment, str)):
        return [Segment.parse(segment).name]
    return [Segment.parse(s).name for s in segment]


@attrs.frozen
class Selection:
    """Which customers a partial read covers; every given criterion must hold.

    Attributes:
        customer_ids: These customers.
        segment: Customers of this segment (or of any of these segments).
        project_group: Customers owned by this project group.
        tier: Customers of this tier.
    """

    customer_ids: tuple[str, ...] | None = None
    segment: tuple[str, ...] | None = None
    project_group: str | None = None
    tier: int | None = None

    @classmethod
    def of(
        cls,
        customer_ids: Iterable[str] | str | None = None,
        segment: Segment | str | Iterable[Segment | str] | None = None,
        project_group: str | None = None,
        tier: Tier | str | None = None,
    ) -> Selection:
        """A selection from user-facing arguments (labels are parsed)."""
        ids = (customer_ids,) if isinstance(customer_ids, str) else customer_ids
        return cls(
            customer_ids=None if ids is None else tuple(ids),
            segment=None if segment is None else tuple(_segment_names(segment)),
            project_group=project_group,
            tier=None if tier is None else Tier.parse(tier).rank,
        )

    @property
    def everything(self) -> bool:
        """Whether no criterion is given (the selection is every customer)."""
        return (
            self.customer_ids is None
            and self.segment is None
            and self.project_group is None
            and self.tier is None
        )

    def keys(self) -> sa.Select[Any]:
        """``SELECT customer_key`` of the selected customers."""
        stmt = sa.select(_C.c.customer_key)
        if self.customer_ids is not None:
            stmt = stmt.where(_C.c.customer_id.in_(self.customer_ids))
        if self.segment is not None:
            stmt = stmt.where(_C.c.segment.in_(self.segment))
        if self.tier is not None:
            stmt = stmt.where(_C.c.tier == self.tier)
        if self.project_group is not None:
            stmt = stmt.where(
                _C.c.customer_key.in_(
                    sa.select(_PC.c.customer_key)
                    .join(_G, _G.c.group_key == _PC.c.group_key)
                    .where(_G.c.group_id == self.project_group)
                )
            )
        return stmt

    def keys_with_ancestors(self) -> sa.Select[Any]:
        """``SELECT`` the keys of the selected customers and of all their ancestors."""
        base = self.keys().cte("ka_selected", recursive=True)
        parent = _C.alias("ka_parent")
        walk = base.union(
            sa.select(parent.c.parent_key)
            .join(base, parent.c.customer_key == base.c.customer_key)
            .where(parent.c.parent_key.is_not(None))
        )
        return sa.select(walk.c.customer_key)


def _check_group(conn: sa.Connection, group_id: str | None) -> None:
    if group_id is None:
        return
    found = conn.execute(sa.select(_G.c.group_key).where(_G.c.group_id == group_id)).first()
    if found is None:
        raise UnknownProjectGroupError(f"unknown project group {group_id!r} in the store")


_COUNTED: Final = {
    "customers": "ka_customer",
    "revenue": "ka_revenue",
    "products": "ka_product",
    "project_groups": "ka_project_group",
    "changes": "ka_change",
}


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """Rows per kind: customers, revenue, products, project_groups, changes."""
    return {
        kind: int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())
        for kind, table in _COUNTED.items()
    }


# ---------------------------------------------------------------- catalogue


def stored_catalog(conn: sa.Connection) -> ProductCatalog | None:
    """The catalogue held in ``ka_product`` (in key order), or ``None`` when it is empty."""
    with Session(conn) as session:
        rows = session.exec(select(DbProduct).order_by(col(DbProduct.product_key))).all()
        products = [product_from_db(r) for r in rows]
    return ProductCatalog(tuple(products)) if products else None


def read_catalog(conn: sa.Connection) -> ProductCatalog:
    """The store's catalogue: the stored one, or the default catalogue while none is stored."""
    stored = stored_catalog(conn)
    return stored if stored is not None else default_catalog()


# ---------------------------------------------------------------- customers


def _parent_ids(conn: sa.Connection, rows: Sequence[DbCustomer]) -> dict[int, str]:
    wanted = sorted({r.parent_key for r in rows if r.parent_key is not None})
    found: dict[int, str] = {}
    for cut in range(0, len(wanted), 10_000):
        part = wanted[cut : cut + 10_000]
        for key, cid in conn.execute(
            sa.select(_C.c.customer_key, _C.c.customer_id).where(_C.c.customer_key.in_(part))
        ):
            found[key] = cid
    return found


def _customers_from_rows(conn: sa.Connection, rows: Sequence[DbCustomer]) -> list[Customer]:
    parents = _parent_ids(conn, rows)
    return [
        customer_from_db(r, parent_id=None if r.parent_key is None else parents[r.parent_key])
        for r in rows
    ]


def get_customer(conn: sa.Connection, customer_id: str) -> Customer:
    """The customer ``customer_id``.

    Raises:
        UnknownCustomerError: the store holds no such customer.
    """
    with Session(conn) as session:
        row = session.exec(select(DbCustomer).where(DbCustomer.customer_id == customer_id)).first()
        if row is None:
            raise UnknownCustomerError(f"unknown customer {customer_id!r} in the store")
        return _customers_from_rows(conn, [row])[0]


def find_customers(conn: sa.Connection, selection: Selection) -> list[Customer]:
    """The selected customers as domain objects, in portfolio order."""
    _check_group(conn, selection.project_group)
    with Session(conn) as session:
        rows = session.exec(
            select(DbCustomer)
            .where(col(DbCustomer.customer_key).in_(selection.keys()))
            .order_by(col(DbCustomer.customer_key))
        ).all()
        return _customers_from_rows(conn, rows)


def raw_query(conn: sa.Connection, stmt: sa.Select[Any]) -> tuple[str, Any]:
    """``stmt`` as SQL text and parameters for the driver's own cursor."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "sqlite":
        return compiled.string, [compiled.params[name] for name in compiled.positiontup or ()]
    return compiled.string, compiled.params


def iter_raw_rows(conn: sa.Connection, stmt: sa.Select[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``stmt`` as plain tuples from the driver, a block at a time.

    PostgreSQL reads through a server-side cursor, so memory stays bounded by a block.
    """
    sql, params = raw_query(conn, stmt)
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":
        cursor = raw.cursor()
    else:
        cursor = raw.cursor(name=f"ka_read_{next(_cursor_numbers)}")
        cursor.itersize = _FETCH_ROWS
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH_ROWS):
            yield rows
    finally:
        cursor.close()


def customer_index(conn: sa.Connection) -> tuple[dict[str, int], npt.NDArray[np.int32]]:
    """Every customer's key by id, and first-period ordinals indexed by key.

    Used by imports to check and key rows without a query per row. Keys not
    in use have a first period beyond any valid month.
    """
    ids: dict[str, int] = {}
    keys: list[int] = []
    firsts: list[int] = []
    stmt = sa.select(_C.c.customer_id, _C.c.customer_key, _C.c.first_period)
    for rows in iter_raw_rows(conn, stmt):
        cid, key, first = zip(*rows, strict=True)
        ids.update(zip(cid, key, strict=True))
        keys.extend(key)
        firsts.extend(first)
    first_period = np.full(max(keys, default=-1) + 1, np.iinfo(np.int32).max, dtype=np.int32)
    first_period[np.array(keys, dtype=np.int64)] = firsts
    return ids, first_period


def read_customer_columns(
    conn: sa.Connection, keys: sa.Select[Any] | None
) -> tuple[npt.NDArray[np.int64], CustomerColumns]:
    """The customers of ``keys`` (all with ``None``) as columns, in key order, and their keys."""
    stmt = sa.select(*(_C.c[name] for name in CUSTOMER_COLUMN_ORDER)).order_by(_C.c.customer_key)
    if keys is not None:
        stmt = stmt.where(_C.c.customer_key.in_(keys))
    rows: list[tuple[Any, ...]] = []
    for part in iter_raw_rows(conn, stmt):
        rows.extend(part)
    try:
        stored_keys = np.array([r[0] for r in rows], dtype=np.int64)
        return stored_keys, customer_columns_from_tuples(rows)
    except KeyAccountError:
        raise
    except (LookupError, ValueError, TypeError, OverflowError) as exc:
        raise _unreadable(rows, _CUSTOMER_KINDS, "customer", exc) from None


_CHANGED: Final = "the database was changed by other means: correct it"
_CUSTOMER_KINDS: Final[dict[str, str | frozenset[str | None]]] = {
    "customer_key": "integer",
    "segment": frozenset([None, *(s.name for s in SEGMENTS)]),
    "sub_segment": frozenset([None, *(s.name for s in SUB_SEGMENTS)]),
    "tier": "integer",
    "parent_key": "integer or null",
    "first_period": "integer",
    "tier_since": "integer or null",
}
"""What each checked column of a customer row holds: integers, or one of a set of names."""
_REVENUE_KINDS: Final = dict.fromkeys(REVENUE_ROW_COLUMNS, "integer")


def _fits(value: object, kind: str | frozenset[str | None]) -> bool:
    if isinstance(kind, frozenset):
        return value in kind
    if value is None:
        return kind.endswith("or null")
    return isinstance(value, int) and not isinstance(value, bool)


def _unreadable(
    rows: Sequence[Sequence[Any]],
    kinds: Mapping[str, str | frozenset[str | None]],
    what: str,
    exc: Exception,
) -> ValidationError:
    """The error naming the first stored value of ``rows`` of a kind the store never writes.

    ``rows`` are in :data:`CUSTOMER_COLUMN_ORDER` (customers) or
    :data:`REVENUE_ROW_COLUMNS` (revenue).
    """
    order = CUSTOMER_COLUMN_ORDER if what == "customer" else REVENUE_ROW_COLUMNS
    for row in rows:
        for name, value in zip(order, row, strict=True):
            kind = kinds.get(name)
            if kind is None or _fits(value, kind):
                continue
            problem = "is unknown" if isinstance(kind, frozenset) else f"is not an {kind}"
            where = (
                f"the store's customer {row[1]!r}"
                if what == "customer"
                else "the store's revenue row "
                + ", ".join(f"{n}={v!r}" for n, v in zip(order, row, strict=True))
            )
            return ValidationError(f"{where}: {name} {value!r} {problem}; {_CHANGED}")
    return ValidationError(f"the store's {what} rows cannot be read ({exc}); {_CHANGED}")


# ---------------------------------------------------------------- revenue


def iter_revenue_blocks(
    conn: sa.Connection,
    *,
    keys: sa.Select[Any] | None = None,
    start: Period | None = None,
    end: Period | None = None,
) -> Iterator[npt.NDArray[np.int64]]:
    """Revenue rows as ``(n, 5)`` int64 blocks (key, product key, period, fen, volume).

    Rows come in storage order, at most 500,000 at a time, so memory stays
    bounded whatever the size of the table.

    Args:
        conn: A connection inside a transaction.
        keys: Only rows of these customer keys.
        start: Only rows of this month or later.
        end: Only rows of this month or earlier.
    """
    stmt = sa.select(*(_R.c[name] for name in REVENUE_ROW_COLUMNS)).order_by(_R.c.revenue_key)
    if keys is not None:
        stmt = stmt.where(_R.c.customer_key.in_(keys))
    if start is not None:
        stmt = stmt.where(_R.c.period >= start.ordinal)
    if end is not None:
        stmt = stmt.where(_R.c.period <= end.ordinal)
    if conn.dialect.name == "postgresql":
        yield from _pg_binary_blocks(conn, stmt)
        return
    for rows in iter_raw_rows(conn, stmt):
        try:
            block = np.array(rows, dtype=np.int64)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _unreadable(rows, _REVENUE_KINDS, "revenue", exc) from None
        yield block.reshape(len(rows), len(REVENUE_ROW_COLUMNS))


_BIG_ENDIAN: Final = {"int4": ">i4", "int8": ">i8"}
_PG_ROW: Final = np.dtype(
    [
        ("fields", ">i2"),
        *itertools.chain.from_iterable(
            ((f"len_{name}", ">i4"), (name, _BIG_ENDIAN[pg_type])) for name, pg_type in REVENUE_ROW
        ),
    ]
)
"""A revenue row in PostgreSQL's binary COPY format (the columns are NOT NULL, so fixed size):
the field count, then each column's length and value."""
_PG_HEADER_BYTES: Final = 19


def _pg_binary_blocks(conn: sa.Connection, stmt: sa.Select[Any]) -> Iterator[npt.NDArray[np.int64]]:
    """Revenue rows through ``COPY (...) TO STDOUT (FORMAT BINARY)``, parsed with numpy."""
    sql, params = raw_query(conn, stmt)
    raw: Any = conn.connection.dbapi_connection
    size = _PG_ROW.itemsize
    pending = bytearray()
    skip = _PG_HEADER_BYTES
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
    ):
        for data in copy:
            pending += data
            if skip:
                if len(pending) < skip:
                    continue
                del pending[:skip]
                skip = 0
            if len(pending) >= _FETCH_ROWS * size:
                whole = len(pending) // size * size
                yield _parse_pg_rows(bytes(pending[:whole]))
                del pending[:whole]
    whole = len(pending) // size * size  # what is left over is the 2-byte trailer
    if whole:
        yield _parse_pg_rows(bytes(pending[:whole]))


def _parse_pg_rows(data: bytes) -> npt.NDArray[np.int64]:
    rows = np.frombuffer(data, dtype=_PG_ROW)
    out = np.empty((len(rows), len(REVENUE_ROW_COLUMNS)), dtype=np.int64)
    for i, name in enumerate(REVENUE_ROW_COLUMNS):
        out[:, i] = rows[name]
    return out


def _positions(
    sorted_keys: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]
) -> npt.NDArray[np.int32]:
    at = np.searchsorted(sorted_keys, wanted)
    return at.astype(np.int32)


@attrs.frozen(eq=False)
class RevenueTable:
    """Revenue records read from the store, as parallel arrays (one element per record).

    Attributes:
        customer_id: Customer ids (``object`` array of ``str``).
        product_id: Product ids (``object`` array of ``str``).
        period: :attr:`~keyaccount.Period.ordinal` of the month (``int32``).
        fen: Revenue in fen (``int64``); negative for refunds.
        volume: Parcels (``int64``).

    Records come in the order they were stored; duplicate (customer,
    product, period) records are kept apart (they add).
    """

    customer_id: npt.NDArray[np.object_]
    product_id: npt.NDArray[np.object_]
    period: npt.NDArray[np.int32]
    fen: npt.NDArray[np.int64]
    volume: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.period.shape[0])

    def __repr__(self) -> str:
        months = None
        if len(self):
            first, last = (Period.from_ordinal(int(f(self.period))) for f in (np.min, np.max))
            months = span(first, last)
        return short_repr("RevenueTable", f"{number(len(self))} records", months=months)

    def _repr_html_(self) -> str:
        rows = (
            (
                self.customer_id[i],
                self.product_id[i],
                str(Period.from_ordinal(int(self.period[i]))),
                money(int(self.fen[i])),
                int(self.volume[i]),
            )
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("customer_id", "product_id", "period", "yuan", "volume")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="records")

    @property
    def total_fen(self) -> int:
        """The sum of all records, in fen (exact)."""
        return sum(self.fen.tolist())

    def records(self) -> Iterator[RevenueRecord]:
        """The records as :class:`~keyaccount.RevenueRecord` objects, made on demand."""
        for cid, pid, period, fen, volume in zip(
            self.customer_id.tolist(),
            self.product_id.tolist(),
            self.period.tolist(),
            self.fen.tolist(),
            self.volume.tolist(),
            strict=True,
        ):
            yield RevenueRecord.from_fen(cid, pid, Period.from_ordinal(period), fen, volume)


def read_revenue_table(
    conn: sa.Connection, selection: Selection, start: Period | None, end: Period | None
) -> RevenueTable:
    """The revenue of the selected customers within ``start``..``end`` (either may be open)."""
    _check_group(conn, selection.project_group)
    keys = None if selection.everything else selection.keys()
    blocks = list(iter_revenue_blocks(conn, keys=keys, start=start, end=end))
    data = np.concatenate(blocks) if blocks else np.empty((0, 5), dtype=np.int64)
    customer_keys = np.unique(data[:, 0])
    id_of: dict[int, str] = {}
    for cut in range(0, len(customer_keys), 10_000):
        part = customer_keys[cut : cut + 10_000].tolist()
        rows = conn.execute(
            sa.select(_C.c.customer_key, _C.c.customer_id).where(_C.c.customer_key.in_(part))
        )
        id_of.update((int(k), str(c)) for k, c in rows)
    catalog = read_catalog(conn)
    product_ids = np.array(list(catalog), dtype=object)
    ids = np.empty(len(customer_keys), dtype=object)
    ids[:] = [id_of[k] for k in customer_keys.tolist()]
    return RevenueTable(
        customer_id=ids[np.searchsorted(customer_keys, data[:, 0])],
        product_id=product_ids[data[:, 1]] if len(product_ids) else np.empty(0, dtype=object),
        period=data[:, 2].astype(np.int32),
        fen=data[:, 3].copy(),
        volume=data[:, 4].copy(),
    )


# ---------------------------------------------------------------- project groups


def read_project_groups(
    conn: sa.Connection, *, group_id: str | None = None, keys: sa.Select[Any] | None = None
) -> list[ProjectGroup]:
    """Project groups in order, with their members and customers.

    Args:
        conn: A connection inside a transaction.
        group_id: Only this group.
        keys: Keep only the customers among these keys (a partial portfolio).
    """
    with Session(conn) as session:
        stmt = select(DbProjectGroup).order_by(col(DbProjectGroup.group_key))
        if group_id is not None:
            stmt = stmt.where(DbProjectGroup.group_id == group_id)
        groups = session.exec(stmt).all()
        group_keys = [g.group_key for g in groups]
        members: dict[int, list[Member]] = defaultdict(list)
        for m in session.exec(
            select(DbProjectMember)
            .where(col(DbProjectMember.group_key).in_(group_keys))
            .order_by(col(DbProjectMember.group_key), col(DbProjectMember.member_index))
        ):
            members[m.group_key].append(member_from_db(m))
        owned = (
            sa.select(_PC.c.group_key, _C.c.customer_id)
            .join(_C, _C.c.customer_key == _PC.c.customer_key)
            .where(_PC.c.group_key.in_(group_keys))
        )
        if keys is not None:
            owned = owned.where(_PC.c.customer_key.in_(keys))
        customers: dict[int, list[str]] = defaultdict(list)
        for gk, cid in conn.execute(owned):
            customers[gk].append(cid)
        return [group_from_db(g, members[g.group_key], customers[g.group_key]) for g in groups]


def get_project_group(conn: sa.Connection, group_id: str) -> ProjectGroup:
    """The project group ``group_id`` with its members and customers.

    Raises:
        UnknownProjectGroupError: the store holds no such group.
    """
    found = read_project_groups(conn, group_id=group_id)
    if not found:
        raise UnknownProjectGroupError(f"unknown project group {group_id!r} in the store")
    return found[0]


# ---------------------------------------------------------------- portfolio


def _check_stored_rows(columns: RevenueColumns, portfolio: Portfolio) -> None:
    """Refuse stored rows beyond the per-record limits, naming the row (the portfolio's limits).

    Raises:
        PrecisionError: a row's ``|fen|`` or volume beyond its limit.
    """
    bad = (np.abs(columns.fen.astype(np.float64)) > MAX_AMOUNT_FEN) | (columns.volume > MAX_VOLUME)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    cid = portfolio.customer_columns.id[int(columns.customer[i])]
    pid = portfolio.products.products[int(columns.product[i])].id
    fen, volume = int(columns.fen[i]), int(columns.volume[i])
    what = (
        f"amount {format_yuan(fen)} yuan is beyond the limit of "
        f"{format_yuan(MAX_AMOUNT_FEN)} yuan per record"
        if abs(fen) > MAX_AMOUNT_FEN
        else f"volume {volume:,} is beyond the limit of {MAX_VOLUME:,} per record"
    )
    raise PrecisionError(
        f"the store's revenue row of customer {cid!r}, product {pid!r}, month "
        f"{Period.from_ordinal(int(columns.period[i]))}: {what} (docs/limits.md); "
        "correct or remove it"
    )


def load_portfolio(
    conn: sa.Connection, selection: Selection, start: Period | None, end: Period | None
) -> Portfolio:
    """The stored portfolio, or the part of it ``selection`` and the months pick.

    A partial portfolio holds the selected customers and all their ancestors
    (so that every parent link stays valid), the revenue of those customers
    within ``start``..``end``, the whole catalogue, and every project group
    with only the customers the portfolio holds.
    """
    _check_group(conn, selection.project_group)
    keys = None if selection.everything else selection.keys_with_ancestors()
    catalog = read_catalog(conn)
    stored_keys, columns = read_customer_columns(conn, keys)
    portfolio = Portfolio(products=catalog)
    portfolio.add_customer_columns(columns)
    product_keys = np.arange(len(catalog), dtype=np.int64)
    for block in iter_revenue_blocks(conn, keys=keys, start=start, end=end):
        rows = RevenueColumns(
            _positions(stored_keys, block[:, 0]),
            _positions(product_keys, block[:, 1]),
            block[:, 2].astype(np.int32),
            block[:, 3].copy(),
            block[:, 4].copy(),
        )
        _check_stored_rows(rows, portfolio)
        try:
            portfolio.add_revenue_columns(rows)
        except PrecisionError as exc:
            raise PrecisionError(
                f"the store's revenue: {exc}; correct or remove these rows"
            ) from None
    for group in read_project_groups(conn, keys=keys):
        portfolio.add_project_group(group)
    return portfolio
