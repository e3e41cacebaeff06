"""Raw transactions kept one by one with their day: from a CSV file or a data frame.

:class:`Transactions` is the columnar table RFM (:mod:`keyaccount.analysis`)
works on; :meth:`Transactions.monthly` sums it to monthly revenue and
:meth:`Transactions.to_portfolio` builds a :class:`~keyaccount.Portfolio`
from it, with customers made from the transactions when asked.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    MAX_AMOUNT_FEN,
    NO_CODE,
    Customer,
    ProductCatalog,
    Tier,
    default_catalog,
)
from keyaccount.exceptions import (
    CsvHeaderError,
    CsvImportError,
    FrameRowError,
    ValidationError,
    shorten,
)
from keyaccount.io._customers import CustomerRows
from keyaccount.io._fields import (
    EMPTY,
    MIN_YEAR,
    TRANSACTION_RECORDS,
    FieldError,
    customer_id,
    date_day,
    money_fen,
    volume,
)
from keyaccount.io._formats import TRANSACTIONS, check_mapping
from keyaccount.io._lines import open_csv
from keyaccount.io._revenue import BLOCK_BYTES, MonthlySums, SourceOptions, record_stream
from keyaccount.io._rows import ReadStats, RevenueRows, TransactionRows, day_months
from keyaccount.io.problems import ErrorPolicy, Problem, ProblemSink, ProgressCallback
from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns
from keyaccount.portfolio import frames as fr
from keyaccount.utils.display import HEAD_ROWS, html_table, money

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Iterator, Mapping

    import pandas as pd

__all__ = ["Transactions", "read_transactions_csv", "transactions_from_frame"]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Obj = npt.NDArray[np.object_]

_RAISE = ErrorPolicy()
_EPOCH = dt.date(1970, 1, 1)
_MIN_DAY = (dt.date(MIN_YEAR, 1, 1) - _EPOCH).days


def _day_text(day: int) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat()


@attrs.frozen(eq=False, repr=False)
class Transactions:
    """Raw transactions as columns, one element per transaction, in source order.

    Customers are coded: :attr:`customer` holds positions in
    :attr:`customer_ids` (in order of first appearance), so that grouping by
    customer is array work.

    Attributes:
        customer_ids: The distinct customer ids (``object`` array of ``str``).
        names: The name of each customer in :attr:`customer_ids`: the first
            non-empty name its transactions give, else its id.
        customer: Position in :attr:`customer_ids` of each transaction (``int32``).
        day: The date as days since 1970-01-01 (``int32``); a time of day is dropped.
        fen: The amount in fen (``int64``); negative for refunds.
        product: Position of the product in :attr:`catalog` (``int32``).
        quantity: Parcels (``int64``); 1 per transaction without a quantity column.
        line: The line in the file (the header is line 1), or the row of the
            frame (from 0) of each transaction (``int64``).
        catalog: The product catalogue.
        source: The file or frame, as named in messages.
        has_quantity: Whether the source had a quantity column.
    """

    customer_ids: Obj
    names: Obj
    customer: I32
    day: I32
    fen: I64
    product: I32
    quantity: I64
    line: I64
    catalog: ProductCatalog
    source: str = ""
    has_quantity: bool = False

    def __len__(self) -> int:
        return int(self.customer.shape[0])

    def __repr__(self) -> str:
        span = ""
        if len(self):
            span = f", {_day_text(int(self.day.min()))}..{_day_text(int(self.day.max()))}"
        where = f" from {shorten(self.source)}" if self.source else ""
        return (
            f"<Transactions: {len(self):,} rows, {self.customer_ids.shape[0]:,} customers"
            f"{span}{where}>"
        )

    def _repr_html_(self) -> str:
        products = self.catalog.products
        rows = (
            (
                int(self.line[i]),
                self.customer_ids[self.customer[i]],
                _day_text(int(self.day[i])),
                products[int(self.product[i])].id,
                money(int(self.fen[i])),
                int(self.quantity[i]),
            )
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("line", "customer_id", "date", "product_id", "yuan", "quantity")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="rows")

    @property
    def dates(self) -> npt.NDArray[np.datetime64]:
        """The dates as ``datetime64[D]``."""
        return self.day.astype("datetime64[D]")

    @property
    def customer_id(self) -> Obj:
        """The customer id of each transaction (``object`` array, made on demand)."""
        result: Obj = self.customer_ids[self.customer]
        return result

    def monthly(self) -> RevenueRows:
        """The transactions summed per customer, product and month, as revenue rows.

        ``volume`` is the sum of the quantities (the number of transactions
        without a quantity column); ``line`` the first line of each sum; rows
        are ordered by customer (as in :attr:`customer_ids`), product and month.

        Raises:
            PrecisionError: a customer's absolute amounts in one month beyond
                the per customer-month limit (``docs/limits.md``).
        """
        sums = MonthlySums(len(self.catalog), self.source)
        sums.codes = {cid: i for i, cid in enumerate(self.customer_ids.tolist())}
        rows = RevenueRows(
            self.line,
            np.empty(0, dtype=object),
            self.product,
            day_months(self.day),
            self.fen,
            self.quantity,
        )
        sums.add_coded(self.customer.astype(np.int64), rows)
        return sums.rows()

    def first_periods(self) -> I32:
        """The month (:attr:`~keyaccount.Period.ordinal`) of each customer's first transaction."""
        first = np.full(self.customer_ids.shape[0], np.iinfo(np.int32).max, dtype=np.int32)
        np.minimum.at(first, self.customer, self.day)
        return day_months(first)

    def customers(self) -> CustomerColumns:
        """A customer for every customer id: the customers ``create_customers`` makes.

        Each has its id, its name (:attr:`names`), first period = the month of
        its first transaction, tier ``ACTIVE``, no segment, sub-segment, parent
        or province.
        """
        n = self.customer_ids.shape[0]
        province = np.empty(n, dtype=object)
        return CustomerColumns(
            self.customer_ids.copy(),
            self.names.copy(),
            np.full(n, NO_CODE, dtype=np.int8),
            np.full(n, NO_CODE, dtype=np.int8),
            np.full(n, Tier.ACTIVE.rank, dtype=np.int8),
            np.full(n, NO_CODE, dtype=np.int32),
            province,
            self.first_periods(),
            np.full(n, NO_CODE, dtype=np.int32),
        )

    def to_portfolio(
        self,
        customers: CustomerRows | Iterable[Customer] | None = None,
        *,
        create_customers: bool = False,
    ) -> Portfolio:
        """A :class:`~keyaccount.Portfolio` of these transactions summed by month.

        Args:
            customers: The customers (:func:`~keyaccount.io.read_customers_csv`
                rows or :class:`~keyaccount.Customer` objects), or ``None``.
            create_customers: Make every customer the transactions name and
                ``customers`` lacks, as :meth:`customers` describes.

        Raises:
            ValidationError: neither ``customers`` nor ``create_customers``.
            CsvImportError: transactions of a customer that is neither given
                nor created ("unknown customer"), or before its customer's
                ``first_period``, each named by its line (or frame row).
            PrecisionError: see :meth:`monthly`.
        """
        if customers is None and not create_customers:
            raise ValidationError(
                "to_portfolio needs customers, or create_customers=True to make them from "
                "the transactions"
            )
        portfolio = Portfolio(products=self.catalog)
        if isinstance(customers, CustomerRows):
            portfolio.add_customer_columns(customers.to_columns())
        elif customers is not None:
            portfolio.add_customers(customers)
        known = {cid: i for i, cid in enumerate(portfolio.customer_ids)}
        missing = np.fromiter(
            (cid not in known for cid in self.customer_ids.tolist()),
            dtype=np.bool_,
            count=self.customer_ids.shape[0],
        )
        if create_customers and missing.any():
            made = self.customers()
            pick = np.flatnonzero(missing)
            block = CustomerColumns(
                *(getattr(made, f.name)[pick] for f in attrs.fields(CustomerColumns))
            )
            portfolio.add_customer_columns(block)
            known = {cid: i for i, cid in enumerate(portfolio.customer_ids)}
            missing[:] = False
        position = np.fromiter(
            (known.get(cid, -1) for cid in self.customer_ids.tolist()),
            dtype=np.int64,
            count=self.customer_ids.shape[0],
        )
        self._check_customers(portfolio, position, missing)
        rows = self.monthly()
        locate = position[
            np.fromiter(
                (i for i in map(_index(self.customer_ids), rows.customer_id.tolist())),
                dtype=np.int64,
                count=len(rows),
            )
        ]
        portfolio.add_revenue_columns(
            RevenueColumns(
                locate.astype(np.int32), rows.product, rows.period, rows.fen, rows.volume
            )
        )
        return portfolio

    def _check_customers(
        self, portfolio: Portfolio, position: I64, missing: npt.NDArray[np.bool_]
    ) -> None:
        """Every transaction's customer is known and the transaction not before its first period."""
        first = portfolio.customer_columns.first_period
        month = day_months(self.day)
        at = position[self.customer]
        unknown = missing[self.customer]
        if first.shape[0]:
            early = ~unknown & (month < first[np.maximum(at, 0)])
        else:
            early = np.zeros(len(self), dtype=np.bool_)
        bad = np.flatnonzero(unknown | early)
        if not bad.shape[0]:
            return
        sink = ProblemSink(self.source, _RAISE)
        for i in bad[: _RAISE.max_listed].tolist():
            cid = str(self.customer_ids[self.customer[i]])
            if unknown[i]:
                problem = Problem(
                    int(self.line[i]), "customer_id", cid, f"unknown customer {cid!r}"
                )
            else:
                shown = _day_text(int(self.day[i]))
                reason = f"before customer {cid!r}'s first_period {_period_text(int(first[at[i]]))}"
                problem = Problem(int(self.line[i]), "date", shown, reason)
            sink.add(problem)
        sink.count = int(bad.shape[0])
        sink.close()

    def to_pandas(self) -> pd.DataFrame:
        """One row per transaction (needs the ``pandas`` extra).

        Columns: ``customer_id`` (category), ``date`` (``datetime64[s]``),
        ``amount_fen`` and ``amount`` (exact yuan), ``product_id`` (category),
        ``quantity``, ``line``; see ``docs/frames.md``.
        """
        frame = fr.Frame(
            (
                fr.key("customer_id", self.customer, list(self.customer_ids.tolist())),
                fr.money("amount", self.fen),
                fr.key("product_id", self.product, list(self.catalog)),
                fr.integer("quantity", self.quantity),
                fr.integer("line", self.line),
            ),
            {"source": self.source},
        ).to_pandas()
        frame.insert(1, "date", self.dates.astype("datetime64[s]"))
        return frame


