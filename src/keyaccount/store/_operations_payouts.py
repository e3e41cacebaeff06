"""Payout schemes and the payouts of a period in the store.

A scheme is stored once per name and version as its TOML text
(:meth:`~keyaccount.operations.PayoutScheme.to_toml`, which reads back to an equal
scheme): storing the same name and version with other terms is refused, so a stored
payout always names the exact terms it was computed with. A run is stored only when
recomputing it from its own figures, team and scores with that scheme gives the same
fen (a hand-made or altered run is refused), and :func:`recompute_payouts` does that
recomputation from the stored rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from keyaccount.domain import Member, Role
from keyaccount.exceptions import (
    PayoutSchemeError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.operations import Payout, PayoutRun, PayoutScheme, PayoutShare, compute_payouts_fen
from keyaccount.store._operations_keys import group_keys, moment, period_label
from keyaccount.store._tables import (
    payout_run_table,
    payout_scheme_table,
    payout_share_table,
    payout_table,
    project_group_table,
)

if TYPE_CHECKING:
    import datetime as dt

    from keyaccount.domain import Period, PeriodRange


__all__ = [
    "load_payouts",
    "load_scheme",
    "payout_periods",
    "recompute_payouts",
    "record_payouts",
    "save_scheme",
]

_PS = payout_scheme_table
_R = payout_run_table
_P = payout_table
_SH = payout_share_table
_G = project_group_table


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _stored_text(conn: sa.Connection, name: str, version: int) -> tuple[int, str] | None:
    row = conn.execute(
        sa.select(_PS.c.scheme_key, _PS.c.toml).where(_PS.c.name == name, _PS.c.version == version)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def save_scheme(conn: sa.Connection, scheme: PayoutScheme, recorded_at: dt.datetime | None) -> int:
    """Store ``scheme`` (its TOML text) unless the same terms are stored; its key.

    Raises:
        PayoutSchemeError: the store holds this name and version with other terms.
    """
    if not isinstance(scheme, PayoutScheme):
        raise ValidationError(f"expected a PayoutScheme, got {shorten(scheme)}")
    text = scheme.to_toml()
    stored = _stored_text(conn, scheme.name, scheme.version)
    if stored is not None:
        if stored[1] != text:
            raise PayoutSchemeError(
                f"payout scheme {scheme.name!r} version {scheme.version} is already stored with "
                "other terms; a stored scheme never changes: give the new terms a new version"
            )
        return stored[0]
    key = conn.execute(
        sa.insert(_PS)
        .values(
            name=scheme.name, version=scheme.version, toml=text, recorded_at=moment(recorded_at)
        )
        .returning(_PS.c.scheme_key)
    ).scalar_one()
    return int(key)


def load_scheme(conn: sa.Connection, name: str, version: int | None = None) -> PayoutScheme:
    """The stored scheme ``name`` at ``version`` (default: its highest version).

    Raises:
        PayoutSchemeError: the store holds no such scheme (the message lists the stored ones).
    """
    stmt = sa.select(_PS.c.version, _PS.c.toml).where(_PS.c.name == name)
    if version is not None:
        stmt = stmt.where(_PS.c.version == version)
    row = conn.execute(stmt.order_by(_PS.c.version.desc()).limit(1)).first()
    if row is None:
        held = [
            f"{n} v{v}"
            for n, v in conn.execute(
                sa.select(_PS.c.name, _PS.c.version).order_by(_PS.c.name, _PS.c.version)
            )
        ]
        wanted = f"{name!r}" + ("" if version is None else f" version {version}")
        raise PayoutSchemeError(
            f"no payout scheme {wanted} in the store (stored: {', '.join(held) or 'none'})"
        )
    return PayoutScheme.from_toml(row[1], source=f"stored scheme {name} v{row[0]}")


def _recompute(scheme: PayoutScheme, run: PayoutRun) -> PayoutRun:
    """``run`` computed again with ``scheme`` from its own figures, teams and scores."""
    teams = {
        p.group_id: [Member(s.member, s.role, full_time=s.full_time) for s in p.shares] for p in run
    }
    scores = {p.group_id: {s.member: s.score for s in p.shares if s.score is not None} for p in run}
    return compute_payouts_fen(
        scheme,
        run.period,
        [p.group_id for p in run],
        [p.attributed_fen for p in run],
        [p.target_fen for p in run],
        teams,
        scores=scores,
    )


def record_payouts(
    conn: sa.Connection,
    run: PayoutRun,
    scheme: PayoutScheme | None,
    recorded_at: dt.datetime | None,
) -> None:
    """Store ``run`` for its period with its scheme's version (storing ``scheme`` if given).

    Raises:
        ValidationError: payouts for the period are stored already, ``scheme`` is not the
            run's, or the run does not recompute to the same fen under its scheme.
        PayoutSchemeError: the run's scheme is not stored (and not given), or is stored
            with other terms.
        UnknownProjectGroupError: a group the store does not hold.
    """
    if not isinstance(run, PayoutRun):
        raise ValidationError(f"expected a PayoutRun, got {shorten(run)}")
    where = f"payouts for {run.period}"
    if scheme is not None:
        if (scheme.name, scheme.version) != (run.scheme, run.scheme_version):
            raise ValidationError(
                f"{where} were computed with scheme {run.scheme!r} version {run.scheme_version}, "
                f"not with {scheme.name!r} version {scheme.version}"
            )
        scheme_key = save_scheme(conn, scheme, recorded_at)
    else:
        scheme = load_scheme(conn, run.scheme, run.scheme_version)
        stored = _stored_text(conn, run.scheme, run.scheme_version)
        assert stored is not None
        scheme_key = stored[0]
    if conn.execute(sa.select(_R.c.run_key).where(_R.c.period == run.period)).first() is not None:
        raise ValidationError(f"{where} are already stored; stored payouts are not changed")
    groups = group_keys(conn)
    unknown = [p.group_id for p in run if p.group_id not in groups]
    if unknown:
        raise UnknownProjectGroupError(f"{where}: unknown project group {shorten(unknown[0])}")
    if _recompute(scheme, run) != run:
        raise ValidationError(
            f"{where} do not follow scheme {run.scheme!r} version {run.scheme_version}: "
            "recomputing them from their figures, teams and scores gives other amounts"
        )
    run_key = conn.execute(
        sa.insert(_R)
        .values(period=run.period, scheme_key=scheme_key, recorded_at=moment(recorded_at))
        .returning(_R.c.run_key)
    ).scalar_one()
    conn.execute(
        sa.insert(_P),
        [
            {
                "run_key": run_key,
                "position": i,
                "group_key": groups[p.group_id],
                "attributed_fen": p.attributed_fen,
                "target_fen": p.target_fen,
                "uncapped_fen": p.uncapped_fen,
                "pool_fen": p.pool_fen,
            }
            for i, p in enumerate(run)
        ],
    )
    shares = [
        {
            "run_key": run_key,
            "position": i,
            "member_index": j,
            "member": s.member,
            "role": s.role.name,
            "full_time": s.full_time,
            "score": _text(s.score),
            "role_weight": _text(s.role_weight),
            "weight": _text(s.weight),
            "fen": s.fen,
        }
        for i, p in enumerate(run)
        for j, s in enumerate(p.shares)
    ]
    if shares:
        conn.execute(sa.insert(_SH), shares)


def payout_periods(conn: sa.Connection) -> tuple[str, ...]:
    """The periods with stored payouts, in the order they were stored."""
    return tuple(p for (p,) in conn.execute(sa.select(_R.c.period).order_by(_R.c.run_key)))


def load_payouts(conn: sa.Connection, period: Period | PeriodRange | str) -> PayoutRun | None:
    """The stored payouts of ``period`` (``None`` when there are none)."""
    label = period_label(period)
    head = conn.execute(
        sa.select(_R.c.run_key, _PS.c.name, _PS.c.version)
        .join(_PS, _PS.c.scheme_key == _R.c.scheme_key)
        .where(_R.c.period == label)
    ).first()
    if head is None:
        return None
    run_key, name, version = head
    shares: dict[int, list[PayoutShare]] = {}
    for position, member, role, full_time, score, role_weight, weight, fen in conn.execute(
        sa.select(
            _SH.c.position,
            _SH.c.member,
            _SH.c.role,
            _SH.c.full_time,
            _SH.c.score,
            _SH.c.role_weight,
            _SH.c.weight,
            _SH.c.fen,
        )
        .where(_SH.c.run_key == run_key)
        .order_by(_SH.c.position, _SH.c.member_index)
    ):
        shares.setdefault(int(position), []).append(
            PayoutShare(
                member=member,
                role=Role[role],
                full_time=bool(full_time),
                score=_decimal(score),
                role_weight=_decimal(role_weight),
                weight=_decimal(weight),
                fen=int(fen),
            )
        )
    payouts = tuple(
        Payout(
            group_id=gid,
            period=label,
            scheme=name,
            scheme_version=int(version),
            attributed_fen=int(attributed),
            target_fen=int(target),
            uncapped_fen=int(uncapped),
            pool_fen=int(pool),
            shares=tuple(shares.get(int(position), ())),
        )
        for position, gid, attributed, target, uncapped, pool in conn.execute(
            sa.select(
                _P.c.position,
                _G.c.group_id,
                _P.c.attributed_fen,
                _P.c.target_fen,
                _P.c.uncapped_fen,
                _P.c.pool_fen,
            )
            .join(_G, _G.c.group_key == _P.c.group_key)
            .where(_P.c.run_key == run_key)
            .order_by(_P.c.position)
        )
    )
    return PayoutRun(name, int(version), label, payouts)


def recompute_payouts(conn: sa.Connection, period: Period | PeriodRange | str) -> PayoutRun:
    """The stored payouts of ``period`` computed again with the stored text of their scheme.

    Raises:
        ValidationError: no payouts are stored for ``period``.
    """
    run = load_payouts(conn, period)
    if run is None:
        raise ValidationError(f"no payouts stored for {period_label(period)}")
    return _recompute(load_scheme(conn, run.scheme, run.scheme_version), run)
