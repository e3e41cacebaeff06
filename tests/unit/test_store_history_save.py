"""``Store.save(portfolio, history=...)``: a consistent history is kept, a broken one refused.

The properties run on an in-memory SQLite store (``sqlite://``); the same checks
on a SQLite file and a real PostgreSQL server are in
``tests/integration/test_parquet_history.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio
from keyaccount.domain import Period, Segment, SegmentChange, Tier, TierChange
from keyaccount.exceptions import UnknownCustomerError, ValidationError
from keyaccount.store import RecordedChange, Store
from tests.strategies import explanations, periods

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keyaccount.domain import Change

_SEGMENT_VALUES: tuple[Segment | None, ...] = (None, *Segment)
_MOMENT = dt.datetime(2024, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)


@attrs.frozen
class History:
    """A generated portfolio and the history that led to its tiers and segments."""

    portfolio: Portfolio
    changes: tuple[Change, ...]
    numbers: tuple[int, ...] | None  # the sequence numbers to give, or None: plain changes

    def recorded(self) -> list[RecordedChange]:
        """The changes with their numbers and times (numbers 1, 2, ... when none were given)."""
        numbers = self.numbers or tuple(range(1, len(self.changes) + 1))
        return [
            RecordedChange(c, _MOMENT + dt.timedelta(seconds=n), n)
            for c, n in zip(self.changes, numbers, strict=True)
        ]

    def entries(self) -> list[Change | RecordedChange]:
        """The history as ``Store.save`` takes it: plain changes, or recorded ones."""
        if self.numbers is None:
            return list(self.changes)
        return list(self.recorded())


def _chain(draw: st.DrawFn, values: Sequence[Any], first: int) -> list[tuple[int, Any]]:
    """Months (non-decreasing from ``first``) and successive distinct values: one chain."""
    chain: list[tuple[int, Any]] = [(first, draw(st.sampled_from(values)))]
    month = first
    for step in draw(st.lists(st.integers(0, 7), max_size=4)):
        month += step
        prev = chain[-1][1]
        chain.append((month, draw(st.sampled_from([v for v in values if v != prev]))))
    return chain


@st.composite
def histories(draw: st.DrawFn) -> History:
    """A few customers, each with a chain of tier and one of segment changes, interleaved."""
    customers: list[Customer] = []
    chains: list[list[Change]] = []
    for i in range(draw(st.integers(1, 4))):
        cid = f"C{i}"
        first = draw(periods("2019-01", "2022-12"))
        tier_chain = _chain(draw, list(Tier), first.ordinal)
        segment_chain = _chain(draw, _SEGMENT_VALUES, first.ordinal)
        tier_changes: list[Change] = [
            TierChange(
                cid,
                Period.from_ordinal(month),
                before=before,
                after=after,
                rule="r1",
                explanation=draw(explanations()),
            )
            for (_, before), (month, after) in itertools.pairwise(tier_chain)
        ]
        segment_changes: list[Change] = [
            SegmentChange(
                cid,
                Period.from_ordinal(month),
                before=before,
                after=after,
                actor="王经理",
                reason=draw(st.sampled_from(["", "moved", "调整"])),
            )
            for (_, before), (month, after) in itertools.pairwise(segment_chain)
        ]
        since = tier_changes[-1].period if tier_changes else draw(st.none() | st.just(first))
        customers.append(
            Customer(
                cid,
                "客户",
                first,
                segment=segment_chain[-1][1],
                tier=tier_chain[-1][1],
                tier_since=since,
            )
        )
        chains.extend(c for c in (tier_changes, segment_changes) if c)
    # Interleave the chains, each kept in its own order.
    merged: list[Change] = []
    heads = [0] * len(chains)
    while any(h < len(c) for h, c in zip(heads, chains, strict=True)):
        k = draw(st.sampled_from([i for i, c in enumerate(chains) if heads[i] < len(c)]))
        merged.append(chains[k][heads[k]])
        heads[k] += 1
    numbers = None
    if draw(st.booleans()):
        gaps = draw(st.lists(st.integers(1, 3), min_size=len(merged), max_size=len(merged)))
        numbers = tuple(sum(gaps[: i + 1]) for i in range(len(gaps)))
    return History(Portfolio(customers), tuple(merged), numbers)


def _expected(history: History) -> list[tuple[Change, int]]:
    numbers = history.numbers or tuple(range(1, len(history.changes) + 1))
    pairs = list(zip(history.changes, numbers, strict=True))
    return sorted(pairs, key=lambda p: (p[0].period, p[1]))


@given(histories())
def test_consistent_history_reads_back(history: History) -> None:
    """A consistent history saved with its portfolio reads back as the same ``changes()``."""
    with Store("sqlite://") as store:
        store.save(history.portfolio, history=history.entries())
        recorded = store.changes()
        assert [(r.change, r.sequence) for r in recorded] == _expected(history)
        if history.numbers is not None:
            expected = sorted(history.recorded(), key=lambda r: (r.change.period, r.sequence))
            assert recorded == expected
        assert store.load().customer_columns.tier.tolist() == (
            history.portfolio.customer_columns.tier.tolist()
        )


@given(histories())
def test_state_as_of_follows_the_chains(history: History) -> None:
    """``state_as_of`` gives each change's ``after`` from its month, its ``before`` just before."""
    with Store("sqlite://") as store:
        store.save(history.portfolio, history=history.entries())
        for change in history.changes:
            state = store.state_as_of(change.customer_id, change.period)
            later = [
                c
                for c in history.changes
                if c.customer_id == change.customer_id
                and type(c) is type(change)
                and c.period == change.period
            ]
            shown = state.tier if isinstance(change, TierChange) else state.segment
            assert shown == later[-1].after


