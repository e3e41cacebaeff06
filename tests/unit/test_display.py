"""Notebook display: every public class has a short repr, and tables show a short HTML head.

The walk goes over every public module of keyaccount (the package, each subpackage and
each public module such as ``keyaccount.io.problems``) and every class in its
``__all__``; each class is either built here from the demo portfolio (3,000 customers and
its operations data) or listed with the reason it is skipped. The store's classes are
built on a real SQLite store in ``tests/integration/test_store_display.py``.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import importlib
import inspect
import pkgutil
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest

import keyaccount
import keyaccount.analysis
import keyaccount.portfolio.texts
from keyaccount import Customer, Portfolio, RevenueRecord, crosssell, demo, operations, rules
from keyaccount.utils.display import (
    MAX_HTML_BYTES,
    MAX_HTML_TEXT,
    MAX_REPR_CHARS,
    MAX_REPR_LINES,
    html_table,
    money,
    short_repr,
    span,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

AS_OF = "2022-11"
STORE_CLASSES_TEST = "tests/integration/test_store_display.py"

# ----------------------------------------------------------------------------- the walk


def public_modules() -> list[str]:
    """The package and every module of it with no underscore in its path (no cli, no migrations)."""
    names = ["keyaccount"]
    for info in pkgutil.walk_packages(keyaccount.__path__, "keyaccount."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or parts[1] == "cli" or "migrations" in parts:
            continue
        names.append(info.name)
    return names


def public_classes() -> dict[str, type]:
    """Every class named in a public module's ``__all__``, by its first public name."""
    found: dict[type, str] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isclass(value):
                found.setdefault(value, f"{module_name}.{name}")
    return {name: cls for cls, name in found.items()}


def rule_skip(cls: type) -> str | None:
    """Why a class needs no display of its own (exceptions, enums, protocols), or None."""
    if issubclass(cls, BaseException):
        return "an exception: its message is its display"
    if issubclass(cls, enum.Enum):
        return "an enum: its repr is one member"
    if getattr(cls, "_is_protocol", False):
        return "a protocol: it has no instances of its own"
    return None


SKIPPED: dict[str, str] = {
    "keyaccount.rules.compiler.CitationCompiler": "an abstract compiler base class: no data",
    "keyaccount.rules.compiler.ConditionCompiler": "an abstract compiler base class: no data",
}
"""Classes deliberately not built here, with the reason."""

# ----------------------------------------------------------------------------- the instances


