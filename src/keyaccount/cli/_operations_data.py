"""The operations commands' results as rows for ``--format json|csv`` (see ``_output``).

Keys are the attribute names of the library objects behind the rows
(:class:`~keyaccount.operations.AttainmentRow`, :class:`~keyaccount.operations.Payout`,
:class:`~keyaccount.operations.PayoutShare`, :class:`~keyaccount.operations.KpiBreach`,
:class:`~keyaccount.operations.SupervisionItem`, ...); money is ``Decimal`` yuan (written
as a decimal string with two decimals), ratios floats, enums by name, days ISO 8601.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.cli._output import Section
from keyaccount.domain import fen_to_yuan

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping, Sequence

    from keyaccount.cli._render_operations import GroupYear
    from keyaccount.operations import (
        AttainmentRow,
        KpiBreach,
        KpiObservations,
        KpiRegistry,
        MeetingReport,
        OperationsData,
        PayoutRun,
        ProjectLifecycle,
        SupervisionItem,
        SweepResult,
    )

__all__ = [
    "ATTAINMENT_KEYS",
    "ITEM_KEYS",
    "SPAN_KEYS",
    "attainment_section",
    "breach_section",
    "item_section",
    "kpi_section",
    "lifecycle_section",
    "meeting_section",
    "moves_section",
    "orders_section",
    "payout_sections",
    "span_section",
    "summary_section",
    "sweep_section",
]

ATTAINMENT_KEYS = (
    "group_id",
    "attributed",
    "target",
    "variance",
    "attainment",
    "q1_attainment",
    "q2_attainment",
    "q3_attainment",
    "q4_attainment",
    "year_target",
)
"""The columns of the attainment of a year by group (``targets``, the demo)."""

SPAN_KEYS = (
    "group_id",
    "segment",
    "span",
    "attributed",
    "target",
    "variance",
    "attainment",
    "ytd_attributed",
    "ytd_target",
    "ytd_variance",
    "ytd_attainment",
)
"""The columns of :class:`~keyaccount.operations.AttainmentRow` (``targets --group``)."""

ITEM_KEYS = (
    "id",
    "level",
    "severity",
    "status",
    "province",
    "department",
    "subject_kind",
    "subject_id",
    "title",
    "responsible_person",
    "owner",
    "opened_on",
    "due_on",
    "overdue",
    "flagged",
)
"""The columns of a supervision item (``escalations``, the demo)."""


def _yuan(fen: int | None) -> object:
    return None if fen is None else fen_to_yuan(int(fen))


def _ratio(numerator: int, denominator: int | None) -> float | None:
    if denominator is None or denominator <= 0:
        return None
    return float(np.float64(numerator) / np.float64(denominator))


def attainment_section(rows: Sequence[GroupYear], name: str = "attainment") -> Section:
    """Each group's attributed revenue, target, variance and attainment for a year."""
    out = [
        {
            "group_id": r.group_id,
            "attributed": _yuan(r.attributed_fen),
            "target": _yuan(r.target_fen),
            "variance": _yuan(r.variance_fen),
            "attainment": r.attainment,
            **{f"q{q + 1}_attainment": r.quarters[q] for q in range(4)},
            "year_target": _yuan(r.year_target_fen),
        }
        for r in rows
    ]
    return Section(name, ATTAINMENT_KEYS, out)


def span_section(rows: Sequence[AttainmentRow], name: str) -> Section:
    """Attainment rows as the library holds them (a group's months, quarters and year)."""
    out = [
        {
            "group_id": r.group_id,
            "segment": r.segment,
            "span": str(r.span),
            "attributed": r.attributed,
            "target": r.target,
            "variance": r.variance,
            "attainment": r.attainment,
            "ytd_attributed": r.ytd_attributed,
            "ytd_target": r.ytd_target,
            "ytd_variance": r.ytd_variance,
            "ytd_attainment": r.ytd_attainment,
        }
        for r in rows
    ]
    return Section(name, SPAN_KEYS, out)


