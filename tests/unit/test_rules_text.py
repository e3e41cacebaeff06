"""Explanations as text: English as written, Chinese with the glossary, values exact."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import (
    METRIC_LABELS_ZH,
    Period,
    Tier,
    default_catalog,
    format_explanation,
    metric_label,
)
from keyaccount.exceptions import ValidationError
from keyaccount.portfolio import METRICS, MetricKind
from keyaccount.rules import Policy, Rule, Transition
from tests.strategies import USER_METRICS, PortfolioData, policies, portfolios
from tests.unit.zh_text import zh_problems

if TYPE_CHECKING:
    from collections.abc import Callable

CATALOG = default_catalog()


def _portfolio() -> Portfolio:
    customers = [
        Customer("C1", "某中院", "2021-01"),
        Customer("C2", "当当网", "2021-01", tier="KEY"),
    ]
    records = [
        RevenueRecord("C1", "court_express", "2022-06", "1200000"),
        RevenueRecord("C1", "court_express", "2021-06", "400000.50"),
        RevenueRecord("C2", "intra_province_delivery", "2022-03", "30000"),
        RevenueRecord("C2", "standard_express", "2022-04", "10000"),
    ]
    return Portfolio(customers, records)


POLICY = Policy(
    "text",
    [
        Rule(
            "promote-key",
            "t12m_revenue >= 1_000_000 and yoy_growth > 0.5 and active_months >= 1",
            to="KEY",
            from_tiers=["ACTIVE"],
        ),
        Rule("keep-delivery", "share('intra_province_delivery') >= 0.5", to_segment="保险"),
    ],
)


def _transitions() -> dict[str, Transition]:
    evaluation = POLICY.evaluate(_portfolio(), "2022-12")
    return {t.customer_id: t for t in evaluation.transitions}


def test_english_text_is_the_transition_string() -> None:
    """describe('en') is str(transition): ids, names and exact values as written."""
    t = _transitions()["C1"]
    assert t.describe("en") == str(t) == t.describe()
    assert str(t) == (
        "C1: ACTIVE -> KEY by 'promote-key' (t12m_revenue=1200000.00, "
        "yoy_growth=1.9999962500046875, active_months=1)"
    )
    assert t.reason() == t.reason("en") == str(t)[str(t).index("(") + 1 : -1]


def test_chinese_reason_uses_the_glossary_and_exact_values() -> None:
    """The zh reason names metrics in Chinese, money with separators in 元, ratios in %."""
    t = _transitions()["C1"]
    assert t.reason("zh") == (
        "近12个月收入：1,200,000.00元，同比增长率：199.99962500046875%，近12个月有收入月数：1"
    )
    assert t.describe("zh") == (
        "C1：活跃客户 → 重点客户，规则“promote-key”（近12个月收入：1,200,000.00元，"
        "同比增长率：199.99962500046875%，近12个月有收入月数：1）"
    )
    assert zh_problems(t.describe("zh"), allowed=["C1", "promote-key"]) == []


def test_chinese_reason_names_products_by_their_chinese_names() -> None:
    """A share() citation reads as the product's Chinese name; its id never appears."""
    t = _transitions()["C2"]
    assert t.explanation == (("share('intra_province_delivery')", 0.75),)
    text = t.describe("zh")
    assert text == "C2：未分配 → 保险，规则“keep-delivery”（省内落地配收入占比：75%）"
    assert "intra_province_delivery" not in text
    assert zh_problems(text, allowed=["C2", "keep-delivery"]) == []


def test_every_built_in_metric_has_one_chinese_name() -> None:
    """The glossary names exactly the built-in metrics, each once, in clean Chinese."""
    assert set(METRIC_LABELS_ZH) == set(METRICS)
    labels = list(METRIC_LABELS_ZH.values())
    assert len(set(labels)) == len(labels)
    for name, label in METRIC_LABELS_ZH.items():
        assert METRICS[name].label("zh") == label == metric_label(name, "zh")
        assert METRICS[name].label("en") == name
        assert zh_problems(label) == []
        if name.startswith("t12m_") or name in ("active_months", "product_count"):
            assert label.startswith("近12个月"), label


def test_user_metrics_and_unknown_products_keep_their_names() -> None:
    """A user metric, or a share of a product outside the catalogue, is cited as written."""
    assert metric_label("avg_active_month_revenue", "zh") == "avg_active_month_revenue"
    assert metric_label("share('cold_chain')", "zh") == "share('cold_chain')"
    own = CATALOG.with_products([])
    assert metric_label("share('custom_route')", "zh", catalog=own) == "定制邮路收入占比"


