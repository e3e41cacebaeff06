"""All operations data at once: an :class:`~keyaccount.operations.OperationsData` in and out.

``OperationsStore.data`` reads every part in one snapshot; ``OperationsStore.save_data``
writes every part in one transaction through the same checked paths as the single calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from keyaccount.domain import Level
from keyaccount.exceptions import ValidationError
from keyaccount.operations import (
    EscalationPolicy,
    OperationsData,
    PayoutScheme,
    default_kpi_thresholds,
    default_payout_scheme,
)
from keyaccount.store._operations_kpi import add_observations, load_observations
from keyaccount.store._operations_payouts import load_scheme, save_scheme
from keyaccount.store._operations_plans import (
    load_lifecycles,
    load_ownership,
    load_scores,
    load_targets,
    put_scores,
    put_targets,
    record_moves,
)
from keyaccount.store._operations_supervision import load_supervision, save_supervision
from keyaccount.store._reads import read_project_groups
from keyaccount.store._tables import (
    OPERATIONS_TABLES,
    escalation_policy_table,
    payout_scheme_table,
    stage_move_table,
)

if TYPE_CHECKING:
    import datetime as dt

    from keyaccount.operations import KpiRegistry, KpiThresholds

__all__ = ["holds_nothing", "load_data", "load_policy", "save_data", "save_policy"]


def holds_nothing(conn: sa.Connection) -> bool:
    """Whether every operations table is empty."""
    return all(
        conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is None
        for t in OPERATIONS_TABLES
    )


def load_policy(conn: sa.Connection) -> EscalationPolicy | None:
    """The stored escalation policy, or ``None`` when the store holds none."""
    row = conn.execute(sa.select(escalation_policy_table)).first()
    if row is None:
        return None
    return EscalationPolicy(
        days_per_level={
            Level.CITY: row.days_city,
            Level.PROVINCE: row.days_province,
            Level.HEADQUARTERS: row.days_headquarters,
        },
        order_escalations=row.order_escalations,
        order_window_days=row.order_window_days,
    )


def save_policy(conn: sa.Connection, policy: EscalationPolicy) -> None:
    """Store ``policy`` as the store's escalation policy, replacing the one stored."""
    if not isinstance(policy, EscalationPolicy):
        raise ValidationError(f"expected EscalationPolicy, got {type(policy).__name__}")
    conn.execute(sa.delete(escalation_policy_table))
    conn.execute(
        sa.insert(escalation_policy_table).values(
            policy_key=1,
            days_city=policy.days(Level.CITY),
            days_province=policy.days(Level.PROVINCE),
            days_headquarters=policy.days(Level.HEADQUARTERS),
            order_escalations=policy.order_escalations,
            order_window_days=policy.order_window_days,
        )
    )


def load_data(
    conn: sa.Connection,
    policy: EscalationPolicy,
    as_of: dt.date,
    payout_scheme: PayoutScheme | None,
    kpi_thresholds: KpiThresholds | None,
    registry: KpiRegistry | None,
) -> OperationsData:
    """Every part of the operations data, read on ``conn``."""
    if payout_scheme is None:
        last = conn.execute(
            sa.select(payout_scheme_table.c.name, payout_scheme_table.c.version)
            .order_by(payout_scheme_table.c.scheme_key.desc())
            .limit(1)
        ).first()
        payout_scheme = default_payout_scheme() if last is None else load_scheme(conn, *last)
    return OperationsData.build(
        as_of=as_of,
        ownership=load_ownership(conn),
        targets=load_targets(conn),
        teams={g.id: g.members for g in read_project_groups(conn)},
        scores=load_scores(conn, None),
        payout_scheme=payout_scheme,
        kpi_observations=load_observations(conn, registry, None, None, None),
        kpi_thresholds=default_kpi_thresholds() if kpi_thresholds is None else kpi_thresholds,
        supervision=load_supervision(conn, policy),
        lifecycles=load_lifecycles(conn),
    )


def save_data(conn: sa.Connection, data: OperationsData, recorded_at: dt.datetime | None) -> None:
    """Write every part of ``data`` on ``conn`` (inside the caller's write transaction).

    Raises:
        ValidationError: the store holds operations data already, or a team is not the
            group's stored members; the errors of the parts.
    """
    if not isinstance(data, OperationsData):
        raise ValidationError(f"expected OperationsData, got {type(data).__name__}")
    if not holds_nothing(conn):
        raise ValidationError(
            "the store holds operations data already; whole operations data is saved only "
            "into a store without any (then add to it with the single operations)"
        )
    stored = {g.id: g.members for g in read_project_groups(conn)}
    for group_id, team in data.teams.items():
        if stored.get(group_id) != team:
            raise ValidationError(
                f"the team of project group {group_id!r} is not the group's stored members; "
                "teams are read from the stored project groups"
            )
    save_policy(conn, data.escalation_policy)
    record_moves(conn, data.ownership, recorded_at)
    put_targets(conn, data.targets)
    put_scores(conn, data.scores)
    save_scheme(conn, data.payout_scheme, recorded_at)
    add_observations(conn, data.kpi_observations, data.kpi_observations.registry)
    save_supervision(conn, data.supervision_list())
    moves = [m for lc in data.lifecycles for m in lc.moves]
    if moves:
        conn.execute(
            sa.insert(stage_move_table),
            [
                {
                    "project_id": m.project_id,
                    "seq": m.seq,
                    "who": m.who,
                    "moved_on": m.when,
                    "from_stage": m.before.name,
                    "to_stage": m.after.name,
                }
                for m in moves
            ],
        )
