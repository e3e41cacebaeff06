"""Columnar storage of customers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENTS,
    TIERS,
    Customer,
    Period,
    segment_code,
    sub_segment_code,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CustomerColumns"]


@attrs.frozen(eq=False)
class CustomerColumns:
    """Customers as parallel arrays, one element per customer.

    Attributes:
        id: Customer ids (``object`` array of ``str``).
        name: Display names (``object``).
        segment: Segment codes (``int8``, ``-1`` for none).
        sub_segment: Sub-segment codes (``int8``, ``-1`` for none).
        tier: Tier ranks (``int8``).
        parent: Position of the parent customer (``int32``, ``-1`` for none).
        province: Provinces (``object``, ``None`` where unknown).
        first_period: First-seen month ordinals (``int32``).
        tier_since: Month ordinal the tier took effect (``int32``, ``-1``: first_period).
    """

    id: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    segment: npt.NDArray[np.int8]
    sub_segment: npt.NDArray[np.int8]
    tier: npt.NDArray[np.int8]
    parent: npt.NDArray[np.int32]
    province: npt.NDArray[np.object_]
    first_period: npt.NDArray[np.int32]
    tier_since: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.id.shape[0])

    @classmethod
    def empty(cls) -> CustomerColumns:
        """No customers."""
        return cls.from_customers([], {})

    @classmethod
    def from_customers(
        cls, customers: Sequence[Customer], positions: dict[str, int]
    ) -> CustomerColumns:
        """Columns for ``customers``; ``positions`` maps every known id to its position."""
        return cls(
            id=np.array([c.id for c in customers], dtype=object),
            name=np.array([c.name for c in customers], dtype=object),
            segment=np.array([segment_code(c.segment) for c in customers], dtype=np.int8),
            sub_segment=np.array(
                [sub_segment_code(c.sub_segment) for c in customers], dtype=np.int8
            ),
            tier=np.array([c.tier.rank for c in customers], dtype=np.int8),
            parent=np.array(
                [NO_CODE if c.parent_id is None else positions[c.parent_id] for c in customers],
                dtype=np.int32,
            ),
            province=np.array([c.province for c in customers], dtype=object),
            first_period=np.array([c.first_period.ordinal for c in customers], dtype=np.int32),
            tier_since=np.array(
                [NO_CODE if c.tier_since is None else c.tier_since.ordinal for c in customers],
                dtype=np.int32,
            ),
        )

    @classmethod
    def concat(cls, parts: Sequence[CustomerColumns]) -> CustomerColumns:
        """One block with the customers of ``parts`` in order."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.empty()
        fields = attrs.fields(cls)
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields})

    def customer(self, i: int) -> Customer:
        """The customer at position ``i`` as a domain object."""
        seg = int(self.segment[i])
        sub = int(self.sub_segment[i])
        par = int(self.parent[i])
        since = int(self.tier_since[i])
        return Customer(
            str(self.id[i]),
            str(self.name[i]),
            Period.from_ordinal(int(self.first_period[i])),
            segment=None if seg == NO_CODE else SEGMENTS[seg],
            sub_segment=None if sub == NO_CODE else SUB_SEGMENTS[sub],
            tier=TIERS[int(self.tier[i])],
            parent_id=None if par == NO_CODE else str(self.id[par]),
            province=self.province[i],
            tier_since=None if since == NO_CODE else Period.from_ordinal(since),
        )
