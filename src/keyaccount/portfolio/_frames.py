"""Portfolios from and to pandas and polars DataFrames and Arrow tables, column by column.

The frames hold the columns of the CSV formats (``docs/import-export.md``) and
pass the same checks, with the same reasons, as the CSV readers: every column
is converted as a whole (numbers with array operations; text factorized, so
that each distinct text is checked once); every bad row is reported by its
position and column in one :class:`~keyaccount.exceptions.CsvImportError`
of :class:`~keyaccount.exceptions.FrameRowError`, and nothing is built.
``docs/frames.md`` gives the column types accepted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

import keyaccount.portfolio.frames as fr
from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    MAX_AMOUNT_FEN,
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENT_SEGMENT,
    SUB_SEGMENTS,
    Period,
    ProductCatalog,
    Segment,
    SubSegment,
    Tier,
    parent_cycles,
)
from keyaccount.exceptions import (
    CsvImportError,
    FrameRowError,
    InvalidMoneyError,
    UnknownLabelError,
    ValidationError,
    shorten,
)
from keyaccount.portfolio._columns import RevenueColumns
from keyaccount.portfolio._customers import CustomerColumns
from keyaccount.portfolio.fields import (
    EMPTY,
    MAX_FEN_DIGITS,
    MAX_VOLUME_DIGITS,
    MIN_YEAR,
    FieldError,
    check_text,
    check_utf8,
    customer_id,
    label_choices,
    money_fen,
    period_ordinal,
)
from keyaccount.portfolio.fields import volume as volume_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "CUSTOMER_FRAME_COLUMNS",
    "MAX_LISTED",
    "REVENUE_FRAME_COLUMNS",
    "CheckedFrames",
    "check_frames",
    "portfolio_frames",
    "read_frames",
]

CUSTOMER_FRAME_COLUMNS = (
    "customer_id",
    "name",
    "segment",
    "sub_segment",
    "tier",
    "parent_id",
    "province",
    "first_period",
    "tier_since",
)
"""Columns of a customers frame, in the order rows are checked."""
_CUSTOMER_REQUIRED = ("customer_id", "name", "first_period")
REVENUE_FRAME_COLUMNS = ("customer_id", "period", "product_id", "revenue", "revenue_fen", "volume")
"""Columns of a revenue frame (``revenue`` in yuan or ``revenue_fen``)."""
_REVENUE_REQUIRED = ("customer_id", "period")
MAX_LISTED = 1000
"""At most this many bad rows are listed in the error (all are counted)."""

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_MAX_YUAN = 10**MAX_FEN_DIGITS


# ---------------------------------------------------------------- one value (text or object)


def _text(value: object, what: str) -> str:
    """``value`` as text, refusing other types and control characters."""
    if not isinstance(value, str):
        raise FieldError(f"{what} must be text, not {type(value).__name__}")
    check_utf8(value)
    return value


def _customer_id(value: object) -> str:
    if value is None or value == "":
        raise FieldError(EMPTY)
    return customer_id(_text(value, "customer id"))


def _optional_text(value: object, what: str) -> str | None:
    if value is None:
        return None
    return _text(value, what).strip() or None


def _label_code(value: object, kind: type[Segment] | type[SubSegment] | type[Tier]) -> int:
    """The code of a segment, sub-segment or tier given by member, name or label."""
    if isinstance(value, kind):
        return value.rank if isinstance(value, Tier) else value.code
    what = {Segment: "segment", SubSegment: "sub-segment", Tier: "tier"}[kind]
    if value is None or value == "":
        return Tier.ACTIVE.rank if kind is Tier else NO_CODE
    text = _text(value, what)
    try:
        member = kind.parse(text)
    except UnknownLabelError:
        raise FieldError(
            f"unknown {what} {text!r}; expected one of {label_choices(kind)}"
        ) from None
    return member.rank if isinstance(member, Tier) else member.code


_NOT_FIRST = (
    "not the first day of a month; give months as YYYY-MM, a monthly period or the "
    "month's first day"
)


def _period(value: object) -> int:
    """A month: ``YYYY-MM`` text, a :class:`Period` or a date on the first of its month."""
    if value is None or value == "":
        raise FieldError(EMPTY)
    if isinstance(value, Period):
        return value.ordinal
    if isinstance(value, dt.date):
        if value.day != 1 or (isinstance(value, dt.datetime) and value.time() != dt.time(0)):
            raise FieldError(_NOT_FIRST)
        if value.year < MIN_YEAR:
            raise FieldError(f"year {value.year:04d} is before {MIN_YEAR}")
        return value.year * 12 + value.month - 1
    if not isinstance(value, str):
        raise FieldError(f"not a period: {type(value).__name__}; expected YYYY-MM text")
    return period_ordinal(_text(value, "period"))


def _optional_period(value: object) -> int:
    return NO_CODE if value is None or value == "" else _period(value)


_FLOAT_MONEY = (
    "float money is refused: a float cannot hold most amounts of yuan exactly; give yuan as "
    "Decimal or text, an Arrow decimal, or whole fen in an integer column named {fen}"
)
_INT_MONEY = (
    "an integer money column is ambiguous (yuan or fen?); give whole fen in a column named "
    "{fen}, or yuan as Decimal or text"
)


def _money(value: object) -> int:
    """Yuan as ``Decimal`` or text, in fen."""
    if value is None or value == "":
        raise FieldError(EMPTY)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FieldError("not a finite amount of money")
        fen = value * 100
        if fen != fen.to_integral_value():
            raise FieldError("digits below the fen; at most two decimals (0.01 yuan)")
        if abs(value) >= _MAX_YUAN:
            raise FieldError(f"too large; at most {MAX_FEN_DIGITS} digits before the decimal point")
        return int(fen)
    if isinstance(value, str):
        return money_fen(_text(value, "money"))
    if isinstance(value, float):
        raise FieldError("float money is refused: give yuan as Decimal or text")
    raise FieldError(f"not an amount of yuan: {type(value).__name__}; give Decimal or text")


def _volume(value: object) -> int:
    if value is None or value == "":
        return 0
    if not isinstance(value, str):
        raise FieldError(f"volume is not a whole number of parcels: {type(value).__name__}")
    return volume_of(_text(value, "volume"))


# ---------------------------------------------------------------- columns of the frames


class _Codes:
    """A column factorized: ``codes`` into its distinct values ``uniques`` (``-1``: null).

    ``identity``: row ``i`` holds ``uniques[i]`` (text taken one by one, not
    factorized). ``arrow``: the distinct values as an Arrow string array
    (chunked or not) when the column came as Arrow text; ``uniques`` is then
    made from it on first use, and the text checks read its UTF-8 bytes.
    """

    __slots__ = ("_objects", "_uniques", "arrow", "codes", "identity")

    def __init__(
        self,
        codes: npt.NDArray[np.signedinteger[Any]],
        uniques: list[Any] | None,
        *,
        identity: bool = False,
        arrow: Any = None,
    ) -> None:
        self.codes = codes
        self._uniques = uniques
        self.identity = identity
        self.arrow = arrow
        self._objects: npt.NDArray[np.object_] | None = None

    @property
    def size(self) -> int:
        """The number of distinct values."""
        return len(self._uniques) if self._uniques is not None else len(self.arrow)

    @property
    def uniques(self) -> list[Any]:
        """The distinct values as Python objects (``None``: null)."""
        if self._uniques is None:
            self._uniques = self.objects().tolist()
        return self._uniques

    def objects(self) -> npt.NDArray[np.object_]:
        """The distinct values as an ``object`` array (``None``: null)."""
        if self._objects is None:
            if self._uniques is None:
                self._objects = _arrow_objects(self.arrow)
            else:
                self._objects = np.empty(len(self._uniques), dtype=object)
                self._objects[:] = self._uniques
        return self._objects


@attrs.frozen(eq=False)
class _Numbers:
    """A numeric column: ``values`` (``int64``, ``float64`` or ``bool``) and its nulls."""

    values: npt.NDArray[Any]
    null: Mask
    dtype: str


@attrs.frozen(eq=False)
class _Months:
    """A date, datetime or monthly period column: month ordinals, nulls, and values off the 1st.

    ``ordinals`` (``int32`` or ``int64``; ``0`` where null) is the reader's own array.
    """

    ordinals: npt.NDArray[np.signedinteger[Any]]
    null: Mask
    off: Mask


@attrs.frozen(eq=False)
class _Decimals:
    """An Arrow decimal column: unscaled 128-bit values as (low, high) words, and its nulls."""

    low: I64
    high: I64
    scale: int
    null: Mask


_Input = _Codes | _Numbers | _Months | _Decimals


def library_of(frame: object) -> str:
    """``"pandas"``, ``"polars"`` or ``"arrow"``, told by the frame's module (nothing is imported).

    Raises:
        ValidationError: not a pandas or polars ``DataFrame`` nor a pyarrow ``Table``.
    """
    kind = type(frame)
    root = kind.__module__.split(".")[0]
    if root == "pandas" and kind.__name__ == "DataFrame":
        return "pandas"
    if root == "polars" and kind.__name__ == "DataFrame":
        return "polars"
    if root == "pyarrow" and kind.__name__ in ("Table", "RecordBatch"):
        return "arrow"
    raise ValidationError(
        f"expected a pandas or polars DataFrame or a pyarrow Table, got {kind.__module__}."
        f"{kind.__qualname__}"
    )


class _Source:
    """The columns of one frame, by their names stripped and in lower case."""

    def __init__(self, frame: object, name: str) -> None:
        self.name = name
        self.library = library_of(frame)
        if self.library == "polars":
            frame = frame.to_arrow()  # type: ignore[attr-defined]
            self.library = "arrow"
        self.frame: Any = frame
        raw = [str(c) for c in (frame.columns if self.library == "pandas" else frame.column_names)]  # type: ignore[attr-defined]
        self.raw = raw
        self.index: dict[str, int] = {}
        self.duplicated: list[str] = []
        for i, column in enumerate(raw):
            key = column.strip().lower()
            if key in self.index:
                self.duplicated.append(column)
            else:
                self.index[key] = i
        self.rows = int(frame.shape[0] if self.library == "pandas" else frame.num_rows)  # type: ignore[attr-defined]

    def check_columns(self, known: Sequence[str], required: Sequence[str], kind: str) -> None:
        missing = [c for c in required if c not in self.index]
        unknown = [c for c in self.raw if c.strip().lower() not in known]
        if kind == "revenue" and "revenue" not in self.index and "revenue_fen" not in self.index:
            missing.append("revenue (yuan) or revenue_fen")
        if not (missing or unknown or self.duplicated):
            return
        parts = []
        if missing:
            parts.append(f"missing column {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column {', '.join(map(shorten, unknown))}")
        if self.duplicated:
            parts.append(f"column named twice: {', '.join(map(shorten, self.duplicated))}")
        raise ValidationError(
            f"{self.name}: {'; '.join(parts)}; a {kind} frame has the columns "
            f"{', '.join(known)} ({', '.join(c for c in known if c not in required)} optional)"
        )

    def has(self, column: str) -> bool:
        return column in self.index

    def column(self, column: str, *, distinct: bool = False) -> _Input:
        """One column, converted; ``distinct`` text (ids, names) is not factorized."""
        raw = self.raw[self.index[column]]
        where = f"{self.name}: {raw}"
        if self.library == "pandas":
            series = self.frame.iloc[:, self.index[column]]
            if distinct and _pandas_text(series):
                arrow = _pandas_arrow(series.array)
                if arrow is not None:
                    return _listed_arrow(arrow)
                return _listed(series.to_numpy(dtype=object, na_value=None))
            return _pandas_input(series, where)
        data = self.frame.column(self.index[column])
        if distinct and _arrow_text(data):
            return _listed_arrow(data)
        return _arrow_input(data, where)


def _pandas_text(series: Any) -> bool:
    """Whether a pandas column holds text (object or string dtype, not categorical)."""
    import pandas as pd

    dtype = series.dtype
    return isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O")


def _arrow_text(column: Any) -> bool:
    import pyarrow as pa

    kind = column.type
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _pandas_arrow(array: Any) -> Any:
    """The Arrow text (a chunked array, not copied) behind a pandas array, or ``None``."""
    import pandas as pd

    if not isinstance(array, pd.arrays.ArrowStringArray | pd.arrays.ArrowExtensionArray):
        return None
    import pyarrow as pa

    data = array.__arrow_array__()
    if isinstance(data, pa.Array):
        data = pa.chunked_array([data])
    return data if _arrow_text(data) else None


def _listed_arrow(column: Any) -> _Codes:
    """Arrow text taken row by row (each row its own code; ``-1``: null), kept as Arrow."""
    codes = np.arange(len(column), dtype=np.int64)
    if column.null_count:
        codes[np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)] = -1
    return _Codes(codes, None, identity=True, arrow=column)


def _arrow_objects(column: Any) -> npt.NDArray[np.object_]:
    """Arrow values as an ``object`` array of Python values (``None``: null), made afresh."""
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _listed(values: npt.NDArray[np.object_]) -> _Codes:
    """Values taken one by one (each its own code; ``None`` as null)."""
    items: list[Any] = values.tolist()
    codes = np.arange(len(items), dtype=np.int64)
    null = np.asarray(values == None, dtype=np.bool_)  # noqa: E711  (element-wise None test)
    if null.any():
        codes[null] = -1
        for k in np.flatnonzero(null).tolist():
            items[k] = ""  # never read: a null row's code is -1
    return _Codes(codes, items, identity=True)


def _pandas_input(series: Any, where: str) -> _Input:
    import pandas as pd  # the frame is a pandas frame: pandas is installed

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        arrow = _pandas_arrow(categories.array)
        codes = series.cat.codes.to_numpy()
        if arrow is not None:
            return _Codes(codes, None, arrow=arrow)
        return _Codes(codes, _as_list(categories))
    if isinstance(dtype, pd.PeriodDtype):
        if getattr(dtype.freq, "freqstr", "") not in ("M", "ME"):
            raise ValidationError(f"{where}: periods must be monthly, got {dtype}")
        return _periods(np.asarray(series.array.asi8, dtype=np.int64))
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"{where}: datetimes with a time zone are refused; give months as YYYY-MM, "
            "monthly periods or naive dates on the first of the month"
        )
    arrow = _pandas_arrow(series.array)
    if arrow is not None:
        return _arrow_input(arrow, where)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _arrow_input(pa.chunked_array([pa.array(series.array)]), where)
    if dtype.kind == "M":
        return _datetimes(series.to_numpy())
    if dtype.kind in "iub" or dtype.kind == "f":
        target = np.float64 if dtype.kind == "f" else np.bool_ if dtype.kind == "b" else np.int64
        if dtype.kind == "u" and len(series) and int(series.max()) > np.iinfo(np.int64).max:
            raise ValidationError(f"{where}: values beyond 64-bit integers")
        values: npt.NDArray[Any]
        if isinstance(dtype, np.dtype):  # no missing values but NaN
            values = np.asarray(series.to_numpy(), dtype=target)
            null = np.isnan(values) if dtype.kind == "f" else np.zeros(len(values), np.bool_)
        else:  # a nullable extension type (Int64, Float64, boolean)
            null = np.asarray(series.isna().to_numpy(), dtype=np.bool_)
            values = np.asarray(series.to_numpy(dtype=target, na_value=0))
        return _Numbers(values, null, "float" if dtype.kind == "f" else "int")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return _Codes(np.asarray(codes, dtype=np.int64), _as_list(uniques))


def _as_list(values: Any) -> list[Any]:
    """A pandas Index or array as a list of Python objects (missing values as ``None``)."""
    array = np.asarray(values.to_numpy(dtype=object, na_value=None), dtype=object)
    out: list[Any] = array.tolist()
    return out


def _datetimes(values: npt.NDArray[Any]) -> _Months:
    """Datetimes as months; a value off the first day of its month at midnight is off."""
    null = np.isnat(values)
    days = values.astype("datetime64[D]")
    months = _days(days.astype(np.int64), null)
    if values.dtype != days.dtype:
        months.off[(days.astype(values.dtype) != values) & ~null] = True
    return months


_DAY_TABLE = 1 << 20
"""Dates spanning at most this many days are turned into months through a lookup table."""


def _days(days: I64 | npt.NDArray[np.int32], null: Mask) -> _Months:
    """Days since 1970-01-01 as months (and whether each is off the 1st), ``null`` ignored.

    The few distinct months of a column make a table over its span of days (one
    subtraction and one gather per value) cheaper than calendar arithmetic per value.
    """
    valid = days[~null] if null.any() else days
    if not valid.shape[0]:
        size = days.shape[0]
        return _Months(np.zeros(size, np.int64), null, np.zeros(size, np.bool_))
    low, high = int(valid.min()), int(valid.max())
    if high - low >= _DAY_TABLE:
        dates = days.astype("datetime64[D]")
        months = dates.astype("datetime64[M]")
        off = (months.astype("datetime64[D]") != dates) & ~null
        ordinals = months.astype(np.int64) + fr.UNIX_MONTH
        return _Months(np.where(null, 0, ordinals), null, off)
    span = np.arange(low, high + 1, dtype=np.int64).astype("datetime64[D]")
    month_of = span.astype("datetime64[M]")
    table = (month_of.astype(np.int64) + fr.UNIX_MONTH).astype(np.int32)
    first = month_of.astype("datetime64[D]") == span
    has_null = valid.shape[0] < days.shape[0]
    at = (np.where(null, low, days) if has_null else days) - low
    months = table[at]
    off = ~first[at]
    if has_null:
        months[null] = 0
        off &= ~null
    return _Months(months, null, off)


def _periods(months: I64) -> _Months:
    """Pandas monthly periods (months since 1970-01; ``NaT`` the smallest int64) as months."""
    n = months.shape[0]
    nat = np.iinfo(np.int64).min
    low = int(months.min()) if n else 0
    if low == nat:
        null = months == nat
        ordinals = np.where(null, 0, months + fr.UNIX_MONTH)
        return _Months(ordinals, null, np.zeros(n, dtype=np.bool_))
    none = np.zeros(n, dtype=np.bool_)
    high = int(months.max()) if n else 0
    if low + fr.UNIX_MONTH >= -(2**31) and high + fr.UNIX_MONTH < 2**31:
        small = np.empty(n, dtype=np.int32)
        np.add(months, fr.UNIX_MONTH, out=small, casting="unsafe")  # in range: exact
        return _Months(small, none, none)
    return _Months(months + fr.UNIX_MONTH, none, none)


def _arrow_input(column: Any, where: str) -> _Input:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if column.null_count:
        null = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    else:
        null = np.zeros(len(column), dtype=np.bool_)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        column = pc.dictionary_encode(column.cast(pa.large_string()))
        kind = column.type
    if pa.types.is_dictionary(kind):
        chunks = column.unify_dictionaries().chunks
        if not chunks:
            return _Codes(np.zeros(0, dtype=np.int64), [])
        indices = pa.chunked_array([c.indices for c in chunks], type=kind.index_type)
        if pa.types.is_unsigned_integer(kind.index_type):
            indices = indices.cast(pa.int64())
        codes = (pc.fill_null(indices, -1) if indices.null_count else indices).to_numpy()
        dictionary = chunks[0].dictionary
        if _arrow_text(dictionary):
            return _Codes(np.asarray(codes), None, arrow=dictionary)
        return _Codes(np.asarray(codes), _arrow_objects(dictionary).tolist())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        if pa.types.is_uint64(kind) and len(column) and (pc.max(column).as_py() or 0) >= 2**63:
            raise ValidationError(f"{where}: values beyond 64-bit integers")
        target = pa.bool_() if pa.types.is_boolean(kind) else pa.int64()
        typed = column if column.type == target else column.cast(target)
        if column.null_count:
            typed = pc.fill_null(typed, False if target == pa.bool_() else 0)
        return _Numbers(np.asarray(typed.to_numpy()), null, "int")
    if pa.types.is_floating(kind):
        filled = pc.fill_null(column.cast(pa.float64()), 0.0)
        return _Numbers(np.asarray(filled.to_numpy()), null, "float")
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        raise ValidationError(
            f"{where}: timestamps with a time zone are refused; give months as YYYY-MM, "
            "dates or naive timestamps on the first of the month"
        )
    if pa.types.is_date32(kind):
        days = pc.fill_null(column.cast(pa.int32()), 0) if column.null_count else column
        return _days(np.asarray(days.cast(pa.int32()).to_numpy()), null)
    if pa.types.is_date64(kind) or pa.types.is_timestamp(kind):
        unit = "ms" if pa.types.is_date64(kind) else kind.unit
        raw = pc.fill_null(column.cast(pa.int64()), 0).to_numpy()
        months = _datetimes(np.asarray(raw).astype(f"datetime64[{unit}]"))
        return _Months(months.ordinals, null, months.off & ~null)
    if pa.types.is_decimal(kind):
        if kind.precision > 38 or pa.types.is_decimal256(kind):
            column = column.cast(pa.decimal128(38, kind.scale))
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if len(array) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return _Decimals(empty, empty, kind.scale, null)
        words = np.frombuffer(array.buffers()[1], dtype=np.int64)
        words = words[2 * array.offset : 2 * (array.offset + len(array))].reshape(-1, 2)
        return _Decimals(words[:, 0].copy(), words[:, 1].copy(), kind.scale, null)
    if pa.types.is_null(kind):
        return _Codes(np.full(len(column), -1, dtype=np.int64), [])
    raise ValidationError(f"{where}: a column of type {kind} is not accepted")


# ---------------------------------------------------------------- the bad rows


class _Problems:
    """Bad rows: the first bad column of each row, in the format's column order."""

    def __init__(self, source: str, rows: int) -> None:
        self.source = source
        self.bad = np.zeros(rows, dtype=np.bool_)
        self.found: list[tuple[int, str, str, str]] = []

    def add(self, rows: I64, column: str, values: Sequence[str], reasons: Sequence[str]) -> None:
        """Report ``rows`` (not reported before) at ``column``."""
        for row, value, reason in zip(rows.tolist(), values, reasons, strict=True):
            if not self.bad[row]:
                self.bad[row] = True
                self.found.append((row, column, value, reason))

    def add_mask(self, mask: Mask, column: str, value: Callable[[int], str], reason: str) -> None:
        """Report every row of ``mask`` with one reason."""
        if not mask.any():
            return
        rows = np.flatnonzero(mask & ~self.bad)
        if rows.shape[0]:
            self.add(rows, column, [value(r) for r in rows.tolist()], [reason] * rows.shape[0])

    def raise_any(self) -> None:
        """Raise every bad row at once, in row order (the first :data:`MAX_LISTED` listed)."""
        if not self.found:
            return
        self.found.sort(key=lambda p: p[0])
        listed = [FrameRowError(self.source, *p) for p in self.found[:MAX_LISTED]]
        raise CsvImportError(self.source, listed, len(self.found))


