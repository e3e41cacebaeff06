"""RFM as lifetimes defines it: properties, lifetimes itself, a plain transcription, scores."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import re
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings

from keyaccount import Tier
from keyaccount.analysis import (
    DEFAULT_SEGMENTS,
    MONTH_DAYS,
    OTHER,
    RfmTable,
    rfm,
    rfm_scores,
)
from keyaccount.analysis._scores import rank_scores
from keyaccount.exceptions import ValidationError
from keyaccount.io import Transactions, transactions_from_frame
from keyaccount.rules import MetricRegistry, Policy

EPOCH = dt.date(1970, 1, 1)
Row = tuple[str, dt.date, int]


def _frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "date": pd.to_datetime(pd.Series([r[1] for r in rows], dtype=object)),
            "amount": pd.Series([r[2] for r in rows], dtype="int64"),
        }
    )


def _transactions(rows: list[Row]) -> Transactions:
    return transactions_from_frame(_frame(rows), amount_unit="fen")


# -- a plain-Python transcription of lifetimes' summary_data_from_transaction_data ------

_UNIT_SECONDS = {"D": 86_400, "W": 604_800, "M": 2_629_746}  # np.timedelta64(1, unit)


def _period_start(day: dt.date, freq: str) -> dt.date:
    """``Timestamp(day).to_period(freq).to_timestamp()``: the first day of its period."""
    if freq == "D":
        return day
    if freq == "W":
        return day - dt.timedelta(days=day.weekday())  # W-SUN periods start on Monday
    return day.replace(day=1)


def reference_rfm(
    rows: list[Row], end: dt.date, freq: str
) -> dict[str, tuple[int, float, float, Fraction, int]]:
    """``{customer: (frequency, recency, T, monetary, repeat fen)}`` by lifetimes' steps.

    Periods are the start dates of ``to_period(freq)``; transactions in periods after the
    end's are dropped; transactions of one (period, customer) are summed; the first
    period of each customer is the "first" purchase; frequency = periods - 1; recency and
    T divide timedeltas by ``np.timedelta64(1, freq)`` (for "M" numpy's 30.436875 days,
    which lifetimes divided by before pandas 2 refused the unit); monetary = the mean of
    the other periods' sums, 0 without any.
    """
    end_start = _period_start(end, freq)
    sums: dict[tuple[str, dt.date], int] = defaultdict(int)
    for cid, day, fen in rows:
        start = _period_start(day, freq)
        if start <= end_start:
            sums[(cid, start)] += fen
    periods: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for (cid, start), fen in sums.items():
        periods[cid].append((start, fen))
    unit = _UNIT_SECONDS[freq]
    result = {}
    for cid, seen in periods.items():
        seen.sort()
        first, last = seen[0][0], seen[-1][0]
        repeat = sum(fen for _, fen in seen[1:])
        frequency = len(seen) - 1
        recency = (last - first).days * 86_400 / unit
        age = (end_start - first).days * 86_400 / unit
        monetary = Fraction(repeat, frequency) if frequency else Fraction(0)
        result[cid] = (frequency, recency, age, monetary, repeat)
    return result


def _ours(table: RfmTable) -> dict[str, tuple[int, float, float, Fraction, int]]:
    return {
        cid: (f, r, t, Fraction(rep, f) if f else Fraction(0), rep)
        for cid, f, r, t, rep in zip(
            table.customer_ids.tolist(),
            table.frequency.tolist(),
            table.recency.tolist(),
            table.T.tolist(),
            table.repeat_fen.tolist(),
            strict=True,
        )
    }


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "客户D", "E"]),
        st.dates(dt.date(2021, 11, 1), dt.date(2023, 3, 31)),
        st.integers(-50_000, 2_000_000),
    ),
    max_size=60,
)
ENDS = st.dates(dt.date(2021, 10, 1), dt.date(2023, 6, 30))
FREQ = st.sampled_from(["D", "W", "M"])


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, end=ENDS, freq=FREQ)
def test_equal_to_the_transcription_of_lifetimes(rows: list[Row], end: dt.date, freq: str) -> None:
    """frequency, recency, T and the exact monetary equal lifetimes' steps for D, W and M."""
    table = rfm(_transactions(rows), end, freq=freq)  # type: ignore[arg-type]
    expected = reference_rfm(rows, end, freq)
    ours = _ours(table)
    assert ours.keys() == expected.keys()
    for cid, (f, r, t, m, rep) in expected.items():
        assert ours[cid][0] == f
        assert ours[cid][1] == pytest.approx(r, rel=1e-12, abs=0)
        assert ours[cid][2] == pytest.approx(t, rel=1e-12, abs=0)
        assert ours[cid][3] == m
        assert ours[cid][4] == rep


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, end=ENDS, freq=FREQ, seed=st.randoms(use_true_random=False))
def test_properties(rows: list[Row], end: dt.date, freq: str, seed: object) -> None:
    """frequency, recency <= T; exact repeat sums; row order is irrelevant; late customers out."""
    table = rfm(_transactions(rows), end, freq=freq)  # type: ignore[arg-type]
    assert (table.frequency >= 0).all()
    assert (table.recency <= table.T).all()
    assert (table.frequency <= table.T_days).all()  # one purchase period per period at most
    assert (table.recency_days >= 0).all()
    assert (table.recency_days <= table.T_days).all()
    # exact: the repeat total over the frequency is the mean; its rounding is within half a fen
    mean = [
        Fraction(r, f)
        for r, f in zip(table.repeat_fen.tolist(), table.frequency.tolist(), strict=True)
        if f
    ]
    rounded = [
        m for m, f in zip(table.monetary_fen.tolist(), table.frequency.tolist(), strict=True) if f
    ]
    assert all(abs(Fraction(r) - m) <= Fraction(1, 2) for r, m in zip(rounded, mean, strict=True))
    assert (table.monetary_fen[table.frequency == 0] == 0).all()
    shuffled = list(rows)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    again = rfm(_transactions(shuffled), end, freq=freq)  # type: ignore[arg-type]
    assert _ours(again) == _ours(table)
    end_start = _period_start(end, freq)
    first: dict[str, dt.date] = {}
    for cid, day, _ in rows:
        first[cid] = min(first.get(cid, day), day)
    inside = {cid for cid, day in first.items() if _period_start(day, freq) <= end_start}
    assert set(table.customer_ids.tolist()) == inside


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, end=ENDS, freq=st.sampled_from(["D", "W"]))
def test_equal_to_lifetimes(rows: list[Row], end: dt.date, freq: str) -> None:
    """The numbers equal lifetimes' own function (monetary within 1e-9 relative)."""
    utils = pytest.importorskip("lifetimes.utils")
    if not rows:
        return
    frame = _frame(rows)
    frame["amount"] = frame["amount"] / 100
    expected = utils.summary_data_from_transaction_data(
        frame, "customer_id", "date", "amount", observation_period_end=end.isoformat(), freq=freq
    )
    table = rfm(_transactions(rows), end, freq=freq)  # type: ignore[arg-type]
    ours = table.to_pandas().set_index("customer_id")
    assert sorted(ours.index) == sorted(expected.index)
    ours = ours.loc[expected.index]
    assert ours["frequency"].tolist() == expected["frequency"].astype(int).tolist()
    assert ours["recency"].tolist() == expected["recency"].tolist()
    assert ours["T"].tolist() == expected["T"].tolist()
    mean = np.where(
        ours["frequency"] > 0, ours["repeat_total_fen"] / np.maximum(ours["frequency"], 1) / 100, 0
    )
    assert mean == pytest.approx(expected["monetary_value"].to_numpy(), rel=1e-9, abs=1e-9)