def payout_sections(run: PayoutRun, group_ids: Sequence[str] | None = None) -> list[Section]:
    """``pools`` (one row per group) and ``shares`` (one row per member of a group's pool)."""
    pools = []
    shares = []
    for p in sorted(run, key=lambda p: (-p.pool_fen, run.group_ids.index(p.group_id))):
        pm = p.project_manager
        pools.append(
            {
                "group_id": p.group_id,
                "period": p.period,
                "scheme": p.scheme,
                "scheme_version": p.scheme_version,
                "attributed": _yuan(p.attributed_fen),
                "target": _yuan(p.target_fen),
                "attainment": _ratio(p.attributed_fen, p.target_fen),
                "excess": _yuan(max(p.excess_fen, 0)),
                "pool": _yuan(p.pool_fen),
                "project_manager": pm.member,
                "project_manager_share": _yuan(pm.fen),
                "rest": _yuan(p.pool_fen - pm.fen),
            }
        )
        if group_ids is not None and p.group_id not in group_ids:
            continue
        for s in p.shares:
            shares.append(
                {
                    "group_id": p.group_id,
                    "period": p.period,
                    "member": s.member,
                    "role": s.role,
                    "full_time": s.full_time,
                    "score": None if s.score is None else str(s.score),
                    "weight": None if s.weight is None else str(s.weight),
                    "share": _yuan(s.fen),
                    "share_of_pool": _ratio(s.fen, p.pool_fen),
                }
            )
    return [
        Section("pools", _POOL_KEYS, pools),
        Section("shares", _SHARE_KEYS, shares),
    ]


_POOL_KEYS = (
    "group_id",
    "period",
    "scheme",
    "scheme_version",
    "attributed",
    "target",
    "attainment",
    "excess",
    "pool",
    "project_manager",
    "project_manager_share",
    "rest",
)
_SHARE_KEYS = (
    "group_id",
    "period",
    "member",
    "role",
    "full_time",
    "score",
    "weight",
    "share",
    "share_of_pool",
)


def kpi_section(
    observations: KpiObservations, breaches: Sequence[KpiBreach], registry: KpiRegistry
) -> Section:
    """Per KPI: observations, pooled numerator and denominator, the rate and the breaches."""
    per_kpi = {key[0]: (num, den) for key, num, den in observations.rollup(("kpi",)).rows()}
    n_obs: dict[str, int] = {}
    for k in observations.kpi_id.tolist():
        n_obs[k] = n_obs.get(k, 0) + 1
    n_breaches: dict[str, int] = {}
    for b in breaches:
        n_breaches[b.kpi_id] = n_breaches.get(b.kpi_id, 0) + 1
    rows = []
    for kpi_id in registry:
        num, den = per_kpi.get(kpi_id, (0, 0))
        rows.append(
            {
                "kpi_id": kpi_id,
                "observations": n_obs.get(kpi_id, 0),
                "numerator": num,
                "denominator": den,
                "rate": _ratio(num, den),
                "breaches": n_breaches.get(kpi_id, 0),
            }
        )
    keys = ("kpi_id", "observations", "numerator", "denominator", "rate", "breaches")
    return Section("kpis", keys, rows)


def breach_section(
    breaches: Sequence[KpiBreach], item_of: Callable[[KpiBreach], tuple[str, bool]]
) -> Section:
    """The breaches, furthest below the minimum first, with their supervision item.

    ``item_of`` gives a breach's item id and whether this check opened it.
    """
    rows = []
    for b in sorted(breaches, key=lambda x: (x.rate - x.threshold.bound, x.subject_id, x.kpi_id)):
        item_id, opened = item_of(b)
        rows.append(
            {
                "subject_kind": b.subject_kind,
                "subject_id": b.subject_id,
                "province": b.province,
                "kpi_id": b.kpi_id,
                "period": b.period,
                "numerator": b.numerator,
                "denominator": b.denominator,
                "rate": b.rate,
                "minimum": b.threshold.minimum,
                "maximum": b.threshold.maximum,
                "item_id": item_id,
                "opened": opened,
            }
        )
    keys = (
        "subject_kind",
        "subject_id",
        "province",
        "kpi_id",
        "period",
        "numerator",
        "denominator",
        "rate",
        "minimum",
        "maximum",
        "item_id",
        "opened",
    )
    return Section("breaches", keys, rows)


def item_section(
    items: Sequence[SupervisionItem],
    day: dt.date,
    title: Callable[[SupervisionItem], str] | None = None,
    name: str = "items",
) -> Section:
    """Supervision items, headquarters first, then severe ones, then by due day.

    ``title`` gives an item's display title (default: the stored title).
    """
    ordered = sorted(items, key=lambda i: (-i.level.rank, -i.severity.rank, i.due_on, i.id))
    rows = [
        {
            "id": i.id,
            "level": i.level,
            "severity": i.severity,
            "status": i.status,
            "province": i.province,
            "department": i.department,
            "subject_kind": i.subject_kind,
            "subject_id": i.subject_id,
            "title": i.title if title is None else title(i),
            "responsible_person": i.responsible_person,
            "owner": i.owner,
            "opened_on": i.opened_on,
            "due_on": i.due_on,
            "overdue": i.is_overdue(day),
            "flagged": i.flagged,
        }
        for i in ordered
    ]
    return Section(name, ITEM_KEYS, rows)


