"""The store's side of a bulk import: rows checked against the store, and written.

The checks that need the store are made here, in bulk: a customer id that
the store already holds, a parent that is neither among the new customers
nor in the store, a revenue row whose customer the store does not hold, or
whose month is before that customer's first period, and the monthly limits
counting the revenue already stored. Each bad row goes, named by line,
column, value and reason, to the :class:`~keyaccount.io.problems.ProblemSink`
of its source: the sink the CSV reader of that file uses, so that reader and
store report their bad rows together (one error, or one reject file).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from keyaccount.domain import (
    MAX_MONTH_FEN,
    MAX_MONTH_VOLUME,
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Period,
    ProductCatalog,
    parent_cycles,
    sub_segment_mismatch,
)
from keyaccount.io.problems import Problem
from keyaccount.portfolio import RevenueColumns
from keyaccount.portfolio.limits import CustomerTotals, check_month_sums, check_record_limits
from keyaccount.store._mapping import (
    PRODUCT_COLUMN_ORDER,
    CustomerBlock,
    customer_tuples,
    product_tuples,
)
from keyaccount.store._reads import customer_index, stored_catalog
from keyaccount.store._tables import revenue_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keyaccount.io.problems import ProblemSink
    from keyaccount.store._bulk import BulkWriter

__all__ = ["CustomerBatch", "Importer", "RevenueBatch", "ensure_catalog"]


class CustomerBatch(CustomerBlock, Protocol):
    """Customers to import: the columns of :class:`keyaccount.io.CustomerRows`."""

    @property
    def line(self) -> npt.NDArray[np.int64]: ...
    @property
    def parent_id(self) -> npt.NDArray[np.object_]: ...
    def __len__(self) -> int: ...


class RevenueBatch(Protocol):
    """Revenue rows to import: the columns of :class:`keyaccount.io.RevenueRows`."""

    @property
    def line(self) -> npt.NDArray[np.int64]: ...
    @property
    def customer_id(self) -> npt.NDArray[np.object_]: ...
    @property
    def product(self) -> npt.NDArray[np.int32]: ...
    @property
    def period(self) -> npt.NDArray[np.int32]: ...
    @property
    def fen(self) -> npt.NDArray[np.int64]: ...
    @property
    def volume(self) -> npt.NDArray[np.int64]: ...
    def __len__(self) -> int: ...


def ensure_catalog(
    conn: sa.Connection, writer: BulkWriter, wanted: ProductCatalog | None
) -> tuple[ProductCatalog, npt.NDArray[np.int32]]:
    """The store's catalogue, writing it (or the products it lacks) first.

    Args:
        conn: The import's connection.
        writer: The import's bulk writer.
        wanted: The catalogue the caller's product positions refer to
            (``None``: the store's own, or the default catalogue while none is stored).

    Returns:
        The store's catalogue and, for each position in ``wanted``, the
        product's key in the store.
    """
    stored = stored_catalog(conn)
    if stored is None:
        from keyaccount.domain import default_catalog

        stored = ProductCatalog(())
        wanted = wanted if wanted is not None else default_catalog()
    elif wanted is None:
        wanted = stored
    missing = [p for p in wanted.products if p.id not in stored]
    if missing:
        writer.insert(
            "ka_product", PRODUCT_COLUMN_ORDER, product_tuples(missing, start=len(stored))
        )
        stored = stored.with_products(missing)
    product_map = np.array([stored.position(pid) for pid in wanted], dtype=np.int32)
    return stored, product_map


def _period_text(ordinal: int) -> str:
    return str(Period.from_ordinal(ordinal)) if ordinal >= Period(1900, 1).ordinal else str(ordinal)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


class Importer:
    """Checks and writes the customers and revenue of one import, inside one transaction.

    Args:
        conn: A connection inside the store's write transaction.
        writer: The bulk writer on that connection.
        catalog: The store's catalogue.
        product_map: Store key of each position the batches' ``product`` refers to.
    """

    def __init__(
        self,
        conn: sa.Connection,
        writer: BulkWriter,
        catalog: ProductCatalog,
        product_map: npt.NDArray[np.int32],
    ) -> None:
        self._conn = conn
        self._writer = writer
        self.catalog = catalog
        self._product_map = product_map
        self._product_ids = np.array(list(catalog), dtype=object)
        self.ids, self._first = customer_index(conn)
        self._next_key = len(self._first)
        self.customers_added = 0
        self.revenue_added = 0
        # Only customers the store held before the import can have stored revenue,
        # and only when the store holds any: otherwise no query is needed.
        self._held_keys = (
            self._next_key
            if conn.exec_driver_sql("SELECT 1 FROM ka_revenue LIMIT 1").first() is not None
            else 0
        )
        # the monthly-limit screen: this import's totals per customer key, the stored
        # totals of the held customers read so far, and the customers to check exactly
        self._totals = CustomerTotals()
        self._stored = CustomerTotals()
        self._fetched = np.zeros(0, np.bool_)
        self._suspects = np.empty(0, np.int64)
        self._names: dict[int, str] | None = None
        # With a reject file, the revenue rows the store refuses follow the reader's own
        # in the file, in line order: held until the source ends (see end_source).
        self._held: list[Problem] = []

    # ------------------------------------------------------------ customers

    def add_customers(self, rows: CustomerBatch, sink: ProblemSink) -> None:
        """Check ``rows`` against the store and write the good ones.

        Bad rows: an id the store (or an earlier row) holds, a parent found
        neither among the rows nor in the store, parent cycles, and, for
        batches not read by the CSV reader, codes out of range, sub-segments
        of another segment and ``tier_since`` before ``first_period``. They
        go to ``sink``; with a reject file the children of a rejected
        customer are rejected too, and in raise mode nothing is written.
        """
        n = len(rows)
        ids: list[str] = rows.id.tolist()
        parents: list[str | None] = rows.parent_id.tolist()
        lines: list[int] = rows.line.tolist()
        bad: dict[int, tuple[str, str, str]] = {}
        first_row: dict[str, int] = {}
        for i, cid in enumerate(ids):
            if not isinstance(cid, str) or not cid or cid != cid.strip():
                bad[i] = ("customer_id", str(cid), "customer id must be non-empty text")
            elif cid in self.ids:
                bad[i] = ("customer_id", cid, "customer id already in the store")
            elif cid in first_row:
                bad[i] = (
                    "customer_id",
                    cid,
                    f"duplicate customer id, first at line {lines[first_row[cid]]}",
                )
            else:
                first_row[cid] = i
        self._check_codes(rows, bad)
        for i, pid in enumerate(parents):
            if pid is None or i in bad:
                continue
            if pid == ids[i]:
                bad[i] = ("parent_id", pid, "a customer cannot be its own parent")
            elif pid not in first_row and pid not in self.ids:
                bad[i] = ("parent_id", pid, f"unknown parent customer {pid!r}")
        for cycle in _cycles_among(ids, parents, first_row, bad):
            text = " -> ".join([*cycle, cycle[0]])
            for cid in cycle:
                i = first_row[cid]
                bad[i] = ("parent_id", str(parents[i]), f"parent cycle: {text}")
        if sink.policy.mode == "reject":
            self._cascade(ids, parents, lines, first_row, bad)
        for i in sorted(bad):
            column, value, reason = bad[i]
            fields = sink.fields_of(_customer_fields(rows, i))
            sink.add(Problem(lines[i], column, value, reason, fields))
        if sink.failed:
            return
        keep = np.ones(n, dtype=np.bool_)
        keep[list(bad)] = False
        good = np.flatnonzero(keep)
        keys = self._next_key + np.arange(len(good), dtype=np.int64)
        new_keys = dict(zip((ids[i] for i in good.tolist()), keys.tolist(), strict=True))
        parent_keys = np.array(
            [
                -1 if parents[i] is None else new_keys.get(parents[i], self.ids.get(parents[i], -1))  # type: ignore[arg-type]
                for i in good.tolist()
            ],
            dtype=np.int64,
        )
        block = _Kept.of(rows, good)
        self._writer.customers(customer_tuples(block, keys, parent_keys))
        self.ids.update(new_keys)
        self._first = np.concatenate([self._first, block.first_period.astype(np.int32)])
        self._next_key += len(good)
        self.customers_added += len(good)

    def _check_codes(self, rows: CustomerBatch, bad: dict[int, tuple[str, str, str]]) -> None:
        def flag(mask: npt.NDArray[np.bool_], column: str, values: Any, reason: str) -> None:
            for i in np.flatnonzero(mask).tolist():
                bad.setdefault(i, (column, str(values[i]), reason))

        seg, sub, tier = rows.segment, rows.sub_segment, rows.tier
        flag((seg < NO_CODE) | (seg >= len(SEGMENTS)), "segment", seg, "unknown segment code")
        flag((sub < NO_CODE) | (sub >= len(SUB_SEGMENTS)), "sub_segment", sub, "unknown code")
        flag((tier < 0) | (tier >= len(TIERS)), "tier", tier, "unknown tier code")
        mismatch = sub_segment_mismatch(seg, sub)
        flag(mismatch, "sub_segment", sub, "sub-segment does not belong to the segment")
        since = rows.tier_since
        flag(
            (since != NO_CODE) & (since < rows.first_period),
            "tier_since",
            since,
            "tier_since is before first_period",
        )

    @staticmethod
    def _cascade(
        ids: Sequence[str],
        parents: Sequence[str | None],
        lines: Sequence[int],
        first_row: dict[str, int],
        bad: dict[int, tuple[str, str, str]],
    ) -> None:
        children: dict[str, list[int]] = {}
        for i, pid in enumerate(parents):
            if pid is not None and i not in bad:
                children.setdefault(pid, []).append(i)
        todo = [ids[i] for i in bad if first_row.get(ids[i]) == i]
        while todo:
            pid = todo.pop()
            for child in children.get(pid, []):
                if child not in bad:
                    line = lines[first_row[pid]]
                    bad[child] = ("parent_id", pid, f"parent customer {pid!r} (line {line}) is bad")
                    todo.append(ids[child])

    # ------------------------------------------------------------ revenue

    def end_source(self, sink: ProblemSink) -> None:
        """Hand the held bad rows of a revenue source to its sink, in line order.

        With a reject file they are written after the reader's own rows of
        that file; in raise mode nothing is held (the sink has them all).
        """
        held, self._held = self._held, []
        sink.add_all(held)

    def add_revenue(self, batch: RevenueBatch, sink: ProblemSink) -> None:
        """Check one batch against the store; write its good rows (none once the import fails)."""
        n = len(batch)
        if n == 0:
            return
        # dict.get(id, -1) called from C for every row: no Python frame per row.
        keys = np.fromiter(
            map(self.ids.get, batch.customer_id.tolist(), itertools.repeat(-1)),
            dtype=np.int64,
            count=n,
        )
        unknown = keys < 0
        product = batch.product
        bad_product = (product < 0) | (product >= len(self._product_map))
        first = self._first[np.where(unknown, 0, keys)] if len(self._first) else keys
        early = ~unknown & (batch.period < first)
        negative = batch.volume < 0
        bad = unknown | bad_product | early | negative
        if bad.any():
            self._report(batch, keys, unknown, bad_product, early, negative, sink)
        if sink.failed:
            return
        good = ~bad
        all_good = bool(good.all())

        def pick(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return a if all_good else a[good]

        self._check_months(pick(keys), pick(batch.period), pick(batch.fen), pick(batch.volume))
        self._writer.revenue(
            pick(keys),
            self._product_map[pick(product)],
            pick(batch.period),
            pick(batch.fen),
            pick(batch.volume),
        )
        if len(self._suspects):
            self._check_suspects()
        self.revenue_added += int(good.sum())

    def _check_months(
        self,
        keys: npt.NDArray[np.int64],
        period: npt.NDArray[Any],
        fen: npt.NDArray[np.int64],
        volume: npt.NDArray[np.int64],
    ) -> None:
        """Refuse a row beyond the per-record limits; screen the customers for the monthly one.

        The rows of the import are added to running totals per customer, on
        top of each customer's stored totals (read once, in one aggregate
        query per batch for the customers the batch brings that the store
        held). Customers still within the monthly limit over all their
        records need nothing more; the others (none in real data) are
        checked exactly by :meth:`_check_suspects` once the batch is written.

        Raises:
            InvalidMoneyError, ValidationError: a row beyond the per-record limits.
        """
        cols = RevenueColumns(
            keys.astype(np.int32),
            np.zeros(len(keys), np.int32),
            period.astype(np.int32),
            fen,
            volume,
        )
        check_record_limits(cols, self._id_of)
        if not len(keys):
            self._suspects = np.empty(0, np.int64)
            return
        self._fetch_stored_totals(keys)
        fen_total, volume_total = self._totals.added(keys, np.abs(fen.astype(np.float64)), volume)
        self._totals.keep(fen_total, volume_total)
        both_fen, both_volume = fen_total, volume_total
        if len(self._stored.fen):
            both_fen = fen_total.copy()
            both_volume = volume_total.copy()
            n = min(len(both_fen), len(self._stored.fen))
            both_fen[:n] += self._stored.fen[:n]
            both_volume[:n] += self._stored.volume[:n]
        suspect = CustomerTotals.suspects(both_fen, both_volume)
        self._suspects = np.unique(keys[suspect[keys]])

    def _fetch_stored_totals(self, keys: npt.NDArray[np.int64]) -> None:
        """Read the stored totals of the batch's customers that the store held, once each."""
        if not self._held_keys:
            return
        held = np.unique(keys[keys < self._held_keys])
        if len(self._fetched):
            held = held[~self._fetched[held]]
        if not len(held):
            return
        if len(self._fetched) < self._held_keys:
            self._fetched = np.zeros(self._held_keys, np.bool_)
            self._stored.keep(np.zeros(self._held_keys), np.zeros(self._held_keys))
        self._fetched[held] = True
        r = revenue_table
        for cut in range(0, len(held), 10_000):
            part = held[cut : cut + 10_000].tolist()
            stmt = (
                sa.select(
                    r.c.customer_key,
                    sa.func.sum(sa.func.abs(sa.cast(r.c.revenue_fen, sa.Double()))),
                    sa.func.sum(sa.cast(r.c.volume, sa.Double())),
                )
                .where(r.c.customer_key.in_(part))
                .group_by(r.c.customer_key)
            )
            for key, absolute, parcels in self._conn.execute(stmt):
                # Rows this import already wrote count here too: an overestimate,
                # which can only send a customer to the exact check.
                self._stored.fen[key] = absolute or 0.0
                self._stored.volume[key] = parcels or 0.0

    def _check_suspects(self) -> None:
        """Check the screened customers' months exactly, in the database, after the write.

        Raises:
            PrecisionError: a customer-month (stored rows and this import's)
                beyond its limit; the transaction is rolled back.
        """
        suspects, self._suspects = self._suspects, np.empty(0, np.int64)
        r = revenue_table
        absolute: sa.ColumnElement[float] = sa.func.sum(
            sa.func.abs(sa.cast(r.c.revenue_fen, sa.Double()))
        )
        parcels: sa.ColumnElement[float] = sa.func.sum(sa.cast(r.c.volume, sa.Double()))
        for cut in range(0, len(suspects), 10_000):
            stmt = (
                sa.select(r.c.customer_key, r.c.period, absolute, parcels)
                .where(r.c.customer_key.in_(suspects[cut : cut + 10_000].tolist()))
                .group_by(r.c.customer_key, r.c.period)
                .having(sa.or_(absolute > MAX_MONTH_FEN, parcels > MAX_MONTH_VOLUME))
                .order_by(r.c.customer_key, r.c.period)
                .limit(1)
            )
            found = self._conn.execute(stmt).first()
            if found is not None:
                key, month, total, volume = found
                check_month_sums(
                    np.array([key]),
                    np.array([month], np.int32),
                    np.array([total], np.float64),
                    np.array([volume], np.float64),
                    self._id_of,
                    where="this import with the revenue the store holds"
                    if self._held_keys
                    else "import",
                )

    def _id_of(self, key: object) -> object:
        if self._names is None or len(self._names) != len(self.ids):
            self._names = {k: cid for cid, k in self.ids.items()}
        return self._names.get(int(key), key)  # type: ignore[call-overload]

    def _report(
        self,
        batch: RevenueBatch,
        keys: npt.NDArray[np.int64],
        unknown: npt.NDArray[np.bool_],
        bad_product: npt.NDArray[np.bool_],
        early: npt.NDArray[np.bool_],
        negative: npt.NDArray[np.bool_],
        sink: ProblemSink,
    ) -> None:
        bad = unknown | bad_product | early | negative
        for i in np.flatnonzero(bad).tolist():
            cid = str(batch.customer_id[i])
            period = _period_text(int(batch.period[i]))
            product_pos = int(batch.product[i])
            in_catalog = 0 <= product_pos < len(self._product_map)
            product_id = (
                str(self._product_ids[self._product_map[product_pos]]) if in_catalog else ""
            )
            fields = {
                "customer_id": cid,
                "period": period,
                "date": period,
                "product_id": product_id,
                "revenue": _yuan(int(batch.fen[i])),
                "amount": _yuan(int(batch.fen[i])),
                "volume": str(int(batch.volume[i])),
            }
            if unknown[i]:
                column, value, reason = "customer_id", cid, f"unknown customer {cid!r}"
            elif bad_product[i]:
                column, value, reason = (
                    "product_id",
                    str(product_pos),
                    "product not in the catalogue",
                )
            elif early[i]:
                first = Period.from_ordinal(int(self._first[keys[i]]))
                column, value, reason = (
                    "period",
                    period,
                    f"before customer {cid!r}'s first_period {first}",
                )
            else:
                column, value = "volume", fields["volume"]
                reason = "volume must be a whole number >= 0"
            found = Problem(int(batch.line[i]), column, value, reason, sink.fields_of(fields))
            if sink.policy.mode == "reject":
                self._held.append(found)
            else:
                sink.add(found)


