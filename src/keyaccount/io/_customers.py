"""Reading a customers file into :class:`CustomerRows`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Customer,
    Period,
    parent_cycles,
)
from keyaccount.exceptions import UnknownCustomerError
from keyaccount.io._fast import has_control
from keyaccount.io._fields import CustomerSpec, CustomerValues, customer_row
from keyaccount.io._formats import CUSTOMERS
from keyaccount.io._lines import (
    block_records,
    csv_records,
    open_csv,
    read_blocks,
)
from keyaccount.io.problems import ErrorPolicy, Problem, ProblemSink, ProgressCallback
from keyaccount.portfolio import CustomerColumns
from keyaccount.portfolio.fields import (
    FieldError,
    period_ordinal,
    segment_code,
    sub_segment_code,
    tier_rank,
)
from keyaccount.utils import elapsed, logger, paused_gc
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Container, Iterator, Mapping, Sequence

    from keyaccount.io._formats import Header
    from keyaccount.io._lines import Malformed

__all__ = ["CustomerRows", "cross_row_checks", "read_customers_csv"]

_BLOCK_BYTES = 4 << 20
_RAISE = ErrorPolicy()
_log = logger("io")


def _objects(values: Sequence[object]) -> npt.NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@attrs.frozen(eq=False)
class CustomerRows:
    """The validated customers of one customers file, as parallel arrays in file order.

    Attributes:
        line: 1-based line number of each customer in the file (``int64``).
        id: Customer ids (``object`` array of ``str``).
        name: Display names (``object``).
        segment: Segment codes, positions in ``tuple(Segment)`` (``int8``, ``-1`` none).
        sub_segment: Sub-segment codes, positions in ``tuple(SubSegment)``
            (``int8``, ``-1`` none).
        tier: Tier ranks (``int8``); ``ACTIVE`` where the file left it empty.
        parent_id: Parent ids (``object``: ``str`` or ``None``).
        province: Provinces (``object``: ``str`` or ``None``).
        first_period: First-seen month ordinals (``int32``).
        tier_since: Month ordinal the tier took effect (``int32``, ``-1`` when
            empty, meaning ``first_period``).
    """

    line: npt.NDArray[np.int64]
    id: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    segment: npt.NDArray[np.int8]
    sub_segment: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    parent_id: npt.NDArray[np.object_]
    province: npt.NDArray[np.object_]
    first_period: npt.NDArray[np.int32]
    tier_since: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.line.shape[0])

    def __repr__(self) -> str:
        return short_repr("CustomerRows", f"{number(len(self))} customers")

    def _repr_html_(self) -> str:
        rows = (
            (int(self.line[i]), self.id[i], self.name[i], self.parent_id[i], self.province[i])
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("line", "id", "name", "parent_id", "province")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="customers")

    @classmethod
    def from_values(cls, lines: Sequence[int], values: Sequence[CustomerValues]) -> CustomerRows:
        """Rows from the tuples the reference parser gives."""
        columns = list(zip(*values, strict=True)) if values else [()] * 9
        return cls(
            np.array(lines, dtype=np.int64),
            _objects(columns[0]),
            _objects(columns[1]),
            np.array(columns[2], dtype=np.int8),
            np.array(columns[3], dtype=np.int8),
            np.array(columns[4], dtype=np.int8),
            _objects(columns[5]),
            _objects(columns[6]),
            np.array(columns[7], dtype=np.int32),
            np.array(columns[8], dtype=np.int32),
        )

    @classmethod
    def concat(cls, parts: Sequence[CustomerRows]) -> CustomerRows:
        """One block with the rows of ``parts`` in order."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.from_values([], [])
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls))
        )

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> CustomerRows:
        """The rows selected by a mask or positions."""
        return CustomerRows(*(getattr(self, f.name)[index] for f in attrs.fields(CustomerRows)))

    @classmethod
    def from_columns(cls, columns: CustomerColumns) -> CustomerRows:
        """Rows for customers held as :class:`~keyaccount.portfolio.CustomerColumns`."""
        n = len(columns)
        has_parent = columns.parent != NO_CODE
        parent_id = np.full(n, None, dtype=object)
        parent_id[has_parent] = columns.id[columns.parent[has_parent]]
        return cls(
            np.zeros(n, dtype=np.int64),
            columns.id,
            columns.name,
            columns.segment,
            columns.sub_segment,
            columns.tier,
            parent_id,
            columns.province,
            columns.first_period,
            columns.tier_since,
        )

    def to_columns(self, existing: Mapping[str, int] | None = None) -> CustomerColumns:
        """The rows as a block for :meth:`~keyaccount.Portfolio.add_customer_columns`.

        Parent ids are turned into positions: first among the rows (placed
        after ``len(existing)`` customers already held), then in ``existing``.

        Args:
            existing: Position of every customer already in the portfolio.

        Raises:
            UnknownCustomerError: a parent id found in neither.
        """
        known = {} if existing is None else existing
        offset = len(known)
        here = {cid: offset + i for i, cid in enumerate(self.id.tolist())}
        parent = np.full(len(self), NO_CODE, dtype=np.int32)
        for i, pid in enumerate(self.parent_id.tolist()):
            if pid is None:
                continue
            position = here.get(pid)
            if position is None:
                position = known.get(pid)
            if position is None:
                raise UnknownCustomerError(
                    f"customer {self.id[i]!r} (line {int(self.line[i])}): unknown parent "
                    f"customer {pid!r}"
                )
            parent[i] = position
        return CustomerColumns(
            id=self.id,
            name=self.name,
            segment=self.segment,
            sub_segment=self.sub_segment,
            tier=self.tier,
            parent=parent,
            province=self.province,
            first_period=self.first_period,
            tier_since=self.tier_since,
        )

    def customer(self, i: int) -> Customer:
        """The customer at position ``i`` as a domain object."""
        seg = int(self.segment[i])
        sub = int(self.sub_segment[i])
        since = int(self.tier_since[i])
        return Customer(
            str(self.id[i]),
            str(self.name[i]),
            Period.from_ordinal(int(self.first_period[i])),
            segment=None if seg == NO_CODE else SEGMENTS[seg],
            sub_segment=None if sub == NO_CODE else SUB_SEGMENTS[sub],
            tier=TIERS[int(self.tier[i])],
            parent_id=self.parent_id[i],
            province=self.province[i],
            tier_since=None if since == NO_CODE else Period.from_ordinal(since),
        )

    def customers(self) -> Iterator[Customer]:
        """All rows as :class:`~keyaccount.Customer` objects, made on demand."""
        for i in range(len(self)):
            yield self.customer(i)


