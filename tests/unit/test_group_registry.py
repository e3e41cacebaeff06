"""Project groups added by set operations against the id-by-id check, over random sequences."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import ProjectGroup
from keyaccount.exceptions import PortfolioValidationError, UnknownCustomerError, ValidationError
from keyaccount.portfolio._groups import GroupRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator

KNOWN = [f"C{i}" for i in range(8)]
_ADD = st.tuples(
    st.sampled_from(["courts", "banks", "traffic"]),
    st.frozensets(st.sampled_from([*KNOWN, "X1", "X2"]), max_size=6),
)


class _Ids:
    """A container that is neither set nor dict: the registry checks it id by id."""

    def __init__(self, ids: list[str]) -> None:
        self._ids = set(ids)

    def __contains__(self, value: object) -> bool:
        return value in self._ids

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - never iterated
        return iter(self._ids)


def _outcome(registry: GroupRegistry, group: ProjectGroup, customers: object) -> str:
    try:
        registry.add(group, customers)  # type: ignore[arg-type]
    except (UnknownCustomerError, ValidationError, PortfolioValidationError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "added"


def _state(registry: GroupRegistry) -> tuple[object, ...]:
    owners = {cid: getattr(registry.owner(cid), "id", None) for cid in KNOWN}
    return (registry.groups(), owners)


@given(st.lists(_ADD, max_size=8))
def test_set_checked_add_matches_the_id_by_id_check(adds: list[tuple[str, frozenset[str]]]) -> None:
    """Every add gives the same refusal (message and order) or the same groups and owners."""
    fast, plain = GroupRegistry(), GroupRegistry()
    positions = {cid: i for i, cid in enumerate(KNOWN)}
    for gid, ids in adds:
        group = ProjectGroup(gid, gid, gid, customer_ids=ids)
        assert _outcome(fast, group, positions) == _outcome(plain, group, _Ids(KNOWN))
        assert _state(fast) == _state(plain)


def test_conflicts_and_unknown_ids_are_reported_in_id_order() -> None:
    """An unknown id and a customer owned elsewhere are both listed in id order; nothing added."""
    registry = GroupRegistry()
    positions = {cid: i for i, cid in enumerate(KNOWN)}
    registry.add(ProjectGroup("banks", "b", "b", customer_ids={"C1", "C2"}), positions)
    with pytest.raises(PortfolioValidationError) as caught:
        registry.add(ProjectGroup("courts", "c", "c", customer_ids={"X1", "C2"}), positions)
    assert [str(e) for e in caught.value.exceptions] == [
        "project group 'courts': customer 'C2' already belongs to 'banks'",
        "project group 'courts': unknown customer 'X1'",
    ]
    assert [g.id for g in registry.groups()] == ["banks"]
    registry.add(ProjectGroup("banks", "b", "b", customer_ids={"C2", "C3"}), positions)
    assert registry.owner("C1") is None
    assert registry.owner("C3") is registry.get("banks")
