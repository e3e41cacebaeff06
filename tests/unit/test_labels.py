from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given

from keyaccount.domain import Role, Segment, SubSegment, Tier
from keyaccount.exceptions import KeyAccountError, UnknownLabelError
from tests.strategies import segments, sub_segments, tiers

if TYPE_CHECKING:
    from collections.abc import Callable

# Sub-segments as CONTRACTS.md and DOMAIN.md name them: (id, label, segment).
EXPECTED_SUB_SEGMENTS = [
    ("COURT", "法院", Segment.JUDICIAL),
    ("PROCURATORATE", "检察院", Segment.JUDICIAL),
    ("ARBITRATION", "仲裁委", Segment.JUDICIAL),
    ("JUDICIAL_BUREAU", "司法局", Segment.JUDICIAL),
    ("LAW_FIRM", "律所", Segment.JUDICIAL),
    ("NATIONAL_BANK", "全国性银行", Segment.FINANCE),
    ("CARD_MANUFACTURER", "制卡厂", Segment.FINANCE),
    ("FINANCE_COMPANY", "金融公司", Segment.FINANCE),
    ("INSURER_HQ", "保险公司总部", Segment.INSURANCE),
    ("INSURER_BRANCH", "省级分支机构", Segment.INSURANCE),
]
# DOMAIN.md's table: the Chinese names of every sub-segment it lists, by segment.
DOMAIN_SUB_SEGMENT_LABELS = {
    Segment.JUDICIAL: {"法院", "检察院", "仲裁委", "司法局", "律所"},
    Segment.AUTO_ECOSYSTEM: {
        "驾驶证",
        "机动车号牌",
        "非机动车牌证",
        "汽车金融车贷",
        "档案智能仓配",
        "车辆检测",
    },
    Segment.ECOMMERCE_TOP: {"休闲食品", "个人护理", "图书影像", "居家生活"},
    Segment.FOOTWEAR_APPAREL: {"时尚潮牌", "产业集群"},
}


def test_tier_order() -> None:
    """Tiers are ordered DORMANT < ACTIVE < KEY < STRATEGIC."""
    assert Tier.DORMANT < Tier.ACTIVE < Tier.KEY < Tier.STRATEGIC
    assert sorted([Tier.STRATEGIC, Tier.DORMANT, Tier.KEY, Tier.ACTIVE]) == [
        Tier.DORMANT,
        Tier.ACTIVE,
        Tier.KEY,
        Tier.STRATEGIC,
    ]
    assert [t.rank for t in (Tier.DORMANT, Tier.ACTIVE, Tier.KEY, Tier.STRATEGIC)] == [0, 1, 2, 3]


@given(tiers(), tiers())
def test_tier_comparisons_agree_with_rank(a: Tier, b: Tier) -> None:
    """Every tier comparison agrees with comparing ranks."""
    assert (a < b) == (a.rank < b.rank)
    assert (a <= b) == (a.rank <= b.rank)
    assert (a > b) == (a.rank > b.rank)
    assert (a >= b) == (a.rank >= b.rank)
    assert max(a, b).rank == max(a.rank, b.rank)


def test_tier_does_not_order_against_other_types() -> None:
    """Comparing a tier with a number is a TypeError, not a silent answer."""
    with pytest.raises(TypeError):
        assert Tier.KEY < 3


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("KEY", Tier.KEY),
        ("key", Tier.KEY),
        (" Strategic ", Tier.STRATEGIC),
        ("dormant", Tier.DORMANT),
        ("重点客户", Tier.KEY),
        ("重点", Tier.KEY),
        ("规模客户", Tier.KEY),
        ("规模", Tier.KEY),
        ("战略客户", Tier.STRATEGIC),
        ("战略", Tier.STRATEGIC),
        ("活跃客户", Tier.ACTIVE),
        ("活跃", Tier.ACTIVE),
        ("沉睡客户", Tier.DORMANT),
        ("沉睡", Tier.DORMANT),
    ],
)
def test_tier_parse(text: str, tier: Tier) -> None:
    """Tiers parse by name in any case, by label or alias, with or without 客户."""
    assert Tier.parse(text) is tier


