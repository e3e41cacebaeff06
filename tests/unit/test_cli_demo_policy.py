from __future__ import annotations

import re

from click.testing import CliRunner

from keyaccount.cli import cli
from keyaccount.demo import generate
from keyaccount.rules import default_policy


def test_demo_shows_default_policy_transitions() -> None:
    """`keyaccount demo` reports the default policy's transition counts for the report month."""
    result = CliRunner().invoke(cli, ["demo", "--customers", "400", "--months", "24"])
    assert result.exit_code == 0, result.output
    portfolio = generate(customers=400, months=24)
    span = portfolio.period_span
    assert span is not None
    counts = default_policy().evaluate(portfolio, span[1]).counts
    match = re.search(
        r"Policy 'default' as of (\S+): ([\d,]+) tier and ([\d,]+) segment transitions, "
        r"([\d,]+) demotions held",
        result.output,
    )
    assert match is not None, result.output
    assert match.group(1) == str(span[1])
    assert int(match.group(2).replace(",", "")) == counts.tier_moves
    assert int(match.group(3).replace(",", "")) == counts.segment_moves
    assert int(match.group(4).replace(",", "")) == counts.held


def test_demo_policy_section_in_chinese() -> None:
    """With `--lang zh` the policy section uses Chinese tier labels."""
    result = CliRunner().invoke(
        cli, ["demo", "--customers", "400", "--months", "24", "--lang", "zh"]
    )
    assert result.exit_code == 0, result.output
    section = result.output[result.output.index("规则集“default”") :]
    assert "按规则统计的调整" in section
    assert "ACTIVE" not in section


def test_demo_shows_recommendations_for_notable_customers() -> None:
    """The demo report ends with recommendations for notable customers, none already bought."""
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.demo import NOTABLE_CUSTOMERS

    result = CliRunner().invoke(cli, ["demo", "--customers", "400", "--months", "24"])
    assert result.exit_code == 0, result.output
    section = result.output[result.output.index("Cross-sell recommendations") :]
    portfolio = generate(customers=400, months=24)
    span = portfolio.period_span
    assert span is not None
    model = CrossSellModel.fit(portfolio, span[1])
    court = NOTABLE_CUSTOMERS["广东省高级人民法院"]
    assert f"{court}: buys" in section
    first = model.recommend(court, 3)[0]
    assert f"1. {first.product_name} ({first.product_id})" in section
