"""Backtests: run a policy month by month over a portfolio's history and compare policies.

Each month ``P`` of the range, the policy is evaluated as of ``P`` and its
transitions are applied (``Portfolio.apply_changes``) before ``P + 1`` is
evaluated, so hysteresis and first-match chains see the tiers the policy
itself produced. The portfolio given is never changed: the columnar run keeps
the tiers, segments and ``tier_since`` in arrays of its own and reads each
month's metrics from the portfolio (its month-ordered revenue sorted once);
the plain run (any engine, user metrics) works on a copy with
``Portfolio.apply_changes``, and is the columnar run's test oracle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import NO_CODE, SEGMENTS, TIERS, Period, Segment, Tier, check_lang
from keyaccount.exceptions import PolicyError
from keyaccount.portfolio import CustomerColumns, Portfolio
from keyaccount.portfolio import frames as fr
from keyaccount.rules._evaluate import Engine, evaluate
from keyaccount.rules._evaluation import Evaluation, Outcome
from keyaccount.utils.display import Plain, html_table, number, short_repr, span

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.rules._rule import PolicyRules

__all__ = ["Backtest", "BacktestComparison", "backtest", "compare_backtests", "run_plain"]

BACKTEST_TABLES = ("timeline", "flows", "segment_flows")
"""The tables :meth:`Backtest.to_pandas` gives."""

ABSENT = -2
"""Tier code in :attr:`Backtest.tiers` for a month before the customer's first_period."""

_N_TIERS = len(TIERS)


