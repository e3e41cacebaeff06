"""Tables of results as pandas, Arrow and polars frames, typed the same way everywhere.

Every result's ``to_pandas()``, ``to_arrow()`` and ``to_polars()`` describes its
columns with the functions below and hands them to :class:`Frame`, so that a
column of a kind has the same type in every frame (``docs/frames.md``):

========== ======================================== ==================================
kind       pandas                                   Arrow (polars via Arrow)
========== ======================================== ==================================
money      ``<name>_fen`` ``int64`` (``Int64`` with ``<name>_fen`` ``int64`` and
           absent values) and ``<name>`` exact yuan ``<name>`` ``decimal128(20, 2)``
           ``decimal128(20, 2)`` (``pd.ArrowDtype``;
           ``object`` ``Decimal`` without pyarrow)
period     ``period[M]``                            ``date32``: the month's first day
tier,      ordered ``category`` in the domain order ``dictionary`` (ordered)
segment    (labels in ``lang``)
key        ``category`` (ids in their table order)  ``dictionary``
text       ``object`` (``str``, ``None``); a column ``string``
           joined by Arrow: ``str`` on Arrow
integer    ``int64`` (``Int64`` with absent values) ``int64``
ratio      ``float64`` (``Float64`` with absent)    ``float64``
flag       ``bool``                                 ``bool``
========== ======================================== ==================================

Absent values are ``<NA>`` / ``NaT`` in pandas and nulls in Arrow. pandas,
pyarrow and polars are optional: each is imported when a frame of its kind is
asked for, and a missing one raises an ``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import NO_CODE, SEGMENTS, SUB_SEGMENTS, TIERS, fen_to_yuan
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.portfolio._customers import CustomerColumns

__all__ = [
    "UNIX_MONTH",
    "YUAN_DECIMAL",
    "Column",
    "Frame",
    "check_choice",
    "customers_frame",
    "flag",
    "integer",
    "key",
    "labels",
    "money",
    "period",
    "ratio",
    "require",
    "segment",
    "text",
    "tier",
]

Kind = Literal["money", "period", "category", "text", "integer", "ratio", "flag"]

UNIX_MONTH = 1970 * 12
"""The :attr:`~keyaccount.Period.ordinal` of 1970-01, month 0 of pandas and numpy."""
YUAN_DECIMAL = (20, 2)
"""Precision and scale of the exact yuan columns (``decimal128(20, 2)``)."""

_EXTRAS = {"pandas": "pandas", "pyarrow": "arrow", "polars": "polars"}


def require(module: str) -> Any:
    """Import an optional library, or raise an ``ImportError`` naming the extra that installs it.

    Args:
        module: ``"pandas"``, ``"pyarrow"`` or ``"polars"``.

    Raises:
        ImportError: the library is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRAS.get(module, module)
        raise ImportError(
            f"{module} is not installed; install it with pip install 'keyaccount[{extra}]'"
        ) from None


