"""KPI observations in the store: exact counts per subject, KPI and month.

A batch is checked as :class:`~keyaccount.operations.KpiObservations` checks it (known
KPIs, counts in range, ``numerator <= denominator`` for a proportion, one observation per
key), then against the store: subjects it holds, keys not stored yet. Nothing is written
unless all of it is good; the table's unique key and count checks back this up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import sqlalchemy as sa

from keyaccount.domain import Period
from keyaccount.exceptions import (
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations import KpiObservation, KpiObservations, KpiRegistry, SubjectKind
from keyaccount.store._bulk import BulkWriter
from keyaccount.store._operations_keys import chunked, known_subjects
from keyaccount.store._tables import kpi_observation_table

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["add_observations", "load_observations"]

_K = kpi_observation_table
_COLUMNS: Final = ("subject_kind", "subject_id", "kpi_id", "period", "numerator", "denominator")
_KINDS: Final = {k.code: k for k in SubjectKind}


def _where(kind: SubjectKind, subject: str, kpi: str, period: int) -> str:
    return (
        f"KPI {shorten(kpi)} of {kind.name.lower()} {shorten(subject)} in "
        f"{Period.from_ordinal(period)}"
    )


def add_observations(
    conn: sa.Connection,
    observations: KpiObservations | Iterable[KpiObservation],
    registry: KpiRegistry | None,
) -> int:
    """Check and append KPI observations; the number written.

    Raises:
        ValidationError: a bad row (see ``KpiObservations``), or a key already stored.
        UnknownLabelError: a KPI the registry does not hold.
        UnknownCustomerError, UnknownProjectGroupError: a subject the store does not hold.
    """
    obs = (
        observations
        if isinstance(observations, KpiObservations)
        else KpiObservations.from_records(observations, registry)
    )
    n = len(obs)
    if n == 0:
        return 0
    kinds = [_KINDS[int(k)] for k in obs.subject_kind.tolist()]
    ids = obs.subject_id.tolist()
    kpis = obs.kpi_id.tolist()
    periods = obs.period.tolist()
    customers, groups = known_subjects(conn, zip(kinds, ids, strict=True))
    for i in range(n):
        kind, subject = kinds[i], ids[i]
        known = customers if kind is SubjectKind.CUSTOMER else groups
        if subject not in known:
            error = (
                UnknownCustomerError if kind is SubjectKind.CUSTOMER else UnknownProjectGroupError
            )
            what = "customer" if kind is SubjectKind.CUSTOMER else "project group"
            raise error(
                f"{_where(kind, subject, kpis[i], periods[i])}: unknown {what} {shorten(subject)}"
            )
    batch = {(kinds[i].name, ids[i], kpis[i], periods[i]) for i in range(n)}
    for chunk in chunked(sorted(set(ids))):
        for key in conn.execute(
            sa.select(_K.c.subject_kind, _K.c.subject_id, _K.c.kpi_id, _K.c.period).where(
                _K.c.subject_id.in_(chunk)
            )
        ):
            kind_name, subject, kpi, period = key
            if (kind_name, subject, kpi, int(period)) in batch:
                raise ValidationError(
                    f"{_where(SubjectKind[kind_name], subject, kpi, int(period))}: an observation "
                    "is already stored; stored observations are not changed"
                )
    rows = zip(
        [k.name for k in kinds],
        ids,
        kpis,
        periods,
        obs.numerator.tolist(),
        obs.denominator.tolist(),
        strict=True,
    )
    with BulkWriter(conn, large=False) as writer:
        writer.insert(_K.name, _COLUMNS, rows)
    return n


def load_observations(
    conn: sa.Connection,
    registry: KpiRegistry | None,
    start: Period | None,
    end: Period | None,
    subject_kind: SubjectKind | None,
) -> KpiObservations:
    """The stored observations (in the order stored), checked against ``registry``.

    Raises:
        UnknownLabelError: a stored KPI the registry does not hold.
    """
    stmt = sa.select(*(_K.c[c] for c in _COLUMNS)).order_by(_K.c.observation_key)
    if start is not None:
        stmt = stmt.where(_K.c.period >= start.ordinal)
    if end is not None:
        stmt = stmt.where(_K.c.period <= end.ordinal)
    if subject_kind is not None:
        stmt = stmt.where(_K.c.subject_kind == subject_kind.name)
    rows = conn.execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_COLUMNS)
    return KpiObservations.from_arrays(
        subject_kind=np.array([SubjectKind[k].code for k in columns[0]], dtype=np.int8),
        subject_id=np.array(columns[1], dtype=object),
        kpi_id=np.array(columns[2], dtype=object),
        period=np.array(columns[3], dtype=np.int64),
        numerator=np.array(columns[4], dtype=np.int64),
        denominator=np.array(columns[5], dtype=np.int64),
        registry=registry,
    )