@given(tiers())
def test_tier_parse_round_trips_name_and_label(tier: Tier) -> None:
    """A tier parses back from its name, lower-cased name, label and label_zh."""
    assert Tier.parse(tier.name) is tier
    assert Tier.parse(tier.name.lower()) is tier
    assert Tier.parse(tier.label_zh) is tier
    assert Tier.parse(tier.label("zh")) is tier
    assert Tier.parse(tier.label("en")) is tier
    assert Tier.parse(tier) is tier


def test_tier_labels() -> None:
    """Tier labels are the Chinese names in CONTRACTS.md."""
    assert {t.name: t.label_zh for t in Tier} == {
        "DORMANT": "沉睡客户",
        "ACTIVE": "活跃客户",
        "KEY": "重点客户",
        "STRATEGIC": "战略客户",
    }


def test_segment_labels() -> None:
    """Segments and their labels are those in CONTRACTS.md."""
    assert {s.name: s.label_zh for s in Segment} == {
        "JUDICIAL": "司法",
        "AUTO_ECOSYSTEM": "汽车生态",
        "FINANCE": "金融",
        "INSURANCE": "保险",
        "ECOMMERCE_TOP": "电商TOP",
        "FOOTWEAR_APPAREL": "鞋服",
        "INTERNET": "互联网",
    }


@given(segments())
def test_segment_parse(segment: Segment) -> None:
    """A segment parses from its name in any case and from its Chinese label."""
    assert Segment.parse(segment.name) is segment
    assert Segment.parse(segment.name.lower()) is segment
    assert Segment.parse(segment.name.lower().replace("_", "-")) is segment
    assert Segment.parse(segment.label_zh) is segment
    assert Segment.parse(f" {segment.label_zh} ") is segment


def test_segment_label_with_latin_letters_in_any_case() -> None:
    """电商TOP also parses as 电商top."""
    assert Segment.parse("电商top") is Segment.ECOMMERCE_TOP


@given(sub_segments())
def test_sub_segment_parse(sub: SubSegment) -> None:
    """A sub-segment parses from its name in any case and from its Chinese label."""
    assert SubSegment.parse(sub.name) is sub
    assert SubSegment.parse(sub.name.lower()) is sub
    assert SubSegment.parse(sub.label_zh) is sub


def test_every_sub_segment_belongs_to_exactly_one_segment() -> None:
    """Each sub-segment is listed by its own segment and by no other."""
    for sub in SubSegment:
        owners = [seg for seg in Segment if sub in seg.sub_segments]
        assert owners == [sub.segment]
    listed = [sub for seg in Segment for sub in seg.sub_segments]
    assert sorted(listed, key=lambda s: s.name) == sorted(SubSegment, key=lambda s: s.name)


def test_every_segment_has_sub_segments() -> None:
    """Every segment of DOMAIN.md's table has at least one sub-segment."""
    for seg in Segment:
        assert seg.sub_segments, seg


@pytest.mark.parametrize(("name", "label", "segment"), EXPECTED_SUB_SEGMENTS)
def test_contract_sub_segments_exist(name: str, label: str, segment: Segment) -> None:
    """The sub-segments named in CONTRACTS.md exist with their labels and segments."""
    sub = SubSegment[name]
    assert sub.label_zh == label
    assert sub.segment is segment
    assert SubSegment.parse(label) is sub


@pytest.mark.parametrize(("segment", "labels"), list(DOMAIN_SUB_SEGMENT_LABELS.items()))
def test_domain_sub_segments_exist(segment: Segment, labels: set[str]) -> None:
    """Every sub-segment DOMAIN.md names exists under its segment."""
    assert labels <= {s.label_zh for s in segment.sub_segments}


def test_every_member_has_a_chinese_label() -> None:
    """Every tier, segment, sub-segment and role has a non-empty, distinct label_zh."""
    for enum_type in (Tier, Segment, SubSegment, Role):
        labels = [m.label_zh for m in enum_type]
        assert all(isinstance(lab, str) and lab.strip() for lab in labels), enum_type
        assert len(set(labels)) == len(labels), enum_type


def test_label_in_each_language() -> None:
    """label('en') is the member name, label('zh') the Chinese label."""
    assert Segment.FINANCE.label("en") == "FINANCE"
    assert Segment.FINANCE.label("zh") == "金融"
    assert Tier.KEY.label() == "KEY"


