"""Payouts: each project group's reward pool, split among its members in whole fen.

The rules (CONTRACTS.md, "Operations"; ``docs/operations.md``, "Payouts"):

- the pool is the scheme's :meth:`~keyaccount.operations.PayoutScheme.pool_fen` of the
  excess ``attributed - target``, rounded to the fen once (half-even), then capped;
- the project manager gets ``pm_share x pool``, rounded *up* to the fen, so the 40% floor
  holds after rounding;
- the rest is split in proportion to ``role_weight x score x (1.0 full-time | 0.5
  part-time)``; the shares are whole fen and add up exactly to the pool (largest
  remainder: every share is its exact amount rounded down, and the fen left over go one
  each to the largest remainders, ties to the earlier member in role order, then by name).

The split of a group works on its few members with exact integers and fractions; the pools
of all groups are computed in bulk (:func:`pools_fen`, numpy), with
:meth:`~keyaccount.operations.PayoutScheme.pool_fen` as the readable specification.
"""

from __future__ import annotations

import decimal
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from keyaccount.domain import (
    Member,
    Period,
    PeriodRange,
    Role,
    check_lang,
    fen_to_yuan,
    yuan_to_fen,
)
from keyaccount.exceptions import (
    InvalidMoneyError,
    PortfolioValidationError,
    ValidationError,
    shorten,
)
from keyaccount.operations._scheme_check import (
    FULL_TIME_FACTOR,
    PART_TIME_FACTOR,
    check_decimal,
)
from keyaccount.portfolio import frames as fr
from keyaccount.utils.display import html_table, money, number, short_repr

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from keyaccount.operations._scheme import PayoutScheme

__all__ = [
    "MAX_PAYOUT_FEN",
    "Payout",
    "PayoutRow",
    "PayoutRun",
    "PayoutShare",
    "compute_payouts",
    "compute_payouts_fen",
    "exact_shares",
    "pools_fen",
    "split_pool",
]

MAX_PAYOUT_FEN = 2**62
"""Attributed revenue and targets given to a payout are below this in magnitude (fen), so
that their difference fits 64-bit fen."""

_ROLE_RANK = {role: rank for rank, role in enumerate(Role)}
_INT64_SAFE = 2**62
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.Overflow])


# ---------------------------------------------------------------------- values


@attrs.frozen
class PayoutShare:
    """One member's share of a group's pool.

    Attributes:
        member: The member's name (the member's id within the group).
        role: The member's role.
        full_time: Whether the member is full-time (score counts 100%) or part-time (50%).
        score: The member's performance score, as given (``None`` when none was given for
            the project manager, whose share does not depend on it).
        role_weight: The scheme's weight of the role; ``None`` for the project manager,
            whose share is the scheme's ``pm_share``.
        weight: ``role_weight x score x time factor``, exactly; ``None`` for the project
            manager.
        fen: The share in whole fen.
    """

    member: str
    role: Role
    full_time: bool
    score: Decimal | None
    role_weight: Decimal | None
    weight: Decimal | None
    fen: int

    @property
    def amount(self) -> Decimal:
        """The share in yuan."""
        return fen_to_yuan(self.fen)

    @property
    def time_factor(self) -> Decimal:
        """1.0 for a full-time member, 0.5 for a part-time one."""
        return FULL_TIME_FACTOR if self.full_time else PART_TIME_FACTOR


