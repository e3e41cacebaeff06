"""keyaccount.json: the converter's round trips, its JSON conventions and its errors."""

from __future__ import annotations

import doctest
import importlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Period, RevenueRecord, Tier
from keyaccount.crosssell import Opportunity, RecommendationTable, recommend_all, whitespace
from keyaccount.demo import demo_operations, generate
from keyaccount.domain import SegmentChange, TierChange
from keyaccount.exceptions import InvalidMoneyError, ValidationError
from keyaccount.json import (
    SCHEMAS,
    EvaluationDocument,
    MetricsRow,
    converter,
    dumps,
    from_jsonable,
    loads,
    metrics_rows_jsonable,
    to_jsonable,
)
from keyaccount.operations import AttainmentRow, PayoutRun, PeriodSpan, SupervisionList, Targets
from keyaccount.portfolio import METRICS, MetricsTable, Portfolio
from keyaccount.rules import Evaluation, Transition, default_policy
from tests.strategies import documents, explanations

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"

CLASSES = sorted(
    ((name, cls) for name, cls in SCHEMAS.items() if isinstance(cls, type)),
    key=lambda item: item[0],
)
"""Every published class, by schema name (``change`` is the union of two of them)."""


def plain_only(value: Any) -> bool:
    """Whether ``value`` is made of dict (str keys), list, str, int, float, bool and None only."""
    if isinstance(value, dict):
        return all(type(k) is str and plain_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_only(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def same(a: Any, b: Any) -> bool:
    """Equality, with the numpy columns of an ``Opportunity`` compared by value."""
    if isinstance(a, Opportunity) and isinstance(b, Opportunity):
        return (
            (a.group, a.product_id, a.customers, a.buyers)
            == (b.group, b.product_id, b.customers, b.buyers)
            and a.candidate_ids.tolist() == b.candidate_ids.tolist()
            and np.array_equal(a.estimates_fen, b.estimates_fen)
            and a.estimates_fen.dtype == b.estimates_fen.dtype
            and np.array_equal(a.basis, b.basis)
        )
    return bool(a == b)


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[n for n, _ in CLASSES])
@given(data=st.data())
def test_every_published_class_round_trips_exactly(name: str, cls: type, data: Any) -> None:
    """from_jsonable(to_jsonable(x), type(x)) == x, through JSON text too, plain types only."""
    value = data.draw(documents(cls))
    doc = to_jsonable(value)
    assert plain_only(doc), doc
    assert same(from_jsonable(doc, cls), value)
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)  # no default= needed
    assert same(loads(text, cls), value)
    assert same(converter.structure(converter.unstructure(value), cls), value)


@given(change=documents(TierChange) | documents(SegmentChange))
def test_a_change_is_read_back_as_its_kind(change: TierChange | SegmentChange) -> None:
    """The union TierChange | SegmentChange reads each document back as the kind it names."""
    doc = to_jsonable(change)
    assert doc["kind"] == ("tier" if isinstance(change, TierChange) else "segment")
    assert from_jsonable(doc, TierChange | SegmentChange) == change


@given(values=st.lists(documents(Customer), max_size=4))
def test_lists_round_trip(values: list[Customer]) -> None:
    """A list of values is a JSON array, read back with list[...] or tuple[..., ...]."""
    doc = to_jsonable(values)
    assert isinstance(doc, list)
    assert from_jsonable(doc, list[Customer]) == values
    assert from_jsonable(doc, tuple[Customer, ...]) == tuple(values)


@given(why=explanations())
def test_explanation_values_keep_their_kind(why: tuple[tuple[str, Any], ...]) -> None:
    """Cited money, counts, ratios, text and absent values come back as the same types."""
    t = Transition("C1", "tier", Tier.ACTIVE, Tier.KEY, "r", Period(2022, 11), why)
    back = from_jsonable(to_jsonable(t), Transition)
    assert back == t
    assert [type(v) for _, v in back.explanation] == [type(v) for _, v in why]


# -------------------------------------------------------------------- conventions


def test_conventions_of_a_revenue_record() -> None:
    """Money is yuan text with two decimals, periods YYYY-MM, names as the attributes."""
    record = RevenueRecord("C1", "court_express", "2022-03", "-1234.5", volume=7)
    assert to_jsonable(record) == {
        "customer_id": "C1",
        "product_id": "court_express",
        "period": "2022-03",
        "revenue": "-1234.50",
        "volume": 7,
    }


def test_enums_by_name_and_absent_values_as_null() -> None:
    """Tiers and segments are written by name; unset values are null, never left out."""
    doc = to_jsonable(Customer("C1", "法院", "2022-01", segment="司法", tier="战略客户"))
    assert doc["tier"] == "STRATEGIC"
    assert doc["segment"] == "JUDICIAL"
    assert doc["sub_segment"] is None
    assert "tier_since" in doc
    assert doc["tier_since"] is None


