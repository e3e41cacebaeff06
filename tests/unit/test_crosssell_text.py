"""Cross-sell text in Chinese: product names, full-width punctuation, no product ids."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from keyaccount.crosssell import CrossSellModel, penetration, recommend, whitespace
from keyaccount.domain import default_catalog
from keyaccount.exceptions import ValidationError
from tests.unit.crosssell_data import Generated, crosssell_portfolios, insurer_portfolio
from tests.unit.zh_text import zh_problems

CATALOG = default_catalog()


@settings(max_examples=15)
@given(crosssell_portfolios(min_customers=4, max_customers=25))
def test_chinese_recommendations_name_products_in_chinese(generated: Generated) -> None:
    """Every zh explanation is clean Chinese naming the products (and rule sources) in Chinese."""
    model = CrossSellModel.fit(generated.portfolio, generated.as_of, min_co_buyers=1)
    ids = [c.id for c in generated.customers]
    for _, recs in model.recommend_all(3):
        for rec in recs:
            text = rec.explanation("zh")
            assert zh_problems(text, allowed=ids) == []
            assert text.startswith(f"推荐{CATALOG[rec.product_id].name_zh}，")
            ev = rec.evidence
            if ev.rule_product is not None:
                source = CATALOG[ev.rule_product]
                assert (ev.rule_product_name, ev.rule_product_name_zh) == (
                    source.name_en,
                    source.name_zh,
                )
                assert f"购买{source.name_zh}的" in text
            assert rec.reasons("zh") == tuple(text.split("：", 1)[1].split("；"))


def test_chinese_explanation_of_the_insurer_branch() -> None:
    """The branch that buys nothing: peers, parent and siblings cited in Chinese."""
    rec = recommend(insurer_portfolio(), "INS-BJ", 1)[0]
    assert rec.explanation("zh") == (
        "推荐保单寄递，得分 0.6333：同行业同层级的 3 家客户（保险、重点客户）中有 2 家在用"
        "（66.7%）；上级客户 HQ 在用；3 家兄弟客户中有 2 家在用：INS-GD、INS-ZJ；"
        "该客户在窗口内没有购买，图邻近度以普及率代替：50.0% 的活跃客户在用"
    )
    assert rec.explanation("en").startswith(
        "Recommend Policy and document mailing (policy_mailing), score 0.6333: "
    )


def test_chinese_rule_evidence_names_the_source_product() -> None:
    """The co-purchase reason cites the product the customer buys by its Chinese name."""
    rec = recommend(insurer_portfolio(), "COURT-B", 1)[0]
    assert rec.evidence.rule_product == "court_express"
    assert rec.evidence.rule_product_name_zh == "法院专递"
    assert rec.explanation("zh") == (
        "推荐电子签收回执，得分 0.7250：同行业同层级的 1 家客户（司法、活跃客户）中有 1 家在用"
        "（100.0%）；购买法院专递的 2 家活跃客户中有 1 家也在用（置信度 50.0%，提升度 3.00）；"
        "图邻近度（个性化随机游走）0.1013，为最高候选的 100.0%"
    )
    assert zh_problems(rec.explanation("zh"), allowed=["COURT-B"]) == []
    assert "that buy court_express, which it buys" in rec.explanation("en")


def test_small_and_large_figures_are_never_in_exponent_form() -> None:
    """Graph proximity and boosts read as plain decimals in Chinese (no 1e-05)."""
    rec = recommend(insurer_portfolio(), "INS-SH", 3)[0]
    ev = attrs.evolve(
        rec.evidence, graph_fallback=False, proximity=1.234e-05, graph_component=0.5, boost=2e6
    )
    text = attrs.evolve(rec, evidence=ev).explanation("zh")
    assert "图邻近度（个性化随机游走）0.00001234，为最高候选的 50.0%" in text
    assert "活动加权 ×2000000" in text
    assert zh_problems(text, allowed=["HQ", "INS-GD", "INS-ZJ", "INS-BJ", "INS-SH"]) == []


def test_whitespace_frames_in_chinese_use_product_names() -> None:
    """Chinese penetration columns and opportunity product names are the catalogue's."""
    portfolio = insurer_portfolio()
    pen = penetration(portfolio, "2022-12")
    frame = pen.to_pandas(lang="zh")
    assert list(frame.columns) == [CATALOG[p].name_zh for p in pen.product_ids]
    assert {"保险", "未分配"} <= set(frame.index)
    assert list(pen.to_pandas().columns) == list(pen.product_ids)
    table = whitespace(portfolio, "2022-12")
    zh = table.to_pandas(lang="zh")
    assert list(zh["product"]) == [CATALOG[o.product_id].name_zh for o in table]
    assert "product" not in table.to_pandas().columns
    assert pen.product_name("custom_route", "zh") == "定制邮路"
    assert pen.product_name("custom_route") == "custom_route"


@pytest.mark.parametrize("lang", ["fr", "ZH", "", None])
def test_unknown_languages_are_refused(lang: Any) -> None:
    """Every cross-sell text or frame refuses a language other than 'en' or 'zh'."""
    portfolio = insurer_portfolio()
    model = CrossSellModel.fit(portfolio, "2022-12")
    rec = model.recommend("INS-BJ", 1)[0]
    pen = penetration(portfolio, "2022-12")
    for call in (
        lambda: rec.reasons(lang),
        lambda: rec.explanation(lang),
        lambda: model.recommend_all(1).to_pandas(explanations=True, lang=lang),
        lambda: pen.to_pandas(lang=lang),
        lambda: pen.product_name("custom_route", lang),
        lambda: whitespace(portfolio, "2022-12").to_pandas(lang=lang),
    ):
        with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
            call()
