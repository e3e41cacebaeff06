"""The integer-code contract of the domain and the two invariants on coded columns."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENT_SEGMENT,
    SUB_SEGMENTS,
    TIERS,
    Segment,
    SubSegment,
    Tier,
    parent_cycles,
    segment_code,
    sub_segment_code,
    sub_segment_mismatch,
)


def test_codes_are_ranks_and_positions() -> None:
    """A tier's code is its rank; segment and sub-segment codes are definition positions."""
    assert [t.code for t in TIERS] == [0, 1, 2, 3]
    assert all(t.code == t.rank for t in Tier)
    assert [s.code for s in SEGMENTS] == list(range(len(Segment)))
    assert [s.code for s in SUB_SEGMENTS] == list(range(len(SubSegment)))
    assert segment_code(None) == sub_segment_code(None) == NO_CODE == -1
    assert all(SEGMENTS[segment_code(s)] is s for s in Segment)
    assert all(SUB_SEGMENTS[sub_segment_code(s)] is s for s in SubSegment)


def test_each_sub_segment_code_maps_to_its_segment_code() -> None:
    """SUB_SEGMENT_SEGMENT holds the segment code of every sub-segment code."""
    assert [SEGMENTS[c] for c in SUB_SEGMENT_SEGMENT] == [s.segment for s in SUB_SEGMENTS]


@given(
    st.lists(
        st.tuples(
            st.integers(NO_CODE, len(SEGMENTS) - 1), st.integers(NO_CODE, len(SUB_SEGMENTS) - 1)
        )
    )
)
def test_sub_segment_mismatch_agrees_with_the_enums(rows: list[tuple[int, int]]) -> None:
    """A row mismatches exactly when it has a sub-segment of another segment (or of none)."""
    segment = np.array([s for s, _ in rows], dtype=np.int8)
    sub = np.array([b for _, b in rows], dtype=np.int8)
    expected = [
        b != NO_CODE and (s == NO_CODE or SUB_SEGMENTS[b].segment is not SEGMENTS[s])
        for s, b in rows
    ]
    assert sub_segment_mismatch(segment, sub).tolist() == expected


def _cycles_by_walking(link: list[int]) -> set[frozenset[int]]:
    """The oracle: walk from every row, remember the rows that come back to themselves."""
    found: set[frozenset[int]] = set()
    for start in range(len(link)):
        seen: list[int] = []
        walk = start
        while walk != NO_CODE and walk not in seen:
            seen.append(walk)
            walk = link[walk]
        if walk != NO_CODE:
            found.add(frozenset(seen[seen.index(walk) :]))
    return found


@given(
    st.integers(0, 40).flatmap(
        lambda n: st.lists(st.integers(NO_CODE, n - 1), min_size=n, max_size=n)
    )
)
def test_parent_cycles_finds_every_cycle_once_in_link_order(link: list[int]) -> None:
    """parent_cycles lists each cycle once, its rows in link order, and nothing else."""
    cycles = parent_cycles(np.array(link, dtype=np.int64))
    assert {frozenset(c) for c in cycles} == _cycles_by_walking(link)
    assert len(cycles) == len({frozenset(c) for c in cycles})
    for cycle in cycles:
        assert [link[row] for row in cycle] == [*cycle[1:], cycle[0]]