def _shown(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _plain_texts(uniques: list[Any]) -> bool:
    """Whether every value is text without control characters and valid UTF-8 (checked at once)."""
    if set(map(type, uniques)) - {str}:
        return False
    try:
        check_utf8("\n".join(uniques))
    except FieldError:
        return False
    return True


def _refused_bytes(refused: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    """A table of the 256 byte values: the ASCII characters ``refused`` names, by their byte."""
    table = np.zeros(256, dtype=np.bool_)
    table[[c for c in range(128) if refused(chr(c))]] = True
    return table


def _is_control(text: str) -> bool:
    try:
        check_text(text)
    except FieldError:
        return True
    return False


_CONTROL_BYTES = _refused_bytes(_is_control)
"""The bytes of the characters :func:`check_text` refuses: ASCII, so in UTF-8 they are
single bytes that no other character's encoding holds."""
_EDGE_BYTES = _CONTROL_BYTES | _refused_bytes(str.isspace) | (np.arange(256) >= 128)
"""First or last bytes of a text that ``str.strip`` may shorten: ASCII whitespace,
and any byte of a non-ASCII character (those texts are checked one by one)."""


def _offsets_dtype(kind: Any) -> type[np.signedinteger[Any]] | None:
    """The offsets' dtype of an Arrow string type of the plain layout (``None``: another)."""
    import pyarrow as pa

    if pa.types.is_string(kind):
        return np.int32
    if pa.types.is_large_string(kind):
        return np.int64
    return None


def _text_doubts(data: _Codes, *, edges: bool) -> Mask:
    """Per distinct value: whether it may break a rule of text, judged in bulk.

    A value not in doubt is text without control characters and, with
    ``edges``, neither empty nor with whitespace around it; values in doubt
    go through the plain per-value check, which accepts or names them. Arrow
    text is judged on its UTF-8 bytes (a control character is a byte of its
    own; a text whose first or last byte is whitespace or non-ASCII is in
    doubt); other text on the Python values.
    """
    m = data.size
    arrow = data.arrow
    if arrow is None:
        uniques = data.uniques
        if not _plain_texts(uniques):
            return np.ones(m, dtype=np.bool_)
        if not edges or (list(map(str.strip, uniques)) == uniques and "" not in uniques):
            return np.zeros(m, dtype=np.bool_)
        return np.array([v == "" or v != v.strip() for v in uniques], dtype=np.bool_)
    parts = []
    for chunk in getattr(arrow, "chunks", [arrow]):
        layout = _offsets_dtype(chunk.type)
        if layout is None:
            return np.ones(m, dtype=np.bool_)
        n = len(chunk)
        if n == 0:
            continue
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], dtype=layout)[chunk.offset : chunk.offset + n + 1]
        offsets = offsets.astype(np.int64)
        text = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
        doubt = np.zeros(n, dtype=np.bool_)
        start, end = int(offsets[0]), int(offsets[-1])
        if text is not None and end > start:
            hits = np.flatnonzero(_CONTROL_BYTES[text[start:end]])
            if hits.shape[0]:
                doubt[np.searchsorted(offsets, hits + start, side="right") - 1] = True
        if edges:
            first, after = offsets[:-1], offsets[1:]
            empty = first == after
            doubt |= empty
            if text is not None and not empty.all():
                full = np.flatnonzero(~empty)
                doubt[full] |= _EDGE_BYTES[text[first[full]]] | _EDGE_BYTES[text[after[full] - 1]]
        parts.append(doubt)
    return np.concatenate(parts) if parts else np.zeros(m, dtype=np.bool_)


