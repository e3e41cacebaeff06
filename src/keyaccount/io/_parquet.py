"""A whole :class:`~keyaccount.Portfolio` as a directory of Parquet files, through pyarrow.

The layout (``docs/import-export.md``, "Parquet"), one directory::

    customers.parquet                  one row per customer
    products.parquet                   the product catalogue
    revenue/period=YYYY-MM/part-0.parquet   the revenue of one month (hive-style)
    groups.parquet                     project groups, their members and customers
    changes.parquet                    tier and segment changes (when given)

Every file carries the schema-level keys :data:`FORMAT_KEY` (``keyaccount.portfolio``),
:data:`VERSION_KEY` (``1``) and :data:`TABLE_KEY` (which table it holds); every
column carries its meaning (``description``) and unit (``unit``) in the field
metadata. Money is ``int64`` fen. A reader refuses a file without the keys, of
another table or of a newer version, naming the file.

The revenue files name each customer by ``customer_key`` (its row in
``customers.parquet``, which holds the same key as a column) and by
``customer_id`` (for engines that read the revenue on its own). This library's
reader follows the key: checked against the customers once, with array
operations, instead of matching the id strings of every month file again.

Reading checks the customers as :meth:`~keyaccount.Portfolio.from_arrow` does
and the revenue with array operations, with the CSV readers' reasons; a bad
row is a :class:`~keyaccount.exceptions.FrameRowError` naming the file, the row
in that file (from 0), the column, the value and the reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

import keyaccount.portfolio.frames as fr
from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    MAX_AMOUNT_FEN,
    SEGMENTS,
    Member,
    Period,
    Product,
    ProductCatalog,
    ProjectGroup,
    Segment,
    SegmentChange,
    Tier,
    TierChange,
)
from keyaccount.exceptions import (
    CsvFileNotFoundError,
    CsvImportError,
    FrameRowError,
    KeyAccountError,
    OutputError,
    ValidationError,
)
from keyaccount.portfolio import CustomerColumns, Portfolio, RevenueColumns
from keyaccount.portfolio.fields import (
    EMPTY,
    MAX_FEN_DIGITS,
    MAX_VOLUME_DIGITS,
    FieldError,
    check_utf8,
    period_ordinal,
)
from keyaccount.portfolio.frames import UNIX_MONTH, require

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Protocol

    import numpy.typing as npt
    import pyarrow as pa

    from keyaccount.domain import ExplanationValue

    class _Kept(Protocol):
        """A change with its time and number (:class:`ChangeRecord`, ``RecordedChange``)."""

        @property
        def change(self) -> TierChange | SegmentChange: ...
        @property
        def recorded_at(self) -> dt.datetime | None: ...
        @property
        def sequence(self) -> int | None: ...


__all__ = [
    "CHANGES_FILE",
    "CUSTOMERS_FILE",
    "FORMAT_KEY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GROUPS_FILE",
    "PRODUCTS_FILE",
    "REVENUE_DIRECTORY",
    "TABLE_KEY",
    "VERSION_KEY",
    "ChangeRecord",
    "read_change_records_parquet",
    "read_changes_parquet",
    "read_portfolio_parquet",
    "write_portfolio_parquet",
]

FORMAT_KEY = "keyaccount.format"
"""Schema metadata key naming the layout; its value is :data:`FORMAT_NAME`."""
FORMAT_NAME = "keyaccount.portfolio"
"""The layout's name."""
VERSION_KEY = "keyaccount.version"
"""Schema metadata key holding the layout's version, a whole number as text."""
FORMAT_VERSION = 1
"""The version this library writes, and the newest it reads."""
TABLE_KEY = "keyaccount.table"
"""Schema metadata key naming the table of a file (``customers``, ``revenue``, ...)."""

CUSTOMERS_FILE = "customers.parquet"
PRODUCTS_FILE = "products.parquet"
REVENUE_DIRECTORY = "revenue"
GROUPS_FILE = "groups.parquet"
CHANGES_FILE = "changes.parquet"
_PART = "part-0.parquet"

_DICTIONARY_PAGE = 256 * 2**20
"""Dictionary pages up to this size: a month's customer ids stay dictionary-encoded."""
_LISTED = 1000
"""Bad rows listed in one error (all are counted)."""