@attrs.frozen
class Payout:
    """A group's payout for a period: the pool and every member's share.

    Attributes:
        group_id: The project group.
        period: The period's label (``"2022"``, ``"2022-03"``, ``"2022-01..2022-06"``).
        scheme: The scheme's name.
        scheme_version: The scheme's version (recomputing with it gives the same fen).
        attributed_fen: Revenue attributed to the group in the period, in fen.
        target_fen: The group's target for the period, in fen.
        uncapped_fen: The pool before the cap (rounded once, half-even), in fen.
        pool_fen: The pool, in fen: ``min(uncapped_fen, cap)``.
        shares: The project manager first, then the other members in role order and by
            name; their ``fen`` add up to ``pool_fen``.
    """

    group_id: str
    period: str
    scheme: str
    scheme_version: int
    attributed_fen: int
    target_fen: int
    uncapped_fen: int
    pool_fen: int
    shares: tuple[PayoutShare, ...]

    @property
    def attributed(self) -> Decimal:
        """Attributed revenue in yuan."""
        return fen_to_yuan(self.attributed_fen)

    @property
    def target(self) -> Decimal:
        """The target in yuan."""
        return fen_to_yuan(self.target_fen)

    @property
    def excess_fen(self) -> int:
        """``attributed - target`` in fen (negative below target)."""
        return self.attributed_fen - self.target_fen

    @property
    def excess(self) -> Decimal:
        """``attributed - target`` in yuan."""
        return fen_to_yuan(self.excess_fen)

    @property
    def pool(self) -> Decimal:
        """The pool in yuan."""
        return fen_to_yuan(self.pool_fen)

    @property
    def capped(self) -> bool:
        """Whether the cap cut the pool."""
        return self.pool_fen < self.uncapped_fen

    @property
    def project_manager(self) -> PayoutShare:
        """The project manager's share."""
        return self.shares[0]

    def __repr__(self) -> str:
        pool = f"pool {money(self.pool_fen)} yuan, {len(self.shares)} shares"
        return short_repr("Payout", pool, group_id=self.group_id, period=self.period)

    def _repr_html_(self) -> str:
        shares = self.shares
        rows = ((s.member, s.role, s.full_time, s.score, s.weight, money(s.fen)) for s in shares)
        headings = ("member", "role", "full_time", "score", "weight", "share (yuan)")
        total = len(self.shares)
        return html_table(headings, rows, total=total, caption=repr(self), unit="shares", limit=20)

    def share(self, member: str) -> PayoutShare:
        """The share of ``member`` (by name).

        Raises:
            KeyError: no such member in the payout.
        """
        for share in self.shares:
            if share.member == member:
                return share
        raise KeyError(member)


@attrs.frozen(kw_only=True)
class PayoutRow(PayoutShare):
    """One member's share with its group and period: a row of the flat payout table.

    The fields of :class:`PayoutShare`, and:

    Attributes:
        period: The period label of the payout.
        group_id: The project group.
        scheme: The scheme's name.
        scheme_version: The scheme's version.
    """

    period: str
    group_id: str
    scheme: str
    scheme_version: int


