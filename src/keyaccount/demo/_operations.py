"""Demo operations data on top of a demo portfolio: how its project groups were run.

:func:`demo_operations` makes, deterministically from a seed, an
:class:`~keyaccount.operations.OperationsData` for a portfolio of :func:`keyaccount.demo.generate`:

- **ownership**: every customer with its project group from the first month with revenue
  (the groups as the portfolio lists them), plus a handful of dated moves between groups
  (bank branches to the insurers group, an apparel merchant to the Nike group, car-loan
  mailing to the banks group, a law firm leaving the courts group, ...);
- **targets** per group and month (whole thousands of yuan) for every month with revenue
  and the rest of the last year, set so that most groups end a year above target and
  about two in nine below; over the last full year the groups together are 10.6% above
  target, as in the source text (project revenue of 2021, 5.33 billion yuan, 0.51 billion
  above budget);
- **teams** (the portfolio's groups: a project manager and account managers full-time, the
  three support managers part-time) with a performance score per member and year, and the
  default payout scheme;
- **KPI observations**: the court project's four KPIs per judicial customer and month over
  the last twelve months, counted from the customer's parcels, with a few months breaking
  the default thresholds (several times as often in two or three provinces);
- **the supervision list** as the process would have left it under
  :data:`ESCALATION_POLICY`: each month's breaches opened by the KPI check on the 3rd of
  the next month and received by a provincial contact (first contact), problems people
  report (a few a week, in every department of the iron triangle), a few handed over,
  most closed out within days, the slow ones escalated by the weekly sweeps (Mondays),
  one breach marked severe (it goes up to headquarters), one dispatch order from
  headquarters to several provinces (one of its items still open), one case still open at
  province level, and the supervision orders the sweeps earned;
- **project lifecycles** for the groups, at different stages of the loop.

The data is as of four days after the KPI check of the last month (the 7th of the next
month, :attr:`OperationsData.as_of`), after the sweeps of the Mondays before that day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from keyaccount.demo._names import GIVEN_NAMES, SURNAMES
from keyaccount.domain import (
    Department,
    Level,
    Member,
    Period,
    PeriodRange,
    Role,
    Segment,
    SubSegment,
)
from keyaccount.exceptions import ValidationError
from keyaccount.operations import (
    COURT_KPIS,
    EscalationPolicy,
    KpiObservations,
    MemberScore,
    OperationsData,
    Ownership,
    OwnershipMove,
    ProjectLifecycle,
    SpanKind,
    SubjectAttributes,
    SubjectKind,
    SupervisionList,
    Target,
    Targets,
    allowed_moves,
    attainment,
    breach_source_key,
    default_kpi_thresholds,
    default_payout_scheme,
    detect_kpi_breaches,
    open_breach_items,
    responsible_for,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from keyaccount.operations import KpiBreach, KpiThresholds, SupervisionItem
    from keyaccount.portfolio import Portfolio

__all__ = [
    "DEFAULT_SEED",
    "ESCALATION_POLICY",
    "KPI_MONTHS",
    "TEXT_ATTAINMENT",
    "demo_operations",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_SEED = 2022
"""The seed :func:`demo_operations` uses by default (that of :func:`keyaccount.demo.generate`)."""
KPI_MONTHS = 12
"""Months of KPI observations, ending with the portfolio's last month with revenue."""
TEXT_ATTAINMENT = 5.33 / (5.33 - 0.51)
"""The groups' attainment over the last full year: 5.33 billion yuan, 0.51 billion above budget."""
TARGET_STEP_FEN = 1000 * 100
"""Monthly targets are whole thousands of yuan."""

HEADQUARTERS = "大客户营销中心"
"""Who formed the project groups and records moves made by headquarters."""
COMMAND_CENTRE = "总部指挥中心"
"""Who issues dispatch orders (指挥调度令) and supervision orders (工作督办单)."""
KPI_CHECK = "kpi-check"
"""The process that runs the monthly KPI check and opens items for breaches."""
SWEEP = "escalation-sweep"
"""The process that runs the weekly escalation sweep."""
FORMED = "project groups formed (项目组成立)"

