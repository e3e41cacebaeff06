"""The preconfigured ``cattrs`` converter and the four functions around it."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from keyaccount.crosssell import OpportunityTable, RecommendationTable
from keyaccount.domain import NO_CODE, SEGMENTS, TIERS, Period
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.json._codecs import Codecs, JsonPathError, fen_text
from keyaccount.json._documents import LAYOUTS, EvaluationDocument
from keyaccount.operations import (
    AttainmentTable,
    KpiObservation,
    KpiObservations,
    KpiRegistry,
    KpiThresholds,
    Ownership,
    PeriodSpan,
    SubjectKind,
    SupervisionList,
    Targets,
)
from keyaccount.portfolio import METRICS, MetricKind, MetricsTable, SegmentTierSummary
from keyaccount.rules import Evaluation

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CODECS",
    "converter",
    "dumps",
    "from_jsonable",
    "loads",
    "metrics_rows_jsonable",
    "to_jsonable",
]

CODECS = Codecs({layout.cls: layout for layout in LAYOUTS})
"""The codec of every published type (shared with the schemas)."""


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp)


def _structure_hook(tp: Any) -> Callable[[Any, Any], Any]:
    load = CODECS.codec(tp).load

    def structure(data: Any, _: Any) -> Any:
        try:
            return load(data)
        except JsonPathError as exc:
            raise ValidationError(f"{_name(tp)} from JSON at {exc.where}: {exc.message}") from None

    return structure


_RESULTS: dict[type, str] = {
    Evaluation: "keyaccount.json.EvaluationDocument",
    MetricsTable: "list[keyaccount.json.MetricsRow]",
    RecommendationTable: "list[Recommendation]",
    OpportunityTable: "list[Opportunity]",
    SegmentTierSummary: "list[SegmentTierCell]",
    AttainmentTable: "list[AttainmentRow]",
    Targets: "list[Target]",
    Ownership: "list[OwnershipMove]",
    KpiObservations: "list[KpiObservation]",
    KpiThresholds: "list[KpiThreshold]",
    KpiRegistry: "list[KpiDefinition]",
    SupervisionList: "list[SupervisionItem]",
}
"""Results written as the documents of what they show, and what to read those back as."""


def _refuse(tp: Any) -> Callable[..., Any]:
    """A hook for a type with no document: a result not rebuilt, or an unpublished class."""
    if tp in _RESULTS:
        message = (
            f"{_name(tp)} cannot be rebuilt from JSON (it holds what it was computed "
            f"from); read the document as {_RESULTS[tp]}"
        )
        error: type[Exception] = ValidationError
    else:
        message = (
            f"keyaccount.json publishes no document for {_name(tp)}; "
            "keyaccount.json.SCHEMAS lists those it does"
        )
        error = TypeError

    def refuse(*_: Any) -> Any:
        raise error(message)

    return refuse


def metrics_rows_jsonable(table: MetricsTable) -> list[dict[str, Any]]:
    """The rows of ``table`` as ``metrics-row`` documents, built column by column.

    The same documents as ``to_jsonable(MetricsRow.rows(table))``, without making a
    Python object per customer.
    """
    as_of, rollup = str(table.as_of), bool(table.rollup)
    ids = [str(c) for c in table.customer_ids.tolist()]
    tiers = [TIERS[t].name for t in table.tier.tolist()]
    segments = [None if s == NO_CODE else SEGMENTS[s].name for s in table.segment.tolist()]
    columns: dict[str, list[Any]] = {}
    for name, spec in METRICS.items():
        values = table.columns[name].tolist()
        absent = table.absent[name].tolist()
        if spec.kind is MetricKind.MONEY:
            cells: list[Any] = [
                None if a else fen_text(int(v)) for v, a in zip(values, absent, strict=True)
            ]
        elif spec.kind is MetricKind.COUNT:
            cells = [None if a else int(v) for v, a in zip(values, absent, strict=True)]
        else:
            cells = [None if a else float(v) for v, a in zip(values, absent, strict=True)]
        columns[name] = cells
    names = list(METRICS)
    out: list[dict[str, Any]] = []
    for i, cid in enumerate(ids):
        row: dict[str, Any] = {
            "customer_id": cid,
            "as_of": as_of,
            "rollup": rollup,
            "tier": tiers[i],
            "segment": segments[i],
        }
        for name in names:
            row[name] = columns[name][i]
        out.append(row)
    return out


def _kpi_rows(observations: KpiObservations) -> list[KpiObservation]:
    kinds = tuple(SubjectKind)
    return [
        KpiObservation(
            str(sid),
            str(kid),
            Period.from_ordinal(int(p)),
            int(n),
            int(d),
            subject_kind=kinds[int(k)],
        )
        for k, sid, kid, p, n, d in zip(
            observations.subject_kind.tolist(),
            observations.subject_id.tolist(),
            observations.kpi_id.tolist(),
            observations.period.tolist(),
            observations.numerator.tolist(),
            observations.denominator.tolist(),
            strict=True,
        )
    ]


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    # Hooks by predicate: registering an attrs class directly would make cattrs resolve
    # (and so rewrite) the annotations of the library's classes.
    known = frozenset((Period, dt.date, PeriodSpan, Decimal, *(x.cls for x in LAYOUTS)))
    for tp in known:
        CODECS.codec(tp)  # built now, once: writing never changes shared state

    def is_known(tp: Any) -> bool:
        return tp in known

    def is_enum(tp: Any) -> bool:
        return isinstance(tp, type) and issubclass(tp, enum.Enum)

    for test in (is_known, is_enum):
        conv.register_unstructure_hook_factory(test, lambda tp: CODECS.codec(tp).dump)
        conv.register_structure_hook_factory(test, _structure_hook)

    def rows(of: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
        return lambda value: [conv.unstructure(item) for item in of(value)]

    writers: dict[type, Callable[[Any], Any]] = {
        Evaluation: lambda ev: conv.unstructure(EvaluationDocument.from_evaluation(ev)),
        MetricsTable: metrics_rows_jsonable,
        RecommendationTable: rows(lambda t: [r for _, recs in t for r in recs]),
        OpportunityTable: rows(lambda t: t.opportunities),
        SegmentTierSummary: rows(lambda s: s.cells()),
        AttainmentTable: rows(lambda t: t.rows()),
        Targets: rows(lambda t: t.targets),
        Ownership: rows(list),
        KpiObservations: rows(_kpi_rows),
        KpiThresholds: rows(lambda t: t.thresholds),
        KpiRegistry: rows(lambda r: r.definitions),
        SupervisionList: rows(lambda s: s.items),
    }
    assert set(writers) == set(_RESULTS)

    def is_result(tp: Any) -> bool:
        return tp in _RESULTS

    def is_unpublished(tp: Any) -> bool:
        return attrs.has(tp) and tp not in known and tp not in _RESULTS

    conv.register_unstructure_hook_factory(is_result, lambda tp: writers[tp])
    conv.register_structure_hook_factory(is_result, _refuse)
    conv.register_unstructure_hook_factory(is_unpublished, _refuse)
    conv.register_structure_hook_factory(is_unpublished, _refuse)
    return conv


converter: cattrs.Converter = _make_converter()
"""The ``cattrs`` converter of keyaccount's values and results (``docs/json.md``).

