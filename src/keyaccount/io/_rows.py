"""Validated rows as columns: :class:`RevenueRows` batches and the batching helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import Period, ProductCatalog, RevenueRecord
from keyaccount.utils.display import HEAD_ROWS, html_table, money, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Batcher", "ReadStats", "RevenueBatches", "RevenueRows", "TransactionRows", "day_months"]

_EPOCH_MONTH = 1970 * 12


def day_months(day: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """The :attr:`~keyaccount.Period.ordinal` of the month of each day counted from 1970-01-01."""
    months = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (months + _EPOCH_MONTH).astype(np.int32)


@attrs.frozen(eq=False)
class RevenueRows:
    """One batch of validated revenue rows as parallel arrays.

    Attributes:
        line: 1-based line number of each row in its file (``int64``; the
            header is line 1). For aggregated transactions, the first line
            that went into the row.
        customer_id: Customer ids (``object`` array of ``str``).
        product: Position of the product in the catalogue the reader was
            given (``int32``).
        period: :attr:`~keyaccount.Period.ordinal` of the month (``int32``).
        fen: Revenue in fen (``int64``); negative for refunds.
        volume: Parcels (``int64``), ``>= 0``.
    """

    line: npt.NDArray[np.int64]
    customer_id: npt.NDArray[np.object_]
    product: npt.NDArray[np.int32]
    period: npt.NDArray[np.int32]
    fen: npt.NDArray[np.int64]
    volume: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.line.shape[0])

    def __repr__(self) -> str:
        return short_repr("RevenueRows", f"{number(len(self))} rows")

    def _repr_html_(self) -> str:
        rows = (
            (
                int(self.line[i]),
                self.customer_id[i],
                int(self.product[i]),
                str(Period.from_ordinal(int(self.period[i]))),
                money(int(self.fen[i])),
                int(self.volume[i]),
            )
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("line", "customer_id", "product position", "period", "yuan", "volume")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="rows")

    @classmethod
    def empty(cls) -> RevenueRows:
        """No rows."""
        return cls(
            np.empty(0, np.int64),
            np.empty(0, object),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )

    @classmethod
    def from_tuples(cls, lines: Sequence[int], values: Sequence[tuple[Any, ...]]) -> RevenueRows:
        """Rows from ``(customer_id, product, period, fen, volume, ...)`` tuples."""
        if not values:
            return cls.empty()
        ids, product, period, fen, volume = list(zip(*values, strict=True))[:5]
        customer_id = np.empty(len(ids), dtype=object)
        customer_id[:] = ids
        return cls(
            np.array(lines, dtype=np.int64),
            customer_id,
            np.array(product, dtype=np.int32),
            np.array(period, dtype=np.int32),
            np.array(fen, dtype=np.int64),
            np.array(volume, dtype=np.int64),
        )

    @classmethod
    def concat(cls, parts: Sequence[RevenueRows]) -> RevenueRows:
        """One batch with the rows of ``parts`` in order."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls))
        )

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice) -> RevenueRows:
        """The rows selected by a mask, positions or a slice."""
        return RevenueRows(*(getattr(self, f.name)[index] for f in attrs.fields(RevenueRows)))

    def records(self, catalog: ProductCatalog) -> Iterator[RevenueRecord]:
        """The rows as :class:`~keyaccount.RevenueRecord` objects, made on demand.

        Args:
            catalog: The catalogue the rows were read with.
        """
        products = catalog.products
        for cid, product, period, fen, volume in zip(
            self.customer_id.tolist(),
            self.product.tolist(),
            self.period.tolist(),
            self.fen.tolist(),
            self.volume.tolist(),
            strict=True,
        ):
            yield RevenueRecord.from_fen(
                cid, products[product].id, Period.from_ordinal(period), fen, volume
            )


