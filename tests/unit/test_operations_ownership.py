from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.demo import generate
from keyaccount.domain import NO_CODE, Period, ProjectGroup
from keyaccount.exceptions import (
    InvalidPeriodError,
    PortfolioValidationError,
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.operations import MAX_REASON_CHARACTERS, Ownership, OwnershipMove
from tests.strategies import PortfolioData, periods, portfolios

if TYPE_CHECKING:
    from random import Random

GROUPS = ("courts", "banks", "nike")
FIRST_MOVE = Period(2018, 6)
LAST_MOVE = Period(2025, 6)


# ---------------------------------------------------------------- strategies


@st.composite
def moves_for(
    draw: st.DrawFn,
    customer_ids: list[str],
    group_ids: tuple[str, ...],
    first: Period = FIRST_MOVE,
    last: Period = LAST_MOVE,
    max_moves: int = 3,
) -> list[OwnershipMove]:
    """0..max_moves moves per customer, in distinct months, to a group or to none."""
    moves: list[OwnershipMove] = []
    for cid in customer_ids:
        months = draw(st.lists(periods(first, last), max_size=max_moves, unique=True))
        for month in months:
            group = draw(st.sampled_from((*group_ids, None)))
            moves.append(OwnershipMove(cid, group, month, draw(st.sampled_from(["hq", "张三"]))))
    return draw(st.permutations(moves))


@attrs.frozen
class Scenario:
    """A generated portfolio with groups and moves."""

    data: PortfolioData
    portfolio: Portfolio
    ownership: Ownership


@st.composite
def scenarios(draw: st.DrawFn, max_customers: int = 6, max_records: int = 30) -> Scenario:
    """A small portfolio, one to three groups and random moves of its customers (and others)."""
    data = draw(portfolios(max_customers=max_customers, max_records=max_records))
    portfolio = Portfolio(data.customers, data.records)
    group_ids = tuple(draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True)))
    ids = [c.id for c in data.customers]
    ids += draw(st.lists(st.sampled_from(["X1", "X2"]), max_size=2, unique=True))
    moves = draw(moves_for(ids, group_ids))
    return Scenario(data, portfolio, Ownership(group_ids, moves))


# ---------------------------------------------------------------- moves


def test_move_fields_are_parsed_and_kept() -> None:
    """A move parses its period and keeps customer, group, actor and reason as given."""
    move = OwnershipMove("C1", "banks", "2022/7", "张三", "card letters")
    assert (move.customer_id, move.group_id, move.period) == ("C1", "banks", Period(2022, 7))
    assert (move.actor, move.reason) == ("张三", "card letters")
    assert OwnershipMove("C1", None, "2022-07", "hq").reason == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "quoted"),
    [
        ({"customer_id": ""}, ValidationError, "customer id"),
        ({"customer_id": " C1"}, ValidationError, "' C1'"),
        ({"group_id": "banks\x00"}, ValidationError, "control character"),
        ({"group_id": ""}, ValidationError, "project group id"),
        ({"period": "2022-13"}, InvalidPeriodError, "2022-13"),
        ({"actor": ""}, ValidationError, "actor"),
        ({"reason": "x" * (MAX_REASON_CHARACTERS + 1)}, ValidationError, "reason"),
    ],
)
def test_bad_moves_are_refused(kwargs: dict[str, str], error: type[Exception], quoted: str) -> None:
    """A move with a malformed id, period, actor or an over-long reason is refused, naming it."""
    fields = {"customer_id": "C1", "group_id": "banks", "period": "2022-07", "actor": "hq"}
    with pytest.raises(error, match=quoted):
        OwnershipMove(**{**fields, **kwargs})


# ---------------------------------------------------------------- the rule


def _mover() -> Ownership:
    return Ownership(
        GROUPS,
        [
            OwnershipMove("C1", "courts", "2021-03", "hq", "project groups formed"),
            OwnershipMove("C1", "banks", "2022-07", "张三", "card letters"),
            OwnershipMove("C1", None, "2023-01", "张三", "contract ended"),
        ],
    )


@pytest.mark.parametrize(
    ("period", "owner"),
    [
        ("2021-02", None),
        ("2021-03", "courts"),
        ("2022-06", "courts"),
        ("2022-07", "banks"),
        ("2022-12", "banks"),
        ("2023-01", None),
        ("2030-05", None),
    ],
)
def test_owner_is_the_group_of_the_latest_move_at_or_before_the_month(
    period: str, owner: str | None
) -> None:
    """A move holds from its month on; before the first move and after leaving there is none."""
    assert _mover().owner("C1", period) == owner