_MOVES: tuple[tuple[int, str, str | None, str, int, str], ...] = (
    # months before the last, from, to, which customers, how many, why
    (
        16,
        "banks",
        "insurers",
        "branch",
        2,
        "bancassurance policy mailing belongs to the insurers project (银保保单寄递归保险项目组)",
    ),
    (
        19,
        "ecommerce",
        "nike",
        "any",
        1,
        "an apparel merchant joins the Nike project (并入耐克项目组)",
    ),
    (13, "tencent", "ecommerce", "any", 1, "its parcels are e-commerce orders (转入电商项目组)"),
    (
        10,
        "traffic",
        "banks",
        "auto_finance",
        1,
        "car-loan mailing goes with the banks (车贷归银行)",
    ),
    (4, "courts", None, "law_firm", 1, "a single-customer project from now on (转为单客户项目)"),
)
"""The demo's ownership moves."""

_KPI_BASE = np.array([0.990, 0.992, 0.985, 0.975])
"""A judicial customer's usual rate of each court KPI, in :data:`COURT_KPIS` order."""
_DIP_CHANCE = (0.008, 0.025)
"""Chance that a KPI dips in a month: elsewhere, and in the problem provinces."""
_SEVERE_RATE = 0.86
"""The on-time delivery rate of the severe case (largest judicial customer, month before last)."""

_RESOLUTIONS = (
    "delivery route re-planned; receipts returned (调整投递路线，回执已返回)",
    "late receipts chased with the court and scanned (催收回执并补录扫描)",
    "delivery staff retrained on signature capture (投递员签收培训)",
    "returned mail re-sent and signed for (退回邮件重投并签收)",
    "SVIP service desk assigned to the court (指定SVIP专属服务)",
)
_REPORTED: tuple[tuple[Department, Role, str], ...] = (
    # department, the group member who answers for it, what was reported
    (
        Department.SERVICE,
        Role.SERVICE_IMPROVEMENT,
        "customer complains of late receipts (客户投诉回执延迟)",
    ),
    (Department.SERVICE, Role.SERVICE_IMPROVEMENT, "complaint about damaged parcels (破损投诉)"),
    (
        Department.IT,
        Role.OPERATIONS_OPTIMISATION,
        "tracking data missing from the interface (接口轨迹缺失)",
    ),
    (
        Department.IT,
        Role.OPERATIONS_OPTIMISATION,
        "electronic receipts not synchronised (电子回执未同步)",
    ),
    (
        Department.OPERATIONS,
        Role.OPERATIONS_OPTIMISATION,
        "pickup capacity short at the peak (高峰揽收运力不足)",
    ),
    (
        Department.OPERATIONS,
        Role.OPERATIONS_OPTIMISATION,
        "parcels held up at the sorting centre (分拣中心积压)",
    ),
    (Department.MARKET, Role.ACCOUNT_MANAGER, "competitor quoted a lower price (竞争对手报价更低)"),
    (Department.MARKET, Role.BUSINESS_DEVELOPMENT, "contract renewal stalled (合同续签受阻)"),
)
"""Problems people report (department, who answers for it in the customer's group, title)."""
_REPORTED_PER_WEEK = 2.5
"""How many problems people report a week, on average, besides the KPI breaches."""
ESCALATION_POLICY = EscalationPolicy(
    days_per_level={Level.CITY: 7, Level.PROVINCE: 14, Level.HEADQUARTERS: 14},
    order_escalations=4,
)
"""The demo's escalation: a week at city level (one weekly meeting), two at province and
headquarters; a supervision order for a province with four escalations in 30 days."""
_CONTESTED = (
    "competitor bidding for the customer's volume (竞争对手争夺业务量)",
    Department.MARKET,
    Role.ACCOUNT_MANAGER,
)
"""The case still open at province level: reported for the banks group's largest customer."""
_DISPATCH_TITLE = (
    "Receipt return rate below standard for three months: rectify within the week "
    "(回执返回率连续三月未达标，限期整改)"
)
_DISPATCH_RESOLUTION = "provincial rectification plan carried out (省分整改方案落实)"


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValidationError(f"keyaccount.demo.demo_operations: seed must be >= 0, got {seed!r}")
    return seed