# Column name -> (kind, unit, meaning). Kinds: text (string or dictionary of strings),
# int64, month (date32, the first day), bool, and the nested kinds of groups and changes.
_CUSTOMERS: dict[str, tuple[str, str, str]] = {
    "customer_key": ("int32", "row", "the customer's key: its row in this file, from 0"),
    "customer_id": ("text", "id", "the customer's id, unique in the file"),
    "name": ("text", "text", "the customer's name"),
    "segment": ("text", "Segment name", "industry segment; null: not assigned"),
    "sub_segment": ("text", "SubSegment name", "sub-segment of the segment; null: none"),
    "tier": ("text", "Tier name", "DORMANT, ACTIVE, KEY or STRATEGIC"),
    "parent_id": ("text", "id", "the parent account's customer_id; null: top-level"),
    "province": ("text", "text", "province; null: unknown"),
    "first_period": ("month", "month", "first month as a customer (the 1st of the month)"),
    "tier_since": ("month", "month", "month the tier took effect; null: first_period"),
}
_REVENUE: dict[str, tuple[str, str, str]] = {
    "customer_key": ("int32", "row", "the customer: customer_key (row) of customers.parquet"),
    "customer_id": ("text", "id", "the customer's id (customers.parquet customer_id)"),
    "product_id": ("text", "id", "the product (products.parquet product_id)"),
    "revenue_fen": ("int64", "fen (0.01 yuan)", "revenue of the month; refunds negative"),
    "volume": ("int64", "parcels", "parcels of the month, >= 0"),
}
_PERIOD = ("text", "month YYYY-MM", "the month of the revenue (hive partition key)")
_PRODUCTS: dict[str, tuple[str, str, str]] = {
    "product_id": ("text", "id", "the product's id (lower snake case)"),
    "name_en": ("text", "text", "English name"),
    "name_zh": ("text", "text", "Chinese name"),
    "segments": ("list<text>", "Segment names", "segments it mainly serves; empty: all"),
}
_GROUPS: dict[str, tuple[str, str, str]] = {
    "group_id": ("text", "id", "the project group's id"),
    "name_en": ("text", "text", "English name"),
    "name_zh": ("text", "text", "Chinese name"),
    "segment": ("text", "Segment name", "the segment it widens into; null: none"),
    "international": ("bool", "flag", "one of the international groups"),
    "members": ("members", "name, Role name, flag", "members: name, role, full_time"),
    "customer_ids": ("list<text>", "ids", "the customers it owns"),
}
_CHANGES: dict[str, tuple[str, str, str]] = {
    "kind": ("text", "tier | segment", "which value moved"),
    "customer_id": ("text", "id", "the customer"),
    "period": ("month", "month", "month the change takes effect (the 1st of the month)"),
    "before": ("text", "Tier or Segment name", "value before; null: no segment"),
    "after": ("text", "Tier or Segment name", "value after; null: no segment"),
    "rule": ("text", "text", "the rule that decided it; null: a manual change"),
    "actor": ("text", "text", "the person that made it; null: a rule"),
    "reason": ("text", "text", "free text"),
    "explanation": (
        "explanation",
        "name, kind, value as text",
        "the deciding values in order; kind decimal, int, float, text or null",
    ),
}
_CHANGES_OPTIONAL: dict[str, tuple[str, str, str]] = {
    "recorded_at": ("timestamp", "UTC time", "when the store recorded it; null: not kept"),
    "sequence": ("int64", "number", "its number in the store, rising in file order; null: none"),
}
_TABLES = {
    "customers": _CUSTOMERS,
    "revenue": _REVENUE,
    "products": _PRODUCTS,
    "groups": _GROUPS,
    "changes": _CHANGES,
}
_OPTIONAL: dict[str, dict[str, tuple[str, str, str]]] = {"changes": _CHANGES_OPTIONAL}
"""Columns a file of the table may have (written when there is something to keep)."""


@attrs.frozen
class ChangeRecord:
    """A change kept in ``changes.parquet``, with when a store recorded it and its number.

    ``Store.save(portfolio, history=records)`` records such changes as they
    were; ``write_portfolio_parquet(..., changes=store.changes())`` writes them.

    Attributes:
        change: The :class:`~keyaccount.domain.TierChange` or
            :class:`~keyaccount.domain.SegmentChange`.
        recorded_at: When it was recorded (UTC; ``None``: not kept).
        sequence: Its number in the store it came from (``None``: not kept).
    """

    change: TierChange | SegmentChange
    recorded_at: dt.datetime | None = None
    sequence: int | None = None


def _pa() -> Any:
    return require("pyarrow")


# ---------------------------------------------------------------- schemas


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind == "text":
        return pa.string()
    if kind == "int64":
        return pa.int64()
    if kind == "int32":
        return pa.int32()
    if kind == "month":
        return pa.date32()
    if kind == "bool":
        return pa.bool_()
    if kind == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if kind == "list<text>":
        return pa.list_(pa.string())
    if kind == "members":
        return pa.list_(
            pa.struct([("name", pa.string()), ("role", pa.string()), ("full_time", pa.bool_())])
        )
    return pa.list_(
        pa.struct([("name", pa.string()), ("kind", pa.string()), ("value", pa.string())])
    )


