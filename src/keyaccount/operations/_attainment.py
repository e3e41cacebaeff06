"""Attainment of the project groups' targets, in bulk: attributed revenue, variance, ratio.

For every project group and every month, quarter and year of a range, in one pass over
the revenue records (``np.bincount`` over (group, month) of the revenue attributed by
:class:`~keyaccount.operations.Ownership`):

- ``attributed_fen``: the revenue of the customers the group owned in each month
  (exact integer fen);
- ``target_fen``: the group's target for the span (:meth:`Targets.target_fen`);
- ``variance_fen`` = attributed - target, exact; absent when the target is;
- ``attainment`` = float64(attributed fen) / float64(target fen); absent when the
  target is absent or not positive;
- the same four year-to-date (``ytd_*``): summed over the spans of the same kind from
  the first of the year to the row's span.

``docs/operations.md`` ("Attainment") states the rules with a worked example;
:func:`~keyaccount.operations.reference_attainment` is the same computation in plain
Python, the test oracle.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    Period,
    PeriodRange,
    Segment,
    check_lang,
    fen_to_yuan,
    yuan_to_fen,
)
from keyaccount.exceptions import (
    PrecisionError,
    UnknownItemError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations._targets import PeriodSpan, SpanKind
from keyaccount.portfolio import frames as fr
from keyaccount.utils.display import HEAD_ROWS, html_table, number, percent, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from decimal import Decimal

    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.operations._ownership import Ownership
    from keyaccount.operations._targets import Targets
    from keyaccount.portfolio import Portfolio

__all__ = [
    "ATTAINMENT_COLUMNS",
    "MAX_ATTAINMENT_MONTHS",
    "AttainmentRow",
    "AttainmentTable",
    "attainment",
]

ATTAINMENT_COLUMNS = (
    "attributed_fen",
    "target_fen",
    "variance_fen",
    "attainment",
    "ytd_attributed_fen",
    "ytd_target_fen",
    "ytd_variance_fen",
    "ytd_attainment",
)
"""The measures of an :class:`AttainmentTable`, in order; ``*_fen`` are int64, the rest float64."""
MAX_ATTAINMENT_MONTHS = 1200
"""The longest range of months an attainment table covers (a hundred years)."""
EXACT_LIMIT = 2**53
"""float64 sums of integer fen are exact below this bound."""

KINDS = (SpanKind.MONTH, SpanKind.QUARTER, SpanKind.YEAR)
"""The kinds of rows, in the order a group's rows list them."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


# ---------------------------------------------------------------- rows and table


@attrs.frozen
class AttainmentRow:
    """One row of an :class:`AttainmentTable`, money in ``Decimal`` yuan.

    Attributes:
        group_id: The project group.
        segment: In a table by segment, the customers' segment (``None``: no
            segment); in a table by group, ``None``.
        span: The month, quarter or year.
        attributed: Revenue attributed to the group (and segment) in the span.
        target: The group's target for the span, or ``None`` when absent.
        variance: ``attributed - target``, exact; ``None`` when the target is
            absent, and always in a table by segment.
        attainment: ``float64(attributed fen) / float64(target fen)``; ``None``
            when the target is absent or not positive. By segment: the
            segment's contribution to the group's attainment.
        ytd_attributed: Attributed revenue summed over the spans of this kind
            from the start of the year to this one.
        ytd_target: The targets of those spans summed; ``None`` unless all are present.
        ytd_variance: ``ytd_attributed - ytd_target``.
        ytd_attainment: ``float64(ytd_attributed) / float64(ytd_target)``.
    """

    group_id: str
    segment: Segment | None
    span: PeriodSpan
    attributed: Decimal
    target: Decimal | None
    variance: Decimal | None
    attainment: float | None
    ytd_attributed: Decimal
    ytd_target: Decimal | None
    ytd_variance: Decimal | None
    ytd_attainment: float | None


def _money(value: int, absent: bool) -> Decimal | None:
    return None if absent else fen_to_yuan(value)