def _fast_ids(data: _Codes) -> tuple[npt.NDArray[Any], Mask]:
    """Customer ids accepted in bulk (the others go through :func:`_customer_id`)."""
    return data.objects(), ~_text_doubts(data, edges=True)


def _fast_texts(data: _Codes) -> tuple[npt.NDArray[Any], Mask]:
    """Text accepted in bulk as it is (names)."""
    return data.objects(), ~_text_doubts(data, edges=False)


def _fast_optional(data: _Codes) -> tuple[npt.NDArray[Any], Mask]:
    """Optional text accepted in bulk (a text not in doubt is its own strip, not blank)."""
    return data.objects(), ~_text_doubts(data, edges=True)


def _by_unique(
    data: _Input,
    parse: Callable[[object], Any],
    problems: _Problems,
    column: str,
    dtype: type[np.generic],
    fast: Callable[[_Codes], tuple[npt.NDArray[Any], Mask]] | None = None,
) -> npt.NDArray[Any]:
    """Values of a factorized column, each distinct value checked once; bad rows reported.

    ``fast`` accepts most distinct values in bulk (their values, and which
    it accepts); ``parse`` decides the others, one by one, and says why it
    refuses one.
    """
    if not isinstance(data, _Codes):
        raise ValidationError(f"{problems.source}: column {column} must hold text")
    m = data.size
    table = np.zeros(m + 1, dtype=dtype)
    todo: list[int] = list(range(m))
    if fast is not None and m:
        values, ok = fast(data)
        table[:m] = values if dtype is np.object_ else np.where(ok, values, 0)
        todo = np.flatnonzero(~ok).tolist()
    uniques = data.uniques if todo else []
    codes = data.codes
    null = bool(codes.shape[0]) and int(codes.min()) < 0
    bad: dict[int, str] = {}
    for k in [*todo, m] if null else todo:
        try:
            table[k] = parse(uniques[k] if k < m else None)
        except FieldError as exc:
            bad[k] = exc.reason
            if dtype is np.object_:
                table[k] = None  # never read as a value: its rows are reported
    if null:
        codes = np.where(codes < 0, m, codes)
    elif not bad and data.identity:
        return table[:m]
    elif not bad and dtype is not np.object_ and np.array_equal(table[:m], np.arange(m)):
        return codes.astype(dtype)  # each code is its own value: no gather
    if bad:
        wrong = np.array(list(bad), dtype=np.int64)
        rows = np.flatnonzero(np.isin(codes, wrong))
        picked = codes[rows].tolist()
        problems.add(
            rows,
            column,
            [_shown(uniques[c] if c < m else None) for c in picked],
            [bad[c] for c in picked],
        )
    out: npt.NDArray[Any] = table[codes]
    return out