def _break(history: History, rule: str, data: st.DataObject) -> tuple[History, str]:
    """``history`` with one rule broken; the text the error must contain."""
    changes = list(history.changes)
    customers = list(history.portfolio.customers())
    if rule == "unknown customer":
        i = data.draw(st.integers(0, len(changes) - 1))
        changes[i] = attrs.evolve(changes[i], customer_id="NOBODY")
        return attrs.evolve(history, changes=tuple(changes)), f"change {i} "
    if rule == "before first period":
        i = data.draw(st.integers(0, len(changes) - 1))
        first = history.portfolio.customer(changes[i].customer_id).first_period
        changes[i] = attrs.evolve(changes[i], period=first - 1)
        return attrs.evolve(history, changes=tuple(changes)), "change "
    chained = [
        (i, j)
        for i, a in enumerate(changes)
        for j, b in enumerate(changes)
        if i < j and a.customer_id == b.customer_id and type(a) is type(b)
    ]
    if rule == "out of order":
        assume(chained)
        i, j = data.draw(st.sampled_from(chained))
        changes[j] = attrs.evolve(changes[j], period=changes[i].period - 1)
        return attrs.evolve(history, changes=tuple(changes)), "change "
    if rule == "broken chain":
        assume(chained)
        _, j = data.draw(st.sampled_from(chained))
        c = changes[j]
        choices = list(Tier) if isinstance(c, TierChange) else list(_SEGMENT_VALUES)
        others = [v for v in choices if v not in (c.before, c.after)]
        new_before: Any = data.draw(st.sampled_from(others))
        changes[j] = attrs.evolve(c, before=new_before)
        return attrs.evolve(history, changes=tuple(changes)), f"change {j} "
    if rule == "sequence":
        assume(history.numbers is not None and len(changes) >= 2)
        assert history.numbers is not None
        numbers = list(history.numbers)
        j = data.draw(st.integers(1, len(numbers) - 1))
        numbers[j] = numbers[j - 1]
        return attrs.evolve(history, numbers=tuple(numbers)), f"change {j} "
    # The portfolio's current value, or tier_since, no longer where the chain ends.
    tier_changed = {c.customer_id for c in changes if isinstance(c, TierChange)}
    segment_changed = {c.customer_id for c in changes if isinstance(c, SegmentChange)}
    if rule == "last tier":
        assume(tier_changed)
        k = next(k for k, c in enumerate(customers) if c.id in tier_changed)
        other = data.draw(st.sampled_from([t for t in Tier if t is not customers[k].tier]))
        customers[k] = attrs.evolve(customers[k], tier=other)
    elif rule == "tier since":
        assume(tier_changed)
        k = next(k for k, c in enumerate(customers) if c.id in tier_changed)
        since = customers[k].tier_since
        assert since is not None
        customers[k] = attrs.evolve(customers[k], tier_since=since + 1)
    else:
        assert rule == "last segment"
        assume(segment_changed)
        k = next(k for k, c in enumerate(customers) if c.id in segment_changed)
        moved = data.draw(st.sampled_from([s for s in Segment if s is not customers[k].segment]))
        customers[k] = attrs.evolve(customers[k], segment=moved, sub_segment=None)
    return attrs.evolve(history, portfolio=Portfolio(customers)), "change "


