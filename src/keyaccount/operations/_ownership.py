"""Ownership of customers by project groups over time: dated moves and who owned whom when.

A customer belongs to at most one project group in a month. Each
:class:`OwnershipMove` says that from its period on the customer belongs to a group
(or to none: it leaves its group); the owner in a month is the group of the customer's
latest move at or before that month, and no group before its first move
(``docs/operations.md``, "Ownership").

:class:`Ownership` keeps the moves as columns (never one Python object per move; the
moves are made on demand) and answers in bulk which group owned the customer of every
revenue record (:meth:`Ownership.group_codes`); :meth:`Ownership.owner` is the readable
rule and the test oracle.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import NO_CODE, Period
from keyaccount.exceptions import (
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations._targets import check_text_id, raise_problems
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Iterator, Sequence

    from keyaccount.domain import ProjectGroup
    from keyaccount.portfolio import Portfolio, RevenueColumns

__all__ = ["MAX_REASON_CHARACTERS", "Ownership", "OwnershipMove"]

MAX_REASON_CHARACTERS = 2000
"""The longest reason a move may give."""

ObjArray = npt.NDArray[np.object_]
I32Array = npt.NDArray[np.int32]

_MULTI = -2
"""Code of a customer with several moves in the per-customer arrays of :class:`_Coded`."""
_START_BITS = 11
"""Bits of the packed start month (an offset in a window of at most 1,200 months)."""
_START_MASK = (1 << _START_BITS) - 1
_PACKED_CELLS = 1 << (31 - _START_BITS)
"""Grids of fewer cells pack a customer's row and start month into one ``int32``."""
_NEVER = -1
"""Packed value of a customer without an owner."""
_SEVERAL = -2
"""Packed value of a customer with several moves (handled apart)."""
_PERIOD_BITS = 17
"""Bits of a period ordinal (9999-12 is 119,999 < 2**17) in a ``(position, period)`` key."""


def _check_id(what: str) -> Any:
    def check(_: object, __: attrs.Attribute[str], value: object) -> None:
        check_text_id(what, value)

    return check


