"""The operations data of a portfolio as one value: what the operations commands read.

:class:`OperationsData` bundles the values of :mod:`keyaccount.operations` that describe how
the project groups are run: ownership over time, targets, teams and their performance
scores, the payout scheme, KPI observations and thresholds, the supervision list (as its
records: items, history, orders) and the project lifecycles. The demo generator
(:func:`keyaccount.demo.demo_operations`) makes one; a store that keeps operations data
produces the same value from its tables, so the commands work on either.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from keyaccount.domain import Member, Period, Role, yuan_to_fen
from keyaccount.operations._attainment import AttainmentTable, attainment
from keyaccount.operations._kpi import KpiObservations, SubjectAttributes
from keyaccount.operations._payout import PayoutRun, compute_payouts_fen
from keyaccount.operations._supervision import SupervisionList
from keyaccount.operations._targets import PeriodSpan, Targets
from keyaccount.utils.display import html_table, number, short_repr

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from decimal import Decimal

    from keyaccount.domain import PeriodRange
    from keyaccount.operations._kpi_breach import KpiBreach
    from keyaccount.operations._kpi_thresholds import KpiThresholds
    from keyaccount.operations._lifecycle import ProjectLifecycle
    from keyaccount.operations._ownership import Ownership
    from keyaccount.operations._scheme import PayoutScheme
    from keyaccount.operations._supervision_items import (
        DispatchOrder,
        EscalationPolicy,
        ItemHistoryRow,
        SupervisionItem,
        SupervisionOrder,
    )
    from keyaccount.portfolio import Portfolio

__all__ = ["MemberScore", "OperationsData", "responsible_for"]


@attrs.frozen
class MemberScore:
    """A member's performance score in a project group for a calendar year.

    Attributes:
        group_id: The project group.
        year: The year the score is for (payouts of that year, or of a month or quarter in it).
        member: The member's name.
        score: The score, ``Decimal`` >= 0 on any scale (payouts use only proportions).
    """

    group_id: str
    year: int
    member: str
    score: Decimal


def _same_observations(a: KpiObservations, b: KpiObservations) -> bool:
    if a is b:
        return True
    if len(a) != len(b) or list(a.registry) != list(b.registry):
        return False
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("subject_kind", "subject_id", "kpi_id", "period", "numerator", "denominator")
    )


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _to_teams(value: Mapping[str, Any]) -> dict[str, tuple[Member, ...]]:
    return {str(group_id): tuple(members) for group_id, members in value.items()}


@attrs.frozen
class OperationsData:
    """The operations data of one portfolio, as of one day (a value: build a new one to change it).

    Attributes:
        as_of: The day the data is as of: the supervision list as it stands at the end of
            it, the day ``keyaccount escalations`` counts overdue items on.
        ownership: Which project group owned which customer when; its groups, in code order.
        targets: Revenue targets per group (and member) and month, quarter or year.
        teams: Group id -> its members (one project manager each).
        scores: Performance scores per group, year and member.
        payout_scheme: The incentive scheme payouts are computed with.
        kpi_observations: Service-KPI counts per subject, KPI and month.
        kpi_thresholds: The KPI thresholds (tighter for SVIP customers).
        escalation_policy: Days per level and the supervision-order threshold.
        supervision_items: Every item of the supervision list, in the order opened.
        supervision_history: The list's append-only history rows, in order.
        dispatch_orders: Dispatch orders (指挥调度令) issued, in order.
        supervision_orders: Supervision orders (工作督办单) issued, in order.
        lifecycles: One project lifecycle per project group (project id = group id).
    """

    as_of: dt.date
    ownership: Ownership
    targets: Targets
    teams: dict[str, tuple[Member, ...]] = attrs.field(converter=_to_teams)
    scores: tuple[MemberScore, ...] = attrs.field(converter=_tuple)
    payout_scheme: PayoutScheme
    kpi_observations: KpiObservations = attrs.field(eq=attrs.cmp_using(eq=_same_observations))
    kpi_thresholds: KpiThresholds
    escalation_policy: EscalationPolicy
    supervision_items: tuple[SupervisionItem, ...] = attrs.field(converter=_tuple)
    supervision_history: tuple[ItemHistoryRow, ...] = attrs.field(converter=_tuple)
    dispatch_orders: tuple[DispatchOrder, ...] = attrs.field(converter=_tuple)
    supervision_orders: tuple[SupervisionOrder, ...] = attrs.field(converter=_tuple)
    lifecycles: tuple[ProjectLifecycle, ...] = attrs.field(converter=_tuple)

    @classmethod
    def build(
        cls,
        *,
        as_of: dt.date,
        ownership: Ownership,
        targets: Targets,
        teams: Mapping[str, Sequence[Member]],
        scores: Iterable[MemberScore],
        payout_scheme: PayoutScheme,
        kpi_observations: KpiObservations,
        kpi_thresholds: KpiThresholds,
        supervision: SupervisionList,
        lifecycles: Iterable[ProjectLifecycle],
    ) -> OperationsData:
        """The value from its parts, the supervision list taken as its records and policy.

        A source of operations data (the demo generator, a store) reads the parts and
        calls this; the list is copied into records, so changing it later changes nothing.
        """
        return cls(
            as_of=as_of,
            ownership=ownership,
            targets=targets,
            teams=teams,
            scores=scores,
            payout_scheme=payout_scheme,
            kpi_observations=kpi_observations,
            kpi_thresholds=kpi_thresholds,
            escalation_policy=supervision.policy,
            supervision_items=supervision.items,
            supervision_history=supervision.history,
            dispatch_orders=supervision.dispatch_orders,
            supervision_orders=supervision.supervision_orders,
            lifecycles=lifecycles,
        )

    @property
    def group_ids(self) -> tuple[str, ...]:
        """The project groups, in code order (the ownership's)."""
        return self.ownership.group_ids

    def _parts(self) -> tuple[tuple[str, int, str], ...]:
        return (
            ("ownership", len(self.ownership), "moves"),
            ("targets", len(self.targets), "targets"),
            ("teams", sum(len(m) for m in self.teams.values()), "members"),
            ("scores", len(self.scores), "scores"),
            ("kpi_observations", len(self.kpi_observations), "observations"),
            ("kpi_thresholds", len(self.kpi_thresholds), "thresholds"),
            ("supervision_items", len(self.supervision_items), "items"),
            ("supervision_history", len(self.supervision_history), "history rows"),
            ("dispatch_orders", len(self.dispatch_orders), "orders"),
            ("supervision_orders", len(self.supervision_orders), "orders"),
            ("lifecycles", len(self.lifecycles), "lifecycles"),
        )

    def __repr__(self) -> str:
        shown = ("ownership", "targets", "kpi_observations", "supervision_items")
        size = [f"{number(n)} {what}" for name, n, what in self._parts() if name in shown]
        facts = {"as_of": self.as_of, "scheme": self.payout_scheme.name}
        return short_repr("OperationsData", f"{len(self.group_ids)} groups", *size, **facts)

    def _repr_html_(self) -> str:
        rows = ((name, n, what) for name, n, what in self._parts())
        headings = ("part", "size", "of")
        return html_table(headings, rows, caption=repr(self), unit="parts", limit=20)

    @property
    def kpi_months(self) -> tuple[Period, Period] | None:
        """The first and last month with KPI observations, or ``None`` without any."""
        periods = self.kpi_observations.period
        if periods.size == 0:
            return None
        return Period.from_ordinal(int(periods.min())), Period.from_ordinal(int(periods.max()))

    def scores_for(self, year: int) -> dict[str, dict[str, Decimal]]:
        """Group id -> member -> score for ``year`` (groups without scores are left out)."""
        out: dict[str, dict[str, Decimal]] = {}
        for s in self.scores:
            if s.year == year:
                out.setdefault(s.group_id, {})[s.member] = s.score
        return out

    def lifecycle(self, group_id: str) -> ProjectLifecycle | None:
        """The lifecycle of the project ``group_id``, or ``None``."""
        return next((lc for lc in self.lifecycles if lc.project_id == group_id), None)

    def supervision_list(self, portfolio: Portfolio | None = None) -> SupervisionList:
        """A new in-memory supervision list holding the records (changing it changes nothing here).

        Args:
            portfolio: When given, new items are accepted only for its customers and groups.
        """
        return SupervisionList.from_records(
            self.supervision_items,
            self.supervision_history,
            dispatch_orders=self.dispatch_orders,
            supervision_orders=self.supervision_orders,
            policy=self.escalation_policy,
            customer_ids=None if portfolio is None else portfolio.customer_ids,
            group_ids=None if portfolio is None else [g.id for g in portfolio.project_groups],
        )

    def attainment(
        self,
        portfolio: Portfolio,
        months: PeriodRange | PeriodSpan | str | None = None,
        *,
        by_segment: bool = False,
    ) -> AttainmentTable:
        """:func:`keyaccount.operations.attainment` with this ownership and these targets."""
        return attainment(portfolio, self.ownership, self.targets, months, by_segment=by_segment)

    def payouts(self, portfolio: Portfolio, span: PeriodSpan | Period | str) -> PayoutRun:
        """The payouts of ``span`` (a month, quarter or year) of the groups with a positive target.

        Attributed revenue and targets come from :meth:`attainment`, the scores from
        :meth:`scores_for` the span's year; a group without a positive target for the span
        has no payout and is left out of the run (see ``run.group_ids``).
        """
        parsed = PeriodSpan.parse(span)
        table = self.attainment(portfolio, parsed)
        group_ids: list[str] = []
        attributed: list[int] = []
        target: list[int] = []
        for row in table.rows(kind=parsed.kind):
            if row.span != parsed or row.target is None or row.target <= 0:
                continue
            group_ids.append(row.group_id)
            attributed.append(yuan_to_fen(row.attributed))
            target.append(yuan_to_fen(row.target))
        scores = self.scores_for(parsed.start.year)
        return compute_payouts_fen(
            self.payout_scheme,
            str(parsed),
            group_ids,
            np.array(attributed, dtype=np.int64),
            np.array(target, dtype=np.int64),
            {g: self.teams[g] for g in group_ids},
            scores={g: scores[g] for g in group_ids if g in scores},
        )

    def subject_attributes(self, portfolio: Portfolio) -> SubjectAttributes:
        """The portfolio's customers and groups for KPI checks."""
        return SubjectAttributes.from_portfolio(portfolio)

    def breach_responsible(self, subjects: SubjectAttributes) -> Callable[[KpiBreach], str]:
        """Who answers for a KPI breach (:func:`responsible_for` with these teams)."""
        return responsible_for(self.teams, subjects)


def responsible_for(
    teams: Mapping[str, Sequence[Member]], subjects: SubjectAttributes
) -> Callable[[KpiBreach], str]:
    """Who answers for a KPI breach: the service-improvement manager of the subject's group.

    Failing that, the group's project manager; a subject without a group (or whose group
    has no team) is answered for by the first service-improvement manager of any team
    ("four to the person": every item names a person), else ``"service desk"``.
    """

    def person(group_id: str | None) -> str | None:
        team = teams.get(group_id or "", ())
        for role in (Role.SERVICE_IMPROVEMENT, Role.PROJECT_MANAGER):
            found = next((m.name for m in team if m.role is role), None)
            if found is not None:
                return found
        return None

    fallback = next(
        (m.name for team in teams.values() for m in team if m.role is Role.SERVICE_IMPROVEMENT),
        "service desk",
    )

    def responsible(breach: KpiBreach) -> str:
        group_id = subjects.of(breach.subject_kind, breach.subject_id)[0]
        return person(group_id) or fallback

    return responsible