def _has(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def check_choice(value: object, allowed: Sequence[str], *, what: str, where: str) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValidationError`` naming them all.

    Args:
        value: The value given.
        allowed: The values accepted.
        what: The parameter, for the message (``"values"``).
        where: What it was given to (``"SegmentTierSummary.to_pandas"``).

    Example:
        >>> check_choice("bogus", ("customers", "revenue"), what="values", where="f")
        Traceback (most recent call last):
        ...
        keyaccount.exceptions.ValidationError: f: unknown values 'bogus'; expected one of \
'customers', 'revenue'
    """
    if isinstance(value, str) and value in allowed:
        return value
    choices = ", ".join(repr(a) for a in allowed)
    raise ValidationError(f"{where}: unknown {what} {shorten(value)}; expected one of {choices}")


@attrs.frozen(eq=False)
class Column:
    """One column of a result table (money gives two frame columns).

    Attributes:
        name: The column's name (a money column's two are ``<name>_fen`` and ``<name>``).
        kind: How the values are typed (see the module's table).
        values: The values: fen, period ordinals, category codes (``-1``:
            absent), counts, ratios, flags, or an ``object`` array of text.
        absent: ``True`` where a value is absent (``None``: none is).
        categories: The labels of the codes of a category column.
        ordered: Whether the categories are ordered.
        nullable: Whether the column may hold absent values (pandas then uses
            its nullable ``Int64`` and ``Float64`` types, even when none is absent).
    """

    name: str
    kind: Kind
    values: npt.NDArray[Any]
    absent: npt.NDArray[np.bool_] | None = None
    categories: tuple[str, ...] = ()
    ordered: bool = False
    nullable: bool = False

    def __repr__(self) -> str:
        size = f"{number(len(self.values))} values"
        return short_repr("Column", size, name=self.name, kind=self.kind)


def _mask(absent: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_] | None:
    if absent is None:
        return None
    mask = np.asarray(absent, dtype=np.bool_)
    return mask if mask.any() else None


def _nullable(
    name: str, kind: Kind, values: npt.NDArray[Any], absent: npt.ArrayLike | None
) -> Column:
    mask = None if absent is None else _mask(np.asarray(absent, dtype=np.bool_))
    return Column(name, kind, values, mask, nullable=absent is not None)


def money(name: str, fen: npt.ArrayLike, absent: npt.ArrayLike | None = None) -> Column:
    """Money in fen: ``<name>_fen`` and the exact yuan ``<name>``."""
    values = np.asarray(fen, dtype=np.int64)
    return Column(
        name,
        "money",
        values,
        _mask(None if absent is None else np.asarray(absent)),
        nullable=absent is not None,
    )


def period(name: str, ordinals: npt.ArrayLike, absent: npt.ArrayLike | None = None) -> Column:
    """Months given as :attr:`~keyaccount.Period.ordinal` values."""
    values = np.asarray(ordinals, dtype=np.int64)
    return Column(
        name,
        "period",
        values,
        _mask(None if absent is None else np.asarray(absent)),
        nullable=absent is not None,
    )


def labels(
    name: str, codes: npt.ArrayLike, categories: Sequence[str], *, ordered: bool = True
) -> Column:
    """A category column: ``codes`` index ``categories`` (``-1``: absent)."""
    values = np.asarray(codes, dtype=np.int64)
    return Column(name, "category", values, None, tuple(categories), ordered)


def tier(name: str, ranks: npt.ArrayLike, lang: str = "en") -> Column:
    """Tiers by rank (``-1`` or below: absent), labelled in ``lang``, ordered lowest first."""
    codes = np.asarray(ranks, dtype=np.int64)
    return labels(name, np.where(codes < 0, NO_CODE, codes), [t.label(lang) for t in TIERS])


def segment(name: str, codes: npt.ArrayLike, lang: str = "en") -> Column:
    """Segments by code (``-1`` or below: unassigned), labelled in ``lang``, in domain order."""
    values = np.asarray(codes, dtype=np.int64)
    return labels(name, np.where(values < 0, NO_CODE, values), [s.label(lang) for s in SEGMENTS])


def key(name: str, codes: npt.ArrayLike, categories: Sequence[str]) -> Column:
    """Ids repeated over many rows (customer ids of a long table), as an unordered category."""
    return labels(name, codes, categories, ordered=False)


def text(name: str, values: Sequence[object] | npt.NDArray[Any] | pa.ChunkedArray) -> Column:
    """Text (``None`` where absent); a pyarrow string array is kept as it is."""
    if type(values).__module__.startswith("pyarrow"):  # a column made by Arrow: no copy
        return Column(name, "text", values)  # type: ignore[arg-type]
    array = np.empty(len(values), dtype=object)
    array[:] = list(values) if not isinstance(values, np.ndarray) else values
    return Column(name, "text", array)


def integer(name: str, values: npt.ArrayLike, absent: npt.ArrayLike | None = None) -> Column:
    """Whole numbers (counts, ranks)."""
    array = np.asarray(values, dtype=np.int64)
    return Column(
        name,
        "integer",
        array,
        _mask(None if absent is None else np.asarray(absent)),
        nullable=absent is not None,
    )


def ratio(name: str, values: npt.ArrayLike, absent: npt.ArrayLike | None = None) -> Column:
    """float64 values (ratios, scores)."""
    array = np.asarray(values, dtype=np.float64)
    return Column(
        name,
        "ratio",
        array,
        _mask(None if absent is None else np.asarray(absent)),
        nullable=absent is not None,
    )


def flag(name: str, values: npt.ArrayLike) -> Column:
    """True or false."""
    return Column(name, "flag", np.asarray(values, dtype=np.bool_))


# ---------------------------------------------------------------- building


def _month_days(ordinals: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Days since 1970-01-01 of the first day of each month ordinal."""
    months = (ordinals - UNIX_MONTH).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64).astype(np.int32)