def _check_group(_: object, __: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        check_text_id("project group id", value)


def _check_reason(_: object, __: object, value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"a move's reason must be text, got {shorten(value)}")
    if len(value) > MAX_REASON_CHARACTERS:
        raise ValidationError(
            f"a move's reason is longer than {MAX_REASON_CHARACTERS} characters: {shorten(value)}"
        )


def _to_period(value: Period | str) -> Period:
    return Period.parse(value)


@attrs.frozen
class OwnershipMove:
    """From ``period`` on, ``customer_id`` belongs to ``group_id`` (``None``: to no group).

    A move is a history record: who (``actor``) moved what (the customer) to
    where (the group) from when (``period``) and why (``reason``); where it came
    from is the group of the customer's previous move.

    Attributes:
        customer_id: The customer.
        group_id: The project group, or ``None`` when the customer leaves its group.
        period: The first month the move holds.
        actor: Who recorded the move.
        reason: Why (free text, at most :data:`MAX_REASON_CHARACTERS` characters).

    Example:
        >>> OwnershipMove("C1", "banks", "2022-07", "张三", "moved to the bank project").period
        Period(2022, 7)
    """

    customer_id: str = attrs.field(validator=_check_id("customer id"))
    group_id: str | None = attrs.field(validator=_check_group)
    period: Period = attrs.field(converter=_to_period)
    actor: str = attrs.field(validator=_check_id("actor"))
    reason: str = attrs.field(default="", validator=_check_reason)


@attrs.frozen(eq=False)
class _Coded:
    """Ownership by customer position, for one array of customer ids.

    ``first_code[c]`` is the group code of customer ``c``'s only move (``NO_CODE``
    when it has none or its only move leaves), or ``_MULTI`` when it has several;
    ``since[c]`` is the period of that only move. The moves of customers with
    several are ``keys`` (``position << 17 | period``, sorted) with ``codes``.
    """

    first_code: I32Array
    since: I32Array
    keys: npt.NDArray[np.int64]
    codes: I32Array

    def codes_of(self, customer: npt.NDArray[Any], period: npt.NDArray[Any]) -> I32Array:
        """The owning group code of each (customer position, period ordinal)."""
        code: I32Array = np.where(
            period >= self.since[customer], self.first_code[customer], np.int32(NO_CODE)
        ).astype(np.int32, copy=False)
        if self.keys.size:
            sel = np.flatnonzero(code == _MULTI)
            if sel.size:
                cust = customer[sel].astype(np.int64)
                query = (cust << _PERIOD_BITS) | period[sel].astype(np.int64)
                i = np.searchsorted(self.keys, query, side="right") - 1
                j = np.maximum(i, 0)
                mine = (i >= 0) & ((self.keys[j] >> _PERIOD_BITS) == cust)
                code[sel] = np.where(mine, self.codes[j], np.int32(NO_CODE))
        return code

    def cells(
        self,
        customer: npt.NDArray[Any],
        period: npt.NDArray[Any],
        first: int,
        width: int,
        size: int,
        bins: int = 1,
        customer_bin: npt.NDArray[np.int64] | None = None,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[Any], npt.NDArray[np.intp], npt.NDArray[Any]]:
        """Where each record falls in an (owner[, bin]) x month grid, for records with an owner.

        The cell of a record is ``(code * bins + bin) * width + month offset``,
        where ``code`` is the owning group's, ``bin`` the customer's (e.g. its
        segment) and the offset counts months from ``first``; records outside
        ``first .. first + width - 1`` or without an owner are left out. The same
        rule as :meth:`codes_of`. While the grid (``size`` cells) is below
        2**20 cells and ``width`` below 2**11 months, one ``int32`` per customer
        packs its row and the month its single move starts, so that a record
        costs one gather.

        Returns:
            ``keep`` (the kept records of customers with at most one move), their
            cells; the positions of the kept records of customers with several
            moves, and their cells.
        """
        n = len(self.first_code)
        bin_of = np.zeros(n, np.int64) if customer_bin is None else customer_bin
        offset = period - np.int32(first)
        if size >= _PACKED_CELLS or width > _START_MASK:
            code = self.codes_of(customer, period)
            keep = (code >= 0) & (offset.view(np.uint32) < width)
            kept = customer[keep]
            cell = (code[keep].astype(np.int64) * bins + bin_of[kept]) * width + offset[keep]
            return keep, cell, np.zeros(0, np.intp), np.zeros(0, np.int64)
        owned = self.first_code >= 0
        start = np.clip(self.since.astype(np.int64) - first, 0, width)
        row = self.first_code.astype(np.int64) * bins + bin_of
        packed = np.where(owned, (row * width) << _START_BITS | start, _NEVER)
        packed[self.first_code == _MULTI] = _SEVERAL
        got = packed.astype(np.int32)[customer]
        keep = offset >= (got & _START_MASK)
        keep &= offset < width
        keep &= got >= 0
        cell = got[keep]
        cell >>= _START_BITS
        cell += offset[keep]
        several = np.zeros(0, np.intp)
        several_cell = np.zeros(0, np.int64)
        if self.keys.size:
            several = np.flatnonzero(got == _SEVERAL)
            if several.size:
                cust, months = customer[several], period[several]
                code = self.codes_of(cust, months).astype(np.int64)
                off = months.astype(np.int64) - first
                inside = (code >= 0) & (off >= 0) & (off < width)
                several = several[inside]
                several_cell = (code[inside] * bins + bin_of[cust[inside]]) * width + off[inside]
        return keep, cell, several, several_cell


@attrs.frozen(init=False, eq=False)
class Ownership:
    """The moves of customers between project groups, and who owned a customer when.

    The owner of a customer in month ``M`` is the group of its latest move at or
    before ``M``; before its first move, and from a move to ``None`` on, it has
    none. At most one move per customer and month: a second is refused.

    Values: :meth:`add` returns a new ``Ownership`` and leaves this one as it
    was. Two are equal when they hold the same groups and the same moves in the
    same order.

    Args:
        group_ids: The project groups, in the order of their codes (a group's
            code is its position here).
        moves: The moves (checked as by :meth:`add`).
        customers: When given, every move's customer must be in it (a
            :class:`~keyaccount.Portfolio` will do).

    Raises:
        ValidationError: a group id given twice or malformed; the errors of :meth:`add`.

    Example:
        >>> own = Ownership(["courts", "banks"], [OwnershipMove("C1", "courts", "2021-03", "hq")])
        >>> own = own.add([OwnershipMove("C1", "banks", "2022-07", "张三", "bank card letters")])
        >>> own.owner("C1", "2022-06"), own.owner("C1", "2022-07"), own.owner("C1", "2021-02")
        ('courts', 'banks', None)
        >>> [m.group_id for m in own.history("C1")]
        ['courts', 'banks']
    """

    group_ids: tuple[str, ...]
    _customer: ObjArray = attrs.field(repr=False)
    _group: I32Array = attrs.field(repr=False)
    _period: I32Array = attrs.field(repr=False)
    _actor: ObjArray = attrs.field(repr=False)
    _reason: ObjArray = attrs.field(repr=False)
    _rows: dict[str, tuple[int, ...]] | None = attrs.field(repr=False)
    _coded: tuple[object, _Coded] | None = attrs.field(repr=False)

    def __init__(
        self,
        group_ids: Iterable[str] = (),
        moves: Iterable[OwnershipMove] = (),
        *,
        customers: Container[str] | None = None,
    ) -> None:
        ids = _check_group_ids(group_ids)
        empty = np.empty(0, dtype=object)
        self.__attrs_init__(
            ids, empty, np.empty(0, np.int32), np.empty(0, np.int32), empty, empty, {}, None
        )
        grown = self.add(moves, customers=customers)
        for name in ("customer", "group", "period", "actor", "reason", "rows"):
            object.__setattr__(self, f"_{name}", getattr(grown, f"_{name}"))

    @classmethod
    def _of(
        cls,
        group_ids: tuple[str, ...],
        columns: tuple[ObjArray, I32Array, I32Array, ObjArray, ObjArray],
        rows: dict[str, tuple[int, ...]] | None,
    ) -> Ownership:
        self = cls.__new__(cls)
        self.__attrs_init__(group_ids, *columns, rows, None)
        return self

    @classmethod
    def from_project_groups(
        cls,
        groups: Iterable[ProjectGroup],
        start: Period | str,
        *,
        actor: str,
        reason: str = "",
    ) -> Ownership:
        """Ownership as the groups' ``customer_ids`` say, from ``start`` on.

        Every customer of a group gets one move to it in ``start``; the groups'
        codes follow their order. Built in bulk (no object per customer).

        Args:
            groups: The project groups.
            start: The month their ownership starts.
            actor: Who is recorded as having made the moves.
            reason: Why (for example ``"project groups formed"``).

        Raises:
            ValidationError: a customer in two groups (naming both), a group id
                given twice, a malformed actor or reason.
        """
        groups = tuple(groups)
        group_ids = _check_group_ids(g.id for g in groups)
        period = Period.parse(start)
        check_text_id("actor", actor)
        _check_reason(None, None, reason)
        customers: list[str] = []
        codes: list[I32Array] = []
        for code, group in enumerate(groups):
            ids = sorted(group.customer_ids)
            customers.extend(ids)
            codes.append(np.full(len(ids), code, dtype=np.int32))
        if len(set(customers)) != len(customers):
            seen: dict[str, str] = {}
            problems: list[Exception] = []
            for group in groups:
                for cid in sorted(group.customer_ids):
                    if cid in seen:
                        problems.append(
                            ValidationError(
                                f"customer {shorten(cid)} is in project groups "
                                f"{shorten(seen[cid])} and {shorten(group.id)}"
                            )
                        )
                    seen.setdefault(cid, group.id)
            raise_problems(problems, "project groups")
        n = len(customers)
        columns = (
            np.array(customers, dtype=object),
            np.concatenate(codes) if codes else np.empty(0, np.int32),
            np.full(n, period.ordinal, dtype=np.int32),
            np.full(n, actor, dtype=object),
            np.full(n, reason, dtype=object),
        )
        return cls._of(group_ids, columns, None)

    @classmethod
    def from_portfolio(
        cls, portfolio: Portfolio, start: Period | str, *, actor: str, reason: str = ""
    ) -> Ownership:
        """:meth:`from_project_groups` with the portfolio's project groups."""
        return cls.from_project_groups(portfolio.project_groups, start, actor=actor, reason=reason)

    # ------------------------------------------------------------------ values

    def __len__(self) -> int:
        return int(self._customer.shape[0])

    def __iter__(self) -> Iterator[OwnershipMove]:
        for i in range(len(self)):
            yield self._move(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ownership):
            return NotImplemented
        return self.group_ids == other.group_ids and all(
            np.array_equal(a, b) for a, b in zip(self._columns(), other._columns(), strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        groups = f"{len(self.group_ids)} groups " + ", ".join(self.group_ids)[:300]
        return short_repr("Ownership", f"{number(len(self))} moves", groups)

    def _repr_html_(self) -> str:
        head = (self._move(i) for i in range(min(len(self), HEAD_ROWS)))
        rows = ((m.customer_id, m.group_id, str(m.period), m.actor, m.reason) for m in head)
        headings = ("customer_id", "group_id", "from", "actor", "reason")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="moves")

    def _columns(self) -> tuple[ObjArray, I32Array, I32Array, ObjArray, ObjArray]:
        return (self._customer, self._group, self._period, self._actor, self._reason)

    def _move(self, i: int) -> OwnershipMove:
        code = int(self._group[i])
        return OwnershipMove(
            str(self._customer[i]),
            None if code == NO_CODE else self.group_ids[code],
            Period.from_ordinal(int(self._period[i])),
            str(self._actor[i]),
            str(self._reason[i]),
        )

    @property
    def moves(self) -> tuple[OwnershipMove, ...]:
        """Every move in the order it was recorded (made on demand)."""
        return tuple(self)

    def group_code(self, group_id: str) -> int:
        """The code of ``group_id``: its position in :attr:`group_ids`.

        Raises:
            UnknownProjectGroupError: not one of the groups.
        """
        try:
            return self.group_ids.index(group_id)
        except ValueError:
            raise UnknownProjectGroupError(
                f"unknown project group {shorten(group_id)}; the groups are "
                f"{', '.join(self.group_ids) or 'none'}"
            ) from None

    # ------------------------------------------------------------------ changes

    def _by_customer(self) -> dict[str, tuple[int, ...]]:
        """Rows of each customer's moves, in period order (built once, on first use)."""
        if self._rows is None:
            lists: dict[str, list[int]] = {}
            for i, cid in enumerate(self._customer.tolist()):
                lists.setdefault(cid, []).append(i)
            period = self._period
            rows = {
                cid: tuple(r) if len(r) == 1 else tuple(sorted(r, key=lambda j: int(period[j])))
                for cid, r in lists.items()
            }
            object.__setattr__(self, "_rows", rows)
            return rows
        return self._rows

    def add(
        self, moves: Iterable[OwnershipMove], *, customers: Container[str] | None = None
    ) -> Ownership:
        """A new ownership with ``moves`` added; this one is left as it was.

        A move may lie before moves already held (a back-dated move): the owner
        in each month is still the group of the latest move at or before it.

        Args:
            moves: The moves, checked as a whole before any is added.
            customers: When given, every move's customer must be in it (a
                :class:`~keyaccount.Portfolio` will do).

        Raises:
            ValidationError: a customer with two moves in one month (in the
                batch, or one already held); the message names the customer
                and the month. Also an item that is not an :class:`OwnershipMove`.
            UnknownProjectGroupError: a group not in :attr:`group_ids`.
            UnknownCustomerError: a customer not in ``customers``.
            PortfolioValidationError: several of these at once. Nothing is added.
        """
        batch: list[object] = list(moves)
        if not batch:
            return self
        rows = self._by_customer()
        codes = {g: c for c, g in enumerate(self.group_ids)}
        problems: list[Exception] = []
        taken: set[tuple[str, int]] = set()
        valid: list[OwnershipMove] = []
        for n, move in enumerate(batch):
            if not isinstance(move, OwnershipMove):
                problems.append(ValidationError(f"move {n}: not an OwnershipMove: {shorten(move)}"))
                continue
            where = f"move {n} (customer {shorten(move.customer_id)}, {move.period})"
            if move.group_id is not None and move.group_id not in codes:
                problems.append(
                    UnknownProjectGroupError(
                        f"{where}: unknown project group {shorten(move.group_id)}; the groups "
                        f"are {', '.join(self.group_ids) or 'none'}"
                    )
                )
                continue
            if customers is not None and move.customer_id not in customers:
                problems.append(
                    UnknownCustomerError(f"{where}: unknown customer {shorten(move.customer_id)}")
                )
                continue
            key = (move.customer_id, move.period.ordinal)
            held = rows.get(move.customer_id, ())
            if any(int(self._period[i]) == key[1] for i in held):
                problems.append(
                    ValidationError(
                        f"{where}: customer {shorten(move.customer_id)} already has a move in "
                        f"{move.period}; a customer moves at most once a month"
                    )
                )
                continue
            if key in taken:
                problems.append(
                    ValidationError(
                        f"{where}: customer {shorten(move.customer_id)} has two moves in "
                        f"{move.period} in this batch; a customer moves at most once a month"
                    )
                )
                continue
            taken.add(key)
            valid.append(move)
        raise_problems(problems, "ownership moves")
        start = len(self)
        columns = (
            np.concatenate([self._customer, np.array([m.customer_id for m in valid], object)]),
            np.concatenate(
                [
                    self._group,
                    np.array(
                        [NO_CODE if m.group_id is None else codes[m.group_id] for m in valid],
                        np.int32,
                    ),
                ]
            ),
            np.concatenate([self._period, np.array([m.period.ordinal for m in valid], np.int32)]),
            np.concatenate([self._actor, np.array([m.actor for m in valid], object)]),
            np.concatenate([self._reason, np.array([m.reason for m in valid], object)]),
        )
        new_rows = dict(rows)
        period = columns[2]
        for offset, move in enumerate(valid):
            mine = (*new_rows.get(move.customer_id, ()), start + offset)
            new_rows[move.customer_id] = tuple(sorted(mine, key=lambda j: int(period[j])))
        return Ownership._of(self.group_ids, columns, new_rows)

    # ------------------------------------------------------------------ queries

    def history(self, customer_id: str) -> tuple[OwnershipMove, ...]:
        """The customer's moves in period order (empty when it never had one)."""
        return tuple(self._move(i) for i in self._by_customer().get(customer_id, ()))

    def owner(self, customer_id: str, period: Period | str) -> str | None:
        """The group that owns ``customer_id`` in ``period``, or ``None``.

        The rule, plainly: the group of the customer's latest move at or before
        ``period``; ``None`` before its first move or after a move to no group.
        """
        month = Period.parse(period)
        owner: str | None = None
        for move in self.history(customer_id):
            if move.period > month:
                break
            owner = move.group_id
        return owner

    def group_codes(
        self, revenue: RevenueColumns, customer_ids: npt.NDArray[np.object_] | Sequence[str]
    ) -> I32Array:
        """The code of the group owning the customer of every record, in bulk.

        Args:
            revenue: The records (customer positions, period ordinals).
            customer_ids: The id of each customer position (for a portfolio,
                ``portfolio.customer_columns.id``). The index built from it is
                kept for the next call with the same array object.

        Returns:
            ``int32`` codes, positions in :attr:`group_ids`; ``NO_CODE`` (-1)
            where the customer belonged to no group in the record's month.
            Equal to :meth:`owner` record by record.
        """
        return self._coded_for(customer_ids).codes_of(revenue.customer, revenue.period)

    def owner_codes(
        self,
        customer_ids: npt.NDArray[np.object_] | Sequence[str],
        periods: npt.NDArray[Any] | Sequence[int] | Period | str,
    ) -> I32Array:
        """The code of the group owning each customer in each month, in bulk.

        Args:
            customer_ids: One customer id per row (repeats allowed; an id
                without moves has no owner).
            periods: One ``Period.ordinal`` per row, or one month for all rows.

        Returns:
            ``int32`` codes, positions in :attr:`group_ids`; ``NO_CODE`` (-1)
            where the customer belonged to no group in the row's month. Equal to
            :meth:`owner` row by row.

        Example:
            >>> own = Ownership(["courts", "banks"], [
            ...     OwnershipMove("C1", "courts", "2021-03", "hq"),
            ...     OwnershipMove("C1", "banks", "2022-07", "hq")])
            >>> months = [Period.parse(p).ordinal for p in ("2021-02", "2022-06", "2022-07")]
            >>> own.owner_codes(["C1", "C1", "C1"], months).tolist()
            [-1, 0, 1]
        """
        ids = np.asarray(customer_ids, dtype=object)
        if ids.ndim != 1:
            raise ValidationError(f"customer ids must be one-dimensional, got shape {ids.shape}")
        if isinstance(periods, Period | str):
            month = np.full(ids.shape[0], Period.parse(periods).ordinal, dtype=np.int64)
        else:
            month = np.asarray(periods, dtype=np.int64)
            if month.shape != ids.shape:
                raise ValidationError(
                    f"{ids.shape[0]} customer ids but periods of shape {month.shape}"
                )
        if ids.shape[0] == 0:
            return np.zeros(0, np.int32)
        position: dict[object, int] = {}
        inverse = np.fromiter(
            (position.setdefault(c, len(position)) for c in ids.tolist()),
            np.int64,
            count=ids.shape[0],
        )
        unique = np.empty(len(position), dtype=object)
        unique[:] = list(position)
        return self._code(unique).codes_of(inverse, month)

    def grid_cells(
        self,
        revenue: RevenueColumns,
        customer_ids: npt.NDArray[np.object_] | Sequence[str],
        first: Period,
        width: int,
        *,
        bins: int = 1,
        customer_bin: npt.NDArray[np.int64] | None = None,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[Any], npt.NDArray[np.intp], npt.NDArray[Any]]:
        """The (owner[, bin]) x month cell of every record with an owner in a window, in bulk.

        The building block of attainment: ``cell = (code * bins + bin) * width +
        (month - first)`` for each record whose customer had an owner (``code``,
        as :meth:`group_codes`) in its month and whose month lies in
        ``first .. first + width - 1``; ``bin`` is ``customer_bin`` of its
        customer (0 when not given).

        Returns:
            A mask of the records of customers with a single move that are kept,
            their cells in record order; the positions of the kept records of
            customers with several moves, and their cells.
        """
        coded = self._coded_for(customer_ids)
        groups = max(len(self.group_ids), 1)
        return coded.cells(
            revenue.customer,
            revenue.period,
            first.ordinal,
            width,
            groups * bins * width,
            bins,
            customer_bin,
        )

    def _coded_for(self, customer_ids: npt.NDArray[np.object_] | Sequence[str]) -> _Coded:
        cached = self._coded
        if cached is not None and cached[0] is customer_ids:
            return cached[1]
        coded = self._code(customer_ids)
        object.__setattr__(self, "_coded", (customer_ids, coded))
        return coded

    def _code(self, customer_ids: npt.NDArray[np.object_] | Sequence[str]) -> _Coded:
        ids = customer_ids.tolist() if isinstance(customer_ids, np.ndarray) else list(customer_ids)
        n = len(ids)
        position = dict(zip(ids, range(n), strict=True))
        pos = np.fromiter(
            map(position.get, self._customer.tolist(), itertools.repeat(-1)),
            np.int64,
            count=len(self),
        )
        known = pos >= 0
        pos, period, group = pos[known], self._period[known], self._group[known]
        order = np.lexsort((period, pos))
        pos, period, group = pos[order], period[order], group[order]
        count = np.bincount(pos, minlength=n)
        first_code = np.full(n, NO_CODE, dtype=np.int32)
        since = np.zeros(n, dtype=np.int32)
        single = count[pos] == 1
        first_code[pos[single]] = group[single]
        since[pos[single]] = period[single]
        several = ~single
        first_code[pos[several]] = _MULTI
        since[pos[several]] = np.iinfo(np.int32).min
        keys = (pos[several] << _PERIOD_BITS) | period[several].astype(np.int64)
        return _Coded(first_code, since, keys, group[several].astype(np.int32))


def _check_group_ids(group_ids: Iterable[str]) -> tuple[str, ...]:
    if isinstance(group_ids, str):
        raise ValidationError(f"group_ids must be a collection of ids, not the text {group_ids!r}")
    ids = tuple(group_ids)
    for gid in ids:
        check_text_id("project group id", gid)
    if len(set(ids)) != len(ids):
        twice = next(g for g in ids if ids.count(g) > 1)
        raise ValidationError(f"project group {shorten(twice)} is given twice")
    return ids
