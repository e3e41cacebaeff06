"""``store.operations``: the operations room (``keyaccount.operations``) kept in the store.

:class:`OperationsStore` reads and writes ownership moves, targets, performance scores,
payout schemes and payouts, KPI observations, the supervision list with its orders and
history, and project lifecycles. Each call is one transaction; every write checks its
input with the operations room's own rules before it writes, and writes nothing when
anything is refused. The work is done by the ``_operations_*`` modules.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import keyaccount.store._operations_data as _operations_data
import keyaccount.store._operations_kpi as _operations_kpi
import keyaccount.store._operations_payouts as _operations_payouts
import keyaccount.store._operations_plans as _operations_plans
import keyaccount.store._operations_supervision as _operations_supervision
import keyaccount.store._operations_sweep as _operations_sweep
from keyaccount.domain import Department, Level, Member, Period, Severity
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.operations import EscalationPolicy, SubjectKind
from keyaccount.store._engine import Database, database_errors
from keyaccount.store._events import PayoutsRecorded, Subscription, SweepRecorded, hooks_of
from keyaccount.store._reads import read_project_groups
from keyaccount.utils import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import sqlalchemy as sa

    from keyaccount.domain import PeriodRange, Stage
    from keyaccount.operations import (
        DispatchOrder,
        ItemHistoryRow,
        KpiBreach,
        KpiObservation,
        KpiObservations,
        KpiRegistry,
        KpiThresholds,
        MemberScore,
        OperationsData,
        Ownership,
        OwnershipMove,
        PayoutRun,
        PayoutScheme,
        ProjectLifecycle,
        SupervisionItem,
        SupervisionList,
        SupervisionOrder,
        Target,
        Targets,
    )
    from keyaccount.store._operations_sweep import SweepReport

__all__ = ["OperationsStore"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Day = dt.date | str
_log = logger("store")


def _day(value: object) -> dt.date:
    """A calendar day from a ``date`` or ISO text (a ``datetime`` is refused)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"expected a day such as '2024-03-01', got {shorten(value)}")