def cross_row_checks(
    rows: CustomerRows,
    bad_ids: dict[str, int],
    known_customers: Container[str] | None,
    cascade: bool,
) -> list[tuple[int, str, str, str]]:
    """Duplicates, parents and cycles: ``(row, column, value, reason)`` of each bad row."""
    bad: dict[int, tuple[str, str, str]] = {}
    ids = rows.id.tolist()
    lines = rows.line.tolist()
    n = len(ids)
    first_row = dict(zip(reversed(ids), range(n - 1, -1, -1), strict=True))
    if len(first_row) != n:
        for i, cid in enumerate(ids):
            if first_row[cid] != i:
                first = lines[first_row[cid]]
                bad[i] = ("customer_id", cid, f"duplicate customer id, first at line {first}")
    parents = rows.parent_id.tolist()
    get = first_row.get
    link = np.fromiter((-1 if p is None else get(p, -2) for p in parents), np.int64, n)
    for i in np.flatnonzero(link == -2).tolist():
        pid = parents[i]
        if i in bad:
            continue
        if pid in bad_ids:
            if cascade:
                reason = f"parent customer {pid!r} (line {bad_ids[pid]}) is bad"
                bad[i] = ("parent_id", pid, reason)
        elif known_customers is not None and pid not in known_customers:
            bad[i] = ("parent_id", pid, f"unknown parent customer {pid!r}")
    link[link < 0] = -1
    if bad:
        link[list(bad)] = -1
    for cycle in parent_cycles(link):
        text = " -> ".join([*(ids[r] for r in cycle), ids[cycle[0]]])
        for row in cycle:
            bad[row] = ("parent_id", str(parents[row]), f"parent cycle: {text}")
    if cascade and bad:
        children: dict[int, list[int]] = {}
        for child in np.flatnonzero(link >= 0).tolist():
            children.setdefault(int(link[child]), []).append(child)
        todo = [r for r in bad if first_row.get(ids[r]) == r]
        while todo:
            row = todo.pop()
            for child in children.get(row, []):
                if child not in bad:
                    pid = ids[row]
                    reason = f"parent customer {pid!r} (line {lines[row]}) is bad"
                    bad[child] = ("parent_id", pid, reason)
                    todo.append(child)
    return [(i, *bad[i]) for i in sorted(bad)]