@attrs.frozen
class PayoutRun:
    """The payouts of every group for one period under one scheme.

    Iterating gives the :class:`Payout` values in the order the groups were given;
    ``run["courts"]`` is one group's payout.
    """

    scheme: str
    scheme_version: int
    period: str
    payouts: tuple[Payout, ...]

    def __len__(self) -> int:
        return len(self.payouts)

    def __iter__(self) -> Iterator[Payout]:
        return iter(self.payouts)

    def __getitem__(self, group_id: str) -> Payout:
        for payout in self.payouts:
            if payout.group_id == group_id:
                return payout
        raise KeyError(group_id)

    @property
    def group_ids(self) -> tuple[str, ...]:
        """The groups, in order."""
        return tuple(p.group_id for p in self.payouts)

    def __repr__(self) -> str:
        size = f"{number(len(self))} groups, pools {money(self.total_fen)} yuan"
        facts = {"scheme": self.scheme, "version": self.scheme_version, "period": self.period}
        return short_repr("PayoutRun", size, **facts)

    def _repr_html_(self) -> str:
        rows = (
            (
                p.group_id,
                money(p.attributed_fen),
                money(p.target_fen),
                money(p.pool_fen),
                len(p.shares),
            )
            for p in self.payouts
        )
        headings = ("group_id", "attributed (yuan)", "target (yuan)", "pool (yuan)", "shares")
        total, caption = len(self), repr(self)
        return html_table(headings, rows, total=total, caption=caption, unit="groups", limit=20)

    @property
    def total_fen(self) -> int:
        """The sum of the pools, in fen."""
        return sum(p.pool_fen for p in self.payouts)

    def rows(self) -> tuple[PayoutRow, ...]:
        """The flat table: one row per member and group, groups in order."""
        return tuple(
            PayoutRow(
                period=p.period,
                group_id=p.group_id,
                scheme=p.scheme,
                scheme_version=p.scheme_version,
                **attrs.asdict(s, recurse=False),
            )
            for p in self.payouts
            for s in p.shares
        )

    def _frame(self, lang: str, where: str) -> fr.Frame:
        check_lang(lang, where=where)
        rows = self.rows()
        roles = list(Role)
        role_labels = [x.label(lang) for x in roles]
        groups = self.group_ids

        def decimals(name: str) -> fr.Column:
            values = [getattr(r, name) for r in rows]
            absent = [v is None for v in values]
            return fr.ratio(name, [np.nan if v is None else float(v) for v in values], absent)

        return fr.Frame(
            (
                fr.text("period", [r.period for r in rows]),
                fr.key("group_id", [groups.index(r.group_id) for r in rows], groups),
                fr.text("scheme", [r.scheme for r in rows]),
                fr.integer("scheme_version", [r.scheme_version for r in rows]),
                fr.text("member", [r.member for r in rows]),
                fr.labels("role", [roles.index(r.role) for r in rows], role_labels),
                fr.flag("full_time", [r.full_time for r in rows]),
                decimals("score"),
                decimals("role_weight"),
                decimals("weight"),
                fr.money("amount", [r.fen for r in rows]),
            ),
            {"period": self.period, "scheme": self.scheme},
        )

    def to_pandas(self, *, lang: str = "en") -> pd.DataFrame:
        """The flat table (:meth:`rows`) as a DataFrame (needs the ``pandas`` extra).

        Columns: ``period``, ``group_id``, ``scheme``, ``scheme_version``,
        ``member``, ``role`` (an ordered category in role order, labelled in
        ``lang``), ``full_time``, ``score``, ``role_weight`` and ``weight``
        (``Float64``, missing where none; the exact values are on
        :class:`PayoutShare`), and the share as ``amount_fen`` and exact yuan
        ``amount``.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self._frame(lang, "PayoutRun.to_pandas").to_pandas()

    def to_arrow(self, *, lang: str = "en") -> pa.Table:
        """:meth:`to_pandas` as a pyarrow ``Table``."""
        return self._frame(lang, "PayoutRun.to_arrow").to_arrow()

    def to_polars(self, *, lang: str = "en") -> pl.DataFrame:
        """:meth:`to_pandas` as a polars ``DataFrame``."""
        return self._frame(lang, "PayoutRun.to_polars").to_polars()


# ----------------------------------------------------------------------- teams


@attrs.frozen
class _Plan:
    """A checked team: the project manager and the others in role order, then by name."""

    pm: Member
    pm_score: Decimal | None
    pm_share: Fraction
    others: tuple[Member, ...]
    scores: tuple[Decimal, ...]
    role_weights: tuple[Decimal, ...]
    weights: tuple[Decimal, ...]


def _where(group_id: str) -> str:
    return f"project group {shorten(group_id)}" if group_id else "team"


def _score(value: object, where: str, name: str) -> Decimal:
    try:
        number = check_decimal(value)
    except ValueError as exc:
        raise ValidationError(f"{where}: score of {shorten(name)}: {exc}") from None
    if number < 0:
        raise ValidationError(f"{where}: score of {shorten(name)} is negative: {number}")
    return number


def _plan(
    scheme: PayoutScheme,
    team: object,
    scores: object,
    group_id: str,
    problems: list[ValidationError],
) -> _Plan | None:
    """Check ``team`` and ``scores`` of one group; problems are appended to ``problems``."""
    where = _where(group_id)
    before = len(problems)
    if isinstance(team, str | bytes | Mapping) or not isinstance(team, Sequence):
        problems.append(ValidationError(f"{where}: the team must be a sequence of members"))
        return None
    members: list[Member] = []
    for item in team:
        if isinstance(item, Member):
            members.append(item)
        else:
            problems.append(
                ValidationError(f"{where}: a team member must be a Member, got {shorten(item)}")
            )
    names = [m.name for m in members]
    for name in sorted(n for n, count in Counter(names).items() if count > 1):
        problems.append(
            ValidationError(
                f"{where}: member {shorten(name)} is named twice; names identify members"
            )
        )
    managers = [m for m in members if m.role is Role.PROJECT_MANAGER]
    if not managers:
        problems.append(
            ValidationError(
                f"{where}: no project manager in the team; a payout needs the named project "
                "manager who answers for the group's goal (four to the person, 四个到人)"
            )
        )
    elif len(managers) > 1:
        problems.append(
            ValidationError(
                f"{where}: {len(managers)} project managers "
                f"({', '.join(shorten(m.name) for m in managers)}); a payout needs exactly "
                "one, who takes the project manager's share"
            )
        )
    given: dict[str, Decimal] = {}
    if scores is not None:
        if not isinstance(scores, Mapping):
            problems.append(ValidationError(f"{where}: scores must map member names to scores"))
        else:
            for name in sorted(set(scores) - set(names), key=str):
                problems.append(
                    ValidationError(f"{where}: a score for {shorten(name)}, who is not in the team")
                )
            for name, value in scores.items():
                if name in names:
                    try:
                        given[name] = _score(value, where, name)
                    except ValidationError as exc:
                        problems.append(exc)
            for member in members:
                if member.role is not Role.PROJECT_MANAGER and member.name not in scores:
                    problems.append(
                        ValidationError(
                            f"{where}: no score for {shorten(member.name)} "
                            f"({member.role.name}); give every member other than the "
                            "project manager a score (0 for none)"
                        )
                    )
    if len(problems) > before:
        return None
    others = sorted(
        (m for m in members if m.role is not Role.PROJECT_MANAGER),
        key=lambda m: (_ROLE_RANK[m.role], m.name),
    )
    member_scores = tuple(given.get(m.name, Decimal(1)) for m in others)
    role_weights = tuple(scheme.weight(m.role) for m in others)
    with decimal.localcontext(_EXACT):
        weights = tuple(
            rw * s * (FULL_TIME_FACTOR if m.full_time else PART_TIME_FACTOR)
            for m, s, rw in zip(others, member_scores, role_weights, strict=True)
        )
    pm = managers[0]
    return _Plan(
        pm=pm,
        pm_score=given.get(pm.name),
        pm_share=Fraction(scheme.pm_share),
        others=tuple(others),
        scores=member_scores,
        role_weights=role_weights,
        weights=weights,
    )


def _exact(plan: _Plan, pool_fen: int) -> list[Fraction]:
    """The exact shares in fen, project manager first; they add up to ``pool_fen``."""
    weights = [Fraction(w) for w in plan.weights]
    total = sum(weights, Fraction(0))
    if total == 0:  # nobody else weighs anything: the project manager answers for it all
        return [Fraction(pool_fen)] + [Fraction(0)] * len(weights)
    pm = plan.pm_share * pool_fen
    rest = pool_fen - pm
    return [pm] + [rest * w / total for w in weights]


def _rounded(exact: list[Fraction], pool_fen: int) -> list[int]:
    """Whole fen adding up to ``pool_fen``: the PM rounded up, the rest by largest remainder.

    The others come in role order and then by name, so the stable sort by remainder gives
    ties to the earlier member.
    """
    pm = math.ceil(exact[0])
    fen = [math.floor(e) for e in exact[1:]]
    left = pool_fen - pm - sum(fen)
    order = sorted(range(len(fen)), key=lambda i: exact[i + 1] - fen[i], reverse=True)
    for i in order[:left]:
        fen[i] += 1
    return [pm, *fen]


def _shares(plan: _Plan, pool_fen: int) -> tuple[PayoutShare, ...]:
    fen = _rounded(_exact(plan, pool_fen), pool_fen)
    pm = PayoutShare(
        member=plan.pm.name,
        role=plan.pm.role,
        full_time=plan.pm.full_time,
        score=plan.pm_score,
        role_weight=None,
        weight=None,
        fen=fen[0],
    )
    return (
        pm,
        *(
            PayoutShare(
                member=m.name,
                role=m.role,
                full_time=m.full_time,
                score=score,
                role_weight=rw,
                weight=w,
                fen=f,
            )
            for m, score, rw, w, f in zip(
                plan.others, plan.scores, plan.role_weights, plan.weights, fen[1:], strict=True
            )
        ),
    )


def _checked_plan(
    scheme: PayoutScheme, team: Sequence[Member], scores: object, group_id: str
) -> _Plan:
    problems: list[ValidationError] = []
    plan = _plan(scheme, team, scores, group_id, problems)
    _raise(problems, f"{_where(group_id)}: {len(problems)} problems in the team")
    assert plan is not None
    return plan


def _check_pool(pool_fen: object) -> int:
    if isinstance(pool_fen, bool) or not isinstance(pool_fen, int | np.integer) or pool_fen < 0:
        raise ValidationError(f"a pool must be a whole number of fen >= 0, got {shorten(pool_fen)}")
    return int(pool_fen)


def exact_shares(
    scheme: PayoutScheme,
    pool_fen: int,
    team: Sequence[Member],
    scores: Mapping[str, Decimal | int | str] | None = None,
    *,
    group_id: str = "",
) -> dict[str, Fraction]:
    """Every member's share of ``pool_fen`` before rounding, in fen, exactly.

    The project manager's is ``pm_share x pool``; each other member's is
    ``(pool - pm) x weight / sum of weights`` with ``weight = role_weight x score x
    (1 | 0.5)``. When no other member weighs anything, the project manager's is the whole
    pool. They add up to ``pool_fen`` exactly; :func:`split_pool` rounds them.

    Example:
        >>> from keyaccount.domain import Member
        >>> from keyaccount.operations import default_payout_scheme
        >>> team = [Member("Li", "PROJECT_MANAGER"), Member("Wang", "ACCOUNT_MANAGER"),
        ...         Member("Zhao", "BUSINESS_DEVELOPMENT")]  # Zhao: part-time
        >>> exact_shares(default_payout_scheme(), 100, team)
        {'Li': Fraction(40, 1), 'Wang': Fraction(40, 1), 'Zhao': Fraction(20, 1)}
    """
    plan = _checked_plan(scheme, team, scores, group_id)
    exact = _exact(plan, _check_pool(pool_fen))
    return dict(zip([plan.pm.name, *(m.name for m in plan.others)], exact, strict=True))


def split_pool(
    scheme: PayoutScheme,
    pool_fen: int,
    team: Sequence[Member],
    scores: Mapping[str, Decimal | int | str] | None = None,
    *,
    group_id: str = "",
) -> tuple[PayoutShare, ...]:
    """Split ``pool_fen`` among ``team`` in whole fen that add up exactly to the pool.

    Args:
        scheme: Gives ``pm_share`` and the role weights.
        pool_fen: The pool, in fen (>= 0).
        team: The group's members: exactly one project manager; names unique.
        scores: Performance score per member name (``Decimal``, ``int`` or decimal text,
            >= 0, any scale: only proportions count). When given, every member other than
            the project manager needs one; the project manager's is recorded, not used.
            ``None``: every score is 1.
        group_id: Named in error messages.

    Returns:
        The project manager's share first (``ceil(pm_share x pool)``), then the others in
        role order and by name; each is its exact share (:func:`exact_shares`) rounded
        down, plus one fen for the members with the largest remainders until the pool is
        used up (ties to the earlier member).

    Raises:
        ValidationError: no or several project managers, a duplicate name, a missing,
            unknown or negative score, a negative pool; several problems together as a
            :class:`~keyaccount.exceptions.PortfolioValidationError`.

    Example:
        >>> from keyaccount.domain import Member
        >>> from keyaccount.operations import default_payout_scheme
        >>> team = [Member("Li", "PROJECT_MANAGER"), Member("Wang", "ACCOUNT_MANAGER"),
        ...         Member("Zhao", "BUSINESS_DEVELOPMENT")]
        >>> [(s.member, s.fen) for s in split_pool(default_payout_scheme(), 1, team)]
        [('Li', 1), ('Wang', 0), ('Zhao', 0)]
    """
    plan = _checked_plan(scheme, team, scores, group_id)
    return _shares(plan, _check_pool(pool_fen))


# ------------------------------------------------------------------------ bulk


def _uncapped_pools(scheme: PayoutScheme, excess_fen: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """The pools before the cap, rounded half-even once (int64 arithmetic where it is exact)."""
    positive = np.maximum(excess_fen, 0)
    terms = scheme._terms
    numerators = terms.numerators
    denominator = terms.denominator
    largest = int(positive.max()) if positive.size else 0
    if largest == 0:  # nothing above target anywhere
        return np.zeros(positive.shape, dtype=np.int64)
    if denominator * largest >= _INT64_SAFE:  # rare: exact Python integers instead
        return np.array([scheme.uncapped_pool_fen(int(x)) for x in excess_fen], dtype=np.int64)
    # sum(numerator_i x part_i) <= denominator x excess < 2**62: every partial sum is exact
    total = np.zeros(positive.shape, dtype=np.int64)
    for lower, upper, numerator in zip(terms.lowers_fen, terms.uppers_fen, numerators, strict=True):
        width = largest if upper is None else upper - lower
        part = np.clip(positive - min(lower, largest), 0, max(width, 0))
        total += numerator * part
    quotient, remainder = np.divmod(total, denominator)
    twice = 2 * remainder
    up = (twice > denominator) | ((twice == denominator) & (quotient % 2 == 1))
    result: npt.NDArray[np.int64] = quotient + up.astype(np.int64)
    return result


def pools_fen(scheme: PayoutScheme, excess_fen: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The pools for many excesses at once (fen above target): rounded once, then capped.

    Equal to ``[scheme.pool_fen(x) for x in excess_fen]`` (the specification), computed
    with numpy over the brackets; exact (int64 where the products fit, Python integers
    otherwise).

    Raises:
        ValidationError: the excesses are not whole numbers of fen in 64 bits.

    Example:
        >>> from keyaccount.operations import default_payout_scheme
        >>> pools_fen(default_payout_scheme(), [-5, 0, 100_000_000, 200_000_000]).tolist()
        [0, 0, 10000000, 25000000]
    """
    excess = _fen_array(excess_fen, "excess above target")
    pools = _uncapped_pools(scheme, excess)
    cap = scheme.cap_fen
    return pools if cap is None else np.minimum(pools, cap)


