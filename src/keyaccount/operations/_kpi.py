"""Service KPIs: definitions, the registry, observations as exact counts, and roll-ups.

A KPI observation is an integer numerator and denominator for one subject (a customer or a
project group), one KPI and one month; the rate is their float64 quotient, absent when the
denominator is 0. Roll-ups add numerators and denominators and divide once: rates are never
averaged (CONTRACTS.md, "Operations").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import SEGMENTS, TIERS, Period, Segment, Tier, check_lang
from keyaccount.exceptions import (
    PrecisionError,
    UnknownCustomerError,
    UnknownLabelError,
    UnknownProjectGroupError,
    ValidationError,
    shorten,
)
from keyaccount.utils.display import HEAD_ROWS, html_table, number, short_repr, span

if TYPE_CHECKING:
    from keyaccount.operations._ownership import Ownership
    from keyaccount.portfolio import Portfolio

__all__ = [
    "COURT_KPIS",
    "MAX_KPI_COUNT",
    "ROLLUP_DIMENSIONS",
    "KpiDefinition",
    "KpiDirection",
    "KpiObservation",
    "KpiObservations",
    "KpiRegistry",
    "KpiRollup",
    "SubjectAttributes",
    "SubjectKind",
    "default_kpi_registry",
    "factorize",
    "reference_kpi_rollup",
    "to_subject_kind",
]

MAX_KPI_COUNT: Final = 10**12
"""The largest numerator or denominator of one observation (a trillion items a month).

Below 2**53, so every count converts to float64 exactly and the numpy quotient equals
Python's correctly rounded ``numerator / denominator``.
"""

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_INT64_MAX = int(np.iinfo(np.int64).max)


class KpiDirection(enum.Enum):
    """Which way a KPI is good: a higher rate (with a minimum) or a lower one (with a maximum)."""

    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"

    @classmethod
    def parse(cls, value: KpiDirection | str) -> KpiDirection:
        """Parse the name (any case) or ``"higher"`` / ``"lower"``.

        Raises:
            UnknownLabelError: neither.
        """
        if isinstance(value, KpiDirection):
            return value
        text = str(value).strip()
        for member in cls:
            if text.upper() == member.name or text.lower() == member.value:
                return member
        raise UnknownLabelError("KPI direction", value, tuple(m.name for m in cls))


class SubjectKind(enum.Enum):
    """What a KPI observation or a supervision item is about: a customer or a project group."""

    CUSTOMER = 0
    GROUP = 1

    @property
    def code(self) -> int:
        """The integer code in columnar data (``CUSTOMER`` 0, ``GROUP`` 1)."""
        return int(self.value)

    @classmethod
    def parse(cls, value: SubjectKind | str) -> SubjectKind:
        """Parse the name in any case (``"customer"``, ``"GROUP"``).

        Raises:
            UnknownLabelError: neither.
        """
        if isinstance(value, SubjectKind):
            return value
        text = str(value).strip().upper()
        for member in cls:
            if text == member.name:
                return member
        raise UnknownLabelError("subject kind", value, tuple(m.name for m in cls))


def _to_direction(value: KpiDirection | str) -> KpiDirection:
    return KpiDirection.parse(value)


def to_subject_kind(value: SubjectKind | str) -> SubjectKind:
    """``SubjectKind.parse`` as a function (an attrs converter)."""
    return SubjectKind.parse(value)


def _check_slug(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValidationError(
            f"KPI id {shorten(value)} must be a lower snake case slug such as 'receipt_return_rate'"
        )


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"KPI {attribute.name} must be non-empty text, got {shorten(value)}")


@attrs.frozen
class KpiDefinition:
    """A service KPI: what it counts and which way is good.

    Attributes:
        id: Lower snake case slug (``receipt_return_rate``), stable once released.
        name_en: English name.
        name_zh: Chinese name (回执返回率).
        direction: ``HIGHER_IS_BETTER`` (thresholds give a ``minimum``) or
            ``LOWER_IS_BETTER`` (a ``maximum``).
        proportion: The numerator counts a subset of the denominator (receipts returned
            out of receipts sent), so an observation with numerator > denominator is
            refused and a threshold lies in ``[0, 1]``. ``False`` for a rate that may
            exceed 1 (complaints per item sent, ...).
        description: One line for people.

    Example:
        >>> k = KpiDefinition("complaint_rate", "Complaint rate", "投诉率",
        ...                   direction="lower", proportion=False)
        >>> k.direction, k.name("zh")
        (<KpiDirection.LOWER_IS_BETTER: 'lower'>, '投诉率')
    """

    id: str = attrs.field(validator=_check_slug)
    name_en: str = attrs.field(validator=_check_name)
    name_zh: str = attrs.field(validator=_check_name)
    direction: KpiDirection = attrs.field(
        default=KpiDirection.HIGHER_IS_BETTER, converter=_to_direction, kw_only=True
    )
    proportion: bool = attrs.field(default=True, kw_only=True)
    description: str = attrs.field(default="", converter=str, kw_only=True)

    def name(self, lang: str = "en") -> str:
        """The display name in ``lang`` (``"en"`` or ``"zh"``).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        zh = check_lang(lang, where="KpiDefinition.name") == "zh"
        return self.name_zh if zh else self.name_en