@pytest.mark.parametrize("lang", ["fr", "ZH", "", "zh-CN", None, 1])
def test_unknown_languages_are_refused(lang: Any) -> None:
    """Every text method refuses a language other than 'en' or 'zh', naming both."""
    t = _transitions()["C1"]
    calls: list[Callable[[], object]] = [
        lambda: t.reason(lang),
        lambda: t.describe(lang),
        lambda: format_explanation(t.explanation, lang),
        lambda: metric_label("t12m_revenue", lang),
        lambda: METRICS["t12m_revenue"].label(lang),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
            call()


def _parse_back(text: str) -> tuple[str, Decimal | int | float]:
    """A ``label：value`` part of a zh reason, its value read back from the text."""
    label, _, value = text.partition("：")
    if value.endswith("元"):
        return label, Decimal(value[:-1].replace(",", ""))
    if value.endswith("%"):
        return label, float(Decimal(value[:-1]).scaleb(-2))
    return label, int(value.replace(",", ""))


_VALUES: dict[MetricKind, st.SearchStrategy[Decimal | int | float]] = {
    MetricKind.MONEY: st.integers(-(10**15), 10**15).map(lambda f: Decimal(f).scaleb(-2)),
    MetricKind.COUNT: st.integers(0, 10**12),
    MetricKind.RATIO: st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
}


@st.composite
def _explanations(draw: st.DrawFn) -> tuple[tuple[str, Decimal | int | float], ...]:
    names = draw(st.lists(st.sampled_from(sorted(METRICS)), unique=True, max_size=4))
    pairs: list[tuple[str, Decimal | int | float]] = []
    for n in names:
        value: Decimal | int | float = draw(_VALUES[METRICS[n].kind])
        pairs.append((n, value))
    for product in draw(st.lists(st.sampled_from(list(CATALOG)), unique=True, max_size=2)):
        pairs.append((f"share('{product}')", draw(st.floats(0, 1))))
    return tuple(pairs)


@given(_explanations())
def test_chinese_reason_holds_every_value_exactly(
    explanation: tuple[tuple[str, Decimal | int | float], ...],
) -> None:
    """Reading the zh reason back gives every cited value exactly, under its Chinese name."""
    t = Transition("C1", "tier", Tier.ACTIVE, Tier.KEY, "r", Period(2022, 12), explanation)
    text = t.reason("zh")
    assert zh_problems(text) == []
    parts = text.split("，") if text else []
    assert [_parse_back(p) for p in parts] == [(metric_label(k, "zh"), v) for k, v in explanation]
    for name, _ in explanation:
        if name.startswith("share('"):
            product = CATALOG[name[7:-2]]
            assert f"{product.name_zh}收入占比" in text
            assert product.id not in text


@given(portfolios(max_customers=5, max_records=25), policies())
def test_chinese_text_of_random_evaluations_is_clean_and_exact(
    data: PortfolioData, policy: Policy
) -> None:
    """Every transition of a random policy reads in clean Chinese with its values exact."""
    evaluation = policy.evaluate(Portfolio(data.customers, data.records), data.as_of)
    for t in (*evaluation.transitions, *evaluation.held):
        text = t.describe("zh")
        allowed = [t.customer_id, t.rule, *(m.name for m in USER_METRICS.user)]
        assert zh_problems(text, allowed) == []
        for name, value in t.explanation:
            if isinstance(value, Decimal):
                assert f"{metric_label(name, 'zh')}：{value:,}元" in text
        assert t.describe("en") == str(t)


def test_backtest_comparison_summary_in_chinese() -> None:
    """The comparison table reads in Chinese; English keeps its words; lang is checked."""
    from keyaccount.rules import backtest, compare_backtests

    strict = Policy("strict", [Rule("up", "t12m_revenue >= 2_000_000", to="KEY")])
    a = backtest(POLICY, _portfolio(), "2022-01", "2022-12")
    comparison = compare_backtests(a, backtest(strict, _portfolio(), "2022-01", "2022-12"))
    zh = comparison.summary("zh")
    assert zh.splitlines()[0].startswith("月份")
    assert "（层级调整数）" in zh
    assert "2022-12末各层级客户数：" in zh
    assert f"某月层级不同的客户：{len(comparison.differing)}" in zh
    for tier in Tier:
        assert tier.label_zh in zh
    assert zh_problems(zh, allowed=["text", "strict"]) == []
    assert "customers whose tiers differ in some month:" in comparison.summary()
    same = compare_backtests(a, a).summary("zh")
    assert "text（甲）" in same
    assert "text（乙）" in same
    with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
        comparison.summary("cn")
