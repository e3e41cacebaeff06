"""The published JSON Schemas: well formed, true to the converter, and `keyaccount schema`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from keyaccount import Customer, RevenueRecord
from keyaccount.cli import cli
from keyaccount.crosssell import recommend_all, whitespace
from keyaccount.demo import demo_operations, generate
from keyaccount.exceptions import UnknownLabelError
from keyaccount.json import (
    DIALECT,
    MONEY_PATTERN,
    PERIOD_PATTERN,
    SCHEMAS,
    schema,
    schema_id,
    to_jsonable,
)
from keyaccount.operations import detect_kpi_breaches, meeting_report
from keyaccount.rules import default_policy
from tests.strategies import documents

if TYPE_CHECKING:
    from collections.abc import Iterator

    from keyaccount.portfolio import Portfolio

NAMES = sorted(SCHEMAS)
CLASSES = [(n, c) for n, c in sorted(SCHEMAS.items()) if isinstance(c, type)]


def validator(name: str) -> Draft202012Validator:
    """A draft 2020-12 validator of schema ``name`` that checks formats too."""
    return Draft202012Validator(schema(name), format_checker=FormatChecker())


def errors(name: str, doc: Any) -> list[str]:
    """The messages of every way ``doc`` breaks schema ``name``."""
    return [e.message for e in validator(name).iter_errors(doc)]


def properties(node: Any, path: str = "$") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every ``(path, property name, property schema)`` inside a schema."""
    if isinstance(node, dict):
        for key, sub in node.get("properties", {}).items():
            yield path, key, sub
        for key, value in node.items():
            yield from properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from properties(value, f"{path}/{i}")


# ----------------------------------------------------------------- the schemas


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    """Each schema is itself valid, with $schema, a stable $id, title and description."""
    s = schema(name)
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == DIALECT
    assert s["$id"] == schema_id(name)
    assert s["$id"].startswith("urn:keyaccount:schema:")
    assert s["$id"].endswith(f":{name}")
    assert s["title"]
    assert len(s["description"]) > 10


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[n for n, _ in CLASSES])
def test_document_schemas_require_every_property_and_allow_no_other(name: str, cls: type) -> None:
    """Every property is required (absent is null) and no other property is allowed."""
    s = schema(name)
    assert s["title"] == cls.__name__
    assert s["type"] == "object"
    assert s["additionalProperties"] is False
    assert s["required"] == list(s["properties"])
    for definition in s.get("$defs", {}).values():
        if definition.get("type") == "object":
            assert definition["additionalProperties"] is False
            assert definition["required"] == list(definition["properties"])


def test_money_is_never_a_number() -> None:
    """Money properties, in every schema, are strings matching the money pattern."""
    money = {"revenue", "amount", "attributed", "target", "pool", "uncapped", "variance"}
    money |= {"t12m_revenue", "prev12m_revenue", "ytd_attributed", "ytd_target", "ytd_variance"}
    seen = 0
    for name in NAMES:
        for path, key, sub in properties(schema(name)):
            if key in money:
                choices = sub.get("anyOf", [sub])
                patterns = [c.get("pattern") for c in choices if c.get("type") != "null"]
                assert patterns == [MONEY_PATTERN], (name, path, key, sub)
                seen += 1
            assert not (key in money and sub.get("type") == "number"), (name, path, key)
    assert seen > 10


def test_schema_returns_a_fresh_copy() -> None:
    """Changing a returned schema changes nothing for the next caller."""
    first = schema("customer")
    first["properties"].clear()
    assert schema("customer")["properties"]


def test_an_unknown_schema_name_lists_the_names() -> None:
    """schema() of an unknown name raises UnknownLabelError listing every name."""
    with pytest.raises(UnknownLabelError, match="customer, dispatch-order"):
        schema("customers")


# ------------------------------------------------------- true to the converter


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[n for n, _ in CLASSES])
@given(data=st.data())
def test_every_written_document_fits_its_schema(name: str, cls: type, data: Any) -> None:
    """Whatever value the converter writes validates against the published schema."""
    doc = to_jsonable(data.draw(documents(cls)))
    assert errors(name, doc) == []


@pytest.fixture(scope="module")
def demo() -> Portfolio:
    """A small demo portfolio."""
    return generate(seed=5, customers=250, months=30)


def test_real_results_of_the_demo_fit_their_schemas(demo: Portfolio) -> None:
    """Customers, records, metrics, an evaluation, recommendations and whitespace validate."""
    evaluation = default_policy().evaluate(demo, "2022-11")
    checks: list[tuple[str, Any]] = [
        *(("customer", c) for c in demo.customers()),
        *(("revenue-record", r) for r in list(demo.revenue_records())[:300]),
        *(("project-group", g) for g in demo.project_groups),
        ("product-catalog", demo.products),
        ("evaluation", evaluation),
        *(("change", c) for c in evaluation.changes()),
        *(("transition", t) for t in evaluation.transitions),
    ]
    for name, value in checks:
        assert errors(name, to_jsonable(value)) == [], (name, value)
    assert evaluation.transitions
    for row in to_jsonable(demo.metrics("2022-11", rollup=True)):
        assert errors("metrics-row", row) == []
    for doc in to_jsonable(recommend_all(demo, 2, as_of="2022-11")):
        assert errors("recommendation", doc) == []
    for doc in to_jsonable(whitespace(demo, "2022-11")):
        assert errors("opportunity", doc) == []
    for doc in to_jsonable(demo.summary("2022-11")):
        assert errors("segment-tier-cell", doc) == []