COURT_KPIS: Final[tuple[KpiDefinition, ...]] = (
    KpiDefinition(
        "receipt_return_rate",
        "Receipt return rate",
        "回执返回率",
        description="Receipts returned to the court out of receipts sent.",
    ),
    KpiDefinition(
        "on_time_delivery_rate",
        "On-time delivery rate",
        "及时投递率",
        description="Items delivered within the promised time out of items delivered.",
    ),
    KpiDefinition(
        "receipt_signing_rate",
        "Receipt signing rate",
        "回执签收率",
        description="Receipts signed by the addressee out of receipts returned.",
    ),
    KpiDefinition(
        "returned_mail_signing_rate",
        "Returned-mail signing rate",
        "退回签收率",
        description="Returned items signed for by the sender out of items returned.",
    ),
)
"""The court project's four KPIs (DOMAIN.md), all proportions, higher is better."""


def _to_definitions(values: Iterable[KpiDefinition]) -> tuple[KpiDefinition, ...]:
    return tuple(values)


@attrs.frozen
class KpiRegistry(Mapping[str, KpiDefinition]):
    """The KPIs known to a check: an immutable mapping from KPI id to its definition.

    :func:`default_kpi_registry` holds the court project's four; :meth:`with_kpi`
    registers another (a duplicate id is refused).

    Example:
        >>> reg = default_kpi_registry()
        >>> reg["receipt_return_rate"].name_zh
        '回执返回率'
        >>> mine = reg.with_kpi(KpiDefinition("pickup_rate", "Pickup rate", "揽收率"))
        >>> len(mine), len(reg)
        (5, 4)
    """

    definitions: tuple[KpiDefinition, ...] = attrs.field(default=(), converter=_to_definitions)
    _index: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, d in enumerate(self.definitions):
            if not isinstance(d, KpiDefinition):
                raise ValidationError(f"a KPI registry holds KpiDefinition values, got {d!r}")
            if d.id in index:
                raise ValidationError(f"KPI {d.id!r} is registered twice")
            index[d.id] = i
        object.__setattr__(self, "_index", index)

    def __getitem__(self, kpi_id: str) -> KpiDefinition:
        try:
            return self.definitions[self._index[kpi_id]]
        except (KeyError, TypeError):
            raise UnknownLabelError("KPI", kpi_id, tuple(self._index)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self.definitions)

    def __repr__(self) -> str:
        return short_repr("KpiRegistry", f"{len(self)} KPIs: " + ", ".join(self._index)[:300])

    def _repr_html_(self) -> str:
        rows = ((d.id, d.name_en, d.name_zh, d.direction, d.proportion) for d in self.definitions)
        headings = ("id", "name_en", "name_zh", "direction", "proportion")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="KPIs")

    def __contains__(self, kpi_id: object) -> bool:
        return isinstance(kpi_id, str) and kpi_id in self._index

    def get(  # type: ignore[override]
        self, kpi_id: str, default: KpiDefinition | None = None
    ) -> KpiDefinition | None:
        """The definition of ``kpi_id``, or ``default`` when it is not registered."""
        if isinstance(kpi_id, str) and kpi_id in self._index:
            return self.definitions[self._index[kpi_id]]
        return default

    def code(self, kpi_id: str) -> int:
        """The KPI's position in the registry, its integer code in columnar data."""
        _ = self[kpi_id]  # raises for an unknown id, naming the choices
        return self._index[kpi_id]

    def with_kpi(self, definition: KpiDefinition) -> KpiRegistry:
        """A registry that also holds ``definition``.

        Raises:
            ValidationError: a KPI with the same id is already registered.
        """
        if definition.id in self._index:
            raise ValidationError(f"KPI {definition.id!r} is already registered")
        return KpiRegistry((*self.definitions, definition))


def default_kpi_registry() -> KpiRegistry:
    """A registry holding the court project's four KPIs (:data:`COURT_KPIS`)."""
    return KpiRegistry(COURT_KPIS)


