"""Policies: a named, ordered list of rules; building them, loading them from TOML and saving them.

A :class:`Policy` is a value. Evaluating, validating and backtesting it are
functions (:func:`~keyaccount.rules.evaluate`, :func:`~keyaccount.rules.validate`,
:func:`~keyaccount.rules.backtest`) that take any :class:`PolicyRules`; the
methods of the same names delegate to them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from keyaccount.domain import Period, ProductCatalog, Tier, default_catalog
from keyaccount.exceptions import (
    PolicyError,
    PolicyValidationError,
    RuleSyntaxError,
    shorten,
)
from keyaccount.rules._ast import Expr, MetricRef, ValueType, children
from keyaccount.rules._backtest import Backtest, backtest
from keyaccount.rules._evaluate import Engine, evaluate
from keyaccount.rules._registry import MetricRegistry, default_registry
from keyaccount.rules._rule import Rule, message_prefix, rule_cells
from keyaccount.rules._shapes import ConditionCache
from keyaccount.rules._validate import Finding, validate
from keyaccount.utils import paused_gc, toml_value
from keyaccount.utils.display import html_table, short_repr

if TYPE_CHECKING:
    from keyaccount.portfolio import MetricsTable, Portfolio
    from keyaccount.rules._evaluation import Evaluation

__all__ = ["MAX_DATA_DEPTH", "MAX_MIN_MONTHS_IN_TIER", "Policy"]


_POLICY_KEYS = ("name", "description", "min_months_in_tier")
_RULE_KEYS = ("name", "description", "from", "from_segment", "to", "to_segment", "when")
_RULE_KEY_SET = frozenset(_RULE_KEYS)

MAX_MIN_MONTHS_IN_TIER = 1200
"""The largest ``min_months_in_tier`` (100 years; the policy holds demotions that long)."""

MAX_DATA_DEPTH = 16
"""The deepest nesting of tables and arrays in a policy file (a valid one needs 4)."""

_BOM = "\ufeff"


@attrs.frozen(init=False)
class Policy:
    """A named, ordered list of rules, evaluated every month.

    Semantics (``docs/rules.md`` states them in full): tier rules and
    segment rules are two separate first-match chains, each tried in order;
    the first rule whose ``from`` filters match the customer's current tier
    and segment and whose condition is *true* (SQL three-valued logic: a
    comparison with an absent value is unknown) decides. A decision whose
    target is the current value is a stay (no transition). A tier demotion is
    held, and reported as held, while ``months_in_tier < min_months_in_tier``.

    Args:
        name: The policy's name.
        rules: The rules in order.
        min_months_in_tier: Hysteresis: no demotion sooner than this many months
            after the customer's last tier change.
        description: Free text.
        metrics: The metrics the rules may name, including user metrics the
            evaluators compute (default: :func:`~keyaccount.rules.default_registry`).
        catalog: Products ``share()`` may name (default: the shipped catalogue).
        source: Where the policy came from (a file name), for messages.

    Raises:
        PolicyError: duplicate rule names or a bad ``min_months_in_tier``.

    Example:
        >>> p = Policy("tiering", [Rule("promote", "active_months >= 10", to="KEY")])
        >>> [r.name for r in p.tier_rules]
        ['promote']
    """

    name: str
    rules: tuple[Rule, ...]
    min_months_in_tier: int
    description: str
    metrics: MetricRegistry = attrs.field(eq=False, repr=False)
    catalog: ProductCatalog = attrs.field(eq=False, repr=False)
    source: str | None = attrs.field(eq=False, repr=False)

    def __init__(
        self,
        name: str,
        rules: Iterable[Rule] = (),
        *,
        min_months_in_tier: int = 0,
        description: str = "",
        metrics: MetricRegistry | None = None,
        catalog: ProductCatalog | None = None,
        source: str | None = None,
    ) -> None:
        where = message_prefix(source, None)
        if not isinstance(name, str) or not name.strip():
            raise PolicyError(f"{where}a policy needs a name, got {shorten(name)}")
        if (
            not isinstance(min_months_in_tier, int)
            or isinstance(min_months_in_tier, bool)
            or not 0 <= min_months_in_tier <= MAX_MIN_MONTHS_IN_TIER
        ):
            raise PolicyError(
                f"{where}min_months_in_tier must be a whole number of months from 0 to "
                f"{MAX_MIN_MONTHS_IN_TIER}, got {shorten(min_months_in_tier)}"
            )
        rules = tuple(rules)
        registry = default_registry() if metrics is None else metrics
        seen: set[str] = set()
        checked: set[int] = set()  # conditions (by id) whose metrics the registry knows
        known: dict[str, ValueType | None] = {}  # the registry's answers so far
        for rule in rules:
            if not isinstance(rule, Rule):
                raise PolicyError(f"{where}not a Rule: {shorten(rule)}")
            if rule.name in seen:
                raise PolicyError(f"{where}rule name {shorten(rule.name)} is used twice")
            seen.add(rule.name)
            if id(rule.condition) in checked:
                continue
            for ref in _metric_refs(rule.condition):
                if ref.name not in known:
                    known[ref.name] = registry.get(ref.name)
                if known[ref.name] is not ref.type:
                    raise PolicyError(
                        f"{where}rule {shorten(rule.name)} uses the metric {ref.name!r}, which the "
                        "policy's metrics do not know (pass metrics= with its registry)"
                    )
            checked.add(id(rule.condition))
        self.__attrs_init__(
            name.strip(),
            rules,
            min_months_in_tier,
            str(description),
            registry,
            default_catalog() if catalog is None else catalog,
            source,
        )

    def __repr__(self) -> str:
        rules = f"{len(self.tier_rules)} tier rules, {len(self.segment_rules)} segment rules"
        months = self.min_months_in_tier
        return short_repr("Policy", rules, name=self.name, min_months_in_tier=months)

    def _repr_html_(self) -> str:
        rows = (rule_cells(r) for r in self.rules)
        headings = ("rule", "kind", "from", "to", "when")
        total = len(self.rules)
        return html_table(headings, rows, total=total, caption=repr(self), unit="rules", limit=20)

    @property
    def tier_rules(self) -> tuple[Rule, ...]:
        """The tier rules (with ``to``), in order: the tier chain."""
        return tuple(r for r in self.rules if r.kind == "tier")

    @property
    def segment_rules(self) -> tuple[Rule, ...]:
        """The segment rules (with ``to_segment``), in order: the segment chain."""
        return tuple(r for r in self.rules if r.kind == "segment")

    def rule(self, name: str) -> Rule:
        """The rule called ``name``.

        Raises:
            PolicyError: no such rule.
        """
        for r in self.rules:
            if r.name == name:
                return r
        where = message_prefix(self.source, None)
        raise PolicyError(f"{where}policy {shorten(self.name)} has no rule {shorten(name)}")

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self,
        data: Portfolio | MetricsTable,
        as_of: Period | str | None = None,
        *,
        engine: Engine = "columnar",
        rollup: bool = False,
    ) -> Evaluation:
        """Evaluate the policy as of a month.

        ``evaluate(self, data, as_of, engine=engine, rollup=rollup)``: see
        :func:`~keyaccount.rules.evaluate` for the arguments and errors.
        """
        return evaluate(self, data, as_of, engine=engine, rollup=rollup)

    def validate(self) -> list[Finding]:
        """Findings about the policy: unreachable tiers, shadowed rules, flip-flops.

        See :func:`~keyaccount.rules.validate`.
        """
        return validate(self)

    def backtest(
        self,
        portfolio: Portfolio,
        start: Period | str,
        end: Period | str,
        *,
        initial_tier: Tier | str | None = None,
    ) -> Backtest:
        """Run the policy month by month; see :func:`~keyaccount.rules.backtest`."""
        return backtest(self, portfolio, start, end, initial_tier=initial_tier)

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data, the shape of a policy file."""
        head: dict[str, Any] = {"name": self.name}
        if self.description:
            head["description"] = self.description
        head["min_months_in_tier"] = self.min_months_in_tier
        return {"policy": head, "rule": [r.to_dict() for r in self.rules]}

    def to_toml(self) -> str:
        """The policy as TOML text; :meth:`from_toml` reads it back to an equal policy."""
        lines = ["[policy]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in self.to_dict()["policy"].items()]
        for rule in self.rules:
            lines += ["", "[[rule]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in rule.to_dict().items()]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_toml` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_toml(), encoding="utf-8")

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None = None,
        metrics: MetricRegistry | None = None,
        catalog: ProductCatalog | None = None,
    ) -> Policy:
        """Build a policy from plain data shaped like a policy file.

        Every rule is checked; all problems are raised together.

        Raises:
            RuleSyntaxError, PolicyError: one problem (a ``PolicyError`` too when
                tables and arrays nest deeper than :data:`MAX_DATA_DEPTH`).
            PolicyValidationError: several problems, each one of the above.
        """
        with paused_gc():
            return cls._from_dict(data, source=source, metrics=metrics, catalog=catalog)

    @classmethod
    def _from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None,
        metrics: MetricRegistry | None,
        catalog: ProductCatalog | None,
    ) -> Policy:
        where = message_prefix(source, None)
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}a policy must be a table, got {shorten(data)}")
        _check_depth(data, where)
        problems: list[Exception] = []
        unknown = sorted(set(data) - {"policy", "rule"})
        if unknown:
            problems.append(
                PolicyError(
                    f"{where}unknown top-level key {shorten(unknown[0])}; "
                    "expected [policy] and [[rule]] tables"
                )
            )
        head = data.get("policy", {})
        if not isinstance(head, Mapping):
            raise PolicyError(f"{where}'policy' must be a table")
        for key in sorted(set(head) - set(_POLICY_KEYS)):
            problems.append(
                PolicyError(
                    f"{where}unknown key {shorten(key)} in [policy]; expected one of "
                    f"{', '.join(_POLICY_KEYS)}"
                )
            )
        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list):
            raise PolicyError(f"{where}'rule' must be an array of tables ([[rule]])")
        rules: list[Rule] = []
        catalog = default_catalog() if catalog is None else catalog  # once, not per rule
        conditions = ConditionCache(default_registry() if metrics is None else metrics, catalog)
        for number, raw in enumerate(raw_rules, start=1):
            try:
                rules.append(_rule_from_dict(raw, number, source, conditions))
            except (RuleSyntaxError, PolicyError) as exc:
                problems.append(exc)
        default_name = Path(source).stem if source else "policy"
        policy: Policy | None = None
        try:
            policy = cls(
                head.get("name", default_name),
                rules,
                min_months_in_tier=head.get("min_months_in_tier", 0),
                description=head.get("description", ""),
                metrics=metrics,
                catalog=catalog,
                source=source,
            )
        except PolicyError as exc:
            problems.append(exc)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise PolicyValidationError(f"{where}{len(problems)} problems in policy", problems)
        assert policy is not None
        return policy

    @classmethod
    def from_toml(
        cls,
        text: str,
        *,
        source: str | None = None,
        metrics: MetricRegistry | None = None,
        catalog: ProductCatalog | None = None,
    ) -> Policy:
        """Parse a policy from TOML text (see ``examples/policy.toml``).

        A leading byte order mark (U+FEFF) is ignored.

        Raises:
            PolicyError: the text is not valid TOML, nests tables and arrays
                deeper than :data:`MAX_DATA_DEPTH`, or a policy-level problem.
            RuleSyntaxError: a bad condition.
            PolicyValidationError: several problems at once.
        """
        where = message_prefix(source, None)
        try:
            with paused_gc():
                data = tomllib.loads(text.removeprefix(_BOM))
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{where}not valid TOML: {exc}") from None
        except RecursionError:
            raise PolicyError(
                f"{where}not a policy: tables and arrays nest deeper than {MAX_DATA_DEPTH} levels"
            ) from None
        return cls.from_dict(data, source=source, metrics=metrics, catalog=catalog)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        metrics: MetricRegistry | None = None,
        catalog: ProductCatalog | None = None,
    ) -> Policy:
        """Read a policy file (UTF-8, with or without a byte order mark); errors name the file.

        Raises:
            PolicyError: the file cannot be read, or see :meth:`from_toml`.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {shorten(str(path))}: {exc}") from None
        return cls.from_toml(text, source=str(path), metrics=metrics, catalog=catalog)


def _metric_refs(condition: Expr) -> Iterator[MetricRef]:
    """The metric references of ``condition`` in text order (:func:`references`, metrics only)."""
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, MetricRef):
            yield node
        else:
            stack += reversed(children(node))


def _rule_from_dict(
    raw: object,
    number: int,
    source: str | None,
    conditions: ConditionCache,
) -> Rule:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{message_prefix(source, None)}rule #{number} must be a table")
    name = raw.get("name")
    numbered = f"#{number}"
    label = name if isinstance(name, str) and name.strip() else numbered

    def rwhere() -> str:  # only for a message: most rules need none
        where = message_prefix(source, None)
        return f"{where}rule {shorten(label)}: " if label != numbered else f"{where}rule {label}: "

    unknown = raw.keys() - _RULE_KEY_SET
    if unknown:
        raise PolicyError(
            f"{rwhere()}unknown key {shorten(sorted(unknown)[0])}; expected one of "
            f"{', '.join(_RULE_KEYS)}"
        )
    if label == numbered:
        raise PolicyError(f"{rwhere()}missing 'name'")
    if "when" not in raw:
        raise PolicyError(f"{rwhere()}missing 'when' (the condition)")
    when = raw["when"]
    if not isinstance(when, str):
        raise PolicyError(f"{rwhere()}'when' must be text, got {shorten(when)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise PolicyError(f"{rwhere()}'description' must be text")
    return Rule._parsed(
        str(name),
        when,
        conditions,
        to=raw.get("to"),
        to_segment=raw.get("to_segment"),
        from_tiers=raw.get("from"),
        from_segments=raw.get("from_segment"),
        description=description,
        source=source,
    )


def _check_depth(data: Mapping[str, Any], where: str) -> None:
    """Refuse tables and arrays nested deeper than :data:`MAX_DATA_DEPTH` (without recursion).

    The data itself is level 1; each value inside a table or array is one level
    deeper than it, a plain value too.
    """
    stack: list[tuple[Mapping[str, Any] | list[Any] | tuple[Any, ...], int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        values = value.values() if isinstance(value, Mapping) else value
        if depth >= MAX_DATA_DEPTH and (depth > MAX_DATA_DEPTH or values):
            raise PolicyError(
                f"{where}not a policy: tables and arrays nest deeper than {MAX_DATA_DEPTH} levels"
            )
        for v in values:
            if type(v) is not str and isinstance(v, Mapping | list | tuple):
                stack.append((v, depth + 1))