def _period_text(ordinal: int) -> str:
    year, month = divmod(ordinal, 12)
    return f"{year:04d}-{month + 1:02d}"


def _index(ids: Obj) -> Any:
    positions = {cid: i for i, cid in enumerate(ids.tolist())}
    return positions.__getitem__


class _Builder:
    """Collects blocks of :class:`TransactionRows` into one :class:`Transactions`."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []
        self.parts: list[tuple[I32, I32, I64, I32, I64, I64]] = []

    def add(self, rows: TransactionRows) -> None:
        n = len(rows)
        if not n:
            return
        ids = rows.customer_id
        heads = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
        codes = self.codes
        head_codes = np.fromiter(
            (codes.setdefault(c, len(codes)) for c in ids[heads].tolist()),
            dtype=np.int32,
            count=heads.shape[0],
        )
        customer = np.repeat(head_codes, np.diff(np.append(heads, n)))
        self.names.extend([""] * (len(codes) - len(self.names)))
        named = np.flatnonzero(rows.name != "")
        if named.shape[0]:
            _, first = np.unique(customer[named], return_index=True)
            for i in named[first].tolist():
                code = int(customer[i])
                if not self.names[code]:
                    self.names[code] = str(rows.name[i])
        self.parts.append((customer, rows.day, rows.fen, rows.product, rows.quantity, rows.line))

    def build(self, catalog: ProductCatalog, source: str, has_quantity: bool) -> Transactions:
        ids = np.empty(len(self.codes), dtype=object)
        ids[:] = list(self.codes)
        names = np.empty(len(self.codes), dtype=object)
        names[:] = [name or cid for name, cid in zip(self.names, self.codes, strict=True)]
        if self.parts:
            customer, day, fen, product, quantity, line = (
                np.concatenate(c) for c in zip(*self.parts, strict=True)
            )
        else:
            customer, day, product = (np.empty(0, np.int32) for _ in range(3))
            fen, quantity, line = (np.empty(0, np.int64) for _ in range(3))
        return Transactions(
            ids,
            names,
            customer.astype(np.int32),
            day.astype(np.int32),
            fen.astype(np.int64),
            product.astype(np.int32),
            quantity.astype(np.int64),
            line.astype(np.int64),
            catalog,
            source,
            has_quantity,
        )


def read_transactions_csv(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str = "utf-8",
    catalog: ProductCatalog | None = None,
    errors: ErrorPolicy | ProblemSink = _RAISE,
    known_customers: Container[str] | None = None,
    progress: ProgressCallback | None = None,
    _block_bytes: int = BLOCK_BYTES,
) -> Transactions:
    r"""Read a raw transactions file into a :class:`Transactions` table, every transaction kept.

    The file has the columns ``customer_id,date,amount[,product_id][,quantity][,name]``,
    under these names or the names ``columns`` gives; it is read in blocks
    with array operations, as :func:`~keyaccount.io.iter_transactions_csv`
    reads it (the same checks, the same bad-row report), but every
    transaction is kept with its day rather than summed by month.

    Args:
        path: The file.
        columns: ``{column: name in the file}``, for example
            ``{"customer_id": "客户编号", "date": "交易日期", "amount": "金额",
            "product_id": "产品", "quantity": "件数", "name": "客户名称"}``. Columns
            it leaves out are looked for under their own names; columns of the
            file it does not name are ignored.
        date_format: ``None`` for ISO dates (``2023-01-31``, optionally with a
            time ``HH:MM:SS`` after ``T`` or a space), ``"%Y%m%d"`` for
            ``20230131``, or any ``strptime`` format (``"%Y/%m/%d %H:%M"``).
        encoding: The file's text encoding (``"utf-8"``, with or without a BOM;
            ``"gbk"``, ``"gb18030"``, ...).
        catalog: The product catalogue (default: :func:`~keyaccount.default_catalog`).
        errors: What to do with bad rows: raise (the default: every bad row in
            one :class:`~keyaccount.exceptions.CsvImportError`, and nothing is
            returned) or write them to a reject file and keep the good ones.
        known_customers: When given, a transaction of any other customer is bad.
        progress: Called after every block with ``(rows_done, bytes_done, bytes_total)``.

    Returns:
        The transactions, in file order.

    Raises:
        CsvFileNotFoundError: no such file.
        CsvHeaderError: a required column missing (named as the mapping calls
            it), or one named twice.
        CsvImportError: with the raise policy, every bad row (file, line,
            column, value, reason).
        ValidationError: a bad ``columns``, ``date_format`` or ``encoding``.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
        >>> _ = p.write_text("客户编号,交易日期,金额\nC1,20230105,12.50\nC1,20230301,-2\n",
        ...                  encoding="utf-8-sig")
        >>> tx = read_transactions_csv(
        ...     p, columns={"customer_id": "客户编号", "date": "交易日期", "amount": "金额"},
        ...     date_format="%Y%m%d")
        >>> tx.fen.tolist(), [str(d) for d in tx.dates]
        ([1250, -200], ['2023-01-05', '2023-03-01'])
    """
    mapping = check_mapping(TRANSACTIONS, columns)
    options = SourceOptions(encoding, mapping, date_format)
    builder = _Builder()

    def finish(parts: Iterator[TransactionRows], _: ProductCatalog) -> Iterator[None]:
        for part in parts:
            builder.add(part)
        yield None

    make = record_stream(
        path,
        TRANSACTION_RECORDS,
        catalog,
        TransactionRows,
        finish,
        errors=errors,
        known_customers=known_customers,
        progress=progress,
        check=None,
        check_first=False,
        block_bytes=_block_bytes,
        options=options,
    )
    for _ in make(ReadStats(os.fspath(path))):
        pass
    has_quantity = _has_quantity(path, options)
    return builder.build(
        catalog if catalog is not None else default_catalog(), os.fspath(path), has_quantity
    )


def _has_quantity(path: str | os.PathLike[str], options: SourceOptions) -> bool:
    with open_csv(path, TRANSACTIONS, encoding=options.encoding, mapping=options.mapping) as src:
        return "quantity" in src.header.index


# ----------------------------------------------------------------------------- frames


class _FrameProblems:
    """Bad rows of a frame: the first problem of each row, in the format's column order."""

    def __init__(self, source: str, n: int) -> None:
        self.source = source
        self.bad = np.zeros(n, dtype=np.bool_)
        self.found: list[tuple[int, str, str, str]] = []

    def add(self, rows: npt.NDArray[np.intp], column: str, value: Any, reason: Any) -> None:
        """Rows ``rows`` are bad in ``column``; ``value(i)``/``reason(i)`` say what and why."""
        for i in rows.tolist():
            if not self.bad[i]:
                self.bad[i] = True
                self.found.append((i, column, value(i), reason(i)))

    def raise_any(self, max_listed: int) -> None:
        if not self.found:
            return
        self.found.sort()
        listed = [FrameRowError(self.source, *p) for p in self.found[:max_listed]]
        raise CsvImportError(self.source, listed, len(self.found))