@attrs.frozen(eq=False)
class _Kept:
    """The customers of a batch the store writes: the batch's columns at the kept rows."""

    id: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    segment: npt.NDArray[np.int8]
    sub_segment: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    province: npt.NDArray[np.object_]
    first_period: npt.NDArray[np.int32]
    tier_since: npt.NDArray[np.int32]

    @classmethod
    def of(cls, rows: CustomerBatch, index: npt.NDArray[np.intp]) -> _Kept:
        """The rows of ``rows`` at ``index``."""
        return cls(*(getattr(rows, field.name)[index] for field in attrs.fields(cls)))


def _label(members: Sequence[Any], code: int) -> str:
    return (
        members[code].name if 0 <= code < len(members) else ("" if code == NO_CODE else str(code))
    )


def _customer_fields(rows: CustomerBatch, i: int) -> dict[str, str]:
    parent = rows.parent_id[i]
    province = rows.province[i]
    since = int(rows.tier_since[i])
    return {
        "customer_id": str(rows.id[i]),
        "name": str(rows.name[i]),
        "segment": _label(SEGMENTS, int(rows.segment[i])),
        "sub_segment": _label(SUB_SEGMENTS, int(rows.sub_segment[i])),
        "tier": _label(TIERS, int(rows.tier[i])),
        "parent_id": "" if parent is None else str(parent),
        "province": "" if province is None else str(province),
        "first_period": _period_text(int(rows.first_period[i])),
        "tier_since": "" if since == NO_CODE else _period_text(since),
    }


def _cycles_among(
    ids: Sequence[str],
    parents: Sequence[str | None],
    first_row: dict[str, int],
    bad: dict[int, tuple[str, str, str]],
) -> list[list[str]]:
    """The parent cycles among the good rows (links to stored customers end a walk)."""
    link = np.fromiter(
        (
            NO_CODE if pid is None or i in bad else first_row.get(pid, NO_CODE)
            for i, pid in enumerate(parents)
        ),
        dtype=np.int64,
        count=len(ids),
    )
    return [[ids[i] for i in cycle] for cycle in parent_cycles(link)]
