"""KPI threshold breaches, found in bulk, and the supervision items they open (once each)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import (
    NO_CODE,
    SEGMENTS,
    TIERS,
    Department,
    Level,
    Period,
    Severity,
    check_lang,
)
from keyaccount.exceptions import ValidationError
from keyaccount.operations._kpi import (
    KpiObservation,
    KpiObservations,
    KpiRegistry,
    SubjectAttributes,
    SubjectKind,
    default_kpi_registry,
    factorize,
)
from keyaccount.operations._supervision_items import SupervisionItem, to_date

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable

    from keyaccount.operations._kpi_thresholds import KpiThreshold, KpiThresholds
    from keyaccount.operations._supervision import SupervisionList

__all__ = [
    "KpiBreach",
    "breach_source_key",
    "detect_kpi_breaches",
    "open_breach_items",
    "rate_percent",
    "reference_kpi_breaches",
]


def breach_source_key(kind: SubjectKind, subject_id: str, kpi_id: str, period: Period) -> str:
    """The source key of the item a breach opens: one item per subject, KPI and month.

    Example:
        >>> breach_source_key(SubjectKind.CUSTOMER, "C1", "receipt_return_rate", Period(2022, 11))
        'kpi-breach:CUSTOMER:C1:receipt_return_rate:2022-11'
    """
    return f"kpi-breach:{kind.name}:{subject_id}:{kpi_id}:{period}"


@attrs.frozen
class KpiBreach:
    """A month whose KPI rate broke the threshold that applies to its subject.

    Attributes:
        subject_kind: ``CUSTOMER`` or ``GROUP``.
        subject_id: The customer or group.
        kpi_id: The KPI.
        period: The month.
        numerator: The counted numerator.
        denominator: The counted denominator (positive: a month without items breaches nothing).
        rate: ``numerator / denominator`` (float64).
        threshold: The threshold that applied (the most specific match).
        province: The subject's province, if known.
    """

    subject_kind: SubjectKind
    subject_id: str
    kpi_id: str
    period: Period
    numerator: int
    denominator: int
    rate: float
    threshold: KpiThreshold
    province: str | None = None

    @property
    def source_key(self) -> str:
        """The key that makes opening its supervision item idempotent."""
        return breach_source_key(self.subject_kind, self.subject_id, self.kpi_id, self.period)

    def describe(self, lang: str = "en", *, registry: KpiRegistry | None = None) -> str:
        """The breach in one line: KPI, rate (counts), the bound broken, subject and month.

        ``"en"``: ``Receipt return rate (回执返回率) 90.00% (90/100) below the minimum
        95.00%: customer C1, 2022-11``; ``"zh"``: ``回执返回率 90.00%（90/100）低于下限
        95.00%：客户 C1，2022-11``. Rates are :func:`rate_percent` (enough decimals to
        tell the rate from the bound). This is the title of the supervision item
        :func:`open_breach_items` opens for it.

        Args:
            lang: ``"en"`` or ``"zh"``.
            registry: Where the KPI's names come from (default: the court project's
                four); a KPI it lacks is named by its id.

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        check_lang(lang, where="KpiBreach.describe")
        reg = default_kpi_registry() if registry is None else registry
        kpi = reg.get(self.kpi_id)
        names = (kpi.name_en, kpi.name_zh) if kpi is not None else (self.kpi_id, self.kpi_id)
        return breach_title(self, *names, lang=lang)