def summary_section(items: Sequence[SupervisionItem], by: str, day: dt.date) -> Section:
    """Open items counted by ``level``, ``province`` or ``department``: open, overdue, severe."""
    from keyaccount.domain import Department, Level, Severity

    counts: dict[str, list[int]] = {}
    for item in items:
        if by == "level":
            key = item.level.name
        elif by == "department":
            key = item.department.name
        else:
            key = item.province or ""
        row = counts.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += item.is_overdue(day)
        row[2] += item.severity is Severity.SEVERE
    if by == "level":
        keys = [lv.name for lv in reversed(Level)]
    elif by == "department":
        keys = [d.name for d in Department]
    else:
        keys = sorted(counts, key=lambda k: (-counts[k][0], k == "", k))
    rows = [
        {by: k or None, "open": c[0], "overdue": c[1], "severe": c[2]}
        for k in keys
        for c in [counts.get(k, [0, 0, 0])]
    ]
    return Section("summary", (by, "open", "overdue", "severe"), rows)


def sweep_section(
    result: SweepResult,
    before: Mapping[str, SupervisionItem],
    after: Mapping[str, SupervisionItem],
) -> Section:
    """What a sweep did: each item escalated (from, to, new due day) or flagged."""
    rows = [
        {
            "id": item_id,
            "province": after[item_id].province,
            "before": before[item_id].level,
            "after": after[item_id].level,
            "due_on": after[item_id].due_on,
            "flagged": item_id in result.flagged,
            "day": result.day,
        }
        for item_id in (*result.escalated, *result.flagged)
    ]
    keys = ("id", "province", "before", "after", "due_on", "flagged", "day")
    return Section("sweep", keys, rows)


def orders_section(data: OperationsData) -> Section:
    """The orders headquarters issued: dispatch orders and supervision orders."""
    rows: list[dict[str, object]] = [
        {
            "kind": "dispatch",
            "id": d.id,
            "issued_by": d.issued_by,
            "issued_on": d.issued_on,
            "provinces": "; ".join(d.provinces),
            "items": len(d.item_ids),
        }
        for d in data.dispatch_orders
    ]
    rows += [
        {
            "kind": "supervision",
            "id": o.id,
            "issued_by": o.issued_by,
            "issued_on": o.issued_on,
            "provinces": o.province,
            "items": len(o.item_ids),
        }
        for o in data.supervision_orders
    ]
    return Section("orders", ("kind", "id", "issued_by", "issued_on", "provinces", "items"), rows)


def meeting_section(report: MeetingReport) -> Section:
    """A meeting report (两会一单): opened, closed, overdue and escalated by its dimension."""
    rows = [
        {
            report.by: row.key or None,
            "opened": row.opened,
            "closed": row.closed,
            "overdue": row.overdue,
            "escalated": row.escalated,
            "start": report.start,
            "end": report.end,
        }
        for row in report.rows
    ]
    keys = (report.by, "opened", "closed", "overdue", "escalated", "start", "end")
    return Section("report", keys, rows)


def lifecycle_section(lifecycles: Sequence[ProjectLifecycle]) -> Section:
    """Each group's stage, since when, its closed loops and the stages it may move to."""
    rows = [
        {
            "project_id": lc.project_id,
            "stage": lc.stage,
            "since": lc.moves[-1].when if lc.moves else None,
            "loops": lc.loops,
            "allowed": "; ".join(s.name for s in lc.allowed),
            "moves": len(lc.moves),
        }
        for lc in lifecycles
    ]
    return Section(
        "lifecycles", ("project_id", "stage", "since", "loops", "allowed", "moves"), rows
    )


def moves_section(lifecycle: ProjectLifecycle | None) -> Section:
    """The moves of one group's lifecycle: who moved it from which stage to which, when."""
    rows = [
        {
            "project_id": m.project_id,
            "seq": m.seq,
            "when": m.when,
            "who": m.who,
            "before": m.before,
            "after": m.after,
        }
        for m in (() if lifecycle is None else lifecycle.moves)
    ]
    return Section("moves", ("project_id", "seq", "when", "who", "before", "after"), rows)