def demo_operations(portfolio: Portfolio, *, seed: int = DEFAULT_SEED) -> OperationsData:
    """The operations data of a demo portfolio: ownership, targets, teams, KPIs, supervision.

    The same portfolio and seed always give an equal value. Built for portfolios of
    :func:`keyaccount.demo.generate` (the nine project groups with their members); any
    portfolio with revenue works, a group missing from it is simply left out of the moves.

    Args:
        portfolio: The portfolio (its customers, revenue and project groups).
        seed: Seed of the random choices, ``>= 0``.

    Returns:
        An :class:`~keyaccount.operations.OperationsData`.

    Raises:
        ValidationError: a negative seed, or a portfolio without revenue.

    Example:
        >>> from keyaccount.demo import demo_operations, generate
        >>> pf = generate(seed=3, customers=300, months=24)
        >>> ops = demo_operations(pf, seed=3)
        >>> ops == demo_operations(pf, seed=3), ops.as_of.isoformat()
        (True, '2022-12-07')
    """
    seed = _check_seed(seed)
    span = portfolio.period_span
    if span is None:
        raise ValidationError("keyaccount.demo.demo_operations: the portfolio has no revenue")
    first, last = span
    rng = np.random.Generator(np.random.PCG64([seed, 10]))
    ownership = _ownership(portfolio, first, last, rng)
    monthly = _monthly_attributed(portfolio, ownership, first, last)
    targets = _targets(monthly, ownership.group_ids, first, last, rng)
    teams = {g.id: g.members for g in portfolio.project_groups}
    scores = _scores(teams, range(first.year, last.year + 1), rng)
    observations, problem, severe = _kpi_observations(portfolio, first, last, rng)
    thresholds = default_kpi_thresholds()
    supervision, as_of = _Simulation(portfolio, teams, thresholds, problem, severe, last, rng).run(
        observations
    )
    lifecycles = _lifecycles(teams, max(first, last - 20).first_day, as_of, rng)
    return OperationsData.build(
        as_of=as_of,
        ownership=ownership,
        targets=targets,
        teams=teams,
        scores=scores,
        payout_scheme=default_payout_scheme(),
        kpi_observations=observations,
        kpi_thresholds=thresholds,
        supervision=supervision,
        lifecycles=lifecycles,
    )


# ---------------------------------------------------------------- ownership


def _first_person(team: Sequence[Member], role: Role) -> str | None:
    return next((m.name for m in team if m.role is role), None)


def _ownership(
    portfolio: Portfolio, first: Period, last: Period, rng: np.random.Generator
) -> Ownership:
    """The groups' customers from ``first`` on, and the moves of :data:`_MOVES`."""
    ownership = Ownership.from_portfolio(portfolio, first, actor=HEADQUARTERS, reason=FORMED)
    groups = {g.id: g for g in portfolio.project_groups}
    cols = portfolio.customer_columns
    wanted = {
        "any": np.ones(len(cols.id), dtype=bool),
        "branch": cols.parent >= 0,
        "auto_finance": cols.sub_segment == SubSegment.AUTO_FINANCE.code,
        "law_firm": cols.sub_segment == SubSegment.LAW_FIRM.code,
    }
    taken: set[str] = set()
    moves: list[OwnershipMove] = []
    for back, source, target, which, count, reason in _MOVES:
        month = last - back
        if month <= first or source not in groups or (target is not None and target not in groups):
            continue
        found = _movable(portfolio, month, groups[source].customer_ids - taken, wanted[which])
        for cid in _pick(found, count, rng):
            actor = HEADQUARTERS
            if target is not None:
                actor = _first_person(groups[target].members, Role.PROJECT_MANAGER) or actor
            moves.append(OwnershipMove(cid, target, month, actor, reason))
            taken.add(cid)
    return ownership.add(moves, customers=portfolio)