@pytest.mark.parametrize(
    ("enum_type", "kind"),
    [(Tier, "tier"), (Segment, "segment"), (SubSegment, "sub-segment"), (Role, "role")],
)
@pytest.mark.parametrize("value", ["GOLD", "", "客户", "法院x", 3, None])
def test_unknown_labels_raise(enum_type: type[Tier], kind: str, value: object) -> None:
    """An unknown name raises UnknownLabelError (a LookupError) naming value and kind."""
    with pytest.raises(UnknownLabelError) as info:
        enum_type.parse(value)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, LookupError)
    assert isinstance(err, KeyAccountError)
    assert repr(value) in str(err)
    assert kind in str(err)
    assert err.value == value
    assert set(err.choices) == {m.name for m in enum_type}


def test_one_enum_does_not_parse_another_enums_member() -> None:
    """A member of another enum is not accepted by parse."""
    with pytest.raises(UnknownLabelError):
        Segment.parse(Tier.KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("PROJECT_MANAGER", Role.PROJECT_MANAGER),
        ("project manager", Role.PROJECT_MANAGER),
        ("项目经理", Role.PROJECT_MANAGER),
        ("客户经理", Role.ACCOUNT_MANAGER),
        ("商务拓展经理", Role.BUSINESS_DEVELOPMENT),
        ("商务拓展", Role.BUSINESS_DEVELOPMENT),
        ("运营优化", Role.OPERATIONS_OPTIMISATION),
        ("服务提升经理", Role.SERVICE_IMPROVEMENT),
    ],
)
def test_role_parse(text: str, role: Role) -> None:
    """Roles parse by name, by label and by label without 经理."""
    assert Role.parse(text) is role


def test_roles_full_time_by_default() -> None:
    """Project and account managers are full-time; the three support managers are not."""
    assert {r for r in Role if r.full_time_by_default} == {
        Role.PROJECT_MANAGER,
        Role.ACCOUNT_MANAGER,
    }
    assert {r for r in Role if r.is_support} == {
        Role.BUSINESS_DEVELOPMENT,
        Role.OPERATIONS_OPTIMISATION,
        Role.SERVICE_IMPROVEMENT,
    }


# -- display languages ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "ZH", "EN", "", "zh-CN", None, 0])
def test_every_label_function_refuses_an_unknown_language(lang: Any) -> None:
    """label(), names, formats and label frames refuse a language other than 'en' or 'zh'."""
    from keyaccount import Customer, Portfolio, RevenueRecord
    from keyaccount.domain import (
        check_lang,
        default_catalog,
        default_project_groups,
        format_value,
    )
    from keyaccount.exceptions import ValidationError

    portfolio = Portfolio(
        [Customer("C1", "某中院", "2022-01")],
        [RevenueRecord("C1", "court_express", "2022-06", "100")],
    )
    table = portfolio.metrics("2022-12")
    calls: list[Callable[[], object]] = [
        lambda: check_lang(lang),
        lambda: format_value(1, lang),
        lambda: default_catalog()["court_express"].name(lang),
        lambda: default_project_groups()[0].name(lang),
        lambda: table.to_pandas(lang=lang),
        lambda: portfolio.summary("2022-12").to_pandas(lang=lang),
    ]
    calls += [
        functools.partial(e.label, lang) for e in (Tier.KEY, Segment.FINANCE, Role.ACCOUNT_MANAGER)
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="expected 'en' or 'zh'") as info:
            call()
        assert isinstance(info.value, ValueError)
        assert repr(lang) in str(info.value)


def test_values_read_exactly_in_each_language() -> None:
    """Money keeps its fen (with separators and 元 in Chinese); ratios keep every digit."""
    from decimal import Decimal

    from keyaccount.domain import format_value

    assert format_value(Decimal("-1234567.05"), "zh") == "-1,234,567.05元"
    assert format_value(Decimal("-1234567.05")) == "-1234567.05"
    assert format_value(1234567, "zh") == "1,234,567"
    assert format_value(0.1 + 0.2, "zh") == "30.000000000000004%"
    assert format_value(0.1 + 0.2) == "0.30000000000000004"
    assert format_value(1e-7, "zh") == "0.00001%"
    assert format_value(None, "zh") == "无"


@pytest.mark.parametrize(
    "name",
    ["keyaccount.domain._language", "keyaccount.domain._glossary", "keyaccount.portfolio._metrics"],
)
def test_text_module_examples_run(name: str) -> None:
    """The docstring examples of the language, glossary and metric-label modules hold."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
