"""Walks over the parent links of a customer forest (parents as positions, ``NO_CODE`` for none)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from keyaccount.domain import NO_CODE

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt

__all__ = ["ancestor_positions", "child_map", "descendant_positions"]


def child_map(parent: npt.NDArray[np.int32]) -> dict[int, list[int]]:
    """The direct children of every customer that has any, in position order."""
    children: dict[int, list[int]] = defaultdict(list)
    for child, up in enumerate(parent.tolist()):
        if up != NO_CODE:
            children[up].append(child)
    return dict(children)


def descendant_positions(children: Mapping[int, list[int]], position: int) -> list[int]:
    """All descendants of ``position`` (children, their children, ...), breadth first."""
    out: list[int] = []
    frontier = [position]
    while frontier:
        frontier = [c for p in frontier for c in children.get(p, [])]
        out.extend(frontier)
    return out


def ancestor_positions(parent: npt.NDArray[np.int32], position: int) -> list[int]:
    """The positions from the parent of ``position`` up to its top-level account."""
    out: list[int] = []
    walk = int(parent[position])
    while walk != NO_CODE:
        out.append(walk)
        walk = int(parent[walk])
    return out