def test_months_use_numpys_month_length() -> None:
    """With freq M, recency and T are days between month starts over 30.436875 days."""
    tx = _transactions([("A", dt.date(2023, 1, 31), 100), ("A", dt.date(2023, 3, 1), 300)])
    table = rfm(tx, "2023-04-10", freq="M")
    assert table.recency.tolist() == [59 / MONTH_DAYS]
    assert table.T.tolist() == [90 / MONTH_DAYS]
    assert (table.recency_days.tolist(), table.T_days.tolist()) == ([59], [90])


def test_the_end_period_counts_whole() -> None:
    """Transactions later in the observation end's period count; later periods do not."""
    tx = _transactions(
        [
            ("A", dt.date(2023, 1, 2), 100),
            ("A", dt.date(2023, 1, 20), 50),
            ("B", dt.date(2023, 2, 1), 9),
        ]
    )
    table = rfm(tx, dt.datetime(2023, 1, 15, 23, 0), freq="M")
    assert table.customer_ids.tolist() == ["A"]
    assert (table.frequency.tolist(), table.total_fen.tolist()) == ([0], [150])
    daily = rfm(tx, "2023-01-15", freq="D")
    assert (daily.frequency.tolist(), daily.T.tolist()) == ([0], [13.0])


def test_several_transactions_in_one_period_are_one_purchase() -> None:
    """Two transactions on one day are one purchase period whose amount is their sum."""
    tx = _transactions(
        [
            ("A", dt.date(2023, 1, 1), 100),
            ("A", dt.date(2023, 1, 5), 200),
            ("A", dt.date(2023, 1, 5), -50),
        ]
    )
    row = rfm(tx, "2023-01-31").row("A")
    assert (row.frequency, row.recency, row.T) == (1, 4.0, 30.0)
    assert str(row.monetary) == "1.50"


