"""The project lifecycle (PM管理法): a closed loop of stages with only the allowed moves.

start 启动 -> plan 规划 -> execute 执行 -> monitor 监控 -> review 复盘 -> improve 再提升 ->
plan again. The source text names the stages and their order and calls the loop closed; it
names no other move, so no other is allowed: no skipping a stage, no going back, no
leaving the loop (improve leads only to plan, never to start).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Final

import attrs

from keyaccount.domain import Stage
from keyaccount.exceptions import IllegalMoveError, ValidationError, shorten
from keyaccount.operations._supervision_items import to_date
from keyaccount.utils.display import html_table, number, short_repr

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Mapping

__all__ = [
    "ALLOWED_MOVES",
    "ProjectLifecycle",
    "StageMove",
    "allowed_moves",
    "check_move",
]

ALLOWED_MOVES: Final[Mapping[Stage, tuple[Stage, ...]]] = types.MappingProxyType(
    {
        Stage.START: (Stage.PLAN,),
        Stage.PLAN: (Stage.EXECUTE,),
        Stage.EXECUTE: (Stage.MONITOR,),
        Stage.MONITOR: (Stage.REVIEW,),
        Stage.REVIEW: (Stage.IMPROVE,),
        Stage.IMPROVE: (Stage.PLAN,),
    }
)
"""The stages each stage may move to: the closed loop and nothing else."""


def allowed_moves(stage: Stage | str) -> tuple[Stage, ...]:
    """The stages ``stage`` may move to.

    Example:
        >>> allowed_moves("再提升")
        (<Stage.PLAN: '规划'>,)
    """
    return ALLOWED_MOVES[Stage.parse(stage)]


def check_move(current: Stage | str, requested: Stage | str, *, what: str = "project") -> Stage:
    """Return the requested stage when the move is allowed.

    Raises:
        IllegalMoveError: the move is not allowed; the message names ``what``, both stages
            and the stages allowed from ``current``.
    """
    here, there = Stage.parse(current), Stage.parse(requested)
    allowed = ALLOWED_MOVES[here]
    if there not in allowed:
        raise IllegalMoveError(what, here.name, there.name, [s.name for s in allowed])
    return there


def _who(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be non-empty text, got {shorten(value)}")


def _stage(value: Stage | str) -> Stage:
    return Stage.parse(value)


@attrs.frozen
class StageMove:
    """One move of a project's lifecycle: an append-only history row.

    Attributes:
        project_id: The project.
        seq: Its position in the project's history, from 1.
        who: Who moved it.
        when: The day.
        before: The stage it left.
        after: The stage it entered.
    """

    project_id: str = attrs.field(validator=_who)
    seq: int
    who: str = attrs.field(validator=_who)
    when: dt.date = attrs.field(converter=to_date)
    before: Stage = attrs.field(converter=_stage)
    after: Stage = attrs.field(converter=_stage)


def _moves(values: Iterable[StageMove]) -> tuple[StageMove, ...]:
    return tuple(values)


@attrs.frozen
class ProjectLifecycle:
    """A project's stage and the history of its moves; :meth:`move` returns the next value.

    A project starts at ``START``; every move is checked against :data:`ALLOWED_MOVES` and
    kept (who, when, from, to). Moves are dated on or after the previous one.

    Example:
        >>> p = ProjectLifecycle("court-ems-2024")
        >>> p = p.move("PLAN", who="Li", on="2024-01-05").move("EXECUTE", who="Li", on="2024-02-01")
        >>> p.stage, len(p.moves)
        (<Stage.EXECUTE: '执行'>, 2)
        >>> from keyaccount.exceptions import IllegalMoveError
        >>> try:
        ...     p.move("REVIEW", who="Li", on="2024-03-01")
        ... except IllegalMoveError as e:
        ...     print(e.current, e.requested, e.allowed)
        EXECUTE REVIEW ('MONITOR',)
    """

    project_id: str = attrs.field(validator=_who)
    moves: tuple[StageMove, ...] = attrs.field(default=(), converter=_moves)

    def __attrs_post_init__(self) -> None:
        stage = Stage.START
        last: dt.date | None = None
        for n, m in enumerate(self.moves, start=1):
            if m.project_id != self.project_id or m.seq != n:
                raise ValidationError(
                    f"project {self.project_id!r}: move #{n} belongs to project "
                    f"{m.project_id!r} at position {m.seq}"
                )
            if m.before is not stage:
                raise ValidationError(
                    f"project {self.project_id!r}: move #{n} leaves {m.before.name}, but the "
                    f"project is at {stage.name}"
                )
            if last is not None and m.when < last:
                raise ValidationError(
                    f"project {self.project_id!r}: move #{n} on {m.when} is dated before the "
                    f"move before it ({last})"
                )
            stage = check_move(stage, m.after, what=f"project {self.project_id!r}")
            last = m.when

    @property
    def stage(self) -> Stage:
        """The current stage (``START`` before any move)."""
        return self.moves[-1].after if self.moves else Stage.START

    @property
    def allowed(self) -> tuple[Stage, ...]:
        """The stages the project may move to now."""
        return ALLOWED_MOVES[self.stage]

    @property
    def loops(self) -> int:
        """How many times the loop was closed (moves from ``IMPROVE`` back to ``PLAN``)."""
        return sum(1 for m in self.moves if m.before is Stage.IMPROVE)

    def __repr__(self) -> str:
        size = f"{number(len(self.moves))} moves, {number(self.loops)} loops"
        return short_repr("ProjectLifecycle", size, project_id=self.project_id, stage=self.stage)

    def _repr_html_(self) -> str:
        rows = ((m.seq, m.who, m.when, m.before, m.after) for m in self.moves)
        headings = ("seq", "who", "when", "from", "to")
        return html_table(headings, rows, total=len(self.moves), caption=repr(self), unit="moves")

    def stage_on(self, day: dt.date | str) -> Stage:
        """The stage at the end of ``day``."""
        d = to_date(day)
        stage = Stage.START
        for m in self.moves:
            if m.when > d:
                break
            stage = m.after
        return stage

    def move(self, to: Stage | str, *, who: str, on: dt.date | str) -> ProjectLifecycle:
        """The lifecycle after moving to ``to``; this value is left as it was.

        Raises:
            IllegalMoveError: a move the loop does not allow (naming both stages and the
                allowed ones).
            ValidationError: a blank ``who``, or ``on`` before the previous move.
        """
        target = check_move(self.stage, to, what=f"project {self.project_id!r}")
        day = to_date(on)
        if self.moves and day < self.moves[-1].when:
            raise ValidationError(
                f"project {self.project_id!r}: a move on {day} is dated before the last move "
                f"({self.moves[-1].when})"
            )
        move = StageMove(self.project_id, len(self.moves) + 1, who, day, self.stage, target)
        return attrs.evolve(self, moves=(*self.moves, move))
