"""KPI thresholds per KPI, segment and tier, loaded from a TOML file like a policy.

A threshold names a KPI and optionally a segment and a tier (omitted: any). For one
subject the most specific threshold wins, in this order (the first that exists decides):

1. the subject's segment **and** tier,
2. its tier (any segment),
3. its segment (any tier),
4. neither (any segment, any tier).

The tier beats the segment because the SVIP guarantee (SVIP保障机制) is a tier rule: a
strategic customer's tighter threshold applies in every segment that has no threshold of
its own for strategic customers. A project group has no tier, so only thresholds without
a tier apply to it; a customer without a segment matches only thresholds without one.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs

from keyaccount.domain import Segment, Tier
from keyaccount.exceptions import (
    PolicyError,
    PolicyValidationError,
    UnknownLabelError,
    ValidationError,
    shorten,
)
from keyaccount.operations._kpi import KpiDirection, KpiRegistry, default_kpi_registry
from keyaccount.utils import toml_key_lines
from keyaccount.utils.display import html_table, short_repr

__all__ = [
    "DEFAULT_KPI_THRESHOLDS_FILE",
    "KpiThreshold",
    "KpiThresholds",
    "default_kpi_thresholds",
    "default_kpi_thresholds_text",
]

DEFAULT_KPI_THRESHOLDS_FILE: Final = "default_kpi_thresholds.toml"
"""The name of the shipped thresholds file inside ``keyaccount.operations``."""

_HEAD_KEYS = ("name", "description")
_KEYS = ("kpi", "segment", "tier", "minimum", "maximum", "description")
_BOM = "\ufeff"


def _opt_segment(value: Segment | str | None) -> Segment | None:
    return None if value is None else Segment.parse(value)


def _opt_tier(value: Tier | str | None) -> Tier | None:
    return None if value is None else Tier.parse(value)


def _check_bound(_: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"threshold {attribute.name} must be a number, got {shorten(value)}")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(
            f"threshold {attribute.name} must be a finite number >= 0, got {shorten(value)}"
        )


def _opt_float(value: float | None) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value)


@attrs.frozen
class KpiThreshold:
    """The bound a KPI's rate must keep for the customers of a segment and tier.

    Exactly one of ``minimum`` (a higher-is-better KPI: a breach is ``rate < minimum``)
    and ``maximum`` (lower-is-better: ``rate > maximum``) is given. :class:`KpiThresholds`
    checks it against the KPI's direction.

    Attributes:
        kpi_id: The KPI.
        segment: The segment it applies to, ``None`` for any.
        tier: The tier it applies to, ``None`` for any.
        minimum: The lowest acceptable rate, or ``None``.
        maximum: The highest acceptable rate, or ``None``.
        description: One line for people.
        source: Where it came from (``file, line N``), for messages.

    Example:
        >>> t = KpiThreshold("receipt_return_rate", tier="STRATEGIC", minimum=0.98)
        >>> t.breached(0.975), t.breached(0.98), t.specificity
        (True, False, 2)
    """

    kpi_id: str
    segment: Segment | None = attrs.field(default=None, converter=_opt_segment, kw_only=True)
    tier: Tier | None = attrs.field(default=None, converter=_opt_tier, kw_only=True)
    minimum: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_check_bound, kw_only=True
    )
    maximum: float | None = attrs.field(
        default=None, converter=_opt_float, validator=_check_bound, kw_only=True
    )
    description: str = attrs.field(default="", converter=str, kw_only=True)
    source: str = attrs.field(default="", converter=str, kw_only=True, eq=False)

    def __attrs_post_init__(self) -> None:
        if (self.minimum is None) == (self.maximum is None):
            raise ValidationError(
                f"threshold for KPI {shorten(self.kpi_id)} needs exactly one of minimum and maximum"
            )

    @property
    def specificity(self) -> int:
        """3 for segment and tier, 2 for tier only, 1 for segment only, 0 for neither."""
        return (2 if self.tier is not None else 0) + (1 if self.segment is not None else 0)

    @property
    def key(self) -> tuple[str, Segment | None, Tier | None]:
        """``(kpi_id, segment, tier)``: at most one threshold per key."""
        return (self.kpi_id, self.segment, self.tier)

    @property
    def bound(self) -> float:
        """The minimum or the maximum, whichever is given."""
        value = self.minimum if self.minimum is not None else self.maximum
        assert value is not None
        return value

    def breached(self, rate: float | None) -> bool:
        """Whether ``rate`` breaks the bound; an absent rate breaks nothing."""
        if rate is None or math.isnan(rate):
            return False
        if self.minimum is not None:
            return rate < self.minimum
        return self.maximum is not None and rate > self.maximum


def _to_thresholds(values: Iterable[KpiThreshold]) -> tuple[KpiThreshold, ...]:
    return tuple(values)


def _default_registry() -> KpiRegistry:
    return default_kpi_registry()


@attrs.frozen
class KpiThresholds:
    """A set of thresholds (at most one per KPI, segment and tier) and the precedence rule.

    Attributes:
        thresholds: The thresholds.
        registry: The KPIs they may name (default: the court project's four).
        name: A name for messages and reports.
        description: One line for people.
        source: The file they came from.

    Raises:
        PolicyError: a threshold for an unknown KPI, a ``minimum`` for a lower-is-better KPI
            (or a ``maximum`` for a higher-is-better one), a bound above 1 for a proportion,
            or two thresholds for the same KPI, segment and tier.

    Example:
        >>> ts = KpiThresholds([
        ...     KpiThreshold("receipt_return_rate", minimum=0.90),
        ...     KpiThreshold("receipt_return_rate", segment="JUDICIAL", minimum=0.95),
        ...     KpiThreshold("receipt_return_rate", tier="STRATEGIC", minimum=0.98)])
        >>> ts.lookup("receipt_return_rate", Segment.JUDICIAL, Tier.STRATEGIC).minimum
        0.98
        >>> ts.lookup("receipt_return_rate", Segment.JUDICIAL, Tier.KEY).minimum
        0.95
        >>> ts.lookup("receipt_return_rate", None, None).minimum
        0.9
    """

    thresholds: tuple[KpiThreshold, ...] = attrs.field(default=(), converter=_to_thresholds)
    registry: KpiRegistry = attrs.field(factory=_default_registry, kw_only=True, eq=False)
    name: str = attrs.field(default="thresholds", converter=str, kw_only=True)
    description: str = attrs.field(default="", converter=str, kw_only=True)
    source: str | None = attrs.field(default=None, kw_only=True, eq=False)
    _index: dict[tuple[str, Segment | None, Tier | None], KpiThreshold] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        problems: list[Exception] = []
        index: dict[tuple[str, Segment | None, Tier | None], KpiThreshold] = {}
        for t in self.thresholds:
            try:
                _check_against(t, self.registry)
            except PolicyError as exc:
                problems.append(exc)
                continue
            if t.key in index:
                first = index[t.key]
                where = _at(t.source)
                earlier = f" (the first at {first.source})" if first.source else ""
                problems.append(
                    PolicyError(
                        f"{where}a second threshold for KPI {t.kpi_id!r}, segment "
                        f"{_name(t.segment)}, tier {_name(t.tier)}{earlier}"
                    )
                )
                continue
            index[t.key] = t
        _raise(problems, self.source)
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[KpiThreshold]:
        return iter(self.thresholds)

    def __len__(self) -> int:
        return len(self.thresholds)

    def __repr__(self) -> str:
        kpis = len({t.kpi_id for t in self.thresholds})
        return short_repr("KpiThresholds", f"{len(self)} thresholds of {kpis} KPIs", name=self.name)

    def _repr_html_(self) -> str:
        rows = ((t.kpi_id, t.segment, t.tier, t.minimum, t.maximum) for t in self.thresholds)
        headings = ("kpi_id", "segment", "tier", "minimum", "maximum")
        total = len(self)
        return html_table(headings, rows, total=total, caption=repr(self), unit="thresholds")

    def lookup(
        self, kpi_id: str, segment: Segment | None, tier: Tier | None
    ) -> KpiThreshold | None:
        """The threshold that applies to a subject: the most specific match, or ``None``."""
        candidates = [(segment, tier), (None, tier), (segment, None), (None, None)]
        for seg, t in candidates:
            found = self._index.get((kpi_id, seg, t))
            if found is not None:
                return found
        return None

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        registry: KpiRegistry | None = None,
        source: str | None = None,
        text: str | None = None,
    ) -> KpiThresholds:
        """Thresholds from plain data shaped like the file (``[thresholds]``, ``[[threshold]]``).

        Every problem is found; one is raised as a :class:`PolicyError`, several together
        as a :class:`PolicyValidationError`. With the file's ``text``, messages give lines.
        """
        reg = default_kpi_registry() if registry is None else registry
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}a thresholds file must be a table, got {shorten(data)}")
        problems: list[Exception] = []
        for key in sorted(set(data) - {"thresholds", "threshold"}):
            problems.append(
                PolicyError(
                    f"{where}unknown top-level key {shorten(key)}; expected [thresholds] and "
                    "[[threshold]] tables"
                )
            )
        head = data.get("thresholds", {})
        if not isinstance(head, Mapping):
            raise PolicyError(f"{where}'thresholds' must be a table")
        for key in sorted(set(head) - set(_HEAD_KEYS)):
            problems.append(
                PolicyError(
                    f"{where}unknown key {shorten(key)} in [thresholds]; expected one of "
                    f"{', '.join(_HEAD_KEYS)}"
                )
            )
        for key in _HEAD_KEYS:
            if key in head and not isinstance(head[key], str):
                problems.append(PolicyError(f"{where}'{key}' in [thresholds] must be text"))
        raw = data.get("threshold", [])
        if not isinstance(raw, list):
            raise PolicyError(f"{where}'threshold' must be an array of tables ([[threshold]])")
        lines = toml_key_lines(text) if text is not None else {}
        parsed: list[KpiThreshold] = []
        for number, entry in enumerate(raw, start=1):
            try:
                parsed.append(_threshold_from_dict(entry, number, source, lines, reg))
            except PolicyError as exc:
                problems.append(exc)
        result: KpiThresholds | None = None
        try:
            result = cls(
                parsed,
                registry=reg,
                name=head.get("name", Path(source).stem if source else "thresholds"),
                description=head.get("description", ""),
                source=source,
            )
        except PolicyValidationError as exc:
            problems.extend(exc.exceptions)
        except PolicyError as exc:
            problems.append(exc)
        _raise(problems, source)
        assert result is not None
        return result

    @classmethod
    def from_toml(
        cls, text: str, *, registry: KpiRegistry | None = None, source: str | None = None
    ) -> KpiThresholds:
        """Parse thresholds from TOML text (a leading byte order mark is ignored).

        Raises:
            PolicyError: not valid TOML, or one problem; PolicyValidationError: several.
        """
        body = text.removeprefix(_BOM)
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as exc:
            where = f"{source}: " if source else ""
            raise PolicyError(f"{where}not valid TOML: {exc}") from None
        except RecursionError:
            where = f"{source}: " if source else ""
            raise PolicyError(f"{where}not a thresholds file: tables nest too deep") from None
        return cls.from_dict(data, registry=registry, source=source, text=body)

    @classmethod
    def load(cls, path: str | Path, *, registry: KpiRegistry | None = None) -> KpiThresholds:
        """Read a thresholds file (UTF-8); errors name the file, the line and the key.

        Raises:
            PolicyError: the file cannot be read, or see :meth:`from_toml`.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read thresholds file {shorten(str(path))}: {exc}") from None
        return cls.from_toml(text, registry=registry, source=str(path))


def default_kpi_thresholds_text() -> str:
    """The TOML text of the shipped thresholds (a starting point for your own)."""
    return (
        resources.files("keyaccount.operations")
        .joinpath(DEFAULT_KPI_THRESHOLDS_FILE)
        .read_text("utf-8")
    )


def default_kpi_thresholds(registry: KpiRegistry | None = None) -> KpiThresholds:
    """The shipped thresholds for the court project's four KPIs, tighter for SVIP customers.

    Example:
        >>> ts = default_kpi_thresholds()
        >>> from keyaccount.domain import Segment, Tier
        >>> svip = ts.lookup("receipt_return_rate", Segment.JUDICIAL, Tier.STRATEGIC)
        >>> key = ts.lookup("receipt_return_rate", Segment.JUDICIAL, Tier.KEY)
        >>> svip.minimum > key.minimum
        True
    """
    return KpiThresholds.from_toml(
        default_kpi_thresholds_text(), registry=registry, source=DEFAULT_KPI_THRESHOLDS_FILE
    )


def _name(value: Segment | Tier | None) -> str:
    return "any" if value is None else value.name


def _at(source: str) -> str:
    return f"{source}: " if source else ""


def _raise(problems: list[Exception], source: str | None) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        where = f"{source}: " if source else ""
        raise PolicyValidationError(f"{where}{len(problems)} problems in KPI thresholds", problems)


def _check_against(t: KpiThreshold, registry: KpiRegistry) -> None:
    where = _at(t.source)
    if t.kpi_id not in registry:
        raise PolicyError(
            f"{where}unknown KPI {shorten(t.kpi_id)}; expected one of {', '.join(registry)}"
        )
    kpi = registry[t.kpi_id]
    if kpi.direction is KpiDirection.HIGHER_IS_BETTER and t.minimum is None:
        raise PolicyError(
            f"{where}KPI {kpi.id!r} is higher-is-better: give 'minimum', not 'maximum'"
        )
    if kpi.direction is KpiDirection.LOWER_IS_BETTER and t.maximum is None:
        raise PolicyError(
            f"{where}KPI {kpi.id!r} is lower-is-better: give 'maximum', not 'minimum'"
        )
    if kpi.proportion and t.bound > 1:
        key = "minimum" if t.minimum is not None else "maximum"
        raise PolicyError(
            f"{where}'{key}' {t.bound!r} of KPI {kpi.id!r} is above 1; the KPI is a proportion "
            "(write 95% as 0.95)"
        )


def _threshold_from_dict(
    raw: object,
    number: int,
    source: str | None,
    lines: Mapping[tuple[str, int, str], int],
    registry: KpiRegistry,
) -> KpiThreshold:
    header = lines.get(("threshold", number, ""))
    place = [source] if source else []
    place.append(f"line {header}" if header is not None else f"threshold #{number}")

    def at(key: str | None = None) -> str:
        parts = list(place)
        if key is not None:
            line = lines.get(("threshold", number, key))
            if line is not None:
                parts[-1] = f"line {line}"
            parts.append(f"key {key!r}")
        return ", ".join(parts) + ": "

    if not isinstance(raw, Mapping):
        raise PolicyError(f"{at()}a threshold must be a table")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise PolicyError(f"{at(unknown[0])}unknown key; expected one of {', '.join(_KEYS)}")
    if "kpi" not in raw:
        raise PolicyError(f"{at()}missing 'kpi'")
    kpi = raw["kpi"]
    if not isinstance(kpi, str) or kpi not in registry:
        raise PolicyError(
            f"{at('kpi')}unknown KPI {shorten(kpi)}; expected one of {', '.join(registry)}"
        )
    kwargs: dict[str, Any] = {}
    for key, parse in (("segment", Segment.parse), ("tier", Tier.parse)):
        if key in raw:
            try:
                kwargs[key] = parse(raw[key])
            except UnknownLabelError as exc:
                raise PolicyError(
                    f"{at(key)}unknown {exc.kind} {shorten(raw[key])}; expected one of "
                    f"{', '.join(exc.choices)} (omit the key for any)"
                ) from None
    given = [k for k in ("minimum", "maximum") if k in raw]
    if len(given) != 1:
        raise PolicyError(f"{at()}give exactly one of 'minimum' and 'maximum'")
    bound_key = given[0]
    value = raw[bound_key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{at(bound_key)}must be a number, got {shorten(value)}")
    if not math.isfinite(value) or value < 0:
        raise PolicyError(f"{at(bound_key)}must be a finite number >= 0, got {shorten(value)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise PolicyError(f"{at('description')}must be text")
    bound = float(value)
    threshold = KpiThreshold(
        kpi,
        segment=kwargs.get("segment"),
        tier=kwargs.get("tier"),
        minimum=bound if bound_key == "minimum" else None,
        maximum=bound if bound_key == "maximum" else None,
        description=description,
        source=", ".join(place),
    )
    try:
        _check_against(threshold, registry)
    except PolicyError as exc:
        raise PolicyError(f"{at(bound_key)}{_after_where(str(exc), threshold.source)}") from None
    return threshold


def _after_where(message: str, source: str) -> str:
    prefix = _at(source)
    return message[len(prefix) :] if message.startswith(prefix) else message
