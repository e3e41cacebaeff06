"""Ownership moves, targets, performance scores and project lifecycles in the store.

Every write checks its input with the operations room's own rules first (an
:class:`~keyaccount.operations.Ownership`, :class:`~keyaccount.operations.Targets` or
:class:`~keyaccount.operations.ProjectLifecycle` built from the stored rows and the new
ones), then against what only the store knows (the customers, groups and members it
holds), and writes nothing unless everything is good; the tables' constraints back this
up.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from keyaccount.domain import Period, Stage
from keyaccount.exceptions import (
    PortfolioValidationError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations import (
    MemberScore,
    Ownership,
    OwnershipMove,
    PeriodSpan,
    ProjectLifecycle,
    SpanKind,
    StageMove,
    Target,
    Targets,
)
from keyaccount.store._bulk import BulkWriter
from keyaccount.store._operations_keys import (
    chunked,
    customer_keys,
    group_keys,
    group_members,
    moment,
)
from keyaccount.store._tables import (
    customer_table,
    member_score_table,
    ownership_move_table,
    project_group_table,
    stage_move_table,
    target_table,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence


__all__ = [
    "load_lifecycle",
    "load_lifecycles",
    "load_ownership",
    "load_scores",
    "load_targets",
    "move_stage",
    "put_scores",
    "put_targets",
    "record_moves",
]

_C = customer_table
_G = project_group_table
_OM = ownership_move_table
_T = target_table
_S = member_score_table
_SM = stage_move_table
_MOVE_COLUMNS: Final = ("customer_key", "group_key", "period", "actor", "reason", "recorded_at")
_ALL_MOVES: Final = 20_000
"""From this many customers in a batch on, their stored moves are read in one query."""


def _raise(problems: list[Exception], what: str) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        shown = problems[:1000]
        more = " (first 1000 listed)" if len(problems) > 1000 else ""
        raise PortfolioValidationError(f"{len(problems)} problems in {what}{more}", shown)


# ---------------------------------------------------------------- ownership


def _moves_select() -> sa.Select[Any]:
    return (
        sa.select(_C.c.customer_id, _G.c.group_id, _OM.c.period, _OM.c.actor, _OM.c.reason)
        .select_from(_OM)
        .join(_C, _C.c.customer_key == _OM.c.customer_key)
        .outerjoin(_G, _G.c.group_key == _OM.c.group_key)
        .order_by(_OM.c.move_key)
    )


def _move(row: Sequence[Any]) -> OwnershipMove:
    return OwnershipMove(row[0], row[1], Period.from_ordinal(int(row[2])), row[3], row[4])


def load_ownership(conn: sa.Connection) -> Ownership:
    """Every recorded move, in the order recorded; the groups in the order they were saved."""
    return Ownership(group_keys(conn), [_move(r) for r in conn.execute(_moves_select())])


def record_moves(
    conn: sa.Connection, moves: Iterable[OwnershipMove], recorded_at: dt.datetime | None
) -> int:
    """Check ``moves`` against the stored moves of their customers and append them.

    Raises:
        ValidationError: a customer with two moves in one month (in the batch or
            against the history), or an item that is not an ``OwnershipMove``.
        UnknownProjectGroupError: a group the store does not hold.
        UnknownCustomerError: a customer the store does not hold.
        PortfolioValidationError: several of these; nothing is written.
    """
    batch = list(moves)
    if not batch:
        return 0
    ids = {m.customer_id for m in batch if isinstance(m, OwnershipMove)}
    keys = customer_keys(conn, ids)
    groups = group_keys(conn)
    held: list[OwnershipMove] = []
    if len(keys) > _ALL_MOVES:  # a large batch: one read of every stored move
        held = [_move(r) for r in conn.execute(_moves_select())]
    else:
        for chunk in chunked(sorted(keys.values())):
            held += [
                _move(r) for r in conn.execute(_moves_select().where(_OM.c.customer_key.in_(chunk)))
            ]
    Ownership(groups, held).add(batch, customers=keys)  # the room's own checks; raises
    when: object = moment(recorded_at)
    if conn.dialect.name == "sqlite":  # the raw driver gets text, as SQLAlchemy writes it
        when = moment(recorded_at).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    rows = (
        (
            keys[m.customer_id],
            None if m.group_id is None else groups[m.group_id],
            m.period.ordinal,
            m.actor,
            m.reason,
            when,
        )
        for m in batch
    )
    with BulkWriter(conn, large=False) as writer:
        writer.insert(_OM.name, _MOVE_COLUMNS, rows)
    return len(batch)


# ---------------------------------------------------------------- targets


def load_targets(conn: sa.Connection) -> Targets:
    """Every stored target, in the order stored."""
    rows = conn.execute(
        sa.select(_G.c.group_id, _T.c.member, _T.c.span_kind, _T.c.span_start, _T.c.target_fen)
        .join(_G, _G.c.group_key == _T.c.group_key)
        .order_by(_T.c.target_key)
    )
    return Targets(
        Target.from_fen(
            gid,
            PeriodSpan(SpanKind[kind], Period.from_ordinal(int(start))),
            int(fen),
            member=member or None,
        )
        for gid, member, kind, start, fen in rows
    )


def put_targets(conn: sa.Connection, targets: Targets | Iterable[Target]) -> int:
    """Store new targets; a key already stored, an unknown group or member is refused.

    Raises:
        ValidationError: a target given twice in the batch or already stored, a member
            that is not in the group, an item that is not a ``Target``.
        UnknownProjectGroupError: a group the store does not hold.
        PortfolioValidationError: several problems; nothing is written.
    """
    new = targets if isinstance(targets, Targets) else Targets(targets)  # the room's checks
    if not len(new):
        return 0
    stored = {t.key for t in load_targets(conn)}
    groups = group_keys(conn)
    members = group_members(conn)
    problems: list[Exception] = []
    for n, t in enumerate(new):
        who = f"group {shorten(t.group_id)}" + (
            "" if t.member is None else f", member {shorten(t.member)}"
        )
        where = f"target {n} ({who}, {t.span})"
        if t.group_id not in groups:
            problems.append(
                UnknownProjectGroupError(f"{where}: unknown project group {shorten(t.group_id)}")
            )
        elif t.member is not None and t.member not in members[t.group_id]:
            names = ", ".join(sorted(members[t.group_id])) or "none"
            problems.append(
                ValidationError(
                    f"{where}: {shorten(t.member)} is not a member of project group "
                    f"{shorten(t.group_id)} (members: {names})"
                )
            )
        elif t.key in stored:
            problems.append(
                ValidationError(
                    f"{where}: a target for this key is already stored; stored targets are "
                    "not changed"
                )
            )
    _raise(problems, "targets")
    conn.execute(
        sa.insert(_T),
        [
            {
                "group_key": groups[t.group_id],
                "member": t.member or "",
                "span_kind": t.span.kind.name,
                "span_start": t.span.start.ordinal,
                "target_fen": t.fen,
            }
            for t in new
        ],
    )
    return len(new)


# ---------------------------------------------------------------- scores


def put_scores(conn: sa.Connection, scores: Iterable[MemberScore]) -> int:
    """Store members' performance scores per year (exact decimals); the number written.

    Raises:
        ValidationError: a score that is not a ``MemberScore`` with a number >= 0, a member
            not in the group, a score given twice or already stored.
        UnknownProjectGroupError: a group the store does not hold.
        PortfolioValidationError: several problems; nothing is written.
    """
    batch: list[object] = list(scores)
    checked: list[MemberScore] = []
    groups = group_keys(conn)
    members = group_members(conn)
    stored = {
        (int(year), gid, member)
        for year, gid, member in conn.execute(
            sa.select(_S.c.year, _G.c.group_id, _S.c.member).join(
                _G, _G.c.group_key == _S.c.group_key
            )
        )
    }
    problems: list[Exception] = []
    seen: set[tuple[int, str, str]] = set()
    for n, s in enumerate(batch):
        if not isinstance(s, MemberScore):
            problems.append(ValidationError(f"score {n}: not a MemberScore: {shorten(s)}"))
            continue
        where = f"score {n} ({shorten(s.member)} in group {shorten(s.group_id)}, {s.year})"
        key = (s.year, s.group_id, s.member)
        if s.group_id not in groups:
            problems.append(
                UnknownProjectGroupError(f"{where}: unknown project group {shorten(s.group_id)}")
            )
        elif s.member not in members[s.group_id]:
            problems.append(ValidationError(f"{where}: not a member of the group"))
        elif not isinstance(s.score, Decimal) or not s.score.is_finite() or s.score < 0:
            problems.append(
                ValidationError(
                    f"{where}: a score is a finite Decimal >= 0, got {shorten(s.score)}"
                )
            )
        elif key in stored or key in seen:
            problems.append(
                ValidationError(
                    f"{where}: given twice or already stored; stored scores are not changed"
                )
            )
        seen.add(key)
        checked.append(s)
    _raise(problems, "scores")
    if checked:
        conn.execute(
            sa.insert(_S),
            [
                {
                    "year": s.year,
                    "group_key": groups[s.group_id],
                    "member": s.member,
                    "score": str(s.score),
                }
                for s in checked
            ],
        )
    return len(checked)


def load_scores(conn: sa.Connection, year: int | None) -> tuple[MemberScore, ...]:
    """The stored scores (of ``year``), in the order stored."""
    stmt = (
        sa.select(_S.c.year, _G.c.group_id, _S.c.member, _S.c.score)
        .join(_G, _G.c.group_key == _S.c.group_key)
        .order_by(_S.c.score_key)
    )
    if year is not None:
        stmt = stmt.where(_S.c.year == year)
    return tuple(
        MemberScore(gid, int(y), member, Decimal(score))
        for y, gid, member, score in conn.execute(stmt)
    )


# ---------------------------------------------------------------- lifecycles


def _stage_moves(conn: sa.Connection, project_id: str | None) -> dict[str, list[StageMove]]:
    stmt = sa.select(
        _SM.c.project_id, _SM.c.seq, _SM.c.who, _SM.c.moved_on, _SM.c.from_stage, _SM.c.to_stage
    ).order_by(_SM.c.move_key)
    if project_id is not None:
        stmt = stmt.where(_SM.c.project_id == project_id)
    out: dict[str, list[StageMove]] = defaultdict(list)
    for pid, seq, who, day, before, after in conn.execute(stmt):
        out[pid].append(StageMove(pid, int(seq), who, day, Stage[before], Stage[after]))
    return out


def load_lifecycle(conn: sa.Connection, project_id: str) -> ProjectLifecycle:
    """A project's lifecycle from its stored moves (``START`` when it has none)."""
    return ProjectLifecycle(project_id, _stage_moves(conn, project_id).get(project_id, ()))


def load_lifecycles(conn: sa.Connection) -> tuple[ProjectLifecycle, ...]:
    """The lifecycles of every project with a stored move, in the order first moved."""
    return tuple(ProjectLifecycle(pid, moves) for pid, moves in _stage_moves(conn, None).items())


def move_stage(
    conn: sa.Connection, project_id: str, to: Stage | str, *, who: str, on: dt.date | str
) -> ProjectLifecycle:
    """Move a project to ``to`` (checked by ``ProjectLifecycle.move``) and append the move.

    Raises:
        IllegalMoveError: a move the loop does not allow (naming both stages).
        ValidationError: a blank ``who``, or ``on`` before the previous move.
    """
    moved = load_lifecycle(conn, project_id).move(to, who=who, on=on)
    last = moved.moves[-1]
    conn.execute(
        sa.insert(_SM).values(
            project_id=last.project_id,
            seq=last.seq,
            who=last.who,
            moved_on=last.when,
            from_stage=last.before.name,
            to_stage=last.after.name,
        )
    )
    return moved