def test_money_below_the_fen_is_refused_when_written() -> None:
    """A Decimal with digits below the fen cannot be written as money."""
    cent, nothing = Decimal("1.005"), (None, None, None)
    row = AttainmentRow("courts", None, PeriodSpan.year(2022), cent, *nothing, cent, *nothing)
    with pytest.raises(InvalidMoneyError, match="below the fen"):
        to_jsonable(row)


def test_a_ratio_that_is_not_finite_is_refused() -> None:
    """NaN and infinity have no JSON form: writing one fails instead of writing bad JSON."""
    t = Transition("C1", "tier", Tier.ACTIVE, Tier.KEY, "r", Period(2022, 11), (("x", np.inf),))
    with pytest.raises(ValueError, match="finite"):
        to_jsonable(t)


def test_dumps_keeps_chinese_text_and_passes_options() -> None:
    """The dumps function keeps non-ASCII text and passes json.dumps options on."""
    customer = Customer("C1", "中国人寿保险", "2022-01")
    assert "中国人寿保险" in dumps(customer)
    assert dumps(customer, indent=2).startswith('{\n  "id": "C1"')
    assert "\\u4e2d" in dumps(customer, ensure_ascii=True)


def test_metrics_row_holds_every_metric() -> None:
    """MetricsRow has a field for every built-in metric, in the table's order."""
    names = [s.name for s in SCHEMAS["metrics-row"].__attrs_attrs__]
    assert names[5:] == list(METRICS)


# ------------------------------------------------------------------------ errors


def _record_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(RevenueRecord("C1", "court_express", "2022-03", "10.00"))
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"revenue": 10.0}, r"\$\.revenue: expected money"),
        ({"revenue": "10.5"}, r"\$\.revenue: expected money"),
        ({"revenue": "10.001"}, r"\$\.revenue"),
        ({"period": "2022-13"}, r"\$\.period: expected a month"),
        ({"period": "2022/03"}, r"\$\.period"),
        ({"volume": "7"}, r"\$\.volume: expected an integer"),
        ({"volume": True}, r"\$\.volume"),
        ({"volume": -1}, r"volume must be a whole number"),
        ({"extra": 1}, r"unknown 'extra'"),
    ],
)
def test_a_bad_document_names_the_path(changes: dict[str, Any], where: str) -> None:
    """A document that does not fit raises ValidationError naming where and what."""
    with pytest.raises(ValidationError, match=where):
        from_jsonable(_record_doc(**changes), RevenueRecord)


def test_a_missing_property_is_named() -> None:
    """Every property is required: a missing one is named, with the class."""
    doc = _record_doc()
    del doc["volume"]
    with pytest.raises(ValidationError, match="RevenueRecord: missing volume"):
        from_jsonable(doc, RevenueRecord)


def test_a_nested_path_is_given() -> None:
    """A bad value deep inside a document is reported with its whole path."""
    t = Transition("C1", "tier", Tier.ACTIVE, Tier.KEY, "r", Period(2022, 11), (("n", 3),))
    doc: dict[str, Any] = {"policy": "p", "as_of": "2022-11", "held": []}
    doc["transitions"] = [to_jsonable(t)]
    doc["counts"] = {
        "customers": 1,
        "tier_moves": 1,
        "segment_moves": 0,
        "held": 0,
        "stays": 0,
        "by_rule": {"r": 1},
        "moves": [{"before": "ACTIVE", "after": "KEY", "count": 1}],
    }
    assert from_jsonable(doc, EvaluationDocument).transitions == (t,)
    doc["transitions"][0]["explanation"][0]["value"] = "3"
    with pytest.raises(ValidationError, match=r"\$\.transitions\[0\]\.explanation\[0\]\.value"):
        from_jsonable(doc, EvaluationDocument)
    doc["transitions"][0]["before"] = "GOLD"
    with pytest.raises(
        ValidationError, match=r"transitions\[0\]\.before: expected a Segment or Tier name"
    ):
        from_jsonable(doc, EvaluationDocument)


def test_not_json_text_is_a_validation_error() -> None:
    """The loads function refuses text that is not JSON with ValidationError."""
    with pytest.raises(ValidationError, match="not JSON"):
        loads("{'id': 1}", Customer)


@pytest.mark.parametrize("cls", [Evaluation, MetricsTable, RecommendationTable, Targets])
def test_results_bound_to_their_inputs_are_not_rebuilt(cls: type) -> None:
    """An Evaluation, a table or Targets is written as documents but not read back as one."""
    with pytest.raises(ValidationError, match="cannot be rebuilt"):
        from_jsonable({}, cls)


# ---------------------------------------------------------- real results (demo)


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """A small demo portfolio."""
    return generate(seed=3, customers=250, months=30)