def _shown(value: object) -> str:
    return "" if _is_missing(value) else str(value)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT, pd.NA compare unequal to themselves
    except (TypeError, ValueError):
        return value is getattr(value, "NA", object())


def _by_unique(
    values: Any, parse: Any, pd: Any
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_], list[str], npt.NDArray[np.intp]]:
    """``parse`` each distinct value once: values, ok, the reasons of the bad ones, the codes."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniques = list(uniques)
    parsed = np.zeros(len(uniques), dtype=np.int64)
    ok = np.ones(len(uniques), dtype=np.bool_)
    reasons = [""] * len(uniques)
    for i, value in enumerate(uniques):
        try:
            parsed[i] = parse(value)
        except FieldError as exc:
            ok[i] = False
            reasons[i] = exc.reason
    return parsed, ok, reasons, np.asarray(codes, dtype=np.intp)


def _frame_day(date_format: str | None) -> Any:
    def parse(value: object) -> int:
        if _is_missing(value):
            raise FieldError(EMPTY)
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            if value.year < MIN_YEAR:
                raise FieldError(f"year {value.year:04d} is before {MIN_YEAR}")
            return (value - _EPOCH).days
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise FieldError(f"not a date: {type(value).__name__}")
        return date_day(value, date_format)

    return parse


_WHOLE_YUAN = MAX_AMOUNT_FEN // 100


def _frame_fen(unit: str) -> Any:
    def parse(value: object) -> int:
        if _is_missing(value):
            raise FieldError(EMPTY)
        if isinstance(value, bool):
            raise FieldError("not an amount of money: a boolean")
        if isinstance(value, (int, np.integer)):
            fen = int(value) * (100 if unit == "yuan" else 1)
        elif isinstance(value, decimal.Decimal):
            if not value.is_finite():
                raise FieldError("not a finite amount of money")
            scaled = value * 100 if unit == "yuan" else value
            if scaled != scaled.to_integral_value():
                raise FieldError("digits below the fen; at most two decimals (0.01 yuan)")
            fen = int(scaled)
        elif isinstance(value, str):
            return money_fen(value) if unit == "yuan" else _fen_text(value)
        elif isinstance(value, (float, np.floating)):
            raise FieldError("a float amount is not exact; give Decimal, text or integer fen")
        else:
            raise FieldError(f"not an amount of money: {type(value).__name__}")
        if abs(fen) > MAX_AMOUNT_FEN:
            raise FieldError(f"too large; at most {_WHOLE_YUAN:,}.99 yuan")
        return fen

    return parse


def _fen_text(text: str) -> int:
    fen = money_fen(text)
    if fen % 100:
        raise FieldError("fen are whole numbers")
    return fen // 100


def _check_unit(unit: str) -> str:
    return fr.check_choice(
        unit, ("yuan", "fen"), what="amount_unit", where="transactions_from_frame"
    )


def transactions_from_frame(
    frame: Any,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    amount_unit: Literal["yuan", "fen"] = "yuan",
    catalog: ProductCatalog | None = None,
    known_customers: Container[str] | None = None,
    source: str = "transactions frame",
) -> Transactions:
    """A :class:`Transactions` table from a pandas DataFrame (or a polars DataFrame or Arrow table).

    The frame has the columns ``customer_id``, ``date``, ``amount`` and,
    optionally, ``product_id``, ``quantity`` and ``name``, under these names or
    those ``columns`` maps them to (matched after trimming spaces, in any
    case; other columns are ignored). Column by column:

    - ``customer_id``: text or integers (made text), with no spaces around;
    - ``date``: ``datetime64`` (any unit; a time of day is dropped), ``date``
      or ``datetime`` objects, or text in ``date_format`` (``None``: ISO;
      ``"%Y%m%d"`` also takes integers such as ``20230131``);
    - ``amount``: ``Decimal`` objects (yuan, at most two decimals), text
      (yuan, as in a CSV file), or integers (whole yuan, or fen with
      ``amount_unit="fen"``). A float column is refused: floats are not exact;
    - ``product_id``: catalogue ids (empty: ``standard_express``);
    - ``quantity``: whole numbers ``>= 0`` (empty: 0; floats only when whole);
    - ``name``: text.

    Each distinct value is checked once. Bad rows are reported all at once,
    each by its row (from 0), column, value and reason, and nothing is built.

    Args:
        frame: The transactions.
        columns: ``{column: name in the frame}``.
        date_format: The format of text dates (see above).
        amount_unit: What an integer amount counts: ``"yuan"`` or ``"fen"``.
        catalog: The product catalogue (default: :func:`~keyaccount.default_catalog`).
        known_customers: When given, a transaction of any other customer is bad.
        source: The frame's name in messages.

    Raises:
        CsvHeaderError: a required column missing or one named twice.
        CsvImportError: every bad row, as
            :class:`~keyaccount.exceptions.FrameRowError` (``row``, ``column``, ``value``).
        ValidationError: a float amount column, or a bad option.
        ImportError: pandas is not installed (the ``pandas`` extra).

    Example:
        >>> import pandas as pd
        >>> from decimal import Decimal
        >>> df = pd.DataFrame({"客户": ["C1", "C2"], "日期": ["20230105", "20230302"],
        ...                    "金额": [Decimal("12.50"), Decimal("3")]})
        >>> tx = transactions_from_frame(
        ...     df, columns={"customer_id": "客户", "date": "日期", "amount": "金额"},
        ...     date_format="%Y%m%d")
        >>> tx.fen.tolist(), tx.customer_ids.tolist()
        ([1250, 300], ['C1', 'C2'])
    """
    pd = fr.require("pandas")
    unit = _check_unit(amount_unit)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise ValidationError(
            f"date_format must be a strptime format such as '%Y%m%d', got {date_format!r}"
        )
    if not isinstance(frame, pd.DataFrame):
        to_pandas = getattr(frame, "to_pandas", None)
        if to_pandas is None:
            raise ValidationError(
                "expected a pandas or polars DataFrame or an Arrow table, got "
                f"{type(frame).__name__}"
            )
        frame = to_pandas()
    mapping = check_mapping(TRANSACTIONS, columns)
    names = [str(c).strip().lower() for c in frame.columns]
    header = CsvHeaderError  # the same error as a file's header
    found: dict[str, int] = {}
    renamed = {name: column for column, name in mapping.items()}
    for i, name in enumerate(names):
        column = renamed.get(name, name if name not in mapping else None)
        if column is None or column not in TRANSACTIONS.columns:
            continue
        if column in found:
            raise header(
                source,
                f"column named twice: {shorten(str(frame.columns[i]))}",
                duplicated=(str(frame.columns[i]),),
            )
        found[column] = i
    missing = [c for c in TRANSACTIONS.required if c not in found]
    if missing:
        shown = [f"{mapping[c]} ({c})" if c in mapping else c for c in missing]
        raise header(
            source,
            f"missing column {', '.join(shown)}; a transactions table has the columns "
            f"{', '.join(TRANSACTIONS.columns)} (product_id, quantity, name optional)",
            missing=tuple(shown),
        )
    products = catalog if catalog is not None else default_catalog()
    n = len(frame)
    problems = _FrameProblems(source, n)

    def series(column: str) -> Any:
        return frame.iloc[:, found[column]]

    # customer ids
    ids_series = series("customer_id")
    if pd.api.types.is_float_dtype(ids_series.dtype):
        raise ValidationError(f"{source}: column customer_id holds floats; give text or integers")
    id_codes, id_uniques = pd.factorize(ids_series, use_na_sentinel=False)
    id_codes = np.asarray(id_codes, dtype=np.int64)
    id_texts: list[str] = []
    id_bad: list[str] = []
    for value in list(id_uniques):
        text = "" if _is_missing(value) else str(value)
        reason = ""
        try:
            customer_id(text)
            if known_customers is not None and text not in known_customers:
                reason = f"unknown customer {text!r}"
        except FieldError as exc:
            reason = exc.reason
        id_texts.append(text)
        id_bad.append(reason)
    bad_id = np.array([bool(r) for r in id_bad], dtype=np.bool_)
    rows = np.flatnonzero(bad_id[id_codes]) if bad_id.any() else np.empty(0, np.intp)
    problems.add(
        rows, "customer_id", lambda i: id_texts[id_codes[i]], lambda i: id_bad[id_codes[i]]
    )

    # dates
    date_series = series("date")
    if pd.api.types.is_datetime64_any_dtype(date_series.dtype):
        if getattr(date_series.dt, "tz", None) is not None:
            date_series = date_series.dt.tz_localize(None)
        raw = date_series.to_numpy(dtype="datetime64[ns]")
        nat = np.isnat(raw)
        day = raw.astype("datetime64[D]").astype(np.int64)
        early = ~nat & (day < _MIN_DAY)
        problems.add(np.flatnonzero(nat), "date", lambda i: "", lambda i: EMPTY)
        problems.add(
            np.flatnonzero(early),
            "date",
            lambda i: _day_text(int(day[i])),
            lambda i: f"year before {MIN_YEAR}",
        )
    else:
        values, ok, reasons, codes = _by_unique(date_series, _frame_day(date_format), pd)
        day = values[codes]
        bad = np.flatnonzero(~ok[codes])
        problems.add(
            bad, "date", lambda i: _shown(date_series.iloc[i]), lambda i: reasons[codes[i]]
        )

    # amounts
    amount_series = series("amount")
    if pd.api.types.is_float_dtype(amount_series.dtype):
        raise ValidationError(
            f"{source}: column amount holds floats ({amount_series.dtype}), which are not exact "
            "money; give Decimal values, text, or integers (amount_unit='fen' for fen)"
        )
    if pd.api.types.is_integer_dtype(amount_series.dtype) and not amount_series.hasnans:
        whole = amount_series.to_numpy(dtype=np.int64)
        limit = MAX_AMOUNT_FEN // 100 if unit == "yuan" else MAX_AMOUNT_FEN
        fen = whole * (100 if unit == "yuan" else 1)
        over = np.flatnonzero(np.abs(whole) > limit)
        problems.add(over, "amount", lambda i: str(whole[i]), lambda i: "too large")
    else:
        values, ok, reasons, codes = _by_unique(amount_series, _frame_fen(unit), pd)
        fen = values[codes]
        problems.add(
            np.flatnonzero(~ok[codes]),
            "amount",
            lambda i: _shown(amount_series.iloc[i]),
            lambda i: reasons[codes[i]],
        )

    # products
    positions = {pid: i for i, pid in enumerate(products)}
    default = positions.get(DEFAULT_PRODUCT_ID)
    if "product_id" in found:
        product_series = series("product_id")

        def product(value: object) -> int:
            text = "" if _is_missing(value) else str(value)
            if text == "":
                if default is None:
                    raise FieldError(
                        f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}"
                    )
                return default
            if text not in positions:
                raise FieldError(f"unknown product {text!r}")
            return positions[text]

        values, ok, reasons, codes = _by_unique(product_series, product, pd)
        product_code = values[codes].astype(np.int32)
        problems.add(
            np.flatnonzero(~ok[codes]),
            "product_id",
            lambda i: _shown(product_series.iloc[i]),
            lambda i: reasons[codes[i]],
        )
    else:
        product_code = np.full(n, -1 if default is None else default, dtype=np.int32)
        if default is None:
            problems.add(
                np.arange(n),
                "product_id",
                lambda i: "",
                lambda i: f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}",
            )

    # quantities
    if "quantity" in found:
        q_series = series("quantity")

        def parcels(value: object) -> int:
            if _is_missing(value):
                return 0
            if isinstance(value, (float, np.floating)):
                if not float(value).is_integer():
                    raise FieldError("fractional volume; volume is a whole number of parcels")
                value = int(value)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                return volume(str(int(value)))
            return volume(str(value))

        values, ok, reasons, codes = _by_unique(q_series, parcels, pd)
        quantity = values[codes]
        problems.add(
            np.flatnonzero(~ok[codes]),
            "quantity",
            lambda i: _shown(q_series.iloc[i]),
            lambda i: reasons[codes[i]],
        )
    else:
        quantity = np.ones(n, dtype=np.int64)

    problems.raise_any(_RAISE.max_listed)
    # customers coded in order of first appearance (pandas.factorize's order), as a file's
    n_ids = len(id_texts)
    ids = np.empty(n_ids, dtype=object)
    ids[:] = id_texts
    customer_names = ids.copy()
    if "name" in found:
        given = series("name").to_numpy(dtype=object)
        named = np.flatnonzero([not _is_missing(v) and str(v) != "" for v in given.tolist()])
        if named.shape[0]:
            codes, first = np.unique(id_codes[named], return_index=True)
            customer_names[codes] = [str(given[i]) for i in named[first].tolist()]
    return Transactions(
        ids,
        customer_names,
        id_codes.astype(np.int32),
        day.astype(np.int32),
        fen.astype(np.int64),
        product_code,
        quantity.astype(np.int64),
        np.arange(n, dtype=np.int64),
        products,
        source,
        "quantity" in found,
    )