def _where(subject_kind: SubjectKind, subject_id: str, kpi_id: str, period: Period | str) -> str:
    return f"{subject_kind.name.lower()} {shorten(subject_id)}, KPI {shorten(kpi_id)}, {period}"


def _to_period(value: Period | str) -> Period:
    return Period.parse(value)


def _to_count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"a KPI count must be an integer, got {shorten(value)}")
    return int(value)


@attrs.frozen
class KpiObservation:
    """One month of one KPI for one subject, as exact counts.

    The checks that need the KPI's definition (numerator <= denominator for a proportion)
    are made by :meth:`KpiObservations.from_records`; this value only refuses what no
    observation may hold.

    Attributes:
        subject_id: The customer or project group id.
        kpi_id: The KPI.
        period: The month.
        numerator: Items that meet the KPI (receipts returned), ``0 <= numerator``.
        denominator: Items counted (receipts sent), ``0 <= denominator``.
        subject_kind: ``CUSTOMER`` (the default) or ``GROUP``.

    Example:
        >>> o = KpiObservation("C1", "receipt_return_rate", "2022-11", 19, 20)
        >>> o.rate
        0.95
        >>> KpiObservation("C1", "receipt_return_rate", "2022-11", 0, 0).rate is None
        True
    """

    subject_id: str
    kpi_id: str
    period: Period = attrs.field(converter=_to_period)
    numerator: int = attrs.field(converter=_to_count)
    denominator: int = attrs.field(converter=_to_count)
    subject_kind: SubjectKind = attrs.field(
        default=SubjectKind.CUSTOMER, converter=to_subject_kind, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.subject_id, str) or not self.subject_id.strip():
            raise ValidationError(f"KPI observation needs a subject id, got {self.subject_id!r}")
        where = _where(self.subject_kind, self.subject_id, self.kpi_id, self.period)
        for name in ("numerator", "denominator"):
            value = getattr(self, name)
            if value < 0:
                raise ValidationError(f"{where}: {name} {value} is negative")
            if value > MAX_KPI_COUNT:
                raise ValidationError(f"{where}: {name} {value} is above {MAX_KPI_COUNT:,}")

    @property
    def rate(self) -> float | None:
        """``numerator / denominator`` as float64, ``None`` when the denominator is 0."""
        return self.numerator / self.denominator if self.denominator else None


def _int_array(values: object, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValidationError(f"KPI {name} must be a one-dimensional array, got {array.shape}")
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or (array.dtype == object and array.size == 0)
    ):
        raise ValidationError(f"KPI {name} must be an integer array, got {array.dtype}")
    return array.astype(np.int64)


def _text_array(values: object, name: str) -> npt.NDArray[np.object_]:
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValidationError(f"KPI {name} must be a one-dimensional array, got {array.shape}")
    return array