def _decimal_arrow(
    pa: Any, fen: npt.NDArray[np.int64], absent: npt.NDArray[np.bool_] | None
) -> Any:
    """Fen as an Arrow ``decimal128(20, 2)`` array of yuan, built from the fen buffer."""
    n = fen.shape[0]
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63  # the two's complement high word: the unscaled value is the fen
    validity = None
    if absent is not None:
        validity = pa.array(~absent, type=pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(
        pa.decimal128(*YUAN_DECIMAL),
        n,
        [validity, pa.py_buffer(words)],
        null_count=-1 if absent is not None else 0,
    )


@attrs.frozen(eq=False)
class Frame:
    """Typed columns of one result, ready to become a pandas, Arrow or polars frame.

    Attributes:
        columns: The columns in order.
        metadata: Text facts about the table (``as_of``): ``DataFrame.attrs`` in
            pandas, the schema's metadata in Arrow.
    """

    columns: tuple[Column, ...]
    metadata: Mapping[str, str] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        rows = len(self.columns[0].values) if self.columns else 0
        size = f"{number(rows)} rows", f"{len(self.columns)} columns"
        names = ", ".join(c.name for c in self.columns)[:300]
        return short_repr("Frame", *size, names, **dict(list(self.metadata.items())[:5]))

    def to_pandas(self) -> pd.DataFrame:
        """The columns as a pandas ``DataFrame`` (needs the ``pandas`` extra).

        The yuan columns are ``pd.ArrowDtype(pa.decimal128(20, 2))`` when pyarrow
        is installed, else ``object`` columns of ``Decimal``.
        """
        pandas: Any = require("pandas")
        pa = importlib.import_module("pyarrow") if _has("pyarrow") else None
        data: dict[str, Any] = {}
        for col in self.columns:
            data.update(_pandas_columns(pandas, pa, col))
        n = len(self.columns[0].values) if self.columns else 0
        frame: pd.DataFrame = pandas.DataFrame(data, index=pandas.RangeIndex(n))
        frame.attrs.update(self.metadata)
        return frame

    def to_arrow(self) -> pa.Table:
        """The columns as a ``pyarrow.Table`` (needs the ``arrow`` extra)."""
        pa = require("pyarrow")
        arrays: list[Any] = []
        names: list[str] = []
        for col in self.columns:
            for name, array in _arrow_columns(pa, col):
                names.append(name)
                arrays.append(array)
        table = pa.table(arrays, names=names) if arrays else pa.table({})
        if self.metadata:
            table = table.replace_schema_metadata(dict(self.metadata))
        return table

    def to_polars(self) -> pl.DataFrame:
        """The columns as a ``polars.DataFrame``, made from the Arrow table (``polars`` extra)."""
        polars = require("polars")
        frame: pl.DataFrame = polars.from_arrow(self.to_arrow())
        return frame


def _pandas_columns(pd: Any, pa: Any, col: Column) -> dict[str, Any]:
    values, absent = col.values, col.absent
    if col.kind == "money":
        fen = pd.array(values, dtype="Int64") if col.nullable else values
        if absent is not None:
            fen[absent] = pd.NA
        if pa is not None:
            yuan = pd.arrays.ArrowExtensionArray(_decimal_arrow(pa, values, absent))
        else:
            yuan = np.empty(values.shape[0], dtype=object)
            yuan[:] = [fen_to_yuan(v) for v in values.tolist()]
            if absent is not None:
                yuan[absent] = None
        return {f"{col.name}_fen": fen, col.name: yuan}
    if col.kind == "period":
        ordinals = values - UNIX_MONTH
        if absent is not None:
            ordinals = np.where(absent, np.iinfo(np.int64).min, ordinals)
        return {col.name: pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype("M"))}
    if col.kind == "category":
        return {
            col.name: pd.Categorical.from_codes(
                values, categories=list(col.categories), ordered=col.ordered
            )
        }
    if col.kind == "text":
        texts: Any = values
        if not isinstance(texts, np.ndarray):  # an Arrow column: pandas' str, no copy
            return {col.name: pd.array(texts, dtype=_arrow_str(pd))}
        return {col.name: pd.Series(texts, dtype=object).array}
    if col.kind in ("integer", "ratio"):
        if not col.nullable:
            return {col.name: values}
        array = pd.array(values, dtype="Int64" if col.kind == "integer" else "Float64")
        if absent is not None:
            array[absent] = pd.NA
        return {col.name: array}
    return {col.name: values}


