"""Running the project groups.

Ownership over time, targets and attainment, incentive payouts, service KPIs, the
supervision list with its escalation, and the project lifecycle.

The rules are those of the source text (``docs/operations.md``; semantics fixed in the
contracts): revenue is attributed to the group that owned the customer in that month;
revenue above target pays a reward pool of which the project manager gets at least 40%,
the rest split by role weight and performance score (full-time members count 100%,
part-time 50%), in whole fen that add up exactly to the pool; KPI rates are exact
fractions of integer counts; a problem goes on the supervision list (督办清单) and
escalates city -> province -> headquarters until it is closed out (销号).
"""

from __future__ import annotations

from keyaccount.operations._attainment import (
    ATTAINMENT_COLUMNS,
    MAX_ATTAINMENT_MONTHS,
    AttainmentRow,
    AttainmentTable,
    attainment,
)
from keyaccount.operations._attainment_reference import reference_attainment
from keyaccount.operations._data import MemberScore, OperationsData, responsible_for
from keyaccount.operations._kpi import (
    COURT_KPIS,
    MAX_KPI_COUNT,
    ROLLUP_DIMENSIONS,
    KpiDefinition,
    KpiDirection,
    KpiObservation,
    KpiObservations,
    KpiRegistry,
    KpiRollup,
    SubjectAttributes,
    SubjectKind,
    default_kpi_registry,
    reference_kpi_rollup,
)
from keyaccount.operations._kpi_breach import (
    KpiBreach,
    breach_source_key,
    detect_kpi_breaches,
    open_breach_items,
    rate_percent,
    reference_kpi_breaches,
)
from keyaccount.operations._kpi_thresholds import (
    DEFAULT_KPI_THRESHOLDS_FILE,
    KpiThreshold,
    KpiThresholds,
    default_kpi_thresholds,
    default_kpi_thresholds_text,
)
from keyaccount.operations._lifecycle import (
    ALLOWED_MOVES,
    ProjectLifecycle,
    StageMove,
    allowed_moves,
    check_move,
)
from keyaccount.operations._ownership import MAX_REASON_CHARACTERS, Ownership, OwnershipMove
from keyaccount.operations._payout import (
    MAX_PAYOUT_FEN,
    Payout,
    PayoutRow,
    PayoutRun,
    PayoutShare,
    compute_payouts,
    compute_payouts_fen,
    exact_shares,
    pools_fen,
    split_pool,
)
from keyaccount.operations._scheme import (
    DEFAULT_PAYOUT_FILE,
    PayoutScheme,
    default_payout_scheme,
    default_payout_scheme_text,
)
from keyaccount.operations._scheme_check import (
    FULL_TIME_FACTOR,
    MAX_BRACKETS,
    MAX_PAYOUT_DIGITS,
    PART_TIME_FACTOR,
    PM_SHARE_FLOOR,
    WEIGHTED_ROLES,
    Bracket,
)
from keyaccount.operations._supervision import SupervisionList, SweepResult
from keyaccount.operations._supervision_items import (
    DEFAULT_DAYS_PER_LEVEL,
    DispatchOrder,
    EscalationPolicy,
    ItemHistoryRow,
    SupervisionItem,
    SupervisionOrder,
)
from keyaccount.operations._supervision_reports import (
    REPORT_DIMENSIONS,
    MeetingReport,
    MeetingReportRow,
    meeting_report,
    month_days,
    supervision_order_candidates,
    week_days,
)
from keyaccount.operations._supervision_sweep import (
    SweepColumns,
    SweepPlan,
    plan_sweep,
    reference_sweep_item,
)
from keyaccount.operations._targets import MAX_TARGET_FEN, PeriodSpan, SpanKind, Target, Targets
from keyaccount.operations._targets_io import (
    MAX_TARGETS_FILE_BYTES,
    TARGET_COLUMNS,
    read_targets,
    targets_from_mapping,
)

__all__ = [
    "ALLOWED_MOVES",
    "ATTAINMENT_COLUMNS",
    "COURT_KPIS",
    "DEFAULT_DAYS_PER_LEVEL",
    "DEFAULT_KPI_THRESHOLDS_FILE",
    "DEFAULT_PAYOUT_FILE",
    "FULL_TIME_FACTOR",
    "MAX_ATTAINMENT_MONTHS",
    "MAX_BRACKETS",
    "MAX_KPI_COUNT",
    "MAX_PAYOUT_DIGITS",
    "MAX_PAYOUT_FEN",
    "MAX_REASON_CHARACTERS",
    "MAX_TARGETS_FILE_BYTES",
    "MAX_TARGET_FEN",
    "PART_TIME_FACTOR",
    "PM_SHARE_FLOOR",
    "REPORT_DIMENSIONS",
    "ROLLUP_DIMENSIONS",
    "TARGET_COLUMNS",
    "WEIGHTED_ROLES",
    "AttainmentRow",
    "AttainmentTable",
    "Bracket",
    "DispatchOrder",
    "EscalationPolicy",
    "ItemHistoryRow",
    "KpiBreach",
    "KpiDefinition",
    "KpiDirection",
    "KpiObservation",
    "KpiObservations",
    "KpiRegistry",
    "KpiRollup",
    "KpiThreshold",
    "KpiThresholds",
    "MeetingReport",
    "MeetingReportRow",
    "MemberScore",
    "OperationsData",
    "Ownership",
    "OwnershipMove",
    "Payout",
    "PayoutRow",
    "PayoutRun",
    "PayoutScheme",
    "PayoutShare",
    "PeriodSpan",
    "ProjectLifecycle",
    "SpanKind",
    "StageMove",
    "SubjectAttributes",
    "SubjectKind",
    "SupervisionItem",
    "SupervisionList",
    "SupervisionOrder",
    "SweepColumns",
    "SweepPlan",
    "SweepResult",
    "Target",
    "Targets",
    "allowed_moves",
    "attainment",
    "breach_source_key",
    "check_move",
    "compute_payouts",
    "compute_payouts_fen",
    "default_kpi_registry",
    "default_kpi_thresholds",
    "default_kpi_thresholds_text",
    "default_payout_scheme",
    "default_payout_scheme_text",
    "detect_kpi_breaches",
    "exact_shares",
    "meeting_report",
    "month_days",
    "open_breach_items",
    "plan_sweep",
    "pools_fen",
    "rate_percent",
    "read_targets",
    "reference_attainment",
    "reference_kpi_breaches",
    "reference_kpi_rollup",
    "reference_sweep_item",
    "responsible_for",
    "split_pool",
    "supervision_order_candidates",
    "targets_from_mapping",
    "week_days",
]