def _described(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the layout's field metadata and the file-level keys of table ``name``."""
    pa = _pa()
    columns = {**_TABLES[name], **_OPTIONAL.get(name, {})}
    fields = []
    for field in table.schema:
        _kind, unit, meaning = columns[field.name]
        fields.append(field.with_metadata({"description": meaning, "unit": unit}))
    metadata = {FORMAT_KEY: FORMAT_NAME, VERSION_KEY: str(FORMAT_VERSION), TABLE_KEY: name}
    return table.cast(pa.schema(fields, metadata=metadata))


def _matches(pa: Any, kind: str, found: Any) -> bool:
    """Whether an Arrow type ``found`` holds a column of ``kind``."""
    if kind == "text":
        if pa.types.is_dictionary(found):
            found = found.value_type
        return bool(pa.types.is_string(found) or pa.types.is_large_string(found))
    if kind in ("list<text>", "members", "explanation"):
        if not (pa.types.is_list(found) or pa.types.is_large_list(found)):
            return False
        return bool(found.value_type == _arrow_type(pa, kind).value_type) or (
            kind == "list<text>" and _matches(pa, "text", found.value_type)
        )
    return bool(found == _arrow_type(pa, kind))


def _check_schema(path: Path, schema: Any, name: str, *, extra: Sequence[str] = ()) -> None:
    """Refuse a file that is not table ``name`` of this layout, or has a column of a wrong type."""
    pa = _pa()
    meta = {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in (schema.metadata or {}).items()
    }
    if meta.get(FORMAT_KEY) != FORMAT_NAME:
        found = meta.get(FORMAT_KEY)
        raise ValidationError(
            f"{path}: not a keyaccount portfolio file (schema metadata {FORMAT_KEY!r} is "
            f"{found!r}, expected {FORMAT_NAME!r})"
        )
    version = meta.get(VERSION_KEY, "")
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ValidationError(
            f"{path}: layout version {version!r} of {FORMAT_NAME}; this library reads "
            f"version {FORMAT_VERSION} and older"
        )
    if meta.get(TABLE_KEY) != name:
        raise ValidationError(f"{path}: holds the table {meta.get(TABLE_KEY)!r}, expected {name!r}")
    columns = _TABLES[name]
    optional = _OPTIONAL.get(name, {})
    names = list(schema.names)
    missing = [c for c in columns if c not in names]
    unknown = [c for c in names if c not in columns and c not in optional and c not in extra]
    twice = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or twice:
        parts = []
        if missing:
            parts.append(f"missing column {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column {', '.join(unknown)}")
        if twice:
            parts.append(f"column named twice: {', '.join(twice)}")
        raise ValidationError(f"{path}: {'; '.join(parts)}; expected {', '.join(columns)}")
    present = {c: k for c, k in optional.items() if c in names}
    for column, (kind, _unit, _meaning) in {**columns, **present}.items():
        found = schema.field(column).type
        if not _matches(pa, kind, found):
            raise ValidationError(
                f"{path}: column {column} is of type {found}, expected {_arrow_type(pa, kind)}"
            )


# ---------------------------------------------------------------- writing


def write_portfolio_parquet(
    portfolio: Portfolio,
    directory: str | os.PathLike[str],
    *,
    changes: Iterable[TierChange | SegmentChange | _Kept] | None = None,
    overwrite: bool = False,
    compression: str = "snappy",
) -> None:
    """Write a portfolio as a directory of Parquet files, atomically.

    The directory holds ``customers.parquet``, ``products.parquet``,
    ``groups.parquet``, the revenue as ``revenue/period=YYYY-MM/part-0.parquet``
    (hive-style partitions that Spark and ``pyarrow.dataset`` read) and, when
    ``changes`` is given, ``changes.parquet``. A revenue record names its
    customer by ``customer_key`` (the customer's row in ``customers.parquet``)
    and by ``customer_id``. Money is ``int64`` fen; months
    are ``date32`` (the first of the month) and the partition key ``YYYY-MM``.
    Every file has the schema metadata keys :data:`FORMAT_KEY`,
    :data:`VERSION_KEY` and :data:`TABLE_KEY`, and every column its meaning
    and unit. The files are written into a temporary directory beside
    ``directory`` and renamed into place at the end: a failure leaves nothing.
    :func:`read_portfolio_parquet` reads them back to an equal portfolio.

    Args:
        portfolio: The portfolio.
        directory: The directory to create.
        changes: Tier and segment changes to keep with it (its history), in order:
            changes, or :class:`ChangeRecord` / the store's ``RecordedChange``
            values, whose times and numbers are kept too (columns
            ``recorded_at`` and ``sequence``, written when any entry is one).
        overwrite: Replace ``directory`` when it exists; it must then be empty
            or hold a portfolio written by this function.
        compression: Parquet compression codec (``snappy``, ``zstd``, ``none``, ...).

    Raises:
        OutputError: ``directory`` exists and ``overwrite`` is false, or it holds
            something other than a keyaccount portfolio, or it cannot be written.
        ImportError: pyarrow is not installed (the ``arrow`` extra).

    Example:
        >>> import pathlib, tempfile
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> pf = Portfolio([Customer("C1", "某中院", "2022-01", segment="司法")],
        ...                [RevenueRecord("C1", "court_express", "2022-05", "880.50")])
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "pf"
        >>> write_portfolio_parquet(pf, d)
        >>> sorted(p.name for p in (d / "revenue").iterdir())
        ['period=2022-05']
    """
    pa = _pa()
    pq = require("pyarrow.parquet")
    target = Path(directory)
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise OutputError(str(target), f"{target} exists; pass overwrite=True to replace it")
        _check_replaceable(target)
    history: list[ChangeRecord] | None = None
    kept = False  # whether any entry carries a time and number
    if changes is not None:
        history = []
        for n, item in enumerate(changes):
            kept = kept or not isinstance(item, TierChange | SegmentChange)
            history.append(_record(n, item))
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise OutputError(str(target), f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        options = {"compression": compression, "dictionary_pagesize_limit": _DICTIONARY_PAGE}
        customers = _customers_table(portfolio)
        pq.write_table(customers, work / CUSTOMERS_FILE, **options)
        pq.write_table(_products_table(pa, portfolio.products), work / PRODUCTS_FILE, **options)
        pq.write_table(_groups_table(pa, portfolio.project_groups), work / GROUPS_FILE, **options)
        _write_revenue(pa, pq, portfolio, work / REVENUE_DIRECTORY, options)
        if history is not None:
            table = _changes_table(pa, history, kept=kept)
            pq.write_table(table, work / CHANGES_FILE, **options)
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)
        _replace(work, target)
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, KeyAccountError):
            raise OutputError(str(target), f"cannot write {target}: {exc}") from exc
        raise


def _check_replaceable(target: Path) -> None:
    """Refuse to replace anything but a directory that is empty or holds a portfolio."""
    if target.is_dir() and not target.is_symlink():
        entries = list(target.iterdir())
        if not entries:
            return
        pq = require("pyarrow.parquet")
        try:
            meta = pq.read_schema(target / CUSTOMERS_FILE).metadata or {}
        except (OSError, ValueError):
            meta = {}
        if meta.get(FORMAT_KEY.encode()) == FORMAT_NAME.encode():
            return
    raise OutputError(
        str(target),
        f"{target} is not a keyaccount Parquet portfolio; refusing to replace it",
    )


