"""Helpers of the operations tables: ids to keys, subjects that exist, labels, chunks."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Final, TypeVar

import sqlalchemy as sa

from keyaccount.domain import Period, PeriodRange
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.operations import SubjectKind
from keyaccount.store._mapping import utc
from keyaccount.store._tables import customer_table, project_group_table, project_member_table

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "CHUNK",
    "chunked",
    "customer_keys",
    "group_keys",
    "group_members",
    "known_subjects",
    "moment",
    "period_label",
]

CHUNK: Final = 900
"""Ids per ``IN (...)`` list (under SQLite's old limit of 999 parameters)."""

_T = TypeVar("_T")
_C = customer_table
_G = project_group_table
_M = project_member_table


def chunked(values: Iterable[_T], size: int = CHUNK) -> Iterator[list[_T]]:
    """``values`` in lists of at most ``size``."""
    it = iter(values)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def moment(recorded_at: dt.datetime | None) -> dt.datetime:
    """``recorded_at`` as UTC, or now."""
    return utc(recorded_at if recorded_at is not None else dt.datetime.now(dt.UTC))


def group_keys(conn: sa.Connection) -> dict[str, int]:
    """Every project group's key by id, in the order the groups were saved."""
    rows = conn.execute(sa.select(_G.c.group_id, _G.c.group_key).order_by(_G.c.group_key))
    return {gid: int(key) for gid, key in rows}


def group_members(conn: sa.Connection) -> dict[str, frozenset[str]]:
    """The member names of every project group, by group id."""
    names: dict[str, set[str]] = {gid: set() for gid in group_keys(conn)}
    rows = conn.execute(
        sa.select(_G.c.group_id, _M.c.name).join(_M, _M.c.group_key == _G.c.group_key)
    )
    for gid, name in rows:
        names[gid].add(name)
    return {gid: frozenset(n) for gid, n in names.items()}


def customer_keys(conn: sa.Connection, ids: Iterable[str]) -> dict[str, int]:
    """The keys of those of ``ids`` that the store holds, by id."""
    found: dict[str, int] = {}
    for chunk in chunked(sorted(set(ids))):
        rows = conn.execute(
            sa.select(_C.c.customer_id, _C.c.customer_key).where(_C.c.customer_id.in_(chunk))
        )
        found.update((cid, int(key)) for cid, key in rows)
    return found


def known_subjects(
    conn: sa.Connection, subjects: Iterable[tuple[SubjectKind | str, str]]
) -> tuple[frozenset[str], frozenset[str]]:
    """The customers and the project groups among ``subjects`` that the store holds.

    Raises:
        UnknownLabelError: a subject kind that is neither ``CUSTOMER`` nor ``GROUP``.
    """
    customers: set[str] = set()
    groups: set[str] = set()
    for kind, subject in subjects:
        (customers if SubjectKind.parse(kind) is SubjectKind.CUSTOMER else groups).add(subject)
    found_groups = {g for g in group_keys(conn) if g in groups}
    return frozenset(customer_keys(conn, customers)), frozenset(found_groups)


def period_label(period: Period | PeriodRange | str) -> str:
    """The label a payout or a score is stored under: ``"2022"``, ``"2022-03"``, a range.

    Raises:
        ValidationError: not a ``Period``, a ``PeriodRange`` or non-empty text of at
            most 40 characters.
    """
    if isinstance(period, Period | PeriodRange):
        return str(period)
    if isinstance(period, str) and period.strip() and len(period) <= 40:
        return period.strip()
    raise ValidationError(
        f"period must be a Period, a PeriodRange or a label such as '2022', got {shorten(period)}"
    )