# ---------------------------------------------------------------- customers


@attrs.frozen(eq=False)
class _Customers:
    """Checked customers: the block, each id's position, and the ids as Arrow text if given so."""

    ids: npt.NDArray[np.object_]
    block: CustomerColumns
    positions: dict[str, int]
    arrow_ids: Any = None


def _labels_column(
    source: _Source,
    problems: _Problems,
    column: str,
    kind: type[Segment] | type[SubSegment] | type[Tier],
) -> I64:
    n = source.rows
    if not source.has(column):
        return np.full(n, Tier.ACTIVE.rank if kind is Tier else NO_CODE, dtype=np.int64)
    return _by_unique(
        source.column(column), lambda v: _label_code(v, kind), problems, column, np.int64
    )


def _months_column(
    data: _Input, problems: _Problems, column: str, *, optional: bool
) -> npt.NDArray[np.int32]:
    """Month ordinals (``int32``; ``-1`` for an empty optional month)."""
    if isinstance(data, _Codes):
        parse = _optional_period if optional else _period
        return _by_unique(data, parse, problems, column, np.int32)
    if not isinstance(data, _Months):
        raise ValidationError(
            f"{problems.source}: column {column} must hold months: YYYY-MM text, monthly "
            "periods, dates or datetimes on the first of the month"
        )
    ordinals = data.ordinals
    shown = _month_shown(data)
    null = data.null.any()
    if not optional and null:
        problems.add_mask(data.null, column, lambda r: "", EMPTY)
    problems.add_mask(data.off, column, shown, _NOT_FIRST)
    low = int(ordinals.min()) if ordinals.shape[0] else MIN_YEAR * 12
    high = int(ordinals.max()) if ordinals.shape[0] else MIN_YEAR * 12
    if low < MIN_YEAR * 12:
        early = np.flatnonzero((ordinals < MIN_YEAR * 12) & ~data.null)
        years = [int(ordinals[r]) // 12 for r in early.tolist()]
        reasons = [f"year {y:04d} is before {MIN_YEAR}" for y in years]
        problems.add(early, column, [shown(r) for r in early.tolist()], reasons)
    if high >= 10_000 * 12:
        late = ordinals >= 10_000 * 12
        problems.add_mask(late & ~data.null if null else late, column, shown, "year after 9999")
    if low >= MIN_YEAR * 12 and high < 10_000 * 12:
        out = ordinals.astype(np.int32, copy=False)  # the reader's own array
    else:
        out = np.clip(ordinals, MIN_YEAR * 12, 10_000 * 12 - 1).astype(np.int32)
    if null:
        out[data.null] = NO_CODE
    return out


def _month_shown(data: _Months) -> Callable[[int], str]:
    def shown(row: int) -> str:
        ordinal = int(data.ordinals[row])
        year, month = divmod(ordinal, 12)
        return f"{year:04d}-{month + 1:02d}" + (" (not the 1st)" if data.off[row] else "")

    return shown


def _customer_columns(source: _Source, problems: _Problems) -> _Customers:
    n = source.rows
    ids_in = source.column("customer_id", distinct=True)
    ids = _by_unique(ids_in, _customer_id, problems, "customer_id", np.object_, _fast_ids)
    arrow_ids = ids_in.arrow if isinstance(ids_in, _Codes) else None
    names = _by_unique(
        source.column("name", distinct=True),
        lambda v: "" if v is None else _text(v, "name"),
        problems,
        "name",
        np.object_,
        _fast_texts,
    )
    segment = _labels_column(source, problems, "segment", Segment)
    sub_segment = _labels_column(source, problems, "sub_segment", SubSegment)
    has_sub = sub_segment >= 0
    owner = np.asarray(SUB_SEGMENT_SEGMENT, dtype=np.int64)[np.where(has_sub, sub_segment, 0)]
    mismatch = has_sub & ((segment < 0) | (owner != segment))
    for row in np.flatnonzero(mismatch & ~problems.bad).tolist():
        sub = SUB_SEGMENTS[int(sub_segment[row])]
        seg = int(segment[row])
        given = "a customer without a segment" if seg < 0 else f"segment {SEGMENTS[seg].name}"
        problems.add(
            np.array([row]),
            "sub_segment",
            [sub.name],
            [f"sub-segment {sub.name} belongs to segment {sub.segment.name}, not to {given}"],
        )
    tier = _labels_column(source, problems, "tier", Tier)
    parents = np.full(n, None, dtype=object)
    if source.has("parent_id"):
        parents = _by_unique(
            source.column("parent_id"),
            lambda v: _optional_text(v, "parent id"),
            problems,
            "parent_id",
            np.object_,
            _fast_optional,
        )
        has = np.flatnonzero(parents.astype(np.bool_))  # text, or None: no parent
        own = has[parents[has] == ids[has]]
        own = own[~problems.bad[own]]
        problems.add(
            own,
            "parent_id",
            [str(parents[r]) for r in own.tolist()],
            ["a customer cannot be its own parent"] * own.shape[0],
        )
    province = np.full(n, None, dtype=object)
    if source.has("province"):
        province = _by_unique(
            source.column("province"),
            lambda v: _optional_text(v, "province"),
            problems,
            "province",
            np.object_,
            _fast_optional,
        )
    first = _months_column(source.column("first_period"), problems, "first_period", optional=False)
    since = np.full(n, NO_CODE, dtype=np.int32)
    if source.has("tier_since"):
        since = _months_column(source.column("tier_since"), problems, "tier_since", optional=True)
        early = (since != NO_CODE) & (since < first) & ~problems.bad
        for row in np.flatnonzero(early).tolist():
            text = str(Period.from_ordinal(int(since[row])))
            first_text = str(Period.from_ordinal(int(first[row])))
            problems.add(
                np.array([row]),
                "tier_since",
                [text],
                [f"tier_since {text} is before first_period {first_text}"],
            )
    parent, positions = _cross_row_checks(ids, parents, problems)
    problems.raise_any()
    block = CustomerColumns(
        id=ids,
        name=names,
        segment=segment.astype(np.int8),
        sub_segment=sub_segment.astype(np.int8),
        tier=tier.astype(np.int8),
        parent=parent,
        province=province,
        first_period=first.astype(np.int32),
        tier_since=since.astype(np.int32),
    )
    return _Customers(ids, block, positions, arrow_ids)


def _cross_row_checks(
    ids: npt.NDArray[np.object_],
    parents: npt.NDArray[np.object_],
    problems: _Problems,
) -> tuple[npt.NDArray[np.int32], dict[str, int]]:
    """Duplicates, unknown parents and cycles among the good rows.

    Returns:
        The parents' positions, and the position of each good row's id.
    """
    n = ids.shape[0]
    clean = not problems.bad.any()
    good_rows = np.arange(n) if clean else np.flatnonzero(~problems.bad)
    good_ids = ids.tolist() if clean else ids[good_rows].tolist()
    rows: Sequence[int] = range(n) if clean else good_rows.tolist()
    position = dict(zip(good_ids, rows, strict=True))
    if len(position) < len(good_ids):  # a duplicate: the first row of an id keeps it
        position = {}
        for cid, row in zip(good_ids, rows, strict=True):
            first = position.setdefault(cid, row)
            if first != row:
                reason = f"duplicate customer id, first at row {first}"
                problems.add(np.array([row]), "customer_id", [str(cid)], [reason])
    link = np.full(n, NO_CODE, dtype=np.int64)
    has = np.flatnonzero(parents.astype(np.bool_))  # text, or None: no parent
    if problems.found:
        has = has[~problems.bad[has]]
    found = list(map(position.get, parents[has].tolist()))
    missing = [k for k, at in enumerate(found) if at is None]
    link[has] = [NO_CODE if at is None else at for at in found]
    for k in missing:
        row = int(has[k])
        pid = str(parents[row])
        problems.add(np.array([row]), "parent_id", [pid], [f"unknown parent customer {pid!r}"])
    link[problems.bad] = NO_CODE
    for cycle in parent_cycles(link):
        path = " -> ".join([*(str(ids[r]) for r in cycle), str(ids[cycle[0]])])
        for row in cycle:
            problems.add(
                np.array([row]), "parent_id", [str(parents[row])], [f"parent cycle: {path}"]
            )
    return link.astype(np.int32), position


# ---------------------------------------------------------------- revenue


def _money_column(source: _Source, problems: _Problems) -> I64:
    if source.has("revenue_fen"):
        column = "revenue_fen"
        data = source.column(column)
        if not (isinstance(data, _Numbers) and data.dtype == "int"):
            raise InvalidMoneyError(
                f"{source.name}: column revenue_fen must hold whole fen as integers"
            )
        fen = np.asarray(data.values, dtype=np.int64)
        problems.add_mask(data.null, column, lambda r: "", EMPTY)
        if not fen.shape[0] or (
            int(fen.min()) >= -MAX_AMOUNT_FEN and int(fen.max()) <= MAX_AMOUNT_FEN
        ):
            return fen
        over = (fen > MAX_AMOUNT_FEN) | (fen < -MAX_AMOUNT_FEN)
        problems.add_mask(
            over,
            column,
            lambda r: str(int(fen[r])),
            f"too large; at most {MAX_FEN_DIGITS} digits before the decimal point of yuan",
        )
        return fen
    column = "revenue"
    data = source.column(column)
    if isinstance(data, _Numbers):
        template = _FLOAT_MONEY if data.dtype == "float" else _INT_MONEY
        raise InvalidMoneyError(
            f"{source.name}: column revenue: {template.format(fen='revenue_fen')}"
        )
    if isinstance(data, _Decimals):
        return _decimal_fen(data, problems, column)
    if isinstance(data, _Months):
        raise ValidationError(f"{source.name}: column revenue holds dates, not money")
    return _by_unique(data, _money, problems, column, np.int64)


def _decimal_fen(data: _Decimals, problems: _Problems, column: str) -> I64:
    """Arrow decimals (unscaled 128-bit values) as fen, exactly."""
    low, high, scale = data.low, data.high, data.scale
    fits = high == (low >> 63)
    shift = 2 - scale
    if shift >= 0:
        factor = 10**shift
        fen = low * factor
        fits &= np.abs(low) <= (MAX_AMOUNT_FEN // factor)
        below = np.zeros_like(fits)
    else:
        factor = 10 ** (-shift)
        fen = low // factor
        below = fits & (low % factor != 0)
    fits &= np.abs(fen) <= MAX_AMOUNT_FEN

    def shown(row: int) -> str:
        unscaled = (int(high[row]) << 64) | (int(low[row]) & (2**64 - 1))
        return str(Decimal(unscaled).scaleb(-scale))

    valid = ~data.null
    problems.add_mask(data.null, column, lambda r: "", EMPTY)
    problems.add_mask(
        ~fits & valid,
        column,
        shown,
        f"too large; at most {MAX_FEN_DIGITS} digits before the decimal point",
    )
    problems.add_mask(
        below & valid, column, shown, "digits below the fen; at most two decimals (0.01 yuan)"
    )
    return np.where(fits & ~below & valid, fen, 0)


def _volume_column(source: _Source, problems: _Problems) -> I64:
    n = source.rows
    if not source.has("volume"):
        return np.zeros(n, dtype=np.int64)
    data = source.column("volume")
    if isinstance(data, _Codes):
        return _by_unique(data, _volume, problems, "volume", np.int64)
    if not isinstance(data, _Numbers):
        raise ValidationError(f"{source.name}: column volume must hold whole numbers of parcels")
    values = data.values
    valid = ~data.null
    if data.dtype == "float":
        finite = np.isfinite(values)
        problems.add_mask(
            ~finite & valid,
            "volume",
            lambda r: str(values[r]),
            "volume is not a whole number of parcels",
        )
        fractional = finite & (values != np.floor(np.where(finite, values, 0))) & valid
        problems.add_mask(
            fractional,
            "volume",
            lambda r: str(values[r]),
            "fractional volume; volume is a whole number of parcels",
        )
        values = np.where(finite & ~fractional, values, 0)
        huge = np.abs(values) >= 10**MAX_VOLUME_DIGITS
        problems.add_mask(
            huge & valid,
            "volume",
            lambda r: str(data.values[r]),
            f"volume too large; at most {MAX_VOLUME_DIGITS} digits",
        )
        values = np.where(huge, 0, values)
    volume = np.asarray(values, dtype=np.int64)
    if data.null.any():
        volume = np.where(valid, volume, 0)
    if not volume.shape[0] or (
        int(volume.min()) >= 0 and int(volume.max()) < 10**MAX_VOLUME_DIGITS
    ):
        return volume
    problems.add_mask(
        volume < 0,
        "volume",
        lambda r: str(int(volume[r])),
        "negative volume; volume is a whole number of parcels >= 0",
    )
    problems.add_mask(
        volume >= 10**MAX_VOLUME_DIGITS,
        "volume",
        lambda r: str(int(volume[r])),
        f"volume too large; at most {MAX_VOLUME_DIGITS} digits",
    )
    return volume


def _revenue_columns(
    source: _Source, customers: _Customers, catalog: ProductCatalog, problems: _Problems
) -> RevenueColumns:
    n = source.rows
    positions = customers.positions

    def customer(value: object) -> int:
        cid = _customer_id(value)
        at = positions.get(cid)
        if at is None:
            raise FieldError(f"unknown customer {cid!r}")
        return at

    def known(data: _Codes) -> tuple[npt.NDArray[Any], Mask]:
        if data.arrow is not None and customers.arrow_ids is not None:
            found = _arrow_positions(data.arrow, customers.arrow_ids)
        elif data.uniques == customers.ids.tolist():  # the customers' order (to_frames)
            found = np.arange(data.size, dtype=np.int64)
        else:
            found = np.array(
                [positions.get(u, -1) if type(u) is str else -1 for u in data.uniques],
                dtype=np.int64,
            )
        return found, found >= 0

    customer_at = _by_unique(
        source.column("customer_id"), customer, problems, "customer_id", np.int32, known
    )
    period = _months_column(source.column("period"), problems, "period", optional=False)
    products = {pid: i for i, pid in enumerate(catalog)}
    default = products.get(DEFAULT_PRODUCT_ID)

    def product(value: object) -> int:
        if value is None or value == "":
            if default is None:
                raise FieldError(f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}")
            return default
        text = _text(value, "product id")
        at = products.get(text)
        if at is None:
            raise FieldError(f"unknown product {text!r}")
        return at

    if source.has("product_id"):
        product_at = _by_unique(
            source.column("product_id"), product, problems, "product_id", np.int32
        )
    else:
        product_at = np.full(n, -1 if default is None else default, dtype=np.int32)
        if default is None:
            problems.add_mask(
                np.ones(n, dtype=np.bool_),
                "product_id",
                lambda r: "",
                f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}",
            )
    fen = _money_column(source, problems)
    volume = _volume_column(source, problems)
    if len(customers.ids):  # else every row names an unknown customer
        first = customers.block.first_period[customer_at]
        early = period < first
        if problems.found:
            early &= ~problems.bad
    else:
        first = early = np.zeros(n, dtype=np.bool_)
    for row in np.flatnonzero(early).tolist():
        cid = customers.ids[int(customer_at[row])]
        problems.add(
            np.array([row]),
            "period",
            [str(Period.from_ordinal(int(period[row])))],
            [f"before customer {cid!r}'s first_period {Period.from_ordinal(int(first[row]))}"],
        )
    problems.raise_any()
    return RevenueColumns(customer_at, product_at, period, _owned(fen), _owned(volume))


def _owned(values: I64) -> I64:
    """``values``, or a copy when they may be the frame's memory."""
    return values if values.base is None and values.flags.writeable else values.copy()


def _arrow_positions(values: Any, keys: Any) -> I64:
    """The position in ``keys`` (distinct Arrow text) of each of ``values`` (``-1``: absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def plain(column: Any) -> Any:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        return column.cast(pa.large_string())

    values, keys = plain(values), plain(keys)
    if values.equals(keys):  # the customers' order (to_frames, to_arrow)
        return np.arange(len(values), dtype=np.int64)
    found = pc.fill_null(pc.index_in(values, value_set=keys), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


@attrs.frozen(eq=False)
class CheckedFrames:
    """The customers and revenue of two frames, every check of a portfolio passed.

    The arrays are the reader's own (none is the frames' memory), in the
    portfolio's dtypes: a new portfolio holds them as they are, without
    checking them again (``Portfolio.from_frames``).

    Attributes:
        customers: The customers, in frame order (parents as positions).
        positions: The position of each customer id.
        revenue: The revenue records (``None``: no revenue frame).
    """

    customers: CustomerColumns
    positions: dict[str, int]
    revenue: RevenueColumns | None


def check_frames(
    customers: object,
    revenue: object | None,
    catalog: ProductCatalog,
    *,
    customers_source: str = "customers frame",
    revenue_source: str = "revenue frame",
) -> CheckedFrames:
    """The checked customers and revenue of two frames, for a new portfolio.

    Raises:
        As :func:`read_frames`.
    """
    source = _Source(customers, customers_source)
    source.check_columns(CUSTOMER_FRAME_COLUMNS, _CUSTOMER_REQUIRED, "customers")
    found = _customer_columns(source, _Problems(customers_source, source.rows))
    if revenue is None:
        return CheckedFrames(found.block, found.positions, None)
    rsource = _Source(revenue, revenue_source)
    rsource.check_columns(REVENUE_FRAME_COLUMNS, _REVENUE_REQUIRED, "revenue")
    rev = _revenue_columns(rsource, found, catalog, _Problems(revenue_source, rsource.rows))
    return CheckedFrames(found.block, found.positions, rev)


def read_frames(
    customers: object,
    revenue: object | None,
    catalog: ProductCatalog,
    *,
    customers_source: str = "customers frame",
    revenue_source: str = "revenue frame",
) -> tuple[CustomerColumns, RevenueColumns | None]:
    """The checked customers and revenue of two frames (see ``Portfolio.from_frames``).

    Raises:
        ValidationError: a frame that is none of the accepted kinds, a missing,
            unknown or repeated column, or a column of a type not accepted.
        InvalidMoneyError: a money column of floats, or of integers not named ``_fen``.
        CsvImportError: every bad row of the customers frame, else of the
            revenue frame, as :class:`~keyaccount.exceptions.FrameRowError`.
    """
    found = check_frames(
        customers,
        revenue,
        catalog,
        customers_source=customers_source,
        revenue_source=revenue_source,
    )
    return found.customers, found.revenue


# ---------------------------------------------------------------- to frames


def portfolio_frames(
    cols: CustomerColumns, rev: RevenueColumns, catalog: ProductCatalog, lang: str = "en"
) -> tuple[fr.Frame, fr.Frame]:
    """Customers and revenue as frames (``read_frames`` reads them back)."""
    customers = fr.customers_frame(cols, lang)
    revenue = fr.Frame(
        (
            fr.key("customer_id", rev.customer, [str(c) for c in cols.id.tolist()]),
            fr.period("period", rev.period),
            fr.key("product_id", rev.product, list(catalog)),
            fr.money("revenue", rev.fen),
            fr.integer("volume", rev.volume),
        )
    )
    return customers, revenue