def test_a_customer_without_moves_has_no_owner() -> None:
    """A customer that never moved belongs to no group, and has an empty history."""
    assert _mover().owner("C9", "2022-01") is None
    assert _mover().history("C9") == ()


def test_back_dated_move_takes_effect_between_the_others() -> None:
    """A move recorded later for an earlier month holds until the next; history is by month."""
    own = _mover().add([OwnershipMove("C1", "nike", "2021-10", "李四", "correction")])
    assert own.owner("C1", "2021-09") == "courts"
    assert own.owner("C1", "2022-02") == "nike"
    assert own.owner("C1", "2022-07") == "banks"
    assert [str(m.period) for m in own.history("C1")] == [
        "2021-03",
        "2021-10",
        "2022-07",
        "2023-01",
    ]
    assert [m.reason for m in own.moves][-1] == "correction"  # recorded order is kept


def test_add_returns_a_new_value_and_leaves_the_old_one() -> None:
    """add() gives a new ownership; the one it was called on answers as before."""
    old = _mover()
    new = old.add([OwnershipMove("C2", "nike", "2022-01", "hq")])
    assert len(new) == len(old) + 1
    assert old.owner("C2", "2022-05") is None
    assert new.owner("C2", "2022-05") == "nike"


# ---------------------------------------------------------------- refusals


def test_two_moves_in_one_month_are_refused_naming_customer_and_month() -> None:
    """A second move for the same customer and month is refused, in a batch or against history."""
    own = _mover()
    with pytest.raises(ValidationError, match=r"customer 'C1' already has a move in 2022-07"):
        own.add([OwnershipMove("C1", "nike", "2022-07", "hq")])
    twice = [
        OwnershipMove("C5", "nike", "2022-03", "hq"),
        OwnershipMove("C5", None, "2022-03", "hq"),
    ]
    with pytest.raises(ValidationError, match=r"customer 'C5' has two moves in 2022-03"):
        own.add(twice)


def test_unknown_group_and_customer_are_refused() -> None:
    """A move to a group the ownership lacks, or of a customer not in the portfolio, is refused."""
    pf = Portfolio([Customer("C1", "某法院", "2021-01")])
    own = Ownership(GROUPS)
    with pytest.raises(UnknownProjectGroupError, match="'traffic'"):
        own.add([OwnershipMove("C1", "traffic", "2022-01", "hq")])
    with pytest.raises(UnknownCustomerError, match="'C7'"):
        own.add([OwnershipMove("C7", "courts", "2022-01", "hq")], customers=pf)
    assert own.add([OwnershipMove("C7", "courts", "2022-01", "hq")]).owner("C7", "2022-01")


def test_all_problems_of_a_batch_are_raised_together_and_nothing_is_added() -> None:
    """Several bad moves give one group error listing each; the ownership is unchanged."""
    own = _mover()
    batch = [
        OwnershipMove("C2", "courts", "2022-01", "hq"),
        OwnershipMove("C1", "banks", "2021-03", "hq"),
        OwnershipMove("C3", "traffic", "2022-01", "hq"),
    ]
    with pytest.raises(PortfolioValidationError) as info:
        own.add(batch)
    assert len(info.value.exceptions) == 2
    assert own == _mover()
    assert own.owner("C2", "2022-01") is None


def test_group_ids_must_be_distinct_ids() -> None:
    """The groups of an ownership are distinct, well-formed ids."""
    with pytest.raises(ValidationError, match="given twice"):
        Ownership(["courts", "courts"])
    with pytest.raises(ValidationError, match="collection"):
        Ownership("courts")
    with pytest.raises(UnknownProjectGroupError, match="'traffic'"):
        Ownership(GROUPS).group_code("traffic")
    assert Ownership(GROUPS).group_code("nike") == 2


# ---------------------------------------------------------------- from project groups


