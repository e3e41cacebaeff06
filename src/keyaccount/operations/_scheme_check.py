"""Checking a payout scheme: its numbers, brackets and weights, and where each problem is.

Every problem of a scheme is collected and reported together: one as itself
(:class:`~keyaccount.exceptions.PayoutSchemeError`), several as a
:class:`PayoutSchemeValidationError`. A message names the file and line where known, the
scheme (name and version), the table and the key, and the value.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from keyaccount.domain import Role, fen_to_yuan, yuan_to_fen
from keyaccount.exceptions import (
    InvalidMoneyError,
    PayoutSchemeError,
    PayoutSchemeValidationError,
    UnknownLabelError,
    shorten,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FULL_TIME_FACTOR",
    "MAX_BRACKETS",
    "MAX_PAYOUT_DIGITS",
    "PART_TIME_FACTOR",
    "PM_SHARE_FLOOR",
    "WEIGHTED_ROLES",
    "Bracket",
]

PM_SHARE_FLOOR = Decimal("0.40")
"""The smallest share of the pool a scheme may give the project manager (40%)."""

FULL_TIME_FACTOR = Decimal(1)
"""A full-time member's score counts 100%."""

PART_TIME_FACTOR = Decimal("0.5")
"""A part-time member's score counts 50%."""

WEIGHTED_ROLES: tuple[Role, ...] = (
    Role.ACCOUNT_MANAGER,
    Role.BUSINESS_DEVELOPMENT,
    Role.OPERATIONS_OPTIMISATION,
    Role.SERVICE_IMPROVEMENT,
)
"""The roles that share the rest of the pool by weight, in role order (not the PM)."""

MAX_BRACKETS = 100
"""The most brackets a scheme may have."""

MAX_PAYOUT_DIGITS = 30
"""Rates, shares, weights and scores: at most this many significant digits, and a
decimal exponent (``Decimal.adjusted()``) between -30 and 30."""

_SCHEME_KEYS = ("name", "version", "description", "rate", "cap", "pm_share")
_BRACKET_KEYS = ("lower", "upper", "rate")
_TOP_KEYS = ("scheme", "bracket", "weights")
_MAX_VERSION = 2**31 - 1
_MAX_NAME = 200
_MAX_NUMBER_TEXT = 64
_T = TypeVar("_T")


class _ValueProblemError(ValueError):
    """One problem with one value, before its place in the scheme is known."""


@attrs.frozen
class Bracket:
    """One marginal bracket: ``rate`` applies to the excess above target in ``[lower, upper)``.

    Attributes:
        lower: Where the bracket starts, in yuan above target (included).
        upper: Where it ends, in yuan above target (excluded); ``None`` for the last,
            open-ended bracket.
        rate: The share of the excess inside the bracket that goes to the pool, in [0, 1].

    Example:
        >>> b = Bracket(Decimal(0), Decimal(1_000_000), Decimal("0.10"))
        >>> b.contains(Decimal("999999.99")), b.contains(Decimal(1_000_000))
        (True, False)
    """

    lower: Decimal
    upper: Decimal | None
    rate: Decimal

    def contains(self, excess: Decimal) -> bool:
        """Whether ``excess`` (yuan above target) lies in ``[lower, upper)``."""
        return self.lower <= excess and (self.upper is None or excess < self.upper)

    @property
    def lower_fen(self) -> int:
        """:attr:`lower` in fen."""
        return yuan_to_fen(self.lower)

    @property
    def upper_fen(self) -> int | None:
        """:attr:`upper` in fen (``None`` when open-ended)."""
        return None if self.upper is None else yuan_to_fen(self.upper)


# ---------------------------------------------------------------------- values


