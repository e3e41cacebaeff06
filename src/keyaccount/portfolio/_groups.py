"""The project groups of a portfolio and the customers each owns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.exceptions import (
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.portfolio._problems import raise_problems

if TYPE_CHECKING:
    from collections.abc import Container

    from keyaccount.domain import ProjectGroup

__all__ = ["GroupRegistry"]


class GroupRegistry:
    """Project groups by id, in the order they were added, and the owner of each customer."""

    def __init__(self) -> None:
        self._groups: dict[str, ProjectGroup] = {}
        self._group_of: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def groups(self) -> tuple[ProjectGroup, ...]:
        """The groups in the order they were added."""
        return tuple(self._groups.values())

    def get(self, group_id: str) -> ProjectGroup:
        """The group with ``group_id``.

        Raises:
            UnknownProjectGroupError: (a ``KeyError``) no such group.
        """
        try:
            return self._groups[group_id]
        except KeyError:
            raise UnknownProjectGroupError(f"unknown project group {group_id!r}") from None

    def owner(self, customer_id: str) -> ProjectGroup | None:
        """The group that owns ``customer_id``, if any."""
        gid = self._group_of.get(customer_id)
        return None if gid is None else self._groups[gid]

    def add(self, group: ProjectGroup, customers: Container[str]) -> None:
        """Add ``group``, or replace the one with the same id.

        Args:
            group: The group.
            customers: The ids of the customers a group may own.

        Raises:
            UnknownCustomerError: the group owns a customer not in ``customers``.
            ValidationError: a customer already owned by another group.
            PortfolioValidationError: several of these at once. Nothing is changed.
        """
        if not self._clear(group, customers):
            self._refuse(group, customers)
        old = self._groups.get(group.id)
        if old is not None:
            for cid in old.customer_ids:
                del self._group_of[cid]
        self._groups[group.id] = group
        self._group_of.update(dict.fromkeys(group.customer_ids, group.id))

    def _clear(self, group: ProjectGroup, customers: Container[str]) -> bool:
        """Whether ``group`` is known to break no rule, found by set operations in C.

        ``False`` when a rule is broken, or when ``customers`` is no set or
        dict (then :meth:`_refuse` checks id by id).
        """
        ids = group.customer_ids
        if not isinstance(customers, (dict, set, frozenset)) or ids.difference(customers):
            return False
        if self._group_of.keys().isdisjoint(ids):  # iterates the smaller of the two
            return True
        return all(self._group_of[cid] == group.id for cid in self._group_of.keys() & ids)

    def _refuse(self, group: ProjectGroup, customers: Container[str]) -> None:
        """Raise the problems of ``group``, in the order of its customer ids, if it has any."""
        problems: list[Exception] = []
        for cid in sorted(group.customer_ids):
            if cid not in customers:
                problems.append(
                    UnknownCustomerError(f"project group {group.id!r}: unknown customer {cid!r}")
                )
            elif self._group_of.get(cid, group.id) != group.id:
                problems.append(
                    ValidationError(
                        f"project group {group.id!r}: customer {cid!r} already belongs to "
                        f"{self._group_of[cid]!r}"
                    )
                )
        raise_problems(problems, f"project group {group.id!r}")
