"""Store events: typed callbacks called after a write commits.

A write registers its event with the transaction it runs in
(:meth:`EventHooks.after_commit`, through :func:`~keyaccount.store._engine.after_commit`),
or, where the transaction is inside another module (imports, the operations writes),
once the write has returned (:meth:`EventHooks.after_write`). When the transaction
commits (the store's own, or the caller's when the store was given a connection) the
callbacks registered for the event's type run, in registration order, on the
committing thread. A rollback calls nothing. A callback that raises is logged on
``keyaccount.events`` (``logger.exception``) and the next one runs: the data is
committed already and stays so.

The callbacks of a store live in one :class:`EventHooks` per
:class:`~keyaccount.store._engine.Database` (:func:`hooks_of`), so ``Store`` and each
``store.operations`` share them. Event values are frozen attrs classes of domain values
(``RecordedChange``, ``ImportReport``, ``SweepReport``, ``PayoutRun``, counts, the URL
without its password), for :mod:`keyaccount.json`. See ``docs/events-and-logging.md``.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import attrs

# The field types are imported at run time: converters (keyaccount.json) resolve them.
from keyaccount.operations import PayoutRun  # noqa: TC001
from keyaccount.store._engine import Database, after_commit
from keyaccount.store._history import RecordedChange  # noqa: TC001
from keyaccount.store._import import ImportReport  # noqa: TC001
from keyaccount.store._operations_sweep import SweepReport  # noqa: TC001
from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventHooks",
    "ImportCommitted",
    "PayoutsRecorded",
    "PortfolioSaved",
    "Subscription",
    "SweepRecorded",
    "TransitionsApplied",
    "hooks_of",
]

_log = logging.getLogger("keyaccount.events")


@attrs.frozen
class TransitionsApplied:
    """Tier and segment changes applied and recorded (``Store.apply``, ``Store.record_change``).

    Attributes:
        store_url: The store (its URL without the password).
        changes: The recorded changes, in the order applied; each names its customer,
            period, before and after, the rule that decided it (``None`` for a manual
            change), its explanation and its sequence number in the store.
    """

    store_url: str
    changes: tuple[RecordedChange, ...]

    def __repr__(self) -> str:
        size = f"{number(len(self.changes))} changes"
        return short_repr("TransitionsApplied", size, store_url=self.store_url)


@attrs.frozen
class ImportCommitted:
    """An import committed (``Store.import_csv``, ``Store.import_rows``).

    Attributes:
        store_url: The store (its URL without the password).
        report: What the import wrote: customers and revenue rows added, rows rejected
            and the reject files.
    """

    store_url: str
    report: ImportReport


@attrs.frozen
class PortfolioSaved:
    """A whole portfolio saved (``Store.save``).

    Attributes:
        store_url: The store (its URL without the password).
        customers: Customers written.
        revenue_rows: Revenue rows written.
        products: Products in the catalogue written.
        project_groups: Project groups written.
        replaced: Whether what the store held was deleted first (``replace=True``).
        changes: Tier and segment changes recorded with it (``history=``).
    """

    store_url: str
    customers: int
    revenue_rows: int
    products: int
    project_groups: int
    replaced: bool
    changes: int = 0


@attrs.frozen
class SweepRecorded:
    """An escalation sweep recorded (``store.operations.sweep``), whatever it escalated.

    Attributes:
        store_url: The store (its URL without the password).
        report: The sweep day, who swept, the items escalated and flagged, and the
            first history row written.
    """

    store_url: str
    report: SweepReport


@attrs.frozen
class PayoutsRecorded:
    """The payouts of a period recorded (``store.operations.record_payouts``).

    Attributes:
        store_url: The store (its URL without the password).
        run: The payouts: the scheme's name and version, the period, and each group's
            pool and shares in exact money.
    """

    store_url: str
    run: PayoutRun


Event: TypeAlias = (
    TransitionsApplied | ImportCommitted | PortfolioSaved | SweepRecorded | PayoutsRecorded
)
"""Any store event."""

EVENT_TYPES: tuple[type[Event], ...] = (
    TransitionsApplied,
    ImportCommitted,
    PortfolioSaved,
    SweepRecorded,
    PayoutsRecorded,
)
"""Every event type, in the order of ``docs/events-and-logging.md``."""

_E = TypeVar("_E", bound=Event)
_Callback: TypeAlias = Callable[[Any], object]


class Subscription:
    """A registered callback; :meth:`remove` unregisters it.

    Returned by the ``on_...`` methods of :class:`~keyaccount.store.Store` and
    :class:`~keyaccount.store.OperationsStore`. Also a context manager that removes
    the callback at the end of the block.
    """

    def __init__(self, hooks: EventHooks, kind: type, callback: _Callback) -> None:
        self._hooks = hooks
        self._kind = kind
        self._callback = callback
        self._active = True

    @property
    def active(self) -> bool:
        """Whether the callback is still registered."""
        return self._active

    def remove(self) -> None:
        """Unregister the callback: it is not called for commits from now on (idempotent)."""
        self._hooks._remove(self)
        self._active = False

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "active" if self._active else "removed"
        return f"<Subscription to {self._kind.__name__} ({state}): {self._callback!r}>"


class EventHooks:
    """The callbacks registered on one store, by event type; safe to share between threads.

    Registration and removal take a lock; a commit calls a copy of the list taken
    when it fires, so a callback may register or remove callbacks (its own too).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[type, list[Subscription]] = {}

    def add(self, kind: type[_E], callback: Callable[[_E], object]) -> Subscription:
        """Call ``callback(event)`` after every commit of an event of type ``kind``.

        Raises:
            TypeError: ``kind`` is not a store event type or ``callback`` is not callable.
        """
        if kind not in EVENT_TYPES:
            raise TypeError(f"not a store event type: {kind!r}")
        if not callable(callback):
            raise TypeError(f"a callback must be callable, got {callback!r}")
        subscription = Subscription(self, kind, callback)
        with self._lock:
            self._subscriptions.setdefault(kind, []).append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            found = self._subscriptions.get(subscription._kind, [])
            if subscription in found:
                found.remove(subscription)

    def wanted(self, kind: type[Event]) -> bool:
        """Whether any callback is registered for ``kind``."""
        with self._lock:
            return bool(self._subscriptions.get(kind))

    def emit(self, event: Event) -> None:
        """Call the callbacks registered for ``type(event)`` now, in registration order.

        An exception from a callback is logged (``keyaccount.events``, with its
        traceback) and the next callback runs.
        """
        with self._lock:
            callbacks = [s._callback for s in self._subscriptions.get(type(event), ())]
        kind = type(event).__name__
        _log.debug("%s: calling %d callbacks", kind, len(callbacks))
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                _log.exception(
                    "a callback for %s raised (%r); the change stays committed", kind, callback
                )

    def after_commit(self, conn: sa.Connection, event: Event) -> None:
        """Emit ``event`` when the transaction of ``conn`` commits (nothing on a rollback).

        Nothing is scheduled while no callback is registered for the event's type.
        """
        if self.wanted(type(event)):
            after_commit(conn, functools.partial(self.emit, event))

    def after_write(self, db: Database, event: Event) -> None:
        """Emit ``event`` of a write of ``db`` that has returned without an error.

        In the store's own transaction the write has committed: emit now. In a
        caller's connection, emit when the caller's transaction commits.
        """
        if db.connection is None:
            if self.wanted(type(event)):
                self.emit(event)
        else:
            self.after_commit(db.connection, event)


_hooks: weakref.WeakKeyDictionary[Database, EventHooks] = weakref.WeakKeyDictionary()
_hooks_lock = threading.Lock()


def hooks_of(db: Database) -> EventHooks:
    """The callbacks of the store on ``db``: shared by its ``Store`` and ``store.operations``."""
    with _hooks_lock:
        hooks = _hooks.get(db)
        if hooks is None:
            hooks = _hooks[db] = EventHooks()
        return hooks