def _movable(
    portfolio: Portfolio,
    month: Period,
    members: frozenset[str] | set[str],
    wanted: npt.NDArray[np.bool_],
) -> list[tuple[int, str]]:
    """Members with revenue in ``month``, as (revenue of the year before, id), largest first.

    Those that fit ``wanted`` (a branch, a sub-segment), or failing that any.
    """
    cols = portfolio.customer_columns
    rev = portfolio.revenue_columns
    n = len(cols.id)
    active = np.zeros(n, dtype=bool)
    active[rev.customer[(rev.period == month.ordinal) & (rev.fen > 0)]] = True
    year = (rev.period >= (month - 12).ordinal) & (rev.period < month.ordinal)
    before = np.bincount(rev.customer[year], weights=rev.fen[year], minlength=n)
    member = np.array([cid in members for cid in cols.id], dtype=bool)
    for mask in (active & member & wanted, active & member):
        rows = np.flatnonzero(mask)
        if rows.size:
            return sorted(((int(before[i]), str(cols.id[i])) for i in rows), reverse=True)
    return []


def _pick(found: list[tuple[int, str]], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` of the customers ranked between the top tenth and the median, at random.

    Mid-sized accounts: a move that shows in the groups' figures without dwarfing them.
    """
    lo = len(found) // 10
    hi = max(lo + count, (len(found) + 1) // 2)
    middle = found[lo:hi]
    return [middle[i][1] for i in sorted(rng.permutation(len(middle))[:count].tolist())]


def _monthly_attributed(
    portfolio: Portfolio, ownership: Ownership, first: Period, last: Period
) -> IntArray:
    """Attributed fen by group (rows, in code order) and month ``first..last`` (columns)."""
    table = attainment(portfolio, ownership, Targets(), PeriodRange(first, last))
    out = np.zeros((len(ownership.group_ids), last - first + 1), dtype=np.int64)
    months = table.kind == SpanKind.MONTH.months
    out[table.group[months], table.start[months] - first.ordinal] = table.columns["attributed_fen"][
        months
    ]
    return out


# ---------------------------------------------------------------- targets


def _last_full_year(first: Period, last: Period) -> int | None:
    year = last.year if last.month == 12 else last.year - 1
    return year if Period(year, 1) >= first else None


def _planned_attainment(
    attributed: FloatArray, ratio: float, rng: np.random.Generator
) -> FloatArray:
    """A year's attainment per group: most a little above 1, two below, ``ratio`` overall."""
    n = attributed.shape[0]
    planned: FloatArray = np.asarray(rng.uniform(1.05, 1.12, n), dtype=np.float64)
    below = np.zeros(n, dtype=bool)
    if n > 1:
        below[rng.choice(n, max(1, round(n * 2 / 9)), replace=False)] = True
    planned[below] = rng.uniform(0.93, 0.99, int(below.sum()))
    need = attributed.sum() / ratio - (attributed[below] / planned[below]).sum()
    have = (attributed[~below] / planned[~below]).sum()
    if need > 0 and have > 0:
        planned[~below] = np.maximum(planned[~below] * have / need, 1.005)
    return planned


def _targets(
    monthly: IntArray,
    group_ids: Sequence[str],
    first: Period,
    last: Period,
    rng: np.random.Generator,
) -> Targets:
    """Month targets for every month with revenue and the rest of the last year."""
    n_groups, n_months = monthly.shape
    full_year = _last_full_year(first, last)
    actual = np.maximum(monthly, 0).astype(np.float64)
    raw = actual * (1.0 + np.clip(rng.normal(0.0, 0.05, monthly.shape), -0.12, 0.12))
    target = np.zeros(monthly.shape, dtype=np.float64)
    for year in range(first.year, last.year + 1):
        lo = max(Period(year, 1), first) - first
        hi = min(Period(year, 12), last) - first + 1
        year_actual = actual[:, lo:hi].sum(axis=1)
        ratio = TEXT_ATTAINMENT if year == full_year else float(rng.uniform(1.04, 1.10))
        planned = _planned_attainment(year_actual, ratio, rng)
        weights = raw[:, lo:hi].sum(axis=1)
        scale = np.divide(year_actual / planned, weights, out=np.zeros(n_groups), where=weights > 0)
        target[:, lo:hi] = raw[:, lo:hi] * scale[:, None]
    fen = (np.rint(target / TARGET_STEP_FEN) * TARGET_STEP_FEN).astype(np.int64)
    rows = [
        Target.from_fen(group_ids[g], first + m, int(fen[g, m]))
        for g in range(n_groups)
        for m in range(n_months)
    ]
    rows += _rest_of_year(fen, group_ids, first, last)
    return Targets(rows)


def _rest_of_year(
    fen: IntArray, group_ids: Sequence[str], first: Period, last: Period
) -> list[Target]:
    """Targets for the months of the last year after the last month with revenue.

    The same month a year before, grown as the year's targets so far grew on the same
    months a year before; without a year before, the mean month target of the year so far.
    """
    out: list[Target] = []
    lo = max(Period(last.year, 1), first) - first
    hi = last - first + 1
    so_far = fen[:, lo:hi]
    before = fen[:, lo - 12 : hi - 12] if lo >= 12 else None
    for g, group_id in enumerate(group_ids):
        # Exact fractions of integer fen: a target is money, rounded once to its step.
        mean = Fraction(int(so_far[g].sum()), max(so_far.shape[1], 1))
        growth = None
        if before is not None and int(before[g].sum()) > 0:
            growth = Fraction(int(so_far[g].sum()), int(before[g].sum()))
        for month in range(last.month + 1, 13):
            period = Period(last.year, month)
            index = period - first - 12
            if growth is not None and 0 <= index < fen.shape[1]:
                value = int(fen[g, index]) * growth
            else:
                value = mean
            step = round(value / TARGET_STEP_FEN) * TARGET_STEP_FEN
            out.append(Target.from_fen(group_id, period, int(step)))
    return out


def _scores(
    teams: Mapping[str, Sequence[Member]], years: range, rng: np.random.Generator
) -> tuple[MemberScore, ...]:
    """A whole-number score per member and year: full-time 75..98, part-time 65..100."""
    out: list[MemberScore] = []
    for year in years:
        for group_id, team in teams.items():
            for member in team:
                lo, hi = (75, 99) if member.full_time else (65, 101)
                score = Decimal(int(rng.integers(lo, hi)))
                out.append(MemberScore(group_id, year, member.name, score))
    return tuple(out)


# ---------------------------------------------------------------- KPIs


def _kpi_observations(
    portfolio: Portfolio, first: Period, last: Period, rng: np.random.Generator
) -> tuple[KpiObservations, tuple[str, ...], tuple[str, Period] | None]:
    """Court KPIs per judicial customer and month with revenue, from its parcels.

    Returns:
        The observations, the problem provinces, and the severe case (customer, month).
    """
    start = max(first, last - (KPI_MONTHS - 1))
    months = last - start + 1
    cols = portfolio.customer_columns
    judicial = np.flatnonzero(cols.segment == Segment.JUDICIAL.code)
    n = judicial.size
    where = np.full(len(cols.id), -1, dtype=np.int64)
    where[judicial] = np.arange(n)
    rev = portfolio.revenue_columns
    row = where[rev.customer]
    keep = (row >= 0) & (rev.period >= start.ordinal) & (rev.period <= last.ordinal)
    cell = row[keep] * months + (rev.period[keep].astype(np.int64) - start.ordinal)
    records = np.bincount(cell, minlength=n * months).reshape(n, months)
    sent = np.rint(
        np.bincount(cell, weights=rev.volume[keep], minlength=n * months).reshape(n, months)
    ).astype(np.int64)
    province = cols.province[judicial]
    names, counts = np.unique(np.array([p or "" for p in province], dtype=str), return_counts=True)
    counts[names == ""] = 0
    pick = min(3, int(np.count_nonzero(counts)))
    problem: tuple[str, ...] = ()
    if pick:
        chosen = rng.choice(names.size, pick, replace=False, p=counts / counts.sum())
        problem = tuple(str(names[i]) for i in sorted(chosen.tolist()))
    in_problem = np.isin(np.array([p or "" for p in province], dtype=object), problem)
    shape = (n, months, len(COURT_KPIS))
    chance = np.where(in_problem, _DIP_CHANCE[1], _DIP_CHANCE[0])[:, None, None]
    dips = (rng.random(shape) < chance) * rng.uniform(0.04, 0.12, shape)
    jitter = -np.abs(rng.normal(0.0, 0.003, (n, len(COURT_KPIS))))
    quality = _KPI_BASE + jitter[:, None, :] - dips
    returned_share = rng.uniform(0.02, 0.05, n)
    severe = None
    month = months - 2 if months >= 2 else months - 1
    if n and int(sent[:, month].max()) > 0:
        worst = int(np.argmax(sent[:, month]))
        quality[worst, month, 1] = _SEVERE_RATE
        severe = (str(cols.id[judicial[worst]]), start + month)

    def counted(base: IntArray, k: int) -> IntArray:
        return np.minimum(np.floor(base * quality[:, :, k] + 0.5).astype(np.int64), base)

    returned = np.floor(sent * returned_share[:, None] + 0.5).astype(np.int64)
    receipts = counted(sent, 0)
    pairs = [
        (receipts, sent),
        (counted(sent, 1), sent),
        (counted(receipts, 2), receipts),
        (counted(returned, 3), returned),
    ]
    c, m = np.nonzero(records > 0)
    k = len(COURT_KPIS)
    observations = KpiObservations.from_arrays(
        subject_id=np.repeat(cols.id[judicial[c]], k),
        kpi_id=np.tile(np.array([d.id for d in COURT_KPIS], dtype=object), c.size),
        period=np.repeat(start.ordinal + m, k).astype(np.int32),
        numerator=np.stack([p[0][c, m] for p in pairs], axis=1).ravel(),
        denominator=np.stack([p[1][c, m] for p in pairs], axis=1).ravel(),
    )
    return observations, problem, severe


# ---------------------------------------------------------------- supervision


def _check_day(month: Period) -> dt.date:
    """The monthly KPI check of ``month``: the 3rd of the next month."""
    return (month + 1).first_day + dt.timedelta(days=2)


class _Simulation:
    """The supervision list as the checks, the people and the weekly sweeps left it."""

    def __init__(
        self,
        portfolio: Portfolio,
        teams: Mapping[str, Sequence[Member]],
        thresholds: KpiThresholds,
        problem: tuple[str, ...],
        severe: tuple[str, Period] | None,
        last: Period,
        rng: np.random.Generator,
    ) -> None:
        self.portfolio = portfolio
        self.teams = teams
        self.thresholds = thresholds
        self.problem = problem
        self.rng = rng
        self.subjects = SubjectAttributes.from_portfolio(portfolio)
        self.responsible = responsible_for(teams, self.subjects)
        self.list = SupervisionList.from_portfolio(portfolio, policy=ESCALATION_POLICY)
        self.as_of = _check_day(last) + dt.timedelta(days=4)
        courts = teams.get("courts", ())
        self.courts_pm = _first_person(courts, Role.PROJECT_MANAGER) or HEADQUARTERS
        self.courts_ops = _first_person(courts, Role.OPERATIONS_OPTIMISATION)
        self.severe_key = (
            None
            if severe is None
            else breach_source_key(SubjectKind.CUSTOMER, severe[0], COURT_KPIS[1].id, severe[1])
        )
        self.last = last
        self.agenda: dict[dt.date, list[Callable[[], object]]] = defaultdict(list)
        provinces = sorted({str(p) for p in portfolio.customer_columns.province if p})
        people = [s + g for s in SURNAMES for g in GIVEN_NAMES]
        chosen = rng.choice(len(people), len(provinces), replace=False).tolist()
        self.contacts: dict[str, str] = {
            p: people[i] for p, i in zip(provinces, chosen, strict=True)
        }

    def _plan(self, day: dt.date, action: Callable[[], object]) -> None:
        if day <= self.as_of:
            self.agenda[day].append(action)

    def _contact(self, item: SupervisionItem) -> str:
        return self.contacts.get(item.province or "", item.responsible_person)

    def _delay(self, province: str | None) -> int:
        """Days from opening to close-out: slower in the problem provinces."""
        slow = province in self.problem
        bands = ((3, 8), (8, 28), (28, 60)) if slow else ((2, 8), (8, 24), (24, 45))
        chances = (0.45, 0.40, 0.15) if slow else (0.65, 0.30, 0.05)
        lo, hi = bands[int(self.rng.choice(3, p=chances))]
        return int(self.rng.integers(lo, hi))

    def _follow(self, item: SupervisionItem, *, close: bool) -> None:
        """Plan how people handle a new item: receive, maybe hand over, close out."""
        contact = item.owner or self._contact(item)
        received = item.opened_on
        if item.owner is None:
            received += dt.timedelta(days=int(self.rng.integers(0, 2)))
            self._plan(received, lambda: self.list.receive(item.id, who=contact, on=received))
        owner, handed = contact, received
        if self.courts_ops and self.courts_ops != contact and self.rng.random() < 0.1:
            handed = received + dt.timedelta(days=1)
            to = self.courts_ops
            self._plan(handed, lambda: self.list.hand_over(item.id, to, who=contact, on=handed))
            owner = to
        if not close:
            return
        closed = max(
            item.opened_on + dt.timedelta(days=self._delay(item.province)),
            handed + dt.timedelta(days=1),
        )
        resolution = _RESOLUTIONS[int(self.rng.integers(len(_RESOLUTIONS)))]
        if item.dispatch_id is not None:
            resolution = _DISPATCH_RESOLUTION
        self._plan(closed, lambda: self.list.close_out(item.id, resolution, who=owner, on=closed))

    def _check(self, day: dt.date, breaches: Sequence[KpiBreach]) -> None:
        opened = open_breach_items(
            self.list,
            breaches,
            who=KPI_CHECK,
            on=day,
            responsible_person=self.responsible,
        )
        for item in opened:
            severe = item.source_key == self.severe_key
            if severe:
                self.list.set_severity(item.id, "SEVERE", who=self.courts_pm, on=day)
            self._follow(item, close=not severe)

    def _reported(self, start: dt.date) -> dict[dt.date, list[tuple[int, int]]]:
        """Problems people will report on the days ``start .. as_of - 1``: (customer, kind)."""
        cols = self.portfolio.customer_columns
        grouped = {cid for g in self.portfolio.project_groups for cid in g.customer_ids}
        eligible = [
            i
            for i, (cid, province) in enumerate(zip(cols.id, cols.province, strict=True))
            if province and cid in grouped
        ]
        days = (self.as_of - start).days
        out: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
        if not eligible or days <= 0:
            return out
        count = int(self.rng.poisson(_REPORTED_PER_WEEK * days / 7))
        for offset, who, kind in zip(
            self.rng.integers(0, days, count).tolist(),
            self.rng.integers(0, len(eligible), count).tolist(),
            self.rng.integers(0, len(_REPORTED), count).tolist(),
            strict=True,
        ):
            out[start + dt.timedelta(days=offset)].append((eligible[who], kind))
        return out

    def _report(self, day: dt.date, position: int, kind: int) -> None:
        """A provincial contact opens (and so owns) an item for a problem reported to them."""
        cols = self.portfolio.customer_columns
        cid, province = str(cols.id[position]), str(cols.province[position])
        department, role, title = _REPORTED[kind]
        group = self.subjects.of(SubjectKind.CUSTOMER, cid)[0]
        contact = self.contacts[province]
        person = _first_person(self.teams.get(group or "", ()), role) or contact
        item = self.list.open(
            title,
            subject_id=cid,
            department=department,
            responsible_person=person,
            who=contact,
            on=day,
            province=province,
        )
        self._follow(item, close=True)

    def _contest(self, start: dt.date) -> None:
        """Plan the open province-level case: reported eight days before the last sweep.

        Due the day before that sweep, the sweep moves it to province level, where it is
        still open (due two weeks later) at :attr:`as_of`.
        """
        last_sweep = self.as_of - dt.timedelta(days=(self.as_of.weekday() - 1) % 7 + 1)
        day = last_sweep - dt.timedelta(days=8)
        group = "banks" if "banks" in self.subjects.groups else None
        if day < start or group is None:
            return
        cols = self.portfolio.customer_columns
        rev = self.portfolio.revenue_columns
        month = rev.period == self.last.ordinal
        fen = np.bincount(rev.customer[month], weights=rev.fen[month], minlength=len(cols.id))
        members = self.portfolio.project_group(group).customer_ids
        ranked = [
            int(i)
            for i in np.argsort(-fen, kind="stable")
            if fen[i] > 0 and cols.province[i] and cols.id[i] in members
        ]
        if not ranked:
            return
        cid, province = str(cols.id[ranked[0]]), str(cols.province[ranked[0]])
        title, department, role = _CONTESTED
        person = _first_person(self.teams.get(group, ()), role) or self.contacts[province]

        def report() -> None:
            self.list.open(
                title,
                subject_id=cid,
                department=department,
                responsible_person=person,
                who=self.contacts[province],
                on=day,
                province=province,
            )

        self._plan(day, report)

    def _dispatch(self, day: dt.date) -> None:
        others = sorted(set(self.contacts) - set(self.problem))
        provinces = list(self.problem)
        if others:
            provinces.append(others[int(self.rng.integers(len(others)))])
        if not provinces:
            return
        subject = "courts" if "courts" in self.subjects.groups else None
        if subject is None:
            return
        order = self.list.dispatch(
            _DISPATCH_TITLE,
            provinces={p: self.contacts[p] for p in provinces},
            subject_id=subject,
            subject_kind=SubjectKind.GROUP,
            department=Department.OPERATIONS,
            who=COMMAND_CENTRE,
            on=day,
        )
        for n, item_id in enumerate(order.item_ids):
            item = self.list.item(item_id)
            self._follow(item, close=n > 0)

    def run(self, observations: KpiObservations) -> tuple[SupervisionList, dt.date]:
        """Play the months of KPI checks, the weekly sweeps and people's actions to ``as_of``."""
        breaches = detect_kpi_breaches(observations, self.thresholds, self.subjects)
        by_month: dict[Period, list[KpiBreach]] = defaultdict(list)
        for breach in breaches:
            by_month[breach.period].append(breach)
        months = sorted({Period.from_ordinal(int(p)) for p in np.unique(observations.period)})
        checks = {_check_day(month): month for month in months}
        dispatch_month = self.last - 3
        dispatch_day = (
            _check_day(dispatch_month) + dt.timedelta(days=4)
            if months and dispatch_month >= months[0]
            else None
        )
        day = min(checks) if checks else self.as_of
        reported = self._reported(day)
        self._contest(day)
        while day <= self.as_of:
            if day.weekday() == 0 and day < self.as_of:
                self.list.sweep(day, who=SWEEP)
                self.list.issue_supervision_orders(day, who=COMMAND_CENTRE)
            if day in checks:
                self._check(day, by_month.get(checks[day], []))
            if day == dispatch_day:
                self._dispatch(day)
            for position, kind in reported.get(day, []):
                self._report(day, position, kind)
            for action in self.agenda.pop(day, []):
                action()
            day += dt.timedelta(days=1)
        return self.list, self.as_of


# ---------------------------------------------------------------- lifecycles


def _lifecycles(
    teams: Mapping[str, Sequence[Member]],
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
) -> tuple[ProjectLifecycle, ...]:
    """One lifecycle per group, each a different number of moves round the loop."""
    out: list[ProjectLifecycle] = []
    steps = rng.permutation(np.arange(1, max(len(teams), 9) + 1)).tolist()
    days = max((end - start).days, 1)
    for (group_id, team), count in zip(teams.items(), steps, strict=False):
        who = _first_person(team, Role.PROJECT_MANAGER) or HEADQUARTERS
        offsets = np.sort(rng.choice(days, min(count, days), replace=False)).tolist()
        lifecycle = ProjectLifecycle(group_id)
        for offset in offsets:
            on = start + dt.timedelta(days=int(offset))
            lifecycle = lifecycle.move(allowed_moves(lifecycle.stage)[0], who=who, on=on)
        out.append(lifecycle)
    return tuple(out)