def _ratio(value: float, absent: bool) -> float | None:
    return None if absent else float(value)


@attrs.frozen(eq=False)
class AttainmentTable:
    """Attainment by group (or by group and segment) and span, as columns.

    Rows come group by group in code order (and, by segment, segment by
    segment in code order, customers without a segment last), each group's
    months first, then its quarters, then its years, each in calendar order.
    A table by group has a row for every group and span; a table by segment
    only for the (group, segment) pairs with attributed revenue in the years
    it covers.

    Attributes:
        group_ids: The groups; ``group`` holds positions in it.
        months: The months asked for. Month rows cover these; quarter and year
            rows cover every quarter and year that overlaps them, summing all of
            their months (also those outside the range).
        by_segment: Whether rows are by group and segment.
        group: Group code of each row (``int32``).
        segment: Segment code of each row (``int8``, ``NO_CODE`` for none, and
            in a table by group).
        kind: Months in the row's span (``int8``: 1, 3 or 12).
        start: ``Period.ordinal`` of the span's first month (``int32``).
        columns: The measures of :data:`ATTAINMENT_COLUMNS` (``int64`` fen,
            ``float64`` ratios; 0 or NaN where absent).
        absent: For each measure, where it is absent.
    """

    group_ids: tuple[str, ...]
    months: PeriodRange
    by_segment: bool
    group: npt.NDArray[np.int32]
    segment: npt.NDArray[np.int8]
    kind: npt.NDArray[np.int8]
    start: npt.NDArray[np.int32]
    columns: dict[str, npt.NDArray[Any]]
    absent: dict[str, Mask]

    def __len__(self) -> int:
        return int(self.group.shape[0])

    def __repr__(self) -> str:
        by = "group x segment" if self.by_segment else "group"
        size = f"{number(len(self))} rows, {len(self.group_ids)} groups"
        return short_repr("AttainmentTable", size, by=by, months=self.months)

    def _repr_html_(self) -> str:
        head = (self._row(i) for i in range(min(len(self), HEAD_ROWS)))
        rows = (
            (
                r.group_id,
                r.segment,
                str(r.span),
                r.attributed,
                r.target,
                r.variance,
                percent(r.attainment),
                percent(r.ytd_attainment),
            )
            for r in head
        )
        headings = (
            *("group", "segment", "span", "attributed", "target", "variance"),
            *("attainment", "ytd attainment"),
        )
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="rows")

    def _span(self, i: int) -> PeriodSpan:
        return PeriodSpan(SpanKind(int(self.kind[i])), Period.from_ordinal(int(self.start[i])))

    def _row(self, i: int) -> AttainmentRow:
        c, a = self.columns, self.absent
        seg = int(self.segment[i])

        def money(name: str) -> Decimal | None:
            return _money(int(c[name][i]), bool(a[name][i]))

        def ratio(name: str) -> float | None:
            return _ratio(float(c[name][i]), bool(a[name][i]))

        return AttainmentRow(
            group_id=self.group_ids[int(self.group[i])],
            segment=None if seg == NO_CODE else SEGMENTS[seg],
            span=self._span(i),
            attributed=fen_to_yuan(int(c["attributed_fen"][i])),
            target=money("target_fen"),
            variance=money("variance_fen"),
            attainment=ratio("attainment"),
            ytd_attributed=fen_to_yuan(int(c["ytd_attributed_fen"][i])),
            ytd_target=money("ytd_target_fen"),
            ytd_variance=money("ytd_variance_fen"),
            ytd_attainment=ratio("ytd_attainment"),
        )

    def rows(
        self, *, group_id: str | None = None, kind: SpanKind | None = None
    ) -> Iterator[AttainmentRow]:
        """The rows in table order, optionally of one group and one kind of span."""
        keep = np.ones(len(self), dtype=bool)
        if group_id is not None:
            keep &= self.group == self._group_code(group_id)
        if kind is not None:
            keep &= self.kind == kind.months
        for i in np.flatnonzero(keep).tolist():
            yield self._row(i)

    def _group_code(self, group_id: str) -> int:
        try:
            return self.group_ids.index(group_id)
        except ValueError:
            raise UnknownProjectGroupError(
                f"unknown project group {shorten(group_id)}; the table has "
                f"{', '.join(self.group_ids) or 'none'}"
            ) from None

    def row(
        self,
        group_id: str,
        span: PeriodSpan | Period | str,
        *,
        segment: Segment | str | None = None,
    ) -> AttainmentRow:
        """The row of a group (and segment, in a table by segment) and span.

        Raises:
            UnknownProjectGroupError: not one of :attr:`group_ids`.
            UnknownItemError: the table has no such row (a span outside it, or
                a segment without attributed revenue).
        """
        code = self._group_code(group_id)
        parsed = PeriodSpan.parse(span)
        seg = NO_CODE if segment is None else Segment.parse(segment).code
        hit = np.flatnonzero(
            (self.group == code)
            & (self.segment == seg)
            & (self.kind == parsed.kind.months)
            & (self.start == parsed.start.ordinal)
        )
        if not hit.size:
            where = "" if segment is None else f", segment {Segment.parse(segment).name}"
            raise UnknownItemError(
                f"no attainment row for group {group_id!r}{where}, {parsed} "
                f"(the table covers {self.months})"
            )
        return self._row(int(hit[0]))

    @classmethod
    def from_rows(
        cls,
        group_ids: Sequence[str],
        months: PeriodRange,
        by_segment: bool,
        rows: Iterable[AttainmentRow],
    ) -> AttainmentTable:
        """A table holding ``rows`` in the order given (the reference builds it so)."""
        rows = list(rows)
        ids = tuple(group_ids)
        code = {g: i for i, g in enumerate(ids)}
        columns: dict[str, npt.NDArray[Any]] = {}
        absent: dict[str, Mask] = {}
        for name in ATTAINMENT_COLUMNS:
            attr = name.removesuffix("_fen")
            values = [getattr(r, attr) for r in rows]
            absent[name] = np.array([v is None for v in values], dtype=bool)
            if name.endswith("_fen"):
                columns[name] = np.array(
                    [0 if v is None else yuan_to_fen(v) for v in values], dtype=np.int64
                )
            else:
                columns[name] = np.array(
                    [np.nan if v is None else v for v in values], dtype=np.float64
                )
        return cls(
            group_ids=ids,
            months=months,
            by_segment=by_segment,
            group=np.array([code[r.group_id] for r in rows], dtype=np.int32),
            segment=np.array(
                [NO_CODE if r.segment is None else r.segment.code for r in rows], dtype=np.int8
            ),
            kind=np.array([r.span.kind.months for r in rows], dtype=np.int8),
            start=np.array([r.span.start.ordinal for r in rows], dtype=np.int32),
            columns=columns,
            absent=absent,
        )

    def _frame(self, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        columns = [fr.key("group_id", self.group, self.group_ids)]
        if self.by_segment:
            columns.append(fr.segment("segment", self.segment, lang))
        kinds = list(SpanKind)
        columns += [
            fr.labels(
                "kind",
                [kinds.index(SpanKind(k)) for k in self.kind.tolist()],
                [k.name for k in kinds],
            ),
            fr.text("span", [str(self._span(i)) for i in range(len(self))]),
            fr.period("start", self.start),
        ]
        for name in ATTAINMENT_COLUMNS:
            if name.endswith("_fen"):
                columns.append(
                    fr.money(name.removesuffix("_fen"), self.columns[name], self.absent[name])
                )
            else:
                columns.append(fr.ratio(name, self.columns[name], self.absent[name]))
        return fr.Frame(tuple(columns), {"months": str(self.months)})

    def to_pandas(self, *, lang: str = "en") -> pd.DataFrame:
        """A DataFrame with one row per table row (needs the ``pandas`` extra).

        Columns: ``group_id`` (a category), ``segment`` (by segment only; an
        ordered category labelled in ``lang``), ``kind`` (``MONTH``,
        ``QUARTER``, ``YEAR``), ``span`` (``2022-03``, ``2022Q1``, ``2022``),
        ``start`` (the span's first month), then the measures: money as
        ``<name>_fen`` and exact yuan ``<name>`` (``attributed``, ``target``,
        ``variance`` and their ``ytd_`` twins), ratios as ``Float64``; absent
        values are ``<NA>`` (``docs/frames.md``).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(lang, "AttainmentTable.to_pandas").to_pandas()

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        return self._frame(lang, "AttainmentTable.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        return self._frame(lang, "AttainmentTable.to_polars").to_polars()


# ---------------------------------------------------------------- shared checks


def attainment_months(
    portfolio: Portfolio, months: PeriodRange | PeriodSpan | str | None
) -> PeriodRange:
    """The months of an attainment table: given, or the portfolio's months with revenue.

    Raises:
        ValidationError: no months given and no revenue; an empty range; more
            than :data:`MAX_ATTAINMENT_MONTHS` months.
    """
    if months is None:
        span = portfolio.period_span
        if span is None:
            raise ValidationError("attainment: the portfolio has no revenue; give the months")
        rng = PeriodRange(*span)
    elif isinstance(months, PeriodRange):
        rng = months
    else:
        rng = PeriodSpan.parse(months).months
    if len(rng) == 0:
        raise ValidationError(f"attainment: the range of months {rng} is empty")
    first, last = Period(rng.start.year, 1), Period(rng.end.year, 12)
    if last - first + 1 > MAX_ATTAINMENT_MONTHS:
        raise ValidationError(
            f"attainment: the years of {rng} are more than {MAX_ATTAINMENT_MONTHS} months"
        )
    return rng


def check_target_groups(targets: Targets, group_ids: Sequence[str]) -> None:
    """Refuse targets of groups that the ownership does not know (a typo, most likely).

    Raises:
        UnknownProjectGroupError: names the first such group.
    """
    unknown = sorted(targets.group_ids - set(group_ids))
    if unknown:
        raise UnknownProjectGroupError(
            f"targets name unknown project group {shorten(unknown[0])}; the groups are "
            f"{', '.join(group_ids) or 'none'}"
        )


def segment_order() -> tuple[Segment | None, ...]:
    """The segments in the order of a table by segment: code order, ``None`` last."""
    return (*SEGMENTS, None)


# ---------------------------------------------------------------- bulk


def _attributed(
    portfolio: Portfolio,
    ownership: Ownership,
    first: Period,
    width: int,
    by_segment: bool,
) -> I64:
    """Attributed fen by (group[, segment bin]) x month of the window, as int64 rows."""
    n_groups = len(ownership.group_ids)
    bins = len(SEGMENTS) + 1 if by_segment else 1
    rev = portfolio.revenue_columns
    customers = portfolio.customer_columns
    size = n_groups * bins * width
    if size >= 2**31:
        raise ValidationError(
            f"attainment: {n_groups} groups x {bins} segment bins x {width} months are too many"
        )
    segment_bin = None
    if by_segment:
        segment = customers.segment.astype(np.int64)
        segment_bin = np.where(segment == NO_CODE, len(SEGMENTS), segment)
    keep, cell, several, several_cell = ownership.grid_cells(
        rev, customers.id, first, width, bins=bins, customer_bin=segment_bin
    )
    # Two parts, never concatenated (a copy of every record): customers with one move,
    # and the records of customers with several.
    parts = [(cell, rev.fen[keep].astype(np.float64))]
    if several.size:
        parts.append((several_cell, rev.fen[several].astype(np.float64)))
    if _absolute_total(rev.fen) >= EXACT_LIMIT:
        _check_exact(parts, size, ownership.group_ids, bins, first, width)
    sums = np.zeros(size, dtype=np.float64)
    for cells, weights in parts:
        sums += np.bincount(cells, weights=weights, minlength=size)
    return sums.astype(np.int64).reshape(n_groups * bins, width)


_SCREENED: list[tuple[weakref.ref[npt.NDArray[np.int64]], float]] = []
"""The last fen array screened by :func:`_absolute_total` (weakly held) and its total."""
_CHUNK = 1 << 20


def _absolute_total(fen: npt.NDArray[np.int64]) -> float:
    """Sum of ``|fen|`` of every record, in float64: exact below 2**53, and >= 2**53 above.

    Kept for the last array seen (a portfolio keeps its revenue array until
    revenue is added), so a second attainment over the same revenue skips it.
    When it is below 2**53, every sum of a subset of the records is exact in
    float64 in any order, and no cell needs checking.
    """
    if _SCREENED and _SCREENED[0][0]() is fen:
        return _SCREENED[0][1]
    total = 0.0
    for lo in range(0, len(fen), _CHUNK):
        total += float(np.abs(fen[lo : lo + _CHUNK]).sum(dtype=np.float64))
    _SCREENED[:] = [(weakref.ref(fen), total)]
    return total


def _check_exact(
    parts: list[tuple[npt.NDArray[Any], F64]],
    size: int,
    group_ids: tuple[str, ...],
    bins: int,
    first: Period,
    width: int,
) -> None:
    """Raise PrecisionError where a cell's absolute fen reaches 2**53 (its float64 sum may round).

    Screens first: when ``max |fen| x records`` or the sum of the kept ``|fen|``
    stays below 2**53, every partial sum of every cell is an exact integer.
    """
    count = sum(w.size for _, w in parts)
    if not count:
        return
    biggest = max(max(abs(float(w.max())), abs(float(w.min()))) for _, w in parts if w.size)
    if biggest * count < EXACT_LIMIT:
        return
    if sum(float(np.abs(w).sum()) for _, w in parts) < EXACT_LIMIT:
        return
    magnitude = np.zeros(size, dtype=np.float64)
    for cell, weights in parts:
        magnitude += np.bincount(cell, weights=np.abs(weights), minlength=size)
    over = magnitude >= EXACT_LIMIT
    if over.any():
        row, month = divmod(int(np.flatnonzero(over)[0]), width)
        group, segment = divmod(row, bins)
        where = ""
        if bins > 1:
            name = SEGMENTS[segment].name if segment < len(SEGMENTS) else "no segment"
            where = f", segment {name}"
        raise PrecisionError(
            f"attributed revenue of project group {group_ids[group]!r}{where} in "
            f"{first + month}: the absolute sum of its records reaches 2**53 fen and cannot "
            "be summed exactly"
        )


@attrs.frozen
class _TargetGrid:
    """The groups' effective targets by kind: fen and presence, shape (groups, years, spans)."""

    fen: dict[SpanKind, I64]
    present: dict[SpanKind, Mask]


def _target_grid(
    targets: Targets, group_ids: tuple[str, ...], first_year: int, years: int
) -> _TargetGrid:
    """Effective group targets (:meth:`Targets.target_fen`) for every span of the years."""
    n = len(group_ids)
    code = {g: i for i, g in enumerate(group_ids)}
    own = {k: np.zeros((n, years, 12 // k.months), dtype=np.int64) for k in KINDS}
    is_set = {k: np.zeros((n, years, 12 // k.months), dtype=bool) for k in KINDS}
    for target in targets:
        year = target.span.start.year - first_year
        if target.member is not None or not 0 <= year < years:
            continue
        kind = target.span.kind
        slot = (target.span.start.month - 1) // kind.months
        own[kind][code[target.group_id], year, slot] = target.fen
        is_set[kind][code[target.group_id], year, slot] = True
    month_fen, month_set = own[SpanKind.MONTH], is_set[SpanKind.MONTH]
    fen = {SpanKind.MONTH: month_fen}
    present = {SpanKind.MONTH: month_set}
    for kind in (SpanKind.QUARTER, SpanKind.YEAR):
        shape = (n, years, 12 // kind.months, kind.months)
        summed = month_fen.reshape(shape).sum(axis=-1)
        complete = month_set.reshape(shape).all(axis=-1)
        fen[kind] = np.where(is_set[kind], own[kind], np.where(complete, summed, 0))
        present[kind] = is_set[kind] | complete
    # A year with neither its own target nor all twelve months: the sum of its quarters
    # when each quarter has one (its own, or its three months).
    quarters = (n, years, 1, 4)
    by_quarters = fen[SpanKind.QUARTER].reshape(quarters).sum(axis=-1)
    all_quarters = present[SpanKind.QUARTER].reshape(quarters).all(axis=-1)
    late = ~present[SpanKind.YEAR] & all_quarters
    fen[SpanKind.YEAR] = np.where(late, by_quarters, fen[SpanKind.YEAR])
    present[SpanKind.YEAR] = present[SpanKind.YEAR] | all_quarters
    return _TargetGrid(fen, present)


def _measures(
    attributed: I64, target: I64, present: Mask, *, variance: bool
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Mask]]:
    """Attributed, target, variance and attainment for aligned arrays (same shape)."""
    positive = present & (target > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = attributed.astype(np.float64) / target.astype(np.float64)
    columns: dict[str, npt.NDArray[Any]] = {
        "attributed_fen": attributed,
        "target_fen": np.where(present, target, 0),
        "variance_fen": np.where(present & variance, attributed - target, 0),
        "attainment": np.where(positive, ratio, np.nan),
    }
    absent = {
        "attributed_fen": np.zeros(attributed.shape, dtype=bool),
        "target_fen": ~present,
        "variance_fen": ~present | (not variance),
        "attainment": ~positive,
    }
    return columns, absent


def attainment(
    portfolio: Portfolio,
    ownership: Ownership,
    targets: Targets,
    months: PeriodRange | PeriodSpan | str | None = None,
    *,
    by_segment: bool = False,
) -> AttainmentTable:
    """Attainment of every project group for every month, quarter and year of a range, in bulk.

    Revenue is attributed record by record to the group that owned the
    customer in the record's month (:meth:`Ownership.group_codes`); the sums
    by group and month are one ``np.bincount``, exact in float64 below 2**53
    fen per cell (checked) and returned as integers. Quarters, years and
    year-to-date figures are sums of those, in integers.

    Args:
        portfolio: Customers (their segments, for ``by_segment``) and revenue.
        ownership: Who owned which customer when; its groups are the rows.
        targets: The targets; group targets are used (member targets are
            planning figures). A target of a group that ``ownership`` does not
            know is refused.
        months: The months of the month rows (a :class:`PeriodRange`, or a
            span such as ``"2022"``); default: the portfolio's months with
            revenue. Quarter and year rows cover the quarters and years that
            overlap it.
        by_segment: Rows by group and customer segment (the segment the
            customer has in the portfolio). A segment row's ``target_fen`` is
            its group's target and its ``attainment`` the segment's
            contribution to the group's; its variance is absent.

    Returns:
        An :class:`AttainmentTable`.

    Raises:
        UnknownProjectGroupError: a target of a group ``ownership`` does not know.
        ValidationError: an empty range, or one of more than
            :data:`MAX_ATTAINMENT_MONTHS` months from its first January to its last December.
        PrecisionError: a group's (or group and segment's) absolute revenue in
            one month reaches 2**53 fen.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> from keyaccount.operations import Ownership, OwnershipMove, Target, Targets
        >>> pf = Portfolio(
        ...     [Customer("C1", "某法院", "2022-01")],
        ...     [RevenueRecord("C1", "court_express", f"2022-{m:02d}", "1500") for m in (1, 2, 3)],
        ... )
        >>> own = Ownership(["courts"], [OwnershipMove("C1", "courts", "2022-01", "hq")])
        >>> table = attainment(pf, own, Targets([Target("courts", "2022Q1", "4000")]), "2022Q1")
        >>> row = table.row("courts", "2022Q1")
        >>> row.attributed, row.target, row.variance, row.attainment
        (Decimal('4500.00'), Decimal('4000.00'), Decimal('500.00'), 1.125)
    """
    rng = attainment_months(portfolio, months)
    check_target_groups(targets, ownership.group_ids)
    first = Period(rng.start.year, 1)
    years = rng.end.year - rng.start.year + 1
    width = 12 * years
    n_groups = len(ownership.group_ids)
    bins = len(SEGMENTS) + 1 if by_segment else 1
    monthly = _attributed(portfolio, ownership, first, width, by_segment)  # (rows, width)
    grid = _target_grid(targets, ownership.group_ids, first.year, years)
    month_lo = rng.start - first
    month_hi = rng.end - first + 1
    chosen = {
        SpanKind.MONTH: slice(month_lo, month_hi),
        SpanKind.QUARTER: slice(month_lo // 3, (month_hi - 1) // 3 + 1),
        SpanKind.YEAR: slice(0, years),
    }
    parts: list[tuple[dict[str, npt.NDArray[Any]], dict[str, Mask]]] = []
    starts: list[npt.NDArray[np.int32]] = []
    kinds: list[npt.NDArray[np.int8]] = []
    for kind in KINDS:
        per_year = 12 // kind.months
        shape = (monthly.shape[0], years, per_year, kind.months)
        attributed = monthly.reshape(shape).sum(axis=-1)  # (rows, years, spans)
        target = np.repeat(grid.fen[kind], bins, axis=0)
        present = np.repeat(grid.present[kind], bins, axis=0)
        ytd_target = np.cumsum(target, axis=-1)
        ytd_present = np.logical_and.accumulate(present, axis=-1)
        flat = (monthly.shape[0], years * per_year)
        pick = chosen[kind]
        now, now_absent = _measures(
            attributed.reshape(flat)[:, pick],
            target.reshape(flat)[:, pick],
            present.reshape(flat)[:, pick],
            variance=not by_segment,
        )
        ytd, ytd_absent = _measures(
            np.cumsum(attributed, axis=-1).reshape(flat)[:, pick],
            ytd_target.reshape(flat)[:, pick],
            ytd_present.reshape(flat)[:, pick],
            variance=not by_segment,
        )
        columns = {**now, **{f"ytd_{k}": v for k, v in ytd.items()}}
        absent = {**now_absent, **{f"ytd_{k}": v for k, v in ytd_absent.items()}}
        parts.append((columns, absent))
        count = len(range(years * per_year)[pick])
        span_start = first.ordinal + kind.months * np.arange(years * per_year)[pick]
        starts.append(np.broadcast_to(span_start.astype(np.int32), (flat[0], count)))
        kinds.append(np.full((flat[0], count), kind.months, dtype=np.int8))
    row_group = np.repeat(np.arange(n_groups, dtype=np.int32), bins)
    row_segment = np.tile(
        np.array([s.code for s in SEGMENTS] + [NO_CODE], dtype=np.int8)
        if by_segment
        else np.array([NO_CODE], dtype=np.int8),
        n_groups,
    )
    keep_rows = (monthly != 0).any(axis=1) if by_segment else np.ones(len(row_group), bool)
    per_row = sum(k.shape[1] for k in kinds)

    def flatten(arrays: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        joined: npt.NDArray[Any] = np.concatenate(list(arrays), axis=1)[keep_rows]
        return joined.ravel()

    return AttainmentTable(
        group_ids=ownership.group_ids,
        months=rng,
        by_segment=by_segment,
        group=np.repeat(row_group[keep_rows], per_row),
        segment=np.repeat(row_segment[keep_rows], per_row),
        kind=flatten(kinds),
        start=flatten(starts),
        columns={name: flatten([p[0][name] for p in parts]) for name in ATTAINMENT_COLUMNS},
        absent={name: flatten([p[1][name] for p in parts]) for name in ATTAINMENT_COLUMNS},
    )