def _replace(work: Path, target: Path) -> None:
    """Rename ``work`` to ``target``, replacing a ``target`` that exists."""
    if not target.exists():
        os.rename(work, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rename(target, old / "portfolio")
    try:
        os.rename(work, target)
    except BaseException:
        os.rename(old / "portfolio", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _write_revenue(
    pa: Any, pq: Any, portfolio: Portfolio, root: Path, options: dict[str, Any]
) -> None:
    """One file per month, ``root/period=YYYY-MM/part-0.parquet``, rows in portfolio order."""
    rev = portfolio.revenue_columns
    root.mkdir()
    if not len(rev):
        return
    period = rev.period
    order = None if bool(np.all(period[1:] >= period[:-1])) else np.argsort(period, kind="stable")
    sorted_period = period if order is None else period[order]
    starts = np.flatnonzero(np.diff(sorted_period)) + 1
    bounds = [0, *starts.tolist(), len(sorted_period)]
    ids = pa.array(portfolio.customer_columns.id, type=pa.string())
    products = pa.array(list(portfolio.products), type=pa.string())
    for lo, hi in itertools.pairwise(bounds):
        take = slice(lo, hi) if order is None else order[lo:hi]
        keys = pa.array(rev.customer[take], type=pa.int32())
        table = pa.table(
            {
                "customer_key": keys,
                "customer_id": pa.DictionaryArray.from_arrays(keys, ids),
                "product_id": pa.DictionaryArray.from_arrays(
                    pa.array(rev.product[take], type=pa.int32()), products
                ),
                "revenue_fen": pa.array(rev.fen[take], type=pa.int64()),
                "volume": pa.array(rev.volume[take], type=pa.int64()),
            }
        )
        month = Period.from_ordinal(int(sorted_period[lo]))
        folder = root / f"period={month}"
        folder.mkdir()
        pq.write_table(
            _described(table, "revenue"), folder / _PART, row_group_size=hi - lo, **options
        )


def _customers_table(portfolio: Portfolio) -> pa.Table:
    """The customers as ``Portfolio.to_arrow`` gives them (labels by name, months as dates)."""
    cols = portfolio.customer_columns
    frame = fr.customers_frame(cols)
    table = frame.to_arrow()
    keys = _pa().array(np.arange(len(cols), dtype=np.int32))
    return _described(table.add_column(0, "customer_key", keys), "customers")


def _products_table(pa: Any, catalog: ProductCatalog) -> pa.Table:
    products = list(catalog.values())
    table = pa.table(
        {
            "product_id": pa.array([p.id for p in products], type=pa.string()),
            "name_en": pa.array([p.name_en for p in products], type=pa.string()),
            "name_zh": pa.array([p.name_zh for p in products], type=pa.string()),
            "segments": pa.array(
                [sorted((s.name for s in p.segments), key=_segment_order) for p in products],
                type=pa.list_(pa.string()),
            ),
        }
    )
    return _described(table, "products")


def _segment_order(name: str) -> int:
    return [s.name for s in SEGMENTS].index(name)


def _groups_table(pa: Any, groups: Sequence[ProjectGroup]) -> pa.Table:
    table = pa.table(
        {
            "group_id": pa.array([g.id for g in groups], type=pa.string()),
            "name_en": pa.array([g.name_en for g in groups], type=pa.string()),
            "name_zh": pa.array([g.name_zh for g in groups], type=pa.string()),
            "segment": pa.array(
                [None if g.segment is None else g.segment.name for g in groups], type=pa.string()
            ),
            "international": pa.array([g.international for g in groups], type=pa.bool_()),
            "members": pa.array(
                [
                    [
                        {"name": m.name, "role": m.role.name, "full_time": m.full_time}
                        for m in g.members
                    ]
                    for g in groups
                ],
                type=_arrow_type(pa, "members"),
            ),
            "customer_ids": pa.array(
                [sorted(g.customer_ids) for g in groups], type=pa.list_(pa.string())
            ),
        }
    )
    return _described(table, "groups")


def _explained(value: ExplanationValue) -> dict[str, str | None]:
    """One cited value as (kind, text) that reads back to an equal value."""
    if value is None:
        return {"kind": "null", "value": None}
    if isinstance(value, Decimal):
        return {"kind": "decimal", "value": str(value)}
    if isinstance(value, bool):
        return {"kind": "int", "value": str(int(value))}
    if isinstance(value, int):
        return {"kind": "int", "value": str(value)}
    if isinstance(value, float):
        return {"kind": "float", "value": repr(value)}
    return {"kind": "text", "value": str(value)}


def _record(n: int, item: TierChange | SegmentChange | _Kept) -> ChangeRecord:
    """One entry of ``changes`` as a :class:`ChangeRecord` (times as UTC)."""
    if isinstance(item, TierChange | SegmentChange):
        return ChangeRecord(item)
    change = getattr(item, "change", None)
    if not isinstance(change, TierChange | SegmentChange):
        raise ValidationError(
            f"changes[{n}]: expected a TierChange, a SegmentChange or a recorded change, "
            f"got {type(item).__name__}"
        )
    at = item.recorded_at
    if at is not None:
        at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return ChangeRecord(change, at, item.sequence)


def _changes_table(pa: Any, records: Sequence[ChangeRecord], *, kept: bool) -> pa.Table:
    def name(value: Any) -> str | None:
        return None if value is None else str(value.name)

    changes = [r.change for r in records]
    optional = {}
    if kept:
        optional = {
            "recorded_at": pa.array(
                [r.recorded_at for r in records], type=_arrow_type(pa, "timestamp")
            ),
            "sequence": pa.array([r.sequence for r in records], type=pa.int64()),
        }
    table = pa.table(
        {
            "kind": pa.array(
                ["tier" if isinstance(c, TierChange) else "segment" for c in changes],
                type=pa.string(),
            ),
            "customer_id": pa.array([c.customer_id for c in changes], type=pa.string()),
            "period": pa.array(
                np.array([c.period.ordinal - UNIX_MONTH for c in changes], dtype="datetime64[M]")
                .astype("datetime64[D]")
                .astype(np.int32),
                type=pa.int32(),
            ).cast(pa.date32()),
            "before": pa.array([name(c.before) for c in changes], type=pa.string()),
            "after": pa.array([name(c.after) for c in changes], type=pa.string()),
            "rule": pa.array([c.rule for c in changes], type=pa.string()),
            "actor": pa.array([c.actor for c in changes], type=pa.string()),
            "reason": pa.array([c.reason for c in changes], type=pa.string()),
            "explanation": pa.array(
                [[{"name": k, **_explained(v)} for k, v in c.explanation] for c in changes],
                type=_arrow_type(pa, "explanation"),
            ),
            **optional,
        }
    )
    return _described(table, "changes")


# ---------------------------------------------------------------- reading


def _file(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise CsvFileNotFoundError(str(path), "Parquet file")
    return path


def _read_table(path: Path, name: str) -> pa.Table:
    """The whole table of ``path`` after its layout was checked."""
    pq = require("pyarrow.parquet")
    try:
        handle = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path}: not a readable Parquet file ({exc})") from exc
    with handle:
        _check_schema(path, handle.schema_arrow, name)
        return handle.read()


def _month_bound(value: Period | str | None) -> Period | None:
    return None if value is None else Period.parse(value)


def read_portfolio_parquet(
    directory: str | os.PathLike[str],
    *,
    start: Period | str | None = None,
    end: Period | str | None = None,
    catalog: ProductCatalog | None = None,
) -> Portfolio:
    """Read a portfolio written by :func:`write_portfolio_parquet`.

    The customers pass the checks of :meth:`~keyaccount.Portfolio.from_arrow`
    (those of the CSV readers, with the same reasons). The revenue is read by
    its ``customer_key`` (the customer's row in ``customers.parquet``) and
    checked with array operations as the CSV readers check it: keys in range,
    known products, amounts and volumes within the limits, no month before
    its customer's ``first_period``; the ``customer_id`` text of the revenue
    files is for other engines and is not read. The project groups must own
    known customers, each customer at most one group. With ``start`` or
    ``end`` only the revenue of those months is read: the other month
    partitions are never opened. The tier and segment changes are read by
    :func:`read_changes_parquet`.

    Args:
        directory: The directory.
        start: First month of revenue to read (default: the first there is).
        end: Last month of revenue to read (default: the last there is).
        catalog: The product catalogue (default: the directory's
            ``products.parquet``).

    Returns:
        The portfolio.

    Raises:
        CsvFileNotFoundError: ``directory`` lacks one of the files.
        ValidationError: a file that is not a keyaccount portfolio file, of a
            newer layout version, or with a missing, unknown or mistyped column;
            a revenue directory not named ``period=YYYY-MM``.
        CsvImportError: every bad row of the first file that has one (for the
            revenue: of all month files), each a
            :class:`~keyaccount.exceptions.FrameRowError` naming the file, the
            row in it (from 0), the column, the value and the reason. Nothing
            is built.
        PrecisionError: a customer-month beyond the limits (``docs/limits.md``).
        ImportError: pyarrow is not installed (the ``arrow`` extra).
    """
    pa = _pa()
    root = Path(directory)
    if not root.is_dir():
        raise CsvFileNotFoundError(str(root), "Parquet portfolio directory")
    first, last = _month_bound(start), _month_bound(end)
    customers_path = _file(root, CUSTOMERS_FILE)
    products = catalog if catalog is not None else _read_products(_file(root, PRODUCTS_FILE))
    customers = _read_customers(customers_path)
    groups_path = _file(root, GROUPS_FILE)
    groups = _read_table(groups_path, "groups")
    held = Portfolio.from_frames(
        customers.drop_columns(["customer_key"]),
        None,
        catalog=products,
        customers_source=str(customers_path),
    ).customer_columns
    revenue = _read_revenue(pa, root / REVENUE_DIRECTORY, first, last, held, products)
    portfolio = Portfolio.from_checked_columns(held, revenue, products=products, unique_ids=True)
    found, owner = _project_groups(groups_path, groups, customers.column("customer_id"))
    if found:
        portfolio.add_owned_project_groups(found, owner)
    return portfolio


def _read_customers(path: Path) -> pa.Table:
    """``customers.parquet``, its ``customer_key`` checked to be each row's position."""
    pc = require("pyarrow.compute")
    table = _read_table(path, "customers")
    column = table.column("customer_key")
    keys = (pc.fill_null(column, -1) if column.null_count else column).to_numpy()
    bad = np.flatnonzero(keys != np.arange(len(keys), dtype=keys.dtype))
    if bad.shape[0]:
        problems = [
            _problem(
                path,
                row,
                "customer_key",
                None if keys[row] < 0 else int(keys[row]),
                f"customer_key must be the row's position in the file (from 0): {row}",
            )
            for row in bad[:1000].tolist()
        ]
        raise CsvImportError(str(path), problems, int(bad.shape[0]))
    return table


_REVENUE_READ = ("customer_key", "product_id", "revenue_fen", "volume")
"""The revenue columns this library reads (``customer_id`` is for other engines)."""


def _month_files(root: Path, first: Period | None, last: Period | None) -> list[tuple[int, Path]]:
    """The month ordinal and path of every revenue file in the months asked for, in order."""
    if not root.is_dir():
        raise CsvFileNotFoundError(str(root), "revenue directory")
    found: list[tuple[int, Path]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        key, _, month = folder.name.partition("=")
        try:
            if key != "period":
                raise FieldError("expected a directory named period=YYYY-MM")
            ordinal = period_ordinal(month)
        except FieldError as exc:
            raise ValidationError(f"{folder}: not a month partition: {exc}") from None
        if (first is None or ordinal >= first.ordinal) and (
            last is None or ordinal <= last.ordinal
        ):
            found.extend((ordinal, f) for f in sorted(folder.glob("*.parquet")))
    return found


class _BadRows:
    """The bad rows of one revenue file: the first bad column of each row, in column order."""

    def __init__(self, path: Path, rows: int) -> None:
        self.path = path
        self.bad = np.zeros(rows, dtype=np.bool_)
        self.found: list[FrameRowError] = []
        self.total = 0

    def add(
        self,
        mask: npt.NDArray[np.bool_],
        column: str,
        value: Callable[[int], object],
        reason: str | Sequence[str],
    ) -> None:
        """Report the rows of ``mask`` not reported before (``reason``: one, or one per row)."""
        rows = np.flatnonzero(mask & ~self.bad)
        if not rows.shape[0]:
            return
        self.bad[rows] = True
        self.total += int(rows.shape[0])
        room = max(0, _LISTED - len(self.found))
        for k, row in enumerate(rows[:room].tolist()):
            why = reason if isinstance(reason, str) else reason[k]
            self.found.append(_problem(self.path, row, column, value(row), why))


def _read_revenue(
    pa: Any,
    root: Path,
    first: Period | None,
    last: Period | None,
    customers: CustomerColumns,
    products: ProductCatalog,
) -> RevenueColumns:
    """The revenue of the months asked for as checked columns, read by ``customer_key``."""
    pq = require("pyarrow.parquet")
    files = _month_files(root, first, last)
    handles = []
    for _month, path in files:
        try:
            handle = pq.ParquetFile(path, read_dictionary=["product_id"])
        except (OSError, ValueError) as exc:
            raise ValidationError(f"{path}: not a readable Parquet file ({exc})") from exc
        _check_schema(path, handle.schema_arrow, "revenue")
        handles.append(handle)
    sizes = [h.metadata.num_rows for h in handles]
    total = sum(sizes)
    customer = np.empty(total, dtype=np.int32)
    product = np.empty(total, dtype=np.int32)
    period = np.empty(total, dtype=np.int32)
    fen = np.empty(total, dtype=np.int64)
    volume = np.empty(total, dtype=np.int64)
    found: list[FrameRowError] = []
    bad_rows = 0
    at = 0
    lookup = _ProductLookup(products)
    for (month, path), handle, size in zip(files, handles, sizes, strict=True):
        with handle:
            table = handle.read(columns=list(_REVENUE_READ))
        span = slice(at, at + size)
        period[span] = month
        bad = _BadRows(path, size)
        _check_month(
            pa,
            table,
            month,
            customers,
            lookup,
            bad,
            customer[span],
            product[span],
            fen[span],
            volume[span],
        )
        if bad.total:
            bad_rows += bad.total
            found.extend(bad.found[: max(0, _LISTED - len(found))])
        at += size
    if bad_rows:
        raise CsvImportError(str(root), found, bad_rows)
    return RevenueColumns(customer, product, period, fen, volume)


class _ProductLookup:
    """Catalogue positions of product ids as the CSV readers find them (empty: the default)."""

    def __init__(self, catalog: ProductCatalog) -> None:
        self.positions = {pid: i for i, pid in enumerate(catalog)}
        self.default = self.positions.get(DEFAULT_PRODUCT_ID)

    def code(self, value: str | None) -> tuple[int, str]:
        """The position of ``value`` (``-1`` and the reason when there is none)."""
        if value is None or value == "":
            if self.default is None:
                return -1, f"no product given and the catalogue has no {DEFAULT_PRODUCT_ID}"
            return self.default, ""
        try:
            check_utf8(value)
        except FieldError as exc:
            return -1, str(exc)
        at = self.positions.get(value)
        return (-1, f"unknown product {value!r}") if at is None else (at, "")


def _constant(value: object) -> Callable[[int], object]:
    """A function of the row giving ``value`` for every row."""
    return lambda _row: value


def _numbers(pa: Any, column: Any, fill: int) -> tuple[Any, Any]:
    """A chunked integer column as numpy (nulls as ``fill``) and its null mask (or ``None``)."""
    pc = require("pyarrow.compute")
    if not column.null_count:
        return column.to_numpy(), None
    null = np.asarray(column.is_null().to_numpy(), dtype=np.bool_)
    return pc.fill_null(column, fill).to_numpy(), null


def _check_month(
    pa: Any,
    table: Any,
    month: int,
    customers: CustomerColumns,
    lookup: _ProductLookup,
    bad: _BadRows,
    customer: Any,
    product: Any,
    fen: Any,
    volume: Any,
) -> None:
    """Check one month file with array operations, filling the portfolio's arrays."""
    n_customers = len(customers)
    keys, null = _numbers(pa, table.column("customer_key"), -1)
    customer[:] = keys
    if null is not None:
        bad.add(null, "customer_key", lambda r: None, EMPTY)
    if len(keys) and (int(keys.min()) < 0 or int(keys.max()) >= n_customers):
        outside = (customer < 0) | (customer >= n_customers)
        bad.add(
            outside,
            "customer_key",
            lambda r: int(customer[r]),
            f"unknown customer: customer_key not in 0..{n_customers - 1}, "
            f"the rows of {CUSTOMERS_FILE}",
        )
        customer[outside] = 0
    at = 0
    for chunk in table.column("product_id").chunks:
        span = slice(at, at + len(chunk))
        at += len(chunk)
        words = chunk.dictionary.to_pylist()
        coded = [lookup.code(w) for w in words] + [lookup.code(None)]
        codes = np.array([c for c, _ in coded], dtype=np.int32)
        indices = chunk.indices
        index = (
            (indices.fill_null(len(words)) if indices.null_count else indices)
            .to_numpy()
            .astype(np.intp, copy=False)
        )
        product[span] = codes[index]
        if (codes < 0).any():
            wrong = np.zeros(len(customer), dtype=np.bool_)
            for k in np.flatnonzero(codes < 0).tolist():
                wrong[span] = index == k
                word = None if k == len(words) else words[k]
                bad.add(wrong, "product_id", _constant(word), coded[k][1])
                wrong[span] = False
            product[span][product[span] < 0] = 0
    amounts, null = _numbers(pa, table.column("revenue_fen"), 0)
    fen[:] = amounts
    if null is not None:
        bad.add(null, "revenue_fen", lambda r: None, EMPTY)
    if len(fen) and (int(fen.min()) < -MAX_AMOUNT_FEN or int(fen.max()) > MAX_AMOUNT_FEN):
        bad.add(
            (fen > MAX_AMOUNT_FEN) | (fen < -MAX_AMOUNT_FEN),
            "revenue_fen",
            lambda r: int(fen[r]),
            f"too large; at most {MAX_FEN_DIGITS} digits before the decimal point of yuan",
        )
    parcels, _null = _numbers(pa, table.column("volume"), 0)  # empty: no parcels
    volume[:] = parcels
    if len(volume) and (int(volume.min()) < 0 or int(volume.max()) >= 10**MAX_VOLUME_DIGITS):
        bad.add(
            volume < 0,
            "volume",
            lambda r: int(volume[r]),
            "negative volume; volume is a whole number of parcels >= 0",
        )
        bad.add(
            volume >= 10**MAX_VOLUME_DIGITS,
            "volume",
            lambda r: int(volume[r]),
            f"volume too large; at most {MAX_VOLUME_DIGITS} digits",
        )
    firsts = customers.first_period
    if n_customers and len(customer) and month < int(firsts.max()):
        starts = firsts[customer]
        ids = customers.id
        text = str(Period.from_ordinal(month))
        early = (starts > month) & ~bad.bad
        rows = np.flatnonzero(early)
        reasons = [
            f"before customer {ids[customer[r]]!r}'s first_period "
            f"{Period.from_ordinal(int(starts[r]))}"
            for r in rows[:_LISTED].tolist()
        ]
        bad.add(early, "period", lambda r: text, reasons)


def _problem(path: Path, row: int, column: str, value: object, reason: str) -> FrameRowError:
    return FrameRowError(str(path), row, column, "" if value is None else str(value), reason)


def _read_products(path: Path) -> ProductCatalog:
    table = _read_table(path, "products")
    problems: list[FrameRowError] = []
    products: list[Product] = []
    for row, item in enumerate(table.to_pylist()):
        try:
            products.append(
                Product(
                    item["product_id"], item["name_en"], item["name_zh"], item["segments"] or ()
                )
            )
        except (KeyAccountError, TypeError) as exc:
            problems.append(_problem(path, row, "product_id", item["product_id"], str(exc)))
    if problems:
        raise CsvImportError(str(path), problems)
    return ProductCatalog(tuple(products))


def _project_groups(
    path: Path, table: pa.Table, ids: Any
) -> tuple[list[ProjectGroup], npt.NDArray[np.int64]]:
    """The groups of ``table`` and the group owning each customer (``-1``: none).

    ``ids`` are the customers' ids (Arrow text, in portfolio order). A group
    may own known customers only, each customer at most one group. The groups
    are made without their customer ids (``Portfolio.add_owned_project_groups``
    gives them from the owners).
    """
    pa = _pa()
    pc = require("pyarrow.compute")
    problems: list[FrameRowError] = []
    groups: list[ProjectGroup] = []
    owned = table.column("customer_ids").combine_chunks()
    offsets = np.asarray(owned.offsets.to_numpy(), dtype=np.int64)
    values = owned.values
    rows_of = np.repeat(np.arange(len(owned), dtype=np.int64), np.diff(offsets))
    plain = pa.chunked_array(ids.chunks, type=ids.type).cast(pa.large_string()).combine_chunks()
    where = pc.index_in(values.cast(pa.large_string()), value_set=plain)
    position = np.asarray(pc.fill_null(where, -1).to_numpy(), dtype=np.int64)
    empty = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    seen: dict[str, int] = {}
    names: list[object] = []  # each row's group id, for messages
    for row, item in enumerate(table.drop_columns(["customer_ids"]).to_pylist()):
        column = "members"
        names.append(item["group_id"])
        try:
            members = [
                Member(m["name"], m["role"], full_time=m["full_time"])
                for m in item["members"] or ()
            ]
            column = "segment"
            segment = _optional_segment(item["segment"])
            column = "customer_ids"
            if empty[offsets[row] : offsets[row + 1]].any():
                raise ValidationError("a customer id is empty")
            column = "group_id"
            if item["group_id"] in seen:
                raise ValidationError(f"duplicate group id, first at row {seen[item['group_id']]}")
            group = ProjectGroup(
                item["group_id"],
                item["name_en"] or "",
                item["name_zh"] or "",
                segment=segment,
                international=bool(item["international"]),
                members=members,
            )
        except (KeyAccountError, TypeError) as exc:
            problems.append(_problem(path, row, column, item.get(column), str(exc)))
            continue
        seen[group.id] = row
        groups.append(group)
    owner = np.full(len(plain), -1, dtype=np.int64)
    unknown = position < 0
    for row in np.unique(rows_of[unknown & ~empty]).tolist():
        texts = values.slice(offsets[row], offsets[row + 1] - offsets[row]).to_pylist()
        cid = min(
            t
            for t, p in zip(texts, position[offsets[row] : offsets[row + 1]], strict=True)
            if p < 0 and t is not None
        )
        problems.append(_problem(path, row, "customer_ids", cid, f"unknown customer {cid!r}"))
    known = np.flatnonzero(~unknown)
    if known.shape[0]:
        # The first row (in file order) that names a customer owns it; a later row is refused.
        order = np.lexsort((rows_of[known], position[known]))
        at, rows = position[known][order], rows_of[known][order]
        first = np.ones(at.shape[0], dtype=np.bool_)
        first[1:] = at[1:] != at[:-1]
        owner_row = np.maximum.accumulate(np.where(first, np.arange(at.shape[0]), 0))
        owner[at[first]] = rows[first]
        again = ~first & (rows != rows[owner_row])
        taken: dict[int, tuple[str, int]] = {}
        for k in np.flatnonzero(again).tolist():
            row, cid = int(rows[k]), str(plain[int(at[k])])
            if row not in taken or cid < taken[row][0]:
                taken[row] = (cid, int(rows[owner_row[k]]))
        for row, (cid, by) in taken.items():
            reason = f"customer {cid!r} already belongs to {names[by]!r}"
            problems.append(_problem(path, row, "customer_ids", cid, reason))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise CsvImportError(str(path), problems[:1000], len(problems))
    return groups, owner


def _explanation_value(kind: str, text: str | None) -> ExplanationValue:
    if kind == "null":
        return None
    if text is None:
        raise ValidationError(f"an explanation value of kind {kind!r} needs a value")
    if kind == "decimal":
        return Decimal(text)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "text":
        return text
    raise ValidationError(
        f"unknown explanation kind {kind!r}; expected decimal, int, float, text or null"
    )


def _optional_segment(value: str | None) -> Segment | None:
    return None if value is None else Segment.parse(value)


def read_changes_parquet(
    directory: str | os.PathLike[str],
    *,
    portfolio: Portfolio | None = None,
) -> tuple[TierChange | SegmentChange, ...]:
    """The tier and segment changes kept with a portfolio, in order (empty when none were).

    Args:
        directory: A directory written by :func:`write_portfolio_parquet`.
        portfolio: When given, a change of a customer it does not hold is a bad row.

    Raises:
        ValidationError: ``changes.parquet`` is not a keyaccount changes file,
            or has a missing, unknown or mistyped column.
        CsvImportError: every bad row (unknown kind, tier or segment, a
            malformed value, an unknown customer), each a
            :class:`~keyaccount.exceptions.FrameRowError`.
    """
    return tuple(r.change for r in read_change_records_parquet(directory, portfolio=portfolio))


def read_change_records_parquet(
    directory: str | os.PathLike[str],
    *,
    portfolio: Portfolio | None = None,
) -> tuple[ChangeRecord, ...]:
    """The changes kept with a portfolio with their times and numbers, in order.

    What :func:`read_changes_parquet` reads, each change in a
    :class:`ChangeRecord` with its ``recorded_at`` and ``sequence`` (``None``
    where the file does not keep them). ``Store.save(portfolio,
    history=records)`` records them as they were.

    Raises:
        ValidationError, CsvImportError: as :func:`read_changes_parquet`; a
            ``sequence`` below 1 is a bad row too.
    """
    root = Path(directory)
    path = root / CHANGES_FILE
    if not path.is_file():
        if not root.is_dir():
            raise CsvFileNotFoundError(str(root), "Parquet portfolio directory")
        return ()
    table = _read_table(path, "changes")
    problems: list[FrameRowError] = []
    changes: list[ChangeRecord] = []
    make: dict[str, Callable[..., TierChange | SegmentChange]] = {
        "tier": TierChange,
        "segment": SegmentChange,
    }
    for row, item in enumerate(table.to_pylist()):
        column = "kind"
        try:
            kind = make.get(item["kind"])
            if kind is None:
                raise ValidationError(f"unknown kind {item['kind']!r}; expected tier or segment")
            column = "customer_id"
            if portfolio is not None and item["customer_id"] not in portfolio:
                raise ValidationError(f"unknown customer {item['customer_id']!r}")
            column = "period"
            if item["period"] is None:
                raise ValidationError("required value is empty")
            period = Period(item["period"].year, item["period"].month)
            if item["period"].day != 1:
                raise ValidationError("a month is the first day of the month")
            column = "explanation"
            explanation = tuple(
                (e["name"], _explanation_value(e["kind"], e["value"]))
                for e in item["explanation"] or ()
            )
            parse: Callable[[Any], Any] = Tier.parse if kind is TierChange else _optional_segment
            column = "before"
            before = parse(item["before"])
            column = "after"
            after = parse(item["after"])
            column = "sequence"
            sequence = item.get("sequence")
            if sequence is not None and sequence < 1:
                raise ValidationError("a sequence number is a whole number from 1")
            column = "rule"
            change = kind(
                item["customer_id"],
                period,
                before=before,
                after=after,
                rule=item["rule"],
                actor=item["actor"],
                reason=item["reason"] or "",
                explanation=explanation,
            )
            changes.append(ChangeRecord(change, item.get("recorded_at"), sequence))
        except (KeyAccountError, ArithmeticError, TypeError, ValueError) as exc:
            problems.append(_problem(path, row, column, item.get(column), str(exc)))
    if problems:
        raise CsvImportError(str(path), problems[:1000], len(problems))
    return tuple(changes)