def _subject_codes(
    obs: KpiObservations, subjects: SubjectAttributes
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Per row the segment code, tier code (``NO_CODE`` for none) and province."""
    n = len(obs)
    seg = np.full(n, NO_CODE, dtype=np.int64)
    tier = np.full(n, NO_CODE, dtype=np.int64)
    province = np.empty(n, dtype=object)
    for kind in SubjectKind:
        rows = np.flatnonzero(obs.subject_kind == kind.code)
        if rows.size == 0:
            continue
        inverse, unique = factorize(obs.subject_id[rows], "subject id")
        found = [subjects.of(kind, s) for s in unique]
        u_seg = np.array([NO_CODE if f[1] is None else f[1].code for f in found], dtype=np.int64)
        u_tier = np.array([NO_CODE if f[2] is None else f[2].code for f in found], dtype=np.int64)
        u_prov = np.empty(len(found), dtype=object)
        u_prov[:] = [f[3] for f in found]
        seg[rows], tier[rows], province[rows] = u_seg[inverse], u_tier[inverse], u_prov[inverse]
    return seg, tier, province


def _threshold_table(
    obs: KpiObservations, thresholds: KpiThresholds
) -> tuple[list[KpiThreshold], npt.NDArray[np.int64]]:
    """Every threshold that can apply, and ``table[kpi, segment + 1, tier + 1]`` -> its index."""
    kpis = list(obs.registry)
    chosen: list[KpiThreshold] = []
    positions: dict[int, int] = {}
    table = np.full((len(kpis), len(SEGMENTS) + 1, len(TIERS) + 1), -1, dtype=np.int64)
    for k, kpi in enumerate(kpis):
        for s, segment in enumerate((None, *SEGMENTS)):
            for t, tier in enumerate((None, *TIERS)):
                found = thresholds.lookup(kpi, segment, tier)
                if found is None:
                    continue
                if id(found) not in positions:
                    positions[id(found)] = len(chosen)
                    chosen.append(found)
                table[k, s, t] = positions[id(found)]
    return chosen, table


def detect_kpi_breaches(
    observations: KpiObservations, thresholds: KpiThresholds, subjects: SubjectAttributes
) -> tuple[KpiBreach, ...]:
    """Every observation that breaks its threshold, in bulk, in row order.

    For each row the applicable threshold is the most specific one for the subject's
    segment and tier (:meth:`KpiThresholds.lookup`); the row breaches when its rate is
    present (denominator > 0) and ``rate < minimum`` (or ``rate > maximum``). A row with
    no applicable threshold breaches nothing.

    Raises:
        UnknownCustomerError, UnknownProjectGroupError: a subject ``subjects`` lacks.
    """
    n = len(observations)
    if n == 0:
        return ()
    chosen, table = _threshold_table(observations, thresholds)
    seg, tier, province = _subject_codes(observations, subjects)
    kpi = observations.kpi_codes()
    applies = table[kpi, seg + 1, tier + 1]
    minimum = np.array([np.nan if t.minimum is None else t.minimum for t in chosen] + [np.nan])
    maximum = np.array([np.nan if t.maximum is None else t.maximum for t in chosen] + [np.nan])
    low, high = minimum[applies], maximum[applies]  # index -1 is the NaN pad: no threshold
    rate = observations.rate
    present = observations.has_rate & (applies >= 0)
    with np.errstate(invalid="ignore"):
        breached = present & ((rate < low) | (rate > high))
    rows = np.flatnonzero(breached)
    periods = {int(p): Period.from_ordinal(int(p)) for p in np.unique(observations.period[rows])}
    kinds = {k.code: k for k in SubjectKind}
    return tuple(
        KpiBreach(
            kinds[int(observations.subject_kind[i])],
            str(observations.subject_id[i]),
            str(observations.kpi_id[i]),
            periods[int(observations.period[i])],
            int(observations.numerator[i]),
            int(observations.denominator[i]),
            float(rate[i]),
            chosen[int(applies[i])],
            province[i],
        )
        for i in rows
    )


def reference_kpi_breaches(
    observations: Iterable[KpiObservation], thresholds: KpiThresholds, subjects: SubjectAttributes
) -> tuple[KpiBreach, ...]:
    """The breaches one observation at a time: the specification of :func:`detect_kpi_breaches`."""
    out: list[KpiBreach] = []
    for o in observations:
        _, segment, tier, province = subjects.of(o.subject_kind, o.subject_id)
        threshold = thresholds.lookup(o.kpi_id, segment, tier)
        rate = o.rate
        if threshold is None or rate is None or not threshold.breached(rate):
            continue
        out.append(
            KpiBreach(
                o.subject_kind,
                o.subject_id,
                o.kpi_id,
                o.period,
                o.numerator,
                o.denominator,
                rate,
                threshold,
                province,
            )
        )
    return tuple(out)


def rate_percent(rate: float, bound: float | None = None) -> str:
    """``rate`` as a percentage with two decimals, more when needed to tell it from ``bound``.

    A breach is ``rate < minimum`` exactly; a rate of 94.996% against a 95% minimum
    would read "95.00% < 95.00%" with two decimals, so decimals are added (up to six)
    until the two differ on the page.

    Example:
        >>> rate_percent(0.94996, 0.95), rate_percent(0.9, 0.95)
        ('94.996%', '90.00%')
    """
    if not math.isfinite(rate):
        return str(rate)
    for places in range(2, 7):
        text = f"{rate:.{places}%}"
        if bound is None or rate == bound or text != f"{bound:.{places}%}":
            return text
    return text


_SUBJECT_ZH = {SubjectKind.CUSTOMER: "客户", SubjectKind.GROUP: "项目组"}


def breach_title(breach: KpiBreach, name_en: str, name_zh: str, *, lang: str = "en") -> str:
    """The title of a breach's supervision item (see :meth:`KpiBreach.describe`).

    ``"en"`` gives the English KPI name with the Chinese one in parentheses; ``"zh"``
    the Chinese text alone, with full-width punctuation.
    """
    t = breach.threshold
    rate = rate_percent(breach.rate, t.bound)
    if check_lang(lang, where="breach_title") == "zh":
        side_zh = "低于下限" if t.minimum is not None else "高于上限"
        return (
            f"{name_zh} {rate}（{breach.numerator:,}/{breach.denominator:,}）"
            f"{side_zh} {rate_percent(t.bound)}："
            f"{_SUBJECT_ZH[breach.subject_kind]} {breach.subject_id}，{breach.period}"
        )
    side = (
        f"below the minimum {rate_percent(t.bound)}"
        if t.minimum is not None
        else (f"above the maximum {rate_percent(t.bound)}")
    )
    return (
        f"{name_en} ({name_zh}) {rate} "
        f"({breach.numerator}/{breach.denominator}) {side}: "
        f"{breach.subject_kind.name.lower()} {breach.subject_id}, {breach.period}"
    )


def open_breach_items(
    supervision: SupervisionList,
    breaches: Iterable[KpiBreach],
    *,
    who: str,
    on: dt.date | str,
    responsible_person: str | Callable[[KpiBreach], str],
    department: Department | str = Department.SERVICE,
    level: Level | str = Level.CITY,
    severity: Severity | str | Callable[[KpiBreach], Severity] = Severity.NORMAL,
    registry: KpiRegistry | None = None,
    lang: str = "en",
) -> tuple[SupervisionItem, ...]:
    """Open one supervision item per breach not yet on the list (once per subject, KPI, month).

    Each item's source key is :func:`breach_source_key`, so running the check again opens
    nothing twice. Items are opened by ``who`` without an owner (the first to receive one
    owns it), at ``level``, due ``on + days(level)``, in the subject's province.

    Args:
        supervision: The list.
        breaches: From :func:`detect_kpi_breaches`.
        who: The process or person running the check.
        on: The day.
        responsible_person: A name, or a function of the breach giving one.
        department: The responsible department (service by default).
        level: Where the items start.
        severity: A severity, or a function of the breach (severe for SVIP customers, ...).
        registry: Where the titles take the KPIs' names (default: the court project's four;
            a KPI it lacks is named by its id).
        lang: The language of the items' titles (:meth:`KpiBreach.describe`): ``"en"``
            (English with the Chinese KPI name) or ``"zh"``.

    Returns:
        The items opened now, in breach order (none for breaches already on the list).

    Raises:
        UnknownCustomerError, UnknownProjectGroupError: a subject the list does not know;
            nothing is opened.
        ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
    """
    check_lang(lang, where="open_breach_items")
    day = to_date(on)
    reg = default_kpi_registry() if registry is None else registry
    dept, lv = Department.parse(department), Level.parse(level)
    pending = [b for b in breaches if supervision.by_source(b.source_key) is None]
    unique: dict[str, KpiBreach] = {}
    for b in pending:
        unique.setdefault(b.source_key, b)
    for b in unique.values():
        supervision.check_subject(b.subject_kind, b.subject_id)
    specs = []
    for b in unique.values():
        person = responsible_person(b) if callable(responsible_person) else responsible_person
        sev = Severity.parse(severity(b) if callable(severity) else severity)
        if not isinstance(person, str) or not person.strip():
            raise ValidationError(f"breach {b.source_key}: no responsible person, got {person!r}")
        specs.append((b, person, sev, b.describe(lang, registry=reg)))
    opened: list[SupervisionItem] = []
    for b, person, sev, title in specs:
        opened.append(
            supervision.open(
                title,
                subject_id=b.subject_id,
                subject_kind=b.subject_kind,
                department=dept,
                responsible_person=person,
                province=b.province,
                level=lv,
                severity=sev,
                who=who,
                on=day,
                received=False,
                source_key=b.source_key,
            )
        )
    return tuple(opened)