_RULES = (
    "unknown customer",
    "before first period",
    "out of order",
    "broken chain",
    "sequence",
    "last tier",
    "tier since",
    "last segment",
)


@given(histories(), st.sampled_from(_RULES), st.data())
def test_broken_history_is_refused_and_nothing_written(
    history: History, rule: str, data: st.DataObject
) -> None:
    """A history with one rule broken is refused, naming the source; the store stays empty."""
    assume(history.changes)
    broken, named = _break(history, rule, data)
    with Store("sqlite://") as store:
        with pytest.raises((ValidationError, UnknownCustomerError)) as caught:
            store.save(broken.portfolio, history=broken.entries(), history_source="h.parquet")
        assert str(caught.value).strip("'\"").startswith("h.parquet: change ")
        assert named in str(caught.value)
        assert store.is_empty()


def test_messages_name_position_customer_and_values() -> None:
    """Each refusal names the source, the change's position, customer, month and values."""
    pf = Portfolio([Customer("C1", "x", "2022-01", tier="KEY", tier_since="2022-05")])
    up = TierChange("C1", "2022-05", before="ACTIVE", after="KEY", rule="r")
    cases = [
        ([up, TierChange("C1", "2022-06", before="ACTIVE", after="KEY", rule="r")], "before is"),
        ([TierChange("C1", "2021-12", before="ACTIVE", after="KEY", rule="r")], "first_period"),
        ([up, TierChange("C1", "2022-04", before="KEY", after="ACTIVE", rule="r")], "order"),
        ([TierChange("C1", "2022-05", before="DORMANT", after="ACTIVE", rule="r")], "its tier"),
        ([TierChange("C1", "2022-04", before="ACTIVE", after="KEY", rule="r")], "tier_since"),
        ([up, up], "before is"),
    ]
    for history, reason in cases:
        with Store("sqlite://") as store, pytest.raises(ValidationError) as caught:
            store.save(pf, history=history, history_source="changes.parquet")
        text = str(caught.value)
        assert text.startswith("changes.parquet: change "), text
        assert "tier of 'C1' in 20" in text, text
        assert " -> " in text, text
        assert reason in text, text


def test_entries_of_other_types_are_refused() -> None:
    """An entry that is neither a change nor a recorded change is refused by position."""
    pf = Portfolio([Customer("C1", "x", "2022-01")])
    with Store("sqlite://") as store:
        with pytest.raises(ValidationError, match=r"<history>: change 0: expected a TierChange"):
            store.save(pf, history=["not a change"])  # type: ignore[list-item]
        assert store.is_empty()


def test_plain_changes_are_recorded_now_and_numbered() -> None:
    """Plain changes get the save's time and the numbers 1, 2, ...; apply numbers after them."""
    pf = Portfolio([Customer("C1", "x", "2022-01", tier="KEY", tier_since="2022-05")])
    with Store("sqlite://") as store:
        before = dt.datetime.now(dt.UTC)
        store.save(
            pf, history=[TierChange("C1", "2022-05", before="ACTIVE", after="KEY", rule="r")]
        )
        [recorded] = store.changes()
        assert recorded.sequence == 1
        assert before <= recorded.recorded_at <= dt.datetime.now(dt.UTC)
        [applied] = store.apply(
            [TierChange("C1", "2022-07", before="KEY", after="STRATEGIC", actor="王")]
        )
        assert applied.sequence == 2