def check_decimal(value: object) -> Decimal:
    """``value`` as an exact, finite, bounded ``Decimal``; floats and bools refused."""
    if isinstance(value, bool | float):
        raise _ValueProblemError(
            f"not a decimal number: {type(value).__name__} {shorten(value)} (write a Decimal, "
            "an int or decimal text such as '0.15'; a float cannot hold most decimals exactly)"
        )
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_PAYOUT_DIGITS:
            raise _ValueProblemError(f"more than {MAX_PAYOUT_DIGITS} digits: {shorten(value)}")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        if len(value) > _MAX_NUMBER_TEXT:
            raise _ValueProblemError(f"longer than {_MAX_NUMBER_TEXT} characters: {shorten(value)}")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _ValueProblemError(f"not a number: {shorten(value)}") from None
    else:
        raise _ValueProblemError(f"not a decimal number: {type(value).__name__} {shorten(value)}")
    if not number.is_finite():
        raise _ValueProblemError(f"not a finite number: {shorten(value)}")
    if number and (
        len(number.as_tuple().digits) > MAX_PAYOUT_DIGITS
        or abs(number.adjusted()) > MAX_PAYOUT_DIGITS
    ):
        raise _ValueProblemError(
            f"more than {MAX_PAYOUT_DIGITS} significant digits or an exponent beyond "
            f"+-{MAX_PAYOUT_DIGITS}: {shorten(value)}"
        )
    return number


def _fraction(value: object) -> Decimal:
    """A rate or share in [0, 1]."""
    number = check_decimal(value)
    if not Decimal(0) <= number <= Decimal(1):
        raise _ValueProblemError(f"{number} is not between 0 and 1")
    return number


def _money(value: object) -> Decimal:
    """A non-negative amount of yuan in whole fen, as ``Decimal`` with two places."""
    try:
        fen = yuan_to_fen(value)  # type: ignore[arg-type]
    except InvalidMoneyError as exc:
        raise _ValueProblemError(str(exc)) from None
    if fen < 0:
        raise _ValueProblemError(f"{fen_to_yuan(fen)} yuan is negative")
    return fen_to_yuan(fen)


def rate_fraction(rates: Sequence[Decimal]) -> tuple[tuple[int, ...], int]:
    """Integer numerators over one power-of-ten denominator for ``rates`` (exact)."""
    places = max((max(0, -int(r.as_tuple().exponent)) for r in rates), default=0)
    denominator = 10**places
    numerators = tuple(int(r.scaleb(places)) for r in rates)
    return numerators, denominator


@attrs.frozen
class PoolTerms:
    """The brackets as integers: bounds in fen, rates as numerators over one denominator.

    ``exact pool (fen) = sum(numerator_i x part_i) / denominator``, computed with integers.
    """

    lowers_fen: tuple[int, ...]
    uppers_fen: tuple[int | None, ...]
    numerators: tuple[int, ...]
    denominator: int


# -------------------------------------------------------------------- messages


@attrs.frozen
class Site:
    """Where a scheme came from: a file and the lines of its keys, for messages."""

    source: str | None = None
    lines: Mapping[tuple[str, int, str], int] = attrs.field(factory=dict)

    def message(self, label: str, table: str, index: int, key: str, detail: str) -> str:
        """``file, line N: payout scheme 'x' version 1, [table] 'key': detail``."""
        head = []
        if self.source:
            head.append(self.source)
        line = self.lines.get((table, index, key)) or self.lines.get((table, index, ""))
        if line is None and not table and key:  # a top-level key written as a table
            line = self.lines.get((key, 0, "")) or self.lines.get((key, 1, ""))
        if line is not None and self.source is not None:
            head.append(f"line {line}")
        place = ""
        if table == "bracket":
            place = f"[[bracket]] #{index}" if index else "[[bracket]]"
        elif table:
            place = f"[{table}]"
        if key:
            place = f"{place} {shorten(key)}".strip()
        where = ", ".join([label, place]) if place else label
        prefix = ", ".join(head)
        return f"{prefix}: {where}: {detail}" if prefix else f"{where}: {detail}"