def read_customers_csv(
    path: str | os.PathLike[str],
    *,
    errors: ErrorPolicy | ProblemSink = _RAISE,
    known_customers: Container[str] | None = None,
    progress: ProgressCallback | None = None,
) -> CustomerRows:
    """Read and check a customers file.

    Columns ``customer_id,name,segment,sub_segment,tier,parent_id,province,
    first_period`` and optionally ``tier_since``; see ``docs/import-export.md``.
    Besides each row on its own, the reader checks across rows: a customer
    id given twice (the later rows are bad), parent cycles, and parents that
    are neither in the file nor in ``known_customers``.

    Args:
        path: The file (UTF-8, with or without a byte order mark).
        errors: What to do with bad rows (default: raise after reading the
            whole file). With the reject policy, a customer whose parent row
            is rejected is rejected too. A
            :class:`~keyaccount.io.problems.ProblemSink` of the caller's is
            left open for the caller's own findings (the reader still raises
            through it when it finds bad rows in raise mode).
        known_customers: Customers outside the file that parents may name.
            ``None`` (the default) accepts any parent id not in the file and
            leaves checking it to the caller; pass an empty set to require
            every parent to be in the file.
        progress: Called as the file is read with ``(rows_done, bytes_done,
            bytes_total)``.

    Returns:
        The good rows in file order.

    Raises:
        CsvFileNotFoundError: no such file.
        CsvHeaderError: a missing, misnamed or repeated column.
        CsvImportError: with the raise policy, every bad row.
    """
    start = time.perf_counter()
    source = open_csv(path, CUSTOMERS)
    sink = source.problems(errors)
    owned = sink is not errors
    reject = sink.policy.mode == "reject"
    try:
        parse = _CustomerBlocks(source.header)
        parts: list[CustomerRows] = []
        problems: list[Problem] = []
        line = 2
        done = source.file.tell()
        for data in read_blocks(source.file, _BLOCK_BYTES):
            rows, found = parse(data, line)
            parts.append(rows)
            problems.extend(found)
            line += data.count(b"\n")
            done += len(data)
            if progress is not None:
                progress(parse.rows_done, done, source.size)
        rows = CustomerRows.concat(parts)
        bad_ids: dict[str, int] = {}
        for problem in problems:
            if len(problem.fields) > parse.id_at:
                bad_ids.setdefault(problem.fields[parse.id_at], problem.line)
        found_across = cross_row_checks(rows, bad_ids, known_customers, reject)
        if found_across:
            wanted = {int(rows.line[i]) for i, *_ in found_across}
            texts = _fields_at(source.path, wanted) if reject else {}
            for i, column, value, reason in found_across:
                at = int(rows.line[i])
                problems.append(Problem(at, column, value, reason, texts.get(at, ())))
            keep = np.ones(len(rows), dtype=np.bool_)
            keep[[i for i, *_ in found_across]] = False
            rows = rows.take(keep)
        _log.info(
            "read customers %s: %d good rows, %d bad, in %.3f s",
            source.path,
            len(rows),
            len(problems),
            elapsed(start),
        )
        sink.add_all(problems)
        if owned or (problems and not reject):
            sink.close()
        return rows
    finally:
        source.close()
        if owned:
            sink.close(check=False)


_BAD = -99


