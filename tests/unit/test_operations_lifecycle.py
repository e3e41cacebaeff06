"""The project lifecycle (PM管理法): the closed loop, illegal moves, the history of moves."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Stage
from keyaccount.exceptions import IllegalMoveError, ValidationError
from keyaccount.operations import (
    ALLOWED_MOVES,
    ProjectLifecycle,
    StageMove,
    allowed_moves,
    check_move,
)

D0 = dt.date(2024, 1, 2)
LOOP = [Stage.PLAN, Stage.EXECUTE, Stage.MONITOR, Stage.REVIEW, Stage.IMPROVE]


def test_docstring_examples_run() -> None:
    """The examples in the lifecycle module's docstrings run and give what they show."""
    module = importlib.import_module("keyaccount.operations._lifecycle")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_a_project_goes_round_the_closed_loop() -> None:
    """Start, plan, execute, monitor, review, improve, then plan again."""
    p = ProjectLifecycle("courts-2024")
    assert p.stage is Stage.START
    for n, stage in enumerate([*LOOP, *LOOP]):
        p = p.move(stage, who="Li", on=D0 + dt.timedelta(days=n))
    assert p.stage is Stage.IMPROVE
    assert p.loops == 1
    assert [m.after for m in p.moves] == [*LOOP, *LOOP]


def test_every_stage_has_exactly_one_way_forward_and_the_loop_never_returns_to_start() -> None:
    """The allowed moves form one cycle through plan..improve entered once from start."""
    assert {s: len(t) for s, t in ALLOWED_MOVES.items()} == dict.fromkeys(Stage, 1)
    assert all(Stage.START not in targets for targets in ALLOWED_MOVES.values())
    stage, seen = Stage.PLAN, []
    for _ in LOOP:
        seen.append(stage)
        (stage,) = allowed_moves(stage)
    assert stage is Stage.PLAN
    assert seen == LOOP


ILLEGAL = [(a, b) for a in Stage for b in Stage if b not in ALLOWED_MOVES[a]]


@pytest.mark.parametrize(("current", "requested"), ILLEGAL)
def test_an_illegal_move_names_both_stages_and_the_allowed_ones(
    current: Stage, requested: Stage
) -> None:
    """Any move outside the loop raises IllegalMoveError naming from, to and the choices."""
    with pytest.raises(IllegalMoveError) as info:
        check_move(current, requested, what="project 'p1'")
    error = info.value
    assert (error.current, error.requested) == (current.name, requested.name)
    assert error.allowed == tuple(s.name for s in ALLOWED_MOVES[current])
    assert current.name in str(error)
    assert requested.name in str(error)
    assert "'p1'" in str(error)


def test_a_refused_move_leaves_the_project_as_it_was() -> None:
    """An illegal move raises and the lifecycle value keeps its stage and history."""
    p = ProjectLifecycle("p1").move("规划", who="Li", on=D0)
    with pytest.raises(IllegalMoveError, match="PLAN to REVIEW"):
        p.move(Stage.REVIEW, who="Li", on=D0)
    assert p.stage is Stage.PLAN
    assert len(p.moves) == 1


def test_each_move_is_kept_with_who_when_from_and_to() -> None:
    """The history records each move; moving returns a new value, the old one unchanged."""
    start = ProjectLifecycle("p1")
    planned = start.move(Stage.PLAN, who="Li", on=D0)
    executing = planned.move(Stage.EXECUTE, who="Zhao", on="2024-02-01")
    assert start.moves == ()
    assert planned.moves == executing.moves[:1]
    last = executing.moves[-1]
    assert (last.project_id, last.seq, last.who, last.when, last.before, last.after) == (
        "p1",
        2,
        "Zhao",
        dt.date(2024, 2, 1),
        Stage.PLAN,
        Stage.EXECUTE,
    )
    assert executing.stage_on(dt.date(2024, 1, 31)) is Stage.PLAN
    assert executing.stage_on(dt.date(2024, 1, 1)) is Stage.START


def test_a_move_dated_before_the_previous_one_or_without_a_person_is_refused() -> None:
    """Moves are dated in order and name who made them."""
    p = ProjectLifecycle("p1").move(Stage.PLAN, who="Li", on=D0)
    with pytest.raises(ValidationError, match="before the last move"):
        p.move(Stage.EXECUTE, who="Li", on=D0 - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="who"):
        p.move(Stage.EXECUTE, who=" ", on=D0)


def test_a_stored_history_that_skips_a_stage_is_refused() -> None:
    """Rebuilding a lifecycle from moves checks every move against the loop."""
    good = StageMove("p1", 1, "Li", D0, Stage.START, Stage.PLAN)
    assert ProjectLifecycle("p1", [good]).stage is Stage.PLAN
    skip = StageMove("p1", 2, "Li", D0, Stage.PLAN, Stage.MONITOR)
    with pytest.raises(IllegalMoveError, match="PLAN to MONITOR"):
        ProjectLifecycle("p1", [good, skip])
    wrong_start = StageMove("p1", 1, "Li", D0, Stage.PLAN, Stage.EXECUTE)
    with pytest.raises(ValidationError, match="project is at START"):
        ProjectLifecycle("p1", [wrong_start])
    other = StageMove("p2", 1, "Li", D0, Stage.START, Stage.PLAN)
    with pytest.raises(ValidationError, match="belongs to project"):
        ProjectLifecycle("p1", [other])


@given(st.lists(st.sampled_from(list(Stage)), max_size=40))
def test_only_allowed_moves_are_accepted_and_history_only_grows(requests: list[Stage]) -> None:
    """For any requested stages, exactly the allowed moves are taken and appended."""
    p = ProjectLifecycle("p1")
    for n, requested in enumerate(requests):
        before = p
        allowed = requested in ALLOWED_MOVES[p.stage]
        try:
            p = p.move(requested, who="Li", on=D0 + dt.timedelta(days=n))
        except IllegalMoveError:
            assert not allowed
            assert p is before
            continue
        assert allowed
        assert p.moves[:-1] == before.moves
        assert (p.moves[-1].before, p.moves[-1].after) == (before.stage, requested)