def test_static_groups_own_their_customers_from_the_start() -> None:
    """From project groups: each listed customer belongs to its group from the start month on."""
    groups = [
        ProjectGroup("courts", "Courts", "法院项目组", customer_ids=["C1", "C2"]),
        ProjectGroup("banks", "Banks", "银行项目组", customer_ids=["C3"]),
    ]
    own = Ownership.from_project_groups(groups, "2021-03", actor="hq", reason="formed")
    assert own.group_ids == ("courts", "banks")
    assert {own.owner(c, "2021-03") for c in ("C1", "C2")} == {"courts"}
    assert own.owner("C3", "2030-01") == "banks"
    assert own.owner("C3", "2021-02") is None
    assert {m.actor for m in own} == {"hq"}
    assert {m.reason for m in own} == {"formed"}


def test_a_customer_in_two_static_groups_is_refused_naming_both() -> None:
    """A customer listed by two groups cannot be owned by both: the error names both groups."""
    groups = [
        ProjectGroup("courts", "Courts", "法院项目组", customer_ids=["C1"]),
        ProjectGroup("banks", "Banks", "银行项目组", customer_ids=["C1"]),
    ]
    with pytest.raises(ValidationError, match=r"'C1' is in project groups 'courts' and 'banks'"):
        Ownership.from_project_groups(groups, "2021-03", actor="hq")


def test_from_portfolio_follows_the_portfolio_groups() -> None:
    """Ownership from a portfolio gives each customer the group the portfolio says owns it."""
    pf = generate(seed=3, customers=300, months=12)
    own = Ownership.from_portfolio(pf, "2021-12", actor="hq")
    assert own.group_ids == tuple(g.id for g in pf.project_groups)
    for cid in pf.customer_ids[::7]:
        group = pf.project_group_of(cid)
        assert own.owner(cid, "2022-06") == (None if group is None else group.id)


def test_moves_round_trip_through_the_constructor() -> None:
    """An ownership rebuilt from its groups and moves (as a store would) is equal to it."""
    own = _mover().add([OwnershipMove("C2", "nike", "2020-01", "hq", "原因")])
    assert Ownership(own.group_ids, own.moves) == own
    assert Ownership(own.group_ids, own.moves[:-1]) != own


# ---------------------------------------------------------------- bulk codes


def _owner_loop(own: Ownership, pf: Portfolio) -> list[int]:
    """The oracle: owner() record by record, as group codes."""
    rev = pf.revenue_columns
    ids = pf.customer_columns.id
    out = []
    for c, p in zip(rev.customer.tolist(), rev.period.tolist(), strict=True):
        owner = own.owner(str(ids[c]), Period.from_ordinal(p))
        out.append(NO_CODE if owner is None else own.group_code(owner))
    return out


@given(scenarios())
def test_bulk_group_codes_equal_the_owner_rule(scenario: Scenario) -> None:
    """group_codes() gives, for every record, the code of owner() in the record's month."""
    pf, own = scenario.portfolio, scenario.ownership
    codes = own.group_codes(pf.revenue_columns, pf.customer_columns.id)
    assert codes.dtype == np.int32
    assert codes.tolist() == _owner_loop(own, pf)


@given(scenarios(), st.randoms(use_true_random=False))
def test_bulk_group_codes_follow_the_given_customer_order(scenario: Scenario, rnd: Random) -> None:
    """Positions are read through the customer ids given, whatever their order (a list will do)."""
    pf, own = scenario.portfolio, scenario.ownership
    ids = pf.customer_ids
    order = list(range(len(ids)))
    rnd.shuffle(order)
    rev = pf.revenue_columns
    shuffled = attrs.evolve(
        rev, customer=np.array([order.index(c) for c in rev.customer.tolist()], np.int32)
    )
    codes = own.group_codes(shuffled, [ids[i] for i in order])
    assert codes.tolist() == _owner_loop(own, pf)


def test_bulk_codes_see_moves_added_later() -> None:
    """A new ownership from add() answers with its own moves, not a cached index of the old one."""
    pf = Portfolio(
        [Customer("C1", "某法院", "2022-01")],
        [RevenueRecord("C1", "court_express", f"2022-{m:02d}", "100") for m in range(1, 7)],
    )
    own = Ownership(GROUPS, [OwnershipMove("C1", "courts", "2022-01", "hq")])
    ids = pf.customer_columns.id
    assert set(own.group_codes(pf.revenue_columns, ids).tolist()) == {0}
    moved = own.add([OwnershipMove("C1", "banks", "2022-04", "hq")])
    assert moved.group_codes(pf.revenue_columns, ids).tolist() == [0, 0, 0, 1, 1, 1]
    assert set(own.group_codes(pf.revenue_columns, ids).tolist()) == {0}
