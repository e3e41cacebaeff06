"""The integer codes of tiers, segments and sub-segments, and the invariants on coded columns.

Columnar data (the portfolio's arrays, CSV readers, the store's tables, the
rule evaluators, cross-selling) keeps labels as small integers. The codes are
a contract between those parts, fixed here:

- a tier's code is its rank (:data:`TIERS`: ``DORMANT`` 0 < ``ACTIVE`` 1 <
  ``KEY`` 2 < ``STRATEGIC`` 3), so codes compare as tiers do;
- a segment's and a sub-segment's code is its position in :data:`SEGMENTS`
  and :data:`SUB_SEGMENTS` (the enums' definition order);
- :data:`NO_CODE` (``-1``) stands for an absent value: no segment, no
  sub-segment, no parent, no ``tier_since``.

Two invariants hold on every coded customer column, each checked by one
function here: a sub-segment belongs to its customer's segment
(:func:`sub_segment_mismatch`), and parent links form no cycle
(:func:`parent_cycles`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np

from keyaccount.domain._labels import Segment, SubSegment, Tier

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "NO_CODE",
    "SEGMENTS",
    "SUB_SEGMENTS",
    "SUB_SEGMENT_SEGMENT",
    "TIERS",
    "parent_cycles",
    "segment_code",
    "sub_segment_code",
    "sub_segment_mismatch",
]

NO_CODE: Final = -1
"""The code of an absent segment, sub-segment, parent or period in integer columns."""

TIERS: Final[tuple[Tier, ...]] = tuple(sorted(Tier, key=lambda t: t.rank))
"""Tier codes are ranks: positions in this tuple."""
SEGMENTS: Final[tuple[Segment, ...]] = tuple(Segment)
"""Segment codes are positions in this tuple."""
SUB_SEGMENTS: Final[tuple[SubSegment, ...]] = tuple(SubSegment)
"""Sub-segment codes are positions in this tuple."""

SUB_SEGMENT_SEGMENT: Final[tuple[int, ...]] = tuple(s.segment.code for s in SUB_SEGMENTS)
"""The segment code of each sub-segment code."""


def segment_code(segment: Segment | None) -> int:
    """The code of ``segment`` (:data:`NO_CODE` for ``None``).

    Example:
        >>> segment_code(Segment.JUDICIAL), segment_code(None)
        (0, -1)
    """
    return NO_CODE if segment is None else segment.code


def sub_segment_code(sub: SubSegment | None) -> int:
    """The code of ``sub`` (:data:`NO_CODE` for ``None``)."""
    return NO_CODE if sub is None else sub.code


def sub_segment_mismatch(
    segment: npt.NDArray[np.integer[Any]], sub_segment: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.bool_]:
    """Where a valid sub-segment code does not belong to the row's segment code.

    Rows without a sub-segment (:data:`NO_CODE`) never mismatch; a sub-segment
    with no segment (``NO_CODE``) always does. Codes out of range are not
    judged here (callers report them as unknown codes).

    Example:
        >>> import numpy as np
        >>> court = sub_segment_code(SubSegment.COURT)
        >>> sub_segment_mismatch(np.array([0, 2, -1]), np.array([court, court, -1])).tolist()
        [False, True, False]
    """
    sub = np.asarray(sub_segment, dtype=np.int64)
    valid = (sub >= 0) & (sub < len(SUB_SEGMENTS))
    owner = np.asarray(SUB_SEGMENT_SEGMENT, dtype=np.int64)[np.where(valid, sub, 0)]
    mismatch: npt.NDArray[np.bool_] = valid & (owner != np.asarray(segment, dtype=np.int64))
    return mismatch


def parent_cycles(link: npt.NDArray[np.integer[Any]]) -> list[list[int]]:
    """Every cycle of the links ``row -> parent row`` (:data:`NO_CODE`: none), as rows along it.

    Pointer doubling in bulk first: a row whose chain of parents ends leaves
    ``-1`` behind within log2(n) + 1 doublings, so a forest costs a few array
    passes. Only the rows left (on a cycle, or leading into one) are walked
    one by one. Each cycle is listed once, starting at the row the walk met
    first, in link order.

    Example:
        >>> import numpy as np
        >>> parent_cycles(np.array([1, 2, 0, -1, 3]))
        [[0, 1, 2]]
    """
    parent_array = np.asarray(link, dtype=np.int64)
    n = parent_array.shape[0]
    if n == 0:
        return []
    jump = parent_array.copy()
    for _ in range(max(1, int(n).bit_length() + 1)):
        live = jump >= 0
        if not live.any():
            return []
        jump[live] = jump[jump[live]]
    suspects = np.flatnonzero(jump >= 0).tolist()
    parent = parent_array.tolist()
    cycles: list[list[int]] = []
    state: dict[int, int] = {}  # 1 on the current walk, 2 finished
    for start in suspects:
        if start in state:
            continue
        path: list[int] = []
        walk = start
        while walk >= 0 and walk not in state:
            state[walk] = 1
            path.append(walk)
            walk = parent[walk]
        if walk >= 0 and state[walk] == 1:
            cycles.append(path[path.index(walk) :])
        for row in path:
            state[row] = 2
    return cycles
