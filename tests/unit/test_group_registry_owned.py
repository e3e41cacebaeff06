"""Project groups added by an owner array (a loader's bulk path) against one group at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio
from keyaccount.domain import ProjectGroup
from keyaccount.exceptions import ValidationError
from keyaccount.portfolio._groups import GroupRegistry

IDS = np.array([f"C{i}" for i in range(10)], dtype=object)
GROUPS = (
    ProjectGroup("courts", "Courts", "法院项目组", segment="司法"),
    ProjectGroup("banks", "Banks", "银行项目组"),
    ProjectGroup("nike", "Nike", "耐克项目组", customer_ids=["C9"]),  # ignored by add_owned
)


def _state(registry: GroupRegistry) -> tuple[object, ...]:
    owners = {cid: getattr(registry.owner(cid), "id", None) for cid in IDS.tolist()}
    return (len(registry), registry.groups(), owners)


@given(st.lists(st.integers(-1, len(GROUPS) - 1), min_size=len(IDS), max_size=len(IDS)))
def test_owner_array_gives_the_groups_of_one_add_each(owners: list[int]) -> None:
    """Groups, owners and count equal those of adding each group with its ids by add()."""
    owner = np.array(owners, dtype=np.int32)
    bulk, plain = GroupRegistry(), GroupRegistry()
    bulk.add_owned(GROUPS, owner, IDS)
    assert len(bulk) == len(GROUPS)  # before the groups are made
    positions = {cid: i for i, cid in enumerate(IDS.tolist())}
    for g, group in enumerate(GROUPS):
        owned = IDS[owner == g].tolist()
        plain.add(
            ProjectGroup(
                group.id, group.name_en, group.name_zh, segment=group.segment, customer_ids=owned
            ),
            positions,
        )
    assert _state(bulk) == _state(plain)


def test_groups_added_later_are_checked_against_the_owned_ones() -> None:
    """After the bulk path, add() still refuses a customer another group owns."""
    registry = GroupRegistry()
    registry.add_owned(GROUPS[:1], np.array([0, *[-1] * 9], dtype=np.int32), IDS)
    with pytest.raises(ValidationError, match="'C0' already belongs to 'courts'"):
        registry.add(ProjectGroup("banks", "b", "b", customer_ids=["C0"]), set(IDS.tolist()))
    assert registry.get("courts").customer_ids == frozenset({"C0"})


@pytest.mark.parametrize(
    ("owner", "groups", "message"),
    [
        (np.zeros(3, dtype=np.int32), GROUPS, "3 owners for 10 customers"),
        (np.full(10, 3, dtype=np.int32), GROUPS, "index 3 is not one of the 3 groups"),
        (np.full(10, -2, dtype=np.int32), GROUPS, "index -2"),
        (np.zeros(10, dtype=np.int32), (GROUPS[0], GROUPS[0]), "'courts' given twice"),
        (np.zeros(10, dtype=np.float64), GROUPS, "must be integers"),
    ],
)
def test_owner_arrays_out_of_range_are_refused(
    owner: np.ndarray, groups: tuple[ProjectGroup, ...], message: str
) -> None:
    """A length, an index or a group id that does not fit is refused and nothing is added."""
    registry = GroupRegistry()
    with pytest.raises(ValidationError, match=message):
        registry.add_owned(groups, owner, IDS)
    assert registry.groups() == ()


def test_owner_arrays_need_an_empty_registry() -> None:
    """The bulk path refuses a registry that already holds groups."""
    registry = GroupRegistry()
    registry.add(GROUPS[1], {"C1": 1})
    with pytest.raises(ValidationError, match="not empty"):
        registry.add_owned(GROUPS[:1], np.full(10, -1, dtype=np.int32), IDS)


def test_portfolio_takes_groups_by_owner_array() -> None:
    """Portfolio.add_owned_project_groups gives the groups and owners of add_project_group."""
    pf = Portfolio([Customer(c, c, "2022-01") for c in ("A", "B", "C")])
    pf.add_owned_project_groups(GROUPS[:2], np.array([1, -1, 0], dtype=np.int32))
    assert [g.id for g in pf.project_groups] == ["courts", "banks"]
    assert pf.project_group("banks").customer_ids == frozenset({"A"})
    assert pf.project_group_of("C") == pf.project_group("courts")
    assert pf.project_group_of("B") is None