def test_demo_operations_fit_their_schemas(demo: Portfolio) -> None:
    """The demo's operations data and results validate against their schemas."""
    data = demo_operations(demo)
    run = data.payouts(demo, "2022")
    subjects = data.subject_attributes(demo)
    breaches = detect_kpi_breaches(data.kpi_observations, data.kpi_thresholds, subjects)
    supervision = data.supervision_list(demo)
    report = meeting_report(
        supervision.items, supervision.history, data.as_of - dt.timedelta(days=30), data.as_of
    )
    documents: dict[str, Any] = {
        "target": data.targets,
        "ownership-move": data.ownership,
        "member-score": data.scores,
        "attainment-row": data.attainment(demo, "2022"),
        "payout-row": run.rows(),
        "kpi-observation": data.kpi_observations,
        "kpi-threshold": data.kpi_thresholds,
        "kpi-breach": breaches,
        "supervision-item": supervision,
        "item-history-row": supervision.history,
        "dispatch-order": data.dispatch_orders,
        "project-lifecycle": data.lifecycles,
    }
    for name, values in documents.items():
        docs = to_jsonable(values)
        assert docs, name
        for doc in docs:
            assert errors(name, doc) == [], (name, doc)
    assert breaches
    for name, value in [
        ("payout-run", run),
        ("escalation-policy", data.escalation_policy),
        ("meeting-report", report),
        ("sweep-result", supervision.sweep(data.as_of, who="sweeper")),
    ]:
        assert errors(name, to_jsonable(value)) == [], name


# ------------------------------------------------------ what the schemas refuse


def _record() -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(RevenueRecord("C1", "court_express", "2022-03", "12.50"))
    return doc


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("revenue", 12.5),
        ("revenue", "12.5"),
        ("revenue", "1,234.50"),
        ("period", "2022-13"),
        ("period", "2022-3"),
        ("period", "2022/03"),
        ("volume", "7"),
        ("volume", None),
    ],
)
def test_the_schema_refuses_a_bad_value(key: str, value: Any) -> None:
    """Float or unpadded money, a bad month, text for a count: each is refused."""
    doc = _record()
    doc[key] = value
    assert errors("revenue-record", doc)


def test_the_schema_refuses_missing_and_extra_properties() -> None:
    """A missing or an unknown property is refused."""
    doc = _record()
    doc["note"] = "x"
    assert errors("revenue-record", doc)
    del doc["note"], doc["volume"]
    assert errors("revenue-record", doc)
    assert errors("revenue-record", _record()) == []


def test_the_schema_checks_enums_and_dates() -> None:
    """An unknown tier name and a day that does not exist are refused."""
    customer = to_jsonable(Customer("C1", "x", "2022-01"))
    assert errors("customer", customer) == []
    assert errors("customer", {**customer, "tier": "GOLD"})
    assert errors("customer", {**customer, "tier": "key"})
    item = to_jsonable(generate_item())
    assert errors("supervision-item", item) == []
    assert errors("supervision-item", {**item, "opened_on": "2024-02-30"})


def generate_item() -> Any:
    """One supervision item."""
    from keyaccount.operations import SupervisionItem

    return SupervisionItem(
        "S1", "回执率低", "CUSTOMER", "C1", "SERVICE", "李", "CITY", "广东", "NORMAL",
        "2024-02-01", "2024-02-08",
    )  # fmt: skip


def test_period_pattern_is_the_one_published() -> None:
    """The period pattern of the schemas is PERIOD_PATTERN."""
    assert schema("customer")["properties"]["first_period"]["pattern"] == PERIOD_PATTERN


# -------------------------------------------------------------- keyaccount schema


def test_schema_command_prints_the_schema() -> None:
    """`keyaccount schema customer` prints the schema as JSON on stdout, nothing else."""
    result = CliRunner().invoke(cli, ["schema", "customer"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == schema("customer")


def test_schema_command_lists_the_names() -> None:
    """`keyaccount schema --list` prints every name, one a line."""
    result = CliRunner().invoke(cli, ["schema", "--list"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == NAMES


@pytest.mark.parametrize("args", [["nope"], [], ["customer", "--list"]])
def test_schema_command_usage_errors(args: list[str]) -> None:
    """An unknown name, no name, or a name with --list: a one-line usage error, exit code 2."""
    result = CliRunner().invoke(cli, ["schema", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error:")
    if args == ["nope"]:
        assert "'nope'" in last
        assert "customer, dispatch-order" in last


def test_schema_command_pipes_into_json_tool() -> None:
    """`python -m keyaccount schema customer | python -m json.tool` works."""
    with subprocess.Popen(
        [sys.executable, "-m", "keyaccount", "schema", "customer"], stdout=subprocess.PIPE
    ) as producer:
        tool = subprocess.run(
            [sys.executable, "-m", "json.tool"],
            stdin=producer.stdout,
            capture_output=True,
            check=True,
            timeout=120,
        )
    assert producer.returncode == 0
    assert json.loads(tool.stdout) == schema("customer")
