"""JSON for keyaccount's values and results: a ``cattrs`` converter and published schemas.

Every domain value and result (customers, revenue records, changes, transitions with
their explanations, evaluations, metrics rows, recommendations with their evidence,
whitespace, and the operations values: targets, ownership moves, payouts, KPIs, the
supervision list) has one JSON form, fixed by ``docs/contracts.md`` ("JSON"): money as a
decimal string in yuan with two decimals (``"1234.50"``), months as ``"YYYY-MM"``, days
ISO 8601, enums by name (``"STRATEGIC"``), absent values ``null``, and the names of the
Python attributes. Reading a document back gives an equal value
(``from_jsonable(to_jsonable(x), type(x)) == x``), and each document has a JSON Schema
(draft 2020-12) made from the same rules: :func:`schema`, ``keyaccount schema NAME``.
``docs/json.md`` has the conventions and an example of each main document.

Example:
    >>> from keyaccount import Customer
    >>> from keyaccount.json import dumps, loads
    >>> c = Customer("C1", "某市中级人民法院", "2021-03", segment="司法", tier="KEY")
    >>> text = dumps(c)
    >>> text
    '{"id": "C1", "name": "某市中级人民法院", "first_period": "2021-03", "segment": "JUDICIAL", \
"sub_segment": null, "tier": "KEY", "parent_id": null, "province": null, "tier_since": null}'
    >>> loads(text, Customer) == c
    True
"""

from __future__ import annotations

from keyaccount.json._codecs import (
    DATE_PATTERN,
    DECIMAL_PATTERN,
    MONEY_PATTERN,
    PERIOD_PATTERN,
    SPAN_PATTERN,
)
from keyaccount.json._converter import (
    converter,
    dumps,
    from_jsonable,
    loads,
    metrics_rows_jsonable,
    to_jsonable,
)
from keyaccount.json._documents import EvaluationDocument, MetricsRow
from keyaccount.json._schema import DIALECT, SCHEMAS, schema, schema_id

__all__ = [
    "DATE_PATTERN",
    "DECIMAL_PATTERN",
    "DIALECT",
    "MONEY_PATTERN",
    "PERIOD_PATTERN",
    "SCHEMAS",
    "SPAN_PATTERN",
    "EvaluationDocument",
    "MetricsRow",
    "converter",
    "dumps",
    "from_jsonable",
    "loads",
    "metrics_rows_jsonable",
    "schema",
    "schema_id",
    "to_jsonable",
]
