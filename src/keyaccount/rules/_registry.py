"""Metrics a condition may name: the built-ins plus metrics registered by users."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.exceptions import PolicyError
from keyaccount.portfolio import METRICS, MetricKind
from keyaccount.rules._ast import ValueType

if TYPE_CHECKING:
    from keyaccount.portfolio import MetricsTable, Portfolio

__all__ = [
    "Column",
    "MetricRegistry",
    "UserMetric",
    "default_registry",
    "kind_type",
    "register_metric",
]

Column: TypeAlias = tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]
"""A metric column: values (``int64`` fen or counts, ``float64`` ratios) and its absent mask."""

ComputeFn: TypeAlias = Callable[["MetricsTable", "Portfolio | None"], Any]

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
RESERVED = frozenset({"and", "or", "not", "true", "false", "share"})
"""Words of the rule language that cannot name a metric."""

_TYPE_OF_KIND = {
    MetricKind.MONEY: ValueType.MONEY,
    MetricKind.COUNT: ValueType.COUNT,
    MetricKind.RATIO: ValueType.RATIO,
}


def kind_type(kind: MetricKind) -> ValueType:
    """The condition type of a metric kind."""
    return _TYPE_OF_KIND[kind]


def _to_kind(value: MetricKind | str) -> MetricKind:
    if isinstance(value, MetricKind):
        return value
    try:
        return MetricKind(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in MetricKind)
        raise PolicyError(f"unknown metric kind {value!r}; expected one of {choices}") from None


def _check_name(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value) or keyword.iskeyword(value):
        raise PolicyError(
            f"metric name {value!r} must be lower snake case such as 'avg_monthly_revenue'"
        )
    if value in RESERVED:
        raise PolicyError(f"metric name {value!r} is a word of the rule language")
    if value in METRICS:
        raise PolicyError(f"metric name {value!r} is a built-in metric")


@attrs.frozen
class UserMetric:
    """A metric defined by a user, usable in conditions like a built-in one.

    Attributes:
        name: Lower snake case, not a built-in metric or a word of the language.
        kind: ``money`` (values in integer fen), ``count`` (integers) or ``ratio``
            (float64).
        compute: ``compute(table, portfolio)`` returns the column for every row of
            the :class:`~keyaccount.portfolio.MetricsTable` ``table``: an array, or
            a pair ``(values, absent_mask)``. ``portfolio`` is the portfolio the
            table was computed from, or ``None`` when only a table is evaluated.
            Ratio values that are NaN count as absent.
        description: One line for people.

    Example:
        >>> import numpy as np
        >>> avg = UserMetric(
        ...     "avg_active_month_revenue", "money",
        ...     lambda t, pf: t.columns["t12m_revenue"]
        ...     // np.maximum(t.columns["active_months"], 1),
        ... )
        >>> avg.kind
        <MetricKind.MONEY: 'money'>
    """

    name: str = attrs.field(validator=_check_name)
    kind: MetricKind = attrs.field(converter=_to_kind)
    compute: ComputeFn = attrs.field(eq=False)
    description: str = ""

    @property
    def type(self) -> ValueType:
        """The condition type of this metric."""
        return kind_type(self.kind)

    def column(self, table: MetricsTable, portfolio: Portfolio | None = None) -> Column:
        """Compute and check this metric's column for ``table``.

        Raises:
            PolicyError: the function returned the wrong length or an array of
                the wrong kind (floats for a money or count metric).
        """
        result = self.compute(table, portfolio)
        if isinstance(result, tuple):
            values, absent = np.asarray(result[0]), np.asarray(result[1], dtype=bool)
        else:
            values, absent = np.asarray(result), np.zeros(len(table), dtype=bool)
        n = len(table)
        if values.shape != (n,) or absent.shape != (n,):
            raise PolicyError(
                f"metric {self.name!r} returned shape {values.shape} (absent mask "
                f"{absent.shape}); expected ({n},), one value per customer"
            )
        if self.kind is MetricKind.RATIO:
            out = values.astype(np.float64)
            absent = absent | np.isnan(out)
            return np.where(absent, np.nan, out), absent
        if not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
            raise PolicyError(
                f"{self.kind.value} metric {self.name!r} returned {values.dtype} values; "
                "money (fen) and counts must be integer arrays"
            )
        return np.where(absent, 0, values.astype(np.int64)), absent.copy()


def _to_metrics(metrics: Iterable[UserMetric]) -> tuple[UserMetric, ...]:
    return tuple(metrics)


@attrs.frozen
class MetricRegistry(Mapping[str, ValueType]):
    """The metrics conditions may name, with their types: built-ins plus user metrics.

    A mapping from metric name to :class:`~keyaccount.rules.ValueType`.

    Example:
        >>> reg = MetricRegistry().with_metric(
        ...     UserMetric("court_months", "count", lambda t, pf: t.columns["active_months"]))
        >>> reg["court_months"], reg["t12m_revenue"]
        (<ValueType.COUNT: 'count'>, <ValueType.MONEY: 'money'>)
    """

    user: tuple[UserMetric, ...] = attrs.field(default=(), converter=_to_metrics)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for m in self.user:
            if m.name in seen:
                raise PolicyError(f"metric {m.name!r} is registered twice")
            seen.add(m.name)

    def __getitem__(self, name: str) -> ValueType:
        spec = METRICS.get(name)
        if spec is not None:
            return kind_type(spec.kind)
        for m in self.user:
            if m.name == name:
                return m.type
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from METRICS
        yield from (m.name for m in self.user)

    def __len__(self) -> int:
        return len(METRICS) + len(self.user)

    def user_metric(self, name: str) -> UserMetric | None:
        """The user metric called ``name``, or ``None`` (for a built-in or unknown name)."""
        return next((m for m in self.user if m.name == name), None)

    def with_metric(self, metric: UserMetric) -> MetricRegistry:
        """A registry that also knows ``metric`` (replacing one of the same name)."""
        return MetricRegistry((*(m for m in self.user if m.name != metric.name), metric))

    def with_metrics(self, metrics: Iterable[UserMetric]) -> MetricRegistry:
        """A registry that also knows every metric of ``metrics``."""
        reg = self
        for m in metrics:
            reg = reg.with_metric(m)
        return reg

    def column(self, name: str, table: MetricsTable, portfolio: Portfolio | None = None) -> Column:
        """The column of metric ``name`` for ``table`` (values and absent mask).

        Raises:
            PolicyError: ``name`` is not a known metric, or a user metric's
                function returned a bad column.
        """
        if name in table.columns:
            return table.columns[name], table.absent[name]
        metric = self.user_metric(name)
        if metric is None:
            raise PolicyError(f"unknown metric {name!r}")
        return metric.column(table, portfolio)


_default = MetricRegistry()


def default_registry() -> MetricRegistry:
    """The registry used when none is given: built-ins and every :func:`register_metric`."""
    return _default


def register_metric(
    name: str, kind: MetricKind | str, compute: ComputeFn, description: str = ""
) -> UserMetric:
    """Register a metric for every policy parsed afterwards without an explicit registry.

    Registering a name again replaces the earlier metric. Libraries should
    prefer an explicit :class:`MetricRegistry`; this is for notebooks.

    Args:
        name: The metric's name in conditions.
        kind: ``"money"``, ``"count"`` or ``"ratio"``.
        compute: ``compute(table, portfolio)``, see :class:`UserMetric`.
        description: One line for people.

    Returns:
        The registered metric.
    """
    global _default
    metric = UserMetric(name, kind, compute, description)
    _default = _default.with_metric(metric)
    return metric