class _Memo(dict[str, int]):
    """Codes of the texts of one column, each parsed once (``_BAD`` when refused)."""

    def __init__(self, parse: Callable[[str], int]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> int:
        try:
            code = self.parse(text)
        except FieldError:
            code = _BAD
        self[text] = code
        return code


def _optional_period(text: str) -> int:
    return NO_CODE if text == "" else period_ordinal(text)


_OWNER = np.array([SEGMENTS.index(s.segment) for s in SUB_SEGMENTS], dtype=np.int64)


class _CustomerBlocks:
    """Parses blocks of a customers file column by column.

    Each column's distinct texts are parsed once (labels and months repeat);
    the row checks are then array operations. Rows a check refuses go to the
    reference parser :func:`~keyaccount.io._fields.customer_row`, which says why.
    """

    def __init__(self, header: Header) -> None:
        self.spec = CustomerSpec(header)
        self.width = header.width
        self.id_at = header.index["customer_id"]
        self.rows_done = 0
        self._segment = _Memo(segment_code)
        self._sub_segment = _Memo(sub_segment_code)
        self._tier = _Memo(tier_rank)
        self._period = _Memo(period_ordinal)
        self._since = _Memo(_optional_period)
        self._text: dict[str, str | None] = {}

    def _optional_text(self, text: str) -> str | None:
        found = self._text.get(text, "")
        if found == "":
            found = self._text[text] = text.strip() or None
        return found

    def __call__(self, data: bytes, first_line: int) -> tuple[CustomerRows, list[Problem]]:
        with paused_gc():
            return self._parse(data, first_line)

    def _parse(self, data: bytes, first_line: int) -> tuple[CustomerRows, list[Problem]]:
        starts, fields_of = block_records(data, first_line)
        self.rows_done += len(starts)
        width = self.width
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return self._reference(list(zip(starts, fields_of, strict=True)))
        if has_control(data):  # the reference path names the field that holds it
            return self._reference(list(zip(starts, fields_of, strict=True)))
        shaped_at = [i for i, f in enumerate(fields_of) if type(f) is list and len(f) == width]
        if len(shaped_at) == len(fields_of):
            shaped_fields = fields_of
            lines = starts
            others: list[tuple[int, list[str] | Malformed]] = []
        else:
            shaped_fields = [fields_of[i] for i in shaped_at]
            lines = [starts[i] for i in shaped_at]
            taken = set(shaped_at)
            others = [(starts[i], fields_of[i]) for i in range(len(starts)) if i not in taken]
        if not shaped_fields:
            return self._reference(others)
        index = self.spec.header.index
        # Every row has ``width`` fields: no need for zip's (slow) strict check.
        columns: list[tuple[str, ...]] = list(zip(*shaped_fields, strict=False))
        n = len(shaped_fields)

        def column(name: str) -> tuple[str, ...]:
            return columns[index[name]]

        def codes(memo: _Memo, name: str) -> npt.NDArray[np.int64]:
            if name not in index:
                return np.full(n, NO_CODE, dtype=np.int64)
            return np.fromiter(map(memo.__getitem__, column(name)), np.int64, n)

        ids = column("customer_id")
        segment = codes(self._segment, "segment")
        sub_segment = codes(self._sub_segment, "sub_segment")
        tier = codes(self._tier, "tier")
        first = codes(self._period, "first_period")
        since = codes(self._since, "tier_since")
        parent = [self._optional_text(t) for t in column("parent_id")]
        province = [self._optional_text(t) for t in column("province")]
        ok = np.fromiter((c != "" and c == c.strip() for c in ids), np.bool_, n)
        ok &= np.fromiter((p != c for p, c in zip(parent, ids, strict=True)), np.bool_, n)
        for values in (segment, sub_segment, tier, first, since):
            ok &= values != _BAD
        has_sub = sub_segment >= 0
        owner = _OWNER[np.where(has_sub, sub_segment, 0)]
        ok &= ~has_sub | ((segment >= 0) & (owner == segment))
        ok &= (since == NO_CODE) | (since >= first)
        good = np.flatnonzero(ok)
        rows = CustomerRows(
            np.array(lines, dtype=np.int64)[good],
            _objects(ids)[good],
            _objects(column("name"))[good],
            segment[good].astype(np.int8),
            sub_segment[good].astype(np.int8),
            tier[good].astype(np.int8),
            _objects(parent)[good],
            _objects(province)[good],
            first[good].astype(np.int32),
            since[good].astype(np.int32),
        )
        refused = [(lines[i], shaped_fields[i]) for i in np.flatnonzero(~ok).tolist()]
        if not refused and not others:
            return rows, []
        checked, problems = self._reference(sorted(refused + others, key=lambda r: r[0]))
        if len(checked):
            rows = CustomerRows.concat([rows, checked])
            rows = rows.take(np.argsort(rows.line, kind="stable"))
        return rows, problems

    def _reference(
        self, records: list[tuple[int, list[str] | Malformed]]
    ) -> tuple[CustomerRows, list[Problem]]:
        lines: list[int] = []
        values: list[CustomerValues] = []
        problems: list[Problem] = []
        for line, fields in records:
            result = customer_row(line, fields, self.spec)
            if isinstance(result, Problem):
                problems.append(result)
            else:
                lines.append(line)
                values.append(result)
        return CustomerRows.from_values(lines, values), problems


def _fields_at(path: str, lines: set[int]) -> dict[int, tuple[str, ...]]:
    """The fields of the records that start on ``lines`` (read again from the file)."""
    out: dict[int, tuple[str, ...]] = {}
    with open(path, "rb") as f:
        f.readline()
        for at, fields in csv_records(iter(f), 2):
            if at in lines and isinstance(fields, list):
                out[at] = tuple(fields)
    return out