def _translated(
    method: Callable[Concatenate[OperationsStore, _P], _R],
) -> Callable[Concatenate[OperationsStore, _P], _R]:
    """Run a method with the store's database errors translated."""

    @functools.wraps(method)
    def run(self: OperationsStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with database_errors(self._db.url):
            return method(self, *args, **kwargs)

    return run


class OperationsStore:
    """The operations room in a :class:`~keyaccount.store.Store`: ``store.operations``.

    Mirrors the in-memory API of :mod:`keyaccount.operations`: what you would build in
    memory, the store keeps, and reads back as the same values (an
    :class:`~keyaccount.operations.Ownership`, :class:`~keyaccount.operations.Targets`,
    :class:`~keyaccount.operations.PayoutRun`, :class:`~keyaccount.operations.KpiObservations`,
    a :class:`~keyaccount.operations.SupervisionList`, a
    :class:`~keyaccount.operations.ProjectLifecycle`). Every method is one transaction;
    every write takes the store's write lock, checks its input with the room's rules and
    writes all or nothing. History is append-only.

    Args:
        database: The store's database (use ``store.operations``), or an engine of a
            store (the store's tables must exist: open it with ``Store`` first).
        policy: Days per escalation level and the supervision-order threshold used by
            :meth:`open`, :meth:`dispatch`, :meth:`sweep` and
            :meth:`issue_supervision_orders` (default: the policy stored with
            :meth:`save_policy` or :meth:`save_data`, else :class:`EscalationPolicy`).

    Example:
        >>> from keyaccount import Customer, Portfolio
        >>> from keyaccount.store import Store
        >>> with Store("sqlite://") as store:
        ...     store.save(Portfolio([Customer("C1", "某中院", "2024-01")]))
        ...     ops = store.operations
        ...     item = ops.open("receipts late", subject_id="C1", department="SERVICE",
        ...                     responsible_person="Li", who="Wang", on="2024-03-01")
        ...     first = ops.sweep("2024-03-09", who="sweep")
        ...     again = ops.sweep("2024-03-09", who="sweep")
        ...     level = ops.item(item.id).level
        >>> item.id, first.escalated, again.escalated, level.name
        ('SV-000001', 1, 0, 'PROVINCE')
    """

    def __init__(
        self, database: Database | sa.Engine, *, policy: EscalationPolicy | None = None
    ) -> None:
        self._db = database if isinstance(database, Database) else Database(database)
        self._engine = self._db.engine  # for tests that check the tables directly
        self._policy = policy

    @property
    def policy(self) -> EscalationPolicy:
        """The escalation policy in use: the one given, else the stored one, else the default."""
        if self._policy is not None:
            return self._policy
        stored = self._read(_operations_data.load_policy)
        return EscalationPolicy() if stored is None else stored

    def with_policy(self, policy: EscalationPolicy) -> OperationsStore:
        """The same store with another escalation policy (for this object only)."""
        return OperationsStore(self._db, policy=policy)

    @_translated
    def save_policy(self, policy: EscalationPolicy) -> None:
        """Store ``policy`` as the store's escalation policy (days per level, order threshold).

        Every :class:`OperationsStore` of the store opened without a policy of its own uses
        it from then on; :meth:`save_data` stores the policy of the data it writes.
        """
        self._write(_operations_data.save_policy, policy)

    def __repr__(self) -> str:
        return f"<OperationsStore {self._db.shown}>"

    # ------------------------------------------------------------ events
    # Shared with the Store (``store.operations`` is a new object each time, on the same
    # database); callbacks run after the commit, in the order registered.

    def on_sweep_recorded(self, callback: Callable[[SweepRecorded], object]) -> Subscription:
        """Call ``callback`` with a :class:`SweepRecorded` after each :meth:`sweep` commits.

        Every sweep, also one that escalated nothing. Callbacks run once the
        transaction has committed (in a connection given to the ``Store``: when it
        commits), in the order registered; never when the write fails. One that
        raises is logged on ``keyaccount.events`` and the others still run
        (``docs/events-and-logging.md``).

        Returns:
            The registration; its ``remove()`` unregisters the callback.
        """
        return hooks_of(self._db).add(SweepRecorded, callback)

    def on_payouts_recorded(self, callback: Callable[[PayoutsRecorded], object]) -> Subscription:
        """Call ``callback`` with a :class:`PayoutsRecorded` after :meth:`record_payouts` commits.

        As :meth:`on_sweep_recorded`.
        """
        return hooks_of(self._db).add(PayoutsRecorded, callback)

    def _read(self, fn: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
        with self._db.transaction(write=False) as conn:
            return fn(conn, *args, **kwargs)

    def _write(self, fn: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
        with self._db.transaction(write=True) as conn:
            return fn(conn, *args, **kwargs)

    # ------------------------------------------------------------ ownership and targets

    @_translated
    def record_moves(
        self, moves: Iterable[OwnershipMove], *, recorded_at: dt.datetime | None = None
    ) -> int:
        """Append ownership moves (an :class:`~keyaccount.operations.Ownership` will do).

        Checked as ``Ownership.add`` checks them, against the stored moves of their
        customers: at most one move per customer and month, known groups and customers.

        Returns:
            The number of moves written.

        Raises:
            ValidationError, UnknownProjectGroupError, UnknownCustomerError: as
                ``Ownership.add``; ``PortfolioValidationError`` for several. Nothing is written.
        """
        return self._write(_operations_plans.record_moves, moves, recorded_at)

    @_translated
    def ownership(self) -> Ownership:
        """Every stored move, in the order recorded; groups in the order they were saved."""
        return self._read(_operations_plans.load_ownership)

    @_translated
    def put_targets(self, targets: Targets | Iterable[Target]) -> int:
        """Store new targets; the number written.

        Raises:
            ValidationError: a target repeated in the batch or already stored (stored
                targets are not changed), a member that is not in its group.
            InvalidMoneyError: from ``Target`` (negative, below the fen, too large).
            UnknownProjectGroupError: a group the store does not hold.
        """
        return self._write(_operations_plans.put_targets, targets)

    @_translated
    def targets(self) -> Targets:
        """Every stored target."""
        return self._read(_operations_plans.load_targets)

    @_translated
    def put_scores(self, scores: Iterable[MemberScore]) -> int:
        """Store members' performance scores per year (``MemberScore`` values); the count.

        Raises:
            ValidationError: a score that is not a number >= 0, a name that is not a
                member of the group, a score given twice or already stored.
            UnknownProjectGroupError: a group the store does not hold.
        """
        return self._write(_operations_plans.put_scores, scores)

    @_translated
    def scores(self, year: int | None = None) -> tuple[MemberScore, ...]:
        """The stored scores (of ``year``), in the order stored."""
        return self._read(_operations_plans.load_scores, year)

    @_translated
    def teams(self) -> dict[str, tuple[Member, ...]]:
        """Every project group's members (``ka_project_member``), by group id: payout teams."""
        return {g.id: g.members for g in self._read(read_project_groups)}

    # ------------------------------------------------------------ payouts

    @_translated
    def save_scheme(self, scheme: PayoutScheme, *, recorded_at: dt.datetime | None = None) -> None:
        """Store a payout scheme's TOML text under its name and version.

        Storing the same terms again does nothing.

        Raises:
            PayoutSchemeError: this name and version are stored with other terms.
        """
        self._write(_operations_payouts.save_scheme, scheme, recorded_at)

    @_translated
    def scheme(self, name: str, version: int | None = None) -> PayoutScheme:
        """A stored scheme (default: its highest version).

        Raises:
            PayoutSchemeError: no such scheme in the store.
        """
        return self._read(_operations_payouts.load_scheme, name, version)

    @_translated
    def record_payouts(
        self,
        run: PayoutRun,
        *,
        scheme: PayoutScheme | None = None,
        recorded_at: dt.datetime | None = None,
    ) -> None:
        """Store the payouts of a period with their scheme's version and every share in fen.

        Args:
            run: From :func:`~keyaccount.operations.compute_payouts`.
            scheme: The run's scheme, stored with it when given (otherwise it must be
                stored already).
            recorded_at: When (default: now).

        Raises:
            ValidationError: the period's payouts are stored already, or the run does not
                recompute to the same fen under its scheme.
            PayoutSchemeError: the scheme is not stored (and not given), or stored with
                other terms.
            UnknownProjectGroupError: a group the store does not hold.
        """
        self._write(_operations_payouts.record_payouts, run, scheme, recorded_at)
        _log.info(
            "payouts of %s recorded: %d groups, scheme %r version %d",
            run.period,
            len(run),
            run.scheme,
            run.scheme_version,
        )
        hooks_of(self._db).after_write(self._db, PayoutsRecorded(self._db.shown, run))

    @_translated
    def payouts(self, period: Period | PeriodRange | str) -> PayoutRun | None:
        """The stored payouts of ``period`` (its label, e.g. ``"2022"``), or ``None``."""
        return self._read(_operations_payouts.load_payouts, period)

    @_translated
    def payout_periods(self) -> tuple[str, ...]:
        """The periods with stored payouts, in the order stored."""
        return self._read(_operations_payouts.payout_periods)

    @_translated
    def recompute_payouts(self, period: Period | PeriodRange | str) -> PayoutRun:
        """The stored payouts of ``period`` recomputed with the stored text of their scheme.

        Equal to :meth:`payouts` (the test of the store's payout records).

        Raises:
            ValidationError: no payouts are stored for ``period``.
        """
        return self._read(_operations_payouts.recompute_payouts, period)

    # ------------------------------------------------------------ KPIs

    @_translated
    def add_kpi_observations(
        self,
        observations: KpiObservations | Iterable[KpiObservation],
        *,
        registry: KpiRegistry | None = None,
    ) -> int:
        """Append KPI observations (checked as ``KpiObservations`` checks them); the count.

        Raises:
            ValidationError: a bad count (negative, too large, numerator > denominator for
                a proportion), a key repeated in the batch or already stored.
            UnknownLabelError: a KPI ``registry`` (default: the court KPIs) lacks.
            UnknownCustomerError, UnknownProjectGroupError: an unknown subject.
        """
        return self._write(_operations_kpi.add_observations, observations, registry)

    @_translated
    def kpi_observations(
        self,
        *,
        start: Period | str | None = None,
        end: Period | str | None = None,
        subject_kind: SubjectKind | str | None = None,
        registry: KpiRegistry | None = None,
    ) -> KpiObservations:
        """Stored observations within ``start..end`` (months, either open), in the order stored."""
        return self._read(
            _operations_kpi.load_observations,
            registry,
            None if start is None else Period.parse(start),
            None if end is None else Period.parse(end),
            None if subject_kind is None else SubjectKind.parse(subject_kind),
        )

    # ------------------------------------------------------------ the supervision list

    @_translated
    def open(
        self,
        title: str,
        *,
        subject_id: str,
        department: Department | str,
        responsible_person: str,
        who: str,
        on: _Day,
        subject_kind: SubjectKind | str = SubjectKind.CUSTOMER,
        province: str | None = None,
        level: Level | str = Level.CITY,
        severity: Severity | str = Severity.NORMAL,
        due_on: _Day | None = None,
        received: bool = True,
        source_key: str | None = None,
        item_id: str | None = None,
    ) -> SupervisionItem:
        """Open an item: ``SupervisionList.open`` against the store (same arguments).

        Raises:
            UnknownCustomerError, UnknownProjectGroupError: a subject the store does not hold.
            ValidationError: as ``SupervisionList.open``, or an ``item_id`` taken.
        """
        return self._write(
            _operations_supervision.open_item,
            self.policy,
            title,
            subject_id=subject_id,
            subject_kind=subject_kind,
            source_key=source_key,
            item_id=item_id,
            department=department,
            responsible_person=responsible_person,
            who=who,
            on=on,
            province=province,
            level=level,
            severity=severity,
            due_on=due_on,
            received=received,
        )

    @_translated
    def open_breach_items(
        self, /, breaches: Iterable[KpiBreach], **kwargs: Any
    ) -> tuple[SupervisionItem, ...]:
        """``keyaccount.operations.open_breach_items`` against the store (same keywords).

        One item per breach whose source key the store does not hold yet: running the KPI
        check again opens nothing twice.
        """
        return self._write(_operations_supervision.open_breaches, self.policy, breaches, **kwargs)

    def _on_item(self, item_id: str, action: Callable[[SupervisionList], _R]) -> _R:
        with self._db.transaction(write=True) as conn:
            return _operations_supervision.apply_to_item(conn, self.policy, item_id, action)

    @_translated
    def receive(self, item_id: str, *, who: str, on: _Day) -> SupervisionItem:
        """``who`` receives the item; the first to receive an unowned item owns it (首问负责)."""
        return self._on_item(item_id, lambda sl: sl.receive(item_id, who=who, on=on))

    @_translated
    def hand_over(self, item_id: str, to: str, *, who: str, on: _Day) -> SupervisionItem:
        """The owner hands the item over to ``to`` (see ``SupervisionList.hand_over``)."""
        return self._on_item(item_id, lambda sl: sl.hand_over(item_id, to, who=who, on=on))

    @_translated
    def set_severity(
        self, item_id: str, severity: Severity | str, *, who: str, on: _Day
    ) -> SupervisionItem:
        """Mark the item severe (or normal again)."""
        return self._on_item(item_id, lambda sl: sl.set_severity(item_id, severity, who=who, on=on))

    @_translated
    def close_out(self, item_id: str, resolution: str, *, who: str, on: _Day) -> SupervisionItem:
        """Close the item out (销号), recording the resolution.

        Raises:
            IllegalMoveError: the item is closed already.
        """
        return self._on_item(item_id, lambda sl: sl.close_out(item_id, resolution, who=who, on=on))

    @_translated
    def dispatch(
        self,
        title: str,
        *,
        provinces: Mapping[str, str],
        subject_id: str,
        department: Department | str,
        who: str,
        on: _Day,
        subject_kind: SubjectKind | str = SubjectKind.CUSTOMER,
        severity: Severity | str = Severity.NORMAL,
        due_on: _Day | None = None,
        order_id: str | None = None,
    ) -> DispatchOrder:
        """Issue a dispatch order (指挥调度令): one linked item per province, all or none."""
        return self._write(
            _operations_supervision.dispatch,
            self.policy,
            title,
            provinces=provinces,
            subject_id=subject_id,
            subject_kind=subject_kind,
            order_id=order_id,
            department=department,
            who=who,
            on=on,
            severity=severity,
            due_on=due_on,
        )

    @_translated
    def issue_supervision_orders(self, day: _Day, *, who: str) -> tuple[SupervisionOrder, ...]:
        """Issue a supervision order (工作督办单) to each province that qualifies on ``day``."""
        return self._write(
            _operations_supervision.issue_supervision_orders, self.policy, _day(day), who
        )

    @_translated
    def sweep(self, day: _Day, *, who: str) -> SweepReport:
        """The escalation sweep of ``day``, in bulk SQL: the rule of ``SupervisionList.sweep``.

        Idempotent per day; two workers sweeping at once escalate each item once.
        """
        report = self._write(_operations_sweep.sweep, self.policy, _day(day), who)
        _log.info(
            "sweep of %s: %d items escalated, %d flagged",
            report.day,
            report.escalated,
            report.flagged,
        )
        hooks_of(self._db).after_write(self._db, SweepRecorded(self._db.shown, report))
        return report

    @_translated
    def save_supervision(self, supervision: SupervisionList) -> int:
        """Write a whole in-memory list (items, history, orders) into a store without one.

        Raises:
            ValidationError: the store holds supervision items already.
            UnknownCustomerError, UnknownProjectGroupError: a subject the store does not hold.
        """
        return self._write(_operations_supervision.save_supervision, supervision)

    @_translated
    def supervision(self) -> SupervisionList:
        """The whole list read back (items, history, orders), with this store's policy.

        The list does not check subjects (its ``customer_ids`` are not loaded): write
        through the store, which does.
        """
        return self._read(_operations_supervision.load_supervision, self.policy)

    @_translated
    def item(self, item_id: str) -> SupervisionItem:
        """One item.

        Raises:
            UnknownItemError: no such item.
        """
        return self._read(_operations_supervision.load_item, item_id)

    @_translated
    def items(
        self, *, open_only: bool = False, overdue_on: _Day | None = None
    ) -> tuple[SupervisionItem, ...]:
        """Items in the order opened: all, the open ones, or those overdue on a day."""
        day = None if overdue_on is None else _day(overdue_on)
        return self._read(_operations_supervision.load_items, open_only=open_only, overdue_on=day)

    @_translated
    def history(self, item_id: str | None = None, *, since: int = 0) -> tuple[ItemHistoryRow, ...]:
        """History rows in order: all, one item's, or those after ``seq`` ``since``."""
        return self._read(_operations_supervision.load_history, item_id, since=since)

    @_translated
    def last_history_day(self) -> dt.date | None:
        """The latest day the supervision history records; ``None`` when it holds no row."""
        return self._read(_operations_supervision.last_history_day)

    # ------------------------------------------------------------ all of it

    @_translated
    def is_empty(self) -> bool:
        """Whether the store holds no operations data (no row in any operations table)."""
        return self._read(_operations_data.holds_nothing)

    @_translated
    def data(
        self,
        as_of: _Day,
        *,
        payout_scheme: PayoutScheme | None = None,
        kpi_thresholds: KpiThresholds | None = None,
        registry: KpiRegistry | None = None,
    ) -> OperationsData:
        """Everything as one :class:`~keyaccount.operations.OperationsData`, read in one snapshot.

        Teams are the project groups' stored members. KPI thresholds are not stored.

        Args:
            as_of: The day the data is as of.
            payout_scheme: Default: the scheme stored last (the shipped default when none is).
            kpi_thresholds: Default: :func:`~keyaccount.operations.default_kpi_thresholds`.
            registry: The KPIs the observations are read with (default: the court KPIs).
        """
        return self._read(
            _operations_data.load_data,
            self.policy,
            _day(as_of),
            payout_scheme,
            kpi_thresholds,
            registry,
        )

    @_translated
    def save_data(self, data: OperationsData, *, recorded_at: dt.datetime | None = None) -> None:
        """Write a whole :class:`~keyaccount.operations.OperationsData` in one transaction.

        Into a store whose operations tables are empty (see :meth:`is_empty`), holding the
        portfolio the data is about; its teams must be the stored members of the groups.
        The KPI thresholds and the as-of day are not stored; the escalation policy of
        :meth:`data` is this store's.

        Raises:
            ValidationError: the store holds operations data, or the teams differ from
                the stored members; any refusal of the parts. Nothing is written.
        """
        self._write(_operations_data.save_data, data, recorded_at)

    # ------------------------------------------------------------ lifecycles

    @_translated
    def move_stage(
        self, project_id: str, to: Stage | str, *, who: str, on: _Day
    ) -> ProjectLifecycle:
        """Move a project's lifecycle to ``to`` and append the move.

        Raises:
            IllegalMoveError: a move the loop does not allow (naming both stages).
            ValidationError: a blank ``who``, or a day before the previous move.
        """
        return self._write(_operations_plans.move_stage, project_id, to, who=who, on=on)

    @_translated
    def lifecycle(self, project_id: str) -> ProjectLifecycle:
        """A project's lifecycle from its stored moves (at ``START`` without any)."""
        return self._read(_operations_plans.load_lifecycle, project_id)

    @_translated
    def lifecycles(self) -> tuple[ProjectLifecycle, ...]:
        """The lifecycles of every project with a stored move, in the order first moved."""
        return self._read(_operations_plans.load_lifecycles)