class World:
    """The demo portfolio, its operations data and the results made from them, made once."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pf = demo.generate(customers=3000)
        self.ops = demo.demo_operations(self.pf)
        self.policy = rules.default_policy()
        self.evaluation = self.policy.evaluate(self.pf, AS_OF)
        self.backtest = rules.backtest(self.policy, self.pf, "2021-12", AS_OF)
        self.model = crosssell.CrossSellModel.fit(self.pf, AS_OF)
        self.recommendations = crosssell.recommend_all(self.model, 5)
        self.basket = crosssell.build_basket(self.pf, AS_OF)
        self.itemsets = crosssell.frequent_itemsets(self.basket)
        self.whitespace = crosssell.whitespace(self.pf, AS_OF)
        self.supervision = self.ops.supervision_list(self.pf)
        self.subjects = self.ops.subject_attributes(self.pf)
        self.payouts = self.ops.payouts(self.pf, "2021")
        self.parent = max(self.pf.parents(), key=lambda p: len(self.pf.children(p)))

    def csv_paths(self) -> tuple[Path, Path]:
        """The demo portfolio written as CSV (once)."""
        customers, revenue = self.tmp / "customers.csv", self.tmp / "revenue.csv"
        if not customers.exists():
            from keyaccount.io import write_portfolio_csv

            write_portfolio_csv(self.pf, customers, revenue)
        return customers, revenue


def _revenue_batches(w: World) -> Any:
    from keyaccount.io import iter_revenue_csv

    return iter_revenue_csv(w.csv_paths()[1], known_customers=set(w.pf.customer_ids))


def _condition(name: str) -> Any:
    """An AST node of class ``name`` from a condition holding every kind of node."""
    tree = rules.parse_condition(
        "not (-t12m_revenue * 2 < 5) and (share('court_express') > 0.1 or active_months >= 3)"
    )
    return next(n for n in rules.walk(tree) if type(n).__name__ == name)


def _sweep(w: World) -> Any:
    return w.ops.supervision_list(w.pf).sweep(w.ops.as_of + dt.timedelta(days=14), who="sweep")


def _meeting(w: World) -> Any:
    return operations.meeting_report(
        w.ops.supervision_items, w.ops.supervision_history, "2022-01-01", "2022-12-31"
    )


def _breach(w: World) -> Any:
    breaches = operations.detect_kpi_breaches(
        w.ops.kpi_observations, w.ops.kpi_thresholds, w.subjects
    )
    return breaches[0]


def _transactions(w: World) -> Any:
    """The demo's revenue of 2022 as raw transactions (one a record, dated the 15th)."""
    from keyaccount.io import read_transactions_csv

    path = w.tmp / "transactions.csv"
    if not path.exists():
        lines = ["customer_id,date,amount,product_id"]
        for r in w.pf.revenue_records(start="2022-01"):
            lines.append(f"{r.customer_id},{r.period}-15,{r.revenue},{r.product_id}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_transactions_csv(path)


def _rfm(w: World) -> Any:
    from keyaccount.analysis import rfm

    return rfm(_transactions(w), "2022-11-30")


def _frame(w: World) -> Any:
    from keyaccount.portfolio import frames

    table = w.pf.metrics(AS_OF)
    columns = (
        frames.text("customer_id", table.customer_ids),
        frames.money("t12m_revenue", table.columns["t12m_revenue"]),
    )
    return frames.Frame(columns, {"as_of": AS_OF})


def _pending(w: World) -> Any:
    from keyaccount.utils import PendingOutput

    return PendingOutput(w.tmp / "pending.txt")


BUILDERS: dict[str, Callable[[World], Any]] = {
    # keyaccount and keyaccount.domain
    "keyaccount.Customer": lambda w: w.pf.customer(w.parent),
    "keyaccount.Member": lambda w: w.pf.project_groups[0].members[0],
    "keyaccount.MetricsTable": lambda w: w.pf.metrics(AS_OF),
    "keyaccount.Period": lambda w: keyaccount.Period.parse(AS_OF),
    "keyaccount.PeriodRange": lambda w: keyaccount.Period.range("2019-12", AS_OF),
    "keyaccount.Portfolio": lambda w: w.pf,
    "keyaccount.Product": lambda w: w.pf.products.products[1],
    "keyaccount.ProductCatalog": lambda w: w.pf.products,
    "keyaccount.ProjectGroup": lambda w: max(
        w.pf.project_groups, key=lambda g: len(g.customer_ids)
    ),
    "keyaccount.RevenueRecord": lambda w: next(w.pf.revenue_records()),
    "keyaccount.SegmentTierSummary": lambda w: w.pf.summary(AS_OF),
    "keyaccount.domain.SegmentChange": lambda w: keyaccount.domain.SegmentChange(
        w.parent, AS_OF, rule="r", before=None, after="司法"
    ),
    "keyaccount.domain.TierChange": lambda w: w.evaluation.changes()[0],
    # keyaccount.portfolio
    "keyaccount.portfolio.CustomerColumns": lambda w: w.pf.customer_columns,
    "keyaccount.portfolio.MetricSpec": lambda w: keyaccount.METRICS["t12m_revenue"],
    "keyaccount.portfolio.RevenueColumns": lambda w: w.pf.revenue_columns,
    "keyaccount.portfolio.SegmentTierCell": lambda w: next(w.pf.summary(AS_OF).cells()),
    "keyaccount.portfolio.limits.CustomerTotals": lambda w: (
        keyaccount.portfolio.limits.CustomerTotals()
    ),
    # keyaccount.rules
    "keyaccount.rules.And": lambda w: _condition("And"),
    "keyaccount.rules.Arith": lambda w: _condition("Arith"),
    "keyaccount.rules.Backtest": lambda w: w.backtest,
    "keyaccount.rules.BacktestComparison": lambda w: rules.compare_backtests(
        w.backtest, w.backtest
    ),
    "keyaccount.rules.ChainDecisions": lambda w: w.evaluation.tier,
    "keyaccount.rules.Compare": lambda w: _condition("Compare"),
    "keyaccount.rules.CustomerFacts": lambda w: rules.facts_from_table(
        w.pf.metrics(AS_OF), w.policy, w.pf
    )[0],
    "keyaccount.rules.Evaluation": lambda w: w.evaluation,
    "keyaccount.rules.EvaluationCounts": lambda w: w.evaluation.counts,
    "keyaccount.rules.Finding": lambda w: rules.validate(w.policy)[0],
    "keyaccount.rules.Literal": lambda w: _condition("Literal"),
    "keyaccount.rules.MetricRef": lambda w: _condition("MetricRef"),
    "keyaccount.rules.MetricRegistry": lambda w: rules.default_registry(),
    "keyaccount.rules.Neg": lambda w: _condition("Neg"),
    "keyaccount.rules.Not": lambda w: _condition("Not"),
    "keyaccount.rules.Or": lambda w: _condition("Or"),
    "keyaccount.rules.Policy": lambda w: w.policy,
    "keyaccount.rules.Rule": lambda w: w.policy.rules[0],
    "keyaccount.rules.ShareRef": lambda w: _condition("ShareRef"),
    "keyaccount.rules.Transition": lambda w: w.evaluation.transitions[0],
    "keyaccount.rules.UserMetric": lambda w: rules.UserMetric(
        "court_months", "count", lambda table, pf: table.columns["active_months"], "months"
    ),
    "keyaccount.portfolio.frames.Column": lambda w: _frame(w).columns[1],
    "keyaccount.portfolio.frames.Frame": _frame,
    "keyaccount.portfolio.texts.TextColumn": lambda w: keyaccount.portfolio.texts.TextColumn(3),
    "keyaccount.portfolio.texts.ChunkedPieces": lambda w: keyaccount.portfolio.texts.ChunkedPieces(
        3
    ),
    # keyaccount.analysis
    "keyaccount.analysis.RfmRow": lambda w: _rfm(w).row(str(_rfm(w).customer_ids[0])),
    "keyaccount.analysis.RfmScores": lambda w: keyaccount.analysis.rfm_scores(_rfm(w)),
    "keyaccount.analysis.RfmTable": _rfm,
    # keyaccount.io
    "keyaccount.io.Transactions": _transactions,
    "keyaccount.io.ChangeRecord": lambda w: keyaccount.io.ChangeRecord(
        w.evaluation.changes()[0], dt.datetime(2024, 3, 1, tzinfo=dt.UTC), 1
    ),
    "keyaccount.io.CustomerRows": lambda w: keyaccount.io.read_customers_csv(w.csv_paths()[0]),
    "keyaccount.io.ErrorPolicy": lambda w: keyaccount.io.ErrorPolicy(),
    "keyaccount.io.ReadStats": lambda w: _revenue_batches(w).stats,
    "keyaccount.io.RevenueBatches": _revenue_batches,
    "keyaccount.io.RevenueRows": lambda w: next(iter(_revenue_batches(w))),
    "keyaccount.io.problems.Problem": lambda w: keyaccount.io.problems.Problem(
        3, "amount", "x" * 10_000, "not a number"
    ),
    "keyaccount.io.problems.ProblemSink": lambda w: keyaccount.io.problems.ProblemSink(
        "revenue.csv", keyaccount.io.ErrorPolicy()
    ),
    "keyaccount.io.problems.RejectFiles": lambda w: keyaccount.io.problems.RejectFiles(
        None, keyaccount.utils.OutputGroup()
    ),
    # keyaccount.crosssell
    "keyaccount.crosssell.AssociationRule": lambda w: crosssell.association_rules(w.itemsets).rule(
        0
    ),
    "keyaccount.crosssell.Basket": lambda w: w.basket,
    "keyaccount.crosssell.CrossSellModel": lambda w: w.model,
    "keyaccount.crosssell.Evidence": lambda w: w.recommendations.for_customer(w.parent)[0].evidence,
    "keyaccount.crosssell.FrequentItemsets": lambda w: w.itemsets,
    "keyaccount.crosssell.GroupProduct": lambda w: crosssell.group_purchases(
        w.pf, w.parent, AS_OF
    ).products[0],
    "keyaccount.crosssell.GroupPurchases": lambda w: crosssell.group_purchases(
        w.pf, w.parent, AS_OF
    ),
    "keyaccount.crosssell.HierarchyGap": lambda w: max(
        crosssell.hierarchy_gaps(w.pf, AS_OF), key=lambda g: len(g.non_buyer_ids)
    ),
    "keyaccount.crosssell.Opportunity": lambda w: w.whitespace.opportunities[0],
    "keyaccount.crosssell.OpportunityTable": lambda w: w.whitespace,
    "keyaccount.crosssell.PairStatistics": lambda w: crosssell.pair_statistics(w.basket),
    "keyaccount.crosssell.Penetration": lambda w: crosssell.penetration(w.pf, AS_OF),
    "keyaccount.crosssell.Recommendation": lambda w: w.recommendations.for_customer(w.parent)[0],
    "keyaccount.crosssell.RecommendationTable": lambda w: w.recommendations,
    "keyaccount.crosssell.RuleTable": lambda w: crosssell.association_rules(w.itemsets),
    "keyaccount.crosssell.ScoreWeights": lambda w: crosssell.ScoreWeights(),
    # keyaccount.operations
    "keyaccount.operations.AttainmentRow": lambda w: next(w.ops.attainment(w.pf).rows()),
    "keyaccount.operations.AttainmentTable": lambda w: w.ops.attainment(w.pf, by_segment=True),
    "keyaccount.operations.Bracket": lambda w: w.ops.payout_scheme.brackets[0],
    "keyaccount.operations.DispatchOrder": lambda w: w.ops.dispatch_orders[0],
    "keyaccount.operations.EscalationPolicy": lambda w: w.ops.escalation_policy,
    "keyaccount.operations.ItemHistoryRow": lambda w: w.ops.supervision_history[0],
    "keyaccount.operations.KpiBreach": _breach,
    "keyaccount.operations.KpiDefinition": lambda w: next(
        iter(w.ops.kpi_thresholds.registry.values())
    ),
    "keyaccount.operations.KpiObservation": lambda w: next(w.ops.kpi_observations.records()),
    "keyaccount.operations.KpiObservations": lambda w: w.ops.kpi_observations,
    "keyaccount.operations.KpiRegistry": lambda w: w.ops.kpi_thresholds.registry,
    "keyaccount.operations.KpiRollup": lambda w: w.ops.kpi_observations.rollup(
        ["kpi", "period", "province"], subjects=w.subjects
    ),
    "keyaccount.operations.KpiThreshold": lambda w: w.ops.kpi_thresholds.thresholds[0],
    "keyaccount.operations.KpiThresholds": lambda w: w.ops.kpi_thresholds,
    "keyaccount.operations.MeetingReport": _meeting,
    "keyaccount.operations.MeetingReportRow": lambda w: _meeting(w).total,
    "keyaccount.operations.MemberScore": lambda w: w.ops.scores[0],
    "keyaccount.operations.OperationsData": lambda w: w.ops,
    "keyaccount.operations.Ownership": lambda w: w.ops.ownership,
    "keyaccount.operations.OwnershipMove": lambda w: next(iter(w.ops.ownership)),
    "keyaccount.operations.Payout": lambda w: w.payouts.payouts[0],
    "keyaccount.operations.PayoutRow": lambda w: w.payouts.rows()[0],
    "keyaccount.operations.PayoutRun": lambda w: w.payouts,
    "keyaccount.operations.PayoutScheme": lambda w: w.ops.payout_scheme,
    "keyaccount.operations.PayoutShare": lambda w: w.payouts.payouts[0].shares[0],
    "keyaccount.operations.PeriodSpan": lambda w: operations.PeriodSpan.parse("2022Q3"),
    "keyaccount.operations.ProjectLifecycle": lambda w: max(
        w.ops.lifecycles, key=lambda lc: len(lc.moves)
    ),
    "keyaccount.operations.StageMove": lambda w: w.ops.lifecycles[0].moves[0],
    "keyaccount.operations.SubjectAttributes": lambda w: w.subjects,
    "keyaccount.operations.SupervisionItem": lambda w: w.ops.supervision_items[0],
    "keyaccount.operations.SupervisionList": lambda w: w.supervision,
    "keyaccount.operations.SupervisionOrder": lambda w: w.ops.supervision_orders[0],
    "keyaccount.operations.SweepColumns": lambda w: operations.SweepColumns.from_items(
        w.ops.supervision_items
    ),
    "keyaccount.operations.SweepPlan": lambda w: operations.plan_sweep(
        operations.SweepColumns.from_items(w.ops.supervision_items),
        w.ops.as_of + dt.timedelta(days=14),
        w.ops.escalation_policy,
    ),
    "keyaccount.operations.SweepResult": _sweep,
    "keyaccount.operations.Target": lambda w: w.ops.targets.targets[0],
    "keyaccount.operations.Targets": lambda w: w.ops.targets,
    # keyaccount.json
    "keyaccount.json.EvaluationDocument": lambda w: (
        keyaccount.json.EvaluationDocument.from_evaluation(w.evaluation)
    ),
    "keyaccount.json.MetricsRow": lambda w: keyaccount.json.MetricsRow.from_table(
        w.pf.metrics(AS_OF), w.parent
    ),
    # keyaccount.utils
    "keyaccount.utils.OutputGroup": lambda w: keyaccount.utils.OutputGroup(),
    "keyaccount.utils.PendingOutput": _pending,
    "keyaccount.utils.display.Plain": lambda w: span("2019-12", AS_OF),
}
"""How to build an instance of each public class at demo size."""

TABLE_LIKE = {
    "keyaccount.analysis.RfmScores",
    "keyaccount.analysis.RfmTable",
    "keyaccount.io.Transactions",
    "keyaccount.MetricsTable",
    "keyaccount.Portfolio",
    "keyaccount.ProductCatalog",
    "keyaccount.ProjectGroup",
    "keyaccount.SegmentTierSummary",
    "keyaccount.crosssell.Basket",
    "keyaccount.crosssell.FrequentItemsets",
    "keyaccount.crosssell.GroupPurchases",
    "keyaccount.crosssell.OpportunityTable",
    "keyaccount.crosssell.PairStatistics",
    "keyaccount.crosssell.Penetration",
    "keyaccount.crosssell.RecommendationTable",
    "keyaccount.crosssell.RuleTable",
    "keyaccount.io.CustomerRows",
    "keyaccount.io.RevenueRows",
    "keyaccount.operations.AttainmentTable",
    "keyaccount.operations.KpiObservations",
    "keyaccount.operations.KpiRegistry",
    "keyaccount.operations.KpiRollup",
    "keyaccount.operations.KpiThresholds",
    "keyaccount.operations.MeetingReport",
    "keyaccount.operations.OperationsData",
    "keyaccount.operations.Ownership",
    "keyaccount.operations.Payout",
    "keyaccount.operations.PayoutRun",
    "keyaccount.operations.PayoutScheme",
    "keyaccount.operations.ProjectLifecycle",
    "keyaccount.operations.SupervisionList",
    "keyaccount.operations.Targets",
    "keyaccount.portfolio.CustomerColumns",
    "keyaccount.portfolio.RevenueColumns",
    "keyaccount.rules.Backtest",
    "keyaccount.rules.BacktestComparison",
    "keyaccount.rules.Evaluation",
    "keyaccount.rules.Policy",
}
"""Results that are tables: each shows a head of its rows in a notebook."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The demo world, built once for this module."""
    return World(tmp_path_factory.mktemp("display"))


# ----------------------------------------------------------------------------- checks


class _Table(HTMLParser):
    """Reads an HTML fragment: balanced tags, the text shown, rows and cells."""

    VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.unbalanced: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.unbalanced.append(tag)
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Table:
    """The parsed fragment; fails the test when its tags do not balance."""
    parser = _Table()
    parser.feed(text)
    parser.close()
    assert not parser.unbalanced, parser.unbalanced
    assert not parser.stack, parser.stack
    return parser


def check_repr(value: object) -> str:
    """``repr(value)``, asserted within the limits."""
    text = repr(value)
    assert len(text) <= MAX_REPR_CHARS, f"{len(text):,} characters: {text[:200]}"
    assert len(text.splitlines()) <= MAX_REPR_LINES, f"{len(text.splitlines())} lines"
    return text


def check_html(value: Any) -> _Table:
    """``value._repr_html_()``, asserted within the limits, balanced, with a table and a count."""
    text = value._repr_html_()
    assert len(text.encode()) <= MAX_HTML_BYTES
    table = parse_html(text)
    shown = "".join(table.text)
    assert len(shown) <= MAX_HTML_TEXT, f"{len(shown):,} characters of text"
    assert {"table", "caption"} <= set(table.tags)
    assert not {"script", "link", "style"} & set(table.tags)
    assert re.search(r"(showing \d+ of )?[\d,]+ \w+", shown.rsplit("\n", 1)[-1])
    return table


# ----------------------------------------------------------------------------- tests


def test_every_public_class_is_built_or_skipped_with_a_reason() -> None:
    """The walk finds every public class, and each is built here, in the store test or skipped."""
    from tests.integration.test_store_display import STORE_BUILDERS

    classes = public_classes()
    covered = set(BUILDERS) | set(SKIPPED) | set(STORE_BUILDERS)
    unhandled = {n for n, c in classes.items() if n not in covered and rule_skip(c) is None}
    assert not unhandled, f"public classes with no display check: {sorted(unhandled)}"
    assert not (set(BUILDERS) | set(SKIPPED)) - set(classes), "a listed class is not public"
    assert set(BUILDERS) >= TABLE_LIKE
    assert {"keyaccount.Tier", "keyaccount.KeyAccountError"} <= {
        n for n, c in classes.items() if rule_skip(c)
    }


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_display_is_short(world: World, name: str) -> None:
    """Each public class at demo size: a repr within the limits; a table: a short HTML head too.

    The repr is at most 5,000 characters on at most 50 lines; the HTML (required of every
    table-like result) is at most 50 KB and 5,000 characters of text, balanced, with the
    repr as its caption and the row count.
    """
    value = BUILDERS[name](world)
    assert isinstance(value, public_classes()[name])
    text = check_repr(value)
    if name in TABLE_LIKE:
        assert hasattr(value, "_repr_html_"), f"{name} is a table and has no _repr_html_"
    if hasattr(value, "_repr_html_"):
        table = check_html(value)
        assert html.unescape(value._repr_html_()).count(text) == 1  # the summary line
        assert table.rows >= 1


def test_long_tables_show_a_head_and_the_count(world: World) -> None:
    """A table of thousands of rows shows ten of them and says how many there are."""
    table = parse_html(world.pf._repr_html_())
    assert table.rows == 1 + 10  # the heading row and the head
    assert "showing 10 of 3,000 customers" in "".join(table.text)
    recs = parse_html(world.recommendations._repr_html_())
    assert "showing 10 of 15,000 rows" in "".join(recs.text)


def test_customer_names_are_html_escaped() -> None:
    """A customer named <script> is shown as text, never as a tag."""
    name = "<script>alert('x')</script>&更多"
    pf = Portfolio(
        [Customer("C1", name, "2022-01", segment="司法")],
        [RevenueRecord("C1", "court_express", "2022-05", "880.00")],
    )
    text = pf._repr_html_()
    table = parse_html(text)
    assert "script" not in table.tags
    assert "&lt;script&gt;" in text
    assert name in "".join(table.text)
    assert "1 customer" in "".join(table.text)


def test_repr_names_the_size_and_period(world: World) -> None:
    """The one-line reprs say what the object is, how big and when."""
    assert repr(world.evaluation).startswith("<Evaluation policy='default' as_of=2022-11: 3,000")
    assert "3,000 customers" in repr(world.pf)
    assert "2019-12..2022-11" in repr(world.pf)
    assert "months=2021-12..2022-11" in repr(world.backtest)
    assert "15,000 recommendations" in repr(world.recommendations)
    assert "as_of=2022-11" in repr(world.whitespace)


def test_short_repr_and_html_table_shapes() -> None:
    """short_repr is one line whatever its facts hold; html_table reads only the head it shows."""
    assert short_repr("X", "a\nb", name="n" * 10_000).count("\n") == 0
    assert len(short_repr("X", "y" * 100_000)) <= MAX_REPR_CHARS
    consumed = []

    def rows() -> Any:
        for i in range(1_000_000):
            consumed.append(i)
            yield (i, money(i))

    text = html_table(["n", "yuan"], rows(), total=1_000_000, caption="<c>")
    assert len(consumed) == 10
    assert "showing 10 of 1,000,000 rows" in text
    assert "&lt;c&gt;" in text
    assert money(-123_456_789) == "-1,234,567.89"


@pytest.mark.slow
def test_whitespace_and_recommendations_of_100k_customers_have_short_reprs() -> None:
    """At 100,000 customers the whitespace and recommendation tables still print one line."""
    pf = demo.generate(customers=100_000, months=24)
    ws = crosssell.whitespace(pf, AS_OF)
    recs = crosssell.recommend_all(pf, 5, as_of=AS_OF)
    for value in (ws, recs, pf, pf.metrics(AS_OF)):
        text = check_repr(value)
        assert text.count("\n") == 0
        check_html(value)
    assert "100,000 customers" in repr(recs)