def _arrow_str(pd: Any) -> Any:
    """The string dtype of pandas on Arrow, ``NaN`` for missing (``str`` in pandas 3)."""
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:  # pandas before 2.3 names it by its storage
        return pd.StringDtype("pyarrow_numpy")


def _arrow_columns(pa: Any, col: Column) -> list[tuple[str, Any]]:
    values, absent = col.values, col.absent
    if col.kind == "money":
        return [
            (f"{col.name}_fen", pa.array(values, type=pa.int64(), mask=absent)),
            (col.name, _decimal_arrow(pa, values, absent)),
        ]
    if col.kind == "period":
        days = pa.array(_month_days(values), type=pa.int32(), mask=absent)
        return [(col.name, days.view(pa.date32()))]
    if col.kind == "category":
        size = len(col.categories)
        index_type = pa.int8() if size < 2**7 else pa.int32()
        indices = pa.array(values, type=index_type, mask=values < 0)
        dictionary = pa.array(list(col.categories), type=pa.string())
        return [
            (col.name, pa.DictionaryArray.from_arrays(indices, dictionary, ordered=col.ordered))
        ]
    if col.kind == "text":
        texts: Any = values
        if not isinstance(texts, np.ndarray):  # already Arrow
            return [(col.name, texts)]
        return [(col.name, pa.array(values, type=pa.string(), from_pandas=False))]
    if col.kind == "integer":
        return [(col.name, pa.array(values, type=pa.int64(), mask=absent))]
    if col.kind == "ratio":
        return [(col.name, pa.array(values, type=pa.float64(), mask=absent))]
    return [(col.name, pa.array(values, type=pa.bool_()))]


def customers_frame(cols: CustomerColumns, lang: str = "en") -> Frame:
    """The customers' columns as a :class:`Frame` (``Portfolio.to_frames``' customers).

    Tier, segment and sub-segment by name (``lang="en"``) or Chinese label, parents by
    id, months as periods (``tier_since`` absent where it defaults to ``first_period``).
    """
    has_parent = cols.parent != NO_CODE
    parent_id = np.full(len(cols), None, dtype=object)
    parent_id[has_parent] = cols.id[cols.parent[has_parent]]
    since = cols.tier_since.astype(np.int64)
    return Frame(
        (
            text("customer_id", cols.id),
            text("name", cols.name),
            segment("segment", cols.segment, lang),
            labels("sub_segment", cols.sub_segment, [s.label(lang) for s in SUB_SEGMENTS]),
            tier("tier", cols.tier, lang),
            text("parent_id", parent_id),
            text("province", cols.province),
            period("first_period", cols.first_period),
            period("tier_since", np.where(since == NO_CODE, 0, since), since == NO_CODE),
        )
    )
