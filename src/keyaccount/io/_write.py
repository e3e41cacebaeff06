"""Writing the customers and revenue formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Customer,
    Period,
    ProductCatalog,
    default_catalog,
    segment_code,
    sub_segment_code,
)
from keyaccount.exceptions import ValidationError
from keyaccount.io._customers import CustomerRows
from keyaccount.io._formats import CUSTOMER_COLUMNS, REVENUE_COLUMNS
from keyaccount.io._quoting import csv_line, quote_field
from keyaccount.io._rows import RevenueRows
from keyaccount.portfolio import CustomerColumns, Portfolio
from keyaccount.utils import atomic_path

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Iterator, Sequence

    from keyaccount.io.problems import ProgressCallback

__all__ = ["write_customers_csv", "write_revenue_csv"]

Lang = Literal["en", "zh"]
_WRITE_ROWS = 200_000
_SPECIAL = (",", '"', "\r", "\n")


def _check_lang(lang: str) -> None:
    if lang not in ("en", "zh"):
        raise ValidationError(f"unknown label language {lang!r}; expected 'en' or 'zh'")


class _PeriodTexts(dict[int, str]):
    """``YYYY-MM`` of period ordinals, made once each; ``-1`` (none) is empty."""

    def __missing__(self, ordinal: int) -> str:
        text = "" if ordinal == NO_CODE else str(Period.from_ordinal(ordinal))
        self[ordinal] = text
        return text


def _customer_rows(
    customers: Portfolio | CustomerColumns | CustomerRows | Iterable[Customer],
) -> CustomerRows:
    if isinstance(customers, Portfolio):
        return CustomerRows.from_columns(customers.customer_columns)
    if isinstance(customers, CustomerColumns):
        return CustomerRows.from_columns(customers)
    if isinstance(customers, CustomerRows):
        return customers
    batch = list(customers)
    return CustomerRows.from_values(
        [0] * len(batch),
        [
            (
                c.id,
                c.name,
                segment_code(c.segment),
                sub_segment_code(c.sub_segment),
                c.tier.rank,
                c.parent_id,
                c.province,
                c.first_period.ordinal,
                NO_CODE if c.tier_since is None else c.tier_since.ordinal,
            )
            for c in batch
        ],
    )


def write_customers_csv(
    path: str | os.PathLike[str],
    customers: Portfolio | CustomerColumns | CustomerRows | Iterable[Customer],
    *,
    lang: Lang = "en",
) -> int:
    """Write customers in the customers format (all nine columns, UTF-8, no BOM).

    Args:
        path: The file to create or overwrite.
        customers: A portfolio's customers, columns, rows read from a file,
            or customer objects.
        lang: ``"en"`` writes segment, sub-segment and tier names
            (``JUDICIAL``), ``"zh"`` their Chinese labels (司法). Both read back.

    Returns:
        The number of customers written.

    Raises:
        OutputError: the file cannot be written (a missing directory, no
            permission, a full disk); an earlier file at ``path`` is left as it
            was (the file is written beside it and renamed into place).
    """
    _check_lang(lang)
    rows = _customer_rows(customers)

    def label(members: Sequence[object], code: int) -> str:
        if code == NO_CODE:
            return ""
        member = members[code]
        return str(member.label_zh if lang == "zh" else member.name)  # type: ignore[attr-defined]

    segments = {code: label(SEGMENTS, code) for code in range(-1, len(SEGMENTS))}
    subs = {code: label(SUB_SEGMENTS, code) for code in range(-1, len(SUB_SEGMENTS))}
    tiers = {code: label(TIERS, code) for code in range(len(TIERS))}
    periods = _PeriodTexts()
    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as f:
        write = f.write
        write(csv_line(CUSTOMER_COLUMNS))
        for cid, name, seg, sub, tier, parent, province, first, since in zip(
            rows.id.tolist(),
            rows.name.tolist(),
            rows.segment.tolist(),
            rows.sub_segment.tolist(),
            rows.tier.tolist(),
            rows.parent_id.tolist(),
            rows.province.tolist(),
            rows.first_period.tolist(),
            rows.tier_since.tolist(),
            strict=True,
        ):
            write(
                csv_line(
                    (
                        cid,
                        name,
                        segments[seg],
                        subs[sub],
                        tiers[tier],
                        "" if parent is None else parent,
                        "" if province is None else province,
                        periods[first],
                        periods[since],
                    )
                )
            )
    return len(rows)


def _quoted(ids: npt.NDArray[np.object_]) -> list[str]:
    """Customer ids as CSV fields."""
    texts: list[str] = ids.tolist()
    joined = "\x1f".join(texts)
    if not any(c in joined for c in _SPECIAL):
        return texts
    return [quote_field(t) for t in texts]


class _Lines:
    """Formats revenue rows as CSV lines, a block at a time."""

    def __init__(self, product_ids: Sequence[str]) -> None:
        self.products = np.empty(len(product_ids), dtype=object)
        self.products[:] = [quote_field(p) for p in product_ids]
        self.periods = _PeriodTexts()

    def text(
        self,
        ids: list[str],
        product: npt.NDArray[np.int32],
        period: npt.NDArray[np.int32],
        fen: npt.NDArray[np.int64],
        volume: npt.NDArray[np.int64],
    ) -> str:
        period_texts = list(map(self.periods.__getitem__, period.tolist()))
        magnitude = np.abs(fen)
        sign = np.where(fen < 0, "-", "")
        return "".join(
            map(
                "%s,%s,%s,%s%d.%02d,%d\n".__mod__,
                zip(
                    ids,
                    period_texts,
                    self.products[product].tolist(),
                    sign.tolist(),
                    (magnitude // 100).tolist(),
                    (magnitude % 100).tolist(),
                    volume.tolist(),
                    strict=True,
                ),
            )
        )


def _portfolio_blocks(portfolio: Portfolio) -> Iterator[tuple[list[str], RevenueRows]]:
    quoted = np.empty(len(portfolio), dtype=object)
    quoted[:] = _quoted(portfolio.customer_columns.id)
    revenue = portfolio.revenue_columns
    for cut in range(0, len(revenue), _WRITE_ROWS):
        part = revenue.take(np.arange(cut, min(cut + _WRITE_ROWS, len(revenue))))
        rows = RevenueRows(
            np.zeros(len(part), dtype=np.int64),
            np.empty(0, dtype=object),
            part.product,
            part.period,
            part.fen,
            part.volume,
        )
        yield quoted[part.customer].tolist(), rows


def _row_blocks(batches: Iterable[RevenueRows]) -> Iterator[tuple[list[str], RevenueRows]]:
    for batch in batches:
        for cut in range(0, len(batch), _WRITE_ROWS):
            part = batch.take(slice(cut, cut + _WRITE_ROWS))
            yield _quoted(part.customer_id), part


def write_revenue_csv(
    path: str | os.PathLike[str],
    revenue: Portfolio | Iterable[RevenueRows],
    *,
    catalog: ProductCatalog | None = None,
    progress: ProgressCallback | None = None,
) -> int:
    """Write revenue in the revenue format (UTF-8, no BOM), one row per record.

    Revenue is written in yuan with two decimals (``-12.50``), so that every
    amount reads back to the same fen.

    Args:
        path: The file to create or overwrite.
        revenue: A portfolio (its records in storage order) or batches of
            :class:`RevenueRows` (for example from :func:`iter_revenue_csv`).
        catalog: The catalogue the batches' product positions refer to
            (default: the portfolio's, or :func:`~keyaccount.default_catalog`).
        progress: Called after every block with ``(rows_done, rows_done,
            rows_total)``: the last two count rows, not bytes (the size of the
            output is not known in advance); ``rows_total`` is 0 for batches.

    Returns:
        The number of rows written.

    Raises:
        OutputError: the file cannot be written (a missing directory, no
            permission, a full disk); an earlier file at ``path`` is left as it
            was (the file is written beside it and renamed into place).
    """
    if isinstance(revenue, Portfolio):
        products = catalog if catalog is not None else revenue.products
        blocks = _portfolio_blocks(revenue)
        total = len(revenue.revenue_columns)
    else:
        products = catalog if catalog is not None else default_catalog()
        blocks = _row_blocks(revenue)
        total = 0
    lines = _Lines(tuple(products))
    written = 0
    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(REVENUE_COLUMNS) + "\n")
        for ids, rows in blocks:
            f.write(lines.text(ids, rows.product, rows.period, rows.fen, rows.volume))
            written += len(ids)
            if progress is not None:
                progress(written, written, total)
    return written