class Problems:
    """Collects the problems of one scheme; each becomes a located :class:`PayoutSchemeError`.

    Messages are rendered when raised, so that every one names the scheme (its name and
    version are read after some structural problems are found).
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.label = "payout scheme"
        self.found: list[tuple[str, int, str, str]] = []

    def add(self, table: str, index: int, key: str, detail: str) -> None:
        self.found.append((table, index, key, detail))

    def check(
        self, table: str, index: int, key: str, convert: Callable[[object], _T], value: object
    ) -> _T | None:
        try:
            return convert(value)
        except _ValueProblemError as exc:
            self.add(table, index, key, str(exc))
            return None

    def raise_any(self) -> None:
        errors = [
            PayoutSchemeError(self.site.message(self.label, *problem)) for problem in self.found
        ]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            head = f"{self.site.source}: " if self.site.source else ""
            raise PayoutSchemeValidationError(f"{head}{self.label}: {len(errors)} problems", errors)


RawBracket = tuple[int, object, object, object] | None
"""``(number, lower, upper, rate)`` as given; ``None`` for a bracket already refused."""


def scheme_fields(
    problems: Problems,
    *,
    name: object,
    version: object,
    rate: object,
    brackets: list[RawBracket] | None,
    pm_share: object,
    weights: list[tuple[str, object, object]] | None,
    cap: object,
    description: object,
) -> dict[str, Any]:
    """Check every field; raise all problems together, or return the attrs fields."""
    good_name = isinstance(name, str) and bool(name.strip()) and len(name) <= _MAX_NAME
    good_version = (
        isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= _MAX_VERSION
    )
    if good_name:
        assert isinstance(name, str)
        name = name.strip()
        problems.label = f"payout scheme {name!r}"
        if good_version:
            problems.label += f" version {version}"
    else:
        problems.add(
            "scheme",
            0,
            "name",
            f"the name must be non-empty text of at most {_MAX_NAME} characters, "
            f"got {shorten(name)}",
        )
    if not good_version:
        problems.add(
            "scheme",
            0,
            "version",
            f"the version must be a whole number from 1 to {_MAX_VERSION}, got {shorten(version)}",
        )
    if not isinstance(description, str):
        problems.add(
            "scheme", 0, "description", f"the description must be text, got {shorten(description)}"
        )
    share = problems.check("scheme", 0, "pm_share", check_decimal, pm_share)
    if share is not None and share < PM_SHARE_FLOOR:
        problems.add(
            "scheme",
            0,
            "pm_share",
            f"the project manager ({Role.PROJECT_MANAGER.name}, "
            f"{Role.PROJECT_MANAGER.label_zh}) share {share} is below the minimum "
            f"{PM_SHARE_FLOOR}",
        )
    elif share is not None and share > 1:
        problems.add(
            "scheme",
            0,
            "pm_share",
            f"the project manager ({Role.PROJECT_MANAGER.name}, "
            f"{Role.PROJECT_MANAGER.label_zh}) share {share} is above 1",
        )
    cap_value = None if cap is None else problems.check("scheme", 0, "cap", _money, cap)
    built = _brackets(problems, rate, brackets)
    role_weights = _weights(problems, weights)
    problems.raise_any()
    assert share is not None
    assert built is not None
    assert role_weights is not None
    numerators, denominator = rate_fraction([b.rate for b in built])
    terms = PoolTerms(
        lowers_fen=tuple(b.lower_fen for b in built),
        uppers_fen=tuple(b.upper_fen for b in built),
        numerators=numerators,
        denominator=denominator,
    )
    return {
        "name": name,
        "version": version,
        "brackets": built,
        "pm_share": share,
        "role_weights": role_weights,
        "cap": cap_value,
        "description": description,
        "terms": terms,
    }


def _brackets(
    problems: Problems, rate: object, brackets: list[RawBracket] | None
) -> tuple[Bracket, ...] | None:
    """The validated brackets (a flat ``rate`` is one open bracket from 0)."""
    if rate is not None and brackets is not None:
        problems.add(
            "scheme", 0, "rate", "give either a flat 'rate' or [[bracket]] tables, not both"
        )
        return None
    if rate is not None:
        flat = problems.check("scheme", 0, "rate", _fraction, rate)
        return None if flat is None else (Bracket(Decimal("0.00"), None, flat),)
    if brackets is None:
        problems.add("scheme", 0, "rate", "no rate: give a flat 'rate' or [[bracket]] tables")
        return None
    if not brackets:
        problems.add("bracket", 0, "", "no brackets: give at least one [[bracket]]")
        return None
    if len(brackets) > MAX_BRACKETS:
        problems.add("bracket", 0, "", f"{len(brackets)} brackets; at most {MAX_BRACKETS}")
        return None
    before = len(problems.found)
    out: list[Bracket] = []
    for raw in brackets:
        if raw is None:
            continue
        number, lower, upper, bracket_rate = raw
        low = problems.check("bracket", number, "lower", _money, lower)
        high = None if upper is None else problems.check("bracket", number, "upper", _money, upper)
        value = problems.check("bracket", number, "rate", _fraction, bracket_rate)
        if low is not None and high is not None and high <= low:
            problems.add("bracket", number, "upper", f"upper {high} is not above lower {low}")
        elif low is not None and value is not None and (upper is None or high is not None):
            out.append(Bracket(low, high, value))
    if len(problems.found) > before or None in brackets:
        return None  # the order of the brackets is checked once each one is good
    for number, (previous, bracket) in enumerate(itertools.pairwise(out), start=2):
        if previous.upper is None:
            problems.add(
                "bracket",
                number - 1,
                "upper",
                "only the last bracket may be open-ended (without 'upper')",
            )
        elif bracket.lower < previous.upper:
            problems.add(
                "bracket",
                number,
                "lower",
                f"[{bracket.lower}, {_upper_text(bracket)}) overlaps bracket #{number - 1} "
                f"[{previous.lower}, {previous.upper}); brackets must be contiguous and "
                "increasing",
            )
        elif bracket.lower > previous.upper:
            problems.add(
                "bracket",
                number,
                "lower",
                f"lower {bracket.lower} leaves a gap after bracket #{number - 1}, which ends "
                f"at {previous.upper}; brackets must be contiguous",
            )
    if out[0].lower != 0:
        problems.add(
            "bracket", 1, "lower", f"the first bracket must start at 0, got {out[0].lower}"
        )
    if out[-1].upper is not None:
        problems.add(
            "bracket",
            len(out),
            "upper",
            "the last bracket must be open-ended (omit 'upper'); to pay nothing beyond "
            f"{out[-1].upper}, add a bracket from there with rate 0",
        )
    return None if len(problems.found) > before else tuple(out)


def raw_bracket(problems: Problems, number: int, item: object) -> RawBracket:
    """One bracket given in Python: a :class:`Bracket` or a ``(lower, upper, rate)`` tuple."""
    if isinstance(item, Bracket):
        return (number, item.lower, item.upper, item.rate)
    if isinstance(item, Sequence) and not isinstance(item, str | bytes) and len(item) == 3:
        return (number, item[0], item[1], item[2])
    problems.add(
        "bracket",
        number,
        "",
        f"a bracket must be a Bracket or a (lower, upper, rate) tuple, got {shorten(item)}",
    )
    return None


def _upper_text(bracket: Bracket) -> str:
    return "..." if bracket.upper is None else str(bracket.upper)


def _weights(
    problems: Problems, weights: list[tuple[str, object, object]] | None
) -> tuple[tuple[Role, Decimal], ...] | None:
    """The four role weights in role order; roles left out weigh 0."""
    if weights is None:
        return tuple((role, Decimal(1)) for role in WEIGHTED_ROLES)
    found: dict[Role, Decimal] = {}
    keys: dict[Role, str] = {}
    before = len(problems.found)
    for key, raw_role, raw_weight in weights:
        try:
            role = raw_role if isinstance(raw_role, Role) else Role.parse(str(raw_role))
        except UnknownLabelError:
            problems.add(
                "weights",
                0,
                key,
                f"unknown role {shorten(key)}; expected one of "
                f"{', '.join(r.name for r in WEIGHTED_ROLES)} (or their Chinese labels)",
            )
            continue
        if role is Role.PROJECT_MANAGER:
            problems.add(
                "weights",
                0,
                key,
                "the project manager has no weight: the project manager's share of the pool "
                "is [scheme] pm_share",
            )
            continue
        if role in keys:
            problems.add(
                "weights",
                0,
                key,
                f"role {role.name} is given twice (also as {shorten(keys[role])})",
            )
            continue
        keys[role] = key
        weight = problems.check("weights", 0, key, check_decimal, raw_weight)
        if weight is not None and weight < 0:
            problems.add("weights", 0, key, f"the weight {weight} of {role.name} is negative")
        elif weight is not None:
            found[role] = weight
    if len(problems.found) > before:
        return None
    if not any(found.values()):
        problems.add(
            "weights", 0, "", "every role weighs 0; give at least one role a positive weight"
        )
        return None
    return tuple((role, found.get(role, Decimal(0))) for role in WEIGHTED_ROLES)


def fields_from_data(data: object, site: Site) -> dict[str, Any]:
    """Read plain data shaped like a scheme file; every problem is reported together."""
    problems = Problems(site)
    if not isinstance(data, Mapping):
        problems.add("", 0, "", f"a payout scheme must be a table, got {shorten(data)}")
        problems.raise_any()
    assert isinstance(data, Mapping)
    for key in sorted(set(data) - set(_TOP_KEYS), key=str):
        problems.add(
            "",
            0,
            str(key),
            f"unknown top-level key {shorten(key)}; expected [scheme], [[bracket]] and [weights]",
        )
    head = data.get("scheme", {})
    if not isinstance(head, Mapping):
        problems.add("scheme", 0, "", "'scheme' must be a table ([scheme])")
        head = {}
    for key in sorted(set(head) - set(_SCHEME_KEYS), key=str):
        problems.add(
            "scheme",
            0,
            str(key),
            f"unknown key {shorten(key)} in [scheme]; expected one of {', '.join(_SCHEME_KEYS)}",
        )
    brackets: list[RawBracket] | None = None
    if "bracket" in data:
        brackets = _raw_brackets(problems, data["bracket"])
    weights: list[tuple[str, object, object]] | None = None
    if "weights" in data:
        raw_weights = data["weights"]
        if isinstance(raw_weights, Mapping):
            weights = [(str(k), k, v) for k, v in raw_weights.items()]
        else:
            problems.add("weights", 0, "", "'weights' must be a table ([weights])")
    return scheme_fields(
        problems,
        name=head.get("name", Path(site.source).stem if site.source else ""),
        version=head.get("version", 1),
        rate=head.get("rate"),
        brackets=brackets,
        pm_share=head.get("pm_share", PM_SHARE_FLOOR),
        weights=weights,
        cap=head.get("cap"),
        description=head.get("description", ""),
    )


def _raw_brackets(problems: Problems, raw: object) -> list[RawBracket]:
    """The ``[[bracket]]`` tables as ``(number, lower, upper, rate)``; bad ones as ``None``."""
    if not isinstance(raw, list):
        problems.add("bracket", 0, "", "'bracket' must be an array of tables ([[bracket]])")
        return [None]
    out: list[RawBracket] = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            problems.add("bracket", number, "", f"a bracket must be a table, got {shorten(item)}")
            out.append(None)
            continue
        unknown = sorted(set(item) - set(_BRACKET_KEYS), key=str)
        for key in unknown:
            problems.add(
                "bracket",
                number,
                str(key),
                f"unknown key {shorten(key)} in [[bracket]]; expected one of "
                f"{', '.join(_BRACKET_KEYS)}",
            )
        missing = [k for k in ("lower", "rate") if k not in item]
        for key in missing:
            problems.add("bracket", number, "", f"missing {key!r}")
        if missing:
            out.append(None)
        else:
            out.append((number, item["lower"], item.get("upper"), item["rate"]))
    return out