``converter.unstructure(value)`` is :func:`to_jsonable`; ``converter.structure(data,
cls)`` reads a document back, raising :class:`~keyaccount.exceptions.ValidationError`.
"""


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values: dict, list, str, int, float, bool and None.

    Fast and free of side effects: it reads ``obj`` and builds new values only. Lists and
    tuples of values become lists. A result held in columns (a metrics table, a
    recommendation table, attainment, KPI observations, ...) becomes a list of its row
    documents; an :class:`~keyaccount.rules.Evaluation` becomes its
    :class:`EvaluationDocument`.

    Raises:
        ValueError: a ratio that is not finite (JSON has no NaN or infinity).
        InvalidMoneyError: money with digits below the fen.

    Example:
        >>> from keyaccount import RevenueRecord
        >>> to_jsonable(RevenueRecord("C1", "court_express", "2022-11", "1234.5", volume=3))
        {'customer_id': 'C1', 'product_id': 'court_express', 'period': '2022-11', \
'revenue': '1234.50', 'volume': 3}
    """
    return converter.unstructure(obj)


def from_jsonable(data: Any, cls: Any) -> Any:
    """Read the document ``data`` (plain JSON values) back as a ``cls``.

    ``cls`` is a published class (``Customer``, ``Transition``, ...), a union of them
    (``TierChange | SegmentChange``), or ``list[...]`` / ``tuple[..., ...]`` of one.
    ``from_jsonable(to_jsonable(x), type(x)) == x``.

    Raises:
        ValidationError: ``data`` does not fit; the message gives the path
            (``$.transitions[3].period``) and what was expected; or ``cls`` is a result
            that cannot be rebuilt (an ``Evaluation``: read an ``EvaluationDocument``).

    Example:
        >>> from keyaccount import Customer
        >>> c = Customer("C1", "某中院", "2022-01", segment="JUDICIAL")
        >>> from_jsonable(to_jsonable(c), Customer) == c
        True
    """
    try:
        load = CODECS.codec(cls).load
    except TypeError:
        return _refuse(cls)()
    try:
        return load(data)
    except JsonPathError as exc:
        raise ValidationError(f"{_name(cls)} from JSON at {exc.where}: {exc.message}") from None


def dumps(obj: Any, **json_kw: Any) -> str:
    """``obj`` as JSON text: :func:`to_jsonable` then :func:`json.dumps`.

    Args:
        obj: The value.
        **json_kw: Passed to :func:`json.dumps` (``indent=2``, ``sort_keys=True``, ...);
            by default non-ASCII text is kept (``ensure_ascii=False``) and NaN refused.

    Example:
        >>> from keyaccount import Period
        >>> dumps({"as_of": Period(2022, 11)})
        '{"as_of": "2022-11"}'
    """
    json_kw.setdefault("ensure_ascii", False)
    json_kw.setdefault("allow_nan", False)
    return json.dumps(to_jsonable(obj), **json_kw)


def loads(text: str | bytes, cls: Any) -> Any:
    """Parse JSON text and read it back as a ``cls`` (:func:`from_jsonable`).

    Raises:
        ValidationError: the text is not JSON, or the document does not fit ``cls``.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not JSON text ({exc}): {shorten(text)}") from None
    return from_jsonable(data, cls)