def test_metrics_table_rows_in_bulk_equal_the_row_documents(demo: Portfolio) -> None:
    """The column-wise rows of a metrics table equal MetricsRow documents, and read back."""
    for rollup in (False, True):
        table = demo.metrics("2022-11", rollup=rollup)
        bulk = to_jsonable(table)
        assert bulk == metrics_rows_jsonable(table)
        rows = MetricsRow.rows(table)
        assert bulk == to_jsonable(list(rows))
        assert from_jsonable(bulk, list[MetricsRow]) == list(rows)
        assert {r["rollup"] for r in bulk} == {rollup}


def test_an_evaluation_is_written_as_its_document(demo: Portfolio) -> None:
    """to_jsonable(evaluation) is the EvaluationDocument, which round trips."""
    evaluation = default_policy().evaluate(demo, "2022-11")
    doc = to_jsonable(evaluation)
    expected = EvaluationDocument.from_evaluation(evaluation)
    assert doc == to_jsonable(expected)
    assert doc["policy"] == evaluation.policy.name
    assert len(doc["transitions"]) == len(evaluation.transitions) > 0
    assert from_jsonable(doc, EvaluationDocument) == expected
    changes = evaluation.changes()
    assert from_jsonable(to_jsonable(changes), list[TierChange | SegmentChange]) == changes


def test_recommendations_and_whitespace_round_trip(demo: Portfolio) -> None:
    """Recommendation tables are written as their recommendations; whitespace cells too."""
    from keyaccount.crosssell import Recommendation

    table = recommend_all(demo, 2, as_of="2022-11")
    docs = to_jsonable(table)
    recs = [r for _, rs in table for r in rs]
    assert len(docs) == len(recs) > 0
    assert from_jsonable(docs, list[Recommendation]) == recs
    cells = whitespace(demo, "2022-11")
    back = from_jsonable(to_jsonable(cells), list[Opportunity])
    assert len(back) == len(cells) > 0
    assert all(same(a, b) for a, b in zip(back, cells, strict=True))


def test_demo_operations_round_trip(demo: Portfolio) -> None:
    """The demo's targets, moves, scores, supervision list, payouts and attainment round trip."""
    data = demo_operations(demo)
    values: list[Any] = [
        *data.targets.targets,
        *data.ownership,
        *data.scores,
        *data.supervision_items,
        *data.supervision_history,
        *data.dispatch_orders,
        *data.lifecycles,
        *data.kpi_thresholds.thresholds,
        data.escalation_policy,
        *data.attainment(demo, "2022").rows(),
    ]
    run = data.payouts(demo, "2022")
    values += [run, *run.rows()]
    for value in values:
        assert from_jsonable(to_jsonable(value), type(value)) == value, value
    assert isinstance(run, PayoutRun)
    assert to_jsonable(data.targets) == [to_jsonable(t) for t in data.targets.targets]
    supervision: SupervisionList = data.supervision_list(demo)
    result = supervision.sweep(data.as_of, who="sweeper")
    assert from_jsonable(to_jsonable(result), type(result)) == result


# --------------------------------------------------------------------- the page


def _pycon_blocks() -> list[str]:
    return re.findall(r"```pycon\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_json_doc_examples_print_what_they_show() -> None:
    """The examples of docs/json.md run, in order, and print what the page shows."""
    blocks = _pycon_blocks()
    assert len(blocks) >= 6
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    test = parser.get_doctest("\n".join(blocks), {}, "docs/json.md", str(DOC), 0)
    runner.run(test)
    assert runner.tries == len(test.examples) > 20
    assert runner.failures == 0


def test_json_doc_names_every_schema() -> None:
    """docs/json.md lists every schema name."""
    text = DOC.read_text(encoding="utf-8")
    for name in SCHEMAS:
        assert f"`{name}`" in text, name


@pytest.mark.parametrize(
    "module", ["keyaccount.json", "keyaccount.json._converter", "keyaccount.json._schema"]
)
def test_docstring_examples(module: str) -> None:
    """The docstring examples of keyaccount.json run and print what they show."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_json_doc_python_blocks_run() -> None:
    """The Python blocks of docs/json.md (validation with jsonschema) run."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})


def test_a_class_with_no_document_is_refused() -> None:
    """An attrs class keyaccount.json does not publish is refused both ways, not guessed."""
    from keyaccount.rules import Backtest

    with pytest.raises(TypeError, match="publishes no document for Backtest"):
        from_jsonable({}, Backtest)
    with pytest.raises(TypeError, match="publishes no document for PeriodRange"):
        to_jsonable(Period.range("2022-01", "2022-03"))


def test_writing_leaves_the_library_classes_as_they_were() -> None:
    """to_jsonable does not resolve (rewrite) the annotations of the classes it writes."""
    import attrs

    before = [f.type for f in attrs.fields(Customer)]
    to_jsonable([Customer("C1", "x", "2022-01")])
    from_jsonable(to_jsonable(Customer("C1", "x", "2022-01")), Customer)
    assert [f.type for f in attrs.fields(Customer)] == before
    assert "Period" in str(before)