def _fen_array(values: object, what: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValidationError(f"{what}: expected one column of fen, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind == "O" and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in array
    ):
        if any(abs(int(v)) >= 2**63 for v in array):
            raise ValidationError(f"{what}: an amount does not fit 64-bit fen")
        return array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ValidationError(
            f"{what}: fen must be whole numbers (an integer array), got dtype {array.dtype}"
        )
    if array.dtype.kind == "u" and array.size and int(array.max()) >= 2**63:
        raise ValidationError(f"{what}: an amount does not fit 64-bit fen")
    return array.astype(np.int64)


def _label(period: object) -> str:
    if isinstance(period, Period | PeriodRange):
        return str(period)
    if isinstance(period, str) and period.strip() and len(period) <= 40:
        return period.strip()
    raise ValidationError(
        f"period must be a Period, a PeriodRange or a label such as '2022', got {shorten(period)}"
    )


def _raise(problems: Sequence[Exception], message: str) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise PortfolioValidationError(message, problems)


def compute_payouts(
    scheme: PayoutScheme,
    period: Period | PeriodRange | str,
    figures: Mapping[str, tuple[Decimal | int | str, Decimal | int | str]],
    teams: Mapping[str, Sequence[Member]],
    *,
    scores: Mapping[str, Mapping[str, Decimal | int | str]] | None = None,
) -> PayoutRun:
    """The payouts of all groups for ``period`` from their ``(attributed, target)`` in yuan.

    Args:
        scheme: The payout scheme.
        period: The period paid for (a month, a range, or a label such as ``"2022"``).
        figures: ``group id -> (attributed revenue, target)`` in yuan (whole fen); the
            target must be positive. The run lists the groups in this order.
        teams: ``group id -> members``; every group of ``figures`` needs one (others are
            ignored).
        scores: ``group id -> member name -> score``; a group left out scores everyone 1.

    Returns:
        A :class:`PayoutRun` with one :class:`Payout` per group.

    Raises:
        ValidationError: a bad amount, a target that is not positive, a missing team, a
            bad team or score (:func:`split_pool`); several problems together as a
            :class:`~keyaccount.exceptions.PortfolioValidationError`. Nothing is computed
            unless every group is good.

    Example:
        >>> from keyaccount.domain import Member
        >>> from keyaccount.operations import default_payout_scheme
        >>> team = [Member("Li", "PROJECT_MANAGER"), Member("Wang", "ACCOUNT_MANAGER")]
        >>> run = compute_payouts(default_payout_scheme(), "2022",
        ...                       {"courts": ("12000000", "10000000")}, {"courts": team})
        >>> run["courts"].pool, [str(s.amount) for s in run["courts"].shares]
        (Decimal('250000.00'), ['100000.00', '150000.00'])
    """
    label = _label(period)
    problems: list[Exception] = []
    if not isinstance(figures, Mapping):
        raise ValidationError(
            f"payouts for {label}: figures must map group ids to (attributed, target)"
        )
    group_ids: list[str] = []
    attributed: list[int] = []
    target: list[int] = []
    for group_id, given in figures.items():
        where = _where(str(group_id))
        pair: object = given
        if not isinstance(pair, Sequence) or isinstance(pair, str | bytes) or len(pair) != 2:
            problems.append(
                ValidationError(
                    f"{where}: expected (attributed, target) in yuan, got {shorten(pair)}"
                )
            )
            continue
        try:
            a = yuan_to_fen(pair[0], where=f"{where}, attributed revenue for {label}")
            t = yuan_to_fen(pair[1], where=f"{where}, target for {label}")
        except InvalidMoneyError as exc:
            problems.append(exc)
            continue
        group_ids.append(group_id)
        attributed.append(a)
        target.append(t)
    return _compute(scheme, label, group_ids, attributed, target, teams, scores, problems)


def compute_payouts_fen(
    scheme: PayoutScheme,
    period: Period | PeriodRange | str,
    group_ids: Sequence[str],
    attributed_fen: npt.ArrayLike,
    target_fen: npt.ArrayLike,
    teams: Mapping[str, Sequence[Member]],
    *,
    scores: Mapping[str, Mapping[str, Decimal | int | str]] | None = None,
) -> PayoutRun:
    """:func:`compute_payouts` from columns: group ids and integer fen arrays.

    For example the columns of an attainment table; the groups keep the columns' order.

    Raises:
        ValidationError: columns of different lengths, a duplicate group id, amounts that
            are not integers, or see :func:`compute_payouts`.
    """
    label = _label(period)
    ids = [str(g) for g in group_ids]
    a = _fen_array(attributed_fen, f"payouts for {label}, attributed revenue")
    t = _fen_array(target_fen, f"payouts for {label}, target")
    if not len(ids) == len(a) == len(t):
        raise ValidationError(
            f"payouts for {label}: {len(ids)} group ids, {len(a)} attributed amounts and "
            f"{len(t)} targets; the columns must have the same length"
        )
    return _compute(scheme, label, ids, a.tolist(), t.tolist(), teams, scores, [])


def _compute(
    scheme: PayoutScheme,
    label: str,
    group_ids: list[str],
    attributed: list[int],
    target: list[int],
    teams: object,
    scores: object,
    problems: list[Exception],
) -> PayoutRun:
    if not isinstance(teams, Mapping):
        raise ValidationError(f"payouts for {label}: teams must map group ids to members")
    if scores is not None and not isinstance(scores, Mapping):
        raise ValidationError(f"payouts for {label}: scores must map group ids to scores")
    seen: set[str] = set()
    plans: list[_Plan | None] = []
    for group_id, a, t in zip(group_ids, attributed, target, strict=True):
        where = _where(group_id)
        if not isinstance(group_id, str) or not group_id:
            problems.append(
                ValidationError(f"a group id must be non-empty text, got {shorten(group_id)}")
            )
        if group_id in seen:
            problems.append(ValidationError(f"{where} is given twice for {label}"))
        seen.add(group_id)
        if abs(a) >= MAX_PAYOUT_FEN or abs(t) >= MAX_PAYOUT_FEN:
            problems.append(ValidationError(f"{where}: an amount for {label} is too large"))
        if t <= 0:
            problems.append(
                ValidationError(
                    f"{where}: the target for {label} is {fen_to_yuan(t)} yuan; a payout "
                    "needs a positive target"
                )
            )
        if group_id not in teams:
            problems.append(ValidationError(f"{where}: no team for {label}"))
            plans.append(None)
            continue
        group_scores = None if scores is None else scores.get(group_id)
        group_problems: list[ValidationError] = []
        plans.append(_plan(scheme, teams[group_id], group_scores, group_id, group_problems))
        problems += group_problems
    if scores is not None:
        for group_id in sorted(set(scores) - seen, key=str):
            problems.append(
                ValidationError(
                    f"scores for {_where(str(group_id))}, which has no figures for {label}"
                )
            )
    _raise(problems, f"payouts for {label}: {len(problems)} problems")
    a_array = np.array(attributed, dtype=np.int64)
    t_array = np.array(target, dtype=np.int64)
    uncapped = _uncapped_pools(scheme, a_array - t_array)
    cap = scheme.cap_fen
    pools = uncapped if cap is None else np.minimum(uncapped, cap)
    payouts = []
    for i, (group_id, plan) in enumerate(zip(group_ids, plans, strict=True)):
        assert plan is not None
        pool = int(pools[i])
        payouts.append(
            Payout(
                group_id=group_id,
                period=label,
                scheme=scheme.name,
                scheme_version=scheme.version,
                attributed_fen=attributed[i],
                target_fen=target[i],
                uncapped_fen=int(uncapped[i]),
                pool_fen=pool,
                shares=_shares(plan, pool),
            )
        )
    return PayoutRun(scheme.name, scheme.version, label, tuple(payouts))
