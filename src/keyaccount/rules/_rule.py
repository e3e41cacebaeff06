"""Rules: which customers a rule considers, its condition, and where it moves them.

Also :class:`PolicyRules`, what the evaluators read of a policy (a
:class:`~keyaccount.rules.Policy` is one), so that the evaluators, validation
and backtests depend on rules, not on the policy class that delegates to them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from keyaccount.domain import ProductCatalog, Segment, Tier
from keyaccount.exceptions import PolicyError, UnknownLabelError, shorten
from keyaccount.rules._ast import Expr, ValueType, format_condition
from keyaccount.rules._parser import check_tree, parse_condition
from keyaccount.rules._registry import MetricRegistry, default_registry
from keyaccount.utils.display import short_repr

if TYPE_CHECKING:
    from keyaccount.rules._shapes import ConditionCache

__all__ = ["UNASSIGNED", "PolicyRules", "Rule", "message_prefix"]

UNASSIGNED = "UNASSIGNED"
"""How ``from_segment`` names customers not yet assigned to a segment (also ``未分配``)."""
_UNASSIGNED_WORDS = {"UNASSIGNED", "NONE", "未分配", "无行业"}


def message_prefix(source: str | None, rule: str | None) -> str:
    """``"source: rule 'name': "`` (what is known of the two), the start of an error message."""
    parts = [source] if source else []
    if rule is not None:
        parts.append(f"rule {shorten(rule)}")
    return ": ".join(parts) + ": " if parts else ""


def _unknown(where: str, exc: UnknownLabelError, key: str, extra: str = "") -> PolicyError:
    choices = ", ".join((*exc.choices, extra) if extra else exc.choices)
    return PolicyError(
        f"{where}unknown {exc.kind} {shorten(exc.value)} in '{key}'; expected one of {choices}"
    )


# Tier and segment names already read, by their text (the enums never change); a
# policy names a handful, so the tables stay small.
_MAX_REMEMBERED = 1024


@functools.lru_cache(maxsize=_MAX_REMEMBERED)
def _tier_from_text(text: str) -> Tier:
    return Tier.parse(text)


@functools.lru_cache(maxsize=_MAX_REMEMBERED)
def _segment_from_text(text: str) -> Segment:
    return Segment.parse(text)


def _parse_tier(item: object) -> Tier:
    """``Tier.parse(item)``, remembered for text (a large policy repeats a few spellings)."""
    return _tier_from_text(item) if type(item) is str else Tier.parse(item)  # type: ignore[arg-type]


def _parse_segment(item: object) -> Segment:
    """``Segment.parse(item)``, remembered for text."""
    return _segment_from_text(item) if type(item) is str else Segment.parse(item)  # type: ignore[arg-type]


def _as_list(value: object, key: str, where: str) -> list[Any]:
    if isinstance(value, str | Tier | Segment) or value is None:
        return [value]
    if type(value) is list or (isinstance(value, Iterable) and not isinstance(value, Mapping)):
        items = list(value)
        if not items:
            raise PolicyError(
                f"{where}'{key}' is empty, so the rule matches no customer; omit it to match any"
            )
        return items
    raise PolicyError(f"{where}'{key}' must be a name or a list of names, got {shorten(value)}")


def _tiers(value: object, key: str, where: str) -> tuple[Tier, ...]:
    out: list[Tier] = []
    for item in _as_list(value, key, where):
        try:
            tier = _parse_tier(item)
        except UnknownLabelError as exc:
            raise _unknown(where, exc, key) from None
        if tier not in out:
            out.append(tier)
    return tuple(out)


def _segment(value: object, key: str, where: str, *, allow_unassigned: bool) -> Segment | None:
    if value is None or (isinstance(value, str) and value.strip().upper() in _UNASSIGNED_WORDS):
        if allow_unassigned:
            return None
        raise PolicyError(f"{where}'{key}' must name a segment, got {shorten(value)}")
    try:
        return _parse_segment(value)
    except UnknownLabelError as exc:
        raise _unknown(where, exc, key, UNASSIGNED if allow_unassigned else "") from None


def _segments(value: object, key: str, where: str) -> tuple[Segment | None, ...]:
    out: list[Segment | None] = []
    for item in _as_list(value, key, where):
        seg = _segment(item, key, where, allow_unassigned=True)
        if seg not in out:
            out.append(seg)
    return tuple(out)


@attrs.frozen(init=False)
class Rule:
    """One rule: which customers it considers, its condition, and where it moves them.

    A rule is a *tier rule* (``to``) or a *segment rule* (``to_segment``),
    never both. Tier rules and segment rules form two separate first-match
    chains (see :class:`Policy`).

    Args:
        name: Unique within the policy; cited in transitions and tier history.
        when: The condition, as text (parsed with ``metrics`` and ``catalog``) or
            a typed AST from :func:`~keyaccount.rules.parse_condition`.
        to: Target tier (name or Chinese label) of a tier rule.
        to_segment: Target segment of a segment rule.
        from_tiers: Tiers the rule considers (``None``: any).
        from_segments: Segments the rule considers; ``None`` in the list (or
            ``"UNASSIGNED"``) means customers without a segment; ``None``
            instead of a list means any.
        description: Free text for people.
        metrics: Known metrics (default: :func:`~keyaccount.rules.default_registry`).
        catalog: Products ``share()`` may name (default: the shipped catalogue).
        source: Where the rule came from, for error messages.

    Raises:
        RuleSyntaxError: a bad condition (the message names the rule and position).
        PolicyError: an unknown tier or segment, or neither or both targets.

    Example:
        >>> r = Rule("promote-key", "t12m_revenue >= 1_000_000", to="重点客户",
        ...          from_tiers=["ACTIVE"])
        >>> r.kind, r.to, r.when
        ('tier', <Tier.KEY: 2>, 't12m_revenue >= 1_000_000')
    """

    name: str
    condition: Expr
    to: Tier | None
    to_segment: Segment | None
    from_tiers: tuple[Tier, ...] | None
    from_segments: tuple[Segment | None, ...] | None
    description: str
    when: str = attrs.field(eq=False)

    def __init__(
        self,
        name: str,
        when: str | Expr,
        *,
        to: Tier | str | None = None,
        to_segment: Segment | str | None = None,
        from_tiers: Iterable[Tier | str] | Tier | str | None = None,
        from_segments: Iterable[Segment | str | None] | Segment | str | None = None,
        description: str = "",
        metrics: MetricRegistry | None = None,
        catalog: ProductCatalog | None = None,
        source: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise PolicyError(
                f"{message_prefix(source, None)}a rule needs a name, got {shorten(name)}"
            )
        where = message_prefix(source, name)
        if isinstance(when, str):
            condition = parse_condition(
                when,
                metrics=default_registry() if metrics is None else metrics,
                catalog=catalog,
                rule=name,
                source=source,
            )
            text = when.strip()
        else:
            condition = when
            problem = check_tree(condition)
            if problem is not None:
                raise PolicyError(f"{where}{problem}")
            if condition.type is not ValueType.BOOLEAN:
                raise PolicyError(f"{where}condition must be boolean, got {condition.type.value}")
            text = format_condition(condition)
        self._setup(
            name,
            where,
            condition,
            text,
            to=to,
            to_segment=to_segment,
            from_tiers=from_tiers,
            from_segments=from_segments,
            description=description,
        )

    @classmethod
    def _parsed(
        cls,
        name: str,
        when: str,
        conditions: ConditionCache,
        *,
        to: Tier | str | None,
        to_segment: Segment | str | None,
        from_tiers: Iterable[Tier | str] | Tier | str | None,
        from_segments: Iterable[Segment | str | None] | Segment | str | None,
        description: str,
        source: str | None,
    ) -> Rule:
        """``Rule(name, when, ...)`` with ``when`` parsed by ``conditions`` (a policy file's)."""
        if not isinstance(name, str) or not name.strip():
            raise PolicyError(
                f"{message_prefix(source, None)}a rule needs a name, got {shorten(name)}"
            )
        rule = cls.__new__(cls)
        rule._setup(
            name,
            message_prefix(source, name),
            conditions.parse(when, rule=name, source=source),
            when.strip(),
            to=to,
            to_segment=to_segment,
            from_tiers=from_tiers,
            from_segments=from_segments,
            description=description,
        )
        return rule

    def _setup(
        self,
        name: str,
        where: str,
        condition: Expr,
        text: str,
        *,
        to: Tier | str | None,
        to_segment: Segment | str | None,
        from_tiers: Iterable[Tier | str] | Tier | str | None,
        from_segments: Iterable[Segment | str | None] | Segment | str | None,
        description: str,
    ) -> None:
        """The checks and fields after the condition (shared by ``__init__`` and ``_parsed``)."""
        if (to is None) == (to_segment is None):
            raise PolicyError(
                f"{where}a rule needs exactly one of 'to' (a tier) and 'to_segment' (a segment)"
            )
        target: Tier | None = None
        if to is not None:
            try:
                target = _parse_tier(to)
            except UnknownLabelError as exc:
                raise _unknown(where, exc, "to") from None
        seg_target = (
            None
            if to_segment is None
            else _segment(to_segment, "to_segment", where, allow_unassigned=False)
        )
        self.__attrs_init__(
            name.strip(),
            condition,
            target,
            seg_target,
            None if from_tiers is None else _tiers(from_tiers, "from", where),
            None if from_segments is None else _segments(from_segments, "from_segment", where),
            str(description),
            text,
        )

    @property
    def kind(self) -> Literal["tier", "segment"]:
        """``"tier"`` for a rule with ``to``, ``"segment"`` for one with ``to_segment``."""
        return "tier" if self.to is not None else "segment"

    def __repr__(self) -> str:
        to = self.to if self.to is not None else self.to_segment
        return short_repr("Rule", f"when {shorten(self.when, 200)}", name=self.name, to=to)

    def matches(self, tier: Tier, segment: Segment | None) -> bool:
        """Whether a customer with ``tier`` and ``segment`` passes the ``from`` filters."""
        return (self.from_tiers is None or tier in self.from_tiers) and (
            self.from_segments is None or segment in self.from_segments
        )

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data, the shape of a ``[[rule]]`` table in a policy file."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.from_tiers is not None:
            out["from"] = [t.name for t in self.from_tiers]
        if self.from_segments is not None:
            out["from_segment"] = [UNASSIGNED if s is None else s.name for s in self.from_segments]
        if self.to is not None:
            out["to"] = self.to.name
        if self.to_segment is not None:
            out["to_segment"] = self.to_segment.name
        out["when"] = self.when
        return out


def rule_cells(rule: Rule) -> tuple[object, ...]:
    """One rule as a row of a table (name, kind, from, to, when), for display."""
    froms = rule.from_tiers if rule.kind == "tier" else rule.from_segments
    shown = "any" if froms is None else " ".join(f.name if f else "UNASSIGNED" for f in froms)
    to = rule.to if rule.to is not None else rule.to_segment
    return (rule.name, rule.kind, shown, to, rule.when)


class PolicyRules(Protocol):
    """What the evaluators, validation and backtests read of a policy.

    :class:`~keyaccount.rules.Policy` is one; the functions that take a policy
    (:func:`~keyaccount.rules.evaluate`, :func:`~keyaccount.rules.validate`,
    :func:`~keyaccount.rules.backtest`, ...) need no more than this.
    """

    @property
    def name(self) -> str:
        """The policy's name."""
        ...

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in order."""
        ...

    @property
    def tier_rules(self) -> tuple[Rule, ...]:
        """The tier rules (with ``to``), in order: the tier chain."""
        ...

    @property
    def segment_rules(self) -> tuple[Rule, ...]:
        """The segment rules (with ``to_segment``), in order: the segment chain."""
        ...

    @property
    def min_months_in_tier(self) -> int:
        """No demotion sooner than this many months after the last tier change."""
        ...

    @property
    def metrics(self) -> MetricRegistry:
        """The metrics the rules may name, user metrics included (the evaluators compute them)."""
        ...