def test_observation_end_is_required_and_checked() -> None:
    """The observation end must be a date; freq must be D, W or M."""
    tx = _transactions([("A", dt.date(2023, 1, 1), 100)])
    with pytest.raises(TypeError):
        rfm(tx)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="observation_end"):
        rfm(tx, "31/01/2023")
    with pytest.raises(ValidationError, match="'D', 'W', 'M'"):
        rfm(tx, "2023-01-31", freq="Q")  # type: ignore[arg-type]


def test_to_pandas_and_repr() -> None:
    """The table converts to typed columns (money as fen and exact yuan) and has a short repr."""
    tx = _transactions([("A", dt.date(2023, 1, 1), 100), ("A", dt.date(2023, 1, 9), 333)])
    table = rfm(tx, "2023-01-31")
    df = table.to_pandas()
    assert df.columns[:8].tolist() == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_fen",
        "monetary",
        "repeat_total_fen",
        "repeat_total",
    ]
    assert df["monetary_fen"].tolist() == [333]
    assert str(df["monetary"].iloc[0]) == "3.33"
    assert df.attrs["freq"] == "D"
    assert repr(table) == "<RfmTable: 1 customers, freq 'D', observation end 2023-01-31>"


# -- scores and segments --------------------------------------------------------------


def _pymc_labels(values: pd.Series, reverse: bool) -> list[int]:
    """pymc-marketing's labels: qcut(q=4, duplicates="drop"), fewer labels when it fails."""
    for top in (5, 4, 3):
        labels = list(range(top - 1, 0, -1)) if reverse else list(range(1, top))
        try:
            return pd.qcut(values, q=4, labels=labels, duplicates="drop").astype(int).tolist()
        except ValueError:
            continue
    raise AssertionError("unreachable")


@settings(max_examples=80, deadline=None)
@given(rows=ROWS, end=st.dates(dt.date(2023, 3, 31), dt.date(2023, 6, 30)), freq=FREQ)
def test_scores_and_segments_follow_pymc_marketing(
    rows: list[Row], end: dt.date, freq: str
) -> None:
    """Quartile scores and default segments are pymc-marketing's rfm_segments ones."""
    table = rfm(_transactions(rows), end, freq=freq)  # type: ignore[arg-type]
    if len(table) < 2:
        return
    seg_recency = pd.Series(table.T - table.recency)
    seg_frequency = pd.Series((table.frequency + 1).astype(float))
    seg_monetary = pd.Series(table.total_fen / (table.frequency + 1) / 100)
    if min(s.nunique() for s in (seg_recency, seg_frequency, seg_monetary)) < 3:
        return  # pymc-marketing itself fails with a single bin, and its two-bin case differs
    scores = rfm_scores(table)
    assert scores.r_score.tolist() == _pymc_labels(seg_recency, reverse=True)
    assert scores.f_score.tolist() == _pymc_labels(seg_frequency, reverse=False)
    assert scores.m_score.tolist() == _pymc_labels(seg_monetary, reverse=False)
    by_code = {code: name for name, codes in DEFAULT_SEGMENTS.items() for code in codes}
    assert scores.segment.tolist() == [by_code.get(c, OTHER) for c in scores.code.tolist()]


def test_cut_points_and_own_segments() -> None:
    """User cut points score by (lower, upper] bins; a user mapping names the segments."""
    rows = [("A", dt.date(2023, 1, d), 100_00) for d in (1, 2, 3)]
    rows += [("B", dt.date(2023, 1, 1), 5_000_00), ("C", dt.date(2023, 1, 30), 1_000_00)]
    table = rfm(_transactions(rows), "2023-01-31")
    scores = rfm_scores(
        table,
        cuts={"recency": [7, 28], "frequency": [1, 2], "monetary": [100, 1000]},
        segments={"大客户": ["231", "333"], "新客户": ["312"]},
    )
    assert scores.code.tolist() == ["231", "113", "312"]
    assert scores.segment.tolist() == ["大客户", OTHER, "新客户"]
    with pytest.raises(ValidationError, match="scores 1 to 4"):
        rfm_scores(table, q=5)
    with pytest.raises(ValidationError, match="unknown variable"):
        rfm_scores(table, cuts={"age": [1]})
    df = scores.to_pandas()
    assert df["segment"].cat.categories.tolist() == ["大客户", "新客户", OTHER]


def _heavy_ties() -> RfmTable:
    """12 customers: 8 bought last on the same day, 4 on days of their own."""
    rows = [(f"T{i}", dt.date(2023, 1, 2), 100_00 * (i + 1)) for i in range(8)]
    rows += [(f"U{i}", dt.date(2023, 1, 10 + 5 * i), 100_00) for i in range(4)]
    return rfm(_transactions(rows), "2023-01-31")


