"""The project groups of a portfolio and the customers each owns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

from keyaccount.exceptions import (
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.portfolio._problems import raise_problems

if TYPE_CHECKING:
    from collections.abc import Container, Sequence

    import numpy.typing as npt

    from keyaccount.domain import ProjectGroup

__all__ = ["GroupRegistry"]


class GroupRegistry:
    """Project groups by id, in the order they were added, and the owner of each customer."""

    def __init__(self) -> None:
        self._groups: dict[str, ProjectGroup] = {}
        self._group_of: dict[str, str] = {}
        self._owned: _Owned | None = None

    def __len__(self) -> int:
        return len(self._groups) if self._owned is None else len(self._owned.groups)

    def groups(self) -> tuple[ProjectGroup, ...]:
        """The groups in the order they were added."""
        self._settle()
        return tuple(self._groups.values())

    def add_owned(
        self,
        groups: Sequence[ProjectGroup],
        owner: npt.NDArray[np.integer],
        ids: npt.NDArray[np.object_],
    ) -> None:
        """Add ``groups`` to an empty registry, their customers given by position.

        ``owner[i]`` is the index in ``groups`` of the group that owns the
        customer ``ids[i]`` (``-1``: none); the groups' own ``customer_ids``
        are ignored. One owner per position means no customer is owned twice,
        so the only checks are array bounds and distinct group ids. The
        groups are made with their ``customer_ids`` (and the owner of each id
        is recorded) on the first read of the registry, not here.

        Raises:
            ValidationError: ``owner`` and ``ids`` differ in length, an owner
                index out of range, two groups with one id, or a registry that
                already holds groups.
        """
        self._settle()
        if self._groups:
            raise ValidationError("project groups by owner array: the registry is not empty")
        if not np.issubdtype(owner.dtype, np.integer):
            raise ValidationError(f"project group owners must be integers, got dtype {owner.dtype}")
        if len(owner) != len(ids):
            raise ValidationError(
                f"project group owners: {len(owner)} owners for {len(ids)} customers"
            )
        if len(owner) and (int(owner.min()) < -1 or int(owner.max()) >= len(groups)):
            bad = int(owner[(owner < -1) | (owner >= len(groups))][0])
            raise ValidationError(
                f"project group owners: index {bad} is not one of the {len(groups)} groups"
            )
        seen: set[str] = set()
        for group in groups:
            if group.id in seen:
                raise ValidationError(f"project group {group.id!r} given twice")
            seen.add(group.id)
        if groups:
            self._owned = _Owned(tuple(groups), owner.astype(np.int32), ids)  # a copy of its own

    def _settle(self) -> None:
        """Make the groups given to :meth:`add_owned` (once, on the first read)."""
        owned, self._owned = self._owned, None
        if owned is None:
            return
        order = np.argsort(owned.owner, kind="stable")
        cuts = np.searchsorted(owned.owner[order], np.arange(-1, len(owned.groups) + 1))
        for g, group in enumerate(owned.groups):
            members = owned.ids[order[cuts[g + 1] : cuts[g + 2]]].tolist()
            made = attrs.evolve(group, customer_ids=members)
            self._groups[made.id] = made
            self._group_of.update(dict.fromkeys(members, made.id))

    def get(self, group_id: str) -> ProjectGroup:
        """The group with ``group_id``.

        Raises:
            UnknownProjectGroupError: (a ``KeyError``) no such group.
        """
        self._settle()
        try:
            return self._groups[group_id]
        except KeyError:
            raise UnknownProjectGroupError(f"unknown project group {group_id!r}") from None

    def owner(self, customer_id: str) -> ProjectGroup | None:
        """The group that owns ``customer_id``, if any."""
        self._settle()
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
        self._settle()
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


@attrs.frozen(eq=False)
class _Owned:
    """Groups added by owner array, not yet made (see :meth:`GroupRegistry.add_owned`)."""

    groups: tuple[ProjectGroup, ...]
    owner: npt.NDArray[np.integer]
    ids: npt.NDArray[np.object_]
