"""Incentive payout schemes: the reward pool above target, its brackets, cap and split weights.

A scheme is written in Python (:class:`PayoutScheme`) or in a TOML file
(:meth:`PayoutScheme.load`) and validated like a tiering policy (``_scheme_check``). The pool
arithmetic is exact (integer fen and fractions) and rounds once, half-even (CONTRACTS.md,
"Operations").
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from keyaccount.domain import Role, fen_to_yuan, yuan_to_fen
from keyaccount.exceptions import PayoutSchemeError, shorten
from keyaccount.operations._scheme_check import (
    PM_SHARE_FLOOR,
    Bracket,
    PoolTerms,
    Problems,
    RawBracket,
    Site,
    fields_from_data,
    raw_bracket,
    scheme_fields,
)
from keyaccount.utils import toml_key_lines, toml_value
from keyaccount.utils.display import html_table, short_repr

__all__ = [
    "DEFAULT_PAYOUT_FILE",
    "PayoutScheme",
    "default_payout_scheme",
    "default_payout_scheme_text",
]

DEFAULT_PAYOUT_FILE = "default_payout.toml"
"""The name of the shipped payout scheme file inside ``keyaccount.operations``."""

_BOM = "\ufeff"


@attrs.frozen(init=False)
class PayoutScheme:
    """An incentive payout scheme: the reward pool above target and how it is split.

    The pool is ``rate x (attributed - target)`` when positive, else 0; with marginal
    brackets each rate applies to the part of the excess inside its bracket
    ``[lower, upper)`` (yuan above target). The exact pool is rounded to the fen once,
    half-even, then capped at ``cap``. The project manager gets ``pm_share`` of the pool
    (at least :data:`PM_SHARE_FLOOR`); the rest is split in proportion to
    ``role_weight x score x (1.0 full-time | 0.5 part-time)``
    (:func:`~keyaccount.operations.split_pool`).

    Args:
        name: The scheme's name (stored with every payout).
        version: A positive integer; bump it whenever the scheme changes, so that a
            stored payout can be recomputed with the scheme it used.
        rate: A flat rate in [0, 1] on the whole excess (one open-ended bracket from 0).
        brackets: Marginal brackets instead of ``rate``: :class:`Bracket` values or
            ``(lower, upper, rate)`` tuples, yuan above target; contiguous from 0, each
            ``upper`` above its ``lower``, the last open-ended (``upper`` ``None``).
        pm_share: The project manager's share of the pool, in [0.40, 1].
        role_weights: A weight >= 0 per role other than the project manager (names,
            Chinese labels or :class:`~keyaccount.domain.Role`); a role left out weighs
            0. Default: 1 for each of the four roles. Not all zero.
        cap: The largest pool in yuan (whole fen, >= 0), or ``None`` for no cap.
        description: Free text for people.
        source: Where the scheme came from, for error messages.

    Numbers are ``Decimal``, ``int`` or decimal text; floats are refused (a float cannot
    hold 0.1 exactly).

    Raises:
        PayoutSchemeError: one problem; the message names the scheme, the key and the value
            (a project manager's share below 0.40 names the scheme, the role and the share).
        PayoutSchemeValidationError: several problems, all of them.

    Example:
        >>> s = PayoutScheme("courts-2022", 1, brackets=[(0, 1_000_000, "0.10"),
        ...                  (1_000_000, None, "0.15")])
        >>> s.pool(Decimal(12_000_000), Decimal(10_000_000))
        Decimal('250000.00')
        >>> PayoutScheme("mean", 1, rate="0.1", pm_share="0.35")
        Traceback (most recent call last):
        ...
        keyaccount.exceptions.PayoutSchemeError: payout scheme 'mean' version 1, [scheme] \
'pm_share': the project manager (PROJECT_MANAGER, 项目经理) share 0.35 is below the minimum 0.40
    """

    name: str
    version: int
    brackets: tuple[Bracket, ...]
    pm_share: Decimal
    role_weights: tuple[tuple[Role, Decimal], ...]
    cap: Decimal | None
    description: str
    source: str | None = attrs.field(eq=False, repr=False)
    _terms: PoolTerms = attrs.field(init=False, eq=False, repr=False)

    def __init__(
        self,
        name: str,
        version: int = 1,
        *,
        rate: Decimal | int | str | None = None,
        brackets: Iterable[Bracket | Sequence[object]] | None = None,
        pm_share: Decimal | int | str = PM_SHARE_FLOOR,
        role_weights: Mapping[Any, Decimal | int | str]
        | Iterable[tuple[Role | str, Decimal | int | str]]
        | None = None,
        cap: Decimal | int | str | None = None,
        description: str = "",
        source: str | None = None,
    ) -> None:
        problems = Problems(Site(source))
        raw_brackets: list[RawBracket] | None = None
        if brackets is not None:
            given: object = brackets  # a str or a mapping is iterable too: refuse it
            if isinstance(given, str | bytes | Mapping):
                problems.add("bracket", 0, "", "brackets must be a list of brackets")
                raw_brackets = [None]
            else:
                raw_brackets = [raw_bracket(problems, n, b) for n, b in enumerate(brackets, 1)]
        weights: list[tuple[str, object, object]] | None = None
        if role_weights is not None:
            weights = _weight_items(problems, role_weights)
        fields = scheme_fields(
            problems,
            name=name,
            version=version,
            rate=rate,
            brackets=raw_brackets,
            pm_share=pm_share,
            weights=weights,
            cap=cap,
            description=description,
        )
        _init(self, fields, source)

    def __repr__(self) -> str:
        size = f"{len(self.brackets)} brackets, project manager {self.pm_share}"
        return short_repr("PayoutScheme", size, name=self.name, version=self.version)

    def _repr_html_(self) -> str:
        rows = ((b.lower, b.upper, b.rate) for b in self.brackets)
        headings = ("from (yuan above target)", "to", "rate")
        total, caption = len(self.brackets), repr(self)
        return html_table(headings, rows, total=total, caption=caption, unit="brackets", limit=20)

    # ------------------------------------------------------------------ files

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> PayoutScheme:
        """Build a scheme from plain data shaped like a scheme file (see :meth:`from_toml`).

        Raises:
            PayoutSchemeError: one problem.
            PayoutSchemeValidationError: several problems.
        """
        return _built(fields_from_data(data, Site(source)), source)

    @classmethod
    def from_toml(cls, text: str, *, source: str | None = None) -> PayoutScheme:
        """Parse a scheme from TOML text (a leading byte order mark is ignored).

        The file has a ``[scheme]`` table (``name``, ``version``, ``description``,
        ``pm_share``, ``cap`` and either ``rate`` or ``[[bracket]]`` tables with ``lower``,
        ``upper`` and ``rate``) and a ``[weights]`` table (role = weight). Numbers are read
        exactly (``0.10`` is the decimal 0.10, not a float). Messages name the file, the
        line, the table and the key.

        Raises:
            PayoutSchemeError: not valid TOML (with its line and column), or one problem.
            PayoutSchemeValidationError: several problems.
        """
        head = f"{source}: " if source else ""
        try:
            data = tomllib.loads(text.removeprefix(_BOM), parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise PayoutSchemeError(f"{head}not valid TOML: {exc}") from None
        except RecursionError:
            raise PayoutSchemeError(f"{head}not a payout scheme: nested too deeply") from None
        return _built(
            fields_from_data(data, Site(source, toml_key_lines(text.removeprefix(_BOM)))), source
        )

    @classmethod
    def load(cls, path: str | Path) -> PayoutScheme:
        """Read a scheme file (UTF-8); errors name the file and line.

        Raises:
            PayoutSchemeError: the file cannot be read, or see :meth:`from_toml`.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PayoutSchemeError(
                f"cannot read payout scheme file {shorten(str(path))}: {exc}"
            ) from None
        return cls.from_toml(text, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The scheme as plain data, the shape of a scheme file (numbers as ``Decimal``)."""
        head: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.description:
            head["description"] = self.description
        head["pm_share"] = self.pm_share
        if self.cap is not None:
            head["cap"] = self.cap
        data: dict[str, Any] = {"scheme": head}
        if self.is_flat:
            head["rate"] = self.brackets[0].rate
        else:
            data["bracket"] = [
                {"lower": b.lower, "rate": b.rate}
                if b.upper is None
                else {"lower": b.lower, "upper": b.upper, "rate": b.rate}
                for b in self.brackets
            ]
        data["weights"] = {role.name: weight for role, weight in self.role_weights}
        return data

    def to_toml(self) -> str:
        """The scheme as TOML text; :meth:`from_toml` reads it back to an equal scheme."""
        data = self.to_dict()
        lines = ["[scheme]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in data["scheme"].items()]
        for bracket in data.get("bracket", []):
            lines += ["", "[[bracket]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in bracket.items()]
        lines += ["", "[weights]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in data["weights"].items()]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_toml` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_toml(), encoding="utf-8")

    # ------------------------------------------------------------------ rules

    @property
    def is_flat(self) -> bool:
        """Whether the scheme has one rate on the whole excess (one bracket from 0)."""
        return len(self.brackets) == 1

    @property
    def cap_fen(self) -> int | None:
        """:attr:`cap` in fen."""
        return None if self.cap is None else yuan_to_fen(self.cap)

    def weight(self, role: Role | str) -> Decimal:
        """The weight of ``role`` in the split of the rest of the pool.

        Raises:
            PayoutSchemeError: ``role`` is the project manager (whose share is
                :attr:`pm_share`, not a weight).
            UnknownLabelError: not a role.
        """
        parsed = Role.parse(role)
        for known, value in self.role_weights:
            if known is parsed:
                return value
        raise PayoutSchemeError(
            f"payout scheme {self.name!r} version {self.version}: the project manager has no "
            f"weight; the project manager's share is pm_share {self.pm_share}"
        )

    def bracket_at(self, excess: Decimal | int | str) -> Bracket | None:
        """The bracket holding ``excess`` (yuan above target); ``None`` below target.

        Brackets are half-open ``[lower, upper)``: a value exactly on an edge belongs to
        the upper bracket (the one starting there).

        Example:
            >>> s = PayoutScheme("x", brackets=[(0, 1_000_000, "0.1"), (1_000_000, None, "0.15")])
            >>> s.bracket_at(1_000_000).rate, s.bracket_at("999999.99").rate
            (Decimal('0.15'), Decimal('0.1'))
        """
        fen = yuan_to_fen(excess, where="excess above target")
        for bracket, lower, upper in zip(
            self.brackets, self._terms.lowers_fen, self._terms.uppers_fen, strict=True
        ):
            if lower <= fen and (upper is None or fen < upper):
                return bracket
        return None

    def exact_pool_fen(self, excess_fen: int) -> Fraction:
        """The pool in fen, exactly, before rounding and before the cap.

        ``sum(rate_i x (min(excess, upper_i) - lower_i))`` over the brackets the excess
        reaches; 0 when ``excess_fen <= 0``.
        """
        if excess_fen <= 0:
            return Fraction(0)
        total = 0
        terms = self._terms
        for lower, upper, numerator in zip(
            terms.lowers_fen, terms.uppers_fen, terms.numerators, strict=True
        ):
            if excess_fen <= lower:
                break
            top = excess_fen if upper is None else min(excess_fen, upper)
            total += numerator * (top - lower)
        return Fraction(total, terms.denominator)

    def uncapped_pool_fen(self, excess_fen: int) -> int:
        """:meth:`exact_pool_fen` rounded to the fen, half-even (the one rounding)."""
        return round(self.exact_pool_fen(excess_fen))

    def pool_fen(self, excess_fen: int) -> int:
        """The pool in whole fen: the exact pool rounded half-even once, then capped."""
        pool = self.uncapped_pool_fen(excess_fen)
        cap = self.cap_fen
        return pool if cap is None else min(pool, cap)

    def pool(self, attributed: Decimal | int | str, target: Decimal | int | str) -> Decimal:
        """The pool in yuan for ``attributed`` revenue against ``target`` (both yuan).

        Raises:
            InvalidMoneyError: an amount that is not whole fen.
        """
        excess = yuan_to_fen(attributed, where="attributed revenue") - yuan_to_fen(
            target, where="target"
        )
        return fen_to_yuan(self.pool_fen(excess))


def _init(scheme: PayoutScheme, fields: dict[str, Any], source: str | None) -> None:
    """Set the checked ``fields`` and the pool terms derived from them."""
    terms = fields.pop("terms")
    scheme.__attrs_init__(**fields, source=source)
    object.__setattr__(scheme, "_terms", terms)


def _built(fields: dict[str, Any], source: str | None) -> PayoutScheme:
    scheme = PayoutScheme.__new__(PayoutScheme)
    _init(scheme, fields, source)
    return scheme


def _weight_items(problems: Problems, role_weights: object) -> list[tuple[str, object, object]]:
    """``(key as written, role, weight)`` from a mapping or from ``(role, weight)`` pairs."""
    pairs: list[object] = [None]
    if isinstance(role_weights, Mapping):
        pairs = list(role_weights.items())
    elif isinstance(role_weights, Iterable) and not isinstance(role_weights, str | bytes):
        pairs = list(role_weights)
    if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        problems.add(
            "weights",
            0,
            "",
            "role_weights must map roles to weights (a mapping or (role, weight) pairs), "
            f"got {shorten(role_weights)}",
        )
        return []
    checked = [p for p in pairs if isinstance(p, tuple)]
    return [(k.name if isinstance(k, Role) else str(k), k, v) for k, v in checked]


def default_payout_scheme_text() -> str:
    """The TOML text of the shipped payout scheme (a starting point for your own)."""
    return resources.files("keyaccount.operations").joinpath(DEFAULT_PAYOUT_FILE).read_text("utf-8")


def default_payout_scheme() -> PayoutScheme:
    """The shipped payout scheme: 10% of the first million yuan above target, 15% beyond.

    The project manager takes 40% of the pool; the rest goes to the account and support
    managers, every role weighing 1, by score (a part-time member's score counting 50%).
    No cap.

    Example:
        >>> s = default_payout_scheme()
        >>> s.name, s.version, s.pm_share, [str(b.rate) for b in s.brackets]
        ('default', 1, Decimal('0.40'), ['0.10', '0.15'])
    """
    return PayoutScheme.from_toml(default_payout_scheme_text(), source=DEFAULT_PAYOUT_FILE)