@attrs.frozen(eq=False)
class KpiObservations:
    """KPI observations as parallel arrays (the bulk form), checked on construction.

    Build it with :meth:`from_records` or :meth:`from_arrays`; both refuse, with nothing
    kept, an unknown KPI, a negative count, a count above :data:`MAX_KPI_COUNT`, a
    numerator above its denominator for a proportion KPI, and two observations for the
    same (subject, KPI, month). The error names the subject, the KPI and the month of the
    first bad row and says how many rows are bad.

    Attributes:
        subject_kind: ``SubjectKind`` codes (``int8``: 0 customer, 1 group).
        subject_id: Subject ids (``object``).
        kpi_id: KPI ids (``object``).
        period: Month ordinals (``int32``, :attr:`Period.ordinal`).
        numerator: ``int64``.
        denominator: ``int64``.
        registry: The KPIs the observations were checked against.
    """

    subject_kind: npt.NDArray[np.int8]
    subject_id: npt.NDArray[np.object_]
    kpi_id: npt.NDArray[np.object_]
    period: npt.NDArray[np.int32]
    numerator: npt.NDArray[np.int64]
    denominator: npt.NDArray[np.int64]
    registry: KpiRegistry

    def __len__(self) -> int:
        return int(self.subject_id.shape[0])

    @classmethod
    def from_arrays(
        cls,
        *,
        subject_id: Sequence[str] | npt.NDArray[Any],
        kpi_id: Sequence[str] | npt.NDArray[Any],
        period: Sequence[int] | npt.NDArray[Any],
        numerator: Sequence[int] | npt.NDArray[Any],
        denominator: Sequence[int] | npt.NDArray[Any],
        subject_kind: Sequence[int] | npt.NDArray[Any] | SubjectKind = SubjectKind.CUSTOMER,
        registry: KpiRegistry | None = None,
    ) -> KpiObservations:
        """Observations from columns (periods as ordinals, one kind for all or a code per row).

        Raises:
            ValidationError: a bad row (see the class); nothing is kept.
            UnknownLabelError: a KPI the registry does not hold.
        """
        reg = default_kpi_registry() if registry is None else registry
        ids = _text_array(subject_id, "subject ids")
        n = ids.shape[0]
        kinds = (
            np.full(n, subject_kind.code, dtype=np.int8)
            if isinstance(subject_kind, SubjectKind)
            else _int_array(subject_kind, "subject kinds").astype(np.int8)
        )
        columns = cls(
            subject_kind=kinds,
            subject_id=ids,
            kpi_id=_text_array(kpi_id, "KPI ids"),
            period=_int_array(period, "periods").astype(np.int32),
            numerator=_int_array(numerator, "numerators"),
            denominator=_int_array(denominator, "denominators"),
            registry=reg,
        )
        columns._check()
        return columns

    @classmethod
    def from_records(
        cls, records: Iterable[KpiObservation], registry: KpiRegistry | None = None
    ) -> KpiObservations:
        """Observations from :class:`KpiObservation` values (checked as :meth:`from_arrays`)."""
        rows = list(records)
        return cls.from_arrays(
            subject_kind=np.array([r.subject_kind.code for r in rows], dtype=np.int8),
            subject_id=np.array([r.subject_id for r in rows], dtype=object),
            kpi_id=np.array([r.kpi_id for r in rows], dtype=object),
            period=np.array([r.period.ordinal for r in rows], dtype=np.int32),
            numerator=np.array([r.numerator for r in rows], dtype=np.int64),
            denominator=np.array([r.denominator for r in rows], dtype=np.int64),
            registry=registry,
        )

    def _check(self) -> None:
        n = len(self)
        for name in ("subject_kind", "kpi_id", "period", "numerator", "denominator"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(
                    f"KPI {name} has {getattr(self, name).shape[0]} values for {n} observations"
                )
        if n == 0:
            return
        kinds = {k.code for k in SubjectKind}
        bad_kind = ~np.isin(self.subject_kind, list(kinds))
        if bad_kind.any():
            i = int(np.argmax(bad_kind))
            raise ValidationError(f"unknown subject kind code {int(self.subject_kind[i])}")
        subject_codes, _ = factorize(self.subject_id, "KPI observation subject id")
        kpi_codes = self.kpi_codes()  # raises UnknownLabelError naming the choices
        proportion = np.isin(self.kpi_id, [d.id for d in self.registry.definitions if d.proportion])
        lo, hi = Period(1900, 1).ordinal, Period(9999, 12).ordinal
        checks: list[tuple[npt.NDArray[np.bool_], str]] = [
            ((self.period < lo) | (self.period > hi), "the month is out of range"),
            (self.numerator < 0, "numerator {num} is negative"),
            (self.denominator < 0, "denominator {den} is negative"),
            (self.numerator > MAX_KPI_COUNT, f"numerator {{num}} is above {MAX_KPI_COUNT:,}"),
            (self.denominator > MAX_KPI_COUNT, f"denominator {{den}} is above {MAX_KPI_COUNT:,}"),
            (
                proportion & (self.numerator > self.denominator),
                "numerator {num} > denominator {den} for a proportion KPI",
            ),
        ]
        for bad, reason in checks:
            if bad.any():
                i = int(np.argmax(bad))
                self._refuse(i, int(bad.sum()), reason)
        first = int(self.period.min())
        span = int(self.period.max()) - first + 1
        key = (
            (subject_codes * len(SubjectKind) + self.subject_kind.astype(np.int64))
            * len(self.registry)
            + kpi_codes
        ) * span + (self.period.astype(np.int64) - first)
        order = np.argsort(key, kind="stable")
        same = key[order][1:] == key[order][:-1]
        if same.any():
            i = int(order[int(np.argmax(same)) + 1])
            self._refuse(i, int(same.sum()), "a second observation for the same subject and month")

    def _refuse(self, i: int, count: int, reason: str) -> None:
        where = self._row_where(i)
        more = f" ({count} bad observations; this is the first)" if count > 1 else ""
        text = reason.format(num=int(self.numerator[i]), den=int(self.denominator[i]))
        raise ValidationError(f"{where}: {text}{more}")

    def _row_where(self, i: int) -> str:
        ordinal = int(self.period[i])
        lo, hi = Period(1900, 1).ordinal, Period(9999, 12).ordinal
        period = str(Period.from_ordinal(ordinal)) if lo <= ordinal <= hi else f"month {ordinal}"
        kind = SubjectKind(int(self.subject_kind[i]))
        return _where(kind, str(self.subject_id[i]), str(self.kpi_id[i]), period)

    def kpi_codes(self) -> npt.NDArray[np.int64]:
        """Per row the KPI's code (its position in :attr:`registry`).

        Raises:
            UnknownLabelError: a KPI the registry does not hold.
        """
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        inverse, unique = factorize(self.kpi_id, "KPI id")
        codes = np.array([self.registry.code(k) for k in unique], dtype=np.int64)
        return codes[inverse]

    @property
    def rate(self) -> npt.NDArray[np.float64]:
        """``float64(numerator) / float64(denominator)`` per row, NaN where absent."""
        return _rates(self.numerator, self.denominator)

    @property
    def has_rate(self) -> npt.NDArray[np.bool_]:
        """Where the rate is present: the denominator is positive."""
        return self.denominator > 0

    def __repr__(self) -> str:
        months = None
        if len(self):
            first, last = (Period.from_ordinal(int(f(self.period))) for f in (np.min, np.max))
            months = span(first, last)
        size = f"{number(len(self))} observations, {len(self.registry)} KPIs registered"
        return short_repr("KpiObservations", size, months=months)

    def _repr_html_(self) -> str:
        rate = self.rate[:HEAD_ROWS]
        rows = (
            (
                o.subject_kind,
                o.subject_id,
                o.kpi_id,
                str(o.period),
                o.numerator,
                o.denominator,
                float(rate[i]),
            )
            for i, o in zip(range(HEAD_ROWS), self.records(), strict=False)
        )
        headings = (
            *("subject_kind", "subject_id", "kpi_id", "period"),
            *("numerator", "denominator", "rate"),
        )
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="observations")

    def records(self) -> Iterator[KpiObservation]:
        """The observations one by one, in row order."""
        for i in range(len(self)):
            yield KpiObservation(
                str(self.subject_id[i]),
                str(self.kpi_id[i]),
                Period.from_ordinal(int(self.period[i])),
                int(self.numerator[i]),
                int(self.denominator[i]),
                subject_kind=SubjectKind(int(self.subject_kind[i])),
            )

    def take(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> KpiObservations:
        """The rows selected by a mask or positions (already checked, so not checked again)."""
        return KpiObservations(
            subject_kind=self.subject_kind[keep],
            subject_id=self.subject_id[keep],
            kpi_id=self.kpi_id[keep],
            period=self.period[keep],
            numerator=self.numerator[keep],
            denominator=self.denominator[keep],
            registry=self.registry,
        )

    def rollup(
        self,
        by: Sequence[str],
        *,
        subjects: SubjectAttributes | None = None,
        kind: SubjectKind | str = SubjectKind.CUSTOMER,
        ownership: Ownership | None = None,
    ) -> KpiRollup:
        """Add numerators and denominators over the observations of one subject kind.

        Args:
            by: Dimensions from :data:`ROLLUP_DIMENSIONS`: ``"kpi"``, ``"period"``,
                ``"subject"``, ``"group"``, ``"segment"``, ``"tier"``, ``"province"``.
                ``()`` gives one row per nothing: the grand total.
            subjects: The attributes of the subjects, needed for ``group``, ``segment``,
                ``tier`` and ``province``.
            kind: Only observations of this kind are rolled up (customers by default), so
                that a group's own counts never add to its customers' counts.
            ownership: When given, ``group`` of a customer observation of month ``M`` is
                the group that owned the customer in ``M`` (:meth:`Ownership.owner_codes`;
                ``None`` when no group did), not its current group, and ``subjects`` is
                not needed for it. Group observations are unaffected.

        Returns:
            One row per combination present, sorted by the keys (absent first).

        Raises:
            ValidationError: an unknown dimension, or one that needs ``subjects`` without it.
            UnknownCustomerError, UnknownProjectGroupError: a subject ``subjects`` lacks.
            PrecisionError: a sum that would not fit in 64 bits.

        Example:
            >>> obs = KpiObservations.from_records([
            ...     KpiObservation("C1", "receipt_return_rate", "2022-11", 9, 10),
            ...     KpiObservation("C2", "receipt_return_rate", "2022-11", 1, 90)])
            >>> r = obs.rollup(["kpi"])
            >>> int(r.numerator[0]), int(r.denominator[0]), float(r.rate[0])
            (10, 100, 0.1)
        """
        return _rollup(self, tuple(by), subjects, SubjectKind.parse(kind), ownership)


def factorize(values: npt.NDArray[Any], what: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Codes for text labels that sort as the labels do, and the sorted distinct labels.

    One dictionary lookup per value, one sort of the distinct labels (not of the rows).

    Raises:
        ValidationError: a value that is not non-empty text (the message names its row).
    """
    index: dict[object, int] = {}
    raw = np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
    )
    labels: list[str] = []
    for v in index:
        if not (isinstance(v, str) and v.strip()):
            row = next(i for i, w in enumerate(values) if w is v or w == v)
            raise ValidationError(
                f"{what} on row {row + 1} must be non-empty text, got {shorten(v)}"
            )
        labels.append(v)
    order = sorted(range(len(labels)), key=lambda k: labels[k])
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels), dtype=np.int64)
    return rank[raw], [labels[k] for k in order]


def _rates(num: npt.NDArray[np.int64], den: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    out = np.full(num.shape, np.nan, dtype=np.float64)
    present = den > 0
    np.divide(num.astype(np.float64), den.astype(np.float64), out=out, where=present)
    return out


ROLLUP_DIMENSIONS: Final[tuple[str, ...]] = (
    "kpi",
    "period",
    "subject",
    "group",
    "segment",
    "tier",
    "province",
)
"""The dimensions a KPI roll-up may group by."""

_NEEDS_SUBJECTS = frozenset({"group", "segment", "tier", "province"})


def _to_text_dict(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(values or {})


@attrs.frozen
class SubjectAttributes:
    """What roll-ups, thresholds and supervision need to know about each subject.

    Customers and project groups are kept apart (a customer and a group may share an id).
    A customer's group, segment, tier and province; a group's segment (its tier and
    province are absent, its group is itself).

    Attributes:
        customers: Customer id -> ``(group id | None, segment | None, tier, province | None)``.
        groups: Group id -> segment (or ``None``).

    Example:
        >>> s = SubjectAttributes(
        ...     customers={"C1": ("courts", Segment.JUDICIAL, Tier.STRATEGIC, "广东")},
        ...     groups={"courts": Segment.JUDICIAL})
        >>> s.of(SubjectKind.CUSTOMER, "C1")
        ('courts', <Segment.JUDICIAL: '司法'>, <Tier.STRATEGIC: 3>, '广东')
        >>> s.of(SubjectKind.GROUP, "courts")
        ('courts', <Segment.JUDICIAL: '司法'>, None, None)
    """

    customers: dict[str, tuple[str | None, Segment | None, Tier | None, str | None]] = attrs.field(
        factory=dict, converter=_to_text_dict
    )
    groups: dict[str, Segment | None] = attrs.field(factory=dict, converter=_to_text_dict)

    @classmethod
    def from_portfolio(cls, portfolio: Portfolio) -> SubjectAttributes:
        """Each customer's current project group, segment, tier and province; each group's segment.

        Read in bulk from the customer columns, without a ``Customer`` object per customer.
        """
        cols = portfolio.customer_columns
        group_of: dict[str, str] = {}
        for group in portfolio.project_groups:
            for cid in group.customer_ids:
                group_of[cid] = group.id
        segments: list[Segment | None] = [*SEGMENTS, None]  # NO_CODE (-1) picks None
        customers = {
            cid: (group_of.get(cid), segments[seg], TIERS[tier], province or None)
            for cid, seg, tier, province in zip(
                cols.id.tolist(),
                cols.segment.tolist(),
                cols.tier.tolist(),
                cols.province.tolist(),
                strict=True,
            )
        }
        return cls(customers=customers, groups={g.id: g.segment for g in portfolio.project_groups})

    def __repr__(self) -> str:
        size = f"{number(len(self.customers))} customers, {number(len(self.groups))} groups"
        return short_repr("SubjectAttributes", size)

    def of(
        self, kind: SubjectKind, subject_id: str
    ) -> tuple[str | None, Segment | None, Tier | None, str | None]:
        """``(group, segment, tier, province)`` of a subject.

        Raises:
            UnknownCustomerError, UnknownProjectGroupError: not known.
        """
        if kind is SubjectKind.CUSTOMER:
            try:
                return self.customers[subject_id]
            except KeyError:
                raise UnknownCustomerError(f"unknown customer {shorten(subject_id)}") from None
        try:
            return (subject_id, self.groups[subject_id], None, None)
        except KeyError:
            raise UnknownProjectGroupError(f"unknown project group {shorten(subject_id)}") from None

    def contains(self, kind: SubjectKind, subject_id: str) -> bool:
        """Whether the subject is known."""
        table: Mapping[str, object] = (
            self.customers if kind is SubjectKind.CUSTOMER else self.groups
        )
        return subject_id in table


@attrs.frozen(eq=False)
class KpiRollup:
    """Summed counts per key: a small table, one row per combination of the keys.

    Attributes:
        by: The dimensions, in order.
        keys: One ``object`` array per dimension: KPI ids, :class:`Period`, subject ids,
            group ids, :class:`Segment`, :class:`Tier` or provinces; ``None`` where the
            subject has none.
        numerator: Summed numerators (``int64``).
        denominator: Summed denominators (``int64``).
    """

    by: tuple[str, ...]
    keys: dict[str, npt.NDArray[np.object_]]
    numerator: npt.NDArray[np.int64]
    denominator: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.numerator.shape[0])

    def __repr__(self) -> str:
        return short_repr("KpiRollup", f"{number(len(self))} rows", by=", ".join(self.by))

    def _repr_html_(self) -> str:
        rate, n = self.rate, min(len(self), HEAD_ROWS)
        rows = (
            (
                *(self.keys[d][i] for d in self.by),
                int(self.numerator[i]),
                int(self.denominator[i]),
                float(rate[i]),
            )
            for i in range(n)
        )
        headings = (*self.by, "numerator", "denominator", "rate")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="rows")

    @property
    def rate(self) -> npt.NDArray[np.float64]:
        """``float64(summed numerator) / float64(summed denominator)``, NaN where absent."""
        return _rates(self.numerator, self.denominator)

    def rows(self) -> list[tuple[tuple[object, ...], int, int]]:
        """``(key tuple, numerator, denominator)`` per row, in row order."""
        return [
            (
                tuple(self.keys[d][i] for d in self.by),
                int(self.numerator[i]),
                int(self.denominator[i]),
            )
            for i in range(len(self))
        ]

    def as_dict(self) -> dict[tuple[object, ...], tuple[int, int]]:
        """Key tuple -> ``(numerator, denominator)``."""
        return {key: (num, den) for key, num, den in self.rows()}


def _check_dimensions(
    by: tuple[str, ...], subjects: SubjectAttributes | None, dated_group: bool = False
) -> None:
    for d in by:
        if d not in ROLLUP_DIMENSIONS:
            raise ValidationError(
                f"unknown roll-up dimension {shorten(d)}; expected one of "
                f"{', '.join(ROLLUP_DIMENSIONS)}"
            )
    if len(set(by)) != len(by):
        raise ValidationError(f"roll-up dimensions {by} name one twice")
    needed = _NEEDS_SUBJECTS & set(by) - ({"group"} if dated_group else set())
    if subjects is None and needed:
        raise ValidationError(
            f"rolling up by {', '.join(sorted(needed))} needs the subjects' "
            "attributes (subjects=SubjectAttributes...)"
        )


def _subject_dimensions(
    obs: KpiObservations, kind: SubjectKind, subjects: SubjectAttributes | None, dims: set[str]
) -> dict[str, tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]]:
    """Per row, the label and sort code of each subject dimension (one lookup per subject)."""
    wanted = dims & (_NEEDS_SUBJECTS | {"subject"})
    if not wanted or len(obs) == 0:
        return {}
    inverse, unique = factorize(obs.subject_id, "subject id")
    out: dict[str, tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]] = {}
    if "subject" in wanted:
        out["subject"] = (obs.subject_id, inverse)
    if not wanted & _NEEDS_SUBJECTS or subjects is None:
        return out
    attrs_of = [subjects.of(kind, s) for s in unique]
    for position, name in enumerate(("group", "segment", "tier", "province")):
        if name in wanted:
            column = np.empty(len(unique), dtype=object)
            column[:] = [a[position] for a in attrs_of]
            out[name] = (column[inverse], _label_codes(column, name)[inverse])
    return out


def _owner_labels(
    obs: KpiObservations, ownership: Ownership
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Per row, the group owning the customer in the row's month and a code sorting as it."""
    codes = ownership.owner_codes(obs.subject_id, obs.period)
    ids = ownership.group_ids
    labels = np.empty(len(ids) + 1, dtype=object)
    labels[: len(ids)] = ids
    labels[len(ids)] = None  # NO_CODE (-1) indexes the last: no owner
    rank = np.empty(len(ids) + 1, dtype=np.int64)
    rank[: len(ids)] = np.argsort(np.argsort(np.array(ids, dtype=object), kind="stable"))
    rank[len(ids)] = -1
    return labels[codes], rank[codes]


def _label_codes(labels: npt.NDArray[np.object_], dim: str) -> npt.NDArray[np.int64]:
    """Integer codes that sort as the labels do, absent (``None``) first."""
    if dim in ("segment", "tier"):
        return np.array([-1 if v is None else v.code for v in labels], dtype=np.int64)
    present = np.array([v is not None for v in labels], dtype=bool)
    codes = np.full(labels.shape[0], -1, dtype=np.int64)
    if present.any():
        codes[present] = factorize(labels[present], dim)[0]
    return codes


def _rollup(
    obs: KpiObservations,
    by: tuple[str, ...],
    subjects: SubjectAttributes | None,
    kind: SubjectKind,
    ownership: Ownership | None = None,
) -> KpiRollup:
    dated = ownership is not None and kind is SubjectKind.CUSTOMER
    _check_dimensions(by, subjects, dated)
    chosen = obs.take(obs.subject_kind == kind.code)
    n = len(chosen)
    largest = max(int(chosen.numerator.max()), int(chosen.denominator.max())) if n else 0
    if largest * n > _INT64_MAX:
        raise PrecisionError(
            f"a KPI roll-up of {n:,} observations with counts up to {largest:,} could exceed "
            "64 bits"
        )
    if n == 0:
        empty = {d: np.empty(0, dtype=object) for d in by}
        return KpiRollup(by, empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    attributes = _subject_dimensions(chosen, kind, subjects, set(by))
    if dated and "group" in by:
        assert ownership is not None  # dated says so
        attributes["group"] = _owner_labels(chosen, ownership)
    labels: dict[str, npt.NDArray[np.object_]] = {}
    codes: list[npt.NDArray[np.int64]] = []
    for d in by:
        if d == "kpi":
            labels[d] = chosen.kpi_id
            codes.append(chosen.kpi_codes())
        elif d == "period":
            labels[d] = chosen.period.astype(object)  # ordinals; made Periods per result row
            codes.append(chosen.period.astype(np.int64))
        else:
            labels[d], code = attributes[d]
            codes.append(code)
    if not by:
        return KpiRollup(
            by,
            {},
            np.array([chosen.numerator.sum()], dtype=np.int64),
            np.array([chosen.denominator.sum()], dtype=np.int64),
        )
    matrix = np.column_stack(codes)
    order = np.lexsort(matrix.T[::-1])
    sorted_codes = matrix[order]
    starts = np.flatnonzero(
        np.concatenate(([True], np.any(sorted_codes[1:] != sorted_codes[:-1], axis=1)))
    )
    first_rows = order[starts]
    keys = {d: labels[d][first_rows] for d in by}
    if "period" in keys:
        periods = np.empty(len(first_rows), dtype=object)
        periods[:] = [Period.from_ordinal(int(p)) for p in keys["period"]]
        keys["period"] = periods
    return KpiRollup(
        by,
        keys,
        np.add.reduceat(chosen.numerator[order], starts).astype(np.int64),
        np.add.reduceat(chosen.denominator[order], starts).astype(np.int64),
    )


def reference_kpi_rollup(
    observations: Iterable[KpiObservation],
    by: Sequence[str],
    *,
    subjects: SubjectAttributes | None = None,
    kind: SubjectKind | str = SubjectKind.CUSTOMER,
    ownership: Ownership | None = None,
) -> dict[tuple[object, ...], tuple[int, int]]:
    """The roll-up one observation at a time: the specification of :meth:`KpiObservations.rollup`.

    With ``ownership``, the group of a customer observation is the owner of the customer
    in the observation's month (:meth:`Ownership.owner`).

    Returns:
        Key tuple (labels in the order of ``by``) -> ``(summed numerator, summed denominator)``.
    """
    dims = tuple(by)
    chosen = SubjectKind.parse(kind)
    dated = ownership is not None and chosen is SubjectKind.CUSTOMER
    _check_dimensions(dims, subjects, dated)
    out: dict[tuple[object, ...], tuple[int, int]] = {}
    for o in observations:
        if o.subject_kind is not chosen:
            continue
        group = segment = tier = province = None
        if subjects is not None and _NEEDS_SUBJECTS & set(dims):
            group, segment, tier, province = subjects.of(o.subject_kind, o.subject_id)
        if dated and ownership is not None:
            group = ownership.owner(o.subject_id, o.period)
        values = {
            "kpi": o.kpi_id,
            "period": o.period,
            "subject": o.subject_id,
            "group": group,
            "segment": segment,
            "tier": tier,
            "province": province,
        }
        key = tuple(values[d] for d in dims)
        num, den = out.get(key, (0, 0))
        out[key] = (num + o.numerator, den + o.denominator)
    return out