@attrs.frozen(eq=False)
class Backtest:
    """A policy's month-by-month run over a history.

    Attributes:
        policy_name: The policy's name.
        months: The months evaluated, in order.
        customer_ids: Customers in portfolio order.
        tiers: Tier rank of each customer after each month's transitions,
            shape ``(customers, months)``; ``-2`` before the customer's first month.
        segments: Segment code after each month (``-1``: unassigned; ``-2`` before
            the first month).
        tier_moves: Tier transitions per month as ``from x to`` matrices indexed by
            tier rank, shape ``(months, 4, 4)``.
        segment_moves: Segment transitions per month, ``{(before, after): count}``.
        held: Demotions held by ``min_months_in_tier``, per month.
        moves_by_customer: Tier transitions of each customer over the backtest.
    """

    policy_name: str
    months: tuple[Period, ...]
    customer_ids: tuple[str, ...]
    tiers: npt.NDArray[np.int8]
    segments: npt.NDArray[np.int8]
    tier_moves: npt.NDArray[np.int64]
    segment_moves: tuple[Mapping[tuple[Segment | None, Segment | None], int], ...]
    held: npt.NDArray[np.int64]
    moves_by_customer: npt.NDArray[np.int64]
    _positions: dict[str, int] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_positions", {cid: i for i, cid in enumerate(self.customer_ids)})

    def __repr__(self) -> str:
        size = (
            f"{number(len(self.customer_ids))} customers, {len(self.months)} months",
            f"{number(int(self.tier_moves.sum()))} tier transitions",
            f"{number(int(self.held.sum()))} held",
        )
        return short_repr("Backtest", *size, policy=self.policy_name, months=_span(self.months))

    def _repr_html_(self) -> str:
        sizes, moves = self.tier_sizes(), self.moves_per_month()
        rows = (
            (str(m), *map(int, sizes[k]), moves[k], int(self.held[k]))
            for k, m in enumerate(self.months)
        )
        headings = ("month", *(t.name for t in TIERS), "tier transitions", "held")
        total, caption = len(self.months), repr(self)
        return html_table(headings, rows, total=total, caption=caption, unit="months", limit=24)

    def _month_index(self, month: Period | str) -> int:
        period = Period.parse(month)
        try:
            return self.months.index(period)
        except ValueError:
            raise PolicyError(
                f"month {period} is not in the backtest ({self.months[0]}..{self.months[-1]})"
            ) from None

    def timeline(self, customer_id: str) -> list[tuple[Period, Tier | None]]:
        """The customer's tier after each month (``None`` before its first month).

        Raises:
            PolicyError: an unknown customer.
        """
        try:
            row = self.tiers[self._positions[customer_id]]
        except KeyError:
            raise PolicyError(f"customer {customer_id!r} is not in the backtest") from None
        return [
            (month, None if code == ABSENT else TIERS[code])
            for month, code in zip(self.months, row.tolist(), strict=True)
        ]

    def transition_counts(self, month: Period | str | None = None) -> dict[tuple[Tier, Tier], int]:
        """Tier transitions ``{(from, to): count}`` of one month, or of all months."""
        matrix = (
            self.tier_moves.sum(axis=0)
            if month is None
            else self.tier_moves[self._month_index(month)]
        )
        return {
            (TIERS[b], TIERS[a]): int(matrix[b, a])
            for b in range(_N_TIERS)
            for a in range(_N_TIERS)
            if matrix[b, a]
        }

    def moves_per_month(self) -> list[int]:
        """The number of tier transitions in each month."""
        return [int(m) for m in self.tier_moves.sum(axis=(1, 2)).tolist()]

    def tier_sizes(self) -> npt.NDArray[np.int64]:
        """Customers per tier after each month, shape ``(months, 4)`` indexed by rank."""
        out = np.zeros((len(self.months), _N_TIERS), dtype=np.int64)
        for rank in range(_N_TIERS):
            out[:, rank] = (self.tiers == rank).sum(axis=0)
        return out

    def final_tiers(self) -> dict[str, Tier | None]:
        """Each customer's tier after the last month."""
        return {
            cid: None if code == ABSENT else TIERS[code]
            for cid, code in zip(self.customer_ids, self.tiers[:, -1].tolist(), strict=True)
        }

    def customers_moved(self, at_least: int = 1) -> int:
        """Customers with at least ``at_least`` tier transitions over the backtest."""
        return int((self.moves_by_customer >= at_least).sum())

    def _frame(self, table: str, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        fr.check_choice(table, BACKTEST_TABLES, what="table", where=where)
        meta = {"policy": self.policy_name, "table": table}
        months = np.array([m.ordinal for m in self.months], dtype=np.int64)
        if table == "timeline":
            present = self.tiers != ABSENT
            rows, cols = np.nonzero(present)
            segment = self.segments[rows, cols]
            return fr.Frame(
                (
                    fr.key("customer_id", rows, self.customer_ids),
                    fr.period("period", months[cols]),
                    fr.tier("tier", self.tiers[rows, cols], lang),
                    fr.segment("segment", segment, lang),
                ),
                meta,
            )
        if table == "flows":
            m, b, a = np.meshgrid(
                np.arange(len(self.months)), np.arange(_N_TIERS), np.arange(_N_TIERS), indexing="ij"
            )
            return fr.Frame(
                (
                    fr.period("period", months[m.ravel()]),
                    fr.tier("tier_from", b.ravel(), lang),
                    fr.tier("tier_to", a.ravel(), lang),
                    fr.integer("customers", self.tier_moves.ravel()),
                ),
                meta,
            )
        cells = [
            (k, NO_CODE if sb is None else sb.code, NO_CODE if sa is None else sa.code, count)
            for k, moves in enumerate(self.segment_moves)
            for (sb, sa), count in moves.items()
        ]
        k, sb, sa, count = np.array(cells, dtype=np.int64).reshape(-1, 4).T
        return fr.Frame(
            (
                fr.period("period", months[k]),
                fr.segment("segment_from", sb, lang),
                fr.segment("segment_to", sa, lang),
                fr.integer("customers", count),
            ),
            meta,
        )

    def to_pandas(self, table: str = "timeline", *, lang: str = "en") -> pd.DataFrame:
        """The backtest as a long DataFrame (needs the ``pandas`` extra).

        ``table`` chooses which:

        - ``"timeline"``: one row per customer and month from its first month
          on: ``customer_id`` (a category), ``period``, ``tier`` and
          ``segment`` after that month's transitions;
        - ``"flows"``: the tier flow matrix of every month, all 16 cells:
          ``period``, ``tier_from``, ``tier_to``, ``customers``;
        - ``"segment_flows"``: the segment transitions of every month:
          ``period``, ``segment_from``, ``segment_to`` (missing: unassigned),
          ``customers``.

        Tiers and segments are ordered categories labelled in ``lang``.

        Raises:
            ValidationError: an unknown ``table`` (the message lists them), or
                ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(table, lang, "Backtest.to_pandas").to_pandas()

    def to_arrow(self, table: str = "timeline", *, lang: str = "en") -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        return self._frame(table, lang, "Backtest.to_arrow").to_arrow()

    def to_polars(self, table: str = "timeline", *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        return self._frame(table, lang, "Backtest.to_polars").to_polars()


def _span(months: tuple[Period, ...]) -> Plain | None:
    return span(months[0], months[-1]) if months else None


def _copy(portfolio: Portfolio, initial_tier: Tier | None) -> Portfolio:
    cols = portfolio.customer_columns
    fields = {f.name: getattr(cols, f.name).copy() for f in attrs.fields(CustomerColumns)}
    if initial_tier is not None:
        fields["tier"][:] = initial_tier.rank
        fields["tier_since"][:] = NO_CODE
    copy = Portfolio(products=portfolio.products)
    copy.add_customer_columns(CustomerColumns(**fields))
    copy.add_revenue_columns(portfolio.revenue_columns)
    for group in portfolio.project_groups:
        copy.add_project_group(group)
    return copy


def backtest(
    policy: PolicyRules,
    portfolio: Portfolio,
    start: Period | str,
    end: Period | str,
    *,
    initial_tier: Tier | str | None = None,
    engine: Engine = "columnar",
) -> Backtest:
    """Run ``policy`` month by month from ``start`` to ``end`` (both included).

    Args:
        policy: The policy.
        portfolio: The history; it is not changed.
        start: The first month evaluated.
        end: The last month evaluated.
        initial_tier: Put every customer in this tier (``tier_since`` cleared)
            before the first month; ``None`` keeps the portfolio's tiers.
        engine: The evaluator (see :func:`~keyaccount.rules.evaluate`).

    Returns:
        The :class:`Backtest`.

    Raises:
        PolicyError: ``end`` before ``start``.

    Example:
        >>> from keyaccount import Customer, Portfolio, RevenueRecord
        >>> from keyaccount.rules import Policy, Rule
        >>> pf = Portfolio([Customer("C1", "某中院", "2022-01")],
        ...                [RevenueRecord("C1", "court_express", "2022-03", "2000000")])
        >>> p = Policy("p", [Rule("up", "t12m_revenue >= 1_000_000", to="KEY")])
        >>> [t.name if t else None for _, t in backtest(p, pf, "2022-02", "2022-04").timeline("C1")]
        ['ACTIVE', 'KEY', 'KEY']
    """
    first, last = Period.parse(start), Period.parse(end)
    if last < first:
        raise PolicyError(f"backtest end {last} is before its start {first}")
    start_tier = None if initial_tier is None else Tier.parse(initial_tier)
    months = tuple(Period.range(first, last))
    if engine == "columnar" and not policy.metrics.user:
        return _run_columns(policy, portfolio, months, start_tier)
    return run_plain(policy, portfolio, months, start_tier, engine)


class _Run:
    """The arrays a backtest fills month by month."""

    def __init__(self, n: int, months: int) -> None:
        self.tiers = np.full((n, months), ABSENT, dtype=np.int8)
        self.segments = np.full((n, months), ABSENT, dtype=np.int8)
        self.tier_moves = np.zeros((months, _N_TIERS, _N_TIERS), dtype=np.int64)
        self.held = np.zeros(months, dtype=np.int64)
        self.segment_moves: list[dict[tuple[Segment | None, Segment | None], int]] = []
        self.moves_by_customer = np.zeros(n, dtype=np.int64)

    def record(
        self,
        k: int,
        evaluation: Evaluation,
        present: npt.NDArray[np.bool_],
        tier: npt.NDArray[np.int8],
        segment: npt.NDArray[np.int8],
    ) -> None:
        """Keep month ``k``: the state after its transitions and the transitions counted."""
        self.tiers[present, k] = tier[present]
        self.segments[present, k] = segment[present]
        moved = evaluation.tier.outcome == Outcome.MOVE
        self.moves_by_customer[np.flatnonzero(present)[moved]] += 1  # table rows: present
        np.add.at(
            self.tier_moves[k],
            (evaluation.tier.before[moved].astype(np.intp), evaluation.tier.after[moved]),
            1,
        )
        self.held[k] = int((evaluation.tier.outcome == Outcome.HELD).sum())
        seg = evaluation.segment
        seg_moved = seg.outcome == Outcome.MOVE
        pairs = np.stack([seg.before[seg_moved], seg.after[seg_moved]], axis=1).astype(np.int64)
        unique, counts = np.unique(pairs.reshape(-1, 2), axis=0, return_counts=True)
        self.segment_moves.append(
            {
                (_segment(b), _segment(a)): n
                for (b, a), n in zip(unique.tolist(), counts.tolist(), strict=True)
            }
        )

    def result(self, policy: PolicyRules, months: tuple[Period, ...], ids: list[str]) -> Backtest:
        """The :class:`Backtest` of the months recorded."""
        return Backtest(
            policy.name,
            months,
            tuple(ids),
            self.tiers,
            self.segments,
            self.tier_moves,
            tuple(self.segment_moves),
            self.held,
            self.moves_by_customer,
        )


def run_plain(
    policy: PolicyRules,
    portfolio: Portfolio,
    months: tuple[Period, ...],
    start_tier: Tier | None,
    engine: Engine,
) -> Backtest:
    """The backtest on a copy of the portfolio: evaluate, ``apply_changes``, next month.

    Any engine and any user metric (a user metric sees the copy, with the tiers
    the policy produced); the specification of the columnar run.
    """
    pf = _copy(portfolio, start_tier)
    run = _Run(len(pf), len(months))
    first_period = pf.customer_columns.first_period
    for k, month in enumerate(months):
        evaluation = evaluate(policy, pf, month, engine=engine)
        pf.apply_changes(evaluation.changes())
        cols = pf.customer_columns
        run.record(k, evaluation, first_period <= month.ordinal, cols.tier, cols.segment)
    return run.result(policy, months, pf.customer_ids)


def _run_columns(
    policy: PolicyRules,
    portfolio: Portfolio,
    months: tuple[Period, ...],
    start_tier: Tier | None,
) -> Backtest:
    """The backtest on columns: the same results as :func:`run_plain`, no portfolio copy.

    Each month's metrics come from ``portfolio`` (its month-ordered revenue is
    sorted once); only what depends on the tiers the policy produced (tier,
    segment and ``months_in_tier``) is replaced by the run's own columns, and
    each month's transitions are written into those columns directly instead of
    through change objects.
    """
    cols = portfolio.customer_columns
    first_period = cols.first_period
    tier, tier_since, segment = cols.tier.copy(), cols.tier_since.copy(), cols.segment.copy()
    if start_tier is not None:
        tier[:] = start_tier.rank
        tier_since[:] = NO_CODE
    run = _Run(len(portfolio), len(months))
    for k, month in enumerate(months):
        p = month.ordinal
        present = first_period <= p
        base = portfolio.metrics(month)
        since = np.where(tier_since == NO_CODE, first_period, tier_since)[present]
        table = attrs.evolve(
            base,
            columns={**base.columns, "months_in_tier": p - since.astype(np.int64)},
            tier=tier[present],
            segment=segment[present],
        )
        evaluation = evaluate(policy, table)
        rows = np.flatnonzero(present)
        moved = evaluation.tier.outcome == Outcome.MOVE
        tier[rows[moved]] = evaluation.tier.after[moved]
        tier_since[rows[moved]] = p
        seg_moved = evaluation.segment.outcome == Outcome.MOVE
        segment[rows[seg_moved]] = evaluation.segment.after[seg_moved]
        run.record(k, evaluation, present, tier, segment)
    return run.result(policy, months, portfolio.customer_ids)


def _segment(code: int) -> Segment | None:
    return None if code == NO_CODE else SEGMENTS[code]


_SUMMARY_TEXT = {
    "en": {
        "a": "{} (a)",
        "b": "{} (b)",
        "month": "month",
        "transitions": "(tier transitions)",
        "total": "total",
        "per_tier": "customers per tier after {}:",
        "moved_twice": "customers moved twice or more: {} vs {}",
        "differing": "customers whose tiers differ in some month: {}",
    },
    "zh": {
        "a": "{}（甲）",
        "b": "{}（乙）",
        "month": "月份",
        "transitions": "（层级调整数）",
        "total": "合计",
        "per_tier": "{}末各层级客户数：",
        "moved_twice": "调整两次及以上的客户：{}对{}",
        "differing": "某月层级不同的客户：{}",
    },
}
"""The words of :meth:`BacktestComparison.summary` in each language."""


@attrs.frozen
class BacktestComparison:
    """Two backtests of the same portfolio and months, side by side.

    Attributes:
        a: The first backtest.
        b: The second backtest.
        final_crosstab: Customers by final tier under ``a`` (rows, by rank) and
            under ``b`` (columns), customers present at the end only.
        differing: Customers whose tier differs in at least one month.
    """

    a: Backtest
    b: Backtest
    final_crosstab: npt.NDArray[np.int64] = attrs.field(eq=False)
    differing: tuple[str, ...]

    def __repr__(self) -> str:
        a, b = self.a, self.b
        moves = f"{number(int(a.tier_moves.sum()))} vs {number(int(b.tier_moves.sum()))}"
        size = (
            f"{number(len(a.customer_ids))} customers, {number(len(self.differing))} differ",
            f"tier transitions {moves}",
        )
        names = f"{a.policy_name!r} vs {b.policy_name!r}"
        return short_repr("BacktestComparison", *size, policies=names, months=_span(a.months))

    def _repr_html_(self) -> str:
        a_moves, b_moves = self.a.moves_per_month(), self.b.moves_per_month()
        rows = zip(map(str, self.a.months), a_moves, b_moves, strict=True)
        headings = ("month", *(f"{b.policy_name} transitions" for b in (self.a, self.b)))
        total, caption = len(self.a.months), repr(self)
        return html_table(headings, rows, total=total, caption=caption, unit="months", limit=24)

    def summary(self, lang: str = "en") -> str:
        """A plain-text table: tier transitions and customers per tier each month.

        Args:
            lang: ``"en"`` or ``"zh"`` (Chinese headings and tier labels, full-width
                punctuation; the policy names as written).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        text = _SUMMARY_TEXT[check_lang(lang, where="BacktestComparison.summary")]
        name_a, name_b = self.a.policy_name, self.b.policy_name
        if name_a == name_b:
            name_a, name_b = text["a"].format(name_a), text["b"].format(name_b)
        width = max(len(name_a), len(name_b), 8)
        lines = [f"{text['month']:<8} {name_a:>{width}} {name_b:>{width}}   {text['transitions']}"]
        for month, ma, mb in zip(
            self.a.months, self.a.moves_per_month(), self.b.moves_per_month(), strict=True
        ):
            lines.append(f"{month!s:<8} {ma:>{width}} {mb:>{width}}")
        lines.append(
            f"{text['total']:<8} {sum(self.a.moves_per_month()):>{width}} "
            f"{sum(self.b.moves_per_month()):>{width}}"
        )
        lines.append("")
        lines.append(text["per_tier"].format(self.a.months[-1]))
        sizes_a, sizes_b = self.a.tier_sizes()[-1], self.b.tier_sizes()[-1]
        for tier in TIERS:
            lines.append(
                f"  {tier.label(lang):<10} {int(sizes_a[tier.rank]):>{width}} "
                f"{int(sizes_b[tier.rank]):>{width}}"
            )
        lines.append(
            text["moved_twice"].format(self.a.customers_moved(2), self.b.customers_moved(2))
        )
        lines.append(text["differing"].format(len(self.differing)))
        return "\n".join(lines)


def compare_backtests(a: Backtest, b: Backtest) -> BacktestComparison:
    """Compare two backtests over the same customers and months.

    Raises:
        PolicyError: the backtests cover different customers or months.
    """
    if a.months != b.months or a.customer_ids != b.customer_ids:
        raise PolicyError(
            f"cannot compare backtests of {a.policy_name!r} and {b.policy_name!r}: they cover "
            "different customers or months"
        )
    last_a, last_b = a.tiers[:, -1], b.tiers[:, -1]
    present = (last_a != ABSENT) & (last_b != ABSENT)
    crosstab = np.zeros((_N_TIERS, _N_TIERS), dtype=np.int64)
    np.add.at(crosstab, (last_a[present].astype(np.intp), last_b[present].astype(np.intp)), 1)
    differ = (a.tiers != b.tiers).any(axis=1)
    return BacktestComparison(
        a,
        b,
        crosstab,
        tuple(cid for cid, d in zip(a.customer_ids, differ.tolist(), strict=True) if d),
    )