def test_heavy_ties_drop_merges_bins_and_rank_uses_every_score() -> None:
    """Two thirds sharing a recency: "drop" merges the bins, "rank" uses 1..4 three times each."""
    table = _heavy_ties()
    dropped = rfm_scores(table)
    assert set(dropped.r_score[:8].tolist()) == {1}  # the tie is never split
    assert len(set(dropped.r_score.tolist())) < 4
    bins = pd.qcut(pd.Series(table.T - table.recency), 4, labels=False, duplicates="drop")
    assert dropped.r_score.tolist() == (bins.max() + 1 - bins).tolist()
    ranked = rfm_scores(table, ties="rank")
    assert np.bincount(ranked.r_score, minlength=5)[1:].tolist() == [3, 3, 3, 3]
    expected = pd.qcut(pd.Series(table.T - table.recency).rank(method="first"), 4, labels=False)
    assert ranked.r_score.tolist() == (4 - expected).tolist()
    with pytest.raises(
        ValidationError, match="unknown ties 'first'; expected one of 'drop', 'rank'"
    ):
        rfm_scores(table, ties="first")


@given(
    values=st.lists(st.integers(0, 6), min_size=1, max_size=60),
    q=st.integers(2, 10),
    reverse=st.booleans(),
)
@example(values=[0] * 19, q=6, reverse=False)  # rank 16 on an edge pandas puts above it
def test_rank_scores_are_monotone_balanced_and_qcut_of_ranks(
    values: list[int], q: int, reverse: bool
) -> None:
    """Rank scores follow the values, use every level when n >= q, counts within one of another."""
    array = np.asarray(values, dtype=np.float64)
    scores = rank_scores(array, q, reverse=reverse)
    order = np.argsort(array, kind="stable")
    steps = np.diff(scores[order].astype(np.int64))
    assert (steps <= 0).all() if reverse else (steps >= 0).all()
    n = len(values)
    counts = np.bincount(scores, minlength=q + 1)[1:]
    if n >= q:
        assert counts.min() >= 1
        assert counts.max() - counts.min() <= 1
    if n >= 2:
        ranks = pd.Series(array).rank(method="first")
        # the quantile edges exactly: rank r lies in bin ceil(q (r - 1) / (n - 1)), the first
        # bin holding rank 1 too
        exact = [max(1, -(-q * (int(r) - 1) // (n - 1))) for r in ranks]
        assert scores.tolist() == [q + 1 - e if reverse else e for e in exact]
        # pandas computes the edges in floating point: a rank exactly on an edge may land in
        # the bin above it; every other rank gets pandas' bin
        expected = pd.qcut(ranks, q, labels=False, duplicates="drop") + 1
        want = (q + 1 - expected) if reverse else expected
        on_edge = [(q * (int(r) - 1)) % (n - 1) == 0 for r in ranks]
        assert [s for s, e in zip(scores.tolist(), on_edge, strict=True) if not e] == [
            w for w, e in zip(want.tolist(), on_edge, strict=True) if not e
        ]


def test_rfm_metrics_in_a_policy() -> None:
    """RFM values enter a policy as user metrics; customers without RFM values have them absent."""
    rows = [("A", dt.date(2023, 1, d), 600_00) for d in (3, 10, 17)]
    rows += [("B", dt.date(2023, 1, 5), 900_00), ("C", dt.date(2023, 3, 5), 10_00)]
    tx = _transactions(rows)
    portfolio = tx.to_portfolio(create_customers=True)
    table = rfm(tx, "2023-01-31")
    registry = MetricRegistry().with_metrics(table.as_metrics())
    registry = registry.with_metrics(rfm_scores(table, q=2, segments={}).as_metrics())
    policy = Policy.from_toml(
        '[policy]\nname = "rfm"\n\n'
        '[[rule]]\nname = "loyal"\nto = "KEY"\n'
        'when = "rfm_frequency >= 2 and rfm_monetary >= 500 and rfm_recency_days <= 20"\n\n'
        '[[rule]]\nname = "lapsed"\nfrom = ["ACTIVE"]\nto = "DORMANT"\n'
        'when = "rfm_recency_days > 20 or rfm_f_score < 2"\n',
        metrics=registry,
    )
    evaluation = policy.evaluate(portfolio, "2023-03")
    moves = {t.customer_id: (t.after, t.rule) for t in evaluation.tier_transitions}
    assert moves == {"A": (Tier.KEY, "loyal"), "B": (Tier.DORMANT, "lapsed")}
    assert "C" not in table.customer_ids.tolist()


DOC = Path(__file__).resolve().parents[2] / "docs" / "rfm.md"


def test_rfm_doc_examples_run() -> None:
    """The python blocks of docs/rfm.md run in order, in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)


@pytest.mark.parametrize(
    "name", ["keyaccount.analysis", "keyaccount.analysis._rfm", "keyaccount.analysis._scores"]
)
def test_docstring_examples(name: str) -> None:
    """The docstring examples of keyaccount.analysis run and print what they show."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