@attrs.frozen(eq=False)
class TransactionRows:
    """One block of validated raw transactions as parallel arrays.

    Attributes:
        line: Line of each transaction in its file (``int64``), or its row
            in a data frame.
        customer_id: Customer ids (``object`` array of ``str``).
        product: Position of the product in the catalogue (``int32``).
        day: The transaction's date as days since 1970-01-01 (``int32``).
        fen: The amount in fen (``int64``); negative for refunds.
        quantity: Parcels (``int64``, ``>= 0``); 1 when the source has no
            quantity column.
        name: The customer name given with the transaction (``object``;
            empty when the source has none).
    """

    line: npt.NDArray[np.int64]
    customer_id: npt.NDArray[np.object_]
    product: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    fen: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    name: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.line.shape[0])

    @classmethod
    def empty(cls) -> TransactionRows:
        """No rows."""
        return cls(
            np.empty(0, np.int64),
            np.empty(0, object),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, object),
        )

    @classmethod
    def from_tuples(
        cls, lines: Sequence[int], values: Sequence[tuple[Any, ...]]
    ) -> TransactionRows:
        """Rows from ``(customer_id, product, day, fen, quantity, name)`` tuples."""
        if not values:
            return cls.empty()
        ids, product, day, fen, quantity, name = zip(*values, strict=True)
        customer_id = np.empty(len(ids), dtype=object)
        customer_id[:] = ids
        names = np.empty(len(name), dtype=object)
        names[:] = name
        return cls(
            np.array(lines, dtype=np.int64),
            customer_id,
            np.array(product, dtype=np.int32),
            np.array(day, dtype=np.int32),
            np.array(fen, dtype=np.int64),
            np.array(quantity, dtype=np.int64),
            names,
        )

    @classmethod
    def concat(cls, parts: Sequence[TransactionRows]) -> TransactionRows:
        """One block with the rows of ``parts`` in order."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls))
        )

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp] | slice) -> TransactionRows:
        """The rows selected by a mask, positions or a slice."""
        return TransactionRows(
            *(getattr(self, f.name)[index] for f in attrs.fields(TransactionRows))
        )

    def monthly(self) -> RevenueRows:
        """The rows as revenue rows of their months (``volume``: the quantity), unsummed."""
        return RevenueRows(
            self.line, self.customer_id, self.product, day_months(self.day), self.fen, self.quantity
        )


class Batcher:
    """Cuts a stream of row blocks into batches of exactly ``size`` rows (the last one less)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: list[RevenueRows] = []
        self._held = 0

    def add(self, rows: RevenueRows) -> Iterator[RevenueRows]:
        """Take ``rows``; yield every batch that is full."""
        if not len(rows):
            return
        self._parts.append(rows)
        self._held += len(rows)
        if self._held < self.size:
            return
        held = RevenueRows.concat(self._parts)
        cut = 0
        while len(held) - cut >= self.size:
            yield held.take(slice(cut, cut + self.size))
            cut += self.size
        rest = held.take(slice(cut, None))
        self._parts = [rest] if len(rest) else []
        self._held = len(rest)

    def flush(self) -> Iterator[RevenueRows]:
        """Yield the rows still held, if any."""
        if self._held:
            yield RevenueRows.concat(self._parts)
        self._parts = []
        self._held = 0


@attrs.define
class ReadStats:
    """Counts of a reader, updated as it goes.

    Attributes:
        path: The file.
        rows_read: Data rows read (blank lines not counted).
        rows_rejected: Rows found bad.
        bytes_read: Bytes of the file read.
        bytes_total: The file's size.
    """

    path: str = ""
    rows_read: int = 0
    rows_rejected: int = 0
    bytes_read: int = 0
    bytes_total: int = 0


class RevenueBatches(Iterator[RevenueRows]):
    """An iterator of :class:`RevenueRows` batches that also counts what it read.

    Returned by :func:`~keyaccount.io.iter_revenue_csv` and
    :func:`~keyaccount.io.iter_transactions_csv`. The file stays open until
    the iterator is exhausted or :meth:`close` is called.
    """

    def __init__(self, make: Callable[[ReadStats], Iterator[RevenueRows]], path: str) -> None:
        self.stats = ReadStats(path)
        self._rows = make(self.stats)

    def __iter__(self) -> RevenueBatches:
        return self

    def __next__(self) -> RevenueRows:
        return next(self._rows)

    def close(self) -> None:
        """Stop reading and close the file (and the reject file)."""
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()

    @property
    def path(self) -> str:
        """The file."""
        return self.stats.path

    @property
    def rows_read(self) -> int:
        """Data rows read so far."""
        return self.stats.rows_read

    @property
    def rows_rejected(self) -> int:
        """Bad rows found so far."""
        return self.stats.rows_rejected
